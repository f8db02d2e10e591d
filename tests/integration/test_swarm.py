"""A PoP that is a cluster: popvimd --engine swarm on the lab's 3-node Swarm.

One lab (the session's) and one popvimd on it serve the module; the node-loss
test goes last but one (it stops a node's engine and starts it again), the
kill -9 test uses a popvimd of its own. Everything the daemons made is removed
at the end, and the lab is taken down by the session.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
import yaml
from support.daemon import BUSYBOX, PASSWORD, USER, Daemon, create_container, start_container, unique, wait_for
from support.lab import Lab
from support.nslcm import deploy, env_of, vnf, wait_op
from support.swarm import load_images, node_of, purge, running_task, swarm_daemon, task_address, tasks

from popvim.client import PopClient
from popvim.client.session import SessionCache
from popvim.statedir import INSTALL_ID_FILE

NSD = Path(__file__).parents[1] / "unit" / "fixtures" / "nsd" / "sipp-openbaton.json"
SIPP_IMAGES = ("mcilloni/sipp-server:latest", "mcilloni/sipp-client:latest")
# An HTTP server whose page is its hostname: a reply says who answered.
WEB = ["sh", "-c", "mkdir -p /www && hostname >/www/index.html && exec httpd -f -p 8080 -h /www"]


# The lab comes up (and images go to its nodes) inside the first test: minutes on a loaded machine.
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def swarm_lab(lab_session: Lab) -> Lab:
    return lab_session.up()


@pytest.fixture
def sipp_images(swarm_lab: Lab, engine: docker.DockerClient) -> None:
    load_images(swarm_lab, engine, *SIPP_IMAGES)


@pytest.fixture(scope="module")
def pop(swarm_lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    daemon = swarm_daemon(tmp_path_factory.mktemp("swarm-pop")).start(timeout=90)
    yield daemon
    daemon.stop()
    purge(daemon, swarm_lab.manager())


@pytest.fixture
def api(pop: Daemon) -> Iterator[httpx.Client]:
    with pop.client() as client:
        yield client


def fetch(api: httpx.Client, container_id: str, address: str) -> str:
    """GET / of the WEB server at ``address``, from inside the container (busybox nc); "" if it fails."""
    command = ["sh", "-c", f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {address} 8080"]
    out = api.post(f"/v1/containers/{container_id}/exec", json={"command": command}).json()
    return str(out["stdout"]) if out["exit_code"] == 0 else ""


def test_containers_made_over_rest_and_pop_run_on_several_nodes(api: httpx.Client, pop: Daemon, swarm_lab: Lab) -> None:
    manager = swarm_lab.manager()
    rest = [start_container(api) for _ in range(3)]
    cache = SessionCache()
    client = PopClient(f"127.0.0.1:{pop.pop_port}", USER, PASSWORD, cache=cache)
    try:
        spawned = [client.spawn(unique("pop"), BUSYBOX, command=["sleep", "3600"]) for _ in range(3)]
        assert all(c.status == "RUNNING" for c in spawned)
        everyone = [(c["id"], c["engine_id"]) for c in rest] + [(c.id, c.engine_id) for c in spawned]
        nodes = {node_of(manager, engine_id) for _, engine_id in everyone}
        assert len(nodes) >= 2, nodes  # Swarm spread them
        for pop_id, engine_id in everyone:
            record = api.get(f"/v1/containers/{pop_id}").json()
            task = running_task(manager, engine_id)
            assert task is not None
            hostname = swarm_lab.node(task["NodeID"]).name
            assert record["state"] == "RUNNING" and record["node"] == hostname
            assert record["extended_status"] == f"the container is running on node {hostname}"
            # the address shown is the one Swarm gave the task
            assert record["endpoints"]["private"]["address"] == task_address(task, f"{pop.prefix}private")
        # exec, logs and stats reach the task's own node engine, over both faces
        pop_id = spawned[0].id
        assert client.exec(f"id:{pop_id}", ["hostname"]).stdout.strip() == f"{pop.prefix}{spawned[0].name}"
        assert client.stats(f"id:{pop_id}").memory_usage > 0
        talker = start_container(api, command=["sh", "-c", "echo hello from the swarm; exec sleep 3600"])
        wait_for(
            lambda: "hello from the swarm" in api.get(f"/v1/containers/{talker['id']}/logs").json()["logs"],
            timeout=20,
            what="the task's output",
        )
        for pop_id, _ in [*everyone, (talker["id"], "")]:
            assert api.delete(f"/v1/containers/{pop_id}").status_code == 204
        for _, engine_id in everyone:
            assert not manager.services.list(filters={"id": engine_id})
    finally:
        cache.clear()


def test_a_starting_container_shows_its_node_and_address_before_it_runs(
    api: httpx.Client, pop: Daemon, swarm_lab: Lab
) -> None:
    """Swarm gives a task its address when it places it, a second or more before the task runs:
    the record shows both while the Start still waits (what the orchestrator tells dependents)."""
    made = create_container(api)
    url = f"/v1/containers/{made['id']}"
    answer: dict[str, Any] = {}

    def start() -> None:
        with pop.client() as own:  # the Start waits; this test's client keeps looking meanwhile
            answer.update(own.post(f"{url}/start").json())

    starter = threading.Thread(target=start)
    starter.start()
    try:
        starting = wait_for(
            lambda: (c := api.get(url).json())["node"] and c["state"] == "CREATED" and c,
            timeout=120,
            interval=0.02,
            what="the container placed, not yet running",
        )
    finally:
        starter.join()
    assert starting["extended_status"] == f"starting on node {starting['node']}"
    task = running_task(swarm_lab.manager(), answer["engine_id"])
    assert task is not None and swarm_lab.node(task["NodeID"]).name == starting["node"] == answer["node"]
    address = task_address(task, f"{pop.prefix}private")
    assert starting["endpoints"]["private"]["address"] == address == answer["endpoints"]["private"]["address"]
    assert answer["state"] == "RUNNING"
    assert api.delete(url).status_code == 204


def test_stop_ends_the_task_and_a_clean_exit_is_exited(api: httpx.Client, pop: Daemon, swarm_lab: Lab) -> None:
    manager = swarm_lab.manager()
    sleeper = start_container(api)
    stopped = api.post(f"/v1/containers/{sleeper['id']}/stop", params={"wait": "true"}).json()
    assert stopped["state"] == "EXITED"
    assert not [
        t for t in manager.api.tasks(filters={"service": sleeper["engine_id"]}) if t["Status"]["State"] == "running"
    ]
    short = start_container(api, command=["sh", "-c", "sleep 1; exit 0"])
    done = wait_for(
        lambda: (c := api.get(f"/v1/containers/{short['id']}").json())["state"] != "RUNNING" and c,
        timeout=30,
        what="the clean exit to show",
    )
    assert (done["state"], done["exit_code"]) == ("EXITED", 0)
    for c in (sleeper, short):
        assert api.delete(f"/v1/containers/{c['id']}").status_code == 204


def test_flavours_and_sites_become_swarm_resources_and_placement(
    api: httpx.Client, pop: Daemon, swarm_lab: Lab
) -> None:
    manager = swarm_lab.manager()
    placed = start_container(api, flavour="m1.tiny", labels={"io.popvim.site": "site2"})
    spec = manager.services.get(placed["engine_id"]).attrs["Spec"]["TaskTemplate"]
    assert spec["Resources"]["Limits"] == {"NanoCPUs": 250_000_000, "MemoryBytes": 128 * 1024**2}
    assert spec["Resources"]["Reservations"] == spec["Resources"]["Limits"]
    assert spec["Placement"]["Constraints"] == ["node.labels.site==site2"]
    assert swarm_lab.node(node_of(manager, placed["engine_id"])).labels["site"] == "site2"
    nowhere = create_container(api, labels={"io.popvim.constraints": "node.labels.site==site9"})
    refused = api.post(f"/v1/containers/{nowhere['id']}/start")
    assert refused.status_code == 502, refused.text  # the engine's refusal, with Swarm's reason
    assert "no suitable node" in refused.json()["error"]["message"]
    assert api.get(f"/v1/containers/{nowhere['id']}").json()["state"] == "FAILED"
    for c in (placed, nowhere):
        assert api.delete(f"/v1/containers/{c['id']}").status_code == 204


def test_an_overlay_network_carries_traffic_between_containers_on_two_nodes(
    api: httpx.Client, pop: Daemon, swarm_lab: Lab
) -> None:
    manager = swarm_lab.manager()
    made = api.post("/v1/networks", json={"name": unique("ov")})
    assert made.status_code == 201, made.text
    net = made.json()
    engine_net = manager.networks.get(f"{pop.prefix}{net['name']}").attrs
    assert (engine_net["Driver"], engine_net["Attachable"], engine_net["Scope"]) == ("overlay", True, "swarm")
    assert engine_net["IPAM"]["Config"][0]["Subnet"] == net["subnet"]
    server = start_container(
        api, image=BUSYBOX, command=WEB, endpoints={net["name"]: None}, labels={"io.popvim.site": "site1"}
    )
    client = start_container(api, endpoints={net["name"]: None}, labels={"io.popvim.site": "site3"})
    assert node_of(manager, server["engine_id"]) != node_of(manager, client["engine_id"])
    address = server["endpoints"][net["name"]]["address"]
    reply = wait_for(
        lambda: (r := fetch(api, client["id"], address)) and "200 OK" in r and r,
        timeout=30,
        interval=0.3,
        what="the server's page over the overlay",
    )
    assert reply.rstrip().endswith(f"{pop.prefix}{server['name']}")  # the server's hostname
    for c in (server, client):
        assert api.delete(f"/v1/containers/{c['id']}").status_code == 204
    assert api.delete(f"/v1/networks/{net['id']}").status_code == 204
    assert not manager.networks.list(names=[f"{pop.prefix}{net['name']}"])


def completed_calls(api: httpx.Client, pop_container_id: str, server: str) -> int:
    logs = api.get(f"/v1/containers/{pop_container_id}/logs").json()["logs"]
    return len(re.findall(rf"to {re.escape(server)}:5060 completed", logs))


def test_the_sipp_service_spreads_over_nodes_places_calls_scales_and_terminates(
    api: httpx.Client, pop: Daemon, swarm_lab: Lab, sipp_images: None
) -> None:
    manager = swarm_lab.manager()
    onboarded = api.post(
        "/nsd/v1/ns_descriptors", content=NSD.read_bytes(), headers={"Content-Type": "application/json"}
    )
    assert onboarded.status_code == 201, onboarded.text
    instance = api.post("/nslcm/v1/ns_instances", json={"nsdId": onboarded.json()["id"], "nsName": "sipp"}).json()
    go = api.post(f"/nslcm/v1/ns_instances/{instance['id']}/instantiate")
    assert wait_op(api, go.headers["Location"])["operationState"] == "COMPLETED"
    url = f"/nslcm/v1/ns_instances/{instance['id']}"
    server = vnf(api.get(url).json(), "sipp-server")["vnfcs"][0]
    address = server["addresses"]["private"]
    shown = api.get(f"/v1/containers/{server['popContainerId']}").json()["endpoints"]
    assert address in {e["address"] for e in shown.values()}  # the address Swarm gave, told to the clients
    out = api.post(f"{url}/scale", json={"vnfName": "sipp-client", "direction": "out", "steps": 4})
    assert wait_op(api, out.headers["Location"])["operationState"] == "COMPLETED"
    record = api.get(url).json()
    clients = vnf(record, "sipp-client")["vnfcs"]
    assert len(clients) == 5
    server_node = node_of(manager, api.get(f"/v1/containers/{server['popContainerId']}").json()["engine_id"])
    client_nodes = {
        node_of(manager, api.get(f"/v1/containers/{c['popContainerId']}").json()["engine_id"]) for c in clients
    }
    assert len(client_nodes) >= 2, client_nodes
    assert client_nodes - {server_node}, "no call crosses nodes"
    for c in clients:
        assert env_of(api, c["popContainerId"])["SERVER_PRIVATE"] == address
        wait_for(
            lambda c=c: completed_calls(api, c["popContainerId"], address) >= 1,
            timeout=60,
            what=f"client {c['name']} to complete a call",
        )
    made = [api.get(f"/v1/containers/{c['popContainerId']}").json()["engine_id"] for c in [server, *clients]]
    links = {n for vl in record["virtualLinks"].values() for n in vl.values()}
    end = api.post(f"{url}/terminate")
    assert wait_op(api, end.headers["Location"])["operationState"] == "COMPLETED"
    assert not [s for s in manager.services.list() if s.id in made]
    assert not [n for n in manager.networks.list() if n.name in {pop.prefix + x for x in links}]
    assert api.delete(url).status_code == 204


def test_clients_told_the_servers_hostname_reach_it_by_name_across_nodes(
    api: httpx.Client, pop: Daemon, swarm_lab: Lab, sipp_images: None
) -> None:
    """The dependency parameter ``hostname``: the clients start without waiting for the server to
    be placed, and their calls reach it by its name in the service's names, on other nodes too."""
    manager = swarm_lab.manager()
    nsd = json.loads(NSD.read_text())
    nsd["name"] = "sipp-named"
    client_vdu = next(v for v in nsd["vnfd"] if v["name"] == "sipp-client")["vdu"][0]
    client_vdu["vnfc"] = client_vdu["vnfc"] * 3
    nsd["vnf_dependency"][0]["parameters"] = ["hostname"]
    instance, op = deploy(api, nsd, "named")
    assert op["operationState"] == "COMPLETED", op
    url = f"/nslcm/v1/ns_instances/{instance['id']}"
    record = api.get(url).json()
    server, clients = vnf(record, "sipp-server")["vnfcs"][0], vnf(record, "sipp-client")["vnfcs"]
    node = {
        c["name"]: node_of(manager, api.get(f"/v1/containers/{c['popContainerId']}").json()["engine_id"])
        for c in [server, *clients]
    }
    assert {node[c["name"]] for c in clients} - {node[server["name"]]}, "no call crosses nodes"
    for c in clients:
        assert env_of(api, c["popContainerId"])["SERVER_HOSTNAME"] == "sipp-server-0"
        wait_for(
            lambda c=c: completed_calls(api, c["popContainerId"], "sipp-server-0") >= 1,
            timeout=60,
            what=f"client {c['name']} to call the server by its name",
        )
    end = api.post(f"{url}/terminate")
    assert wait_op(api, end.headers["Location"])["operationState"] == "COMPLETED"
    assert api.delete(url).status_code == 204


