"""The descriptor catalogue: onboarded network service descriptors, stored as sent, read once."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from popvim.nfv.descriptors import read_descriptor
from popvim.nfv.descriptors.model import DescriptorError, NetworkServiceDescriptor, Problem
from popvim.nfv.errors import Conflict, NotFound
from popvim.nfv.records import NsDescriptor, nsd_view
from popvim.nfv.rows import now, nsd_row
from popvim.store.db import Store
from popvim.store.nfv_models import NsdRow, NsInstanceRow


class Catalogue:
    def __init__(self, store: Store, known_pops: Any) -> None:
        """``known_pops``: the registry, asked (``list()``) which PoPs a descriptor may name."""
        self._store = store
        self._pops = known_pops
        # Onboarded descriptors never change and the controllers ask for them every pass:
        # each is read once and kept.
        self._parsed: dict[str, NetworkServiceDescriptor] = {}
        self._lock = threading.Lock()

    def onboard(self, body: bytes | str | dict[str, Any], content_type: str | None = None) -> NsDescriptor:
        nsd = read_descriptor(body, content_type)
        self._check_pops(nsd)
        source = json.dumps(body) if isinstance(body, dict) else body.decode() if isinstance(body, bytes) else body
        row = NsdRow(
            id=str(uuid.uuid4()),
            name=nsd.name,
            vendor=nsd.vendor,
            version=nsd.version,
            format=nsd.format,
            source=source,
            created_at=now(),
        )
        with self._store.session() as session:
            session.add(row)
        with self._lock:
            self._parsed[row.id] = nsd
        return nsd_view(row, nsd)

    def _check_pops(self, nsd: NetworkServiceDescriptor) -> None:
        known = {p.name for p in self._pops.list()}
        problems = [
            Problem(f"vnfd[{i}].pop", f"PoP {v.pop!r} is not registered")
            for i, v in enumerate(nsd.vnfs)
            if v.pop and v.pop not in known
        ]
        if problems:
            raise DescriptorError(problems)

    def list(self) -> list[NsDescriptor]:
        with self._store.session() as session:
            rows = session.scalars(select(NsdRow).order_by(NsdRow.created_at)).all()
            return [nsd_view(r, self.parsed(r)) for r in rows]

    def get(self, nsd_id: str) -> NsDescriptor:
        with self._store.session() as session:
            row = nsd_row(session, nsd_id)
            return nsd_view(row, self.parsed(row))

    def delete(self, nsd_id: str) -> None:
        with self._store.session() as session:
            row = nsd_row(session, nsd_id)
            if session.scalar(select(NsInstanceRow.id).where(NsInstanceRow.nsd_id == row.id)):
                raise Conflict(f"descriptor {nsd_id} is used by network service instances")
            session.delete(row)
        with self._lock:
            self._parsed.pop(nsd_id, None)

    def parsed(self, row: NsdRow) -> NetworkServiceDescriptor:
        return self._by_id(row.id, lambda: row)

    def _by_id(self, nsd_id: str, row: Callable[[], NsdRow]) -> NetworkServiceDescriptor:
        """The parsed descriptor; its row (with the source) is read only when it is not parsed yet."""
        with self._lock:
            nsd = self._parsed.get(nsd_id)
        if nsd is None:
            nsd = read_descriptor(row().source)
            with self._lock:
                self._parsed[nsd_id] = nsd
        return nsd

    def of(self, session: Session, ns: NsInstanceRow) -> NetworkServiceDescriptor:
        """The descriptor an instance was made from."""
        return self._by_id(ns.nsd_id, lambda: nsd_row(session, ns.nsd_id))

    def of_instance(self, ns_id: str) -> NetworkServiceDescriptor:
        """Reads the instance's descriptor id alone (not the instance with its VNFs and VNFCs, nor the
        descriptor's source once parsed): the load balancers and the names ask on every container event."""
        with self._store.session() as session:
            nsd_id = session.scalar(select(NsInstanceRow.nsd_id).where(NsInstanceRow.id == ns_id)) or session.scalar(
                select(NsInstanceRow.nsd_id).where(NsInstanceRow.name == ns_id)
            )
            if nsd_id is None:
                raise NotFound(f"NS instance {ns_id!r} not found")
            return self._by_id(nsd_id, lambda: nsd_row(session, nsd_id))
