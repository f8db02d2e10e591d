"""The event watcher: deaths are handed on, and a broken stream means reconnect + reconcile."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from popvim.engine.driver import EngineError, EngineEvent
from popvim.vim.labels import LABEL_ID
from popvim.vim.watcher import EngineWatcher


class _Stream:
    def __init__(self, events: list[EngineEvent], then_fail: bool) -> None:
        self._events, self._then_fail = events, then_fail
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[EngineEvent]:
        yield from self._events
        if self._then_fail:
            raise EngineError("engine went away")
        self._closed.wait(30)  # a live stream blocks until closed

    def close(self) -> None:
        self._closed.set()


class _Engine:
    def __init__(self) -> None:
        death = EngineEvent("die", "abc", {LABEL_ID: "pop-1"}, 3, None)
        self.streams = [_Stream([death], then_fail=True), _Stream([], then_fail=False)]
        self.opened = 0

    def events(self, labels: dict[str, str]) -> _Stream:
        stream = self.streams[min(self.opened, 1)]
        self.opened += 1
        return stream


class _Containers:
    def __init__(self) -> None:
        self.exits: list[tuple[str, int | None]] = []

    def on_engine_exit(self, container_id: str, exit_code: int | None, oom: bool = False) -> None:
        self.exits.append((container_id, exit_code))


def test_deaths_are_handed_on_and_a_lost_stream_is_reconciled() -> None:
    engine, containers = _Engine(), _Containers()
    reconciled = threading.Event()
    watcher = EngineWatcher(engine, containers, "pop", on_reconnect=reconciled.set)  # type: ignore[arg-type]
    watcher.start()
    try:
        assert reconciled.wait(10), "no reconciliation after the stream broke"
        assert containers.exits == [("pop-1", 3)]
        assert engine.opened == 2
    finally:
        watcher.stop()
