"""Follows the engine's event stream so dead containers change state at once.

Seed 001 polled every 30 s; events make EXITED/FAILED visible within a
second. When the stream breaks (the engine restarted), the watcher reconnects
with backoff and reconciles, because events sent while it was away are lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from popvim.engine.driver import EngineDriver, EngineError, EventStream
from popvim.observe import metrics
from popvim.vim.containers import ContainerService
from popvim.vim.labels import LABEL_ID, LABEL_POP

log = logging.getLogger(__name__)


class EngineWatcher:
    def __init__(
        self,
        engine: EngineDriver,
        containers: ContainerService,
        pop_name: str,
        on_reconnect: Callable[[], None],
    ) -> None:
        self._engine = engine
        self._containers = containers
        self._labels = {LABEL_POP: pop_name}
        self._on_reconnect = on_reconnect
        self._stop = threading.Event()
        self._stream: EventStream | None = None
        self._thread = threading.Thread(target=self._run, name="popvim-events", daemon=True)
        self.connected = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._stream is not None:
            self._stream.close()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            self._follow()
        finally:
            if self._stream is not None:
                self._stream.close()

    def _follow(self) -> None:
        backoff = 0.2
        first = True
        while not self._stop.is_set():
            try:
                self._stream = self._engine.events(self._labels)
                if self._stop.is_set():  # stop() ran while we connected: it could not close this one
                    break
                if not first:
                    log.info("engine event stream reconnected; reconciling")
                    self._on_reconnect()
                first = False
                self.connected.set()
                backoff = 0.2
                for event in self._stream:
                    if event.time is not None:
                        metrics.ENGINE_EVENT_LAG_SECONDS.observe(max(0.0, time.time() - event.time.timestamp()))
                    self._handle(event.action, event.labels.get(LABEL_ID), event.exit_code)
            except EngineError as exc:
                if self._stop.is_set():
                    return
                log.warning("engine event stream lost: %s; retrying in %.1fs", exc.message, backoff)
            except Exception:
                log.exception("engine event handling failed")
            self.connected.clear()
            if self._stream is not None:
                self._stream.close()  # a handler failure must not leak the connection
            first = False
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)

    def _handle(self, action: str, container_id: str | None, exit_code: int | None) -> None:
        if not container_id:
            return
        if action == "die":
            self._containers.on_engine_exit(container_id, exit_code)
        elif action == "start" and self._engine.places_containers:
            self._containers.on_engine_start(container_id)  # maybe on another node, with other addresses
        elif action == "restart" and self._engine.places_containers:
            self._containers.on_engine_restart(container_id)
        elif action == "start":
            self._containers.reshape_links(container_id)  # link limits (vim.shaping) on its new interfaces
        elif action == "oom":
            log.warning("container %s ran out of memory", container_id)
