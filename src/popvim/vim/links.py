"""Changing link limits of live networks and endpoints (see ``vim.shaping``)."""

from __future__ import annotations

from sqlalchemy import select

from popvim.engine.driver import EngineDriver
from popvim.store.db import Store
from popvim.store.models import EndpointRow
from popvim.vim.containers import ContainerService
from popvim.vim.models import Container, Network
from popvim.vim.networks import NetworkService
from popvim.vim.shaping import LinkLimit, check_supported


class LinkService:
    def __init__(
        self, store: Store, engine: EngineDriver, networks: NetworkService, containers: ContainerService
    ) -> None:
        self._store = store
        self._engine = engine
        self._networks = networks
        self._containers = containers

    def set_network(self, ref: str, limit: LinkLimit) -> Network:
        """The network's limits (every endpoint without its own), applied to running containers at once."""
        with self._store.session() as session:
            row = self._networks.row(session, ref)
            check_supported(self._engine, limit, f"network {row.name!r}")
            row.bandwidth, row.delay, row.loss = limit.bandwidth, limit.delay, limit.loss
            network_id = row.id
            users = session.scalars(
                select(EndpointRow.container_id).where(
                    EndpointRow.network_id == network_id, EndpointRow.active.is_(True)
                )
            ).all()
        for container_id in users:
            self._containers.relink(container_id, network_id)
        return self._networks.get(network_id)

    def set_endpoint(self, container_ref: str, network_ref: str, limit: LinkLimit) -> Container:
        """One endpoint's own limits (empty: its network's apply again)."""
        check_supported(self._engine, limit, f"the endpoint on network {network_ref!r}")
        with self._store.session() as session:
            network_id = self._networks.row(session, network_ref).id
        fields = {"bandwidth": limit.bandwidth, "delay": limit.delay, "loss": limit.loss}
        return self._containers.relink(container_ref, network_id, fields)
