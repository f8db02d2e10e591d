"""``EventWatch``: one PoP's event stream kept open, for controllers that react instead of polling.

A stream breaks (the PoP restarts, the network drops, a token expires); the
watch opens it again with a growing pause, and calls ``on_open`` each time the
new stream is in place, so its owner re-lists what it watches and misses
nothing that happened while it was blind. A stream that stays silent for
three keepalive periods is taken as dead and reopened.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

from popvim.client.errors import PopError
from popvim.client.models import Event

log = logging.getLogger(__name__)


class Stream(Protocol):
    def __iter__(self) -> Iterator[Event]: ...

    def cancel(self) -> None: ...


class EventSource(Protocol):
    """What a watch needs of a client (``PopClient`` is one)."""

    def events(self, kinds: list[str] | None = None, keepalive: float = 0.0) -> Stream: ...


class EventWatch:
    """Calls ``on_event`` with every event of the PoP, from a thread of its own, until ``stop``.

    ``client`` is a callable returning the client to use, asked again at each
    reconnection (a PoP's registration may change). Callbacks run on the
    watch's thread: they should hand long work elsewhere.
    """

    def __init__(
        self,
        name: str,
        client: Callable[[], EventSource],
        on_event: Callable[[Event], None],
        on_open: Callable[[], None] | None = None,
        kinds: list[str] | None = None,
        keepalive: float = 5.0,
        backoff: tuple[float, float] = (0.2, 5.0),
    ) -> None:
        self.name = name
        self._client = client
        self._on_event = on_event
        self._on_open = on_open
        self._kinds = kinds
        self._keepalive = keepalive
        self._backoff = backoff
        self._stop = threading.Event()
        self._call: Stream | None = None
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.opened = 0  # streams opened so far: visible for tests
        self._thread = threading.Thread(target=self._run, name=f"popvim-events-{name}", daemon=True)

    def start(self) -> EventWatch:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        pause = self._backoff[0]
        while not self._stop.is_set():
            try:
                self._stream()
                pause = self._backoff[0]  # it ran and ended: reconnect at once
            except PopError as exc:
                log.info("event stream of %s broke: %s", self.name, exc)
            except Exception:
                log.exception("event stream of %s failed", self.name)
            self.connected.clear()
            if self._stop.wait(pause):
                return
            pause = min(pause * 2, self._backoff[1])

    def _stream(self) -> None:
        stream = self._client().events(self._kinds, self._keepalive)
        with self._lock:
            self._call = stream
        watchdog = _Watchdog(3 * self._keepalive, stream)
        try:
            for event in stream:
                watchdog.fed()
                if self._stop.is_set():
                    return
                if event.kind == "stream.open":
                    self.opened += 1
                    self.connected.set()
                    if self._on_open is not None:
                        self._on_open()
                    continue
                if event.kind == "keepalive":
                    continue
                self._on_event(event)
        finally:
            watchdog.cancel()
            with self._lock:
                self._call = None


class _Watchdog:
    """Closes a stream that has been silent for ``limit`` seconds (the link died without a reset)."""

    def __init__(self, limit: float, stream: Stream) -> None:
        self._limit = limit
        self._stream = stream
        self._fed = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="popvim-events-watchdog", daemon=True)
        self._thread.start()

    def fed(self) -> None:
        self._fed.set()

    def cancel(self) -> None:
        self._done.set()

    def _run(self) -> None:
        while not self._done.is_set():
            self._fed.clear()
            if self._done.wait(self._limit):
                return
            if not self._fed.is_set():
                log.info("event stream silent for %.0fs: reopening it", self._limit)
                self._stream.cancel()
                return
