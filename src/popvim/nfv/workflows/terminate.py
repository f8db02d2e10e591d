"""Terminate: delete every container and network an instance's records name, on every PoP.

Also the rollback of a failed instantiate. ``force``: what cannot be reached (or sits on
a PoP that was unregistered) counts as deleted, so an instance on a PoP that is gone for
good can still be terminated and deleted.
"""

from __future__ import annotations

from popvim.nfv import cleanup
from popvim.nfv.fanout import parallel
from popvim.nfv.rows import ns_row
from popvim.nfv.states import NsState
from popvim.nfv.workflows.context import Context
from popvim.store.nfv_models import NsNetworkRow


def run(ctx: Context, ns_id: str, force: bool = False) -> None:
    with ctx.store.session() as session:
        ns = ns_row(session, ns_id)
        vnfcs = [(c.id, c.pop_name, c.pop_container_id, c.container_name) for v in ns.vnfs for c in v.vnfcs]
        networks = [(n.id, n.pop_name, n.network_name) for n in ns.networks]
    parallel(ctx.pool, vnfcs, lambda v: ctx.vnfcs.forget(*v, force=force))
    for row_id, pop_name, network_name in networks:  # after the containers: they are attached to them
        cleanup.delete_network(ctx.pops, pop_name, network_name, ns_id, force)
        with ctx.store.session() as session:
            row = session.get(NsNetworkRow, row_id)
            if row is not None:
                session.delete(row)
    with ctx.store.session() as session:
        ns = ns_row(session, ns_id)
        for vnf in list(ns.vnfs):
            session.delete(vnf)
        ns.state = NsState.NOT_INSTANTIATED
