"""Seed 002's evaluation and seed 004's hot-plug: web servers on two sites behind popvim's HAProxy VNF.

Two sites that share nothing but IP reachability: site 1 is a popvimd on the
host's engine (it also orchestrates), site 2 a popvimd inside a lab node
(scripts/lab.sh: its own network namespace and dockerd), listening on the
node's address and publishing ports there. The load balancer on site 1 reaches
site 2's web servers at site 2's address and their published ports. The last test
turns it around: a load balancer on site 2 cannot reach backends on site 1 (the
orchestrator's own PoP, registered on loopback) until site 1, restarted, publishes
on and advertises the host's address on the lab's bridge. The dashboard is looked at in a real browser
(support/browser.py) on the same service: its backends and its load tests.

One service is deployed for the module (TOSCA), its tests run in order
against it; the Open Baton NSD of the same service is deployed once at the end.
Figures (in-flight requests at a kill, the LB failover gap) are printed: run with
``-s`` to see them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
import yaml
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from support.browser import chromium, log_in, wait
from support.daemon import PASSWORD, USER, Daemon, wait_for
from support.images import commit_shell_image
from support.lab import Lab, LabNode
from support.nslcm import deploy, vnf, wait_op
from support.traffic import Load, gets

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "fixtures"
TOSCA = FIXTURES / "tosca" / "lb-web-two-sites.yaml"
OPENBATON = FIXTURES / "nsd" / "lb-web-two-sites-openbaton.json"
VNF_BASE = "popvim-test/vnf-base:latest"
WEB = "popvim-test/web:latest"
WEB_CMD = "mkdir -p /srv/www && hostname > /srv/www/index.html && exec busybox httpd -f -p 80 -h /srv/www"
STATE = "show servers state popvim_backends"
FIGURES: dict[str, Any] = {}
POOL = '[network]\npool = "{}"\n\n'


def make_web_image(client: docker.DockerClient) -> None:
    """A web server answering its own identity (the container's hostname), on each site's engine."""
    commit_shell_image(client, WEB, WEB_CMD, base=VNF_BASE)


@pytest.fixture(scope="module")
def lb_lab(engine: docker.DockerClient) -> Iterator[Lab]:
    lab = Lab(name="pvlb", size=1, swarm=False, images=VNF_BASE)
    try:
        lab.up()
        make_web_image(engine)
        make_web_image(lab.nodes[0].client())
        yield lab
    finally:
        if lab.touched:
            lab.down()


@pytest.fixture(scope="module")
def node(lb_lab: Lab) -> LabNode:
    return lb_lab.nodes[0]


@pytest.fixture(scope="module")
def host1(lb_lab: Lab) -> str:
    """The host's address on the lab's bridge: where site 1 publishes ports, and what it advertises."""
    return str(lb_lab.status["host_address"])


@pytest.fixture(scope="module")
def sites(node: LabNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, Daemon]]:
    # Pools of their own: other test runs on the host engine may fill popvim's default one.
    site1 = Daemon(tmp_path_factory.mktemp("site1"), config_text=POOL.format("10.48.0.0/14")).start()
    site2 = Daemon(
        tmp_path_factory.mktemp("site2"),
        host=node.address,
        wrapper=["ip", "netns", "exec", node.name],
        docker_host=node.docker_host,
        config_text=POOL.format("10.52.0.0/14")
        + f'[tls]\nallow_plaintext = true\n\n[policy]\nbind_address = "{node.address}"\n',
    )
    try:
        site2.start()
        with site1.client() as api:
            registered = api.post(
                "/v1/pops",
                json={
                    "name": "site2",
                    "address": f"{node.address}:{site2.pop_port}",
                    "username": USER,
                    "password": PASSWORD,
                    "site": "lab node",
                },
            )
            assert registered.status_code == 201, registered.text
        yield site1, site2
    finally:
        for site in (site1, site2):
            site.stop()
            site.purge()


class Service:
    """The deployed instance as the tests see it."""

    def __init__(self, site1: Daemon, site2: Daemon, instance: dict[str, Any], host1: str = "127.0.0.1") -> None:
        self.site1, self.site2, self.id, self.host1 = site1, site2, instance["id"], host1
        self.api = site1.client(timeout=120)
        self.api2 = site2.client(timeout=120)

    def record(self) -> dict[str, Any]:
        return self.api.get(f"/nslcm/v1/ns_instances/{self.id}").json()

    def lb(self) -> dict[str, Any]:
        return vnf(self.record(), "lb")["vnfcs"][0]

    def url(self) -> str:
        ports = self.api.get(f"/v1/containers/{self.lb()['popContainerId']}").json()["ports"]
        return f"http://{self.host1}:{ports['80/tcp']}/"

    def webs(self) -> list[dict[str, Any]]:
        record = self.record()
        return vnf(record, "web1")["vnfcs"] + vnf(record, "web2")["vnfcs"]

    def identities(self) -> dict[str, str]:
        """hostname (what each server answers) -> VNFC name."""
        return {c["containerId"][:12]: c["name"] for c in self.webs() if c["state"] == "RUNNING"}

    def lb_servers(self, api: httpx.Client | None = None) -> dict[str, dict[str, Any]]:
        """HAProxy's own view, through its Runtime API: server -> addr, port, op state (2 = up)."""
        out = (api or self.api).post(
            f"/v1/containers/{self.lb()['popContainerId']}/exec",
            json={"command": ["sh", "-c", f"echo '{STATE}' | nc -U -q1 /run/popvim-haproxy.sock"]},
        )
        servers = {}
        for line in out.json()["stdout"].splitlines()[1:]:
            f = line.split()
            if len(f) > 18 and not line.startswith("#"):
                servers[f[3]] = {"addr": f[4], "port": int(f[18]), "op": int(f[5]), "admin": int(f[6])}
        return servers

    def wait_servers(self, count: int, timeout: float = 60) -> dict[str, dict[str, Any]]:
        """Until HAProxy has ``count`` servers, all up, and they are the RUNNING web VNFCs."""

        def ready() -> dict[str, dict[str, Any]] | None:
            servers = self.lb_servers()
            running = [c for c in self.webs() if c["state"] == "RUNNING"]
            if len(servers) == count == len(running) and all(s["op"] == 2 for s in servers.values()):
                return servers
            return None

        return wait_for(ready, timeout, 0.2, f"{count} servers up in the load balancer")

    def run(self, vnfc: dict[str, Any], *command: str) -> str:
        """A command in a VNFC's container, through the REST API of the site it runs on."""
        api = self.api2 if vnfc["popName"] == "site2" else self.api
        out = api.post(f"/v1/containers/{vnfc['popContainerId']}/exec", json={"command": list(command)}).json()
        return str(out["stdout"]).strip()

    def resolves(self, vnfc: dict[str, Any], name: str) -> str:
        """The first address ``name`` resolves to inside ``vnfc`` (empty if none)."""
        answer = self.run(vnfc, "getent", "hosts", name)
        return answer.split()[0] if answer else ""

    def lb_log(self, engine: docker.DockerClient) -> str:
        return engine.containers.get(self.lb()["containerId"]).logs().decode(errors="replace")

    def terminate(self) -> None:
        """Once no operation (an automatic heal) is running."""
        end = wait_for(
            lambda: (r := self.api.post(f"/nslcm/v1/ns_instances/{self.id}/terminate")).status_code == 202 and r,
            60,
            0.5,
            "terminate accepted",
        )
        assert wait_op(self.api, end.headers["Location"])["operationState"] == "COMPLETED"

    def scale(self, vnf_name: str, direction: str) -> dict[str, Any]:
        r = self.api.post(
            f"/nslcm/v1/ns_instances/{self.id}/scale", json={"vnfName": vnf_name, "direction": direction, "steps": 1}
        )
        assert r.status_code == 202, r.text
        return wait_op(self.api, r.headers["Location"])


def load_tosca() -> dict[str, Any]:
    return yaml.safe_load(TOSCA.read_text())


@pytest.fixture(scope="module")
def service(sites: tuple[Daemon, Daemon]) -> Iterator[Service]:
    site1, site2 = sites
    with site1.client() as api:
        instance, op = deploy(api, load_tosca(), name="lbweb")
        assert op["operationState"] == "COMPLETED", op
    svc = Service(site1, site2, instance)
    svc.wait_servers(4)
    yield svc
    svc.terminate()
    print(f"\nload balancer figures: {json.dumps(FIGURES)}")


def maintenance_line(log: str, name: str) -> int | None:
    """The index of HAProxy's log line saying server ``name`` went to maintenance (popvim's doing)."""
    return next(
        (i for i, line in enumerate(log.splitlines()) if f"popvim_backends/{name} " in line and "maintenance" in line),
        None,
    )


def spread(answers: Counter[str], identities: dict[str, str]) -> dict[str, int]:
    assert set(answers) == set(identities), (answers, identities)
    return {identities[who]: n for who, n in answers.items()}


def test_100_gets_spread_evenly_over_four_servers_on_two_sites(service: Service) -> None:
    record = service.record()
    assert {c["popName"] for c in vnf(record, "web2")["vnfcs"]} == {"site2"}
    servers = service.lb_servers()
    site2_address = service.site2.host
    assert sorted(s["addr"] == site2_address for s in servers.values()) == [False, False, True, True], servers
    counts = spread(gets(service.url(), 100), service.identities())
    assert len(counts) == 4 and all(24 <= n <= 26 for n in counts.values()), counts


def test_pop_ns_loadtest_reports_every_backend_and_removes_its_workers(
    service: Service, engine: docker.DockerClient, tmp_path: Path
) -> None:
    env = {**os.environ, "POP_API": service.site1.url, "POP_AUTH": f"{USER}:{PASSWORD}", "HOME": str(tmp_path)}
    args = ["ns", "loadtest", "lbweb", "--target", "lb", "--rate", "40", "--duration", "3", "--workers", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "popvim.cli.main", "--json", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    FIGURES["loadtest"] = {k: report[k] for k in ("requests", "errors", "rps", "p50_ms", "p90_ms", "p99_ms")}
    assert report["workers"] == 2 and report["errors"] == 0 and report["requests"] >= 80, report
    assert 0 < report["p50_ms"] <= report["p90_ms"] <= report["p99_ms"]
    backends = {b["name"]: b for b in report["backends"]}
    assert set(backends) == set(service.lb_servers()), backends  # every server, named as HAProxy names it
    assert all(b["requests"] >= report["requests"] // 4 - 2 for b in backends.values()), backends
    assert not engine.containers.list(all=True, filters={"label": "io.popvim.nfv.loadtest"})
    table = subprocess.run(
        [sys.executable, "-m", "popvim.cli.main", *args[:5], "--duration", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert table.returncode == 0 and "TOTAL" in table.stdout and "web2-0" in table.stdout, table.stdout + table.stderr


@pytest.fixture(scope="module")
def dashboard(service: Service) -> Iterator[WebDriver]:
    """The orchestrator's dashboard, logged in, on the service's page (kept open across tests)."""
    with chromium() as browser:
        log_in(browser, service.site1)
        browser.get(f"{service.site1.url}/dashboard#/services/{service.id}")
        wait(browser, 10).until(ec.text_to_be_present_in_element((By.ID, "service-name"), "lbweb"))
        yield browser


# Read in one script: the page re-renders its tables every few seconds, so elements go stale between calls.
ROWS = """return [...document.querySelectorAll('#load-balancers table.lb-backends tbody tr')]
    .map((r) => [r.dataset.server, [...r.cells].map((c) => c.innerText)])"""
LOADTEST = """const p = document.querySelector(arguments[0]);
if (!p) return null;
const cell = (css) => p.querySelector(css).innerText;
return {requests: cell('tr.total td.requests'), rps: cell('tr.total td.rps'), latency: cell('tr.total td.latency'),
        backends: [...p.querySelectorAll('tr.backend')].map((r) => r.dataset.backend)}"""


def backend_rows(browser: WebDriver) -> dict[str, list[str]]:
    """The backends table as shown: server -> its cells."""
    return {name: cells for name, cells in browser.execute_script(ROWS)}


def test_the_dashboard_shows_the_balancers_backends_and_the_last_load_tests(
    service: Service, dashboard: WebDriver, tmp_path: Path
) -> None:
    view = service.api.get(f"/nslcm/v1/ns_instances/{service.id}/loadbalancer").json()
    (lb,) = view["loadBalancers"]
    servers = service.lb_servers()
    assert {b["name"]: (b["address"], b["port"], b["state"]) for b in lb["backends"]} == {
        n: (s["addr"], s["port"], "UP") for n, s in servers.items()
    }
    names = {c["name"]: c for c in service.webs()}
    assert all(b["vnfcName"] in names and b["popName"] == names[b["vnfcName"]]["popName"] for b in lb["backends"])
    wait(dashboard, 10).until(lambda b: set(backend_rows(b)) == set(servers))
    rows = backend_rows(dashboard)
    for name, cells in rows.items():
        server = servers[name]
        assert f"{server['addr']}:{server['port']}" in cells and "UP" in cells, cells
    assert "site2 · lab node" in rows["web2-0"] and "site1" not in " ".join(rows["web2-0"])
    # The load tests of the earlier test, newest first, kept by the orchestrator and shown as tables.
    tests = service.api.get(f"/nslcm/v1/ns_instances/{service.id}/loadtests").json()
    assert len(tests) == 2 and tests[0]["report"]["duration"] == 1 and tests[1]["request"]["workers"] == 2, tests
    assert len(service.api.get(f"/nslcm/v1/ns_instances/{service.id}/loadtests?limit=1").json()) == 1
    assert service.api.get(f"/nslcm/v1/ns_instances/{service.id}/loadtests?limit=0").status_code == 422
    missing = service.api.get("/nslcm/v1/ns_instances/nowhere/loadbalancer")
    assert missing.status_code == 404 and missing.json()["error"]["code"], missing.text
    newest = tests[0]["report"]
    panel = f'#loadtests .loadtest[data-id="{tests[0]["id"]}"]'
    shown = wait(dashboard, 10).until(lambda b: b.execute_script(LOADTEST, panel))
    assert shown["requests"] == str(newest["requests"]) and shown["rps"].endswith("/s"), shown
    assert float(shown["rps"].removesuffix("/s")) == newest["rps"], shown  # JavaScript writes 11.0 as 11
    assert "p50" in shown["latency"] and "p99" in shown["latency"], shown
    assert set(shown["backends"]) == {b["name"] for b in newest["backends"]}, shown
    dashboard.save_screenshot(str(tmp_path / "load-balancer.png"))


def test_every_vnf_is_reachable_by_name_from_its_service_on_both_sites(service: Service) -> None:
    record, lb = service.record(), service.lb()
    web1 = {c["index"]: c for c in vnf(record, "web1")["vnfcs"]}
    web2 = {c["index"]: c for c in vnf(record, "web2")["vnfcs"]}
    on_vl = web1[1]["addresses"]["VL1"]
    wait_for(lambda: service.resolves(lb, "web1-1") == on_vl, 60, 0.2, "web1-1 named in the LB")
    assert service.resolves(lb, "web1-1.lbweb") == on_vl
    assert service.resolves(lb, "web1") == web1[0]["addresses"]["VL1"]  # the VNF's name: instance 0 first
    assert service.resolves(lb, "web2.lbweb") == service.site2.host  # another site: its address
    assert service.run(lb, "curl", "-s", "-m", "5", "http://web1-1/") == web1[1]["containerId"][:12]
    # On site 2, by name, between that site's own VNFCs.
    wait_for(lambda: service.resolves(web2[0], "web2-1") == web2[1]["addresses"]["VL1"], 60, 0.2, "names on site 2")
    assert service.run(web2[0], "curl", "-s", "-m", "5", "http://web2-1/") == web2[1]["containerId"][:12]


def test_a_killed_backend_leaves_the_balancer_before_its_health_check_would_notice(
    service: Service, engine: docker.DockerClient
) -> None:
    victim = vnf(service.record(), "web1")["vnfcs"][0]
    name = f"web1-{victim['index']}"
    with Load(service.url(), workers=4, limit=90) as load:
        load.wait_for(40)
        killed_at = time.monotonic()
        engine.containers.get(victim["containerId"]).kill()
        kill_returned = time.monotonic()
        # HAProxy's own log says when it stopped routing to it (the healer may bring it back within a second).
        wait_for(lambda: maintenance_line(service.lb_log(engine), name) is not None, 60, 0.05, f"{name} out")
        removed_at = time.monotonic()
        load.wait_for(40)
    in_flight = load.in_flight_during(killed_at, kill_returned)
    failed = load.failed()
    FIGURES["backend_kill"] = {
        "requests": load.count(),
        "in_flight_at_kill": len(in_flight),
        "failed": len(failed),
        "seen_out_of_rotation_after_s": round(removed_at - killed_at, 3),  # upper bound: its log polled
    }
    assert all(r in in_flight for r in failed), [r.error for r in failed if r not in in_flight]
    # HAProxy says so itself: the server went to maintenance (popvim) with no failed health check first.
    log = service.lb_log(engine)
    mark = maintenance_line(log, name)
    assert mark is not None
    checks = [line for line in log.splitlines()[:mark] if f"popvim_backends/{name} is DOWN" in line]
    assert not checks, checks
    service.wait_servers(4)  # healed: back in the balancer


def test_a_killed_load_balancer_is_healed_in_place_and_traffic_resumes(
    service: Service, engine: docker.DockerClient
) -> None:
    before, servers = service.lb(), service.lb_servers()
    url = service.url()
    with Load(url, workers=2, limit=120) as load:
        load.wait_for(20)
        killed_at = time.monotonic()
        engine.containers.get(before["containerId"]).kill()
        wait_for(
            lambda: (lb := service.lb())["containerId"] != before["containerId"] and lb["state"] == "RUNNING",
            60,
            0.1,
            "the LB healed",
        )
        wait_for(lambda: any(r.started > killed_at and not r.failed for r in load.requests), 60, 0.05, "traffic")
        load.wait_for(20)
    after = service.lb()
    assert after["addresses"] == before["addresses"] and after["heals"] == before["heals"] + 1
    assert service.url() == url  # healed on the host port it had
    assert {n: (s["addr"], s["port"]) for n, s in service.wait_servers(4).items()} == {
        n: (s["addr"], s["port"]) for n, s in servers.items()
    }
    wait_for(lambda: service.resolves(after, "web1-0"), 60, 0.2, "the service's names in the healed LB")
    failures = sorted(load.failed(), key=lambda r: r.started)
    first = failures[0].started if failures else killed_at
    back = min(r.ended for r in load.requests if not r.failed and r.started >= first)
    FIGURES["lb_failover"] = {  # the outage as clients saw it: first failure to the first answer after it
        "gap_s": round(back - first, 3),
        "failed": len(load.failed()),
    }


def test_scale_out_site2_spreads_over_five_and_scale_in_loses_nothing(
    service: Service, dashboard: WebDriver, tmp_path: Path
) -> None:
    assert service.scale("web2", "out")["operationState"] == "COMPLETED"
    service.wait_servers(5)
    # the dashboard follows, without a reload: a fifth backend, up, on site 2
    wait(dashboard, 10).until(lambda b: "UP" in backend_rows(b).get("web2-2", []))
    assert len(backend_rows(dashboard)) == 5
    dashboard.save_screenshot(str(tmp_path / "scaled-out.png"))
    wait_for(lambda: service.resolves(service.lb(), "web2-2") == service.site2.host, 60, 0.2, "the new name")
    counts = spread(gets(service.url(), 100), service.identities())
    assert len(counts) == 5 and all(19 <= n <= 21 for n in counts.values()), counts
    with Load(service.url(), workers=4, limit=90) as load:
        load.wait_for(40)
        assert service.scale("web2", "in")["operationState"] == "COMPLETED"
        load.wait_for(40)
    FIGURES["scale_in"] = {"requests": load.count(), "failed": len(load.failed())}
    assert not load.failed(), [r.error for r in load.failed()][:5]
    service.wait_servers(4)
    wait(dashboard, 10).until(lambda b: len(backend_rows(b)) == 4 and "web2-2" not in backend_rows(b))


def test_the_same_service_as_an_open_baton_nsd(service: Service) -> None:
    descriptor = json.loads(OPENBATON.read_text())
    instance, op = deploy(service.api, descriptor, name="lbweb-ob")
    assert op["operationState"] == "COMPLETED", op
    other = Service(service.site1, service.site2, instance)
    try:
        other.wait_servers(4)
        counts = spread(gets(other.url(), 100), other.identities())
        assert len(counts) == 4 and all(24 <= n <= 26 for n in counts.values()), counts
    finally:
        other.terminate()


def test_a_balancer_on_site2_reaches_backends_on_the_orchestrators_own_pop_once_it_advertises_an_address(
    service: Service, host1: str
) -> None:
    """The reverse of the service above: the load balancer on site 2, web1 on site 1 (the local PoP,
    registered on loopback), web2 on site 2. Refused while site 1 advertises nothing; served, with
    real traffic across the sites, once site 1 (restarted) publishes on and advertises the host's
    address on the lab's bridge. Last in the module: site 1 keeps that configuration."""
    tosca = load_tosca()
    tosca["topology_template"]["node_templates"]["lb"]["properties"]["pop"] = "site2"
    for policy in tosca["topology_template"]["policies"]:
        next(iter(policy.values()))["properties"]["default_instances"] = 1
    api = service.api
    nsd = api.post("/nsd/v1/ns_descriptors", content=json.dumps(tosca), headers={"Content-Type": "application/json"})
    assert nsd.status_code == 201, nsd.text
    instance = api.post("/nslcm/v1/ns_instances", json={"nsdId": nsd.json()["id"], "nsName": "lbrev"}).json()
    refused = api.post(f"/nslcm/v1/ns_instances/{instance['id']}/instantiate")
    assert refused.status_code == 409, refused.text
    message = refused.json()["error"]["message"]
    assert "backend 'web1'" in message and "loopback only" in message and "[pop].advertise_address" in message, message

    site1 = service.site1
    site1.stop()
    site1.config_text = (
        f'[pop]\nadvertise_address = "{host1}"\n\n{POOL.format("10.48.0.0/14")}[policy]\nbind_address = "{host1}"\n'
    )
    site1.start()
    local = api.get(f"/v1/pops/{site1.name}").json()
    assert local["local"] and local["address"].startswith("127.0.0.1:") and local["advertise"] == host1, local
    started = api.post(f"/nslcm/v1/ns_instances/{instance['id']}/instantiate")
    assert started.status_code == 202, started.text
    assert wait_op(api, started.headers["Location"])["operationState"] == "COMPLETED"
    other = Service(site1, service.site2, instance, host1)
    try:
        lb = other.lb()
        assert lb["popName"] == "site2"

        def both_up() -> dict[str, dict[str, Any]] | None:
            servers = other.lb_servers(other.api2)
            return servers if len(servers) == 2 and all(x["op"] == 2 for x in servers.values()) else None

        servers = wait_for(both_up, 60, 0.2, "both servers up in the LB on site 2")
        assert servers["web1-0"]["addr"] == host1, servers  # the local PoP, at its advertised address
        ports = other.api2.get(f"/v1/containers/{lb['popContainerId']}").json()["ports"]
        counts = spread(gets(f"http://{service.site2.host}:{ports['80/tcp']}/", 20), other.identities())
        assert len(counts) == 2 and all(9 <= n <= 11 for n in counts.values()), counts  # across the sites
    finally:
        other.terminate()
