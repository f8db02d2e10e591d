#!/usr/bin/env python3
"""What abuse costs an honest user: an authenticated ``GET /v1/containers`` on a quiet popvimd, and in the
same run under a 60-thread bad-login flood plus 45 abandoned slow execs plus 45 open event streams.

Prints both latency summaries, the ratio of the p99s (goal: under 3x, and p99 under 250 ms on 2 CPUs),
what the abusers were answered, and popvimd's RSS before and after (goal: within 50 MiB).
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

import docker  # noqa: E402
import httpx  # noqa: E402
from _common import (  # noqa: E402
    engine_facts,
    host_facts,
    interrupt_on_sigterm,
    print_table,
    rss_mib,
    run_and_record,
    summary,
)
from support.daemon import BUSYBOX, SLEEPER, USER, Daemon  # noqa: E402


def timed_lists(api: httpx.Client, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        r = api.get("/v1/containers")
        samples.append((time.perf_counter() - started) * 1000)
        r.raise_for_status()
    return samples


class Abusers:
    """Threads that hammer the daemon until ``stop``; each counts what it was answered."""

    def __init__(self, url: str, token: str, target: str, args: argparse.Namespace) -> None:
        self.url = url
        self.token = token
        self.target = target
        self.args = args
        self.stop_event = threading.Event()
        self.answers: dict[str, Counter[str]] = {"login": Counter(), "exec": Counter(), "events": Counter()}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def _count(self, kind: str, what: str) -> None:
        with self._lock:
            self.answers[kind][what] += 1

    def _loop(self, kind: str, once: Callable[[httpx.Client], str], timeout: float, token: bool) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if token else {}
        with httpx.Client(base_url=self.url, headers=headers, timeout=timeout) as client:
            while not self.stop_event.is_set():
                try:
                    self._count(kind, once(client))
                except httpx.TimeoutException:
                    self._count(kind, "client gave up")
                except httpx.HTTPError as exc:
                    self._count(kind, type(exc).__name__)

    def _bad_login(self, client: httpx.Client) -> str:
        return str(client.post("/v1/auth/login", json={"username": USER, "password": "wrong"}).status_code)

    def _slow_exec(self, client: httpx.Client) -> str:
        r = client.post(f"/v1/containers/{self.target}/exec", json={"command": ["sleep", "600"]})
        if r.status_code == 429:
            self.stop_event.wait(0.5)  # refused at once: a real client would back off a little too
        return str(r.status_code)

    def _stream(self, client: httpx.Client) -> str:
        with client.stream("GET", "/v1/events") as r:
            if r.status_code != 200:
                self.stop_event.wait(0.5)
                return str(r.status_code)
            self._count("events", "open")
            for _ in r.iter_lines():  # keep-alives every few seconds; stop when asked
                if self.stop_event.is_set():
                    break
        return "closed"

    def start(self) -> None:
        plan: list[tuple[str, Callable[[httpx.Client], str], float, bool, int]] = [
            ("login", self._bad_login, 30.0, False, self.args.login_threads),
            ("exec", self._slow_exec, self.args.exec_give_up, True, self.args.execs),
            ("events", self._stream, 3600.0, True, self.args.streams),
        ]
        for kind, once, timeout, token, count in plan:
            for _ in range(count):
                t = threading.Thread(target=self._loop, args=(kind, once, timeout, token), daemon=True)
                t.start()
                self._threads.append(t)

    def established(self) -> bool:
        """Every stream open and every login thread answered once: the abuse is at full strength."""
        with self._lock:
            logins = sum(self.answers["login"].values())
            return self.answers["events"]["open"] >= self.args.streams and logins >= self.args.login_threads

    def stop(self) -> None:
        self.stop_event.set()
        for t in self._threads:
            t.join(timeout=40)


def abuse_in_own_process(
    url: str, token: str, target: str, args: argparse.Namespace, ready: Any, stop: Any, answers: Any
) -> None:
    """The abusers, in a process of their own: 150 client threads sharing the timing client's
    interpreter would slow its measurements by their GIL contention, not by popvimd's."""
    abusers = Abusers(url, token, target, args)
    abusers.start()
    deadline = time.monotonic() + 120
    while not abusers.established() and time.monotonic() < deadline and not stop.is_set():
        time.sleep(0.1)
    ready.set()
    stop.wait()
    abusers.stop()
    answers.put({k: dict(v) for k, v in abusers.answers.items()})


class AbuseBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run_id = uuid.uuid4().hex[:6]
        self.state_dir = Path(tempfile.mkdtemp(prefix=f"popvim-abuse-{self.run_id}-"))
        # All the streams stay open (by default one user may hold 8): the harder case.
        self.daemon = Daemon(
            self.state_dir / "popvimd",
            name=f"abuse{self.run_id}",
            config_text=f"[limits]\nstreams_per_user = {args.streams}\n",
        )
        self.results: dict[str, Any] = {}

    def run(self) -> None:
        self.daemon.start()
        assert self.daemon.proc is not None
        pid = self.daemon.proc.pid
        with self.daemon.client(timeout=60) as api:
            for i in range(self.args.records):
                api.post("/v1/containers", json={"image": BUSYBOX, "name": f"rec{self.run_id}-{i}"}).raise_for_status()
            r = api.post("/v1/containers/run", json={"image": BUSYBOX, "name": f"t{self.run_id}", "command": SLEEPER})
            r.raise_for_status()
            target = r.json()["id"]
            timed_lists(api, 20)  # warm-up
            rss_before = rss_mib(pid)
            quiet = timed_lists(api, self.args.n)
            context = multiprocessing.get_context("spawn")
            ready, stop, answers = context.Event(), context.Event(), context.Queue()
            abusers = context.Process(
                target=abuse_in_own_process,
                args=(self.daemon.url, self.daemon.token, target, self.args, ready, stop, answers),
            )
            abusers.start()
            try:
                # Time the steady state: once every abuser is connected (spawning 150 client threads
                # takes seconds on 2 CPUs), and the first execs have been abandoned.
                ready.wait(180)
                time.sleep(self.args.exec_give_up + 1)
                abused = timed_lists(api, self.args.n)
                health_ms = []
                for _ in range(10):
                    started = time.perf_counter()
                    httpx.get(f"{self.daemon.url}/health", timeout=30).raise_for_status()
                    health_ms.append((time.perf_counter() - started) * 1000)
            finally:
                stop.set()
                answered = answers.get(timeout=120)
                abusers.join(timeout=30)
            rss_after = rss_mib(pid)
        self.results = {
            "quiet": _with_p99(quiet),
            "abused": _with_p99(abused),
            "health_under_abuse": summary(health_ms),
            "p99_ratio": _p99(abused) / _p99(quiet),
            "rss_mib": {"before": rss_before, "after": rss_after},
            "abusers": answered,
        }

    def cleanup(self) -> None:
        try:
            self.daemon.stop()
        except Exception:  # noqa: BLE001
            self.daemon.kill()
        self.daemon.purge()


def _p99(samples: list[float]) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, round(0.99 * (len(s) - 1)))]


def _with_p99(samples: list[float]) -> dict[str, float]:
    return {**summary(samples), "p99": _p99(samples), "worst": [round(x, 1) for x in sorted(samples)[-5:]]}


def report(results: dict[str, Any], meta: dict[str, Any]) -> None:
    q, a = results["quiet"], results["abused"]
    rows = [
        ["GET /v1/containers, quiet", f"{q['median']:.1f}", f"{q['p99']:.1f}", ""],
        ["GET /v1/containers, under abuse", f"{a['median']:.1f}", f"{a['p99']:.1f}", f"{results['p99_ratio']:.2f}x"],
        [
            "GET /health, under abuse",
            f"{results['health_under_abuse']['median']:.1f}",
            f"{results['health_under_abuse']['max']:.1f} (max)",
            "",
        ],
    ]
    console = print_table(
        f"abuse: {meta['args']['n']} requests per phase", ["", "p50 ms", "p99 ms", "p99 ratio"], rows, 100
    )
    rss = results["rss_mib"]
    console.print(f"slowest under abuse: {a['worst']} ms (quiet: {q['worst']} ms)")
    console.print(
        f"popvimd RSS: {rss['before']:.1f} MiB before, {rss['after']:.1f} MiB after "
        f"({rss['after'] - rss['before']:+.1f} MiB)"
    )
    for kind, answers in results["abusers"].items():
        console.print(f"{kind} abusers were answered: {answers}")
    goal = results["p99_ratio"] < 3 and a["p99"] < 250 and rss["after"] - rss["before"] < 50
    console.print(f"goals (p99 ratio < 3x, p99 < 250 ms, RSS within 50 MiB): {'met' if goal else 'NOT met'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="timed list requests per phase")
    parser.add_argument("--records", type=int, default=50, help="containers (CREATED) the list returns")
    parser.add_argument("--login-threads", type=int, default=60)
    parser.add_argument("--execs", type=int, default=45)
    parser.add_argument("--exec-give-up", type=float, default=3.0, help="seconds before an exec client gives up")
    parser.add_argument("--streams", type=int, default=45)
    parser.add_argument("--out-dir", type=Path, default=HERE / "results")
    args = parser.parse_args()
    interrupt_on_sigterm()
    probe = docker.from_env()
    meta = {**engine_facts(probe), **host_facts(), "args": {k: str(v) for k, v in vars(args).items()}}
    probe.close()
    return run_and_record(AbuseBench(args), meta, report, args.out_dir, "abuse")


if __name__ == "__main__":
    sys.exit(main())
