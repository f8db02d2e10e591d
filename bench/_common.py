"""What the benchmarks in bench/ share: statistics, popvimd's memory, the host's facts, the table and the run,
and the daemon + docker-side network set-up and clean-up of a benchmark that races popvim against docker-py.

A script imports it with ``sys.path.insert(0, str(HERE))``, after doing the same for ``tests/``
(``support.daemon``, which this module imports too).
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import docker
import docker.errors
from support.daemon import Daemon

if TYPE_CHECKING:
    from rich.console import Console

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BENCH_LABEL = "io.popvim.bench"


# --- statistics ---------------------------------------------------------------------------------
def summary(samples_ms: list[float]) -> dict[str, float]:
    s = sorted(samples_ms)
    p90 = statistics.quantiles(s, n=10, method="inclusive")[8] if len(s) > 1 else s[0]
    return {
        "n": len(s),
        "median": statistics.median(s),
        "p90": p90,
        "mean": statistics.fmean(s),
        "min": s[0],
        "max": s[-1],
    }


def compare(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """a (popvim) relative to b (the baseline), on medians."""
    return {
        "ratio": a["median"] / b["median"],
        "overhead_ms": a["median"] - b["median"],
        "overhead_pct": (a["median"] - b["median"]) / b["median"] * 100,
    }


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
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "docker_version": probe.version().get("Version"),
    }


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


def run_and_record(
    bench: Benchmark,
    meta: dict[str, Any],
    report: Callable[[dict[str, Any], dict[str, Any]], None],
    out_dir: Path,
    name: str,
) -> int:
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


# --- a popvimd next to a docker-side bridge network ------------------------------------------------
def free_subnet(client: docker.DockerClient, prefix: int) -> ipaddress.IPv4Network:
    """The first /``prefix`` in 10.128.0.0/9 that no engine network overlaps."""
    used = []
    for net in client.api.networks():
        for cfg in (net.get("IPAM") or {}).get("Config") or []:
            try:
                n = ipaddress.ip_network(cfg.get("Subnet", ""), strict=False)
            except ValueError:
                continue
            if n.version == 4:
                used.append(n)
    for candidate in ipaddress.IPv4Network("10.128.0.0/9").subnets(new_prefix=prefix):
        if not any(candidate.overlaps(u) for u in used):
            return candidate
    raise RuntimeError(f"no free /{prefix} for the docker-side bench network")


class DockerSideBench:
    """A popvimd in a temporary state dir, plus a docker-side bridge network (and containers) labelled
    ``BENCH_LABEL=<run id>``; ``cleanup()`` removes all of it. A subclass names its objects with the
    class attributes below and adds ``run()``."""

    state_tag = "bench"  # the state dir: popvim-<state_tag>-<run id>-*
    daemon_tag = "bench"  # the daemon's name: <daemon_tag><run id>
    net_tag = "pvbench"  # the docker-side network: <net_tag>-<run id>-net
    subnet_prefix = 24  # its size

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args  # reads args.keep_state
        self.run_id = uuid.uuid4().hex[:6]
        self.state_dir = Path(tempfile.mkdtemp(prefix=f"popvim-{self.state_tag}-{self.run_id}-"))
        self.daemon = Daemon(self.state_dir / "popvimd", name=f"{self.daemon_tag}{self.run_id}")
        self.docker = docker.from_env(version="auto", timeout=120)
        self.dapi = self.docker.api
        self.labels = {BENCH_LABEL: self.run_id}
        self.net_name = f"{self.net_tag}-{self.run_id}-net"
        self.net_id: str | None = None
        self.hosts: list[str] = []
        self.results: dict[str, Any] = {}

    # --- set-up ----------------------------------------------------------------------------------
    def setup(self) -> None:
        self.daemon.start()
        self.create_network()

    def create_network(self) -> ipaddress.IPv4Network:
        """The labelled docker-side bridge on a free subnet; ``hosts`` gets its addresses but the gateway."""
        subnet = free_subnet(self.docker, self.subnet_prefix)
        pool = docker.types.IPAMPool(subnet=str(subnet), gateway=str(subnet.network_address + 1))
        self.net_id = self.dapi.create_network(
            self.net_name,
            driver="bridge",
            ipam=docker.types.IPAMConfig(pool_configs=[pool]),
            labels=self.labels,
            check_duplicate=True,
        )["Id"]
        self.hosts = [str(h) for h in subnet.hosts()][1:]  # the first is the gateway
        return subnet

    # --- clean-up --------------------------------------------------------------------------------
    def cleanup(self) -> None:
        """Best effort, each step on its own: leave nothing behind."""
        steps: list[tuple[str, Callable[[], None]]] = [
            ("stop popvimd", self._stop_daemon),
            ("purge popvim's engine objects", self.daemon.purge),
            ("remove docker-side containers", self._remove_docker_side),
            ("remove docker-side network", self._remove_network),
        ]
        for what, step in steps:
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - keep cleaning
                print(f"clean-up: {what} failed: {exc}", file=sys.stderr)
        self.docker.close()
        if self.args.keep_state:
            print(f"state kept in {self.state_dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def _stop_daemon(self) -> None:
        try:
            self.daemon.stop()
        except Exception:  # noqa: BLE001
            self.daemon.kill()

    def _docker_side_ids(self) -> list[str]:
        return [c["Id"] for c in self.dapi.containers(all=True, filters={"label": f"{BENCH_LABEL}={self.run_id}"})]

    def _remove_docker_side(self) -> None:
        for cid in self._docker_side_ids():
            self._rm(cid)

    def _rm(self, cid: str) -> None:
        try:
            self.dapi.remove_container(cid, force=True, v=True)
        except docker.errors.NotFound:
            pass

    def _remove_network(self) -> None:
        if self.net_id:
            try:
                self.dapi.remove_network(self.net_id)
            except docker.errors.NotFound:
                pass


def run_docker_side(
    args: argparse.Namespace,
    bench: Callable[[argparse.Namespace], DockerSideBench],
    report: Callable[[dict[str, Any], dict[str, Any]], None],
    name: str,
    image: str,
) -> int:
    """A ``DockerSideBench`` script's ``main()`` after parsing: 2 if ``image`` is missing, else ``run_and_record``
    with meta = the engine's and host's facts, ``image`` and ``args`` (SIGTERM interrupts it as Ctrl-C does)."""
    interrupt_on_sigterm()
    probe = docker.from_env()
    try:
        probe.api.inspect_image(image)
    except docker.errors.ImageNotFound:
        print(f"{image} is missing: run images/build-all.sh first", file=sys.stderr)
        return 2
    meta = {
        **engine_facts(probe),
        **host_facts(),
        "image": image,
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    probe.close()

    return run_and_record(bench(args), meta, report, args.out_dir, name)
