"""What every workflow works with."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from popvim.nfv.catalogue import Catalogue
from popvim.nfv.observation import Observer
from popvim.nfv.surface import PopDirectory
from popvim.nfv.vnfcs import Vnfcs
from popvim.store.db import Store


@dataclass(frozen=True)
class Context:
    store: Store
    pops: PopDirectory
    catalogue: Catalogue
    vnfcs: Vnfcs
    observer: Observer
    pool: Executor  # runs one step on many VNFCs at once (fanout.parallel)
    # Called with (instance id, VNFC ids) before scale-in deletes them: load balancers drain them first.
    before_removal: Callable[[str, list[str]], None] | None = None
