"""An in-memory engine implementing the whole ``EngineDriver`` interface, for fast unit tests.

It behaves like Docker where the domain relies on it: a container is ``created``
until started, ``running`` until stopped, killed or lost, then ``exited``; names are
unique; addresses on a network are unique (and given out when not asked for);
events (``start``, ``die``, ``stop``) reach every open stream whose labels match.
Failures are the typed errors of ``popvim.engine.errors``, and any call can be made
to fail once with ``fail_next``. The real behaviour of every operation is tested
against Docker in tests/integration.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from popvim.engine.driver import (
    ContainerSpec,
    EngineContainer,
    EngineEvent,
    EngineImage,
    EngineNetwork,
    EngineStats,
    EngineUsage,
    ExecBounds,
    ExecResult,
    NetworkSpec,
)
from popvim.engine.errors import EngineConflict, EngineError, EngineNotFound, EngineRefused
from popvim.engine.shaping import LinkShape

BUSYBOX_ID = "sha256:" + "b" * 64


@dataclass
class FakeContainer:
    """The engine's own record of one container (mutable, unlike ``EngineContainer``)."""

    id: str
    name: str
    image: str
    labels: dict[str, str]
    env: dict[str, str]
    restart_policy: str | None
    networks: dict[str, str] = field(default_factory=dict)  # network name -> ipv4
    status: str = "created"
    exit_code: int | None = None
    oom_killed: bool = False
    error: str = ""
    output: bytes = b""

    @property
    def running(self) -> bool:
        return self.status == "running"

    def view(self) -> EngineContainer:
        return EngineContainer(
            id=self.id,
            name=self.name,
            image=self.image,
            status=self.status,
            running=self.running,
            restarting=False,
            exit_code=self.exit_code,
            error=self.error,
            oom_killed=self.oom_killed,
            labels=dict(self.labels),
            networks=dict(self.networks),
        )


class _Stream:
    """Events or log chunks as they come; ``close()`` ends the reader's iteration."""

    _END = object()

    def __init__(self, items: list[Any] | None = None, follow: bool = True) -> None:
        self._queue: queue.Queue[Any] = queue.Queue()
        for item in items or []:
            self._queue.put(item)
        if not follow:
            self._queue.put(self._END)
        self.closed = False

    def put(self, item: Any) -> None:
        if not self.closed:
            self._queue.put(item)

    def __iter__(self) -> Iterator[Any]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            yield item

    def close(self) -> None:
        self.closed = True
        self._queue.put(self._END)


