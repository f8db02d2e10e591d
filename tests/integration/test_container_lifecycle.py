"""The Pop container lifecycle over REST, checked against the engine itself."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterator

import docker
import httpx
import pytest
from support.daemon import BUSYBOX, SLEEPER, Daemon, create_container, unique, wait_for

pytestmark = pytest.mark.both_databases


@pytest.fixture(scope="module")
def daemon(engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """The module's popvimd, with the policy keys its tests exercise opened: privileged
    containers and bind mounts of the tests' own temporary directories."""
    opened = f'[policy]\nprivileged = true\nbind_mounts = ["{tmp_path_factory.getbasetemp()}"]\n'
    d = Daemon(tmp_path_factory.mktemp("popvimd"), config_text=opened).start()
    yield d
    d.stop()
    d.purge()


def state_of(api: httpx.Client, ref: str) -> str:
    return api.get(f"/v1/containers/{ref}").json()["state"]


def test_create_reserves_an_address_and_starts_nothing(
    api: httpx.Client, daemon: Daemon, engine: docker.DockerClient
) -> None:
    c = create_container(api)
    assert c["state"] == "CREATED" and c["engine_id"] is None
    endpoint = c["endpoints"]["private"]
    private = api.get("/v1/networks/private").json()
    assert ipaddress.ip_address(endpoint["address"]) in ipaddress.ip_network(private["subnet"])
    assert endpoint["active"] is True
    assert not engine.containers.list(all=True, filters={"name": daemon.prefix + c["name"]})


