"""The Docker Swarm driver: a PoP that is a cluster, behind the same `EngineDriver`.

A Pop container is a one-replica Swarm service, made at Start (a Pop Create
is a record only), scaled to 0 by Stop. Swarm
schedules, restarts and reschedules its task; popvim only follows. The
service's id is the container's engine id; what runs is its current task, on
some node. Logs, exec, stats and commit go to that node's own engine (the
node label ``io.popvim.engine``, or the ``[swarm] nodes`` table of the config,
says how to reach it), through a `DockerDriver` per node.

Networks are attachable overlays with popvim's subnet; Swarm assigns task
addresses itself (a service cannot ask for one), from the upper half of the
subnet unless an ip_range is given, so they never meet popvim's own
reservations (taken from the bottom). Endpoint mode is dnsrr: the Swarm VIP
needs IPVS, which a lab or a small node may lack.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import docker
import docker.errors

from popvim.engine.docker_driver import DockerDriver, _engine_time, _translated, event_action
from popvim.engine.driver import (
    ContainerSpec,
    EngineContainer,
    EngineEvent,
    EngineImage,
    EngineNetwork,
    EngineStats,
    EngineUsage,
    ExecBounds,
    ExecResult,
    LogStream,
    NetworkSpec,
)
from popvim.engine.errors import (
    EngineConflict,
    EngineError,
    EngineInvalid,
    EngineNotFound,
    EngineUnavailable,
)
from popvim.engine.shaping import LinkShape

log = logging.getLogger(__name__)

LABEL_ENGINE = "io.popvim.engine"  # on a Swarm node: the URL of that node's own Docker engine
LABEL_RESTART = "io.popvim.restart"  # on a service: the Pop restart policy it was made with
LABEL_SITE = "io.popvim.site"  # on a container: run on a node labelled site=<value>
LABEL_CONSTRAINTS = "io.popvim.constraints"  # on a container: Swarm constraints, ';'-separated

# Task states before the container runs, and after it ended (Swarm's own words).
_STARTING = {"new", "allocated", "pending", "assigned", "accepted", "ready", "preparing", "starting"}
_ENDED = {"complete", "failed", "shutdown", "rejected", "orphaned", "remove"}
_WAIT_INTERVAL = 0.05  # s between rounds of the one task query that every waiting Start and Stop shares
# Task states on the node: what comes next is a container event of that node's engine, which nudges
# the query (_TaskPoll.nudge), so the rounds can be that much further apart
_ON_NODE = {"preparing", "ready", "starting", "running"}
_ON_NODE_INTERVAL = 0.5
_NUDGED_FOR = 1.0  # s of rounds at _WAIT_INTERVAL after a nudge: the manager hears of the change a moment later
# The container events that move a task on (not exec_*, attach, resize: an Exec must not cost a query)
_LIFECYCLE = {"create", "start", "die", "stop", "kill", "destroy", "oom"}


def _restart_condition(policy: str | None) -> dict[str, Any]:
    """Swarm's restart policy for a Pop one.

    "no" becomes on-failure, not none: a node stopped or lost kills its tasks
    (exit 137), and Swarm must bring them back elsewhere. A clean exit (code 0)
    ends the container as on one engine.
    """
    name, _, retries = (policy or "no").partition(":")
    if name in ("always", "unless-stopped"):
        return {"Condition": "any", "Delay": 500_000_000}
    condition: dict[str, Any] = {"Condition": "on-failure", "Delay": 500_000_000}
    if name == "on-failure" and retries.isdigit():
        condition["MaxAttempts"] = int(retries)
    return condition


def _mount(volume: str) -> dict[str, Any]:
    parts = volume.split(":")
    source, target = parts[0], parts[1] if len(parts) > 1 else parts[0]
    mount: dict[str, Any] = {
        "Type": "bind" if source.startswith("/") else "volume",
        "Source": source,
        "Target": target,
    }
    if len(parts) > 2 and "ro" in parts[2].split(","):
        mount["ReadOnly"] = True
    return mount


def _constraints(labels: dict[str, str]) -> list[str]:
    found = [c.strip() for c in labels.get(LABEL_CONSTRAINTS, "").split(";") if c.strip()]
    if labels.get(LABEL_SITE):
        found.append(f"node.labels.site=={labels[LABEL_SITE]}")
    return found


def _created(task: dict[str, Any]) -> tuple[str, int]:
    return (str(task.get("CreatedAt", "")), int((task.get("Version") or {}).get("Index") or 0))


def current_task(tasks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The task that stands for the container: the newest one meant to run, else the newest."""
    if not tasks:
        return None
    meant = [t for t in tasks if t.get("DesiredState") in ("running", "ready")]
    return max(meant or tasks, key=_created)


