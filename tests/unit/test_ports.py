"""Ports (reserved addresses) and network drafts: the rules the Neutron face relies on."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.vim_parts import lab

from popvim.vim.drafts import NetworkDrafts
from popvim.vim.errors import AlreadyExists, InvalidState
from popvim.vim.models import ContainerConfig, NetworkConfig
from popvim.vim.ports import PortService


@pytest.fixture(autouse=True)
def no_host_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("popvim.vim.networks.host_routes", lambda: [])


@pytest.fixture
def vim(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with lab(tmp_path) as parts:
        yield {
            "networks": parts.networks,
            "containers": parts.containers,
            "ports": PortService(parts.store, parts.networks),
            "drafts": NetworkDrafts(parts.store, parts.networks),
        }


def _container(name: str, network: str, ip: str | None = None) -> ContainerConfig:
    return ContainerConfig.model_validate({"name": name, "image": "busybox:latest", "endpoints": {network: ip}})


def test_a_reserved_address_is_taken_for_all_but_the_container_it_is_given_to(vim: dict[str, Any]) -> None:
    net = vim["networks"].create(NetworkConfig.model_validate({"name": "n1", "subnet": "10.9.0.0/29"}))
    port = vim["ports"].create(net.id, "10.9.0.2")
    with pytest.raises(AlreadyExists):
        vim["containers"].create(_container("other", "n1", "10.9.0.2"))
    assigned = vim["containers"].create(_container("auto", "n1"))
    assert assigned.endpoints["n1"].address != "10.9.0.2"  # assignment skips it too
    with pytest.raises(AlreadyExists):
        vim["ports"].create(net.id, "10.9.0.2")
    vim["ports"].give(port.id, "holder")
    held = vim["containers"].create(_container("holder", "n1", "10.9.0.2"))
    assert held.endpoints["n1"].address == "10.9.0.2"
    assert vim["ports"].get(port.id).container_id == held.id
    with pytest.raises(InvalidState):
        vim["ports"].give(port.id, "someone-else")  # while its container exists


def test_the_reservation_outlives_its_container_until_the_port_is_deleted(vim: dict[str, Any]) -> None:
    net = vim["networks"].create(NetworkConfig.model_validate({"name": "n2", "subnet": "10.9.1.0/29"}))
    port = vim["ports"].create(net.id)  # the next free address
    assert ipaddress.IPv4Address(port.address) in ipaddress.IPv4Network("10.9.1.0/29")
    vim["ports"].give(port.id, "first")
    first = vim["containers"].create(_container("first", "n2", port.address))
    vim["containers"].delete(first.id)
    with pytest.raises(AlreadyExists):
        vim["containers"].create(_container("second", "n2", port.address))
    vim["ports"].delete(port.id)
    assert vim["containers"].create(_container("second", "n2", port.address)).endpoints["n2"].address == port.address


def test_a_draft_becomes_a_network_with_its_id_and_back(vim: dict[str, Any]) -> None:
    draft = vim["drafts"].create("later")
    with pytest.raises(AlreadyExists):
        vim["drafts"].create("later")
    made = vim["drafts"].realise(draft.id, NetworkConfig.model_validate({"name": "x", "subnet": "10.9.2.0/24"}))
    assert (made.id, made.name, made.subnet) == (draft.id, "later", "10.9.2.0/24")
    assert vim["drafts"].find(draft.id) is None
    again = vim["drafts"].unrealise(made.id)
    assert (again.id, again.name) == (draft.id, "later")
    assert all(n.id != draft.id for n in vim["networks"].list())
