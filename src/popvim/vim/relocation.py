"""A running container's place as the engine reports it: node and addresses.

On one engine neither changes while a container runs. On a cluster engine
(Swarm) the engine, not popvim, picks each address, and moves the container
to another node when its node is lost; the record follows what the engine
says, so a client always sees where the container is and how to reach it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from popvim.engine.driver import EngineContainer
from popvim.store.models import ContainerRow
from popvim.vim.events import EventBus

log = logging.getLogger(__name__)

RUNNING_STATUS = "the container is running"


def follow(row: ContainerRow, found: EngineContainer, engine_network: Callable[[str], str], bus: EventBus) -> bool:
    """Copy the engine's addresses (and node) of ``found`` into ``row``; whether anything changed.

    Only addresses the engine reports are taken (an empty one means not known
    yet); the record keeps its own until then.
    """
    changed: dict[str, str] = {}
    for endpoint in row.endpoints:
        if not endpoint.active:
            continue
        address = found.networks.get(engine_network(endpoint.network.name), "")
        if address and address != endpoint.address:
            changed[endpoint.network.name] = address
            endpoint.address = address
    status = f"{RUNNING_STATUS} on node {found.node}" if found.node else row.extended_status
    moved = status != row.extended_status
    if moved:
        row.extended_status = status
    if changed or moved:
        log.info("container %s runs on %s with %s", row.name, found.node or "the engine", changed or "its addresses")
        bus.publish(
            "container.placed",
            row.id,
            name=row.name,
            node=found.node,
            addresses=",".join(f"{k}={v}" for k, v in sorted(changed.items())),
        )
    return bool(changed or moved)
