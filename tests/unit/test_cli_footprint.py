"""What keeps ``pop`` fast and popvimd light: the token POP_AUTH caches, the parallel delete, and the
imports each entry point leaves out (loaded when a command or request first needs them)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest

from popvim.cli.output import Output
from popvim.cli.parallel import delete_all
from popvim.cli.tokens import TokenStore
from popvim.client import NotFound, Unavailable
from popvim.proto import vim_pop_pb2 as pb
from popvim.proto import vim_pop_pb2_grpc as pb_grpc


def _loaded(module: str) -> set[str]:
    probe = f"import sys, {module}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    return set(out.stdout.split())


def test_the_cli_imports_no_grpc_rich_yaml_or_httpx_until_a_command_needs_them() -> None:
    assert not _loaded("popvim.cli.main") & {"grpc", "google", "rich", "yaml", "httpx", "pygments", "typer", "pydantic"}


class _FlavoursPop(pb_grpc.PopServicer):
    """Just enough of a Pop server for ``pop flavours``: one user, a token per login."""

    def __init__(self) -> None:
        self.logins = 0

    def Login(self, request: Any, context: Any) -> Any:
        if (request.username, request.password) != ("alice", "pw"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "invalid username or password")
        self.logins += 1
        return pb.Token(value=f"token-{self.logins}")

    def Flavours(self, request: Any, context: Any) -> Any:
        if dict(context.invocation_metadata()).get("token") != f"token-{self.logins}":
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "unknown token")
        return pb.FlavourList(list=[pb.Flavour(id=f, name=f) for f in ("docker.container", "m1.tiny")])


@pytest.fixture
def flavours_pop() -> Iterator[tuple[_FlavoursPop, int]]:
    servicer = _FlavoursPop()
    server = grpc.server(ThreadPoolExecutor(2))
    pb_grpc.add_PopServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]  # generated without hints
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, port
    server.stop(None)


FLAVOURS_ROWS = ["docker.container  docker.container", "m1.tiny           m1.tiny         "]

# `pop ARGS` in a fresh interpreter, then the modules it loaded on stderr's last line
_POP_THEN_MODULES = """
import json, sys
from popvim.cli.main import run
code = run(sys.argv[1:])
sys.stdout.flush()
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def test_pop_flavours_with_a_cached_token_loads_only_click_rich_and_the_client(
    flavours_pop: tuple[_FlavoursPop, int], tmp_path: Path
) -> None:
    servicer, port = flavours_pop
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CONFIG_HOME", "FORCE_COLOR", "TTY_COMPATIBLE")}
    env.update(HOME=str(tmp_path), POP_HOST=f"127.0.0.1:{port}", POP_AUTH="alice:pw")
    for _ in range(2):  # the first logs in and caches the token; the second reuses it
        done = subprocess.run(
            [sys.executable, "-c", _POP_THEN_MODULES, "flavours"], env=env, capture_output=True, text=True, timeout=120
        )
        *_, last = done.stderr.splitlines()
        probe = json.loads(last)
        assert probe["code"] == 0, done.stderr
        assert done.stdout.splitlines() == ["ID                NAME            ", *FLAVOURS_ROWS]
    assert servicer.logins == 1
    loaded = set(probe["modules"])
    assert {"click", "grpc", "rich"} <= loaded
    assert not {m.split(".")[0] for m in loaded} & {"typer", "yaml", "httpx", "pydantic", "pygments"}
    assert not loaded & {"popvim.cli.ns", "popvim.cli.events", "popvim.cli.loadtest", "popvim.cli.parallel"}


def test_pop_help_loads_neither_grpc_nor_rich() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _POP_THEN_MODULES, "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.startswith("Usage: pop [OPTIONS] COMMAND [ARGS]...")
    assert "flavours" in done.stdout and "ns" in done.stdout
    modules = {m.split(".")[0] for m in json.loads(done.stderr.splitlines()[-1])["modules"]}
    assert not modules & {"grpc", "google", "typer", "rich", "yaml", "httpx", "pydantic"}


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
