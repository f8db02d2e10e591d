"""Networks and their address management (IPAM).

popvim assigns every address itself, before anything exists on the engine
(seed 001 4.4.5): an orchestrator must know a VNFC's address to configure its
dependants before the VNFC starts. The database is the authority on which
address is taken; the engine is told the address at start.
"""

from __future__ import annotations

import builtins
import ipaddress
import logging
import re
import socket
import struct
import threading
import uuid
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from popvim.clock import utcnow
from popvim.engine.driver import EngineConflict, EngineDriver, EngineError, EngineNetwork, EngineNotFound, NetworkSpec
from popvim.store.db import Store
from popvim.store.models import ContainerRow, EndpointRow, NetworkRow, PortRow
from popvim.vim.errors import AlreadyExists, EngineFailure, Exhausted, InvalidArgument, InvalidState, NotFound
from popvim.vim.events import EventBus
from popvim.vim.labels import LABEL_INSTALL, LABEL_NETWORK, LABEL_POP
from popvim.vim.models import Network, NetworkConfig
from popvim.vim.settings import VimSettings
from popvim.vim.shaping import check_supported

log = logging.getLogger(__name__)

BRIDGE_NAME_OPTION = "com.docker.network.bridge.name"
_CREATE_ATTEMPTS = 5


# Never a container network: "this network", loopback, link-local, multicast, reserved (240/4).
_NEVER = tuple(
    ipaddress.IPv4Network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4")
)
_HEX = re.compile(r"[0-9a-f]{12,64}")


def host_routes(path: str = "/proc/net/route") -> list[ipaddress.IPv4Network]:
    """The IPv4 routes of popvimd's host but the default one; its interface addresses
    show here too, each as the route to its subnet. Empty where /proc is not Linux's."""
    routes = []
    try:
        lines = Path(path).read_text().splitlines()[1:]
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if len(fields) < 8:
            continue
        try:
            destination = socket.inet_ntoa(struct.pack("<I", int(fields[1], 16)))
            mask = socket.inet_ntoa(struct.pack("<I", int(fields[7], 16)))
            route = ipaddress.IPv4Network(f"{destination}/{mask}", strict=False)
        except (ValueError, struct.error):
            continue
        if route.prefixlen:
            routes.append(route)
    return routes


def engine_prefix_ref(ref: str) -> bool:
    """True when ``ref`` may be a prefix of an engine id: 12 to 64 lower-case hex digits."""
    return bool(_HEX.fullmatch(ref))


def reserved_addresses(session: Session, network_id: str, holder: str | None = None) -> set[str]:
    """The addresses reserved by ports (vim/ports.py) on the network for anyone but ``holder``,
    the name of the container a port was given to."""
    query = select(PortRow.address).where(PortRow.network_id == network_id)
    if holder is not None:
        query = query.where(or_(PortRow.holder.is_(None), PortRow.holder != holder))
    return set(session.scalars(query).all())


