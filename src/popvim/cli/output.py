"""How ``pop`` shows things: tables for people, YAML or JSON documents for machines.

One rule for the default mode: a list is a table, a single object is a YAML
document (as the seed's ``pop spawn`` prints it). ``--yaml`` / ``--json`` turn
every answer into a document with the same keys, so scripts never parse tables.
Documents go to stdout as plain text (never through rich's markup or
wrapping); tables are rich; progress and notes go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich and PyYAML are imported when a command first prints with them
    from rich.console import Console
    from rich.text import Text

    from popvim.client import Container, Image, Network

STATUS_STYLE = {"RUNNING": "green", "CREATED": "cyan", "STOPPING": "yellow", "EXITED": "dim", "FAILED": "red"}


def iso(ts: int) -> str | None:
    """Unix seconds as ISO 8601 UTC; the protocol's 0 means "never", shown as null."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else None


def short_id(value: str) -> str:
    return value.split(":", 1)[-1][:12]


class ImageNames:
    """Image id -> names, fetched once per command and only if a container is shown:
    the protocol's Container carries only the image id, people want the name."""

    def __init__(self, fetch: Callable[[], list[Image]]) -> None:
        self._fetch = fetch
        self._names: dict[str, list[str]] | None = None

    def __call__(self, image_id: str) -> list[str]:
        if self._names is None:
            self._names = {i.id: i.names for i in self._fetch()}
        return self._names.get(image_id, [])


def container_doc(c: Container, image_names: Callable[[str], list[str]]) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "extended_status": c.extended_status,
        "image": {"id": c.image_id, "names": image_names(c.image_id)},
        "flavour": c.flavour_id,
        "command": c.command,
        "created": iso(c.created),
        "started": iso(c.started),
        "ips": {net: [e.address] for net, e in c.endpoints.items()},
        "endpoints": {
            net: {"address": e.address, "cidr": e.cidr, "gateway": e.gateway, "mac": e.mac, "network_id": e.network_id}
            for net, e in c.endpoints.items()
        },
        "metadata": dict(c.metadata),
        "exit_code": c.exit_code,
        **({"node": c.node} if c.node else {}),  # a cluster PoP's
    }


def image_doc(i: Image) -> dict[str, Any]:
    return {"id": i.id, "names": list(i.names), "created": iso(i.created)}


def network_doc(n: Network) -> dict[str, Any]:
    return {
        "id": n.id,
        "name": n.name,
        "driver": n.driver,
        "external": n.external,
        "subnets": [{"cidr": s.cidr, "gateway": s.gateway} for s in n.subnets],
    }


class Output:
    def __init__(self, mode: str) -> None:
        self.mode = mode  # "table", "yaml" or "json"

    @cached_property
    def console(self) -> Console:
        from rich.console import Console

        # Not a terminal (a pipe, a test): wide enough that rich never folds a name or an id.
        return Console(highlight=False, width=None if sys.stdout.isatty() else 220)

    @cached_property
    def err(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, highlight=False)

    @property
    def machine(self) -> bool:
        return self.mode != "table"

    def document(self, doc: Any) -> None:
        if self.mode == "json":
            sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        else:
            import yaml

            sys.stdout.write(yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, allow_unicode=True))
        sys.stdout.flush()

    def table(self, headers: list[str], rows: Iterable[list[Any]], docs: list[Any]) -> None:
        """``rows`` for people, ``docs`` (same items) for --yaml/--json."""
        if self.machine:
            self.document(docs)
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, header_style="bold", pad_edge=False)
        for h in headers:
            table.add_column(h, no_wrap=h in ("NAME", "ID", "KEY"), overflow="fold")
        for row in rows:
            table.add_row(
                *(cell if isinstance(cell, Text) else Text("" if cell is None else str(cell)) for cell in row)
            )
        self.console.print(table)

    def note(self, text: str, doc: Any) -> None:
        """The outcome of an action: a line for people, a document for machines."""
        if self.machine:
            self.document(doc)
        else:
            self.console.print(text, markup=False, highlight=False)

    def status(self, status: str) -> Text:
        from rich.text import Text

        return Text(status, style=STATUS_STYLE.get(status, ""))
