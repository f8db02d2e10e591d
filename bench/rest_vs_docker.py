#!/usr/bin/env python
"""popvim's REST API against plain docker-py, side by side, in one run.

    .venv/bin/python bench/rest_vs_docker.py --n 50 --list-size 500

Phases (see bench/README.md for how to read the output):

1. create+start of N busybox containers (``sleep 3600``), interleaved per
   iteration: (A) ``POST /v1/containers/run`` on a real popvimd, (B) docker-py
   ``create_container`` on a user-defined bridge with a fixed IPv4 + ``start``,
   and (C) "docker mirror": B preceded by the two extra engine round-trips
   popvim makes (image inspect, inspect of the name expecting 404). C tells
   how much of popvim's overhead is engine round-trips vs its own Python/DB
   work. Then delete, interleaved and timed as "delete".
2. list with M containers existing: ``GET /v1/containers`` (M popvim records in
   CREATED state) vs ``APIClient.containers(all=True, filters=label)`` and
   ``DockerClient.containers.list(all=True, filters=label)`` over M real,
   created-not-started engine containers.
3. popvimd's VmRSS at start, after create/start, after the list phase.

Everything it makes (the daemon, its engine containers and network, the
docker-side containers and network, the temporary state dir) is removed in a
``finally``, also on Ctrl-C, SIGTERM or an exception.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import docker.errors
import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    BENCH_LABEL,
    DockerSideBench,
    compare,
    print_table,
    rss_mib,
    run_docker_side,
    summary,
)
from support.daemon import BUSYBOX  # noqa: E402

COMMAND = ["sleep", "3600"]


# --- small helpers -------------------------------------------------------------
def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return (time.perf_counter() - t0) * 1000, result


def server_times(log_text: str, method: str, path: str, status: int) -> list[float]:
    """Durations the daemon's access-log middleware recorded, in request order."""
    pattern = re.compile(rf"logger=popvim\.rest {method} {re.escape(path)} {status} ([0-9.]+)ms")
    return [float(m.group(1)) for m in pattern.finditer(log_text)]


