"""A running container's place as the engine reports it: node and addresses.

On one engine neither changes while a container runs. On a cluster engine
(Swarm) the engine, not popvim, picks each address, and moves the container
to another node when its node is lost; the record follows what the engine
says, so a client always sees where the container is and how to reach it.
"""

from __future__ import annotations

import logging

from popvim.engine.driver import EngineContainer
from popvim.engine.errors import EngineError
from popvim.store.models import ContainerRow
from popvim.vim.containers.parts import Parts
from popvim.vim.errors import NotFound
from popvim.vim.states import ContainerState

log = logging.getLogger(__name__)

RUNNING_STATUS = "the container is running"
STARTING_STATUS = "starting"  # placed, its task not running yet: Start is still waiting


def follow(parts: Parts, row: ContainerRow, found: EngineContainer | None = None, doing: str = RUNNING_STATUS) -> bool:
    """On an engine that places containers, copy its node and addresses into ``row``; whether anything changed.

    Only addresses the engine reports are taken (an empty one means not known
    yet); the record keeps its own until then. ``doing`` begins the
    extended status ("... on node X").
    """
    if not parts.engine.places_containers or not row.engine_id:
        return False
    try:
        found = found or parts.engine.container(row.engine_id)
    except EngineError as exc:
        log.warning("cannot read where %s runs: %s", row.name, exc.message)
        return False
    changed: dict[str, str] = {}
    for endpoint in row.endpoints:
        if not endpoint.active:
            continue
        address = found.networks.get(parts.networks.engine_name(endpoint.network.name), "")
        if address and address != endpoint.address:
            changed[endpoint.network.name] = address
            endpoint.address = address
    node = found.node or row.node
    status = f"{doing} on node {node}" if found.node else row.extended_status
    moved = (status, node) != (row.extended_status, row.node)
    if moved:
        row.extended_status, row.node = status, node
    if changed or moved:
        log.info("container %s runs on %s with %s", row.name, found.node or "the engine", changed or "its addresses")
        parts.bus.publish(
            "container.placed",
            row.id,
            name=row.name,
            node=found.node,
            addresses=",".join(f"{k}={v}" for k, v in sorted(changed.items())),
        )
    return bool(changed or moved)


def on_engine_start(parts: Parts, container_id: str) -> None:
    """The engine started the container (again, maybe elsewhere): follow its node and addresses."""
    try:
        with parts.locks.locked_row(container_id) as (_session, row):
            if row.state == ContainerState.RUNNING.value:
                follow(parts, row)
    except NotFound:
        return


def on_engine_restart(parts: Parts, container_id: str) -> None:
    """The container's process ended and the engine brings it back: still RUNNING, say so."""
    try:
        with parts.locks.locked_row(container_id) as (_session, row):
            if row.state == ContainerState.RUNNING.value:
                row.extended_status = "restarting: the engine replaces its process"
    except NotFound:
        return
