"""Containers with seed 001's Pop lifecycle on top of an engine.

A Pop container is a record first (CREATED: addresses reserved, metadata
editable, nothing on the engine); Start makes the engine container with the
metadata as environment. Each state is traversed once (Fig. 4.3); a
terminated container releases its addresses and can only be deleted.

Every transition of one container happens under that container's lock, and
the record is written before and after each engine call, so a crash at any
point leaves something reconciliation can finish (see ``reconcile``).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import queue
import re
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from popvim.engine.driver import (
    ContainerSpec,
    EndpointSpec,
    EngineDriver,
    EngineError,
    EngineNotFound,
    EngineUnreachable,
    ExecBounds,
)
from popvim.observe import metrics
from popvim.store.db import Store
from popvim.store.models import ContainerRow, EndpointRow
from popvim.vim.auth import now
from popvim.vim.errors import (
    AlreadyExists,
    AlreadyRunning,
    AlreadyStopped,
    EngineFailure,
    InvalidArgument,
    InvalidState,
    NotFound,
    NotRunning,
    VimError,
)
from popvim.vim.events import EventBus
from popvim.vim.flavours import FlavourCatalogue
from popvim.vim.images import ImageService
from popvim.vim.labels import LABEL_ID, LABEL_INSTALL, LABEL_POP
from popvim.vim.limits import Slots
from popvim.vim.models import (
    Container,
    ContainerConfig,
    ContainerState,
    Endpoint,
    ExecOutput,
    Logs,
    Stats,
    check_env,
    is_text,
)
from popvim.vim.networks import NetworkService, engine_prefix_ref
from popvim.vim.settings import VimSettings

log = logging.getLogger(__name__)

S = ContainerState
LIVE_STATES = (S.CREATED.value, S.RUNNING.value, S.STOPPING.value)


def _checked_env(env: dict[str, str], what: str) -> None:
    try:
        check_env(env, what)
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from exc


def _generated_name(image: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]", "-", image.split("@")[0].rsplit("/", 1)[-1].split(":")[0]).strip("-.") or "c"
    return f"{base[:40]}-{uuid.uuid4().hex[:8]}"


@functools.lru_cache(maxsize=4096)
def _prefix_length(subnet: str) -> int:
    return ipaddress.IPv4Network(subnet).prefixlen


def _endpoint_view(e: EndpointRow) -> Endpoint:
    return Endpoint(
        network_id=e.network_id,
        network=e.network.name,
        address=e.address,
        prefix_length=_prefix_length(e.network.subnet),
        gateway=e.network.gateway,
        mac=e.mac,
        active=e.active,
    )


def view(row: ContainerRow) -> Container:
    return Container(
        id=row.id,
        name=row.name,
        image=row.image,
        image_id=row.image_id,
        flavour=row.flavour,
        command=row.command,
        env=row.env or {},
        metadata=row.md or {},
        labels=row.labels or {},
        ports=row.ports or {},
        volumes=row.volumes or [],
        cpus=row.cpus,
        memory=row.memory,
        mac_address=row.mac_address,
        privileged=row.privileged,
        cap_add=row.cap_add or [],
        restart_policy=row.restart_policy,
        state=ContainerState(row.state),
        extended_status=row.extended_status,
        exit_code=row.exit_code,
        engine_id=row.engine_id,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        endpoints={e.network.name: _endpoint_view(e) for e in row.endpoints},
    )


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
        self._store = store
        self._engine = engine
        self._settings = settings
        self._bus = bus
        self._networks = networks
        self._images = images
        self._flavours = flavours
        # Weak: a lock lives while someone holds or waits for it, so the map cannot grow forever.
        self._locks: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
        self._locks_guard = threading.Lock()
        self._stoppers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="popvim-stop")
        self._reported: set[str] = set()  # engine ids of foreign containers already reported
        limits = settings.limits
        self.exec_slots = Slots("commands running (exec)", limits.execs, limits.execs_per_user)

    def close(self) -> None:
        self._stoppers.shutdown(wait=True)

    @property
    def labels(self) -> dict[str, str]:
        return {LABEL_POP: self._settings.pop_name}

    def engine_name(self, name: str) -> str:
        return f"{self._settings.engine_prefix}{name}"

    # --- lookup and locking ---------------------------------------------------
    @staticmethod
    def _find(session: Session, ref: str) -> ContainerRow | None:
        if not ref:
            return None
        row = session.get(ContainerRow, ref) or session.scalar(select(ContainerRow).where(ContainerRow.name == ref))
        if row is None and engine_prefix_ref(ref):  # literally: '_' and '%' are no wildcards
            row = session.scalar(select(ContainerRow).where(ContainerRow.engine_id.startswith(ref, autoescape=True)))
        return row

    def _row(self, session: Session, ref: str) -> ContainerRow:
        row = self._find(session, ref)
        if row is None:
            raise NotFound(f"container {ref!r} not found")
        return row

    def _resolve_id(self, ref: str) -> str:
        with self._store.session() as session:
            return self._row(session, ref).id

    @contextmanager
    def _locked(self, ref: str) -> Iterator[str]:
        """The container's id, with its lock held; re-read the row inside."""
        container_id = self._resolve_id(ref)
        with self._locks_guard:
            lock = self._locks.get(container_id)
            if lock is None:
                lock = self._locks[container_id] = threading.Lock()
        with lock:
            yield container_id

    @contextmanager
    def _locked_row(self, ref: str) -> Iterator[tuple[Session, ContainerRow]]:
        with self._locked(ref) as container_id, self._store.session() as session:
            row = session.get(ContainerRow, container_id)
            if row is None:
                raise NotFound(f"container {ref!r} not found")
            yield session, row

    def _transition(self, row: ContainerRow, state: ContainerState, status: str, exit_code: int | None = None) -> None:
        previous = row.state
        row.state = state.value
        row.extended_status = status
        if state is S.RUNNING:
            row.started_at = now()
        if state.terminal:
            row.finished_at = now()
            row.exit_code = exit_code
            for endpoint in row.endpoints:
                endpoint.active = False  # addresses go back to their networks
        self._bus.publish("container.state", row.id, name=row.name, previous=previous, state=state.value, status=status)

    # --- queries --------------------------------------------------------------
    def list(
        self,
        state: ContainerState | None = None,
        name: str | None = None,
        image: str | None = None,
        network: str | None = None,
        label: str | None = None,
    ) -> list[Container]:
        with self._store.session() as session:
            query = select(ContainerRow).order_by(ContainerRow.created_at, ContainerRow.name)
            if state:
                query = query.where(ContainerRow.state == state.value)
            if name:
                query = query.where(ContainerRow.name == name)
            if image:
                query = query.where(ContainerRow.image == image)
            if network:
                net = self._networks.row(session, network)
                query = query.where(ContainerRow.endpoints.any(EndpointRow.network_id == net.id))
            rows = session.scalars(query).all()
            found = [view(r) for r in rows]
        if label:
            key, _, value = label.partition("=")
            found = [c for c in found if key in c.labels and (not value or c.labels[key] == value)]
        return found

    def get(self, ref: str) -> Container:
        with self._store.session() as session:
            return view(self._row(session, ref))

    def wait(self, ref: str, timeout: float) -> Container:
        """The container once it is terminated, or as it is when ``timeout`` runs out.

        Woken by state-change events; re-reads the record on each so a missed
        event costs at most the short re-check interval.
        """
        events = self._bus.subscribe()
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
            self._bus.unsubscribe(events)

    # --- create ---------------------------------------------------------------
    @metrics.timed_operation("create")
    def create(self, config: ContainerConfig) -> Container:
        self._settings.policy.check_container(config)
        flavour = self._flavours.get(config.flavour)
        image = self._images.resolve(config.image)
        # A foreign engine container holding the same name is found at start (FAILED,
        # with the engine's message); checking here would cost every create an engine call.
        name = config.name or _generated_name(config.image)
        requested = config.endpoints or {None: None}
        for _attempt in range(3):
            try:
                result = self._insert(config, name, flavour.id, image.id, requested)
                break
            except IntegrityError as exc:
                # The IPAM lock serialises this process's creates, so only another writer of
                # the same database can take the name or an address between check and
                # commit: look again, which answers AlreadyExists if it is really taken.
                log.warning("create of %r raced another writer (%s); retrying", name, exc.orig)
        else:
            raise AlreadyExists(f"container {name!r} or one of its addresses was taken concurrently; try again")
        self._bus.publish("container.state", result.id, name=name, previous="", state="CREATED", status="created")
        return result

    def _insert(
        self,
        config: ContainerConfig,
        name: str,
        flavour_id: str,
        image_id: str,
        requested: dict[str | None, str | None],
    ) -> Container:
        with self._networks.ipam_lock, self._store.session() as session:
            if session.scalar(select(ContainerRow.id).where(ContainerRow.name == name)):
                raise AlreadyExists(f"container name {name!r} is taken")
            row = ContainerRow(
                id=str(uuid.uuid4()),
                name=name,
                image=config.image,
                image_id=image_id,
                flavour=flavour_id,
                command=config.command,
                env=config.env,
                md=config.metadata,
                labels=config.labels,
                ports=config.ports,
                volumes=config.volumes,
                cpus=config.cpus,
                memory=config.memory,  # type: ignore[arg-type]  # validated to int
                mac_address=config.mac_address,
                privileged=config.privileged,
                cap_add=config.cap_add,
                restart_policy=config.restart_policy,
                state=S.CREATED.value,
                extended_status="created",
                created_at=now(),
            )
            seen: set[str] = set()
            for position, (net_ref, ip) in enumerate(requested.items()):
                net = self._networks.default_row(session) if net_ref is None else self._networks.row(session, net_ref)
                if net.id in seen:
                    raise InvalidArgument(f"network {net.name!r} is named twice in endpoints")
                seen.add(net.id)
                address = self._networks.allocate(session, net, ip)
                if position == 0 and config.mac_address:
                    self._check_mac_free(session, net, config.mac_address)
                row.endpoints.append(
                    EndpointRow(
                        network_id=net.id,
                        network=net,
                        position=position,
                        address=address,
                        mac=config.mac_address if position == 0 else None,
                    )
                )
            session.add(row)
            session.flush()
            return view(row)

    @staticmethod
    def _check_mac_free(session: Session, net: Any, mac: str) -> None:
        """Two interfaces with one MAC on one network break both; call under the IPAM lock."""
        holder = session.scalar(
            select(ContainerRow.name)
            .join(EndpointRow)
            .where(
                EndpointRow.network_id == net.id,
                EndpointRow.active.is_(True),
                func.lower(EndpointRow.mac) == mac.lower(),
            )
        )
        if holder:
            raise AlreadyExists(f"MAC address {mac} is used on network {net.name!r} by container {holder!r}")

    # --- start ----------------------------------------------------------------
    @metrics.timed_operation("start")
    def start(self, ref: str) -> Container:
        with self._locked_row(ref) as (session, row):
            if row.state != S.CREATED.value:
                raise AlreadyRunning(f"container {row.name!r} was started already (state {row.state})")
            # Again at start: a host path may have become a symlink since create (or the policy changed).
            for volume in row.volumes or []:
                self._settings.policy.check_volume(volume)
            spec = self._spec(row)
            try:
                row.engine_id = self._engine.create_container(spec)
                session.commit()  # a crash from here on leaves an engine id to reconcile
                self._engine.start_container(row.engine_id)
            except EngineError as exc:
                self._transition(row, S.FAILED, f"start failed: {exc.message}")
                session.commit()
                raise EngineFailure(f"container {row.name!r} failed to start: {exc.message}") from exc
            self._transition(row, S.RUNNING, "the container is running")
            session.flush()
            return view(row)

    def _spec(self, row: ContainerRow) -> ContainerSpec:
        flavour = self._flavours.get(row.flavour)
        cpus = row.cpus if row.cpus is not None else flavour.cpus
        memory = row.memory if row.memory is not None else flavour.memory
        return ContainerSpec(
            name=self.engine_name(row.name),
            image=row.image_id,
            command=row.command,
            env={**(row.env or {}), **(row.md or {})},
            labels={**(row.labels or {}), **self.labels, LABEL_INSTALL: self._settings.install_id, LABEL_ID: row.id},
            ports=row.ports or {},
            port_address=self._settings.policy.bind_address,
            volumes=row.volumes or [],
            nano_cpus=int(cpus * 1e9) if cpus else None,
            mem_limit=memory,
            privileged=row.privileged,
            cap_add=row.cap_add or [],
            restart_policy=row.restart_policy,
            # By name: Docker 20.10 drops the MAC address when the network is given by id.
            endpoints=[
                EndpointSpec(network=self._networks.engine_name(e.network.name), ipv4=e.address, mac=e.mac)
                for e in row.endpoints
            ],
        )

    # --- metadata -------------------------------------------------------------
    def metadata(self, ref: str) -> dict[str, str]:
        with self._store.session() as session:
            return dict(self._row(session, ref).md or {})

    def update_metadata(self, ref: str, entries: dict[str, str]) -> dict[str, str]:
        """Merge ``entries``; an empty value deletes its key. Only before start."""
        _checked_env({k: v for k, v in entries.items() if v != ""}, "metadata")
        if any(not key or not is_text(key) for key in entries):
            raise InvalidArgument("metadata keys must be non-empty text")
        with self._locked_row(ref) as (_session, row):
            if row.state != S.CREATED.value:
                raise InvalidState(f"metadata of {row.name!r} cannot change after start (state {row.state})")
            merged = dict(row.md or {})
            for key, value in entries.items():
                if value == "":
                    merged.pop(key, None)
                else:
                    merged[key] = value
            row.md = merged
            self._bus.publish("container.metadata", row.id, name=row.name, keys=",".join(sorted(entries)))
            return merged

    # --- stop and delete ------------------------------------------------------
    @metrics.timed_operation("stop")
    def stop(self, ref: str, wait: bool = False) -> Container:
        """STOPPING now; EXITED (or FAILED) once the engine has stopped it."""
        with self._locked_row(ref) as (session, row):
            if row.state == S.CREATED.value:
                raise NotRunning(f"container {row.name!r} has not been started")
            if row.state != S.RUNNING.value:
                raise AlreadyStopped(f"container {row.name!r} is {row.state}, not running")
            self._transition(row, S.STOPPING, "stopping")
            session.flush()
            result = view(row)
        future = self._stoppers.submit(self._finish_stop, result.id, result.engine_id)
        if wait:
            future.result()
            return self.get(result.id)
        return result

    def _finish_stop(self, container_id: str, engine_id: str | None) -> None:
        try:
            self._stop_engine_container(container_id, engine_id)
        except NotFound:
            pass  # deleted meanwhile
        except Exception:
            log.exception("finishing the stop of %s failed; it stays STOPPING until reconciled", container_id)

    def _stop_engine_container(self, container_id: str, engine_id: str | None) -> None:
        final, status, code = S.EXITED, "stopped", None
        if engine_id:
            try:
                self._engine.stop_container(engine_id, self._settings.stop_timeout_seconds)
            except EngineNotFound:
                status = "stopped (the engine container was gone)"
            except EngineUnreachable as exc:
                self._stop_pending(container_id, exc)
                return
            except EngineError as exc:
                final, status = S.FAILED, f"stop failed: {exc.message}"
            try:
                current = self._engine.container(engine_id)
                code = current.exit_code
                if current.running:
                    # Still running: its addresses are still in use, so it stays STOPPING
                    # (Delete removes it by force; the next reconcile stops it again).
                    with self._locked_row(container_id) as (_session, row):
                        row.extended_status = f"{status}; the container still runs"
                    return
            except EngineUnreachable as exc:
                self._stop_pending(container_id, exc)
                return
            except EngineError:
                pass
        with self._locked_row(container_id) as (_session, row):
            if row.state == S.STOPPING.value:
                self._transition(row, final, status, code)

    def _stop_pending(self, container_id: str, exc: EngineError) -> None:
        """The engine did not answer: whether the container still runs is unknown, so it stays
        STOPPING with its addresses held; reconciliation finishes the stop once the engine answers."""
        log.warning("stop of %s pending: %s", container_id, exc.message)
        with self._locked_row(container_id) as (_session, row):
            if row.state == S.STOPPING.value:
                row.extended_status = "stopping: the engine is unreachable; the stop finishes when it answers"

    def stop_all(self) -> list[Container]:
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
        with self._locked_row(ref) as (session, row):
            if row.engine_id:
                try:
                    self._engine.remove_container(row.engine_id, force=True)
                except EngineNotFound:
                    pass
                except EngineError as exc:
                    raise EngineFailure(f"engine cannot remove {row.name!r}: {exc.message}") from exc
            container_id, name = row.id, row.name
            session.delete(row)
        self._bus.publish("container.deleted", container_id, name=name)

    def prune(self) -> list[str]:
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

    # --- running containers ---------------------------------------------------
    def _running_engine_id(self, ref: str) -> str:
        with self._store.session() as session:
            row = self._row(session, ref)
            if row.state != S.RUNNING.value or not row.engine_id:
                raise NotRunning(f"container {row.name!r} is {row.state}, not running")
            return row.engine_id

    def logs(self, ref: str, tail: int | None = None, timestamps: bool = False) -> Logs:
        """The last ``tail`` lines (the configured default when None), at most ``logs_bytes`` of them
        (the newest are kept; ``truncated`` says when older ones were cut)."""
        limits = self._settings.limits
        with self._store.session() as session:
            engine_id = self._row(session, ref).engine_id
        if not engine_id:
            return Logs(logs="")
        stream = self._engine_call(
            lambda: self._engine.logs_stream(engine_id, limits.logs_tail if tail is None else tail, timestamps, False)
        )
        kept, truncated = bytearray(), False
        try:
            for chunk in stream:
                kept += chunk
                if len(kept) > limits.logs_bytes:
                    del kept[: len(kept) - limits.logs_bytes]
                    truncated = True
        finally:
            stream.close()
        return Logs(logs=bytes(kept).decode(errors="replace"), truncated=truncated)

    def follow_logs(self, ref: str, tail: int | None = None, timestamps: bool = False) -> Any:
        """A stream of the container's output as it comes (``close()`` it); the caller holds a stream slot."""
        with self._store.session() as session:
            engine_id = self._row(session, ref).engine_id
        if not engine_id:
            raise NotRunning(f"container {ref!r} has not been started: there is no output to follow")
        tail = self._settings.limits.logs_tail if tail is None else tail
        return self._engine_call(lambda: self._engine.logs_stream(engine_id, tail, timestamps, True))

    def stats(self, ref: str) -> Stats:
        engine_id = self._running_engine_id(ref)
        return Stats(**self._engine_call(lambda: self._engine.stats(engine_id)))

    def exec_bounds(self, timeout: float | None) -> ExecBounds:
        limits = self._settings.limits
        if timeout is not None and not 0 < timeout <= limits.exec_timeout_max:
            raise InvalidArgument(f"timeout must be above 0 and at most {limits.exec_timeout_max:g} seconds")
        return ExecBounds(timeout=timeout or limits.exec_timeout, max_output=limits.exec_output_bytes)

    def exec(
        self,
        ref: str,
        command: list[str],
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
        command: list[str],
        env: dict[str, str] | None,
        workdir: str | None,
        *,
        bounds: ExecBounds,
        cancel: threading.Event | None = None,
    ) -> ExecOutput:
        """``exec`` for a caller that holds a slot of ``exec_slots`` already."""
        if not command or not all(is_text(a) for a in command):
            raise InvalidArgument("command must be a non-empty list of text arguments")
        _checked_env(env or {}, "env")
        engine_id = self._running_engine_id(ref)
        result = self._engine_call(lambda: self._engine.exec(engine_id, command, env, workdir, bounds, cancel))
        return ExecOutput(
            exit_code=result.exit_code,
            stdout=result.stdout,
            stderr=result.stderr,
            stdout_truncated=result.stdout_truncated,
            stderr_truncated=result.stderr_truncated,
            timed_out=result.timed_out,
        )

    def commit(self, ref: str, repository: str, tag: str | None, message: str | None, author: str | None) -> Any:
        with self._store.session() as session:
            row = self._row(session, ref)
            if not row.engine_id:
                raise InvalidState(f"container {row.name!r} has not been started: there is nothing to commit")
            engine_id = row.engine_id
        image = self._engine_call(lambda: self._engine.commit(engine_id, repository, tag, message, author))
        self._bus.publish("image.committed", image.id, container=ref, repository=repository, tag=tag or "latest")
        return image

    @staticmethod
    def _engine_call(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except EngineNotFound as exc:
            raise NotFound(f"the engine container is gone: {exc.message}") from exc
        except EngineError as exc:
            raise EngineFailure(exc.message) from exc

    # --- network attachment ---------------------------------------------------
    def connect(self, ref: str, network_ref: str, ip: str | None = None) -> Container:
        if ip:
            try:
                ipaddress.IPv4Address(ip)
            except ValueError as exc:
                raise InvalidArgument(f"{ip!r} is not an IPv4 address") from exc
        with self._locked(ref) as container_id:
            # The address is recorded (and the IPAM lock released) before the engine is
            # asked, so a slow engine never holds up every other create on the PoP.
            with self._networks.ipam_lock, self._store.session() as session:
                row = self._row(session, container_id)
                if row.state not in (S.CREATED.value, S.RUNNING.value):
                    raise InvalidState(f"container {row.name!r} is {row.state}: only CREATED or RUNNING ones connect")
                net = self._networks.row(session, network_ref)
                if any(e.network_id == net.id for e in row.endpoints):
                    raise AlreadyExists(f"container {row.name!r} is already on network {net.name!r}")
                address = self._networks.allocate(session, net, ip)
                endpoint = EndpointRow(network_id=net.id, network=net, position=len(row.endpoints), address=address)
                row.endpoints.append(endpoint)
                try:
                    session.flush()
                except IntegrityError as exc:  # another writer of the database took it meanwhile
                    raise AlreadyExists(
                        f"address {address} on network {net.name!r} was taken concurrently; try again"
                    ) from exc
                endpoint_id, name, net_name = endpoint.id, row.name, net.name
                running = row.state == S.RUNNING.value and row.engine_id is not None
                engine_id, engine_network = row.engine_id, self._networks.engine_name(net.name)
            if running:
                try:
                    self._engine_call(lambda: self._engine.connect(engine_network, engine_id, address))  # type: ignore[arg-type]
                except VimError:
                    with self._store.session() as session:
                        session.execute(delete(EndpointRow).where(EndpointRow.id == endpoint_id))
                    raise
        self._bus.publish("container.connected", container_id, name=name, network=net_name, address=address)
        return self.get(container_id)

    def disconnect(self, ref: str, network_ref: str) -> Container:
        with self._locked_row(ref) as (session, row):
            net = self._networks.row(session, network_ref)
            endpoint = next((e for e in row.endpoints if e.network_id == net.id), None)
            if endpoint is None:
                raise NotFound(f"container {row.name!r} is not on network {net.name!r}")
            if row.state == S.RUNNING.value and row.engine_id and net.engine_id:
                engine_id, net_engine_id = row.engine_id, net.engine_id
                try:
                    self._engine.disconnect(net_engine_id, engine_id)
                except EngineNotFound:
                    pass
                except EngineError as exc:
                    raise EngineFailure(exc.message) from exc
            row.endpoints.remove(endpoint)
            session.flush()
            self._bus.publish("container.disconnected", row.id, name=row.name, network=net.name)
            return view(row)

    # --- the engine's view ----------------------------------------------------
    def on_engine_exit(self, container_id: str, exit_code: int | None, oom: bool = False) -> None:
        """The engine says the container died: RUNNING becomes EXITED (code 0) or FAILED."""
        try:
            with self._locked_row(container_id) as (_session, row):
                if row.state != S.RUNNING.value:
                    return  # a Stop (or an earlier event) is taking care of it
                if row.engine_id:
                    try:
                        current = self._engine.container(row.engine_id)
                        if row.restart_policy not in (None, "no") and (current.running or current.restarting):
                            return  # the engine restarts it by policy: still RUNNING for us
                        oom = oom or current.oom_killed
                    except EngineError:
                        pass
                self._settle_dead(row, exit_code, oom)
        except NotFound:
            return

    def _reattach(self, row: ContainerRow, found: Any) -> None:
        """Attach the engine container to recorded networks it is missing (a crash cut a connect short)."""
        for endpoint in row.endpoints:
            engine_network = self._networks.engine_name(endpoint.network.name)
            if endpoint.active and engine_network not in found.networks:
                try:
                    self._engine.connect(engine_network, found.id, endpoint.address)
                    log.warning("re-attached %s to network %s", row.name, endpoint.network.name)
                except EngineError as exc:
                    log.error("cannot re-attach %s to %s: %s", row.name, endpoint.network.name, exc.message)

    def _settle_dead(self, row: ContainerRow, exit_code: int | None, oom: bool, error: str = "") -> None:
        state = S.EXITED if exit_code == 0 and not oom else S.FAILED
        reason = "out of memory" if oom else error
        status = f"exited with code {exit_code}" + (f" ({reason})" if reason else "")
        self._transition(row, state, status, exit_code)

    def reconcile(self) -> None:
        """Bring records and engine containers into agreement after a restart of us or the engine."""
        try:
            engine_containers = self._engine.containers(self.labels)
        except EngineError as exc:
            log.warning("container reconciliation skipped: engine unavailable: %s", exc.message)
            return
        with self._store.session() as session:
            ids = session.scalars(select(ContainerRow.id)).all()
        by_pop_id, foreign = self._ours(engine_containers, set(ids))
        for container_id in ids:
            try:
                self._reconcile_one(container_id, by_pop_id.pop(container_id, None))
            except NotFound:
                continue
            except Exception:
                log.exception("reconciling container %s failed", container_id)
        if not ids:  # a fresh or emptied database knows nothing: it cannot call anything an orphan
            foreign += by_pop_id.values()
            by_pop_id = {}
        for orphan in by_pop_id.values():
            try:
                self._engine.remove_container(orphan.id, force=True)
                log.warning("removed orphan engine container %s (%s): no record of it", orphan.name, orphan.id[:12])
                self._bus.publish("container.orphan_removed", orphan.id, name=orphan.name)
            except EngineNotFound:
                pass  # its record was deleted (and it removed) while we looked
            except EngineError as exc:
                log.error("cannot remove orphan engine container %s: %s", orphan.name, exc.message)
        for other in foreign:
            if other.id not in self._reported:
                self._reported.add(other.id)
                owner = other.labels.get(LABEL_INSTALL) or "none"
                log.warning(
                    "engine container %s (%s) has this PoP's name but is not this install's (install %s): left alone",
                    other.name,
                    other.id[:12],
                    owner,
                )
                self._bus.publish("container.foreign", other.id, name=other.name, install=owner)

    def _ours(self, listed: list[Any], ids: set[str]) -> tuple[dict[str, Any], list[Any]]:
        """Engine containers labelled with our PoP name, split into this install's (by
        Pop id) and the others'. One without an install label is ours only if it carries
        the id of one of our records: made by this install before the label existed."""
        mine: dict[str, Any] = {}
        foreign: list[Any] = []
        for container in listed:
            owner, pop_id = container.labels.get(LABEL_INSTALL), container.labels.get(LABEL_ID, "")
            if owner == self._settings.install_id or (owner is None and pop_id in ids):
                mine[pop_id] = container
            else:
                foreign.append(container)
        return mine, foreign

    def _reconcile_one(self, container_id: str, listed: Any) -> None:
        restop: str | None = None
        with self._locked_row(container_id) as (_session, row):
            # Read the engine again under the lock: the listing may predate a Start or Stop.
            engine_id = row.engine_id or (listed.id if listed is not None else None)
            try:
                found = self._engine.container(engine_id) if engine_id else None
            except EngineNotFound:
                found = None
            state = ContainerState(row.state)
            if found is not None and row.engine_id != found.id:
                row.engine_id = found.id
            if state is S.CREATED and found is not None:
                if found.status == "created":  # the start never ran: undo it
                    self._engine.remove_container(found.id, force=True)
                    row.engine_id = None
                else:  # it started, but we died before recording it
                    self._transition(row, S.RUNNING, "the container is running (recovered)")
                    if not (found.running or found.restarting):
                        self._settle_dead(row, found.exit_code, found.oom_killed, found.error)
            elif state is S.RUNNING:
                if found is None:
                    self._transition(row, S.FAILED, "the engine container disappeared")
                elif not (found.running or found.restarting):
                    self._settle_dead(row, found.exit_code, found.oom_killed, found.error)
                else:
                    self._reattach(row, found)
            elif state is S.STOPPING:
                if found is not None and found.running:
                    restop = row.engine_id
                else:
                    self._transition(row, S.EXITED, "stopped", found.exit_code if found else None)
            elif state.terminal:
                for endpoint in row.endpoints:
                    endpoint.active = False
                if found is not None and (found.running or found.restarting):
                    # e.g. started again by its restart policy when the engine restarted
                    self._stoppers.submit(self._engine.stop_container, found.id, self._settings.stop_timeout_seconds)
        if restop:
            self._stoppers.submit(self._finish_stop, container_id, restop)
