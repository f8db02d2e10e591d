"""Roles on every face (reader reads, operator operates, admin also manages PoPs), and
``popvimd user passwd|del`` ending a user's tokens while the daemon runs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import docker
import grpc
import httpx
import pytest
from google.protobuf import empty_pb2
from support.daemon import BUSYBOX, PASSWORD, SLEEPER, USER, Daemon, create_container, expect_error, unique, wait_for

from popvim.client import Forbidden, PopClient
from popvim.proto import vim_pop_pb2 as pb
from popvim.proto import vim_pop_pb2_grpc as pb_grpc
from popvim.vim.auth import hash_password

READER, OPERATOR = ("rita", "rita-pass"), ("oscar", "oscar-pass")


def users_config(*extra: tuple[str, str, str]) -> str:
    lines = ["[users]", f'{USER} = "{hash_password(PASSWORD, rounds=4)}"', ""]
    for name, password, role in ((*READER, "reader"), (*OPERATOR, "operator"), *extra):
        lines += [f"[users.{name}]", f'password = "{hash_password(password, rounds=4)}"', f'role = "{role}"', ""]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def roles_daemon(engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    d = Daemon(tmp_path_factory.mktemp("roles"), config_text=users_config()).start()
    yield d
    d.stop()
    d.purge()


@pytest.fixture(scope="module")
def admin(roles_daemon: Daemon) -> Iterator[httpx.Client]:
    with roles_daemon.client() as client:
        yield client


@pytest.fixture(scope="module")
def reader(roles_daemon: Daemon) -> Iterator[httpx.Client]:
    with roles_daemon.client(token=roles_daemon.login(*READER)) as client:
        yield client


@pytest.fixture(scope="module")
def operator(roles_daemon: Daemon) -> Iterator[httpx.Client]:
    with roles_daemon.client(token=roles_daemon.login(*OPERATOR)) as client:
        yield client


def forbidden(response: httpx.Response) -> str:
    return expect_error(response, 403, code="forbidden")["message"]


def test_each_token_knows_its_role(admin: httpx.Client, reader: httpx.Client, operator: httpx.Client) -> None:
    assert admin.get("/v1/auth/me").json() == {"username": USER, "role": "admin"}
    assert reader.get("/v1/auth/me").json() == {"username": READER[0], "role": "reader"}
    assert operator.get("/v1/auth/me").json()["role"] == "operator"


def test_a_reader_reads_but_changes_nothing(
    reader: httpx.Client, admin: httpx.Client, roles_daemon: Daemon, engine: docker.DockerClient
) -> None:
    mine = create_container(admin)
    for path in (
        "/v1/containers",
        f"/v1/containers/{mine['id']}",
        "/v1/networks",
        "/v1/images",
        "/v1/info",
        "/v1/flavours",
        "/Clist",
        "/Ilist",
        "/v1/pops",
        "/nsd/v1/ns_descriptors",
        "/nslcm/v1/ns_instances",
    ):
        assert reader.get(path).status_code == 200, path
    assert reader.post("/inspectCont", json={"containerID": mine["id"]}).status_code == 200
    changes = [
        reader.post("/v1/containers", json={"image": BUSYBOX, "command": SLEEPER}),
        reader.post("/v1/containers/run", json={"image": BUSYBOX, "command": SLEEPER}),
        reader.post(f"/v1/containers/{mine['id']}/start"),
        reader.post(f"/v1/containers/{mine['id']}/restart"),
        reader.post(f"/v1/containers/{mine['id']}/exec", json={"command": ["true"]}),
        reader.delete(f"/v1/containers/{mine['id']}"),
        reader.post("/v1/containers/stop-all"),
        reader.post("/v1/networks", json={"name": unique("n")}),
        reader.delete("/v1/networks/private"),
        reader.post("/v1/images/pull", json={"image": BUSYBOX}),
        reader.post("/create", json={"imagename": BUSYBOX}),
        reader.post("/run", json={"imagename": BUSYBOX}),
        reader.get("/stop"),  # seed 000's GET that stops every container
        reader.delete("/remove"),
        reader.post("/nslcm/v1/ns_instances", json={"nsdId": "x"}),
        reader.post("/v1/pops", json={"name": "p2", "address": "127.0.0.1:1", "username": "u", "password": "p"}),
    ]
    for response in changes:
        assert "has role reader" in forbidden(response), response.request.url
    assert admin.get(f"/v1/containers/{mine['id']}").json()["state"] == "CREATED"
    assert not engine.containers.list(
        all=True, filters={"label": f"io.popvim.pop={roles_daemon.name}", "status": "running"}
    )
    assert reader.post("/v1/auth/logout").status_code == 204  # ending one's own session is not a change


def test_a_reader_over_the_pop_protocol(roles_daemon: Daemon, admin: httpx.Client) -> None:
    mine = create_container(admin)
    client = PopClient(f"127.0.0.1:{roles_daemon.pop_port}", *READER)
    assert any(c.id == mine["id"] for c in client.containers())
    assert client.networks() and client.flavours()
    for call in (
        lambda: client.create(unique(), BUSYBOX),
        lambda: client.delete(f"id:{mine['id']}"),
        lambda: client.start(f"id:{mine['id']}"),
        lambda: client.create_network(unique("n")),
    ):
        with pytest.raises(Forbidden) as caught:
            call()
        assert caught.value.code == grpc.StatusCode.PERMISSION_DENIED and caught.value.reason == "forbidden"
        assert "needs operator" in caught.value.message
    assert client.session.logins == 1  # the token was fine: no login again after each refusal
    assert admin.get(f"/v1/containers/{mine['id']}").json()["state"] == "CREATED"


def test_an_operator_operates_but_cannot_manage_pops(operator: httpx.Client, admin: httpx.Client) -> None:
    c = create_container(operator)
    assert operator.post(f"/v1/containers/{c['id']}/start").status_code == 200
    net = operator.post("/v1/networks", json={"name": unique("n")})
    assert net.status_code == 201, net.text
    pop = {"name": unique("pop"), "address": "127.0.0.1:1", "username": "u", "password": "p"}
    assert "needs admin" in forbidden(operator.post("/v1/pops", json=pop))
    assert operator.get("/v1/pops").status_code == 200
    registered = admin.post("/v1/pops", json=pop)
    assert registered.status_code == 201, registered.text
    forbidden(operator.delete(f"/v1/pops/{pop['name']}"))
    assert admin.delete(f"/v1/pops/{pop['name']}").status_code == 204
    assert operator.delete(f"/v1/containers/{c['id']}").status_code == 204
    assert operator.delete(f"/v1/networks/{net.json()['id']}").status_code == 204


def popvimd_user(daemon: Daemon, *args: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "popvim.daemon",
            "user",
            *args,
            "--config",
            str(daemon.config_path),
            "--state-dir",
            str(daemon.state_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def rest_refuses(daemon: Daemon, token: str) -> bool:
    return httpx.get(f"{daemon.url}/v1/info", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def pop_refuses(daemon: Daemon, token: str) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{daemon.pop_port}") as channel:
        try:
            pb_grpc.PopStub(channel).Info(empty_pb2.Empty(), metadata=[("token", token)], timeout=10)
        except grpc.RpcError as exc:
            return exc.code() == grpc.StatusCode.PERMISSION_DENIED
    return False


def pop_login(daemon: Daemon, user: str, password: str) -> str:
    with grpc.insecure_channel(f"127.0.0.1:{daemon.pop_port}") as channel:
        return str(pb_grpc.PopStub(channel).Login(pb.Credentials(username=user, password=password), timeout=10).value)


def test_passwd_and_del_end_the_users_tokens_while_the_daemon_runs(fresh_daemon: Daemon) -> None:
    fresh_daemon.config_text = users_config(("dora", "dora-pass", "operator"))
    fresh_daemon.start()
    rest_token, grpc_token = fresh_daemon.login(*OPERATOR), pop_login(fresh_daemon, *OPERATOR)
    others = fresh_daemon.login(*READER)
    assert not rest_refuses(fresh_daemon, rest_token) and not pop_refuses(fresh_daemon, grpc_token)

    assert "ended 2 token" in popvimd_user(fresh_daemon, "passwd", OPERATOR[0], "--password", "oscar-new")
    wait_for(
        lambda: rest_refuses(fresh_daemon, rest_token) and pop_refuses(fresh_daemon, grpc_token),
        timeout=10,
        what="the old tokens to be refused",
    )
    # The daemon re-reads the file within about a second: from then on the old password fails.
    wait_for(lambda: _login_or_none(fresh_daemon, *OPERATOR) is None, timeout=10, what="the old password to fail")
    renewed = wait_for(
        lambda: _login_or_none(fresh_daemon, OPERATOR[0], "oscar-new"),
        timeout=10,
        what="the new password to be accepted",
    )
    assert not rest_refuses(fresh_daemon, renewed) and not rest_refuses(fresh_daemon, others)

    dora = fresh_daemon.login("dora", "dora-pass")
    assert not rest_refuses(fresh_daemon, dora)
    popvimd_user(fresh_daemon, "del", "dora")
    wait_for(lambda: rest_refuses(fresh_daemon, dora), timeout=10, what="the deleted user's token to be refused")
    wait_for(
        lambda: _login_or_none(fresh_daemon, "dora", "dora-pass") is None,
        timeout=10,
        what="the deleted user's login to fail",
    )

    popvimd_user(fresh_daemon, "add", "newbie", "--role", "reader", "--password", "newbie-pass")
    token = wait_for(
        lambda: _login_or_none(fresh_daemon, "newbie", "newbie-pass"), timeout=10, what="the added user to log in"
    )
    with fresh_daemon.client(token=token) as newbie:
        assert newbie.get("/v1/auth/me").json() == {"username": "newbie", "role": "reader"}
    assert "newbie-pass" not in fresh_daemon.config_path.read_text()


def _login_or_none(daemon: Daemon, user: str, password: str) -> str | None:
    try:
        return daemon.login(user, password)
    except httpx.HTTPStatusError:
        return None
