"""An authenticated list, quiet and under abuse: does a flood of bad logins, abandoned slow
execs and open event streams take the daemon away from a well-behaved client?

    .venv/bin/python bench/abuse.py --samples 300

Phase 1 times ``GET /v1/containers`` (one client, sequential) on a quiet daemon. Phase 2
starts, in the same run: ``--logins`` threads of bad logins in a loop, ``--execs`` threads
that each post ``exec sleep 600`` and give up after 3 s, again and again, and ``--streams``
open ``/v1/events`` feeds; then times the same list. Printed: p50/p99 of both, the ratio of
the p99s (goal: under 3x, p99 under 250 ms), and popvimd's RSS before and after (goal:
within 50 MiB). The daemon runs with ``streams_per_user`` raised to the number of streams,
so that they are all open (by default one user may hold 8).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from _common import rss_mib  # noqa: E402
from support.daemon import SLEEPER, USER, Daemon, unique  # noqa: E402


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed_lists(api: httpx.Client, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        r = api.get("/v1/containers")
        samples.append((time.perf_counter() - started) * 1000)
        r.raise_for_status()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--logins", type=int, default=60)
    parser.add_argument("--execs", type=int, default=45)
    parser.add_argument("--streams", type=int, default=45)
    args = parser.parse_args()

    state = Path(tempfile.mkdtemp(prefix="popvim-abuse-"))
    d = Daemon(state, config_text=f"[limits]\nstreams_per_user = {args.streams}\n").start()
    stop = threading.Event()
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def count(what: str) -> None:
        with lock:
            counts[what] = counts.get(what, 0) + 1

    threads: list[threading.Thread] = []
    try:
        api = d.client(timeout=30)
        for _ in range(20):  # something to list
            api.post("/v1/containers", json={"image": "popvim-test/busybox:latest", "name": unique(),
                                             "command": SLEEPER}).raise_for_status()
        target = api.post("/v1/containers/run", json={"image": "popvim-test/busybox:latest", "name": unique(),
                                                      "command": SLEEPER}).json()
        assert d.proc is not None
        rss_before = rss_mib(d.proc.pid)
        timed_lists(api, 20)  # warm-up
        quiet = timed_lists(api, args.samples)

        def bad_logins() -> None:
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    r = client.post(f"{d.url}/v1/auth/login", json={"username": USER, "password": "wrong"})
                    count(f"login {r.status_code}")

        def abandoned_execs() -> None:
            with d.client(timeout=3) as client:
                while not stop.is_set():
                    try:
                        r = client.post(f"/v1/containers/{target['id']}/exec", json={"command": ["sleep", "600"]})
                        count(f"exec {r.status_code}")
                        if r.status_code == 429:
                            stop.wait(0.2)
                    except httpx.TimeoutException:
                        count("exec abandoned")

        def stream() -> None:
            with d.client(timeout=None) as client, client.stream("GET", "/v1/events", params={"keepalive": 5}) as r:
                count(f"stream {r.status_code}")
                for _ in r.iter_lines():
                    if stop.is_set():
                        return

        for fn, n in ((bad_logins, args.logins), (abandoned_execs, args.execs), (stream, args.streams)):
            for _ in range(n):
                t = threading.Thread(target=fn, daemon=True)
                t.start()
                threads.append(t)
        print(f"quiet: {len(quiet)} lists timed; abusing ...", file=sys.stderr)
        time.sleep(3)  # let the abuse build up (execs give up after 3 s)
        abused = timed_lists(api, args.samples)
        rss_after = rss_mib(d.proc.pid)
        print("abused: timed; stopping", file=sys.stderr)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        d.stop()
        d.purge()
    result = {
        "quiet_ms": {"p50": statistics.median(quiet), "p99": percentile(quiet, 0.99)},
        "abused_ms": {"p50": statistics.median(abused), "p99": percentile(abused, 0.99)},
        "p99_ratio": percentile(abused, 0.99) / percentile(quiet, 0.99),
        "rss_mib": {"before": rss_before, "after": rss_after},
        "abuse": dict(sorted(counts.items())),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
