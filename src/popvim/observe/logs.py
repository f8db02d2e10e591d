"""Log formats, and the request id that ties a request's log lines and events together.

``text`` is the historical ``key=value`` line; ``json`` is one object per line
for a log shipper, with ``time``, ``level``, ``logger``, ``event`` (the message)
and, when known, ``request_id``, ``user``, ``method``, ``route``, ``status`` and
``duration_ms``. The request id comes from the faces (``X-Request-ID`` on REST,
one per call on gRPC) through a context variable, so any line logged while
serving a request carries it, and the event bus copies it into the events the
request caused.

Lines are written by a thread of their own: the event loop only puts a record on a
queue. A ``write`` to stderr blocks while the disk is busy or the reader of a pipe
(journald, a shell) lags, and on the loop that stalls every request at once; under
a flood of refused requests (one access line each) it did, for up to seconds.
"""

from __future__ import annotations

import atexit
import copy
import json
import logging
import logging.handlers
import os
import queue
import re
import sys
import threading
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from popvim.observe import metrics

request_id: ContextVar[str | None] = ContextVar("popvim_request_id", default=None)

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"
FIELDS = ("request_id", "user", "method", "route", "status", "duration_ms")
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def new_request_id(offered: str | None = None) -> str:
    """The client's id when it is sane (so a caller can correlate), else a fresh one."""
    if offered and _VALID_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is None and name == "request_id":
                value = request_id.get()
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


QUEUE_LINES = 10_000  # records waiting for the writer; beyond, new ones are dropped (and counted)


class Enqueue(logging.handlers.QueueHandler):
    """Hands records to the writer thread as they are, but with the message made (its arguments may
    change after the call) and the request id taken from the caller's context, which the writer lacks."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = copy.copy(record)
        record.msg, record.args = record.getMessage(), None
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:  # the writer is stuck: lose lines rather than memory or the loop
            metrics.LOG_LINES_DROPPED.inc()


_listener: logging.handlers.QueueListener | None = None
_writer: tuple[queue.Queue[logging.LogRecord], logging.Handler] | None = None  # the listener's queue and handler


@atexit.register
def flush() -> None:
    """Writes the lines still queued and stops the writer (at exit; again at the next ``setup``)."""
    global _listener, _writer
    if _listener is not None:
        try:
            _listener.stop()
        except queue.Full:  # no room for the stop mark: the writer is stuck, nothing to wait for
            pass
        _listener = _writer = None


def _before_fork() -> None:
    """Holds the writer between two lines across an ``os.fork`` (the store migrates in a forked child):
    a lock it held at that moment would stay held in the child for ever."""
    if _writer is not None:
        lines, handler = _writer
        lines.mutex.acquire()
        handler.acquire()


def _after_fork_in_parent() -> None:
    if _writer is not None:
        lines, handler = _writer
        handler.release()
        lines.mutex.release()


def _after_fork_in_child() -> None:
    """The writer thread does not exist in the child: its lines go straight to stderr, formatted alike."""
    global _listener, _writer
    if _writer is not None:
        direct = logging.StreamHandler(sys.stderr)
        direct.setFormatter(_writer[1].formatter)
        logging.getLogger().handlers[:] = [direct]
        _listener = _writer = None


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)


def mark_fork_safe(thread: threading.Thread | None) -> None:
    """Says that ``thread`` holds no lock across an ``os.fork`` (its module's fork hooks see to it), so a
    child may be forked while it runs (``popvim.store.schema`` asks, with ``fork_safe``)."""
    if thread is not None:
        thread.popvim_fork_safe = True  # type: ignore[attr-defined]


def setup(verbose: bool, fmt: str = "text") -> None:
    global _listener, _writer
    if fmt not in FORMATS:
        raise ValueError(f"--log-format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    lines: queue.Queue[logging.LogRecord] = queue.Queue(QUEUE_LINES)
    flush()
    _listener = logging.handlers.QueueListener(lines, handler)
    _listener.start()
    _writer = (lines, handler)
    mark_fork_safe(_listener._thread)  # noqa: SLF001 - its only handle
    root = logging.getLogger()
    root.handlers[:] = [Enqueue(lines)]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("urllib3", "docker", "httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
