"""Network service instances: made from a descriptor, listed, deleted once terminated."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from popvim.nfv import naming
from popvim.nfv.catalogue import Catalogue
from popvim.nfv.errors import Conflict, Invalid
from popvim.nfv.operations import OperationRunner
from popvim.nfv.records import NsInstance, instance_view
from popvim.nfv.rows import now, ns_row, nsd_row
from popvim.nfv.states import NsState
from popvim.store.db import Store
from popvim.store.nfv_models import LoadTestRow, NsInstanceRow, OpOccRow

# Short enough that the names made from it (naming.container_name) stay within the PoP's limits.
INSTANCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,23}$")


class Instances:
    def __init__(self, store: Store, catalogue: Catalogue, runner: OperationRunner) -> None:
        self._store = store
        self._catalogue = catalogue
        self._runner = runner

    def create(self, nsd_id: str, name: str | None = None) -> NsInstance:
        with self._store.session() as session:
            nsd = nsd_row(session, nsd_id)
            name = name or f"{naming.slug(nsd.name)[:15]}-{uuid.uuid4().hex[:6]}"
            if not INSTANCE_NAME.match(name):
                raise Invalid("nsName must be 1-24 letters, digits, '_', '.' or '-', starting with a letter or digit")
            if session.scalar(select(NsInstanceRow.id).where(NsInstanceRow.name == name)):
                raise Conflict(f"an instance named {name!r} exists already")
            row = NsInstanceRow(
                id=str(uuid.uuid4()), name=name, nsd_id=nsd_id, state=NsState.NOT_INSTANTIATED, created_at=now()
            )
            session.add(row)
            try:
                session.flush()
            except IntegrityError as exc:  # a concurrent create took the name
                raise Conflict(f"an instance named {name!r} exists already") from exc
            return instance_view(row, self._catalogue.parsed(nsd))

    def list(self) -> list[NsInstance]:
        with self._store.session() as session:
            rows = session.scalars(select(NsInstanceRow).order_by(NsInstanceRow.created_at)).all()
            return [instance_view(r, self._catalogue.of(session, r)) for r in rows]

    def get(self, ns_id: str) -> NsInstance:
        with self._store.session() as session:
            row = ns_row(session, ns_id)
            return instance_view(row, self._catalogue.of(session, row))

    def delete(self, ns_id: str) -> None:
        with self._runner.exclusive() as busy, self._store.session() as session:
            row = ns_row(session, ns_id)
            if row.id in busy:
                raise Conflict(f"an operation on {row.name!r} is in progress")
            if row.state != NsState.NOT_INSTANTIATED or row.vnfs or row.networks:
                raise Conflict(f"instance {row.name!r} must be terminated before it is deleted")
            session.execute(delete(OpOccRow).where(OpOccRow.ns_id == row.id))
            session.execute(delete(LoadTestRow).where(LoadTestRow.ns_id == row.id))
            session.delete(row)
