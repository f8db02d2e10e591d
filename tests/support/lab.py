"""The multi-host lab of scripts/lab.sh, driven from tests.

``Lab.up`` runs ``lab.sh up`` and reads its JSON; ``Lab.down`` runs ``lab.sh
down``; ``traces`` looks, independently of the script, for anything a lab of
that name may leave behind, so a test can prove that ``down`` removed it all.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker

LAB_SH = Path(__file__).resolve().parents[2] / "scripts" / "lab.sh"


class LabError(RuntimeError):
    """lab.sh failed; the message carries its stderr."""


@dataclass(frozen=True)
class LabNode:
    index: int
    name: str
    socket: str
    docker_host: str
    address: str
    swarm_node_id: str
    labels: dict[str, str]

    def client(self) -> docker.DockerClient:
        """The node's own engine (not the Swarm manager); one client per node, closed by ``Lab.down``."""
        if self.docker_host not in _clients:
            _clients[self.docker_host] = docker.DockerClient(base_url=self.docker_host, timeout=60)
        return _clients[self.docker_host]


_clients: dict[str, docker.DockerClient] = {}


@dataclass
class Lab:
    name: str
    size: int
    swarm: bool = True
    images: str | None = None  # LAB_IMAGES; None: the script's default (the test images)
    nodes: list[LabNode] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    failed: LabError | None = None
    touched: bool = False  # up was tried: down is owed, whatever happened
    keep: bool = False  # POPVIM_LAB_KEEP=1: use a lab of this name that is up, and leave it up at the end

    @property
    def is_up(self) -> bool:
        return bool(self.nodes)

    def _run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "POPVIM_LAB": self.name}
        if self.images is not None:
            env["LAB_IMAGES"] = self.images
        result = subprocess.run([str(LAB_SH), *args], capture_output=True, text=True, env=env, timeout=timeout)
        if result.returncode != 0:
            raise LabError(f"lab.sh {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    def up(self) -> Lab:
        """Bring the lab up (once: a failure is kept and raised again rather than retried)."""
        if self.failed is not None:
            raise self.failed
        if self.is_up:
            return self
        if self.keep and self._kept():
            return self
        args = ["up", str(self.size), "--json"] + (["--swarm"] if self.swarm else [])
        try:
            self._claim()
            self.touched = True
            self.status = json.loads(self._run(*args).stdout)
        except LabError as exc:
            self.failed = exc
            raise
        self._read_nodes()
        return self

    def _kept(self) -> bool:
        """Attach to the lab of this name if it is up with all its nodes (and its Swarm): a rerun
        of a heavy module then skips the minutes ``up`` takes."""
        status = json.loads(self._run("status", "--json").stdout)
        if len(status.get("nodes") or []) != self.size or (self.swarm and not status.get("swarm")):
            return False
        if not all(n.get("swarm_node_id") for n in status["nodes"]) and self.swarm:
            return False
        self._claim(take_down=False)
        self.status = status
        self._read_nodes()
        self.restart_stopped()  # a node a previous run stopped comes back (idempotent otherwise)
        self._read_nodes()
        return True

    def attach(self) -> Lab:
        """Use the lab of this name that is up already (another process brought it up)."""
        self.status = json.loads(self._run("status", "--json").stdout)
        self._read_nodes()
        return self

    def _read_nodes(self) -> None:
        self.nodes = [
            LabNode(
                index=n["index"],
                name=n["name"],
                socket=n["socket"],
                docker_host=n["docker_host"],
                address=n["address"],
                swarm_node_id=n["swarm_node_id"],
                labels=n["labels"],
            )
            for n in self.status["nodes"]
        ]

    def _claim(self, take_down: bool = True) -> None:
        """Refuse a lab of this name that a live process (another test session) uses;
        take down one whose owner is gone (a crashed session), so each session starts clean
        (unless ``take_down`` is false: a kept lab is reused)."""
        owner = Path(f"/run/popvim-lab/{self.name}/owner")
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            pid = 0
        if pid and pid != os.getpid() and Path(f"/proc/{pid}").exists():
            raise LabError(f"the lab {self.name!r} is in use by process {pid} (another test session?)")
        if pid != os.getpid() and take_down:
            self._run("down", timeout=180)
        owner.parent.mkdir(parents=True, exist_ok=True)
        owner.write_text(str(os.getpid()))

    def stop_node(self, index: int) -> None:
        """Stop node ``index``'s dockerd: to Swarm, a lost host."""
        node = next(n for n in self.nodes if n.index == index)
        client = _clients.pop(node.docker_host, None)  # its connections die with the engine
        if client is not None:
            client.close()
        self._run("stop-node", str(index), timeout=60)

    def restart_stopped(self) -> None:
        """Start again every node engine that was stopped (``lab.sh up`` is idempotent)."""
        args = ["up", str(self.size), "--json"] + (["--swarm"] if self.swarm else [])
        self.status = json.loads(self._run(*args).stdout)

    def down(self) -> None:
        for node in self.nodes:
            client = _clients.pop(node.docker_host, None)
            if client is not None:
                client.close()
        self.nodes = []
        self.status = {}
        self._run("down", timeout=180)

    def manager(self) -> docker.DockerClient:
        """The Swarm manager: the host engine."""
        assert self.status.get("swarm"), "the lab has no Swarm"
        url = self.status["swarm"]["manager"]
        if url not in _clients:
            _clients[url] = docker.DockerClient(base_url=url, timeout=60)
        return _clients[url]

    def node(self, swarm_node_id: str) -> LabNode:
        return next(n for n in self.nodes if n.swarm_node_id == swarm_node_id)


def _lines(*cmd: str) -> list[str]:
    result = subprocess.run(cmd, capture_output=True, text=True)
    return result.stdout.splitlines() if result.returncode == 0 else []


def traces(name: str, host: docker.DockerClient) -> list[str]:
    """Everything a lab called ``name`` may have left on this machine, as readable strings."""
    node = re.compile(rf"^{re.escape(name)}-(\d+)(\.sock|\.pid)?$")
    found: list[str] = []
    found += [f"netns {ns.split()[0]}" for ns in _lines("ip", "netns", "list") if node.match(ns.split()[0])]
    for line in _lines("ip", "-o", "link", "show"):
        link = line.split(": ")[1].split("@")[0]
        if node.match(link) or link == f"{name}-br":
            found.append(f"link {link}")
    for parent in (Path("/run"), Path("/var/lib")):
        found += [f"path {p}" for p in parent.glob(f"{name}-*") if node.match(p.name) or p.name == f"{name}-images.tar"]
    if Path(f"/run/popvim-lab/{name}").exists():
        found.append(f"path /run/popvim-lab/{name}")
    found += [f"cgroup {p}" for p in Path("/sys/fs/cgroup").glob(f"*/{name}-*") if node.match(p.name)]
    found += [
        f"mount {m}"
        for m in _lines("findmnt", "-rn", "-o", "TARGET")
        if re.match(rf"^(/run|/var/lib|/run/netns)/{re.escape(name)}-\d+(/|$)", m)
    ]
    found += [f"iptables {r}" for r in _lines("iptables", "-S") if f"popvim-lab:{name}" in r]
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if f"/run/{name}-" in cmdline and "dockerd" in cmdline:
            found.append(f"process {proc.name}: {cmdline[:80]}")
    found += [f"host network {n.name}" for n in host.networks.list(filters={"label": f"popvim.lab={name}"})]
    swarm = host.info().get("Swarm", {})
    if swarm.get("LocalNodeState") == "active" and swarm.get("ControlAvailable"):
        me = host.nodes.get(swarm["NodeID"])
        if me.attrs["Spec"].get("Labels", {}).get("popvim.lab") == name:
            found.append("host engine still in the lab's Swarm")
    return found
