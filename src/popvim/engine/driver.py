"""The one interface between popvim and a container engine.

The domain (`popvim.vim`) only ever sees these types, so a Swarm driver (or
any other engine) can be added without touching the domain or the APIs. The
types are plain dataclasses of what the domain needs, not the engine's raw
objects, so that nothing engine-specific leaks upwards.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


class EngineError(Exception):
    """The engine refused or failed; ``message`` is the engine's own text."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class EngineUnreachable(EngineError):
    """The engine did not answer at all (connection refused, reset, timed out)."""


class EngineNotFound(EngineError):
    """The referenced object (image, container, network) does not exist."""


class EngineInvalid(EngineError):
    """The engine rejected the request's values (HTTP 400 from Docker)."""


class EngineConflict(EngineError):
    """The object exists already or is in a state that forbids the request."""


@dataclass(frozen=True)
class EndpointSpec:
    network: str  # the engine's network id or name
    ipv4: str | None = None
    mac: str | None = None


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    command: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int | None] = field(default_factory=dict)  # "80/tcp" -> host port
    port_address: str = ""  # the host address ports are published on; "" is every address
    volumes: list[str] = field(default_factory=list)  # "src:dst[:mode]"
    nano_cpus: int | None = None
    mem_limit: int | None = None  # bytes
    privileged: bool = False
    cap_add: list[str] = field(default_factory=list)
    restart_policy: str | None = None  # "no", "always", "unless-stopped", "on-failure[:N]"
    endpoints: list[EndpointSpec] = field(default_factory=list)


@dataclass(frozen=True)
class EngineContainer:
    id: str
    name: str
    image: str
    status: str  # the engine's own word: created, running, exited, dead, restarting...
    running: bool
    restarting: bool
    exit_code: int | None
    error: str
    oom_killed: bool
    labels: dict[str, str]
    networks: dict[str, str]  # network name -> ipv4 address


@dataclass(frozen=True)
class EngineNetwork:
    id: str
    name: str
    driver: str
    subnets: list[str]
    gateways: list[str]
    internal: bool
    labels: dict[str, str]
    containers: dict[str, str]  # container id -> ipv4 address (without prefix)
    options: dict[str, str]


@dataclass(frozen=True)
class EngineImage:
    id: str
    tags: list[str]
    created: str
    size: int
    labels: dict[str, str]
    architecture: str = ""
    os: str = ""


@dataclass(frozen=True)
class EngineEvent:
    action: str  # die, oom, start, ...
    container_id: str
    labels: dict[str, str]
    exit_code: int | None
    time: float


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str
    stdout_truncated: bool = False  # the command wrote more than the cap; it was killed
    stderr_truncated: bool = False
    timed_out: bool = False  # the deadline passed; the command was killed
    cancelled: bool = False  # the caller gave up (a client went away); the command was killed


@dataclass(frozen=True)
class ExecBounds:
    """How long an exec may run and how much of its output is kept (per stream)."""

    timeout: float = 30.0
    max_output: int = 1024 * 1024


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    driver: str = "bridge"
    subnet: str | None = None
    ip_range: str | None = None
    gateway: str | None = None
    internal: bool = False
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


class LogStream(Protocol):
    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None:
        """Unblocks a reader waiting in ``__iter__``."""
        ...


class EventStream(Protocol):
    def __iter__(self) -> Iterator[EngineEvent]: ...

    def close(self) -> None:
        """Unblocks a reader waiting in ``__iter__``."""
        ...


class EngineDriver(Protocol):
    """What popvim needs from a container engine."""

    def info(self) -> dict[str, Any]: ...

    def ping(self, timeout: float = 2.0) -> bool: ...

    # images
    def images(self) -> list[EngineImage]: ...

    def image(self, ref: str) -> EngineImage: ...

    def pull(self, repository: str, tag: str | None) -> Iterator[dict[str, Any]]: ...

    def remove_image(self, ref: str, force: bool = False) -> None: ...

    def commit(
        self, container_id: str, repository: str, tag: str | None, message: str | None, author: str | None
    ) -> EngineImage: ...

    # containers
    def create_container(self, spec: ContainerSpec) -> str: ...

    def start_container(self, container_id: str) -> None: ...

    def stop_container(self, container_id: str, timeout: float) -> None: ...

    def remove_container(self, container_id: str, force: bool = True) -> None: ...

    def container(self, container_id: str) -> EngineContainer: ...

    def containers(self, labels: dict[str, str] | None = None) -> list[EngineContainer]: ...

    def container_names(self) -> set[str]: ...

    def logs(self, container_id: str, tail: int | None, timestamps: bool) -> str: ...

    def stats(self, container_id: str) -> dict[str, Any]: ...

    def usage(self, container_id: str) -> dict[str, float]:
        """cpu_seconds, memory_bytes, memory_limit_bytes, rx_bytes, tx_bytes: cumulative, one sample."""
        ...

    def exec(
        self,
        container_id: str,
        command: list[str],
        env: dict[str, str] | None,
        workdir: str | None,
        bounds: ExecBounds = ExecBounds(),
        cancel: threading.Event | None = None,
    ) -> ExecResult:
        """Runs ``command``; past ``bounds`` or once ``cancel`` is set, the process is killed."""
        ...

    def logs_stream(self, container_id: str, tail: int | None, timestamps: bool, follow: bool) -> LogStream:
        """The container's output as it comes (``follow``: until ``close()`` or the container ends)."""
        ...

    def connect(self, network_id: str, container_id: str, ipv4: str | None) -> None: ...

    def disconnect(self, network_id: str, container_id: str) -> None: ...

    # networks
    def create_network(self, spec: NetworkSpec) -> str: ...

    def remove_network(self, network_id: str) -> None: ...

    def network(self, network_id: str) -> EngineNetwork: ...

    def networks(self, labels: dict[str, str] | None = None) -> list[EngineNetwork]: ...

    # events
    def events(self, labels: dict[str, str]) -> EventStream:
        """A connected stream of container events; connected before it returns, so
        a caller can reconcile after this call without missing an event."""
        ...

    def close(self) -> None: ...