def pop_cli(daemon: Daemon, home: Path, *args: str) -> str:
    """``pop`` as a user runs it (a subprocess with POP_HOST and POP_AUTH), its stdout; it must succeed."""
    env = {k: v for k, v in os.environ.items() if k not in ("POP_AUTH", "POP_HOST", "XDG_CONFIG_HOME")}
    env.update(HOME=str(home), POP_HOST=f"127.0.0.1:{daemon.pop_port}", POP_AUTH=f"{USER}:{PASSWORD}")
    done = subprocess.run(
        [sys.executable, "-m", "popvim.cli.main", *args], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, f"pop {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_pop_cli_drives_the_swarm_pop(pop: Daemon, swarm_lab: Lab, tmp_path: Path) -> None:
    manager = swarm_lab.manager()
    name = unique("cli")
    command = "command=sh -c 'echo hello from the cluster; trap \"exit 0\" TERM; while true; do sleep 0.2; done'"
    created = yaml.safe_load(pop_cli(pop, tmp_path, "create", f"image={BUSYBOX}", f"name={name}", command, "md.A=1"))
    assert created["status"] == "CREATED"
    assert not manager.services.list(filters={"name": f"{pop.prefix}{name}"})  # a Create is a record only
    started = yaml.safe_load(pop_cli(pop, tmp_path, "start", name))
    (service,) = manager.services.list(filters={"name": f"{pop.prefix}{name}"})
    task = running_task(manager, service.id)
    assert task is not None
    node = swarm_lab.node(task["NodeID"]).name
    address = task_address(task, f"{pop.prefix}private")
    # the node it runs on and the address Swarm gave it, as the CLI shows them
    assert started["status"] == "RUNNING" and started["ips"]["private"] == [address]
    assert started["extended_status"] == f"the container is running on node {node}"
    (row,) = [line for line in pop_cli(pop, tmp_path, "servers").splitlines() if line.startswith(name + " ")]
    assert "RUNNING" in row and f"private={address}" in row
    shown = yaml.safe_load(pop_cli(pop, tmp_path, "servers", name))
    assert shown["extended_status"] == f"the container is running on node {node}"
    # exec and logs reach the task on its node
    env = pop_cli(pop, tmp_path, "exec", name, "--", "env").splitlines()
    assert "A=1" in env and f"HOSTNAME={pop.prefix}{name}" in env
    wait_for(lambda: "hello from the cluster" in pop_cli(pop, tmp_path, "logs", name), timeout=30, what="its output")
    assert pop_cli(pop, tmp_path, "stop", name, "--wait").strip() == f"{name}: EXITED"
    assert pop_cli(pop, tmp_path, "delete", name).strip() == f"deleted {name}"
    assert not manager.services.list(filters={"name": f"{pop.prefix}{name}"})


def test_a_lost_node_s_containers_run_again_elsewhere_with_their_new_address(
    api: httpx.Client, pop: Daemon, swarm_lab: Lab, sipp_images: None
) -> None:
    manager = swarm_lab.manager()
    # A SIPp service whose server is on the node that is lost: its client must be told the new address.
    instance, op = deploy(api, json.loads(NSD.read_text()), name="moving")
    assert op["operationState"] == "COMPLETED", op
    url = f"/nslcm/v1/ns_instances/{instance['id']}"
    server = vnf(api.get(url).json(), "sipp-server")["vnfcs"][0]
    server_engine = api.get(f"/v1/containers/{server['popContainerId']}").json()["engine_id"]
    lost = swarm_lab.node(node_of(manager, server_engine))
    # Not the SLEEPER: lab.sh stops a node's containers before its engine, and one that exits 0
    # on TERM has ended cleanly (EXITED, as on one engine); a lost host kills, as here.
    containers: list[dict[str, Any]] = []
    while len(containers) < 4 or (
        len(containers) < 9 and lost.swarm_node_id not in {node_of(manager, c["engine_id"]) for c in containers}
    ):
        containers.append(start_container(api, command=["sleep", "3600"]))
    where = {c["id"]: node_of(manager, c["engine_id"]) for c in containers}
    victims = [c for c in containers if where[c["id"]] == lost.swarm_node_id]
    assert victims, where
    try:
        swarm_lab.stop_node(lost.index)

        seen: dict[str, Any] = {}

        def moved(c: dict[str, Any]) -> dict[str, Any] | None:
            record = api.get(f"/v1/containers/{c['id']}").json()
            task = running_task(manager, c["engine_id"])
            seen.update(
                record=record, tasks=[(t.get("NodeID"), t["Status"]["State"]) for t in tasks(manager, c["engine_id"])]
            )
            if task is None or task["NodeID"] == lost.swarm_node_id:
                return None
            network = next(iter(record["endpoints"]))
            address = task_address(task, f"{pop.prefix}{network}")
            if record["endpoints"][network]["address"] != address:
                return None
            return {"record": record, "node": swarm_lab.node(task["NodeID"]).name, "address": address}

        for c in victims:
            try:
                found = wait_for(
                    functools.partial(moved, c), timeout=120, interval=0.3, what=f"{c['name']} to run elsewhere"
                )
            except AssertionError as exc:
                raise AssertionError(f"{exc}; last seen: {seen}") from None
            assert found["record"]["state"] == "RUNNING"
            assert found["record"]["extended_status"] == f"the container is running on node {found['node']}"
            assert found["node"] != lost.name
            # exec reaches it on its new node
            out = api.post(f"/v1/containers/{c['id']}/exec", json={"command": ["hostname"]}).json()
            assert out["stdout"].strip() == f"{pop.prefix}{c['name']}"
        for c in containers:
            assert api.get(f"/v1/containers/{c['id']}").json()["state"] == "RUNNING"

        # The server came back elsewhere with a new address (moved by Swarm, or re-made by the healer
        # when the node's shutdown ended it cleanly); the orchestrator re-made its client with that
        # address (an automatic heal), and the client's calls reach the server again.
        def server_moved() -> str | None:
            now = vnf(api.get(url).json(), "sipp-server")["vnfcs"][0]
            if now["state"] != "RUNNING" or not now["popContainerId"]:
                return None
            engine_id = api.get(f"/v1/containers/{now['popContainerId']}").json()["engine_id"]
            try:
                found = moved({"id": now["popContainerId"], "engine_id": engine_id})
            except docker.errors.NotFound:
                return None  # replaced meanwhile
            if found is None or now["addresses"] != {"private": found["address"]}:
                return None
            return str(found["address"])

        new_address = wait_for(server_moved, timeout=120, interval=0.3, what="the SIPp server to run elsewhere")
        assert new_address != server["addresses"]["private"]

        def rewired() -> dict[str, Any] | None:
            record = api.get(url).json()
            (client,) = vnf(record, "sipp-client")["vnfcs"]
            if client["state"] != "RUNNING":
                return None
            try:
                told = env_of(api, client["popContainerId"]).get("SERVER_PRIVATE")
            except KeyError:
                return None  # replaced meanwhile: exec answered an error
            return client if told == new_address else None

        client = wait_for(rewired, timeout=120, interval=0.5, what="the client to be told the server's new address")
        wait_for(
            lambda: completed_calls(api, client["popContainerId"], new_address) >= 1,
            timeout=60,
            what="the client to complete a call to the moved server",
        )
        ops = api.get("/nslcm/v1/ns_lcm_op_occs", params={"nsInstanceId": instance["id"]}).json()
        assert any(o["lcmOperationType"] == "HEAL" and o["isAutomaticInvocation"] for o in ops)
    finally:
        swarm_lab.restart_stopped()
    for c in containers:
        assert api.delete(f"/v1/containers/{c['id']}").status_code == 204
    end = api.post(f"{url}/terminate")
    assert wait_op(api, end.headers["Location"])["operationState"] == "COMPLETED"
    assert api.delete(url).status_code == 204


def test_kill_9_mid_start_and_restart_loses_nothing_and_orphans_nothing(
    swarm_lab: Lab, tmp_path: Path, pop: Daemon
) -> None:
    manager = swarm_lab.manager()
    daemon = swarm_daemon(tmp_path / "state").start(timeout=90)
    try:
        with daemon.client() as api:
            made = [create_container(api) for _ in range(6)]

            def start(c: dict[str, Any]) -> None:
                try:
                    api.post(f"/v1/containers/{c['id']}/start", timeout=60)
                except httpx.HTTPError:
                    pass  # the daemon died under it

            threads = [threading.Thread(target=start, args=(c,)) for c in made]
            for t in threads:
                t.start()
            wait_for(
                lambda: manager.services.list(filters={"label": f"io.popvim.pop={daemon.name}"}),
                timeout=30,
                interval=0.02,
                what="the first service",
            )
            daemon.kill()
            for t in threads:
                t.join()
        daemon.start(timeout=90)
        with daemon.client() as api:

            def settled() -> list[dict[str, Any]] | None:
                records = api.get("/v1/containers").json()
                return records if all(r["state"] in ("CREATED", "RUNNING", "FAILED") for r in records) else None

            records = wait_for(settled, timeout=60, interval=0.3, what="records to settle after the restart")
            assert sorted(r["id"] for r in records) == sorted(c["id"] for c in made)  # nothing lost
            services = {s.id: s.attrs for s in manager.services.list(filters={"label": f"io.popvim.pop={daemon.name}"})}
            ours = {r["engine_id"] for r in records if r["engine_id"]}
            assert set(services) == ours  # nothing orphaned, nothing unaccounted for
            install_id = (daemon.state_dir / INSTALL_ID_FILE).read_text().strip()
            for attrs in services.values():
                assert attrs["Spec"]["Labels"]["io.popvim.install"] == install_id
            for r in records:
                if r["state"] == "CREATED":
                    assert api.post(f"/v1/containers/{r['id']}/start").status_code == 200
                if r["state"] != "FAILED":
                    task = wait_for(
                        lambda r=r: running_task(manager, api.get(f"/v1/containers/{r['id']}").json()["engine_id"]),
                        timeout=60,
                        interval=0.3,
                        what="running",
                    )
                    assert task is not None
            for r in api.get("/v1/containers").json():
                assert api.delete(f"/v1/containers/{r['id']}").status_code == 204
            assert not manager.services.list(filters={"label": f"io.popvim.pop={daemon.name}"})
    finally:
        daemon.kill()
        purge(daemon, manager)
