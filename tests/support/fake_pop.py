"""An in-memory PoP: the part of the Pop client the orchestrator uses (popvim.nfv.surface).

Enough behaviour for the workflows to be tested without a daemon or an engine: names are
unique, a container's endpoints must name networks that exist and get the next address
of the network's subnet, start moves CREATED to RUNNING, delete of what is not there is
NotFound. Tests break it on purpose: ``broken_images`` fail their create, ``gate``
holds every start until it is set (``holds`` one container's), ``places`` makes it a cluster PoP
that picks a container's node and addresses as its start begins, ``kill`` makes a container exit, ``move`` gives a
running one new addresses (as a cluster PoP does when it reschedules it on another node).
"""

from __future__ import annotations

import ipaddress
import itertools
import threading
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import grpc

from popvim.client import models
from popvim.client.errors import AlreadyExists, InvalidArgument, NotFound, Unreachable
from popvim.nfv.errors import NotFound as PopNotRegistered


class FakePop:
    def __init__(self, name: str) -> None:
        self.name = name
        self.containers_by_id: dict[str, models.Container] = {}
        self.networks_by_id: dict[str, models.Network] = {}
        self.cpu: dict[str, float] = {}  # container name -> its CPU percent
        self.broken_images: set[str] = set()
        self.unreachable = False
        self.gate: threading.Event | None = None
        self.holds: dict[str, threading.Event] = {}  # container name -> holds its start (over ``gate``)
        self.create_holds: dict[str, threading.Event] = {}  # container name -> holds its create
        self.places = False  # a cluster PoP (Swarm): a start places the container (node, new addresses) first
        self.starting: list[str] = []  # container names, in the order their start was asked
        self.failing_starts: set[str] = set()  # container names whose start fails (after ``gate``)
        self.created: list[str] = []  # container names, in the order they were asked for
        self.hosts: dict[str, str] = {}  # container name -> the text an Exec last wrote to its /etc/hosts
        self.exec_holds: dict[str, threading.Event] = {}  # container name -> holds its next Exec
        self.started: list[str] = []  # container names, in the order they started
        self._next_address: dict[str, Any] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # --- what tests use to look and to break things ----------------------------
    def names(self) -> set[str]:
        return {c.name for c in self.containers_by_id.values()}

    def by_name(self, name: str) -> models.Container:
        return next(c for c in self.containers_by_id.values() if c.name == name)

    def kill(self, name: str) -> None:
        with self._lock:
            found = self.by_name(name)
            self.containers_by_id[found.id] = replace(found, status="EXITED", exit_code=137)

    def move(self, name: str) -> None:
        with self._lock:
            found = self.by_name(name)
            endpoints = {
                net: replace(e, address=str(next(self._next_address[e.network_id])))
                for net, e in found.endpoints.items()
            }
            self.containers_by_id[found.id] = replace(found, endpoints=endpoints)

    # --- the client surface ----------------------------------------------------
    def containers(self, ref: str | None = None) -> list[models.Container]:
        self._reach()
        with self._lock:
            return [c for c in self.containers_by_id.values() if _matches(ref, c.id, c.name)]

    def networks(self, ref: str | None = None) -> list[models.Network]:
        self._reach()
        with self._lock:
            return [n for n in self.networks_by_id.values() if _matches(ref, n.id, n.name)]

    def flavours(self, ref: str | None = None) -> list[models.Flavour]:
        self._reach()
        return [models.Flavour("docker.container", "docker.container")]

    def create(
        self,
        name: str,
        image: str,
        *,
        flavour: str = "",
        endpoints: dict[str, str | None] | None = None,
        command: list[str] | None = None,
        ports: dict[str, int] | None = None,
        metadata: dict[str, str] | None = None,
        cpus: float | None = None,
        memory: int | None = None,
        labels: dict[str, str] | None = None,
    ) -> models.Container:
        self._reach()
        if name in self.create_holds:
            assert self.create_holds[name].wait(30), f"the create of {name} was held for ever"
        with self._lock:
            self.created.append(name)
            if image in self.broken_images:
                raise InvalidArgument(grpc.StatusCode.INVALID_ARGUMENT, f"image {image!r} not found")
            if any(c.name == name for c in self.containers_by_id.values()):
                raise AlreadyExists(grpc.StatusCode.ALREADY_EXISTS, f"a container named {name!r} exists")
            attached = {}
            for network_name, fixed in (endpoints or {}).items():
                network = next((n for n in self.networks_by_id.values() if n.name == network_name), None)
                if network is None:
                    raise NotFound(grpc.StatusCode.NOT_FOUND, f"network {network_name!r} not found")
                address = fixed or str(next(self._next_address[network.id]))
                cidr = network.subnets[0].cidr
                attached[network_name] = models.Endpoint(network_name, network.id, address, cidr, "", "")
            container = models.Container(
                id=f"c{next(self._ids)}",
                name=name,
                image_id=image,
                flavour_id=flavour,
                command=" ".join(command or []),
                created=0,
                started=0,
                status="CREATED",
                extended_status="",
                endpoints=attached,
                metadata=dict(metadata or {}),
                labels=dict(labels or {}),
            )
            self.containers_by_id[container.id] = container
            return container

    def start(self, ref: str) -> models.Container:
        self._reach()
        with self._lock:
            found = self._one(ref)
            self.starting.append(found.name)
            if self.places:
                endpoints = {
                    net: replace(e, address=str(next(self._next_address[e.network_id])))
                    for net, e in found.endpoints.items()
                }
                self.containers_by_id[found.id] = replace(found, node="node-1", endpoints=endpoints)
        gate = self.holds.get(found.name, self.gate)
        if gate is not None:
            gate.wait()
        if found.name in self.failing_starts:
            raise InvalidArgument(grpc.StatusCode.INVALID_ARGUMENT, f"{found.name} cannot be placed")
        with self._lock:
            found = self._one(ref)
            started = replace(found, status="RUNNING", engine_id=f"engine-{found.id}")
            self.containers_by_id[found.id] = started
            self.started.append(found.name)
            return started

    def exec(self, ref: str, command: list[str]) -> models.ExecResult:
        """Only the names' write (nfv/discovery.py ``WRITE``: its text is the last argument)."""
        self._reach()
        with self._lock:
            name = self._one(ref).name
        hold = self.exec_holds.pop(name, None)
        if hold is not None:
            assert hold.wait(30), f"the Exec in {name} was held for ever"
        with self._lock:
            self.hosts[name] = command[-1]
        return models.ExecResult(0, "", "")

    def set_metadata(self, ref: str, entries: dict[str, str]) -> None:
        self._reach()
        with self._lock:
            found = self._one(ref)
            if found.status != "CREATED":
                raise InvalidArgument(f"{found.name} is {found.status}: metadata only before start")
            merged = {k: v for k, v in {**found.metadata, **entries}.items() if v}
            self.containers_by_id[found.id] = replace(found, metadata=merged)

    def delete(self, ref: str) -> None:
        self._reach()
        with self._lock:
            del self.containers_by_id[self._one(ref).id]

    def stats(self, ref: str) -> models.Stats:
        self._reach()
        with self._lock:
            found = self._one(ref)
        return models.Stats(self.cpu.get(found.name, 0.0), 0, 0, 1, 0, 0)

    def create_network(
        self, name: str, *, subnet: str = "", labels: dict[str, str] | None = None, bandwidth: str = ""
    ) -> models.Network:
        self._reach()
        with self._lock:
            if any(n.name == name for n in self.networks_by_id.values()):
                raise AlreadyExists(grpc.StatusCode.ALREADY_EXISTS, f"a network named {name!r} exists")
            cidr = subnet or f"10.{len(self.networks_by_id) + 1}.0.0/24"
            network = models.Network(
                f"n{next(self._ids)}", name, False, "bridge", [models.Subnet(cidr, "")], dict(labels or {}), bandwidth
            )
            self.networks_by_id[network.id] = network
            hosts = ipaddress.ip_network(cidr).hosts()
            next(hosts)  # the gateway's
            self._next_address[network.id] = hosts
            return network

    def delete_network(self, ref: str) -> None:
        self._reach()
        with self._lock:
            network = next((n for n in self.networks_by_id.values() if _matches(ref, n.id, n.name)), None)
            if network is None:
                raise NotFound(grpc.StatusCode.NOT_FOUND, f"network {ref!r} not found")
            del self.networks_by_id[network.id]

    def _one(self, ref: str) -> models.Container:
        found = [c for c in self.containers_by_id.values() if _matches(ref, c.id, c.name)]
        if not found:
            raise NotFound(grpc.StatusCode.NOT_FOUND, f"container {ref!r} not found")
        return found[0]

    def _reach(self) -> None:
        if self.unreachable:
            raise Unreachable(grpc.StatusCode.UNAVAILABLE, f"PoP {self.name} cannot be reached")


class FakePops:
    """The PoP registry over fake PoPs (popvim.nfv.surface.PopDirectory, plus ``list()``)."""

    def __init__(self, *pops: FakePop) -> None:
        self.by_name = {p.name: p for p in pops}
        self.local_name = pops[0].name

    def client(self, name: str | None, timeout: float = 60.0) -> FakePop:
        pop = self.by_name.get(name or self.local_name)
        if pop is None:
            raise PopNotRegistered(f"PoP {name!r} is not registered")
        return pop

    def list(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(name=name) for name in self.by_name]


def _matches(ref: str | None, pop_id: str, name: str) -> bool:
    if ref is None:
        return True
    if ref.startswith("id:"):
        return ref[3:] == pop_id
    return ref in (pop_id, name)
