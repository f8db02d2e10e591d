"""Readiness: whether this PoP can do its work now, with a reason per failing check.

Liveness (``/health``) only says the process answers; a load balancer or an
orchestrator asks readiness before sending work. Each check runs on a small
pool of its own with a deadline, so a hung engine socket makes the answer
"not ready: no answer within 2s" instead of a hung probe, and a check that
is still hung from an earlier probe is not started again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime

from sqlalchemy import delete, insert

from popvim.engine.driver import EngineDriver
from popvim.store.db import Store
from popvim.store.models import TokenRow

log = logging.getLogger(__name__)

Check = Callable[[], str | None]
"""Returns None when all is well, else the reason it is not."""

PROBE_DIGEST = "readiness-probe"  # never a SHA-256 hex digest, so never a real token


class Readiness:
    def __init__(self, timeout: float = 2.0) -> None:
        self.timeout = timeout
        self._checks: dict[str, Check] = {}
        self._running: dict[str, Future[str | None]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="popvim-ready")
        self._stop = threading.Event()
        self._watchers: list[threading.Thread] = []

    def add(self, name: str, check: Check) -> None:
        self._checks[name] = check

    def report(self) -> dict[str, str]:
        """Each check's name with "ok" or why it failed; every check runs at once."""
        with self._lock:
            futures = {}
            for name, check in self._checks.items():
                running = self._running.get(name)
                if running is None or running.done():
                    running = self._running[name] = self._pool.submit(_guarded, check)
                futures[name] = running
        results: dict[str, str] = {}
        for name, future in futures.items():
            try:
                reason = future.result(self.timeout)
            except FutureTimeout:
                reason = f"no answer within {self.timeout:g}s"
            results[name] = "ok" if reason is None else reason
        return results

    def watch(self, on_change: Callable[[bool], None], interval: float = 2.0) -> None:
        """Call ``on_change(ready)`` now and whenever readiness changes (checked every ``interval``)."""

        def loop() -> None:
            last: bool | None = None
            while True:
                report = self.report()
                ready = all(v == "ok" for v in report.values())
                if ready != last:
                    if not ready:
                        log.warning("not ready: %s", ", ".join(f"{k}: {v}" for k, v in report.items() if v != "ok"))
                    elif last is not None:
                        log.info("ready again")
                    on_change(ready)
                    last = ready
                if self._stop.wait(interval):
                    return

        thread = threading.Thread(target=loop, name="popvim-ready-watch", daemon=True)
        self._watchers.append(thread)
        thread.start()

    def close(self) -> None:
        self._stop.set()
        for thread in self._watchers:
            thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)


def _guarded(check: Check) -> str | None:
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - a failing check is a reason, not a crash
        return f"{type(exc).__name__}: {exc}"


def engine_check(engine: EngineDriver) -> Check:
    def check() -> str | None:
        return None if engine.ping() else "the container engine does not answer"

    return check


def database_check(store: Store) -> Check:
    """Writes a row and rolls it back: proves the database takes writes now (not locked,
    not read-only, reachable) and leaves nothing behind."""

    def check() -> str | None:
        with store.engine.connect() as conn:
            with conn.begin() as tx:
                conn.execute(
                    insert(TokenRow).values(
                        digest=PROBE_DIGEST, username="-", expires_at=datetime.now(UTC).replace(tzinfo=None)
                    )
                )
                conn.execute(delete(TokenRow).where(TokenRow.digest == PROBE_DIGEST))
                tx.rollback()
        return None

    return check
