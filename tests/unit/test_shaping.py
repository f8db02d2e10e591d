"""Link limits without a kernel: rate parsing, the tc commands, refusals naming what is missing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from popvim.engine.shaping import NETEM, LinkShape, NetnsShaper, ShapingUnsupported, ifb_name, shape_commands
from popvim.nfv.descriptors import read_descriptor
from popvim.vim.errors import InvalidArgument
from popvim.vim.shaping import LinkLimit, rate_bit

SIPP_JSON = Path(__file__).parent / "fixtures" / "nsd" / "sipp-openbaton.json"


@pytest.mark.parametrize(
    ("text", "bits"),
    [("10mbit", 10_000_000), ("10Mbps", 10_000_000), ("1.5mbit", 1_500_000), ("500kbit", 500_000), ("1gbit", 10**9)],
)
def test_rates_in_tc_and_descriptor_spellings(text: str, bits: int) -> None:
    assert rate_bit(text) == bits


def test_a_bare_number_is_mbit_and_nonsense_is_refused() -> None:
    assert rate_bit("100") == 100_000_000
    with pytest.raises(InvalidArgument, match="not a rate"):
        rate_bit("fast")
    with pytest.raises(ValueError, match="outside"):
        LinkLimit(bandwidth="1bit")
    assert LinkLimit(bandwidth="10Mbps", delay="0.02s", loss="1").model_dump() == {
        "bandwidth": "10mbit",
        "delay": "20ms",
        "loss": "1%",
    }


def test_both_directions_are_shaped_on_the_container_side() -> None:
    commands = [" ".join(c) for c in shape_commands("eth1", LinkShape(rate_bit=10_000_000))]
    assert any(c.startswith("tc qdisc replace dev eth1 root handle 1: tbf rate 10000000bit") for c in commands)
    assert any(c.startswith(f"tc qdisc replace dev {ifb_name('eth1')} root handle 1: tbf") for c in commands)
    assert any("mirred egress redirect dev pvifbeth1" in c for c in commands)
    assert not any("netem" in c for c in commands)


def test_a_kernel_without_netem_refuses_delay_by_name() -> None:
    def runner(argv: list[str]) -> subprocess.CompletedProcess[str]:
        out = "MISSING " + NETEM + "\n" if "netem" in argv[-1] else ""
        return subprocess.CompletedProcess(argv, 0, out, "")

    shaper = NetnsShaper(runner=runner)
    assert shaper.missing(netem=False) == ()
    with pytest.raises(ShapingUnsupported, match=r"delay and loss.*sch_netem"):
        shaper.check(LinkShape(rate_bit=10**6, delay_ms=20))


def test_openbaton_virtual_links_carry_a_bandwidth() -> None:
    doc = json.loads(SIPP_JSON.read_text())
    doc["vld"][0]["bandwidth"] = "10mbit"
    nsd = read_descriptor(doc)
    assert nsd.virtual_links[0].bandwidth == "10mbit"


def test_host_mode_is_refused_unless_the_policy_allows_it() -> None:
    from popvim.vim.errors import ForbiddenByPolicy
    from popvim.vim.models import ContainerConfig
    from popvim.vim.policy import Policy

    config = ContainerConfig(image="popvim-test/host", privileged="host")
    with pytest.raises(ForbiddenByPolicy, match="privileged_host"):
        Policy().check_container(config)
    with pytest.raises(ForbiddenByPolicy, match="privileged_host"):
        Policy(privileged=True).check_container(config)  # Docker's privileged is not host mode
    Policy.from_table({"privileged_host": True}).check_container(config)
