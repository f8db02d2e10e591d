"""The [policy]: what reaches the host is refused by default, on every face, and opened by the operator.

Each refusal is checked for what a user relies on: 403 (PERMISSION_DENIED on the
Pop protocol) naming the policy key, and nothing recorded or made on the engine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
from support.daemon import BUSYBOX, PASSWORD, SLEEPER, USER, Daemon, expect_error, unique, wait_for

from popvim.client import Forbidden, PopClient


def host_nic() -> str:
    """The interface of the host's default route: the NIC a macvlan must never hang off unasked."""
    route = subprocess.run(["ip", "-o", "route", "show", "default"], capture_output=True, text=True).stdout.split()
    return route[route.index("dev") + 1] if "dev" in route else "eth0"


# What issue 7 found accepted, as a /v1 body fragment, with the key that must refuse it.
REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("root-as-volume", {"volumes": ["/:/host"]}, "policy.bind_mounts"),
    ("shadow", {"volumes": ["/etc/shadow:/shadow:ro"]}, "policy.bind_mounts"),
    ("docker-socket", {"volumes": ["/var/run/docker.sock:/var/run/docker.sock"]}, "policy.bind_mounts"),
    ("dot-dot", {"volumes": ["/tmp/../etc:/etc2"]}, "policy.bind_mounts"),
    ("relative", {"volumes": ["../../etc:/etc2"]}, "policy.bind_mounts"),
    ("privileged", {"privileged": True}, "policy.privileged"),
    ("cap-all", {"cap_add": ["ALL"]}, "policy.cap_add"),
    ("cap-sys-admin", {"cap_add": ["SYS_ADMIN"]}, "policy.cap_add"),
    ("cap-prefixed", {"cap_add": ["CAP_SYS_ADMIN"]}, "policy.cap_add"),
    ("low-host-port", {"ports": {"80": 80}}, "policy.host_ports"),
]


def refused(response: httpx.Response, key: str) -> None:
    error = expect_error(response, 403, code="forbidden_by_policy")
    assert error["message"].startswith(f"{key}: ") and error["key"] == key, error


def nothing_made(api: httpx.Client, daemon: Daemon, engine: docker.DockerClient, name: str) -> None:
    expect_error(api.get(f"/v1/containers/{name}"), 404)
    assert not engine.containers.list(all=True, filters={"name": daemon.prefix + name})


