"""Heal: replace VNFCs' containers, each keeping its record, index, addresses and configuration.

Default: every VNFC that is not RUNNING once the PoPs have been asked again.
"""

from __future__ import annotations

from popvim.nfv.errors import Conflict, NotFound
from popvim.nfv.rows import ns_row
from popvim.nfv.states import NsState, VnfcState
from popvim.nfv.workflows.context import Context
from popvim.store.nfv_models import NsInstanceRow


def check(ns: NsInstanceRow, vnfc_ids: list[str] | None) -> None:
    if ns.state != NsState.INSTANTIATED:
        raise Conflict(f"instance {ns.name!r} is {ns.state}")
    unknown = set(vnfc_ids or ()) - {c.id for v in ns.vnfs for c in v.vnfcs}
    if unknown:
        raise NotFound(f"instance {ns.name!r} has no VNFC {', '.join(sorted(unknown))}")


def run(ctx: Context, ns_id: str, vnfc_ids: list[str] | None) -> None:
    ctx.observer.refresh(ns_id)
    with ctx.store.session() as session:
        ns = ns_row(session, ns_id)
        nsd = ctx.catalogue.of(session, ns)
        chosen = [
            (c.id, v.vnf_name, v.id, c.index, dict(c.addresses or {}))
            for v in ns.vnfs
            for c in v.vnfcs
            if (c.id in vnfc_ids if vnfc_ids else c.state != VnfcState.RUNNING)
        ]
    for vnfc_id, vnf_name, record_id, index, addresses in chosen:
        ctx.vnfcs.delete_container(vnfc_id)
        ctx.vnfcs.set_state(vnfc_id, VnfcState.HEALING)
        ctx.vnfcs.create(ns_id, nsd, nsd.vnf(vnf_name), record_id, index, fixed=addresses, replacing=vnfc_id)
        ctx.vnfcs.start(vnfc_id)