class FakeEngine:
    places_containers = False  # one engine: addresses are the ones the domain reserved

    def __init__(self) -> None:
        self.networks_by_id: dict[str, EngineNetwork] = {}
        self.images_by_ref: dict[str, EngineImage] = {
            "busybox:latest": EngineImage(BUSYBOX_ID, ["busybox:latest"], None, 1, {})
        }
        self.containers_by_id: dict[str, FakeContainer] = {}
        self.registry: set[str] = {"busybox:latest"}  # what ``pull`` finds
        self.calls: list[str] = []  # every method called, in order
        self.shaped: dict[tuple[str, str], LinkShape] = {}  # (container id, network) -> its link shape
        self._failures: dict[str, list[EngineError]] = {}
        self._streams: list[tuple[dict[str, str], _Stream]] = []
        self._lock = threading.RLock()

    # --- test controls ------------------------------------------------------------
    def fail_next(self, method: str, error: EngineError) -> None:
        """The next call of ``method`` raises ``error`` (and does nothing else)."""
        self._failures.setdefault(method, []).append(error)

    def _enter(self, method: str) -> None:
        self.calls.append(method)
        pending = self._failures.get(method)
        if pending:
            raise pending.pop(0)

    def exit(self, container_id: str, exit_code: int, oom: bool = False) -> None:
        """The container's process ends on its own (a crash, OOM, or its command finishing)."""
        with self._lock:
            container = self._get(container_id)
            container.status, container.exit_code, container.oom_killed = "exited", exit_code, oom
            if oom:
                self._emit("oom", container)
            self._emit("die", container)

    def lose(self, container_id: str) -> None:
        """The engine forgets the container without a word (its state was wiped)."""
        with self._lock:
            self._detach_all(self.containers_by_id.pop(container_id))

    def by_name(self, name: str) -> FakeContainer:
        return next(c for c in self.containers_by_id.values() if c.name == name)

    # --- EngineBase -----------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        self._enter("info")
        return {"ServerVersion": "fake", "Containers": len(self.containers_by_id)}

    def ping(self, timeout: float = 2.0) -> bool:
        return True

    def images(self) -> list[EngineImage]:
        self._enter("images")
        return list({i.id: i for i in self.images_by_ref.values()}.values())

    def image(self, ref: str) -> EngineImage:
        self._enter("image")
        found = self.images_by_ref.get(ref) or next(
            (i for i in self.images_by_ref.values() if i.id == ref or i.id.removeprefix("sha256:").startswith(ref)),
            None,
        )
        if found is None:
            raise EngineNotFound(f"No such image: {ref}", 404)
        return found

    def pull(self, repository: str, tag: str | None) -> Iterator[dict[str, Any]]:
        self._enter("pull")
        ref = f"{repository}:{tag or 'latest'}"
        if ref not in self.registry:
            raise EngineNotFound(f"manifest for {ref} not found", 404)
        self.images_by_ref.setdefault(ref, EngineImage("sha256:" + uuid.uuid4().hex * 2, [ref], None, 1, {}))
        yield {"status": f"Pulling from {repository}"}
        yield {"status": f"Downloaded newer image for {ref}"}

    def remove_image(self, ref: str, force: bool = False) -> None:
        self._enter("remove_image")
        image = self.image(ref)
        if not force and any(c.image == image.id for c in self.containers_by_id.values()):
            raise EngineConflict(f"image {ref} is being used by a container", 409)
        for key in [k for k, v in self.images_by_ref.items() if v.id == image.id]:
            del self.images_by_ref[key]

    def close(self) -> None:
        for _labels, stream in list(self._streams):
            stream.close()

    # --- WorkloadEngine -------------------------------------------------------------
    def _get(self, container_id: str) -> FakeContainer:
        found = self.containers_by_id.get(container_id) or next(
            (c for c in self.containers_by_id.values() if c.name == container_id), None
        )
        if found is None:
            raise EngineNotFound(f"No such container: {container_id}", 404)
        return found

    def create_container(self, spec: ContainerSpec) -> str:
        self._enter("create_container")
        with self._lock:
            if any(c.name == spec.name for c in self.containers_by_id.values()):
                raise EngineConflict(f'The container name "/{spec.name}" is already in use', 409)
            image = self.image(spec.image)
            container = FakeContainer(
                id=uuid.uuid4().hex + uuid.uuid4().hex,
                name=spec.name,
                image=image.id,
                labels=dict(spec.labels),
                env=dict(spec.env),
                restart_policy=spec.restart_policy,
            )
            for endpoint in spec.endpoints:  # all or nothing, as the driver removes a half-made one
                self._network(endpoint.network)
            self.containers_by_id[container.id] = container
            try:
                for endpoint in spec.endpoints:
                    self._attach(endpoint.network, container, endpoint.ipv4)
            except EngineError:
                self.lose(container.id)
                raise
            return container.id

    def start_container(self, container_id: str, placed: Callable[[EngineContainer], None] | None = None) -> None:
        self._enter("start_container")
        with self._lock:
            container = self._get(container_id)
            if container.running:
                return  # Docker answers 304: nothing to do
            container.status, container.exit_code = "running", None
            self._emit("start", container)

    def stop_container(self, container_id: str, timeout: float) -> None:
        self._enter("stop_container")
        with self._lock:
            container = self._get(container_id)
            if not container.running:
                return
            container.status, container.exit_code = "exited", 137  # SIGKILL after the grace period
            self._emit("die", container)
            self._emit("stop", container)

    def remove_container(self, container_id: str, force: bool = True) -> None:
        self._enter("remove_container")
        with self._lock:
            container = self._get(container_id)
            if container.running and not force:
                raise EngineConflict(f"You cannot remove a running container {container.id}", 409)
            if container.running:
                container.status, container.exit_code = "exited", 137
                self._emit("die", container)
            self._detach_all(self.containers_by_id.pop(container.id))
            self._emit("destroy", container)

    def container(self, container_id: str) -> EngineContainer:
        self._enter("container")
        return self._get(container_id).view()

    def containers(self, labels: dict[str, str] | None = None) -> list[EngineContainer]:
        self._enter("containers")
        return [c.view() for c in self.containers_by_id.values() if _matches(c.labels, labels)]

    def commit(
        self, container_id: str, repository: str, tag: str | None, message: str | None, author: str | None
    ) -> EngineImage:
        self._enter("commit")
        self._get(container_id)
        ref = f"{repository}:{tag or 'latest'}"
        image = EngineImage("sha256:" + uuid.uuid4().hex * 2, [ref], datetime.now(UTC), 1, {})
        self.images_by_ref[ref] = image
        return image

    def _running(self, container_id: str) -> FakeContainer:
        container = self._get(container_id)
        if not container.running:
            raise EngineConflict(f"Container {container.id} is not running", 409)
        return container

    def stats(self, container_id: str) -> EngineStats:
        self._enter("stats")
        self._get(container_id)
        return EngineStats(0.0, 1 << 20, 1 << 30, 1, 0, 0, datetime.now(UTC))

    def usage(self, container_id: str) -> EngineUsage:
        self._enter("usage")
        self._get(container_id)
        return EngineUsage(0.01, float(1 << 20), float(1 << 30), 0.0, 0.0)

    def exec(
        self,
        container_id: str,
        command: list[str],
        env: dict[str, str] | None,
        workdir: str | None,
        bounds: ExecBounds = ExecBounds(),
        cancel: threading.Event | None = None,
    ) -> ExecResult:
        """``echo``, ``true`` and ``false`` as a shell runs them; anything else is not found (127)."""
        self._enter("exec")
        self._running(container_id)
        name, args = command[0], command[1:]
        if name == "echo":
            out = (" ".join(args) + "\n").encode()
            return ExecResult(0, out[: bounds.max_output].decode(), "", stdout_truncated=len(out) > bounds.max_output)
        if name in ("true", "false"):
            return ExecResult(0 if name == "true" else 1, "", "")
        return ExecResult(127, "", f"exec: {name}: not found\n")

    def logs_stream(self, container_id: str, tail: int | None, timestamps: bool, follow: bool) -> _Stream:
        self._enter("logs_stream")
        lines = self._get(container_id).output.splitlines(keepends=True)
        if tail is not None:
            lines = lines[-tail:] if tail else []
        return _Stream(list(lines), follow=follow)

    # --- NetworkEngine --------------------------------------------------------------
    def _network(self, ref: str) -> EngineNetwork:
        found = self.networks_by_id.get(ref) or next((n for n in self.networks_by_id.values() if n.name == ref), None)
        if found is None:
            raise EngineNotFound(f"network {ref} not found", 404)
        return found

    def _attach(self, network_ref: str, container: FakeContainer, ipv4: str | None) -> None:
        net = self._network(network_ref)
        if net.name in container.networks:
            raise EngineConflict(f"endpoint with name {container.name} already exists in network {net.name}", 409)
        taken = set(net.containers.values()) | set(net.gateways)
        if ipv4 is None and net.subnets and net.subnets[0]:
            subnet = ipaddress.IPv4Network(net.subnets[0])
            ipv4 = next(str(a) for a in subnet.hosts() if str(a) not in taken)
        if ipv4 in taken:
            raise EngineConflict(f"Address already in use: {ipv4}", 409)
        container.networks[net.name] = ipv4 or ""
        self.networks_by_id[net.id] = dataclasses.replace(net, containers={**net.containers, container.id: ipv4 or ""})

    def _detach(self, network_ref: str, container: FakeContainer) -> None:
        net = self._network(network_ref)
        container.networks.pop(net.name, None)
        others = {cid: ip for cid, ip in net.containers.items() if cid != container.id}
        self.networks_by_id[net.id] = dataclasses.replace(net, containers=others)

    def _detach_all(self, container: FakeContainer) -> None:
        for name in list(container.networks):
            self._detach(name, container)

    def connect(self, network_id: str, container_id: str, ipv4: str | None) -> None:
        self._enter("connect")
        with self._lock:
            self._attach(network_id, self._get(container_id), ipv4)

    def disconnect(self, network_id: str, container_id: str) -> None:
        self._enter("disconnect")
        with self._lock:
            container = self._get(container_id)
            net = self._network(network_id)
            if net.name not in container.networks:
                raise EngineNotFound(f"container {container_id} is not connected to network {net.name}", 404)
            self._detach(net.id, container)

    def create_network(self, spec: NetworkSpec) -> str:
        self._enter("create_network")
        with self._lock:
            if any(n.name == spec.name for n in self.networks_by_id.values()):
                raise EngineConflict(f"network with name {spec.name} already exists", 409)
            if spec.subnet:
                wanted = ipaddress.IPv4Network(spec.subnet)
                for other in self.networks_by_id.values():
                    if any(s and ipaddress.IPv4Network(s).overlaps(wanted) for s in other.subnets):
                        raise EngineRefused("Pool overlaps with other one on this address space", 403)
            net_id = uuid.uuid4().hex
            self.networks_by_id[net_id] = EngineNetwork(
                net_id,
                spec.name,
                spec.driver,
                [spec.subnet or ""],
                [spec.gateway or ""],
                spec.internal,
                dict(spec.labels),
                {},
                dict(spec.options),
            )
            return net_id

    def remove_network(self, network_id: str) -> None:
        self._enter("remove_network")
        with self._lock:
            net = self.networks_by_id.get(network_id)
            if net is None:
                raise EngineNotFound(f"network {network_id} not found", 404)
            if net.containers:
                raise EngineRefused(f"error while removing network: network {net.name} has active endpoints", 403)
            del self.networks_by_id[network_id]

    def network(self, network_id: str) -> EngineNetwork:
        self._enter("network")
        return self._network(network_id)

    def networks(self, labels: dict[str, str] | None = None) -> list[EngineNetwork]:
        self._enter("networks")
        return [n for n in self.networks_by_id.values() if _matches(n.labels, labels)]

    # --- ShapingEngine --------------------------------------------------------------
    def shaping_missing(self, netem: bool) -> tuple[str, ...]:
        return ("netem qdisc (sch_netem)",) if netem else ()

    def shape_endpoint(self, container_id: str, network: str, shape: LinkShape) -> None:
        self._enter("shape_endpoint")
        self.shaped[(self._running(container_id).id, network)] = shape

    def unshape_endpoint(self, container_id: str, network: str) -> None:
        self._enter("unshape_endpoint")
        self.shaped.pop((container_id, network), None)

    # --- EventEngine ----------------------------------------------------------------
    def events(self, labels: dict[str, str]) -> _Stream:
        self._enter("events")
        stream = _Stream()
        self._streams.append((dict(labels), stream))
        return stream

    def _emit(self, action: str, container: FakeContainer) -> None:
        event = EngineEvent(
            action=action,
            container_id=container.id,
            labels=dict(container.labels),
            exit_code=container.exit_code if action == "die" else None,
            time=datetime.now(UTC),
        )
        self._streams = [(labels, s) for labels, s in self._streams if not s.closed]
        for labels, stream in self._streams:
            if _matches(container.labels, labels):
                stream.put(event)


def _matches(have: dict[str, str], wanted: dict[str, str] | None) -> bool:
    return all(have.get(k) == v for k, v in (wanted or {}).items())
