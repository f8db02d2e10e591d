"""Observation: what the PoPs say of an instance's VNFCs, for the controllers and heal.

Controllers probe every second, so each PoP is asked with a short timeout: one that does
not answer leaves its VNFCs' states unknown (neither dead nor alive) rather than
stalling the pass.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC

from popvim.client import PopError
from popvim.client import models as pop_models
from popvim.nfv.dependencies import source_values, stale_keys
from popvim.nfv.descriptors.model import NetworkServiceDescriptor
from popvim.nfv.rows import ns_row, vnf_record
from popvim.nfv.states import VnfcState
from popvim.nfv.surface import PopDirectory
from popvim.store.db import Store
from popvim.store.nfv_models import VnfcRecordRow

log = logging.getLogger(__name__)


class Observer:
    def __init__(self, store: Store, pops: PopDirectory, probe_timeout: float = 5.0, samplers: int = 8) -> None:
        self._store = store
        self._pops = pops
        self.probe_timeout = probe_timeout
        # A CPU sample takes the engine about a second: a VNF's are taken all at once.
        self._samplers = ThreadPoolExecutor(max_workers=samplers, thread_name_prefix="popvim-stats")

    def close(self) -> None:
        self._samplers.shutdown(wait=True)

    def refresh(self, ns_id: str) -> dict[str, VnfcState]:
        """Re-read every VNFC's state from its PoP (one listing per PoP); vnfc id -> state.

        A record whose container changed meanwhile (an operation replaced it) is
        left alone: what was listed is about the old container.
        """
        with self._store.session() as session:
            ns = ns_row(session, ns_id)
            vnfcs = [(c.id, c.pop_name, c.pop_container_id) for v in ns.vnfs for c in v.vnfcs]
            links = {n.network_name: n.virtual_link for n in ns.networks}
        listings: dict[str, dict[str, pop_models.Container] | None] = {}
        for pop_name in {pop for _, pop, _ in vnfcs}:
            try:
                listings[pop_name] = {c.id: c for c in self._pops.client(pop_name, self.probe_timeout).containers()}
            except PopError as exc:
                log.warning("cannot list containers of PoP %s: %s", pop_name, exc)
                listings[pop_name] = None  # unknown: neither dead nor alive
        states: dict[str, VnfcState] = {}
        with self._store.session() as session:
            for vnfc_id, pop_name, pop_container_id in vnfcs:
                listing = listings[pop_name]
                if listing is None:
                    continue
                found = listing.get(pop_container_id or "")
                states[vnfc_id] = VnfcState.of_container(found.status) if found else VnfcState.MISSING
                row = session.get(VnfcRecordRow, vnfc_id)
                if row is None or row.pop_container_id != pop_container_id:
                    continue
                if row.state != states[vnfc_id]:
                    row.state = states[vnfc_id]
                if found is not None and found.engine_id and row.engine_id != found.engine_id:
                    row.engine_id = found.engine_id
                if found is not None and states[vnfc_id] == VnfcState.RUNNING:
                    # A cluster PoP (Swarm) may have moved it to another node, with another address.
                    seen = {links.get(net, net): e.address for net, e in found.endpoints.items()}
                    if seen != dict(row.addresses or {}):
                        row.addresses = seen
        return states

    def stale_dependents(self, ns_id: str, nsd: NetworkServiceDescriptor) -> dict[str, list[str]]:
        """Running VNFCs configured with an address a source VNFC no longer has; vnfc id -> keys.

        Judged on the records (`refresh` keeps their addresses), and only once every source
        VNFC of the target is RUNNING: one being replaced has no settled address yet.
        """
        with self._store.session() as session:
            ns = ns_row(session, ns_id)
            values = source_values(ns)
            settled = {v.vnf_name: all(c.state == VnfcState.RUNNING for c in v.vnfcs) for v in ns.vnfs}
            targets = [
                (c.id, v.vnf_name, dict(c.md or {})) for v in ns.vnfs for c in v.vnfcs if c.state == VnfcState.RUNNING
            ]
        stale: dict[str, list[str]] = {}
        for vnfc_id, vnf_name, told in targets:
            sources = {d.source for d in nsd.dependencies if d.target == vnf_name}
            if not sources or not all(settled.get(s, False) for s in sources):
                continue
            keys = stale_keys(nsd, nsd.vnf(vnf_name), values, told)
            if keys:
                stale[vnfc_id] = keys
        return stale

    def average_cpu(self, ns_id: str, vnf_name: str) -> float | None:
        """Mean CPU (percent of one core) over the VNF's running instances; None if none runs."""
        with self._store.session() as session:
            record = vnf_record(ns_row(session, ns_id), vnf_name)
            running = [
                (c.pop_name, c.pop_container_id)
                for c in (record.vnfcs if record else [])
                if c.state == VnfcState.RUNNING
            ]

        def cpu(where: tuple[str, str | None]) -> float | None:
            try:
                return self._pops.client(where[0], self.probe_timeout).stats(f"id:{where[1]}").cpu_percent
            except PopError:
                return None  # it stopped meanwhile: the healer sees to it

        readings = [r for r in self._samplers.map(cpu, running) if r is not None]
        return sum(readings) / len(readings) if readings else None

    def last_scaled(self, ns_id: str, vnf_name: str) -> float | None:
        """When the VNF was last scaled, as a Unix time (the autoscaler's cooldown counts from it)."""
        with self._store.session() as session:
            record = vnf_record(ns_row(session, ns_id), vnf_name)
            if record is None or record.last_scaled_at is None:
                return None
            return record.last_scaled_at.replace(tzinfo=UTC).timestamp()
