"""``pop ns loadtest``: load a VNF of a service from worker containers and print the statistics."""

from __future__ import annotations

from typing import Any

import click

from popvim.cli.ns import _answers, _client, _out, api_option, ns_app


@ns_app.command()
@click.argument("ref", help="instance name or id")
@click.option("--target", required=True, help="the VNF to load (a load balancer: every backend)")
@click.option("--rate", type=float, default=10.0, help="requests per second, all workers together")
@click.option("--duration", type=float, default=10.0, help="seconds")
@click.option("--workers", type=int, default=1, help="load-generator containers")
@click.option("--path", default="/")
@click.option("--port", type=int, help="default: a load balancer's listen port, else 80")
@click.option("--image", help="the workers' image (python3); default: the target's")
@api_option
@click.pass_context
def loadtest(
    ctx: click.Context,
    ref: str,
    target: str,
    rate: float,
    duration: float,
    workers: int,
    path: str,
    port: int | None,
    image: str | None,
    api: str,
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
