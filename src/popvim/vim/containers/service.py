"""``ContainerService``: the containers' facade, which every face calls as ``Vim.containers``.

The lifecycle steps that need several parts at once (start, stop, delete, metadata)
are here; everything else is handed to the module whose job it is.
"""

from __future__ import annotations

import builtins
import queue
import threading
import time

from sqlalchemy import select

from popvim.engine.driver import EngineContainer, EngineDriver, EngineImage, ExecBounds, LogStream
from popvim.engine.errors import EngineError, EngineNotFound
from popvim.observe import metrics
from popvim.store.db import Store
from popvim.store.models import ContainerRow, EndpointRow
from popvim.vim.containers import attachments, creation, engine_events, links, placement, restarter, running
from popvim.vim.containers.locks import ContainerLocks, get_row
from popvim.vim.containers.parts import Parts
from popvim.vim.containers.reconcile import Reconciler
from popvim.vim.containers.spec import container_spec, engine_name
from popvim.vim.containers.state import (
    STOPPING_KEEPING,
    check_editable,
    check_startable,
    check_stoppable,
    transition,
)
from popvim.vim.containers.stopper import Stopper
from popvim.vim.containers.views import view
from popvim.vim.errors import EngineFailure, InvalidState, NotFound
from popvim.vim.events import EventBus
from popvim.vim.flavours import FlavourCatalogue
from popvim.vim.images import ImageService
from popvim.vim.limits import Slots
from popvim.vim.models import Container, ContainerConfig, ExecOutput, Logs, Stats
from popvim.vim.networks import NetworkService
from popvim.vim.published_ports import published_ports
from popvim.vim.settings import VimSettings
from popvim.vim.states import ContainerState
from popvim.vim.validation import checked_metadata

S = ContainerState


