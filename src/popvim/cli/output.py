"""How ``pop`` shows things: tables for people, YAML or JSON documents for machines.

One rule for the default mode: a list is a table, a single object is a YAML
document (as the seed's ``pop spawn`` prints it). ``--yaml`` / ``--json`` turn
every answer into a document with the same keys, so scripts never parse tables.
Documents go to stdout as plain text (never through rich's markup or
wrapping); tables are rich; progress and notes go to stderr.

Not on a terminal, rich draws a table or a line without any style, so when it fits
and is plain printable ASCII it is written here exactly as rich lays it out, and rich
(about a tenth of a ``pop flavours`` to import and draw) is not loaded at all.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich and PyYAML are imported when a command first prints with them
    from rich.console import Console

    from popvim.client import Container, Image, Network

# Not a terminal (a pipe, a test): wide enough that rich never folds a name or an id.
PIPE_WIDTH = 220
STATUS_STYLE = {"RUNNING": "green", "CREATED": "cyan", "STOPPING": "yellow", "EXITED": "dim", "FAILED": "red"}


def iso(ts: int) -> str | None:
    """Unix seconds as ISO 8601 UTC; the protocol's 0 means "never", shown as null."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else None


def short_id(value: str) -> str:
    return value.split(":", 1)[-1][:12]


class Styled(str):
    """A table cell with a rich style (a status's colour): a plain string until rich draws it."""

    style: str

    def __new__(cls, text: str, style: str = "") -> Styled:
        cell = super().__new__(cls, text)
        cell.style = style
        return cell


def _plain(texts: Iterable[str]) -> bool:
    """Text whose width is its length (what rich measures) and that rich prints as it is."""
    return all(t.isascii() and t.isprintable() for t in texts)


# rich turns ``:name:`` in a string (not in a Text) into that emoji, even without markup
_EMOJI_CODE = re.compile(r":\S*?:")


def plain_line(text: str) -> str | None:
    """``text`` as rich prints it (markup off) without styles, or None when rich must: it would fold it,
    measure it differently or replace an emoji code in it."""
    if len(text) > PIPE_WIDTH or not _plain([text]) or _EMOJI_CODE.search(text):
        return None
    return text + "\n"


def plain_table(headers: list[str], rows: list[list[Any]]) -> str | None:
    """The table as rich draws it without styles (``Table(box=None, pad_edge=False)``: columns as wide as
    their widest cell, two spaces apart, each padded), or None when rich must draw it: a cell it would
    measure differently (wide, control or non-ASCII characters), or a table it would have to fold."""
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    if not headers or any(len(row) != len(headers) for row in cells):
        return None
    if any(_EMOJI_CODE.search(h) for h in headers) or not all(map(_plain, [headers, *cells])):
        return None
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    if sum(widths) + 2 * (len(widths) - 1) > PIPE_WIDTH:
        return None
    return "".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + "\n" for row in [headers, *cells])


def plain_output() -> bool:
    """Whether rich would draw on stdout without styles: not a terminal, and not told to act as one."""
    return not sys.stdout.isatty() and "FORCE_COLOR" not in os.environ and "TTY_COMPATIBLE" not in os.environ


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

        return Console(highlight=False, width=None if sys.stdout.isatty() else PIPE_WIDTH)

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
        rows = list(rows)
        text = plain_table(headers, rows) if plain_output() else None
        if text is not None:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, header_style="bold", pad_edge=False)
        for h in headers:
            table.add_column(h, no_wrap=h in ("NAME", "ID", "KEY"), overflow="fold")
        for row in rows:
            table.add_row(*(Text("" if cell is None else str(cell), style=getattr(cell, "style", "")) for cell in row))
        self.console.print(table)

    def note(self, text: str, doc: Any) -> None:
        """The outcome of an action: a line for people, a document for machines."""
        if self.machine:
            self.document(doc)
        else:
            self.line(text)

    def line(self, text: str) -> None:
        """One line for people on stdout (never markup)."""
        plain = plain_line(text) if plain_output() else None
        if plain is None:
            self.console.print(text, markup=False, highlight=False)
        else:
            sys.stdout.write(plain)
            sys.stdout.flush()

    def status(self, status: str) -> Styled:
        return Styled(status, STATUS_STYLE.get(status, ""))
