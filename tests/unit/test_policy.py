"""The policy: what a container or network may ask of the host, refused by default, opened by key."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from popvim.vim.errors import ForbiddenByPolicy
from popvim.vim.models import ContainerConfig, NetworkConfig
from popvim.vim.policy import Policy


def container(**fields: Any) -> ContainerConfig:
    return ContainerConfig(image="busybox", **fields)


def refused_key(policy: Policy, config: ContainerConfig | NetworkConfig) -> str:
    with pytest.raises(ForbiddenByPolicy) as caught:
        if isinstance(config, ContainerConfig):
            policy.check_container(config)
        else:
            policy.check_network(config)
    assert caught.value.message.startswith(caught.value.key + ": ")
    assert caught.value.code == "forbidden_by_policy"
    return caught.value.key


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"privileged": True}, "policy.privileged"),
        ({"cap_add": ["ALL"]}, "policy.cap_add"),
        ({"cap_add": ["SYS_ADMIN"]}, "policy.cap_add"),
        ({"cap_add": ["CAP_SYS_ADMIN"]}, "policy.cap_add"),
        ({"cap_add": ["NET_ADMIN", "SYS_PTRACE"]}, "policy.cap_add"),
        ({"volumes": ["/:/host"]}, "policy.bind_mounts"),
        ({"volumes": ["/etc:/etc:ro"]}, "policy.bind_mounts"),
        ({"volumes": ["/var/run/docker.sock:/var/run/docker.sock"]}, "policy.bind_mounts"),
        ({"volumes": ["//etc:/x"]}, "policy.bind_mounts"),
        ({"volumes": ["./data:/data"]}, "policy.bind_mounts"),
        ({"volumes": ["~/data:/data"]}, "policy.bind_mounts"),
        ({"volumes": ["..:/data"]}, "policy.bind_mounts"),
        ({"ports": {"80": 80}}, "policy.host_ports"),
        ({"ports": {"53/udp": 53}}, "policy.host_ports"),
    ],
)
def test_the_defaults_refuse_what_reaches_the_host(fields: dict[str, Any], key: str) -> None:
    assert refused_key(Policy(), container(**fields)) == key


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"cap_add": ["NET_ADMIN", "NET_RAW"]},
        {"cap_add": ["CAP_NET_RAW"]},
        {"volumes": ["data:/data", "db.v1:/var/lib/db:ro"]},
        {"ports": {"80": 8080, "53/udp": None, "443": 65535, "22": 1024}},
    ],
)
def test_the_defaults_serve_vnfs(fields: dict[str, Any]) -> None:
    Policy().check_container(container(**fields))


def test_never_all_even_when_sys_admin_is_opened() -> None:
    opened = Policy.from_table({"cap_add": ["NET_ADMIN", "SYS_ADMIN"]})
    opened.check_container(container(cap_add=["SYS_ADMIN", "NET_ADMIN"]))
    assert refused_key(opened, container(cap_add=["ALL"])) == "policy.cap_add"
    assert refused_key(opened, container(cap_add=["NET_RAW"])) == "policy.cap_add"  # a list replaces the default
    with pytest.raises(ValueError, match="ALL"):
        Policy.from_table({"cap_add": ["NET_ADMIN", "all"]})


def test_privileged_opens_by_key() -> None:
    Policy.from_table({"privileged": True}).check_container(container(privileged=True))


def test_bind_mounts_compare_normalised_paths(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    (allowed / "sub").mkdir(parents=True)
    policy = Policy.from_table({"bind_mounts": [str(allowed) + "/"]})
    for ok in (f"{allowed}:/data", f"{allowed}/sub:/data:ro", f"{allowed}/./sub//x:/x", f"{allowed}/sub/..:/d"):
        policy.check_container(container(volumes=[ok]))
    for escape in (
        f"{allowed}/../etc:/etc",
        f"{allowed}/sub/../../:/up",
        f"{allowed}-sibling:/s",
        f"{tmp_path}:/parent",
        "/:/host",
    ):
        assert refused_key(policy, container(volumes=[escape])) == "policy.bind_mounts", escape


def test_a_symlink_under_an_allowed_prefix_cannot_lead_outside(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    os.symlink("/etc", allowed / "etc-link")
    os.symlink(allowed / "inside", allowed / "inner-link")
    policy = Policy.from_table({"bind_mounts": [str(allowed)]})
    error = refused_key(policy, container(volumes=[f"{allowed}/etc-link:/x"]))
    assert error == "policy.bind_mounts"
    policy.check_container(container(volumes=[f"{allowed}/inner-link:/x"]))


def test_an_allowed_prefix_that_is_a_symlink_still_works(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "alias")
    Policy.from_table({"bind_mounts": [str(tmp_path / "alias")]}).check_container(
        container(volumes=[f"{tmp_path / 'alias'}/data:/data"])
    )


def test_host_port_range_and_bind_address_are_keys() -> None:
    policy = Policy.from_table({"host_ports": "80-90", "bind_address": "0.0.0.0"})
    policy.check_container(container(ports={"80": 80, "81": 90}))
    assert refused_key(policy, container(ports={"80": 8080})) == "policy.host_ports"
    assert policy.bind_address == "0.0.0.0" and Policy().bind_address == "127.0.0.1"
    for bad in ({"host_ports": "0-10"}, {"host_ports": "90-80"}, {"host_ports": 80}, {"bind_address": "any"}):
        with pytest.raises(ValueError):
            Policy.from_table(bad)


def network(**fields: Any) -> NetworkConfig:
    return NetworkConfig(name="n1", **fields)


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"driver": "macvlan", "parent": "eth0"}, "policy.network_drivers"),
        ({"driver": "ipvlan"}, "policy.network_drivers"),
        ({"driver": "overlay"}, "policy.network_drivers"),
        ({"options": {"parent": "eth0"}}, "policy.network_options"),
        ({"options": {"com.docker.network.bridge.name": "br0"}}, "policy.network_options"),
        ({"options": {"com.docker.network.bridge.host_binding_ipv4": "0.0.0.0"}}, "policy.network_options"),
    ],
)
def test_networks_refused_by_default(fields: dict[str, Any], key: str) -> None:
    assert refused_key(Policy(), network(**fields)) == key


def test_macvlan_needs_the_driver_and_the_parent_opened() -> None:
    policy = Policy.from_table({"network_drivers": ["bridge", "macvlan"], "network_parents": ["veth-lab"]})
    policy.check_network(network(driver="macvlan", parent="veth-lab", options={"macvlan_mode": "bridge"}))
    policy.check_network(network(driver="macvlan"))  # no parent: Docker makes a dummy link of its own
    assert refused_key(policy, network(driver="macvlan", parent="eth0")) == "policy.network_parents"
    assert refused_key(policy, network(driver="macvlan", parent="veth-lab.10")) == "policy.network_parents"
    assert refused_key(policy, network(driver="ipvlan", parent="veth-lab")) == "policy.network_drivers"


def test_a_bridge_name_must_not_be_a_host_interface() -> None:
    assert refused_key_of(lambda: Policy().check_bridge_name("lo")) == "policy.network_parents"
    Policy.from_table({"network_parents": ["lo"]}).check_bridge_name("lo")
    Policy().check_bridge_name("pvnosuchlink0")  # a new bridge, made by the engine


def refused_key_of(call: Any) -> str:
    with pytest.raises(ForbiddenByPolicy) as caught:
        call()
    return caught.value.key


def test_safe_options_pass_and_the_list_can_be_replaced() -> None:
    Policy().check_network(network(options={"com.docker.network.driver.mtu": "1400"}))
    narrow = Policy.from_table({"network_options": []})
    assert refused_key(narrow, network(options={"com.docker.network.driver.mtu": "1400"})) == "policy.network_options"
    with pytest.raises(ValueError, match="field of its own"):
        Policy.from_table({"network_options": ["parent"]})


def test_the_table_round_trips() -> None:
    opened = Policy.from_table(
        {
            "privileged": True,
            "bind_mounts": ["/srv/vnf/"],
            "host_ports": "2000-3000",
            "network_drivers": ["bridge", "macvlan"],
            "network_parents": ["eth1"],
        }
    )
    assert Policy.from_table(opened.table()) == opened
    assert Policy.from_table(Policy().table()) == Policy()
    assert opened.table()["bind_mounts"] == ["/srv/vnf"]


@pytest.mark.parametrize(
    "table",
    [
        {"privileged": "yes"},
        {"cap_add": "NET_ADMIN"},
        {"cap_add": ["net admin"]},
        {"bind_mounts": ["relative"]},
        {"network_drivers": ["host"]},
        {"network_parents": ["much-too-long-interface"]},
        {"unknown": 1},
    ],
)
def test_bad_tables_are_refused_with_the_key(table: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"\[policy\]"):
        Policy.from_table(table)
