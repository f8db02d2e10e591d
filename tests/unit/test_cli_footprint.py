"""What keeps ``pop`` fast and popvimd light: the token POP_AUTH caches, the parallel delete, and the
imports each entry point leaves out (loaded when a command or request first needs them)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest

from popvim.cli.output import Output
from popvim.cli.parallel import delete_all
from popvim.cli.tokens import TokenStore
from popvim.client import NotFound, Unavailable


def _loaded(module: str) -> set[str]:
    probe = f"import sys, {module}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    return set(out.stdout.split())


def test_the_cli_imports_no_grpc_rich_yaml_or_httpx_until_a_command_needs_them() -> None:
    assert not _loaded("popvim.cli.main") & {"grpc", "google", "rich", "yaml", "httpx", "pygments"}


def test_the_daemon_keeps_alembic_cryptography_and_tosca_parser_out_until_needed() -> None:
    assert not _loaded("popvim.daemon") & {"alembic", "mako", "pygments", "cryptography", "toscaparser", "httpx"}


def test_pop_auth_tokens_are_cached_per_host_and_user_and_checked_against_the_password(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "popvim" / "tokens.json")
    store.put("h:1", "alice", "login-token")  # what `pop login` stored stays as it is
    assert store.get_for("h:1", "alice", "pw") is None
    store.put_for("h:1", "alice", "pw", "tok-a")
    store.put_for("h:1", "bob", "pw2", "tok-b")
    assert store.get_for("h:1", "alice", "pw") == "tok-a"
    assert store.get_for("h:1", "bob", "pw2") == "tok-b"
    assert store.get_for("h:1", "alice", "other password") is None
    assert store.get_for("h:2", "alice", "pw") is None
    stored = store.get("h:1")
    assert stored is not None and stored.token == "login-token"
    text = store.path.read_text()
    assert '"pw"' not in text and "pw2" not in text  # a digest of the password, never the password
    assert json.loads(text)["alice@h:1"]["password_check"]
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


class _FakePop:
    """Deletes take a while, so a parallel run is seen overlapping; some names fail."""

    def __init__(self, failures: dict[str, Exception]) -> None:
        self.failures = failures
        self.active = 0
        self.most = 0
        self.lock = threading.Lock()

    def delete(self, ref: str) -> None:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
        try:
            time.sleep(0.05)
            if ref in self.failures:
                raise self.failures[ref]
        finally:
            with self.lock:
                self.active -= 1


def test_delete_all_runs_several_at_once_and_reports_each_failure(capsys: pytest.CaptureFixture[str]) -> None:
    fake = _FakePop(
        {
            "id:gone": NotFound(grpc.StatusCode.NOT_FOUND, "container 'gone' not found"),
            "id:stuck": Unavailable(grpc.StatusCode.UNAVAILABLE, "engine cannot remove 'stuck'"),
        }
    )
    targets = [(f"id:{n}", n) for n in ("a", "b", "gone", "c", "stuck", "d", "e", "f", "g", "h")]
    outcome = delete_all(fake, targets, Output("table"), missing_ok=True, workers=4)  # type: ignore[arg-type]
    assert sorted(outcome["deleted"]) == ["a", "b", "c", "d", "e", "f", "g", "h"]
    assert outcome["errors"] == [{"name": "stuck", "code": "UNAVAILABLE", "message": "engine cannot remove 'stuck'"}]
    assert 1 < fake.most <= 4
    out, err = capsys.readouterr()
    assert sorted(out.splitlines()) == [f"deleted {n}" for n in "abcdefgh"]
    assert err == "pop: stuck: UNAVAILABLE: engine cannot remove 'stuck'\n"

    outcome = delete_all(fake, [("id:gone", "gone")], Output("json"), missing_ok=False)  # type: ignore[arg-type]
    assert outcome == {
        "deleted": [],
        "errors": [{"name": "gone", "code": "NOT_FOUND", "message": "container 'gone' not found"}],
    }
