"""What the orchestrator needs of a PoP and of the PoP registry, as protocols.

:class:`popvim.client.PopClient` and :class:`popvim.nfv.pops.PopRegistry` satisfy
them; naming the surface lets tests drive every workflow against an in-memory PoP
(tests/support/fake_pop.py) and shows what a second kind of PoP would have to offer.
"""

from __future__ import annotations

from typing import Protocol

from popvim.client import models


class PopApi(Protocol):
    def containers(self, ref: str | None = None) -> list[models.Container]: ...

    def flavours(self, ref: str | None = None) -> list[models.Flavour]: ...

    def networks(self, ref: str | None = None) -> list[models.Network]: ...

    def create(
        self,
        name: str,
        image: str,
        *,
        flavour: str = "",
        endpoints: dict[str, str | None] | None = None,
        command: list[str] | None = None,
        ports: dict[str, int] | None = None,
        metadata: dict[str, str] | None = None,
        cpus: float | None = None,
        memory: int | None = None,
        labels: dict[str, str] | None = None,
    ) -> models.Container: ...

    def set_metadata(self, ref: str, entries: dict[str, str]) -> None: ...

    def start(self, ref: str) -> models.Container: ...

    def delete(self, ref: str) -> None: ...

    def stats(self, ref: str) -> models.Stats: ...

    def create_network(
        self, name: str, *, subnet: str = "", labels: dict[str, str] | None = None, bandwidth: str = ""
    ) -> models.Network: ...

    def delete_network(self, ref: str) -> None: ...


class PopDirectory(Protocol):
    """The registry as the workflows see it: a client per PoP name."""

    @property
    def local_name(self) -> str: ...

    def client(self, name: str | None, timeout: float = 60.0) -> PopApi: ...
