"""An in-memory engine for unit tests of the domain's own logic (IPAM, validation).

The real behaviour of every operation is tested against Docker in tests/integration.
"""

from __future__ import annotations

import uuid
from typing import Any

from popvim.engine.driver import EngineError, EngineImage, EngineNetwork, EngineNotFound, NetworkSpec


class FakeEngine:
    def __init__(self) -> None:
        self.networks_by_id: dict[str, EngineNetwork] = {}
        self.images_by_ref = {"busybox:latest": EngineImage("sha256:" + "b" * 64, ["busybox:latest"], "", 1, {})}

    def info(self) -> dict[str, Any]:
        return {"ServerVersion": "fake"}

    def ping(self, timeout: float = 2.0) -> bool:
        return True

    def image(self, ref: str) -> EngineImage:
        if ref not in self.images_by_ref:
            raise EngineNotFound(f"no such image: {ref}")
        return self.images_by_ref[ref]

    def container(self, container_id: str) -> Any:
        raise EngineNotFound(f"no such container: {container_id}")

    def networks(self, labels: dict[str, str] | None = None) -> list[EngineNetwork]:
        return list(self.networks_by_id.values())

    def create_network(self, spec: NetworkSpec) -> str:
        if any(n.name == spec.name for n in self.networks_by_id.values()):
            raise EngineError(f"network {spec.name} exists", 409)
        net_id = uuid.uuid4().hex
        self.networks_by_id[net_id] = EngineNetwork(
            net_id,
            spec.name,
            spec.driver,
            [spec.subnet or ""],
            [spec.gateway or ""],
            spec.internal,
            dict(spec.labels),
            {},
            dict(spec.options),
        )
        return net_id

    def remove_network(self, network_id: str) -> None:
        if self.networks_by_id.pop(network_id, None) is None:
            raise EngineNotFound(network_id)
