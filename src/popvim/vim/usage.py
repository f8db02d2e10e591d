"""Per-container resource usage, sampled in the background for the metrics.

A scrape must never wait on the engine (a stats call takes milliseconds to
seconds per container), so a thread samples every running container each
``interval`` seconds on a small pool and keeps the latest figures; the
metrics collector only reads that snapshot. The snapshot's Prometheus text is
rendered once per pass too (``exposition()``), so that a scrape appends it as is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select

from popvim.engine.driver import EngineDriver, EngineError
from popvim.store.db import Store
from popvim.store.models import ContainerRow
from popvim.vim.models import ContainerState
from popvim.vim.usage_text import UsageText

log = logging.getLogger(__name__)

HISTORY = 120  # samples kept per container: ten minutes at the default interval


@dataclass(frozen=True)
class Usage:
    container_id: str
    name: str
    cpu_seconds: float
    memory_bytes: float
    memory_limit_bytes: float
    rx_bytes: float
    tx_bytes: float


class UsageSampler:
    def __init__(self, store: Store, engine: EngineDriver, interval: float = 5.0, workers: int = 4) -> None:
        self._store = store
        self._engine = engine
        self.interval = interval
        self._snapshot: dict[str, Usage] = {}
        self._renderer = UsageText()
        self._text = self._renderer.render(())  # the families' headers, until the first pass
        # The last HISTORY samples per running container, for the dashboard's charts.
        self._history: dict[str, deque[tuple[float, Usage]]] = {}
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="popvim-usage")
        self._thread = threading.Thread(target=self._loop, name="popvim-usage-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def snapshot(self) -> list[Usage]:
        return list(self._snapshot.values())

    def exposition(self) -> bytes:
        """The per-container families of the last pass in the Prometheus text format."""
        return self._text

    def history(self, container_id: str) -> list[tuple[float, Usage]]:
        """(unix time, usage) of the last samples of one container, oldest first; empty once it stopped."""
        return list(self._history.get(container_id, ()))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample()
            except Exception:
                log.exception("usage sampling failed")
            self._stop.wait(self.interval)

    def sample(self) -> None:
        with self._store.session() as session:
            running = session.execute(
                select(ContainerRow.id, ContainerRow.name, ContainerRow.engine_id).where(
                    ContainerRow.state == ContainerState.RUNNING.value, ContainerRow.engine_id.is_not(None)
                )
            ).all()
        samples = self._pool.map(lambda r: self._one(r[0], r[1], r[2]), running)
        self._snapshot = {u.container_id: u for u in samples if u is not None}
        self._text = self._renderer.render(self._snapshot.values())
        now = time.time()
        history = {cid: self._history.get(cid) or deque(maxlen=HISTORY) for cid in self._snapshot}
        for cid, usage in self._snapshot.items():
            history[cid].append((now, usage))
        self._history = history  # replaced whole: readers on other threads see one or the other

    def _one(self, container_id: str, name: str, engine_id: str) -> Usage | None:
        try:
            raw = self._engine.usage(engine_id)
        except EngineError:  # it died or went since the query: gone from the next snapshot
            return None
        return Usage(
            container_id,
            name,
            raw.cpu_seconds,
            raw.memory_bytes,
            raw.memory_limit_bytes,
            raw.rx_bytes,
            raw.tx_bytes,
        )
