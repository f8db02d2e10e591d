"""The VIM: one object that every face calls, wired from its parts."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, cast

from prometheus_client import REGISTRY

from popvim import __version__
from popvim.engine.driver import EngineDriver, EngineError
from popvim.observe.exposition import Exposition
from popvim.observe.metrics import InstrumentedEngine
from popvim.store.db import Store
from popvim.vim.auth import AuthService
from popvim.vim.containers import ContainerService
from popvim.vim.drafts import NetworkDrafts
from popvim.vim.errors import EngineFailure
from popvim.vim.events import EventBus
from popvim.vim.flavours import FlavourCatalogue
from popvim.vim.images import ImageService
from popvim.vim.limits import Slots
from popvim.vim.links import LinkService
from popvim.vim.mesh import Mesh
from popvim.vim.metrics import StateCollector
from popvim.vim.networks import NetworkService
from popvim.vim.ports import PortService
from popvim.vim.readiness import Readiness, database_check, engine_check
from popvim.vim.settings import VimSettings
from popvim.vim.usage import UsageSampler
from popvim.vim.users import UserDirectory
from popvim.vim.watcher import EngineWatcher

log = logging.getLogger(__name__)


class Vim:
    def __init__(
        self, store: Store, engine: EngineDriver, settings: VimSettings, users: Mapping[str, str] | UserDirectory
    ) -> None:
        engine = cast(EngineDriver, InstrumentedEngine(engine))  # every engine call is timed
        self.settings = settings
        self.store = store
        self._engine = engine
        self.bus = EventBus()
        self.auth = AuthService(store, users, settings.token_ttl_seconds, settings.limits)
        self.flavours = FlavourCatalogue(settings.flavours)
        self.images = ImageService(engine, self.bus)
        self.networks = NetworkService(store, engine, settings, self.bus)
        self.ports = PortService(store, self.networks)  # reserved addresses (Neutron ports)
        self.drafts = NetworkDrafts(store, self.networks)  # networks awaiting their subnet
        self.containers = ContainerService(store, engine, settings, self.bus, self.networks, self.images, self.flavours)
        self.links = LinkService(store, engine, self.networks, self.containers)
        self.mesh = Mesh()
        # Open event feeds and followed logs: each holds a connection for as long as the client likes.
        self.streams = Slots("open streams", settings.limits.streams, settings.limits.streams_per_user)
        self._reconciling = threading.Lock()
        self._closing = threading.Event()
        self._timer = threading.Thread(target=self._periodic, name="popvim-reconcile", daemon=True)
        self._watcher = EngineWatcher(engine, self.containers, settings.pop_name, on_reconnect=self.reconcile)
        self.usage = UsageSampler(store, engine)
        self.collector = StateCollector(store, self.bus)  # registered by the daemon
        # What a scrape answers: the registry, then the usage text of the sampler's last pass.
        self.exposition = Exposition(REGISTRY, [self.usage.exposition])
        self.readiness = Readiness()
        self.readiness.add("engine", engine_check(engine))
        self.readiness.add("database", database_check(store))

    def open(self, event_timeout: float = 10.0) -> None:
        """Ready to serve: events followed, default network present, state reconciled.

        The event stream is connected before reconciling, so no container
        death can fall between the two.
        """
        try:
            self._engine.info()
        except EngineError as exc:
            raise EngineFailure(f"cannot reach the container engine: {exc.message}") from exc
        self._watcher.start()
        if not self._watcher.connected.wait(event_timeout):
            log.warning("engine event stream not connected after %.0fs; relying on reconciliation", event_timeout)
        self.networks.ensure_default()
        self.reconcile()
        self.usage.start()
        self._timer.start()

    def reconcile(self) -> None:
        with self._reconciling:  # start-up and an event-stream reconnect may coincide
            self.networks.reconcile()
            self.containers.reconcile()

    def _periodic(self) -> None:
        """Reconcile on a timer too: an event the stream missed, or a stop that could not finish
        while the engine was away, is corrected within one interval."""
        interval = self.settings.reconcile_interval
        while interval > 0 and not self._closing.wait(interval):
            try:
                self.reconcile()
                self.auth.purge_expired()
            except Exception:
                log.exception("periodic reconciliation failed")

    def info(self) -> dict[str, Any]:
        try:
            engine = self._engine.info()
        except EngineError as exc:
            raise EngineFailure(exc.message) from exc
        return {"type": "docker", "name": self.settings.pop_name, "version": __version__, "engine": engine}

    def engine_alive(self) -> bool:
        return self._engine.ping()

    def close(self) -> None:
        self.readiness.close()
        self.usage.stop()
        self._closing.set()
        if self._timer.is_alive():
            self._timer.join(timeout=30)
        self._watcher.stop()
        self.auth.close()
        self.containers.close()
        self._engine.close()
        self.store.close()
