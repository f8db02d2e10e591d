"""A container's record to the engine's ``ContainerSpec`` (made at start, not at create)."""

from __future__ import annotations

from popvim.engine.driver import ContainerSpec, EndpointSpec
from popvim.store.models import ContainerRow
from popvim.vim.containers.parts import Parts
from popvim.vim.labels import LABEL_ID, LABEL_INSTALL


def engine_name(parts: Parts, name: str) -> str:
    return f"{parts.settings.engine_prefix}{name}"


def container_spec(parts: Parts, row: ContainerRow) -> ContainerSpec:
    flavour = parts.flavours.get(row.flavour)
    cpus = row.cpus if row.cpus is not None else flavour.cpus
    memory = row.memory if row.memory is not None else flavour.memory
    return ContainerSpec(
        name=engine_name(parts, row.name),
        image=row.image_id,
        command=row.command,
        env={**(row.env or {}), **(row.md or {})},  # metadata reaches the container as environment
        labels={
            **(row.labels or {}),
            **parts.pop_labels,
            LABEL_INSTALL: parts.settings.install_id,
            LABEL_ID: row.id,
        },
        ports=row.ports or {},
        port_address=parts.settings.policy.bind_address,
        volumes=row.volumes or [],
        nano_cpus=int(cpus * 1e9) if cpus else None,
        mem_limit=memory,
        privileged=row.privileged,
        cap_add=row.cap_add or [],
        restart_policy=row.restart_policy,
        host_mode=row.privileged_mode == "host",  # privileged: "host" (engine.hostmode)
        # By name: Docker 20.10 drops the MAC address when the network is given by id.
        endpoints=[
            EndpointSpec(network=parts.networks.engine_name(e.network.name), ipv4=e.address, mac=e.mac)
            for e in row.endpoints
        ],
    )
