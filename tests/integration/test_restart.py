"""State survives kill -9 of popvimd and restarts of containers behind its back."""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter

import docker
import httpx
import pytest
from support.daemon import BUSYBOX, Daemon, free_subnet, wait_for

pytestmark = pytest.mark.both_databases

SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]


def _body(**extra: object) -> dict:
    return {"image": BUSYBOX, "name": f"r-{uuid.uuid4().hex[:8]}", "command": SLEEPER, **extra}


def _active_addresses(api: httpx.Client) -> list[tuple[str, str]]:
    return [
        (e["network"], e["address"])
        for c in api.get("/v1/containers").json()
        for e in c["endpoints"].values()
        if e["active"]
    ]


def _assert_consistent(api: httpx.Client, engine: docker.DockerClient, daemon: Daemon) -> None:
    """No address held twice; RUNNING means running on the engine; no engine container without a record."""
    held = _active_addresses(api)
    assert not [a for a, n in Counter(held).items() if n > 1], "an address is held twice"
    records = {c["id"]: c for c in api.get("/v1/containers").json()}
    ours = engine.containers.list(all=True, filters={"label": f"io.popvim.pop={daemon.name}"})
    for container in ours:
        pop_id = container.labels["io.popvim.id"]
        assert pop_id in records, f"engine container {container.name} has no record"
        if container.status == "running":
            assert records[pop_id]["state"] in ("RUNNING", "STOPPING"), records[pop_id]
    for record in records.values():
        if record["state"] == "RUNNING":
            assert engine.containers.get(record["engine_id"]).status == "running"


def test_everything_comes_back_after_kill_9(fresh_daemon: Daemon, engine: docker.DockerClient) -> None:
    d = fresh_daemon.start()
    with d.client() as api:
        subnet = free_subnet(engine)
        net = api.post("/v1/networks", json={"name": "backhaul", "subnet": subnet}).json()
        created = api.post("/v1/containers", json=_body(metadata={"K": "v"}, endpoints={"backhaul": None})).json()
        running = api.post("/v1/containers/run", json=_body()).json()
        dying = api.post("/v1/containers/run", json=_body()).json()
        stopped = api.post("/v1/containers/run", json=_body()).json()
        api.post(f"/v1/containers/{stopped['id']}/stop", params={"wait": True})
    d.kill()
    engine.containers.get(dying["engine_id"]).kill()  # dies while nobody watches
    d.start()
    with d.client() as api:
        assert api.get(f"/v1/networks/{net['id']}").json()["subnet"] == subnet
        again = api.get(f"/v1/containers/{created['id']}").json()
        assert again["state"] == "CREATED" and again["metadata"] == {"K": "v"}
        assert again["endpoints"] == created["endpoints"]
        assert api.get(f"/v1/containers/{running['id']}").json()["state"] == "RUNNING"
        assert api.get(f"/v1/containers/{dying['id']}").json()["state"] == "FAILED"
        assert api.get(f"/v1/containers/{stopped['id']}").json()["state"] == "EXITED"
        # the address of the created container is still reserved: asking for it is refused
        address = created["endpoints"]["backhaul"]["address"]
        clash = api.post("/v1/containers", json=_body(endpoints={"backhaul": address}))
        assert clash.status_code == 409
        # and the old token still works: sessions survive restarts
        _assert_consistent(api, engine, d)
        # the events of the new process still move containers
        engine.containers.get(running["engine_id"]).kill()
        wait_for(lambda: api.get(f"/v1/containers/{running['id']}").json()["state"] == "FAILED", timeout=5)


