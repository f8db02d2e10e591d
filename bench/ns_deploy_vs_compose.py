#!/usr/bin/env python
"""Seed 001's SIPp service (1 server + 5 clients): popvim's NS instantiate vs ``docker compose up -d``.

    .venv/bin/python bench/ns_deploy_vs_compose.py --rounds 5

One run, R rounds, each side deployed and torn down once per round, the order
rotating per round so engine drift hits both alike (a side is fully torn down
before the other deploys: the two never run at once):

(a) *popvim*: a real popvimd on loopback with Appendix C's NSD onboarded once,
    the client's ``vdu[0].vnfc`` list holding 5 entries (openbaton.py: initial
    instances = ``len(vnfc)``), so one INSTANTIATE makes all 6 VNFCs. Timed
    from ``POST .../instantiate`` until the op is COMPLETED and every VNFC of
    the record is RUNNING. Then ``POST .../terminate`` until COMPLETED is
    timed as "teardown"; creating and deleting the instance record is not.
(b) *compose*: ``docker-compose up -d --scale client=5`` of the equivalent
    compose file in a temp dir (bridge network ``private`` with a subnet, the
    server at a fixed IPv4, the clients with ``depends_on: server``,
    ``SERVER_PRIVATE``/``SERVER_PRIVATE_ALL`` and the NSD's ``SIPP_*`` values).
    Timed from launching the CLI until the engine shows all 6 containers
    running (docker SDK polled every ``--poll`` s, with a deadline). Then
    ``docker-compose down`` is timed as "teardown".

For both sides a thread polls the engine (docker SDK, same period) for the
moment all 6 containers run, so "engine: 6 running" is measured the same way
on both; for popvim the difference to the API's answer is its reporting lag.

Correctness, once per run (in the first round, after its deploy timing):
every client's log shows completed calls to the server's address, the
server's log shows completed calls, and a client's environment carries the
NSD's values; so neither side is fast because it is broken.

Everything made (the instance, popvimd and its engine objects, the compose
project's containers and network, the temp dirs) is removed in a ``finally``,
also on Ctrl-C or SIGTERM. Results: a table on stdout and JSON in bench/results/.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import ipaddress
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
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
    compare,
    engine_facts,
    host_facts,
    interrupt_on_sigterm,
    print_table,
    run_and_record,
    summary,
)
from support.daemon import Daemon, free_subnet, wait_for  # noqa: E402

NSD_PATH = REPO / "tests" / "unit" / "fixtures" / "nsd" / "sipp-openbaton.json"
SERVER_IMAGE = "mcilloni/sipp-server:latest"
CLIENT_IMAGE = "mcilloni/sipp-client:latest"
CLIENTS = 5
BENCH_LABEL = "io.popvim.bench"
SIDES = ("popvim", "compose")


# --- helpers --------------------------------------------------------------------------------------
def ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def sipp_nsd(clients: int) -> dict[str, Any]:
    """Appendix C's NSD with the client's vnfc list holding ``clients`` entries."""
    nsd = json.loads(NSD_PATH.read_text())
    client = next(v for v in nsd["vnfd"] if v["name"] == "sipp-client")
    vdu = client["vdu"][0]
    vdu["vnfc"] = [copy.deepcopy(vdu["vnfc"][0]) for _ in range(clients)]
    assert vdu["scale_in_out"] >= clients, "scale_in_out (the maximum) must allow the initial instances"
    return nsd


def sipp_settings(nsd: dict[str, Any]) -> dict[str, str]:
    client = next(v for v in nsd["vnfd"] if v["name"] == "sipp-client")
    return {p["confKey"]: p["value"] for p in client["configurations"]["configurationParameters"]}


def completed_calls_to(logs: str, server: str) -> int:
    return len(re.findall(rf"to {re.escape(server)}:5060 completed", logs))


def completed_calls_at_server(logs: str) -> int:
    return len(re.findall(r"^.*call .* from [0-9.]+:\d+ completed", logs, re.M))


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def calls_report(who: str, logs: Callable[[Any], str], server: Any, clients: list[Any], address: str) -> dict[str, Any]:
    """Waits until every client completed calls to ``address`` and the server logged some; what each counted."""
    calls = wait_for(
        lambda: (n := [completed_calls_to(logs(c), address) for c in clients]) and min(n) >= 1 and n,
        60,
        0.2,
        f"every {who} client to complete calls to the server",
    )
    at_server = wait_for(
        lambda: completed_calls_at_server(logs(server)), 30, 0.2, f"the {who} server to log completed calls"
    )
    return {
        "server": address,
        "client_completed_calls": calls,
        "server_completed_calls": at_server,
        "client_env_ok": True,
    }


class EngineWatch:
    """Polls the engine from t0 until ``expected`` containers matching ``label`` are running;
    ``ready_ms`` is when that was first seen (ms after t0), same method for both sides."""

    def __init__(
        self, engine: docker.APIClient, label: str, expected: int, t0: float, interval: float, timeout: float
    ) -> None:
        self.engine, self.label, self.expected, self.t0 = engine, label, expected, t0
        self.interval, self.timeout = interval, timeout
        self.ready_ms: float | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="engine-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + self.timeout
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                running = self.engine.containers(filters={"label": self.label, "status": "running"})
                if len(running) >= self.expected:
                    self.ready_ms = ms_since(self.t0)
                    return
                self._stop.wait(self.interval)
        except BaseException as exc:  # noqa: BLE001 - reported by result()
            self.error = exc

    def result(self, timeout: float) -> float:
        self._thread.join(timeout)
        self._stop.set()
        if self.error is not None:
            raise RuntimeError(f"engine watch failed: {self.error}")
        if self.ready_ms is None:
            raise RuntimeError(f"{self.expected} containers labelled {self.label} never all ran")
        return self.ready_ms

    def cancel(self) -> None:
        self._stop.set()
        self._thread.join(5)


def find_compose() -> list[str]:
    """``docker compose`` (v2 plugin) if the CLI has it, else ``docker-compose`` (v1, Debian package)."""
    for cmd in (["docker", "compose"], ["docker-compose"]):
        try:
            out = subprocess.run([*cmd, "version"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0:
            return cmd
    raise SystemExit("neither `docker compose` nor `docker-compose` works: apt-get install -y docker-compose")


# --- the benchmark --------------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace, compose_cmd: list[str]) -> None:
        self.args = args
        self.compose_cmd = compose_cmd
        self.run_id = uuid.uuid4().hex[:6]
        self.state_dir = Path(tempfile.mkdtemp(prefix=f"popvim-bench-{self.run_id}-"))
        self.daemon = Daemon(self.state_dir / "popvimd", name=f"bench{self.run_id}")
        self.docker = docker.from_env(version="auto", timeout=120)
        self.dapi = self.docker.api
        self.nsd = sipp_nsd(CLIENTS)
        self.settings = sipp_settings(self.nsd)
        self.api: httpx.Client | None = None
        self.nsd_id: str | None = None
        self.live_instance: str | None = None  # id of a popvim instance not yet deleted
        self.projects: list[str] = []  # compose projects that may exist
        self.samples: dict[str, list[float]] = {
            k: []
            for k in (
                "popvim_deploy",
                "popvim_deploy_server",
                "popvim_engine_ready",
                "popvim_teardown",
                "popvim_teardown_server",
                "compose_deploy",
                "compose_cli_return",
                "compose_teardown",
                "compose_cli_bare",
            )
        }
        self.rounds: list[dict[str, Any]] = []
        self.checks: dict[str, Any] = {}
        self.results: dict[str, Any] = {}

    # --- set-up and clean-up ----------------------------------------------------------------------
    def setup(self) -> None:
        for image in (SERVER_IMAGE, CLIENT_IMAGE):
            self.dapi.inspect_image(image)  # ImageNotFound: run images/build-all.sh (never pulled)
        self.daemon.start()
        self.api = self.daemon.client(timeout=120)
        r = self.api.post(
            "/nsd/v1/ns_descriptors", content=json.dumps(self.nsd), headers={"Content-Type": "application/json"}
        )
        if r.status_code != 201:
            raise RuntimeError(f"onboarding failed: {r.status_code} {r.text}")
        self.nsd_id = r.json()["id"]

    def cleanup(self) -> None:
        """Best effort, each step on its own: leave nothing behind."""
        steps: list[tuple[str, Callable[[], None]]] = [
            ("terminate + delete the popvim instance", self._drop_instance),
            ("close the REST client", lambda: self.api.close() if self.api else None),
            ("stop popvimd", self._stop_daemon),
            ("purge popvim's engine objects", self.daemon.purge),
            ("compose down", self._compose_down_all),
            ("remove compose leftovers", self._remove_compose_leftovers),
        ]
        for what, step in steps:
            try:
                step()
            except BaseException as exc:  # noqa: BLE001 - keep cleaning, even on a second Ctrl-C
                print(f"clean-up: {what} failed: {exc!r}", file=sys.stderr)
        self.docker.close()
        if self.args.keep_state:
            print(f"state kept in {self.state_dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def _drop_instance(self) -> None:
        if not self.live_instance or self.api is None or self.daemon.proc is None:
            return
        url = f"/nslcm/v1/ns_instances/{self.live_instance}"
        # an operation may still run (interrupted mid-instantiate): wait for it, then terminate
        wait_for(
            lambda: not any(o["operationState"] == "PROCESSING" for o in self._ops(self.live_instance)),
            120,
            0.2,
            "the running operation to end",
        )
        if self.api.get(url).json().get("nsState") != "NOT_INSTANTIATED":
            self._wait_op(self.api.post(f"{url}/terminate").headers["Location"], 120)
        self.api.delete(url)
        self.live_instance = None

    def _ops(self, ns_id: str) -> list[dict[str, Any]]:
        assert self.api is not None
        r = self.api.get("/nslcm/v1/ns_lcm_op_occs")
        return [o for o in r.json() if o["nsInstanceId"] == ns_id] if r.status_code == 200 else []

    def _stop_daemon(self) -> None:
        try:
            self.daemon.stop()
        except Exception:  # noqa: BLE001
            self.daemon.kill()

    def _compose_down_all(self) -> None:
        for project in list(self.projects):
            self._compose(project, "down", "-v", "--remove-orphans", "-t", "2", check=False)
            self.projects.remove(project)

    def _remove_compose_leftovers(self) -> None:
        flt = {"label": f"{BENCH_LABEL}={self.run_id}"}
        for c in self.dapi.containers(all=True, filters=flt):
            self.dapi.remove_container(c["Id"], force=True, v=True)
        for n in self.dapi.networks(filters=flt):
            self.dapi.remove_network(n["Id"])

    # --- popvim side ------------------------------------------------------------------------------
    def _wait_op(self, location: str, timeout: float) -> dict[str, Any]:
        assert self.api is not None

        def done() -> dict[str, Any] | None:
            op = self.api.get(location).json()  # type: ignore[union-attr]
            return op if op["operationState"] != "PROCESSING" else None

        return wait_for(done, timeout, self.args.poll, f"operation {location}")

    def popvim_round(self, index: int, check: bool) -> dict[str, float]:
        api = self.api
        assert api is not None
        inst = api.post("/nslcm/v1/ns_instances", json={"nsdId": self.nsd_id, "nsName": f"sipp-{index}"})
        if inst.status_code != 201:
            raise RuntimeError(f"instance create failed: {inst.text}")
        ns_id = inst.json()["id"]
        self.live_instance = ns_id
        url = f"/nslcm/v1/ns_instances/{ns_id}"
        label = f"io.popvim.pop={self.daemon.name}"
        poll = self.args.poll

        t0 = time.perf_counter()
        watch = EngineWatch(self.dapi, label, 1 + CLIENTS, t0, poll, self.args.deadline)
        started = api.post(f"{url}/instantiate")
        if started.status_code != 202:
            watch.cancel()
            raise RuntimeError(f"instantiate refused: {started.status_code} {started.text}")
        op = self._wait_op(started.headers["Location"], self.args.deadline)
        if op["operationState"] != "COMPLETED":
            watch.cancel()
            raise RuntimeError(f"instantiate {op['operationState']}: {op.get('error')}")

        def all_running() -> dict[str, Any] | None:
            record = api.get(url).json()
            vnfcs = [c for v in record["vnfInstances"] for c in v["vnfcs"]]
            return record if len(vnfcs) == 1 + CLIENTS and all(c["state"] == "RUNNING" for c in vnfcs) else None

        record = wait_for(all_running, self.args.deadline, poll, "every VNFC to be RUNNING")
        deploy_ms = ms_since(t0)
        engine_ms = watch.result(self.args.deadline)
        server_ms = (parse_time(op["stateEnteredTime"]) - parse_time(op["startTime"])).total_seconds() * 1000

        if check:
            self.checks["popvim"] = self._check_popvim(record)

        t1 = time.perf_counter()
        end = api.post(f"{url}/terminate")
        op = self._wait_op(end.headers["Location"], self.args.deadline)
        teardown_ms = ms_since(t1)
        if op["operationState"] != "COMPLETED":
            raise RuntimeError(f"terminate {op['operationState']}: {op.get('error')}")
        teardown_server_ms = (parse_time(op["stateEnteredTime"]) - parse_time(op["startTime"])).total_seconds() * 1000
        left = self.dapi.containers(all=True, filters={"label": label})
        if left:
            raise RuntimeError(f"terminate left {len(left)} containers behind")
        if api.delete(url).status_code != 204:
            raise RuntimeError("instance delete failed")
        self.live_instance = None
        return {
            "deploy": deploy_ms,
            "deploy_server": server_ms,
            "engine_ready": engine_ms,
            "teardown": teardown_ms,
            "teardown_server": teardown_server_ms,
        }

    def _check_popvim(self, record: dict[str, Any]) -> dict[str, Any]:
        api = self.api
        assert api is not None
        server = next(v for v in record["vnfInstances"] if v["vnfName"] == "sipp-server")["vnfcs"][0]
        clients = next(v for v in record["vnfInstances"] if v["vnfName"] == "sipp-client")["vnfcs"]
        address = server["addresses"]["private"]
        out = api.post(f"/v1/containers/{clients[0]['popContainerId']}/exec", json={"command": ["env"]})
        env = dict(line.split("=", 1) for line in out.json()["stdout"].splitlines() if "=" in line)
        expected = {**self.settings, "SERVER_PRIVATE": address}
        wrong = {k: env.get(k) for k, v in expected.items() if env.get(k) != v}
        if wrong:
            raise RuntimeError(f"popvim client env differs from the NSD: {wrong}")

        def logs(c: dict[str, Any]) -> str:
            return api.get(f"/v1/containers/{c['popContainerId']}/logs").json()["logs"]

        return calls_report("popvim", logs, server, clients, address)

    # --- compose side -----------------------------------------------------------------------------
    def _compose(self, project: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [*self.compose_cmd, "-p", project, "-f", str(self.state_dir / project / "docker-compose.yml"), *args]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=self.args.deadline)
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {out.returncode}:\n{out.stderr[-3000:]}")
        return out

    def compose_file(self, project: str) -> tuple[Path, str]:
        subnet = ipaddress.IPv4Network(free_subnet(self.docker))
        hosts = subnet.hosts()
        gateway, server_ip = str(next(hosts)), str(next(hosts))
        labels = {BENCH_LABEL: self.run_id}
        env = {"SERVER_PRIVATE": server_ip, "SERVER_PRIVATE_ALL": server_ip, **self.settings}
        spec = {  # JSON is YAML: no YAML writer needed
            "version": "2.4",
            "services": {
                "server": {
                    "image": SERVER_IMAGE,
                    "labels": labels,
                    "networks": {"private": {"ipv4_address": server_ip}},
                },
                "client": {
                    "image": CLIENT_IMAGE,
                    "labels": labels,
                    "depends_on": ["server"],
                    "environment": env,
                    "networks": ["private"],
                },
            },
            "networks": {
                "private": {
                    "driver": "bridge",
                    "labels": labels,
                    "ipam": {"config": [{"subnet": str(subnet), "gateway": gateway}]},
                }
            },
        }
        folder = self.state_dir / project
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "docker-compose.yml"
        path.write_text(json.dumps(spec, indent=2))
        return path, server_ip

    def compose_round(self, index: int, check: bool) -> dict[str, float]:
        project = f"pvb{self.run_id}c{index}"
        _path, server_ip = self.compose_file(project)
        label = f"com.docker.compose.project={project}"
        self.projects.append(project)

        t0 = time.perf_counter()
        watch = EngineWatch(self.dapi, label, 1 + CLIENTS, t0, self.args.poll, self.args.deadline)
        try:
            self._compose(project, "up", "-d", "--scale", f"client={CLIENTS}")
        except BaseException:
            watch.cancel()
            raise
        cli_ms = ms_since(t0)
        deploy_ms = watch.result(self.args.deadline)

        if check:
            self.checks["compose"] = self._check_compose(label, server_ip)

        t1 = time.perf_counter()
        self._compose(project, "down", "-v", "--remove-orphans")
        teardown_ms = ms_since(t1)
        left = self.dapi.containers(all=True, filters={"label": label})
        if left or self.dapi.networks(filters={"label": f"{BENCH_LABEL}={self.run_id}"}):
            raise RuntimeError("compose down left containers or the network behind")
        self.projects.remove(project)
        # the CLI's own start-up (Python imports for v1), untimed for the deploy, shown for reading it
        t2 = time.perf_counter()
        subprocess.run([*self.compose_cmd, "version"], capture_output=True, check=True)
        bare_ms = ms_since(t2)
        return {"deploy": deploy_ms, "cli_return": cli_ms, "teardown": teardown_ms, "cli_bare": bare_ms}

    def _check_compose(self, label: str, server_ip: str) -> dict[str, Any]:
        found = self.dapi.containers(filters={"label": label})
        service = {c["Id"]: c["Labels"].get("com.docker.compose.service") for c in found}
        clients = [cid for cid, s in service.items() if s == "client"]
        server = next(cid for cid, s in service.items() if s == "server")
        env = dict(e.split("=", 1) for e in self.dapi.inspect_container(clients[0])["Config"]["Env"])
        expected = {**self.settings, "SERVER_PRIVATE": server_ip}
        wrong = {k: env.get(k) for k, v in expected.items() if env.get(k) != v}
        if wrong:
            raise RuntimeError(f"compose client env differs from the NSD: {wrong}")

        def logs(cid: str) -> str:
            return self.dapi.logs(cid, stdout=True, stderr=True).decode(errors="replace")

        return calls_report("compose", logs, server, clients, server_ip)

    # --- rounds -----------------------------------------------------------------------------------
    def run(self) -> None:
        self.setup()
        warmup, rounds = self.args.warmup, self.args.rounds
        checked = False
        for i in range(warmup + rounds):
            timed = i >= warmup
            order = SIDES if i % 2 == 0 else SIDES[::-1]
            entry: dict[str, Any] = {"round": i - warmup if timed else f"warmup{i}", "order": list(order)}
            for side in order:
                check = not checked
                if side == "popvim":
                    res = self.popvim_round(i, check)
                else:
                    res = self.compose_round(i, check)
                entry[side] = res
                print(
                    f"  {entry['round']!s:>8} {side:8} deploy {res['deploy']:8.0f} ms  "
                    f"teardown {res['teardown']:8.0f} ms",
                    file=sys.stderr,
                    flush=True,
                )
            checked = True
            self.rounds.append(entry)
            if timed:
                p, c = entry["popvim"], entry["compose"]
                self.samples["popvim_deploy"].append(p["deploy"])
                self.samples["popvim_deploy_server"].append(p["deploy_server"])
                self.samples["popvim_engine_ready"].append(p["engine_ready"])
                self.samples["popvim_teardown"].append(p["teardown"])
                self.samples["popvim_teardown_server"].append(p["teardown_server"])
                self.samples["compose_deploy"].append(c["deploy"])
                self.samples["compose_cli_return"].append(c["cli_return"])
                self.samples["compose_teardown"].append(c["teardown"])
                self.samples["compose_cli_bare"].append(c["cli_bare"])
        stats = {k: summary(v) for k, v in self.samples.items()}
        timed_rounds = [r for r in self.rounds if isinstance(r["round"], int)]
        self.results = {
            "stats": stats,
            "deploy_vs_compose": compare(stats["popvim_deploy"], stats["compose_deploy"]),
            "teardown_vs_compose": compare(stats["popvim_teardown"], stats["compose_teardown"]),
            "paired_deploy_ratio_median": statistics.median(
                r["popvim"]["deploy"] / r["compose"]["deploy"] for r in timed_rounds
            ),
            "paired_teardown_ratio_median": statistics.median(
                r["popvim"]["teardown"] / r["compose"]["teardown"] for r in timed_rounds
            ),
            "correctness": self.checks,
            "rounds": self.rounds,
        }


# --- output ---------------------------------------------------------------------------------------
def report(results: dict[str, Any], meta: dict[str, Any]) -> None:
    st = results["stats"]
    dep, tear = results["deploy_vs_compose"], results["teardown_vs_compose"]

    def row(label: str, key: str, cmp: dict[str, float] | None = None) -> list[str]:
        s = st[key]
        cells = [label, f"{s['median']:.0f}", f"{s['p90']:.0f}", f"{s['min']:.0f}", f"{s['max']:.0f}"]
        cells += [f"{cmp['ratio']:.2f}x", f"{cmp['overhead_ms']:+.0f}"] if cmp else ["", ""]
        return cells

    rows: list[list[str] | None] = [
        row("deploy    popvim instantiate -> COMPLETED, 6 RUNNING", "popvim_deploy", dep),
        row("            of which server-side op (start->end)", "popvim_deploy_server"),
        row("            engine: 6 running (SDK poll)", "popvim_engine_ready"),
        row(f"          {' '.join(meta['compose_cmd'])} up -d -> 6 running", "compose_deploy"),
        row("            CLI returned", "compose_cli_return"),
        row("            bare CLI start (`version`)", "compose_cli_bare"),
        None,
        row("teardown  popvim terminate -> COMPLETED", "popvim_teardown", tear),
        row("            of which server-side op", "popvim_teardown_server"),
        row(f"          {' '.join(meta['compose_cmd'])} down", "compose_teardown"),
    ]
    title = (
        f"SIPp NS (1 server + {CLIENTS} clients): popvim vs compose ({meta['compose_version']}; "
        f"docker {meta['docker_version']}, {meta['cpus']} CPUs; ratio = popvim median / compose median)"
    )
    console = print_table(
        title, ["operation", "median ms", "p90 ms", "min ms", "max ms", "ratio", "diff ms"], rows, width=150
    )
    console.print(
        f"paired per-round ratio medians: deploy {results['paired_deploy_ratio_median']:.2f}x, "
        f"teardown {results['paired_teardown_ratio_median']:.2f}x"
    )
    for side, c in results["correctness"].items():
        console.print(
            f"correctness {side}: server {c['server']}, completed calls per client "
            f"{c['client_completed_calls']}, at server {c['server_completed_calls']}, env ok"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", "--n", type=int, default=5, help="timed rounds per side [5]")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds per side first [1]")
    parser.add_argument("--poll", type=float, default=0.02, help="poll period in s, REST and engine [0.02]")
    parser.add_argument("--deadline", type=float, default=180.0, help="give up on one step after s [180]")
    parser.add_argument("--keep-state", action="store_true", help="keep popvimd's state dir, log, compose files")
    parser.add_argument("--out-dir", type=Path, default=HERE / "results")
    args = parser.parse_args()
    if args.rounds < 1 or args.warmup < 0:
        parser.error("--rounds must be >= 1 and --warmup >= 0")

    interrupt_on_sigterm()
    probe = docker.from_env()
    for image in (SERVER_IMAGE, CLIENT_IMAGE):
        try:
            probe.api.inspect_image(image)
        except docker.errors.ImageNotFound:
            print(f"{image} is missing: run images/build-all.sh first (nothing is pulled)", file=sys.stderr)
            return 2
    compose_cmd = find_compose()
    meta = {
        **engine_facts(probe),
        "compose_cmd": compose_cmd,
        "compose_version": subprocess.run(
            [*compose_cmd, "version", "--short"], capture_output=True, text=True
        ).stdout.strip()
        or "?",
        **host_facts(),
        "images": [SERVER_IMAGE, CLIENT_IMAGE],
        "clients": CLIENTS,
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    probe.close()

    return run_and_record(Bench(args, compose_cmd), meta, report, args.out_dir, "ns_deploy_vs_compose")


if __name__ == "__main__":
    sys.exit(main())
