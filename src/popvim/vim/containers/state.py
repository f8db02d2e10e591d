"""The container state machine: which transitions exist, and the refusals of the others.

Seed 001's lifecycle traverses each state at most once (CREATED, then RUNNING, then
STOPPING, then EXITED or FAILED): ``TRANSITIONS``, all the Pop protocol ever does.
``RESTARTS`` is the one way back, apart so the Pop lifecycle stays acyclic: a terminated
container that still has its engine container runs again (``restarter``: the OpenStack
face's ``os-start`` and a hard ``reboot``, REST's restart). A refusal carries the state
it refused in, so a face can pick its status from the error alone.

A few ``extended_status`` texts are markers that outlive a crash of popvimd, so that
reconciliation can finish what they began (see ``restarter``).
"""

from __future__ import annotations

from popvim.clock import utcnow
from popvim.store.models import ContainerRow
from popvim.vim.errors import AlreadyRunning, AlreadyStopped, InvalidState, NotRunning
from popvim.vim.events import EventBus
from popvim.vim.states import ContainerState

S = ContainerState

# CREATED -> RUNNING also when reconciliation finds that a start ran but was not recorded;
# CREATED -> FAILED when the engine refuses the start; RUNNING -> EXITED/FAILED when it dies.
TRANSITIONS: dict[ContainerState, frozenset[ContainerState]] = {
    S.CREATED: frozenset({S.RUNNING, S.FAILED}),
    S.RUNNING: frozenset({S.STOPPING, S.EXITED, S.FAILED}),
    S.STOPPING: frozenset({S.EXITED, S.FAILED}),
    S.EXITED: frozenset(),
    S.FAILED: frozenset(),
    S.UNAVAILABLE: frozenset(),
}

# Run again: a terminated container started anew on its engine container (never by the Pop protocol).
RESTARTS: dict[ContainerState, frozenset[ContainerState]] = {
    S.EXITED: frozenset({S.RUNNING}),
    S.FAILED: frozenset({S.RUNNING}),
}

# Markers in extended_status (written before the engine is asked, so they survive a kill -9).
STOPPING_KEEPING = "stopping (its addresses are kept for a restart)"
STOPPED_KEEPING = "stopped (its addresses are kept for a restart)"
RESTARTING = "restarting"
REBOOTING = "rebooting"
REBOOTING_HARD = "rebooting (hard)"


def keeps_addresses(row: ContainerRow) -> bool:
    """A terminated container stopped to run again later holds its addresses meanwhile."""
    status = row.extended_status or ""
    return status.startswith((STOPPING_KEEPING, STOPPED_KEEPING))


class IllegalTransition(RuntimeError):
    """A bug: the code asked for a transition the lifecycle does not have."""


def state_of(row: ContainerRow) -> ContainerState:
    return ContainerState(row.state)


def transition(
    row: ContainerRow,
    target: ContainerState,
    status: str,
    bus: EventBus,
    exit_code: int | None = None,
    *,
    again: bool = False,
    keep_addresses: bool = False,
) -> None:
    """Moves ``row`` to ``target`` (caller holds its lock), stamps it, and publishes the change.

    ``again``: the way back of ``RESTARTS`` instead of the lifecycle. A terminated
    container gives its addresses back to their networks, unless ``keep_addresses``
    (it was stopped to run again; the caller's status is then ``STOPPED_KEEPING``).
    """
    previous = state_of(row)
    allowed = RESTARTS.get(previous, frozenset()) if again else TRANSITIONS[previous]
    if target not in allowed:
        raise IllegalTransition(f"container {row.name!r}: no transition from {previous} to {target}")
    row.state = target.value
    row.extended_status = status
    if target is S.RUNNING:
        row.started_at = utcnow()
        row.finished_at, row.exit_code = None, None
    if target.terminal:
        row.finished_at = utcnow()
        row.exit_code = exit_code
        if not keep_addresses:
            for endpoint in row.endpoints:
                endpoint.active = False
    bus.publish("container.state", row.id, name=row.name, previous=previous.value, state=target.value, status=status)


def settle_dead(row: ContainerRow, exit_code: int | None, oom: bool, bus: EventBus, error: str = "") -> None:
    """The engine container ended on its own: EXITED with code 0, FAILED otherwise (or out of memory)."""
    target = S.EXITED if exit_code == 0 and not oom else S.FAILED
    reason = "out of memory" if oom else error
    status = f"exited with code {exit_code}" + (f" ({reason})" if reason else "")
    transition(row, target, status, bus, exit_code)


# --- refusals ------------------------------------------------------------------------
def check_startable(row: ContainerRow) -> None:
    state = state_of(row)
    if state is not S.CREATED:
        raise AlreadyRunning(f"container {row.name!r} was started already (state {state})", state)


def check_stoppable(row: ContainerRow) -> None:
    state = state_of(row)
    if state is S.CREATED:
        raise NotRunning(f"container {row.name!r} has not been started", state)
    if state is not S.RUNNING:
        raise AlreadyStopped(f"container {row.name!r} is {state}, not running", state)


def check_restartable(row: ContainerRow) -> str:
    """The engine id of a terminated container that can run again."""
    state = state_of(row)
    if state is S.CREATED:
        raise NotRunning(f"container {row.name!r} has not been started: start it", state)
    if state is S.RUNNING and row.extended_status in (REBOOTING, REBOOTING_HARD):
        raise InvalidState(f"container {row.name!r} is being rebooted", state)
    if state not in RESTARTS:
        raise AlreadyRunning(f"container {row.name!r} is {state}: only EXITED or FAILED ones start again", state)
    if not row.engine_id:
        raise InvalidState(f"container {row.name!r} has no engine container left to start again", state)
    return row.engine_id


def check_editable(row: ContainerRow) -> None:
    """Metadata becomes the environment at start, so it changes only before."""
    state = state_of(row)
    if state is not S.CREATED:
        raise InvalidState(f"metadata of {row.name!r} cannot change after start (state {state})", state)


def check_connectable(row: ContainerRow) -> None:
    state = state_of(row)
    if state not in (S.CREATED, S.RUNNING):
        raise InvalidState(f"container {row.name!r} is {state}: only CREATED or RUNNING ones connect", state)


def check_running(row: ContainerRow) -> str:
    """The engine id of a running container."""
    state = state_of(row)
    if state is not S.RUNNING or not row.engine_id:
        raise NotRunning(f"container {row.name!r} is {state}, not running", state)
    return row.engine_id


def check_started(row: ContainerRow, what: str) -> str:
    """The engine id of a container that was started once (it may have ended since)."""
    if not row.engine_id:
        raise InvalidState(f"container {row.name!r} has not been started: {what}", state_of(row))
    return row.engine_id