def test_orphans_are_removed_and_lost_networks_recreated(fresh_daemon: Daemon, engine: docker.DockerClient) -> None:
    d = fresh_daemon.start()
    with d.client() as api:
        # outside popvim's default pool, which other daemons on the engine draw from meanwhile
        net = api.post("/v1/networks", json={"name": "lost", "subnet": free_subnet(engine)}).json()
        kept = api.post("/v1/containers/run", json=_body()).json()
    d.stop()
    orphan = engine.containers.run(
        BUSYBOX,
        SLEEPER,
        detach=True,
        name=f"{d.prefix}orphan",
        labels={
            "io.popvim.pop": d.name,
            "io.popvim.id": str(uuid.uuid4()),
            "io.popvim.install": (d.state_dir / "install-id").read_text().strip(),
        },
    )
    engine.networks.get(net["engine_id"]).remove()
    d.start()
    with d.client() as api:
        assert not engine.containers.list(all=True, filters={"id": orphan.id})
        recreated = api.get(f"/v1/networks/{net['id']}").json()
        assert recreated["engine_id"] != net["engine_id"]
        assert engine.networks.get(recreated["engine_id"]).attrs["IPAM"]["Config"][0]["Subnet"] == net["subnet"]
        assert api.get(f"/v1/containers/{kept['id']}").json()["state"] == "RUNNING"


@pytest.mark.one_database
def test_restart_policy_keeps_a_crashing_container_running(fresh_daemon: Daemon, engine: docker.DockerClient) -> None:
    """A container the engine restarts by its policy stays RUNNING through its crashes."""
    d = fresh_daemon.start()
    with d.client() as api:
        body = _body(restart_policy="always", command=["sh", "-c", "sleep 0.3; exit 1"])
        resilient = api.post("/v1/containers/run", json=body).json()
        wait_for(
            lambda: engine.api.inspect_container(resilient["engine_id"])["RestartCount"] >= 2,
            timeout=15,
            what="the engine to restart the container twice",
        )
        assert api.get(f"/v1/containers/{resilient['id']}").json()["state"] == "RUNNING"


def test_kill_9_at_random_moments_loses_nothing(fresh_daemon: Daemon, engine: docker.DockerClient) -> None:
    """Clients hammer the daemon while it is killed at random moments; after each restart
    the store and the engine agree and every acknowledged container is still there."""
    rng = random.Random(7)
    d = fresh_daemon.start()
    acknowledged: set[str] = set()
    for _round in range(4):
        stop = threading.Event()
        token = d.token
        url = d.url

        def work() -> None:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as api:
                while not stop.is_set():
                    try:
                        r = api.post("/v1/containers/run", json=_body())
                        if r.status_code == 201:
                            acknowledged.add(r.json()["id"])
                            if rng.random() < 0.3:
                                api.post(f"/v1/containers/{r.json()['id']}/stop")
                    except httpx.HTTPError:
                        return  # the daemon died under us: that is the point

        workers = [threading.Thread(target=work) for _ in range(3)]
        for w in workers:
            w.start()
        wait_for(lambda n=len(acknowledged): len(acknowledged) > n, timeout=20, what="some containers to be made")
        threading.Event().wait(rng.uniform(0.05, 0.6))  # kill at an arbitrary moment, not a synchronisation
        d.kill()
        stop.set()
        for w in workers:
            w.join(timeout=15)
        d.start()
        with d.client() as api:
            ids = {c["id"] for c in api.get("/v1/containers").json()}
            assert acknowledged <= ids, "a container the daemon acknowledged was lost"
            _assert_consistent(api, engine, d)


def test_a_recorded_attachment_missing_on_the_engine_is_restored(
    fresh_daemon: Daemon, engine: docker.DockerClient
) -> None:
    """As if popvimd died between recording a connect and telling the engine."""
    d = fresh_daemon.start()
    with d.client() as api:
        api.post("/v1/networks", json={"name": "side", "subnet": free_subnet(engine)})
        running = api.post("/v1/containers/run", json=_body()).json()
        connected = api.post("/v1/networks/side/connect", json={"container": running["id"]}).json()
        address = connected["endpoints"]["side"]["address"]
    d.kill()
    engine.networks.get(f"{d.prefix}side").disconnect(running["engine_id"], force=True)
    d.start()
    networks = engine.api.inspect_container(running["engine_id"])["NetworkSettings"]["Networks"]
    assert networks[f"{d.prefix}side"]["IPAddress"] == address
