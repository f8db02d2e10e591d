"""Bounded work for every request: no body, descriptor, exec, stream or login flood
takes the daemon away from everybody else (issue 7, item 5).

After each abuse the daemon must still answer /health and an authenticated list.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
import pytest
from support.daemon import PASSWORD, USER, Daemon, create_container, expect_error, wait_for

from popvim.proto import vim_pop_pb2 as pb
from popvim.proto import vim_pop_pb2_grpc as pb_grpc

OUTPUT_CAP = 65536
STREAMS_PER_USER = 4
CONFIG = f"""
[limits]
exec_output_bytes = {OUTPUT_CAP}
streams_per_user = {STREAMS_PER_USER}
"""


@pytest.fixture(scope="module")
def daemon(engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:  # noqa: ANN001
    d = Daemon(tmp_path_factory.mktemp("limits"), config_text=CONFIG).start()
    yield d
    d.stop()
    d.purge()


@pytest.fixture(scope="module")
def running(daemon: Daemon) -> dict:
    with daemon.client() as api:
        c = create_container(api)
        assert api.post(f"/v1/containers/{c['id']}/start").status_code == 200
        return c


def still_answers(daemon: Daemon) -> None:
    """/health and an authenticated list answer (within a generous client timeout)."""
    health = httpx.get(f"{daemon.url}/health", timeout=10)
    assert health.status_code == 200, health.text
    with daemon.client(timeout=10) as api:
        listed = api.get("/v1/containers")
        assert listed.status_code == 200, listed.text


def processes(daemon: Daemon, container: dict) -> str:
    with daemon.client() as api:
        r = api.post(f"/v1/containers/{container['id']}/exec", json={"command": ["ps"]})
        assert r.status_code == 200, r.text
        return r.json()["stdout"]


def gone(daemon: Daemon, container: dict, marker: str) -> bool:
    """The process is gone (a killed one that nobody reaped shows as ``[sleep]`` without its arguments)."""
    return marker not in processes(daemon, container)


# --- bodies ------------------------------------------------------------------------------
def test_login_body_is_limited_before_it_is_parsed(daemon: Daemon) -> None:
    big = json.dumps({"username": USER, "password": "x" * 8192}).encode()
    expect_error(
        httpx.post(f"{daemon.url}/v1/auth/login", content=big, headers={"content-type": "application/json"}),
        413,
        code="payload_too_large",
    )
    # The same without Content-Length: a chunked body is counted while it arrives.
    chunked = httpx.post(
        f"{daemon.url}/v1/auth/login",
        content=iter([big[:2048], big[2048:]]),
        headers={"content-type": "application/json"},
    )
    assert "content-length" not in chunked.request.headers
    expect_error(chunked, 413, code="payload_too_large")
    still_answers(daemon)


def test_every_body_is_limited_to_one_mib(daemon: Daemon) -> None:
    with daemon.client() as api:
        huge = b'{"image": "' + b"x" * (1024 * 1024 + 10) + b'"}'
        expect_error(
            api.post("/v1/containers", content=huge, headers={"content-type": "application/json"}),
            413,
            code="payload_too_large",
        )

        def pieces() -> Iterator[bytes]:
            yield b'{"image": "'
            for _ in range(40):
                yield b"y" * 32768
            yield b'"}'

        chunked = api.post("/v1/containers", content=pieces(), headers={"content-type": "application/json"})
        assert "content-length" not in chunked.request.headers
        expect_error(chunked, 413, code="payload_too_large")
        descriptor = api.post("/nsd/v1/ns_descriptors", content=pieces(), headers={"content-type": "application/yaml"})
        expect_error(descriptor, 413, code="payload_too_large")
    still_answers(daemon)


# --- descriptors -------------------------------------------------------------------------
def test_yaml_alias_bomb_is_refused_small(daemon: Daemon) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        levels.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    bomb = "tosca_definitions_version: tosca_simple_profile_for_nfv_1_0_0\n" + "\n".join(levels) + "\n"
    assert len(bomb) < 600
    with daemon.client() as api:
        r = api.post("/nsd/v1/ns_descriptors", content=bomb, headers={"content-type": "application/yaml"})
    error = expect_error(r, 422, code="invalid_descriptor")
    assert "aliases" in error["message"]
    assert len(r.content) < 2000
    still_answers(daemon)


def test_twenty_thousand_bad_entries_list_at_most_a_hundred_problems(daemon: Daemon) -> None:
    doc = {"name": "many", "vnfd": [0] * 20000}
    body = json.dumps(doc).encode()
    assert len(body) < 61 * 1024
    with daemon.client() as api:
        r = api.post("/nsd/v1/ns_descriptors", content=body, headers={"content-type": "application/json"})
    error = expect_error(r, 422, code="invalid_descriptor")
    problems = error["problems"]
    assert len(problems) <= 101
    assert "more problems" in problems[-1]["reason"]
    assert len(r.content) < 64 * 1024
    still_answers(daemon)


def test_long_user_values_are_not_copied_into_problems(daemon: Daemon) -> None:
    doc = {"name": "long", "vnfd": [{"name": "v" * 100_000, "type": 7}]}
    with daemon.client() as api:
        r = api.post("/nsd/v1/ns_descriptors", json=doc)
    error = expect_error(r, 422, code="invalid_descriptor")
    assert all(len(p["reason"]) <= 200 and len(p["path"]) <= 120 for p in error["problems"])
    assert len(r.content) < 16 * 1024


# --- exec ------------------------------------------------------------------------------
def test_exec_deadline_kills_the_process(daemon: Daemon, running: dict) -> None:
    with daemon.client() as api:
        r = api.post(f"/v1/containers/{running['id']}/exec", json={"command": ["sleep", "6001"], "timeout": 1})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["timed_out"] is True and out["exit_code"] == 137
    wait_for(lambda: gone(daemon, running, "sleep 6001"), what="the timed-out exec to be gone")


def test_exec_timeout_above_the_maximum_is_refused(daemon: Daemon, running: dict) -> None:
    with daemon.client() as api:
        r = api.post(f"/v1/containers/{running['id']}/exec", json={"command": ["true"], "timeout": 100_000})
    expect_error(r, 400, code="invalid_argument")


def test_exec_output_is_capped_and_flagged(daemon: Daemon, running: dict) -> None:
    with daemon.client() as api:
        r = api.post(f"/v1/containers/{running['id']}/exec", json={"command": ["yes", "popvim-yes"]})
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["stdout_truncated"] is True and out["stderr_truncated"] is False
        assert len(out["stdout"].encode()) == OUTPUT_CAP
        small = api.post(f"/v1/containers/{running['id']}/exec", json={"command": ["echo", "hi"]}).json()
        assert small == {
            "exit_code": 0,
            "stdout": "hi\n",
            "stderr": "",
            "stdout_truncated": False,
            "stderr_truncated": False,
            "timed_out": False,
        }
    wait_for(lambda: gone(daemon, running, "yes popvim-yes"), what="the capped exec to be gone")


def test_exec_is_killed_when_the_client_goes_away(daemon: Daemon, running: dict) -> None:
    with daemon.client(timeout=1) as api, pytest.raises(httpx.TimeoutException):
        api.post(f"/v1/containers/{running['id']}/exec", json={"command": ["sleep", "6002"]})
    wait_for(lambda: gone(daemon, running, "sleep 6002"), what="the abandoned exec to be gone")


def test_abandoned_slow_execs_never_freeze_the_api(daemon: Daemon, running: dict) -> None:
    statuses: list[int | str] = []

    def abandon(_i: int) -> None:
        try:
            with daemon.client(timeout=3) as api:
                r = api.post(f"/v1/containers/{running['id']}/exec", json={"command": ["sleep", "600"]})
                statuses.append(r.status_code)
        except httpx.TimeoutException:
            statuses.append("gave up")

    with ThreadPoolExecutor(45) as pool:
        futures = [pool.submit(abandon, i) for i in range(45)]
        still_answers(daemon)  # while they hang
        for f in futures:
            f.result()
    assert len(statuses) == 45
    assert statuses.count(429) >= 45 - 16, statuses  # beyond the per-user bound: refused at once
    assert set(statuses) <= {429, "gave up"}, statuses
    still_answers(daemon)
    wait_for(lambda: gone(daemon, running, "sleep 600"), what="every abandoned exec to be gone")
    with daemon.client() as api:  # and the slots are free again
        assert api.post(f"/v1/containers/{running['id']}/exec", json={"command": ["true"]}).status_code == 200


def test_exec_over_the_pop_protocol_is_bounded(daemon: Daemon, running: dict) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{daemon.pop_port}") as channel:
        stub = pb_grpc.PopStub(channel)
        token = stub.Login(pb.Credentials(username=USER, password=PASSWORD)).value
        meta = (("token", token),)
        target = pb.Filter(id=running["id"])
        reply = stub.Exec(pb.ExecRequest(filter=target, command=["sleep", "6003"], timeout=1), metadata=meta)
        assert reply.timed_out and reply.exit_code == 137
        reply = stub.Exec(pb.ExecRequest(filter=target, command=["yes"]), metadata=meta)
        assert reply.stdout_truncated and len(reply.stdout) == OUTPUT_CAP
        # The call's own deadline ends the command too.
        with pytest.raises(grpc.RpcError) as failed:
            stub.Exec(pb.ExecRequest(filter=target, command=["sleep", "6004"]), metadata=meta, timeout=1)
        assert failed.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        big = pb.ExecRequest(filter=target, command=["echo", "x" * (5 * 1024 * 1024)])
        with pytest.raises(grpc.RpcError) as refused:
            stub.Exec(big, metadata=meta)
        assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    wait_for(
        lambda: gone(daemon, running, "sleep 6003") and gone(daemon, running, "sleep 6004"),
        what="the Pop execs to be gone",
    )


# --- logs ------------------------------------------------------------------------------
def test_logs_have_a_default_tail_and_follow_streams(daemon: Daemon) -> None:
    with daemon.client() as api:
        c = create_container(
            api,
            command=[
                "sh",
                "-c",
                "i=0; while [ $i -lt 1500 ]; do echo line-$i; i=$((i+1)); done;"
                " while true; do echo tick; sleep 0.2; done",
            ],
        )
        api.post(f"/v1/containers/{c['id']}/start")
        wait_for(lambda: "tick" in api.get(f"/v1/containers/{c['id']}/logs").json()["logs"], what="ticks")
        logs = api.get(f"/v1/containers/{c['id']}/logs").json()
        lines = logs["logs"].splitlines()
        assert len(lines) == 1000 and "line-0" not in lines and logs["truncated"] is False
        seen = ""
        with api.stream("GET", f"/v1/containers/{c['id']}/logs", params={"follow": "true", "tail": 0}) as r:
            assert r.status_code == 200
            for chunk in r.iter_text():
                seen += chunk
                if seen.count("tick") >= 2:
                    break
        assert "line-" not in seen
    still_answers(daemon)


# --- event streams ---------------------------------------------------------------------
def test_event_streams_are_capped_per_user_and_hold_no_thread(daemon: Daemon) -> None:
    clients = [daemon.client(timeout=10) for _ in range(STREAMS_PER_USER + 1)]
    streams = []
    try:
        for client in clients[:STREAMS_PER_USER]:
            stream = client.stream("GET", "/v1/events", params={"keepalive": 1})
            response = stream.__enter__()
            assert response.status_code == 200
            streams.append(stream)
        expect_error(clients[-1].get("/v1/events"), 429, code="too_many_requests")
        still_answers(daemon)
    finally:
        for stream in streams:
            stream.__exit__(None, None, None)
        for client in clients:
            client.close()

    def another() -> bool:
        with daemon.client(timeout=10) as api, api.stream("GET", "/v1/events", params={"keepalive": 1}) as r:
            return r.status_code == 200

    wait_for(another, what="a stream slot to be free again after the clients hung up")
    for _ in range(3 * STREAMS_PER_USER):  # streams dropped at once, before any line: no slot leaks
        with daemon.client(timeout=10) as api, api.stream("GET", "/v1/events") as r:
            assert r.status_code in (200, 429)
    wait_for(another, what="a stream slot to be free after streams dropped at once")


def test_many_open_event_streams_do_not_freeze_the_api(engine, tmp_path: Path) -> None:  # noqa: ANN001
    """45 open streams, more than the REST worker threads: the API still answers."""
    d = Daemon(tmp_path / "streams", config_text="[limits]\nstreams_per_user = 50\n").start()
    opened: list = []
    clients = [d.client(timeout=10) for _ in range(45)]
    try:
        for client in clients:
            stream = client.stream("GET", "/v1/events")
            assert stream.__enter__().status_code == 200
            opened.append(stream)
        still_answers(d)
    finally:
        for stream in opened:
            stream.__exit__(None, None, None)
        for client in clients:
            client.close()
        d.stop()
        d.purge()


# --- logins and tokens -----------------------------------------------------------------
def test_login_flood_is_rate_limited_and_never_starves_authenticated_work(engine, tmp_path: Path) -> None:  # noqa: ANN001
    d = Daemon(tmp_path / "flood").start()
    try:
        token = d.token
        results: list[int] = []
        stop = threading.Event()

        def flood() -> None:
            with httpx.Client(timeout=60) as client:
                while not stop.is_set():  # until the checks below are done: they need the flood going on
                    r = client.post(f"{d.url}/v1/auth/login", json={"username": USER, "password": "wrong"})
                    results.append(r.status_code)
                    if r.status_code == 429:
                        assert r.json()["error"]["code"] == "too_many_requests"

        with ThreadPoolExecutor(60) as pool:
            futures = [pool.submit(flood) for _ in range(60)]
            try:
                wait_for(lambda: 429 in results, timeout=60, what="the flood to be rate-limited")
                with httpx.Client(base_url=d.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as api:
                    for _ in range(5):
                        assert api.get("/v1/containers").status_code == 200
                assert httpx.get(f"{d.url}/health", timeout=10).status_code == 200
                # The Pop protocol shares the limits: while the flood goes on, the flooding address
                # is refused there too, and clearly (after it, the limits refill within seconds).
                with (
                    grpc.insecure_channel(f"127.0.0.1:{d.pop_port}") as channel,
                    pytest.raises(grpc.RpcError) as refused,
                ):
                    pb_grpc.PopStub(channel).Login(pb.Credentials(username=USER, password="wrong"))
                assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
                assert "too many" in refused.value.details()  # failed logins, or logins in progress
            finally:
                stop.set()
                for f in futures:
                    f.result()
        assert set(results) <= {401, 429}, set(results)
        # The right password from the flooding address waits for the limit to pass, then works.
        wait_for(
            lambda: (
                httpx.post(f"{d.url}/v1/auth/login", json={"username": USER, "password": PASSWORD}).status_code == 200
            ),
            timeout=60,
            interval=1,
            what="logins to be allowed again",
        )
    finally:
        d.stop()
        d.purge()


def test_tokens_per_user_are_capped_oldest_first(engine, tmp_path: Path) -> None:  # noqa: ANN001
    d = Daemon(tmp_path / "tokens", config_text="[limits]\ntokens_per_user = 3\n").start()
    try:
        tokens = []
        for _ in range(4):
            r = httpx.post(f"{d.url}/v1/auth/login", json={"username": USER, "password": PASSWORD})
            assert r.status_code == 200, r.text
            tokens.append(r.json()["token"])

        def status(token: str) -> int:
            return httpx.get(f"{d.url}/v1/info", headers={"Authorization": f"Bearer {token}"}).status_code

        assert status(tokens[0]) == 401
        assert [status(t) for t in tokens[1:]] == [200, 200, 200]
    finally:
        d.stop()
        d.purge()
