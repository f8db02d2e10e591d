"""Network drafts: a network named before its subnet is known.

Neutron clients create a network and then its subnet; a popvim network is made on
the engine with its subnet at once. A draft holds the name and the id the client
was given until the subnet arrives, and the network is then made with that id.
Deleting the subnet turns the network back into a draft, as Neutron keeps a
network whose subnet is gone.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select

from popvim.clock import utcnow
from popvim.store.db import Store
from popvim.store.models import NetworkDraftRow, NetworkRow
from popvim.vim.errors import AlreadyExists, NotFound
from popvim.vim.models import Network, NetworkConfig
from popvim.vim.networks import NetworkService


class NetworkDraft(BaseModel):
    id: str
    name: str
    created_at: datetime


def _view(row: NetworkDraftRow) -> NetworkDraft:
    return NetworkDraft(id=row.id, name=row.name, created_at=row.created_at)


class NetworkDrafts:
    def __init__(self, store: Store, networks: NetworkService) -> None:
        self._store = store
        self._networks = networks

    def list(self) -> list[NetworkDraft]:
        with self._store.session() as session:
            return [_view(r) for r in session.scalars(select(NetworkDraftRow).order_by(NetworkDraftRow.created_at))]

    def find(self, ref: str) -> NetworkDraft | None:
        """The draft with this id or name, if any."""
        with self._store.session() as session:
            row = session.get(NetworkDraftRow, ref) or session.scalar(
                select(NetworkDraftRow).where(NetworkDraftRow.name == ref)
            )
            return _view(row) if row else None

    def get(self, ref: str) -> NetworkDraft:
        found = self.find(ref)
        if found is None:
            raise NotFound(f"network {ref!r} not found")
        return found

    def create(self, name: str, draft_id: str | None = None) -> NetworkDraft:
        NetworkConfig.model_validate({"name": name})  # the name must do for the network it becomes
        with self._store.session() as session:
            taken = session.scalar(select(NetworkRow.id).where(NetworkRow.name == name)) or session.scalar(
                select(NetworkDraftRow.id).where(NetworkDraftRow.name == name)
            )
            if taken:
                raise AlreadyExists(f"network {name!r} exists already")
            row = NetworkDraftRow(id=draft_id or str(uuid.uuid4()), name=name, created_at=utcnow())
            session.add(row)
            session.flush()
            return _view(row)

    def rename(self, ref: str, name: str) -> NetworkDraft:
        NetworkConfig.model_validate({"name": name})
        with self._store.session() as session:
            row = session.get(NetworkDraftRow, self.get(ref).id)
            assert row is not None
            row.name = name
            session.flush()
            return _view(row)

    def delete(self, ref: str) -> None:
        with self._store.session() as session:
            row = session.get(NetworkDraftRow, self.get(ref).id)
            session.delete(row)

    def realise(self, ref: str, config: NetworkConfig) -> Network:
        """Makes the network (with the draft's name and id); the draft goes when it exists."""
        draft = self.get(ref)
        network = self._networks.create(config.model_copy(update={"name": draft.name}), network_id=draft.id)
        with self._store.session() as session:
            row = session.get(NetworkDraftRow, draft.id)
            if row is not None:
                session.delete(row)
        return network

    def unrealise(self, ref: str) -> NetworkDraft:
        """Deletes the network (refused while containers use it) and keeps its name and id as a draft."""
        network = self._networks.get(ref)
        self._networks.delete(network.id)
        return self.create(network.name, network.id)
