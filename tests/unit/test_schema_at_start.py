"""Opening a store applies pending migrations without leaving Alembic loaded in the process,
and an up-to-date database is recognised without Alembic at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine

from popvim.store import migrate, schema

_OPEN_TWICE = """
import sys
from popvim.store.db import Store
Store(sys.argv[1]).close()
first = "alembic" in sys.modules
Store(sys.argv[1]).close()
print(first, "alembic" in sys.modules)
"""

_WITH_LOG_WRITER = """
import sys
from popvim.observe import logs
from popvim.store.db import Store
logs.setup(False)  # as popvimd does first: its log writer thread runs while the store opens
Store(sys.argv[1]).close()
print("alembic" in sys.modules)
"""


def test_script_heads_are_alembics_heads() -> None:
    assert schema.script_heads() == set(migrate.scripts().get_heads())


def test_a_store_migrates_and_keeps_no_alembic_resident(url: str) -> None:
    out = subprocess.run([sys.executable, "-c", _OPEN_TWICE, url], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], out.stderr
    engine = create_engine(url)
    try:
        assert migrate.current(engine) == migrate.head()
    finally:
        engine.dispose()


def test_the_daemons_log_writer_still_lets_the_store_migrate_in_a_child_and_its_lines_are_kept(url: str) -> None:
    out = subprocess.run([sys.executable, "-c", _WITH_LOG_WRITER, url], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"], out.stderr
    assert f"database migrated to revision {migrate.head()}" in out.stderr
    assert out.stderr.count("database migrated to revision") == len(list(migrate.scripts().walk_revisions()))


def test_an_in_memory_database_is_migrated_in_process() -> None:
    engine = create_engine("sqlite://")
    try:
        assert schema.ensure_current(engine) == [s.revision for s in reversed(list(migrate.scripts().walk_revisions()))]
        assert schema.ensure_current(engine) == []
    finally:
        engine.dispose()


def test_revision_lines_are_read_as_alembic_writes_them(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('revision: str = "a1"\ndown_revision: str | None = None\n')
    (tmp_path / "b.py").write_text("revision = 'b2'\ndown_revision = 'a1'\n")
    assert schema.script_heads(tmp_path) == {"b2"}
