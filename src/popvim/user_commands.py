"""``popvimd user add|passwd|del|list``: users and roles in the config file.

The file edited is the config file given with ``--config`` (its ``[users]``
table), else ``<state-dir>/users.toml``, the file a daemon without a config
keeps its users in. Only bcrypt hashes are written. Changing a password or
deleting a user deletes that user's tokens from the database at once; a
running daemon also re-reads the file within about a second and refuses the
tokens it had cached.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from popvim import config as cfg
from popvim.store.db import Store
from popvim.vim.auth import hash_password, revoke_user_tokens
from popvim.vim.users import ORCHESTRATOR_USER, Role, User, read_users_file, write_users_file

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Users and their roles (admin, operator, reader) in the config file, or <state-dir>/users.toml "
    "without one. Changing a password or deleting a user ends that user's tokens, in a running popvimd too.",
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")

ConfigOption = Annotated[Path | None, typer.Option("--config", help="the config file whose [users] to edit")]
StateDirOption = Annotated[Path | None, typer.Option(help="where users.toml and the database are, without --config")]
DbOption = Annotated[str | None, typer.Option(help="database URL, when not the config's or the state dir's")]
PasswordOption = Annotated[
    str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="prompted for when not given")
]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"popvimd: {message}", err=True)
    return typer.Exit(code)


def _target(config_file: Path | None, state_dir: Path | None, db: str | None) -> tuple[Path, cfg.Config]:
    """The users file to edit, and the config that says where the database is."""
    if config_file and not config_file.exists():
        raise _fail(f"{config_file} does not exist (make one with 'popvimd init')", 2)
    try:
        config = cfg.load(config_file) if config_file else cfg.Config()
    except ValueError as exc:
        raise _fail(str(exc), 2) from exc
    if state_dir is not None:
        config.state_dir = state_dir
    if db is not None:
        config.db = db
    return (config_file or cfg.users_path(config)), config


def _users(path: Path) -> dict[str, User]:
    if not path.exists():
        return {}
    try:
        return read_users_file(path)
    except ValueError as exc:
        raise _fail(str(exc), 2) from exc


def _hash(password: str) -> str:
    try:
        return hash_password(password)
    except ValueError as exc:
        raise _fail(str(exc), 2) from exc


def _revoke(config: cfg.Config, name: str) -> None:
    """Delete the user's tokens; a database that was never made has none."""
    url = config.db_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return
    try:
        store = Store(url)
        try:
            count = revoke_user_tokens(store, [name])
        finally:
            store.close()
    except Exception as exc:
        raise _fail(
            f"the file was changed, but the tokens of {name!r} could not be deleted from the database "
            f"({type(exc).__name__}); a running popvimd ends them when it re-reads the file"
        ) from exc
    typer.echo(f"ended {count} token(s) of {name!r}")


@app.command("add")
def add(
    name: str,
    role: Annotated[Role, typer.Option(help="admin, operator or reader")] = Role.READER,
    password: PasswordOption = "",
    config_file: ConfigOption = None,
    state_dir: StateDirOption = None,
    db: DbOption = None,
) -> None:
    """Add a user with a role (reader unless --role says otherwise)."""
    if not _NAME.match(name) or name == ORCHESTRATOR_USER:
        raise _fail(f"{name!r} cannot be a user name (letters, digits, '_', '.', '@', '-'; 1-64; not reserved)", 2)
    path, _config = _target(config_file, state_dir, db)
    users = _users(path)
    if name in users:
        raise _fail(f"user {name!r} exists already in {path} (use 'popvimd user passwd')")
    users[name] = User(_hash(password), role)
    write_users_file(path, users)
    typer.echo(f"added {name!r} ({role.value}) to {path}")
    if not any(u.role is Role.ADMIN for u in users.values()):
        typer.echo(f"popvimd: note: {path} has no admin; add one (--role admin) to manage the PoP registry", err=True)


@app.command("passwd")
def passwd(
    name: str,
    password: PasswordOption = "",
    config_file: ConfigOption = None,
    state_dir: StateDirOption = None,
    db: DbOption = None,
) -> None:
    """Give a user a new password; the user's tokens end."""
    path, config = _target(config_file, state_dir, db)
    users = _users(path)
    if name not in users:
        raise _fail(f"no user {name!r} in {path}")
    users[name] = User(_hash(password), users[name].role)
    write_users_file(path, users)
    typer.echo(f"changed the password of {name!r} in {path}")
    _revoke(config, name)


@app.command("del")
def delete(name: str, config_file: ConfigOption = None, state_dir: StateDirOption = None, db: DbOption = None) -> None:
    """Delete a user (never the last admin); the user's tokens end."""
    path, config = _target(config_file, state_dir, db)
    users = _users(path)
    if name not in users:
        raise _fail(f"no user {name!r} in {path}")
    gone = users.pop(name)
    if gone.role is Role.ADMIN and not any(u.role is Role.ADMIN for u in users.values()):
        raise _fail(f"{name!r} is the last admin in {path}; add another admin first")
    write_users_file(path, users)
    typer.echo(f"deleted {name!r} from {path}")
    _revoke(config, name)


@app.command("list")
def list_users(config_file: ConfigOption = None, state_dir: StateDirOption = None) -> None:
    """Each user with its role."""
    path, _config = _target(config_file, state_dir, None)
    for name, user in sorted(_users(path).items()):
        typer.echo(f"{name}\t{user.role.value}")
