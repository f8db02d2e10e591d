"""One VNFC's container on its PoP, with its record kept in step.

Each step is recorded before the PoP is asked (by name) and again when it answers
(by id), so a crash in between leaves a record that teardown can act on, never an
unnamed container.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import NamedTuple, Protocol

from popvim.client import AlreadyExists as PopAlreadyExists
from popvim.client import PopError
from popvim.client import models as pop_models
from popvim.nfv import cleanup, naming
from popvim.nfv.dependencies import dependency_values, source_values
from popvim.nfv.descriptors.model import NetworkServiceDescriptor, VnfDescriptor
from popvim.nfv.errors import describe
from popvim.nfv.rows import ns_row
from popvim.nfv.states import VnfcState
from popvim.nfv.surface import PopApi, PopDirectory
from popvim.store.db import Store
from popvim.store.nfv_models import VnfcRecordRow

log = logging.getLogger(__name__)

FLAVOURS_TTL = 10.0  # s a PoP's flavour names are reused for: an operation's creates ask once, not per VNFC


class Creation(Protocol):
    """What a VNFC's container gets beyond its descriptor: more metadata, a command, published ports."""

    @property
    def metadata(self) -> dict[str, str]: ...

    @property
    def command(self) -> tuple[str, ...] | None: ...

    @property
    def ports(self) -> dict[str, int | None]: ...


class _Plain(NamedTuple):
    metadata: dict[str, str]
    command: tuple[str, ...] | None
    ports: dict[str, int | None]


class CreationExtras(Protocol):
    """What else a VNFC's container gets (load balancing: nfv/loadbalancer.py ``LoadBalancers.creation``)."""

    def __call__(
        self, ns_id: str, nsd: NetworkServiceDescriptor, vnf: VnfDescriptor, pop_name: str, index: int
    ) -> Creation: ...


