"""The orchestrator deletes by name only what carries its record's label."""

from __future__ import annotations

from typing import Any

from popvim.client import models
from popvim.nfv import cleanup, naming


class FakePop:
    def __init__(self, containers: list[models.Container], networks: list[models.Network]) -> None:
        self._containers, self._networks = containers, networks
        self.deleted: list[str] = []

    def containers(self, ref: str | None = None) -> list[models.Container]:
        return [c for c in self._containers if ref in (None, c.name)]

    def networks(self, ref: str | None = None) -> list[models.Network]:
        return [n for n in self._networks if ref in (None, n.name)]

    def delete(self, ref: str) -> None:
        self.deleted.append(ref)

    def delete_network(self, ref: str) -> None:
        self.deleted.append(ref)


class FakeRegistry:
    local_name = "here"

    def __init__(self, pop: FakePop) -> None:
        self.pop = pop

    def client(self, name: str | None, timeout: float = 60.0) -> Any:
        return self.pop

    def list(self) -> list[Any]:
        return []


def _container(name: str, pop_id: str, labels: dict[str, str]) -> models.Container:
    return models.Container(
        id=pop_id,
        name=name,
        image_id="i",
        flavour_id="",
        command="",
        created=0,
        started=0,
        status="RUNNING",
        extended_status="",
        labels=labels,
    )


def test_a_container_found_by_name_is_deleted_only_with_the_vnfc_label() -> None:
    pop = FakePop(
        [
            _container("web", "c1", {naming.LABEL_VNFC: "someone-else"}),
            _container("db", "c2", naming.container_labels("ns-1", "vnfc-2")),
        ],
        [],
    )
    pops = FakeRegistry(pop)
    cleanup.delete_container(pops, "here", None, "web", "vnfc-1")  # type: ignore[arg-type]
    cleanup.delete_container(pops, "here", None, "db", "vnfc-2")  # type: ignore[arg-type]
    # the id its create answered: ours
    cleanup.delete_container(pops, "here", "c9", "gone", "vnfc-3")  # type: ignore[arg-type]
    assert pop.deleted == ["id:c2", "id:c9"]


def test_a_network_found_by_name_is_deleted_only_with_the_instance_label() -> None:
    pop = FakePop(
        [],
        [
            models.Network("n1", "mine", True, "bridge", [], naming.network_labels("ns-1")),
            models.Network("n2", "theirs", True, "bridge", [], {}),
        ],
    )
    pops = FakeRegistry(pop)
    cleanup.delete_network(pops, "here", "mine", "ns-1")  # type: ignore[arg-type]
    cleanup.delete_network(pops, "here", "theirs", "ns-1")  # type: ignore[arg-type]
    assert pop.deleted == ["id:n1"]


def test_names_that_join_alike_differ() -> None:
    assert naming.container_name("a", "id-1", "b-c", 0) != naming.container_name("a-b", "id-2", "c", 0)
    assert naming.container_name("a", "id-1", "b-c", 0).startswith("a-b-c-")
    assert naming.network_name("a", "id-1", "private", "private") != naming.network_name(
        "a", "id-2", "private", "private"
    )
