"""Ports: addresses reserved on a network before any container uses them.

An orchestrator (or a Neutron client) reserves an address, configures what depends
on it, then starts the container that takes it. The reservation is a row of its
own, so it outlives the container that used it; ``NetworkService.allocate`` counts
every reserved address as taken, except for the container the port was given to.
"""

from __future__ import annotations

import builtins
import random
import uuid
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from popvim.clock import utcnow
from popvim.store.db import Store
from popvim.store.models import ContainerRow, PortRow
from popvim.vim.errors import InvalidState, NotFound
from popvim.vim.networks import NetworkService


class Port(BaseModel):
    id: str
    name: str
    network_id: str
    network: str
    address: str
    mac: str
    holder: str | None
    # The container the port is given to while that container exists.
    container_id: str | None
    created_at: datetime


def _mac() -> str:
    """A locally administered unicast MAC in OpenStack's customary fa:16:3e prefix."""
    return "fa:16:3e:" + ":".join(f"{random.randrange(256):02x}" for _ in range(3))


class PortService:
    def __init__(self, store: Store, networks: NetworkService) -> None:
        self._store = store
        self._networks = networks

    def _view(self, session: Session, row: PortRow) -> Port:
        network = self._networks.row(session, row.network_id)
        container = (
            session.scalar(select(ContainerRow.id).where(ContainerRow.name == row.holder)) if row.holder else None
        )
        return Port(
            id=row.id,
            name=row.name,
            network_id=row.network_id,
            network=network.name,
            address=row.address,
            mac=row.mac,
            holder=row.holder,
            container_id=container,
            created_at=row.created_at,
        )

    def _row(self, session: Session, ref: str) -> PortRow:
        row = session.get(PortRow, ref)
        if row is None:
            raise NotFound(f"port {ref!r} not found")
        return row

    def list(self, network: str | None = None) -> list[Port]:
        with self._store.session() as session:
            query = select(PortRow).order_by(PortRow.created_at)
            if network:
                query = query.where(PortRow.network_id == self._networks.row(session, network).id)
            return [self._view(session, r) for r in session.scalars(query).all()]

    def get(self, ref: str) -> Port:
        with self._store.session() as session:
            return self._view(session, self._row(session, ref))

    def create(self, network: str, address: str | None = None, name: str = "", mac: str | None = None) -> Port:
        """Reserves ``address`` (or the next free one) on the network."""
        with self._networks.ipam_lock, self._store.session() as session:
            net = self._networks.row(session, network)
            chosen = self._networks.allocate(session, net, address)
            row = PortRow(
                id=str(uuid.uuid4()),
                name=name,
                network_id=net.id,
                address=chosen,
                mac=(mac or _mac()).lower(),
                holder=None,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return self._view(session, row)

    def rename(self, ref: str, name: str) -> Port:
        with self._store.session() as session:
            row = self._row(session, ref)
            row.name = name
            session.flush()
            return self._view(session, row)

    def give(self, ref: str, holder: str) -> Port:
        """The port's address becomes ``holder``'s to take; refused while another container has it."""
        with self._networks.ipam_lock, self._store.session() as session:
            row = self._row(session, ref)
            if row.holder and row.holder != holder:
                if session.scalar(select(ContainerRow.id).where(ContainerRow.name == row.holder)):
                    raise InvalidState(f"port {row.id} is in use by container {row.holder!r}")
            row.holder = holder
            session.flush()
            return self._view(session, row)

    def take_back(self, ref: str, holder: str) -> None:
        """Undoes ``give`` (the container that was to use the port was refused)."""
        with self._store.session() as session:
            row = session.get(PortRow, ref)
            if row is not None and row.holder == holder:
                row.holder = None

    def held_by(self, holders: Iterable[str]) -> dict[str, builtins.list[Port]]:
        """The ports given to each of these containers (by name)."""
        names = list(holders)
        found: dict[str, builtins.list[Port]] = {}
        with self._store.session() as session:
            for row in session.scalars(select(PortRow).where(PortRow.holder.in_(names))).all():
                found.setdefault(row.holder or "", []).append(self._view(session, row))
        return found

    def delete(self, ref: str) -> None:
        """The address is free again; a container using it keeps it until it terminates."""
        with self._networks.ipam_lock, self._store.session() as session:
            session.delete(self._row(session, ref))
