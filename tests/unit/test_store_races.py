"""Another writer of the same database (a second process) racing a create for an address:
the partial unique index refuses the second holder, and popvim retries or answers
AlreadyExists (a 409), never a raw database error (a 500) - on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from support.fake_engine import FakeEngine

from popvim.clock import utcnow as now
from popvim.store.db import Store
from popvim.store.models import ContainerRow, EndpointRow
from popvim.vim.containers import ContainerService
from popvim.vim.errors import AlreadyExists
from popvim.vim.events import EventBus
from popvim.vim.flavours import FlavourCatalogue
from popvim.vim.images import ImageService
from popvim.vim.models import ContainerConfig, NetworkConfig
from popvim.vim.networks import NetworkService
from popvim.vim.settings import VimSettings


@pytest.fixture(autouse=True)
def no_host_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules here do not depend on the routes of the machine the tests run on (other engines' networks)."""
    monkeypatch.setattr("popvim.vim.networks.host_routes", list)


@pytest.fixture
def services(url: str) -> Iterator[tuple[NetworkService, ContainerService, Store]]:
    store, other = Store(url), Store(url)
    engine, settings, bus = FakeEngine(), VimSettings(), EventBus()
    networks = NetworkService(store, engine, settings, bus)  # type: ignore[arg-type]
    containers = ContainerService(
        store,
        engine,
        settings,
        bus,
        networks,
        ImageService(engine, bus),
        FlavourCatalogue(settings.flavours),  # type: ignore[arg-type]
    )
    networks.ensure_default()
    yield networks, containers, other
    containers.close()
    store.close()
    other.close()


def _take(other: Store, network_id: str, address: str) -> None:
    """What a second popvimd on the same database would commit."""
    with other.session() as session:
        row = ContainerRow(
            id=str(uuid.uuid4()),
            name=f"other-{uuid.uuid4().hex[:6]}",
            image="x",
            image_id="x",
            flavour="docker.container",
            state="CREATED",
            created_at=now(),
        )
        row.endpoints.append(EndpointRow(network_id=network_id, position=0, address=address))
        session.add(row)


def _race_once(networks: NetworkService, other: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The first allocation's answer is taken by the other writer before this one commits."""
    real = networks.allocate
    raced: list[str] = []

    def allocate(session: Any, row: Any, requested: str | None, holder: str | None = None) -> str:
        address = real(session, row, requested, holder)
        if not raced:
            raced.append(address)
            _take(other, row.id, address)
        return address

    monkeypatch.setattr(networks, "allocate", allocate)
    return raced


def test_an_address_taken_by_another_writer_is_retried(services, monkeypatch: pytest.MonkeyPatch) -> None:
    networks, containers, other = services
    networks.create(NetworkConfig(name="r", subnet="10.1.0.0/24"))
    raced = _race_once(networks, other, monkeypatch)
    made = containers.create(ContainerConfig(image="busybox:latest", endpoints={"r": None}))
    assert raced and made.endpoints["r"].address != raced[0]


def test_a_fixed_address_taken_by_another_writer_is_a_conflict(services, monkeypatch: pytest.MonkeyPatch) -> None:
    networks, containers, other = services
    networks.create(NetworkConfig(name="r", subnet="10.1.0.0/24"))
    _race_once(networks, other, monkeypatch)
    with pytest.raises(AlreadyExists, match=r"10\.1\.0\.9"):
        containers.create(ContainerConfig(image="busybox:latest", endpoints={"r": "10.1.0.9"}))
