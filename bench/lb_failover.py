#!/usr/bin/env python
"""A backend's death behind HAProxy: popvim's events vs HAProxy's health checks alone; and deploy time.

    .venv/bin/python bench/lb_failover.py --rounds 3

Side by side in one run, R rounds each, on this host's engine (one site: what is
compared is the mechanism, not the network):

(a) *popvim*: a popvimd with a service of one load balancer (popvim's HAProxy
    VNF, ``check inter 2s fall 3``) and 3 web servers. Deploy is timed from
    ``POST .../instantiate`` until GETs through the load balancer reach all 3.
    Then, under continuous load (4 client threads, back to back), one web server
    is killed (``docker kill``); its removal is the moment HAProxy logs that
    the server went to maintenance (popvim's Runtime API command, driven by the
    PoP's event stream), read from the engine's timestamped log of the LB.
(b) *health checks alone*: ``docker-compose up -d`` of the equivalent compose
    file (3 web servers at fixed addresses, HAProxy with a static haproxy.cfg:
    the same text popvim renders, same checks, timeouts and redispatch), timed
    the same way; its removal is the moment HAProxy logs the server DOWN (its
    own health check: ``fall 3`` failures ``inter 2s`` apart).

In both, the killed server is not respawned (the popvim service's web VNF says
``failure: log``), and "lost" counts the requests that failed from the kill
on. Results: a table on stdout, JSON in bench/results/. Everything made is
removed in a ``finally``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

import docker  # noqa: E402
import httpx  # noqa: E402
from support.daemon import Daemon, free_subnet, wait_for  # noqa: E402
from support.traffic import Load  # noqa: E402

from popvim.nfv.descriptors.model import HealthCheck, LoadBalancer  # noqa: E402
from popvim.nfv.loadbalancer import Server, render  # noqa: E402

VNF_BASE = "popvim-test/vnf-base:latest"
WEB = "popvim-test/web:latest"
WEB_CMD = "mkdir -p /srv/www && hostname > /srv/www/index.html && exec busybox httpd -f -p 80 -h /srv/www"
LB = LoadBalancer(backends=("web",), port=80, check=HealthCheck("http", "/", 2.0, 3, 2))


def nsd() -> dict[str, Any]:
    return {
        "tosca_definitions_version": "tosca_simple_profile_for_nfv_1_0_0",
        "metadata": {"template_name": "bench-lb"},
        "topology_template": {
            "node_templates": {
                "lb": {
                    "type": "popvim.nodes.nfv.LoadBalancer",
                    "properties": {
                        "image": VNF_BASE,
                        "backend_port": 80,
                        "health_check": {"type": "http", "path": "/", "inter": "2s", "fall": 3, "rise": 2},
                    },
                    "requirements": [{"backend": "web"}],
                },
                "web": {
                    "type": "tosca.nodes.nfv.VDU.Tacker",
                    "properties": {"image": WEB, "monitoring_policy": {"name": "x", "actions": {"failure": "log"}}},
                },
                "CP1": _cp("lb"),
                "CP2": _cp("web"),
                "VL1": {"type": "tosca.nodes.nfv.VL", "properties": {"network_name": "net0", "vendor": "popvim"}},
            },
            "policies": [
                {
                    "SP1": {
                        "type": "tosca.policies.tacker.Scaling",
                        "targets": ["web"],
                        "properties": {"min_instances": 3, "max_instances": 3, "default_instances": 3},
                    }
                }
            ],
        },
    }


def _cp(vdu: str) -> dict[str, Any]:
    return {
        "type": "tosca.nodes.nfv.CP.Tacker",
        "requirements": [{"virtualLink": {"node": "VL1"}}, {"virtualBinding": {"node": vdu}}],
    }


def make_web_image(engine: docker.DockerClient) -> None:
    base = engine.containers.create(VNF_BASE, command=["true"])
    try:
        base.commit("popvim-test/web", "latest", changes=[f'CMD ["sh", "-c", "{WEB_CMD}"]'])
    finally:
        base.remove(force=True)


def serving(url: str, servers: int, timeout: float = 120) -> None:
    """Until GETs through the load balancer reach ``servers`` different web servers."""

    def all_answer() -> bool:
        seen = set()
        for _ in range(servers * 4):
            try:
                seen.add(httpx.get(url, timeout=2, headers={"Connection": "close"}).text.strip())
            except httpx.HTTPError:
                return False
        return len(seen) >= servers

    wait_for(all_answer, timeout, 0.05, f"{servers} servers behind {url}")


def log_time(container: Any, needle: tuple[str, str], after: float, timeout: float = 60) -> float:
    """The engine's timestamp of the first log line of ``container`` holding both ``needle`` parts after ``after``."""

    def find() -> float | None:
        for line in container.logs(timestamps=True, since=int(after) - 1).decode(errors="replace").splitlines():
            stamp, _, text = line.partition(" ")
            if needle[0] in text and needle[1] in text:
                at = dt.datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00").timestamp()
                if at >= after - 0.001:
                    return at
        return None

    try:
        return float(wait_for(find, timeout, 0.05, f"{needle!r} in the LB's log"))
    except AssertionError:
        print(container.logs(timestamps=True).decode(errors="replace")[-3000:], file=sys.stderr)
        raise


