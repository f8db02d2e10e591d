"""Alembic owns the schema: popvimd applies pending migrations when it opens the store.

The scripts ship inside the package (``migrations/``) and are configured here, so
no ``alembic.ini`` is needed at run time. A database made by ``create_all`` before
migrations existed has tables but no ``alembic_version``: it is checked against the
first migration's schema and stamped with it, then upgraded like any other.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, inspect, text

log = logging.getLogger("popvim.store")
MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_KEY = 0x706F7076696D  # "popvim": one migrating process at a time on a PostgreSQL server


class MigrationError(Exception):
    """The database cannot be brought to this popvimd's schema; the message says why and what to do."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    revision = scripts().get_current_head()
    assert revision is not None
    return revision


def first() -> str:
    """The revision that reproduces the schema of the releases before migrations."""
    bases = scripts().get_bases()
    assert len(bases) == 1, bases
    return bases[0]


def current(engine: Engine) -> str | None:
    """The database's revision; None when it has none (empty, or made before migrations)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for a whole migration. On SQLite, foreign keys are off meanwhile (a
    migration that rebuilds a table drops the original, which references would refuse) and
    back as they were before the connection returns to the pool."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            enforced = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                yield connection
        finally:
            if sqlite:
                connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if enforced else 'OFF'}")
                connection.commit()


def upgrade(engine: Engine, revision: str = "head") -> list[str]:
    """Bring the database to ``revision``; returns the revisions applied, oldest first."""
    with _migrating(engine) as connection:
        _lock(connection)
        before = _checked_revision(connection)
        if before is None and _is_legacy(connection):
            _adopt_legacy(connection)
            before = first()
        command.upgrade(_config(connection), revision)
        after = MigrationContext.configure(connection).get_current_revision()
    applied = _between(before, after)
    for rev in applied:
        log.info("database migrated to revision %s (%s)", rev, scripts().get_revision(rev).doc)
    return applied


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to ``revision`` (to run an older popvimd; restoring a backup is the other way)."""
    if revision == "base" or revision.startswith("-"):
        raise MigrationError(
            f"name the revision to go back to (the first is {first()}): going below it drops "
            "every table, and relative steps are easy to get wrong"
        )
    with _migrating(engine) as connection:
        _lock(connection)
        if _checked_revision(connection) is None:
            raise MigrationError("the database has no revision to go back from")
        command.downgrade(_config(connection), revision)


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def _checked_revision(connection: Connection) -> str | None:
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is not None and revision not in {s.revision for s in scripts().walk_revisions()}:
        raise MigrationError(
            f"the database is at schema revision {revision}, which this popvimd does not know (its newest is "
            f"{head()}): it was written by a newer popvim; run that version, or restore a backup made before"
        )
    return revision


def _between(before: str | None, after: str | None) -> list[str]:
    if after is None or before == after:
        return []
    chain = [s.revision for s in scripts().iterate_revisions(after, before or "base")]
    return list(reversed(chain))


def _is_legacy(connection: Connection) -> bool:
    return "containers" in inspect(connection).get_table_names()


def _baseline_columns() -> dict[str, set[str]]:
    """Every table and column of the first migration, as built in a scratch in-memory database."""
    scratch = create_engine("sqlite://")
    try:
        with scratch.begin() as connection:
            command.upgrade(_config(connection), first())
            inspector = inspect(connection)
            return {
                t: {c["name"] for c in inspector.get_columns(t)}
                for t in inspector.get_table_names()
                if t != "alembic_version"
            }
    finally:
        scratch.dispose()


def _adopt_legacy(connection: Connection) -> None:
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    missing: list[str] = []
    for table, columns in sorted(_baseline_columns().items()):
        if table not in tables:
            missing.append(f"table {table}")
            continue
        present = {c["name"] for c in inspector.get_columns(table)}
        missing += [f"column {table}.{c}" for c in sorted(columns - present)]
    if missing:
        raise MigrationError(
            "the database has popvim tables but no schema revision, and lacks "
            + ", ".join(missing)
            + f" of the first revision ({first()}): it is not a popvim database this version can adopt"
        )
    command.stamp(_config(connection), first())
    log.info("database made before migrations: recognised as revision %s", first())
