"""The SIPp stand-in images of seed 001's test case (images/sipp) really talk SIP.

A server and a client container on a network of the test's own, the client
configured the way the seed's NSD configures it (SERVER_PRIVATE plus SIPP_*
environment, Appendix C): both logs must show completed calls within seconds,
and SIGTERM must end both cleanly, as a VIM stopping a VNF expects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import docker
import pytest
from docker.models.containers import Container
from docker.models.networks import Network
from docker.types import IPAMConfig, IPAMPool
from support.daemon import free_subnet, unique, wait_for

SERVER = "mcilloni/sipp-server:latest"
CLIENT = "mcilloni/sipp-client:latest"
CALLS = 5  # at SIPP_RATE=10 that is half a second of traffic
DEADLINE = 20.0


def logs(container: Container) -> str:
    return container.logs().decode("utf-8", "replace")


def address(container: Container, network: Network) -> str:
    container.reload()
    return container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]


def wait_for_lines(container: Container, pattern: str, count: int) -> list[str]:
    """Poll the container's log until ``pattern`` matches ``count`` lines; on timeout show the log."""

    def enough() -> list[str] | None:
        found = re.findall(pattern, logs(container), re.MULTILINE)
        return found if len(found) >= count else None

    try:
        return wait_for(enough, timeout=DEADLINE, interval=0.1, what=f"{count} x {pattern!r} in {container.name}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- log of {container.name}:\n{logs(container)[-3000:]}") from None


@pytest.fixture
def network(engine: docker.DockerClient) -> Iterator[Network]:
    for ref in (SERVER, CLIENT):
        try:
            engine.images.get(ref)
        except docker.errors.ImageNotFound:
            pytest.fail(f"{ref} is missing; run images/build-all.sh")
    ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=free_subnet(engine))])
    net = engine.networks.create(unique("sipp-private"), driver="bridge", ipam=ipam)
    yield net
    net.remove()


@pytest.fixture
def run(engine: docker.DockerClient, network: Network) -> Iterator[Callable[..., Container]]:
    """Start containers on the test's network; all are removed before the network is."""
    started: list[Container] = []

    def start(image: str, prefix: str, **kwargs: Any) -> Container:
        container = engine.containers.run(image, detach=True, name=unique(prefix), network=network.name, **kwargs)
        started.append(container)
        return container

    yield start
    for container in started:
        container.remove(force=True)


def test_client_completes_calls_with_the_server(network: Network, run: Callable[..., Container]) -> None:
    server = run(SERVER, "sipp-server")
    server_ip = address(server, network)
    env = {"SERVER_PRIVATE": server_ip, "SIPP_RATE": "10", "SIPP_LENGTH": "0"}
    client = run(CLIENT, "sipp-client", environment=env)
    client_ip = address(client, network)

    completed = wait_for_lines(client, rf"^call \d+ to {re.escape(server_ip)}:5060 completed in \d+ ms$", CALLS)
    wait_for_lines(server, rf"^call \S+ from {re.escape(client_ip)}:\d+ completed in \d+ ms", len(completed))

    client_log = logs(client)
    for key, value in {**env, "SIPP_TRANSPORT_MODE": "u1", "SIPP_RATE_PERIOD": "1000"}.items():
        assert f"config: {key}={value}\n" in client_log
    assert " failed: " not in client_log
    assert "config: listen=0.0.0.0:5060/udp" in logs(server)

    client.stop(timeout=10)
    assert client.wait(timeout=15)["StatusCode"] == 0
    assert re.search(r"stopping on signal; summary: \d+ completed, 0 failed", logs(client))
    server.stop(timeout=10)
    assert server.wait(timeout=15)["StatusCode"] == 0


def test_client_refuses_a_non_udp_transport(run: Callable[..., Container]) -> None:
    client = run(CLIENT, "sipp-client", environment={"SERVER_PRIVATE": "192.0.2.1", "SIPP_TRANSPORT_MODE": "t1"})
    assert client.wait(timeout=DEADLINE)["StatusCode"] == 2
    assert "error: SIPP_TRANSPORT_MODE=t1 is not supported" in logs(client)