def test_metadata_merges_then_becomes_environment(api: httpx.Client) -> None:
    c = create_container(api, metadata={"A": "1", "GONE": "x"}, env={"STATIC": "s"})
    r = api.patch(f"/v1/containers/{c['id']}/metadata", json={"B": "2", "GONE": "", "A": "one"})
    assert r.status_code == 200 and r.json() == {"A": "one", "B": "2"}
    assert api.get(f"/v1/containers/{c['name']}/metadata").json() == {"A": "one", "B": "2"}
    started = api.post(f"/v1/containers/{c['id']}/start").json()
    assert started["state"] == "RUNNING" and started["engine_id"]
    out = api.post(f"/v1/containers/{c['id']}/exec", json={"command": ["env"]}).json()
    assert out["exit_code"] == 0
    env = dict(line.split("=", 1) for line in out["stdout"].splitlines() if "=" in line)
    assert env["A"] == "one" and env["B"] == "2" and env["STATIC"] == "s" and "GONE" not in env
    r = api.patch(f"/v1/containers/{c['id']}/metadata", json={"C": "3"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_state"


def test_engine_container_gets_the_reserved_address(api: httpx.Client, engine: docker.DockerClient) -> None:
    c = create_container(api)
    reserved = c["endpoints"]["private"]["address"]
    started = api.post(f"/v1/containers/{c['id']}/start").json()
    inspected = engine.api.inspect_container(started["engine_id"])
    addresses = [n["IPAddress"] for n in inspected["NetworkSettings"]["Networks"].values()]
    assert addresses == [reserved]
    out = api.post(f"/v1/containers/{c['id']}/exec", json={"command": ["ip", "-4", "addr"]}).json()
    assert reserved in out["stdout"]


def test_state_machine_refuses_invalid_transitions(api: httpx.Client) -> None:
    c = create_container(api)
    r = api.post(f"/v1/containers/{c['id']}/stop")
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_running"
    assert api.post(f"/v1/containers/{c['id']}/start").status_code == 200
    r = api.post(f"/v1/containers/{c['id']}/start")
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_started"
    r = api.post(f"/v1/containers/{c['id']}/stop")
    assert r.status_code == 202 and r.json()["state"] == "STOPPING"
    wait_for(lambda: state_of(api, c["id"]) == "EXITED", what="EXITED after stop")
    again = api.post(f"/v1/containers/{c['id']}/stop")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_stopped"
    assert api.post(f"/v1/containers/{c['id']}/start").status_code == 409
    gone = api.get(f"/v1/containers/{c['id']}").json()
    assert gone["endpoints"]["private"]["active"] is False
    assert api.delete(f"/v1/containers/{c['id']}").status_code == 204
    assert api.get(f"/v1/containers/{c['id']}").status_code == 404


def test_stop_with_wait_answers_when_exited(api: httpx.Client) -> None:
    c = create_container(api)
    api.post(f"/v1/containers/{c['id']}/start")
    r = api.post(f"/v1/containers/{c['id']}/stop", params={"wait": True})
    assert r.status_code == 202 and r.json()["state"] == "EXITED"


def test_released_address_is_reused_only_after_termination(api: httpx.Client) -> None:
    net = api.post("/v1/networks", json={"name": unique("n"), "subnet": "10.231.0.0/29"}).json()
    first = create_container(api, endpoints={net["name"]: None})
    address = first["endpoints"][net["name"]]["address"]
    api.post(f"/v1/containers/{first['id']}/start")
    second = create_container(api, endpoints={net["name"]: None})
    assert second["endpoints"][net["name"]]["address"] != address
    api.post(f"/v1/containers/{first['id']}/stop", params={"wait": True})
    third = create_container(api, endpoints={net["name"]: address})
    assert third["endpoints"][net["name"]]["address"] == address
    for c in (first, second, third):
        api.delete(f"/v1/containers/{c['id']}")
    assert api.delete(f"/v1/networks/{net['id']}").status_code == 204


def test_container_that_dies_is_marked_by_engine_events(api: httpx.Client) -> None:
    failing = create_container(api, command=["sh", "-c", "sleep 0.3; exit 3"])
    clean = create_container(api, command=["sh", "-c", "sleep 0.3; exit 0"])
    api.post(f"/v1/containers/{failing['id']}/start")
    api.post(f"/v1/containers/{clean['id']}/start")
    wait_for(lambda: state_of(api, failing["id"]) == "FAILED", timeout=5, what="FAILED")
    wait_for(lambda: state_of(api, clean["id"]) == "EXITED", timeout=5, what="EXITED")
    done = api.get(f"/v1/containers/{failing['id']}").json()
    assert done["exit_code"] == 3 and "code 3" in done["extended_status"]


def test_killed_container_fails(api: httpx.Client, engine: docker.DockerClient) -> None:
    c = create_container(api)
    started = api.post(f"/v1/containers/{c['id']}/start").json()
    engine.containers.get(started["engine_id"]).kill()
    wait_for(lambda: state_of(api, c["id"]) == "FAILED", timeout=5, what="FAILED after docker kill")


def test_start_failure_leaves_a_failed_record(api: httpx.Client) -> None:
    c = create_container(api, command=["/no/such/binary"])
    r = api.post(f"/v1/containers/{c['id']}/start")
    assert r.status_code == 502 and "no/such/binary" in r.json()["error"]["message"]
    failed = api.get(f"/v1/containers/{c['id']}").json()
    assert failed["state"] == "FAILED" and failed["endpoints"]["private"]["active"] is False


@pytest.mark.one_database
def test_flavours_and_options_reach_the_engine(api: httpx.Client, engine: docker.DockerClient, tmp_path) -> None:
    flavours = {f["id"]: f for f in api.get("/v1/flavours").json()}
    assert flavours["docker.container"]["cpus"] is None and flavours["m1.tiny"]["memory"] == 128 * 1024**2
    (tmp_path / "hello.txt").write_text("from the host")
    c = create_container(
        api,
        flavour="m1.tiny",
        mac_address="02:42:ac:11:00:99",
        cap_add=["NET_ADMIN"],
        restart_policy="on-failure:2",
        volumes=[f"{tmp_path}:/data:ro"],
        labels={"team": "nfv"},
    )
    started = api.post(f"/v1/containers/{c['id']}/start").json()
    host = engine.api.inspect_container(started["engine_id"])["HostConfig"]
    assert host["NanoCpus"] == 250_000_000 and host["Memory"] == 128 * 1024**2
    assert host["Privileged"] is False and host["CapAdd"] == ["NET_ADMIN"]
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    config = engine.api.inspect_container(started["engine_id"])["Config"]
    assert config["Labels"]["team"] == "nfv"
    out = api.post(f"/v1/containers/{c['id']}/exec", json={"command": ["cat", "/data/hello.txt"]}).json()
    assert out["stdout"] == "from the host"
    link = api.post(f"/v1/containers/{c['id']}/exec", json={"command": ["ip", "link"]}).json()["stdout"]
    assert "02:42:ac:11:00:99" in link
    explicit = create_container(api, flavour="m1.tiny", cpus=1.5, memory="64m")
    started = api.post(f"/v1/containers/{explicit['id']}/start").json()
    host = engine.api.inspect_container(started["engine_id"])["HostConfig"]
    assert host["NanoCpus"] == 1_500_000_000 and host["Memory"] == 64 * 1024**2


@pytest.mark.one_database
def test_privileged_reaches_the_engine(api: httpx.Client, engine: docker.DockerClient) -> None:
    """This sandbox's runtime lacks CAP_SYS_RESOURCE, so privileged containers cannot
    run on it; wherever that happens popvim must say so with the engine's reason."""
    c = create_container(api, privileged=True)
    r = api.post(f"/v1/containers/{c['id']}/start")
    record = api.get(f"/v1/containers/{c['id']}").json()
    assert engine.api.inspect_container(record["engine_id"])["HostConfig"]["Privileged"] is True
    if r.status_code == 200:
        assert record["state"] == "RUNNING"
        out = api.post(
            f"/v1/containers/{c['id']}/exec", json={"command": ["ip", "link", "add", "d0", "type", "bridge"]}
        )
        assert out.json()["exit_code"] == 0
    else:
        assert r.status_code == 502 and record["state"] == "FAILED"
        assert "unable to apply caps" in r.json()["error"]["message"] and "caps" in record["extended_status"]


@pytest.mark.one_database
def test_published_port_serves_on_loopback(api: httpx.Client) -> None:
    r = api.post(
        "/v1/containers/run",
        json={
            "image": BUSYBOX,
            "name": unique("web"),
            "command": ["sh", "-c", "echo hello-popvim > /tmp/index.html; httpd -f -p 8000 -h /tmp"],
            "ports": {"8000": None},
        },
    )
    assert r.status_code == 201 and r.json()["state"] == "RUNNING"
    cid = r.json()["id"]
    inspected = api.get(f"/v1/containers/{cid}").json()
    from docker import from_env

    binding = from_env().api.port(inspected["engine_id"], 8000)
    host_port = int(binding[0]["HostPort"])
    assert inspected["ports"] == {"8000/tcp": host_port}  # the port the engine chose, as the record keeps it
    body = wait_for(
        lambda: _get_or_none(f"http://127.0.0.1:{host_port}/index.html"), timeout=10, what="httpd to answer"
    )
    assert body.strip() == "hello-popvim"


def _get_or_none(url: str) -> str | None:
    try:
        r = httpx.get(url, timeout=1)
        return r.text if r.status_code == 200 else None
    except httpx.HTTPError:
        return None


@pytest.mark.one_database
def test_logs_stats_and_commit(api: httpx.Client, engine: docker.DockerClient) -> None:
    c = create_container(api, command=["sh", "-c", "echo line-one; echo line-two; exec sleep 600"])
    assert api.get(f"/v1/containers/{c['id']}/logs").json()["logs"] == ""
    api.post(f"/v1/containers/{c['id']}/start")
    logs = wait_for(
        lambda: (text := api.get(f"/v1/containers/{c['id']}/logs").json()["logs"]) and "line-two" in text and text,
        what="logs",
    )
    assert logs.splitlines() == ["line-one", "line-two"]
    assert api.get(f"/v1/containers/{c['id']}/logs", params={"tail": 1}).json()["logs"].strip() == "line-two"
    stats = api.get(f"/v1/containers/{c['id']}/stats").json()
    assert stats["memory_usage"] > 0 and stats["pids"] >= 1
    api.post(f"/v1/containers/{c['id']}/exec", json={"command": ["sh", "-c", "echo committed > /marker"]})
    repo = f"popvim-test/committed-{uuid.uuid4().hex[:6]}"
    r = api.post(f"/v1/containers/{c['id']}/commit", json={"repository": repo, "tag": "v1", "message": "m"})
    assert r.status_code == 201 and f"{repo}:v1" in r.json()["tags"]
    out = engine.containers.run(f"{repo}:v1", ["cat", "/marker"], remove=True)
    assert out.strip() == b"committed"
    engine.images.remove(f"{repo}:v1")
    not_running = create_container(api)
    assert api.get(f"/v1/containers/{not_running['id']}/stats").status_code == 409
    assert api.post(f"/v1/containers/{not_running['id']}/exec", json={"command": ["true"]}).status_code == 409
    assert api.post(f"/v1/containers/{not_running['id']}/commit", json={"repository": "x"}).status_code == 409


def test_list_filters(api: httpx.Client) -> None:
    a = create_container(api, labels={"tier": "db"})
    b = create_container(api)
    api.post(f"/v1/containers/{b['id']}/start")
    names = lambda **q: {c["name"] for c in api.get("/v1/containers", params=q).json()}  # noqa: E731
    assert a["name"] in names(state="CREATED") and a["name"] not in names(state="RUNNING")
    assert b["name"] in names(state="RUNNING")
    assert names(name=a["name"]) == {a["name"]}
    assert a["name"] in names(label="tier=db") and b["name"] not in names(label="tier")
    assert {a["name"], b["name"]} <= names(network="private")
    assert api.get("/v1/containers", params={"state": "BOGUS"}).status_code == 422


def test_stop_all_and_prune_touch_only_this_pop(api: httpx.Client, engine: docker.DockerClient) -> None:
    foreign = engine.containers.run(BUSYBOX, SLEEPER, detach=True, name=unique("foreign"))
    try:
        running = [create_container(api) for _ in range(3)]
        for c in running:
            api.post(f"/v1/containers/{c['id']}/start")
        stopped = api.post("/v1/containers/stop-all").json()
        assert {c["id"] for c in running} <= {c["id"] for c in stopped}
        for c in running:
            wait_for(lambda c=c: state_of(api, c["id"]) == "EXITED", what="stop-all")
        pruned = api.post("/v1/containers/prune").json()["deleted"]
        assert {c["name"] for c in running} <= set(pruned)
        assert all(api.get(f"/v1/containers/{c['id']}").status_code == 404 for c in running)
        foreign.reload()
        assert foreign.status == "running"
    finally:
        foreign.remove(force=True)


def test_delete_of_running_container_removes_engine_container(api: httpx.Client, engine: docker.DockerClient) -> None:
    c = create_container(api)
    started = api.post(f"/v1/containers/{c['id']}/start").json()
    assert api.delete(f"/v1/containers/{c['name']}").status_code == 204
    assert not engine.containers.list(all=True, filters={"id": started["engine_id"]})
    assert api.delete(f"/v1/containers/{c['name']}").status_code == 404


@pytest.mark.one_database
def test_out_of_memory_death_says_so(api: httpx.Client) -> None:
    c = create_container(
        api, memory="8m", command=["sh", "-c", "x=$(head -c 64000000 /dev/zero | tr '\\0' a); sleep 5"]
    )
    api.post(f"/v1/containers/{c['id']}/start")
    dead = wait_for(
        lambda: (r := api.get(f"/v1/containers/{c['id']}").json())["state"] == "FAILED" and r,
        timeout=20,
        what="the memory limit to kill it",
    )
    assert "out of memory" in dead["extended_status"], dead
