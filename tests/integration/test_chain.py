"""A service function chain over a limited link: three VNFs on two emulated hosts.

The outer popvimd makes two networks: ``lan`` (the client's way in, unlimited)
and ``wan`` (10 Mbit/s, the link between the hosts). Host A (on both) runs
vnf1 and vnf2, host B (on wan) runs vnf3; each VNF appends its name to the
stream's first line and relays it on, vnf3 counts what arrives. Traffic from
the client (this test) passes vnf1, vnf2, crosses wan, reaches vnf3, and the
chain's throughput is the link's.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from support import blast
from support.daemon import free_subnet, unique, wait_for
from support.hosts import EmulatedHost, ensure_image, outer_daemon, start_host, stop_host

# Emulated hosts take minutes to start on a busy machine (a dockerd, image loads, a popvimd).
pytestmark = pytest.mark.timeout(900)

VNF_BASE = "popvim-test/vnf-base:latest"
WAN_MBIT = 10
SECONDS = 5.0


@pytest.fixture(scope="module")
def outer(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    ensure_image()
    d = outer_daemon(tmp_path_factory.mktemp("outer"))
    with d.client(timeout=180) as client:
        yield client
    d.stop()
    d.purge()


@pytest.fixture(scope="module")
def hosts(outer: httpx.Client, engine: Any) -> Iterator[dict[str, Any]]:
    lan, wan = unique("lan"), unique("wan")
    for name, extra in ((lan, {}), (wan, {"bandwidth": f"{WAN_MBIT}mbit"})):
        r = outer.post("/v1/networks", json={"name": name, "subnet": free_subnet(engine), **extra})
        assert r.status_code == 201, r.text
    # Host A: lan first (the client's way in), then wan; host B on wan only. Both start at once.
    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(_host_on, outer, [lan, wan], unique("hosta"))
        b = pool.submit(_host_on, outer, [wan], unique("hostb"))
        host_a, host_b = a.result(), b.result()
    yield {"a": host_a, "b": host_b, "lan": lan, "wan": wan}
    for h in (host_a, host_b):
        stop_host(outer, h)


def _host_on(outer: httpx.Client, networks: list[str], name: str) -> EmulatedHost:
    host = start_host(outer, networks[0], name, more_networks=networks[1:])
    return host


def _vnf(host: EmulatedHost, name: str, port: int, next_hop: tuple[str, int] | None, publish: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "image": VNF_BASE, "command": blast.relay_command(name, port, next_hop)}
    if publish:
        body["ports"] = {str(port): port}
    r = host.api.post("/v1/containers/run", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_traffic_passes_every_vnf_in_order_at_the_links_rate(hosts: dict[str, Any]) -> None:
    a, b = hosts["a"], hosts["b"]
    b_wan = b.container["endpoints"][hosts["wan"]]["address"]
    _vnf(b, "vnf3", 9003, None, publish=True)  # on host B's address, across wan from host A
    vnf2 = _vnf(a, "vnf2", 9002, (b_wan, 9003), publish=False)
    vnf2_address = next(iter(vnf2["endpoints"].values()))["address"]  # host A's own network
    _vnf(a, "vnf1", 9001, (vnf2_address, 9002), publish=True)
    a_lan = a.container["endpoints"][hosts["lan"]]["address"]

    def chain() -> tuple[list[str], float] | None:
        try:
            return blast.through_chain(a_lan, 9001, 0.5)
        except (OSError, ValueError):
            return None  # a hop is still starting

    hops, _ = wait_for(chain, 120, 1.0, "the chain to answer")
    assert hops == ["client", "vnf1", "vnf2", "vnf3"]
    hops, mbit = blast.through_chain(a_lan, 9001, SECONDS)
    assert hops == ["client", "vnf1", "vnf2", "vnf3"]
    assert 0.9 * WAN_MBIT <= mbit <= 1.1 * WAN_MBIT, mbit
