"""Fixtures the unit tests of the store share."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import pg


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind: a SQLite file, or a database on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'popvim.db'}"
        return
    database = pg.create_database(f"popvim_unit_{uuid.uuid4().hex[:8]}")
    yield database
    pg.drop_database(database)
