#!/usr/bin/env python
"""How light popvimd and how fast ``pop`` are, side by side with docker-py and the docker CLI.

    .venv/bin/python bench/footprint.py                         # every phase
    .venv/bin/python bench/footprint.py --phases imports,idle,cli --runs 20
    .venv/bin/python bench/footprint.py --phases lifecycles --lifecycles 2000
    .venv/bin/python bench/footprint.py --src /path/to/other/checkout/src   # the same, for another tree

Phases (each in a fresh popvimd of its own where it needs one):

* **imports**: each library popvimd or ``pop`` may load, in a fresh interpreter: the import's
  wall time (best of ``--runs``, the interpreter's own start subtracted) and VmRSS growth;
  then the same cumulatively in the order popvimd loads them, and what is resident once
  ``popvim.daemon`` / ``popvim.cli.main`` are imported.
* **idle**: popvimd's VmRSS after start (nothing asked of it), and after a few requests on
  each face; the docker-py client's own process (``import docker`` + ``from_env()``) beside it.
* **cli**: end-to-end wall time of ``pop flavours`` with POP_AUTH (first run logs in, the
  others reuse the cached token), of ``pop --help`` and of ``python -c "import popvim.cli.main"``,
  beside ``docker ps`` (the docker CLI, a Go binary) and docker-py's ``containers.list()`` in a
  fresh interpreter. ``pop`` runs with bytecode caches (in the state directory), as an installed
  one does, even where PYTHONDONTWRITEBYTECODE is set; ``pop flavours`` is also timed on a
  terminal (a pty: rich draws the table there) and, where that variable is set, without caches.
* **delete**: ``pop delete '*'`` of ``--containers`` running containers, beside ``docker rm -f``
  of as many (the docker CLI removes them in parallel too).
* **lifecycles**: create, start, stop (wait) and delete through the Pop client, ``--lifecycles``
  of them, ``--workers`` at a time; VmRSS at the start, after 500 and at the end, and the
  slope (KiB per 100 lifecycles) between 500 and the end, where caches have filled.

Timings depend on what else runs on the machine: compare runs made when it is idle.
Results: tables on stdout and JSON in bench/results/.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(HERE))

from _common import engine_facts, host_facts, print_table, rss_mib, write_results  # noqa: E402
from support.daemon import BUSYBOX, PASSWORD, SLEEPER, USER, Daemon, wait_for  # noqa: E402

# What popvimd and pop may import, in the order popvimd loads them.
LIBRARIES = (
    "typer",
    "uvicorn",
    "fastapi",
    "pydantic",
    "sqlalchemy.orm",
    "grpc",
    "grpc_reflection.v1alpha.reflection",
    "popvim.proto.vim_pop_pb2_grpc",
    "docker",
    "prometheus_client",
    "bcrypt",
    "yaml",
    "rich.console",
    "httpx",
    "cryptography.fernet",
    "cryptography.x509",
    "alembic.command",
    "toscaparser.tosca_template",
    "fastapi_offline",
)
ENTRY_POINTS = ("popvim.daemon", "popvim.cli.main")
LAZY = ("alembic", "cryptography", "toscaparser", "mako", "pygments", "httpx", "rich", "grpc", "yaml")

_PROBE = """
import sys, time
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
before, n, t0 = rss(), len(sys.modules), time.perf_counter()
for name in sys.argv[1:]:
    __import__(name)
    print(name, (time.perf_counter() - t0) * 1000, rss() - before, len(sys.modules) - n, rss(), flush=True)
    before, n, t0 = rss(), len(sys.modules), time.perf_counter()
