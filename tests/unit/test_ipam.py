"""Address and subnet assignment: the rules users rely on, on an in-memory store."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.fake_engine import FakeEngine
from support.vim_parts import lab

from popvim.engine.driver import NetworkSpec
from popvim.store.db import Store
from popvim.vim.containers import ContainerService
from popvim.vim.errors import AlreadyExists, Exhausted, InvalidArgument, InvalidState
from popvim.vim.events import EventBus
from popvim.vim.flavours import FlavourCatalogue
from popvim.vim.images import ImageService
from popvim.vim.models import ContainerConfig, NetworkConfig
from popvim.vim.networks import NetworkService
from popvim.vim.settings import VimSettings


@pytest.fixture(autouse=True)
def no_host_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules here do not depend on the routes of the machine the tests run on."""
    monkeypatch.setattr("popvim.vim.networks.host_routes", lambda: [])


@pytest.fixture
def services(tmp_path) -> Iterator[tuple[NetworkService, ContainerService, FakeEngine]]:
    with lab(tmp_path) as parts:
        yield parts.networks, parts.containers, parts.engine


def test_default_network_is_a_private_16_avoiding_engine_subnets(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    engine = FakeEngine()
    engine.create_network(NetworkSpec(name="docker0-like", subnet="172.16.0.0/16"))
    networks = NetworkService(store, engine, VimSettings(), EventBus())  # type: ignore[arg-type]
    default = networks.ensure_default()
    assert default.subnet == "172.17.0.0/16" and default.gateway == "172.17.0.1" and default.is_default
    assert networks.ensure_default().id == default.id  # idempotent


def test_auto_subnets_never_overlap(services) -> None:
    networks, _, _ = services
    made = [networks.create(NetworkConfig(name=f"n{i}")) for i in range(20)]
    subnets = [ipaddress.ip_network(n.subnet) for n in made] + [ipaddress.ip_network(networks.get("private").subnet)]
    for i, a in enumerate(subnets):
        for b in subnets[i + 1 :]:
            assert not a.overlaps(b)


@pytest.mark.parametrize("cluster", [False, True])
def test_a_freed_subnet_is_reused_at_once_on_one_engine_and_last_on_a_cluster(services, cluster: bool) -> None:
    networks, _, engine = services
    engine.places_containers = cluster  # Swarm's nodes drop a removed overlay lazily
    first = networks.create(NetworkConfig(name="first"))
    networks.delete(first.id)
    again = networks.create(NetworkConfig(name="again"))
    assert (again.subnet == first.subnet) is not cluster
    if cluster:
        networks.delete(again.id)
        later = [networks.create(NetworkConfig(name=f"n{i}")).subnet for i in range(3)]
        assert first.subnet not in later and again.subnet not in later


def test_explicit_subnet_rules(services) -> None:
    networks, _, _ = services
    with pytest.raises(InvalidArgument):
        networks.create(NetworkConfig(name="bad", subnet="10.0.0.0/33"))
    with pytest.raises(InvalidArgument):
        networks.create(NetworkConfig(name="gw", subnet="10.0.0.0/24", gateway="10.0.1.1"))
    with pytest.raises(InvalidArgument):
        networks.create(NetworkConfig(name="rng", subnet="10.0.0.0/24", ip_range="10.0.1.0/28"))
    net = networks.create(NetworkConfig(name="ok", subnet="10.0.0.7/24", ip_range="10.0.0.16/28"))
    assert net.subnet == "10.0.0.0/24" and net.gateway == "10.0.0.1"
    with pytest.raises(AlreadyExists):
        networks.create(NetworkConfig(name="overlap", subnet="10.0.0.128/25"))
    with pytest.raises(AlreadyExists):
        networks.create(NetworkConfig(name="ok", subnet="10.9.0.0/24"))


def test_addresses_come_from_the_range_and_skip_gateway(services) -> None:
    networks, containers, _ = services
    networks.create(NetworkConfig(name="r", subnet="10.1.0.0/24", ip_range="10.1.0.0/30"))
    c = containers.create(ContainerConfig(image="busybox:latest", endpoints={"r": None}))
    assert c.endpoints["r"].address == "10.1.0.2"  # .0 is the network, .1 the gateway
    with pytest.raises(Exhausted):
        containers.create(ContainerConfig(image="busybox:latest", endpoints={"r": None}))
    fixed = containers.create(ContainerConfig(image="busybox:latest", endpoints={"r": "10.1.0.200"}))
    assert fixed.endpoints["r"].address == "10.1.0.200"  # fixed addresses may lie outside the range


@pytest.mark.parametrize(
    ("address", "error"),
    [
        ("10.2.0.1", InvalidArgument),
        ("10.2.0.0", InvalidArgument),
        ("10.2.0.255", InvalidArgument),
        ("10.3.0.5", InvalidArgument),
        ("10.2.0.9", AlreadyExists),
    ],
)
def test_fixed_address_refusals(services, address: str, error: type) -> None:
    networks, containers, _ = services
    networks.create(NetworkConfig(name="f", subnet="10.2.0.0/24"))
    containers.create(ContainerConfig(image="busybox:latest", endpoints={"f": "10.2.0.9"}))
    with pytest.raises(error):
        containers.create(ContainerConfig(image="busybox:latest", endpoints={"f": address}))


def test_deleting_a_container_frees_its_address(services) -> None:
    networks, containers, _ = services
    networks.create(NetworkConfig(name="d", subnet="10.4.0.0/30"))
    first = containers.create(ContainerConfig(image="busybox:latest", endpoints={"d": None}))
    containers.delete(first.id)
    again = containers.create(ContainerConfig(image="busybox:latest", endpoints={"d": None}))
    assert again.endpoints["d"].address == first.endpoints["d"].address


def test_network_in_use_cannot_be_deleted(services) -> None:
    networks, containers, _ = services
    networks.create(NetworkConfig(name="u", subnet="10.5.0.0/24"))
    c = containers.create(ContainerConfig(image="busybox:latest", name="user1", endpoints={"u": None}))
    with pytest.raises(InvalidState, match="user1"):
        networks.delete("u")
    with pytest.raises(InvalidState):
        networks.delete("private")
    containers.delete(c.id)
    networks.delete("u")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(2, 14)), min_size=1, max_size=14))
def test_assigned_addresses_are_always_unique(tmp_path_factory, picks: list[int | None]) -> None:
    """Whatever mix of fixed and automatic requests arrives, no address is held twice."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('h') / 'db.sqlite'}")
    engine = FakeEngine()
    settings_ = VimSettings()
    bus = EventBus()
    networks = NetworkService(store, engine, settings_, bus)  # type: ignore[arg-type]
    containers = ContainerService(
        store,
        engine,
        settings_,
        bus,
        networks,
        ImageService(engine, bus),
        FlavourCatalogue(settings_.flavours),  # type: ignore[arg-type]
    )
    networks.create(NetworkConfig(name="h", subnet="10.6.0.0/28"))
    held: list[str] = []
    for pick in picks:
        wanted = None if pick is None else f"10.6.0.{pick}"
        try:
            c = containers.create(ContainerConfig(image="busybox:latest", endpoints={"h": wanted}))
        except (AlreadyExists, Exhausted):
            assert wanted in held or len(held) == 13
            continue
        held.append(c.endpoints["h"].address)
    assert len(held) == len(set(held))
    containers.close()
    store.close()
