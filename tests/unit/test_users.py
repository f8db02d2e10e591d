"""Users and roles: the file forms, re-reading it, revocation, and ``popvimd user``."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import bcrypt
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from popvim import config as cfg
from popvim.daemon import app
from popvim.store.db import Store
from popvim.store.models import TokenRow
from popvim.vim import auth, users
from popvim.vim.auth import AuthService, hash_password
from popvim.vim.errors import BadCredentials, Forbidden, PermissionDenied
from popvim.vim.users import Role, User, UserDirectory, read_users_file, write_users_file


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-read and re-verify at every call, so tests need no clock."""
    monkeypatch.setattr(users, "RELOAD_INTERVAL", 0.0)
    monkeypatch.setattr(auth, "CACHE_SECONDS", 0.0)


def quick_hash(password: str) -> str:
    return hash_password(password, rounds=4)


def test_both_forms_of_the_users_table(tmp_path: Path) -> None:
    path = tmp_path / "popvimd.toml"
    old, new = quick_hash("a"), quick_hash("b")
    path.write_text(
        f'[pop]\nname = "p"\n\n[users]\nroot = "{old}"\n\n[users.ann]\npassword = "{new}"\nrole = "reader"\n'
    )
    loaded = cfg.load(path)
    assert loaded.users == {"root": User(old, Role.ADMIN), "ann": User(new, Role.READER)}
    assert loaded.users_file == path
    loaded.users["bob"] = User(quick_hash("c"), Role.OPERATOR)
    write_users_file(path, loaded.users)
    data = tomllib.loads(path.read_text())
    assert data["pop"] == {"name": "p"}  # the rest of the file is kept
    assert data["users"]["root"] == old and data["users"]["bob"]["role"] == "operator"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_users_file(path) == loaded.users


def test_roles_are_ordered() -> None:
    assert Role.ADMIN.allows(Role.OPERATOR) and Role.OPERATOR.allows(Role.READER)
    assert not Role.READER.allows(Role.OPERATOR) and not Role.OPERATOR.allows(Role.ADMIN)


def test_popd_auth_may_carry_a_role(monkeypatch: pytest.MonkeyPatch) -> None:
    found = cfg.users_from_env("a:1,b:2:reader,c:with:colons,d:x:operator")
    assert {n: u.role for n, u in found.items()} == {
        "a": Role.ADMIN,
        "b": Role.READER,
        "c": Role.ADMIN,
        "d": Role.OPERATOR,
    }
    assert bcrypt.checkpw(b"with:colons", found["c"].password_hash.encode())
    assert bcrypt.checkpw(b"2", found["b"].password_hash.encode())


@pytest.fixture
def setup(tmp_path: Path) -> tuple[AuthService, Path, Store]:
    path = tmp_path / "users.toml"
    write_users_file(path, {"root": User(quick_hash("r")), "ann": User(quick_hash("pw"), Role.READER)})
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    return AuthService(store, UserDirectory(read_users_file(path), path), 60), path, store


def test_roles_are_enforced_by_authorize(setup: tuple[AuthService, Path, Store]) -> None:
    service, _path, _store = setup
    service.authorize("ann", Role.READER, "a read")
    with pytest.raises(Forbidden, match=r"ann.*reader.*needs operator"):
        service.authorize("ann", Role.OPERATOR, "POST /v1/containers")
    service.add_user("orch", quick_hash("o"), Role.OPERATOR)
    service.authorize("orch", Role.OPERATOR, "x")
    with pytest.raises(Forbidden):
        service.authorize("orch", Role.ADMIN, "POST /v1/pops")


def test_a_changed_password_ends_the_tokens_held(setup: tuple[AuthService, Path, Store]) -> None:
    service, path, _store = setup
    token, _ = service.login("ann", "pw")
    root_token, _ = service.login("root", "r")
    assert service.verify(token) == "ann"
    current = read_users_file(path)
    current["ann"] = User(quick_hash("new"), Role.READER)
    write_users_file(path, current)
    with pytest.raises(PermissionDenied):
        service.verify(token)
    with pytest.raises(BadCredentials):
        service.login("ann", "pw")
    assert service.verify(root_token) == "root"
    fresh, _ = service.login("ann", "new")
    assert service.verify(fresh) == "ann"


