"""Log formats, and the request id that ties a request's log lines and events together.

``text`` is the historical ``key=value`` line; ``json`` is one object per line
for a log shipper, with ``time``, ``level``, ``logger``, ``event`` (the message)
and, when known, ``request_id``, ``user``, ``method``, ``route``, ``status`` and
``duration_ms``. The request id comes from the faces (``X-Request-ID`` on REST,
one per call on gRPC) through a context variable, so any line logged while
serving a request carries it, and the event bus copies it into the events the
request caused.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

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


def setup(verbose: bool, fmt: str = "text") -> None:
    if fmt not in FORMATS:
        raise ValueError(f"--log-format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("urllib3", "docker", "httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
