"""How fast a container's death shows in popvim, next to Docker's own ``wait``.

Seed 001 polled the engine every 30 s; popvim follows the engine's event
stream. For N containers this kills each with docker-py and measures, from
the moment ``kill`` returns, (a) until ``GET /v1/containers/{id}`` says FAILED
(polled every 2 ms over loopback) and (b) until ``container.wait()`` on a
second, already-waiting connection returns: the engine's own notification,
the best any client can do.

    .venv/bin/python bench/event_latency.py --n 20
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import docker

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from _common import compare, engine_facts, host_facts, print_table, summary, write_results  # noqa: E402
from support.daemon import BUSYBOX, SLEEPER, Daemon, unique  # noqa: E402


def measure(daemon: Daemon, engine: docker.DockerClient, n: int) -> dict[str, list[float]]:
    popvim_ms, wait_ms = [], []
    with daemon.client() as api:
        for _ in range(n):
            created = api.post("/v1/containers/run", json={"image": BUSYBOX, "name": unique("ev"), "command": SLEEPER})
            created.raise_for_status()
            record = created.json()
            container = engine.containers.get(record["engine_id"])
            waited: list[float] = []
            waiter = threading.Thread(target=lambda: (container.wait(), waited.append(time.perf_counter())))
            waiter.start()
            time.sleep(0.05)  # let the waiter's request reach the engine before the kill
            container.kill()
            killed = time.perf_counter()
            while api.get(f"/v1/containers/{record['id']}").json()["state"] != "FAILED":
                time.sleep(0.002)
            popvim_ms.append((time.perf_counter() - killed) * 1000)
            waiter.join(timeout=30)
            wait_ms.append((waited[0] - killed) * 1000)
            api.delete(f"/v1/containers/{record['id']}")
    return {"popvim": popvim_ms, "docker_wait": wait_ms}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args()
    engine = docker.from_env()
    daemon = Daemon(Path(tempfile.mkdtemp(prefix="popvim-bench-")))
    started = time.perf_counter()
    try:
        daemon.start()
        samples = measure(daemon, engine, args.n)
    finally:
        daemon.stop()
        daemon.purge()
    results = {k: summary(v) for k, v in samples.items()}
    results["ratio"] = compare(results["popvim"], results["docker_wait"])
    rows = [
        [name, f"{r['median']:.1f}", f"{r['p90']:.1f}", f"{r['max']:.1f}"]
        for name, r in ((k, results[k]) for k in ("popvim", "docker_wait"))
    ]
    print_table(f"death to visible state, n={args.n} (ms)", ["path", "median", "p90", "max"], rows, 80)
    print(f"popvim / docker wait (medians): {results['ratio']['ratio']:.2f}x; seed 001 polled every 30000 ms")
    meta = {
        "n": args.n,
        "engine": engine_facts(engine),
        "host": host_facts(),
        "runtime_s": round(time.perf_counter() - started, 1),
    }
    write_results(HERE / "results", "event_latency", meta, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
