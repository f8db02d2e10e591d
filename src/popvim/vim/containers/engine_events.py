"""What the engine tells us about a container on its own: it died (its event stream's ``die``)."""

from __future__ import annotations

from popvim.engine.errors import EngineError
from popvim.vim.containers.parts import Parts
from popvim.vim.containers.state import settle_dead
from popvim.vim.errors import NotFound
from popvim.vim.states import ContainerState


def on_engine_exit(parts: Parts, container_id: str, exit_code: int | None, oom: bool = False) -> None:
    """RUNNING becomes EXITED (code 0) or FAILED; any other state is someone else's to settle."""
    try:
        with parts.locks.locked_row(container_id) as (_session, row):
            if row.state != ContainerState.RUNNING.value:
                return  # a Stop (or an earlier event) is taking care of it
            if row.engine_id:
                try:
                    current = parts.engine.container(row.engine_id)
                    # A cluster's manager may still show the task running when its node reports the
                    # exit (and a cluster PoP has no reboot): there, only the restart policy counts.
                    rebooted = current.running and not parts.engine.places_containers
                    if rebooted or (row.restart_policy not in (None, "no") and current.restarting):
                        # Running again (a reboot, or the engine's restart policy): the death is
                        # over, and it is still RUNNING for us.
                        return
                    oom = oom or current.oom_killed
                except EngineError:
                    pass  # the engine forgot it or is away: settle from the event alone
            settle_dead(row, exit_code, oom, parts.bus)
    except NotFound:
        return
