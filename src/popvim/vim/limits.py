"""Bounds on the work one request, one user or one client can cause.

popvimd runs on shared networks: a flood of logins, execs or open streams
from one client must never take the daemon away from everybody else. Each
bound here refuses at once (``TooBusy``: REST 429, gRPC RESOURCE_EXHAUSTED)
rather than queueing without limit, and none of them blocks.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from popvim.vim.errors import TooBusy

T = TypeVar("T")


@dataclass
class Limits:
    """Every bound, with its default; the daemon fills them from ``[limits]``."""

    body_bytes: int = 1024 * 1024  # every REST request body (descriptors included)
    login_body_bytes: int = 4096
    exec_timeout: float = 30.0  # seconds, when the request gives none
    exec_timeout_max: float = 600.0
    exec_output_bytes: int = 1024 * 1024  # per stream (stdout, stderr)
    execs: int = 16  # at once, on this daemon
    execs_per_user: int = 4
    logs_tail: int = 1000  # lines, when the request gives none
    logs_bytes: int = 1024 * 1024
    streams: int = 64  # open event feeds and followed logs, on this daemon
    streams_per_user: int = 8
    grpc_concurrent_rpcs: int = 64
    grpc_message_bytes: int = 4 * 1024 * 1024  # received; sent is twice this (exec answers)
    login_failures_per_client: int = 20  # a burst of failed logins per client address ...
    login_failure_rate_per_client: float = 1.0  # ... refilled at this many per second
    login_failures_per_user: int = 10  # a burst of failed logins per user name ...
    login_failure_rate_per_user: float = 0.2  # ... refilled at this many per second
    login_workers: int = 1  # threads checking passwords (bcrypt): at most one core busy with it
    login_queue: int = 8  # logins waiting for one of them
    tokens_per_user: int = 100  # the oldest is revoked beyond this


class Slots:
    """At most ``total`` holders at once, and at most ``per_key`` per key (a user)."""

    def __init__(self, what: str, total: int, per_key: int) -> None:
        self._what = what
        self._total = total
        self._per_key = per_key
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def held(self, key: str) -> Iterator[None]:
        self.take(key)
        try:
            yield
        finally:
            self.give(key)

    def take(self, key: str) -> None:
        with self._lock:
            if sum(self._used.values()) >= self._total:
                raise TooBusy(f"too many {self._what} on this PoP (at most {self._total} at once); try again later")
            if self._used.get(key, 0) >= self._per_key:
                raise TooBusy(f"too many {self._what} for user {key[:64]!r} (at most {self._per_key} at once)")
            self._used[key] = self._used.get(key, 0) + 1

    def give(self, key: str) -> None:
        with self._lock:
            left = self._used.get(key, 0) - 1
            if left > 0:
                self._used[key] = left
            else:
                self._used.pop(key, None)

    def in_use(self, key: str | None = None) -> int:
        with self._lock:
            return sum(self._used.values()) if key is None else self._used.get(key, 0)


class RateLimiter:
    """Token buckets per key (``burst`` tokens, refilled at ``rate`` per second).

    Only the most recently used ``max_keys`` keys are remembered, so a client
    inventing user names cannot grow the table without bound.
    """

    def __init__(
        self, burst: int, rate: float, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._burst = float(burst)
        self._rate = rate
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _level(self, key: str, now: float) -> float:
        tokens, stamp = self._buckets.get(key, (self._burst, now))
        return min(self._burst, tokens + (now - stamp) * self._rate)

    def allowed(self, key: str) -> bool:
        """True when ``key`` has a token left (without spending it)."""
        with self._lock:
            return self._level(key, self._clock()) >= 1.0

    def spend(self, key: str) -> bool:
        """Spends a token of ``key``; False when none is left."""
        with self._lock:
            now = self._clock()
            tokens = self._level(key, now)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                self._buckets.move_to_end(key)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
            return True

    def refund(self, key: str) -> None:
        """Gives back a token ``spend`` took (a reservation that turned out not to count)."""
        with self._lock:
            now = self._clock()
            if key in self._buckets:
                self._buckets[key] = (min(self._burst, self._level(key, now) + 1.0), now)


class BoundedExecutor:
    """A thread pool whose queue is bounded: ``submit`` refuses (TooBusy) when it is full."""

    def __init__(self, what: str, workers: int, queue: int, name: str) -> None:
        self._what = what
        self._capacity = workers + queue
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._pending = 0
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        with self._lock:
            if self._pending >= self._capacity:
                raise TooBusy(f"too many {self._what} in progress on this PoP; try again later")
            self._pending += 1
        try:
            future = self._pool.submit(fn, *args)
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future[Any] | None) -> None:
        with self._lock:
            self._pending -= 1

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
