"""The Docker engine driver: the only module that imports the Docker SDK.

It uses docker-py's low-level ``APIClient`` so that every option the domain
asks for (fixed IPs on several networks, MAC address, limits) reaches the
engine exactly, and translates every SDK error into an ``EngineError``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import docker
import docker.errors
import requests.exceptions

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
    ExecResult,
    NetworkSpec,
)

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
        cls = {409: EngineConflict, 400: EngineInvalid}.get(status or 0, EngineError)
        raise cls(_explain(exc), status) from exc
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise EngineError(f"container engine unreachable: {exc}") from exc


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
    )


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
        created=str(attrs.get("Created", "")),
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
    return round(cpu_delta / system_delta * online * 100.0, 3)


class DockerDriver:
    """`EngineDriver` over one Docker engine (a local socket or ``tcp://``)."""

    def __init__(self, base_url: str | None = None, timeout: int = 120) -> None:
        with _translated():
            if base_url:
                self._api = docker.APIClient(base_url=base_url, version="auto", timeout=timeout)
            else:
                self._api = docker.from_env(version="auto", timeout=timeout).api

    # --- engine ---------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        with _translated():
            info = self._api.info()
            info["ServerVersion"] = info.get("ServerVersion") or self._api.version().get("Version")
            return info

    def ping(self) -> bool:
        try:
            with _translated():
                return bool(self._api.ping())
        except EngineError:
            return False

    # --- images ---------------------------------------------------------------
    def images(self) -> list[EngineImage]:
        with _translated():
            return [
                EngineImage(
                    id=i["Id"],
                    tags=[t for t in (i.get("RepoTags") or []) if t != "<none>:<none>"],
                    created=str(i.get("Created", "")),
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
        host_config = api.create_host_config(
            port_bindings={p: h for p, h in spec.ports.items()} or None,
            binds=spec.volumes or None,
            nano_cpus=spec.nano_cpus,
            mem_limit=spec.mem_limit,
            privileged=spec.privileged,
            cap_add=spec.cap_add or None,
            restart_policy=_restart_policy(spec.restart_policy),
            network_mode=first.network if first else None,
        )
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
            cid = created["Id"]
            try:
                for endpoint in rest:
                    api.connect_container_to_network(cid, endpoint.network, ipv4_address=endpoint.ipv4)
            except Exception:
                api.remove_container(cid, force=True)
                raise
            return cid

    def start_container(self, container_id: str) -> None:
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

    def container_names(self) -> set[str]:
        with _translated():
            return {n.lstrip("/") for c in self._api.containers(all=True) for n in c.get("Names") or []}

    def logs(self, container_id: str, tail: int | None, timestamps: bool) -> str:
        with _translated():
            raw = self._api.logs(
                container_id, stdout=True, stderr=True, tail="all" if tail is None else tail, timestamps=timestamps
            )
            return raw.decode(errors="replace")

    def stats(self, container_id: str) -> dict[str, Any]:
        with _translated():
            raw = self._api.stats(container_id, stream=False)
        memory = raw.get("memory_stats") or {}
        networks = raw.get("networks") or {}
        return {
            "cpu_percent": _cpu_percent(raw),
            "memory_usage": int(memory.get("usage") or 0),
            "memory_limit": int(memory.get("limit") or 0),
            "pids": int((raw.get("pids_stats") or {}).get("current") or 0),
            "rx_bytes": sum(int(n.get("rx_bytes") or 0) for n in networks.values()),
            "tx_bytes": sum(int(n.get("tx_bytes") or 0) for n in networks.values()),
            "read": raw.get("read"),
        }

    def usage(self, container_id: str) -> dict[str, float]:
        """Cumulative counters in base units, from one sample (no second sample to wait for)."""
        with _translated():
            raw = self._api.stats(container_id, stream=False, one_shot=True)
        cpu = (raw.get("cpu_stats") or {}).get("cpu_usage") or {}
        memory = raw.get("memory_stats") or {}
        networks = (raw.get("networks") or {}).values()
        return {
            "cpu_seconds": float(cpu.get("total_usage") or 0) / 1e9,
            "memory_bytes": float(memory.get("usage") or 0),
            "memory_limit_bytes": float(memory.get("limit") or 0),
            "rx_bytes": float(sum(int(n.get("rx_bytes") or 0) for n in networks)),
            "tx_bytes": float(sum(int(n.get("tx_bytes") or 0) for n in networks)),
        }

    def exec(
        self, container_id: str, command: list[str], env: dict[str, str] | None, workdir: str | None
    ) -> ExecResult:
        with _translated():
            handle = self._api.exec_create(
                container_id, command, stdout=True, stderr=True, environment=env or None, workdir=workdir
            )
            out, err = self._api.exec_start(handle["Id"], demux=True)
            code = self._api.exec_inspect(handle["Id"]).get("ExitCode")
        return ExecResult(
            exit_code=int(code if code is not None else -1),
            stdout=(out or b"").decode(errors="replace"),
            stderr=(err or b"").decode(errors="replace"),
        )

    def connect(self, network_id: str, container_id: str, ipv4: str | None) -> None:
        with _translated():
            self._api.connect_container_to_network(container_id, network_id, ipv4_address=ipv4)

    def disconnect(self, network_id: str, container_id: str) -> None:
        with _translated():
            self._api.disconnect_container_from_network(container_id, network_id, force=True)

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
            return created["Id"]

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
                action=(raw.get("Action") or raw.get("status") or "").split(":")[0],
                container_id=actor.get("ID") or raw.get("id") or "",
                labels=dict(attrs),
                exit_code=int(code) if code.lstrip("-").isdigit() else None,
                time=float(raw.get("timeNano", 0)) / 1e9,
            )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._stream.close()


def _port_key(port: str) -> tuple[int, str] | int:
    number, _, proto = port.partition("/")
    return (int(number), proto) if proto and proto != "tcp" else int(number)
