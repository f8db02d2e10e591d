"""The Docker engine driver: the only module that imports the Docker SDK.

It uses docker-py's low-level ``APIClient`` so that every option the domain
asks for (fixed IPs on several networks, MAC address, limits) reaches the
engine exactly. It is the one place that classifies engine failures: every SDK
error becomes a typed ``EngineError`` by the engine's HTTP status (``_translated``),
and every engine time becomes an aware UTC datetime (``_engine_time``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import select
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions

from popvim.engine import hostmode
from popvim.engine.driver import (
    ContainerSpec,
    EngineConflict,
    EngineContainer,
    EngineError,
    EngineEvent,
    EngineImage,
    EngineInvalid,
    EngineNetwork,
    EngineNotFound,
    EngineRefused,
    EngineStats,
    EngineUnavailable,
    EngineUsage,
    ExecBounds,
    ExecResult,
    NetworkSpec,
)
from popvim.engine.shaping import LinkShape, NetnsShaper

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except docker.errors.NotFound as exc:
        raise EngineNotFound(_explain(exc), 404) from exc
    except docker.errors.ImageNotFound as exc:  # pragma: no cover - subclass of NotFound
        raise EngineNotFound(_explain(exc), 404) from exc
    except docker.errors.APIError as exc:
        status = exc.status_code
        raise _BY_STATUS.get(status or 0, EngineError)(_explain(exc), status) from exc
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise EngineUnavailable(f"container engine unreachable: {exc}") from exc


# Docker answers 403 to a network that overlaps one it has or reuses its bridge name.
_BY_STATUS: dict[int, type[EngineError]] = {
    400: EngineInvalid,
    403: EngineRefused,
    404: EngineNotFound,
    409: EngineConflict,
}
_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")
_ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time: Docker's "never"


def _engine_time(value: object) -> datetime | None:
    """Docker's times, aware UTC: Unix seconds (lists) or RFC 3339 with nanoseconds (inspect)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC) if value > 0 else None
    text = str(value or "").strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC) if int(text) > 0 else None
    match = _RFC3339.match(text)
    if not match or text == _ZERO_TIME:
        return None
    base, fraction, zone = match.groups()
    iso = base + (f".{fraction[:6]}" if fraction else "") + ("+00:00" if zone in (None, "Z") else zone)
    try:
        return datetime.fromisoformat(iso).astimezone(UTC)
    except ValueError:
        return None


def _explain(exc: docker.errors.APIError) -> str:
    explanation = getattr(exc, "explanation", None)
    if isinstance(explanation, bytes):
        explanation = explanation.decode(errors="replace")
    return str(explanation or exc)


def _restart_policy(policy: str | None) -> dict[str, Any] | None:
    if not policy or policy == "no":
        return None
    name, _, retries = policy.partition(":")
    return {"Name": name, "MaximumRetryCount": int(retries or 0)}


def _container(attrs: dict[str, Any]) -> EngineContainer:
    state = attrs.get("State") or {}
    config = attrs.get("Config") or {}
    networks = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    return EngineContainer(
        id=attrs["Id"],
        name=attrs.get("Name", "").lstrip("/"),
        image=config.get("Image", ""),
        status=state.get("Status", ""),
        running=bool(state.get("Running")),
        restarting=bool(state.get("Restarting")),
        exit_code=state.get("ExitCode"),
        error=state.get("Error") or "",
        oom_killed=bool(state.get("OOMKilled")),
        labels=config.get("Labels") or {},
        networks={name: (net or {}).get("IPAddress", "") for name, net in networks.items()},
        ports=_published(attrs),
    )


def _published(attrs: dict[str, Any]) -> dict[str, int]:
    """The host port each container port is published on (the first binding), as the engine chose it."""
    found: dict[str, int] = {}
    for key, bindings in ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).items():
        for binding in bindings or []:
            if str(binding.get("HostPort", "")).isdigit():
                found[key] = int(binding["HostPort"])
                break
    return found


