"""What a Prometheus scrape of popvimd costs: scrape time with 100 and 1,000 containers,
and popvimd's CPU while scraped every second.

The containers are records in popvim's store (which the scrape counts); ``--running`` of them
(all, by default) are started so that the background usage sampler has five series per
container to report. A scrape never calls the engine, and it no longer formats those series
either: the sampler renders them once per pass and every scrape appends that text.

A second table shows, in this process over ``--sampled`` running containers, what a scrape
formats: the old way (prometheus_client rendering the usage families on every scrape), the new
way (the registry's own families plus the sampler's text) and the sampler's per-pass render.

    .venv/bin/python bench/metrics.py                  # 100 and 1000, all running, 30 s CPU windows
    .venv/bin/python bench/metrics.py --sizes 100 --running 20 --cpu-seconds 10
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import httpx  # noqa: E402
from _common import host_facts, print_table, summary, write_results  # noqa: E402
from support.daemon import BUSYBOX, IDLE_SLEEPER, Daemon, wait_for  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def populate(api: httpx.Client, start: int, stop: int, workers: int) -> None:
    def one(i: int) -> None:
        r = api.post("/v1/containers", json={"name": f"m-{i}", "image": BUSYBOX, "command": IDLE_SLEEPER})
        r.raise_for_status()

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(start, stop)))


def start_some(api: httpx.Client, start: int, stop: int, workers: int) -> None:
    def one(i: int) -> None:
        api.post(f"/v1/containers/m-{i}/start", timeout=300).raise_for_status()

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(start, stop)))


def remove_engine_side(daemon: Daemon, workers: int) -> None:
    """The daemon's engine containers, removed in parallel (``purge`` does one at a time: minutes for 1,000)."""
    import docker

    engine = docker.from_env(timeout=300)
    try:
        ids = [c["Id"] for c in engine.api.containers(all=True, filters={"label": f"io.popvim.pop={daemon.name}"})]
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda cid: engine.api.remove_container(cid, force=True), ids))
    finally:
        engine.close()


def p99(samples: list[float]) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, round(0.99 * (len(s) - 1)))]


def time_scrapes(api: httpx.Client, reps: int) -> dict[str, Any]:
    samples, size, series = [], 0, 0
    for _ in range(reps):
        t = time.perf_counter()
        r = api.get("/metrics")
        samples.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
        size = len(r.content)
        series = sum(1 for line in r.text.splitlines() if line and not line.startswith("#"))
    return {"ms": {**summary(samples), "p99": p99(samples)}, "bytes": size, "series": series}


def cpu_window(daemon: Daemon, api: httpx.Client | None, seconds: float) -> float:
    """popvimd's CPU in % of one core over ``seconds``, scraping once a second when ``api`` is given."""
    assert daemon.proc is not None
    pid = daemon.proc.pid
    before, t0 = cpu_seconds(pid), time.monotonic()
    next_at = t0
    while time.monotonic() - t0 < seconds:
        if api is not None:
            api.get("/metrics").raise_for_status()
        next_at += 1.0
        time.sleep(max(0.0, next_at - time.monotonic()))
    return (cpu_seconds(pid) - before) / (time.monotonic() - t0) * 100


def _usages(n: int) -> list[Any]:
    """A sampler's snapshot of ``n`` running containers."""
    from popvim.vim.usage import Usage

    return [Usage(f"id-{i}", f"m-{i}", 1.5 * i, 2e7, 1.3e8, 1e4 * i, 2e4 * i) for i in range(n)]


class _OldUsageCollector:
    """The per-container families as the collector made them before: Metric objects that
    prometheus_client formats on every scrape (what a scrape cost until the sampler rendered them)."""

    def __init__(self, n: int) -> None:
        self._usages = _usages(n)

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        from popvim.vim.usage_text import FAMILIES

        for name, kind, help_text, field in FAMILIES:
            family: Any = (
                CounterMetricFamily(name.removesuffix("_total"), help_text, labels=["container_id", "name"])
                if kind == "counter"
                else GaugeMetricFamily(name, help_text, labels=["container_id", "name"])
            )
            for u in self._usages:
                family.add_metric([u.container_id, u.name], getattr(u, field))
            yield family


def _timed(fn: Any, reps: int) -> tuple[dict[str, float], bytes]:
    samples, body = [], b""
    for _ in range(reps):
        t = time.perf_counter()
        body = fn()
        samples.append((time.perf_counter() - t) * 1000)
    return {**summary(samples), "p99": p99(samples)}, body


