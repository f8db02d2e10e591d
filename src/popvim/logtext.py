"""User text in log lines: escaped and cut, so a value can neither forge a log line
(a newline, a fake ``level=``) nor flood the log."""

from __future__ import annotations

import json
import re

_PLAIN = re.compile(r"[A-Za-z0-9_.@:/+-]*")


def shown(value: object, limit: int = 64) -> str:
    """``value`` as it may appear after ``key=``: as it is when it is plain, else as a
    JSON string (control characters, quotes, spaces and non-ASCII escaped); at most
    ``limit`` characters of it, ``...`` marking a cut."""
    text = str(value)
    cut = len(text) > limit
    text = text[:limit]
    if _PLAIN.fullmatch(text):
        return text + ("..." if cut else "")
    return json.dumps(text + ("..." if cut else ""))
