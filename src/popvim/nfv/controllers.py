"""Controllers that keep instantiated services as their descriptors say.

Like Kubernetes controllers, each loop compares desired with observed state
and starts an ordinary lifecycle operation (marked automatic) to close the
gap, so what they do is visible in the op occurrences like anything a user
does.

- The healer respawns VNFCs that died (unless their VNF opted out).
- The rewirer re-creates (as heal does) running VNFCs configured with an address that a
  source VNFC no longer has: a cluster PoP moved it to another node.
- The autoscaler scales VNFs on the average CPU of their instances, as their
  scaling policies say, each condition held for the policy's period and with
  its cooldown after an action.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select

from popvim.client import PopError
from popvim.clock import utcnow
from popvim.nfv.errors import Conflict, NfvError
from popvim.nfv.orchestrator import Orchestrator
from popvim.nfv.states import NsState, Operation
from popvim.store.db import Store
from popvim.store.nfv_models import NsInstanceRow

log = logging.getLogger(__name__)


HEAL_WINDOW_SECONDS = 600.0


@dataclass
class _Sample:
    at: float
    cpu: float


class Controllers:
    def __init__(self, store: Store, orchestrator: Orchestrator, interval: float = 1.0, workers: int = 4) -> None:
        self._store = store
        self._orchestrator = orchestrator
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="popvim-nfv-controllers", daemon=True)
        # Instances are visited in parallel, each at most once at a time: one whose PoP
        # is slow to answer delays only itself.
        self._visitors = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="popvim-nfv-visit")
        self._visiting: set[str] = set()
        self._visiting_lock = threading.Lock()
        self._samples: dict[tuple[str, str], deque[_Sample]] = defaultdict(lambda: deque(maxlen=1000))
        self._last_tick = time.monotonic()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._visitors.shutdown(wait=True, cancel_futures=True)

    def health(self) -> str | None:
        """A readiness check: None while the loop runs and ticks, else why not."""
        if not self._thread.is_alive():
            return "the NFV controllers are not running"
        late = time.monotonic() - self._last_tick
        if late > max(30.0, 10 * self._interval):
            return f"the NFV controllers have not run for {late:.0f}s"
        return None

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._last_tick = time.monotonic()
            try:
                self._pass()
            except Exception:
                log.exception("controller pass failed")

    def _pass(self) -> None:
        instantiated = self._instantiated()
        for key in [k for k in self._samples if k[0] not in instantiated]:
            del self._samples[key]  # the instance is gone or terminated
        for ns_id in instantiated:
            with self._visiting_lock:
                if ns_id in self._visiting or self._orchestrator.busy(ns_id):
                    continue
                self._visiting.add(ns_id)
            self._visitors.submit(self._visit, ns_id)

    def _visit(self, ns_id: str) -> None:
        try:
            if not self._heal(ns_id) and not self._rewire(ns_id):
                self._autoscale(ns_id)
        except (NfvError, PopError) as exc:
            log.warning("controller pass over %s: %s", ns_id, exc)
        except Exception:
            log.exception("controller pass over %s failed", ns_id)
        finally:
            with self._visiting_lock:
                self._visiting.discard(ns_id)

    def _instantiated(self) -> list[str]:
        with self._store.session() as session:
            return list(
                session.scalars(select(NsInstanceRow.id).where(NsInstanceRow.state == NsState.INSTANTIATED)).all()
            )

    # --- healing --------------------------------------------------------------
    def _heal(self, ns_id: str) -> bool:
        states = self._orchestrator.refresh(ns_id)
        nsd, record = self._orchestrator.descriptor_of(ns_id), self._orchestrator.instance(ns_id)
        dead = [
            c.id
            for vnf in record.vnf_instances
            if nsd.vnf(vnf.vnf_name).respawn
            for c in vnf.vnfcs
            if (state := states.get(c.id)) is not None and state.dead
        ]
        if not dead or self._backing_off(ns_id):
            return False
        log.warning("healing %d VNFC(s) of %s", len(dead), record.ns_instance_name)
        try:
            self._orchestrator.heal(ns_id, dead, automatic=True)
        except Conflict:
            return False
        return True

    def _rewire(self, ns_id: str) -> bool:
        """Heal the dependents of a moved source, so they are told its new address (after `_heal`'s
        refresh, which records where each VNFC now is)."""
        stale = self._orchestrator.stale_dependents(ns_id)
        if not stale or self._backing_off(ns_id):
            return False
        log.warning(
            "re-creating %d VNFC(s) of %s told an address their source no longer has (%s)",
            len(stale),
            ns_id,
            ", ".join(sorted({k for keys in stale.values() for k in keys})),
        )
        try:
            self._orchestrator.heal(ns_id, sorted(stale), automatic=True)
        except Conflict:
            return False
        return True

    def _backing_off(self, ns_id: str) -> bool:
        """After k automatic heals in the last 10 minutes, wait 2**k seconds (at most 300)
        after the last one: a VNFC that cannot come back, or dies again at once, must not
        flood the PoP and the op occurrences."""
        now = utcnow()
        recent = [
            op
            for op in self._orchestrator.ops(ns_id, last=50)
            if op.lcm_operation_type == Operation.HEAL
            and op.is_automatic_invocation
            and (now - op.start_time).total_seconds() < HEAL_WINDOW_SECONDS
        ]
        if not recent:
            return False
        last_end = recent[-1].state_entered_time or recent[-1].start_time
        return (now - last_end).total_seconds() < min(2.0 ** len(recent), 300.0)

    # --- autoscaling ----------------------------------------------------------
    def _autoscale(self, ns_id: str) -> None:
        nsd, record = self._orchestrator.descriptor_of(ns_id), self._orchestrator.instance(ns_id)
        now = time.monotonic()
        for vnf_record in record.vnf_instances:
            vnf = nsd.vnf(vnf_record.vnf_name)
            if not vnf.scaling:
                continue
            cpu = self._orchestrator.average_cpu(ns_id, vnf.name)
            if cpu is None:
                continue
            samples = self._samples[(ns_id, vnf.name)]
            samples.append(_Sample(now, cpu))
            for policy in vnf.scaling:
                if self._cooling(ns_id, vnf.name, policy.cooldown_seconds):
                    continue
                window = [s for s in samples if s.at >= now - policy.period_seconds]
                if not window or samples[0].at > now - policy.period_seconds:
                    continue  # not observed for a whole period yet
                instances = vnf_record.instances
                if policy.scale_out_above is not None and all(s.cpu >= policy.scale_out_above for s in window):
                    steps = min(policy.step, vnf.max_instances - instances)
                    direction = "out"
                elif policy.scale_in_below is not None and all(s.cpu <= policy.scale_in_below for s in window):
                    steps = min(policy.step, instances - vnf.min_instances)
                    direction = "in"
                else:
                    continue
                if steps < 1:
                    continue
                log.info(
                    "autoscale %s of %s %s by %d (avg cpu %.1f%%)",
                    vnf.name,
                    record.ns_instance_name,
                    direction,
                    steps,
                    cpu,
                )
                try:
                    self._orchestrator.scale(ns_id, vnf.name, direction, steps, automatic=True)
                except Conflict:
                    return
                samples.clear()
                return

    def _cooling(self, ns_id: str, vnf_name: str, cooldown: float) -> bool:
        last = self._orchestrator.last_scaled(ns_id, vnf_name)
        return last is not None and last > time.time() - cooldown