def collector_cost(n: int, reps: int) -> dict[str, Any]:
    """With ``n`` running containers (records and samples), in process: a scrape's rendering the old way
    (every family formatted by prometheus_client), the new way (the registry's families plus the sampler's
    text), and the sampler's render of its text, once per pass."""
    import uuid
    from datetime import datetime

    from prometheus_client import CollectorRegistry, generate_latest

    from popvim.observe.exposition import Exposition
    from popvim.store.db import Store
    from popvim.store.models import ContainerRow
    from popvim.vim.events import EventBus
    from popvim.vim.metrics import StateCollector
    from popvim.vim.usage_text import UsageText

    store = Store(f"sqlite:///{tempfile.mkdtemp(prefix='bench-metrics-store-')}/popvim.db")
    with store.session() as session:
        session.add_all(
            ContainerRow(
                id=str(uuid.uuid4()),
                name=f"m-{i}",
                image=BUSYBOX,
                image_id="x",
                flavour="docker.container",
                state="RUNNING",
                extended_status="",
                created_at=datetime.now(),
            )
            for i in range(n)
        )
    old = CollectorRegistry()
    old.register(StateCollector(store, EventBus()))
    old.register(_OldUsageCollector(n))  # type: ignore[arg-type]
    registry = CollectorRegistry()
    registry.register(StateCollector(store, EventBus()))
    renderer = UsageText()
    usages = _usages(n)
    text = renderer.render(usages)
    new = Exposition(registry, [lambda: text])
    old_ms, old_body = _timed(lambda: generate_latest(old), reps)
    new_ms, new_body = _timed(new.render, reps)
    pass_ms, _ = _timed(lambda: renderer.render(usages), reps)
    store.close()
    assert len(old_body) == len(new_body), "the old and the new text differ"
    return {"old_ms": old_ms, "new_ms": new_ms, "render_per_pass_ms": pass_ms, "bytes": len(new_body)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--running", type=int, default=None, help="containers started (usage series) [all of them]")
    parser.add_argument("--reps", type=int, default=50, help="timed scrapes per size")
    parser.add_argument("--cpu-seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--sample-timeout", type=float, default=600.0, help="seconds to wait for the sampler")
    parser.add_argument(
        "--sampled",
        type=int,
        nargs="+",
        default=[20, 1000],
        help="running containers for the in-process collector table",
    )
    args = parser.parse_args()

    began = time.monotonic()
    state = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    daemon = Daemon(state)
    results: dict[str, Any] = {"sizes": {}}
    try:
        daemon.start()
        with daemon.client() as api:
            made = started = 0
            for n in sorted(args.sizes):
                populate(api, made, n, args.workers)
                made = n
                running = n if args.running is None else min(args.running, n)
                start_some(api, started, running, args.workers)
                started = max(started, running)
                # wait for a sampler pass over all the running ones
                wait_for(
                    lambda: api.get("/metrics").text.count("popvim_container_memory_usage_bytes{") >= started,
                    timeout=args.sample_timeout,
                    interval=1.0,
                    what="usage samples",
                )
                api.get("/metrics").raise_for_status()  # warm-up
                entry = {**time_scrapes(api, args.reps), "running": started}
                entry["cpu_idle_pct"] = cpu_window(daemon, None, args.cpu_seconds)
                entry["cpu_scraped_1hz_pct"] = cpu_window(daemon, api, args.cpu_seconds)
                results["sizes"][str(n)] = entry
    finally:
        daemon.stop()
        remove_engine_side(daemon, args.workers)
        daemon.purge()

    rows = [
        [
            n,
            str(e["running"]),
            str(e["series"]),
            f"{e['bytes'] / 1024:.0f}",
            f"{e['ms']['median']:.1f}",
            f"{e['ms']['p90']:.1f}",
            f"{e['ms']['p99']:.1f}",
            f"{e['ms']['max']:.1f}",
            f"{e['cpu_idle_pct']:.1f}",
            f"{e['cpu_scraped_1hz_pct']:.1f}",
        ]
        for n, e in results["sizes"].items()
    ]
    print_table(
        "GET /metrics (client-side ms over loopback; popvimd CPU % of one core)",
        ["containers", "running", "series", "KiB", "median", "p90", "p99", "max", "cpu idle", "cpu 1 Hz scrape"],
        rows,
        110,
    )
    results["collector"] = {str(n): collector_cost(n, args.reps) for n in args.sampled}
    print_table(
        "a scrape's rendering in-process, N running containers (records + samples), ms",
        ["running", "KiB", "old p50", "old p99", "now p50", "now p99", "sampler's render per pass p50"],
        [
            [
                n,
                f"{e['bytes'] / 1024:.0f}",
                f"{e['old_ms']['median']:.1f}",
                f"{e['old_ms']['p99']:.1f}",
                f"{e['new_ms']['median']:.2f}",
                f"{e['new_ms']['p99']:.2f}",
                f"{e['render_per_pass_ms']['median']:.1f}",
            ]
            for n, e in results["collector"].items()
        ],
        110,
    )
    meta = {
        **host_facts(),
        "runtime_s": round(time.monotonic() - began),
        "running": args.running,
        "reps": args.reps,
        "cpu_seconds": args.cpu_seconds,
    }
    write_results(HERE / "results", "metrics", meta, results)


if __name__ == "__main__":
    main()
