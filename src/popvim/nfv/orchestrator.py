"""The orchestrator (NFVO + VNFM): network services from descriptors, across PoPs.

Every operation is recorded as an op occurrence before it runs and runs in the
background; the API answers at once with where to watch it. One operation at a
time per instance: a second one is refused (409) rather than interleaved.

Records are written as each step succeeds, so a crash leaves an instance whose
records name exactly what exists, and terminate can always clean it up.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from popvim.client import AlreadyExists as PopAlreadyExists
from popvim.client import NotFound as PopNotFound
from popvim.client import PopClient, PopError, Unreachable
from popvim.client import models as pop_models
from popvim.nfv import naming
from popvim.nfv.descriptors import read_descriptor
from popvim.nfv.descriptors.model import DescriptorError, NetworkServiceDescriptor, Problem, VnfDescriptor
from popvim.nfv.errors import Conflict, Invalid, NotFound
from popvim.nfv.pops import PopRegistry
from popvim.nfv.records import NsDescriptor, NsInstance, OpOcc, instance_view, nsd_view, op_view
from popvim.observe import metrics
from popvim.store.db import Store
from popvim.store.nfv_models import NsdRow, NsInstanceRow, NsNetworkRow, OpOccRow, VnfcRecordRow, VnfRecordRow

log = logging.getLogger(__name__)

NOT_INSTANTIATED, INSTANTIATED = "NOT_INSTANTIATED", "INSTANTIATED"
PROCESSING, COMPLETED, FAILED = "PROCESSING", "COMPLETED", "FAILED"
INSTANCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,23}$")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


_slug = naming.slug


def dependency_key(source: VnfDescriptor, parameter: str) -> str:
    """Seed 001: source of type ``server``, parameter ``private`` -> ``SERVER_PRIVATE``."""
    return re.sub(r"[^A-Za-z0-9]", "_", f"{source.type or source.name}_{parameter}").upper()


def start_order(nsd: NetworkServiceDescriptor) -> list[list[VnfDescriptor]]:
    """VNFs in levels: every source of a dependency is in an earlier level than its target."""
    remaining = {v.name: v for v in nsd.vnfs}
    sources = {v.name: {d.source for d in nsd.dependencies if d.target == v.name} for v in nsd.vnfs}
    done: set[str] = set()
    levels = []
    while remaining:
        level = [v for n, v in remaining.items() if sources[n] <= done]
        if not level:
            raise Invalid(f"dependency cycle among {', '.join(sorted(remaining))}")
        levels.append(level)
        for vnf in level:
            done.add(vnf.name)
            remaining.pop(vnf.name)
    return levels


class Orchestrator:
    # Controllers probe every second: a PoP that does not answer must not stall them for a minute.
    probe_timeout = 5.0

    def __init__(self, store: Store, pops: PopRegistry, *, workers: int = 8) -> None:
        self._store = store
        self.pops = pops
        self._ops = ThreadPoolExecutor(max_workers=4, thread_name_prefix="popvim-nslcm")
        self._work = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="popvim-vnfc")
        self._samplers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="popvim-stats")
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._descriptors: dict[str, NetworkServiceDescriptor] = {}
        self._parsed_lock = threading.Lock()
        self._fail_interrupted()

    def close(self) -> None:
        self._ops.shutdown(wait=True)
        self._work.shutdown(wait=True)
        self._samplers.shutdown(wait=True)

    def _fail_interrupted(self) -> None:
        """Operations that were running when the daemon died are over: say so."""
        with self._store.session() as session:
            for op in session.scalars(select(OpOccRow).where(OpOccRow.state == PROCESSING)).all():
                op.state, op.error, op.finished_at = FAILED, "interrupted by a restart of popvimd", _now()

    # --- descriptors ----------------------------------------------------------
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
            created_at=_now(),
        )
        with self._store.session() as session:
            session.add(row)
        with self._parsed_lock:
            self._descriptors[row.id] = nsd
        return nsd_view(row, nsd)

    def _check_pops(self, nsd: NetworkServiceDescriptor) -> None:
        known = {p.name for p in self.pops.list()}
        problems = [
            Problem(f"vnfd[{i}].pop", f"PoP {v.pop!r} is not registered")
            for i, v in enumerate(nsd.vnfs)
            if v.pop and v.pop not in known
        ]
        if problems:
            raise DescriptorError(problems)

    def descriptors(self) -> list[NsDescriptor]:
        with self._store.session() as session:
            rows = session.scalars(select(NsdRow).order_by(NsdRow.created_at)).all()
            return [nsd_view(r, self._parsed(r)) for r in rows]

    def descriptor(self, nsd_id: str) -> NsDescriptor:
        with self._store.session() as session:
            row = self._nsd_row(session, nsd_id)
            return nsd_view(row, self._parsed(row))

    def delete_descriptor(self, nsd_id: str) -> None:
        with self._store.session() as session:
            row = self._nsd_row(session, nsd_id)
            if session.scalar(select(NsInstanceRow.id).where(NsInstanceRow.nsd_id == row.id)):
                raise Conflict(f"descriptor {nsd_id} is used by network service instances")
            session.delete(row)
        with self._parsed_lock:
            self._descriptors.pop(nsd_id, None)

    @staticmethod
    def _nsd_row(session: Any, nsd_id: str) -> NsdRow:
        row = session.get(NsdRow, nsd_id)
        if row is None:
            raise NotFound(f"NS descriptor {nsd_id!r} not found")
        return row

    def _parsed(self, row: NsdRow) -> NetworkServiceDescriptor:
        """The descriptor read once: onboarded descriptors never change, and the
        controllers ask for them every pass."""
        with self._parsed_lock:
            nsd = self._descriptors.get(row.id)
        if nsd is None:
            nsd = read_descriptor(row.source)
            with self._parsed_lock:
                self._descriptors[row.id] = nsd
        return nsd

    # --- instances ------------------------------------------------------------
    def create_instance(self, nsd_id: str, name: str | None = None) -> NsInstance:
        with self._store.session() as session:
            nsd_row = self._nsd_row(session, nsd_id)
            name = name or f"{_slug(nsd_row.name)[:15]}-{uuid.uuid4().hex[:6]}"
            if not INSTANCE_NAME.match(name):
                raise Invalid("nsName must be 1-24 letters, digits, '_', '.' or '-', starting with a letter or digit")
            if session.scalar(select(NsInstanceRow.id).where(NsInstanceRow.name == name)):
                raise Conflict(f"an instance named {name!r} exists already")
            row = NsInstanceRow(
                id=str(uuid.uuid4()), name=name, nsd_id=nsd_id, state=NOT_INSTANTIATED, created_at=_now()
            )
            session.add(row)
            try:
                session.flush()
            except IntegrityError as exc:  # a concurrent create took the name
                raise Conflict(f"an instance named {name!r} exists already") from exc
            return instance_view(row, self._parsed(nsd_row))

    def instances(self) -> list[NsInstance]:
        with self._store.session() as session:
            rows = session.scalars(select(NsInstanceRow).order_by(NsInstanceRow.created_at)).all()
            return [instance_view(r, self._nsd_of(session, r)) for r in rows]

    def instance(self, ns_id: str) -> NsInstance:
        with self._store.session() as session:
            row = self._ns_row(session, ns_id)
            return instance_view(row, self._nsd_of(session, row))

    def delete_instance(self, ns_id: str) -> None:
        with self._busy_lock, self._store.session() as session:
            row = self._ns_row(session, ns_id)
            if row.id in self._busy:
                raise Conflict(f"an operation on {row.name!r} is in progress")
            if row.state != NOT_INSTANTIATED or row.vnfs or row.networks:
                raise Conflict(f"instance {row.name!r} must be terminated before it is deleted")
            session.execute(delete(OpOccRow).where(OpOccRow.ns_id == row.id))
            session.delete(row)

    @staticmethod
    def _ns_row(session: Any, ns_id: str) -> NsInstanceRow:
        row = session.get(NsInstanceRow, ns_id) or session.scalar(
            select(NsInstanceRow).where(NsInstanceRow.name == ns_id)
        )
        if row is None:
            raise NotFound(f"NS instance {ns_id!r} not found")
        return row

    def _nsd_of(self, session: Any, row: NsInstanceRow) -> NetworkServiceDescriptor:
        return self._parsed(self._nsd_row(session, row.nsd_id))

    # --- operations -----------------------------------------------------------
    def ops(self, ns_id: str | None = None, last: int | None = None) -> list[OpOcc]:
        """Op occurrences, oldest first; ``last``: only the newest that many."""
        with self._store.session() as session:
            query = select(OpOccRow).order_by(OpOccRow.started_at.desc())
            if ns_id:
                query = query.where(OpOccRow.ns_id == ns_id)
            if last:
                query = query.limit(last)
            return [op_view(r) for r in reversed(session.scalars(query).all())]

    def op(self, op_id: str) -> OpOcc:
        with self._store.session() as session:
            row = session.get(OpOccRow, op_id)
            if row is None:
                raise NotFound(f"operation occurrence {op_id!r} not found")
            return op_view(row)

    def wait(self, op_id: str, timeout: float) -> OpOcc:
        deadline = time.monotonic() + timeout
        while True:
            op = self.op(op_id)
            if op.operation_state != PROCESSING or time.monotonic() >= deadline:
                return op
            time.sleep(0.05)

    def busy(self, ns_id: str) -> bool:
        with self._busy_lock:
            return ns_id in self._busy

    def _launch(
        self,
        ns_id: str,
        operation: str,
        params: dict[str, Any],
        run: Callable[[str], None],
        automatic: bool = False,
        check: Callable[[NsInstanceRow], None] | None = None,
    ) -> OpOcc:
        with self._busy_lock:
            with self._store.session() as session:
                ns = self._ns_row(session, ns_id)  # a name or an id: _busy holds ids
                if ns.id in self._busy:
                    raise Conflict("another operation on this instance is in progress")
                if check:
                    check(ns)
                ns_id = ns.id
                row = OpOccRow(
                    id=str(uuid.uuid4()),
                    ns_id=ns_id,
                    operation=operation,
                    state=PROCESSING,
                    params=params,
                    automatic=automatic,
                    started_at=_now(),
                )
                session.add(row)
            self._busy.add(ns_id)
        log.info("ns_lcm_op_occ %s %s ns=%s params=%s", row.id, operation, ns_id, params)

        def measured(ns: str) -> None:
            with metrics.lcm_operation(operation, automatic, params):
                run(ns)

        self._ops.submit(self._run, row.id, ns_id, measured)
        return op_view(row)

    def _run(self, op_id: str, ns_id: str, run: Callable[[str], None]) -> None:
        state, error = COMPLETED, None
        try:
            run(ns_id)
        except Exception as exc:  # noqa: BLE001 - every failure is reported on the op occurrence
            state, error = FAILED, _describe(exc)
            log.warning("ns_lcm_op_occ %s failed: %s", op_id, error)
        finally:
            try:
                with self._store.session() as session:
                    row = session.get(OpOccRow, op_id)
                    if row is not None:
                        row.state, row.error, row.finished_at = state, error, _now()
            finally:  # whatever the database says, the instance must not stay busy
                with self._busy_lock:
                    self._busy.discard(ns_id)
        log.info("ns_lcm_op_occ %s %s", op_id, state)

    # --- instantiate ----------------------------------------------------------
    def instantiate(self, ns_id: str) -> OpOcc:
        def check(ns: NsInstanceRow) -> None:
            if ns.state != NOT_INSTANTIATED:
                raise Conflict(f"instance {ns.name!r} is {ns.state}")
            if ns.vnfs or ns.networks:
                raise Conflict(f"instance {ns.name!r} holds what an interrupted operation made: terminate it first")

        return self._launch(ns_id, "INSTANTIATE", {}, self._instantiate, check=check)

    def _instantiate(self, ns_id: str) -> None:
        with self._store.session() as session:
            ns = self._ns_row(session, ns_id)
            nsd, name = self._nsd_of(session, ns), ns.name
        try:
            levels = start_order(nsd)
            self._make_networks(ns_id, name, nsd)
            records = {v.name: self._add_vnf_record(ns_id, v, i) for i, v in enumerate(nsd.vnfs)}
            for level in levels:  # sources are created first: their addresses configure the targets
                jobs = [(vnf, records[vnf.name], index) for vnf in level for index in range(vnf.initial_instances)]
                self._parallel(jobs, lambda job: self._create_vnfc(ns_id, nsd, *job))
                self._parallel(
                    [c for vnf in level for c in self._vnfc_ids(records[vnf.name])],
                    lambda vnfc_id: self._start_vnfc(vnfc_id),
                )
            with self._store.session() as session:
                self._ns_row(session, ns_id).state = INSTANTIATED
        except Exception as exc:
            log.warning("instantiate of %s failed (%s); rolling back", name, _describe(exc))
            self._teardown(ns_id)
            raise RuntimeError(f"{_describe(exc)}; everything made was rolled back") from exc

    def _make_networks(self, ns_id: str, ns_name: str, nsd: NetworkServiceDescriptor) -> None:
        needed: dict[tuple[str, str], None] = {}
        for vnf in nsd.vnfs:
            for cp in vnf.connection_points:
                needed[(cp.virtual_link, vnf.pop or self.pops.local_name)] = None
        links = {vl.name: vl for vl in nsd.virtual_links}
        for vl_name, pop_name in needed:
            vl = links[vl_name]
            network_name = naming.network_name(ns_name, ns_id, vl.network_name or vl.name, vl_name)
            with self._store.session() as session:  # recorded first: a crash leaves nothing unnamed
                row = NsNetworkRow(ns_id=ns_id, virtual_link=vl_name, pop_name=pop_name, network_name=network_name)
                session.add(row)
                session.flush()
                row_id = row.id
            try:
                self.pops.client(pop_name).create_network(
                    network_name, subnet=vl.subnet or "", labels=naming.network_labels(ns_id)
                )
            except PopAlreadyExists:
                # The name (or the subnet) is someone else's: forget the record, so that the
                # rollback never deletes what holds it.
                with self._store.session() as session:
                    session.execute(delete(NsNetworkRow).where(NsNetworkRow.id == row_id))
                raise

    def _add_vnf_record(self, ns_id: str, vnf: VnfDescriptor, position: int) -> str:
        with self._store.session() as session:
            row = VnfRecordRow(
                id=str(uuid.uuid4()),
                ns_id=ns_id,
                vnf_name=vnf.name,
                position=position,
                pop_name=vnf.pop or self.pops.local_name,
                desired_instances=vnf.initial_instances,
            )
            session.add(row)
            return row.id

    def _vnfc_ids(self, vnf_record_id: str) -> list[str]:
        with self._store.session() as session:
            return [c.id for c in session.get(VnfRecordRow, vnf_record_id).vnfcs]  # type: ignore[union-attr]

    def _parallel(self, jobs: Iterable[Any], fn: Callable[[Any], Any]) -> list[Any]:
        """Run ``fn`` on every job at once; the first failure is raised after all have ended,
        so a rollback never races a job still running."""
        futures = [self._work.submit(fn, job) for job in jobs]
        results, errors = [], []
        for future in futures:
            try:
                results.append(future.result())
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
        if errors:
            raise errors[0]
        return results

    def _create_vnfc(
        self,
        ns_id: str,
        nsd: NetworkServiceDescriptor,
        vnf: VnfDescriptor,
        vnf_record_id: str,
        index: int,
        fixed: dict[str, str] | None = None,
        replacing: str | None = None,
    ) -> str:
        """A CREATED container for one VNFC, configured and with its dependencies resolved;
        recorded in a new VNFC record, or in ``replacing`` (a healed one keeps its record)."""
        with self._store.session() as session:
            ns = self._ns_row(session, ns_id)
            networks = {(n.virtual_link, n.pop_name): n.network_name for n in ns.networks}
            ns_name = ns.name
        pop_name = vnf.pop or self.pops.local_name
        client = self.pops.client(pop_name)
        endpoints = {
            networks[(cp.virtual_link, pop_name)]: (fixed or {}).get(cp.virtual_link) or cp.ip_address
            for cp in vnf.connection_points
        }
        metadata = {**vnf.configuration, **self._dependency_values(ns_id, nsd, vnf)}
        name = naming.container_name(ns_name, ns_id, vnf.name, index)
        # Recorded (by name) before the PoP is asked, so a crash in between leaves a
        # record that teardown can act on, never an unnamed container.
        with self._store.session() as session:
            row = session.get(VnfcRecordRow, replacing) if replacing else None
            if row is None:
                row = VnfcRecordRow(id=str(uuid.uuid4()), vnf_id=vnf_record_id, index=index, heals=0)
                session.add(row)
            row.pop_name, row.container_name, row.container_id, row.engine_id = pop_name, name, None, None
            row.state = "HEALING" if replacing else "CREATING"
            vnfc_id = row.id
        try:
            container = client.create(
                name,
                vnf.image,
                flavour=vnf.flavour if vnf.flavour in _flavours(client) else "",
                endpoints=endpoints or None,
                command=list(vnf.command) if vnf.command else None,
                ports={k: v or 0 for k, v in vnf.ports.items()} or None,
                metadata=metadata,
                cpus=vnf.cpus,
                memory=vnf.memory,
                labels=naming.container_labels(ns_id, vnfc_id),
            )
        except PopAlreadyExists:
            # Whatever holds the name is not ours: nothing to delete, only the record to forget.
            if not replacing:
                self._forget_record(vnfc_id)
            raise
        except Exception:
            if not replacing:  # the answer may have been lost: delete by name, if it is ours
                self._forget_vnfc(vnfc_id, pop_name, None, name)
            raise
        by_network = {net: vl for (vl, _pop), net in networks.items()}
        with self._store.session() as session:
            row = session.get(VnfcRecordRow, vnfc_id)
            assert row is not None
            if replacing:
                row.heals += 1
            row.container_id, row.md, row.state = container.id, container.metadata, container.status
            row.addresses = {by_network.get(net, net): e.address for net, e in container.endpoints.items()}
            return vnfc_id

    def _dependency_values(self, ns_id: str, nsd: NetworkServiceDescriptor, target: VnfDescriptor) -> dict[str, str]:
        """What ``target`` is told about its sources: for a source with several instances,
        ``KEY`` is the first (lowest index) instance's value and ``KEY_ALL`` all of them,
        comma-separated in index order."""
        values: dict[str, str] = {}
        with self._store.session() as session:
            ns = self._ns_row(session, ns_id)
            by_vnf = {v.vnf_name: v for v in ns.vnfs}
            for dep in (d for d in nsd.dependencies if d.target == target.name):
                source = nsd.vnf(dep.source)
                record = by_vnf.get(dep.source)
                vnfcs = list(record.vnfcs) if record else []
                for parameter in dep.parameters:
                    key = dependency_key(source, parameter)
                    if parameter in source.configuration:
                        values[key] = source.configuration[parameter]
                        continue
                    found = [c.addresses[parameter] for c in vnfcs if parameter in (c.addresses or {})]
                    if not found:
                        raise Invalid(
                            f"dependency {dep.source}->{dep.target}: {dep.source} has no value "
                            f"for {parameter!r} (neither a virtual link of it nor a configuration key)"
                        )
                    values[key] = found[0]
                    values[f"{key}_ALL"] = ",".join(found)
        return values

    def _start_vnfc(self, vnfc_id: str) -> None:
        with self._store.session() as session:
            row = session.get(VnfcRecordRow, vnfc_id)
            if row is None or row.state != "CREATED":
                return
            pop_name, container_id = row.pop_name, row.container_id
        started = self.pops.client(pop_name).start(f"id:{container_id}")
        self._observe(vnfc_id, started)

    def _observe(self, vnfc_id: str, container: pop_models.Container) -> None:
        with self._store.session() as session:
            row = session.get(VnfcRecordRow, vnfc_id)
            if row is not None:
                row.state = container.status
                row.engine_id = container.engine_id or row.engine_id

    # --- terminate ------------------------------------------------------------
    def terminate(self, ns_id: str, force: bool = False) -> OpOcc:
        """``force``: a PoP that cannot be reached (or was unregistered) counts as cleaned up,
        so an instance on a PoP that is gone for good can still be terminated and deleted."""
        return self._launch(ns_id, "TERMINATE", {"force": force}, lambda ns: self._teardown(ns, force))

    def _teardown(self, ns_id: str, force: bool = False) -> None:
        """Delete every container and network the instance's records name, on every PoP."""
        with self._store.session() as session:
            ns = self._ns_row(session, ns_id)
            vnfcs = [(c.id, c.pop_name, c.container_id, c.container_name) for v in ns.vnfs for c in v.vnfcs]
            networks = [(n.id, n.pop_name, n.network_name) for n in ns.networks]
        self._parallel(vnfcs, lambda v: self._forget_vnfc(*v, force=force))
        for row_id, pop_name, network_name in networks:
            self._gone(
                lambda p=pop_name, n=network_name: self._delete_network(p, n, ns_id),
                force,
                f"network {network_name} on {pop_name}",
            )
            with self._store.session() as session:
                row = session.get(NsNetworkRow, row_id)
                if row is not None:
                    session.delete(row)
        with self._store.session() as session:
            ns = self._ns_row(session, ns_id)
            for vnf in list(ns.vnfs):
                session.delete(vnf)
            ns.state = NOT_INSTANTIATED

    def _delete_network(self, pop_name: str, name: str, ns_id: str) -> None:
        """Delete the instance's network by name, if the network of that name is the instance's."""
        client = self.pops.client(pop_name)
        found = client.networks(name)
        if not found:
            return
        if found[0].labels.get(naming.LABEL_NS) != ns_id:
            log.warning(
                "network %s on %s is not this instance's (labels %s): left alone",
                name,
                pop_name,
                found[0].labels.get(naming.LABEL_NS, "none"),
            )
            return
        client.delete_network(f"id:{found[0].id}")

    def _delete_container(
        self, pop_name: str, container_id: str | None, name: str, vnfc_id: str, force: bool = False
    ) -> None:
        """Gone from the PoP: by the id its create answered, else (the answer never arrived)
        by name, but only when the container of that name carries this VNFC's label."""

        def delete_it() -> None:
            client = self.pops.client(pop_name)
            if container_id:
                client.delete(f"id:{container_id}")
                return
            found = client.containers(name)
            if not found:
                return
            if found[0].labels.get(naming.LABEL_VNFC) != vnfc_id:
                log.warning("container %s on %s is not VNFC %s's: left alone", name, pop_name, vnfc_id)
                return
            client.delete(f"id:{found[0].id}")

        self._gone(delete_it, force, f"container {name} on {pop_name}")

    @staticmethod
    def _gone(delete_it: Callable[[], None], force: bool, what: str) -> None:
        try:
            delete_it()
        except PopNotFound:
            pass  # already gone
        except (Unreachable, NotFound) as exc:  # NotFound: the PoP itself was unregistered
            if not force:
                raise
            log.warning("forgetting %s without deleting it: %s", what, _describe(exc))

    def _set_state(self, vnfc_id: str, state: str) -> None:
        with self._store.session() as session:
            row = session.get(VnfcRecordRow, vnfc_id)
            if row is not None:
                row.state = state

    def _forget_vnfc(
        self, vnfc_id: str, pop_name: str, container_id: str | None, name: str, force: bool = False
    ) -> None:
        self._delete_container(pop_name, container_id, name, vnfc_id, force)
        self._forget_record(vnfc_id)

    def _forget_record(self, vnfc_id: str) -> None:
        with self._store.session() as session:
            row = session.get(VnfcRecordRow, vnfc_id)
            if row is not None:
                session.delete(row)

    # --- scale ----------------------------------------------------------------
    def scale(self, ns_id: str, vnf_name: str, direction: str, steps: int = 1, automatic: bool = False) -> OpOcc:
        if direction not in ("out", "in") or steps < 1:
            raise Invalid("direction must be 'out' or 'in' and steps at least 1")

        def check(ns: NsInstanceRow) -> None:
            if ns.state != INSTANTIATED:
                raise Conflict(f"instance {ns.name!r} is {ns.state}")
            with self._store.session() as session:
                nsd = self._nsd_of(session, ns)
            record = next((v for v in ns.vnfs if v.vnf_name == vnf_name), None)
            if record is None:
                raise NotFound(f"instance {ns.name!r} has no VNF {vnf_name!r}")
            vnf = nsd.vnf(vnf_name)
            target = len(record.vnfcs) + (steps if direction == "out" else -steps)
            if not vnf.min_instances <= target <= vnf.max_instances:
                raise Conflict(
                    f"scaling {vnf_name} {direction} by {steps} would give {target} instances, "
                    f"outside {vnf.min_instances}..{vnf.max_instances}"
                )

        params = {"vnfName": vnf_name, "direction": direction, "steps": steps}
        return self._launch(
            ns_id, "SCALE", params, lambda ns: self._scale(ns, vnf_name, direction, steps), automatic, check
        )

    def _scale(self, ns_id: str, vnf_name: str, direction: str, steps: int) -> None:
        with self._store.session() as session:
            ns = self._ns_row(session, ns_id)
            nsd = self._nsd_of(session, ns)
            record = next(v for v in ns.vnfs if v.vnf_name == vnf_name)
            indexes = [c.index for c in record.vnfcs]
            newest = sorted(
                ((c.index, c.id, c.pop_name, c.container_id, c.container_name) for c in record.vnfcs), reverse=True
            )
            record_id = record.id
        vnf = nsd.vnf(vnf_name)
        if direction == "in":
            self._parallel(newest[:steps], lambda v: self._forget_vnfc(*v[1:]))
        else:
            first = max(indexes, default=-1) + 1
            made = []
            try:
                for index in range(first, first + steps):
                    made.append(self._create_vnfc(ns_id, nsd, vnf, record_id, index))
                self._parallel(made, self._start_vnfc)
            except Exception:
                self._roll_back(made)
                raise
        with self._store.session() as session:  # only a scale that happened counts for the cooldown
            row = session.get(VnfRecordRow, record_id)
            if row is not None:
                row.desired_instances, row.last_scaled_at = len(row.vnfcs), _now()

    def _roll_back(self, vnfc_ids: list[str]) -> None:
        """Forget what an operation made; a failure here is logged, the operation's own error stands."""
        for vnfc_id in vnfc_ids:
            with self._store.session() as session:
                row = session.get(VnfcRecordRow, vnfc_id)
                where = (row.pop_name, row.container_id, row.container_name) if row else None
            if where is None:
                continue
            try:
                self._forget_vnfc(vnfc_id, *where)
            except Exception as exc:  # noqa: BLE001
                log.warning("rollback could not remove VNFC %s: %s", vnfc_id, _describe(exc))

    # --- heal -----------------------------------------------------------------
    def heal(self, ns_id: str, vnfc_ids: list[str] | None = None, automatic: bool = False) -> OpOcc:
        """Respawn the VNFCs named (default: every one that is not RUNNING) with their
        configuration and addresses."""

        def check(ns: NsInstanceRow) -> None:
            if ns.state != INSTANTIATED:
                raise Conflict(f"instance {ns.name!r} is {ns.state}")
            unknown = set(vnfc_ids or ()) - {c.id for v in ns.vnfs for c in v.vnfcs}
            if unknown:
                raise NotFound(f"instance {ns.name!r} has no VNFC {', '.join(sorted(unknown))}")

        params = {"vnfcInstanceIds": vnfc_ids or []}
        return self._launch(ns_id, "HEAL", params, lambda ns: self._heal(ns, vnfc_ids), automatic, check)

    def _heal(self, ns_id: str, vnfc_ids: list[str] | None) -> None:
        self.refresh(ns_id)
        with self._store.session() as session:
            ns = self._ns_row(session, ns_id)
            nsd = self._nsd_of(session, ns)
            chosen = [
                (c.id, v.vnf_name, v.id, c.index, dict(c.addresses or {}), c.pop_name, c.container_id, c.container_name)
                for v in ns.vnfs
                for c in v.vnfcs
                if (c.id in vnfc_ids if vnfc_ids else c.state != "RUNNING")
            ]
        for vnfc_id, vnf_name, record_id, index, addresses, pop_name, container_id, name in chosen:
            self._delete_container(pop_name, container_id, name, vnfc_id)
            self._set_state(vnfc_id, "HEALING")
            self._create_vnfc(ns_id, nsd, nsd.vnf(vnf_name), record_id, index, fixed=addresses, replacing=vnfc_id)
            self._start_vnfc(vnfc_id)

    # --- observation ----------------------------------------------------------
    def descriptor_of(self, ns_id: str) -> NetworkServiceDescriptor:
        with self._store.session() as session:
            return self._nsd_of(session, self._ns_row(session, ns_id))

    def last_scaled(self, ns_id: str, vnf_name: str) -> float | None:
        """When the VNF was last scaled, as a Unix time."""
        with self._store.session() as session:
            ns = self._ns_row(session, ns_id)
            record = next((v for v in ns.vnfs if v.vnf_name == vnf_name), None)
            if record is None or record.last_scaled_at is None:
                return None
            return record.last_scaled_at.replace(tzinfo=UTC).timestamp()

    def average_cpu(self, ns_id: str, vnf_name: str) -> float | None:
        """Mean CPU (percent of one core) over the VNF's running instances; None if none runs."""
        with self._store.session() as session:
            ns = self._ns_row(session, ns_id)
            record = next((v for v in ns.vnfs if v.vnf_name == vnf_name), None)
            running = [(c.pop_name, c.container_id) for c in (record.vnfcs if record else []) if c.state == "RUNNING"]

        def cpu(where: tuple[str, str | None]) -> float | None:
            try:  # each sample takes the engine about a second: take them all at once
                return self.pops.client(where[0], self.probe_timeout).stats(f"id:{where[1]}").cpu_percent
            except PopError:
                return None  # it stopped meanwhile: the healer sees to it

        readings = [r for r in self._samplers.map(cpu, running) if r is not None]
        return sum(readings) / len(readings) if readings else None

    def refresh(self, ns_id: str) -> dict[str, str]:
        """Re-read every VNFC's state from its PoP (one listing per PoP); vnfc id -> state.

        A record whose container changed meanwhile (an operation replaced it) is
        left alone: what was listed is about the old container.
        """
        with self._store.session() as session:
            ns = self._ns_row(session, ns_id)
            vnfcs = [(c.id, c.pop_name, c.container_id) for v in ns.vnfs for c in v.vnfcs]
        listings: dict[str, dict[str, pop_models.Container] | None] = {}
        for pop_name in {pop for _, pop, _ in vnfcs}:
            try:
                listings[pop_name] = {c.id: c for c in self.pops.client(pop_name, self.probe_timeout).containers()}
            except PopError as exc:
                log.warning("cannot list containers of PoP %s: %s", pop_name, exc)
                listings[pop_name] = None  # unknown: neither dead nor alive
        states: dict[str, str] = {}
        with self._store.session() as session:
            for vnfc_id, pop_name, container_id in vnfcs:
                listing = listings[pop_name]
                if listing is None:
                    continue
                found = listing.get(container_id or "")
                states[vnfc_id] = found.status if found else "MISSING"
                row = session.get(VnfcRecordRow, vnfc_id)
                if row is None or row.container_id != container_id:
                    continue
                if row.state != states[vnfc_id]:
                    row.state = states[vnfc_id]
                if found is not None and found.engine_id and row.engine_id != found.engine_id:
                    row.engine_id = found.engine_id
        return states


def _flavours(client: PopClient) -> set[str]:
    return {f.id for f in client.flavours()}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, PopError):
        return f"{exc.code.name}: {exc.message}"
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__
