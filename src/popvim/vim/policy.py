"""What containers and networks may ask of the host: default deny, opened by the operator.

A token must not mean root on the host. Every create (REST v1, seed 000's
routes, the Pop protocol, and so the orchestrator) passes through ``check_container``
or ``check_network`` here, so there is one place that decides, and a refusal
names the ``[policy]`` key that would open it.

The defaults serve VNFs (NET_ADMIN and NET_RAW, bridge networks, unprivileged
host ports published on loopback) and nothing that reaches the host: no
privileged containers, no bind mounts of host paths, no macvlan/ipvlan on a
host interface, no driver option outside a list known to be harmless.
"""

from __future__ import annotations

import ipaddress
import os
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from popvim.vim.errors import ForbiddenByPolicy
from popvim.vim.models import ContainerConfig, NetworkConfig

DEFAULT_CAPS = frozenset({"NET_ADMIN", "NET_RAW"})
# Never accepted, whatever the file says: ALL is every capability, i.e. root on the host.
NEVER_CAPS = frozenset({"ALL"})
DEFAULT_DRIVERS = frozenset({"bridge"})
KNOWN_DRIVERS = frozenset({"bridge", "macvlan", "ipvlan", "overlay"})
PARENT_DRIVERS = frozenset({"macvlan", "ipvlan"})
# Driver options that change how a network behaves, never what on the host it reaches.
SAFE_NETWORK_OPTIONS = frozenset(
    {
        "com.docker.network.driver.mtu",
        "com.docker.network.bridge.enable_icc",
        "com.docker.network.bridge.enable_ip_masquerade",
        "com.docker.network.container_iface_prefix",
        "macvlan_mode",
        "ipvlan_mode",
        "ipvlan_flag",
        "encrypted",
    }
)
# These have fields of their own, checked by their own keys; as raw options they would bypass them.
FIELD_OPTIONS = {"parent": "parent", "com.docker.network.bridge.name": "bridge_name"}
DEFAULT_HOST_PORTS = (1024, 65535)
# Loopback: Docker's published ports bypass the host firewall, so a VNF reachable from every
# network the host is on must be the operator's choice ("0.0.0.0"), not the default.
DEFAULT_BIND_ADDRESS = "127.0.0.1"

_VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_INTERFACE = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")


def capability(name: str) -> str:
    """Docker's spelling-insensitive capability name: ``cap_sys_admin`` is ``SYS_ADMIN``."""
    upper = name.strip().upper()
    return upper.removeprefix("CAP_")


def normalised_path(path: str) -> str:
    """An absolute path with ``.``, ``..`` and repeated slashes resolved as text."""
    normal = posixpath.normpath(path)
    return "/" + normal.lstrip("/")


def _under(path: str, prefix: str) -> bool:
    return prefix == "/" or path == prefix or path.startswith(prefix.rstrip("/") + "/")


