"""``pop``'s tables and lines on a pipe are written without rich, and exactly as rich writes them there."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table
from rich.text import Text

from popvim.cli.output import PIPE_WIDTH, Styled, plain_line, plain_table

HEADERS = ("ID", "NAME", "KEY", "STATUS", "IMAGE", "ADDRESSES", "CREATED (UTC)")


def _rich(draw: Any) -> str:
    """What Output's rich console (not a terminal) prints."""
    file = io.StringIO()
    draw(Console(file=file, highlight=False, width=PIPE_WIDTH))
    return file.getvalue()


def rich_table(headers: list[str], rows: list[list[Any]]) -> str:
    table = Table(box=None, header_style="bold", pad_edge=False)  # as Output.table draws it
    for h in headers:
        table.add_column(h, no_wrap=h in ("NAME", "ID", "KEY"), overflow="fold")
    for row in rows:
        table.add_row(*(Text("" if c is None else str(c), style=getattr(c, "style", "")) for c in row))
    return _rich(lambda console: console.print(table))


cells = st.one_of(
    st.none(),
    st.integers(),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=45),
    st.text(max_size=6),  # wide, control and combining characters: rich's to measure
    st.sampled_from(["RUNNING", "EXITED", ":smile:"]).map(lambda s: Styled(s, "green")),
)
tables = st.integers(1, 6).flatmap(
    lambda n: st.tuples(
        st.lists(st.sampled_from(HEADERS), min_size=n, max_size=n),
        st.lists(st.lists(cells, min_size=n, max_size=n), max_size=5),
    )
)


@settings(max_examples=400, deadline=None)
@given(tables)
def test_a_plain_table_is_what_rich_prints_on_a_pipe(table: tuple[list[str], list[list[Any]]]) -> None:
    headers, rows = table
    plain = plain_table(headers, rows)
    if plain is not None:
        assert plain == rich_table(headers, rows)


def test_the_flavours_table_and_the_tables_left_to_rich() -> None:
    rows: list[list[Any]] = [["docker.container", "docker.container"], ["m1.tiny", "m1.tiny"]]
    assert plain_table(["ID", "NAME"], rows) == (
        "ID                NAME            \ndocker.container  docker.container\nm1.tiny           m1.tiny         \n"
    )
    assert plain_table(["ID", "NAME"], []) == rich_table(["ID", "NAME"], []) == "ID  NAME\n"
    fits = [["x" * (PIPE_WIDTH - 6), "ab"]]  # 214 + 2 + len("NAME")
    assert plain_table(["ID", "NAME"], fits) == rich_table(["ID", "NAME"], fits)
    folds = [["x" * (PIPE_WIDTH - 5), "ab"]]
    assert plain_table(["ID", "NAME"], folds) is None  # rich folds it
    assert plain_table(["ID", "NAME"], [["naïve", "x"]]) is None
    assert plain_table(["ID", "NAME"], [["a\tb", "x"]]) is None


@settings(max_examples=400, deadline=None)
@given(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=PIPE_WIDTH + 10)
    | st.text(max_size=20)
    | st.sampled_from([":smile:", "a:b:c", "[bold]x[/bold]", "x" * PIPE_WIDTH, "logged in to [::1]:60000 as u"])
)
def test_a_plain_line_is_what_rich_prints_on_a_pipe(text: str) -> None:
    plain = plain_line(text)
    if plain is not None:
        assert plain == _rich(lambda console: console.print(text, markup=False, highlight=False))
    if len(text) <= PIPE_WIDTH and text.isascii() and text.isprintable() and ":" not in text:
        assert plain == text + "\n"
