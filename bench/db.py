"""popvim's state on SQLite versus PostgreSQL, in one run: create+start, list and delete of N containers.

Two popvimds on the same engine, one per database (SQLite in its state dir; PostgreSQL: a fresh
database on scripts/postgres.sh's loopback cluster, started when needed). Each in turn creates
and starts N busybox containers through REST (``POST /v1/containers`` then ``.../start``, by
``--workers`` concurrent clients, as an orchestrator deploying a service would), answers
``GET /v1/containers`` with the N records ``--list-reps`` times, then deletes them all. Only one
side's containers exist at a time, so both see the same engine load.

    .venv/bin/python bench/db.py                      # --n 1000 --workers 4 --list-reps 20
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import docker.errors

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from _common import (  # noqa: E402
    engine_facts,
    host_facts,
    interrupt_on_sigterm,
    print_table,
    rss_mib,
    run_and_record,
    summary,
)
from support.daemon import BUSYBOX, Daemon  # noqa: E402

BACKENDS = ("sqlite", "postgres")
# One process that never wakes: a thousand of the tests' polling SLEEPER would fork
# thousands of times a second and measure the machine's load instead of popvim.
COMMAND = ["sleep", "86400"]


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run_id = uuid.uuid4().hex[:6]
        self.state_dir = Path(tempfile.mkdtemp(prefix=f"popvim-bench-db-{self.run_id}-"))
        self.daemons: dict[str, Daemon] = {}
        self.current: Daemon | None = None
        self.results: dict[str, Any] = {}

    @property
    def daemon(self) -> Daemon:
        assert self.current is not None or self.daemons
        return self.current or next(iter(self.daemons.values()))

    # --- one side ---------------------------------------------------------------------------------
    def run(self) -> None:
        for backend in BACKENDS:
            d = Daemon(self.state_dir / backend, name=f"bdb{backend[:2]}{self.run_id}", db=backend)
            self.daemons[backend] = self.current = d
            d.start(timeout=60)
            self.results[backend] = self.side(d)
            self._stop(d)
        sq, pg = self.results["sqlite"], self.results["postgres"]
        self.results["ratio_postgres_over_sqlite"] = {
            op: pg["stats"][op]["median"] / sq["stats"][op]["median"] for op in sq["stats"]
        } | {"create_start_wall": pg["create_start_wall_s"] / sq["create_start_wall_s"]}

    def side(self, d: Daemon) -> dict[str, Any]:
        n, workers = self.args.n, self.args.workers
        samples: dict[str, list[float]] = {"create": [], "start": [], "create+start": [], "list": [], "delete": []}
        memory: dict[str, float | None] = {"start": rss_mib(d.proc.pid) if d.proc else None}
        with d.client(timeout=120) as api, ThreadPoolExecutor(workers) as pool:

            def create_start(i: int) -> str:
                t0 = time.perf_counter()
                r = api.post("/v1/containers", json={"image": BUSYBOX, "name": f"db{i}", "command": COMMAND})
                t1 = time.perf_counter()
                assert r.status_code == 201, r.text
                s = api.post(f"/v1/containers/{r.json()['id']}/start")
                t2 = time.perf_counter()
                assert s.status_code == 200 and s.json()["state"] == "RUNNING", s.text
                samples["create"].append((t1 - t0) * 1000)
                samples["start"].append((t2 - t1) * 1000)
                samples["create+start"].append((t2 - t0) * 1000)
                return r.json()["id"]

            wall = time.perf_counter()
            ids = list(pool.map(create_start, range(n)))
            wall = time.perf_counter() - wall
            memory["after_create_start"] = rss_mib(d.proc.pid) if d.proc else None
            size = 0
            for _ in range(self.args.list_reps):
                t0 = time.perf_counter()
                listed = api.get("/v1/containers")
                body = listed.json()
                samples["list"].append((time.perf_counter() - t0) * 1000)
                assert listed.status_code == 200 and len(body) == n, listed.status_code
                size = len(listed.content)
            memory["after_list"] = rss_mib(d.proc.pid) if d.proc else None

            def delete(cid: str) -> None:
                t0 = time.perf_counter()
                r = api.delete(f"/v1/containers/{cid}")
                samples["delete"].append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 204, r.text

            list(pool.map(delete, ids))
        return {
            "stats": {k: summary(v) for k, v in samples.items()},
            "samples_ms": samples,
            "create_start_wall_s": wall,
            "create_start_per_s": n / wall,
            "list_response_bytes": size,
            "memory_rss_mib": memory,
            "db": d.db_url.split("@")[-1],
        }

    # --- clean-up ---------------------------------------------------------------------------------
    def _stop(self, d: Daemon) -> None:
        try:
            d.stop()
        except Exception:  # noqa: BLE001
            d.kill()

    def cleanup(self) -> None:
        for d in self.daemons.values():
            for what, step in (("stop popvimd", lambda: self._stop(d)), ("purge", d.purge)):
                try:
                    step()
                except Exception as exc:  # noqa: BLE001 - keep cleaning
                    print(f"clean-up: {what} of {d.name} failed: {exc}", file=sys.stderr)
        if self.args.keep_state:
            print(f"state kept in {self.state_dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.state_dir, ignore_errors=True)


def report(results: dict[str, Any], meta: dict[str, Any]) -> None:
    sq, pg, ratio = results["sqlite"], results["postgres"], results["ratio_postgres_over_sqlite"]
    n = meta["args"]["n"]
    rows: list[list[str] | None] = []
    for op in ("create", "start", "create+start", "list", "delete"):
        a, b = sq["stats"][op], pg["stats"][op]
        label = f"list of {n} (x{a['n']})" if op == "list" else f"{op} (n={a['n']})"
        rows.append(
            [
                label,
                f"{a['median']:.1f}",
                f"{a['p90']:.1f}",
                f"{b['median']:.1f}",
                f"{b['p90']:.1f}",
                f"{ratio[op]:.2f}x",
            ]
        )
    rows += [
        None,
        [
            f"create+start of {n}, wall s",
            f"{sq['create_start_wall_s']:.1f}",
            "",
            f"{pg['create_start_wall_s']:.1f}",
            "",
            f"{ratio['create_start_wall']:.2f}x",
        ],
    ]
    title = (
        f"popvim on SQLite vs PostgreSQL ({meta['workers']} concurrent clients, docker {meta['docker_version']}, "
        f"{meta['cpus']} CPUs; ms; ratio = PostgreSQL median / SQLite median)"
    )
    headers = ["operation", "SQLite median", "p90", "PostgreSQL median", "p90", "ratio"]
    try:
        console = print_table(title, headers, rows, width=130)
        out = console.print
    except ImportError:  # pragma: no cover - without rich
        print(title)
        for r in rows:
            print("-" * 80 if r is None else " | ".join(r))
        out = print
    out(
        f"list response: {sq['list_response_bytes']} bytes; popvimd VmRSS MiB after create+start: "
        f"SQLite {sq['memory_rss_mib']['after_create_start']:.1f}, "
        f"PostgreSQL {pg['memory_rss_mib']['after_create_start']:.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="containers created and started per database [1000]")
    parser.add_argument("--workers", type=int, default=4, help="concurrent REST clients [4]")
    parser.add_argument("--list-reps", type=int, default=20, help="timed list requests per database [20]")
    parser.add_argument("--keep-state", action="store_true", help="keep the state dirs and logs")
    parser.add_argument("--out-dir", type=Path, default=HERE / "results")
    args = parser.parse_args()
    if args.n < 2 or args.workers < 1 or args.list_reps < 1:
        parser.error("--n must be >= 2, --workers and --list-reps >= 1")
    interrupt_on_sigterm()
    probe = docker.from_env()
    try:
        probe.api.inspect_image(BUSYBOX)
    except docker.errors.ImageNotFound:
        print(f"{BUSYBOX} is missing: run images/build-all.sh first", file=sys.stderr)
        return 2
    meta = {
        **engine_facts(probe),
        **host_facts(),
        "image": BUSYBOX,
        "workers": args.workers,
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    probe.close()
    return run_and_record(Bench(args), meta, report, args.out_dir, "db")


if __name__ == "__main__":
    sys.exit(main())
