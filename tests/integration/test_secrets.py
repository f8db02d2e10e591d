"""Secrets at rest and in logs: registered PoP passwords encrypted, private state files,
the generated admin password never on the log stream, user text escaped in log lines."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from support.daemon import PASSWORD, USER, Daemon


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_registered_pop_password_is_not_stored_in_clear_and_state_files_are_private(fresh_daemon: Daemon) -> None:
    d = fresh_daemon.start()
    secret = "pop-password-that-must-never-be-read-7731"
    with d.client() as api:
        r = api.post(
            "/v1/pops", json={"name": "far-away", "address": "127.0.0.1:9", "username": "u", "password": secret}
        )
        assert r.status_code == 201, r.text
        assert secret not in r.text and secret not in api.get("/v1/pops").text
    d.stop()  # checkpoints the WAL: everything written is in the main file now
    state = d.state_dir
    files = [
        state / "popvim.db",
        *(state / f"popvim.db{s}" for s in ("-wal", "-shm") if (state / f"popvim.db{s}").exists()),
    ]
    for path in files:
        assert secret.encode() not in path.read_bytes(), path
        assert _mode(path) == 0o600, path
    assert _mode(state) == 0o700
    for name in ("secret.key", "install-id"):
        assert _mode(state / name) == 0o600, name
    assert secret not in d.log()

    d.start()  # the key is kept: the orchestrator can still use what it stored
    with d.client() as api:
        assert api.get("/v1/pops/far-away").status_code == 200
        assert api.delete("/v1/pops/far-away").status_code == 204
    for path in files:
        if path.exists():
            assert _mode(path) == 0o600, path


def test_generated_admin_password_is_not_on_the_log_stream(fresh_daemon: Daemon) -> None:
    """Without a terminal it goes to a 0600 file in the state dir, whose path is logged."""
    d = fresh_daemon
    d.env, d.own_session = {"POPD_AUTH": None}, True
    d.start()
    shown = d.state_dir / "admin-password"
    assert _mode(shown) == 0o600
    password = shown.read_text().rsplit(": ", 1)[1].strip()
    assert password and password not in d.log()
    assert d.log_with(str(shown))
    login = httpx.post(f"{d.url}/v1/auth/login", json={"username": "admin", "password": password})
    assert login.status_code == 200


def test_user_text_in_log_lines_is_escaped_and_cut(fresh_daemon: Daemon) -> None:
    d = fresh_daemon.start()
    forged = "x\n2030-01-01 level=ERROR logger=popvim forged" + "A" * 55  # 100 characters
    r = httpx.post(f"{d.url}/v1/auth/login", json={"username": forged, "password": "nope"})
    assert r.status_code in (400, 401, 422), r.text
    log = d.log_with(r'user="x\n2030-01-01 level=ERROR')
    assert not re.search(r"^2030-01-01 level=ERROR", log, re.MULTILINE)
    assert "A" * 30 not in log  # cut at 64 characters
    ok = httpx.post(f"{d.url}/v1/auth/login", json={"username": USER, "password": PASSWORD})
    assert ok.status_code == 200
    assert d.log_with(f"login user={USER} ")