def container_view(service: dict[str, Any], tasks: list[dict[str, Any]], node_names: dict[str, str]) -> EngineContainer:
    """A service and its tasks as one `EngineContainer` (the domain's view of an engine container)."""
    spec = service.get("Spec") or {}
    template = spec.get("TaskTemplate") or {}
    cspec = template.get("ContainerSpec") or {}
    replicas = int(((spec.get("Mode") or {}).get("Replicated") or {}).get("Replicas") or 0)
    task = current_task(tasks)
    status, running, restarting, exit_code, error = "created", False, False, None, ""
    networks: dict[str, str] = {}
    node = ""
    if task is not None:
        state = str((task.get("Status") or {}).get("State") or "")
        cstatus = (task.get("Status") or {}).get("ContainerStatus") or {}
        code = cstatus.get("ExitCode")
        exit_code = int(code) if code is not None and state in _ENDED else None
        error = str((task.get("Status") or {}).get("Err") or "")
        node = node_names.get(str(task.get("NodeID") or ""), str(task.get("NodeID") or ""))
        desired = task.get("DesiredState")
        if state == "running" and desired == "running":
            status, running = "running", True
        elif replicas > 0 and (state in _STARTING or desired in ("running", "ready")) and state != "complete":
            status, restarting = "restarting", True
        elif state == "complete":
            status = "exited"
            exit_code = 0 if exit_code is None else exit_code
        else:
            status = "exited" if state in _ENDED else state
        for attachment in task.get("NetworksAttachments") or []:
            name = ((attachment.get("Network") or {}).get("Spec") or {}).get("Name", "")
            addresses = attachment.get("Addresses") or []
            if name and addresses:
                networks[name] = str(addresses[0]).split("/")[0]
    elif replicas > 0:
        status, restarting = "restarting", True  # asked to run, no task scheduled yet
    if not networks:
        networks = {str(n.get("Target", "")): "" for n in template.get("Networks") or []}
    return EngineContainer(
        id=service["ID"],
        name=spec.get("Name", ""),
        image=cspec.get("Image", ""),
        status=status,
        running=running,
        restarting=restarting,
        exit_code=exit_code,
        error=error,
        oom_killed=False,
        labels=dict(cspec.get("Labels") or {}),
        networks=networks,
        node=node,
    )


def _swarm_range(subnet: str) -> str:
    """The upper half of ``subnet``: where Swarm gives task addresses, away from popvim's reservations."""
    net = ipaddress.IPv4Network(subnet)
    if net.prefixlen >= 30:
        return str(net)
    return str(list(net.subnets(prefixlen_diff=1))[1])


def _on_node(tasks: list[dict[str, Any]] | EngineError) -> bool:
    """Whether each task of a service that has not ended is on its node (and one is)."""
    if isinstance(tasks, EngineError):
        return False
    states = [(t.get("Status") or {}).get("State") for t in tasks]
    live = [state for state in states if state not in _ENDED]
    return bool(live) and all(state in _ON_NODE for state in live)


def _moved_task(raw: dict[str, Any]) -> str | None:
    """The service whose task a node's container event moves on (started, ended), if any."""
    service_id = ((raw.get("Actor") or {}).get("Attributes") or {}).get("com.docker.swarm.service.id")
    return str(service_id) if service_id and event_action(raw) in _LIFECYCLE else None