def failover(
    engine: docker.DockerClient, url: str, lb_container: str, victim: str, needle: tuple[str, str]
) -> dict[str, Any]:
    lb = engine.containers.get(lb_container)
    with Load(url, workers=4, limit=120) as load:
        load.wait_for(100)
        killed = time.time()
        kill_started = time.monotonic()
        engine.containers.get(victim).kill()
        removed = log_time(lb, needle, killed)
        time.sleep(1.0)
    lost = [r for r in load.requests if r.failed and r.ended >= kill_started]
    return {"removal_s": round(removed - killed, 3), "lost": len(lost), "requests": len(load.requests)}


def popvim_round(engine: docker.DockerClient, daemon: Daemon, index: int) -> dict[str, Any]:
    with daemon.client(timeout=300) as api:
        onboarded = api.post("/nsd/v1/ns_descriptors", json=nsd())
        onboarded.raise_for_status()
        instance = api.post("/nslcm/v1/ns_instances", json={"nsdId": onboarded.json()["id"], "nsName": f"b{index}"})
        ns = instance.json()["id"]
        started = time.monotonic()
        op = api.post(f"/nslcm/v1/ns_instances/{ns}/instantiate").headers["Location"]
        wait_for(lambda: api.get(op).json()["operationState"] != "PROCESSING", 300, 0.05, "instantiate")
        record = api.get(f"/nslcm/v1/ns_instances/{ns}").json()
        lb = next(v for v in record["vnfInstances"] if v["vnfName"] == "lb")["vnfcs"][0]
        port = api.get(f"/v1/containers/{lb['popContainerId']}").json()["ports"]["80/tcp"]
        url = f"http://127.0.0.1:{port}/"
        serving(url, 3)
        deploy = time.monotonic() - started
        web = next(v for v in record["vnfInstances"] if v["vnfName"] == "web")["vnfcs"][0]
        result = failover(
            engine, url, lb["containerId"], web["containerId"], (f"popvim_backends/web-{web['index']} ", "maintenance")
        )
        end = api.post(f"/nslcm/v1/ns_instances/{ns}/terminate").headers["Location"]
        wait_for(lambda: api.get(end).json()["operationState"] != "PROCESSING", 300, 0.1, "terminate")
        api.delete(f"/nslcm/v1/ns_instances/{ns}")
        api.delete(f"/nsd/v1/ns_descriptors/{onboarded.json()['id']}")
    return {"deploy_s": round(deploy, 3), **result}


