"""Load-balancer VNFs: an HAProxy whose servers follow its backend VNFs' instances on every PoP.

A VNF whose descriptor says it balances VNFs X, Y (see descriptors/loadbalancer.py)
runs Debian's haproxy 2.6 with a configuration popvim writes. Its servers are
every RUNNING instance of X and Y, wherever they run:

- on the load balancer's own PoP, at the instance's address on a virtual link
  they share, on the backend port;
- on another PoP, at that PoP's address (the host of its registered Pop
  address: sites share nothing but IP reachability) and the host port the
  backend port is published on (popvim publishes it, on any free port, for
  every backend whose balancer is elsewhere).

The servers change without a reload, through HAProxy's Runtime API, driven by
each PoP's event stream (the Pop protocol's Events RPC) rather than by
polling: an instance that becomes RUNNING is added; one that dies or is
deleted is put in maintenance and removed at once (before HAProxy's own health
check could notice); one that scale-in will remove is drained first, and only
deleted once its requests have finished. Each change is one Exec of
``haproxy_agent.py`` in the load balancer's container, which also rewrites the
configuration file, so a restarted HAProxy comes back with the current set; a
healed load balancer (a new container, same addresses) is created with it.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, NamedTuple

from sqlalchemy import select

from popvim.client import EventWatch, PopError
from popvim.client.models import Event
from popvim.nfv import discovery
from popvim.nfv.descriptors.model import LoadBalancer, NetworkServiceDescriptor, VnfDescriptor
from popvim.nfv.errors import Conflict, NotFound
from popvim.nfv.pops import PopRegistry, is_loopback
from popvim.store.db import Store
from popvim.store.nfv_models import NsInstanceRow, VnfcRecordRow, VnfRecordRow

log = logging.getLogger(__name__)

SOCKET = "/run/popvim-haproxy.sock"
CONFIG_PATH = "/etc/haproxy/popvim.cfg"
BACKEND = "popvim_backends"
CONFIG_KEY = "POPVIM_LB_CONFIG"  # the configuration at creation, base64: the container's first start writes it
# The container's command when the descriptor gives none: write the configuration unless a
# previous run of this same container left one (rewritten since), then run HAProxy in the foreground.
BOOT = (
    f'cfg={CONFIG_PATH}; if [ ! -s "$cfg" ]; then printf %s "${CONFIG_KEY}" | base64 -d > "$cfg.new" '
    '&& mv "$cfg.new" "$cfg"; fi; exec haproxy -db -f "$cfg"'
)
AGENT = resources.files("popvim.nfv").joinpath("haproxy_agent.py").read_text()
RUNNING = "RUNNING"
NAMES = ""  # the work key of an instance's names (nfv/discovery.py) rather than of one of its balancers
DRAIN_TIMEOUT = 15.0
RETRY_DELAY, RETRIES = 0.3, 40  # an HAProxy that has just started may not have its socket yet


@dataclass(frozen=True, order=True)
class Server:
    name: str
    addr: str
    port: int


class Creation(NamedTuple):
    """What a VNFC's container gets because of load balancing: more metadata, a command, published ports."""

    metadata: dict[str, str]
    command: tuple[str, ...] | None
    ports: dict[str, int | None]


def server_name(vnf: str, index: int) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{vnf}-{index}")


def server_options(lb: LoadBalancer) -> str:
    check = lb.check
    if check.kind == "none":
        return ""
    return f"check inter {int(check.inter_seconds * 1000)}ms fall {check.fall} rise {check.rise}"