class Vnfcs:
    def __init__(self, store: Store, pops: PopDirectory, extras: CreationExtras | None = None) -> None:
        self._store = store
        self._pops = pops
        self._extras = extras
        self._flavours: dict[str, tuple[float, frozenset[str]]] = {}  # PoP -> (when asked, its flavour ids)

    def create(
        self,
        ns_id: str,
        nsd: NetworkServiceDescriptor,
        vnf: VnfDescriptor,
        vnf_record_id: str,
        index: int,
        fixed: dict[str, str] | None = None,
        replacing: str | None = None,
        resolve: bool = True,
    ) -> str:
        """A CREATED container for one VNFC, configured and with its dependencies resolved
        (unless not ``resolve``: `resolve` does it later, before start); recorded in a new VNFC
        record, or in ``replacing`` (a healed one keeps its record and its addresses, ``fixed``:
        virtual link -> address)."""
        with self._store.session() as session:
            ns = ns_row(session, ns_id)
            networks = {(n.virtual_link, n.pop_name): n.network_name for n in ns.networks}
            sources = source_values(ns)
            ns_name = ns.name
        pop_name = vnf.pop or self._pops.local_name
        client = self._pops.client(pop_name)
        endpoints: dict[str, str | None] = {
            networks[(cp.virtual_link, pop_name)]: (fixed or {}).get(cp.virtual_link) or cp.ip_address
            for cp in vnf.connection_points
        }
        extra = self._extras(ns_id, nsd, vnf, pop_name, index) if self._extras else _Plain({}, None, dict(vnf.ports))
        told = dependency_values(nsd, vnf, sources) if resolve else {}
        metadata = {**vnf.configuration, **told, **extra.metadata}
        command = extra.command or vnf.command
        name = naming.container_name(ns_name, ns_id, vnf.name, index)
        with self._store.session() as session:
            row = session.get(VnfcRecordRow, replacing) if replacing else None
            if row is None:
                row = VnfcRecordRow(id=str(uuid.uuid4()), vnf_id=vnf_record_id, index=index, heals=0)
                session.add(row)
            row.pop_name, row.container_name, row.pop_container_id, row.engine_id = pop_name, name, None, None
            row.state = VnfcState.HEALING if replacing else VnfcState.CREATING
            vnfc_id = row.id
        try:
            container = client.create(
                name,
                vnf.image,
                # A flavour the PoP does not offer is left to the PoP's default, with cpus and memory as asked.
                flavour=vnf.flavour if vnf.flavour in self._flavour_ids(pop_name, client) else "",
                endpoints=endpoints or None,
                command=list(command) if command else None,
                ports={k: v or 0 for k, v in extra.ports.items()} or None,
                metadata=metadata,
                cpus=vnf.cpus,
                memory=vnf.memory,
                labels=naming.container_labels(ns_id, vnfc_id),
            )
        except PopAlreadyExists:
            # Whatever holds the name is not ours: nothing to delete, only the record to forget.
            if not replacing:
                self.forget_record(vnfc_id)
            raise
        except Exception:
            if not replacing:  # the answer may have been lost: delete by name, if it is ours
                self.forget(vnfc_id, pop_name, None, name)
            raise
        by_network = {net: vl for (vl, _pop), net in networks.items()}
        with self._store.session() as session:
            row = session.get(VnfcRecordRow, vnfc_id)
            assert row is not None  # noqa: S101 - nothing deletes a record while its operation runs
            if replacing:
                row.heals += 1
            row.pop_container_id, row.md = container.id, container.metadata
            row.state = VnfcState.of_container(container.status)
            row.addresses = {by_network.get(net, net): e.address for net, e in container.endpoints.items()}
            return vnfc_id

    def _flavour_ids(self, pop_name: str, client: PopApi) -> frozenset[str]:
        asked, ids = self._flavours.get(pop_name, (0.0, frozenset()))
        if time.monotonic() - asked > FLAVOURS_TTL:
            ids = frozenset(f.id for f in client.flavours())
            self._flavours[pop_name] = (time.monotonic(), ids)
        return ids

    def resolve(self, nsd: NetworkServiceDescriptor, vnfc_id: str) -> None:
        """Tell a CREATED container made without them its dependencies' values (its sources'
        addresses are known now), as metadata merged before its start."""
        with self._store.session() as session:
            row = session.get(VnfcRecordRow, vnfc_id)
            if row is None or row.state != VnfcState.CREATED:
                return
            sources = source_values(row.vnf.ns)
            vnf = nsd.vnf(row.vnf.vnf_name)
            pop_name, pop_container_id = row.pop_name, row.pop_container_id
        told = dependency_values(nsd, vnf, sources)
        if not told:
            return
        self._pops.client(pop_name).set_metadata(f"id:{pop_container_id}", told)
        with self._store.session() as session:
            row = session.get(VnfcRecordRow, vnfc_id)
            if row is not None:
                row.md = {**(row.md or {}), **told}

    def start(self, vnfc_id: str) -> None:
        """Start a VNFC's CREATED container; one in any other state is left as it is."""
        with self._store.session() as session:
            row = session.get(VnfcRecordRow, vnfc_id)
            if row is None or row.state != VnfcState.CREATED:
                return
            pop_name, pop_container_id = row.pop_name, row.pop_container_id
        self.observe(vnfc_id, self._pops.client(pop_name).start(f"id:{pop_container_id}"))

    def placed(self, vnfc_id: str) -> bool:
        """Whether a VNFC being started already has the addresses it will run with: a cluster PoP
        (Swarm) has placed its container (``node``) while the Start waits for it to run. Its record
        takes them then, so its targets can be told them without waiting for the start."""
        where = self._where(vnfc_id)
        if where is None or where[1] is None:
            return False
        try:
            found = self._pops.client(where[0]).containers(f"id:{where[1]}")
        except PopError as exc:  # the Start in flight reports a real failure
            log.debug("cannot see whether VNFC %s is placed: %s", vnfc_id, describe(exc))
            return False
        container = found[0] if found else None
        if container is None or not container.node or not all(e.address for e in container.endpoints.values()):
            return False
        self.observe(vnfc_id, container, state=False)
        return True

    def observe(self, vnfc_id: str, container: pop_models.Container, state: bool = True) -> None:
        """The record follows the container: its addresses (and, unless not ``state``, its state)."""
        with self._store.session() as session:
            row = session.get(VnfcRecordRow, vnfc_id)
            if row is not None:
                if state:
                    row.state = VnfcState.of_container(container.status)
                row.engine_id = container.engine_id or row.engine_id
                # A cluster PoP (Swarm) picks addresses at start: dependents are told those.
                links = {n.network_name: n.virtual_link for n in row.vnf.ns.networks}
                row.addresses = {links.get(net, net): e.address for net, e in container.endpoints.items()}

    def set_state(self, vnfc_id: str, state: VnfcState) -> None:
        with self._store.session() as session:
            row = session.get(VnfcRecordRow, vnfc_id)
            if row is not None:
                row.state = state

    def delete_container(self, vnfc_id: str, force: bool = False) -> None:
        """Delete the VNFC's container from its PoP, keeping the record."""
        where = self._where(vnfc_id)
        if where is not None:
            cleanup.delete_container(self._pops, *where, vnfc_id, force)

    def forget(self, vnfc_id: str, pop_name: str, pop_container_id: str | None, name: str, force: bool = False) -> None:
        """Delete the container, then the record: a failed delete keeps the record to retry with."""
        cleanup.delete_container(self._pops, pop_name, pop_container_id, name, vnfc_id, force)
        self.forget_record(vnfc_id)

    def forget_record(self, vnfc_id: str) -> None:
        with self._store.session() as session:
            row = session.get(VnfcRecordRow, vnfc_id)
            if row is not None:
                session.delete(row)

    def roll_back(self, vnfc_ids: list[str]) -> None:
        """Forget what an operation made; a failure here is logged, the operation's own error stands."""
        for vnfc_id in vnfc_ids:
            where = self._where(vnfc_id)
            if where is None:
                continue
            try:
                self.forget(vnfc_id, *where)
            except Exception as exc:  # noqa: BLE001
                log.warning("rollback could not remove VNFC %s: %s", vnfc_id, describe(exc))

    def _where(self, vnfc_id: str) -> tuple[str, str | None, str] | None:
        with self._store.session() as session:
            row = session.get(VnfcRecordRow, vnfc_id)
            return (row.pop_name, row.pop_container_id, row.container_name) if row else None
