"""Instantiate: the instance's networks, then its VNFs level by level, sources first.

A source's addresses configure its targets (popvim.nfv.dependencies), so each level is
created and started before the next is created. Any failure rolls back everything made.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import delete

from popvim.client import AlreadyExists as PopAlreadyExists
from popvim.nfv import naming
from popvim.nfv.dependencies import start_order
from popvim.nfv.descriptors.model import NetworkServiceDescriptor, VnfDescriptor
from popvim.nfv.errors import Conflict, describe
from popvim.nfv.fanout import parallel
from popvim.nfv.rows import ns_row
from popvim.nfv.states import NsState
from popvim.nfv.workflows import terminate
from popvim.nfv.workflows.context import Context
from popvim.store.nfv_models import NsInstanceRow, NsNetworkRow, VnfRecordRow

log = logging.getLogger(__name__)


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
        for level in levels:
            jobs = [(vnf, records[vnf.name], index) for vnf in level for index in range(vnf.initial_instances)]
            made = parallel(ctx.pool, jobs, lambda job: ctx.vnfcs.create(ns_id, nsd, job[0], job[1], job[2]))
            parallel(ctx.pool, made, ctx.vnfcs.start)
        with ctx.store.session() as session:
            ns_row(session, ns_id).state = NsState.INSTANTIATED
    except Exception as exc:
        log.warning("instantiate of %s failed (%s); rolling back", name, describe(exc))
        terminate.run(ctx, ns_id)
        raise RuntimeError(f"{describe(exc)}; everything made was rolled back") from exc


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