def render(lb: LoadBalancer, servers: Iterable[Server]) -> str:
    """The whole haproxy.cfg: one frontend on ``listen``, one backend holding ``servers``."""
    lines = [
        "# Written by popvim (nfv/loadbalancer.py): the servers follow the network service.",
        "global",
        f"    stats socket {SOCKET} mode 600 level admin",
        "    stats timeout 30s",
        "defaults",
        f"    mode {lb.mode}",
        "    timeout connect 1s",
        "    timeout client 30s",
        "    timeout server 30s",
        "    retries 3",
        "    option redispatch 1",  # a connection that fails is retried on another server
    ]
    if lb.mode == "http":
        lines.append("    option http-server-close")  # no idle server connections: removal is immediate
    lines += ["frontend popvim_in", f"    bind :{lb.listen}", f"    default_backend {BACKEND}"]
    lines += [f"backend {BACKEND}", f"    balance {lb.algorithm}"]
    if lb.check.kind == "http":
        lines.append(f"    option httpchk GET {lb.check.path}")
    if lb.mode == "http":
        lines.append("    http-response set-header X-Popvim-Server %[srv_name]")  # per-backend load-test figures
    options = server_options(lb)
    for server in sorted(servers):
        lines.append(f"    server {server.name} {server.addr}:{server.port} {options}".rstrip())
    return "\n".join(lines) + "\n"


def site_address(pop_address: str) -> str:
    """The host of a ``host:port`` (``[v6]:port``) Pop address: where that site's published ports are."""
    host = pop_address.rsplit(":", 1)[0]
    return host.strip("[]")


def _published_key(ports: dict[str, int | None], port: int) -> bool:
    return any(key.split("/")[0] == str(port) for key in ports)


@dataclass
class _Balancer:
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: int = 0
    last: dict[str, Any] = field(default_factory=dict)


