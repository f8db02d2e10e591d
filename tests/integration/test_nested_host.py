"""Emulated hosts (seed 003): a host VNF runs its own engine and popvimd; several VNFs, even two
instances of one, run inside it isolated, on distinct published ports; it registers as a PoP.

One outer popvimd (its policy allows ``privileged: "host"``) and one emulated host for the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.daemon import Daemon, free_subnet, unique, wait_for
from support.hosts import (
    NESTED_PASSWORD,
    NESTED_USER,
    EmulatedHost,
    ensure_image,
    outer_daemon,
    start_host,
    stop_host,
)

# Emulated hosts take minutes to start on a busy machine (a dockerd, image loads, a popvimd).
pytestmark = pytest.mark.timeout(900)

BUSYBOX = "popvim-test/busybox:latest"
# seed 003's small web VNF: counts its requests in a file of its own and answers the count
COUNTER_CGI = """#!/bin/sh
n=$(cat /data/count 2>/dev/null || echo 0)
n=$((n + 1))
echo $n >/data/count
printf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' $n
"""
COUNTER = [
    "sh",
    "-c",
    f"mkdir -p /www/cgi-bin /data && cat >/www/cgi-bin/count <<'EOF'\n{COUNTER_CGI}EOF\n"
    "chmod +x /www/cgi-bin/count && exec httpd -f -p 80 -h /www",
]


@pytest.fixture(scope="module")
def outer(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    ensure_image()
    d = outer_daemon(tmp_path_factory.mktemp("outer"))
    yield d
    d.stop()
    d.purge()


@pytest.fixture(scope="module")
def outer_api(outer: Daemon) -> Iterator[httpx.Client]:
    with outer.client(timeout=180) as client:
        yield client


@pytest.fixture(scope="module")
def host(outer_api: httpx.Client, engine: Any) -> Iterator[EmulatedHost]:
    net = unique("hosts")
    r = outer_api.post("/v1/networks", json={"name": net, "subnet": free_subnet(engine)})
    assert r.status_code == 201, r.text
    h = start_host(outer_api, net, unique("host"))
    yield h
    stop_host(outer_api, h)


def test_the_host_runs_its_own_engine_and_popvimd(host: EmulatedHost) -> None:
    info = host.api.get("/v1/info").json()
    assert info["name"] == host.container["name"]
    assert host.api.get("/v1/images").status_code == 200
    assert any(BUSYBOX in i["tags"] for i in host.api.get("/v1/images").json())  # loaded at boot


def _count(address: str, port: int) -> int:
    return int(httpx.get(f"http://{address}:{port}/cgi-bin/count", timeout=10).text)


def test_two_instances_of_one_vnf_count_independently(host: EmulatedHost) -> None:
    """Seed 003: one emulated host, the same counter VNF twice, published on 80 and 8080."""
    made = []
    for port in (80, 8080):
        r = host.api.post(
            "/v1/containers",
            json={"name": f"counter-{port}", "image": BUSYBOX, "command": COUNTER, "ports": {"80": port}},
        )
        assert r.status_code == 201, r.text
        made.append(r.json())
        assert host.api.post(f"/v1/containers/{r.json()['id']}/start").status_code == 200
    wait_for(lambda: _try_count(host.address, 80) and _try_count(host.address, 8080), 30, 0.2, "both counters")
    # each _try_count above counted one request
    assert [_count(host.address, 80) for _ in range(3)] == [2, 3, 4]
    assert _count(host.address, 8080) == 2
    assert _count(host.address, 80) == 5
    # no shared files: each has its own /data/count; no shared processes: each sees only its own
    for container, expected in zip(made, ("5", "2"), strict=True):
        out = host.api.post(f"/v1/containers/{container['id']}/exec", json={"command": ["cat", "/data/count"]})
        assert out.json()["stdout"].strip() == expected
        ps = host.api.post(f"/v1/containers/{container['id']}/exec", json={"command": ["ps", "-o", "pid,comm"]})
        httpds = [line for line in ps.json()["stdout"].splitlines() if "httpd" in line]
        assert len(httpds) == 1 and httpds[0].split()[0] == "1", ps.json()["stdout"]


def _try_count(address: str, port: int) -> bool:
    try:
        _count(address, port)
        return True
    except (httpx.HTTPError, ValueError):
        return False


def test_the_host_registers_as_a_pop_of_the_orchestrator(outer_api: httpx.Client, host: EmulatedHost) -> None:
    name = f"pop-{host.container['name']}"
    body = {"name": name, "address": host.pop_address, "username": NESTED_USER, "password": NESTED_PASSWORD}
    r = outer_api.post("/v1/pops", json=body)
    assert r.status_code == 201, r.text
    health = outer_api.get(f"/v1/pops/{name}/health")
    assert health.status_code == 200, health.text
    assert health.json()["reachable"] is True, health.json()
