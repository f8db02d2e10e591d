"""State changes as events: logged, and handed to whoever subscribed.

Faces subscribe to stream them (an operator's event feed); the domain only
publishes and never waits for a subscriber.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from popvim.clock import utcnow_aware
from popvim.observe import logs, metrics

log = logging.getLogger("popvim.events")


@dataclass(frozen=True)
class Event:
    kind: str  # container.state, network.created, ...
    subject: str  # the id of the container or network
    data: dict[str, Any] = field(default_factory=dict)
    time: datetime = field(default_factory=utcnow_aware)  # aware UTC: a feed reader in any zone reads it right


class EventBus:
    def __init__(self, backlog: int = 1000) -> None:
        self._subscribers: list[queue.Queue[Event]] = []
        self._callbacks: list[Callable[[Event], None]] = []
        self._backlogs: dict[int, Callable[[], int]] = {}
        self._lock = threading.Lock()
        self._backlog = backlog

    def publish(self, kind: str, subject: str, **data: Any) -> None:
        rid = logs.request_id.get()
        if rid is not None and "request_id" not in data:
            data["request_id"] = rid  # the request that caused it, for correlation with the logs
        event = Event(kind, subject, data)
        metrics.EVENTS.labels(kind).inc()
        if kind == "container.state" and isinstance(data.get("state"), str):
            metrics.CONTAINER_TRANSITIONS.labels(data["state"]).inc()
        log.info("%s subject=%s %s", kind, subject, " ".join(f"{k}={v}" for k, v in data.items()))
        with self._lock:
            subscribers = list(self._subscribers)
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(event)
            except Exception:
                log.exception("event subscriber failed")
        for q in subscribers:
            try:
                q.put_nowait(event)
            except queue.Full:  # a slow reader loses events rather than slowing the domain
                metrics.EVENTS_DROPPED.inc()

    def subscribe(self) -> queue.Queue[Event]:
        q: queue.Queue[Event] = queue.Queue(self._backlog)
        with self._lock:
            self._subscribers.append(q)
        return q

    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers) + len(self._callbacks)

    def max_backlog(self) -> int:
        """Events queued for the slowest subscriber: how far the event stream lags."""
        with self._lock:
            sizes = [q.qsize() for q in self._subscribers] + [size() for size in self._backlogs.values()]
        return max(sizes, default=0)

    def watch(self, callback: Callable[[Event], None], backlog: Callable[[], int] | None = None) -> Callable[[], None]:
        """Calls ``callback`` (which must not block) with every event; returns the way to stop.

        What an asynchronous face needs: it hands each event to its own loop, and no
        thread waits on its behalf. ``backlog`` tells how many it holds undelivered.
        """
        with self._lock:
            self._callbacks.append(callback)
            if backlog is not None:
                self._backlogs[id(callback)] = backlog

        def stop() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)
                self._backlogs.pop(id(callback), None)

        return stop

    def unsubscribe(self, q: queue.Queue[Event]) -> None:
        with self._lock:
            if q in self._subscribers:
                self._subscribers.remove(q)

    def iterate(self, q: queue.Queue[Event], timeout: float) -> Iterator[Event | None]:
        """Events from ``q``; ``None`` after ``timeout`` seconds of silence (a keep-alive chance)."""
        while True:
            try:
                yield q.get(timeout=timeout)
            except queue.Empty:
                yield None
