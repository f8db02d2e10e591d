"""What the domain takes and gives: validated requests and read-only views.

Requests validate everything a user can get wrong, so that bad input fails
here with a clear message instead of deep inside the engine.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from popvim.vim.shaping import LinkLimit
from popvim.vim.states import ContainerState as ContainerState  # re-exported: faces import it from here
from popvim.vim.validation import env_problem

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, description="letters, digits, '_', '.', '-'; 1-63 chars")]
MAC_PATTERN = r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$"
# Python's ``$`` also matches before a trailing newline: every pattern here is used with fullmatch.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# For pydantic patterns (Rust regex: ``$`` is the end of the text): no control character at all.
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"
PlainText = Annotated[str, Field(pattern=PLAIN_TEXT, description="text without control characters")]
_PORT_KEY = re.compile(r"\d{1,5}(/(tcp|udp|sctp))?")
_RESTART = re.compile(r"no|always|unless-stopped|on-failure(:\d{1,4})?")
_MEMORY = re.compile(r"(\d{1,15})([bkmg]?)", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def check_env(env: dict[str, str], what: str) -> dict[str, str]:
    """``validation.env_problem`` as pydantic wants it (ValueError)."""
    problem = env_problem(env, what)
    if problem:
        raise ValueError(problem)
    return env


def parse_memory(value: int | str | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    match = _MEMORY.fullmatch(value.strip(" "))
    if not match:
        raise ValueError(f"memory {value!r} is not a size such as 134217728, '512m' or '1g'")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


class ContainerConfig(BaseModel):
    """A request to create a container (state CREATED; nothing exists on the engine yet)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = Field(None, description="unique in this PoP; generated when omitted")
    image: str = Field(..., min_length=1, max_length=512, pattern=PLAIN_TEXT, description="image reference or id")
    command: list[str] | str | None = Field(None, description="argv list, or a string split like a shell")
    env: dict[str, str] = Field(default_factory=dict)
    metadata: dict[str, str] = Field(default_factory=dict, description="becomes environment at start")
    labels: dict[PlainText, str] = Field(default_factory=dict)
    ports: dict[str, int | None] = Field(
        default_factory=dict, description='container port ("80" or "53/udp") to host port (null: any free one)'
    )
    volumes: list[PlainText] = Field(default_factory=list, description='"host_path_or_volume:container_path[:ro]"')
    flavour: str = Field("docker.container", pattern=PLAIN_TEXT, description="sets CPU and memory limits")
    cpus: float | None = Field(None, gt=0, le=1024, description="overrides the flavour's CPU limit")
    memory: int | str | None = Field(None, description="bytes, or '512m', '1g'; overrides the flavour's")
    mac_address: str | None = Field(None, pattern=MAC_PATTERN)
    privileged: bool | Literal["host"] = Field(
        False, description='"host": every capability and device the host has (an emulated host; policy.privileged_host)'
    )
    cap_add: list[Annotated[str, Field(pattern=r"^[A-Z_]{2,32}$")]] = Field(default_factory=list)
    restart_policy: str | None = Field(None, description="no, always, unless-stopped, on-failure[:N]")
    endpoints: dict[PlainText, str | None] = Field(
        default_factory=dict, description="network name to fixed IPv4 (null: assigned); empty: the default network"
    )
    links: dict[PlainText, LinkLimit] = Field(
        default_factory=dict, description="network name to this endpoint's own link limits (over the network's)"
    )

    @field_validator("command")
    @classmethod
    def _command(cls, value: list[str] | str | None) -> list[str] | None:
        if isinstance(value, str):
            try:
                value = shlex.split(value)
            except ValueError as exc:
                raise ValueError(f"command cannot be split: {exc}") from exc
        if value is not None and (not value or not value[0] or any("\x00" in a for a in value)):
            raise ValueError("command must be a non-empty list of arguments, a program first, without NUL bytes")
        return value

    @field_validator("mac_address")
    @classmethod
    def _mac(cls, value: str | None) -> str | None:
        # the kernel gives an interface only a unicast, non-zero address (the engine fails at start otherwise)
        if value is not None and (int(value[:2], 16) & 1 or int(value.replace(":", ""), 16) == 0):
            raise ValueError("mac_address must be a unicast address other than 00:00:00:00:00:00")
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        return check_env(value, "env")

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str]) -> dict[str, str]:
        return check_env({k: v for k, v in value.items() if v != ""}, "metadata")

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: dict[str, int | None]) -> dict[str, int | None]:
        normalised: dict[str, int | None] = {}
        for key, host in value.items():
            if not _PORT_KEY.fullmatch(key) or not 0 < int(key.split("/")[0]) < 65536:
                raise ValueError(f"port {key!r} is not 1-65535 optionally followed by /tcp, /udp or /sctp")
            if host is not None and not 0 < host < 65536:
                raise ValueError(f"host port {host} for {key!r} is not 1-65535")
            normalised[key if "/" in key else f"{key}/tcp"] = host
        return normalised

    @field_validator("volumes")
    @classmethod
    def _volumes(cls, value: list[str]) -> list[str]:
        for volume in value:
            parts = volume.split(":")
            if len(parts) not in (2, 3) or not all(parts[:2]) or not parts[1].startswith("/"):
                raise ValueError(f"volume {volume!r} is not 'source:/container/path[:ro|rw]'")
            if len(parts) == 3 and parts[2] not in ("ro", "rw"):
                raise ValueError(f"volume {volume!r}: mode must be ro or rw")
        return value

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: int | str | None) -> int | None:
        parsed = parse_memory(value)
        if parsed is not None and not 4 * 1024**2 <= parsed <= 1024**4:
            raise ValueError("memory must be between 4 MiB and 1 TiB")
        return parsed

    @field_validator("restart_policy")
    @classmethod
    def _restart(cls, value: str | None) -> str | None:
        if value is not None and not _RESTART.fullmatch(value):
            raise ValueError("restart_policy must be no, always, unless-stopped or on-failure[:N]")
        return value

    @field_validator("endpoints")
    @classmethod
    def _endpoints(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        for network, ip in value.items():
            if ip:
                try:
                    ipaddress.IPv4Address(ip)
                except ValueError as exc:
                    raise ValueError(f"endpoint {network!r}: {ip!r} is not an IPv4 address") from exc
        return value


class Endpoint(BaseModel):
    network_id: str
    network: str
    address: str
    prefix_length: int
    gateway: str
    mac: str | None = None
    active: bool = Field(description="false once the container is terminated and the address released")
    link: LinkLimit | None = Field(None, description="this endpoint's own link limits; the network's apply otherwise")


class Container(BaseModel):
    id: str
    name: str
    image: str
    image_id: str
    flavour: str
    command: list[str] | None
    env: dict[str, str]
    metadata: dict[str, str]
    labels: dict[str, str]
    ports: dict[str, int | None]
    volumes: list[str]
    cpus: float | None
    memory: int | None
    mac_address: str | None
    privileged: bool | Literal["host"]
    cap_add: list[str]
    restart_policy: str | None
    state: ContainerState
    extended_status: str
    node: str | None = Field(
        None,
        description="the node a cluster engine (Swarm) placed it on; none on one engine. Set before RUNNING: "
        "its addresses are then the ones it runs with",
    )
    exit_code: int | None
    engine_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    endpoints: dict[str, Endpoint]


class NetworkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    driver: str = Field("bridge", pattern=r"^(bridge|macvlan|ipvlan|overlay)$")
    subnet: str | None = Field(None, pattern=PLAIN_TEXT, description="CIDR; a free private one is chosen when omitted")
    ip_range: str | None = Field(
        None, pattern=PLAIN_TEXT, description="CIDR inside the subnet from which addresses are assigned"
    )
    gateway: str | None = Field(None, pattern=PLAIN_TEXT)
    internal: bool = False
    bridge_name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,15}$")
    parent: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,15}$", description="macvlan/ipvlan parent")
    options: dict[PlainText, PlainText] = Field(default_factory=dict, description="driver options passed to the engine")
    labels: dict[PlainText, str] = Field(default_factory=dict, description="kept on the network and its engine network")
    bandwidth: str | None = Field(None, max_length=32, description="link limit of every endpoint, e.g. '10mbit'")
    delay: str | None = Field(None, max_length=16, description="e.g. '10ms'; needs the netem qdisc")
    loss: str | None = Field(None, max_length=16, description="e.g. '1%'; needs the netem qdisc")

    @model_validator(mode="after")
    def _link(self) -> NetworkConfig:
        limit = LinkLimit(bandwidth=self.bandwidth, delay=self.delay, loss=self.loss)  # normalised, or refused
        self.bandwidth, self.delay, self.loss = limit.bandwidth, limit.delay, limit.loss
        return self

    @property
    def link(self) -> LinkLimit:
        return LinkLimit.model_construct(bandwidth=self.bandwidth, delay=self.delay, loss=self.loss)


