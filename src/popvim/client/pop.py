"""``PopClient``: the Pop protocol with typed results and Python exceptions.

Mirrors docker-py's shape (one object per endpoint, methods per operation).
Containers are named by name or ``id:<uuid>``, as the seed's ``pop`` tool does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import grpc
from google.protobuf import empty_pb2

from popvim.client import models
from popvim.client.defaults import DEFAULT_ADDRESS
from popvim.client.errors import Forbidden, NotFound, PermissionDenied, from_rpc_error
from popvim.client.session import SESSIONS, Credentials, Session, SessionCache
from popvim.proto import vim_pop_pb2 as pb

T = TypeVar("T")


def filter_for(ref: str | None) -> pb.Filter:
    """``id:<uuid>`` selects by id, anything else by name; None selects everything."""
    if ref is None:
        return pb.Filter()
    if ref.startswith("id:"):
        return pb.Filter(id=ref[3:])
    return pb.Filter(name=ref)


class PopClient:
    """One PoP as seen by one user. Cheap to create: the session (channel + token) is shared.

    ``token`` starts the session from a token obtained earlier (``pop login``
    stores one); without ``password`` such a client cannot log in again, so a
    refused token ends in PermissionDenied telling the user to log in again.
    """

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        username: str = "",
        password: str = "",
        *,
        token: str = "",
        tls: bool = False,
        ca_certificate: bytes | None = None,
        client_certificate: bytes | None = None,
        client_key: bytes | None = None,
        timeout: float = 60.0,
        cache: SessionCache = SESSIONS,
    ) -> None:
        self.credentials = Credentials(
            address, username, password, tls, ca_certificate, token, client_certificate, client_key
        )
        self.timeout = timeout
        self._cache = cache

    @property
    def session(self) -> Session:
        return self._cache.get(self.credentials)

    def _call(self, rpc: Callable[[Session, list[tuple[str, str]]], T]) -> T:
        """Run ``rpc`` with the session's token; one re-login if the token is refused."""
        session = self.session
        token = session.token(self.timeout)
        try:
            return rpc(session, [("token", token)])
        except grpc.RpcError as exc:
            error = from_rpc_error(exc)
            if not isinstance(error, PermissionDenied) or isinstance(error, Forbidden):
                raise error from None
            self._check_can_relogin(error)
        token = session.renew(token, self.timeout)
        try:
            return rpc(session, [("token", token)])
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    def _check_can_relogin(self, refusal: PermissionDenied) -> None:
        """A token-only client cannot replace a refused token: keep the server's reason, add the remedy."""
        if not self.credentials.password:
            raise PermissionDenied(
                refusal.code, f"{refusal.message}; no password to log in again with: run `pop login` again"
            ) from None

    def _unary(self, method: str, request: Any) -> Any:
        return self._call(lambda s, md: getattr(s.stub, method)(request, metadata=md, timeout=self.timeout))

    # --- session --------------------------------------------------------------
    def login(self) -> str:
        """The session's token, logging in first if it has none (checks the credentials)."""
        return self.session.token(self.timeout)

    def info(self) -> models.Info:
        reply = self._unary("Info", empty_pb2.Empty())
        return models.Info(type=reply.type, name=reply.name, timestamp=reply.timestamp)

    def logout(self) -> None:
        """Invalidate the session's token on the server; a session that never logged in has nothing to end."""
        session = self.session
        token = session.current
        if token is None:
            return
        try:
            session.stub.Logout(empty_pb2.Empty(), metadata=[("token", token)], timeout=self.timeout)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        finally:
            session.forget()

    # --- queries --------------------------------------------------------------
    def containers(self, ref: str | None = None) -> list[models.Container]:
        return [models.container(c) for c in self._unary("Containers", filter_for(ref)).list]

    def container(self, ref: str) -> models.Container:
        found = self.containers(ref)
        if not found:
            raise NotFound(grpc.StatusCode.NOT_FOUND, f"container {ref!r} not found")
        return found[0]

    def flavours(self, ref: str | None = None) -> list[models.Flavour]:
        return [models.Flavour(f.id, f.name) for f in self._unary("Flavours", filter_for(ref)).list]

    def images(self, ref: str | None = None) -> list[models.Image]:
        return [models.image(i) for i in self._unary("Images", filter_for(ref)).list]

    def networks(self, ref: str | None = None) -> list[models.Network]:
        return [models.network(n) for n in self._unary("Networks", filter_for(ref)).list]

    # --- containers -----------------------------------------------------------
    def create(
        self,
        name: str,
        image: str,
        *,
        flavour: str = "",
        endpoints: dict[str, str | None] | None = None,
        command: list[str] | None = None,
        env: dict[str, str] | None = None,
        ports: dict[str, int] | None = None,
        metadata: dict[str, str] | None = None,
        cpus: float | None = None,
        memory: int | None = None,
        labels: dict[str, str] | None = None,
        volumes: list[str] | None = None,
        privileged: bool = False,
        cap_add: list[str] | None = None,
    ) -> models.Container:
        """A CREATED container with an address reserved on each endpoint network
        (``{network: fixed_ip_or_None}``; none given: the PoP's default network).

        ``volumes``, ``privileged`` and ``cap_add`` are what the PoP's policy allows, else Forbidden."""
        request = pb.ContainerConfig(
            name=name,
            image_id=image,
            flavour_id=flavour,
            endpoints={
                net: pb.Endpoint(net_name=net, ipv4=pb.Ip(address=ip or "")) for net, ip in (endpoints or {}).items()
            },
            command=command or [],
            env=env or {},
            ports=ports or {},
            cpus=cpus or 0,
            memory=memory or 0,
            labels=labels or {},
            volumes=volumes or [],
            privileged=privileged,
            cap_add=cap_add or [],
        )
        if metadata:
            request.md.entries.update(metadata)
        return models.container(self._unary("Create", request))

    def set_metadata(self, ref: str, entries: dict[str, str]) -> None:
        """Merge ``entries``; an empty value deletes its key. Only before start."""
        self._unary("Metadata", pb.NewMetadata(filter=filter_for(ref), md=pb.Metadata(entries=entries)))

    def start(self, ref: str) -> models.Container:
        return models.container(self._unary("Start", filter_for(ref)))

    def stop(self, ref: str) -> None:
        self._unary("Stop", filter_for(ref))

    def delete(self, ref: str) -> None:
        self._unary("Delete", filter_for(ref))

    def spawn(self, name: str, image: str, **options: Any) -> models.Container:
        """Create and start, as ``pop spawn`` does."""
        created = self.create(name, image, **options)
        return self.start(f"id:{created.id}")

    def logs(self, ref: str, tail: int = 0, timestamps: bool = False) -> str:
        request = pb.LogsRequest(filter=filter_for(ref), tail=tail, timestamps=timestamps)
        logs: str = self._unary("Logs", request).logs
        return logs

    def exec(self, ref: str, command: list[str], env: dict[str, str] | None = None) -> models.ExecResult:
        reply = self._unary("Exec", pb.ExecRequest(filter=filter_for(ref), command=command, env=env or {}))
        return models.ExecResult(reply.exit_code, reply.stdout, reply.stderr)

    def stats(self, ref: str) -> models.Stats:
        reply = self._unary("Stats", filter_for(ref))
        return models.Stats(
            reply.cpu_percent, reply.memory_usage, reply.memory_limit, reply.pids, reply.rx_bytes, reply.tx_bytes
        )

    # --- networks and images --------------------------------------------------
    def create_network(
        self,
        name: str,
        *,
        subnet: str = "",
        ip_range: str = "",
        gateway: str = "",
        driver: str = "",
        internal: bool = False,
        labels: dict[str, str] | None = None,
        parent: str = "",
        options: dict[str, str] | None = None,
        bandwidth: str = "",
    ) -> models.Network:
        request = pb.NetworkConfig(
            bandwidth=bandwidth,
            name=name,
            subnet=subnet,
            ip_range=ip_range,
            gateway=gateway,
            driver=driver,
            internal=internal,
            labels=labels or {},
            parent=parent,
            options=options or {},
        )
        return models.network(self._unary("CreateNetwork", request))

    def delete_network(self, ref: str) -> None:
        self._unary("DeleteNetwork", filter_for(ref))

    def pull(self, ref: str) -> Iterator[models.PullProgress]:
        """Progress messages as the engine reports them; the last carries the pulled image.

        Streamed, not collected, so a progress bar moves while the pull runs.
        The token is checked before the first message, so a refused token can
        still be replaced and the pull retried once without losing progress.
        """
        session = self.session
        token = session.token(self.timeout)
        for attempt in range(2):
            call = session.stub.Pull(
                pb.PullRequest(ref=ref), metadata=[("token", token)], timeout=max(self.timeout, 600)
            )
            seen = False
            try:
                for message in call:
                    seen = True
                    yield models.pull_progress(message)
                return
            except grpc.RpcError as exc:
                error = from_rpc_error(exc)
                if seen or attempt or not isinstance(error, PermissionDenied) or isinstance(error, Forbidden):
                    raise error from None
                self._check_can_relogin(error)
            finally:
                call.cancel()  # a caller that stops iterating early must not leave the pull streaming
            token = session.renew(token, self.timeout)

    # --- events ---------------------------------------------------------------
    def events(self, kinds: list[str] | None = None, keepalive: float = 0.0) -> EventStream:
        """The PoP's state changes as they happen: iterate the answer; ``cancel()`` it from any thread.

        The first event is always "stream.open": the subscription is in place, so
        what the caller lists after seeing it is current and no change is lost
        in between (list-then-watch). Quiet streams carry "keepalive" events
        every ``keepalive`` seconds (the server's default when 0), so a caller
        can tell a dead connection from a quiet PoP. ``kinds`` keeps only kinds
        starting with one of its prefixes.
        """
        return EventStream(self, pb.EventsRequest(kinds=kinds or [], keepalive=keepalive))


