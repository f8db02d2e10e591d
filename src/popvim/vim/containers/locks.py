"""One lock per container, and finding a container's record (by id, name or engine id prefix).

Every transition of one container happens under its lock, so two requests (or a
request and an engine event) never interleave on one record.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from popvim.store.db import Store
from popvim.store.models import ContainerRow
from popvim.vim.errors import NotFound
from popvim.vim.networks import engine_prefix_ref


def find(session: Session, ref: str) -> ContainerRow | None:
    if not ref:
        return None
    row = session.get(ContainerRow, ref) or session.scalar(select(ContainerRow).where(ContainerRow.name == ref))
    if row is None and engine_prefix_ref(ref):  # literally: '_' and '%' are no wildcards
        row = session.scalar(select(ContainerRow).where(ContainerRow.engine_id.startswith(ref, autoescape=True)))
    return row


def get_row(session: Session, ref: str) -> ContainerRow:
    row = find(session, ref)
    if row is None:
        raise NotFound(f"container {ref!r} not found")
    return row


class ContainerLocks:
    """The lock registry: ``locked(ref)`` holds the lock of the container ``ref`` names."""

    def __init__(self, store: Store) -> None:
        self._store = store
        # Weak: a lock lives while someone holds or waits for it, so the map cannot grow forever.
        self._locks: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
        self._guard = threading.Lock()

    def _lock(self, container_id: str) -> threading.Lock:
        with self._guard:
            lock = self._locks.get(container_id)
            if lock is None:
                lock = self._locks[container_id] = threading.Lock()
            return lock

    @contextmanager
    def locked(self, ref: str) -> Iterator[str]:
        """The container's id, with its lock held; re-read the row inside."""
        with self._store.session() as session:
            container_id = get_row(session, ref).id
        with self._lock(container_id):
            yield container_id

    @contextmanager
    def locked_row(self, ref: str) -> Iterator[tuple[Session, ContainerRow]]:
        """The container's row, read under its lock, in a session committed on exit."""
        with self.locked(ref) as container_id, self._store.session() as session:
            row = session.get(ContainerRow, container_id)
            if row is None:
                raise NotFound(f"container {ref!r} not found")
            yield session, row
