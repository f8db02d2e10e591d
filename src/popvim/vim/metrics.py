"""Gauges computed at scrape time from the database and the background samples.

Counting rows by state is one indexed GROUP BY per table; nothing here calls
the engine, so a scrape costs the same with a busy or a hung engine. The
per-container usage families are not here: the sampler renders them once per
pass (vim/usage_text.py) and the exposition appends that text.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from popvim.store.db import Store
from popvim.store.models import ContainerRow
from popvim.store.nfv_models import NsInstanceRow
from popvim.vim.events import EventBus
from popvim.vim.models import ContainerState

NS_STATES = ("NOT_INSTANTIATED", "INSTANTIATED")


class StateCollector(Collector):
    def __init__(self, store: Store, bus: EventBus) -> None:
        self._store = store
        self._bus = bus

    def describe(self) -> list[Metric]:
        return []  # registering must not query the database; the names are popvim_'s own

    def collect(self) -> Iterator[Metric]:
        with self._store.session() as session:
            containers = dict(
                session.execute(select(ContainerRow.state, func.count()).group_by(ContainerRow.state)).all()
            )
            instances = dict(
                session.execute(select(NsInstanceRow.state, func.count()).group_by(NsInstanceRow.state)).all()
            )
        by_state = GaugeMetricFamily("popvim_containers", "Containers by state.", labels=["state"])
        for state in ContainerState:
            by_state.add_metric([state.value], containers.get(state.value, 0))
        yield by_state
        ns = GaugeMetricFamily("popvim_ns_instances", "Network-service instances by state.", labels=["state"])
        for ns_state in sorted({*NS_STATES, *instances}):
            ns.add_metric([ns_state], instances.get(ns_state, 0))
        yield ns

        backlog = GaugeMetricFamily(
            "popvim_event_stream_backlog_events",
            "Events waiting for the slowest event-stream subscriber (its lag, in events).",
        )
        backlog.add_metric([], self._bus.max_backlog())
        yield backlog
        subscribers = GaugeMetricFamily("popvim_event_stream_subscribers", "Open event-stream subscriptions.")
        subscribers.add_metric([], self._bus.subscribers())
        yield subscribers
