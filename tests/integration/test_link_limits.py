"""Virtual-link bandwidth limits (tc) hold for real transfers, both ways, across restarts.

One daemon and one pair of vnf-base containers for the module: a sink on the
far end, the sender execs a TCP blast (support.blast). A container's own
endpoint limit shapes both its egress (tbf on its interface) and its ingress
(ifb); a network's limit applies to every endpoint on it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
from support import blast
from support.daemon import PASSWORD, USER, Daemon, create_container, expect_error, free_subnet, unique, wait_for

from popvim.proto import vim_pop_pb2 as pb
from popvim.proto import vim_pop_pb2_grpc as pb_grpc

VNF_BASE = "popvim-test/vnf-base:latest"
SECONDS = 4.0


def within(measured: float, limit_mbit: float) -> bool:
    """Goodput within 10% of the limit (headers take ~4% of a full frame)."""
    return 0.9 * limit_mbit <= measured <= 1.1 * limit_mbit


@pytest.fixture(scope="module")
def api(daemon: Daemon) -> Iterator[httpx.Client]:
    """Module-scoped, for the module-scoped link below."""
    with daemon.client() as client:
        yield client


@pytest.fixture(scope="module")
def link(api: httpx.Client, engine: Any) -> dict[str, Any]:
    """A network, a sink and a sender on it, both running."""
    net = unique("lnk")
    r = api.post("/v1/networks", json={"name": net, "subnet": free_subnet(engine)})
    assert r.status_code == 201, r.text
    sink = create_container(api, image=VNF_BASE, command=blast.sink_command(), endpoints={net: None})
    sender = create_container(
        api,
        image=VNF_BASE,
        command=["sleep", "infinity"],
        endpoints={net: None},
        links={net: {"bandwidth": "1mbit"}},
        restart_policy="always",
    )
    for c in (sink, sender):
        assert api.post(f"/v1/containers/{c['id']}/start").status_code == 200
    return {"net": net, "sink": sink, "sender": sender, "sink_ip": sink["endpoints"][net]["address"]}


def _tc(container: dict[str, Any], api: httpx.Client, *args: str) -> str:
    r = api.post(f"/v1/containers/{container['id']}/exec", json={"command": ["tc", *args]})
    assert r.status_code == 200, r.text
    return str(r.json()["stdout"])


def test_endpoint_limit_holds_both_ways_at_1_mbit(api: httpx.Client, link: dict[str, Any]) -> None:
    sender, sink = link["sender"], link["sink"]
    assert sender["endpoints"][link["net"]]["link"]["bandwidth"] == "1mbit"
    up = blast.measure(api, sender["id"], link["sink_ip"], SECONDS)  # the sender's egress (tbf)
    assert within(up, 1), up
    # the other way: the sink sends to the sender, whose ingress is shaped (ifb)
    sender_ip = sender["endpoints"][link["net"]]["address"]
    r = api.post(f"/v1/containers/{sender['id']}/exec", json={"command": ["sh", "-c", "true"]})
    assert r.status_code == 200
    start_sink = ["sh", "-c", f"nohup python3 -c '{blast.SINK}' {blast.PORT} >/dev/null 2>&1 &"]
    assert api.post(f"/v1/containers/{sender['id']}/exec", json={"command": start_sink}).json()["exit_code"] == 0
    down = wait_for(lambda: _try_measure(api, sink["id"], sender_ip), 15, 0.2, "a sink on the sender")
    assert within(down, 1), down


def _try_measure(api: httpx.Client, sender: str, address: str) -> float | None:
    try:
        return blast.measure(api, sender, address, SECONDS)
    except AssertionError:
        return None


@pytest.mark.parametrize("mbit", [10, 100])
def test_network_limit_holds_at(mbit: int, api: httpx.Client, link: dict[str, Any]) -> None:
    # the endpoint's own limit yields to the network's once cleared
    r = api.put(f"/v1/containers/{link['sender']['id']}/links/{link['net']}", json={})
    assert r.status_code == 200, r.text
    assert r.json()["endpoints"][link["net"]]["link"] is None
    r = api.put(f"/v1/networks/{link['net']}/link", json={"bandwidth": f"{mbit}mbit"})
    assert r.status_code == 200, r.text
    assert r.json()["bandwidth"] == f"{mbit}mbit"
    measured = blast.measure(api, link["sender"]["id"], link["sink_ip"], SECONDS)
    assert within(measured, mbit), measured


def test_limit_is_kept_across_a_restart(api: httpx.Client, link: dict[str, Any]) -> None:
    sender = link["sender"]
    r = api.put(f"/v1/containers/{sender['id']}/links/{link['net']}", json={"bandwidth": "10mbit"})
    assert r.status_code == 200, r.text
    engine_id = sender["engine_id"] or api.get(f"/v1/containers/{sender['id']}").json()["engine_id"]
    pid = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", engine_id], capture_output=True, text=True)
    subprocess.run(["kill", "-9", pid.stdout.strip()], check=True)  # the engine restarts it (restart: always)

    def reshaped() -> bool:
        r = api.post(f"/v1/containers/{sender['id']}/exec", json={"command": ["tc", "qdisc", "show"]})
        return r.status_code == 200 and "rate 10Mbit" in r.json()["stdout"]  # 502 while it restarts

    wait_for(reshaped, 30, 0.2, "the restarted container to be shaped again")
    measured = blast.measure(api, sender["id"], link["sink_ip"], SECONDS)
    assert within(measured, 10), measured


def test_limit_goes_with_the_endpoint(api: httpx.Client, link: dict[str, Any], engine: Any) -> None:
    net2 = unique("lnk")
    assert (
        api.post("/v1/networks", json={"name": net2, "subnet": free_subnet(engine), "bandwidth": "5mbit"}).status_code
        == 201
    )
    sender = link["sender"]
    r = api.post(f"/v1/networks/{net2}/connect", json={"container": sender["id"]})
    assert r.status_code == 200, r.text
    assert _tc(sender, api, "qdisc", "show").count("rate 5Mbit") == 2  # its interface and its ifb
    # a new container on the network (what a heal makes) starts shaped
    fresh = create_container(api, image=VNF_BASE, command=["sleep", "infinity"], endpoints={net2: None})
    assert api.post(f"/v1/containers/{fresh['id']}/start").status_code == 200
    assert _tc(fresh, api, "qdisc", "show").count("rate 5Mbit") == 2
    r = api.post(f"/v1/networks/{net2}/disconnect", json={"container": sender["id"]})
    assert r.status_code == 200, r.text
    shown = _tc(sender, api, "qdisc", "show")
    assert "rate 5Mbit" not in shown and shown.count("tbf") == 2  # the other network's shaping stays


def test_what_the_kernel_lacks_is_refused_by_name(api: httpx.Client, link: dict[str, Any]) -> None:
    r = api.post("/v1/networks", json={"name": unique("lnk"), "bandwidth": "10mbit", "delay": "20ms"})
    error = expect_error(r, 400, code="unsupported_by_host")
    assert "netem" in error["message"], error
    r = api.put(f"/v1/networks/{link['net']}/link", json={"bandwidth": "10mbit", "loss": "1%"})
    assert "netem" in expect_error(r, 400, code="unsupported_by_host")["message"]
    expect_error(api.post("/v1/networks", json={"name": unique("lnk"), "bandwidth": "fast"}), 422)


def test_pop_protocol_carries_the_limits(daemon: Daemon, engine: Any) -> None:

    with grpc.insecure_channel(f"127.0.0.1:{daemon.pop_port}") as channel:
        pop = pb_grpc.PopStub(channel)  # type: ignore[no-untyped-call]
        md = [("token", pop.Login(pb.Credentials(username=USER, password=PASSWORD), timeout=30).value)]
        net = unique("lnk")
        made = pop.CreateNetwork(
            pb.NetworkConfig(name=net, subnet=free_subnet(engine), bandwidth="20Mbps"), metadata=md, timeout=30
        )
        assert made.bandwidth == "20mbit"
        config = pb.ContainerConfig(
            name=unique(), image_id="popvim-test/busybox:latest", endpoints={net: pb.Endpoint(bandwidth="2mbit")}
        )
        created = pop.Create(config, metadata=md, timeout=30)
        assert created.endpoints[net].bandwidth == "2mbit"
        with pytest.raises(grpc.RpcError) as refused:
            pop.CreateNetwork(pb.NetworkConfig(name=unique("lnk"), bandwidth="1mbit", delay="5ms"), metadata=md)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "netem" in (refused.value.details() or "")