def compose_round(engine: docker.DockerClient, compose: list[str], folder: Path, index: int) -> dict[str, Any]:
    import ipaddress

    subnet = ipaddress.ip_network(free_subnet(engine))
    hosts = list(subnet.hosts())
    webs = {f"web-{i}": str(hosts[10 + i]) for i in range(3)}
    (folder / "haproxy.cfg").write_text(render(LB, [Server(n, a, 80) for n, a in webs.items()]))
    services: dict[str, Any] = {
        name: {"image": WEB, "networks": {"net0": {"ipv4_address": address}}} for name, address in webs.items()
    }
    services["lb"] = {
        "image": VNF_BASE,
        "command": ["haproxy", "-db", "-f", "/cfg/haproxy.cfg"],
        "volumes": ["./haproxy.cfg:/cfg/haproxy.cfg:ro"],
        "ports": ["127.0.0.1::80"],
        "networks": {"net0": {"ipv4_address": str(hosts[5])}},
        "depends_on": list(webs),
    }
    spec = {
        "version": "2.4",
        "services": services,
        "networks": {"net0": {"ipam": {"config": [{"subnet": str(subnet)}]}}},
    }
    (folder / "docker-compose.yml").write_text(json.dumps(spec, indent=2))
    project = f"lbbench{index}{uuid.uuid4().hex[:4]}"
    run = [*compose, "-p", project, "-f", str(folder / "docker-compose.yml")]
    started = time.monotonic()
    try:
        subprocess.run([*run, "up", "-d"], check=True, capture_output=True, timeout=300)
        lb = engine.containers.get(f"{project}_lb_1")
        port = lb.attrs["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]
        url = f"http://127.0.0.1:{port}/"
        serving(url, 3)
        deploy = time.monotonic() - started
        victim = engine.containers.get(f"{project}_web-0_1")
        result = failover(engine, url, lb.id, victim.id, ("popvim_backends/web-0 is DOWN", ""))
    finally:
        subprocess.run([*run, "down", "-v", "-t", "1"], capture_output=True, timeout=300)
    return {"deploy_s": round(deploy, 3), **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    compose = next(
        (c for c in (["docker", "compose"], ["docker-compose"]) if _works([*c, "version"])),
        None,
    )
    engine = docker.from_env()
    make_web_image(engine)
    state = Path(tempfile.mkdtemp(prefix="lb-bench-"))
    # A pool of its own: other popvimds on a shared engine may have filled the default one.
    daemon = Daemon(state / "popvimd", config_text='[network]\npool = "10.44.0.0/14"\n')
    results: dict[str, list[dict[str, Any]]] = {"popvim": [], "healthcheck": []}
    try:
        daemon.start(timeout=120)
        for index in range(options.rounds):
            results["popvim"].append(popvim_round(engine, daemon, index))
            if compose:
                folder = state / f"compose{index}"
                folder.mkdir()
                results["healthcheck"].append(compose_round(engine, compose, folder, index))
            print(f"round {index + 1}: {json.dumps({k: v[-1] for k, v in results.items() if v})}", flush=True)
    finally:
        daemon.stop()
        daemon.purge()
        shutil.rmtree(state, ignore_errors=True)
    print(f"\n{'':28}{'popvim events':>16}{'health checks':>16}")
    for key, what in (("removal_s", "death -> removal (s)"), ("lost", "requests lost"), ("deploy_s", "deploy (s)")):
        cells = [statistics.median(r[key] for r in results[side]) if results[side] else None for side in results]
        print(f"{what:28}" + "".join(f"{'n/a' if c is None else f'{c:.3f}':>16}" for c in cells))
    if not compose:
        print("no `docker compose` nor `docker-compose` here: the health-check side and compose deploy were not run")
    out = HERE / "results" / f"lb_failover-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"rounds": options.rounds, "compose": compose, "results": results}, indent=2))
    print(f"results: {out}")


def _works(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


if __name__ == "__main__":
    main()