class Network(BaseModel):
    id: str
    name: str
    driver: str
    subnet: str
    ip_range: str | None
    gateway: str
    internal: bool
    bridge_name: str | None
    parent: str | None
    options: dict[str, Any]
    is_default: bool
    engine_id: str | None
    created_at: datetime
    addresses_in_use: int
    labels: dict[str, str] = Field(default_factory=dict)
    bandwidth: str | None = None
    delay: str | None = None
    loss: str | None = None


class Image(BaseModel):
    id: str
    tags: list[str]
    created: datetime | None = Field(None, description="UTC; null when the engine does not say")
    size: int
    labels: dict[str, str] = Field(default_factory=dict)
    architecture: str = ""
    os: str = ""


class Flavour(BaseModel):
    id: str
    name: str
    cpus: float | None = Field(None, description="CPU limit in cores; null is unlimited")
    memory: int | None = Field(None, description="memory limit in bytes; null is unlimited")


class ExecOutput(BaseModel):
    exit_code: int = Field(description="137 when popvim killed the command (deadline or output cap)")
    stdout: str
    stderr: str
    stdout_truncated: bool = Field(False, description="stdout passed the cap; the command was killed")
    stderr_truncated: bool = Field(False, description="stderr passed the cap; the command was killed")
    timed_out: bool = Field(False, description="the deadline passed; the command was killed")


class Logs(BaseModel):
    logs: str
    truncated: bool = Field(False, description="older output was cut to keep the answer within the byte cap")


class Stats(BaseModel):
    cpu_percent: float
    memory_usage: int
    memory_limit: int
    pids: int
    rx_bytes: int
    tx_bytes: int
    read: datetime | None = Field(None, description="when the engine took the sample (UTC)")
