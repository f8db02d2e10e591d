"""Parsing of the seed's ``key=value`` arguments (``pop spawn image=nginx:latest name=web``).

Kept apart from the commands so the grammar is written down once and every
mistake is reported as one precise usage error instead of a server round trip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


class UsageError(Exception):
    """Bad command-line input: reported as ``pop: ...`` with exit code 2, like any usage error."""


CONFIG_KEYS = ("image", "name", "flavour", "network", "command", "env.NAME", "md.NAME", "port")
_PORT = re.compile(r"^\d{1,5}(/(tcp|udp|sctp))?$")


def split_pair(item: str) -> tuple[str, str]:
    if "=" not in item:
        raise UsageError(f"expected key=value, got {item!r}")
    key, value = item.split("=", 1)
    if not key:
        raise UsageError(f"missing key in {item!r}")
    return key, value


@dataclass
class ContainerSpec:
    """What ``spawn`` and ``create`` send: the keyword arguments of ``PopClient.create``."""

    name: str = ""
    image: str = ""
    flavour: str = ""
    endpoints: dict[str, str | None] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def create_kwargs(self) -> dict[str, Any]:
        return {
            "flavour": self.flavour,
            "endpoints": self.endpoints or None,
            "command": self.command or None,
            "env": self.env or None,
            "metadata": self.metadata or None,
            "ports": self.ports or None,
        }


def _network(piece: str) -> tuple[str, str | None]:
    """``net``, ``net:ip`` or ``net=ip`` (the latter because ``network=a=10.0.0.5`` reads naturally too)."""
    import ipaddress  # here: only the commands that take addresses pay for it

    for sep in (":", "="):
        if sep in piece:
            net, ip = piece.split(sep, 1)
            try:
                ipaddress.IPv4Address(ip)
            except ValueError:
                raise UsageError(f"network {net!r}: {ip!r} is not an IPv4 address") from None
            return net, ip
    return piece, None


def _port(piece: str) -> tuple[str, int]:
    """``P`` (any free host port) or ``P:H``; P may carry ``/udp``."""
    container, _, host = piece.partition(":")
    if not _PORT.match(container) or not 0 < int(container.split("/")[0]) < 65536:
        raise UsageError(f"port {piece!r}: expected PORT[/udp][:HOSTPORT], e.g. 80 or 80:8080")
    if not host:
        return container, 0
    if not host.isdigit() or not 0 < int(host) < 65536:
        raise UsageError(f"port {piece!r}: host port {host!r} is not a port number")
    return container, int(host)


def container_spec(items: list[str]) -> ContainerSpec:
    spec = ContainerSpec()
    for item in items:
        key, value = split_pair(item)
        if key == "image":
            spec.image = value
        elif key == "name":
            spec.name = value
        elif key in ("flavour", "flavor"):
            spec.flavour = value
        elif key in ("network", "networks", "net"):
            for piece in filter(None, (p.strip() for p in value.split(","))):
                net, ip = _network(piece)
                if not net:
                    raise UsageError(f"network {piece!r}: missing the network name")
                spec.endpoints[net] = ip
        elif key in ("command", "cmd"):
            import shlex

            try:
                spec.command = shlex.split(value)
            except ValueError as exc:
                raise UsageError(f"command {value!r}: {exc}") from None
            if not spec.command:
                raise UsageError("command is empty")
        elif key.startswith("env."):
            if not key[4:]:
                raise UsageError(f"{item!r}: env.NAME=value needs a NAME")
            spec.env[key[4:]] = value
        elif key.startswith("md."):
            if not key[3:]:
                raise UsageError(f"{item!r}: md.KEY=value needs a KEY")
            spec.metadata[key[3:]] = value
        elif key in ("port", "ports"):
            for piece in filter(None, (p.strip() for p in value.split(","))):
                container, host = _port(piece)
                spec.ports[container] = host
        else:
            raise UsageError(f"unknown key {key!r} (expected one of: {', '.join(CONFIG_KEYS)})")
    if not spec.image:
        raise UsageError("image=... is required, e.g. pop spawn image=busybox:latest name=web")
    return spec


def metadata_entries(items: list[str]) -> dict[str, str]:
    """``k=v`` sets, ``k=`` deletes (the protocol's empty value)."""
    if not items:
        raise UsageError("give at least one key=value (key= deletes the key)")
    return dict(split_pair(item) for item in items)


NETWORK_KEYS = ("subnet", "ip_range", "gateway", "driver", "internal")


def network_options(items: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in items:
        key, value = split_pair(item)
        key = key.replace("-", "_")
        if key == "internal":
            lowered = value.lower()
            if lowered not in ("true", "false", "yes", "no", "1", "0"):
                raise UsageError(f"internal={value!r}: expected true or false")
            options["internal"] = lowered in ("true", "yes", "1")
        elif key in NETWORK_KEYS:
            options[key] = value
        else:
            raise UsageError(f"unknown key {key!r} (expected one of: {', '.join(NETWORK_KEYS)})")
    return options
