"""Typed views of the Pop protocol's messages, so callers never touch protobufs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from popvim.proto import vim_pop_pb2 as pb

STATUS_NAMES = {v: k for k, v in pb.Container.Status.items()}


@dataclass(frozen=True)
class Endpoint:
    network: str
    network_id: str
    address: str
    cidr: str
    gateway: str
    mac: str


@dataclass(frozen=True)
class Container:
    id: str
    name: str
    image_id: str
    flavour_id: str
    command: str
    created: int
    started: int
    status: str  # CREATED, RUNNING, STOPPING, EXITED, FAILED
    extended_status: str
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    exit_code: int | None = None
    engine_id: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)  # "80/tcp" -> host port (0: not published yet)
    # The node a cluster PoP (Swarm) placed it on; set once its addresses are the ones it runs with.
    node: str = ""

    @property
    def terminated(self) -> bool:
        return self.status in ("EXITED", "FAILED")

    def address(self, network: str) -> str:
        return self.endpoints[network].address

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "image_id": self.image_id,
            "flavour_id": self.flavour_id,
            "command": self.command,
            "created": self.created,
            "started": self.started,
            "status": self.status,
            "extended_status": self.extended_status,
            "exit_code": self.exit_code,
            "metadata": self.metadata,
            "engine_id": self.engine_id,
            "endpoints": {k: vars(v) for k, v in self.endpoints.items()},
            "labels": self.labels,
            "ports": self.ports,
            "node": self.node,
        }


@dataclass(frozen=True)
class Subnet:
    cidr: str
    gateway: str


@dataclass(frozen=True)
class Network:
    id: str
    name: str
    external: bool
    driver: str
    subnets: list[Subnet]
    labels: dict[str, str] = field(default_factory=dict)
    bandwidth: str = ""  # the link limit of every endpoint ("" none)


@dataclass(frozen=True)
class Image:
    id: str
    names: list[str]
    created: int


@dataclass(frozen=True)
class Flavour:
    id: str
    name: str


@dataclass(frozen=True)
class Info:
    type: str
    name: str
    timestamp: int


@dataclass(frozen=True)
class PullProgress:
    status: str
    layer: str
    progress: str
    current: int
    total: int
    image: Image | None


@dataclass(frozen=True)
class Stats:
    cpu_percent: float
    memory_usage: int
    memory_limit: int
    pids: int
    rx_bytes: int
    tx_bytes: int


@dataclass(frozen=True)
class Event:
    """One state change of a PoP (``PopClient.events``); ``kind`` "stream.open" and "keepalive"
    are the stream's own markers."""

    kind: str
    subject: str
    time: float  # Unix time
    data: dict[str, str] = field(default_factory=dict)


def event(m: pb.Event) -> Event:
    return Event(kind=m.kind, subject=m.subject, time=m.time, data=dict(m.data))


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


def container(m: pb.Container) -> Container:
    return Container(
        id=m.id,
        name=m.names[0] if m.names else "",
        image_id=m.image_id,
        flavour_id=m.flavour_id,
        command=m.command,
        created=m.created,
        started=m.started,
        status=STATUS_NAMES.get(m.status, "UNAVAILABLE"),
        extended_status=m.extended_status,
        endpoints={
            name: Endpoint(
                network=e.net_name or name,
                network_id=e.net_id,
                address=e.ipv4.address,
                cidr=e.ipv4.subnet.cidr,
                gateway=e.ipv4.subnet.gateway,
                mac=e.mac,
            )
            for name, e in m.endpoints.items()
        },
        metadata=dict(m.md.entries),
        exit_code=m.exit_code if m.HasField("exit_code") else None,
        engine_id=m.engine_id,
        labels=dict(m.labels),
        ports=dict(m.ports),
        node=m.node,
    )


def network(m: pb.Network) -> Network:
    return Network(
        id=m.id,
        name=m.name,
        external=m.external,
        driver=m.driver,
        subnets=[Subnet(s.cidr, s.gateway) for s in m.subnets],
        labels=dict(m.labels),
        bandwidth=m.bandwidth,
    )


def image(m: pb.Image) -> Image:
    return Image(id=m.id, names=list(m.names), created=m.created)


def pull_progress(m: pb.PullProgress) -> PullProgress:
    return PullProgress(
        status=m.status,
        layer=m.layer,
        progress=m.progress,
        current=m.current,
        total=m.total,
        image=image(m.image) if m.HasField("image") else None,
    )
