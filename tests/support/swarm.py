"""A popvimd whose engine is the lab's Swarm (scripts/lab.sh), and what tests check it with."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import docker
import docker.errors
from support.daemon import Daemon, free_subnet, wait_for
from support.lab import Lab


def swarm_daemon(state_dir: Path, **options: Any) -> Daemon:
    """A popvimd (not started) on the lab's Swarm manager, the host engine.

    Its subnets come from a /14 of its own: other users of the host engine may hold
    every /16 of the default pool, and a PoP's default network is a /16."""
    extra = ["--engine", "swarm", *options.pop("extra_args", [])]
    host = docker.from_env()
    try:
        pool = free_subnet(host, prefix=14, within="10.160.0.0/12")  # no test names a subnet there
    finally:
        host.close()
    return Daemon(state_dir, extra_args=extra, config_text=f'[network]\npool = "{pool}"\n', **options)


def purge(daemon: Daemon, manager: docker.DockerClient) -> None:
    """Remove every service and network the daemon's PoP made on the Swarm."""
    label = f"io.popvim.pop={daemon.name}"
    for service in manager.services.list(filters={"label": label}):
        try:
            service.remove()
        except docker.errors.NotFound:
            continue
    deadline = time.monotonic() + 60
    for net in manager.networks.list(filters={"label": label}):
        while True:
            try:
                net.remove()
                break
            except docker.errors.NotFound:
                break
            except docker.errors.APIError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)  # tasks of removed services still detaching
    daemon.purge()


def load_images(lab: Lab, host: docker.DockerClient, *images: str) -> None:
    """Copy images the lab did not load into every node engine (docker save | docker -H node load)."""
    for node in lab.nodes:
        client = node.client()
        for image in images:
            wanted = host.images.get(image).id
            try:
                if client.images.get(image).id == wanted:
                    continue
            except docker.errors.ImageNotFound:
                pass
            save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
            subprocess.run(
                ["docker", "-H", node.docker_host, "load", "-q"], stdin=save.stdout, check=True, capture_output=True
            )
            assert save.wait() == 0


def tasks(manager: docker.DockerClient, service_id: str) -> list[dict[str, Any]]:
    return list(manager.api.tasks(filters={"service": service_id}))


def running_task(manager: docker.DockerClient, service_id: str) -> dict[str, Any] | None:
    found = [
        t for t in tasks(manager, service_id) if t["DesiredState"] == "running" and t["Status"]["State"] == "running"
    ]
    return found[0] if len(found) == 1 else None


def node_of(manager: docker.DockerClient, service_id: str, timeout: float = 60) -> str:
    """The Swarm node id the service's one task runs on."""
    task = wait_for(lambda: running_task(manager, service_id), timeout=timeout, interval=0.2, what="a running task")
    return str(task["NodeID"])


def task_address(task: dict[str, Any], network_name: str) -> str:
    for attachment in task.get("NetworksAttachments") or []:
        if attachment["Network"]["Spec"]["Name"] == network_name:
            return str(attachment["Addresses"][0]).split("/")[0]
    raise AssertionError(f"the task is not on {network_name}: {task.get('NetworksAttachments')}")
