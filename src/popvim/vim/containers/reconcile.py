"""Records and engine containers brought into agreement after a restart of us or of the engine.

Each record is settled by what the engine has under its id; an engine container
with this install's label and no record is an orphan (removed); one with this
PoP's name but another install's label is foreign (reported once, left alone).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from popvim.engine.driver import EngineContainer
from popvim.engine.errors import EngineError, EngineNotFound
from popvim.store.models import ContainerRow
from popvim.vim.containers import placement
from popvim.vim.containers.attachments import reattach
from popvim.vim.containers.links import reshape
from popvim.vim.containers.parts import Parts
from popvim.vim.containers.restarter import rebooted, run_again
from popvim.vim.containers.state import (
    REBOOTING,
    REBOOTING_HARD,
    RESTARTING,
    STOPPED_KEEPING,
    keeps_addresses,
    settle_dead,
    state_of,
    transition,
)
from popvim.vim.containers.stopper import Stopper
from popvim.vim.errors import NotFound, VimError
from popvim.vim.labels import LABEL_ID, LABEL_INSTALL
from popvim.vim.states import ContainerState

log = logging.getLogger("popvim.vim.containers")
S = ContainerState


class Reconciler:
    def __init__(self, parts: Parts, stopper: Stopper) -> None:
        self._parts = parts
        self._stopper = stopper
        self._reported: set[str] = set()  # engine ids of foreign containers already reported

    def reconcile(self) -> None:
        parts = self._parts
        try:
            engine_containers = parts.engine.containers(parts.pop_labels)
        except EngineError as exc:
            log.warning("container reconciliation skipped: engine unavailable: %s", exc.message)
            return
        with parts.store.session() as session:
            ids = session.scalars(select(ContainerRow.id)).all()
        by_pop_id, foreign = self._ours(engine_containers, set(ids))
        for container_id in ids:
            try:
                self._one(container_id, by_pop_id.pop(container_id, None))
            except NotFound:
                continue
            except Exception:
                log.exception("reconciling container %s failed", container_id)
        if not ids:  # a fresh or emptied database knows nothing: it cannot call anything an orphan
            foreign += by_pop_id.values()
            by_pop_id = {}
        for orphan in by_pop_id.values():
            self._remove_orphan(orphan)
        for other in foreign:
            self._report_foreign(other)

    def _remove_orphan(self, orphan: EngineContainer) -> None:
        try:
            self._parts.engine.remove_container(orphan.id, force=True)
            log.warning("removed orphan engine container %s (%s): no record of it", orphan.name, orphan.id[:12])
            self._parts.bus.publish("container.orphan_removed", orphan.id, name=orphan.name)
        except EngineNotFound:
            pass  # its record was deleted (and it removed) while we looked
        except EngineError as exc:
            log.error("cannot remove orphan engine container %s: %s", orphan.name, exc.message)

    def _report_foreign(self, other: EngineContainer) -> None:
        if other.id in self._reported:
            return
        self._reported.add(other.id)
        owner = other.labels.get(LABEL_INSTALL) or "none"
        log.warning(
            "engine container %s (%s) has this PoP's name but is not this install's (install %s): left alone",
            other.name,
            other.id[:12],
            owner,
        )
        self._parts.bus.publish("container.foreign", other.id, name=other.name, install=owner)

    def _ours(
        self, listed: list[EngineContainer], ids: set[str]
    ) -> tuple[dict[str, EngineContainer], list[EngineContainer]]:
        """Engine containers labelled with our PoP name, split into this install's (by
        Pop id) and the others'. One without an install label is ours only if it carries
        the id of one of our records: made by this install before the label existed."""
        mine: dict[str, EngineContainer] = {}
        foreign: list[EngineContainer] = []
        for container in listed:
            owner, pop_id = container.labels.get(LABEL_INSTALL), container.labels.get(LABEL_ID, "")
            if owner == self._parts.settings.install_id or (owner is None and pop_id in ids):
                mine[pop_id] = container
            else:
                foreign.append(container)
        return mine, foreign

    def _one(self, container_id: str, listed: EngineContainer | None) -> None:
        parts, bus = self._parts, self._parts.bus
        restop: str | None = None
        with parts.locks.locked_row(container_id) as (session, row):
            # Read the engine again under the lock: the listing may predate a Start or Stop.
            engine_id = row.engine_id or (listed.id if listed is not None else None)
            try:
                found = parts.engine.container(engine_id) if engine_id else None
            except EngineNotFound:
                found = None
            state = state_of(row)
            if found is not None and row.engine_id != found.id:
                row.engine_id = found.id
            if state is S.CREATED and found is not None:
                if found.status == "created":  # the start never ran: undo it
                    parts.engine.remove_container(found.id, force=True)
                    row.engine_id = None
                else:  # it started, but we died before recording it
                    transition(row, S.RUNNING, "the container is running (recovered)", bus)
                    if not (found.running or found.restarting):
                        settle_dead(row, found.exit_code, found.oom_killed, bus, found.error)
                    else:
                        placement.follow(parts, row, found)
            elif state is S.RUNNING:
                rebooting = row.extended_status in (REBOOTING, REBOOTING_HARD)
                if found is None:
                    transition(row, S.FAILED, "the engine container disappeared", bus)
                elif not (found.running or found.restarting):
                    if not (rebooting and self._finish_reboot(row, found.id)):
                        settle_dead(row, found.exit_code, found.oom_killed, bus, found.error)
                else:
                    reattach(parts, row, found)
                    placement.follow(parts, row, found)
                    reshape(parts, row)  # after a popvimd restart: its links are shaped again
                    if rebooting:  # we died with the reboot done, or before it stopped anything
                        row.extended_status = "the container is running (recovered during a reboot)"
            elif state is S.STOPPING:
                if found is not None and found.running:
                    restop = row.engine_id
                else:
                    keep = found is not None and keeps_addresses(row)
                    status = STOPPED_KEEPING if keep else "stopped"
                    transition(row, S.EXITED, status, bus, found.exit_code if found else None, keep_addresses=keep)
            elif state.terminal and row.extended_status == RESTARTING:
                self._finish_restart(session, row, found)
            elif state.terminal:
                if not keeps_addresses(row):
                    for endpoint in row.endpoints:
                        endpoint.active = False
                if found is not None and (found.running or found.restarting):
                    # e.g. started again by its restart policy when the engine restarted
                    self._stopper.stop_engine_container(found.id)
        if restop:
            self._stopper.finish_later(container_id, restop)

    def _finish_reboot(self, row: ContainerRow, engine_id: str) -> bool:
        """popvimd died between the stop and the start of a reboot: the start is done now."""
        hard = row.extended_status == REBOOTING_HARD
        try:
            self._parts.engine.start_container(engine_id)
        except EngineError as exc:
            log.error("cannot finish the reboot of %s: %s", row.name, exc.message)
            return False
        reshape(self._parts, row)
        rebooted(self._parts, row, engine_id, hard, "rebooted; finished at reconciliation")
        log.warning("finished the reboot of %s", row.name)
        return True

    def _finish_restart(self, session: Session, row: ContainerRow, found: EngineContainer | None) -> None:
        """popvimd died during a restart (its addresses were taken again): it is finished now."""
        if found is None:
            row.extended_status = "restart failed: the engine container disappeared"
            for endpoint in row.endpoints:
                endpoint.active = False
            return
        try:
            run_again(self._parts, session, row, found.id, kept=False)
            log.warning("finished the restart of %s", row.name)
        except VimError as exc:
            log.error("cannot finish the restart of %s: %s", row.name, exc.message)
