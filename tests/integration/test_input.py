"""Input is taken literally and checked before it can do harm (issue 7, item 7), and the
VIM reconciles on a timer as well as on events (item 8).

After each bad request the daemon still answers /health and an authenticated list,
and what other tests made is untouched.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest
import yaml
from support.daemon import Daemon, create_container, expect_error, free_subnet, unique, wait_for
from support.engine_proxy import EngineProxy

from popvim.vim.networks import host_routes

FIXTURES = Path(__file__).parent.parent / "unit" / "fixtures"


def still_answers(daemon: Daemon) -> None:
    assert httpx.get(f"{daemon.url}/health", timeout=10).status_code == 200
    with daemon.client(timeout=10) as api:
        assert api.get("/v1/containers").status_code == 200


def make_network(api: httpx.Client, **body: object) -> dict:
    body.setdefault("name", unique("n"))
    r = api.post("/v1/networks", json=body)
    assert r.status_code == 201, r.text
    return r.json()


# --- names and references are never patterns ------------------------------------------------
def test_wildcards_in_a_reference_match_nothing(api: httpx.Client, daemon: Daemon) -> None:
    net = make_network(api)
    container = create_container(api)
    for pattern in ("_" * 12, "%" * 12, "_" * 64, net["engine_id"][:11] + "_", net["engine_id"][:12] + "%"):
        expect_error(api.delete(f"/v1/networks/{pattern}"), 404, code="not_found")
        expect_error(api.get(f"/v1/containers/{pattern}"), 404, code="not_found")
        expect_error(api.delete(f"/v1/containers/{pattern}"), 404, code="not_found")
    assert api.get(f"/v1/networks/{net['id']}").status_code == 200
    assert api.get(f"/v1/containers/{container['id']}").status_code == 200
    # A real hex prefix of 12 or more still works, as documented.
    assert api.get(f"/v1/networks/{net['engine_id'][:12]}").json()["id"] == net["id"]
    expect_error(api.get(f"/v1/networks/{net['engine_id'][:12].upper()}"), 404)
    still_answers(daemon)


# --- subnets ----------------------------------------------------------------------------
def _a_host_route() -> str | None:
    """A subnet of a route or address of this host that no engine network uses."""
    engine_subnets = [
        ipaddress.ip_network(c["Subnet"])
        for n in docker.from_env().api.networks()
        for c in (n.get("IPAM") or {}).get("Config") or []
        if c.get("Subnet")
    ]
    for route in host_routes():
        if not any(route.overlaps(s) for s in engine_subnets if s.version == 4) and route.prefixlen >= 16:
            return str(route)
    return None


@pytest.mark.parametrize(
    "subnet",
    [
        "0.0.0.0/1",
        "0.0.0.0/8",
        "0.1.2.0/24",
        "127.0.0.0/24",
        "169.254.0.0/16",
        "224.0.0.0/24",
        "239.255.0.0/16",
        "240.0.0.0/24",
        "255.255.255.0/24",
        "10.0.0.0/8",
        "10.0.0.0/15",
    ],
)
def test_unusable_subnets_are_refused(api: httpx.Client, daemon: Daemon, subnet: str) -> None:
    error = expect_error(
        api.post("/v1/networks", json={"name": unique("n"), "subnet": subnet}), 400, code="invalid_argument"
    )
    assert subnet.split("/")[0] in error["message"] or "larger than" in error["message"]
    still_answers(daemon)


def test_a_subnet_of_the_hosts_own_routes_is_refused(api: httpx.Client, daemon: Daemon) -> None:
    route = _a_host_route()
    assert route, f"this host has a route that no engine network uses: {host_routes()}"
    error = expect_error(
        api.post("/v1/networks", json={"name": unique("n"), "subnet": route}), 400, code="invalid_argument"
    )
    assert "route of this host" in error["message"]
    still_answers(daemon)


def test_the_largest_subnet_is_a_slash_16(api: httpx.Client, daemon: Daemon, engine: docker.DockerClient) -> None:
    subnet = free_subnet(engine, prefix=16)
    assert api.post("/v1/networks", json={"name": unique("n"), "subnet": subnet}).status_code == 201


# --- no trailing newline or control character -------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        {"ports": {"80/tcp\n": 8080}},
        {"ports": {"80\n": None}},
        {"restart_policy": "always\n"},
        {"restart_policy": "on-failure:3\n"},
        {"name": "web\n"},
        {"mac_address": "02:42:ac:11:00:02\n"},
        {"cap_add": ["NET_ADMIN\n"]},
        {"memory": "512m\n"},
        {"image": "popvim-test/busybox:latest\n"},
        {"volumes": ["data:/data\n"]},
        {"env": {"KEY\n": "v"}},
        {"env": {"K\tEY": "v"}},
        {"labels": {"a\x1b": "b"}},
        {"flavour": "m1.tiny\n"},
        {"endpoints": {"private\n": None}},
    ],
)
def test_trailing_newlines_and_control_characters_are_refused(api: httpx.Client, daemon: Daemon, body: dict) -> None:
    body = {"image": "popvim-test/busybox:latest", "name": unique(), **body}
    expect_error(api.post("/v1/containers", json=body), 422, code="invalid_request")
    still_answers(daemon)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "lan\n"},
        {"driver": "bridge\n"},
        {"bridge_name": "br0\n"},
        {"subnet": "10.99.0.0/24\n"},
        {"gateway": "10.99.0.1\n"},
        {"options": {"mtu\n": "1500"}},
    ],
)
def test_network_fields_refuse_trailing_newlines(api: httpx.Client, daemon: Daemon, body: dict) -> None:
    expect_error(api.post("/v1/networks", json={"name": unique("n"), **body}), 422, code="invalid_request")
    still_answers(daemon)


def test_seed_routes_and_pop_registry_refuse_trailing_newlines(api: httpx.Client, daemon: Daemon) -> None:
    r = api.post("/create", json={"imagename": "popvim-test/busybox:latest", "containername": "x\n"})
    expect_error(r, 422, code="invalid_request")
    r = api.post("/v1/pops", json={"name": "p\n", "address": "127.0.0.1:1", "username": "u", "password": "p"})
    expect_error(r, 422, code="invalid_request")
    r = api.post("/v1/pops", json={"name": "p", "address": "127.0.0.1:1\n", "username": "u", "password": "p"})
    expect_error(r, 422, code="invalid_request")
    r = api.post("/v1/pops", json={"name": "p", "address": "127.0.0.1:1", "username": "u\n", "password": "p"})
    expect_error(r, 422, code="invalid_request")
    still_answers(daemon)


# --- TOSCA sizes ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("mem_size", "99999999999999999999 TB"),
        ("mem_size", "9" * 400 + " MB"),
        ("num_cpus", 10**30),
    ],
)
def test_tosca_sizes_that_overflow_are_422(api: httpx.Client, daemon: Daemon, key: str, value: object) -> None:
    doc = yaml.safe_load((FIXTURES / "tosca" / "annex-h-kubernetes-webserver.yaml").read_text())
    doc["topology_template"]["node_templates"]["VDU1"]["properties"]["vnfc"]["front_end"][key] = value
    r = api.post("/nsd/v1/ns_descriptors", content=yaml.safe_dump(doc), headers={"content-type": "application/yaml"})
    error = expect_error(r, 422, code="invalid_descriptor")
    assert any(key in p["path"] for p in error["problems"]), error
    still_answers(daemon)


# --- MAC addresses ----------------------------------------------------------------------
def test_a_mac_address_is_unique_on_a_network(api: httpx.Client, daemon: Daemon) -> None:
    net = make_network(api)
    mac = "02:42:0a:63:00:07"
    first = create_container(api, mac_address=mac, endpoints={net["name"]: None})
    error = expect_error(
        api.post(
            "/v1/containers",
            json={
                "image": "popvim-test/busybox:latest",
                "name": unique(),
                "mac_address": mac.upper(),
                "endpoints": {net["name"]: None},
            },
        ),
        409,
        code="already_exists",
    )
    assert first["name"] in error["message"]
    # Another network may hold the same MAC; and once the first is gone, so may this one.
    other = make_network(api)
    create_container(api, mac_address=mac, endpoints={other["name"]: None})
    assert api.delete(f"/v1/containers/{first['id']}").status_code == 204
    create_container(api, mac_address=mac, endpoints={net["name"]: None})


# --- an engine that goes away -----------------------------------------------------------
@pytest.fixture
def proxied(engine: docker.DockerClient, tmp_path: Path) -> Iterator[tuple[Daemon, EngineProxy]]:
    """A daemon that reaches the engine only through a proxy the test controls, reconciling every 2 s."""
    proxy = EngineProxy(tmp_path / "engine.sock").start()
    d = Daemon(
        tmp_path / "state",
        extra_args=["--docker-host", proxy.url],
        config_text="[pop]\nreconcile_interval = 2\nstop_timeout = 1\n",
    )
    try:
        d.start()
        yield d, proxy
    finally:
        proxy.restore()
        d.kill()
        d.purge()
        proxy.close()


def test_a_stop_while_the_engine_is_unreachable_stays_stopping(
    proxied: tuple[Daemon, EngineProxy], engine: docker.DockerClient
) -> None:
    d, proxy = proxied
    with d.client(timeout=20) as api:
        c = api.post(f"/v1/containers/{create_container(api)['id']}/start").json()
        assert c["state"] == "RUNNING", c
        proxy.cut()
        assert api.post(f"/v1/containers/{c['id']}/stop").json()["state"] == "STOPPING"
        held = wait_for(
            lambda: (
                (got := api.get(f"/v1/containers/{c['id']}").json()) and "unreachable" in got["extended_status"] and got
            ),
            what="the stop attempt to fail",
        )
        assert held["state"] == "STOPPING"
        assert all(e["active"] for e in held["endpoints"].values())
        assert httpx.get(f"{d.url}/health", timeout=10).json() == {"status": "ok", "engine": "down"}
        # Nobody else may take its address meanwhile.
        address = next(iter(held["endpoints"].values()))["address"]
        net = next(iter(held["endpoints"]))
        r = api.post(
            "/v1/containers",
            json={"image": "popvim-test/busybox:latest", "name": unique(), "endpoints": {net: address}},
        )
        assert r.status_code in (409, 502), r.text  # taken (or the image cannot be resolved meanwhile)
        assert engine.containers.get(c["engine_id"]).status == "running"
        proxy.restore()
        done = wait_for(
            lambda: (got := api.get(f"/v1/containers/{c['id']}").json())["state"] == "EXITED" and got,
            timeout=30,
            what="reconciliation to finish the stop",
        )
        assert not any(e["active"] for e in done["endpoints"].values())
        assert engine.containers.get(c["engine_id"]).status == "exited"


def test_a_missed_event_is_corrected_by_the_periodic_reconcile(
    proxied: tuple[Daemon, EngineProxy], engine: docker.DockerClient
) -> None:
    d, proxy = proxied
    with d.client(timeout=20) as api:
        c = api.post(f"/v1/containers/{create_container(api)['id']}/start").json()
        assert c["state"] == "RUNNING", c
        proxy.mute_events()  # connected, but the death below is never told
        engine.containers.get(c["engine_id"]).kill()
        dead = wait_for(
            lambda: (got := api.get(f"/v1/containers/{c['id']}").json())["state"] != "RUNNING" and got,
            timeout=30,
            what="the periodic reconcile to notice the death",
        )
        assert dead["state"] == "FAILED"  # killed: code 137
        assert not any(e["active"] for e in dead["endpoints"].values())
