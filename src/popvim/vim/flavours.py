"""Flavours: named CPU and memory limits (real ones, unlike seed 001's placeholder)."""

from __future__ import annotations

from collections.abc import Iterable

from popvim.vim.errors import NotFound
from popvim.vim.models import Flavour


class FlavourCatalogue:
    def __init__(self, flavours: Iterable[Flavour]) -> None:
        self._flavours = {f.id: f for f in flavours}

    def list(self) -> list[Flavour]:
        return list(self._flavours.values())

    def get(self, ref: str) -> Flavour:
        found = self._flavours.get(ref) or next((f for f in self._flavours.values() if f.name == ref), None)
        if found is None:
            raise NotFound(f"flavour {ref!r} not found; known: {', '.join(self._flavours)}")
        return found
