"""Scale a VNF out (new VNFCs at the next indexes) or in (the newest VNFCs go first).

The bounds are the descriptor's min and max instances. A scale-out that fails part way
removes what it made, so the VNF keeps the instances it had.
"""

from __future__ import annotations

from popvim.nfv.errors import Conflict, Invalid, NotFound
from popvim.nfv.fanout import parallel
from popvim.nfv.rows import now, ns_row, vnf_record
from popvim.nfv.states import NsState
from popvim.nfv.workflows.context import Context
from popvim.store.nfv_models import NsInstanceRow, VnfRecordRow

OUT, IN = "out", "in"


def check_request(direction: str, steps: int) -> None:
    if direction not in (OUT, IN) or steps < 1:
        raise Invalid("direction must be 'out' or 'in' and steps at least 1")


def check(ctx: Context, ns: NsInstanceRow, vnf_name: str, direction: str, steps: int) -> None:
    if ns.state != NsState.INSTANTIATED:
        raise Conflict(f"instance {ns.name!r} is {ns.state}")
    record = vnf_record(ns, vnf_name)
    if record is None:
        raise NotFound(f"instance {ns.name!r} has no VNF {vnf_name!r}")
    with ctx.store.session() as session:
        vnf = ctx.catalogue.of(session, ns).vnf(vnf_name)
    target = len(record.vnfcs) + (steps if direction == OUT else -steps)
    if not vnf.min_instances <= target <= vnf.max_instances:
        raise Conflict(
            f"scaling {vnf_name} {direction} by {steps} would give {target} instances, "
            f"outside {vnf.min_instances}..{vnf.max_instances}"
        )


def run(ctx: Context, ns_id: str, vnf_name: str, direction: str, steps: int) -> None:
    with ctx.store.session() as session:
        ns = ns_row(session, ns_id)
        nsd = ctx.catalogue.of(session, ns)
        record = vnf_record(ns, vnf_name)
        if record is None:
            raise NotFound(f"instance {ns.name!r} has no VNF {vnf_name!r}")
        newest = sorted(
            ((c.index, c.id, c.pop_name, c.pop_container_id, c.container_name) for c in record.vnfcs), reverse=True
        )
        record_id = record.id
    if direction == IN:
        if ctx.before_removal is not None:
            ctx.before_removal(ns_id, [v[1] for v in newest[:steps]])  # no request lost to the removal
        parallel(ctx.pool, newest[:steps], lambda v: ctx.vnfcs.forget(*v[1:]))
    else:
        first = (newest[0][0] + 1) if newest else 0
        made: list[str] = []  # appended from the pool's threads (atomic), rolled back after all have ended

        def grow(index: int) -> None:
            vnfc_id = ctx.vnfcs.create(ns_id, nsd, nsd.vnf(vnf_name), record_id, index)
            made.append(vnfc_id)
            ctx.vnfcs.start(vnfc_id)

        try:
            parallel(ctx.pool, range(first, first + steps), grow)  # each starts as soon as it is made
        except Exception:
            ctx.vnfcs.roll_back(made)
            raise
    with ctx.store.session() as session:  # only a scale that happened counts for the cooldown
        row = session.get(VnfRecordRow, record_id)
        if row is not None:
            row.last_scaled_at = now()
