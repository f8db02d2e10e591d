"""Backups: a consistent SQLite snapshot while another thread keeps writing, a restore that
replaces everything, and clear refusals of files of the wrong kind."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support import pg

from popvim.clock import utcnow as now
from popvim.store.backup import BackupError, backup, restore
from popvim.store.db import Store
from popvim.store.models import TokenRow


def _tokens(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(TokenRow)) or 0


def _add(store: Store, n: int) -> None:
    for _ in range(n):
        with store.session() as session:
            session.add(TokenRow(digest=uuid.uuid4().hex * 2, username="ann", expires_at=now()))


def test_sqlite_snapshot_while_writing_then_restore(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'popvim.db'}"
    store = Store(url)
    _add(store, 50)
    done = threading.Event()
    writer = threading.Thread(target=lambda: (_add(store, 200), done.set()))
    writer.start()
    target = tmp_path / "backups" / "pop.db"
    assert backup(url, target) == "SQLite database"
    writer.join()
    assert done.is_set() and target.stat().st_mode & 0o777 == 0o600
    snapshot = Store(f"sqlite:///{target}")
    taken = _tokens(snapshot)
    snapshot.close()
    assert 50 <= taken <= 250
    store.close()
    restore(url, target)
    store = Store(url)
    assert _tokens(store) == taken
    store.close()


def test_postgres_dump_and_restore_replace_the_rows(tmp_path: Path) -> None:
    url = pg.create_database(f"popvim_unit_{uuid.uuid4().hex[:8]}")
    try:
        store = Store(url)
        _add(store, 3)
        dump = tmp_path / "pop.dump"
        assert "pg_dump" in backup(url, dump)
        _add(store, 2)
        store.close()
        restore(url, dump)
        store = Store(url)
        assert _tokens(store) == 3
        store.close()
        with pytest.raises(BackupError, match="it is a PostgreSQL dump"):
            restore(f"sqlite:///{tmp_path / 'x.db'}", dump)
    finally:
        pg.drop_database(url)


def test_wrong_files_are_refused_clearly(tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'popvim.db'}"
    Store(sqlite_url).close()
    copy = tmp_path / "copy.db"
    backup(sqlite_url, copy)
    with pytest.raises(BackupError, match="it is a SQLite backup"):
        restore("postgresql+psycopg://u:p@127.0.0.1:1/x", copy)
    junk = tmp_path / "junk"
    junk.write_text("hello")
    with pytest.raises(BackupError, match="is not a SQLite backup"):
        restore(sqlite_url, junk)
    with pytest.raises(BackupError, match="no database at"):
        backup(f"sqlite:///{tmp_path / 'none.db'}", tmp_path / "b")
    with pytest.raises(BackupError, match="cannot read"):
        restore(sqlite_url, tmp_path / "missing")