# --- the benchmark ---------------------------------------------------------------
class Bench(DockerSideBench):
    state_tag = "bench"
    daemon_tag = "bench"
    net_tag = "pvbench"
    subnet_prefix = 16

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.memory: dict[str, float | None] = {}

    # --- set-up and clean-up -------------------------------------------------
    def setup(self) -> None:
        self.daemon.start()
        self.memory["start"] = rss_mib(self.daemon.proc.pid)  # type: ignore[union-attr]
        self.subnet = str(self.create_network())

    def _remove_docker_side(self) -> None:
        self._parallel(self._rm, self._docker_side_ids())

    def _parallel(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        with ThreadPoolExecutor(max_workers=self.args.workers) as pool:
            return list(pool.map(fn, items))

    # --- docker-side operations ----------------------------------------------
    def docker_create(self, name: str, ip: str) -> str:
        api = self.dapi
        return api.create_container(
            BUSYBOX,
            command=COMMAND,
            name=name,
            labels=self.labels,
            host_config=api.create_host_config(network_mode=self.net_name),
            networking_config=api.create_networking_config(
                {self.net_name: api.create_endpoint_config(ipv4_address=ip)}
            ),
            detach=True,
        )["Id"]

    # --- phase 1 --------------------------------------------------------------
    def phase_create_start(self, api: httpx.Client) -> None:
        n, warmup = self.args.n, self.args.warmup
        samples: dict[str, list[float]] = {
            k: [] for k in ("popvim", "docker", "docker_create", "docker_start", "mirror")
        }
        popvim_ids: list[str] = []
        docker_ids: list[str] = []
        mirror_ids: list[str] = []
        ip_index = 0

        def run_popvim(i: int) -> float:
            body = {"name": f"run-{i}", "image": BUSYBOX, "command": COMMAND, "labels": self.labels}
            ms, r = timed(lambda: api.post("/v1/containers/run", json=body))
            r.raise_for_status()
            assert r.json()["state"] == "RUNNING", r.text
            popvim_ids.append(r.json()["id"])
            return ms

        def run_docker(i: int, record: bool) -> float:
            nonlocal ip_index
            ip = self.hosts[ip_index]
            ip_index += 1
            name = f"pvbench-{self.run_id}-d{i}"
            t0 = time.perf_counter()
            cid = self.docker_create(name, ip)
            t1 = time.perf_counter()
            self.dapi.start(cid)
            t2 = time.perf_counter()
            docker_ids.append(cid)
            if record:
                samples["docker_create"].append((t1 - t0) * 1000)
                samples["docker_start"].append((t2 - t1) * 1000)
            return (t2 - t0) * 1000

        def run_mirror(i: int) -> float:
            """What popvim asks the engine for, minus popvim: inspect image, 404 on the name, create, start."""
            nonlocal ip_index
            ip = self.hosts[ip_index]
            ip_index += 1
            name = f"pvbench-{self.run_id}-m{i}"
            t0 = time.perf_counter()
            self.dapi.inspect_image(BUSYBOX)
            try:
                self.dapi.inspect_container(name)
                raise RuntimeError(f"{name} exists already")
            except docker.errors.NotFound:
                pass
            cid = self.docker_create(name, ip)
            self.dapi.start(cid)
            ms = (time.perf_counter() - t0) * 1000
            mirror_ids.append(cid)
            return ms

        ops: list[tuple[str, Callable[[int, bool], float]]] = [
            ("popvim", lambda i, rec: run_popvim(i)),
            ("docker", run_docker),
        ]
        if not self.args.no_mirror:
            ops.append(("mirror", lambda i, rec: run_mirror(i)))
        for i in range(warmup + n):
            record = i >= warmup
            # rotate who goes first, so neither side always follows the other
            shift = i % len(ops)
            for key, op in ops[shift:] + ops[:shift]:
                ms = op(i, record)
                if record:
                    samples[key].append(ms)
        self.memory["after_create_start"] = rss_mib(self.daemon.proc.pid)  # type: ignore[union-attr]

        # delete, interleaved as well (the mirror's containers are removed untimed)
        del_samples: dict[str, list[float]] = {"popvim": [], "docker": []}
        for i, (pid_, did) in enumerate(zip(popvim_ids, docker_ids, strict=True)):

            def del_popvim() -> None:
                r = api.delete(f"/v1/containers/{pid_}")
                r.raise_for_status()

            def del_docker() -> None:
                self.dapi.remove_container(did, force=True, v=True)

            pair = [("popvim", del_popvim), ("docker", del_docker)]
            for key, fn in pair if i % 2 == 0 else pair[::-1]:
                ms, _ = timed(fn)
                if i >= warmup:
                    del_samples[key].append(ms)
        self._parallel(self._rm, mirror_ids)
        self.memory["after_delete"] = rss_mib(self.daemon.proc.pid)  # type: ignore[union-attr]

        log = self.daemon.log()
        server_run = server_times(log, "POST", "/v1/containers/run", 201)[warmup:]
        stats = {k: summary(v) for k, v in samples.items() if v}
        if server_run:
            stats["popvim_server"] = summary(server_run)
        paired = [a - b for a, b in zip(samples["popvim"], samples["docker"], strict=True)]
        self.results["create_start"] = {
            "stats": stats,
            "vs_docker": compare(stats["popvim"], stats["docker"]),
            "vs_mirror": compare(stats["popvim"], stats["mirror"]) if "mirror" in stats else None,
            "paired_overhead_median_ms": statistics.median(paired),
            "samples_ms": samples,
        }
        dstats = {k: summary(v) for k, v in del_samples.items()}
        self.results["delete"] = {
            "stats": dstats,
            "vs_docker": compare(dstats["popvim"], dstats["docker"]),
            "samples_ms": del_samples,
        }

    # --- phase 2 --------------------------------------------------------------
    def phase_list(self, api: httpx.Client) -> None:
        m, k = self.args.list_size, self.args.list_reps

        def create_record(i: int) -> None:
            r = api.post(
                "/v1/containers", json={"name": f"rec-{i}", "image": BUSYBOX, "command": COMMAND, "labels": self.labels}
            )
            r.raise_for_status()

        base = len(self.hosts) - m - 1  # far from the addresses phase 1 used

        def create_engine(i: int) -> None:
            self.docker_create(f"pvbench-{self.run_id}-l{i}", self.hosts[base + i])

        pop_ms, _ = timed(lambda: self._parallel(create_record, list(range(m))))
        eng_ms, _ = timed(lambda: self._parallel(create_engine, list(range(m))))
        self.memory["after_list_populate"] = rss_mib(self.daemon.proc.pid)  # type: ignore[union-attr]
        flt = {"label": f"{BENCH_LABEL}={self.run_id}"}
        sizes: dict[str, int] = {}

        # Each op returns (parsed result, raw size); only the call and its JSON decoding are timed
        # (docker-py decodes inside the call, so the REST side decodes too). Checks happen after.
        def popvim_list() -> Any:
            r = api.get("/v1/containers")
            r.raise_for_status()
            return r.json(), len(r.content)

        def docker_api_list() -> Any:
            return self.dapi.containers(all=True, filters=flt), None

        def docker_sdk_list() -> Any:
            return self.docker.containers.list(all=True, filters=flt), None

        def check(key: str, result: Any) -> None:
            found, size = result
            assert len(found) == m, f"{key}: {len(found)} containers, expected {m}"
            if key not in sizes:
                sizes[key] = size if size is not None else len(json.dumps([getattr(c, "attrs", c) for c in found]))

        ops = [("popvim", popvim_list), ("docker_api", docker_api_list), ("docker_sdk", docker_sdk_list)]
        samples: dict[str, list[float]] = {key: [] for key, _ in ops}
        for key, fn in ops:  # one untimed warm-up each
            check(key, fn())
        for i in range(k):
            shift = i % len(ops)
            for key, fn in ops[shift:] + ops[:shift]:
                ms, result = timed(fn)
                check(key, result)
                samples[key].append(ms)
        self.memory["after_list"] = rss_mib(self.daemon.proc.pid)  # type: ignore[union-attr]
        server = server_times(self.daemon.log(), "GET", "/v1/containers", 200)[-k:]
        stats = {key: summary(v) for key, v in samples.items()}
        if server:
            stats["popvim_server"] = summary(server)
        self.results["list"] = {
            "list_size": m,
            "reps": k,
            "populate_s": {"popvim_records": pop_ms / 1000, "docker_engine_containers": eng_ms / 1000},
            "response_bytes": sizes,
            "stats": stats,
            "vs_docker_api": compare(stats["popvim"], stats["docker_api"]),
            "vs_docker_sdk": compare(stats["popvim"], stats["docker_sdk"]),
            "samples_ms": samples,
        }

    def run(self) -> None:
        self.setup()
        with self.daemon.client(timeout=120) as api:
            t0 = time.perf_counter()
            self.phase_create_start(api)
            t1 = time.perf_counter()
            self.phase_list(api)
            t2 = time.perf_counter()
        self.results["phase_seconds"] = {"create_start_delete": t1 - t0, "list": t2 - t1}
        self.results["memory_rss_mib"] = self.memory


# --- output -------------------------------------------------------------------
def report(results: dict[str, Any], meta: dict[str, Any]) -> None:
    def row(label: str, s: dict[str, float] | None, cmp: dict[str, float] | None = None) -> list[str]:
        if s is None:
            return [label, "", "", "", "", "", ""]
        cells = [label, f"{s['median']:.2f}", f"{s['p90']:.2f}", f"{s['mean']:.2f}"]
        if cmp:
            cells += [f"{cmp['ratio']:.2f}x", f"{cmp['overhead_ms']:+.2f}", f"{cmp['overhead_pct']:+.0f}%"]
        else:
            cells += ["", "", ""]
        return cells

    cs, de, ls = results["create_start"], results["delete"], results["list"]
    rows: list[list[str] | None] = [
        row(f"create+start  popvim REST /run (n={cs['stats']['popvim']['n']})", cs["stats"]["popvim"], cs["vs_docker"]),
        row("              popvim server-side (middleware)", cs["stats"].get("popvim_server")),
        row("              docker-py create+start", cs["stats"]["docker"]),
        row("                 of which create", cs["stats"]["docker_create"]),
        row("                 of which start", cs["stats"]["docker_start"]),
    ]
    if cs.get("vs_mirror"):
        rows.append(row("              docker mirror (+inspect img, +404)", cs["stats"]["mirror"]))
        rows.append(row("              popvim vs mirror", cs["stats"]["popvim"], cs["vs_mirror"]))
    rows += [
        None,
        row("delete        popvim REST DELETE", de["stats"]["popvim"], de["vs_docker"]),
        row("              docker-py remove(force)", de["stats"]["docker"]),
        None,
        row(f"list M={ls['list_size']}  popvim GET /v1/containers", ls["stats"]["popvim"], ls["vs_docker_api"]),
        row("              popvim server-side (middleware)", ls["stats"].get("popvim_server")),
        row("              docker APIClient.containers()", ls["stats"]["docker_api"]),
        row("              docker containers.list() (inspects)", ls["stats"]["docker_sdk"]),
        row("              popvim vs containers.list()", ls["stats"]["popvim"], ls["vs_docker_sdk"]),
    ]
    headers = ["operation", "median ms", "p90 ms", "mean ms", "ratio", "overhead ms", "overhead %"]
    mem = results["memory_rss_mib"]
    mem_line = "popvimd VmRSS MiB: " + ", ".join(f"{k}={v:.1f}" for k, v in mem.items() if v is not None)
    extra = (
        f"paired (per-iteration) popvim-docker create+start overhead median: "
        f"{cs['paired_overhead_median_ms']:+.2f} ms; list response bytes: {ls['response_bytes']}; "
        f"populate {ls['list_size']}: popvim records {ls['populate_s']['popvim_records']:.1f}s, "
        f"engine containers {ls['populate_s']['docker_engine_containers']:.1f}s"
    )
    title = (
        f"popvim REST vs docker-py  (docker {meta['docker_version']}, {meta['cpus']} CPUs, "
        f"ratio = popvim median / docker median)"
    )
    try:
        console = print_table(title, headers, rows, width=140)
    except ImportError:  # pragma: no cover - without rich
        print(title)
        print(" | ".join(headers))
        for r in rows:
            print("-" * 100 if r is None else " | ".join(r))
        print(mem_line)
        print(extra)
    else:
        console.print(mem_line)
        console.print(extra)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50, help="timed create+start iterations per side [50]")
    parser.add_argument("--warmup", type=int, default=2, help="untimed iterations first [2]")
    parser.add_argument("--list-size", type=int, default=500, help="containers existing for the list phase [500]")
    parser.add_argument("--list-reps", type=int, default=20, help="timed list requests per side (K) [20]")
    parser.add_argument("--workers", type=int, default=4, help="threads used to populate/clean up (untimed) [4]")
    parser.add_argument("--no-mirror", action="store_true", help="skip the 'docker mirror' column")
    parser.add_argument("--keep-state", action="store_true", help="keep popvimd's state dir and log")
    parser.add_argument("--out-dir", type=Path, default=HERE / "results")
    args = parser.parse_args()
    if args.n < 2 or args.list_size < 1 or args.list_reps < 1:
        parser.error("--n must be >= 2, --list-size and --list-reps >= 1")

    return run_docker_side(args, Bench, report, "rest_vs_docker", BUSYBOX)


if __name__ == "__main__":
    sys.exit(main())