class EventStream:
    """One Events call. A refused token is renewed once, before the first event; a later failure
    ends the iteration with its PopError (``popvim.client.events.EventWatch`` reconnects)."""

    def __init__(self, client: PopClient, request: pb.EventsRequest) -> None:
        self._client = client
        self._request = request
        self._call: Any = None
        self._cancelled = False
        self._lock = threading.Lock()

    def cancel(self) -> None:
        """End the stream (the server frees its thread and stream slot at once); iteration stops quietly."""
        with self._lock:
            self._cancelled = True
            call = self._call
        if call is not None:
            call.cancel()

    def __iter__(self) -> Iterator[models.Event]:
        client = self._client
        session = client.session
        token = session.token(client.timeout)
        for attempt in range(2):
            with self._lock:
                if self._cancelled:
                    return
                call = self._call = session.stub.Events(self._request, metadata=[("token", token)])
            seen = False
            try:
                for message in call:
                    seen = True
                    yield models.event(message)
                return
            except grpc.RpcError as exc:
                if self._cancelled:
                    return
                error = from_rpc_error(exc)
                if seen or attempt or not isinstance(error, PermissionDenied) or isinstance(error, Forbidden):
                    raise error from None
                client._check_can_relogin(error)  # noqa: SLF001 - the stream is part of the client
            finally:
                call.cancel()
            token = session.renew(token, client.timeout)
