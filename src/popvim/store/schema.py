"""Bringing the schema up to date at start without keeping Alembic in the daemon.

Alembic (with Mako, Pygments and every SQLAlchemy dialect it pulls in) costs
popvimd about 15 MiB that would stay resident for its whole life, while it is
needed only when a migration is pending. So the store first compares the
database's revision with the newest script's, both read with plain SQL and a
look at the script files; only when they differ does ``migrate.upgrade`` run,
in a forked child where that is safe (a file or server database, one thread),
so that its imports die with the child.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text

log = logging.getLogger("popvim.store")
VERSIONS = Path(__file__).with_name("migrations") / "versions"
_FIELD = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


class SchemaError(Exception):
    """The migration child failed in a way that is not a ``MigrationError`` (a crash)."""


def script_heads(versions: Path = VERSIONS) -> set[str]:
    """The revisions no other script revises, read from the scripts' ``revision`` and ``down_revision``
    lines (Alembic's own convention for them), without importing Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in versions.glob("*.py"):
        fields = dict(_FIELD.findall(script.read_text()))
        revision = _literal(fields.get("revision", ""))
        if revision:
            revisions.add(revision)
            parents.add(_literal(fields.get("down_revision", "")))
    return revisions - parents


def _literal(value: str) -> str:
    value = value.strip()
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"" else ""


def stored_revision(engine: Engine) -> str | None:
    """The revision in ``alembic_version``; None when the table is missing or empty."""
    with engine.connect() as connection:
        if "alembic_version" not in inspect(connection).get_table_names():
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_current(engine: Engine) -> list[str]:
    """Apply pending migrations (``migrate.upgrade``); returns the revisions applied, oldest first."""
    heads = script_heads()
    if len(heads) == 1 and stored_revision(engine) in heads:
        return []
    if _can_fork(engine):
        return _upgrade_in_child(engine)
    from popvim.store import migrate

    return migrate.upgrade(engine)


def _can_fork(engine: Engine) -> bool:
    """An in-memory database lives in this process only; with other threads running, a lock one of them
    holds would stay held in the child forever, unless the thread is marked safe to fork beside (the log
    writer is: ``popvim.observe.logs.mark_fork_safe``, whose fork hooks hold it between two lines)."""
    database = engine.url.database or ""
    in_memory = engine.url.get_backend_name() == "sqlite" and database in ("", ":memory:")
    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    return hasattr(os, "fork") and not in_memory and all(getattr(t, "popvim_fork_safe", False) for t in others)


def _upgrade_in_child(engine: Engine) -> list[str]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: migrate, report through the pipe, and never return into the caller's code
        os.close(read)
        code = 0
        try:
            engine.dispose(close=False)  # the parent's pooled connections stay the parent's
            from popvim.store import migrate

            answer: dict[str, Any]
            try:
                answer = {"applied": migrate.upgrade(engine)}
            except migrate.MigrationError as exc:
                answer = {"migration_error": str(exc)}
            except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
                answer = {"crash": f"{type(exc).__name__}: {exc}"}
            os.write(write, json.dumps(answer).encode())
        except BaseException:  # noqa: BLE001 - whatever happens, the child must not go on as the daemon
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    engine.dispose()  # connections opened before the schema changed are not reused
    answer = json.loads(data) if data else {"crash": "the migration process died"}
    assert isinstance(answer, dict)
    if "migration_error" in answer:
        from popvim.store.migrate import MigrationError

        raise MigrationError(answer["migration_error"])
    if "crash" in answer:
        raise SchemaError(f"migrating the database failed: {answer['crash']}")
    applied: list[str] = answer["applied"]
    return applied
