"""Networks over REST, checked against the engine and the host's own links."""

from __future__ import annotations

import ipaddress
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import docker
import httpx
import pytest
from support.daemon import (
    BUSYBOX,
    SLEEPER,
    Daemon,
    create_container,
    expect_error,
    free_subnet,
    unique,
    wait_for,
)

pytestmark = pytest.mark.both_databases


def link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


def make_network(api: httpx.Client, **body: Any) -> dict:
    body.setdefault("name", unique("n"))
    r = api.post("/v1/networks", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def start(api: httpx.Client, container: dict) -> dict:
    r = api.post(f"/v1/containers/{container['id']}/start")
    assert r.status_code == 200, r.text
    return r.json()


def engine_addresses(engine: docker.DockerClient, engine_id: str) -> dict[str, str]:
    """Engine network name -> the container's IPv4 on it, as the engine reports."""
    networks = engine.api.inspect_container(engine_id)["NetworkSettings"]["Networks"]
    return {name: net["IPAddress"] for name, net in networks.items()}


def addresses_inside(api: httpx.Client, container: dict) -> str:
    r = api.post(f"/v1/containers/{container['id']}/exec", json={"command": ["ip", "-4", "addr"]})
    assert r.status_code == 200, r.text
    return r.json()["stdout"]


def ping(api: httpx.Client, container: dict, address: str) -> dict:
    r = api.post(f"/v1/containers/{container['id']}/exec", json={"command": ["ping", "-c", "1", "-W", "2", address]})
    assert r.status_code == 200, r.text
    return r.json()


def engine_subnets(engine: docker.DockerClient, exclude: str = "") -> list[ipaddress.IPv4Network]:
    return [
        ipaddress.IPv4Network(c["Subnet"])
        for n in engine.api.networks()
        if n["Id"] != exclude
        for c in (n.get("IPAM") or {}).get("Config") or []
        if c.get("Subnet") and ":" not in c["Subnet"]
    ]


def delete_all(api: httpx.Client, containers: list[dict], network: dict | None = None) -> None:
    for c in containers:
        assert api.delete(f"/v1/containers/{c['id']}").status_code == 204
    if network is not None:
        assert api.delete(f"/v1/networks/{network['id']}").status_code == 204


# --- create ---------------------------------------------------------------------
def test_explicit_addressing_and_bridge_name_reach_the_engine(
    api: httpx.Client, daemon: Daemon, engine: docker.DockerClient
) -> None:
    subnet = ipaddress.IPv4Network(free_subnet(engine))
    ip_range = str(list(subnet.subnets(new_prefix=26))[1])
    gateway = str(subnet.broadcast_address - 1)
    bridge = f"pvbr{uuid.uuid4().hex[:8]}"
    net = make_network(api, subnet=str(subnet), ip_range=ip_range, gateway=gateway, bridge_name=bridge)
    assert (net["subnet"], net["ip_range"], net["gateway"], net["bridge_name"]) == (
        str(subnet),
        ip_range,
        gateway,
        bridge,
    )
    assert net["driver"] == "bridge" and net["internal"] is False and net["is_default"] is False

    inspected = engine.api.inspect_network(net["engine_id"])
    assert inspected["Name"] == daemon.prefix + net["name"] and inspected["Driver"] == "bridge"
    [ipam] = inspected["IPAM"]["Config"]
    assert (ipam["Subnet"], ipam["IPRange"], ipam["Gateway"]) == (str(subnet), ip_range, gateway)
    assert inspected["Options"]["com.docker.network.bridge.name"] == bridge
    assert inspected["Labels"]["io.popvim.pop"] == daemon.name
    assert link_exists(bridge)
    assert api.get(f"/v1/networks/{net['name']}").json() == api.get(f"/v1/networks/{net['id']}").json()
    assert net["id"] in {n["id"] for n in api.get("/v1/networks").json()}

    c = create_container(api, endpoints={net["name"]: None})
    address = c["endpoints"][net["name"]]["address"]
    assert ipaddress.IPv4Address(address) in ipaddress.IPv4Network(ip_range)
    assert c["endpoints"][net["name"]]["gateway"] == gateway and c["endpoints"][net["name"]]["prefix_length"] == 24
    started = start(api, c)
    assert engine_addresses(engine, started["engine_id"]) == {daemon.prefix + net["name"]: address}
    host_side = subprocess.run(["ip", "-4", "addr", "show", bridge], capture_output=True, text=True).stdout
    assert f"{gateway}/24" in host_side

    delete_all(api, [c], net)
    with pytest.raises(docker.errors.NotFound):
        engine.api.inspect_network(net["engine_id"])
    assert not link_exists(bridge)
    expect_error(api.get(f"/v1/networks/{net['id']}"), 404, code="not_found")


def test_omitted_subnet_is_a_free_one_from_the_pool(api: httpx.Client, engine: docker.DockerClient) -> None:
    nets = [make_network(api) for _ in range(3)]
    pool = ipaddress.IPv4Network("172.16.0.0/12")
    for net in nets:
        subnet = ipaddress.IPv4Network(net["subnet"])
        assert subnet.subnet_of(pool) and subnet.prefixlen == 24
        assert net["gateway"] == str(next(subnet.hosts()))
        [ipam] = engine.api.inspect_network(net["engine_id"])["IPAM"]["Config"]
        assert (ipam["Subnet"], ipam["Gateway"]) == (net["subnet"], net["gateway"])
        clashes = [o for o in engine_subnets(engine, exclude=net["engine_id"]) if o.overlaps(subnet)]
        assert not clashes, f"{subnet} overlaps {clashes}"
    for net in nets:
        assert api.delete(f"/v1/networks/{net['id']}").status_code == 204


def test_duplicate_name_is_refused(api: httpx.Client, daemon: Daemon, engine: docker.DockerClient) -> None:
    net = make_network(api)
    error = expect_error(api.post("/v1/networks", json={"name": net["name"]}), 409, code="already_exists")
    assert net["name"] in error["message"]
    assert len(engine.networks.list(names=[daemon.prefix + net["name"]])) == 1
    assert api.delete(f"/v1/networks/{net['id']}").status_code == 204


def test_overlapping_subnet_is_refused(api: httpx.Client, daemon: Daemon, engine: docker.DockerClient) -> None:
    wide = ipaddress.IPv4Network(free_subnet(engine, prefix=23))
    net = make_network(api, subnet=str(next(iter(wide.subnets()))))
    for overlapping in (net["subnet"], str(wide), str(list(wide.subnets(new_prefix=26))[1])):
        name = unique("n")
        error = expect_error(
            api.post("/v1/networks", json={"name": name, "subnet": overlapping}), 409, code="already_exists"
        )
        assert "overlaps" in error["message"]
        assert not engine.networks.list(names=[daemon.prefix + name])
    assert api.delete(f"/v1/networks/{net['id']}").status_code == 204


@pytest.mark.one_database
def test_subnet_of_an_engine_network_not_ours_is_refused(api: httpx.Client, engine: docker.DockerClient) -> None:
    subnet = free_subnet(engine)
    foreign = engine.networks.create(
        unique("foreign"), ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
    )
    try:
        error = expect_error(
            api.post("/v1/networks", json={"name": unique("n"), "subnet": subnet}), 409, code="already_exists"
        )
        assert subnet in error["message"]
    finally:
        foreign.remove()


@pytest.mark.one_database
def test_bridge_name_in_use_is_refused(api: httpx.Client, engine: docker.DockerClient) -> None:
    bridge = f"pvbr{uuid.uuid4().hex[:8]}"
    net = make_network(api, bridge_name=bridge)
    error = expect_error(
        api.post("/v1/networks", json={"name": unique("n"), "bridge_name": bridge}), 409, code="already_exists"
    )
    assert bridge in error["message"]
    assert api.delete(f"/v1/networks/{net['id']}").status_code == 204


BAD_NETWORKS: list[Callable[[ipaddress.IPv4Network], dict[str, Any]]] = [
    lambda s: {"subnet": "10.0.0.0/33"},
    lambda s: {"subnet": "not-a-cidr"},
    lambda s: {"subnet": "fd00:1::/64"},
    lambda s: {"subnet": f"{s.network_address}/31"},
    lambda s: {"subnet": str(s), "gateway": "192.0.2.1"},
    lambda s: {"subnet": str(s), "gateway": str(s.network_address)},
    lambda s: {"subnet": str(s), "gateway": str(s.broadcast_address)},
    lambda s: {"subnet": str(s), "gateway": "not-an-ip"},
    lambda s: {"subnet": str(s), "ip_range": "192.0.2.0/26"},
    lambda s: {"subnet": str(s), "ip_range": "garbage"},
    lambda s: {"gateway": "10.1.1.1"},
    lambda s: {"ip_range": "10.1.1.0/26"},
    lambda s: {"name": "bad name!"},
    lambda s: {"name": ""},
    lambda s: {"bridge_name": "much-too-long-bridge"},
    lambda s: {"driver": "nope"},
    lambda s: {"driver": "macvlan", "bridge_name": "pvx0"},
    lambda s: {"parent": "eth0"},
    lambda s: {"unknown_key": 1},
]


@pytest.mark.parametrize("body", BAD_NETWORKS, ids=[f"bad{i}" for i in range(len(BAD_NETWORKS))])
def test_invalid_network_requests_are_refused_clearly(
    api: httpx.Client, daemon: Daemon, engine: docker.DockerClient, body: Callable[..., dict[str, Any]]
) -> None:
    request = {"name": unique("n"), **body(ipaddress.IPv4Network(free_subnet(engine)))}
    expect_error(api.post("/v1/networks", json=request), 400, 422)
    if request["name"]:
        expect_error(api.get(f"/v1/networks/{request['name']}"), 404, 422)
    assert not [n for n in engine.networks.list() if n.name == daemon.prefix + str(request["name"])]


# --- addresses ------------------------------------------------------------------
def test_explicit_endpoint_addresses_are_checked(api: httpx.Client, engine: docker.DockerClient) -> None:
    subnet = ipaddress.IPv4Network(free_subnet(engine))
    net = make_network(api, subnet=str(subnet))
    name = net["name"]
    outside = str(ipaddress.IPv4Network(free_subnet(engine)).network_address + 5)
    body = {"image": BUSYBOX, "command": SLEEPER}
    for address, status, code in (
        (outside, 400, "invalid_argument"),
        (net["gateway"], 400, "invalid_argument"),
        (str(subnet.network_address), 400, "invalid_argument"),
        (str(subnet.broadcast_address), 400, "invalid_argument"),
        ("10.1.2", 422, None),
    ):
        r = api.post("/v1/containers", json={**body, "name": unique(), "endpoints": {name: address}})
        expect_error(r, status, code=code)
    wanted = str(subnet.network_address + 10)
    first = create_container(api, endpoints={name: wanted})
    assert first["endpoints"][name]["address"] == wanted
    error = expect_error(
        api.post("/v1/containers", json={**body, "name": unique(), "endpoints": {name: wanted}}),
        409,
        code="already_exists",
    )
    assert wanted in error["message"]
    expect_error(
        api.post("/v1/containers", json={**body, "name": unique(), "endpoints": {"no-such-net": None}}),
        404,
        code="not_found",
    )
    assert api.get(f"/v1/networks/{net['id']}").json()["addresses_in_use"] == 1
    delete_all(api, [first], net)


def test_exhausted_network_says_so(api: httpx.Client, engine: docker.DockerClient) -> None:
    subnet = ipaddress.IPv4Network(free_subnet(engine, prefix=29))
    net = make_network(api, subnet=str(subnet))
    usable = {str(h) for h in subnet.hosts()} - {net["gateway"]}
    assert len(usable) == 5
    containers = [create_container(api, endpoints={net["name"]: None}) for _ in usable]
    assert {c["endpoints"][net["name"]]["address"] for c in containers} == usable
    r = api.post("/v1/containers", json={"image": BUSYBOX, "name": unique(), "endpoints": {net["name"]: None}})
    expect_error(r, 409, code="resource_exhausted")
    freed = containers.pop()
    assert api.delete(f"/v1/containers/{freed['id']}").status_code == 204
    again = create_container(api, endpoints={net["name"]: None})
    assert again["endpoints"][net["name"]]["address"] == freed["endpoints"][net["name"]]["address"]
    delete_all(api, [*containers, again], net)


def test_two_networks_give_both_addresses_and_connect_containers(
    api: httpx.Client, daemon: Daemon, engine: docker.DockerClient
) -> None:
    front, back = make_network(api), make_network(api, subnet=free_subnet(engine))
    pair = [create_container(api, endpoints={front["name"]: None, back["name"]: None}) for _ in range(2)]
    started = [start(api, c) for c in pair]
    for c, s in zip(pair, started, strict=True):
        reserved = {daemon.prefix + n: e["address"] for n, e in c["endpoints"].items()}
        assert engine_addresses(engine, s["engine_id"]) == reserved
        inside = addresses_inside(api, c)
        assert all(f"{a}/24" in inside for a in reserved.values()), inside
    result = ping(api, pair[0], pair[1]["endpoints"][back["name"]]["address"])
    assert result["exit_code"] == 0, result
    assert api.get(f"/v1/networks/{back['id']}").json()["addresses_in_use"] == 2
    delete_all(api, pair)
    for net in (front, back):
        assert api.delete(f"/v1/networks/{net['id']}").status_code == 204


# --- connect / disconnect -------------------------------------------------------
def test_connect_and_disconnect_a_running_container(
    api: httpx.Client, daemon: Daemon, engine: docker.DockerClient
) -> None:
    subnet = ipaddress.IPv4Network(free_subnet(engine))
    net = make_network(api, subnet=str(subnet))
    engine_name = daemon.prefix + net["name"]
    c = create_container(api)
    engine_id = start(api, c)["engine_id"]
    wanted = str(subnet.network_address + 20)

    r = api.post(f"/v1/networks/{net['name']}/connect", json={"container": c["name"], "ip": wanted})
    assert r.status_code == 200, r.text
    assert r.json()["endpoints"][net["name"]]["address"] == wanted
    assert engine_addresses(engine, engine_id)[engine_name] == wanted
    assert f"{wanted}/24" in addresses_inside(api, c)
    expect_error(api.post(f"/v1/networks/{net['id']}/connect", json={"container": c["id"]}), 409, code="already_exists")

    r = api.post(f"/v1/networks/{net['id']}/disconnect", json={"container": c["id"]})
    assert r.status_code == 200, r.text
    assert net["name"] not in r.json()["endpoints"]
    assert engine_name not in engine_addresses(engine, engine_id)
    assert wanted not in addresses_inside(api, c)
    assert api.get(f"/v1/networks/{net['id']}").json()["addresses_in_use"] == 0
    expect_error(api.post(f"/v1/networks/{net['id']}/disconnect", json={"container": c["id"]}), 404, code="not_found")

    other = create_container(api, endpoints={net["name"]: wanted})  # the address was released
    assert other["endpoints"][net["name"]]["address"] == wanted
    delete_all(api, [c, other], net)


def test_connected_created_container_is_attached_at_start(
    api: httpx.Client, daemon: Daemon, engine: docker.DockerClient
) -> None:
    subnet = ipaddress.IPv4Network(free_subnet(engine))
    net = make_network(api, subnet=str(subnet))
    wanted = str(subnet.network_address + 30)
    attached, detached = create_container(api), create_container(api)
    r = api.post(f"/v1/networks/{net['id']}/connect", json={"container": attached["id"], "ip": wanted})
    assert r.status_code == 200 and r.json()["state"] == "CREATED" and r.json()["engine_id"] is None, r.text
    assert api.post(f"/v1/networks/{net['id']}/connect", json={"container": detached["id"]}).status_code == 200
    assert api.post(f"/v1/networks/{net['id']}/disconnect", json={"container": detached["id"]}).status_code == 200

    on_engine = engine_addresses(engine, start(api, attached)["engine_id"])
    assert on_engine == {
        daemon.prefix + "private": attached["endpoints"]["private"]["address"],
        daemon.prefix + net["name"]: wanted,
    }
    assert f"{wanted}/24" in addresses_inside(api, attached)
    assert set(engine_addresses(engine, start(api, detached)["engine_id"])) == {daemon.prefix + "private"}
    delete_all(api, [attached, detached], net)


def test_connect_refuses_what_cannot_work(api: httpx.Client, engine: docker.DockerClient) -> None:
    subnet = ipaddress.IPv4Network(free_subnet(engine))
    net = make_network(api, subnet=str(subnet))
    c = create_container(api)
    connect = lambda **body: api.post(f"/v1/networks/{net['id']}/connect", json=body)  # noqa: E731
    expect_error(connect(container=c["id"], ip="not-an-ip"), 400, 422)
    expect_error(connect(container=c["id"], ip="192.0.2.7"), 400, code="invalid_argument")
    expect_error(connect(container="no-such-container"), 404, code="not_found")
    expect_error(api.post("/v1/networks/no-such-net/connect", json={"container": c["id"]}), 404, code="not_found")
    holder = create_container(api, endpoints={net["name"]: str(subnet.network_address + 9)})
    expect_error(connect(container=c["id"], ip=str(subnet.network_address + 9)), 409, code="already_exists")
    start(api, c)
    assert api.post(f"/v1/containers/{c['id']}/stop", params={"wait": True}).json()["state"] == "EXITED"
    expect_error(connect(container=c["id"]), 409, code="invalid_state")
    delete_all(api, [c, holder], net)


# --- delete ---------------------------------------------------------------------
def test_network_in_use_cannot_be_deleted(api: httpx.Client, daemon: Daemon, engine: docker.DockerClient) -> None:
    net = make_network(api)
    running = create_container(api, endpoints={net["name"]: None})
    waiting = create_container(api, endpoints={net["name"]: None})
    start(api, running)
    error = expect_error(api.delete(f"/v1/networks/{net['id']}"), 409, code="invalid_state")
    assert running["name"] in error["message"] and waiting["name"] in error["message"]
    assert engine.api.inspect_network(net["engine_id"])["Name"] == daemon.prefix + net["name"]
    assert api.get(f"/v1/networks/{net['id']}").status_code == 200
    delete_all(api, [running, waiting], net)
    with pytest.raises(docker.errors.NotFound):
        engine.api.inspect_network(net["engine_id"])
    expect_error(api.delete(f"/v1/networks/{net['id']}"), 404, code="not_found")


def test_default_network_cannot_be_deleted(api: httpx.Client, daemon: Daemon, engine: docker.DockerClient) -> None:
    private = api.get("/v1/networks/private").json()
    assert private["is_default"] is True
    error = expect_error(api.delete("/v1/networks/private"), 409, code="invalid_state")
    assert "default" in error["message"]
    expect_error(api.delete(f"/v1/networks/{private['id']}"), 409, code="invalid_state")
    assert engine.api.inspect_network(private["engine_id"])["Name"] == daemon.prefix + "private"


@pytest.mark.one_database
def test_internal_flag_reaches_the_engine(api: httpx.Client, engine: docker.DockerClient) -> None:
    internal, open_ = make_network(api, internal=True), make_network(api)
    assert internal["internal"] is True and open_["internal"] is False
    assert engine.api.inspect_network(internal["engine_id"])["Internal"] is True
    assert engine.api.inspect_network(open_["engine_id"])["Internal"] is False
    for net in (internal, open_):
        assert api.delete(f"/v1/networks/{net['id']}").status_code == 204


# --- macvlan --------------------------------------------------------------------
VETH_TAG = uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def daemon(engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """The module's popvimd, with macvlan opened on this module's veth (the policy refuses it by default)."""
    opened = f'[policy]\nnetwork_drivers = ["bridge", "macvlan"]\nnetwork_parents = ["pva{VETH_TAG}"]\n'
    d = Daemon(tmp_path_factory.mktemp("popvimd"), config_text=opened).start()
    yield d
    d.stop()
    d.purge()


@pytest.fixture
def veth_parent() -> Iterator[str]:
    """One end of a veth pair made for this test (the one the policy allows): a parent macvlan can hang off."""
    end, peer = f"pva{VETH_TAG}", f"pvb{VETH_TAG}"
    subprocess.run(["ip", "link", "add", end, "type", "veth", "peer", "name", peer], check=True)
    try:
        for dev in (end, peer):
            subprocess.run(["ip", "link", "set", dev, "up"], check=True)
        yield end
    finally:
        subprocess.run(["ip", "link", "del", end], check=False)


@pytest.mark.one_database
def test_macvlan_network_on_a_veth_parent(
    api: httpx.Client, daemon: Daemon, engine: docker.DockerClient, veth_parent: str
) -> None:
    subnet = ipaddress.IPv4Network(free_subnet(engine))
    net = make_network(api, driver="macvlan", parent=veth_parent, subnet=str(subnet))
    assert net["driver"] == "macvlan" and net["parent"] == veth_parent
    inspected = engine.api.inspect_network(net["engine_id"])
    assert inspected["Driver"] == "macvlan" and inspected["Options"]["parent"] == veth_parent
    assert inspected["IPAM"]["Config"][0]["Subnet"] == str(subnet)

    pair = [create_container(api, endpoints={net["name"]: None}) for _ in range(2)]
    for c in pair:
        address = c["endpoints"][net["name"]]["address"]
        assert ipaddress.IPv4Address(address) in subnet
        assert engine_addresses(engine, start(api, c)["engine_id"]) == {daemon.prefix + net["name"]: address}
        assert f"{address}/24" in addresses_inside(api, c)
    result = wait_for(
        lambda: (p := ping(api, pair[0], pair[1]["endpoints"][net["name"]]["address"]))["exit_code"] == 0 and p,
        timeout=10,
        what="ping over macvlan",
    )
    assert "1 packets received" in result["stdout"]
    delete_all(api, pair, net)
    with pytest.raises(docker.errors.NotFound):
        engine.api.inspect_network(net["engine_id"])