@dataclass(frozen=True)
class Policy:
    """The ``[policy]`` section. Each field is one key; see README "Policy"."""

    privileged: bool = False
    # privileged: "host" (every capability and device the host has; an emulated host)
    privileged_host: bool = False
    cap_add: frozenset[str] = DEFAULT_CAPS
    bind_mounts: tuple[str, ...] = ()  # host path prefixes, normalised
    network_drivers: frozenset[str] = DEFAULT_DRIVERS
    network_parents: frozenset[str] = frozenset()  # host interfaces: macvlan/ipvlan parents, existing bridges
    network_options: frozenset[str] = SAFE_NETWORK_OPTIONS
    host_ports: tuple[int, int] = DEFAULT_HOST_PORTS
    bind_address: str = DEFAULT_BIND_ADDRESS
    # Also look at the host itself (bind mounts with symlinks resolved, existing interfaces):
    # right when the engine runs on this host, as it does by default.
    host_checks: bool = field(default=True, compare=False)

    # --- containers -------------------------------------------------------------
    def check_container(self, config: ContainerConfig) -> None:
        """Raises ForbiddenByPolicy naming the first key the request needs opened."""
        if config.privileged == "host":
            if not self.privileged_host:
                raise ForbiddenByPolicy(
                    "policy.privileged_host",
                    'host-privileged containers (privileged: "host", an emulated host) are not allowed on this PoP '
                    "(privileged_host = false)",
                )
        elif config.privileged and not self.privileged:
            raise ForbiddenByPolicy(
                "policy.privileged", "privileged containers are not allowed on this PoP (privileged = false)"
            )
        for name in config.cap_add:
            cap = capability(name)
            if cap in NEVER_CAPS:
                raise ForbiddenByPolicy("policy.cap_add", f"capability {name!r} is never allowed")
            if cap not in self.cap_add:
                raise ForbiddenByPolicy(
                    "policy.cap_add", f"capability {name!r} is not allowed (allowed: {_listed(self.cap_add)})"
                )
        for volume in config.volumes:
            self.check_volume(volume)
        low, high = self.host_ports
        for port, host in config.ports.items():
            if host is not None and not low <= host <= high:
                raise ForbiddenByPolicy("policy.host_ports", f"host port {host} for {port} is outside {low}-{high}")

    def check_volume(self, volume: str) -> None:
        """``source:/path[:mode]``: a named volume, or a host path under an allowed prefix."""
        source = volume.split(":", 1)[0]
        if _VOLUME_NAME.match(source):
            return
        if not source.startswith("/"):
            raise ForbiddenByPolicy(
                "policy.bind_mounts", f"volume source {source!r} is neither a volume name nor an absolute host path"
            )
        path = normalised_path(source)
        if not any(_under(path, prefix) for prefix in self.bind_mounts):
            raise ForbiddenByPolicy(
                "policy.bind_mounts",
                f"host path {path!r} is not under an allowed prefix (allowed: {_listed(self.bind_mounts)})",
            )
        if self.host_checks:
            real = os.path.realpath(path)
            if not any(_under(real, os.path.realpath(prefix)) for prefix in self.bind_mounts):
                raise ForbiddenByPolicy(
                    "policy.bind_mounts", f"host path {path!r} leads to {real!r}, which is not under an allowed prefix"
                )

    # --- networks -----------------------------------------------------------------
    def check_network(self, config: NetworkConfig) -> None:
        if config.driver not in self.network_drivers:
            raise ForbiddenByPolicy(
                "policy.network_drivers",
                f"network driver {config.driver!r} is not allowed (allowed: {_listed(self.network_drivers)})",
            )
        if config.parent and config.driver in PARENT_DRIVERS and config.parent not in self.network_parents:
            raise ForbiddenByPolicy(
                "policy.network_parents",
                f"parent interface {config.parent!r} is not allowed (allowed: {_listed(self.network_parents)})",
            )
        for option in config.options:
            if option in FIELD_OPTIONS:
                raise ForbiddenByPolicy(
                    "policy.network_options",
                    f"option {option!r} is never passed as an option: use the {FIELD_OPTIONS[option]!r} field",
                )
            if option not in self.network_options:
                raise ForbiddenByPolicy("policy.network_options", f"driver option {option!r} is not allowed")

    def check_bridge_name(self, name: str) -> None:
        """A bridge name that is already a host interface (and no engine network's) would put
        the network's containers on whatever that bridge joins, such as the host's LAN."""
        if self.host_checks and name not in self.network_parents and os.path.exists(f"/sys/class/net/{name}"):
            raise ForbiddenByPolicy(
                "policy.network_parents",
                f"bridge_name {name!r} is an existing host interface, not allowed "
                f"(allowed: {_listed(self.network_parents)})",
            )

    # --- the file -------------------------------------------------------------------
    def table(self) -> dict[str, Any]:
        """The section as TOML would hold it (what ``popvimd policy`` prints)."""
        return {
            "privileged": self.privileged,
            "privileged_host": self.privileged_host,
            "cap_add": sorted(self.cap_add),
            "bind_mounts": list(self.bind_mounts),
            "network_drivers": sorted(self.network_drivers),
            "network_parents": sorted(self.network_parents),
            "network_options": sorted(self.network_options),
            "host_ports": f"{self.host_ports[0]}-{self.host_ports[1]}",
            "bind_address": self.bind_address,
        }

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str = "[policy]") -> Policy:
        """The policy of a ``[policy]`` table; a ValueError names the bad key and why."""
        fields: dict[str, Any] = {}
        for key, value in table.items():
            parse = _PARSERS.get(key)
            if parse is None:
                raise ValueError(f"unknown key {where}.{key} (known: {', '.join(sorted(_PARSERS))})")
            try:
                fields[key] = parse(value)
            except ValueError as exc:
                raise ValueError(f"{where}.{key}: {exc}") from exc
        return cls(**fields)


def _listed(values: Iterable[str]) -> str:
    return ", ".join(sorted(values)) or "none"


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"must be a list of non-empty strings, not {value!r}")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {value!r}")
    return value


def _caps(value: Any) -> frozenset[str]:
    caps = frozenset(capability(v) for v in _strings(value))
    if caps & NEVER_CAPS:
        raise ValueError("ALL can never be allowed: it is every capability, i.e. root on the host")
    bad = [c for c in caps if not re.fullmatch(r"[A-Z_]{2,32}", c)]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a capability name such as NET_ADMIN")
    return caps


def _prefixes(value: Any) -> tuple[str, ...]:
    prefixes = []
    for entry in _strings(value):
        if not entry.startswith("/"):
            raise ValueError(f"{entry!r} is not an absolute path")
        path = normalised_path(entry)
        if path == "/":
            raise ValueError("'/' would allow every host path; list the directories containers may mount")
        prefixes.append(path)
    return tuple(prefixes)


def _drivers(value: Any) -> frozenset[str]:
    drivers = frozenset(_strings(value))
    unknown = sorted(drivers - KNOWN_DRIVERS)
    if unknown:
        raise ValueError(f"unknown driver {unknown[0]!r} (known: {_listed(KNOWN_DRIVERS)})")
    return drivers


def _parents(value: Any) -> frozenset[str]:
    parents = frozenset(_strings(value))
    bad = [p for p in parents if not _INTERFACE.match(p)]
    if bad:
        raise ValueError(f"{bad[0]!r} is not an interface name")
    return parents


def _options(value: Any) -> frozenset[str]:
    options = frozenset(_strings(value))
    fielded = sorted(options & FIELD_OPTIONS.keys())
    if fielded:
        raise ValueError(f"{fielded[0]!r} has a field of its own and cannot be allowed as an option")
    return options


def _port_range(value: Any) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{1,5})-(\d{1,5})", value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"must be 'LOW-HIGH' such as '1024-65535', not {value!r}")
    low, high = int(match.group(1)), int(match.group(2))
    if not 1 <= low <= high <= 65535:
        raise ValueError(f"{value!r} must satisfy 1 <= LOW <= HIGH <= 65535")
    return low, high


def _address(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be an IP address string, not {value!r}")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IP address") from exc


_PARSERS = {
    "privileged": _bool,
    "privileged_host": _bool,
    "cap_add": _caps,
    "bind_mounts": _prefixes,
    "network_drivers": _drivers,
    "network_parents": _parents,
    "network_options": _options,
    "host_ports": _port_range,
    "bind_address": _address,
}
