"""The per-container usage families: rendered by the sampler once per pass, appended to every scrape."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families

from popvim.clock import utcnow as now
from popvim.engine.driver import EngineNotFound, EngineUsage
from popvim.observe import exposition
from popvim.store.db import Store
from popvim.store.models import ContainerRow
from popvim.vim.events import EventBus
from popvim.vim.metrics import StateCollector
from popvim.vim.usage import Usage, UsageSampler
from popvim.vim.usage_text import FAMILIES, UsageText

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Engine:
    """Answers ``usage`` from a table the test changes between passes; a missing id is a gone container."""

    def __init__(self) -> None:
        self.figures: dict[str, EngineUsage] = {}

    def usage(self, engine_id: str) -> EngineUsage:
        if engine_id not in self.figures:
            raise EngineNotFound(f"no container {engine_id}")
        return self.figures[engine_id]


def figures(base: float) -> EngineUsage:
    return EngineUsage(
        cpu_seconds=base, memory_bytes=base * 1e6, memory_limit_bytes=2**30, rx_bytes=base * 10, tx_bytes=base * 20
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'popvim.db'}")
    yield s
    s.close()


def running(store: Store, names: list[str]) -> dict[str, str]:
    """RUNNING records named ``names``: name -> (id, engine id), the engine id being the name."""
    ids = {}
    with store.session() as session:
        for name in names:
            ids[name] = str(uuid.uuid4())
            session.add(
                ContainerRow(
                    id=ids[name],
                    name=name,
                    image="x",
                    image_id="x",
                    flavour="docker.container",
                    state="RUNNING",
                    engine_id=name,
                    created_at=now(),
                )
            )
    return ids


def parse(text: bytes) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text.decode()):
        for s in family.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in samples, f"{key} twice"
            samples[key] = s.value
    return samples


def series(container_id: str, name: str) -> frozenset[tuple[str, str]]:
    return frozenset({("container_id", container_id), ("name", name)})


def test_scrapes_follow_the_sampler_pass_by_pass(store: Store) -> None:
    engine = Engine()
    ids = running(store, ["web", "db"])
    engine.figures = {"web": figures(1.5), "db": figures(7)}
    sampler = UsageSampler(store, engine)  # type: ignore[arg-type]  # only usage() is called
    try:
        before = parse(sampler.exposition())
        assert not before  # headers only, until the first pass
        assert {f.name for f in text_string_to_metric_families(sampler.exposition().decode())} >= {
            "popvim_container_cpu_usage_seconds",
            "popvim_container_memory_usage_bytes",
        }

        sampler.sample()
        first = parse(sampler.exposition())
        web, db = series(ids["web"], "web"), series(ids["db"], "db")
        assert first[("popvim_container_cpu_usage_seconds_total", web)] == 1.5
        assert first[("popvim_container_memory_usage_bytes", db)] == 7e6
        assert first[("popvim_container_memory_limit_bytes", web)] == 2**30
        assert first[("popvim_container_network_receive_bytes_total", db)] == 70
        assert first[("popvim_container_network_transmit_bytes_total", web)] == 30
        assert len(first) == 2 * len(FAMILIES)

        engine.figures["web"] = figures(2.25)
        del engine.figures["db"]  # gone from the engine since the query: gone from the text
        assert parse(sampler.exposition()) == first  # nothing moves between passes
        sampler.sample()
        second = parse(sampler.exposition())
        assert second[("popvim_container_cpu_usage_seconds_total", web)] == 2.25
        assert not any(labels == db for _, labels in second)
        assert len(second) == len(FAMILIES)
    finally:
        sampler.stop()


def test_the_text_is_what_prometheus_client_writes_for_the_same_families() -> None:
    usages = [
        Usage("c1", "plain", 12.5, 3.0e7, 1.34e8, 1234567.0, 0.0),
        Usage("c2", 'odd"name\\with\nall', 1e-3, 1e12, float("inf"), 3e21, 42.0),
    ]

    class Reference:
        """The families as the old collector made them, for prometheus_client to render."""

        def collect(self) -> Iterator[Metric]:
            for name, kind, help_text, field in FAMILIES:
                family: Any = (
                    CounterMetricFamily(name.removesuffix("_total"), help_text, labels=["container_id", "name"])
                    if kind == "counter"
                    else GaugeMetricFamily(name, help_text, labels=["container_id", "name"])
                )
                for u in usages:
                    family.add_metric([u.container_id, u.name], getattr(u, field))
                yield family

    registry = CollectorRegistry()
    registry.register(Reference())
    renderer = UsageText()
    assert renderer.render(usages) == generate_latest(registry)
    assert renderer.render(usages) == generate_latest(registry)  # with the labels it kept
    assert (
        parse(renderer.render(usages))[("popvim_container_memory_usage_bytes", series("c2", 'odd"name\\with\nall'))]
        == 1e12
    )


def test_both_metrics_endpoints_answer_the_registry_and_the_usage_text(store: Store) -> None:
    engine = Engine()
    ids = running(store, ["web"])
    engine.figures = {"web": figures(3)}
    sampler = UsageSampler(store, engine)  # type: ignore[arg-type]
    registry = CollectorRegistry()
    registry.register(StateCollector(store, EventBus()))
    metrics = exposition.Exposition(registry, [sampler.exposition])
    server = exposition.serve(metrics, "127.0.0.1", 0)
    try:
        sampler.sample()
        body = metrics.render()
        samples = parse(body)  # parses whole, and no series twice
        assert samples[("popvim_containers", frozenset({("state", "RUNNING")}))] == 1
        assert samples[("popvim_container_cpu_usage_seconds_total", series(ids["web"], "web"))] == 3
        r = httpx.get(f"http://127.0.0.1:{server.server_address[1]}/metrics", timeout=10)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain")
        assert parse(r.content) == samples
    finally:
        server.shutdown()
        server.server_close()
        sampler.stop()
