"""The ``pop`` CLI (as a real subprocess) and the ``popvim.client`` library against a real popvimd + Docker.

The CLI runs with a temporary HOME, so ``pop login`` writes its token file
there, and with POP_HOST / POP_AUTH as the seed's session sets them. The
library tests use their own ``SessionCache`` so that counts of logins are
exact and no session leaks between tests.
"""

from __future__ import annotations

import ipaddress
import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import docker.errors
import grpc
import pytest
import yaml
from google.protobuf import empty_pb2
from sqlalchemy import create_engine, text
from support.daemon import BUSYBOX, PASSWORD, REGISTRY, USER, Daemon, free_port, free_subnet, unique, wait_for

from popvim.client import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    PopClient,
    Unavailable,
    Unreachable,
)
from popvim.client.session import SessionCache
from popvim.proto import vim_pop_pb2 as pb
from popvim.proto import vim_pop_pb2_grpc as pb_grpc

SLEEP = "command=sleep 3600"
# Exits at once on SIGTERM, so `pop stop --wait` does not wait for the engine's kill timeout.
TRAPPING = "command=sh -c \"trap 'exit 0' TERM; while true; do sleep 0.2; done\""


# --- running the CLI ------------------------------------------------------------------------
class Pop:
    """``pop`` as a user runs it: a subprocess with its own HOME and the seed's environment variables."""

    def __init__(self, daemon: Daemon, home: Path) -> None:
        self.daemon = daemon
        self.home = home
        self.host = f"127.0.0.1:{daemon.pop_port}"

    def run(
        self, *args: str, auth: str | None = f"{USER}:{PASSWORD}", host: str | None = None, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("POP_AUTH", "POP_HOST", "XDG_CONFIG_HOME")}
        env.update(HOME=str(self.home), POP_HOST=host or self.host)
        if auth is not None:
            env["POP_AUTH"] = auth
        return subprocess.run(
            [sys.executable, "-m", "popvim.cli.main", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            input=input,
        )

    def ok(self, *args: str, **kwargs: Any) -> str:
        done = self.run(*args, **kwargs)
        assert done.returncode == 0, f"pop {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr, done.stderr
        return done.stdout

    def doc(self, *args: str, **kwargs: Any) -> Any:
        return yaml.safe_load(self.ok(*args, **kwargs))

    def json(self, *args: str, **kwargs: Any) -> Any:
        return json.loads(self.ok("--json", *args, **kwargs))

    def fails(self, *args: str, code: int = 1, **kwargs: Any) -> str:
        """The one stderr line of a command that must fail with exit ``code``."""
        done = self.run(*args, **kwargs)
        assert done.returncode == code, f"pop {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("pop: "), done.stderr
        return lines[0]


@pytest.fixture
def pop(daemon: Daemon, tmp_path: Path) -> Pop:
    home = tmp_path / "home"
    home.mkdir()
    return Pop(daemon, home)


@pytest.fixture
def client(daemon: Daemon) -> Iterator[PopClient]:
    cache = SessionCache()
    yield PopClient(f"127.0.0.1:{daemon.pop_port}", USER, PASSWORD, cache=cache)
    cache.clear()


def engine_view(engine: docker.DockerClient, container_id: str) -> Any:
    (found,) = engine.containers.list(all=True, filters={"label": f"io.popvim.id={container_id}"})
    return found


def denial(address: str, token: str) -> tuple[grpc.StatusCode, str] | None:
    """What the server says to a raw Info call with ``token``: None when it is accepted."""
    with grpc.insecure_channel(address) as channel:
        try:
            pb_grpc.PopStub(channel).Info(empty_pb2.Empty(), metadata=[("token", token)], timeout=30)
            return None
        except grpc.RpcError as exc:
            return exc.code(), exc.details()  # type: ignore[attr-defined]


def raw_login(address: str) -> str:
    with grpc.insecure_channel(address) as channel:
        return pb_grpc.PopStub(channel).Login(pb.Credentials(username=USER, password=PASSWORD), timeout=30).value


# --- the CLI ---------------------------------------------------------------------------------
def test_the_seeds_session(pop: Pop, engine: docker.DockerClient) -> None:
    """Seed 001 4.3.3: POP_AUTH set, `pop spawn image=... name=...` prints the server as YAML."""
    name = unique("nginx-cont")
    spawned = pop.doc("spawn", f"image={BUSYBOX}", f"name={name}", SLEEP, "md.ROLE=web")
    assert spawned["name"] == name and spawned["status"] == "RUNNING"
    assert spawned["extended_status"] and spawned["created"] and spawned["started"]
    assert BUSYBOX in spawned["image"]["names"] and spawned["image"]["id"].startswith("sha256:")
    assert spawned["flavour"] == "docker.container" and spawned["metadata"] == {"ROLE": "web"}
    (private,) = [n for n in pop.json("networks") if n["name"] == "private"]
    (address,) = spawned["ips"]["private"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network(private["subnets"][0]["cidr"])
    view = engine_view(engine, spawned["id"])
    assert view.status == "running"
    assert any(n["IPAddress"] == address for n in view.attrs["NetworkSettings"]["Networks"].values())

    table = pop.ok("servers")
    assert table.splitlines()[0].split()[:3] == ["NAME", "STATUS", "IMAGE"]
    (row,) = [line for line in table.splitlines() if line.startswith(name + " ")]
    assert "RUNNING" in row and f"private={address}" in row and spawned["id"] in row
    assert pop.doc("servers", name)["id"] == spawned["id"]
    assert pop.doc("servers", f"id:{spawned['id']}")["name"] == name

    md_table = pop.ok("md", "get", name)
    assert md_table.splitlines()[0].split() == ["KEY", "VALUE"]
    assert md_table.splitlines()[1].split() == ["ROLE", "web"]
    assert pop.doc("--yaml", "md", "get", name) == {"ROLE": "web"}
    assert pop.ok("delete", name).strip() == f"deleted {name}"
    assert not engine.containers.list(all=True, filters={"label": f"io.popvim.id={spawned['id']}"})


def test_metadata_set_before_start_becomes_the_environment(pop: Pop) -> None:
    name = unique("md")
    created = pop.doc("create", f"image={BUSYBOX}", f"name={name}", TRAPPING, "md.EARLY=e", "env.STATIC=s")
    assert created["status"] == "CREATED" and created["started"] is None and created["ips"]["private"]
    assert pop.doc("--yaml", "md", "set", name, "A=1", "B=two words", "EARLY=") == {"A": "1", "B": "two words"}
    started = pop.doc("start", name)
    assert started["status"] == "RUNNING" and started["ips"] == created["ips"]

    env = pop.ok("exec", name, "--", "env").splitlines()
    assert "A=1" in env and "B=two words" in env and "STATIC=s" in env
    assert not any(line.startswith("EARLY=") for line in env)
    line = pop.fails("md", "set", name, "C=3")
    assert line.startswith("pop: FAILED_PRECONDITION: ")

    # exec: the command's own output streams and exit code; pop's own failures exit 125
    done = pop.run("exec", name, "-e", "X=x", "--", "sh", "-c", "echo $X-$A; echo err >&2; exit 7")
    assert (done.returncode, done.stdout, done.stderr) == (7, "x-1\n", "err\n")
    assert pop.json("exec", name, "--", "echo", "hi") == {"exit_code": 0, "stdout": "hi\n", "stderr": ""}
    assert pop.fails("exec", "no-such", "--", "true", code=125).startswith("pop: NOT_FOUND: ")

    stopped = pop.ok("stop", name, "--wait")
    assert stopped.strip() == f"{name}: EXITED"
    assert pop.fails("start", name).startswith("pop: ALREADY_EXISTS: ")
    pop.ok("delete", f"id:{created['id']}")


def test_spawn_metadata_keys_and_logs(pop: Pop) -> None:
    name = unique("logs")
    pop.ok(
        "spawn",
        f"image={BUSYBOX}",
        f"name={name}",
        "md.GREETING=hello",
        "command=sh -c 'echo one; echo $GREETING; sleep 3600'",
    )
    wait_for(lambda: "hello" in pop.ok("logs", name), what="the container's output")
    assert pop.ok("logs", name) == "one\nhello\n"
    assert pop.ok("logs", name, "--tail", "1") == "hello\n"
    assert pop.json("logs", name, "-n", "1") == {"logs": "hello\n"}
    pop.ok("delete", name)


def test_machine_output_parses(pop: Pop, daemon: Daemon) -> None:
    name = unique("json")
    spawned = pop.json("spawn", f"image={BUSYBOX}", f"name={name}", SLEEP)
    assert spawned["status"] == "RUNNING"
    listed = pop.json("servers")
    assert [c["id"] for c in listed if c["name"] == name] == [spawned["id"]]
    # global options work after the command too
    assert json.loads(pop.ok("servers", name, "--json"))["id"] == spawned["id"]
    assert yaml.safe_load(pop.ok("servers", "--yaml"))[0].keys() == listed[0].keys()
    assert {"docker.container", "m1.tiny"} <= {f["id"] for f in pop.json("flavours")}
    assert any(BUSYBOX in i["names"] for i in pop.json("images"))
    assert pop.json("images", BUSYBOX)["names"].count(BUSYBOX) == 1
    assert "private" in {n["name"] for n in pop.json("networks")}
    info = pop.json("info")
    assert (info["type"], info["name"], info["user"]) == ("docker", daemon.name, USER)
    assert pop.json("delete", name) == {"deleted": [name]}
    assert pop.fails("--json", "--yaml", "servers", code=2) == "pop: --json and --yaml are exclusive"


def test_delete_by_name_by_id_and_all(fresh_daemon: Daemon, tmp_path: Path, engine: docker.DockerClient) -> None:
    fresh_daemon.start()
    pop = Pop(fresh_daemon, tmp_path)
    ids = {}
    for name in ("a", "b", "c", "d"):
        ids[name] = pop.json("create", f"image={BUSYBOX}", f"name={name}", SLEEP)["id"]
    pop.ok("start", "c")
    assert pop.ok("delete", "a").strip() == "deleted a"
    assert pop.ok("delete", f"id:{ids['b']}").strip() == f"deleted id:{ids['b']}"
    assert sorted(c["name"] for c in pop.json("servers")) == ["c", "d"]
    assert sorted(pop.json("delete", "*")["deleted"]) == ["c", "d"]
    assert pop.json("servers") == []
    assert not engine.containers.list(all=True, filters={"label": f"io.popvim.pop={fresh_daemon.name}"})
    done = pop.run("delete", "*")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "no containers to delete\n")
    assert pop.fails("delete", "a").startswith("pop: NOT_FOUND: ")


def test_networks_create_and_delete(pop: Pop, engine: docker.DockerClient) -> None:
    net, name = unique("net"), unique("onnet")
    subnet = ipaddress.ip_network(free_subnet(engine))
    gateway, fixed = str(subnet.network_address + 1), str(subnet.network_address + 9)
    made = pop.doc("networks", "create", net, f"subnet={subnet}", f"gateway={gateway}", "internal=true")
    assert (made["name"], made["driver"], made["external"]) == (net, "bridge", False)
    assert made["subnets"] == [{"cidr": str(subnet), "gateway": gateway}]
    (row,) = [line for line in pop.ok("networks").splitlines() if line.startswith(net + " ")]
    assert str(subnet) in row and made["id"] in row

    spawned = pop.doc("spawn", f"image={BUSYBOX}", f"name={name}", SLEEP, f"network={net}:{fixed},private")
    assert spawned["ips"][net] == [fixed] and spawned["ips"]["private"]
    assert pop.fails("create", f"image={BUSYBOX}", f"name={unique()}", f"network={net}={fixed}").startswith(
        "pop: ALREADY_EXISTS: "
    )
    assert pop.fails("networks", "delete", net).startswith("pop: FAILED_PRECONDITION: ")
    pop.ok("delete", name)
    assert pop.ok("networks", "delete", net).strip() == f"deleted network {net}"
    assert net not in {n["name"] for n in pop.json("networks")}
    assert pop.fails("networks", "delete", net).startswith("pop: NOT_FOUND: ")
    assert pop.fails("networks", "create", net, "colour=blue", code=2).startswith("pop: unknown key 'colour'")


def test_pull_from_the_loopback_registry(pop: Pop, engine: docker.DockerClient) -> None:
    """A layer the engine does not have, so the pull really downloads (and reports bytes)."""
    repository = f"{REGISTRY}/popvim-test/cli-pull-{uuid.uuid4().hex[:8]}"
    ref = f"{repository}:v1"
    maker = engine.containers.run(BUSYBOX, ["sh", "-c", "head -c 2000000 /dev/urandom > /blob"], detach=True)
    try:
        assert maker.wait(timeout=60)["StatusCode"] == 0
        image = maker.commit(repository, "v1")
    finally:
        maker.remove(force=True)
    try:
        for line in engine.images.push(repository, "v1", stream=True, decode=True):
            assert "error" not in line, line
        engine.images.remove(image.id)
        with pytest.raises(docker.errors.ImageNotFound):
            engine.images.get(ref)

        done = pop.run("pull", ref)
        assert done.returncode == 0, done.stderr
        pulled = yaml.safe_load(done.stdout)
        assert pulled["id"] == image.id and ref in pulled["names"]
        progress = done.stderr.splitlines()  # not a terminal: one line per status change
        assert f"{ref}: Pulling from popvim-test/{repository.rsplit('/', 1)[1]}" in progress
        assert any(line.endswith(" bytes)") and ": Downloading (" in line for line in progress), progress
        assert any(line.endswith(": Pull complete") for line in progress), progress
        assert engine.images.get(ref).id == image.id
        assert pop.json("images", ref)["id"] == image.id

        assert pop.fails("pull", f"{repository}:missing").startswith("pop: ")
    finally:
        for leftover in (ref, image.id):
            try:
                engine.images.remove(leftover, force=True)
            except docker.errors.ImageNotFound:
                pass


def test_errors_are_one_line_with_an_exit_code(pop: Pop) -> None:
    assert pop.fails("servers", "nope") == "pop: NOT_FOUND: container 'nope' not found"
    assert pop.fails("start", "nope").startswith("pop: NOT_FOUND: ")
    assert pop.fails("md", "get", "id:00000000-0000-0000-0000-000000000000").startswith("pop: NOT_FOUND: ")
    assert pop.fails("images", "no/such:image") == "pop: NOT_FOUND: image 'no/such:image' not found"
    assert pop.fails("info", auth=f"{USER}:wrong") == "pop: INVALID_ARGUMENT: invalid username or password"
    unused = free_port()
    assert pop.fails("info", host=f"127.0.0.1:{unused}") == (
        f"pop: cannot reach PoP at 127.0.0.1:{unused}: connection refused"
    )
    assert pop.fails("info", auth=None) == (
        f"pop: not logged in to {pop.host}: run `pop login` or set POP_AUTH=user:password"
    )

    name = unique("dup")
    pop.ok("create", f"image={BUSYBOX}", f"name={name}", SLEEP)
    assert pop.fails("create", f"image={BUSYBOX}", f"name={name}").startswith("pop: ALREADY_EXISTS: ")
    assert pop.fails("stop", name).startswith("pop: UNAVAILABLE: ")  # never started, as the reference
    pop.ok("delete", name)

    # usage errors: exit 2, still one line
    assert pop.fails("spawn", "name=x", code=2).startswith("pop: image=... is required")
    assert pop.fails("spawn", f"image={BUSYBOX}", "colour=blue", code=2).startswith("pop: unknown key 'colour'")
    assert pop.fails("spawn", f"image={BUSYBOX}", "network=private:10.0.0.300", code=2).startswith("pop: network")
    assert pop.fails("spawn", f"image={BUSYBOX}", "port=http", code=2).startswith("pop: port")
    assert pop.fails("spawn", code=2).startswith("pop: Missing argument")
    assert pop.fails("info", auth="no-colon", code=2) == "pop: POP_AUTH must be user:password"
    assert pop.fails("info", host="127.0.0.1:99999", code=2).startswith("pop: bad host")
    assert pop.fails("frobnicate", code=2).startswith("pop: No such command")


def test_login_stores_a_token_and_logout_invalidates_it(pop: Pop) -> None:
    token_file = pop.home / ".config" / "popvim" / "tokens.json"
    assert pop.fails("login", "--user", USER, "--password", "wrong", auth=None).startswith("pop: INVALID_ARGUMENT")
    assert not token_file.exists()

    out = pop.ok("login", "--user", USER, "--password", PASSWORD, auth=None)
    assert out.strip() == f"logged in to {pop.host} as {USER} (token stored in {token_file})"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    assert PASSWORD not in token_file.read_text()
    token = json.loads(token_file.read_text())[pop.host]["token"]
    assert denial(pop.host, token) is None  # a real server-side session

    # no POP_AUTH from here on: the stored token is the credential
    assert pop.json("info", auth=None)["name"] == pop.daemon.name
    name = unique("tok")
    assert pop.doc("spawn", f"image={BUSYBOX}", f"name={name}", SLEEP, auth=None)["status"] == "RUNNING"
    pop.ok("delete", name, auth=None)

    assert pop.ok("logout", auth=None).strip() == f"logged out of {pop.host}"
    assert json.loads(token_file.read_text()) == {}
    assert denial(pop.host, token) == (grpc.StatusCode.PERMISSION_DENIED, "unknown token")
    assert pop.fails("servers", auth=None).startswith("pop: not logged in")
    assert pop.ok("logout", auth=None).strip() == f"not logged in to {pop.host}"

    # a stale token in the file: one clear line telling the user to log in again
    token_file.write_text(json.dumps({pop.host: {"user": USER, "token": token}}))
    line = pop.fails("servers", auth=None)
    assert line.startswith("pop: PERMISSION_DENIED: unknown token") and "pop login" in line
    assert pop.ok("logout", auth=None).strip() == f"logged out of {pop.host} (the token had already expired)"

    # POP_AUTH also serves as the login's credentials
    pop.ok("login")
    assert json.loads(token_file.read_text())[pop.host]["user"] == USER


def _tokens_of(daemon: Daemon, user: str = USER) -> int:
    """Live tokens of ``user``, counted in the daemon's own database (the orchestrator's are its own user's)."""
    engine = create_engine(daemon.db_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(text("SELECT count(*) FROM tokens WHERE username = :u"), {"u": user}).scalar()
            )
    finally:
        engine.dispose()


def test_pop_auth_reuses_one_cached_token_and_replaces_a_revoked_one(pop: Pop, daemon: Daemon) -> None:
    token_file = pop.home / ".config" / "popvim" / "tokens.json"
    key = f"{USER}@{pop.host}"
    before = _tokens_of(daemon)
    pop.ok("flavours")
    assert _tokens_of(daemon) == before + 1  # the first command logs in once
    cached = json.loads(token_file.read_text())[key]
    assert cached["user"] == USER and PASSWORD not in token_file.read_text()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600

    pop.ok("servers")
    assert pop.json("flavours")
    assert _tokens_of(daemon) == before + 1  # later ones reuse its token: no password check, no new token
    assert json.loads(token_file.read_text())[key] == cached

    # revoked (as by `pop logout` elsewhere, or expired): the next command logs in again, once
    with daemon.client(token=cached["token"]) as api:
        assert api.post("/v1/auth/logout").status_code == 204
    assert denial(pop.host, cached["token"]) is not None
    assert pop.json("flavours")
    assert _tokens_of(daemon) == before + 1  # one revoked, one new
    renewed = json.loads(token_file.read_text())[key]["token"]
    assert renewed != cached["token"] and denial(pop.host, renewed) is None
    pop.ok("servers")
    assert json.loads(token_file.read_text())[key]["token"] == renewed

    # another user's POP_AUTH gets a token of its own; `pop login`'s entry for the host is left alone
    assert pop.fails("flavours", auth=f"{USER}:wrong").startswith("pop: INVALID_ARGUMENT")
    assert json.loads(token_file.read_text())[key]["token"] == renewed
    assert pop.host not in json.loads(token_file.read_text())


def test_delete_all_runs_in_parallel_and_reports_each_failure(
    fresh_daemon: Daemon, tmp_path: Path, engine: docker.DockerClient
) -> None:
    fresh_daemon.start()
    pop = Pop(fresh_daemon, tmp_path)
    names = [f"par{i}" for i in range(12)]
    with ThreadPoolExecutor(4) as workers:
        list(workers.map(lambda n: pop.ok("spawn", f"image={BUSYBOX}", f"name={n}", TRAPPING), names))
    assert {c["status"] for c in pop.json("servers")} == {"RUNNING"}

    # named ones, one of them unknown: the others are deleted, the unknown one is reported by name
    done = pop.run("delete", "par0", "nope", "par1")
    assert done.returncode == 1, done
    assert sorted(done.stdout.split("\n")[:-1]) == ["deleted par0", "deleted par1"]
    assert done.stderr == "pop: nope: NOT_FOUND: container 'nope' not found\n"
    done = pop.run("--json", "delete", "par2", "nope")
    assert done.returncode == 1 and done.stderr.startswith("pop: nope: NOT_FOUND")
    assert json.loads(done.stdout) == {
        "deleted": ["par2"],
        "errors": [{"name": "nope", "code": "NOT_FOUND", "message": "container 'nope' not found"}],
    }

    assert sorted(pop.json("delete", "*")["deleted"]) == sorted(names[3:])
    assert pop.json("servers") == []
    assert not engine.containers.list(all=True, filters={"label": f"io.popvim.pop={fresh_daemon.name}"})


# --- the library -----------------------------------------------------------------------------
def test_sessions_are_shared_by_clients_of_one_pop_and_user(daemon: Daemon) -> None:
    address = f"127.0.0.1:{daemon.pop_port}"
    cache = SessionCache()
    try:
        clients = [PopClient(address, USER, PASSWORD, cache=cache) for _ in range(10)]
        with ThreadPoolExecutor(8) as pool:  # concurrent first calls still make one login
            infos = list(pool.map(lambda c: c.info(), clients))
        assert {i.name for i in infos} == {daemon.name}
        for c in clients:
            c.containers()
            c.flavours()
        session = clients[0].session
        assert all(c.session is session for c in clients)
        assert session.logins == 1
        with pytest.raises(InvalidArgument) as refused:  # other credentials: another session, refused
            PopClient(address, USER, "wrong", cache=cache).info()
        assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT and refused.value.message
        assert PopClient(address, USER, PASSWORD, cache=cache).session is session and session.logins == 1
    finally:
        cache.clear()


def test_expired_tokens_are_replaced_by_one_transparent_login(fresh_daemon: Daemon, tmp_path: Path) -> None:
    fresh_daemon.config_text = "[pop]\ntoken_ttl = 1\n"
    fresh_daemon.start()
    address = f"127.0.0.1:{fresh_daemon.pop_port}"
    cache = SessionCache()
    try:
        # Tokens for the token-only checks below, issued first so they are expired once `old` is. They
        # are never polled: the server answers "token expired" once per token, then "unknown token";
        # and any Login prunes expired tokens, so either answer is right for them.
        for_library, for_cli = (raw_login(address) for _ in range(2))
        client = PopClient(address, USER, PASSWORD, cache=cache)
        assert client.info().name == fresh_daemon.name
        session = client.session
        old = session.current
        assert old is not None and session.logins == 1
        refused = wait_for(lambda: denial(address, old), timeout=15, what="the 1 s token to expire")
        assert refused == (grpc.StatusCode.PERMISSION_DENIED, "token expired")

        # With only a token (what the CLI stores), an expired one cannot be replaced: a clear error.
        with pytest.raises(PermissionDenied) as denied:
            PopClient(address, USER, token=for_library, cache=cache).info()
        remedy = "; no password to log in again with: run `pop login` again"
        assert denied.value.message in (f"token expired{remedy}", f"unknown token{remedy}")
        pop = Pop(fresh_daemon, tmp_path)
        token_file = pop.home / ".config" / "popvim" / "tokens.json"
        token_file.parent.mkdir(parents=True)
        token_file.write_text(json.dumps({pop.host: {"user": USER, "token": for_cli}}))
        assert pop.fails("servers", auth=None) in (
            f"pop: PERMISSION_DENIED: token expired{remedy}",
            f"pop: PERMISSION_DENIED: unknown token{remedy}",
        )

        # With the password, the same refusal is invisible: one new login, shared by every client.
        assert PopClient(address, USER, PASSWORD, cache=cache).containers() == []
        assert session.logins == 2 and session.current not in (None, old)
        assert client.info().name == fresh_daemon.name and session.logins == 2
    finally:
        cache.clear()


def test_logout_ends_the_session_and_the_next_call_logs_in_again(client: PopClient) -> None:
    client.info()
    session = client.session
    token = session.current
    assert token is not None
    client.logout()
    assert session.current is None
    assert denial(client.credentials.address, token) == (grpc.StatusCode.PERMISSION_DENIED, "unknown token")
    assert client.info().type == "docker"
    assert session.logins == 2 and session.current != token


def test_typed_exceptions(client: PopClient, daemon: Daemon) -> None:
    name = unique("typed")
    with pytest.raises(NotFound) as missing:
        client.start("no-such-container")
    assert missing.value.code == grpc.StatusCode.NOT_FOUND and "no-such-container" in missing.value.message
    with pytest.raises(NotFound):
        client.container(f"id:{uuid.uuid4()}")

    created = client.create(name, BUSYBOX, command=["sleep", "3600"], metadata={"K": "v"})
    assert created.status == "CREATED" and created.metadata == {"K": "v"}
    with pytest.raises(AlreadyExists):
        client.create(name, BUSYBOX)
    with pytest.raises(Unavailable) as not_started:  # the server's UNAVAILABLE, not a transport failure
        client.stop(name)
    assert not isinstance(not_started.value, Unreachable)
    started = client.start(name)
    assert started.status == "RUNNING" and started.address("private") == created.address("private")
    with pytest.raises(AlreadyExists):
        client.start(f"id:{created.id}")
    with pytest.raises(FailedPrecondition) as too_late:
        client.set_metadata(name, {"K": "w"})
    assert too_late.value.code == grpc.StatusCode.FAILED_PRECONDITION
    client.delete(name)
    with pytest.raises(NotFound):
        client.delete(name)

    with pytest.raises(Unreachable) as unreachable:
        PopClient(f"127.0.0.1:{free_port()}", USER, PASSWORD, cache=SessionCache(), timeout=10).info()
    assert unreachable.value.code == grpc.StatusCode.UNAVAILABLE


def test_the_cli_imports_only_the_client_library() -> None:
    """The CLI must drive any Pop server through the protocol, never popvim's domain code."""
    probe = (
        "import sys, popvim.cli.main; "
        "print(sorted(m for m in sys.modules if m.startswith(('popvim', 'docker', 'sqlalchemy', 'fastapi'))))"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
        ).stdout.replace("'", '"')
    )
    assert {m.split(".")[1] for m in loaded if m.startswith("popvim.")} <= {"cli", "client", "proto"}
    assert not [m for m in loaded if not m.startswith("popvim")]


