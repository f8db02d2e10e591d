"""What the modules of ``popvim.vim.containers`` share: the store, the engine and their neighbours."""

from __future__ import annotations

from dataclasses import dataclass

from popvim.engine.driver import EngineDriver
from popvim.store.db import Store
from popvim.vim.containers.locks import ContainerLocks
from popvim.vim.events import EventBus
from popvim.vim.flavours import FlavourCatalogue
from popvim.vim.images import ImageService
from popvim.vim.labels import LABEL_POP
from popvim.vim.networks import NetworkService
from popvim.vim.settings import VimSettings


@dataclass(frozen=True)
class Parts:
    store: Store
    engine: EngineDriver
    settings: VimSettings
    bus: EventBus
    networks: NetworkService
    images: ImageService
    flavours: FlavourCatalogue
    locks: ContainerLocks

    @property
    def pop_labels(self) -> dict[str, str]:
        """The label every engine container of this PoP carries."""
        return {LABEL_POP: self.settings.pop_name}
