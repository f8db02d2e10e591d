"""The one interface between popvim and a container engine.

The domain (`popvim.vim`) only ever sees these types, so a Swarm driver (or
any other engine) can be added without touching the domain or the APIs. The
types are plain dataclasses of what the domain needs, with times parsed
(aware, UTC), not the engine's raw objects or time formats, so that nothing
engine-specific leaks upwards.

The interface is in parts, so an engine states which it implements:

- ``EngineBase``: what every engine shares (describe itself, answer a ping, images, close).
- ``WorkloadEngine``: the units it runs (Docker's containers; a Swarm driver's tasks of
  one-replica services) and what is done to one running unit (exec, logs, stats).
- ``NetworkEngine``: networks and attaching units to them (bridge on Docker, overlay on Swarm).
- ``EventEngine``: the stream of unit events (Docker's container events; Swarm's task events).

``EngineDriver`` is all four: what ``popvim.vim`` needs. Every method raises the typed
errors of ``popvim.engine.errors`` and nothing else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from popvim.engine.shaping import LinkShape

from popvim.engine.errors import (
    EngineConflict,
    EngineError,
    EngineInvalid,
    EngineNotFound,
    EngineRefused,
    EngineUnavailable,
    EngineUnreachable,
)

__all__ = [
    "ContainerSpec",
    "EndpointSpec",
    "EngineBase",
    "EngineConflict",
    "EngineContainer",
    "EngineDriver",
    "EngineError",
    "EngineEvent",
    "EngineImage",
    "EngineInvalid",
    "EngineNetwork",
    "EngineNotFound",
    "EngineRefused",
    "EngineStats",
    "EngineUnavailable",
    "EngineUnreachable",
    "EngineUsage",
    "EventEngine",
    "EventStream",
    "ExecBounds",
    "ExecResult",
    "LogStream",
    "NetworkEngine",
    "NetworkSpec",
    "ShapingEngine",
    "WorkloadEngine",
]


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
    # An emulated host: every capability and device the engine's host has (popvim.engine.hostmode).
    host_mode: bool = False


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
    node: str = ""  # where it runs, on an engine of several nodes (Swarm); "" on one engine
    ports: dict[str, int] = field(default_factory=dict)  # "80/tcp" -> the host port it is published on


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
    created: datetime | None  # aware, UTC; None when the engine does not say
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
    time: datetime | None  # when it happened on the engine: aware, UTC


@dataclass(frozen=True)
class EngineStats:
    """One sample of a running unit's use, as shown to a user."""

    cpu_percent: float
    memory_usage: int
    memory_limit: int
    pids: int
    rx_bytes: int
    tx_bytes: int
    read: datetime | None  # when the engine took the sample: aware, UTC


@dataclass(frozen=True)
class EngineUsage:
    """Cumulative counters in base units, from one sample (for rates over time)."""

    cpu_seconds: float
    memory_bytes: float
    memory_limit_bytes: float
    rx_bytes: float
    tx_bytes: float


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


class EngineBase(Protocol):
    """What every engine shares."""

    def info(self) -> dict[str, Any]:
        """The engine's own description, shown to operators as it is (``ServerVersion`` is always set)."""
        ...

    def ping(self, timeout: float = 2.0) -> bool:
        """Whether the engine answers within ``timeout`` seconds; never raises."""
        ...

    def images(self) -> list[EngineImage]: ...

    def image(self, ref: str) -> EngineImage: ...

    def pull(self, repository: str, tag: str | None) -> Iterator[dict[str, Any]]:
        """The engine's progress messages; a failure (also one reported mid-stream) raises."""
        ...

    def remove_image(self, ref: str, force: bool = False) -> None: ...

    def close(self) -> None: ...


class WorkloadEngine(Protocol):
    """The units an engine runs: Docker's containers; the tasks of another engine."""

    # The engine picks each unit's node and addresses (a cluster such as Swarm): the domain
    # records what it reports instead of what it reserved.
    places_containers: bool

    def create_container(self, spec: ContainerSpec) -> str:
        """The new unit's engine id; it is attached to every endpoint of ``spec`` but not started."""
        ...

    def start_container(self, container_id: str, placed: Callable[[EngineContainer], None] | None = None) -> None:
        """Runs the unit; returns once it runs. An engine that places containers calls ``placed``
        (before it returns) as soon as it has chosen the unit's node and addresses, so that the
        domain can show them while the unit is still starting; again if it placed it anew, and
        last with the unit running (``running``), so that the domain need not ask once more."""
        ...

    def stop_container(self, container_id: str, timeout: float) -> None:
        """Asks the unit to end, then kills it after ``timeout`` seconds."""
        ...

    def remove_container(self, container_id: str, force: bool = True) -> None: ...

    def container(self, container_id: str) -> EngineContainer: ...

    def containers(self, labels: dict[str, str] | None = None) -> list[EngineContainer]:
        """Every unit (running or not) carrying all of ``labels``."""
        ...

    def commit(
        self, container_id: str, repository: str, tag: str | None, message: str | None, author: str | None
    ) -> EngineImage: ...

    def stats(self, container_id: str) -> EngineStats: ...

    def usage(self, container_id: str) -> EngineUsage: ...

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
        """The unit's output as it comes (``follow``: until ``close()`` or the unit ends)."""
        ...


class NetworkEngine(Protocol):
    """Networks, and attaching units to them."""

    def create_network(self, spec: NetworkSpec) -> str:
        """The new network's engine id. ``EngineRefused`` when it clashes with one the engine has."""
        ...

    def remove_network(self, network_id: str) -> None: ...

    def network(self, network_id: str) -> EngineNetwork: ...

    def networks(self, labels: dict[str, str] | None = None) -> list[EngineNetwork]: ...

    def connect(self, network_id: str, container_id: str, ipv4: str | None) -> None: ...

    def disconnect(self, network_id: str, container_id: str) -> None: ...


class EventEngine(Protocol):
    def events(self, labels: dict[str, str]) -> EventStream:
        """A connected stream of unit events; connected before it returns, so
        a caller can reconcile after this call without missing an event."""
        ...


class ShapingEngine(Protocol):
    """Link shaping (popvim.engine.shaping): both directions of one endpoint, on the container side."""

    def shaping_missing(self, netem: bool) -> tuple[str, ...]:
        """What this host lacks to shape links (with delay/loss when ``netem``); empty: nothing."""
        ...

    def shape_endpoint(self, container_id: str, network: str, shape: LinkShape) -> None: ...

    def unshape_endpoint(self, container_id: str, network: str) -> None: ...


class EngineDriver(EngineBase, WorkloadEngine, NetworkEngine, EventEngine, ShapingEngine, Protocol):
    """Everything ``popvim.vim`` needs from an engine."""