print("LOADED", " ".join(sorted({m.split('.')[0] for m in sys.modules})))
"""


class Footprint:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run_id = uuid.uuid4().hex[:6]
        self.env = dict(os.environ)
        if args.src:
            self.env["PYTHONPATH"] = f"{args.src}{os.pathsep}{self.env.get('PYTHONPATH', '')}"
        self.state = Path(tempfile.mkdtemp(prefix=f"popvim-footprint-{self.run_id}-"))
        self.daemons: list[Daemon] = []
        self.results: dict[str, Any] = {}

    # --- helpers -------------------------------------------------------------------------------
    def python(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *argv], capture_output=True, text=True, env=env or self.env, check=False, timeout=300
        )

    def best_ms(
        self, argv: list[str], env: dict[str, str] | None = None, runs: int | None = None, tty: bool = False
    ) -> dict[str, float]:
        """Wall time of a whole process, ``runs`` times: min and median in ms, and the median CPU time
        (user + system) it used, which other load on the machine disturbs far less; fails on a non-zero exit.
        ``tty``: its stdout is a terminal (a pty), as when a person runs it."""
        samples, cpu = [], []
        for _ in range(runs or self.args.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            done = _run(argv, env or self.env, tty)
            samples.append((time.perf_counter() - t0) * 1000)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
        return {
            "min": min(samples),
            "median": statistics.median(samples),
            "cpu_median": statistics.median(cpu),
            "n": len(samples),
        }

    def daemon(self, tag: str) -> Daemon:
        d = Daemon(
            self.state / tag,
            name=f"fp{tag}{self.run_id}",
            env={"PYTHONPATH": self.env.get("PYTHONPATH")},
            config_text=f'[network]\npool = "{self.args.pool}"\n' if self.args.pool else None,
        )
        self.daemons.append(d)
        return d.start(timeout=180)

    def cleanup(self) -> None:
        for d in self.daemons:
            try:
                d.stop()
            except Exception:  # noqa: BLE001 - keep cleaning
                d.kill()
            try:
                d.purge()
            except Exception as exc:  # noqa: BLE001
                print(f"clean-up of {d.name} failed: {exc}", file=sys.stderr)
        if self.args.keep_state:
            print(f"state kept in {self.state}", file=sys.stderr)
        else:
            shutil.rmtree(self.state, ignore_errors=True)

    # --- phase: imports ------------------------------------------------------------------------
    def phase_imports(self) -> None:
        base = self.python("-c", "pass")
        if base.returncode:
            raise RuntimeError(base.stderr)
        start_ms = self.best_ms([sys.executable, "-c", "pass"])["min"]
        alone: dict[str, dict[str, float]] = {}
        for name in (*LIBRARIES, *ENTRY_POINTS):
            best_ms = None
            rss = modules = 0.0
            for _ in range(max(1, self.args.runs // 4)):
                t0 = time.perf_counter()
                done = self.python("-c", _PROBE, name)
                wall = (time.perf_counter() - t0) * 1000 - start_ms
                if done.returncode:
                    alone[name] = {"error": 1.0}
                    break
                fields = done.stdout.splitlines()[0].split()
                rss, modules = float(fields[2]), float(fields[3])
                best_ms = wall if best_ms is None else min(best_ms, wall)
            if best_ms is not None:
                alone[name] = {"ms": best_ms, "rss_mib": rss, "modules": modules}
        cumulative: dict[str, dict[str, float]] = {}
        done = self.python("-c", _PROBE, *LIBRARIES, "popvim.daemon")
        for line in done.stdout.splitlines():
            if line.startswith("LOADED"):
                continue
            name, *numbers = line.split()
            ms_, rss_, modules_, total_ = (float(x) for x in numbers)
            cumulative[name] = {
                "ms": ms_,
                "rss_mib": rss_,
                "modules": modules_,
                "total": total_,
            }
        loaded: dict[str, list[str]] = {}
        for entry in ENTRY_POINTS:
            out = self.python("-c", _PROBE, entry).stdout.splitlines()
            tops = set(out[-1].split()[1:]) if out and out[-1].startswith("LOADED") else set()
            loaded[entry] = sorted(tops & set(LAZY))
        self.results["imports"] = {"alone": alone, "cumulative": cumulative, "heavy_loaded_by": loaded}

    # --- phase: idle ---------------------------------------------------------------------------
    def phase_idle(self) -> None:
        d = self.daemon("idle")
        assert d.proc is not None
        time.sleep(self.args.settle)
        idle = rss_mib(d.proc.pid)
        from popvim.client import PopClient
        from popvim.client.session import SessionCache

        with d.client(timeout=300) as api:
            for path in ("/v1/containers", "/v1/flavours", "/v1/images", "/v1/networks", "/health"):
                api.get(path).raise_for_status()
        cache = SessionCache()
        pop = PopClient(f"127.0.0.1:{d.pop_port}", USER, PASSWORD, cache=cache, timeout=300)
        pop.containers(), pop.flavours(), pop.images()
        cache.clear()
        time.sleep(self.args.settle)
        warm = rss_mib(d.proc.pid)
        docker_py = self.python(
            "-c",
            "import docker; c = docker.from_env(); c.ping(); "
            "print([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1])",
        )
        self.results["idle"] = {
            "popvimd_idle_mib": idle,
            "popvimd_after_requests_mib": warm,
            "docker_py_client_process_mib": int(docker_py.stdout.strip() or 0) / 1024,
        }

    # --- phase: cli ----------------------------------------------------------------------------
    def phase_cli(self) -> None:
        d = self.daemon("cli")
        home = self.state / "cli-home"
        home.mkdir()
        env = {**self.env, "HOME": str(home), "POP_HOST": f"127.0.0.1:{d.pop_port}", "POP_AUTH": f"{USER}:{PASSWORD}"}
        env.pop("XDG_CONFIG_HOME", None)
        no_caches = {**env}
        # an installed pop has its modules compiled (pip does it); without caches every run compiles them
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(self.state / "pycache")
        pop = [sys.executable, "-m", "popvim.cli.main"]
        load_before = os.getloadavg()[0]
        first = self.best_ms([*pop, "flavours"], env=env, runs=1)  # logs in (and caches the token)
        cached = self.best_ms([*pop, "flavours"], env=env)
        logins_before = _logins(d)
        self.best_ms([*pop, "flavours"], env=env, runs=3)
        results: dict[str, Any] = {
            "pop_flavours_first_ms": first["min"],
            "pop_flavours_ms": cached,
            "pop_flavours_tty_ms": self.best_ms([*pop, "flavours"], env=env, tty=True),
            "logins_for_3_more_commands": _logins(d) - logins_before,
            "pop_help_ms": self.best_ms([*pop, "--help"], env=env),
            "import_cli_ms": self.best_ms([sys.executable, "-c", "import popvim.cli.main"], env=env),
            "python_start_ms": self.best_ms([sys.executable, "-c", "pass"], env=env),
        }
        if "PYTHONDONTWRITEBYTECODE" in no_caches:
            results["pop_flavours_no_bytecode_caches_ms"] = self.best_ms([*pop, "flavours"], env=no_caches)
        if shutil.which("docker"):
            results["docker_ps_ms"] = self.best_ms(["docker", "ps"])
        results["docker_py_list_ms"] = self.best_ms(
            [sys.executable, "-c", "import docker; docker.from_env().containers.list()"]
        )
        if shutil.which("hyperfine"):
            results["hyperfine"] = "installed: hyperfine -w 2 'pop flavours' 'docker ps' gives the same comparison"
        results["load_average"] = [load_before, os.getloadavg()[0]]
        self.results["cli"] = results

    # --- phase: delete -------------------------------------------------------------------------
    def phase_delete(self) -> None:
        import docker

        n = self.args.containers
        d = self.daemon("delete")
        home = self.state / "delete-home"
        home.mkdir()
        env = {**self.env, "HOME": str(home), "POP_HOST": f"127.0.0.1:{d.pop_port}", "POP_AUTH": f"{USER}:{PASSWORD}"}
        with d.client(timeout=120) as api:

            def run(i: int) -> None:
                body = {"image": BUSYBOX, "name": f"fpdel-{i}", "command": SLEEPER}
                r = api.post("/v1/containers/run", json=body)
                assert r.status_code == 201, r.text

            with ThreadPoolExecutor(4) as pool:
                list(pool.map(run, range(n)))
        # one listing first: it logs in and caches the token (as any earlier command would have), and
        # its time is the CLI's own start and one round trip, the part of the delete's time not deleting
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "popvim.cli.main", "servers"], env=env, capture_output=True, check=True)
        first_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "popvim.cli.main", "servers"], env=env, capture_output=True, check=True)
        listing_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "popvim.cli.main", "delete", "*"], env=env, capture_output=True, text=True
        )
        pop_s = time.perf_counter() - t0
        if done.returncode:
            raise RuntimeError(done.stderr)
        engine = docker.from_env()
        label = {"io.popvim.bench": self.run_id}
        ids = []
        try:
            with ThreadPoolExecutor(4) as pool:
                ids = list(
                    pool.map(
                        lambda i: (
                            engine.containers.run(
                                BUSYBOX, SLEEPER, name=f"fpdel-{self.run_id}-{i}", labels=label, detach=True
                            ).id
                        ),
                        range(n),
                    )
                )
            t0 = time.perf_counter()
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=True)
            docker_s = time.perf_counter() - t0
        finally:
            for c in engine.containers.list(all=True, filters={"label": f"io.popvim.bench={self.run_id}"}):
                c.remove(force=True)
            engine.close()
        self.results["delete"] = {
            "containers": n,
            "pop_delete_all_s": pop_s,
            "pop_list_first_s": first_s,
            "pop_list_s": listing_s,
            "docker_rm_f_s": docker_s,
            "load_average": os.getloadavg()[0],
        }

    # --- phase: lifecycles ---------------------------------------------------------------------
    def phase_lifecycles(self) -> None:
        from popvim.client import PopClient
        from popvim.client.session import SessionCache

        total, workers = self.args.lifecycles, self.args.workers
        d = self.daemon("life")
        assert d.proc is not None
        cache = SessionCache()
        client = PopClient(f"127.0.0.1:{d.pop_port}", USER, PASSWORD, cache=cache, timeout=300)
        client.info()
        samples: list[tuple[int, float]] = [(0, rss_mib(d.proc.pid) or 0.0)]
        marks = sorted({min(500, total), total} | set(range(250, total, 250)))
        t0 = time.perf_counter()

        def lifecycle(i: int) -> None:
            name = f"fplife-{i}"
            created = client.create(name, BUSYBOX, command=SLEEPER)
            ref = f"id:{created.id}"
            client.start(ref)
            client.stop(ref)
            wait_for(lambda: client.container(ref).terminated, timeout=300, interval=0.1, what=f"{name} to stop")
            client.delete(ref)

        done = 0
        try:
            with ThreadPoolExecutor(workers) as pool:
                for mark in marks:
                    list(pool.map(lifecycle, range(done, mark)))
                    done = mark
                    samples.append((done, rss_mib(d.proc.pid) or 0.0))
                    print(f"  {done} lifecycles, popvimd {samples[-1][1]:.1f} MiB", file=sys.stderr)
        finally:
            cache.clear()
        at = dict(samples)
        first_mark = min(500, total)
        slope = (at[total] - at[first_mark]) * 1024 / max(1, (total - first_mark) / 100)
        self.results["lifecycles"] = {
            "lifecycles": total,
            "workers": workers,
            "seconds": time.perf_counter() - t0,
            "rss_mib": {str(k): v for k, v in samples},
            "slope_kib_per_100_after_500": slope if total > first_mark else None,
        }

    # --- running and reporting -----------------------------------------------------------------
    def run(self) -> None:
        phases: dict[str, Callable[[], None]] = {
            "imports": self.phase_imports,
            "idle": self.phase_idle,
            "cli": self.phase_cli,
            "delete": self.phase_delete,
            "lifecycles": self.phase_lifecycles,
        }
        for name in self.args.phases.split(","):
            print(f"phase {name}...", file=sys.stderr)
            phases[name.strip()]()


def _run(argv: list[str], env: dict[str, str], tty: bool) -> subprocess.CompletedProcess[str]:
    if not tty:
        return subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=120)
    main, child = os.openpty()  # what the command prints is small: the pty's buffer holds it all
    try:
        return subprocess.run(argv, stdout=child, stderr=subprocess.PIPE, text=True, env=env, check=False, timeout=120)
    finally:
        os.close(child)
        os.close(main)


def _logins(d: Daemon) -> float:
    """Successful Pop-protocol logins so far, from the daemon's /metrics."""
    with d.client(timeout=300) as api:
        text = api.get("/metrics").text
    for line in text.splitlines():
        if (
            line.startswith("popvim_grpc_requests_total{")
            and 'method="vim_pop.Pop/Login"' in line
            and 'code="OK"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def report(results: dict[str, Any], meta: dict[str, Any]) -> None:
    if "imports" in results:
        rows: list[list[str] | None] = []
        cumulative = results["imports"]["cumulative"]
        for name, alone in results["imports"]["alone"].items():
            if "error" in alone:
                rows.append([name, "-", "-", "-", "-", "not installed"])
                continue
            c = cumulative.get(name, {})
            rows.append(
                [
                    name,
                    f"{alone['ms']:.0f}",
                    f"{alone['rss_mib']:.1f}",
                    f"{int(alone['modules'])}",
                    f"{c['rss_mib']:.1f}" if c else "",
                    f"{c['total']:.1f}" if c else "",
                ]
            )
        print_table(
            "what each library costs (alone: in a fresh interpreter; +daemon order: over those above it)",
            ["library", "ms alone", "MiB alone", "modules", "MiB +daemon order", "MiB total"],
            rows,
            110,
        )
        for entry, heavy in results["imports"]["heavy_loaded_by"].items():
            print(f"import {entry} loads: {', '.join(heavy) or 'none'} of {', '.join(LAZY)}")
    if "idle" in results:
        i = results["idle"]
        print(
            f"popvimd RSS: idle {i['popvimd_idle_mib']:.1f} MiB, after requests {i['popvimd_after_requests_mib']:.1f}"
            f" MiB (a docker-py client process: {i['docker_py_client_process_mib']:.1f} MiB)"
        )
    if "cli" in results:
        c = results["cli"]
        rows = [
            [what, f"{m['median']:.0f}", f"{m['min']:.0f}", f"{m['cpu_median']:.0f}"]
            for what, m in (
                ("pop flavours (cached token)", c["pop_flavours_ms"]),
                ("pop flavours on a terminal", c.get("pop_flavours_tty_ms")),
                ("pop flavours, no bytecode caches", c.get("pop_flavours_no_bytecode_caches_ms")),
                ("pop --help", c["pop_help_ms"]),
                ("import popvim.cli.main", c["import_cli_ms"]),
                ("python -c pass", c["python_start_ms"]),
                ("docker ps (docker CLI)", c.get("docker_ps_ms")),
                ("docker-py containers.list(), fresh process", c["docker_py_list_ms"]),
            )
            if m
        ]
        print_table("one command, end to end (ms)", ["command", "median", "min", "CPU median"], rows, 100)
        print(
            f"pop flavours logging in (first run): {c['pop_flavours_first_ms']:.0f} ms; "
            f"logins made by 3 more commands: {c['logins_for_3_more_commands']:.0f}; "
            f"load average {c['load_average'][0]:.1f} before, {c['load_average'][1]:.1f} after (2 cores)"
        )
    if "delete" in results:
        x = results["delete"]
        print(
            f"delete {x['containers']} running: pop delete '*' {x['pop_delete_all_s']:.2f} s, "
            f"docker rm -f {x['docker_rm_f_s']:.2f} s; a listing (pop servers) {x['pop_list_s']:.2f} s, "
            f"logging in {x['pop_list_first_s']:.2f} s (load {x['load_average']:.1f})"
        )
    if "lifecycles" in results:
        life = results["lifecycles"]
        marks = ", ".join(f"{k}: {v:.1f}" for k, v in life["rss_mib"].items())
        slope = life["slope_kib_per_100_after_500"]
        shown = "-" if slope is None else f"{slope:.0f} KiB per 100"
        print(
            f"{life['lifecycles']} lifecycles ({life['workers']} at a time) in {life['seconds']:.0f} s; "
            f"RSS MiB {marks}; slope after 500: {shown}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phases", default="imports,idle,cli,delete,lifecycles")
    parser.add_argument("--runs", type=int, default=10, help="repetitions of each timed process")
    parser.add_argument("--containers", type=int, default=50, help="running containers for the delete phase")
    parser.add_argument("--lifecycles", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8, help="lifecycles at a time")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before an RSS reading")
    parser.add_argument("--src", default="", help="another checkout's src/ to measure instead of this one")
    parser.add_argument(
        "--pool", default="10.232.0.0/13", help="popvimd's [network].pool (its default network's /16 comes from it)"
    )
    parser.add_argument("--keep-state", action="store_true")
    parser.add_argument("--out-dir", type=Path, default=HERE / "results")
    args = parser.parse_args()
    import docker

    probe = docker.from_env()
    meta = {**engine_facts(probe), **host_facts(), "args": {k: str(v) for k, v in vars(args).items()}}
    probe.close()
    bench = Footprint(args)
    started = time.perf_counter()
    try:
        bench.run()
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
        return 130
    finally:
        bench.cleanup()
    meta["runtime_s"] = round(time.perf_counter() - started, 1)
    meta["load_average"] = os.getloadavg()
    report(bench.results, meta)
    write_results(args.out_dir, "footprint", meta, bench.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
