"""Instantiate: the instance's networks, then its VNFs level by level, sources first.

A source's addresses configure its targets (popvim.nfv.dependencies), so a level told them
starts after those sources have started, and is told their addresses (metadata, before its
start) then; its containers are created meanwhile. On a cluster PoP (Swarm) a source's
addresses are known once the PoP has placed it, before it runs: its targets start from then,
alongside it. A level told only names (``hostname``) and configuration values starts as soon
as it is created. Any failure rolls back everything made.
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, wait

from sqlalchemy import delete

from popvim.client import AlreadyExists as PopAlreadyExists
from popvim.nfv import naming
from popvim.nfv.dependencies import start_order, tells_addresses
from popvim.nfv.descriptors.model import Dependency, NetworkServiceDescriptor, VnfDescriptor
from popvim.nfv.errors import Conflict, describe
from popvim.nfv.fanout import parallel
from popvim.nfv.rows import ns_row
from popvim.nfv.states import NsState
from popvim.nfv.workflows import terminate
from popvim.nfv.workflows.context import Context
from popvim.store.nfv_models import NsInstanceRow, NsNetworkRow, VnfRecordRow

log = logging.getLogger(__name__)

PLACED_POLL = 0.05  # s between looks at whether a starting source is placed (a Start takes a second or more there)


def check(ns: NsInstanceRow) -> None:
    if ns.state != NsState.NOT_INSTANTIATED:
        raise Conflict(f"instance {ns.name!r} is {ns.state}")
    if ns.vnfs or ns.networks:
        raise Conflict(f"instance {ns.name!r} holds what an interrupted operation made: terminate it first")


def run(ctx: Context, ns_id: str) -> None:
    with ctx.store.session() as session:
        ns = ns_row(session, ns_id)
        nsd, name = ctx.catalogue.of(session, ns), ns.name
    try:
        levels = start_order(nsd)
        _make_networks(ctx, ns_id, name, nsd)
        records = {v.name: _add_vnf_record(ctx, ns_id, v, i) for i, v in enumerate(nsd.vnfs)}
        jobs = [
            [(vnf, records[vnf.name], index) for vnf in level for index in range(vnf.initial_instances)]
            for level in levels
        ]
        first = parallel(ctx.pool, jobs[0], lambda job: ctx.vnfcs.create(ns_id, nsd, job[0], job[1], job[2]))
        starts: dict[str, tuple[str, Future[None]]] = {}  # VNFC id -> (its VNF, its start)
        for job, vnfc in zip(jobs[0], first, strict=True):
            starts[vnfc] = (job[0].name, ctx.pool.submit(ctx.vnfcs.start, vnfc))
        # The later levels' containers are created (records written, addresses reserved) while the
        # first level starts (not before: the first level's creates come first). Each is told its
        # sources' values just before it starts, once the sources it is told addresses of have them;
        # one told only values its first-level sources' records hold already is told them at create,
        # and started as soon as it is created.
        firsts = {vnf.name for vnf in levels[0]}
        resolved = {
            vnf.name
            for level in levels[1:]
            for vnf in level
            if all(d.source in firsts and not tells_addresses(nsd, d) for d in _into(nsd, [vnf]))
        }
        later = _Later(ctx, ns_id, nsd, [job for level in jobs[1:] for job in level], resolved)
        try:
            for vnfs, level in zip(levels[1:], jobs[1:], strict=True):
                waited = {d.source for d in _into(nsd, vnfs) if tells_addresses(nsd, d)}
                _until_addressed(ctx, {v: start for v, (vnf, start) in starts.items() if vnf in waited})
                created = later.result()
                starts.update(later.starts())  # a later level may be told their addresses
                for job in level:
                    vnfc, name = created[id(job)], job[0].name
                    if name not in resolved:  # a resolved one was started as soon as it was created
                        starts[vnfc] = (name, ctx.pool.submit(_resolve_and_start, ctx, nsd, vnfc))
            for _vnf, start in starts.values():
                start.result()
        except Exception:
            later.join()  # a rollback never races a create or a start still running
            starts.update(later.starts())
            wait([start for _vnf, start in starts.values()])
            raise
        with ctx.store.session() as session:
            ns_row(session, ns_id).state = NsState.INSTANTIATED
    except Exception as exc:
        log.warning("instantiate of %s failed (%s); rolling back", name, describe(exc))
        terminate.run(ctx, ns_id)
        raise RuntimeError(f"{describe(exc)}; everything made was rolled back") from exc


Job = tuple[VnfDescriptor, str, int]


class _Later:
    """Creates the later levels' containers in a thread of its own (not the pool's: the jobs it
    hands the pool must never wait for a pool worker it holds); unconfigured, but for the VNFs
    in ``resolved``, which are told all they need at create and so are started as soon as each
    is created (none waits for the slowest create of its level: on a Swarm PoP the service is
    made at start)."""

    def __init__(
        self, ctx: Context, ns_id: str, nsd: NetworkServiceDescriptor, jobs: list[Job], resolved: set[str]
    ) -> None:
        self._jobs = jobs
        self._made: dict[int, str] = {}
        self._error: Exception | None = None
        self._started: dict[str, tuple[str, Future[None]]] = {}  # VNFC id -> (its VNF, its start)
        self._lock = threading.Lock()

        def create(job: Job) -> str:
            told_all = job[0].name in resolved
            vnfc = ctx.vnfcs.create(ns_id, nsd, job[0], job[1], job[2], resolve=told_all)
            if told_all:
                with self._lock:
                    self._started[vnfc] = (job[0].name, ctx.pool.submit(ctx.vnfcs.start, vnfc))
            return vnfc

        def run() -> None:
            try:
                self._made = dict(zip((id(j) for j in jobs), parallel(ctx.pool, jobs, create), strict=True))
            except Exception as exc:  # noqa: BLE001 - raised by result()
                self._error = exc

        self._thread = threading.Thread(target=run, name="popvim-nfv-create-later", daemon=True)
        if jobs:
            self._thread.start()

    def join(self) -> None:
        if self._jobs:
            self._thread.join()

    def result(self) -> dict[int, str]:
        """id(job) -> its VNFC id."""
        self.join()
        if self._error is not None:
            raise self._error
        return self._made

    def starts(self) -> dict[str, tuple[str, Future[None]]]:
        """The starts of the resolved VNFCs created so far: VNFC id -> (its VNF, its start)."""
        with self._lock:
            return dict(self._started)


def _until_addressed(ctx: Context, starts: dict[str, Future[None]]) -> None:
    """Until every VNFC of ``starts`` (VNFC id -> its start) has the addresses it runs with, so
    that a later level can be told them: its Start has returned or, on a cluster PoP (Swarm,
    which picks addresses when it places a task), the PoP shows it placed while the Start still
    waits for it to run. A failed Start is raised."""
    waiting = dict(starts)
    while True:
        for vnfc_id, start in list(waiting.items()):
            if start.done():
                start.result()
                del waiting[vnfc_id]
            elif ctx.vnfcs.placed(vnfc_id):
                del waiting[vnfc_id]
        if not waiting:
            return
        wait(waiting.values(), timeout=PLACED_POLL, return_when=FIRST_COMPLETED)


def _into(nsd: NetworkServiceDescriptor, vnfs: list[VnfDescriptor]) -> list[Dependency]:
    """The dependencies whose targets are among ``vnfs``."""
    names = {v.name for v in vnfs}
    return [d for d in nsd.dependencies if d.target in names]


def _resolve_and_start(ctx: Context, nsd: NetworkServiceDescriptor, vnfc_id: str) -> None:
    ctx.vnfcs.resolve(nsd, vnfc_id)
    ctx.vnfcs.start(vnfc_id)


def _make_networks(ctx: Context, ns_id: str, ns_name: str, nsd: NetworkServiceDescriptor) -> None:
    """One network per virtual link on each PoP that a VNF on that link is placed on."""
    needed: dict[tuple[str, str], None] = {}  # a dict, so they are made in descriptor order
    for vnf in nsd.vnfs:
        for cp in vnf.connection_points:
            needed[(cp.virtual_link, vnf.pop or ctx.pops.local_name)] = None
    links = {vl.name: vl for vl in nsd.virtual_links}
    for vl_name, pop_name in needed:
        vl = links[vl_name]
        network_name = naming.network_name(ns_name, ns_id, vl.network_name or vl.name, vl_name)
        with ctx.store.session() as session:  # recorded first: a crash leaves nothing unnamed
            row = NsNetworkRow(ns_id=ns_id, virtual_link=vl_name, pop_name=pop_name, network_name=network_name)
            session.add(row)
            session.flush()
            row_id = row.id
        try:
            ctx.pops.client(pop_name).create_network(
                network_name,
                subnet=vl.subnet or "",
                labels=naming.network_labels(ns_id),
                bandwidth=vl.bandwidth or "",  # enforced by the PoP (tc), refused where it cannot be
            )
        except PopAlreadyExists:
            # The name (or the subnet) is someone else's: forget the record, so that the
            # rollback never deletes what holds it.
            with ctx.store.session() as session:
                session.execute(delete(NsNetworkRow).where(NsNetworkRow.id == row_id))
            raise


def _add_vnf_record(ctx: Context, ns_id: str, vnf: VnfDescriptor, position: int) -> str:
    with ctx.store.session() as session:
        row = VnfRecordRow(
            id=str(uuid.uuid4()),
            ns_id=ns_id,
            vnf_name=vnf.name,
            position=position,
            pop_name=vnf.pop or ctx.pops.local_name,
        )
        session.add(row)
        return row.id