def _subnet(value: str, what: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise InvalidArgument(f"{what} {value!r} is not a CIDR such as 10.10.0.0/24") from exc
    if not isinstance(net, ipaddress.IPv4Network) or net.prefixlen > 30:
        raise InvalidArgument(f"{what} {value!r} must be an IPv4 network of at least 4 addresses (/30)")
    return net


class NetworkService:
    def __init__(self, store: Store, engine: EngineDriver, settings: VimSettings, bus: EventBus) -> None:
        self._store = store
        self._engine = engine
        self._settings = settings
        self._bus = bus
        # Held from choosing an address until its row is committed: with the
        # unique index this makes a double assignment impossible.
        self.ipam_lock = threading.Lock()
        self._subnet_lock = threading.Lock()
        # Addresses held on our networks by engine containers that are not ours.
        self._foreign: dict[str, set[str]] = {}
        self._reported: set[str] = set()  # engine ids of other installs' networks already reported
        self._last_auto: dict[int, ipaddress.IPv4Network] = {}  # prefix -> the subnet last chosen for it

    @property
    def labels(self) -> dict[str, str]:
        return {LABEL_POP: self._settings.pop_name}

    def engine_name(self, name: str) -> str:
        return f"{self._settings.engine_prefix}{name}"

    # --- queries --------------------------------------------------------------
    def list(self) -> list[Network]:
        with self._store.session() as session:
            rows = session.scalars(select(NetworkRow).order_by(NetworkRow.created_at)).all()
            return [self._view(r, c) for r, c in zip(rows, self._usage(session, [r.id for r in rows]), strict=True)]

    def get(self, ref: str) -> Network:
        with self._store.session() as session:
            row = self.row(session, ref)
            return self._view(row, self._usage(session, [row.id])[0])

    def row(self, session: Session, ref: str) -> NetworkRow:
        """The network with this id, name or engine id."""
        row = session.get(NetworkRow, ref) or session.scalar(select(NetworkRow).where(NetworkRow.name == ref))
        if row is None and engine_prefix_ref(ref):  # literally: '_' and '%' are no wildcards
            row = session.scalar(select(NetworkRow).where(NetworkRow.engine_id.startswith(ref, autoescape=True)))
        if row is None:
            raise NotFound(f"network {ref!r} not found")
        return row

    def default_row(self, session: Session) -> NetworkRow:
        row = session.scalar(select(NetworkRow).where(NetworkRow.is_default.is_(True)))
        if row is None:
            raise NotFound("the default network does not exist")
        return row

    @staticmethod
    def _usage(session: Session, ids: builtins.list[str]) -> builtins.list[int]:
        counts = dict(
            session.execute(
                select(EndpointRow.network_id, func.count())
                .where(EndpointRow.network_id.in_(ids), EndpointRow.active.is_(True))
                .group_by(EndpointRow.network_id)
            ).all()
        )
        return [counts.get(i, 0) for i in ids]

    @staticmethod
    def _view(row: NetworkRow, used: int) -> Network:
        return Network(
            id=row.id,
            name=row.name,
            driver=row.driver,
            subnet=row.subnet,
            ip_range=row.ip_range,
            gateway=row.gateway,
            internal=row.internal,
            bridge_name=row.bridge_name,
            parent=row.parent,
            options=row.options or {},
            is_default=row.is_default,
            engine_id=row.engine_id,
            created_at=row.created_at,
            addresses_in_use=used,
            labels=row.labels or {},
            bandwidth=row.bandwidth,
            delay=row.delay,
            loss=row.loss,
        )

    # --- create / delete ------------------------------------------------------
    def create(self, config: NetworkConfig, *, default: bool = False, network_id: str | None = None) -> Network:
        """Records the network, then makes it on the engine.

        Another user of the engine (a second PoP) may take a subnet between our
        check and the engine call; a chosen subnet is then simply chosen again,
        a requested one is refused as taken.
        """
        if not default:  # the default network is the daemon's own, made from its settings
            self._settings.policy.check_network(config)
        check_supported(self._engine, config.link, f"network {config.name!r}")
        avoid: builtins.list[ipaddress.IPv4Network] = []
        for attempt in range(_CREATE_ATTEMPTS):
            row = self._record(config, default, avoid, network_id)
            try:
                engine_id = self._engine.create_network(self._spec(row))
                break
            except EngineError as exc:
                with self._store.session() as session:
                    session.delete(session.get(NetworkRow, row.id))
                if not isinstance(exc, EngineConflict):  # a name, subnet or bridge the engine has
                    raise EngineFailure(f"engine refused network {config.name!r}: {exc.message}") from exc
                if config.subnet or attempt + 1 == _CREATE_ATTEMPTS:
                    raise AlreadyExists(f"network {config.name!r} conflicts on the engine: {exc.message}") from exc
                avoid.append(ipaddress.IPv4Network(row.subnet))
        with self._store.session() as session:
            session.get(NetworkRow, row.id).engine_id = engine_id  # type: ignore[union-attr]
        row.engine_id = engine_id
        self._bus.publish("network.created", row.id, name=row.name, subnet=row.subnet)
        return self._view(row, 0)

    def _record(
        self,
        config: NetworkConfig,
        default: bool,
        avoid: builtins.list[ipaddress.IPv4Network],
        network_id: str | None = None,
    ) -> NetworkRow:
        """The committed row of a new network; refuses a name, subnet or bridge already in use."""
        with self._subnet_lock, self._store.session() as session:
            if session.scalar(select(NetworkRow).where(NetworkRow.name == config.name)):
                raise AlreadyExists(f"network {config.name!r} exists already")
            engine_nets = self._engine_networks()
            if config.bridge_name:
                self._check_bridge_name(session, config.bridge_name, engine_nets)
                if not default:  # no engine network has it: an existing link is the host's own
                    self._settings.policy.check_bridge_name(config.bridge_name)
            row = self._new_row(config, default, self._taken(session, engine_nets, avoid))
            if network_id:  # a draft made real keeps the id its clients know (vim/drafts.py)
                if session.get(NetworkRow, network_id):
                    raise AlreadyExists(f"network {network_id!r} exists already")
                row.id = network_id
            session.add(row)
            return row

    def _engine_networks(self) -> builtins.list[EngineNetwork]:
        try:
            return self._engine.networks()
        except EngineError as exc:
            raise EngineFailure(f"cannot list the engine's networks: {exc.message}") from exc

    @staticmethod
    def _taken(
        session: Session, engine_nets: builtins.list[EngineNetwork], avoid: builtins.list[ipaddress.IPv4Network]
    ) -> builtins.list[tuple[ipaddress.IPv4Network, str]]:
        """Every IPv4 subnet in use with who uses it: our records and every engine network,
        popvim's or not, since the engine refuses any overlap on one host."""
        taken = [
            (_subnet(s, "subnet"), f"network {n!r}")
            for n, s in session.execute(select(NetworkRow.name, NetworkRow.subnet)).all()
        ]
        for net in engine_nets:
            for value in net.subnets:
                subnet = ipaddress.ip_network(value, strict=False)
                if isinstance(subnet, ipaddress.IPv4Network):
                    taken.append((subnet, f"engine network {net.name!r}"))
        return taken + [(a, "a network made meanwhile") for a in avoid]

    @staticmethod
    def _check_bridge_name(session: Session, bridge: str, engine_nets: builtins.list[EngineNetwork]) -> None:
        """One Linux bridge cannot serve two networks; the engine would refuse it obscurely."""
        user = session.scalar(select(NetworkRow.name).where(NetworkRow.bridge_name == bridge))
        user = user or next((n.name for n in engine_nets if n.options.get(BRIDGE_NAME_OPTION) == bridge), None)
        if user:
            raise AlreadyExists(f"bridge name {bridge!r} is used by network {user!r}")

    def _new_row(
        self, config: NetworkConfig, default: bool, taken: builtins.list[tuple[ipaddress.IPv4Network, str]]
    ) -> NetworkRow:
        if config.subnet:
            subnet = _subnet(config.subnet, "subnet")
            self._check_usable(subnet)
            clash = next(((t, who) for t, who in taken if t.overlaps(subnet)), None)
            if clash:
                raise AlreadyExists(f"subnet {subnet} overlaps {clash[0]}, used by {clash[1]}")
            # After the engine's networks: their bridges' routes are a conflict (409), not a bad value.
            route = next((r for r in host_routes() if r.overlaps(subnet)), None)
            if route is not None:
                raise InvalidArgument(f"subnet {subnet} overlaps {route}, an address or route of this host")
        else:
            if config.gateway or config.ip_range:
                raise InvalidArgument("gateway and ip_range need an explicit subnet")
            prefix = self._settings.default_network_prefix if default else self._settings.auto_subnet_prefix
            subnet = self._free_subnet([t for t, _ in taken] + host_routes(), prefix)
        gateway = self._gateway(subnet, config.gateway)
        ip_range = None
        if config.ip_range:
            ip_range_net = _subnet(config.ip_range, "ip_range")
            if not ip_range_net.subnet_of(subnet):
                raise InvalidArgument(f"ip_range {ip_range_net} is not inside subnet {subnet}")
            ip_range = str(ip_range_net)
        options = dict(config.options)
        if config.bridge_name:
            if config.driver != "bridge":
                raise InvalidArgument("bridge_name applies to the bridge driver only")
            options[BRIDGE_NAME_OPTION] = config.bridge_name
        if config.parent:
            if config.driver not in ("macvlan", "ipvlan"):
                raise InvalidArgument("parent applies to the macvlan and ipvlan drivers only")
            options["parent"] = config.parent
        return NetworkRow(
            id=str(uuid.uuid4()),
            name=config.name,
            driver=config.driver,
            subnet=str(subnet),
            ip_range=ip_range,
            gateway=gateway,
            internal=config.internal,
            bridge_name=config.bridge_name,
            parent=config.parent,
            options=options,
            is_default=default,
            created_at=utcnow(),
            labels=dict(config.labels),
            bandwidth=config.bandwidth,
            delay=config.delay,
            loss=config.loss,
        )

    def _check_usable(self, subnet: ipaddress.IPv4Network) -> None:
        """A requested subnet that is too large or in a range no container network may use is refused."""
        largest = self._settings.largest_subnet
        if subnet.prefixlen < largest:
            raise InvalidArgument(f"subnet {subnet} is larger than /{largest}, the largest this PoP accepts")
        for never in _NEVER:
            if subnet.overlaps(never):
                raise InvalidArgument(
                    f"subnet {subnet} overlaps {never}, which is never a container network "
                    "(this-network, loopback, link-local, multicast or reserved)"
                )

    @staticmethod
    def _gateway(subnet: ipaddress.IPv4Network, requested: str | None) -> str:
        if not requested:
            return str(next(subnet.hosts()))
        try:
            gateway = ipaddress.IPv4Address(requested)
        except ValueError as exc:
            raise InvalidArgument(f"gateway {requested!r} is not an IPv4 address") from exc
        if gateway not in subnet or gateway in (subnet.network_address, subnet.broadcast_address):
            raise InvalidArgument(f"gateway {gateway} is not a host address of {subnet}")
        return str(gateway)

    def _free_subnet(self, taken: builtins.list[ipaddress.IPv4Network], prefix: int) -> ipaddress.IPv4Network:
        """The first free subnet of the pool; on a cluster engine the first after the last one
        handed out (wrapping round): Swarm's nodes drop a removed overlay lazily, and a task on a
        node that still holds a subnet just freed is rejected ("Pool overlaps") and retried late."""
        pool = ipaddress.IPv4Network(self._settings.subnet_pool)
        new_prefix = max(prefix, pool.prefixlen)
        after = self._last_auto.get(new_prefix) if self._engine.places_containers else None
        for wrapped in (False, True) if after is not None else (True,):
            for candidate in pool.subnets(new_prefix=new_prefix):
                if not wrapped and after is not None and candidate.network_address <= after.network_address:
                    continue
                if not any(candidate.overlaps(u) for u in taken):
                    self._last_auto[new_prefix] = candidate
                    return candidate
        raise Exhausted(f"no free /{prefix} subnet left in {pool}")

    def _spec(self, row: NetworkRow) -> NetworkSpec:
        return NetworkSpec(
            name=self.engine_name(row.name),
            driver=row.driver,
            subnet=row.subnet,
            ip_range=row.ip_range,
            gateway=row.gateway,
            internal=row.internal,
            options=dict(row.options or {}),
            labels={
                **(row.labels or {}),
                **self.labels,
                LABEL_INSTALL: self._settings.install_id,
                LABEL_NETWORK: row.id,
            },
        )

    def delete(self, ref: str) -> None:
        # Under the IPAM lock no endpoint can be added between the check and the removal.
        with self.ipam_lock:
            self._delete(ref)

    def _delete(self, ref: str) -> None:
        with self._store.session() as session:
            row = self.row(session, ref)
            if row.is_default:
                raise InvalidState(f"network {row.name!r} is the default network and cannot be deleted")
            users = session.scalars(
                select(ContainerRow.name)
                .join(EndpointRow)
                .where(EndpointRow.network_id == row.id, ContainerRow.state.in_(("CREATED", "RUNNING", "STOPPING")))
            ).all()
            if users:
                raise InvalidState(f"network {row.name!r} is used by containers: {', '.join(sorted(users))}")
            engine_id, net_id, name = row.engine_id, row.id, row.name
        if engine_id:
            try:
                self._engine.remove_network(engine_id)
            except EngineNotFound:
                pass
            except EngineError as exc:
                raise EngineFailure(f"engine cannot remove network {name!r}: {exc.message}") from exc
        with self._store.session() as session:
            for endpoint in session.scalars(select(EndpointRow).where(EndpointRow.network_id == net_id)).all():
                session.delete(endpoint)
            session.flush()
            gone = session.get(NetworkRow, net_id)
            if gone is not None:
                session.delete(gone)
        self._foreign.pop(net_id, None)
        self._bus.publish("network.deleted", net_id, name=name)

    # --- addresses ------------------------------------------------------------
    def allocate(self, session: Session, row: NetworkRow, requested: str | None, holder: str | None = None) -> str:
        """An address on ``row`` for a new endpoint; call with ``ipam_lock`` held until commit.
        Addresses reserved by ports are taken, but those of ports given to ``holder``."""
        subnet = ipaddress.IPv4Network(row.subnet)
        taken = set(
            session.scalars(
                select(EndpointRow.address).where(EndpointRow.network_id == row.id, EndpointRow.active.is_(True))
            ).all()
        )
        taken.update(reserved_addresses(session, row.id, holder))
        reserved = {str(subnet.network_address), str(subnet.broadcast_address), row.gateway}
        foreign = self._foreign.get(row.id, set())
        if requested:
            address = ipaddress.IPv4Address(requested)
            if address not in subnet:
                raise InvalidArgument(f"address {address} is outside network {row.name!r} ({subnet})")
            if requested in reserved:
                raise InvalidArgument(f"address {address} is the network, broadcast or gateway address of {row.name!r}")
            if requested in taken or requested in foreign:
                raise AlreadyExists(f"address {address} on network {row.name!r} is taken")
            return requested
        pool = ipaddress.IPv4Network(row.ip_range) if row.ip_range else subnet
        for host in pool.hosts():
            candidate = str(host)
            if candidate not in taken and candidate not in reserved and candidate not in foreign:
                return candidate
        raise Exhausted(f"no free address left on network {row.name!r} ({pool})")

    # --- start-up and reconciliation ------------------------------------------
    def ensure_default(self) -> Network:
        """The default network, adopting an engine network of that name as seed 001 does."""
        with self._store.session() as session:
            existing = session.scalar(select(NetworkRow).where(NetworkRow.is_default.is_(True)))
            if existing is not None:
                return self._view(existing, self._usage(session, [existing.id])[0])
        name = self._settings.default_network
        engine_name = self.engine_name(name)
        try:
            adoptable = [n for n in self._engine.networks() if n.name == engine_name and n.subnets]
        except EngineError as exc:
            raise EngineFailure(f"cannot list the engine's networks: {exc.message}") from exc
        if not adoptable:
            return self.create(NetworkConfig(name=name, internal=self._settings.default_network_internal), default=True)
        found = adoptable[0]
        subnet = _subnet(found.subnets[0], "subnet")
        row = NetworkRow(
            id=str(uuid.uuid4()),
            name=name,
            driver=found.driver,
            subnet=str(subnet),
            gateway=found.gateways[0] if found.gateways else str(next(subnet.hosts())),
            internal=found.internal,
            options=dict(found.options),
            is_default=True,
            engine_id=found.id,
            created_at=utcnow(),
        )
        with self._store.session() as session:
            session.add(row)
        self._foreign[row.id] = set(found.containers.values())
        log.info("adopted engine network %s as default network %s (%s)", found.id[:12], name, subnet)
        return self._view(row, 0)

    def reconcile(self) -> None:
        """Make the engine hold exactly our networks, and learn foreign addresses on them."""
        with self.ipam_lock:  # not while a network is deleted
            self._reconcile()

    def _reconcile(self) -> None:
        try:
            engine_nets = self._engine.networks()
        except EngineError as exc:
            log.warning("network reconciliation skipped: engine unavailable: %s", exc.message)
            return
        by_id = {n.id: n for n in engine_nets}
        by_name = {n.name: n for n in engine_nets}
        with self._store.session() as session:
            rows = session.scalars(select(NetworkRow)).all()
            ours_active = {
                (e.network_id, e.address)
                for e in session.scalars(select(EndpointRow).where(EndpointRow.active.is_(True))).all()
            }
            known: set[str] = set()
            for row in rows:
                found = by_id.get(row.engine_id or "")
                if found is None:
                    found = by_name.get(self.engine_name(row.name))
                    if found is not None and not self._adoptable(found, row):
                        self._report(found, f"holds the engine name of network {row.name!r}")
                        known.add(found.id)
                        continue
                if found is None:
                    try:
                        row.engine_id = self._engine.create_network(self._spec(row))
                        log.warning("recreated missing engine network for %s", row.name)
                    except EngineError as exc:
                        log.error("cannot recreate engine network for %s: %s", row.name, exc.message)
                        continue
                else:
                    row.engine_id = found.id
                    self._foreign[row.id] = {
                        a for a in found.containers.values() if a and (row.id, a) not in ours_active
                    }
                known.add(row.engine_id)
        # The default network alone does not make a database that knows what it made.
        remembers = any(not r.is_default for r in rows)
        for net in engine_nets:
            if net.labels.get(LABEL_POP) != self._settings.pop_name or net.id in known:
                continue
            if net.labels.get(LABEL_INSTALL) != self._settings.install_id or not remembers:
                self._report(net, "has this PoP's name but is not one of this install's networks")
                continue
            try:
                self._engine.remove_network(net.id)
                log.warning("removed orphan engine network %s (%s)", net.name, net.id[:12])
                self._bus.publish("network.orphan_removed", net.id, name=net.name)
            except EngineError as exc:
                log.warning("orphan engine network %s left in place: %s", net.name, exc.message)

    def _adoptable(self, found: EngineNetwork, row: NetworkRow) -> bool:
        """An engine network found by name is ours if it carries our record's id, or if
        popvim never labelled it (the default network adopted as seed 001 does)."""
        marked = found.labels.get(LABEL_NETWORK)
        return marked == row.id or (marked is None and found.labels.get(LABEL_INSTALL) is None)

    def _report(self, net: EngineNetwork, why: str) -> None:
        if net.id in self._reported:
            return
        self._reported.add(net.id)
        owner = net.labels.get(LABEL_INSTALL) or "none"
        log.warning("engine network %s (%s) %s (install %s): left alone", net.name, net.id[:12], why, owner)
        self._bus.publish("network.foreign", net.id, name=net.name, install=owner)
