"""Reconciliation over the fake engine: records and engine containers brought back into agreement."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fake_engine import FakeEngine
from support.vim_parts import INSTALL, Lab, lab

from popvim.engine.driver import ContainerSpec
from popvim.engine.errors import EngineUnavailable
from popvim.vim.labels import LABEL_ID, LABEL_INSTALL, LABEL_POP
from popvim.vim.models import ContainerConfig, NetworkConfig
from popvim.vim.states import ContainerState

S = ContainerState
OTHER_INSTALL = "22222222-2222-2222-2222-222222222222"


class Crash(BaseException):
    """popvimd dies here (not an error anything handles)."""


@pytest.fixture
def vim(tmp_path: Path) -> Iterator[Lab]:
    with lab(tmp_path) as made:
        yield made


def _running(vim: Lab) -> tuple[str, str]:
    container = vim.containers.start(
        vim.containers.create(ContainerConfig.model_validate({"image": "busybox:latest"})).id
    )
    return container.id, container.engine_id or ""


def _stray(engine: FakeEngine, name: str, labels: dict[str, str]) -> str:
    made = engine.create_container(ContainerSpec(name=name, image="busybox:latest", labels=labels))
    engine.start_container(made)
    return made


def test_a_container_the_engine_lost_is_failed(vim: Lab) -> None:
    cid, engine_id = _running(vim)
    vim.engine.lose(engine_id)
    vim.restarted().reconcile()
    lost = vim.containers.get(cid)
    assert lost.state is S.FAILED and "disappeared" in lost.extended_status
    assert not lost.endpoints["private"].active


@pytest.mark.parametrize(("code", "state"), [(0, S.EXITED), (2, S.FAILED)])
def test_a_death_while_popvimd_was_away_is_settled(vim: Lab, code: int, state: ContainerState) -> None:
    cid, engine_id = _running(vim)
    vim.engine.exit(engine_id, code)  # nobody follows the events: the restart finds it
    vim.restarted().reconcile()
    assert vim.containers.get(cid).state is state and vim.containers.get(cid).exit_code == code


def test_an_orphan_with_our_install_label_is_removed_and_anothers_is_left(vim: Lab) -> None:
    _running(vim)  # a database that knows something: it can call an engine container an orphan
    events = vim.bus.subscribe()
    ours = _stray(vim.engine, "u-gone", {LABEL_POP: "unit", LABEL_INSTALL: INSTALL, LABEL_ID: "no-such-record"})
    theirs = _stray(vim.engine, "u-theirs", {LABEL_POP: "unit", LABEL_INSTALL: OTHER_INSTALL, LABEL_ID: "x"})
    unlabelled = _stray(vim.engine, "u-legacy", {LABEL_POP: "unit", LABEL_ID: "unknown"})
    vim.containers.reconcile()
    assert ours not in vim.engine.containers_by_id
    assert {theirs, unlabelled} <= set(vim.engine.containers_by_id)
    kinds = [events.get_nowait() for _ in range(events.qsize())]
    assert [k.subject for k in kinds if k.kind == "container.orphan_removed"] == [ours]
    assert {k.subject for k in kinds if k.kind == "container.foreign"} == {theirs, unlabelled}
    vim.containers.reconcile()  # a foreign container is reported once
    assert not [ev for ev in (events.get_nowait() for _ in range(events.qsize())) if ev.kind == "container.foreign"]


def test_an_empty_database_calls_nothing_an_orphan(vim: Lab) -> None:
    ours = _stray(vim.engine, "u-old", {LABEL_POP: "unit", LABEL_INSTALL: INSTALL, LABEL_ID: "from-a-lost-db"})
    vim.containers.reconcile()
    assert ours in vim.engine.containers_by_id


def test_a_restart_between_engine_create_and_start_undoes_the_start(vim: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    cid = vim.containers.create(ContainerConfig.model_validate({"image": "busybox:latest"})).id

    def crash(container_id: str, placed: object = None) -> None:
        raise Crash

    monkeypatch.setattr(vim.engine, "start_container", crash)
    with pytest.raises(Crash):
        vim.containers.start(cid)
    assert vim.containers.get(cid).engine_id in vim.engine.containers_by_id  # recorded before the crash
    monkeypatch.undo()
    vim.restarted().reconcile()
    undone = vim.containers.get(cid)
    assert undone.state is S.CREATED and undone.engine_id is None and not vim.engine.containers_by_id
    assert vim.containers.start(cid).state is S.RUNNING  # and it can be started again


def test_a_restart_after_the_engine_started_it_records_it_running(vim: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    cid = vim.containers.create(ContainerConfig.model_validate({"image": "busybox:latest"})).id
    real_start = vim.engine.start_container

    def start_then_crash(container_id: str, placed: object = None) -> None:
        real_start(container_id)
        raise Crash

    monkeypatch.setattr(vim.engine, "start_container", start_then_crash)
    with pytest.raises(Crash):
        vim.containers.start(cid)
    monkeypatch.undo()
    assert vim.containers.get(cid).state is S.CREATED
    vim.restarted().reconcile()
    recovered = vim.containers.get(cid)
    assert recovered.state is S.RUNNING and "recovered" in recovered.extended_status


def test_a_stop_cut_short_is_finished_after_the_restart(vim: Lab) -> None:
    cid, engine_id = _running(vim)
    vim.engine.fail_next("stop_container", EngineUnavailable("connection refused"))
    assert vim.containers.stop(cid, wait=True).state is S.STOPPING
    assert vim.engine.containers_by_id[engine_id].running
    vim.restarted().reconcile()
    assert vim.containers.wait(cid, timeout=10).state is S.EXITED
    assert not vim.engine.containers_by_id[engine_id].running


def test_a_stopping_container_the_engine_has_lost_is_exited(vim: Lab) -> None:
    cid, engine_id = _running(vim)
    vim.engine.fail_next("stop_container", EngineUnavailable("connection refused"))
    vim.containers.stop(cid, wait=True)
    vim.engine.lose(engine_id)
    vim.restarted().reconcile()
    assert vim.containers.get(cid).state is S.EXITED


def test_a_terminated_container_the_engine_restarted_is_stopped_again(vim: Lab) -> None:
    cid, engine_id = _running(vim)
    vim.containers.stop(cid, wait=True)
    vim.engine.start_container(engine_id)  # e.g. its restart policy, when the engine restarted
    vim.restarted().reconcile()
    vim.containers.close()  # waits for the background stop
    assert not vim.engine.containers_by_id[engine_id].running
    assert vim.containers.get(cid).state is S.EXITED


def test_a_connect_cut_short_is_reattached(vim: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    vim.networks.create(NetworkConfig.model_validate({"name": "lan", "subnet": "10.78.0.0/24"}))
    cid, engine_id = _running(vim)

    def crash(network_id: str, container_id: str, ipv4: str | None) -> None:
        raise Crash

    monkeypatch.setattr(vim.engine, "connect", crash)
    with pytest.raises(Crash):
        vim.containers.connect(cid, "lan")
    monkeypatch.undo()
    address = vim.containers.get(cid).endpoints["lan"].address
    assert "u-lan" not in vim.engine.containers_by_id[engine_id].networks
    vim.restarted().reconcile()
    assert vim.engine.containers_by_id[engine_id].networks["u-lan"] == address
