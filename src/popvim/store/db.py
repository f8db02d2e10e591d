"""Database engine and sessions: SQLite file by default, PostgreSQL by URL.

Opening a store brings its schema to this release's (``migrate.upgrade``, through ``schema``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from popvim.store import schema


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at each commit's WAL sync
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _private_sqlite_file(url: str) -> None:
    """The database file and its journal readable by us only (0600).

    SQLite gives the -wal and -shm files the mode of the database file, so
    creating that file 0600 before the first connection covers all three;
    files of an older install are corrected too.
    """
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    db = Path(path)
    if db.parent.is_dir():
        os.close(os.open(db, os.O_CREAT | os.O_RDWR, 0o600))
    for candidate in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")):
        if candidate.exists():
            candidate.chmod(0o600)


class Store:
    """Owns the SQLAlchemy engine; ``session()`` is one transaction."""

    def __init__(self, url: str, *, migrate_schema: bool = True) -> None:
        self.url = url
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            # Enough for every worker thread (REST, gRPC, stoppers, watcher, controllers) at once.
            kwargs["pool_size"] = 32
            kwargs["max_overflow"] = 96
            _private_sqlite_file(url)
        else:
            # A server connection costs the server a process: a few kept open, more while
            # a burst lasts (the REST thread pool alone has 40 workers), and waiting for
            # one is not an error for a minute.
            kwargs["pool_size"] = 8
            kwargs["max_overflow"] = 56
            kwargs["pool_timeout"] = 60
            kwargs["pool_pre_ping"] = True  # a server restart leaves dead connections in the pool
        # hide_parameters: an SQL error must never put a bound value (a password, a token) in a log line.
        self.engine: Engine = create_engine(url, hide_parameters=True, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if migrate_schema:
            schema.ensure_current(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Commits when the block ends, rolls back when it raises; the block may
        also commit part-way, to make a step durable before an engine call."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def close(self) -> None:
        self.engine.dispose()
