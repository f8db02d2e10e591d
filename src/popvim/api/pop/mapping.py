"""Conversions between the domain's models and the Pop protocol's messages.

Kept apart from the servicer so that the wire format of each entity is
decided in exactly one place (the future client library reads the same
fields back), and so that the servicer reads as the protocol's semantics.
"""

from __future__ import annotations

import ipaddress
import shlex
from datetime import UTC, datetime
from typing import Any

from popvim.api.pop.errors import invalid
from popvim.proto import vim_pop_pb2 as pb
from popvim.vim.models import (
    Container,
    ContainerConfig,
    Endpoint,
    Flavour,
    Image,
    Network,
    NetworkConfig,
)
from popvim.vim.validation import checked_metadata


# --- time ---------------------------------------------------------------------
def unix(moment: datetime | None) -> int:
    """Unix seconds of a UTC datetime (naive ones come from the database). 0 means "never" (proto3's default)."""
    if moment is None:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


# --- filters ------------------------------------------------------------------
def filter_of(message: pb.Filter) -> tuple[str, str] | None:
    """``("id" | "name", value)``, or None for an empty filter (queries: everything).

    A filter naming an empty id or name is refused rather than taken as "all":
    the caller meant one entity and would otherwise get or act on all of them.
    """
    kind = message.WhichOneof("options")
    if kind is None:
        return None
    value: str = getattr(message, kind)
    if not value:
        raise invalid(f"the Filter's {kind} is empty")
    return kind, value


def required_filter(message: pb.Filter) -> tuple[str, str]:
    """``filter_of`` for the RPCs that act on one entity: an empty filter is INVALID_ARGUMENT."""
    selected = filter_of(message)
    if selected is None:
        raise invalid("a Filter with an id or a name is required")
    return selected


# --- domain -> protocol ---------------------------------------------------------
def endpoint(e: Endpoint) -> pb.Endpoint:
    network = ipaddress.ip_interface(f"{e.address}/{e.prefix_length}").network
    return pb.Endpoint(
        net_id=e.network_id,
        net_name=e.network,
        ipv4=pb.Ip(address=e.address, subnet=pb.Subnet(cidr=str(network), gateway=e.gateway)),
        mac=e.mac or "",
        bandwidth=(e.link.bandwidth if e.link else None) or "",
        delay=(e.link.delay if e.link else None) or "",
        loss=(e.link.loss if e.link else None) or "",
    )


def container(c: Container) -> pb.Container:
    message = pb.Container(
        id=c.id,
        names=[c.name],
        image_id=c.image_id,
        flavour_id=c.flavour,
        command=shlex.join(c.command) if c.command else "",
        created=unix(c.created_at),
        started=unix(c.started_at),
        status=pb.Container.Status.Value(c.state.value),
        extended_status=c.extended_status,
        endpoints={name: endpoint(e) for name, e in c.endpoints.items()},
        md=pb.Metadata(entries=c.metadata),
        labels=c.labels,
        ports={key: host or 0 for key, host in c.ports.items()},
        node=c.node or "",
    )
    if c.exit_code is not None:
        message.exit_code = c.exit_code
    if c.engine_id:
        message.engine_id = c.engine_id
    return message


def image(i: Image) -> pb.Image:
    return pb.Image(id=i.id, names=i.tags, created=unix(i.created))


def network(n: Network) -> pb.Network:
    return pb.Network(
        id=n.id,
        name=n.name,
        external=not n.internal,
        subnets=[pb.Subnet(cidr=n.subnet, gateway=n.gateway)],
        driver=n.driver,
        labels=n.labels,
        bandwidth=n.bandwidth or "",
        delay=n.delay or "",
        loss=n.loss or "",
    )


def flavour(f: Flavour) -> pb.Flavour:
    return pb.Flavour(id=f.id, name=f.name)


def pull_progress(message: dict[str, Any]) -> pb.PullProgress:
    """One engine progress message (or popvim's final ``pulled`` one) as a PullProgress."""
    if message.get("status") == "pulled" and isinstance(message.get("image"), dict):
        return pb.PullProgress(status="pulled", image=image(Image(**message["image"])))
    detail = message.get("progressDetail") or {}
    return pb.PullProgress(
        status=str(message.get("status", "")),
        layer=str(message.get("id", "")),
        progress=str(message.get("progress", "")),
        current=int(detail.get("current") or 0),
        total=int(detail.get("total") or 0),
    )


# --- protocol -> domain ---------------------------------------------------------
def container_config(request: pb.ContainerConfig) -> ContainerConfig:
    """The domain's request; raises INVALID_ARGUMENT (or pydantic's ValidationError) on bad input.

    Endpoints are keyed by network name (or id); an endpoint's ipv4.address
    asks for that fixed address, an empty one for any free address. An empty
    map means the default network, as in the seed.
    """
    endpoints: dict[str, str | None] = {}
    links: dict[str, dict[str, str | None]] = {}
    macs = []
    for net, ep in request.endpoints.items():
        if not net:
            raise invalid("endpoints: the network name (map key) is empty")
        if ep.HasField("ipv6") and ep.ipv6.address:
            raise invalid(f"endpoints[{net}]: IPv6 addresses are not supported")
        endpoints[net] = (ep.ipv4.address or None) if ep.HasField("ipv4") else None
        if ep.bandwidth or ep.delay or ep.loss:
            links[net] = {"bandwidth": ep.bandwidth or None, "delay": ep.delay or None, "loss": ep.loss or None}
        if ep.mac:
            macs.append(ep.mac)
    if macs and len(request.endpoints) > 1:
        raise invalid("endpoints: a MAC address can only be given when the container has a single endpoint")
    fields: dict[str, Any] = {
        "image": request.image_id,
        "endpoints": endpoints,
        "env": dict(request.env),
        "ports": {port: host or None for port, host in request.ports.items()},
    }
    if request.name:
        fields["name"] = request.name
    if request.flavour_id:
        fields["flavour"] = request.flavour_id
    if request.command:
        fields["command"] = list(request.command)
    if request.HasField("md"):
        fields["metadata"] = dict(request.md.entries)
    if macs:
        fields["mac_address"] = macs[0]
    if request.cpus:
        fields["cpus"] = request.cpus
    if request.memory:
        fields["memory"] = request.memory
    if request.labels:
        fields["labels"] = dict(request.labels)
    if request.volumes:
        fields["volumes"] = list(request.volumes)
    if request.privileged:
        fields["privileged"] = True
    if request.privileged_mode:
        fields["privileged"] = request.privileged_mode  # "host"; anything else is refused by validation
    if links:
        fields["links"] = links
    if request.cap_add:
        fields["cap_add"] = list(request.cap_add)
    return ContainerConfig(**fields)


def network_config(request: pb.NetworkConfig) -> NetworkConfig:
    fields: dict[str, Any] = {"name": request.name, "internal": request.internal}
    for key in ("driver", "subnet", "ip_range", "gateway", "parent", "bandwidth", "delay", "loss"):
        value = getattr(request, key)
        if value:
            fields[key] = value
    if request.labels:
        fields["labels"] = dict(request.labels)
    if request.options:
        fields["options"] = dict(request.options)
    return NetworkConfig(**fields)


def metadata_entries(request: pb.NewMetadata) -> dict[str, str]:
    """The entries of a Metadata call, checked before any look-up (an empty value deletes its key)."""
    if not request.HasField("md") or not request.md.entries:
        raise invalid("md.entries is empty: nothing to set or delete")
    return checked_metadata(dict(request.md.entries), "md")