class LoadBalancers:
    """The hot-plug controller of every load-balancer VNF of every instance.

    ``descriptor_of`` gives an instance's parsed descriptor (the orchestrator's cache).
    """

    def __init__(
        self,
        store: Store,
        pops: PopRegistry,
        descriptor_of: Callable[[str], NetworkServiceDescriptor],
        interval: float = 1.0,
    ) -> None:
        self._store = store
        self._pops = pops
        self._descriptor_of = descriptor_of
        self._interval = interval
        self._live: dict[str, str] = {}  # Pop container id -> state, from the event streams
        self._published: dict[str, dict[str, int]] = {}  # Pop container id -> published ports
        self._leaving: dict[str, str] = {}  # Pop container id -> VNFC id, drained for removal
        self._balancers: dict[tuple[str, str], _Balancer] = {}
        self._lb_ports: dict[tuple[str, str, int], dict[str, int]] = {}  # (ns, lb, index) -> its published ports
        self._lb_seen: dict[tuple[str, str, int], str] = {}  # ... read from this Pop container
        self._watches: dict[str, EventWatch] = {}
        self._dirty: dict[tuple[str, str], None] = {}
        # Pop container id -> (its events so far, the /etc/hosts text written to it after the last of them)
        self._names: dict[str, tuple[int, str]] = {}
        self._events: dict[str, int] = {}  # Pop container id -> how many of its events were heard
        self._naming: dict[str, bool] = {}  # NS instance id -> its names are being written (True: go again)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- what creation adds -----------------------------------------------------------
    def creation(
        self, ns_id: str, nsd: NetworkServiceDescriptor, vnf: VnfDescriptor, pop_name: str, index: int
    ) -> Creation:
        """A load balancer gets its command, its listen port published and its current servers;
        a backend whose balancer is on another PoP gets its backend port published.

        A healed load balancer (the same ``index``) is published on the host port its
        predecessor had, so that clients find it where it was."""
        ports = dict(vnf.ports)
        metadata: dict[str, str] = {}
        command: tuple[str, ...] | None = None
        lb = vnf.load_balancer
        if lb is not None:
            if not _published_key(ports, lb.listen):
                before = self._lb_ports.get((ns_id, vnf.name, index), {})
                key = f"{lb.listen}/tcp"
                ports[key] = before.get(key) or before.get(str(lb.listen)) or None
            config = render(lb, self._servers(ns_id, nsd, vnf, pop_name))
            metadata[CONFIG_KEY] = base64.b64encode(config.encode()).decode()
            command = None if vnf.command else ("sh", "-c", BOOT)
        for balancer in nsd.balancers_of(vnf.name):
            assert balancer.load_balancer is not None
            port = balancer.load_balancer.port
            if (balancer.pop or self._pops.local_name) != pop_name and not _published_key(ports, port):
                ports[f"{port}/tcp"] = None
        return Creation(metadata, command, ports)

    def check_reachable(self, nsd: NetworkServiceDescriptor) -> None:
        """Refuse (before anything is made) a service whose load balancer would have to reach a
        backend on another PoP at a loopback address: that PoP (typically the orchestrator's own,
        registered on 127.0.0.1) advertises no address the balancer's site can reach. Two PoPs that
        are both on loopback are on one host, where that works."""
        for vnf in nsd.vnfs:
            lb = vnf.load_balancer
            if lb is None:
                continue
            lb_pop = vnf.pop or self._pops.local_name
            for backend in lb.backends:
                pop = nsd.vnf(backend).pop or self._pops.local_name
                if pop == lb_pop:
                    continue
                try:
                    where, lb_where = self._pops.site_address(pop), self._pops.site_address(lb_pop)
                except NotFound:
                    continue  # instantiate says so, in its own words
                if is_loopback(where) and not is_loopback(lb_where):
                    how = (
                        "set [pop].advertise_address in its popvimd's configuration"
                        if pop == self._pops.local_name
                        else "register it with an advertise address (POST /v1/pops {..., advertise})"
                    )
                    raise Conflict(
                        f"load balancer {vnf.name!r} on PoP {lb_pop!r} must reach backend {backend!r} on PoP "
                        f"{pop!r}, whose address {where} is loopback only: {how} (an IP address {lb_pop!r} reaches)"
                    )

    # --- scale in: drain before delete ---------------------------------------------------
    def drain(self, ns_id: str, vnfc_ids: Sequence[str]) -> None:
        """Take these VNFCs out of every load balancer that routes to them, waiting (bounded)
        until their running requests have finished: called before they are deleted."""
        try:
            nsd = self._descriptor_of(ns_id)
        except Exception:  # noqa: BLE001 - nothing to drain from
            return
        with self._store.session() as session:
            rows = [session.get(VnfcRecordRow, v) for v in vnfc_ids]
            leaving = [(r.id, r.pop_container_id, r.vnf.vnf_name, r.index) for r in rows if r is not None]
        with self._lock:
            for vnfc_id, container_id, _vnf, _index in leaving:
                if container_id:
                    self._leaving[container_id] = vnfc_id
        names_by_lb: dict[str, list[str]] = {}
        for _id, _container, vnf_name, index in leaving:
            for balancer in nsd.balancers_of(vnf_name):
                names_by_lb.setdefault(balancer.name, []).append(server_name(vnf_name, index))
        for lb_name, names in names_by_lb.items():
            try:
                self.sync(ns_id, lb_name, drain=names)
            except Exception as exc:  # noqa: BLE001 - the scale-in goes on; the deletion event removes them
                log.warning("could not drain %s from %s: %s", ", ".join(names), lb_name, exc)

    # --- the controller -------------------------------------------------------------------
    def start(self) -> None:
        # Two workers: a balancer's change never waits behind a service's names being rewritten.
        for target, name in ((self._maintain, "watches"), (self._work, "sync-1"), (self._work, "sync-2")):
            thread = threading.Thread(target=target, name=f"popvim-lb-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        for watch in list(self._watches.values()):
            watch.stop()
        for thread in self._threads:
            thread.join(timeout=10)

    def watched(self) -> set[str]:
        """The PoPs whose event streams are open now."""
        return {name for name, watch in self._watches.items() if watch.connected.is_set()}

    def last(self, ns_id: str, lb_name: str) -> dict[str, Any]:
        """What the last change of that load balancer did (the agent's report), for operators and tests."""
        balancer = self._balancers.get((ns_id, lb_name))
        return dict(balancer.last) if balancer else {}

    def _maintain(self) -> None:
        """Keep one event stream open per PoP that hosts part of a network service."""
        while not self._stop.wait(self._interval):
            try:
                wanted = self._pops_to_watch()
            except Exception:
                log.exception("cannot tell which PoPs to watch")
                continue
            for name in wanted - set(self._watches):
                self._watches[name] = EventWatch(
                    name,
                    lambda n=name: self._pops.client(n, timeout=10),  # type: ignore[misc]
                    lambda event, n=name: self._on_event(n, event),  # type: ignore[misc]
                    on_open=lambda n=name: self._on_open(n),  # type: ignore[misc]
                    kinds=["container."],
                ).start()
            for name in set(self._watches) - wanted:
                self._watches.pop(name).stop()

    def _instances(self) -> list[tuple[str, NetworkServiceDescriptor, set[str]]]:
        """(instance id, descriptor, PoPs it uses) of every instance that has VNFs."""
        with self._store.session() as session:
            rows = session.scalars(select(NsInstanceRow)).all()
            found = [(r.id, {v.pop_name for v in r.vnfs}) for r in rows]
        result = []
        for ns_id, pops in found:
            try:
                nsd = self._descriptor_of(ns_id)
            except Exception:  # noqa: BLE001 - deleted meanwhile
                continue
            if pops:
                result.append((ns_id, nsd, pops))
        return result

    def _pops_to_watch(self) -> set[str]:
        return {pop for _ns, _nsd, pops in self._instances() for pop in pops}

    def _mark_all(self) -> None:
        for ns_id, nsd, _pops in self._instances():
            self._mark(ns_id, NAMES)
            for vnf in nsd.vnfs:
                if vnf.load_balancer:
                    self._mark(ns_id, vnf.name)

    def _on_open(self, pop_name: str) -> None:
        """A (re)opened stream: re-read that PoP's containers, then let every balancer catch up."""
        try:
            listing = self._pops.client(pop_name, timeout=10).containers()
        except PopError as exc:
            log.warning("cannot list the containers of %s: %s", pop_name, exc)
            listing = []
        with self._lock:
            for container in listing:
                self._live[container.id] = container.status
            self._names.clear()  # what happened while the stream was closed went unheard: write all anew
        self._mark_all()

    def _on_event(self, pop_name: str, event: Event) -> None:
        with self._lock:  # a (re)started or moved container has a file of its own again: write it anew
            self._events[event.subject] = self._events.get(event.subject, 0) + 1
        state = event.data.get("state") if event.kind == "container.state" else None
        if event.kind == "container.deleted":
            state = "DELETED"
        if state is None:
            return
        with self._lock:
            self._live[event.subject] = state
            if state == "DELETED":
                self._live.pop(event.subject, None)
                self._published.pop(event.subject, None)
                self._names.pop(event.subject, None)
                self._events.pop(event.subject, None)
                self._leaving.pop(event.subject, None)
        with self._store.session() as session:
            found = session.execute(
                select(VnfRecordRow.ns_id, VnfRecordRow.vnf_name)
                .join(VnfcRecordRow, VnfcRecordRow.vnf_id == VnfRecordRow.id)
                .where(VnfcRecordRow.pop_container_id == event.subject)
            ).first()
        if found is None:
            if state == "DELETED":  # its record went first (scale in, terminate): check every balancer
                self._mark_all()
            return
        ns_id, vnf_name = found
        try:
            nsd = self._descriptor_of(ns_id)
        except Exception:  # noqa: BLE001 - the instance went meanwhile
            return
        if nsd.vnf(vnf_name).load_balancer and state == RUNNING:
            self._mark(ns_id, vnf_name)  # a (re)started load balancer: make sure it has the current set
        if state in (RUNNING, "EXITED", "FAILED", "DELETED", "STOPPING"):
            for balancer in nsd.balancers_of(vnf_name):  # first: a dead server must stop getting requests
                self._mark(ns_id, balancer.name)
            self._mark(ns_id, NAMES)

    def _mark(self, ns_id: str, lb_name: str) -> None:
        with self._wake:
            self._dirty[(ns_id, lb_name)] = None
            self._wake.notify()

    def _work(self) -> None:
        while not self._stop.is_set():
            with self._wake:
                while not self._dirty and not self._stop.is_set():
                    self._wake.wait(1.0)
                if self._stop.is_set():
                    return
                key = next(iter(self._dirty))
                del self._dirty[key]
            try:
                if key[1] == NAMES:
                    self.sync_names(key[0])
                else:
                    self.sync(*key)
            except Exception as exc:  # noqa: BLE001 - retried: the balancer may still be starting
                balancer = self._balancers.setdefault(key, _Balancer())
                balancer.attempts += 1
                if balancer.attempts <= RETRIES:
                    log.info("load balancer %s of %s not updated yet (%s); retrying", key[1], key[0], exc)
                    timer = threading.Timer(RETRY_DELAY, self._mark, key)
                    timer.daemon = True
                    timer.start()
                else:
                    log.warning("load balancer %s of %s not updated: %s", key[1], key[0], exc)
            else:
                self._balancers.setdefault(key, _Balancer()).attempts = 0

    # --- one change ------------------------------------------------------------------------
    def sync(self, ns_id: str, lb_name: str, drain: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Bring every RUNNING instance of the load balancer to the current set of servers;
        ``drain``: server names to drain before they are removed. Returns the agents' reports."""
        nsd = self._descriptor_of(ns_id)
        lb_vnf = nsd.vnf(lb_name)
        lb = lb_vnf.load_balancer
        if lb is None:
            return []
        balancer = self._balancers.setdefault((ns_id, lb_name), _Balancer())
        reports = []
        with balancer.lock:
            with self._store.session() as session:
                record = session.scalar(
                    select(VnfRecordRow).where(VnfRecordRow.ns_id == ns_id, VnfRecordRow.vnf_name == lb_name)
                )
                instances = [
                    (c.pop_name, c.pop_container_id, c.state, c.index) for c in (record.vnfcs if record else [])
                ]
            for pop_name, container_id, recorded, index in instances:
                if not container_id or self._state(container_id, recorded) != RUNNING:
                    continue
                client = self._pops.client(pop_name, timeout=DRAIN_TIMEOUT + 15)
                if self._lb_seen.get((ns_id, lb_name, index)) != container_id:  # a new LB container: its ports
                    published = client.container(f"id:{container_id}").ports
                    if published and all(published.values()):
                        self._lb_ports[(ns_id, lb_name, index)] = published
                        self._lb_seen[(ns_id, lb_name, index)] = container_id
                servers = self._servers(ns_id, nsd, lb_vnf, pop_name)
                spec = {
                    "socket": SOCKET,
                    "backend": BACKEND,
                    "servers": [vars(s) for s in servers],
                    "options": server_options(lb),
                    "drain": list(drain),
                    "drain_timeout": DRAIN_TIMEOUT,
                    "config": render(lb, servers),
                    "config_path": CONFIG_PATH,
                }
                started = time.monotonic()
                out = client.exec(f"id:{container_id}", ["python3", "-c", AGENT, json.dumps(spec)])
                if out.exit_code != 0:
                    raise RuntimeError(f"the agent exited {out.exit_code}: {out.stderr.strip()[-300:]}")
                report = json.loads(out.stdout)
                report["servers"] = [s.name for s in servers]
                report["seconds"] = round(time.monotonic() - started, 3)
                if report["added"] or report["removed"] or report["updated"] or report["errors"]:
                    log.info("load balancer %s of %s: %s", lb_name, ns_id, report)
                balancer.last = report
                reports.append(report)
        return reports

    def sync_names(self, ns_id: str) -> int:
        """Rewrite the names (``/etc/hosts``) of every RUNNING VNFC of the instance; how many were written.

        One instance's names are written by one call at a time: two at once (a server and its
        client starting together) could land the one that read the older states last, and leave a
        VNFC without a name until its next event. A call that finds another one writing asks it
        to go again, from the states as they are then, and returns at once."""
        with self._lock:
            if ns_id in self._naming:
                self._naming[ns_id] = True
                return 0
            self._naming[ns_id] = False
        written = 0
        try:
            while True:
                written += self._write_names(ns_id)
                with self._lock:
                    if not self._naming[ns_id]:
                        del self._naming[ns_id]
                        return written
                    self._naming[ns_id] = False
        except BaseException:
            with self._lock:
                self._naming.pop(ns_id, None)
            raise

    def _write_names(self, ns_id: str) -> int:
        nsd = self._descriptor_of(ns_id)
        with self._store.session() as session:
            ns = session.get(NsInstanceRow, ns_id)
            if ns is None:
                return 0
            ns_name = ns.name
            rows = [(v.vnf_name, c) for v in ns.vnfs for c in v.vnfcs]
            found = [
                (
                    discovery.Instance(vnf_name, c.index, c.pop_name, dict(c.addresses or {}), False),
                    c.pop_container_id,
                    c.state,
                )
                for vnf_name, c in rows
            ]
        instances = [
            discovery.Instance(i.vnf, i.index, i.pop, i.addresses, cid is not None and self._state(cid, st) == RUNNING)
            for i, cid, st in found
        ]
        addresses: dict[str, str] = {}

        def site(pop_name: str) -> str:
            if pop_name not in addresses:
                addresses[pop_name] = self._pops.site_address(pop_name)
            return addresses[pop_name]

        written = 0
        for viewer, (_i, container_id, _s) in zip(instances, found, strict=True):
            if not viewer.running or not container_id:
                continue
            text = discovery.hosts(ns_name, nsd, viewer, instances, site)
            with self._lock:
                heard = self._events.get(container_id, 0)
                if self._names.get(container_id) == (heard, text):
                    continue  # it has these names, and nothing happened to it since
            out = self._pops.client(viewer.pop, timeout=15).exec(f"id:{container_id}", [*discovery.WRITE, text])
            if out.exit_code != 0:
                raise RuntimeError(f"writing /etc/hosts failed ({out.exit_code}): {out.stderr.strip()[-200:]}")
            with self._lock:
                self._names[container_id] = (heard, text)
            written += 1
        return written

    def _state(self, container_id: str, recorded: str) -> str:
        with self._lock:
            return self._live.get(container_id, recorded)

    def _servers(self, ns_id: str, nsd: NetworkServiceDescriptor, lb_vnf: VnfDescriptor, lb_pop: str) -> list[Server]:
        """Every RUNNING instance of the backends, as the load balancer on ``lb_pop`` reaches it."""
        lb = lb_vnf.load_balancer
        assert lb is not None
        lb_links = {cp.virtual_link for cp in lb_vnf.connection_points}
        with self._store.session() as session:
            ns = session.get(NsInstanceRow, ns_id)
            vnfcs = [
                (v.vnf_name, c.index, c.pop_name, c.pop_container_id, c.state, dict(c.addresses or {}))
                for v in (ns.vnfs if ns else [])
                if v.vnf_name in lb.backends
                for c in v.vnfcs
            ]
        with self._lock:
            leaving = set(self._leaving)
        servers = []
        for vnf_name, index, pop_name, container_id, recorded, addresses in sorted(vnfcs):
            if not container_id or container_id in leaving or self._state(container_id, recorded) != RUNNING:
                continue
            name = server_name(vnf_name, index)
            if pop_name == lb_pop:
                links = [cp.virtual_link for cp in nsd.vnf(vnf_name).connection_points if cp.virtual_link in lb_links]
                addr = next((addresses[link] for link in links if addresses.get(link)), None)
                if addr is None:
                    log.warning("%s shares no virtual link with load balancer %s: left out", name, lb_vnf.name)
                    continue
                servers.append(Server(name, addr, lb.port))
                continue
            host_port = self._host_port(pop_name, container_id, lb.port)
            if not host_port:
                log.warning("%s on %s publishes no port for %d: left out", name, pop_name, lb.port)
                continue
            where = self._pops.site_address(pop_name)
            if is_loopback(where) and not is_loopback(self._pops.site_address(lb_pop)):
                log.warning("%s on %s is reachable on loopback only (no advertised address): left out", name, pop_name)
                continue
            servers.append(Server(name, where, host_port))
        return servers

    def _host_port(self, pop_name: str, container_id: str, port: int) -> int | None:
        with self._lock:
            ports = self._published.get(container_id)
        if not ports:
            try:
                ports = self._pops.client(pop_name, timeout=10).container(f"id:{container_id}").ports
            except PopError as exc:
                log.warning("cannot read the ports of %s on %s: %s", container_id, pop_name, exc)
                return None
            if ports and all(ports.values()):
                with self._lock:
                    self._published[container_id] = ports
        return next((host for key, host in ports.items() if key.split("/")[0] == str(port) and host), None)
