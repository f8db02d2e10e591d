"""HTTP requests through a load balancer, counted: who answered, what failed and when.

Only loopback targets (a published port of a container the test made). Every
loop is bounded in count and in time, and stops by itself.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class Request:
    started: float  # time.monotonic()
    ended: float
    answer: str | None  # the body (the server's identity), None when the request failed
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.answer is None


def gets(url: str, count: int, timeout: float = 10.0) -> Counter[str]:
    """``count`` sequential GETs, one connection each (as curl in a loop); who answered how often."""
    answers: Counter[str] = Counter()
    for _ in range(count):
        r = httpx.get(url, timeout=timeout, headers={"Connection": "close"})
        r.raise_for_status()
        answers[r.text.strip()] += 1
    return answers


@dataclass
class Load:
    """``workers`` threads GETting ``url`` back to back until ``stop`` (or ``limit`` seconds)."""

    url: str
    workers: int = 4
    limit: float = 120.0
    requests: list[Request] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Load:
        for i in range(self.workers):
            thread = threading.Thread(target=self._run, name=f"load-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)

    def _run(self) -> None:
        deadline = time.monotonic() + self.limit
        with httpx.Client(timeout=10.0) as client:
            while not self._stop.is_set() and time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    r = client.get(self.url)
                    r.raise_for_status()
                    done = Request(started, time.monotonic(), r.text.strip())
                except httpx.HTTPError as exc:
                    done = Request(started, time.monotonic(), None, f"{type(exc).__name__}: {exc}")
                with self._lock:
                    self.requests.append(done)
                if done.failed:
                    time.sleep(0.01)  # a refused connection returns at once: do not spin

    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def wait_for(self, more: int, timeout: float = 30.0) -> None:
        """Until ``more`` further requests have completed (the load is really flowing)."""
        target = self.count() + more
        deadline = time.monotonic() + timeout
        while self.count() < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"the load made {self.count()} of {target} requests in {timeout}s")
            time.sleep(0.02)

    def failed(self) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.failed]

    def in_flight_during(self, start: float, end: float) -> list[Request]:
        """Requests under way at some moment of [start, end] (e.g. while the kill call ran)."""
        with self._lock:
            return [r for r in self.requests if r.started <= end and r.ended >= start]