class ContainerService:
    def __init__(
        self,
        store: Store,
        engine: EngineDriver,
        settings: VimSettings,
        bus: EventBus,
        networks: NetworkService,
        images: ImageService,
        flavours: FlavourCatalogue,
    ) -> None:
        self._parts = Parts(store, engine, settings, bus, networks, images, flavours, ContainerLocks(store))
        self._stopper = Stopper(self._parts)
        self._reconciler = Reconciler(self._parts, self._stopper)
        limits = settings.limits
        self.exec_slots = Slots("commands running (exec)", limits.execs, limits.execs_per_user)

    def close(self) -> None:
        self._stopper.close()

    @property
    def labels(self) -> dict[str, str]:
        return self._parts.pop_labels

    def engine_name(self, name: str) -> str:
        return engine_name(self._parts, name)

    # --- queries --------------------------------------------------------------
    def list(
        self,
        state: ContainerState | None = None,
        name: str | None = None,
        image: str | None = None,
        network: str | None = None,
        label: str | None = None,
    ) -> builtins.list[Container]:
        with self._parts.store.session() as session:
            query = select(ContainerRow).order_by(ContainerRow.created_at, ContainerRow.name)
            if state:
                query = query.where(ContainerRow.state == state.value)
            if name:
                query = query.where(ContainerRow.name == name)
            if image:
                query = query.where(ContainerRow.image == image)
            if network:
                net = self._parts.networks.row(session, network)
                query = query.where(ContainerRow.endpoints.any(EndpointRow.network_id == net.id))
            found = [view(r) for r in session.scalars(query).all()]
        if label:
            key, _, value = label.partition("=")
            found = [c for c in found if key in c.labels and (not value or c.labels[key] == value)]
        return found

    def get(self, ref: str) -> Container:
        with self._parts.store.session() as session:
            return view(get_row(session, ref))

    def wait(self, ref: str, timeout: float) -> Container:
        """The container once it is terminated, or as it is when ``timeout`` runs out.

        Woken by state-change events; re-reads the record on each so a missed
        event costs at most the short re-check interval.
        """
        bus = self._parts.bus
        events = bus.subscribe()
        try:
            deadline = time.monotonic() + timeout
            while True:
                container = self.get(ref)
                remaining = deadline - time.monotonic()
                if container.state.terminal or remaining <= 0:
                    return container
                try:
                    events.get(timeout=min(0.5, remaining))
                except queue.Empty:
                    pass
        finally:
            bus.unsubscribe(events)

    # --- lifecycle ------------------------------------------------------------
    @metrics.timed_operation("create")
    def create(self, config: ContainerConfig) -> Container:
        return creation.create_record(self._parts, config)

    def create_and_start(self, config: ContainerConfig) -> Container:
        """Create then Start, as one request of a face (REST ``?start``, seed 000's run)."""
        return self.start(self.create(config).id)

    @metrics.timed_operation("start")
    def start(self, ref: str) -> Container:
        parts = self._parts
        with parts.locks.locked_row(ref) as (session, row):
            check_startable(row)
            # Again at start: a host path may have become a symlink since create (or the policy changed).
            for volume in row.volumes or []:
                parts.settings.policy.check_volume(volume)
            spec = container_spec(parts, row)
            try:
                row.engine_id = parts.engine.create_container(spec)
                session.commit()  # a crash from here on leaves an engine id to reconcile
                seen: list[EngineContainer] = []

                def placed(found: EngineContainer) -> None:
                    # Shown at once: a client (the orchestrator) can tell dependents these addresses
                    # while the engine is still starting the container.
                    seen.append(found)
                    if not found.running and placement.follow(parts, row, found, doing=placement.STARTING_STATUS):
                        session.commit()

                parts.engine.start_container(row.engine_id, placed)
            except EngineError as exc:
                transition(row, S.FAILED, f"start failed: {exc.message}", parts.bus)
                session.commit()
                raise EngineFailure(f"container {row.name!r} failed to start: {exc.message}") from exc
            links.shape_started(parts, session, row)
            transition(row, S.RUNNING, "the container is running", parts.bus)
            # A cluster engine chose its node and addresses; it told them with the task running, if it could.
            placement.follow(parts, row, seen[-1] if seen and seen[-1].running else None)
            row.ports = published_ports(parts.engine, row.engine_id, row.ports)
            session.flush()
            return view(row)

    def metadata(self, ref: str) -> dict[str, str]:
        with self._parts.store.session() as session:
            return dict(get_row(session, ref).md or {})

    def update_metadata(self, ref: str, entries: dict[str, str]) -> dict[str, str]:
        """Merge ``entries``; an empty value deletes its key. Only before start."""
        checked_metadata(entries)
        with self._parts.locks.locked_row(ref) as (_session, row):
            check_editable(row)
            merged = dict(row.md or {})
            for key, value in entries.items():
                if value == "":
                    merged.pop(key, None)
                else:
                    merged[key] = value
            row.md = merged
            self._parts.bus.publish("container.metadata", row.id, name=row.name, keys=",".join(sorted(entries)))
            return merged

    @metrics.timed_operation("stop")
    def stop(self, ref: str, wait: bool = False, keep_addresses: bool = False) -> Container:
        """STOPPING now; EXITED (or FAILED) once the engine has stopped it.

        ``keep_addresses``: stopped to run again (``restart``), it holds its addresses while EXITED
        (a Nova ``os-stop``); otherwise they go back to their networks, as seed 001's Stop says."""
        with self._parts.locks.locked_row(ref) as (session, row):
            check_stoppable(row)
            transition(row, S.STOPPING, STOPPING_KEEPING if keep_addresses else "stopping", self._parts.bus)
            session.flush()
            result = view(row)
        future = self._stopper.finish_later(result.id, result.engine_id)
        if wait:
            future.result()
            return self.get(result.id)
        return result

    @metrics.timed_operation("restart")
    def restart(self, ref: str) -> Container:
        """A terminated (EXITED or FAILED) container runs again on its engine container, with
        the same addresses; never offered by the Pop protocol (seed 001: each state once)."""
        return restarter.restart(self._parts, ref)

    @metrics.timed_operation("reboot")
    def reboot(self, ref: str, hard: bool = False) -> Container:
        """A running container stopped (killed when ``hard``) and started again, RUNNING throughout."""
        return restarter.reboot(self._parts, ref, hard)

    def stop_all(self) -> builtins.list[Container]:
        stopped = []
        for container in self.list(state=S.RUNNING):
            try:
                stopped.append(self.stop(container.id))
            except (InvalidState, NotFound):
                continue  # it stopped or went away on its own meanwhile
        return stopped

    @metrics.timed_operation("delete")
    def delete(self, ref: str) -> None:
        """Stops if needed and forgets the container; its addresses are free again."""
        with self._parts.locks.locked_row(ref) as (session, row):
            if row.engine_id:
                try:
                    self._parts.engine.remove_container(row.engine_id, force=True)
                except EngineNotFound:
                    pass
                except EngineError as exc:
                    raise EngineFailure(f"engine cannot remove {row.name!r}: {exc.message}") from exc
            container_id, name = row.id, row.name
            session.delete(row)
        self._parts.bus.publish("container.deleted", container_id, name=name)

    def prune(self) -> builtins.list[str]:
        """Deletes every terminated container; returns their names."""
        pruned = []
        for container in self.list():
            if container.state.terminal:
                try:
                    self.delete(container.id)
                    pruned.append(container.name)
                except NotFound:
                    continue
        return pruned

    # --- a started container --------------------------------------------------
    def logs(self, ref: str, tail: int | None = None, timestamps: bool = False) -> Logs:
        return running.logs(self._parts, ref, tail, timestamps)

    def follow_logs(self, ref: str, tail: int | None = None, timestamps: bool = False) -> LogStream:
        """A stream of the container's output as it comes (``close()`` it); the caller holds a stream slot."""
        return running.follow_logs(self._parts, ref, tail, timestamps)

    def stats(self, ref: str) -> Stats:
        return running.stats(self._parts, ref)

    def exec_bounds(self, timeout: float | None) -> ExecBounds:
        return running.exec_bounds(self._parts, timeout)

    def exec(
        self,
        ref: str,
        command: builtins.list[str],
        env: dict[str, str] | None = None,
        workdir: str | None = None,
        *,
        user: str = "-",
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> ExecOutput:
        """Runs ``command`` with a deadline and an output cap; at most ``execs`` at once on this PoP
        and ``execs_per_user`` per user (TooBusy beyond, at once)."""
        bounds = self.exec_bounds(timeout)
        with self.exec_slots.held(user):
            return self.exec_held(ref, command, env, workdir, bounds=bounds, cancel=cancel)

    def exec_held(
        self,
        ref: str,
        command: builtins.list[str],
        env: dict[str, str] | None,
        workdir: str | None,
        *,
        bounds: ExecBounds,
        cancel: threading.Event | None = None,
    ) -> ExecOutput:
        """``exec`` for a caller that holds a slot of ``exec_slots`` already."""
        return running.exec_held(self._parts, ref, command, env, workdir, bounds=bounds, cancel=cancel)

    def commit(
        self, ref: str, repository: str, tag: str | None, message: str | None, author: str | None
    ) -> EngineImage:
        return running.commit(self._parts, ref, repository, tag, message, author)

    # --- networks -------------------------------------------------------------
    def connect(self, ref: str, network_ref: str, ip: str | None = None) -> Container:
        return self.get(attachments.connect(self._parts, ref, network_ref, ip))

    def disconnect(self, ref: str, network_ref: str) -> Container:
        return attachments.disconnect(self._parts, ref, network_ref)

    # --- the engine's view ----------------------------------------------------
    def on_engine_exit(self, container_id: str, exit_code: int | None, oom: bool = False) -> None:
        engine_events.on_engine_exit(self._parts, container_id, exit_code, oom)

    def on_engine_start(self, container_id: str) -> None:
        placement.on_engine_start(self._parts, container_id)

    def on_engine_restart(self, container_id: str) -> None:
        placement.on_engine_restart(self._parts, container_id)

    def reshape_links(self, container_id: str) -> None:
        """The engine (re)started it on its own: its new interfaces carry no shaping yet."""
        links.on_engine_start(self._parts, container_id)

    def relink(self, ref: str, network_id: str, limit: dict[str, str | None] | None = None) -> Container:
        """Re-applies the link limits of one endpoint (storing ``limit`` as its own first, when given)."""
        return links.relink(self._parts, ref, network_id, limit)

    def reconcile(self) -> None:
        """Bring records and engine containers into agreement after a restart of us or the engine."""
        self._reconciler.reconcile()
