"""Seed 001's Pop gRPC protocol against a real popvimd and Docker engine.

Uses the generated stub directly (the client library comes later), so these
tests pin the wire behaviour: messages, filters, the lifecycle of Fig. 4.3
and every status code a client can branch on.
"""

from __future__ import annotations

import ipaddress
import random
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import grpc
import pytest
from google.protobuf import empty_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from support.daemon import BUSYBOX, PASSWORD, USER, Daemon, wait_for

from popvim.proto import vim_pop_pb2 as pb
from popvim.proto import vim_pop_pb2_grpc as pb_grpc

Code = grpc.StatusCode
Status = pb.Container.Status
EMPTY = empty_pb2.Empty()
TIMEOUT = 60.0
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
# Lingers 2 s after SIGTERM, so the STOPPING state is there to be observed and probed.
SLOW_STOPPER = ["sh", "-c", "trap 'sleep 2; exit 0' TERM; while true; do sleep 0.2; done"]
REGISTRY = "127.0.0.1:5055"  # scripts/local-registry.sh


# --- fixtures and helpers -----------------------------------------------------------
@pytest.fixture(scope="module")
def channel(daemon: Daemon) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{daemon.pop_port}") as ch:
        grpc.channel_ready_future(ch).result(timeout=15)
        yield ch


@pytest.fixture(scope="module")
def pop(channel: grpc.Channel) -> pb_grpc.PopStub:
    return pb_grpc.PopStub(channel)


@pytest.fixture(scope="module")
def md(pop: pb_grpc.PopStub) -> list[tuple[str, str]]:
    """Call metadata carrying a valid token, as seed 001 4.2.1 prescribes."""
    token = pop.Login(pb.Credentials(username=USER, password=PASSWORD), timeout=TIMEOUT).value
    return [("token", token)]


