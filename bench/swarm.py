#!/usr/bin/env python
"""A Swarm PoP (popvimd --engine swarm) against Swarm's own CLI, side by side, on the lab's Swarm.

    .venv/bin/python bench/swarm.py --rounds 3

Needs a lab Swarm: it uses the one that is up (``scripts/lab.sh up 3 --swarm``),
or brings up its own (lab "pvbench", 3 nodes) and takes it down at the end.
Phases, each round in alternating order:

1. *deploy*: Appendix C's SIPp NSD with 5 clients (1 server + 5 clients),
   ``POST .../instantiate`` until COMPLETED and every VNFC RUNNING, versus
   ``docker stack deploy`` of the same shape (an attachable overlay, a server
   service, a client service of 5 replicas, dnsrr) until 6 tasks run. The
   compose file tells the clients the server's name; popvim does once with the
   dependency parameter ``hostname`` (like for like, ``SERVER_HOSTNAME=sipp-server-0``;
   the first round checks that a client's calls reach the server by it) and once
   with Appendix C's ``private`` (its address, known only once Swarm places it).
2. *scale 1 to 10*: the NS's clients scaled out by 9 (scale_in_out raised to
   10) until COMPLETED and 10 clients RUNNING, versus ``docker service scale
   client=10`` until 10 tasks run.
3. *the floor*, no popvim: the same six services made through the SDK, the clients told the
   server's name at once (the compose file's way) or, as popvim's dependencies do, its address,
   which Swarm gives only when it places the server's task. What telling an address costs on
   Swarm itself, whoever does it. And the stack's own shape through the SDK (a server service
   and one client service of 5 replicas, told the name): what six one-replica services, popvim's
   mapping of six containers, cost Swarm beside two services.
4. *node death*: 6 sleepers (popvim containers; a 6-replica service for the
   CLI side, on the same lab at once), then the node holding most of popvim's
   is stopped (``lab.sh stop-node``); timed from that call until popvim's REST
   shows every container of that node RUNNING on another node with the
   address its new task has, and until ``docker service ps`` shows as many
   running tasks elsewhere. The node is started again afterwards.

Each deploy also reports where its time went (when the manager saw each service made and its
task running) and the CPU seconds the machine and popvimd spent meanwhile.
Results: a table on stdout and JSON in bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(HERE))

from _common import write_results  # noqa: E402
from ns_deploy_vs_compose import sipp_nsd, sipp_settings  # noqa: E402
from support.daemon import Daemon, wait_for  # noqa: E402
from support.lab import Lab  # noqa: E402
from support.swarm import load_images, purge, running_task, swarm_daemon, task_address, tasks  # noqa: E402

SERVER_IMAGE = "mcilloni/sipp-server:latest"
CLIENT_IMAGE = "mcilloni/sipp-client:latest"
SLEEPER_IMAGE = "popvim-test/busybox:latest"


def ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def running_tasks(manager: docker.DockerClient, label: str) -> list[dict[str, Any]]:
    services = [s.id for s in manager.services.list(filters={"label": label})]
    found = []
    for sid in services:
        found += [
            t
            for t in manager.api.tasks(filters={"service": sid})
            if t["DesiredState"] == "running" and t["Status"]["State"] == "running"
        ]
    return found


class Cpu:
    """CPU seconds spent while a deploy runs: the whole machine's (every engine, the nodes' tasks,
    popvimd, this bench) and popvimd's own. On a machine whose CPUs a Swarm deploy nearly fills,
    what a manager spends beside Swarm shows in the wall time."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, pid: int | None = None) -> None:
        self._pid = pid
        self._start = self._read()

    def _read(self) -> tuple[float, float]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
        own = 0
        if self._pid is not None:
            stat = Path(f"/proc/{self._pid}/stat").read_text().rsplit(")", 1)[1].split()
            own = int(stat[11]) + int(stat[12])
        return busy / self.TICK, own / self.TICK

    def spent(self) -> dict[str, float]:
        end = self._read()
        return {"machine cpu s": round(end[0] - self._start[0], 2), "popvimd cpu s": round(end[1] - self._start[1], 2)}


