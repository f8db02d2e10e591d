"""``popvimd db ...``: the schema revision, migrations, backup and restore of a PoP's database.

Each command finds the database as ``popvimd`` itself does (``--config``, then
``--state-dir`` / ``--db``), so an operator passes the same options to both.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Annotated, NoReturn

import typer
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from popvim import config as cfg
from popvim.store import backup as backups

db_app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="The database: schema revision, migrations, backup and restore."
)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML file (see 'popvimd init')")]
StateDirOpt = Annotated[Path | None, typer.Option(help="where the SQLite file lives")]
DbOpt = Annotated[str | None, typer.Option(help="database URL, e.g. postgresql+psycopg://u:p@host/db")]


def _url(config_file: Path | None, state_dir: Path | None, db: str | None) -> str:
    try:
        config = cfg.load(config_file)
    except ValueError as exc:
        _fail(str(exc), 2)
    if state_dir is not None:
        config.state_dir = state_dir
    if db is not None:
        config.db = db
    return config.db_url


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"popvimd: {message}", err=True)
    raise typer.Exit(code)


def _engine(url: str, *, create: bool = False) -> Engine:
    """An engine on ``url``; a SQLite file that does not exist is made only when ``create``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.exists():
            _fail(f"there is no database at {path}")
    return create_engine(url)


def _migrate() -> ModuleType:
    """Alembic, imported by the commands that use it: popvimd loads this module to serve, and must not
    keep Alembic resident for that (see ``store.schema``)."""
    from popvim.store import migrate

    return migrate


def _shown(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url


@db_app.command()
def current(config_file: ConfigOpt = None, state_dir: StateDirOpt = None, db: DbOpt = None) -> None:
    """Print the database's schema revision and this popvimd's newest ("head")."""
    migrate = _migrate()
    url = _url(config_file, state_dir, db)
    engine = _engine(url)
    try:
        revision = migrate.current(engine)
    except SQLAlchemyError as exc:
        _fail(f"cannot read {_shown(url)}: {exc.__cause__ or exc}")
    finally:
        engine.dispose()
    head = migrate.head()
    state = (
        "up to date"
        if revision == head
        else "none (empty, or made before migrations)"
        if revision is None
        else "pending migrations"
        if revision in {s.revision for s in migrate.scripts().walk_revisions()}
        else "newer than this popvimd"
    )
    typer.echo(f"database: {_shown(url)}\nrevision: {revision or '-'}\nhead: {head}\nstate: {state}")


@db_app.command()
def upgrade(
    config_file: ConfigOpt = None,
    state_dir: StateDirOpt = None,
    db: DbOpt = None,
    revision: Annotated[str, typer.Option(help="target revision")] = "head",
) -> None:
    """Apply pending migrations (popvimd also does this at every start)."""
    from alembic.util import CommandError

    migrate = _migrate()
    url = _url(config_file, state_dir, db)
    engine = _engine(url, create=True)
    try:
        applied = migrate.upgrade(engine, revision)
        after = migrate.current(engine)
    except migrate.MigrationError as exc:
        _fail(str(exc))
    except SQLAlchemyError as exc:
        _fail(f"cannot migrate {_shown(url)}: {exc.__cause__ or exc}")
    except CommandError as exc:  # e.g. an unknown or older target revision
        _fail(f"cannot upgrade to {revision!r}: {exc}")
    finally:
        engine.dispose()
    typer.echo(f"applied: {', '.join(applied) or 'nothing'}\nrevision: {after}")


@db_app.command()
def downgrade(
    revision: Annotated[str, typer.Argument(help="the revision to go back to, e.g. one 'db current' printed")],
    config_file: ConfigOpt = None,
    state_dir: StateDirOpt = None,
    db: DbOpt = None,
) -> None:
    """Undo migrations down to REVISION, to run an older popvimd on this database (stop popvimd first)."""
    from alembic.util import CommandError

    migrate = _migrate()
    url = _url(config_file, state_dir, db)
    engine = _engine(url)
    try:
        migrate.downgrade(engine, revision)
        after = migrate.current(engine)
    except migrate.MigrationError as exc:
        _fail(str(exc))
    except SQLAlchemyError as exc:
        _fail(f"cannot migrate {_shown(url)}: {exc.__cause__ or exc}")
    except CommandError as exc:  # e.g. an unknown or newer target revision
        _fail(f"cannot downgrade to {revision!r}: {exc}")
    finally:
        engine.dispose()
    typer.echo(f"revision: {after or '-'}")


@db_app.command("backup")
def backup_command(
    file: Annotated[Path, typer.Argument(help="where to write the backup")],
    config_file: ConfigOpt = None,
    state_dir: StateDirOpt = None,
    db: DbOpt = None,
) -> None:
    """Write a consistent snapshot of the database to FILE; popvimd may keep running."""
    url = _url(config_file, state_dir, db)
    try:
        kind = backups.backup(url, file)
    except backups.BackupError as exc:
        _fail(str(exc))
    typer.echo(f"wrote {file} ({kind})")


@db_app.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(help="a file 'popvimd db backup' wrote")],
    config_file: ConfigOpt = None,
    state_dir: StateDirOpt = None,
    db: DbOpt = None,
) -> None:
    """Replace the database by the backup in FILE. Stop popvimd first; its next start
    migrates the restored schema if needed and reconciles with the engine."""
    url = _url(config_file, state_dir, db)
    try:
        backups.restore(url, file)
    except backups.BackupError as exc:
        _fail(str(exc))
    typer.echo(f"restored {_shown(url)} from {file}")
