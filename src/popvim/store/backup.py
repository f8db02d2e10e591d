"""Backups of the whole database, taken while popvimd runs, restored while it is stopped.

SQLite: sqlite3's online backup API copies a consistent snapshot page by page
(the WAL included), and restores through the same API so no stale ``-wal`` file
can outlive the restore. PostgreSQL: ``pg_dump --format=custom`` (one snapshot
transaction) and ``pg_restore --clean --single-transaction``, so the file is an
ordinary dump an operator can also handle with the server's own tools.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing, nullcontext
from pathlib import Path

from sqlalchemy.engine import URL, make_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


def backup(url: str, target: Path) -> str:
    """Write a snapshot of the database at ``url`` to ``target`` (mode 0600: it holds
    PoP passwords and token digests); returns what kind of file it is."""
    parsed = make_url(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        if parsed.get_backend_name() == "sqlite":
            kind = "SQLite database"
            source = _sqlite_path(parsed)
            if not source.exists():
                raise BackupError(f"there is no database at {source}")
            with _Private(partial), closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(partial)) as dst:
                src.backup(dst)
        elif parsed.get_backend_name() == "postgresql":
            kind = "PostgreSQL dump (pg_dump custom format)"
            with _Private(partial):
                _pg_tool("pg_dump", parsed, ["--format=custom", "--no-owner", "--no-privileges", f"--file={partial}"])
        else:
            raise BackupError(f"cannot back up a {parsed.get_backend_name()} database")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return kind


def restore(url: str, source: Path) -> None:
    """Replace the database at ``url`` by the backup in ``source``. popvimd must be stopped:
    its next start migrates the restored schema if it is older and reconciles with the engine."""
    parsed = make_url(url)
    try:
        magic = source.read_bytes()[:16] if source.stat().st_size else b""
    except OSError as exc:
        raise BackupError(f"cannot read {source}: {exc.strerror}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not magic.startswith(SQLITE_MAGIC):
            raise BackupError(
                f"{source} is not a SQLite backup"
                + (" (it is a PostgreSQL dump)" if magic.startswith(PGDUMP_MAGIC) else "")
            )
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src:
            if src.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} is a damaged SQLite file")
            if not _has_popvim_tables(src):
                raise BackupError(f"{source} holds no popvim tables")
            target = _sqlite_path(parsed)
            target.parent.mkdir(parents=True, exist_ok=True)
            with _Private(target) if not target.exists() else nullcontext(), closing(sqlite3.connect(target)) as dst:
                src.backup(dst)
    elif backend == "postgresql":
        if not magic.startswith(PGDUMP_MAGIC):
            raise BackupError(
                f"{source} is not a pg_dump custom-format file"
                + (" (it is a SQLite backup)" if magic.startswith(SQLITE_MAGIC) else "")
            )
        _pg_tool(
            "pg_restore",
            parsed,
            [
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                str(source),
            ],
        )
    else:
        raise BackupError(f"cannot restore into a {backend} database")


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore")
    return Path(url.database)


def _has_popvim_tables(connection: sqlite3.Connection) -> bool:
    names = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return "containers" in names


class _Private:
    """Files made inside are readable by the owner only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        self._umask = os.umask(0o077)

    def __exit__(self, *_exc: object) -> None:
        os.umask(self._umask)
        if self.path.exists():
            self.path.chmod(0o600)


def _pg_binary(name: str) -> str:
    """The newest installed client (pg_dump must not be older than the server)."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    found = str(versions[-1]) if versions else shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return found


def _pg_tool(name: str, url: URL, args: list[str]) -> None:
    """Run a libpq tool on ``url``: the password goes by environment, never on the command line."""
    conninfo = {"host": url.host, "port": url.port, "user": url.username, "dbname": url.database}
    conninfo.update({k: v for k, v in url.query.items() if isinstance(v, str)})
    dsn = " ".join(f"{k}='{_quoted(str(v))}'" for k, v in conninfo.items() if v is not None)
    env = {**os.environ}
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    command = [_pg_binary(name), f"--dbname={dsn}", *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{name} failed: {result.stderr.strip() or f'exit code {result.returncode}'}")


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