# --- the defaults, on every face -------------------------------------------------------
@pytest.mark.parametrize(("fragment", "key"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
@pytest.mark.parametrize("route", ["/v1/containers", "/v1/containers/run"])
def test_rest_v1_refuses_what_reaches_the_host(
    api: httpx.Client, daemon: Daemon, engine: docker.DockerClient, route: str, fragment: dict[str, Any], key: str
) -> None:
    name = unique("pol")
    refused(api.post(route, json={"image": BUSYBOX, "name": name, "command": SLEEPER, **fragment}), key)
    nothing_made(api, daemon, engine, name)


@pytest.mark.parametrize(("fragment", "key"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
@pytest.mark.parametrize("route", ["/create", "/run"])
def test_seed_000_routes_refuse_the_same(
    api: httpx.Client, daemon: Daemon, engine: docker.DockerClient, route: str, fragment: dict[str, Any], key: str
) -> None:
    name = unique("pol")
    refused(api.post(route, json={"imagename": BUSYBOX, "containername": name, **fragment}), key)
    nothing_made(api, daemon, engine, name)


def test_networks_on_host_interfaces_are_refused(
    api: httpx.Client, daemon: Daemon, engine: docker.DockerClient
) -> None:
    nic = host_nic()
    cases = [
        ("/v1/networks", {"name": unique("n"), "driver": "macvlan", "parent": nic}, "policy.network_drivers"),
        ("/v1/networks", {"name": unique("n"), "driver": "ipvlan", "parent": nic}, "policy.network_drivers"),
        ("/v1/networks", {"name": unique("n"), "options": {"parent": nic}}, "policy.network_options"),
        (
            "/v1/networks",
            {"name": unique("n"), "options": {"com.docker.network.bridge.name": "docker0"}},
            "policy.network_options",
        ),
        (
            "/v1/networks",
            {"name": unique("n"), "options": {"com.docker.network.bridge.host_binding_ipv4": "0.0.0.0"}},
            "policy.network_options",
        ),
        ("/networkcreate", {"networkname": unique("n"), "driver": "macvlan", "parent": nic}, "policy.network_drivers"),
        ("/v1/networks", {"name": unique("n"), "bridge_name": nic}, "policy.network_parents"),  # the NIC as a bridge
        ("/networkcreate", {"networkname": unique("n"), "bridgename": "lo"}, "policy.network_parents"),
    ]
    for route, body, key in cases:
        refused(api.post(route, json=body), key)
        name = body.get("name") or body["networkname"]
        expect_error(api.get(f"/v1/networks/{name}"), 404)
        assert not engine.networks.list(names=[daemon.prefix + name])
    # A safe option is fine.
    made = api.post("/v1/networks", json={"name": unique("n"), "options": {"com.docker.network.driver.mtu": "1400"}})
    assert made.status_code == 201, made.text
    assert api.delete(f"/v1/networks/{made.json()['id']}").status_code == 204


@pytest.fixture(scope="module")
def pop_client(daemon: Daemon) -> PopClient:
    return PopClient(f"127.0.0.1:{daemon.pop_port}", USER, PASSWORD)


@pytest.mark.parametrize(("fragment", "key"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_pop_protocol_refuses_with_permission_denied(
    pop_client: PopClient, daemon: Daemon, engine: docker.DockerClient, fragment: dict[str, Any], key: str
) -> None:
    logins = pop_client.session.logins
    name = unique("pol")
    with pytest.raises(Forbidden) as caught:
        pop_client.create(name, BUSYBOX, command=SLEEPER, **fragment)
    assert caught.value.code.name == "PERMISSION_DENIED" and caught.value.reason == "forbidden_by_policy"
    assert caught.value.message.startswith(f"{key}: ")
    assert pop_client.session.logins == max(logins, 1)  # a refused request is not a refused token: no new login
    assert not pop_client.containers(name)
    assert not engine.containers.list(all=True, filters={"name": daemon.prefix + name})


def test_pop_protocol_refuses_networks_on_host_interfaces(pop_client: PopClient) -> None:
    nic = host_nic()
    for options, key in (
        ({"driver": "macvlan", "parent": nic}, "policy.network_drivers"),
        ({"driver": "macvlan"}, "policy.network_drivers"),
        ({"options": {"parent": nic}}, "policy.network_options"),
    ):
        name = unique("n")
        with pytest.raises(Forbidden, match=key):
            pop_client.create_network(name, **options)  # type: ignore[arg-type]
        assert not pop_client.networks(name)
    assert pop_client.info().name  # the session still works


def test_ports_are_published_on_loopback_by_default(api: httpx.Client, engine: docker.DockerClient) -> None:
    r = api.post(
        "/v1/containers/run",
        json={"image": BUSYBOX, "name": unique("web"), "command": SLEEPER, "ports": {"8000": None}},
    )
    assert r.status_code == 201, r.text
    bindings = engine.api.inspect_container(r.json()["engine_id"])["HostConfig"]["PortBindings"]
    assert [b["HostIp"] for b in bindings["8000/tcp"]] == ["127.0.0.1"]
    assert api.delete(f"/v1/containers/{r.json()['id']}").status_code == 204


# --- an operator opens keys ---------------------------------------------------------------
@pytest.fixture(scope="module")
def opened_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("policy")
    allowed, secret = base / "allowed", base / "secret"
    allowed.mkdir()
    secret.mkdir()
    (allowed / "hello.txt").write_text("from the allowed dir")
    (secret / "key").write_text("must not be read")
    os.symlink(secret, allowed / "to-secret")
    return {"base": base, "allowed": allowed, "secret": secret}


OPENED = """
[policy]
cap_add = ["NET_ADMIN", "NET_RAW", "SYS_ADMIN"]
bind_mounts = ["{allowed}"]
bind_address = "127.0.0.2"
"""


@pytest.fixture(scope="module")
def opened(engine: docker.DockerClient, opened_dirs: dict[str, Path]) -> Iterator[Daemon]:
    d = Daemon(opened_dirs["base"] / "state", config_text=OPENED.format(allowed=opened_dirs["allowed"])).start()
    yield d
    d.stop()
    d.purge()


@pytest.fixture
def opened_api(opened: Daemon) -> Iterator[httpx.Client]:
    with opened.client() as client:
        yield client


def test_opened_keys_are_accepted_and_the_container_runs(
    opened_api: httpx.Client, opened: Daemon, engine: docker.DockerClient, opened_dirs: dict[str, Path]
) -> None:
    allowed = opened_dirs["allowed"]
    r = opened_api.post(
        "/v1/containers/run",
        json={
            "image": BUSYBOX,
            "name": unique("open"),
            "command": SLEEPER,
            "volumes": [f"{allowed}:/data:ro"],
            "cap_add": ["SYS_ADMIN", "NET_ADMIN"],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "RUNNING"
    host = engine.api.inspect_container(r.json()["engine_id"])["HostConfig"]
    assert sorted(host["CapAdd"]) == ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"] or sorted(host["CapAdd"]) == [
        "NET_ADMIN",
        "SYS_ADMIN",
    ]
    out = opened_api.post(f"/v1/containers/{r.json()['id']}/exec", json={"command": ["cat", "/data/hello.txt"]})
    assert out.json()["stdout"] == "from the allowed dir"
    seed = opened_api.post(
        "/run",
        json={
            "imagename": BUSYBOX,
            "containername": unique("seed"),
            "command": SLEEPER,
            "volumes": [f"{allowed}:/data"],
        },
    )
    assert seed.status_code == 201 and seed.json()["state"] == "RUNNING", seed.text
    pop = PopClient(f"127.0.0.1:{opened.pop_port}", USER, PASSWORD)
    spawned = pop.spawn(unique("pop"), BUSYBOX, command=SLEEPER, volumes=[f"{allowed}:/data:ro"], cap_add=["SYS_ADMIN"])
    assert spawned.status == "RUNNING"
    assert pop.exec(f"id:{spawned.id}", ["cat", "/data/hello.txt"]).stdout == "from the allowed dir"


def test_opening_a_prefix_opens_nothing_around_it(
    opened_api: httpx.Client, opened: Daemon, engine: docker.DockerClient, opened_dirs: dict[str, Path]
) -> None:
    allowed, secret = opened_dirs["allowed"], opened_dirs["secret"]
    for volume in (
        f"{allowed}/../secret:/x",
        f"{allowed}/to-secret:/x",
        f"{allowed}-not:/x",
        f"{secret}:/x",
        "/:/host",
    ):
        name = unique("esc")
        refused(
            opened_api.post(
                "/v1/containers/run", json={"image": BUSYBOX, "name": name, "command": SLEEPER, "volumes": [volume]}
            ),
            "policy.bind_mounts",
        )
        nothing_made(opened_api, opened, engine, name)
    refused(opened_api.post("/v1/containers", json={"image": BUSYBOX, "privileged": True}), "policy.privileged")
    refused(opened_api.post("/v1/containers", json={"image": BUSYBOX, "cap_add": ["ALL"]}), "policy.cap_add")


def test_a_path_turned_into_a_symlink_after_create_is_refused_at_start(
    opened_api: httpx.Client, opened_dirs: dict[str, Path]
) -> None:
    later = opened_dirs["allowed"] / f"later-{unique()}"
    later.mkdir()
    r = opened_api.post("/v1/containers", json={"image": BUSYBOX, "command": SLEEPER, "volumes": [f"{later}:/x"]})
    assert r.status_code == 201, r.text
    later.rmdir()
    os.symlink(opened_dirs["secret"], later)
    refused(opened_api.post(f"/v1/containers/{r.json()['id']}/start"), "policy.bind_mounts")
    assert opened_api.get(f"/v1/containers/{r.json()['id']}").json()["state"] == "CREATED"


def test_the_bind_address_is_the_operators(opened_api: httpx.Client, engine: docker.DockerClient) -> None:
    r = opened_api.post(
        "/v1/containers/run",
        json={
            "image": BUSYBOX,
            "name": unique("web"),
            "ports": {"8000": None},
            "command": ["sh", "-c", "echo opened > /tmp/index.html; httpd -f -p 8000 -h /tmp"],
        },
    )
    assert r.status_code == 201, r.text
    binding = engine.api.port(r.json()["engine_id"], 8000)
    assert [b["HostIp"] for b in binding] == ["127.0.0.2"]
    url = f"http://127.0.0.2:{binding[0]['HostPort']}/index.html"

    def fetch() -> str | None:
        try:
            answer = httpx.get(url, timeout=1)
        except httpx.HTTPError:
            return None
        return answer.text if answer.status_code == 200 else None

    assert wait_for(fetch, timeout=10, what="httpd on 127.0.0.2").strip() == "opened"


def test_popvimd_policy_prints_the_policy_in_force(opened: Daemon, opened_dirs: dict[str, Path]) -> None:
    def policy(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "popvim.daemon", "policy", *args], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    printed = policy("--config", str(opened.config_path))
    assert "[policy]" in printed and str(opened_dirs["allowed"]) in printed and '"SYS_ADMIN"' in printed
    assert 'bind_address = "127.0.0.2"' in printed
    defaults = policy()
    assert "privileged = false" in defaults and 'host_ports = "1024-65535"' in defaults
    assert "bind_mounts = []" in defaults and "SYS_ADMIN" not in defaults
