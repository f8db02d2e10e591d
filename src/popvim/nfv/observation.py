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
        return states

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