def _network(attrs: dict[str, Any]) -> EngineNetwork:
    ipam = (attrs.get("IPAM") or {}).get("Config") or []
    return EngineNetwork(
        id=attrs["Id"],
        name=attrs["Name"],
        driver=attrs.get("Driver", ""),
        subnets=[c["Subnet"] for c in ipam if c.get("Subnet")],
        gateways=[c["Gateway"] for c in ipam if c.get("Gateway")],
        internal=bool(attrs.get("Internal")),
        labels=attrs.get("Labels") or {},
        containers={
            cid: (c.get("IPv4Address") or "").split("/")[0] for cid, c in (attrs.get("Containers") or {}).items()
        },
        options=attrs.get("Options") or {},
    )


def _image(attrs: dict[str, Any]) -> EngineImage:
    config = attrs.get("Config") or {}
    return EngineImage(
        id=attrs["Id"],
        tags=list(attrs.get("RepoTags") or []),
        created=_engine_time(attrs.get("Created")),
        size=int(attrs.get("Size") or 0),
        labels=(config.get("Labels") if config else attrs.get("Labels")) or {},
        architecture=attrs.get("Architecture", ""),
        os=attrs.get("Os", ""),
    )


def _cpu_percent(stats: dict[str, Any]) -> float:
    cpu, pre = stats.get("cpu_stats") or {}, stats.get("precpu_stats") or {}
    try:
        cpu_delta = cpu["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"]
        system_delta = cpu["system_cpu_usage"] - pre["system_cpu_usage"]
    except (KeyError, TypeError):
        return 0.0
    online = cpu.get("online_cpus") or len(cpu.get("cpu_usage", {}).get("percpu_usage") or []) or 1
    if system_delta <= 0 or cpu_delta < 0:
        return 0.0
    return round(float(cpu_delta / system_delta * online * 100.0), 3)


def event_action(raw: dict[str, Any]) -> str:
    """A Docker event's action without its detail ("exec_start: sh -c ..." is "exec_start")."""
    return str(raw.get("Action") or raw.get("status") or "").split(":")[0]


