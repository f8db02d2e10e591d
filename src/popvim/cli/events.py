"""``pop events``: the PoP's event stream (REST ``/v1/events``) as it happens.

The Pop protocol has no streaming event call, so this speaks REST, like
``pop ns`` (``--api`` or POP_API; POP_AUTH or the token of ``pop login``).
The stream keeps no history: without ``--follow`` it prints what happens
until the PoP has been quiet for ``--idle`` seconds.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from popvim.cli.context import state
from popvim.cli.ns import _answers, _client, api_option

_FIXED = ("kind", "subject", "time")


def line_of(event: dict[str, Any]) -> str:
    """``TIME KIND SUBJECT key=value ...``: one line per event, for people."""
    rest = " ".join(f"{k}={v}" for k, v in event.items() if k not in _FIXED)
    return f"{event.get('time', '')} {event.get('kind', '')} {event.get('subject', '')} {rest}".rstrip()


@click.command()
@click.option("--follow", "-f", is_flag=True, help="keep printing until interrupted")
@click.option(
    "--idle", type=click.FloatRange(min=0.1), default=2.0, help="without --follow: stop after this many quiet seconds"
)
@api_option
@click.pass_context
def events(ctx: click.Context, follow: bool, idle: float, api: str) -> None:
    """Print the PoP's events (container states, networks, images...) as they happen.

    One line per event; with --json, one JSON object per line (NDJSON)."""
    s = state(ctx)
    client = _client(ctx, api)
    keepalive = min(idle, 1.0)
    quiet_since = time.monotonic()
    try:
        with _answers(api):
            for event in client.events(keepalive):
                if event is None:
                    if not follow and time.monotonic() - quiet_since >= idle:
                        return
                    continue
                quiet_since = time.monotonic()
                sys.stdout.write((json.dumps(event) if s.out.machine else line_of(event)) + "\n")
                sys.stdout.flush()
    except KeyboardInterrupt:
        return
    finally:
        client.close()