def poll(predicate: Callable[[], bool], timeout: float = 300, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(interval)


class Timeline:
    """Where a deploy's time goes, seen from the manager: when each service appears and when all
    its replicas first run (ms after ``t0``), polled every 50 ms in a thread of its own. Both
    sides are watched alike, so the watching costs them the same."""

    def __init__(self, manager: docker.DockerClient, label: str, t0: float) -> None:
        self._manager, self._label, self._t0 = manager, label, t0
        self.created: dict[str, float] = {}  # service name -> ms
        self.running: dict[str, float] = {}
        self.errors: set[str] = set()  # what Swarm said of tasks that did not run at once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            try:
                services = self._manager.api.services(filters={"label": self._label})
                now = ms(self._t0)
                names = {s["ID"]: s["Spec"]["Name"] for s in services}
                wanted = {s["Spec"]["Name"]: s["Spec"]["Mode"]["Replicated"]["Replicas"] for s in services}
                for name in names.values():
                    self.created.setdefault(name, now)
                running: dict[str, int] = {}
                for task in self._manager.api.tasks(filters={"service": list(names)}) if names else []:
                    name = names.get(task["ServiceID"])
                    if name and task["Status"]["State"] == "running":
                        running[name] = running.get(name, 0) + 1
                    if name and task["Status"].get("Err"):
                        self.errors.add(f"{task['Status']['State']}: {task['Status']['Err'][:80]}")
                for name, count in running.items():
                    if count >= wanted[name] > 0:
                        self.running.setdefault(name, now)
            except docker.errors.APIError:
                continue

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        servers = [n for n in self.created if "server" in n]
        clients = [n for n in self.created if "server" not in n]
        if not servers or not clients:
            return {}
        server = servers[0]
        return {
            "server service made": self.created[server],
            "server task running": self.running.get(server, -1),
            "first client service made": min(self.created[c] for c in clients),
            "last client service made": max(self.created[c] for c in clients),
            "last client task running": max(self.running.get(c, -1) for c in clients),
        }


# --- popvim side ----------------------------------------------------------------
def onboard(api: httpx.Client, nsd: dict[str, Any]) -> str:
    r = api.post("/nsd/v1/ns_descriptors", content=json.dumps(nsd), headers={"Content-Type": "application/json"})
    r.raise_for_status()
    return str(r.json()["id"])


def wait_op(api: httpx.Client, location: str) -> None:
    op = wait_for(
        lambda: (o := api.get(location).json())["operationState"] != "PROCESSING" and o, timeout=600, interval=0.05
    )
    if op["operationState"] != "COMPLETED":
        raise RuntimeError(f"operation failed: {op}")


def vnfcs_running(api: httpx.Client, url: str, count: int) -> bool:
    record = api.get(url).json()
    states = [c["state"] for v in record["vnfInstances"] for c in v["vnfcs"]]
    return len(states) >= count and all(s == "RUNNING" for s in states)


def popvim_deploy(
    api: httpx.Client, nsd_id: str, manager: docker.DockerClient, pid: int
) -> tuple[float, str, dict[str, float]]:
    instance = api.post("/nslcm/v1/ns_instances", json={"nsdId": nsd_id, "nsName": f"b{uuid.uuid4().hex[:6]}"}).json()
    url = f"/nslcm/v1/ns_instances/{instance['id']}"
    t0 = time.perf_counter()
    cpu, timeline = Cpu(pid), Timeline(manager, f"io.popvim.nfv.ns={instance['id']}", t0)
    go = api.post(f"{url}/instantiate")
    wait_op(api, go.headers["Location"])
    poll(lambda: vnfcs_running(api, url, 6))
    took = ms(t0)
    steps = {**timeline.stop(), "all RUNNING in popvim": took, **cpu.spent()}
    if timeline.errors:
        print(f"  tasks that did not run at once: {sorted(timeline.errors)}")
    return took, url, steps


def named_nsd(nsd: dict[str, Any]) -> dict[str, Any]:
    """The NSD with its clients told the server's name (``hostname``) rather than its address."""
    named = json.loads(json.dumps(nsd))
    named["name"] = f"{nsd['name']}-named"
    for dependency in named["vnf_dependency"]:
        dependency["parameters"] = ["hostname"]
    return named


def calls_by_name(api: httpx.Client, url: str) -> None:
    """Until a client of the named deploy has completed a call to the server by its name."""
    client = next(v for v in api.get(url).json()["vnfInstances"] if v["vnfName"] == "sipp-client")["vnfcs"][0]
    wait_for(
        lambda: "to sipp-server-0:5060 completed" in api.get(f"/v1/containers/{client['popContainerId']}/logs").text,
        timeout=60,
        interval=0.5,
        what="a call by the server's name",
    )


def popvim_teardown(api: httpx.Client, url: str) -> None:
    end = api.post(f"{url}/terminate")
    wait_op(api, end.headers["Location"])
    api.delete(url)


def popvim_scale(api: httpx.Client, nsd_id: str) -> float:
    instance = api.post("/nslcm/v1/ns_instances", json={"nsdId": nsd_id, "nsName": f"s{uuid.uuid4().hex[:6]}"}).json()
    url = f"/nslcm/v1/ns_instances/{instance['id']}"
    go = api.post(f"{url}/instantiate")
    wait_op(api, go.headers["Location"])
    poll(lambda: vnfcs_running(api, url, 2))
    t0 = time.perf_counter()
    out = api.post(f"{url}/scale", json={"vnfName": "sipp-client", "direction": "out", "steps": 9})
    wait_op(api, out.headers["Location"])
    poll(lambda: vnfcs_running(api, url, 11))
    took = ms(t0)
    popvim_teardown(api, url)
    return took


# --- Swarm CLI side -------------------------------------------------------------
def compose(settings: dict[str, str], clients: int, subnet: str) -> str:
    env = {**settings, "SERVER_PRIVATE": "server"}
    doc = {
        "version": "3.8",
        "networks": {"private": {"driver": "overlay", "attachable": True, "ipam": {"config": [{"subnet": subnet}]}}},
        "services": {
            "server": {
                "image": SERVER_IMAGE,
                "networks": ["private"],
                "deploy": {"endpoint_mode": "dnsrr", "replicas": 1},
            },
            "client": {
                "image": CLIENT_IMAGE,
                "networks": ["private"],
                "environment": env,
                "deploy": {"endpoint_mode": "dnsrr", "replicas": clients},
            },
        },
    }
    return json.dumps(doc)  # JSON is YAML


def stack_deploy(
    manager: docker.DockerClient,
    workdir: Path,
    clients: int,
    subnet: str,
    settings: dict[str, str],
    pid: int | None = None,
) -> tuple[float, str, dict[str, float]]:
    name = f"b{uuid.uuid4().hex[:6]}"
    path = workdir / f"{name}.yml"
    path.write_text(compose(settings, clients, subnet))
    label = f"com.docker.stack.namespace={name}"
    t0 = time.perf_counter()
    cpu, timeline = Cpu(pid), Timeline(manager, label, t0)
    subprocess.run(["docker", "stack", "deploy", "-c", str(path), name], check=True, capture_output=True)
    poll(lambda: len(running_tasks(manager, label)) >= 1 + clients)
    took = ms(t0)
    return took, name, {**timeline.stop(), "all running": took, **cpu.spent()}


def stack_rm(manager: docker.DockerClient, name: str) -> None:
    subprocess.run(["docker", "stack", "rm", name], check=True, capture_output=True)
    label = f"com.docker.stack.namespace={name}"
    poll(lambda: not manager.networks.list(filters={"label": label}) or _try_rm_networks(manager, label), 120, 0.3)


def _try_rm_networks(manager: docker.DockerClient, label: str) -> bool:
    for net in manager.networks.list(filters={"label": label}):
        try:
            net.remove()
        except docker.errors.APIError:
            return False
    return True


def stack_scale(manager: docker.DockerClient, workdir: Path, subnet: str, settings: dict[str, str]) -> float:
    _, name, _steps = stack_deploy(manager, workdir, 1, subnet, settings)
    label = f"com.docker.stack.namespace={name}"
    t0 = time.perf_counter()
    subprocess.run(["docker", "service", "scale", "-d", f"{name}_client=10"], check=True, capture_output=True)
    poll(lambda: len(running_tasks(manager, label)) >= 11)
    took = ms(t0)
    stack_rm(manager, name)
    return took


# --- the floor: what telling clients an address costs on Swarm itself -------------
def raw_deploy(manager: docker.DockerClient, subnet: str, told: str) -> float:
    """1 server + 5 clients as six services through the SDK, no popvim: ``told="name"`` makes all
    six at once and tells the clients the server's name (as the compose file does); ``"address"``
    makes the server, waits for Swarm to place its task (its address allocated, a node assigned),
    then makes the clients told that address (what popvim's dependencies do); ``"replicas"`` makes
    the compose file's two services at once (the clients one service of 5 replicas, told the
    name). Until all six tasks run."""
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
    endpoint = docker.types.EndpointSpec(mode="dnsrr")
    labels = {"popvim.bench": "floor"}
    server_image, client_image = manager.images.get(SERVER_IMAGE).id, manager.images.get(CLIENT_IMAGE).id
    t0 = time.perf_counter()
    net = manager.networks.create(
        f"bfloor-{uuid.uuid4().hex[:6]}", driver="overlay", attachable=True, ipam=ipam, labels=labels
    )

    def make(image: str, name: str, env: list[str], replicas: int = 1) -> str:
        mode = docker.types.ServiceMode("replicated", replicas=replicas)
        made = manager.services.create(
            image, name=name, env=env, endpoint_spec=endpoint, networks=[net.id], labels=labels, mode=mode
        )
        return str(made.id)

    server = f"bfloor-s-{uuid.uuid4().hex[:6]}"
    clients = [f"bfloor-c-{uuid.uuid4().hex[:6]}" for _ in range(5)]
    ids: list[str] = []
    jobs: list[tuple[str, str, list[str], int]]
    if told == "name":
        jobs = [(server_image, server, [], 1)] + [(client_image, c, [f"SERVER_PRIVATE={server}"], 1) for c in clients]
    elif told == "replicas":
        jobs = [(server_image, server, [], 1), (client_image, clients[0], [f"SERVER_PRIVATE={server}"], 5)]
    else:
        ids.append(make(server_image, server, []))
        address = wait_for(lambda: (t := placed_task(manager, ids[0])) and task_address(t, net.name), 60, 0.01)
        jobs = [(client_image, c, [f"SERVER_PRIVATE={address}"], 1) for c in clients]
    threads = [threading.Thread(target=lambda j=j: ids.append(make(*j))) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    poll(lambda: sum(1 for t in manager.api.tasks(filters={"service": ids}) if t["Status"]["State"] == "running") >= 6)
    took = ms(t0)
    for sid in ids:
        manager.api.remove_service(sid)
    poll(lambda: _try_rm_networks(manager, "popvim.bench=floor"), 120, 0.3)
    return took


def placed_task(manager: docker.DockerClient, service_id: str) -> dict[str, Any] | None:
    """The service's task once it has a node and an address."""
    for task in tasks(manager, service_id):
        if task.get("NodeID") and any(a.get("Addresses") for a in task.get("NetworksAttachments") or []):
            return dict(task)
    return None


# --- node death ------------------------------------------------------------------
def _node(manager: docker.DockerClient, service_id: str) -> str:
    task = wait_for(lambda: running_task(manager, service_id), timeout=60, interval=0.1)
    return str(task["NodeID"])


def node_death(lab: Lab, daemon: Daemon, api: httpx.Client) -> dict[str, float]:
    manager = lab.manager()
    made = []
    for _ in range(6):
        c = api.post("/v1/containers/run", json={"image": SLEEPER_IMAGE, "command": ["sleep", "3600"]}).json()
        made.append(c)
    service = manager.services.create(
        SLEEPER_IMAGE,
        ["sleep", "3600"],
        name=f"bdeath-{uuid.uuid4().hex[:6]}",
        mode=docker.types.ServiceMode("replicated", replicas=6),
        endpoint_spec=docker.types.EndpointSpec(mode="dnsrr"),
        labels={"popvim.bench": "1"},
    )
    try:
        poll(lambda: len([t for t in service.tasks() if t["Status"]["State"] == "running"]) >= 6)
        where = {c["id"]: _node(manager, c["engine_id"]) for c in made}
        lost_id = max(set(where.values()), key=list(where.values()).count)
        lost = lab.node(lost_id)
        victims = [c for c in made if where[c["id"]] == lost_id]
        cli_victims = len([t for t in service.tasks() if t["Status"]["State"] == "running" and t["NodeID"] == lost_id])
        results: dict[str, float] = {}

        def popvim_side(t0: float) -> None:
            def moved() -> bool:
                for c in victims:
                    task = running_task(manager, c["engine_id"])
                    record = api.get(f"/v1/containers/{c['id']}").json()
                    if task is None or task["NodeID"] == lost_id or record["state"] != "RUNNING":
                        return False
                    if record["endpoints"]["private"]["address"] != task_address(task, f"{daemon.prefix}private"):
                        return False
                    if lost.name in record["extended_status"]:
                        return False
                return True

            poll(moved, 300, 0.1)
            results["popvim"] = ms(t0)

        def cli_side(t0: float) -> None:
            def back() -> bool:
                out = subprocess.run(
                    [
                        "docker",
                        "service",
                        "ps",
                        "--format",
                        "{{.Node}} {{.CurrentState}} {{.DesiredState}}",
                        service.id,
                    ],
                    capture_output=True,
                    text=True,
                ).stdout.splitlines()
                elsewhere = [
                    line
                    for line in out
                    if line.split()[0] != lost.name and " Running " in f" {line} " and line.endswith("Running")
                ]
                return len(elsewhere) >= 6

            poll(back, 300, 0.1)
            results["docker service ps"] = ms(t0)

        t0 = time.perf_counter()
        lab.stop_node(lost.index)
        threads = [threading.Thread(target=f, args=(t0,)) for f in (popvim_side, cli_side)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        results["victims"] = float(len(victims))
        results["cli victims"] = float(cli_victims)
        return results
    finally:
        lab.restart_stopped()
        service.remove()
        for c in made:
            api.delete(f"/v1/containers/{c['id']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-death", action="store_true", help="skip the node-death phase")
    args = parser.parse_args()
    t_start = time.perf_counter()
    host = docker.from_env()
    swarm = host.info()["Swarm"]
    own_lab = swarm.get("LocalNodeState") != "active"
    lab = Lab(name="pvbench" if own_lab else _lab_name(host), size=3)
    daemon: Daemon | None = None
    results: dict[str, Any] = {
        "deploy": {"popvim (hostname)": [], "popvim (address)": [], "stack deploy": []},
        "scale": {"popvim": [], "service scale": []},
        "floor": {"address told": [], "name told": [], "2 services": []},
    }
    try:
        if own_lab:
            lab.up()
        else:
            lab.attach()
        load_images(lab, host, SERVER_IMAGE, CLIENT_IMAGE)
        manager = lab.manager()
        workdir = Path(tempfile.mkdtemp(prefix="bench-swarm-"))
        daemon = swarm_daemon(workdir / "state").start(timeout=120)
        assert daemon.proc is not None
        pid = daemon.proc.pid
        settings = sipp_settings(sipp_nsd(5))
        with daemon.client(timeout=300) as api:
            deploy_nsds = {"address": onboard(api, sipp_nsd(5)), "hostname": onboard(api, named_nsd(sipp_nsd(5)))}
            scale_nsd_doc = sipp_nsd(1)
            client = next(v for v in scale_nsd_doc["vnfd"] if v["name"] == "sipp-client")
            client["vdu"][0]["scale_in_out"] = 10
            scale_nsd = onboard(api, scale_nsd_doc)
            for r in range(args.rounds):
                sides = ["hostname", "address", "stack"]
                for side in sides[r % 3 :] + sides[: r % 3]:
                    if side != "stack":
                        took, url, steps = popvim_deploy(api, deploy_nsds[side], manager, pid)
                        results["deploy"][f"popvim ({side})"].append(took)
                        results.setdefault(f"deploy timeline (popvim, {side})", []).append(steps)
                        if side == "hostname" and r == 0:
                            calls_by_name(api, url)
                        popvim_teardown(api, url)
                        if side == "address":
                            results["scale"]["popvim"].append(popvim_scale(api, scale_nsd))
                    else:
                        took, name, steps = stack_deploy(manager, workdir, 5, f"10.190.{r}.0/24", settings, pid)
                        results["deploy"]["stack deploy"].append(took)
                        results.setdefault("deploy timeline (stack)", []).append(steps)
                        stack_rm(manager, name)
                        results["scale"]["service scale"].append(
                            stack_scale(manager, workdir, f"10.191.{r}.0/24", settings)
                        )
                floors = ["address", "name", "replicas"]
                for n, told in enumerate(floors[r % 3 :] + floors[: r % 3]):
                    took = raw_deploy(manager, f"10.192.{r * 3 + n}.0/24", told)
                    results["floor"]["2 services" if told == "replicas" else f"{told} told"].append(took)
                print(
                    f"round {r + 1}: "
                    + json.dumps(
                        {k: {s: round(v[-1]) for s, v in d.items()} for k, d in results.items() if isinstance(d, dict)}
                    )
                    + f"; popvim deploy timeline: {results.get('deploy timeline (popvim, hostname)', [{}])[-1]}"
                )
            if not args.no_death:
                results["node death"] = node_death(lab, daemon, api)
    finally:
        if daemon is not None:
            daemon.stop()
            purge(daemon, lab.manager())
        if own_lab and lab.touched:
            lab.down()
    report(results)
    write_results(
        REPO / "bench" / "results", "swarm", {"rounds": args.rounds, "runtime_s": round(ms(t_start) / 1000)}, results
    )
    return 0


def _lab_name(host: docker.DockerClient) -> str:
    me = host.nodes.get(host.info()["Swarm"]["NodeID"])
    return str(me.attrs["Spec"]["Labels"].get("popvim.lab", "pvlab"))


def report(results: dict[str, Any]) -> None:
    print()
    print(f"{'phase':<22}{'popvim ms (median)':>20}{'swarm ms (median)':>20}{'ratio':>8}")
    for phase, (ka, a), (kb, b) in (
        ("deploy, hostname", ("deploy", "popvim (hostname)"), ("deploy", "stack deploy")),
        ("deploy, address", ("deploy", "popvim (address)"), ("deploy", "stack deploy")),
        ("scale 1 to 10", ("scale", "popvim"), ("scale", "service scale")),
        ("floor: address/name", ("floor", "address told"), ("floor", "name told")),
        ("floor: 6 vs 2 services", ("floor", "name told"), ("floor", "2 services")),
        ("hostname vs 6 services", ("deploy", "popvim (hostname)"), ("floor", "name told")),
    ):
        pa, pb = statistics.median(results[ka][a]), statistics.median(results[kb][b])
        print(f"{phase:<22}{pa:>20.0f}{pb:>20.0f}{pa / pb:>7.2f}x")
    for side, start in (
        ("popvim, hostname", "instantiate"),
        ("popvim, address", "instantiate"),
        ("stack", "docker stack deploy"),
    ):
        steps = results.get(f"deploy timeline ({side})")
        if steps:
            print(f"{side} deploy, ms after {start} (median over rounds):")
            for key in steps[0]:  # a step the watch had no time to see (-1) is left out
                median = statistics.median([s[key] for s in steps if s.get(key, -1) >= 0] or [-1])
                print(f"  {key:<30}{median:>8.2f}" if key.endswith("cpu s") else f"  {key:<30}{median:>8.0f}")
    death = results.get("node death")
    if death:
        print(
            f"{'node death to RUNNING':<22}{death['popvim']:>20.0f}{death['docker service ps']:>20.0f}"
            f"{death['popvim'] / death['docker service ps']:>7.2f}x"
            f"   ({death['victims']:.0f} popvim containers, {death['cli victims']:.0f} CLI tasks moved)"
        )


if __name__ == "__main__":
    sys.exit(main())