class DockerDriver:
    """`EngineDriver` over one Docker engine (a local socket or ``tcp://``)."""

    places_containers = False  # every address is the one popvim reserved

    def __init__(self, base_url: str | None = None, timeout: int = 120) -> None:
        with _translated():
            if base_url:
                self._api = docker.APIClient(base_url=base_url, version="auto", timeout=timeout)
            else:
                self._api = docker.from_env(version="auto", timeout=timeout).api
        self._shaper = NetnsShaper()

    # --- engine ---------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        with _translated():
            info: dict[str, Any] = self._api.info()
            info["ServerVersion"] = info.get("ServerVersion") or self._api.version().get("Version")
            return info

    def ping(self, timeout: float = 2.0) -> bool:
        """Whether the engine answers within ``timeout`` seconds (not the client's long default)."""
        try:
            with _translated():
                response = self._api._get(self._api._url("/_ping"), timeout=timeout)  # noqa: SLF001
                return bool(response.status_code == 200)
        except EngineError:
            return False

    # --- images ---------------------------------------------------------------
    def images(self) -> list[EngineImage]:
        with _translated():
            return [
                EngineImage(
                    id=i["Id"],
                    tags=[t for t in (i.get("RepoTags") or []) if t != "<none>:<none>"],
                    created=_engine_time(i.get("Created")),
                    size=int(i.get("Size") or 0),
                    labels=i.get("Labels") or {},
                )
                for i in self._api.images()
            ]

    def image(self, ref: str) -> EngineImage:
        with _translated():
            return _image(self._api.inspect_image(ref))

    def pull(self, repository: str, tag: str | None) -> Iterator[dict[str, Any]]:
        with _translated():
            stream = self._api.pull(repository, tag=tag, stream=True, decode=True)
        while True:
            with _translated():
                item = next(stream, None)
            if item is None:
                return
            if "error" in item:  # a failure after the pull began comes as a message, without a status
                detail = item.get("errorDetail") or {}
                raise EngineError(str(detail.get("message") or item["error"]), detail.get("code"))
            yield item

    def remove_image(self, ref: str, force: bool = False) -> None:
        with _translated():
            self._api.remove_image(ref, force=force)

    def commit(
        self, container_id: str, repository: str, tag: str | None, message: str | None, author: str | None
    ) -> EngineImage:
        with _translated():
            result = self._api.commit(container_id, repository=repository, tag=tag, message=message, author=author)
            return _image(self._api.inspect_image(result["Id"]))

    # --- containers -----------------------------------------------------------
    def create_container(self, spec: ContainerSpec) -> str:
        api = self._api
        first, rest = (spec.endpoints[0], spec.endpoints[1:]) if spec.endpoints else (None, [])
        binds, extra = list(spec.volumes), {}
        if spec.host_mode:
            extra = hostmode.host_config_options()
            extra["cap_add"] = sorted(set(extra["cap_add"]) | set(spec.cap_add))
            binds.append(hostmode.CGROUP_BIND)
        else:
            extra["cap_add"] = spec.cap_add or None
        host_config = api.create_host_config(
            port_bindings={p: (spec.port_address, h) if spec.port_address else h for p, h in spec.ports.items()}
            or None,
            binds=binds or None,
            nano_cpus=spec.nano_cpus,
            mem_limit=spec.mem_limit,
            privileged=spec.privileged,
            restart_policy=_restart_policy(spec.restart_policy),
            network_mode=first.network if first else None,
            **extra,
        )
        if spec.host_mode:
            host_config.update(hostmode.UNMASKED)
        networking = None
        if first:
            networking = api.create_networking_config(
                {first.network: api.create_endpoint_config(ipv4_address=first.ipv4)}
            )
        with _translated():
            created = api.create_container(
                spec.image,
                command=spec.command,
                name=spec.name,
                environment=spec.env or None,
                labels=spec.labels,
                ports=[_port_key(p) for p in spec.ports] or None,
                host_config=host_config,
                networking_config=networking,
                mac_address=first.mac if first and first.mac else None,
                detach=True,
            )
            cid = str(created["Id"])
            try:
                for endpoint in rest:
                    api.connect_container_to_network(cid, endpoint.network, ipv4_address=endpoint.ipv4)
            except Exception:
                api.remove_container(cid, force=True)
                raise
            return cid

    def start_container(self, container_id: str, placed: Callable[[EngineContainer], None] | None = None) -> None:
        """``placed`` is never called: one engine keeps the addresses popvim reserved."""
        with _translated():
            self._api.start(container_id)

    def stop_container(self, container_id: str, timeout: float) -> None:
        with _translated():
            self._api.stop(container_id, timeout=max(0, int(timeout)))

    def remove_container(self, container_id: str, force: bool = True) -> None:
        with _translated():
            self._api.remove_container(container_id, force=force, v=True)

    def container(self, container_id: str) -> EngineContainer:
        with _translated():
            return _container(self._api.inspect_container(container_id))

    def containers(self, labels: dict[str, str] | None = None) -> list[EngineContainer]:
        filters = {"label": [f"{k}={v}" for k, v in (labels or {}).items()]} if labels else None
        with _translated():
            found = []
            for summary in self._api.containers(all=True, filters=filters):
                try:
                    found.append(_container(self._api.inspect_container(summary["Id"])))
                except docker.errors.NotFound:
                    continue  # removed between list and inspect
            return found

    def stats(self, container_id: str) -> EngineStats:
        with _translated():
            raw = self._api.stats(container_id, stream=False)
        memory = raw.get("memory_stats") or {}
        networks = raw.get("networks") or {}
        return EngineStats(
            cpu_percent=_cpu_percent(raw),
            memory_usage=int(memory.get("usage") or 0),
            memory_limit=int(memory.get("limit") or 0),
            pids=int((raw.get("pids_stats") or {}).get("current") or 0),
            rx_bytes=sum(int(n.get("rx_bytes") or 0) for n in networks.values()),
            tx_bytes=sum(int(n.get("tx_bytes") or 0) for n in networks.values()),
            read=_engine_time(raw.get("read")),
        )

    def usage(self, container_id: str) -> EngineUsage:
        """Cumulative counters in base units, from one sample (no second sample to wait for)."""
        with _translated():
            raw = self._api.stats(container_id, stream=False, one_shot=True)
        cpu = (raw.get("cpu_stats") or {}).get("cpu_usage") or {}
        memory = raw.get("memory_stats") or {}
        networks = (raw.get("networks") or {}).values()
        return EngineUsage(
            cpu_seconds=float(cpu.get("total_usage") or 0) / 1e9,
            memory_bytes=float(memory.get("usage") or 0),
            memory_limit_bytes=float(memory.get("limit") or 0),
            rx_bytes=float(sum(int(n.get("rx_bytes") or 0) for n in networks)),
            tx_bytes=float(sum(int(n.get("tx_bytes") or 0) for n in networks)),
        )

    def exec(
        self,
        container_id: str,
        command: list[str],
        env: dict[str, str] | None,
        workdir: str | None,
        bounds: ExecBounds = ExecBounds(),
        cancel: threading.Event | None = None,
    ) -> ExecResult:
        """Runs ``command`` and reads its output from the raw stream, with a deadline.

        docker-py's own readers block without limit, so the multiplexed stream
        (8-byte frame headers) is read here with ``select``: past the deadline,
        past the output cap on either stream, or when ``cancel`` is set, the
        process is killed (see ``_kill_exec``) and the answer says why.
        """
        deadline = time.monotonic() + bounds.timeout
        with _translated():
            handle = self._api.exec_create(
                container_id, command, stdout=True, stderr=True, environment=env or None, workdir=workdir
            )
            exec_id = handle["Id"]
            response = self._api._post_json(  # noqa: SLF001 - exec_start(socket=True) without losing buffered bytes
                self._api._url("/exec/{0}/start", exec_id),  # noqa: SLF001
                headers={"Connection": "Upgrade", "Upgrade": "tcp"},
                data={"Tty": False, "Detach": False},
                stream=True,
            )
            raw = self._api._get_raw_response_socket(response)  # noqa: SLF001
        sock: socket.socket = getattr(raw, "_sock", raw)
        outputs = (bytearray(), bytearray())
        truncated = [False, False]
        reason = ""
        pending = bytearray(_buffered(response))
        try:
            while not reason:
                if pending:
                    _take_frames(pending, outputs, truncated, bounds.max_output)
                    if any(truncated):
                        reason = "output"
                        break
                if cancel is not None and cancel.is_set():
                    reason = "cancelled"
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    reason = "timeout"
                    break
                if not (hasattr(sock, "pending") and sock.pending()):
                    ready, _, _ = select.select([sock], [], [], min(0.25, remaining))
                    if not ready:
                        continue
                chunk = sock.recv(65536)
                if not chunk:
                    _take_frames(pending, outputs, truncated, bounds.max_output)
                    break
                pending += chunk
        except OSError as exc:
            if not reason:
                raise EngineUnavailable(f"the exec stream broke: {exc}") from exc
        finally:
            if reason:
                self._kill_exec(exec_id, container_id)
            with contextlib.suppress(Exception):
                raw.close()
            with contextlib.suppress(Exception):
                response.close()
        code = self._exec_exit_code(exec_id)
        return ExecResult(
            exit_code=code,
            stdout=bytes(outputs[0]).decode(errors="replace"),
            stderr=bytes(outputs[1]).decode(errors="replace"),
            stdout_truncated=truncated[0],
            stderr_truncated=truncated[1],
            timed_out=reason == "timeout",
            cancelled=reason == "cancelled",
        )

    def _exec_exit_code(self, exec_id: str, wait: float = 3.0) -> int:
        """The exit code once the engine has noticed the end (it can lag the stream by a moment)."""
        until = time.monotonic() + wait
        with _translated():
            while True:
                info = self._api.exec_inspect(exec_id)
                if not info.get("Running") or time.monotonic() > until:
                    code = info.get("ExitCode")
                    return int(code) if code is not None and not info.get("Running") else -1
                time.sleep(0.02)

    def _kill_exec(self, exec_id: str, container_id: str) -> None:
        """Kill the exec'd process and its children.

        The Docker API has no call to end an exec; its inspect gives the host PID
        of the process. When the engine runs on this host (the PID is there and in
        the container's cgroup), the process tree is killed with SIGKILL.
        """
        try:
            with _translated():
                full_id = self._api.inspect_container(container_id)["Id"]
                info = self._api.exec_inspect(exec_id)
                # Output can arrive (and fill the cap) before the engine records the exec as running
                # with its PID: until then it is neither running nor ended, so look again.
                until = time.monotonic() + 2.0
                while not info.get("Running") and info.get("ExitCode") is None and time.monotonic() < until:
                    time.sleep(0.02)
                    info = self._api.exec_inspect(exec_id)
        except EngineError as exc:
            log.warning("cannot inspect exec %s to end it: %s", exec_id[:12], exc.message)
            return
        pid = int(info.get("Pid") or 0)
        if not info.get("Running") or pid <= 0:
            return
        if not kill_process_tree(pid, full_id):
            log.warning(
                "exec %s (pid %d) cannot be killed from here: the engine is not on this host", exec_id[:12], pid
            )

    def logs_stream(self, container_id: str, tail: int | None, timestamps: bool, follow: bool) -> _LogStream:
        with _translated():
            stream = self._api.logs(
                container_id,
                stdout=True,
                stderr=True,
                stream=True,
                follow=follow,
                tail="all" if tail is None else tail,
                timestamps=timestamps,
            )
        return _LogStream(stream)

    def connect(self, network_id: str, container_id: str, ipv4: str | None) -> None:
        with _translated():
            self._api.connect_container_to_network(container_id, network_id, ipv4_address=ipv4)

    def disconnect(self, network_id: str, container_id: str) -> None:
        with _translated():
            self._api.disconnect_container_from_network(container_id, network_id, force=True)

    # --- link shaping -----------------------------------------------------------
    def shaping_missing(self, netem: bool) -> tuple[str, ...]:
        return self._shaper.missing(netem)

    def _pid_and_mac(self, container_id: str, network: str) -> tuple[int, str | None]:
        with _translated():
            attrs = self._api.inspect_container(container_id)
        settings = ((attrs.get("NetworkSettings") or {}).get("Networks") or {}).get(network) or {}
        return int((attrs.get("State") or {}).get("Pid") or 0), settings.get("MacAddress") or None

    def shape_endpoint(self, container_id: str, network: str, shape: LinkShape) -> None:
        pid, mac = self._pid_and_mac(container_id, network)
        if not pid:
            raise EngineConflict(f"container {container_id[:12]} is not running: nothing to shape")
        if not mac:
            raise EngineNotFound(f"container {container_id[:12]} has no endpoint on network {network!r}")
        self._shaper.shape(pid, mac, shape)

    def unshape_endpoint(self, container_id: str, network: str) -> None:
        pid, mac = self._pid_and_mac(container_id, network)
        if pid and mac:
            self._shaper.clear(pid, mac)

    # --- networks -------------------------------------------------------------
    def create_network(self, spec: NetworkSpec) -> str:
        ipam = None
        if spec.subnet:
            pool = docker.types.IPAMPool(subnet=spec.subnet, iprange=spec.ip_range, gateway=spec.gateway)
            ipam = docker.types.IPAMConfig(pool_configs=[pool])
        with _translated():
            created = self._api.create_network(
                spec.name,
                driver=spec.driver,
                options=spec.options or None,
                ipam=ipam,
                internal=spec.internal,
                labels=spec.labels,
                attachable=True if spec.driver == "overlay" else None,
                check_duplicate=True,
            )
            return str(created["Id"])

    def remove_network(self, network_id: str) -> None:
        with _translated():
            self._api.remove_network(network_id)

    def network(self, network_id: str) -> EngineNetwork:
        with _translated():
            return _network(self._api.inspect_network(network_id))

    def networks(self, labels: dict[str, str] | None = None) -> list[EngineNetwork]:
        filters = {"label": [f"{k}={v}" for k, v in (labels or {}).items()]} if labels else None
        with _translated():
            return [_network(n) for n in self._api.networks(filters=filters)]

    # --- events ---------------------------------------------------------------
    def events(self, labels: dict[str, str]) -> _EventStream:
        filters = {"type": ["container"], "label": [f"{k}={v}" for k, v in labels.items()]}
        with _translated():
            return _EventStream(self._api.events(filters=filters, decode=True))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._api.close()


