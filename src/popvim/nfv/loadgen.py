"""What runs INSIDE a load-generator container: never imported by popvim, only sent.

nfv/loadtest.py starts each worker as ``python3 -c <this file> <json>``. A
worker GETs ``http://host:port/path`` at ``rate`` requests per second (paced,
one keep-alive connection, reopened after an error) for ``duration``
seconds, and prints one JSON object: requests, errors, a sample of
latencies (ms) and, per backend (the load balancer's ``X-Popvim-Server``
answer header, "-" without one), requests, errors and total latency.
Standard library only.
"""

from __future__ import annotations

import http.client
import json
import random
import sys
import time
from typing import Any

SAMPLES = 20000  # latencies kept per worker (a uniform sample beyond)


def main(spec: dict[str, Any]) -> dict[str, Any]:
    host, port, path = spec["host"], int(spec["port"]), spec.get("path", "/")
    interval, duration = 1.0 / float(spec["rate"]), float(spec["duration"])
    result: dict[str, Any] = {"requests": 0, "errors": 0, "latencies": [], "backends": {}, "error_kinds": {}}
    connection: http.client.HTTPConnection | None = None
    started = time.monotonic()
    next_at = started
    while True:
        now = time.monotonic()
        if now - started >= duration:
            break
        if now < next_at:
            time.sleep(next_at - now)
        next_at += interval
        begun = time.monotonic()
        backend, failed = "-", False
        try:
            if connection is None:
                connection = http.client.HTTPConnection(host, port, timeout=10)
            connection.request("GET", path)
            answer = connection.getresponse()
            answer.read()
            backend = answer.getheader("X-Popvim-Server") or "-"
            failed = answer.status >= 500
            if failed:
                result["error_kinds"][str(answer.status)] = result["error_kinds"].get(str(answer.status), 0) + 1
        except (OSError, http.client.HTTPException) as exc:
            failed = True
            kind = type(exc).__name__
            result["error_kinds"][kind] = result["error_kinds"].get(kind, 0) + 1
            if connection is not None:
                connection.close()
            connection = None
        latency = (time.monotonic() - begun) * 1000
        result["requests"] += 1
        stats = result["backends"].setdefault(backend, {"requests": 0, "errors": 0, "latency_ms": 0.0})
        stats["requests"] += 1
        stats["latency_ms"] += latency
        if failed:
            result["errors"] += 1
            stats["errors"] += 1
        samples = result["latencies"]
        if len(samples) < SAMPLES:
            samples.append(round(latency, 3))
        elif random.random() < SAMPLES / result["requests"]:
            samples[random.randrange(SAMPLES)] = round(latency, 3)
    result["elapsed"] = time.monotonic() - started
    return result


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
