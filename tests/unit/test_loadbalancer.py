"""The load-balancer VNF's pieces that need no engine: descriptors, configuration, names, load-test sums."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from popvim.nfv import discovery, haproxy_agent, lbview, loadtest
from popvim.nfv.descriptors import DescriptorError, read_descriptor
from popvim.nfv.descriptors.model import HealthCheck, LoadBalancer
from popvim.nfv.errors import Conflict, NotFound
from popvim.nfv.loadbalancer import LoadBalancers, Server, render, server_options, site_address
from popvim.nfv.pops import LocalPop, PopConfig, PopRegistry
from popvim.store.db import Store
from popvim.store.nfv_models import NsdRow, NsInstanceRow

FIXTURES = Path(__file__).parent / "fixtures"
TOSCA = (FIXTURES / "tosca" / "lb-web-two-sites.yaml").read_text()
OPENBATON = json.loads((FIXTURES / "nsd" / "lb-web-two-sites-openbaton.json").read_text())


def test_both_dialects_describe_the_same_load_balancer() -> None:
    tosca, openbaton = read_descriptor(TOSCA), read_descriptor(OPENBATON)
    expected = LoadBalancer(("web1", "web2"), 80, 80, "roundrobin", "http", HealthCheck("http", "/", 2.0, 3, 2))
    for nsd in (tosca, openbaton):
        assert nsd.vnf("lb").load_balancer == expected
        assert [v.name for v in nsd.balancers_of("web2")] == ["lb"] and nsd.balancers_of("lb") == []
        assert (nsd.vnf("web2").pop, nsd.vnf("web1").pop) == ("site2", None)
        assert (nsd.vnf("web2").initial_instances, nsd.vnf("web2").max_instances) == (2, 3)


def _openbaton(**changes: str) -> dict[str, Any]:
    doc = json.loads(json.dumps(OPENBATON))
    params = doc["vnfd"][0]["configurations"]["configurationParameters"]
    for key, value in changes.items():
        params[:] = [p for p in params if p["confKey"] != key] + ([{"confKey": key, "value": value}] if value else [])
    return doc


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"LB_PORT": ""}, "is required"),
        ({"LB_PORT": "99999"}, "port number"),
        ({"LB_BACKENDS": "web1,nope"}, "unknown backend VNF 'nope'"),
        ({"LB_BACKENDS": "lb"}, "cannot balance itself"),
        ({"LB_ALGORITHM": "source"}, "must be one of"),
        ({"LB_CHECK": "http nopath"}, "takes a path"),
        ({"LB_CHECK_INTER": "forever"}, "duration"),
        ({"LB_CHECK_FALL": "0"}, "whole number"),
    ],
)
def test_a_bad_open_baton_load_balancer_is_a_listed_problem(changes: dict[str, str], problem: str) -> None:
    with pytest.raises(DescriptorError) as refused:
        read_descriptor(_openbaton(**changes))
    assert any(problem in p.reason and "configurations" in p.path for p in refused.value.problems), refused.value


def test_a_tosca_load_balancer_needs_its_backend_port_and_known_backends() -> None:
    for broken, expected in (
        (TOSCA.replace("        backend_port: 80\n", ""), "backend_port"),
        (TOSCA.replace("- backend: web2", "- backend: nowhere"), "nowhere"),
    ):
        with pytest.raises(DescriptorError) as refused:
            read_descriptor(broken)
        assert expected in str(refused.value)


def test_the_configuration_holds_every_server_with_its_checks() -> None:
    lb = LoadBalancer(("web",), 8080, listen=81, algorithm="leastconn", check=HealthCheck("http", "/ok", 0.5, 2, 1))
    text = render(lb, [Server("web-1", "10.0.0.3", 8080), Server("web-0", "192.0.2.7", 31000)])
    assert "bind :81" in text and "balance leastconn" in text and "option httpchk GET /ok" in text
    assert text.index("server web-0 192.0.2.7:31000 check inter 500ms fall 2 rise 1") < text.index("server web-1")
    assert "stats socket /run/popvim-haproxy.sock" in text and "option redispatch 1" in text
    tcp = LoadBalancer(("db",), 5432, mode="tcp", check=HealthCheck("none"))
    assert server_options(tcp) == "" and "httpchk" not in render(tcp, []) and "X-Popvim-Server" not in render(tcp, [])
    assert site_address("10.64.0.11:60000") == "10.64.0.11" and site_address("[fd00::1]:1") == "fd00::1"


def test_a_backend_whose_balancer_is_elsewhere_publishes_its_port() -> None:
    nsd = read_descriptor(TOSCA)
    balancers = LoadBalancers(store=None, pops=SimpleNamespace(local_name="here"), descriptor_of=lambda _: nsd)  # type: ignore[arg-type]
    assert balancers.creation("ns", nsd, nsd.vnf("web2"), "site2", 0).ports == {"80/tcp": None}
    same_site = balancers.creation("ns", nsd, nsd.vnf("web1"), "here", 0)
    assert same_site.ports == {} and same_site.command is None and same_site.metadata == {}


class _Sites(SimpleNamespace):
    def site_address(self, name: str) -> str:
        return self.addresses[name]  # type: ignore[no-any-return]


def test_a_backend_another_site_could_only_reach_on_loopback_is_refused_with_the_fix() -> None:
    nsd = read_descriptor(
        TOSCA.replace("        backend_port: 80\n", "        backend_port: 80\n        pop: site2\n", 1)
    )
    loopback = _Sites(local_name="here", addresses={"here": "127.0.0.1", "site2": "10.64.0.11"})
    balancers = LoadBalancers(store=None, pops=loopback, descriptor_of=lambda _: nsd)  # type: ignore[arg-type]
    with pytest.raises(Conflict, match=r"backend 'web1' on PoP 'here'.*127.0.0.1 is loopback only.*advertise_address"):
        balancers.check_reachable(nsd)
    advertised = _Sites(local_name="here", addresses={"here": "10.64.0.1", "site2": "10.64.0.11"})
    LoadBalancers(store=None, pops=advertised, descriptor_of=lambda _: nsd).check_reachable(nsd)  # type: ignore[arg-type]
    one_host = _Sites(local_name="here", addresses={"here": "127.0.0.1", "site2": "127.0.0.1"})  # both on loopback
    LoadBalancers(store=None, pops=one_host, descriptor_of=lambda _: nsd).check_reachable(nsd)  # type: ignore[arg-type]
    # the LB on the local PoP, backends on site2 (the module's service): nothing to refuse
    LoadBalancers(store=None, pops=loopback, descriptor_of=lambda _: nsd).check_reachable(read_descriptor(TOSCA))  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["127.0.0.1", "::1", "0.0.0.0", "site1.example"])
def test_an_advertised_address_is_an_ip_address_other_sites_can_reach(bad: str) -> None:
    with pytest.raises(ValueError, match="advertise"):
        PopConfig(name="p", address="10.0.0.1:60000", username="u", password="p", advertise=bad)
    assert PopConfig(name="p", address="127.0.0.1:1", username="u", password="p", advertise="10.64.0.1").advertise


def test_names_point_at_the_address_the_viewer_can_reach() -> None:
    nsd = read_descriptor(TOSCA)
    lb = discovery.Instance("lb", 0, "here", {"VL1": "10.1.0.2"}, True)
    instances = [
        lb,
        discovery.Instance("web1", 1, "here", {"VL1": "10.1.0.4"}, True),
        discovery.Instance("web1", 0, "here", {"VL1": "10.1.0.3"}, True),
        discovery.Instance("web2", 0, "site2", {"VL1": "10.9.0.3"}, True),
        discovery.Instance("web2", 1, "site2", {"VL1": "10.9.0.4"}, False),  # not running: no name
    ]
    sites = {"here": "127.0.0.1", "site2": "10.64.0.11"}
    text = discovery.hosts("My_NS", nsd, lb, instances, sites.__getitem__)
    lines = text.splitlines()
    assert "10.1.0.3\tweb1 web1.my-ns web1-0 web1-0.my-ns" in lines
    assert lines.index("10.1.0.3\tweb1 web1.my-ns web1-0 web1-0.my-ns") < lines.index(
        "10.1.0.4\tweb1 web1.my-ns web1-1 web1-1.my-ns"
    )
    assert "10.64.0.11\tweb2 web2.my-ns web2-0 web2-0.my-ns" in lines and "web2-1" not in text
    from_site2 = discovery.hosts("My_NS", nsd, instances[3], instances, sites.__getitem__)
    assert "lb" not in from_site2.split()  # the orchestrator's own PoP is on loopback: not reachable from there


def test_a_load_test_sums_its_workers() -> None:
    worker = {
        "requests": 10,
        "errors": 1,
        "latencies": [float(i) for i in range(1, 11)],
        "elapsed": 2.0,
        "error_kinds": {"503": 1},
        "backends": {
            "web-0": {"requests": 6, "errors": 1, "latency_ms": 30.0},
            "web-1": {"requests": 4, "errors": 0, "latency_ms": 20.0},
        },
    }
    report = loadtest.summarise("lb", "10.0.0.2:80", 2.0, [worker, worker])
    assert (report.requests, report.errors, report.rps, report.error_kinds) == (20, 2, 10.0, {"503": 2})
    assert (report.p50_ms, report.p90_ms, report.p99_ms) == (6.0, 9.0, 10.0)
    assert [(b.name, b.requests, b.errors, b.mean_ms) for b in report.backends] == [
        ("web-0", 12, 2, 5.0),
        ("web-1", 8, 0, 5.0),
    ]


def test_haproxy_states_are_one_of_four_words() -> None:
    said = {"UP": "UP", "UP 1/3": "UP", "no check": "UP", "DOWN": "DOWN", "DOWN 1/2": "DOWN", "MAINT": "MAINT"}
    said |= {"MAINT (via popvim_backends/x)": "MAINT", "DRAIN": "DRAIN", "NOLB": "DRAIN", "": "DOWN"}
    assert {status: haproxy_agent.state_of(status) for status in said} == said


def test_the_last_load_tests_of_an_instance_are_kept_newest_first_and_bounded(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    registry = PopRegistry(store, LocalPop("here", "127.0.0.1:60000", "o", "p", advertise="10.64.0.1"))
    assert registry.site_address("here") == "10.64.0.1" and registry.get("here").advertise == "10.64.0.1"
    with store.session() as session:
        session.add(NsdRow(id="d", name="d", format="tosca", source="", created_at=datetime(2026, 1, 1)))
        session.flush()
        for ns in ("a", "b"):
            session.add(
                NsInstanceRow(id=ns, name=ns, nsd_id="d", state="INSTANTIATED", created_at=datetime(2026, 1, 1))
            )
    views = lbview.Views(store, registry, lambda _: read_descriptor(TOSCA))
    at = datetime(2026, 1, 1)
    for i in range(lbview.KEEP + 3):
        views.record("a", "lb", at, at, {"rate": i}, {"requests": i})
    views.record("b", "lb", at, at, {}, {"requests": 99})
    kept = views.load_tests("a")
    assert [t.report["requests"] for t in kept] == list(range(lbview.KEEP + 2, 2, -1))
    assert [t.report["requests"] for t in views.load_tests("b", 5)] == [99]
    assert [t.request["rate"] for t in views.load_tests("a", 2)] == [lbview.KEEP + 2, lbview.KEEP + 1]
    with pytest.raises(NotFound):
        views.load_tests("nowhere")
