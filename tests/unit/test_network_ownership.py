"""Network reconciliation on a shared engine: only this install's orphans are removed."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fake_engine import FakeEngine

from popvim.engine.driver import NetworkSpec
from popvim.store.db import Store
from popvim.vim.events import EventBus
from popvim.vim.labels import LABEL_INSTALL, LABEL_NETWORK, LABEL_POP
from popvim.vim.models import NetworkConfig
from popvim.vim.networks import NetworkService
from popvim.vim.settings import VimSettings


@pytest.fixture(autouse=True)
def no_host_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules here do not depend on the routes of the machine the tests run on (other engines' networks)."""
    monkeypatch.setattr("popvim.vim.networks.host_routes", list)


MINE, THEIRS = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"


def _service(tmp_path: Path, engine: FakeEngine) -> tuple[NetworkService, EventBus]:
    bus = EventBus()
    settings = VimSettings(pop_name="pop1", install_id=MINE)
    service = NetworkService(Store(f"sqlite:///{tmp_path / 'db.sqlite'}"), engine, settings, bus)  # type: ignore[arg-type]
    service.ensure_default()
    return service, bus


def _engine_network(engine: FakeEngine, name: str, subnet: str, labels: dict[str, str]) -> str:
    return engine.create_network(NetworkSpec(name=name, driver="bridge", subnet=subnet, labels=labels))


def test_an_empty_database_removes_nothing_and_a_known_one_only_its_own(tmp_path: Path) -> None:
    engine = FakeEngine()
    service, bus = _service(tmp_path, engine)
    events = bus.subscribe()
    own = _engine_network(engine, "own-orphan", "10.99.1.0/24", {LABEL_POP: "pop1", LABEL_INSTALL: MINE})
    other = _engine_network(engine, "their-net", "10.99.2.0/24", {LABEL_POP: "pop1", LABEL_INSTALL: THEIRS})
    legacy = _engine_network(engine, "legacy", "10.99.3.0/24", {LABEL_POP: "pop1", LABEL_NETWORK: "unknown"})
    service.reconcile()  # only the default network is known: nothing can be called an orphan
    assert {own, other, legacy} <= set(engine.networks_by_id)
    assert {events.get_nowait().kind for _ in range(3)} == {"network.foreign"}

    service.create(NetworkConfig(name="lan", subnet="10.99.4.0/24"))
    service.reconcile()
    assert own not in engine.networks_by_id
    assert {other, legacy} <= set(engine.networks_by_id)


def test_a_network_holding_our_engine_name_for_another_install_is_not_adopted(tmp_path: Path) -> None:
    engine = FakeEngine()
    service, _bus = _service(tmp_path, engine)
    made = service.create(NetworkConfig(name="lan", subnet="10.99.5.0/24"))
    engine.remove_network(made.engine_id or "")
    squatter = _engine_network(
        engine, "lan", "10.99.6.0/24", {LABEL_POP: "pop1", LABEL_INSTALL: THEIRS, LABEL_NETWORK: "theirs"}
    )
    service.reconcile()
    assert service.get("lan").engine_id != squatter and squatter in engine.networks_by_id