def test_ns_commands_deploy_scale_and_terminate(pop: Pop, engine: docker.DockerClient) -> None:
    """`pop ns deploy` of seed 001's SIPp NSD, then list, show, scale, terminate, delete."""
    nsd = Path(__file__).parents[1] / "unit" / "fixtures" / "nsd" / "sipp-openbaton.json"
    api = ("--api", pop.daemon.url)
    deployed = pop.json("ns", "deploy", str(nsd), "--name", "clisipp", *api)
    assert deployed["nsState"] == "INSTANTIATED"
    listed = pop.json("ns", "list", *api)
    assert "clisipp" in {i["nsInstanceName"] for i in listed}
    shown = pop.json("ns", "show", "clisipp", *api)
    clients = next(v for v in shown["vnfInstances"] if v["vnfName"] == "sipp-client")
    assert clients["instances"] == 1 and clients["vnfcs"][0]["state"] == "RUNNING"
    scaled = pop.json("ns", "scale", "clisipp", "sipp-client", "out", "--steps", "2", *api)
    assert next(v for v in scaled["vnfInstances"] if v["vnfName"] == "sipp-client")["instances"] == 3
    line = pop.fails("ns", "scale", "clisipp", "sipp-server", "out", *api)
    assert "outside 1..1" in line
    made = {c["containerId"] for v in pop.json("ns", "show", "clisipp", *api)["vnfInstances"] for c in v["vnfcs"]}
    pop.ok("ns", "terminate", "clisipp", *api)
    assert not [c for c in engine.containers.list(all=True) if c.id in made]
    pop.ok("ns", "delete", "clisipp", *api)
    assert "NOT_FOUND" in pop.fails("ns", "show", "clisipp", *api) or "not_found" in pop.fails(
        "ns", "show", "clisipp", *api
    )
    bad = pop.fails("ns", "onboard", str(Path(__file__)), *api)
    assert "invalid_descriptor" in bad
