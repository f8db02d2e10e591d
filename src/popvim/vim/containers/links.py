"""The link limits of a container's endpoints on its engine container (see ``vim.shaping``).

Applied at start, again when the engine (re)starts the container on its own
(restart policy, engine restart: its ``start`` event) and at reconciliation,
to a new endpoint at connect, cleared before a disconnect, and re-applied when
a limit changes (``relink``).
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from popvim.store.models import ContainerRow, EndpointRow
from popvim.vim.containers.parts import Parts
from popvim.vim.containers.state import transition
from popvim.vim.containers.views import view
from popvim.vim.engine_errors import engine_call
from popvim.vim.errors import EngineFailure, InvalidArgument, NotFound, VimError
from popvim.vim.models import Container
from popvim.vim.shaping import LinkShaper
from popvim.vim.states import ContainerState

log = logging.getLogger("popvim.vim.containers")


def shaper(parts: Parts) -> LinkShaper:
    return LinkShaper(parts.engine, parts.networks.engine_name)


def shape_started(parts: Parts, session: Session, row: ContainerRow) -> None:
    """Right after the engine started it; never left running unshaped: a limit is part of
    what was asked, so a failure removes the engine container and raises EngineFailure."""
    if not row.engine_id:
        return
    try:
        shaper(parts).apply(row.engine_id, row.endpoints)
    except EngineFailure as exc:
        engine_id = row.engine_id
        engine_call(lambda: parts.engine.remove_container(engine_id, force=True))
        transition(row, ContainerState.FAILED, f"start failed: {exc.message}", parts.bus)
        session.commit()
        raise EngineFailure(f"container {row.name!r} failed to start: {exc.message}") from exc


def reshape(parts: Parts, row: ContainerRow) -> None:
    """Re-applies (a no-op where nothing changed); logs what cannot be done."""
    if row.engine_id:
        try:
            shaper(parts).apply(row.engine_id, row.endpoints)
        except (EngineFailure, InvalidArgument) as exc:
            log.error("cannot shape the links of %s: %s", row.name, exc.message)


def on_engine_start(parts: Parts, container_id: str) -> None:
    """The engine (re)started it: its new interfaces carry no shaping yet."""
    try:
        with parts.locks.locked_row(container_id) as (_session, row):
            if row.state == ContainerState.RUNNING.value:
                reshape(parts, row)
    except NotFound:
        return


def shape_new_endpoint(parts: Parts, endpoint_id: int, engine_id: str) -> None:
    """After a connect; on failure the engine attachment is undone and the error raised."""
    with parts.store.session() as session:
        endpoint = session.get(EndpointRow, endpoint_id)
        if endpoint is None:
            return
        try:
            shaper(parts).apply_one(engine_id, endpoint)
        except VimError:
            network = endpoint.network.engine_id or ""
            engine_call(lambda: parts.engine.disconnect(network, engine_id))
            raise


def clear_endpoint(parts: Parts, engine_id: str, endpoint: EndpointRow) -> None:
    shaper(parts).clear_one(engine_id, endpoint)


def relink(parts: Parts, ref: str, network_id: str, limit: dict[str, str | None] | None = None) -> Container:
    """Re-applies the limits of the container's endpoint on ``network_id`` (its network's
    changed), first storing ``limit`` as the endpoint's own when given."""
    with parts.locks.locked_row(ref) as (session, row):
        endpoint = next((e for e in row.endpoints if e.network_id == network_id), None)
        if endpoint is None:
            raise NotFound(f"container {row.name!r} has no endpoint on that network")
        if limit is not None:
            endpoint.bandwidth, endpoint.delay, endpoint.loss = limit["bandwidth"], limit["delay"], limit["loss"]
            session.flush()
        if row.state == ContainerState.RUNNING.value and row.engine_id and endpoint.active:
            shaper(parts).update_one(row.engine_id, endpoint)
        return view(row)