class _TaskPoll:
    """The tasks of every service a Start or Stop waits on, read in one query per interval (50 ms
    while one is still with the manager or for a second after a nudge, 0.5 s once all are on their
    nodes), and at once when a node's engine reports a container of one of them starting or ending
    (`nudge`).

    Each waits for its service's tasks to reach a state; polled one by one, six Starts at once
    made 120 queries a second to the manager, on the CPUs the nodes start those tasks with.
    A query naming a service that is gone fails whole (404): that round asks service by
    service, so only the waiter of the missing one hears of it.
    """

    def __init__(self, api: docker.APIClient, interval: float) -> None:
        self._api, self._interval = api, interval
        self._changed = threading.Condition()
        self._nudged = threading.Event()
        self._hot_until = 0.0  # monotonic time until which rounds follow each other at ``interval``
        self._waiting: dict[str, int] = {}  # service id -> how many wait on it
        self._seen: dict[str, list[dict[str, Any]] | EngineError] = {}
        self._round = 0
        self._polling = False

    @contextlib.contextmanager
    def watching(self, service_id: str) -> Iterator[Callable[[], list[dict[str, Any]]]]:
        """A function that answers the service's tasks as the next round (after the last answer) saw them."""
        with self._changed:
            self._waiting[service_id] = self._waiting.get(service_id, 0) + 1
            if not self._polling:
                self._polling = True
                threading.Thread(target=self._poll, name="popvim-swarm-tasks", daemon=True).start()
            last = self._round

        def next_tasks() -> list[dict[str, Any]]:
            nonlocal last
            with self._changed:
                self._changed.wait_for(lambda: self._round > last)
                last = self._round
                seen = self._seen.get(service_id, [])
            if isinstance(seen, EngineError):
                raise seen
            return seen

        try:
            yield next_tasks
        finally:
            with self._changed:
                self._waiting[service_id] -= 1
                if not self._waiting[service_id]:
                    del self._waiting[service_id]

    def _poll(self) -> None:
        while True:
            with self._changed:
                ids = list(self._waiting)
                if not ids:
                    self._polling = False
                    return
            seen = self._query(ids)
            with self._changed:
                self._seen, self._round = seen, self._round + 1
                self._changed.notify_all()
            calm = time.monotonic() > self._hot_until and all(_on_node(t) for t in seen.values())
            self._nudged.wait(_ON_NODE_INTERVAL if calm else self._interval)
            self._nudged.clear()

    def nudge(self, service_id: str) -> None:
        """A node's engine said a task of ``service_id`` changed: if a Start or Stop waits on it,
        look now rather than at the end of the interval."""
        if service_id in self._waiting:
            self._hot_until = time.monotonic() + _NUDGED_FOR
            self._nudged.set()

    def _query(self, ids: list[str]) -> dict[str, list[dict[str, Any]] | EngineError]:
        seen: dict[str, list[dict[str, Any]] | EngineError] = {i: [] for i in ids}
        try:
            with _translated():
                for task in self._api.tasks(filters={"service": ids}):
                    found = seen.get(str(task.get("ServiceID")))
                    if isinstance(found, list):
                        found.append(task)
            return seen
        except EngineNotFound:
            pass  # one of them is gone: ask each
        except EngineError as exc:
            return dict.fromkeys(ids, exc)
        for service_id in ids:
            try:
                with _translated():
                    seen[service_id] = list(self._api.tasks(filters={"service": service_id}))
            except EngineError as exc:
                seen[service_id] = exc
        return seen


