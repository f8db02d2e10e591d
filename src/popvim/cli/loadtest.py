"""``pop ns loadtest``: load a VNF of a service from worker containers and print the statistics."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from popvim.cli.ns import ApiOption, _answers, _client, _out, ns_app
from popvim.client.defaults import DEFAULT_API


@ns_app.command()
def loadtest(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="instance name or id")],
    target: Annotated[str, typer.Option(help="the VNF to load (a load balancer: every backend)")],
    rate: Annotated[float, typer.Option(help="requests per second, all workers together")] = 10.0,
    duration: Annotated[float, typer.Option(help="seconds")] = 10.0,
    workers: Annotated[int, typer.Option(help="load-generator containers")] = 1,
    path: str = "/",
    port: Annotated[int | None, typer.Option(help="default: a load balancer's listen port, else 80")] = None,
    image: Annotated[str | None, typer.Option(help="the workers' image (python3); default: the target's")] = None,
    api: ApiOption = DEFAULT_API,
) -> None:
    """Start WORKERS load generators on the target's PoP, GET it at RATE for DURATION, remove them,
    and print requests/s, latency p50/p90/p99 and errors, in total and per backend."""
    with _answers(api):
        report = _client(ctx, api).loadtest(
            ref, target, rate=rate, duration=duration, workers=workers, path=path, port=port, image=image
        )
    out = _out(ctx)
    rows: list[list[Any]] = [
        [
            b["name"],
            b["requests"],
            b["errors"],
            f"{b['mean_ms']:.1f}",
            f"{100 * b['requests'] / max(report['requests'], 1):.0f}%",
        ]
        for b in report["backends"]
    ]
    rows.append(
        [
            "TOTAL",
            report["requests"],
            report["errors"],
            f"p50 {report['p50_ms']:.1f} p90 {report['p90_ms']:.1f} p99 {report['p99_ms']:.1f}",
            f"{report['rps']:.1f}/s",
        ]
    )
    if not out.machine:
        out.console.print(
            f"{report['target']} at {report['address']}: {report['workers']} worker(s), {report['duration']:g} s"
        )
    out.table(["BACKEND", "REQUESTS", "ERRORS", "LATENCY MS", "SHARE"], rows, report)  # type: ignore[arg-type]
