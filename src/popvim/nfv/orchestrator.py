"""The orchestrator (NFVO + VNFM): network services from descriptors, across PoPs.

A facade: the REST routes, the controllers and the daemon call its methods; the work
is done by modules of one job each:

- :mod:`popvim.nfv.catalogue`: onboarded descriptors;
- :mod:`popvim.nfv.instances`: instance records, made, listed, deleted;
- :mod:`popvim.nfv.operations`: op occurrences, one running operation per instance, waiting;
- :mod:`popvim.nfv.workflows`: instantiate, scale, heal, terminate;
- :mod:`popvim.nfv.dependencies`: start order and the values dependencies pass;
- :mod:`popvim.nfv.vnfcs` and :mod:`popvim.nfv.cleanup`: one VNFC's container, and deleting
  only what the orchestrator made;
- :mod:`popvim.nfv.observation`: VNFC states and CPU as the PoPs report them.

Every PoP, the local one included, is reached through the Pop client (popvim.client).
Records are written as each step succeeds, so a crash leaves an instance whose records
name exactly what exists, and terminate can always clean it up.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from popvim.nfv.catalogue import Catalogue
from popvim.nfv.descriptors.model import NetworkServiceDescriptor
from popvim.nfv.instances import Instances
from popvim.nfv.lbview import Views
from popvim.nfv.loadbalancer import LoadBalancers
from popvim.nfv.observation import Observer
from popvim.nfv.operations import OperationRunner
from popvim.nfv.pops import PopRegistry
from popvim.nfv.records import NsDescriptor, NsInstance, OpOcc
from popvim.nfv.states import Operation, VnfcState
from popvim.nfv.surface import PopDirectory
from popvim.nfv.vnfcs import Vnfcs
from popvim.nfv.workflows import heal, instantiate, scale, terminate
from popvim.nfv.workflows.context import Context
from popvim.store.db import Store
from popvim.store.nfv_models import NsInstanceRow


class Orchestrator:
    # Controllers probe every second: a PoP that does not answer must not stall them for a minute.
    probe_timeout = 5.0

    # Threads that wait on PoPs (a Swarm Start waits a second or more for its task): as many as a
    # scale-out of 10 or a 1 + 5 deploy asks for at once, with room for a second operation.
    def __init__(self, store: Store, pops: PopRegistry, *, workers: int = 16) -> None:
        """``pops``: the registry; the workflows use only its ``local_name``, ``client()`` and
        ``list()`` (popvim.nfv.surface), so tests give them in-memory PoPs."""
        self.pops = pops
        directory: PopDirectory = pops
        self._runner = OperationRunner(store)
        self._catalogue = Catalogue(store, pops)
        self._instances = Instances(store, self._catalogue, self._runner)
        self._observer = Observer(store, directory, self.probe_timeout)
        self._work = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="popvim-vnfc")
        # Load balancing, names (nfv/loadbalancer.py): what a VNFC gets at creation, drains before a
        # scale-in; its controller is started by the daemon.
        self.balancers = LoadBalancers(store, pops, self.descriptor_of)
        self.views = Views(store, pops, self.descriptor_of)  # what the balancers see; the last load tests
        vnfcs = Vnfcs(store, directory, self.balancers.creation)
        self._ctx = Context(
            store, directory, self._catalogue, vnfcs, self._observer, self._work, before_removal=self.balancers.drain
        )

    def close(self) -> None:
        self._runner.close()
        self._work.shutdown(wait=True)
        self._observer.close()

    # --- descriptors ----------------------------------------------------------
    def onboard(self, body: bytes | str | dict[str, Any], content_type: str | None = None) -> NsDescriptor:
        return self._catalogue.onboard(body, content_type)

    def descriptors(self) -> list[NsDescriptor]:
        return self._catalogue.list()

    def descriptor(self, nsd_id: str) -> NsDescriptor:
        return self._catalogue.get(nsd_id)

    def delete_descriptor(self, nsd_id: str) -> None:
        self._catalogue.delete(nsd_id)

    def descriptor_of(self, ns_id: str) -> NetworkServiceDescriptor:
        return self._catalogue.of_instance(ns_id)

    # --- instances ------------------------------------------------------------
    def create_instance(self, nsd_id: str, name: str | None = None) -> NsInstance:
        return self._instances.create(nsd_id, name)

    def instances(self) -> list[NsInstance]:
        return self._instances.list()

    def instance(self, ns_id: str) -> NsInstance:
        return self._instances.get(ns_id)

    def delete_instance(self, ns_id: str) -> None:
        self._instances.delete(ns_id)

    # --- operations -----------------------------------------------------------
    def ops(self, ns_id: str | None = None, last: int | None = None) -> list[OpOcc]:
        return self._runner.ops(ns_id, last)

    def op(self, op_id: str) -> OpOcc:
        return self._runner.op(op_id)

    def wait(self, op_id: str, timeout: float) -> OpOcc:
        return self._runner.wait(op_id, timeout)

    def busy(self, ns_id: str) -> bool:
        return self._runner.busy(ns_id)

    def instantiate(self, ns_id: str) -> OpOcc:
        ctx = self._ctx

        def check(ns: NsInstanceRow) -> None:
            instantiate.check(ns)
            self.balancers.check_reachable(self.descriptor_of(ns.id))  # a 409 now, not a rollback later

        return self._runner.launch(ns_id, Operation.INSTANTIATE, {}, lambda ns: instantiate.run(ctx, ns), check=check)

    def scale(self, ns_id: str, vnf_name: str, direction: str, steps: int = 1, automatic: bool = False) -> OpOcc:
        scale.check_request(direction, steps)
        ctx = self._ctx

        def check(ns: NsInstanceRow) -> None:
            scale.check(ctx, ns, vnf_name, direction, steps)

        params = {"vnfName": vnf_name, "direction": direction, "steps": steps}
        return self._runner.launch(
            ns_id, Operation.SCALE, params, lambda ns: scale.run(ctx, ns, vnf_name, direction, steps), automatic, check
        )

    def heal(self, ns_id: str, vnfc_ids: list[str] | None = None, automatic: bool = False) -> OpOcc:
        """Respawn the VNFCs named (default: every one that is not RUNNING) with their
        configuration and addresses."""
        ctx = self._ctx

        def check(ns: NsInstanceRow) -> None:
            heal.check(ns, vnfc_ids)

        params = {"vnfcInstanceIds": vnfc_ids or []}
        return self._runner.launch(
            ns_id, Operation.HEAL, params, lambda ns: heal.run(ctx, ns, vnfc_ids), automatic, check
        )

    def terminate(self, ns_id: str, force: bool = False) -> OpOcc:
        """``force``: a PoP that cannot be reached (or was unregistered) counts as cleaned up,
        so an instance on a PoP that is gone for good can still be terminated and deleted."""
        ctx = self._ctx
        return self._runner.launch(
            ns_id, Operation.TERMINATE, {"force": force}, lambda ns: terminate.run(ctx, ns, force)
        )

    # --- observation ----------------------------------------------------------
    def refresh(self, ns_id: str) -> dict[str, VnfcState]:
        return self._observer.refresh(ns_id)

    def stale_dependents(self, ns_id: str) -> dict[str, list[str]]:
        return self._observer.stale_dependents(ns_id, self.descriptor_of(ns_id))

    def average_cpu(self, ns_id: str, vnf_name: str) -> float | None:
        return self._observer.average_cpu(ns_id, vnf_name)

    def last_scaled(self, ns_id: str, vnf_name: str) -> float | None:
        return self._observer.last_scaled(ns_id, vnf_name)