def test_a_deleted_user_cannot_use_its_token_nor_log_in(setup: tuple[AuthService, Path, Store]) -> None:
    service, path, _store = setup
    token, _ = service.login("ann", "pw")
    write_users_file(path, {"root": read_users_file(path)["root"]})
    with pytest.raises(PermissionDenied):
        service.verify(token)
    with pytest.raises(BadCredentials):
        service.login("ann", "pw")


def test_a_token_deleted_elsewhere_is_not_honoured_from_the_cache(setup: tuple[AuthService, Path, Store]) -> None:
    service, _path, store = setup
    token, _ = service.login("ann", "pw")
    assert service.verify(token) == "ann"  # now cached
    assert auth.revoke_user_tokens(store, ["ann"]) == 1
    with pytest.raises(PermissionDenied):
        service.verify(token)


def test_a_broken_users_file_keeps_the_users_known(setup: tuple[AuthService, Path, Store]) -> None:
    service, path, _store = setup
    token, _ = service.login("ann", "pw")
    path.write_text("not = = toml")
    assert service.verify(token) == "ann"


# --- popvimd user ----------------------------------------------------------------------
def run(*args: str, input: str | None = None) -> str:
    result = CliRunner().invoke(app, ["user", *args], input=input)
    assert result.exit_code == 0, result.output
    return result.output


def fails(*args: str) -> str:
    result = CliRunner().invoke(app, ["user", *args])
    assert result.exit_code != 0, result.output
    return result.output


def test_user_commands_edit_the_config_and_end_tokens(tmp_path: Path) -> None:
    config = tmp_path / "popvimd.toml"
    state = tmp_path / "state"
    CliRunner().invoke(app, ["init", "--config", str(config), "--state-dir", str(state)], input="root\nr\nr\n")
    where = ["--config", str(config)]
    run("add", "ann", "--role", "operator", *where, input="first-secret\nfirst-secret\n")
    assert "ann\toperator" in run("list", *where)
    assert "exists already" in fails("add", "ann", "--password", "x", *where)
    assert "cannot be a user name" in fails("add", "popvim-orchestrator", "--password", "x", *where)

    state.mkdir()
    store = Store(f"sqlite:///{state / 'popvim.db'}")
    service = AuthService(store, UserDirectory(cfg.load(config).users, config), 60)
    token, _ = service.login("ann", "first-secret")
    store.close()
    assert "ended 1 token" in run("passwd", "ann", "--password", "second-secret", *where)
    loaded = cfg.load(config)
    assert bcrypt.checkpw(b"second-secret", loaded.users["ann"].password_hash.encode())
    assert loaded.users["ann"].role == "operator"
    assert "first-secret" not in config.read_text() and "second-secret" not in config.read_text()
    with Store(f"sqlite:///{state / 'popvim.db'}").session() as session:
        assert session.scalars(select(TokenRow)).all() == []
    with pytest.raises(PermissionDenied):
        service.verify(token)

    assert "last admin" in fails("del", "root", *where)
    run("del", "ann", *where)
    assert "ann" not in cfg.load(config).users
    assert "no user" in fails("passwd", "ann", "--password", "x", *where)


def test_without_a_config_the_state_dirs_users_file_is_edited(tmp_path: Path) -> None:
    run("add", "ann", "--state-dir", str(tmp_path), "--password", "pw")
    assert read_users_file(tmp_path / "users.toml")["ann"].role is Role.READER
    assert not (tmp_path / "popvim.db").exists()  # no database made just to delete nothing
    assert "does not exist" in fails("list", "--config", str(tmp_path / "missing.toml"))
