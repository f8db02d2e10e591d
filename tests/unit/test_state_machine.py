"""The container state machine over the fake engine: every transition, and refusals carrying their state."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.vim_parts import Lab, lab

from popvim.engine.errors import EngineError, EngineUnavailable
from popvim.store.models import ContainerRow
from popvim.vim import errors as e
from popvim.vim.containers.state import (
    REBOOTING_HARD,
    RESTARTING,
    RESTARTS,
    TRANSITIONS,
    IllegalTransition,
    transition,
)
from popvim.vim.events import EventBus
from popvim.vim.models import Container, ContainerConfig
from popvim.vim.states import ContainerState

S = ContainerState


@pytest.fixture
def vim(tmp_path: Path) -> Iterator[Lab]:
    with lab(tmp_path) as made:
        yield made


def _row(state: ContainerState) -> ContainerRow:
    return ContainerRow(id="c1", name="c1", state=state.value, extended_status="", endpoints=[])


@pytest.mark.parametrize(("source", "target"), list(itertools.product(S, S)))
def test_every_pair_of_states_is_a_transition_or_refused(source: ContainerState, target: ContainerState) -> None:
    row, bus = _row(source), EventBus()
    events = bus.subscribe()
    if target in TRANSITIONS[source]:
        transition(row, target, "why", bus, exit_code=0)
        assert row.state == target.value and row.extended_status == "why"
        assert (row.finished_at is not None) == target.terminal and (row.started_at is not None) == (
            target is S.RUNNING
        )
        published = events.get_nowait()
        assert published.data["previous"] == source.value and published.data["state"] == target.value
    else:
        with pytest.raises(IllegalTransition):
            transition(row, target, "why", bus)
        assert row.state == source.value and events.empty()


def test_each_state_is_traversed_once() -> None:
    """No path leads back: the lifecycle has no cycle, and terminal states lead nowhere."""
    for state in S:
        reachable, frontier = set(), set(TRANSITIONS[state])
        while frontier:
            reachable |= frontier
            frontier = {t for s in frontier for t in TRANSITIONS[s]} - reachable
        assert state not in reachable
        assert not TRANSITIONS[state] or not state.terminal


def _created(vim: Lab, **fields: object) -> str:
    created: Container = vim.containers.create(ContainerConfig.model_validate({"image": "busybox:latest", **fields}))
    return created.id


def test_a_container_lives_created_running_exited_and_its_addresses_go_back(vim: Lab) -> None:
    cid = _created(vim, metadata={"ROLE": "edge"})
    created = vim.containers.get(cid)
    assert created.state is S.CREATED and created.engine_id is None and not vim.engine.containers_by_id
    running = vim.containers.start(cid)
    engine = vim.engine.containers_by_id[running.engine_id or ""]
    assert running.state is S.RUNNING and engine.running and engine.env["ROLE"] == "edge"
    assert engine.name == "u-" + created.name and engine.networks == {"u-private": created.endpoints["private"].address}
    stopped = vim.containers.stop(cid, wait=True)
    assert stopped.state is S.EXITED and stopped.finished_at is not None
    assert not any(ep.active for ep in stopped.endpoints.values())
    vim.containers.delete(cid)
    assert not vim.engine.containers_by_id
    with pytest.raises(e.NotFound):
        vim.containers.get(cid)


def test_a_refused_start_is_failed_and_says_why(vim: Lab) -> None:
    cid = _created(vim)
    vim.engine.fail_next("start_container", EngineError("no space left on device", 500))
    with pytest.raises(e.EngineFailure, match="no space left"):
        vim.containers.start(cid)
    failed = vim.containers.get(cid)
    assert failed.state is S.FAILED and "no space left" in failed.extended_status


def test_a_refused_stop_is_failed_or_stopping_and_an_unanswered_one_stays_stopping(vim: Lab) -> None:
    refused, still_runs, unanswered = _created(vim), _created(vim), _created(vim)
    for cid in (refused, still_runs, unanswered):
        vim.containers.start(cid)
    vim.engine.exit(vim.containers.get(refused).engine_id or "", 1)  # it ended, but the stop call failed
    vim.engine.fail_next("stop_container", EngineError("cannot kill", 500))
    failed = vim.containers.stop(refused, wait=True)
    assert failed.state is S.FAILED and "cannot kill" in failed.extended_status
    vim.engine.fail_next("stop_container", EngineError("cannot kill", 500))
    running = vim.containers.stop(still_runs, wait=True)  # its addresses are in use: it stays STOPPING
    assert running.state is S.STOPPING and "still runs" in running.extended_status
    vim.engine.fail_next("stop_container", EngineUnavailable("connection refused"))
    pending = vim.containers.stop(unanswered, wait=True)
    assert pending.state is S.STOPPING and "unreachable" in pending.extended_status
    assert pending.endpoints["private"].active  # whether it still runs is unknown: its address is held


@pytest.mark.parametrize(("code", "oom", "state"), [(0, False, S.EXITED), (3, False, S.FAILED), (137, True, S.FAILED)])
def test_a_death_the_engine_reports_settles_a_running_container(
    vim: Lab, code: int, oom: bool, state: ContainerState
) -> None:
    cid = _created(vim)
    engine_id = vim.containers.start(cid).engine_id or ""
    vim.engine.exit(engine_id, code, oom=oom)
    vim.containers.on_engine_exit(cid, code)
    settled = vim.containers.get(cid)
    assert settled.state is state and settled.exit_code == code
    assert ("out of memory" in settled.extended_status) == oom
    vim.containers.on_engine_exit(cid, code)  # a repeated event changes nothing
    assert vim.containers.get(cid).state is state


def _in_state(vim: Lab, state: ContainerState) -> str:
    cid = _created(vim)
    if state is S.CREATED:
        return cid
    if state is S.FAILED:
        vim.engine.fail_next("start_container", EngineError("refused", 500))
        with pytest.raises(e.EngineFailure):
            vim.containers.start(cid)
        return cid
    vim.containers.start(cid)
    if state is S.STOPPING:
        vim.engine.fail_next("stop_container", EngineUnavailable("connection refused"))
        vim.containers.stop(cid, wait=True)
    elif state is S.EXITED:
        vim.containers.stop(cid, wait=True)
    assert vim.containers.get(cid).state is state
    return cid


@pytest.mark.parametrize("state", [S.RUNNING, S.STOPPING, S.EXITED, S.FAILED])
def test_start_after_start_is_refused_with_the_state(vim: Lab, state: ContainerState) -> None:
    cid = _in_state(vim, state)
    with pytest.raises(e.AlreadyRunning) as refused:
        vim.containers.start(cid)
    assert refused.value.state is state
    grpc = e.answer_of(refused.value).grpc_for(refused.value)
    assert grpc == ("FAILED_PRECONDITION" if state in (S.FAILED, S.STOPPING) else "ALREADY_EXISTS")
    assert e.answer_of(refused.value).http == 409


@pytest.mark.parametrize(
    ("state", "error", "grpc"),
    [
        (S.CREATED, e.NotRunning, "FAILED_PRECONDITION"),  # the Pop face answers Stop of it UNAVAILABLE itself
        (S.STOPPING, e.AlreadyStopped, "FAILED_PRECONDITION"),
        (S.EXITED, e.AlreadyStopped, "UNAVAILABLE"),
        (S.FAILED, e.AlreadyStopped, "UNAVAILABLE"),
    ],
)
def test_stop_of_a_container_not_running_is_refused_with_the_state(
    vim: Lab, state: ContainerState, error: type[e.InvalidState], grpc: str
) -> None:
    cid = _in_state(vim, state)
    with pytest.raises(error) as refused:
        vim.containers.stop(cid)
    assert refused.value.state is state and e.answer_of(refused.value).grpc_for(refused.value) == grpc


@pytest.mark.parametrize("state", [S.RUNNING, S.EXITED])
def test_metadata_is_editable_only_before_start(vim: Lab, state: ContainerState) -> None:
    fresh = _created(vim)
    assert vim.containers.update_metadata(fresh, {"A": "1"}) == {"A": "1"}
    assert vim.containers.update_metadata(fresh, {"A": ""}) == {}
    cid = _in_state(vim, state)
    with pytest.raises(e.InvalidState) as refused:
        vim.containers.update_metadata(cid, {"A": "1"})
    assert refused.value.state is state


@pytest.mark.parametrize("state", [S.STOPPING, S.EXITED, S.FAILED])
def test_only_created_or_running_containers_connect(vim: Lab, state: ContainerState) -> None:
    from popvim.vim.models import NetworkConfig

    vim.networks.create(NetworkConfig.model_validate({"name": "lan", "subnet": "10.77.0.0/24"}))
    running = _in_state(vim, S.RUNNING)
    joined = vim.containers.connect(running, "lan")
    engine = vim.engine.containers_by_id[joined.engine_id or ""]
    assert engine.networks["u-lan"] == joined.endpoints["lan"].address
    assert "lan" not in vim.containers.disconnect(running, "lan").endpoints and "u-lan" not in engine.networks
    cid = _in_state(vim, state)
    with pytest.raises(e.InvalidState) as refused:
        vim.containers.connect(cid, "lan")
    assert refused.value.state is state


def test_operations_needing_a_running_container_say_its_state(vim: Lab) -> None:
    cid = _created(vim)
    calls: list[Callable[[], object]] = [lambda: vim.containers.stats(cid), lambda: vim.containers.exec(cid, ["true"])]
    for call in calls:
        with pytest.raises(e.NotRunning) as refused:
            call()
        assert refused.value.state is S.CREATED
    vim.containers.start(cid)
    assert vim.containers.exec(cid, ["echo", "hi"]).stdout == "hi\n"
    assert vim.containers.stats(cid).read is not None


# --- running again (issue 11: os-start of a SHUTOFF server, reboot) -----------------------------
def test_restarts_lead_only_from_a_terminal_state_back_to_running() -> None:
    assert set(RESTARTS) == {s for s in S if s.terminal}
    assert all(targets == {S.RUNNING} for targets in RESTARTS.values())
    row, bus = _row(S.EXITED), EventBus()
    row.exit_code = 0
    transition(row, S.RUNNING, "again", bus, again=True)
    assert row.state == S.RUNNING.value and row.finished_at is None and row.exit_code is None
    with pytest.raises(IllegalTransition):
        transition(_row(S.CREATED), S.RUNNING, "again", bus, again=True)  # a first start is no restart


def test_a_stopped_container_runs_again_on_its_engine_container_with_the_same_address(vim: Lab) -> None:
    cid = _created(vim)
    first = vim.containers.start(cid)
    address = first.endpoints["private"].address
    stopped = vim.containers.stop(cid, wait=True)
    assert stopped.state is S.EXITED and not stopped.endpoints["private"].active  # Pop's Stop gives it back
    with pytest.raises(e.AlreadyRunning):
        vim.containers.start(cid)  # the Pop protocol's Start still refuses (seed 001)
    again = vim.containers.restart(cid)
    assert again.state is S.RUNNING and again.engine_id == first.engine_id and again.exit_code is None
    assert again.endpoints["private"].active and again.endpoints["private"].address == address
    assert vim.engine.containers_by_id[again.engine_id or ""].running
    assert "started again" in again.extended_status and again.finished_at is None


def test_a_stop_keeping_addresses_holds_them_while_exited(vim: Lab) -> None:
    cid = _created(vim)
    address = vim.containers.start(cid).endpoints["private"].address
    stopped = vim.containers.stop(cid, wait=True, keep_addresses=True)
    assert stopped.state is S.EXITED and stopped.endpoints["private"].active
    other = vim.containers.create(ContainerConfig.model_validate({"image": "busybox:latest"}))
    assert other.endpoints["private"].address != address  # nobody else gets it meanwhile
    again = vim.containers.restart(cid)
    assert again.state is S.RUNNING and again.endpoints["private"].address == address


def test_a_restart_is_refused_when_another_container_took_the_address(vim: Lab) -> None:
    cid = _created(vim)
    address = vim.containers.start(cid).endpoints["private"].address
    vim.containers.stop(cid, wait=True)
    taker = vim.containers.create(ContainerConfig.model_validate({"image": "busybox:latest"}))
    assert taker.endpoints["private"].address == address
    with pytest.raises(e.AlreadyExists, match=address):
        vim.containers.restart(cid)
    refused = vim.containers.get(cid)
    assert refused.state is S.EXITED and not refused.endpoints["private"].active
    assert not vim.engine.containers_by_id[refused.engine_id or ""].running


def test_a_failed_container_runs_again_and_an_engine_refusal_leaves_it_terminated(vim: Lab) -> None:
    cid = _created(vim)
    engine_id = vim.containers.start(cid).engine_id or ""
    vim.engine.exit(engine_id, 3)
    vim.containers.on_engine_exit(cid, 3)
    assert vim.containers.get(cid).state is S.FAILED
    vim.engine.fail_next("start_container", EngineError("no space left on device", 500))
    with pytest.raises(e.EngineFailure, match="no space left"):
        vim.containers.restart(cid)
    refused = vim.containers.get(cid)
    assert refused.state is S.FAILED and "no space left" in refused.extended_status
    assert not refused.endpoints["private"].active
    assert vim.containers.restart(cid).state is S.RUNNING


@pytest.mark.parametrize("state", [S.CREATED, S.RUNNING, S.STOPPING])
def test_a_restart_of_a_container_not_terminated_is_refused_with_the_state(vim: Lab, state: ContainerState) -> None:
    cid = _in_state(vim, state)
    with pytest.raises(e.InvalidState) as refused:
        vim.containers.restart(cid)
    assert refused.value.state is state


@pytest.mark.parametrize("hard", [False, True])
def test_a_reboot_ends_running_on_the_same_engine_container_and_its_death_event_changes_nothing(
    vim: Lab, hard: bool
) -> None:
    cid = _created(vim)
    first = vim.containers.start(cid)
    rebooted = vim.containers.reboot(cid, hard=hard)
    assert rebooted.state is S.RUNNING and rebooted.engine_id == first.engine_id
    assert rebooted.endpoints["private"].address == first.endpoints["private"].address
    assert {"stop_container", "start_container"} <= set(vim.engine.calls[-4:])
    vim.containers.on_engine_exit(cid, 137)  # the engine's "die" of the reboot's stop, handled late
    assert vim.containers.get(cid).state is S.RUNNING
    assert vim.engine.containers_by_id[first.engine_id or ""].running
    with pytest.raises(e.NotRunning):
        vim.containers.reboot(vim.containers.stop(cid, wait=True).id)


def test_link_limits_are_applied_again_after_a_restart_and_a_reboot(vim: Lab) -> None:
    from popvim.vim.models import NetworkConfig

    vim.networks.create(NetworkConfig.model_validate({"name": "slow", "subnet": "10.79.0.0/24", "bandwidth": "1mbit"}))
    cid = _created(vim, endpoints={"slow": None})
    engine_id = vim.containers.start(cid).engine_id or ""
    assert (engine_id, "u-slow") in vim.engine.shaped
    vim.containers.stop(cid, wait=True)
    vim.engine.shaped.clear()  # the engine gives a started container new interfaces, unshaped
    vim.containers.restart(cid)
    assert (engine_id, "u-slow") in vim.engine.shaped
    vim.engine.shaped.clear()
    vim.containers.reboot(cid)
    assert (engine_id, "u-slow") in vim.engine.shaped


def test_a_cluster_engine_refuses_to_run_a_container_again_with_a_clear_answer(vim: Lab) -> None:
    cid = _created(vim)
    vim.containers.start(cid)
    vim.engine.places_containers = True  # a Swarm PoP
    with pytest.raises(e.Unsupported) as refused:
        vim.containers.reboot(cid)
    answer = e.answer_of(refused.value)
    assert (answer.http, answer.grpc) == (409, "UNIMPLEMENTED")


def _mark(vim: Lab, cid: str, status: str) -> None:
    with vim.store.session() as session:
        row = session.get(ContainerRow, cid)
        assert row is not None
        row.extended_status = status


def test_a_reboot_cut_short_by_popvimd_dying_is_finished_at_reconciliation(vim: Lab) -> None:
    cid = _created(vim)
    engine_id = vim.containers.start(cid).engine_id or ""
    _mark(vim, cid, REBOOTING_HARD)  # written before the engine is asked; then popvimd died
    vim.engine.exit(engine_id, 137)  # ... after the stop, before the start
    vim.restarted().reconcile()
    finished = vim.containers.get(cid)
    assert finished.state is S.RUNNING and finished.endpoints["private"].active
    assert vim.engine.containers_by_id[engine_id].running and "reconciliation" in finished.extended_status


def test_a_restart_cut_short_by_popvimd_dying_is_finished_at_reconciliation(vim: Lab) -> None:
    cid = _created(vim)
    engine_id = vim.containers.start(cid).engine_id or ""
    vim.containers.stop(cid, wait=True, keep_addresses=True)
    _mark(vim, cid, RESTARTING)  # its addresses were taken again, the engine not yet asked
    vim.restarted().reconcile()
    finished = vim.containers.get(cid)
    assert finished.state is S.RUNNING and finished.endpoints["private"].active
    assert vim.engine.containers_by_id[engine_id].running


def test_a_stop_keeping_addresses_cut_short_keeps_them_at_reconciliation(vim: Lab) -> None:
    cid = _created(vim)
    engine_id = vim.containers.start(cid).engine_id or ""
    vim.engine.fail_next("stop_container", EngineUnavailable("connection refused"))
    pending = vim.containers.stop(cid, wait=True, keep_addresses=True)
    assert pending.state is S.STOPPING and pending.endpoints["private"].active
    vim.engine.exit(engine_id, 143)
    vim.restarted().reconcile()
    settled = vim.containers.get(cid)
    assert settled.state is S.EXITED and settled.endpoints["private"].active
    vim.restarted().reconcile()  # and again: a held address stays held
    assert vim.containers.get(cid).endpoints["private"].active
    assert vim.containers.restart(cid).state is S.RUNNING
