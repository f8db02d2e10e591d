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
from popvim.vim.containers.state import TRANSITIONS, IllegalTransition, transition
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
