"""The Pop service (seed 001 4.2, Appendix B) over the ``Vim`` facade.

Each RPC translates its request, calls the domain, and translates the answer:
the lifecycle rules (Fig. 4.3), address reservation and metadata live in the
domain, shared with the REST face. What is decided here is only what the
protocol itself defines: how a Filter selects, and which status code a client
sees where seed 001's reference server is more specific than the domain
(Start and Stop, see ``Start`` and ``Stop``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

import grpc
from google.protobuf import empty_pb2

from popvim.api.pop import mapping
from popvim.api.pop.auth import tokens_of
from popvim.api.pop.errors import PopStatus, invalid, streaming, unary
from popvim.proto import vim_pop_pb2 as pb
from popvim.proto import vim_pop_pb2_grpc as pb_grpc
from popvim.vim import errors as e
from popvim.vim.events import Event
from popvim.vim.models import Container, Network
from popvim.vim.service import Vim
from popvim.vim.validation import checked_env

POP_TYPE = "docker"
EVENTS_KEEPALIVE = 15.0
EVENTS_POLL = 0.5  # how often a quiet stream looks whether its caller is still there


def _peer_host(peer: str) -> str:
    """The client address of ``ipv4:1.2.3.4:5``, ``ipv6:[::1]:5``, ``unix:/path``: what logins are limited by."""
    _scheme, _, rest = peer.partition(":")
    host = rest.rsplit(":", 1)[0] if rest.count(":") and not rest.startswith("/") else rest
    return host.strip("[]")


_EMPTY = empty_pb2.Empty()


class PopServicer(pb_grpc.PopServicer):
    def __init__(self, vim: Vim) -> None:
        self._vim = vim

    # --- look-ups shared by several RPCs -------------------------------------------
    def _container(self, message: pb.Filter) -> Container:
        """The one container a Filter names, matched exactly on its id or its name."""
        kind, value = mapping.required_filter(message)
        found = self._vim.containers.get(value)
        if (found.id if kind == "id" else found.name) != value:
            raise e.NotFound(f"no container with {kind} {value!r}")
        return found

    def _networks_matching(self, message: pb.Filter) -> list[Network]:
        selected = mapping.filter_of(message)
        if selected is None:
            return self._vim.networks.list()
        kind, value = selected
        try:
            found = self._vim.networks.get(value)
        except e.NotFound:
            return []
        if kind == "id":
            matches = found.id == value or bool(found.engine_id and found.engine_id.startswith(value))
        else:
            matches = found.name == value
        return [found] if matches else []

    # --- queries: an empty Filter lists everything, id or name the match (or nothing) ---
    @unary
    def Containers(self, request: pb.Filter, context: grpc.ServicerContext) -> pb.ContainerList:
        selected = mapping.filter_of(request)
        if selected is None:
            found = self._vim.containers.list()
        elif selected[0] == "name":
            found = self._vim.containers.list(name=selected[1])
        else:
            try:
                one = self._vim.containers.get(selected[1])
                found = [one] if one.id == selected[1] else []
            except e.NotFound:
                found = []
        return pb.ContainerList(list=[mapping.container(c) for c in found])

    @unary
    def Flavours(self, request: pb.Filter, context: grpc.ServicerContext) -> pb.FlavourList:
        selected = mapping.filter_of(request)
        flavours = self._vim.flavours.list()
        if selected is not None:
            kind, value = selected
            flavours = [f for f in flavours if getattr(f, kind) == value]
        return pb.FlavourList(list=[mapping.flavour(f) for f in flavours])

    @unary
    def Images(self, request: pb.Filter, context: grpc.ServicerContext) -> pb.ImageList:
        selected = mapping.filter_of(request)
        if selected is None:
            images = self._vim.images.list()
        else:
            # Like the reference (Docker's inspect): an id, a short id or a name:tag all resolve.
            try:
                images = [self._vim.images.get(selected[1])]
            except (e.NotFound, e.InvalidArgument):
                images = []
        return pb.ImageList(list=[mapping.image(i) for i in images])

    @unary
    def Networks(self, request: pb.Filter, context: grpc.ServicerContext) -> pb.NetworkList:
        return pb.NetworkList(list=[mapping.network(n) for n in self._networks_matching(request)])

    # --- containers ------------------------------------------------------------------
    @unary
    def Create(self, request: pb.ContainerConfig, context: grpc.ServicerContext) -> pb.Container:
        return mapping.container(self._vim.containers.create(mapping.container_config(request)))

    @unary
    def Delete(self, request: pb.Filter, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self._vim.containers.delete(self._container(request).id)
        return _EMPTY

    @unary
    def Metadata(self, request: pb.NewMetadata, context: grpc.ServicerContext) -> empty_pb2.Empty:
        target = self._container(request.filter)  # an unset filter reads as empty: INVALID_ARGUMENT
        self._vim.containers.update_metadata(target.id, mapping.metadata_entries(request))
        return _EMPTY

    @unary
    def Start(self, request: pb.Filter, context: grpc.ServicerContext) -> pb.Container:
        """RUNNING or EXITED: ALREADY_EXISTS; FAILED or STOPPING: FAILED_PRECONDITION (the shared table,
        by the state the refusal carries)."""
        return mapping.container(self._vim.containers.start(self._container(request).id))

    @unary
    def Stop(self, request: pb.Filter, context: grpc.ServicerContext) -> empty_pb2.Empty:
        """Returns once STOPPING; EXITED or FAILED follows in the background.

        As the reference: CREATED (never started) and EXITED/FAILED answer
        UNAVAILABLE, STOPPING answers FAILED_PRECONDITION (the shared table, by the
        state the refusal carries). Only Stop answers "never started" with UNAVAILABLE,
        which other operations needing a running container answer FAILED_PRECONDITION.
        """
        try:
            self._vim.containers.stop(self._container(request).id)
        except e.NotRunning as exc:
            raise PopStatus(grpc.StatusCode.UNAVAILABLE, exc.message) from exc
        return _EMPTY

    # --- sessions --------------------------------------------------------------------
    @unary
    def Login(self, request: pb.Credentials, context: grpc.ServicerContext) -> pb.Token:
        token, _expires = self._vim.auth.login(request.username, request.password, _peer_host(context.peer()))
        return pb.Token(value=token)

    @unary
    def Logout(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> empty_pb2.Empty:
        """Invalidates every token the call carries (the interceptor made sure one is valid)."""
        self._vim.auth.logout(tokens_of(context))
        return _EMPTY

    @unary
    def Info(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> pb.Infos:
        """Cheap on purpose (no engine call): clients use it to check their session."""
        return pb.Infos(type=POP_TYPE, name=self._vim.settings.pop_name, timestamp=int(time.time()))

    # --- popvim additions ------------------------------------------------------------
    @unary
    def CreateNetwork(self, request: pb.NetworkConfig, context: grpc.ServicerContext) -> pb.Network:
        return mapping.network(self._vim.networks.create(mapping.network_config(request)))

    @unary
    def DeleteNetwork(self, request: pb.Filter, context: grpc.ServicerContext) -> empty_pb2.Empty:
        kind, value = mapping.required_filter(request)
        found = self._networks_matching(request)
        if not found:
            raise e.NotFound(f"no network with {kind} {value!r}")
        self._vim.networks.delete(found[0].id)
        return _EMPTY

    @streaming
    def Pull(self, request: pb.PullRequest, context: grpc.ServicerContext) -> Iterator[pb.PullProgress]:
        if not request.ref:
            raise invalid("ref is empty: name the image to pull, e.g. busybox:latest")
        for message in self._vim.images.pull(request.ref):
            yield mapping.pull_progress(message)

    @unary
    def Logs(self, request: pb.LogsRequest, context: grpc.ServicerContext) -> pb.LogsReply:
        target = self._container(request.filter)
        logs = self._vim.containers.logs(target.id, request.tail or None, request.timestamps)
        return pb.LogsReply(logs=logs.logs, truncated=logs.truncated)

    @unary
    def Exec(self, request: pb.ExecRequest, context: grpc.ServicerContext) -> pb.ExecReply:
        if not request.command:
            raise invalid("command is empty: give the argv to run, e.g. ['ip', 'addr']")
        env = dict(request.env) or None
        if env:
            checked_env(env, "env")  # before the look-up: a bad request is INVALID_ARGUMENT either way
        target = self._container(request.filter)
        timeout = request.timeout or None
        remaining = context.time_remaining()
        if remaining is not None and remaining < (timeout or self._vim.settings.limits.exec_timeout):
            timeout = max(remaining, 0.001)  # no point running past the caller's own deadline
        cancel = threading.Event()
        context.add_callback(cancel.set)  # the call ended (cancelled, deadline): kill the command
        out = self._vim.containers.exec(
            target.id,
            list(request.command),
            env,
            request.workdir or None,
            user=self._user(context),
            timeout=timeout,
            cancel=cancel,
        )
        return pb.ExecReply(
            exit_code=out.exit_code,
            stdout=out.stdout,
            stderr=out.stderr,
            stdout_truncated=out.stdout_truncated,
            stderr_truncated=out.stderr_truncated,
            timed_out=out.timed_out,
        )

    def _user(self, context: grpc.ServicerContext) -> str:
        """The user of the call (the interceptor has checked that one of its tokens is valid)."""
        for token in tokens_of(context):
            try:
                return self._vim.auth.verify(token)
            except e.VimError:
                continue
        return "-"

    @unary
    def Stats(self, request: pb.Filter, context: grpc.ServicerContext) -> pb.StatsReply:
        stats = self._vim.containers.stats(self._container(request).id)
        return pb.StatsReply(
            cpu_percent=stats.cpu_percent,
            memory_usage=stats.memory_usage,
            memory_limit=stats.memory_limit,
            pids=stats.pids,
            rx_bytes=stats.rx_bytes,
            tx_bytes=stats.tx_bytes,
        )

    @streaming
    def Events(self, request: pb.EventsRequest, context: grpc.ServicerContext) -> Iterator[pb.Event]:
        """The bus as a stream: what an orchestrator watches instead of polling every PoP.

        The subscription exists before "stream.open" is sent, so a client that
        lists after it has seen it misses no change. A stream holds one of the
        user's stream slots (as ``/v1/events`` does) and one server thread, so
        it ends as soon as the caller goes (cancel, deadline, closed channel).
        """
        if request.keepalive < 0 or request.keepalive > 3600:
            raise invalid("keepalive must be between 0 and 3600 seconds")
        kinds = tuple(request.kinds)
        keepalive = request.keepalive or EVENTS_KEEPALIVE
        user = self._user(context)
        self._vim.streams.take(user)
        subscription = self._vim.bus.subscribe()
        ended = threading.Event()
        context.add_callback(ended.set)
        try:
            yield pb.Event(kind="stream.open", subject=self._vim.settings.pop_name, time=time.time())
            quiet_since = time.monotonic()
            while not ended.is_set() and context.is_active():
                try:
                    event = subscription.get(timeout=EVENTS_POLL)
                except queue.Empty:
                    if time.monotonic() - quiet_since >= keepalive:
                        quiet_since = time.monotonic()
                        yield pb.Event(kind="keepalive", subject="", time=time.time())
                    continue
                if kinds and not event.kind.startswith(kinds):
                    continue
                quiet_since = time.monotonic()
                yield _event_message(event)
        finally:
            self._vim.bus.unsubscribe(subscription)
            self._vim.streams.give(user)


def _event_message(event: Event) -> pb.Event:
    data = {key: "" if value is None else str(value) for key, value in event.data.items()}
    return pb.Event(kind=event.kind, subject=event.subject, time=event.time.timestamp(), data=data)
