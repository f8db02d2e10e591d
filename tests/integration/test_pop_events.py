"""The Pop protocol's Events stream: what the orchestrator's controllers watch instead of polling."""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Iterator

import grpc
import pytest
from support.daemon import PASSWORD, SLEEPER, USER, Daemon, wait_for

from popvim.client import Event, EventWatch, PopClient
from popvim.client.session import SessionCache
from popvim.proto import vim_pop_pb2 as pb
from popvim.proto import vim_pop_pb2_grpc as pb_grpc

BUSYBOX = "popvim-test/busybox:latest"


@pytest.fixture
def client(daemon: Daemon) -> Iterator[PopClient]:
    cache = SessionCache()
    yield PopClient(f"127.0.0.1:{daemon.pop_port}", USER, PASSWORD, cache=cache, timeout=30)
    cache.clear()


def test_a_container_life_arrives_as_events_after_stream_open(client: PopClient) -> None:
    stream = client.events(kinds=["container."])
    got: queue.Queue[Event] = queue.Queue()

    def read() -> None:
        for event in stream:
            got.put(event)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert got.get(timeout=15).kind == "stream.open"  # subscribed: what follows is not missed
        name = f"ev-{uuid.uuid4().hex[:8]}"
        made = client.spawn(name, BUSYBOX, command=SLEEPER, ports={"80": 0})
        assert made.ports["80/tcp"] > 0  # the host port the engine chose: how other sites reach it
        client.delete(f"id:{made.id}")
        seen = []
        while "container.deleted" not in seen:
            event = got.get(timeout=15)
            assert event.kind.startswith("container."), event  # the filter holds
            if event.subject == made.id:
                assert event.data["name"] == name and event.time > 0
                seen.append(event.data.get("state") or event.kind)
        assert seen == ["CREATED", "RUNNING", "container.deleted"], seen
    finally:
        stream.cancel()
        reader.join(10)
    assert not reader.is_alive(), "cancel() ends the iteration"


def test_a_quiet_stream_carries_keepalives_and_a_cancel_frees_its_slot(daemon: Daemon) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{daemon.pop_port}") as channel:
        stub = pb_grpc.PopStub(channel)
        token = stub.Login(pb.Credentials(username=USER, password=PASSWORD), timeout=30).value
        md = [("token", token)]
        for _ in range(12):  # more than the per-user stream limit (8): each cancel gives its slot back
            call = stub.Events(pb.EventsRequest(kinds=["nothing.matches"], keepalive=0.2), metadata=md)
            kinds = [next(call).kind, next(call).kind]
            call.cancel()
            assert kinds == ["stream.open", "keepalive"]
        with pytest.raises(grpc.RpcError) as refused:
            next(stub.Events(pb.EventsRequest(keepalive=-1), metadata=md))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as anonymous:
            next(stub.Events(pb.EventsRequest()))
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_watch_reopens_its_stream_when_the_pop_restarts(fresh_daemon: Daemon) -> None:
    fresh_daemon.start()
    cache = SessionCache()
    client = PopClient(f"127.0.0.1:{fresh_daemon.pop_port}", USER, PASSWORD, cache=cache, timeout=10)
    seen: queue.Queue[Event] = queue.Queue()
    opened: queue.Queue[int] = queue.Queue()
    watch = EventWatch(
        "t", lambda: client, seen.put, on_open=lambda: opened.put(1), kinds=["container."], keepalive=1.0
    ).start()
    try:
        opened.get(timeout=15)
        fresh_daemon.stop()
        fresh_daemon.start()
        opened.get(timeout=30)  # on_open again: the owner re-lists what it may have missed
        made = client.create(f"ev-{uuid.uuid4().hex[:8]}", BUSYBOX, command=SLEEPER)
        wait_for(lambda: not seen.empty() and seen.get().subject == made.id, 15, what="the created event")
        assert watch.opened >= 2
    finally:
        watch.stop()
        cache.clear()
    assert not watch.alive
