"""The one clock for stored and published times: UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """UTC without tzinfo: what every supported database stores the same way (SQLite drops the zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


def utcnow_aware() -> datetime:
    """UTC with its zone, for values that never pass through the database (events)."""
    return datetime.now(UTC)
