"""What the benchmarks in bench/ share: statistics, popvimd's memory, the host's facts, the table and the run.

A script imports it with ``sys.path.insert(0, str(HERE))``, as it does ``tests/``
for ``support.daemon``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import docker
    from rich.console import Console

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


# --- statistics ---------------------------------------------------------------------------------
def summary(samples_ms: list[float]) -> dict[str, float]:
    s = sorted(samples_ms)
    p90 = statistics.quantiles(s, n=10, method="inclusive")[8] if len(s) > 1 else s[0]
    return {"n": len(s), "median": statistics.median(s), "p90": p90, "mean": statistics.fmean(s),
            "min": s[0], "max": s[-1]}


def compare(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """a (popvim) relative to b (the baseline), on medians."""
    return {"ratio": a["median"] / b["median"], "overhead_ms": a["median"] - b["median"],
            "overhead_pct": (a["median"] - b["median"]) / b["median"] * 100}


# --- the machine ---------------------------------------------------------------------------------
def rss_mib(pid: int) -> float | None:
    """VmRSS of ``pid`` in MiB, from /proc; None once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def engine_facts(probe: docker.DockerClient) -> dict[str, Any]:
    """The first entries of a result's ``meta``: when, and which engine."""
    return {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "docker_version": probe.version().get("Version")}


def host_facts() -> dict[str, Any]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "kernel": platform.release()}


# --- running and reporting ------------------------------------------------------------------------
def interrupt_on_sigterm() -> None:
    """SIGTERM becomes a KeyboardInterrupt, so a killed run cleans up as on Ctrl-C."""

    def on_term(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)


def print_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[str] | None], width: int) -> Console:
    """A rich table (first column left-aligned, a None row starts a section) on a console ``width`` wide;
    returns the console for the lines that follow. ImportError, before printing anything, without rich."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i == 0 else "right")
    for r in rows:
        if r is None:
            table.add_section()
        else:
            table.add_row(*r)
    console = Console(width=width)
    console.print(table)
    return console


class Benchmark(Protocol):
    run_id: str
    results: dict[str, Any]

    @property
    def daemon(self) -> Any: ...  # support.daemon.Daemon: its log() is shown on failure

    def run(self) -> None: ...

    def cleanup(self) -> None: ...


def run_and_record(bench: Benchmark, meta: dict[str, Any], report: Callable[[dict[str, Any], dict[str, Any]], None],
                   out_dir: Path, name: str) -> int:
    """Run ``bench`` (cleaning up whatever happens), then report it and write its JSON; the exit code."""
    started = time.perf_counter()
    try:
        bench.run()
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
        return 130
    except Exception:
        print(f"benchmark failed; popvimd log tail:\n{bench.daemon.log()[-3000:]}", file=sys.stderr)
        raise
    finally:
        bench.cleanup()
    meta["runtime_s"] = round(time.perf_counter() - started, 1)
    meta["run_id"] = bench.run_id

    report(bench.results, meta)
    write_results(out_dir, name, meta, bench.results)
    return 0


def write_results(out_dir: Path, name: str, meta: dict[str, Any], results: dict[str, Any]) -> Path:
    """``{"meta", "results"}`` as ``<out_dir>/<name>-<local time>.json``, and a line saying where."""
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    print(f"wrote {out.relative_to(REPO) if out.is_relative_to(REPO) else out} (runtime {meta['runtime_s']}s)")
    return out
