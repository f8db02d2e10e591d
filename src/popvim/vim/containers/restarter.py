"""Running a container again: a terminated one started anew, a running one rebooted.

Both reuse the engine container (its filesystem, its fixed addresses and MAC, its
published ports), so nothing is made anew; its link limits are applied again, as
the engine gives it new interfaces. The Pop protocol never does either (seed 001:
each state once); the OpenStack face (``os-start``, ``reboot``) and REST's restart do.

Addresses: a container stopped with ``keep_addresses`` (a Nova ``os-stop``) holds
them while EXITED; any other terminated one gave them back, and takes the same ones
again here, or is refused (AlreadyExists) when another container has one of them now.

Crash safety: the marker (``RESTARTING``, ``REBOOTING``) is committed before the
engine is asked, so reconciliation finishes a restart or reboot that popvimd did
not live to record.
"""

from __future__ import annotations

import contextlib

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from popvim.clock import utcnow
from popvim.engine.errors import EngineError, EngineNotFound, EngineUnavailable
from popvim.store.models import ContainerRow
from popvim.vim.containers import links
from popvim.vim.containers.parts import Parts
from popvim.vim.containers.state import (
    REBOOTING,
    REBOOTING_HARD,
    RESTARTING,
    STOPPED_KEEPING,
    check_restartable,
    check_running,
    keeps_addresses,
    state_of,
    transition,
)
from popvim.vim.containers.views import view
from popvim.vim.errors import AlreadyExists, EngineFailure, InvalidArgument, InvalidState, Unsupported
from popvim.vim.models import Container
from popvim.vim.published_ports import published_ports
from popvim.vim.states import ContainerState

S = ContainerState


def check_supported(parts: Parts) -> None:
    """A cluster engine places each start itself (other node, other addresses): not offered there."""
    if parts.engine.places_containers:
        raise Unsupported(
            "this PoP's engine is a cluster (Swarm): a container cannot run again with the same "
            "addresses there; delete it and create a new one"
        )


def restart(parts: Parts, ref: str) -> Container:
    """EXITED or FAILED becomes RUNNING again, with the same addresses."""
    check_supported(parts)
    with parts.locks.locked_row(ref) as (session, row):
        engine_id = check_restartable(row)
        for volume in row.volumes or []:  # again, as at start: the policy may have changed
            parts.settings.policy.check_volume(volume)
        kept = keeps_addresses(row)
        _retake(parts, session, row)
        row.extended_status = RESTARTING
        session.commit()  # a crash from here on is finished by reconciliation
        return run_again(parts, session, row, engine_id, kept)


def run_again(parts: Parts, session: Session, row: ContainerRow, engine_id: str, kept: bool) -> Container:
    """Starts the engine container of a terminated record whose addresses are taken (caller holds its lock)."""
    try:
        parts.engine.start_container(engine_id)
    except EngineError as exc:
        _rest(row, kept, f"restart failed: {exc.message}")
        session.commit()
        if isinstance(exc, EngineNotFound):
            raise InvalidState(
                f"container {row.name!r} cannot start again: its engine container is gone", state_of(row)
            ) from exc
        raise EngineFailure(f"container {row.name!r} failed to start again: {exc.message}") from exc
    try:
        links.shaper(parts).apply(engine_id, row.endpoints)
    except (EngineFailure, InvalidArgument) as exc:  # a limit is part of what was asked: never run unshaped
        with contextlib.suppress(EngineError):
            parts.engine.stop_container(engine_id, 0)
        _rest(row, kept, f"restart failed: {exc.message}")
        session.commit()
        raise EngineFailure(f"container {row.name!r} failed to start again: {exc.message}") from exc
    transition(row, S.RUNNING, "the container is running (started again)", parts.bus, again=True)
    row.ports = published_ports(parts.engine, engine_id, row.ports)
    session.flush()
    return view(row)


def reboot(parts: Parts, ref: str, hard: bool = False) -> Container:
    """A RUNNING container stopped (killed when ``hard``) and started again; RUNNING throughout.

    The container's lock is held across both engine calls, so an engine ``die`` event of
    the stop is looked at only once it runs again (and then changes nothing).
    """
    check_supported(parts)
    with parts.locks.locked_row(ref) as (session, row):
        engine_id = check_running(row)
        if row.extended_status in (REBOOTING, REBOOTING_HARD):
            raise InvalidState(f"container {row.name!r} is being rebooted", S.RUNNING)
        row.extended_status = REBOOTING_HARD if hard else REBOOTING
        session.commit()
        timeout = 0.0 if hard else parts.settings.stop_timeout_seconds
        try:
            parts.engine.stop_container(engine_id, timeout)
            parts.engine.start_container(engine_id)
        except EngineUnavailable as exc:
            raise EngineFailure(
                f"reboot of {row.name!r} pending: the engine is unreachable ({exc.message}); "
                "it finishes when the engine answers"
            ) from exc
        except EngineError as exc:
            _reboot_failed(parts, session, row, engine_id, exc.message)
            raise EngineFailure(f"container {row.name!r} failed to reboot: {exc.message}") from exc
        try:
            links.shaper(parts).apply(engine_id, row.endpoints)
        except (EngineFailure, InvalidArgument) as exc:
            with contextlib.suppress(EngineError):
                parts.engine.stop_container(engine_id, 0)
            _reboot_failed(parts, session, row, engine_id, exc.message)
            raise EngineFailure(f"container {row.name!r} failed to reboot: {exc.message}") from exc
        rebooted(parts, row, engine_id, hard)
        session.flush()
        return view(row)


def rebooted(parts: Parts, row: ContainerRow, engine_id: str, hard: bool, how: str = "rebooted") -> None:
    row.extended_status = f"the container is running ({how})"
    row.started_at = utcnow()
    row.ports = published_ports(parts.engine, engine_id, row.ports)
    parts.bus.publish("container.rebooted", row.id, name=row.name, hard=hard)


def _reboot_failed(parts: Parts, session: Session, row: ContainerRow, engine_id: str, reason: str) -> None:
    """Settled by what the engine has now: still running (the stop was refused) or FAILED."""
    try:
        current = parts.engine.container(engine_id)
    except EngineError:
        current = None
    if current is not None and current.running:
        row.extended_status = f"the container is running (reboot failed: {reason})"
    else:
        code = current.exit_code if current is not None else None
        transition(row, S.FAILED, f"reboot failed: {reason}", parts.bus, code)
    session.commit()


def _retake(parts: Parts, session: Session, row: ContainerRow) -> None:
    """Takes back the addresses the container gave up when it terminated (the same ones), or refuses."""
    released = [e for e in row.endpoints if not e.active]
    if not released:
        return
    networks = parts.networks
    with networks.ipam_lock:
        try:
            for endpoint in released:
                networks.allocate(session, endpoint.network, endpoint.address, holder=row.name)
                endpoint.active = True
            session.flush()
            session.commit()
        except (AlreadyExists, IntegrityError) as exc:
            session.rollback()
            reason = exc.message if isinstance(exc, AlreadyExists) else "one of its addresses was taken concurrently"
            raise AlreadyExists(
                f"container {row.name!r} cannot start again: {reason} (another container has it since "
                "the stop); delete this one and create a new one"
            ) from exc


def _rest(row: ContainerRow, kept: bool, status: str) -> None:
    """A restart that did not happen: the container stays terminated; its addresses go back
    unless it was stopped keeping them."""
    if kept:
        row.extended_status = f"{STOPPED_KEEPING}; {status}"
        return
    row.extended_status = status
    for endpoint in row.endpoints:
        endpoint.active = False
