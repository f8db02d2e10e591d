#!/usr/bin/env python
"""Seed 001 Fig. 5.8 on this machine: what the Pop protocol costs on a container spawn, and popvimd's memory.

    .venv/bin/python bench/pop_latency.py --n 30 --lifecycles 500

Phase 1, latency (Fig. 5.8's three bars, interleaved per iteration with a
rotating order so engine drift hits every path alike): spawn = create + start
of a busybox ``sleep 3600`` container

1. *docker-py*: ``APIClient.create_container`` on a user-defined bridge with
   a fixed IPv4, then ``start`` (what any VIM must ask the engine for);
2. *pop fresh*: through popvimd's Pop gRPC service with a new ``SessionCache``
   each time, i.e. a new channel and a ``Login`` (bcrypt) before Create+Start,
   as a client without an authenticated session (seed case 2);
3. *pop cached*: a new ``PopClient`` object each time, sharing one warm
   session (seed case 3, section 4.3.1: clients are cheap, sessions cached).

Every spawned container is removed after its iteration, untimed, so the
engine holds the same number of containers throughout.

Phase 2, memory (Fig. 5.7's question for popvimd): VmRSS of the daemon's pid
(/proc) across L container lifecycles through Pop (create, start, stop,
wait for EXITED, delete), sampled every S lifecycles.

Everything it makes (the daemon and its engine objects, the docker-side
containers and network, the temporary state dir) is removed in a ``finally``.
Results: a table on stdout and JSON in bench/results/.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    DockerSideBench,
    print_table,
    rss_mib,
    run_docker_side,
    summary,
)
from support.daemon import BUSYBOX, PASSWORD, USER  # noqa: E402

from popvim.client import PopClient  # noqa: E402
from popvim.client.session import SessionCache  # noqa: E402

SLEEP = ["sleep", "3600"]
# Exits on SIGTERM at once: a lifecycle then measures popvim, not the engine's kill timeout.
TRAPPING = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
PATHS = ("docker", "pop_fresh", "pop_cached")


# --- the benchmark --------------------------------------------------------------------------------
class Bench(DockerSideBench):
    state_tag = "poplat"
    daemon_tag = "plat"
    net_tag = "pvplat"
    subnet_prefix = 24

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.caches: list[SessionCache] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.daemon.pop_port}"

    @property
    def pid(self) -> int:
        assert self.daemon.proc is not None
        return self.daemon.proc.pid

    # --- clean-up ------------------------------------------------------------------------------
    def cleanup(self) -> None:
        """The Pop sessions first, then what ``DockerSideBench.cleanup`` removes."""
        for cache in self.caches:
            cache.clear()
        super().cleanup()

    def new_cache(self) -> SessionCache:
        cache = SessionCache()
        self.caches.append(cache)
        return cache

    # --- phase 1: Fig. 5.8 -----------------------------------------------------------------
    def phase_latency(self) -> None:
        n, warmup = self.args.n, self.args.warmup
        samples: dict[str, list[float]] = {k: [] for k in (*PATHS, "pop_fresh_login")}
        warm = self.new_cache()
        PopClient(self.address, USER, PASSWORD, cache=warm).info()  # the cached path's one login
        cleaner = PopClient(self.address, USER, PASSWORD, cache=warm)
        rss_before = rss_mib(self.pid)

        def docker_spawn(i: int) -> tuple[float, Callable[[], None]]:
            t0 = time.perf_counter()
            cid = self.dapi.create_container(
                BUSYBOX,
                command=SLEEP,
                name=f"pvplat-{self.run_id}-d{i}",
                labels=self.labels,
                detach=True,
                host_config=self.dapi.create_host_config(network_mode=self.net_name),
                networking_config=self.dapi.create_networking_config(
                    {self.net_name: self.dapi.create_endpoint_config(ipv4_address=self.hosts[i])}
                ),
            )["Id"]
            self.dapi.start(cid)
            return (time.perf_counter() - t0) * 1000, lambda: self._rm(cid)

        def pop_fresh(i: int) -> tuple[float, Callable[[], None]]:
            cache = SessionCache()  # nothing cached: channel + Login + Create + Start
            try:
                t0 = time.perf_counter()
                client = PopClient(self.address, USER, PASSWORD, cache=cache)
                client.login()
                t1 = time.perf_counter()
                c = client.spawn(f"fresh-{i}", BUSYBOX, command=SLEEP)
                t2 = time.perf_counter()
            finally:
                cache.clear()
            assert c.status == "RUNNING", c
            if i >= warmup:
                samples["pop_fresh_login"].append((t1 - t0) * 1000)
            return (t2 - t0) * 1000, lambda: cleaner.delete(f"id:{c.id}")

        def pop_cached(i: int) -> tuple[float, Callable[[], None]]:
            t0 = time.perf_counter()
            c = PopClient(self.address, USER, PASSWORD, cache=warm).spawn(f"cached-{i}", BUSYBOX, command=SLEEP)
            ms = (time.perf_counter() - t0) * 1000
            assert c.status == "RUNNING", c
            return ms, lambda: cleaner.delete(f"id:{c.id}")

        ops: list[tuple[str, Callable[[int], tuple[float, Callable[[], None]]]]] = [
            ("docker", docker_spawn),
            ("pop_fresh", pop_fresh),
            ("pop_cached", pop_cached),
        ]
        for i in range(warmup + n):
            shift = i % len(ops)
            undo: list[Callable[[], None]] = []
            for key, op in ops[shift:] + ops[:shift]:
                ms, remove = op(i)
                undo.append(remove)
                if i >= warmup:
                    samples[key].append(ms)
            for remove in undo:  # untimed: keep the engine's container count steady
                remove()
            print(f"\rlatency: {i + 1}/{warmup + n}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        assert warm.get(cleaner.credentials).logins == 1, "the cached path logged in more than once"

        stats = {k: summary(v) for k, v in samples.items()}
        base = stats["docker"]["median"]
        self.results["latency"] = {
            "stats": stats,
            "ratio_vs_docker": {k: stats[k]["median"] / base for k in ("pop_fresh", "pop_cached")},
            "overhead_ms_vs_docker": {k: stats[k]["median"] - base for k in ("pop_fresh", "pop_cached")},
            "paired_overhead_median_ms": {
                k: statistics.median(a - b for a, b in zip(samples[k], samples["docker"], strict=True))
                for k in ("pop_fresh", "pop_cached")
            },
            "cached_session_logins": 1,
            "rss_mib_before_after": [rss_before, rss_mib(self.pid)],
            "samples_ms": samples,
        }

    # --- phase 2: memory across lifecycles --------------------------------------------------
    def phase_memory(self) -> None:
        total, every, workers = self.args.lifecycles, self.args.sample_every, self.args.workers
        cache = self.new_cache()
        client = PopClient(self.address, USER, PASSWORD, cache=cache)
        curve: list[tuple[int, float | None]] = [(0, rss_mib(self.pid))]
        done = 0
        lock = threading.Lock()
        counter = iter(range(total))

        def lifecycle(i: int) -> None:
            c = client.create(f"lc-{self.run_id}-{i}", BUSYBOX, command=TRAPPING)
            client.start(f"id:{c.id}")
            client.stop(f"id:{c.id}")
            deadline = time.monotonic() + 60
            while client.container(f"id:{c.id}").status == "STOPPING":
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{c.name} still STOPPING after 60 s")
                time.sleep(0.02)
            client.delete(f"id:{c.id}")

        def worker() -> None:
            nonlocal done
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                lifecycle(i)
                with lock:
                    done += 1
                    if done % every == 0 or done == total:
                        curve.append((done, rss_mib(self.pid)))
                        print(
                            f"\rmemory: {done}/{total} lifecycles, VmRSS {curve[-1][1]:.1f} MiB",
                            end="",
                            file=sys.stderr,
                            flush=True,
                        )

        t0 = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            for future in [pool.submit(worker) for _ in range(workers)]:
                future.result()
        print(file=sys.stderr)
        leftovers = client.containers()
        assert not leftovers, f"{len(leftovers)} containers left after the lifecycles"
        values = [v for _, v in curve if v is not None]
        self.results["memory"] = {
            "lifecycles": total,
            "workers": workers,
            "seconds": time.perf_counter() - t0,
            "curve_mib": curve,
            "start_mib": values[0],
            "end_mib": values[-1],
            "max_mib": max(values),
            "growth_mib": values[-1] - values[0],
            "growth_after_first_sample_mib": values[-1] - values[1] if len(values) > 2 else None,
        }

    def run(self) -> None:
        self.setup()
        self.results["rss_mib_idle"] = rss_mib(self.pid)
        self.phase_latency()
        self.phase_memory()


# --- output -------------------------------------------------------------------------------------
def report(results: dict[str, Any], meta: dict[str, Any]) -> None:
    lat, mem = results["latency"], results["memory"]
    st = lat["stats"]
    rows: list[list[str]] = []
    labels = {
        "docker": "(1) docker-py create+start",
        "pop_fresh": "(2) Pop, fresh login each time",
        "pop_cached": "(3) Pop, cached session",
    }
    for key, label in labels.items():
        s = st[key]
        cells = [label, f"{s['median']:.1f}", f"{s['p90']:.1f}", f"{s['mean']:.1f}"]
        if key == "docker":
            cells += ["1.00x", "", ""]
        else:
            cells += [
                f"{lat['ratio_vs_docker'][key]:.2f}x",
                f"{lat['overhead_ms_vs_docker'][key]:+.1f}",
                f"{lat['paired_overhead_median_ms'][key]:+.1f}",
            ]
        rows.append(cells)
    login = st["pop_fresh_login"]
    rows.append(
        [
            "    of (2): channel + Login",
            f"{login['median']:.1f}",
            f"{login['p90']:.1f}",
            f"{login['mean']:.1f}",
            "",
            "",
            "",
        ]
    )
    console = print_table(
        f"Pop spawn latency vs docker-py (seed 001 Fig. 5.8; docker {meta['docker_version']}, "
        f"{meta['cpus']} CPUs, n={st['docker']['n']})",
        ["path", "median ms", "p90 ms", "mean ms", "ratio vs docker", "overhead ms", "paired overhead ms"],
        rows,
        width=150,
    )
    curve = ", ".join(f"{n}:{v:.1f}" for n, v in mem["curve_mib"] if v is not None)
    console.print(
        f"popvimd VmRSS across {mem['lifecycles']} lifecycles (create, start, stop, delete; {mem['workers']} "
        f"clients, {mem['seconds']:.0f}s): start {mem['start_mib']:.1f} MiB, end {mem['end_mib']:.1f} MiB, "
        f"max {mem['max_mib']:.1f} MiB, growth {mem['growth_mib']:+.1f} MiB",
        soft_wrap=True,
    )
    console.print(f"curve (lifecycles:MiB): {curve}", soft_wrap=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=30, help="timed spawns per path [30]")
    parser.add_argument("--warmup", type=int, default=2, help="untimed iterations first [2]")
    parser.add_argument("--lifecycles", type=int, default=500, help="container lifecycles in the memory phase [500]")
    parser.add_argument("--sample-every", type=int, default=50, help="VmRSS sample period, in lifecycles [50]")
    parser.add_argument("--workers", type=int, default=4, help="concurrent Pop clients in the memory phase [4]")
    parser.add_argument("--keep-state", action="store_true", help="keep popvimd's state dir and log")
    parser.add_argument("--out-dir", type=Path, default=HERE / "results")
    args = parser.parse_args()
    if args.n < 2 or args.lifecycles < 1 or args.sample_every < 1 or args.workers < 1:
        parser.error("--n must be >= 2; --lifecycles, --sample-every and --workers >= 1")
    if args.warmup + args.n > 250:
        parser.error("--warmup + --n must stay <= 250 (one fixed address per docker-side spawn in a /24)")

    return run_docker_side(args, Bench, report, "pop_latency", BUSYBOX)


if __name__ == "__main__":
    sys.exit(main())
