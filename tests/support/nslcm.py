"""Helpers for tests that drive the orchestrator's SOL005-shaped REST API."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from support.daemon import wait_for


def deploy(api: httpx.Client, descriptor: dict[str, Any], name: str | None = None) -> tuple[dict, dict]:
    onboarded = api.post(
        "/nsd/v1/ns_descriptors", content=json.dumps(descriptor), headers={"Content-Type": "application/json"}
    )
    assert onboarded.status_code == 201, onboarded.text
    instance = api.post(
        "/nslcm/v1/ns_instances", json={"nsdId": onboarded.json()["id"], "nsName": name or f"ns{uuid.uuid4().hex[:6]}"}
    )
    assert instance.status_code == 201, instance.text
    assert instance.json()["nsState"] == "NOT_INSTANTIATED"
    started = api.post(f"/nslcm/v1/ns_instances/{instance.json()['id']}/instantiate")
    assert started.status_code == 202 and started.headers["Location"].startswith("/nslcm/v1/ns_lcm_op_occs/")
    return instance.json(), wait_op(api, started.headers["Location"])


def wait_op(api: httpx.Client, location: str, timeout: float = 120) -> dict:
    return wait_for(
        lambda: (op := api.get(location).json())["operationState"] != "PROCESSING" and op,
        timeout=timeout,
        interval=0.1,
        what=f"operation {location}",
    )


def vnf(record: dict, name: str) -> dict:
    return next(v for v in record["vnfInstances"] if v["vnfName"] == name)


def env_of(api: httpx.Client, pop_container_id: str) -> dict[str, str]:
    out = api.post(f"/v1/containers/{pop_container_id}/exec", json={"command": ["env"]}).json()["stdout"]
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
