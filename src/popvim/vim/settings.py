"""Settings the domain needs; the daemon fills them from its config file and flags."""

from __future__ import annotations

from dataclasses import dataclass, field

from popvim.vim.limits import Limits
from popvim.vim.models import Flavour
from popvim.vim.policy import Policy

DEFAULT_FLAVOURS: tuple[Flavour, ...] = (
    Flavour(id="docker.container", name="docker.container"),
    Flavour(id="m1.tiny", name="m1.tiny", cpus=0.25, memory=128 * 1024**2),
    Flavour(id="m1.small", name="m1.small", cpus=0.5, memory=512 * 1024**2),
    Flavour(id="m1.medium", name="m1.medium", cpus=1.0, memory=1024**3),
    Flavour(id="m1.large", name="m1.large", cpus=2.0, memory=2 * 1024**3),
)


@dataclass
class VimSettings:
    pop_name: str = "popvim"
    # The id of this install (kept in the state dir): engine objects carry it, and only
    # objects carrying it are ever removed as orphans, whatever their PoP name.
    install_id: str = ""
    # Prepended to engine-side names so several PoPs (or test runs) can share one engine.
    engine_prefix: str = ""
    token_ttl_seconds: int = 24 * 3600
    region: str = "RegionOne"  # the OpenStack face's region name (service catalog)
    stop_timeout_seconds: float = 5.0
    default_network: str = "private"
    # Seed 001 made `private` internal; published ports need a non-internal network.
    default_network_internal: bool = False
    subnet_pool: str = "172.16.0.0/12"
    default_network_prefix: int = 16
    auto_subnet_prefix: int = 24
    flavours: tuple[Flavour, ...] = field(default=DEFAULT_FLAVOURS)
    # The largest subnet a request may ask for, as a prefix length (/16).
    largest_subnet: int = 16
    # Seconds between reconciliations with the engine besides start-up and event reconnects (0: never).
    reconcile_interval: float = 60.0
    limits: Limits = field(default_factory=Limits)
    # What containers and networks may ask of the host (the [policy] section).
    policy: Policy = field(default_factory=Policy)
