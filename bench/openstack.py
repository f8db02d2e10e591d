"""Server create to ACTIVE through openstacksdk (the OpenStack face) against the same
container through REST v1, interleaved in one run on one popvimd.

    .venv/bin/python bench/openstack.py --n 20

Per iteration, in alternating order: (A) ``conn.compute.create_server`` then
``wait_for_server(status="ACTIVE")`` (what a MANO does); (B) ``POST /v1/containers/run``
with the same image and flavour. Both log in once, before timing. Deletes are not timed.
The goal is A within 1.2x of B. Results: a table on stdout and JSON in bench/results/.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# This script's own name would shadow the openstacksdk package: bench/ goes last on the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.append(str(HERE))

import docker  # noqa: E402
import openstack  # noqa: E402
from _common import compare, engine_facts, host_facts, print_table, summary, write_results  # noqa: E402
from support.daemon import PASSWORD, USER, Daemon  # noqa: E402

IMAGE = "popvim-test/idle:latest"  # runs until stopped with no command given (Nova has none)
FLAVOUR = "m1.tiny"


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="popvim-bench-os-") as state:
        daemon = Daemon(Path(state), config_text='[network]\npool = "10.64.0.0/10"\n').start(timeout=120)
        try:
            return _measure(daemon, args)
        finally:
            daemon.stop()
            daemon.purge()


def _measure(daemon: Daemon, args: argparse.Namespace) -> dict[str, Any]:
    conn = openstack.connect(  # type: ignore[attr-defined]  # mypy takes this file for the package
        auth_url=f"{daemon.url}/identity",
        username=USER,
        password=PASSWORD,
        project_name=daemon.name,
        user_domain_name="Default",
        project_domain_name="Default",
    )
    conn.authorize()  # the login and discovery are not what is measured
    image = conn.image.find_image(IMAGE, ignore_missing=False)
    conn.compute.find_flavor(FLAVOUR, ignore_missing=False)
    api = daemon.client()
    samples: dict[str, list[float]] = {"openstacksdk": [], "rest_v1": []}

    def nova() -> str:
        server = conn.compute.create_server(name=f"os-{uuid.uuid4().hex[:8]}", image_id=image.id, flavor_id=FLAVOUR)
        conn.compute.wait_for_server(server, status="ACTIVE", wait=60)  # its default 2 s polling
        return str(server.id)

    def rest() -> str:
        r = api.post(
            "/v1/containers/run", json={"image": IMAGE, "flavour": FLAVOUR, "name": f"v1-{uuid.uuid4().hex[:8]}"}
        )
        r.raise_for_status()
        return str(r.json()["id"])

    sides = [("openstacksdk", nova), ("rest_v1", rest)]
    for i in range(args.warmup + args.n):
        for name, call in sides if i % 2 == 0 else sides[::-1]:
            start = time.perf_counter()
            made = call()
            elapsed = (time.perf_counter() - start) * 1000
            if i >= args.warmup:
                samples[name].append(elapsed)
            api.delete(f"/v1/containers/{made}").raise_for_status()
    api.close()
    results = {name: summary(values) for name, values in samples.items()}
    results["ratio"] = compare(results["openstacksdk"], results["rest_v1"])
    return results


def report(results: dict[str, Any]) -> None:
    rows = [
        [name, f"{results[name]['median']:.1f}", f"{results[name]['p90']:.1f}", f"{results[name]['min']:.1f}"]
        for name in ("openstacksdk", "rest_v1")
    ]
    console = print_table("server create to ACTIVE (ms)", ["path", "median", "p90", "min"], rows, 80)
    ratio = results["ratio"]["ratio"]
    console.print(f"openstacksdk / REST v1 (medians): {ratio:.2f}x (goal: within 1.2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20, help="timed iterations per side")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out-dir", type=Path, default=HERE / "results")
    args = parser.parse_args()
    probe = docker.from_env()
    meta = {**engine_facts(probe), **host_facts(), "n": args.n, "image": IMAGE, "flavour": FLAVOUR}
    probe.close()
    began = time.monotonic()
    results = run(args)
    meta["runtime_s"] = round(time.monotonic() - began, 1)
    report(results)
    write_results(args.out_dir, "openstack", meta, results)


if __name__ == "__main__":
    main()
