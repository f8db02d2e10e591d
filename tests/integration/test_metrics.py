"""GET /metrics: Prometheus text that moves with what happens on the PoP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families
from support.daemon import Daemon, create_container, free_port, wait_for

from popvim.proto import vim_pop_pb2 as pb
from popvim.proto import vim_pop_pb2_grpc as pb_grpc

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(api: httpx.Client) -> Samples:
    r = api.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: Samples, name: str, /, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, /, **labels: str) -> float:
    """Sum over every series of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


@pytest.fixture
def api(daemon: Daemon) -> Iterator[httpx.Client]:
    with daemon.client() as client:
        yield client


def test_a_scrape_needs_a_token(daemon: Daemon) -> None:
    assert httpx.get(f"{daemon.url}/metrics").status_code == 401
    assert httpx.get(f"{daemon.url}/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_names_follow_prometheus_conventions(api: httpx.Client) -> None:
    r = api.get("/metrics")
    families = list(text_string_to_metric_families(r.text))
    ours = [f for f in families if f.name.startswith("popvim_")]
    assert {f.name for f in ours} >= {
        "popvim_containers",
        "popvim_container_operations",
        "popvim_container_operation_duration_seconds",
        "popvim_engine_call_duration_seconds",
        "popvim_http_requests",
        "popvim_http_request_duration_seconds",
        "popvim_ns_instances",
        "popvim_event_stream_backlog_events",
        "popvim_engine_event_lag_seconds",
    }
    for f in families:
        assert not f.name.startswith("popvim_popvim"), f.name
        if f.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in f.samples), f.name
    samples = scrape(api)
    assert value(samples, "popvim_ns_instances", state="INSTANTIATED") == 0
    assert ("popvim_containers", frozenset({("state", "RUNNING")})) in samples


def test_numbers_move_when_containers_are_created_started_stopped_and_killed(
    api: httpx.Client,
    engine: docker.DockerClient,
) -> None:
    before = scrape(api)
    a = create_container(api)
    b = create_container(api)
    after_create = scrape(api)
    assert (
        value(after_create, "popvim_containers", state="CREATED")
        == value(before, "popvim_containers", state="CREATED") + 2
    )
    assert (
        value(after_create, "popvim_container_operations_total", operation="create", result="ok")
        == value(before, "popvim_container_operations_total", operation="create", result="ok") + 2
    )
    assert (
        value(after_create, "popvim_container_operation_duration_seconds_count", operation="create")
        == value(before, "popvim_container_operation_duration_seconds_count", operation="create") + 2
    )
    assert value(after_create, "popvim_http_requests_total", method="POST", route="/v1/containers", status="201") >= 2

    for c in (a, b):
        assert api.post(f"/v1/containers/{c['id']}/start").status_code == 200
    started = scrape(api)
    assert value(started, "popvim_containers", state="RUNNING") >= 2
    assert value(started, "popvim_container_operations_total", operation="start", result="ok") >= 2
    assert total(started, "popvim_engine_call_duration_seconds_count", call="start_container") >= 2
    # the route template, never the raw path with a container's id
    assert (
        value(started, "popvim_http_requests_total", method="POST", route="/v1/containers/{ref}/start", status="200")
        >= 2
    )
    assert not any(a["id"] in dict(labels).get("route", "") for _, labels in started)

    # the background sampler reports usage for running containers; a scrape never calls the engine
    sampled = wait_for(
        lambda: (
            (s := scrape(api))
            and ("popvim_container_memory_usage_bytes", frozenset({("container_id", a["id"]), ("name", a["name"])}))
            in s
            and s
        ),
        timeout=30,
        interval=0.5,
        what="usage samples for the running container",
    )
    labels = {"container_id": a["id"], "name": a["name"]}
    assert value(sampled, "popvim_container_memory_usage_bytes", **labels) > 0
    assert value(sampled, "popvim_container_cpu_usage_seconds_total", **labels) > 0

    assert api.post(f"/v1/containers/{a['id']}/stop", params={"wait": "true"}).status_code == 202
    stopped = scrape(api)
    assert value(stopped, "popvim_container_operations_total", operation="stop", result="ok") >= 1
    assert (
        value(stopped, "popvim_container_transitions_total", state="EXITED")
        >= value(started, "popvim_container_transitions_total", state="EXITED") + 1
    )

    engine_id = api.get(f"/v1/containers/{b['id']}").json()["engine_id"]
    engine.containers.get(engine_id).kill()
    wait_for(lambda: api.get(f"/v1/containers/{b['id']}").json()["state"] == "FAILED", what="FAILED after kill")
    killed = scrape(api)
    assert (
        value(killed, "popvim_container_transitions_total", state="FAILED")
        >= value(stopped, "popvim_container_transitions_total", state="FAILED") + 1
    )
    assert value(killed, "popvim_containers", state="FAILED") >= value(stopped, "popvim_containers", state="FAILED") + 1
    assert value(killed, "popvim_engine_event_lag_seconds_count") > value(
        before, "popvim_engine_event_lag_seconds_count"
    )
    assert value(killed, "popvim_events_total", kind="container.state") > 0

    # refused operations count with their error code
    assert api.post(f"/v1/containers/{b['id']}/start").status_code == 409
    for c in (a, b):
        assert api.delete(f"/v1/containers/{c['id']}").status_code == 204
    done = scrape(api)
    refused_starts = total(done, "popvim_container_operations_total", operation="start") - value(
        done, "popvim_container_operations_total", operation="start", result="ok"
    )
    assert refused_starts >= 1
    assert not any(n == "popvim_container_operations_total" and ("result", "error") in ls for n, ls in done)
    assert value(done, "popvim_container_operations_total", operation="delete", result="ok") >= 2
    assert value(done, "popvim_containers", state="FAILED") == value(before, "popvim_containers", state="FAILED")
    assert api.get("/v1/containers/no-such-thing").status_code == 404
    assert (
        value(scrape(api), "popvim_http_requests_total", method="GET", route="/v1/containers/{ref}", status="404") >= 1
    )


def test_grpc_calls_count_by_method_and_code(daemon: Daemon, api: httpx.Client) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{daemon.pop_port}") as channel:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        stub = pb_grpc.PopStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.Containers(pb.Filter(), timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    samples = scrape(api)
    assert value(samples, "popvim_grpc_requests_total", method="grpc.health.v1.Health/Check", code="OK") >= 1
    assert value(samples, "popvim_grpc_requests_total", method="vim_pop.Pop/Containers", code="UNAUTHENTICATED") >= 1
    assert value(samples, "popvim_grpc_request_duration_seconds_count", method="vim_pop.Pop/Containers") >= 1


def test_a_separate_metrics_address_serves_them_without_a_token(engine: docker.DockerClient, tmp_path: Path) -> None:
    port = free_port()
    d = Daemon(tmp_path / "state", extra_args=["--metrics-listen", f"127.0.0.1:{port}"])
    try:
        d.start()
        r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert r.status_code == 200
        names = {f.name for f in text_string_to_metric_families(r.text)}
        assert {"popvim_containers", "popvim_http_requests"} <= names
        assert httpx.get(f"{d.url}/metrics").status_code == 401  # the REST port still wants a token
    finally:
        d.stop()
        d.purge()