def unique(prefix: str = "g") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def failure(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[grpc.StatusCode, str]:
    """The status code and message of a call that must fail."""
    kwargs.setdefault("timeout", TIMEOUT)
    with pytest.raises(grpc.RpcError) as info:
        result = call(*args, **kwargs)
        if hasattr(result, "__next__"):  # server-streaming: the error comes while reading
            list(result)
    return info.value.code(), info.value.details()  # type: ignore[attr-defined]


def code_of(call: Callable[..., Any], *args: Any, **kwargs: Any) -> grpc.StatusCode:
    return failure(call, *args, **kwargs)[0]


def by_id(value: str) -> pb.Filter:
    return pb.Filter(id=value)


def by_name(value: str) -> pb.Filter:
    return pb.Filter(name=value)


def create(pop: pb_grpc.PopStub, auth: list[tuple[str, str]], /, **fields: Any) -> pb.Container:
    """Create with defaults; ``fields`` are ContainerConfig's (``md`` included, hence ``auth``)."""
    fields.setdefault("name", unique())
    fields.setdefault("image_id", BUSYBOX)
    fields.setdefault("command", SLEEPER)
    return pop.Create(pb.ContainerConfig(**fields), metadata=auth, timeout=TIMEOUT)


def get(pop: pb_grpc.PopStub, md: list[tuple[str, str]], container_id: str) -> pb.Container:
    (found,) = pop.Containers(by_id(container_id), metadata=md, timeout=TIMEOUT).list
    return found


def wait_status(
    pop: pb_grpc.PopStub, md: list[tuple[str, str]], container_id: str, *wanted: int, timeout: float = 20.0
) -> pb.Container:
    return wait_for(
        lambda: (c := get(pop, md, container_id)).status in wanted and c,
        timeout,
        what=f"{container_id} to reach {[Status.Name(w) for w in wanted]}",
    )


def engine_container(engine: docker.DockerClient, container_id: str) -> Any:
    (found,) = engine.containers.list(all=True, filters={"label": f"io.popvim.id={container_id}"})
    return found


def env_of(engine_view: Any) -> dict[str, str]:
    return dict(item.split("=", 1) for item in engine_view.attrs["Config"]["Env"])


# --- the seed's flow ---------------------------------------------------------------------
def test_seed_flow_from_login_to_delete(pop: pb_grpc.PopStub, daemon: Daemon, engine: docker.DockerClient) -> None:
    token = pop.Login(pb.Credentials(username=USER, password=PASSWORD), timeout=TIMEOUT).value
    md = [("token", token)]
    info = pop.Info(EMPTY, metadata=md, timeout=TIMEOUT)
    assert (info.type, info.name) == ("docker", daemon.name)
    assert abs(info.timestamp - time.time()) < 60

    name = unique("seed")
    created = create(pop, md, name=name)  # no endpoints: the default network
    assert created.status == Status.CREATED and list(created.names) == [name]
    assert created.id and created.image_id.startswith("sha256:") and created.flavour_id == "docker.container"
    assert abs(created.created - time.time()) < 60 and created.started == 0
    (private,) = pop.Networks(by_name("private"), metadata=md, timeout=TIMEOUT).list
    endpoint = created.endpoints["private"]
    assert endpoint.net_id == private.id and endpoint.net_name == "private"
    assert ipaddress.ip_address(endpoint.ipv4.address) in ipaddress.ip_network(private.subnets[0].cidr)
    assert endpoint.ipv4.subnet.cidr == private.subnets[0].cidr
    assert endpoint.ipv4.subnet.gateway == private.subnets[0].gateway
    assert not engine.containers.list(all=True, filters={"label": f"io.popvim.id={created.id}"})

    pop.Metadata(
        pb.NewMetadata(filter=by_id(created.id), md=pb.Metadata(entries={"A": "1", "GONE": "x"})),
        metadata=md,
        timeout=TIMEOUT,
    )
    pop.Metadata(
        pb.NewMetadata(filter=by_name(name), md=pb.Metadata(entries={"GONE": "", "B": "two words"})),
        metadata=md,
        timeout=TIMEOUT,
    )
    assert dict(get(pop, md, created.id).md.entries) == {"A": "1", "B": "two words"}

    started = pop.Start(by_name(name), metadata=md, timeout=TIMEOUT)
    assert started.status == Status.RUNNING and started.started >= created.created
    assert started.endpoints["private"].ipv4.address == endpoint.ipv4.address
    engine_view = engine_container(engine, created.id)
    assert engine_view.status == "running"
    env = env_of(engine_view)
    assert env["A"] == "1" and env["B"] == "two words" and "GONE" not in env
    networks = engine_view.attrs["NetworkSettings"]["Networks"]
    assert networks[daemon.prefix + "private"]["IPAddress"] == endpoint.ipv4.address
    with daemon.client() as api:  # and as the software inside sees it
        out = api.post(f"/v1/containers/{created.id}/exec", json={"command": ["env"]}).json()
    assert "A=1" in out["stdout"].splitlines() and "B=two words" in out["stdout"].splitlines()

    pop.Stop(by_id(created.id), metadata=md, timeout=TIMEOUT)
    stopped = wait_status(pop, md, created.id, Status.EXITED)
    assert stopped.exit_code == 0
    pop.Delete(by_id(created.id), metadata=md, timeout=TIMEOUT)
    assert not pop.Containers(by_id(created.id), metadata=md, timeout=TIMEOUT).list
    assert not engine.containers.list(all=True, filters={"label": f"io.popvim.id={created.id}"})


def test_stop_goes_through_stopping(pop: pb_grpc.PopStub, md: list[tuple[str, str]]) -> None:
    c = create(pop, md, command=SLOW_STOPPER)
    pop.Start(by_id(c.id), metadata=md, timeout=TIMEOUT)
    pop.Stop(by_id(c.id), metadata=md, timeout=TIMEOUT)
    assert get(pop, md, c.id).status == Status.STOPPING
    assert wait_status(pop, md, c.id, Status.EXITED).status == Status.EXITED
    pop.Delete(by_id(c.id), metadata=md, timeout=TIMEOUT)


def test_fixed_address_and_released_addresses(pop: pb_grpc.PopStub, md: list[tuple[str, str]]) -> None:
    first = create(pop, md)
    address = first.endpoints["private"].ipv4.address
    taken = {"private": pb.Endpoint(ipv4=pb.Ip(address=address))}
    assert (
        code_of(pop.Create, pb.ContainerConfig(name=unique(), image_id=BUSYBOX, endpoints=taken), metadata=md)
        == Code.ALREADY_EXISTS
    )
    pop.Delete(by_id(first.id), metadata=md, timeout=TIMEOUT)
    second = create(pop, md, endpoints=taken)
    assert second.endpoints["private"].ipv4.address == address
    pop.Delete(by_id(second.id), metadata=md, timeout=TIMEOUT)


def test_popvim_config_additions_reach_the_container(
    pop: pb_grpc.PopStub, md: list[tuple[str, str]], engine: docker.DockerClient
) -> None:
    c = create(pop, md, env={"STATIC": "s"}, md=pb.Metadata(entries={"EARLY": "e"}), flavour_id="m1.tiny")
    assert c.flavour_id == "m1.tiny" and dict(c.md.entries) == {"EARLY": "e"}
    pop.Start(by_id(c.id), metadata=md, timeout=TIMEOUT)
    view = engine_container(engine, c.id)
    assert env_of(view)["STATIC"] == "s" and env_of(view)["EARLY"] == "e"
    assert view.attrs["HostConfig"]["NanoCpus"] == 250_000_000
    assert view.attrs["HostConfig"]["Memory"] == 128 * 1024**2
    out = pop.Exec(
        pb.ExecRequest(filter=by_id(c.id), command=["sh", "-c", "echo $X-$STATIC"], env={"X": "x"}),
        metadata=md,
        timeout=TIMEOUT,
    )
    assert (out.exit_code, out.stdout, out.stderr) == (0, "x-s\n", "")
    pop.Delete(by_id(c.id), metadata=md, timeout=TIMEOUT)


# --- authentication ----------------------------------------------------------------------
def test_auth_status_codes(pop: pb_grpc.PopStub) -> None:
    assert code_of(pop.Info, EMPTY) == Code.UNAUTHENTICATED
    assert code_of(pop.Containers, pb.Filter()) == Code.UNAUTHENTICATED
    assert code_of(pop.Logout, EMPTY) == Code.UNAUTHENTICATED
    assert code_of(pop.Info, EMPTY, metadata=[("token", "not-a-token")]) == Code.PERMISSION_DENIED
    assert code_of(pop.Create, pb.ContainerConfig(), metadata=[("token", "x")]) == Code.PERMISSION_DENIED
    for creds in (
        pb.Credentials(username=USER, password="wrong"),
        pb.Credentials(username="nobody", password="x"),
        pb.Credentials(),
    ):
        assert code_of(pop.Login, creds) == Code.INVALID_ARGUMENT


def test_logout_invalidates_every_token_it_carries(pop: pb_grpc.PopStub) -> None:
    creds = pb.Credentials(username=USER, password=PASSWORD)
    first, second = (pop.Login(creds, timeout=TIMEOUT).value for _ in range(2))
    both = [("token", first), ("token", second)]
    assert pop.Info(EMPTY, metadata=[("token", second)], timeout=TIMEOUT).type == "docker"
    pop.Logout(EMPTY, metadata=both, timeout=TIMEOUT)
    for token in (first, second):
        assert code_of(pop.Info, EMPTY, metadata=[("token", token)]) == Code.PERMISSION_DENIED


@pytest.fixture
def short_lived_daemon(engine: docker.DockerClient, tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(tmp_path / "state", config_text="[pop]\ntoken_ttl = 1\n").start()
    yield d
    d.kill()
    d.purge()


def test_tokens_expire_and_sigterm_stops_the_server(short_lived_daemon: Daemon) -> None:
    address = f"127.0.0.1:{short_lived_daemon.pop_port}"
    with grpc.insecure_channel(address) as ch:
        stub = pb_grpc.PopStub(ch)
        token = stub.Login(pb.Credentials(username=USER, password=PASSWORD), timeout=TIMEOUT).value
        md = [("token", token)]
        assert stub.Info(EMPTY, metadata=md, timeout=TIMEOUT).name == short_lived_daemon.name
        denied = wait_for(lambda: _denied(stub, md), timeout=10, what="the 1 s token to expire")
        assert denied == (Code.PERMISSION_DENIED, "token expired")
    assert short_lived_daemon.stop() == 0
    with grpc.insecure_channel(address) as ch:
        with pytest.raises(grpc.FutureTimeoutError):
            grpc.channel_ready_future(ch).result(timeout=1)


def _denied(stub: pb_grpc.PopStub, md: list[tuple[str, str]]) -> tuple[grpc.StatusCode, str] | None:
    try:
        stub.Info(EMPTY, metadata=md, timeout=TIMEOUT)
        return None
    except grpc.RpcError as exc:
        return exc.code(), exc.details()  # type: ignore[attr-defined]


# --- health and reflection ---------------------------------------------------------------
def test_health_is_public(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "vim_pop.Pop"):
        answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_needs_a_token_and_describes_the_protocol(channel: grpc.Channel, md: list[tuple[str, str]]) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    def ask(request: reflection_pb2.ServerReflectionRequest, **kw: Any) -> reflection_pb2.ServerReflectionResponse:
        return next(iter(stub.ServerReflectionInfo(iter([request]), timeout=TIMEOUT, **kw)))

    with pytest.raises(grpc.RpcError) as info:
        ask(reflection_pb2.ServerReflectionRequest(list_services=""))
    assert info.value.code() == Code.UNAUTHENTICATED  # type: ignore[attr-defined]
    services = {
        s.name
        for s in ask(
            reflection_pb2.ServerReflectionRequest(list_services=""), metadata=md
        ).list_services_response.service
    }
    assert {"vim_pop.Pop", "grpc.health.v1.Health"} <= services
    files = ask(reflection_pb2.ServerReflectionRequest(file_containing_symbol="vim_pop.Pop"), metadata=md)
    assert any(b"vim_pop.proto" in f for f in files.file_descriptor_response.file_descriptor_proto)


# --- queries ---------------------------------------------------------------------------------
def test_containers_query(pop: pb_grpc.PopStub, md: list[tuple[str, str]]) -> None:
    c = create(pop, md)
    assert c.id in {x.id for x in pop.Containers(pb.Filter(), metadata=md, timeout=TIMEOUT).list}
    assert [x.id for x in pop.Containers(by_id(c.id), metadata=md, timeout=TIMEOUT).list] == [c.id]
    assert [x.id for x in pop.Containers(by_name(c.names[0]), metadata=md, timeout=TIMEOUT).list] == [c.id]
    assert [x.id for x in pop.Containers(by_id(c.names[0]), metadata=md, timeout=TIMEOUT).list] == []
    for missing in (by_id(str(uuid.uuid4())), by_name("no-such-container")):
        assert not pop.Containers(missing, metadata=md, timeout=TIMEOUT).list
    assert code_of(pop.Containers, by_id(""), metadata=md) == Code.INVALID_ARGUMENT
    pop.Delete(by_name(c.names[0]), metadata=md, timeout=TIMEOUT)


def test_images_query(pop: pb_grpc.PopStub, md: list[tuple[str, str]], engine: docker.DockerClient) -> None:
    everything = pop.Images(pb.Filter(), metadata=md, timeout=TIMEOUT).list
    expected = engine.images.get(BUSYBOX)
    (listed,) = [i for i in everything if i.id == expected.id]
    assert BUSYBOX in listed.names and listed.created > 0
    (named,) = pop.Images(by_name(BUSYBOX), metadata=md, timeout=TIMEOUT).list
    (by_image_id,) = pop.Images(by_id(expected.id), metadata=md, timeout=TIMEOUT).list
    assert named == by_image_id and named.id == expected.id and named.created == listed.created
    for missing in (by_name("no-such/image:1"), by_id("sha256:" + "0" * 64), by_name("not a reference")):
        assert not pop.Images(missing, metadata=md, timeout=TIMEOUT).list


def test_networks_query(pop: pb_grpc.PopStub, md: list[tuple[str, str]]) -> None:
    everything = pop.Networks(pb.Filter(), metadata=md, timeout=TIMEOUT).list
    (private,) = [n for n in everything if n.name == "private"]
    assert private.external and private.driver == "bridge"
    assert ipaddress.ip_address(private.subnets[0].gateway) in ipaddress.ip_network(private.subnets[0].cidr)
    assert list(pop.Networks(by_id(private.id), metadata=md, timeout=TIMEOUT).list) == [private]
    assert list(pop.Networks(by_name("private"), metadata=md, timeout=TIMEOUT).list) == [private]
    for missing in (by_id(str(uuid.uuid4())), by_name("no-such-net"), by_id("private")):
        assert not pop.Networks(missing, metadata=md, timeout=TIMEOUT).list


def test_flavours_query(pop: pb_grpc.PopStub, md: list[tuple[str, str]]) -> None:
    names = {f.name for f in pop.Flavours(pb.Filter(), metadata=md, timeout=TIMEOUT).list}
    assert {"docker.container", "m1.tiny"} <= names
    assert [f.name for f in pop.Flavours(by_id("m1.tiny"), metadata=md, timeout=TIMEOUT).list] == ["m1.tiny"]
    assert [f.id for f in pop.Flavours(by_name("docker.container"), metadata=md, timeout=TIMEOUT).list] == [
        "docker.container"
    ]
    assert not pop.Flavours(by_name("m9.huge"), metadata=md, timeout=TIMEOUT).list


# --- status codes of the container operations ---------------------------------------------------
def test_bad_requests_are_invalid_argument(pop: pb_grpc.PopStub, md: list[tuple[str, str]]) -> None:
    c = create(pop, md)
    bad_creates = [
        pb.ContainerConfig(),
        pb.ContainerConfig(name="bad name!", image_id=BUSYBOX),
        pb.ContainerConfig(name=unique(), image_id="not a ref"),
        pb.ContainerConfig(
            name=unique(), image_id=BUSYBOX, endpoints={"private": pb.Endpoint(ipv4=pb.Ip(address="300.1.1.1"))}
        ),
        pb.ContainerConfig(name=unique(), image_id=BUSYBOX, endpoints={"": pb.Endpoint()}),
        pb.ContainerConfig(name=unique(), image_id=BUSYBOX, ports={"99999": 0}),
        pb.ContainerConfig(name=unique(), image_id=BUSYBOX, env={"A=B": "x"}),
    ]
    for config in bad_creates:
        code, message = failure(pop.Create, config, metadata=md)
        assert code == Code.INVALID_ARGUMENT and message, config
    for call in (pop.Start, pop.Stop, pop.Delete, pop.Containers, pop.DeleteNetwork):
        assert code_of(call, pb.Filter(name=""), metadata=md) == Code.INVALID_ARGUMENT, call
    for call in (pop.Start, pop.Stop, pop.Delete, pop.DeleteNetwork):
        assert code_of(call, pb.Filter(), metadata=md) == Code.INVALID_ARGUMENT, call
    bad_metadata = [
        pb.NewMetadata(),
        pb.NewMetadata(md=pb.Metadata(entries={"A": "1"})),
        pb.NewMetadata(filter=by_id(c.id)),
        pb.NewMetadata(filter=by_id(c.id), md=pb.Metadata()),
        pb.NewMetadata(filter=by_id(c.id), md=pb.Metadata(entries={"A=B": "1"})),
    ]
    for request in bad_metadata:
        assert code_of(pop.Metadata, request, metadata=md) == Code.INVALID_ARGUMENT, request
    assert code_of(pop.Exec, pb.ExecRequest(filter=by_id(c.id)), metadata=md) == Code.INVALID_ARGUMENT
    assert code_of(pop.Logs, pb.LogsRequest(), metadata=md) == Code.INVALID_ARGUMENT
    assert code_of(pop.Pull, pb.PullRequest(), metadata=md) == Code.INVALID_ARGUMENT
    assert code_of(pop.Pull, pb.PullRequest(ref="Not A Ref"), metadata=md) == Code.INVALID_ARGUMENT
    assert code_of(pop.CreateNetwork, pb.NetworkConfig(), metadata=md) == Code.INVALID_ARGUMENT
    pop.Delete(by_id(c.id), metadata=md, timeout=TIMEOUT)


def test_unknown_things_are_not_found(pop: pb_grpc.PopStub, md: list[tuple[str, str]]) -> None:
    nobody = by_id(str(uuid.uuid4()))
    for call in (pop.Start, pop.Stop, pop.Delete, pop.DeleteNetwork):
        assert code_of(call, nobody, metadata=md) == Code.NOT_FOUND, call
    assert (
        code_of(pop.Metadata, pb.NewMetadata(filter=nobody, md=pb.Metadata(entries={"A": "1"})), metadata=md)
        == Code.NOT_FOUND
    )
    assert code_of(pop.Logs, pb.LogsRequest(filter=nobody), metadata=md) == Code.NOT_FOUND
    for config in (
        pb.ContainerConfig(name=unique(), image_id="no-such/image:1"),
        pb.ContainerConfig(name=unique(), image_id=BUSYBOX, flavour_id="m9.huge"),
        pb.ContainerConfig(name=unique(), image_id=BUSYBOX, endpoints={"no-such-net": pb.Endpoint()}),
    ):
        assert code_of(pop.Create, config, metadata=md) == Code.NOT_FOUND, config


def test_lifecycle_status_codes(pop: pb_grpc.PopStub, md: list[tuple[str, str]]) -> None:
    c = create(pop, md, command=SLOW_STOPPER)
    one = by_id(c.id)
    assert (
        code_of(pop.Create, pb.ContainerConfig(name=c.names[0], image_id=BUSYBOX), metadata=md) == Code.ALREADY_EXISTS
    )
    assert code_of(pop.Stop, one, metadata=md) == Code.UNAVAILABLE  # never started (reference: ErrNotStarted)
    assert code_of(pop.Exec, pb.ExecRequest(filter=one, command=["true"]), metadata=md) == Code.FAILED_PRECONDITION

    pop.Start(one, metadata=md, timeout=TIMEOUT)
    assert code_of(pop.Start, one, metadata=md) == Code.ALREADY_EXISTS
    new_md = pb.NewMetadata(filter=one, md=pb.Metadata(entries={"LATE": "1"}))
    assert code_of(pop.Metadata, new_md, metadata=md) == Code.FAILED_PRECONDITION

    pop.Stop(one, metadata=md, timeout=TIMEOUT)
    assert get(pop, md, c.id).status == Status.STOPPING
    assert code_of(pop.Stop, one, metadata=md) == Code.FAILED_PRECONDITION
    assert code_of(pop.Start, one, metadata=md) == Code.FAILED_PRECONDITION

    wait_status(pop, md, c.id, Status.EXITED)
    assert code_of(pop.Stop, one, metadata=md) == Code.UNAVAILABLE
    assert code_of(pop.Start, one, metadata=md) == Code.ALREADY_EXISTS
    assert code_of(pop.Metadata, new_md, metadata=md) == Code.FAILED_PRECONDITION
    pop.Delete(one, metadata=md, timeout=TIMEOUT)
    assert code_of(pop.Delete, one, metadata=md) == Code.NOT_FOUND


def test_a_failed_start(pop: pb_grpc.PopStub, md: list[tuple[str, str]]) -> None:
    c = create(pop, md, command=["/no/such/binary"])
    code, message = failure(pop.Start, by_id(c.id), metadata=md)
    assert code == Code.INTERNAL and "no/such/binary" in message
    failed = get(pop, md, c.id)
    assert failed.status == Status.FAILED and failed.extended_status.startswith("start failed")
    assert code_of(pop.Start, by_id(c.id), metadata=md) == Code.FAILED_PRECONDITION
    assert code_of(pop.Stop, by_id(c.id), metadata=md) == Code.UNAVAILABLE
    pop.Delete(by_id(c.id), metadata=md, timeout=TIMEOUT)


def test_networks_and_exhausted_addresses(
    pop: pb_grpc.PopStub, md: list[tuple[str, str]], daemon: Daemon, engine: docker.DockerClient
) -> None:
    name = unique("net")
    subnet = f"10.{random.randint(200, 250)}.{random.randint(0, 255)}.{4 * random.randint(0, 63)}/30"
    net = pop.CreateNetwork(pb.NetworkConfig(name=name, subnet=subnet, internal=True), metadata=md, timeout=TIMEOUT)
    assert (net.name, net.external, next(iter(net.subnets)).cidr) == (name, False, subnet)
    assert engine.networks.get(daemon.prefix + name).attrs["Internal"] is True
    assert code_of(pop.CreateNetwork, pb.NetworkConfig(name=name), metadata=md) == Code.ALREADY_EXISTS

    only = create(pop, md, endpoints={name: pb.Endpoint()})  # a /30 has one address besides the gateway
    assert list(only.endpoints) == [name] and only.endpoints[name].net_id == net.id
    code, message = failure(
        pop.Create, pb.ContainerConfig(name=unique(), image_id=BUSYBOX, endpoints={name: pb.Endpoint()}), metadata=md
    )
    assert code == Code.RESOURCE_EXHAUSTED and name in message

    assert code_of(pop.DeleteNetwork, by_name(name), metadata=md) == Code.FAILED_PRECONDITION  # in use
    assert code_of(pop.DeleteNetwork, by_name("private"), metadata=md) == Code.FAILED_PRECONDITION  # default
    pop.Delete(by_id(only.id), metadata=md, timeout=TIMEOUT)
    pop.DeleteNetwork(by_id(net.id), metadata=md, timeout=TIMEOUT)
    assert not pop.Networks(by_name(name), metadata=md, timeout=TIMEOUT).list


# --- popvim additions: logs, exec, pull ---------------------------------------------------------
def test_logs_and_exec(pop: pb_grpc.PopStub, md: list[tuple[str, str]]) -> None:
    c = create(pop, md, command=["sh", "-c", "echo hello-pop; echo second; " + SLEEPER[2]])
    pop.Start(by_id(c.id), metadata=md, timeout=TIMEOUT)
    logs = wait_for(
        lambda: (
            (text := pop.Logs(pb.LogsRequest(filter=by_id(c.id)), metadata=md, timeout=TIMEOUT).logs).count("\n") >= 2
            and text
        ),
        what="two lines of logs",
    )
    assert logs == "hello-pop\nsecond\n"
    tail = pop.Logs(pb.LogsRequest(filter=by_name(c.names[0]), tail=1), metadata=md, timeout=TIMEOUT).logs
    assert tail == "second\n"
    out = pop.Exec(
        pb.ExecRequest(filter=by_id(c.id), command=["sh", "-c", "echo err >&2; exit 3"]), metadata=md, timeout=TIMEOUT
    )
    assert (out.exit_code, out.stdout, out.stderr) == (3, "", "err\n")
    pop.Delete(by_id(c.id), metadata=md, timeout=TIMEOUT)


def test_pull_streams_progress_then_the_image(
    pop: pb_grpc.PopStub, md: list[tuple[str, str]], engine: docker.DockerClient
) -> None:
    repository = f"{REGISTRY}/popvim-test/pop-pull-{uuid.uuid4().hex[:8]}"
    ref = f"{repository}:v1"
    image = engine.images.get(BUSYBOX)
    image.tag(repository, "v1")
    try:
        for line in engine.images.push(repository, "v1", stream=True, decode=True):
            assert "error" not in line, line
        engine.images.remove(ref)
        messages = list(pop.Pull(pb.PullRequest(ref=ref), metadata=md, timeout=TIMEOUT))
        assert messages[-1].status == "pulled" and ref in messages[-1].image.names
        assert messages[-1].image.id == image.id
        assert all(not m.HasField("image") for m in messages[:-1]) and len(messages) > 1
        (listed,) = pop.Images(by_name(ref), metadata=md, timeout=TIMEOUT).list
        assert listed.id == image.id
        code, message = failure(pop.Pull, pb.PullRequest(ref=f"{repository}:missing"), metadata=md)
        assert code == Code.NOT_FOUND and "missing" in message
    finally:
        try:
            engine.images.remove(ref)
        except docker.errors.ImageNotFound:
            pass
