"""A ContainerService over the fake engine and a SQLite file, for unit tests of the lifecycle."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from support.fake_engine import FakeEngine

from popvim.engine.driver import EngineDriver
from popvim.store.db import Store
from popvim.vim.containers import ContainerService
from popvim.vim.events import EventBus
from popvim.vim.flavours import FlavourCatalogue
from popvim.vim.images import ImageService
from popvim.vim.networks import NetworkService
from popvim.vim.settings import VimSettings

INSTALL = "11111111-1111-1111-1111-111111111111"

_CHECK: type[EngineDriver] = FakeEngine  # the fake implements the whole driver interface


@dataclass
class Lab:
    store: Store
    engine: FakeEngine
    settings: VimSettings
    bus: EventBus
    networks: NetworkService
    containers: ContainerService

    def restarted(self) -> ContainerService:
        """A new ContainerService on the same database and engine: popvimd after a restart."""
        self.containers.close()
        self.containers = _containers(self.store, self.engine, self.settings, self.bus, self.networks)
        return self.containers


def _containers(
    store: Store, engine: FakeEngine, settings: VimSettings, bus: EventBus, networks: NetworkService
) -> ContainerService:
    return ContainerService(
        store, engine, settings, bus, networks, ImageService(engine, bus), FlavourCatalogue(settings.flavours)
    )


@contextmanager
def lab(tmp_path: Path) -> Iterator[Lab]:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    engine = FakeEngine()
    settings = VimSettings(pop_name="unit", install_id=INSTALL, engine_prefix="u-", stop_timeout_seconds=0.1)
    bus = EventBus()
    networks = NetworkService(store, engine, settings, bus)
    with mock.patch("popvim.vim.networks.host_routes", list):  # not the routes of the machine the tests run on
        networks.ensure_default()
    result = Lab(store, engine, settings, bus, networks, _containers(store, engine, settings, bus, networks))
    try:
        yield result
    finally:
        result.containers.close()
        store.close()
