"""Per-container resource usage, sampled in the background for the metrics.

A scrape must never wait on the engine (a stats call takes milliseconds to
seconds per container), so a thread samples every running container each
``interval`` seconds on a small pool and keeps the latest figures; the
metrics collector only reads that snapshot.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select

from popvim.engine.driver import EngineDriver, EngineError
from popvim.store.db import Store
from popvim.store.models import ContainerRow
from popvim.vim.models import ContainerState

log = logging.getLogger(__name__)


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

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - e.g. a locked database: try next time
                log.exception("usage sampling failed")
            self._stop.wait(self.interval)

    def sample(self) -> None:
        with self._store.session() as session:
            running = session.execute(
                select(ContainerRow.id, ContainerRow.name, ContainerRow.engine_id).where(
                    ContainerRow.state == ContainerState.RUNNING.value, ContainerRow.engine_id.is_not(None))
            ).all()
        samples = self._pool.map(lambda r: self._one(r[0], r[1], r[2]), running)
        self._snapshot = {u.container_id: u for u in samples if u is not None}

    def _one(self, container_id: str, name: str, engine_id: str) -> Usage | None:
        try:
            raw = self._engine.usage(engine_id)
        except EngineError:  # it died or went since the query: gone from the next snapshot
            return None
        return Usage(container_id, name, raw["cpu_seconds"], raw["memory_bytes"], raw["memory_limit_bytes"],
                     raw["rx_bytes"], raw["tx_bytes"])
