"""``pop ns``: network services through the orchestrator's REST API.

The orchestrator speaks REST (SOL005-shaped), not the Pop protocol, so these
commands need its URL (``--api`` or POP_API); credentials are POP_AUTH, or the
token ``pop login`` stored for --host (one daemon serves both).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from popvim.cli.context import ENV_AUTH, CliError, state
from popvim.cli.group import Group
from popvim.cli.output import STATUS_STYLE, Output
from popvim.cli.tokens import TokenStore
from popvim.client.defaults import DEFAULT_API

if TYPE_CHECKING:  # httpx and rich are imported by the commands that use them, not by every `pop` command
    from rich.table import Table

    from popvim.client.nfv import NfvClient

ENV_API = "POP_API"


@click.group("ns", cls=Group, help="Network services: onboard descriptors, deploy, scale, heal, terminate.")
def ns_app() -> None:
    pass


api_option = click.option("--api", envvar=ENV_API, show_envvar=True, default=DEFAULT_API, help="orchestrator REST URL")
descriptor = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))


def _client(ctx: click.Context, api: str) -> NfvClient:
    from popvim.client.nfv import NfvClient

    s = state(ctx)
    auth = os.environ.get(ENV_AUTH, "")
    if auth:
        user, _, password = auth.partition(":")
        return NfvClient(api, user, password, timeout=s.timeout, **s.tls.http_options())
    stored = TokenStore().get(s.host)
    if stored is None:
        raise CliError(f"not logged in: run `pop login` or set {ENV_AUTH}=user:password")
    return NfvClient(api, token=stored.token, timeout=s.timeout, **s.tls.http_options())


@contextlib.contextmanager
def _answers(api: str) -> Iterator[None]:
    """The orchestrator's errors as the one-line messages every ``pop`` command gives."""
    import httpx

    from popvim.client.nfv import NfvError

    try:
        yield
    except NfvError as exc:  # a descriptor's message already lists every problem
        raise CliError(f"{exc.code}: {exc.message}") from None
    except httpx.HTTPError as exc:
        raise CliError(f"cannot reach the orchestrator at {api}: {exc}") from None


def _out(ctx: click.Context) -> Output:
    return state(ctx).out


def _onboard(client: NfvClient, path: Path) -> dict[str, Any]:
    content = path.read_bytes()
    yaml = path.suffix in (".yaml", ".yml") or content.lstrip().startswith(b"tosca_definitions_version")
    return client.onboard(content, yaml=yaml)


@ns_app.command()
@descriptor
@api_option
@click.pass_context
def onboard(ctx: click.Context, file: Path, api: str) -> None:
    """Onboard an Open Baton NSD (JSON) or a TOSCA NFV template (YAML)."""
    with _answers(api):
        nsd = _onboard(_client(ctx, api), file)
    _out(ctx).note(f"onboarded {nsd['name']} as {nsd['id']} ({', '.join(nsd['vnfs'])})", nsd)


@ns_app.command()
@descriptor
@click.option("--name", "-n")
@api_option
@click.option("--timeout", type=float, default=600, help="seconds to wait for the deployment")
@click.pass_context
def deploy(ctx: click.Context, file: Path, name: str | None, api: str, timeout: float) -> None:
    """Onboard, create and instantiate, showing progress until COMPLETED or FAILED."""
    with _answers(api):
        client = _client(ctx, api)
        nsd = _onboard(client, file)
        instance = client.create(nsd["id"], name)
        op = client.instantiate(instance["id"])
        op = _follow(ctx, client, instance["id"], op["id"], timeout)
    _finish(ctx, op, client.instance(instance["id"]) if op["operationState"] == "COMPLETED" else None)


def _follow(ctx: click.Context, client: NfvClient, ns_id: str, op_id: str, timeout: float) -> dict[str, Any]:
    """Wait for the operation; on a terminal, show the VNFCs' states live meanwhile."""
    from rich.live import Live

    out = _out(ctx)
    if out.machine or not out.err.is_terminal:
        return client.wait(op_id, timeout)
    deadline = time.monotonic() + timeout
    with Live(console=out.err, refresh_per_second=8, transient=False) as live:
        while True:
            op, record = client.op(op_id), client.instance(ns_id)
            live.update(_progress(op, record))
            if op["operationState"] != "PROCESSING" or time.monotonic() >= deadline:
                return op
            time.sleep(0.2)


