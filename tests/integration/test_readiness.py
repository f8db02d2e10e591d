"""/ready and the gRPC health service say whether the PoP can work now, and why not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support.daemon import Daemon, wait_for
from support.engine_proxy import EngineProxy

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def grpc_status(daemon: Daemon, service: str = "") -> int:
    with grpc.insecure_channel(f"127.0.0.1:{daemon.pop_port}") as channel:
        return (
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status
        )


def test_ready_is_public_and_lists_every_check(daemon: Daemon) -> None:
    r = httpx.get(f"{daemon.url}/ready", timeout=10)
    assert r.status_code == 200, r.text
    assert r.json() == {"ready": True, "checks": {"engine": "ok", "database": "ok", "controllers": "ok"}}
    assert grpc_status(daemon) == SERVING
    assert grpc_status(daemon, "vim_pop.Pop") == SERVING


@pytest.fixture
def proxied(engine: docker.DockerClient, tmp_path: Path) -> Iterator[tuple[Daemon, EngineProxy]]:
    proxy = EngineProxy(tmp_path / "engine.sock").start()
    d = Daemon(tmp_path / "state", extra_args=["--docker-host", proxy.url])
    try:
        yield d.start(), proxy
    finally:
        proxy.resume()
        d.kill()
        d.purge()
        proxy.close()


def test_an_engine_that_stops_answering_makes_the_pop_not_ready_until_it_answers_again(
    proxied: tuple[Daemon, EngineProxy],
) -> None:
    daemon, proxy = proxied
    wait_for(lambda: httpx.get(f"{daemon.url}/ready", timeout=10).status_code == 200, what="ready")

    proxy.pause()
    r = wait_for(
        lambda: (r := httpx.get(f"{daemon.url}/ready", timeout=10)).status_code == 503 and r,
        what="/ready to answer 503",
    )
    body = r.json()
    assert body["ready"] is False
    assert body["checks"]["engine"] != "ok" and "answer" in body["checks"]["engine"]
    assert body["checks"]["database"] == "ok" and body["checks"]["controllers"] == "ok"
    wait_for(lambda: grpc_status(daemon) == NOT_SERVING, what="gRPC health NOT_SERVING")
    assert grpc_status(daemon, "vim_pop.Pop") == NOT_SERVING

    proxy.resume()
    wait_for(lambda: httpx.get(f"{daemon.url}/ready", timeout=10).status_code == 200, what="ready again")
    wait_for(lambda: grpc_status(daemon) == SERVING, what="gRPC health SERVING again")
