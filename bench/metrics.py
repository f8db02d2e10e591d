"""What a Prometheus scrape of popvimd costs: scrape time with 100 and 1,000 containers,
and popvimd's CPU while scraped every second.

Most containers are CREATED records (they exist in popvim's store, which is what the
scrape reads); ``--running`` of them are started so that the background usage sampler
has per-container series to report as well. A scrape never calls the engine.

Starting 1,000 containers takes this machine minutes, so the cost of 1,000 *running*
ones is measured in a second table: popvim's own collector, in this process, over a store
of ``--sampled`` RUNNING records and as many usage samples (what the sampler would hold),
rendered by prometheus_client as a scrape does.

    .venv/bin/python bench/metrics.py                  # 100 and 1000, 20 running, 30 s CPU windows
    .venv/bin/python bench/metrics.py --sizes 100 --cpu-seconds 10
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
from support.daemon import BUSYBOX, SLEEPER, Daemon, wait_for  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def populate(api: httpx.Client, start: int, stop: int, workers: int) -> None:
    def one(i: int) -> None:
        r = api.post("/v1/containers", json={"name": f"m-{i}", "image": BUSYBOX, "command": SLEEPER})
        r.raise_for_status()

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(start, stop)))


def time_scrapes(api: httpx.Client, reps: int) -> dict[str, Any]:
    samples, size, series = [], 0, 0
    for _ in range(reps):
        t = time.perf_counter()
        r = api.get("/metrics")
        samples.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
        size = len(r.content)
        series = sum(1 for line in r.text.splitlines() if line and not line.startswith("#"))
    return {"ms": summary(samples), "bytes": size, "series": series}


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


class _Samples:
    """A sampler's snapshot of ``n`` running containers, as UsageSampler keeps it."""

    def __init__(self, n: int) -> None:
        from popvim.vim.usage import Usage

        self._usage = [Usage(f"id-{i}", f"m-{i}", 1.5 * i, 2e7, 1.3e8, 1e4 * i, 2e4 * i) for i in range(n)]

    def snapshot(self) -> list[Any]:
        return list(self._usage)


def collector_cost(n: int, reps: int) -> dict[str, Any]:
    """popvim's StateCollector rendered to text with ``n`` running containers (records and samples)."""
    import uuid
    from datetime import datetime

    from prometheus_client import CollectorRegistry, generate_latest

    from popvim.store.db import Store
    from popvim.store.models import ContainerRow
    from popvim.vim.events import EventBus
    from popvim.vim.metrics import StateCollector

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
    registry = CollectorRegistry()
    registry.register(StateCollector(store, EventBus(), _Samples(n)))  # type: ignore[arg-type]
    samples, body = [], b""
    for _ in range(reps):
        t = time.perf_counter()
        body = generate_latest(registry)
        samples.append((time.perf_counter() - t) * 1000)
    store.close()
    return {"ms": summary(samples), "bytes": len(body)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--running", type=int, default=20, help="containers started (usage series)")
    parser.add_argument("--reps", type=int, default=50, help="timed scrapes per size")
    parser.add_argument("--cpu-seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=4)
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
            made = 0
            for n in sorted(args.sizes):
                populate(api, made, n, args.workers)
                if made == 0:
                    for i in range(min(args.running, n)):
                        api.post(f"/v1/containers/m-{i}/start").raise_for_status()
                    # wait for the sampler's first pass over the running ones
                    wait_for(
                        lambda: (
                            api.get("/metrics").text.count("popvim_container_memory_usage_bytes{")
                            >= min(args.running, n)
                        ),
                        timeout=60,
                        interval=0.5,
                        what="usage samples",
                    )
                made = n
                api.get("/metrics").raise_for_status()  # warm-up
                entry = time_scrapes(api, args.reps)
                entry["cpu_idle_pct"] = cpu_window(daemon, None, args.cpu_seconds)
                entry["cpu_scraped_1hz_pct"] = cpu_window(daemon, api, args.cpu_seconds)
                results["sizes"][str(n)] = entry
    finally:
        daemon.stop()
        daemon.purge()

    rows = [
        [
            n,
            str(e["series"]),
            f"{e['bytes'] / 1024:.0f}",
            f"{e['ms']['median']:.1f}",
            f"{e['ms']['p90']:.1f}",
            f"{e['ms']['max']:.1f}",
            f"{e['cpu_idle_pct']:.1f}",
            f"{e['cpu_scraped_1hz_pct']:.1f}",
        ]
        for n, e in results["sizes"].items()
    ]
    print_table(
        "GET /metrics (client-side ms over loopback; popvimd CPU % of one core)",
        ["containers", "series", "KiB", "median", "p90", "max", "cpu idle", "cpu 1 Hz scrape"],
        rows,
        110,
    )
    results["collector"] = {str(n): collector_cost(n, args.reps) for n in args.sampled}
    print_table(
        "popvim's collector rendered in-process, N running containers (records + samples)",
        ["running", "KiB", "median ms", "p90 ms", "max ms"],
        [
            [
                n,
                f"{e['bytes'] / 1024:.0f}",
                f"{e['ms']['median']:.1f}",
                f"{e['ms']['p90']:.1f}",
                f"{e['ms']['max']:.1f}",
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
