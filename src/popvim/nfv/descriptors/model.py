"""One model of a network service, whatever descriptor format it came from.

The orchestrator only reads these; the Open Baton and TOSCA readers only
write them, so each side can change without the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    path: str  # where in the descriptor, e.g. "vnfd[0].vdu[0].vm_image"
    reason: str


# A reply stays small whatever the descriptor: at most this many problems, each cut short,
# so that no user value is copied back beyond a short excerpt.
MAX_PROBLEMS = 100
MAX_PATH_CHARS = 120
MAX_REASON_CHARS = 200


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DescriptorError(Exception):
    """Every problem found in a descriptor (the first ``MAX_PROBLEMS``, then how many more)."""

    def __init__(self, problems: list[Problem]) -> None:
        shown = [Problem(cut(p.path, MAX_PATH_CHARS), cut(p.reason, MAX_REASON_CHARS)) for p in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            shown.append(Problem("", f"and {len(problems) - MAX_PROBLEMS} more problems"))
        super().__init__("; ".join(f"{p.path}: {p.reason}" for p in shown))
        self.problems = shown
        self.total = len(problems)


@dataclass(frozen=True)
class VirtualLink:
    name: str
    network_name: str | None = None  # the name the PoP network should get; derived when None
    subnet: str | None = None
    bandwidth: str | None = None  # e.g. "10mbit": a tc limit on the link (testbed feature)


@dataclass(frozen=True)
class ConnectionPoint:
    virtual_link: str
    ip_address: str | None = None  # fixed address, TOSCA CP ip_address


@dataclass(frozen=True)
class ScalingPolicy:
    """Scale on the average CPU of a VNF's instances, in percent of one core."""

    name: str
    scale_out_above: float | None  # scale out when avg CPU >= this
    scale_in_below: float | None  # scale in when avg CPU <= this
    period_seconds: float = 30.0  # how long the condition must hold
    # No further action for this long after one. Two periods: the instances an action added
    # (or the load an action moved) get a whole period to settle before a whole period of
    # fresh samples decides again (the autoscaler drops its samples after each action).
    cooldown_seconds: float = 60.0
    step: int = 1


@dataclass(frozen=True)
class HealthCheck:
    """How the load balancer itself probes a backend (HAProxy ``check inter fall rise``)."""

    kind: str = "http"  # http, tcp or none
    path: str = "/"  # for http
    inter_seconds: float = 2.0
    fall: int = 3
    rise: int = 2


@dataclass(frozen=True)
class LoadBalancer:
    """This VNF balances every instance of ``backends`` (on every PoP) on ``port``: see nfv/loadbalancer.py."""

    backends: tuple[str, ...]
    port: int  # the backends' port
    listen: int = 80  # the load balancer's own port
    algorithm: str = "roundrobin"
    mode: str = "http"  # http or tcp
    check: HealthCheck = field(default_factory=HealthCheck)


@dataclass(frozen=True)
class VnfDescriptor:
    name: str
    image: str
    type: str = ""  # Open Baton VNF type: names dependency parameters (server -> SERVER_PRIVATE)
    flavour: str = "docker.container"
    cpus: float | None = None
    memory: int | None = None  # bytes
    min_instances: int = 1
    max_instances: int = 1
    initial_instances: int = 1
    connection_points: tuple[ConnectionPoint, ...] = ()
    pop: str | None = None  # the PoP (VIM instance) to deploy on; None: the local one
    configuration: dict[str, str] = field(default_factory=dict)  # becomes metadata
    command: tuple[str, ...] | None = None
    ports: dict[str, int | None] = field(default_factory=dict)  # "80/tcp" -> host port
    scaling: tuple[ScalingPolicy, ...] = ()
    respawn: bool = True  # heal a VNFC that dies unexpectedly
    load_balancer: LoadBalancer | None = None  # this VNF is an HAProxy balancing other VNFs


@dataclass(frozen=True)
class Dependency:
    """``target`` gets, for each parameter P, ``<SOURCE TYPE>_<P>`` = the source's value of P.

    A parameter naming one of the source's virtual links is its address on that link.
    """

    source: str
    target: str
    parameters: tuple[str, ...]


@dataclass(frozen=True)
class NetworkServiceDescriptor:
    name: str
    vendor: str = ""
    version: str = ""
    format: str = ""  # "openbaton" or "tosca"
    virtual_links: tuple[VirtualLink, ...] = ()
    vnfs: tuple[VnfDescriptor, ...] = ()
    dependencies: tuple[Dependency, ...] = ()

    def vnf(self, name: str) -> VnfDescriptor:
        return next(v for v in self.vnfs if v.name == name)

    def balancers_of(self, name: str) -> list[VnfDescriptor]:
        """The load-balancer VNFs whose backends include VNF ``name``."""
        return [v for v in self.vnfs if v.load_balancer and name in v.load_balancer.backends]
