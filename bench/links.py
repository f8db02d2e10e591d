"""Link limits (tc): achieved versus configured throughput, and what shaping costs a create+start.

    .venv/bin/python bench/links.py [--rates 1,10,100] [--seconds 5] [--n 10]

1. throughput: two vnf-base containers on one network whose bandwidth is set to
   each rate in turn (PUT /v1/networks/{net}/link); a TCP blast from one to the
   other (tests/support/blast.py) measures goodput at the receiver.
2. cost: ``--n`` create+start (POST /v1/containers/run) of busybox on a network
   without a limit and on one with ``10mbit``, interleaved; the difference of
   the medians is what shaping adds (probing is done once per daemon, before).

Prints a table and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from support import blast  # noqa: E402
from support.daemon import BUSYBOX, SLEEPER, Daemon, free_subnet  # noqa: E402

VNF_BASE = "popvim-test/vnf-base:latest"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="1,10,100", help="Mbit/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each transfer")
    parser.add_argument("--n", type=int, default=10, help="create+start per side")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]

    import docker

    engine = docker.from_env()
    state = Path(f"/tmp/bench-links-{uuid.uuid4().hex[:6]}")
    daemon = Daemon(state).start(timeout=120)
    results: dict[str, Any] = {"throughput": [], "cost": {}}
    try:
        with daemon.client(timeout=300) as api:
            free, limited = f"free-{uuid.uuid4().hex[:6]}", f"lim-{uuid.uuid4().hex[:6]}"
            for net, body in ((free, {}), (limited, {"bandwidth": "10mbit"})):
                r = api.post("/v1/networks", json={"name": net, "subnet": free_subnet(engine), **body})
                r.raise_for_status()
            # 1. throughput
            sink = _run(api, VNF_BASE, blast.sink_command(), free)
            sender = _run(api, VNF_BASE, ["sleep", "infinity"], free)
            address = sink["endpoints"][free]["address"]
            for rate in rates:
                api.put(f"/v1/networks/{free}/link", json={"bandwidth": f"{rate:g}mbit"}).raise_for_status()
                got = blast.measure(api, sender["id"], address, args.seconds)
                results["throughput"].append({"configured_mbit": rate, "achieved_mbit": got, "ratio": got / rate})
            api.put(f"/v1/networks/{free}/link", json={}).raise_for_status()
            unshaped = blast.measure(api, sender["id"], address, args.seconds)
            results["unshaped_mbit"] = unshaped
            # 2. cost of shaping on create+start
            times: dict[str, list[float]] = {free: [], limited: []}
            for i in range(args.n):
                for net in (free, limited) if i % 2 == 0 else (limited, free):
                    started = time.perf_counter()
                    c = _run(api, BUSYBOX, SLEEPER, net)
                    times[net].append((time.perf_counter() - started) * 1000)
                    api.delete(f"/v1/containers/{c['id']}")
            results["cost"] = {
                "unshaped_ms": statistics.median(times[free]),
                "shaped_ms": statistics.median(times[limited]),
                "n": args.n,
            }
    finally:
        daemon.stop()
        daemon.purge()
        engine.close()
    for row in results["throughput"]:
        configured, achieved = row["configured_mbit"], row["achieved_mbit"]
        print(f"configured {configured:>6g} Mbit/s  achieved {achieved:8.2f}  ({row['ratio']:.1%})")
    print(f"unshaped: {results['unshaped_mbit']:.0f} Mbit/s")
    cost = results["cost"]
    print(
        f"create+start median: {cost['unshaped_ms']:.0f} ms unshaped, {cost['shaped_ms']:.0f} ms shaped "
        f"(+{cost['shaped_ms'] - cost['unshaped_ms']:.0f} ms, n={cost['n']})"
    )
    out = HERE / "results" / f"links-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out}")


def _run(api: Any, image: str, command: list[str], network: str) -> dict[str, Any]:
    r = api.post(
        "/v1/containers/run",
        json={"name": f"b-{uuid.uuid4().hex[:8]}", "image": image, "command": command, "endpoints": {network: None}},
    )
    r.raise_for_status()
    return dict(r.json())


if __name__ == "__main__":
    main()