class _LogStream:
    """docker-py's log stream (bytes); ``close()`` from another thread unblocks a reader."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                with _translated():
                    chunk = next(self._stream, None)
            except EngineError:
                return  # closed under the reader, or the engine went away: the output ends here
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._stream.close()


def _buffered(response: Any) -> bytes:
    """Bytes the HTTP layer read past the response headers, which would be lost to a raw reader."""
    try:
        fp = response.raw._fp.fp  # noqa: SLF001 - http.client's buffered reader
        waiting = len(fp.peek(0)) if fp.raw is not None and _readable_now(fp.raw) else 0
        return bytes(fp.read(waiting)) if waiting else b""
    except Exception:  # noqa: BLE001 - an unusual transport: nothing to recover
        return b""


def _readable_now(raw: Any) -> bool:
    sock = getattr(raw, "_sock", raw)
    try:
        ready, _, _ = select.select([sock], [], [], 0)
        return bool(ready)
    except (OSError, ValueError, TypeError):
        return False


def _take_frames(pending: bytearray, outputs: tuple[bytearray, bytearray], truncated: list[bool], cap: int) -> None:
    """Move the complete frames of ``pending`` into stdout/stderr, keeping at most ``cap`` bytes of each."""
    while len(pending) >= 8:
        size = int.from_bytes(pending[4:8], "big")
        if len(pending) < 8 + size:
            return
        index = 1 if pending[0] == 2 else 0
        payload = pending[8 : 8 + size]
        del pending[: 8 + size]
        room = cap - len(outputs[index])
        if len(payload) > room:
            outputs[index].extend(payload[: max(room, 0)])
            truncated[index] = True
        else:
            outputs[index].extend(payload)


def _children(proc: Path = Path("/proc")) -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1].isdigit():
            tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def kill_process_tree(pid: int, container_id: str, proc: Path = Path("/proc")) -> bool:
    """SIGKILL ``pid`` and its descendants if it is a process of that container on this host."""
    try:
        cgroups = (proc / str(pid) / "cgroup").read_text()
    except OSError:
        return False
    if container_id not in cgroups:
        return False  # not ours: the PID was reused, or is another host's
    tree = _children(proc)
    victims, queue = [], [pid]
    while queue:
        current = queue.pop()
        victims.append(current)
        queue.extend(tree.get(current, []))
    for victim in victims:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(victim, signal.SIGKILL)
    return True


class _EventStream:
    """Docker's event stream as ``EngineEvent``s; ``close()`` from another thread unblocks it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[EngineEvent]:
        while True:
            with _translated():
                raw = next(self._stream, None)
            if raw is None:
                return
            actor = raw.get("Actor") or {}
            attrs = actor.get("Attributes") or {}
            code = str(attrs.get("exitCode", ""))
            yield EngineEvent(
                action=event_action(raw),
                container_id=actor.get("ID") or raw.get("id") or "",
                labels=dict(attrs),
                exit_code=int(code) if code.lstrip("-").isdigit() else None,
                time=datetime.fromtimestamp(int(raw["timeNano"]) / 1e9, UTC) if raw.get("timeNano") else None,
            )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._stream.close()


def _port_key(port: str) -> tuple[int, str] | int:
    number, _, proto = port.partition("/")
    return (int(number), proto) if proto and proto != "tcp" else int(number)
