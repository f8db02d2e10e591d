"""Descriptor readers: seed 001's Open Baton NSD and seed 002's TOSCA templates become one model.

Bad descriptors must come back as one DescriptorError listing every problem with
its path, whatever the input: the fuzz tests feed mutated and random documents.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from popvim.nfv.descriptors import read_descriptor
from popvim.nfv.descriptors.model import (
    ConnectionPoint,
    Dependency,
    DescriptorError,
    NetworkServiceDescriptor,
    ScalingPolicy,
    VirtualLink,
)
from popvim.nfv.descriptors.openbaton import read_openbaton
from popvim.nfv.descriptors.tosca import parse_port, parse_size, read_tosca, read_tosca_document

FIXTURES = Path(__file__).parent / "fixtures"
SIPP_JSON = FIXTURES / "nsd" / "sipp-openbaton.json"
TOSCA = FIXTURES / "tosca"
MiB = 2**20

SIPP_CONFIGURATION = {
    "SIPP_LENGTH": "0",
    "SIPP_RATE": "10",
    "SIPP_RATE_PERIOD": "1000",
    "SIPP_RATE_MAX": "10",
    "SIPP_RATE_INCREASE": "0",
    "SIPP_RTP_ECHO": "10",
    "SIPP_TRANSPORT_MODE": "u1",
}


def sipp() -> dict[str, Any]:
    return json.loads(SIPP_JSON.read_text())


def tosca_text(name: str) -> str:
    return (TOSCA / name).read_text()


def tosca_doc(name: str) -> dict[str, Any]:
    return yaml.safe_load(tosca_text(name))


def problems_of(call: Any, *args: Any) -> dict[str, str]:
    """path -> reasons (joined by " | ") of every problem the call reports (it must report some)."""
    with pytest.raises(DescriptorError) as caught:
        call(*args)
    found: dict[str, str] = {}
    for problem in caught.value.problems:
        found[problem.path] = f"{found[problem.path]} | {problem.reason}" if problem.path in found else problem.reason
    return found


# --- Open Baton: seed 001 Appendix C ---------------------------------------------------


def test_sipp_fixture_is_appendix_c_verbatim() -> None:
    doc = sipp()
    assert len(SIPP_JSON.read_text().splitlines()) == 210  # the listing's line count
    client, server = doc["vnfd"]
    assert client["lifecycle_event"][0]["lifecycle_events"] == ["server_sipp_start.sh"]
    assert client["auto_scale_policy"][1]["alarms"][0]["comparisonOperator"] == ">="
    assert server["vnfPackageLocation"] == "https://github.com/openbaton/vnf-scripts.git"


def test_sipp_nsd_reads_to_two_vnfs_with_the_exact_values() -> None:
    nsd = read_openbaton(sipp())
    assert (nsd.name, nsd.vendor, nsd.version, nsd.format) == ("docker-test-NS-sipp", "mcilloni", "1.0", "openbaton")
    assert nsd.virtual_links == (VirtualLink(name="private"),)
    assert [v.name for v in nsd.vnfs] == ["sipp-client", "sipp-server"]
    client, server = nsd.vnf("sipp-client"), nsd.vnf("sipp-server")
    assert (client.image, client.type, client.flavour) == ("mcilloni/sipp-client:latest", "client", "docker.container")
    assert (client.min_instances, client.initial_instances, client.max_instances) == (1, 1, 5)
    assert client.configuration == SIPP_CONFIGURATION
    assert client.connection_points == (ConnectionPoint("private"),)
    assert client.pop is None and client.respawn
    assert (server.image, server.type) == ("mcilloni/sipp-server:latest", "server")
    assert (server.min_instances, server.initial_instances, server.max_instances) == (1, 1, 1)
    assert server.configuration == {} and server.scaling == ()
    assert server.connection_points == (ConnectionPoint("private"),)
    assert nsd.dependencies == (Dependency("sipp-server", "sipp-client", ("private",)),)


def test_sipp_scaling_policies_translate_cpu_idle_into_cpu_busy() -> None:
    """idle <= 40 % is busy >= 60 %: scale out above 60; idle >= 60 % is busy <= 40 %: scale in below 40."""
    client = read_openbaton(sipp()).vnf("sipp-client")
    assert client.scaling == (
        ScalingPolicy(
            "scale-out", scale_out_above=60.0, scale_in_below=None, period_seconds=30, cooldown_seconds=60, step=1
        ),
        ScalingPolicy(
            "scale-in", scale_out_above=None, scale_in_below=40.0, period_seconds=30, cooldown_seconds=60, step=1
        ),
    )


def test_busy_cpu_metric_keeps_its_threshold_and_step_comes_from_the_action() -> None:
    doc = sipp()
    policy = doc["vnfd"][0]["auto_scale_policy"][0]
    policy["alarms"][0].update(metric="system.cpu.util", comparisonOperator=">", threshold=75)
    policy["actions"][0]["value"] = 2
    assert read_openbaton(doc).vnf("sipp-client").scaling[0] == ScalingPolicy(
        "scale-out", 75.0, None, period_seconds=30, cooldown_seconds=60, step=2
    )


def test_vnfc_count_sets_initial_instances_and_vim_instance_names_the_pop() -> None:
    doc = sipp()
    vdu = doc["vnfd"][0]["vdu"][0]
    vdu["vnfc"] = [copy.deepcopy(vdu["vnfc"][0]) for _ in range(3)]
    vdu["vimInstanceName"] = ["", "edge-pop"]
    client = read_openbaton(doc).vnf("sipp-client")
    assert (client.min_instances, client.initial_instances, client.max_instances) == (3, 3, 5)
    assert client.connection_points == (ConnectionPoint("private"),)  # once, not per VNFC
    assert client.pop == "edge-pop"


def test_minimal_vnfd_gets_defaults() -> None:
    nsd = read_openbaton({"name": "ns", "vnfd": [{"name": "a", "vdu": [{"vm_image": ["img"]}]}]})
    vnf = nsd.vnf("a")
    assert (vnf.image, vnf.flavour, vnf.min_instances, vnf.max_instances, vnf.type) == (
        "img",
        "docker.container",
        1,
        1,
        "",
    )
    assert nsd.virtual_links == () and nsd.dependencies == ()


# --- Open Baton: every problem, with its path ------------------------------------------


def test_missing_name() -> None:
    doc = sipp()
    del doc["name"]
    assert problems_of(read_openbaton, doc) == {"name": "is required"}


def test_vnfd_without_vdu_and_vdu_without_image() -> None:
    doc = sipp()
    del doc["vnfd"][1]["vdu"]
    del doc["vnfd"][0]["vdu"][0]["vm_image"]
    problems = problems_of(read_openbaton, doc)
    assert problems["vnfd[1].vdu"] == "is required"
    assert problems["vnfd[0].vdu[0].vm_image"] == "is required"


def test_empty_image_list_and_empty_vdu_list() -> None:
    doc = sipp()
    doc["vnfd"][0]["vdu"][0]["vm_image"] = []
    doc["vnfd"][1]["vdu"] = []
    problems = problems_of(read_openbaton, doc)
    assert "vnfd[0].vdu[0].vm_image" in problems and "vnfd[1].vdu" in problems


def test_vnfc_referencing_an_unknown_virtual_link() -> None:
    doc = sipp()
    doc["vnfd"][1]["vdu"][0]["vnfc"][0]["connection_point"][0]["virtual_link_reference"] = "public"
    problems = problems_of(read_openbaton, doc)
    assert "'public'" in problems["vnfd[1].vdu[0].vnfc[0].connection_point[0].virtual_link_reference"]


def test_dependency_naming_an_unknown_vnf() -> None:
    doc = sipp()
    doc["vnf_dependency"][0]["target"]["name"] = "sipp-ghost"
    assert "'sipp-ghost'" in problems_of(read_openbaton, doc)["vnf_dependency[0].target"]


def test_dependency_cycle() -> None:
    doc = sipp()
    doc["vnf_dependency"].append(
        {"source": {"name": "sipp-client"}, "target": {"name": "sipp-server"}, "parameters": ["private"]}
    )
    reason = problems_of(read_openbaton, doc)["vnf_dependency"]
    assert "cycle" in reason and "sipp-server" in reason and "sipp-client" in reason


def test_self_dependency_is_a_cycle() -> None:
    doc = sipp()
    doc["vnf_dependency"][0]["target"]["name"] = "sipp-server"
    assert "cycle" in problems_of(read_openbaton, doc)["vnf_dependency"]


def test_scale_in_out_below_one_and_below_the_vnfc_count() -> None:
    doc = sipp()
    doc["vnfd"][0]["vdu"][0]["scale_in_out"] = 0
    doc["vnfd"][1]["vdu"][0]["vnfc"] *= 2
    problems = problems_of(read_openbaton, doc)
    assert problems["vnfd[0].vdu[0].scale_in_out"] == "must be at least 1, not 0"
    assert "fewer than the 2 VNFCs" in problems["vnfd[1].vdu[0].scale_in_out"]


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda d: d.update(name=7), "name"),
        (lambda d: d.update(vld={"name": "private"}), "vld"),
        (lambda d: d.update(vnfd="sipp"), "vnfd"),
        (lambda d: d["vnfd"].append(3), "vnfd[2]"),
        (lambda d: d["vnfd"][0]["vdu"][0].update(scale_in_out="5"), "vnfd[0].vdu[0].scale_in_out"),
        (lambda d: d["vnfd"][0]["vdu"][0].update(scale_in_out=True), "vnfd[0].vdu[0].scale_in_out"),
        (lambda d: d["vnfd"][0]["vdu"][0].update(vm_image="img"), "vnfd[0].vdu[0].vm_image"),
        (lambda d: d["vnfd"][0]["vdu"][0].update(vm_image=[None]), "vnfd[0].vdu[0].vm_image[0]"),
        (lambda d: d["vnfd"][0]["vdu"][0].update(vimInstanceName=[1]), "vnfd[0].vdu[0].vimInstanceName[0]"),
        (
            lambda d: d["vnfd"][0]["configurations"]["configurationParameters"][0].update(value={"a": 1}),
            "vnfd[0].configurations.configurationParameters[0].value",
        ),
        (
            lambda d: d["vnfd"][0]["configurations"]["configurationParameters"][1].pop("confKey"),
            "vnfd[0].configurations.configurationParameters[1].confKey",
        ),
        (lambda d: d["vnfd"][0].update(configurations=[]), "vnfd[0].configurations"),
        (
            lambda d: d["vnfd"][0]["deployment_flavour"][0].update(flavour_key=1),
            "vnfd[0].deployment_flavour[0].flavour_key",
        ),
        (lambda d: d["vnfd"][0]["auto_scale_policy"][0].update(period="soon"), "vnfd[0].auto_scale_policy[0].period"),
        (
            lambda d: d["vnfd"][0]["auto_scale_policy"][0]["alarms"][0].update(metric="memory.used"),
            "vnfd[0].auto_scale_policy[0].alarms[0]",
        ),
        (
            lambda d: d["vnfd"][0]["auto_scale_policy"][0]["alarms"][0].update(comparisonOperator="="),
            "vnfd[0].auto_scale_policy[0].alarms[0]",
        ),
        (
            lambda d: d["vnfd"][0]["auto_scale_policy"][0]["alarms"][0].update(comparisonOperator=">="),
            "vnfd[0].auto_scale_policy[0].alarms",
        ),  # SCALE_OUT on idle >= 40: on low CPU
        (
            lambda d: d["vnfd"][0]["auto_scale_policy"][0]["actions"][0].update(type="SCALE_OUT_TO"),
            "vnfd[0].auto_scale_policy[0].actions[0].type",
        ),
        (
            lambda d: d["vnfd"][0]["auto_scale_policy"][0]["actions"][0].update(value="-1"),
            "vnfd[0].auto_scale_policy[0].actions[0].value",
        ),
        (lambda d: d["vnfd"][1].update(type=None), "vnf_dependency[0].source"),  # no type: no SERVER_ prefix
        (lambda d: d["vnfd"][1]["virtual_link"][0].update(name="public"), "vnfd[1].virtual_link[0].name"),
        (lambda d: d["vnfd"][1].update(name="sipp-client"), "vnfd[1].name"),
        (lambda d: d["vnfd"][0]["vdu"].append(d["vnfd"][0]["vdu"][0]), "vnfd[0].vdu"),
        (lambda d: d["vnf_dependency"][0].update(parameters="private"), "vnf_dependency[0].parameters"),
        (lambda d: d["vnf_dependency"][0].update(source="sipp-server"), "vnf_dependency[0].source"),
    ],
)
def test_wrong_types_and_values_are_reported_at_their_path(edit: Any, path: str) -> None:
    doc = sipp()
    edit(doc)
    assert path in problems_of(read_openbaton, doc)


def test_every_problem_is_reported_at_once() -> None:
    doc = sipp()
    del doc["name"]
    del doc["vnfd"][1]["vdu"][0]["vm_image"]
    doc["vnfd"][0]["vdu"][0]["vnfc"][0]["connection_point"][0]["virtual_link_reference"] = "nowhere"
    doc["vnfd"][0]["vdu"][0]["scale_in_out"] = -1
    doc["vnf_dependency"].append({"source": {"name": "sipp-client"}, "target": {"name": "ghost"}})
    doc["vnf_dependency"].append({"source": {"name": "sipp-client"}, "target": {"name": "sipp-server"}})
    assert set(problems_of(read_openbaton, doc)) >= {
        "name",
        "vnfd[1].vdu[0].vm_image",
        "vnfd[0].vdu[0].vnfc[0].connection_point[0].virtual_link_reference",
        "vnfd[0].vdu[0].scale_in_out",
        "vnf_dependency[1].target",
        "vnf_dependency",
    }


@pytest.mark.parametrize("doc", [None, [], "nsd", 3])
def test_a_document_that_is_not_an_object(doc: Any) -> None:
    assert "" in problems_of(read_openbaton, doc)


# --- Open Baton: fuzz ------------------------------------------------------------------

_KEYS = [
    "name",
    "vld",
    "vnfd",
    "vdu",
    "vm_image",
    "scale_in_out",
    "vnfc",
    "connection_point",
    "virtual_link_reference",
    "vimInstanceName",
    "configurations",
    "configurationParameters",
    "confKey",
    "value",
    "deployment_flavour",
    "flavour_key",
    "auto_scale_policy",
    "alarms",
    "actions",
    "metric",
    "comparisonOperator",
    "threshold",
    "period",
    "cooldown",
    "type",
    "vnf_dependency",
    "source",
    "target",
    "parameters",
    "virtual_link",
]

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(["private", "sipp-server", "SCALE_IN", "<=", "system.cpu.util[,idle]", "1", "NaN"])
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _walk(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


@st.composite
def mutated(draw: Any, original: dict[str, Any], keys: list[str] = _KEYS) -> Any:
    """``original`` with a few values deleted, replaced or added (under one of ``keys``) anywhere in it."""
    doc: Any = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(list(_paths(doc))))
        value = draw(_values)
        if not path:
            doc = value
            continue
        parent, key = _walk(doc, path[:-1]), path[-1]
        action = draw(st.sampled_from(["delete", "replace", "add"]))
        if action == "delete":
            del parent[key]
        elif action == "replace":
            parent[key] = value
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(keys))] = value
        else:
            parent.append(value)
    return doc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(json.loads(SIPP_JSON.read_text())))
def test_mutated_open_baton_documents_give_a_model_or_a_descriptor_error(doc: Any) -> None:
    try:
        nsd = read_openbaton(doc)
    except DescriptorError as exc:
        assert exc.problems and all(isinstance(p.reason, str) and p.reason for p in exc.problems)
    else:
        assert isinstance(nsd, NetworkServiceDescriptor) and nsd.vnfs


# --- TOSCA: seed 002 annexes and the SIPp twin -----------------------------------------


def test_annex_g_two_web_servers_on_vl1_with_fixed_addresses() -> None:
    nsd = read_tosca(tosca_text("annex-g-openstack-backend.yaml"))
    assert (nsd.name, nsd.format) == ("site-backend-tosca-vnfd-for-vnfc", "tosca")
    assert nsd.virtual_links == (VirtualLink(name="VL1", network_name="net0"),)
    assert [v.name for v in nsd.vnfs] == ["VDU1", "VDU2"]
    for name, address in (("VDU1", "10.10.0.12"), ("VDU2", "10.10.0.13")):
        vnf = nsd.vnf(name)
        assert vnf.connection_points == (ConnectionPoint("VL1", address),)
        assert (vnf.image, vnf.flavour) == ("ubuntu-18.04", "ds512M")
        assert vnf.configuration == {"param0": "key1", "param1": "key2"}
        assert (vnf.min_instances, vnf.max_instances, vnf.initial_instances, vnf.respawn) == (1, 1, 1, True)


def test_annex_h_containerised_nginx_with_scaling() -> None:
    nsd = read_tosca(tosca_text("annex-h-kubernetes-webserver.yaml"))
    assert nsd.name == "backendvnf-container-tosca-vnfd"
    (vnf,) = nsd.vnfs
    assert (vnf.name, vnf.image, vnf.cpus, vnf.memory) == ("VDU1", "nginx", 0.5, 512 * MiB)
    assert vnf.ports == {"80/tcp": 80}
    assert (vnf.min_instances, vnf.max_instances, vnf.initial_instances) == (1, 3, 1)
    assert vnf.scaling == (ScalingPolicy("SP1", scale_out_above=40.0, scale_in_below=20.0, cooldown_seconds=60.0),)


def test_annex_a_variant() -> None:
    nsd = read_tosca(tosca_text("annex-a-vnfd-guide.yaml"))
    (vnf,) = nsd.vnfs
    assert (vnf.name, vnf.image, vnf.flavour, vnf.cpus, vnf.memory) == (
        "VDU",
        "ubuntu-18.04",
        "m1.small",
        2.0,
        2048 * MiB,
    )
    assert vnf.configuration == {"role": "web", "param0": "key1", "param1": "key2"}
    assert vnf.connection_points == (ConnectionPoint("VL"),)
    assert vnf.respawn is True
    assert nsd.virtual_links == (VirtualLink(name="VL", network_name="net_mgmt"),)


def test_sipp_tosca_twin_matches_the_open_baton_service() -> None:
    tosca = read_tosca(tosca_text("sipp-tosca.yaml"))
    openbaton = read_openbaton(sipp())
    assert (tosca.vendor, tosca.version) == ("mcilloni", "1.0")
    assert tosca.virtual_links == openbaton.virtual_links
    assert tosca.dependencies == openbaton.dependencies
    for name in ("sipp-server", "sipp-client"):
        ours, theirs = tosca.vnf(name), openbaton.vnf(name)
        for field in (
            "image",
            "type",
            "flavour",
            "min_instances",
            "max_instances",
            "initial_instances",
            "connection_points",
            "configuration",
            "respawn",
        ):
            assert getattr(ours, field) == getattr(theirs, field), (name, field)
    assert tosca.vnf("sipp-client").scaling == (
        ScalingPolicy("client-scaling", scale_out_above=60.0, scale_in_below=30.0, cooldown_seconds=60.0),
    )


@pytest.mark.parametrize(("action", "respawn"), [("respawn", True), ("terminate", False), ("log", False)])
def test_monitoring_policy_failure_action_sets_respawn(action: str, respawn: bool) -> None:
    doc = tosca_doc("annex-a-vnfd-guide.yaml")
    doc["topology_template"]["node_templates"]["VDU"]["properties"]["monitoring_policy"]["actions"]["failure"] = action
    assert read_tosca_document(doc).vnf("VDU").respawn is respawn


def test_compute_capability_container_command_pop_and_cp_order() -> None:
    doc = tosca_doc("annex-g-openstack-backend.yaml")
    nodes = doc["topology_template"]["node_templates"]
    vdu = nodes["VDU1"]
    vdu["capabilities"] = {"nfv_compute": {"properties": {"num_cpus": 1, "mem_size": "1 GB"}}}
    vdu["properties"].update(
        pop="edge",
        vnf_type="web",
        vnfcs={"web": {"image": "httpd", "command": ["httpd"], "args": ["-f"], "ports": ["80", "5060/udp"]}},
    )
    nodes["VL2"] = {
        "type": "popvim.nodes.nfv.VL",
        "properties": {"vendor": "x", "cidr": "10.9.0.0/24", "bandwidth": "10mbit"},
    }
    nodes["CP0"] = {
        "type": "tosca.nodes.nfv.CP.Tacker",
        "properties": {"order": 1},
        "requirements": [{"virtualLink": {"node": "VL2"}}, {"virtualBinding": "VDU1"}],
    }
    nsd = read_tosca_document(doc)
    vnf = nsd.vnf("VDU1")
    assert (vnf.image, vnf.cpus, vnf.memory, vnf.pop, vnf.type) == ("httpd", 1.0, 2**30, "edge", "web")
    assert vnf.command == ("httpd", "-f") and vnf.ports == {"80/tcp": None, "5060/udp": None}
    assert vnf.connection_points == (ConnectionPoint("VL1", "10.10.0.12"), ConnectionPoint("VL2"))
    assert VirtualLink("VL2", subnet="10.9.0.0/24", bandwidth="10mbit") in nsd.virtual_links


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512 MB", 512 * MiB),
        ("512MiB", 512 * MiB),
        ("512Mi", 512 * MiB),
        ("1 GB", 2**30),
        ("2gib", 2**31),
        (512, 512 * MiB),
        ("512", 512 * MiB),
        ("1.5 GB", 3 * 2**29),
        ("100 B", 100),
        ("0 MB", None),
        ("lots", None),
        ("5 XB", None),
        (True, None),
        (None, None),
    ],
)
def test_sizes_use_binary_units(text: Any, size: int | None) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "mapped", "port"),
    [
        ("80:80", True, ("80/tcp", 80)),
        ("8080:80/udp", True, ("80/udp", 8080)),
        ("80", False, ("80/tcp", None)),
        ("5060/UDP", False, ("5060/udp", None)),
        (80, False, ("80/tcp", None)),
        ("80", True, None),
        ("0:80", True, None),
        ("80:70000", True, None),
        ("80/icmp", False, None),
        ("x", False, None),
    ],
)
def test_ports(text: Any, mapped: bool, port: tuple[str, int | None] | None) -> None:
    assert parse_port(text, mapped) == port


# --- TOSCA: problems -------------------------------------------------------------------


def test_yaml_syntax_error_names_the_line() -> None:
    problems = problems_of(read_tosca, "tosca_definitions_version: x\ntopology_template: [\n")
    (path,) = problems
    assert path.startswith("line ") and "invalid YAML" in problems[path]


def test_parser_validation_errors_become_problems_at_their_node() -> None:
    doc = tosca_doc("annex-g-openstack-backend.yaml")
    nodes = doc["topology_template"]["node_templates"]
    nodes["VDU1"]["properties"]["colour"] = "blue"
    nodes["VDU2"]["properties"]["config_drive"] = "maybe"
    nodes["CP1"]["requirements"][0]["virtualLink"]["node"] = "VL9"
    problems = problems_of(read_tosca_document, doc)
    assert "colour" in problems["VDU1"]
    assert "CP1" in problems
    assert any("maybe" in reason for reason in problems.values())
    assert len(problems) >= 3


def test_unknown_version_and_unknown_type() -> None:
    problems = problems_of(
        read_tosca,
        "tosca_definitions_version: tosca_simple_yaml_9\n"
        "topology_template:\n  node_templates:\n    A:\n      type: my.Thing\n",
    )
    assert any("tosca_simple_yaml_9" in r for r in problems.values())
    assert any("my.Thing" in r for r in problems.values())


def test_nodes_and_policies_popvim_does_not_deploy_are_reported() -> None:
    doc = tosca_doc("annex-h-kubernetes-webserver.yaml")
    doc["topology_template"]["node_templates"]["thing"] = {"type": "tosca.nodes.Root"}
    doc["topology_template"]["policies"].append({"place": {"type": "tosca.policies.Placement"}})
    problems = problems_of(read_tosca_document, doc)
    assert "not supported" in problems["place"]
    assert "not supported" in problems["thing"]


def test_imports_are_refused() -> None:
    doc = tosca_doc("annex-h-kubernetes-webserver.yaml")
    doc["imports"] = ["http://example.invalid/defs.yaml"]
    assert "imports" in problems_of(read_tosca_document, doc)


def test_tosca_scaling_and_dependency_problems() -> None:
    doc = tosca_doc("sipp-tosca.yaml")
    policies = doc["topology_template"]["policies"]
    policies[0]["client-scaling"]["properties"].update(min_instances=3, default_instances=2)
    policies[1]["client-needs-server"]["properties"]["source"] = "sipp-ghost"
    policies.append(
        {
            "loop": {
                "type": "popvim.policies.Dependency",
                "properties": {"source": "sipp-client", "target": "sipp-client"},
            }
        }
    )
    policies.append(
        {
            "again": {
                "type": "tosca.policies.tacker.Scaling",
                "targets": ["private"],
                "properties": {"min_instances": 1, "max_instances": 2},
            }
        }
    )
    problems = problems_of(read_tosca_document, doc)
    assert "min_instances <= default_instances <= max_instances" in problems["client-scaling.properties"]
    assert "'sipp-ghost'" in problems["client-needs-server.source"]
    assert "cycle" in problems["topology_template.policies"]
    assert "not a VDU" in problems["again.targets"]


def test_tosca_vdu_problems() -> None:
    doc = tosca_doc("annex-h-kubernetes-webserver.yaml")
    properties = doc["topology_template"]["node_templates"]["VDU1"]["properties"]
    properties["vnfc"]["front_end"]["mem_size"] = "a lot"
    del properties["vnfc"]["front_end"]["image"]
    properties["mapping_ports"] = ["80"]
    properties["config"] = "- not\n- a mapping\n"
    properties["monitoring_policy"] = {"name": "ping", "actions": {"failure": "pray"}}
    problems = problems_of(read_tosca_document, doc)
    assert set(problems) >= {
        "VDU1.properties.vnfc.front_end.mem_size",
        "VDU1.properties.image",
        "VDU1.properties.mapping_ports[0]",
        "VDU1.properties.config",
        "VDU1.properties.monitoring_policy.actions.failure",
    }


def test_several_containers_in_one_vdu_are_refused() -> None:
    doc = tosca_doc("annex-h-kubernetes-webserver.yaml")
    vnfc = doc["topology_template"]["node_templates"]["VDU1"]["properties"]["vnfc"]
    vnfc["sidecar"] = {"image": "busybox"}
    assert "VDU1.properties.vnfc" in problems_of(read_tosca_document, doc)


def test_cp_without_a_link_and_template_without_vdus() -> None:
    doc = tosca_doc("annex-g-openstack-backend.yaml")
    nodes = doc["topology_template"]["node_templates"]
    del nodes["CP2"]["requirements"][0]
    problems = problems_of(read_tosca_document, doc)
    assert any(path.startswith("CP2") for path in problems)
    empty = {
        "tosca_definitions_version": "tosca_simple_profile_for_nfv_1_0_0",
        "topology_template": {"node_templates": {"VL1": nodes["VL1"]}},
    }
    assert "topology_template.node_templates" in problems_of(read_tosca_document, empty)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "just text",
        "- a\n- list\n",
        "{}",
        "a: [1, 2\n",
        "x: 2001-13-45\n",
        "\t\x00",
        "tosca_definitions_version: 3\n",
        "tosca_definitions_version: tosca_simple_profile_for_nfv_1_0_0\ntopology_template: 5\n",
    ],
)
def test_odd_yaml_is_a_descriptor_error(text: str) -> None:
    with pytest.raises(DescriptorError):
        read_tosca(text)


# --- TOSCA: fuzz -----------------------------------------------------------------------

_TOSCA_BASES = [
    tosca_doc(name)
    for name in (
        "sipp-tosca.yaml",
        "annex-a-vnfd-guide.yaml",
        "annex-g-openstack-backend.yaml",
        "annex-h-kubernetes-webserver.yaml",
    )
]
_TOSCA_KEYS = [
    "type",
    "properties",
    "requirements",
    "node",
    "targets",
    "policies",
    "node_templates",
    "image",
    "vnfc",
    "vnfcs",
    "mem_size",
    "num_cpus",
    "mapping_ports",
    "config",
    "min_instances",
    "max_instances",
    "source",
    "target",
    "parameters",
    "monitoring_policy",
    "capabilities",
    "artifacts",
    "inputs",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_TOSCA_BASES).flatmap(lambda doc: mutated(doc, _TOSCA_KEYS)))
def test_mutated_tosca_documents_give_a_model_or_a_descriptor_error(doc: Any) -> None:
    try:
        read_tosca_document(doc)
    except DescriptorError as exc:
        assert exc.problems


_yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(_TOSCA_KEYS) | st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=60),
        _yaml_values.map(lambda v: yaml.safe_dump(v)),
        _yaml_values.map(
            lambda v: yaml.safe_dump(
                {"tosca_definitions_version": "tosca_simple_profile_for_nfv_1_0_0", "topology_template": v}
            )
        ),
        _yaml_values.map(
            lambda v: yaml.safe_dump(
                {
                    "tosca_definitions_version": "tosca_simple_profile_for_nfv_1_0_0",
                    "topology_template": {"node_templates": {"VDU1": v}},
                }
            )
        ),
    )
)
def test_random_yaml_gives_a_model_or_a_descriptor_error(text: str) -> None:
    try:
        read_tosca(text)
    except DescriptorError as exc:
        assert exc.problems


# --- format detection ------------------------------------------------------------------


def test_read_descriptor_detects_the_format() -> None:
    assert read_descriptor(SIPP_JSON.read_bytes(), "application/json").format == "openbaton"
    assert read_descriptor(SIPP_JSON.read_text()).format == "openbaton"  # JSON is YAML too
    assert read_descriptor(sipp()).format == "openbaton"
    assert read_descriptor((TOSCA / "sipp-tosca.yaml").read_bytes(), "application/yaml").format == "tosca"
    assert read_descriptor(tosca_text("annex-h-kubernetes-webserver.yaml"), None).format == "tosca"
    assert read_descriptor(tosca_doc("annex-g-openstack-backend.yaml")).format == "tosca"
    as_json = json.dumps(tosca_doc("annex-g-openstack-backend.yaml"))
    assert read_descriptor(as_json, "application/json; charset=utf-8").format == "tosca"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"\xff\xfe\x00", None),
        ("name: x\n", None),
        ("[1, 2]", None),
        ({"name": "x"}, None),
        ("", None),
        (b"a: [", "application/yaml"),
        (12, None),
    ],
)
def test_read_descriptor_refuses_what_it_cannot_read(body: Any, content_type: str | None) -> None:
    with pytest.raises(DescriptorError) as caught:
        read_descriptor(body, content_type)
    assert caught.value.problems


def test_type_definitions_are_package_data() -> None:
    defs = resources.files("popvim.nfv.descriptors") / "tosca_defs"
    for name in ("popvim_defs.yaml", "popvim_nfv_defs.yaml"):
        assert isinstance(yaml.safe_load((defs / name).read_text()), dict)
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert '"nfv/descriptors/tosca_defs/*.yaml"' in pyproject
