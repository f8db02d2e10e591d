"""Rows to the read-only ``Container`` view the faces get."""

from __future__ import annotations

import functools
import ipaddress

from popvim.store.models import ContainerRow, EndpointRow
from popvim.vim.models import Container, Endpoint
from popvim.vim.shaping import limit_of
from popvim.vim.states import ContainerState


@functools.lru_cache(maxsize=4096)
def _prefix_length(subnet: str) -> int:
    return ipaddress.IPv4Network(subnet).prefixlen


def endpoint_view(e: EndpointRow) -> Endpoint:
    return Endpoint(
        network_id=e.network_id,
        network=e.network.name,
        address=e.address,
        prefix_length=_prefix_length(e.network.subnet),
        gateway=e.network.gateway,
        mac=e.mac,
        active=e.active,
        link=limit_of(e),
    )


def view(row: ContainerRow) -> Container:
    return Container(
        id=row.id,
        name=row.name,
        image=row.image,
        image_id=row.image_id,
        flavour=row.flavour,
        command=row.command,
        env=row.env or {},
        metadata=row.md or {},
        labels=row.labels or {},
        ports=row.ports or {},
        volumes=row.volumes or [],
        cpus=row.cpus,
        memory=row.memory,
        mac_address=row.mac_address,
        privileged="host" if row.privileged_mode == "host" else row.privileged,
        cap_add=row.cap_add or [],
        restart_policy=row.restart_policy,
        state=ContainerState(row.state),
        extended_status=row.extended_status,
        node=row.node,
        exit_code=row.exit_code,
        engine_id=row.engine_id,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        endpoints={e.network.name: endpoint_view(e) for e in row.endpoints},
    )
