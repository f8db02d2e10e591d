"""Finding the orchestrator's records in a session: NotFound, with what was asked, otherwise."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from popvim.clock import utcnow
from popvim.nfv.errors import NotFound
from popvim.store.nfv_models import NsdRow, NsInstanceRow, VnfRecordRow

now = utcnow  # the records' time: the one clock, UTC without a zone as the DateTime columns hold it


def nsd_row(session: Session, nsd_id: str) -> NsdRow:
    row = session.get(NsdRow, nsd_id)
    if row is None:
        raise NotFound(f"NS descriptor {nsd_id!r} not found")
    return row


def ns_row(session: Session, ns_id: str) -> NsInstanceRow:
    """An instance by its id or its name."""
    row = session.get(NsInstanceRow, ns_id) or session.scalar(select(NsInstanceRow).where(NsInstanceRow.name == ns_id))
    if row is None:
        raise NotFound(f"NS instance {ns_id!r} not found")
    return row


def vnf_record(ns: NsInstanceRow, vnf_name: str) -> VnfRecordRow | None:
    return next((v for v in ns.vnfs if v.vnf_name == vnf_name), None)