class SwarmDriver:
    """`EngineDriver` over a Swarm manager; per-task calls go to the task's node engine."""

    places_containers = True

    def __init__(
        self,
        manager_url: str | None = None,
        nodes: dict[str, str] | None = None,
        stop_grace: float = 5.0,
        start_timeout: float = 120.0,
        timeout: int = 120,
    ) -> None:
        self._manager = DockerDriver(manager_url, timeout=timeout)
        self._api: docker.APIClient = self._manager._api  # noqa: SLF001 - the same engine, its raw client
        self._configured_nodes = dict(nodes or {})  # hostname or node id -> engine URL
        self._node_drivers: dict[str, DockerDriver] = {}
        self._node_lock = threading.Lock()
        self._stop_grace = stop_grace
        self._start_timeout = start_timeout
        self._task_poll = _TaskPoll(self._api, _WAIT_INTERVAL)
        with _translated():
            swarm = self._api.info().get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
            raise EngineError(
                "--engine swarm needs a Swarm manager: the engine at "
                f"{manager_url or 'the default socket'} is not one (docker swarm init, or scripts/lab.sh up N --swarm)"
            )

    # --- engine ---------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        info = self._manager.info()
        with _translated():
            nodes = self._api.nodes()
        info["Engine"] = "swarm"
        info["SwarmNodes"] = [
            {
                "id": n["ID"],
                "hostname": (n.get("Description") or {}).get("Hostname", ""),
                "state": (n.get("Status") or {}).get("State", ""),
                "availability": (n.get("Spec") or {}).get("Availability", ""),
                "role": (n.get("Spec") or {}).get("Role", ""),
                "labels": (n.get("Spec") or {}).get("Labels") or {},
            }
            for n in nodes
        ]
        return info

    def ping(self, timeout: float = 2.0) -> bool:
        return self._manager.ping(timeout)

    # --- nodes ----------------------------------------------------------------
    def _nodes(self) -> list[dict[str, Any]]:
        with _translated():
            return list(self._api.nodes())

    def _node_names(self) -> dict[str, str]:
        return {n["ID"]: (n.get("Description") or {}).get("Hostname", "") for n in self._nodes()}

    def _node_url(self, node: dict[str, Any]) -> str | None:
        hostname = (node.get("Description") or {}).get("Hostname", "")
        return (
            self._configured_nodes.get(node["ID"])
            or self._configured_nodes.get(hostname)
            or ((node.get("Spec") or {}).get("Labels") or {}).get(LABEL_ENGINE)
        )

    def _node_driver(self, node_id: str) -> DockerDriver:
        with _translated():
            node = self._api.inspect_node(node_id)
        url = self._node_url(node)
        if not url:
            hostname = (node.get("Description") or {}).get("Hostname", node_id)
            raise EngineUnavailable(
                f"node {hostname} has no engine address: label it {LABEL_ENGINE}=URL or list it in [swarm] nodes"
            )
        with self._node_lock:
            driver = self._node_drivers.get(url)
            if driver is None:
                driver = self._node_drivers[url] = DockerDriver(url, timeout=60)
            return driver

    def _tasks(self, service_id: str | None = None) -> list[dict[str, Any]]:
        with _translated():
            return list(self._api.tasks(filters={"service": service_id} if service_id else None))

    def _running_task(self, service_id: str) -> tuple[DockerDriver, str]:
        """The node engine and container id of the service's running task."""
        task = current_task(self._tasks(service_id))
        if task is None or (task.get("Status") or {}).get("State") != "running":
            raise EngineInvalid(f"service {service_id[:12]} has no running task", 409)
        container_id = ((task.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID", "")
        return self._node_driver(str(task["NodeID"])), str(container_id)

    # --- images: the manager's (tasks run images by id, which nodes must hold) -------
    def images(self) -> list[EngineImage]:
        return self._manager.images()

    def image(self, ref: str) -> EngineImage:
        return self._manager.image(ref)

    def pull(self, repository: str, tag: str | None) -> Iterator[dict[str, Any]]:
        return self._manager.pull(repository, tag)

    def remove_image(self, ref: str, force: bool = False) -> None:
        self._manager.remove_image(ref, force)

    def commit(
        self, container_id: str, repository: str, tag: str | None, message: str | None, author: str | None
    ) -> EngineImage:
        node, task_container = self._running_task(container_id)
        return node.commit(task_container, repository, tag, message, author)

    # --- containers: one-replica services ----------------------------------------
    def _image_ref(self, image: str) -> str:
        """A registry digest when the image has one (every node can pull it), else the id."""
        with contextlib.suppress(EngineError), _translated():
            digests = self._api.inspect_image(image).get("RepoDigests") or []
            if digests:
                return str(digests[0])
        return image

    def _service_spec(self, spec: ContainerSpec, replicas: int) -> dict[str, Any]:
        if spec.privileged:
            raise EngineInvalid("a Swarm service cannot be privileged: use cap_add for what it needs", 400)
        container: dict[str, Any] = {
            "Image": self._image_ref(spec.image),
            "Labels": dict(spec.labels),
            "Env": [f"{k}={v}" for k, v in spec.env.items()],
            "Hostname": spec.name[:63],
            "StopGracePeriod": int(self._stop_grace * 1e9),
        }
        if spec.command:
            container["Args"] = list(spec.command)
        if spec.volumes:
            container["Mounts"] = [_mount(v) for v in spec.volumes]
        if spec.cap_add:
            container["CapabilityAdd"] = [c if c.startswith("CAP_") else f"CAP_{c}" for c in spec.cap_add]
        resources: dict[str, Any] = {}
        if spec.nano_cpus:
            resources["NanoCPUs"] = spec.nano_cpus
        if spec.mem_limit:
            resources["MemoryBytes"] = spec.mem_limit
        template: dict[str, Any] = {
            "ContainerSpec": container,
            "RestartPolicy": _restart_condition(spec.restart_policy),
            "Networks": [{"Target": e.network, "Aliases": [spec.name]} for e in spec.endpoints],
            "Placement": {"Constraints": _constraints(spec.labels)},
        }
        if resources:
            template["Resources"] = {"Limits": resources, "Reservations": dict(resources)}
        ports = []
        for port, host in spec.ports.items():
            number, _, proto = port.partition("/")
            entry: dict[str, Any] = {"Protocol": proto or "tcp", "TargetPort": int(number), "PublishMode": "host"}
            if host:
                entry["PublishedPort"] = int(host)
            ports.append(entry)
        endpoint: dict[str, Any] = {"Mode": "dnsrr"}
        if ports:
            endpoint["Ports"] = ports
        return {
            "Name": spec.name,
            "Labels": {**spec.labels, LABEL_RESTART: spec.restart_policy or "no"},
            "TaskTemplate": template,
            "Mode": {"Replicated": {"Replicas": replicas}},
            "EndpointSpec": endpoint,
        }

    def create_container(self, spec: ContainerSpec) -> str:
        """The service, already at one replica: the domain creates only at Start, and a crash before
        the id is recorded leaves a labelled service that reconciliation takes back as RUNNING."""
        body = self._service_spec(spec, 1)
        with _translated():
            response = self._api._post_json(self._api._url("/services/create"), data=body)  # noqa: SLF001
            created = self._api._result(response, json=True)  # noqa: SLF001
        return str(created["ID"])

    def _scale(self, service_id: str, replicas: int) -> str:
        """The service's full id, once it asks for ``replicas`` tasks."""
        for _attempt in range(5):
            with _translated():
                service = self._api.inspect_service(service_id)
            spec = service["Spec"]
            spec["Mode"] = {"Replicated": {"Replicas": replicas}}
            try:
                with _translated():
                    response = self._api._post_json(  # noqa: SLF001
                        self._api._url("/services/{0}/update", service_id),  # noqa: SLF001
                        params={"version": service["Version"]["Index"]},
                        data=spec,
                    )
                    self._api._raise_for_status(response)  # noqa: SLF001
                return str(service["ID"])
            except EngineError as exc:
                if "update out of sequence" not in exc.message:
                    raise
        raise EngineError(f"service {service_id[:12]} kept changing under the update")

    def start_container(self, container_id: str, placed: Callable[[EngineContainer], None] | None = None) -> None:
        """Scale to one (a no-op right after create) and wait for the task to run: a start that
        Swarm cannot place fails here. ``placed`` hears of the task once Swarm has given it a node
        and its addresses (allocated by the manager, a second or more before the task runs), of a
        task that replaced it, and last of the task running (``running``), so the caller need not
        ask where it runs."""
        with _translated():
            service = self._api.inspect_service(container_id)
        if service["Spec"]["Mode"]["Replicated"]["Replicas"] != 1:
            self._scale(container_id, 1)
        deadline = time.monotonic() + self._start_timeout
        told: tuple[str, bool] | None = None  # the task ``placed`` last heard of, and whether it ran then
        with self._task_poll.watching(service["ID"]) as next_tasks:
            while True:
                tasks = next_tasks()
                current = current_task(tasks)
                ran = any((t.get("Status") or {}).get("State") in ("running", "complete") for t in tasks)
                if placed is not None and current is not None and (current["ID"], ran) != told:
                    found = self._placed(service, tasks)
                    if found is not None:
                        placed(found)
                        told = (current["ID"], ran)
                if ran:
                    return
                for task in tasks:
                    state = (task.get("Status") or {}).get("State")
                    error = str((task.get("Status") or {}).get("Err") or state)
                    if state == "rejected" and "overlaps" in error:
                        continue  # a node still holds a network removed a moment ago: Swarm tries again
                    if state == "pending" and "no suitable node" in error:
                        # Swarm would wait for a node that fits; a Start answers now (the container is FAILED).
                        with contextlib.suppress(EngineError):
                            self._scale(container_id, 0)
                        raise EngineInvalid(f"Swarm cannot place it: {error}", 409)
                    if state in ("failed", "rejected"):
                        with contextlib.suppress(EngineError):
                            self._scale(container_id, 0)
                        raise EngineError(f"the Swarm task {state}: {error}")
                if time.monotonic() > deadline:
                    why = ((current or {}).get("Status") or {}).get("Err") or "no task ran"
                    with contextlib.suppress(EngineError):
                        self._scale(container_id, 0)
                    raise EngineError(f"Swarm did not run the service within {self._start_timeout:g} s: {why}")

    def _placed(self, service: dict[str, Any], tasks: list[dict[str, Any]]) -> EngineContainer | None:
        """The service as a container, once its current task has a node and an address on every network."""
        task = current_task(tasks)
        if task is None or not task.get("NodeID") or task.get("DesiredState") != "running":
            return None
        wanted = len((service["Spec"].get("TaskTemplate") or {}).get("Networks") or [])
        addressed = [a for a in task.get("NetworksAttachments") or [] if a.get("Addresses")]
        if len(addressed) < wanted:
            return None
        return container_view(service, [task], self._node_names())

    def stop_container(self, container_id: str, timeout: float) -> None:
        """Scale to zero and wait until no task of it runs (the grace period is the service's)."""
        service_id = self._scale(container_id, 0)
        deadline = time.monotonic() + self._stop_grace + max(timeout, 0) + 30
        with self._task_poll.watching(service_id) as next_tasks:
            while time.monotonic() < deadline:
                if all((t.get("Status") or {}).get("State") in _ENDED for t in next_tasks()):
                    return
        raise EngineError(f"the tasks of service {container_id[:12]} did not end in time")

    def remove_container(self, container_id: str, force: bool = True) -> None:
        with _translated():
            self._api.remove_service(container_id)

    def container(self, container_id: str) -> EngineContainer:
        with _translated():
            service = self._api.inspect_service(container_id)
        return container_view(service, self._tasks(service["ID"]), self._node_names())

    def containers(self, labels: dict[str, str] | None = None) -> list[EngineContainer]:
        filters = {"label": [f"{k}={v}" for k, v in (labels or {}).items()]} if labels else None
        with _translated():
            services = self._api.services(filters=filters)
        if not services:
            return []
        by_service: dict[str, list[dict[str, Any]]] = {}
        for task in self._tasks():
            by_service.setdefault(str(task.get("ServiceID")), []).append(task)
        names = self._node_names()
        return [container_view(s, by_service.get(s["ID"], []), names) for s in services]

    def _last_task(self, service_id: str) -> tuple[DockerDriver, str]:
        """The node and container of the current task, running or not (logs outlive the process)."""
        task = current_task([t for t in self._tasks(service_id) if (t.get("Status") or {}).get("ContainerStatus")])
        if task is None:
            raise EngineNotFound(f"service {service_id[:12]} has no task with a container yet", 404)
        cid = str(((task.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID", ""))
        return self._node_driver(str(task["NodeID"])), cid

    def stats(self, container_id: str) -> EngineStats:
        node, task_container = self._running_task(container_id)
        return node.stats(task_container)

    def usage(self, container_id: str) -> EngineUsage:
        node, task_container = self._running_task(container_id)
        return node.usage(task_container)

    def exec(
        self,
        container_id: str,
        command: list[str],
        env: dict[str, str] | None,
        workdir: str | None,
        bounds: ExecBounds = ExecBounds(),
        cancel: threading.Event | None = None,
    ) -> ExecResult:
        node, task_container = self._running_task(container_id)
        return node.exec(task_container, command, env, workdir, bounds, cancel)

    def logs_stream(self, container_id: str, tail: int | None, timestamps: bool, follow: bool) -> LogStream:
        node, task_container = self._last_task(container_id)
        return node.logs_stream(task_container, tail, timestamps, follow)

    def connect(self, network_id: str, container_id: str, ipv4: str | None) -> None:
        """Adds the network to the service: Swarm replaces the task (and picks its address)."""
        self._update_networks(container_id, add=network_id)

    def disconnect(self, network_id: str, container_id: str) -> None:
        self._update_networks(container_id, remove=network_id)

    def _update_networks(self, service_id: str, add: str | None = None, remove: str | None = None) -> None:
        with _translated():
            service = self._api.inspect_service(service_id)
            spec = service["Spec"]
            template = spec["TaskTemplate"]
            targets = [n for n in template.get("Networks") or []]
            if remove is not None:
                net = self._api.inspect_network(remove)
                targets = [n for n in targets if n.get("Target") not in (remove, net["Id"], net["Name"])]
            if add is not None:
                targets.append({"Target": add, "Aliases": [spec["Name"]]})
            template["Networks"] = targets
            response = self._api._post_json(  # noqa: SLF001
                self._api._url("/services/{0}/update", service_id),  # noqa: SLF001
                params={"version": service["Version"]["Index"]},
                data=spec,
            )
            self._api._raise_for_status(response)  # noqa: SLF001

    # --- link shaping: not on a cluster (tasks run on other hosts' namespaces) -------
    def shaping_missing(self, netem: bool) -> tuple[str, ...]:
        return ("link shaping on a Swarm PoP (its containers run in other hosts' namespaces)",)

    def shape_endpoint(self, container_id: str, network: str, shape: LinkShape) -> None:
        raise EngineError("link shaping is not available on a Swarm PoP")

    def unshape_endpoint(self, container_id: str, network: str) -> None:
        return None

    # --- networks: attachable overlays -----------------------------------------
    def create_network(self, spec: NetworkSpec) -> str:
        if spec.driver not in ("bridge", "overlay"):
            raise EngineInvalid(f"a Swarm PoP has overlay networks only, not {spec.driver!r}", 400)
        ipam = None
        if spec.subnet:
            pool = docker.types.IPAMPool(
                subnet=spec.subnet, iprange=spec.ip_range or _swarm_range(spec.subnet), gateway=spec.gateway
            )
            ipam = docker.types.IPAMConfig(pool_configs=[pool])
        options = {k: v for k, v in spec.options.items() if not k.startswith("com.docker.network.bridge.")}
        with _translated():
            created = self._api.create_network(
                spec.name,
                driver="overlay",
                options=options or None,
                ipam=ipam,
                internal=spec.internal,
                labels=spec.labels,
                attachable=True,
                check_duplicate=True,
            )
            return str(created["Id"])

    def remove_network(self, network_id: str) -> None:
        """Tasks of services removed a moment ago may still hold the network: retry for a while."""
        deadline = time.monotonic() + 30
        while True:
            try:
                self._manager.remove_network(network_id)
                return
            except EngineNotFound:
                raise
            except EngineError as exc:
                # Docker's 403 (EngineRefused), or the manager's "is in use by task" (a 500):
                # tasks still hold it
                if not (isinstance(exc, EngineConflict) or "in use by task" in exc.message):
                    raise
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)

    def network(self, network_id: str) -> EngineNetwork:
        found = self._manager.network(network_id)
        return self._with_tasks(found)

    def networks(self, labels: dict[str, str] | None = None) -> list[EngineNetwork]:
        return self._manager.networks(labels)

    def _with_tasks(self, net: EngineNetwork) -> EngineNetwork:
        """A Swarm-scoped network's inspect on the manager lists no containers: add the tasks on it."""
        members = dict(net.containers)
        for task in self._tasks():
            if (task.get("Status") or {}).get("State") != "running":
                continue
            for attachment in task.get("NetworksAttachments") or []:
                if (attachment.get("Network") or {}).get("ID") == net.id and attachment.get("Addresses"):
                    members[str(task.get("ServiceID"))] = str(attachment["Addresses"][0]).split("/")[0]
        return EngineNetwork(
            id=net.id,
            name=net.name,
            driver=net.driver,
            subnets=net.subnets,
            gateways=net.gateways,
            internal=net.internal,
            labels=net.labels,
            containers=members,
            options=net.options,
        )

    # --- events -----------------------------------------------------------------
    def events(self, labels: dict[str, str]) -> SwarmEvents:
        return SwarmEvents(self, labels)

    def close(self) -> None:
        self._manager.close()
        with self._node_lock:
            for driver in self._node_drivers.values():
                driver.close()
            self._node_drivers.clear()


_CLOSED = object()


class SwarmEvents:
    """The manager's node and service events, and every node engine's task-container events, as one stream.

    Docker has no task events: a task's container starting or dying is seen on
    the engine of the node it runs on, so one follower per node reads that
    engine's container events (a node that goes away is followed again when
    it answers). A container of a service that Swarm will restart is not a
    death for popvim: only a clean exit (code 0, which Swarm's on-failure
    condition leaves alone) reaches the domain as ``die``; a task that starts
    anywhere arrives as ``start`` (its container may have a new node and
    address). The manager's stream is connected before this returns, and its
    end ends the whole stream (the watcher reconnects and reconciles).
    """

    def __init__(self, driver: SwarmDriver, labels: dict[str, str]) -> None:
        self._driver = driver
        self._labels = labels
        self._queue: queue.Queue[Any] = queue.Queue()
        self._closed = threading.Event()
        filters = {"type": ["node", "service"]}
        with _translated():
            self._manager_stream = driver._api.events(filters=filters, decode=True)  # noqa: SLF001
        self._followers: dict[str, threading.Thread] = {}
        self._streams: dict[str, Any] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._read_manager, name="popvim-swarm-events", daemon=True).start()
        self._follow_nodes()

    def _follow_nodes(self) -> None:
        try:
            nodes = self._driver._nodes()  # noqa: SLF001
        except EngineError as exc:
            log.warning("cannot list the Swarm's nodes: %s", exc.message)
            return
        for node in nodes:
            if (node.get("Status") or {}).get("State") != "ready":
                continue
            url = self._driver._node_url(node)  # noqa: SLF001
            if not url:
                continue
            with self._lock:
                alive = self._followers.get(url)
                if alive is not None and alive.is_alive():
                    continue
                thread = threading.Thread(target=self._read_node, args=(url,), name="popvim-node-events", daemon=True)
                self._followers[url] = thread
            thread.start()

    def _read_manager(self) -> None:
        try:
            while not self._closed.is_set():
                with _translated():
                    raw = next(self._manager_stream, None)
                if raw is None:
                    break
                if raw.get("Type") == "node":
                    attrs = (raw.get("Actor") or {}).get("Attributes") or {}
                    if attrs.get("state.new") == "ready" or raw.get("Action") == "create":
                        self._follow_nodes()  # a node (back) in the Swarm: follow its engine
                    if attrs.get("state.new"):
                        log.info("Swarm node %s is %s", attrs.get("name", ""), attrs["state.new"])
        except EngineError as exc:
            if not self._closed.is_set():
                self._queue.put(exc)
        finally:
            self._queue.put(_CLOSED)

    def _read_node(self, url: str) -> None:
        filters = {"type": ["container"], "label": [f"{k}={v}" for k, v in self._labels.items()]}
        try:
            node = DockerDriver(url, timeout=60)
            with _translated():
                stream = node._api.events(filters=filters, decode=True)  # noqa: SLF001
        except EngineError as exc:
            log.info("node engine %s not followed: %s", url, exc.message)
            return
        with self._lock:
            self._streams[url] = stream
        try:
            while not self._closed.is_set():
                with _translated():
                    raw = next(stream, None)
                if raw is None:
                    return
                service_id = _moved_task(raw)
                if service_id:
                    self._driver._task_poll.nudge(service_id)  # noqa: SLF001
                event = self._translate(raw)
                if event is not None:
                    self._queue.put(event)
        except EngineError as exc:
            if not self._closed.is_set():
                log.info("node engine %s stopped answering: %s", url, exc.message)
        finally:
            with self._lock:
                self._streams.pop(url, None)
            node.close()

    def _translate(self, raw: dict[str, Any]) -> EngineEvent | None:
        actor = raw.get("Actor") or {}
        attrs = dict(actor.get("Attributes") or {})
        service_id = attrs.get("com.docker.swarm.service.id", "")
        if not service_id:
            return None
        action = event_action(raw)
        code = str(attrs.get("exitCode", ""))
        exit_code = int(code) if code.lstrip("-").isdigit() else None
        if action == "die" and exit_code != 0:
            action = "restart"  # Swarm's on-failure or any condition brings it back
        elif action == "die":
            try:
                service = self._driver._api.inspect_service(service_id)  # noqa: SLF001
                condition = ((service["Spec"].get("TaskTemplate") or {}).get("RestartPolicy") or {}).get("Condition")
                if condition == "any":
                    action = "restart"
            except Exception:  # noqa: BLE001 - removed meanwhile: a die it is
                pass
        elif action != "start":
            return None
        return EngineEvent(
            action=action,
            container_id=service_id,
            labels=attrs,
            exit_code=exit_code,
            time=_engine_time(float(raw.get("timeNano", 0)) / 1e9),
        )

    def __iter__(self) -> Iterator[EngineEvent]:
        while True:
            item = self._queue.get()
            if item is _CLOSED:
                return
            if isinstance(item, EngineError):
                raise item
            yield item

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(Exception):
            self._manager_stream.close()
        with self._lock:
            streams = list(self._streams.values())
        for stream in streams:
            with contextlib.suppress(Exception):
                stream.close()
        self._queue.put(_CLOSED)