def _progress(op: dict[str, Any], record: dict[str, Any]) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"{op['lcmOperationType']} {record['nsInstanceName']}: {op['operationState']}",
        box=None,
        header_style="bold",
    )
    for column in ("VNF", "VNFC", "POP", "STATE", "ADDRESSES"):
        table.add_column(column)
    for vnf in record["vnfInstances"]:
        for c in vnf["vnfcs"]:
            table.add_row(
                vnf["vnfName"],
                c["name"],
                c["popName"],
                Text(c["state"], style=STATUS_STYLE.get(c["state"], "")),
                " ".join(f"{k}={v}" for k, v in c["addresses"].items()),
            )
    return table


def _finish(ctx: click.Context, op: dict[str, Any], record: dict[str, Any] | None) -> None:
    if op["operationState"] != "COMPLETED":
        raise CliError(f"{op['lcmOperationType']} {op['operationState']}: {op.get('error') or 'still running'}")
    _out(ctx).note(f"{op['lcmOperationType']} COMPLETED", record or op)


@ns_app.command("list")
@api_option
@click.pass_context
def list_(ctx: click.Context, api: str) -> None:
    """Network service instances."""
    with _answers(api):
        instances = _client(ctx, api).instances()
    rows = [
        [
            i["nsInstanceName"],
            i["id"],
            i["nsState"],
            " ".join(f"{v['vnfName']}x{v['instances']}" for v in i["vnfInstances"]),
        ]
        for i in instances
    ]
    _out(ctx).table(["NAME", "ID", "STATE", "VNFS"], rows, instances)


@ns_app.command()
@click.argument("ref", help="instance name or id")
@api_option
@click.pass_context
def show(ctx: click.Context, ref: str, api: str) -> None:
    """An instance with its VNF and VNFC records."""
    with _answers(api):
        record = _client(ctx, api).instance(ref)
    out = _out(ctx)
    if out.machine:
        out.document(record)
    else:
        out.console.print(_progress({"lcmOperationType": "NS", "operationState": record["nsState"]}, record))


def _operation(ctx: click.Context, api: str, start: Any, ref: str, wait: bool) -> None:
    with _answers(api):
        client = _client(ctx, api)
        op = start(client)
        if not wait:
            _out(ctx).note(f"{op['lcmOperationType']} started: {op['id']}", op)
            return
        op = _follow(ctx, client, op["nsInstanceId"], op["id"], 600)
        _finish(ctx, op, client.instance(ref) if op["lcmOperationType"] != "TERMINATE" else None)


@ns_app.command()
@click.argument("ref")
@click.argument("vnf")
@click.argument("direction", help="out or in")
@click.option("--steps", type=int, default=1)
@click.option("--wait/--no-wait", default=True)
@api_option
@click.pass_context
def scale(ctx: click.Context, ref: str, vnf: str, direction: str, steps: int, wait: bool, api: str) -> None:
    """Add (out) or remove (in) instances of one VNF, within its descriptor's bounds."""
    _operation(ctx, api, lambda c: c.scale(ref, vnf, direction, steps), ref, wait)


@ns_app.command()
@click.argument("ref")
@click.argument("vnfc", nargs=-1)
@click.option("--wait/--no-wait", default=True)
@api_option
@click.pass_context
def heal(ctx: click.Context, ref: str, vnfc: tuple[str, ...], wait: bool, api: str) -> None:
    """Respawn the VNFCs named (default: every one that is not RUNNING)."""
    _operation(ctx, api, lambda c: c.heal(ref, list(vnfc) or None), ref, wait)


@ns_app.command()
@click.argument("ref")
@click.option("--wait/--no-wait", default=True)
@api_option
@click.option("--force/--no-force", default=False, help="count unreachable PoPs as cleaned up")
@click.pass_context
def terminate(ctx: click.Context, ref: str, wait: bool, api: str, force: bool) -> None:
    """Remove every container and network the instance made, on every PoP."""
    _operation(ctx, api, lambda c: c.terminate(ref, force), ref, wait)


@ns_app.command()
@click.argument("ref")
@api_option
@click.pass_context
def delete(ctx: click.Context, ref: str, api: str) -> None:
    """Forget a terminated instance."""
    with _answers(api):
        _client(ctx, api).delete(ref)
    _out(ctx).note(f"deleted {ref}", {"deleted": ref})
