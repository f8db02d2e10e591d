"""Emulated hosts (seed 003) for tests: a popvim-test/host container with its own engine and popvimd.

Made through an outer popvimd whose policy allows ``privileged: "host"``; the
nested popvimd answers REST on the host's address, port 7080, and the Pop
protocol on 60000. Starting one takes a while (a dockerd, an image load, a
popvimd): a test module makes its hosts once.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from support.daemon import Daemon, wait_for

HOST_IMAGE = "popvim-test/host:latest"
# The outer PoP's default network comes from a pool of its own: the engine's 172.16/12 is often
# full of other test runs' networks.
HOST_POLICY = '[policy]\nprivileged_host = true\n[network]\npool = "10.200.0.0/13"\n'
NESTED_USER, NESTED_PASSWORD = "hostadmin", "nested-pass"
BUILD = Path(__file__).resolve().parents[2] / "images" / "host" / "build.sh"


def outer_daemon(state_dir: Path) -> Daemon:
    """A popvimd whose policy allows emulated hosts; cleaned up also when it fails to start."""
    daemon = Daemon(state_dir, config_text=HOST_POLICY)
    try:
        return daemon.start(timeout=180)
    except BaseException:
        daemon.stop()
        daemon.purge()
        raise


def ensure_image() -> None:
    """Builds the host image when this checkout's recipe (popvim's sources included) changed."""
    done = subprocess.run([str(BUILD)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]


@dataclass
class EmulatedHost:
    container: dict[str, Any]
    address: str  # on the outer network
    api: httpx.Client  # the nested popvimd's REST face, logged in

    @property
    def pop_address(self) -> str:
        return f"{self.address}:60000"


def start_host(outer: httpx.Client, network: str, name: str, more_networks: list[str] | None = None) -> EmulatedHost:
    """An emulated host on ``network`` (its REST face is reached there) and ``more_networks``."""
    body = {
        "name": name,
        "image": HOST_IMAGE,
        "privileged": "host",
        "endpoints": {network: None, **dict.fromkeys(more_networks or [])},
        "env": {"POPD_AUTH": f"{NESTED_USER}:{NESTED_PASSWORD}", "HOST_NAME": name},
    }
    r = outer.post("/v1/containers", json=body)
    assert r.status_code == 201, r.text
    container = r.json()
    r = outer.post(f"/v1/containers/{container['id']}/start")
    assert r.status_code == 200, r.text
    address = container["endpoints"][network]["address"]
    base = f"http://{address}:7080"

    with httpx.Client(base_url=base, timeout=5) as probe:

        def healthy() -> bool:
            try:
                return probe.get("/health").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 240, 0.5, f"the nested popvimd of {name}")
    credentials = {"username": NESTED_USER, "password": NESTED_PASSWORD}
    login = httpx.post(f"{base}/v1/auth/login", json=credentials, timeout=120)
    login.raise_for_status()
    api = httpx.Client(base_url=base, timeout=120, headers={"Authorization": f"Bearer {login.json()['token']}"})
    return EmulatedHost(container=container, address=address, api=api)


def stop_host(outer: httpx.Client, host: EmulatedHost) -> None:
    host.api.close()
    outer.delete(f"/v1/containers/{host.container['id']}")  # its engine's volume goes with it
