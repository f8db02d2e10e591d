"""Unit tests of popvim.vim.mesh: parsing recorded iw output and error mapping.

Recorded outputs live in fixtures/iw/; a fake runner replays them, so these
tests need no wireless hardware and no iw binary (except the one test that
checks the real default runner against a binary that does not exist).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popvim.vim.errors import InvalidArgument, NotFound, Unavailable
from popvim.vim.mesh import Mesh, default_runner, parse_station_dump

FIXTURES = Path(__file__).parent / "fixtures" / "iw"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def fake_runner(
    stdout: str = "", stderr: str = "", returncode: int = 0, calls: list[list[str]] | None = None
) -> Callable[[list[str]], subprocess.CompletedProcess[str]]:
    """A Runner that replays one recorded iw run and remembers the argv it got."""

    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        if calls is not None:
            calls.append(list(argv))
        return subprocess.CompletedProcess(argv, returncode, stdout=stdout, stderr=stderr)

    return run


# --- station dump: mesh point -----------------------------------------------------


def test_mesh_dump_runs_iw_station_dump_on_the_interface() -> None:
    calls: list[list[str]] = []
    Mesh(runner=fake_runner(fixture("station_dump_mesh_2peers.txt"), calls=calls)).stations("wlan0")
    assert calls == [["iw", "dev", "wlan0", "station", "dump"]]


def test_mesh_dump_uses_configured_binary() -> None:
    calls: list[list[str]] = []
    Mesh(runner=fake_runner("", calls=calls), iw="/usr/sbin/iw").stations("mesh0")
    assert calls == [["/usr/sbin/iw", "dev", "mesh0", "station", "dump"]]


def test_mesh_dump_two_peers() -> None:
    peers = Mesh(runner=fake_runner(fixture("station_dump_mesh_2peers.txt"))).stations("wlan0")
    assert [p["mac"] for p in peers] == ["02:00:00:00:01:00", "02:00:00:00:02:00"]
    assert all(p["interface"] == "wlan0" for p in peers)
    assert all(p["extra"] == [] for p in peers)


def test_mesh_dump_mesh_fields() -> None:
    first, second = Mesh(runner=fake_runner(fixture("station_dump_mesh_2peers.txt"))).stations("wlan0")
    assert first["mesh_llid"] == 17842
    assert first["mesh_plid"] == 40715
    assert first["mesh_plink"] == "ESTAB"
    assert first["mesh_airtime_link_metric"] == 341
    assert first["mesh_connected_to_gate"] is False
    assert first["mesh_connected_to_auth_server"] is False
    assert first["mesh_local_ps_mode"] == "ACTIVE"
    assert first["mesh_peer_ps_mode"] == "ACTIVE"
    assert first["mesh_non_peer_ps_mode"] == "ACTIVE"
    assert second["mesh_plink"] == "LISTEN"
    assert second["mesh_plid"] == 0
    assert second["mesh_peer_ps_mode"] == "UNKNOWN"
    assert second["mesh_non_peer_ps_mode"] == "LIGHT SLEEP"
    assert second["authorized"] is False


def test_mesh_dump_counters_units_and_rates() -> None:
    first, second = Mesh(runner=fake_runner(fixture("station_dump_mesh_2peers.txt"))).stations("wlan0")
    assert first["inactive_time_ms"] == 20
    assert first["rx_bytes"] == 1187622 and isinstance(first["rx_bytes"], int)
    assert first["tx_packets"] == 6734
    assert first["tx_retries"] == 211
    assert first["rx_drop_misc"] == 14
    assert first["signal_dbm"] == -43
    assert first["signal_chains_dbm"] == [-43]
    assert first["signal_avg_dbm"] == -42
    assert first["toffset_us"] == -1864
    assert first["tx_bitrate"] == "54.0 MBit/s"
    assert first["tx_bitrate_mbps"] == 54.0
    assert first["rx_bitrate"] == "65.0 MBit/s MCS 7"
    assert first["rx_bitrate_mbps"] == 65.0
    assert first["expected_throughput_mbps"] == pytest.approx(29.296)
    assert first["connected_time_s"] == 12
    assert first["associated_at_boottime_s"] == pytest.approx(5231.448)
    assert first["current_time_ms"] == 1718100635470
    assert first["authorized"] is True and first["wmm_wme"] is True and first["mfp"] is False
    assert "expected_throughput_mbps" not in second
    assert second["tx_bytes"] == 0


# --- station dump: managed ----------------------------------------------------------


def test_managed_dump() -> None:
    (ap,) = Mesh(runner=fake_runner(fixture("station_dump_managed.txt"))).stations("wlan1")
    assert ap["mac"] == "a4:2b:b0:d1:22:7e"
    assert ap["interface"] == "wlan1"
    assert ap["authorized"] is True
    assert ap["authenticated"] is True
    assert ap["associated"] is True
    assert ap["preamble"] == "short"
    assert ap["wmm_wme"] is True
    assert ap["mfp"] is True
    assert ap["tdls_peer"] is False
    assert ap["rx_bytes"] == 412893021
    assert ap["beacon_loss"] == 0
    assert ap["beacon_rx"] == 18211
    assert ap["extra"] == []


def test_managed_dump_signal_chains_and_bitrates() -> None:
    (ap,) = Mesh(runner=fake_runner(fixture("station_dump_managed.txt"))).stations("wlan1")
    assert ap["signal_dbm"] == -52
    assert ap["signal_chains_dbm"] == [-54, -55]
    assert ap["signal_avg_dbm"] == -51
    assert ap["signal_avg_chains_dbm"] == [-53, -54]
    assert ap["beacon_signal_avg_dbm"] == -50
    assert "beacon_signal_avg_chains_dbm" not in ap
    assert ap["tx_bitrate"] == "866.7 MBit/s VHT-MCS 9 80MHz short GI VHT-NSS 2"
    assert ap["tx_bitrate_mbps"] == pytest.approx(866.7)
    assert ap["rx_bitrate"] == "780.0 MBit/s VHT-MCS 8 80MHz VHT-NSS 2"
    assert ap["rx_bitrate_mbps"] == 780.0
    assert ap["tx_duration_us"] == 1894211
    assert ap["last_ack_signal_dbm"] == -53  # iw prints no blank after this colon
    assert ap["avg_ack_signal_dbm"] == -52
    assert ap["expected_throughput_mbps"] == pytest.approx(405.273)


def test_managed_dump_bss_params_and_times() -> None:
    (ap,) = Mesh(runner=fake_runner(fixture("station_dump_managed.txt"))).stations("wlan1")
    assert ap["dtim_period"] == 1
    assert ap["beacon_interval"] == 100
    assert ap["short_preamble"] is True
    assert ap["short_slot_time"] is True
    assert ap["connected_time_s"] == 1873
    assert ap["associated_at_ms"] == 1718098762014


def test_empty_dump() -> None:
    assert fixture("station_dump_empty.txt") == ""
    assert Mesh(runner=fake_runner(fixture("station_dump_empty.txt"))).stations("wlan0") == []


@pytest.mark.parametrize("name", ["station_dump_mesh_2peers.txt", "station_dump_managed.txt", "station_dump_empty.txt"])
def test_dump_is_json_serialisable(name: str) -> None:
    stations = Mesh(runner=fake_runner(fixture(name))).stations("wlan0")
    assert json.loads(json.dumps(stations, allow_nan=False)) == stations


# --- station dump: tolerance ----------------------------------------------------------


def test_spaces_instead_of_tabs_parse_the_same() -> None:
    tabs = fixture("station_dump_managed.txt")
    spaces = tabs.replace("\t", "    ")
    assert parse_station_dump(spaces) == parse_station_dump(tabs)


def test_unknown_and_unparsable_lines() -> None:
    text = (
        "Station 02:00:00:00:03:00 (on mesh0)\n"
        "\tfancy new counter:\t7 widgets\n"
        "\tsome new flag:\tyes\n"
        "\tthis line has no separator\n"
        "\tMSDU:\n"
        "\tTID\trx\ttx\ttx retries\ttx failed\n"
        "\textra:\tsneaky\n"
        "\tsignal:  \t-50 [-50, oops] dBm\n"
        "\ttx bitrate:\t(unknown)\n"
    )
    (station,) = parse_station_dump(text)
    assert station["fancy_new_counter"] == "7 widgets"
    assert station["some_new_flag"] is True
    assert station["signal"] == "-50 [-50, oops] dBm"
    assert "signal_dbm" not in station
    assert station["tx_bitrate"] == "(unknown)"
    assert "tx_bitrate_mbps" not in station
    assert station["extra"] == [
        "\tthis line has no separator",
        "\tMSDU:",
        "\tTID\trx\ttx\ttx retries\ttx failed",
        "\textra:\tsneaky",
    ]


def test_text_before_first_header_is_ignored() -> None:
    text = "garbage: 1\nStation 02:00:00:00:03:00 (on mesh0)\n\trx bytes:\t5\n"
    assert parse_station_dump(text) == [{"mac": "02:00:00:00:03:00", "interface": "mesh0", "extra": [], "rx_bytes": 5}]


def test_mlo_links_go_to_a_links_list() -> None:
    text = (
        "Station 02:00:00:00:03:00 (on wlan2)\n"
        "\trx bytes:\t100\n"
        "\tcurrent time:\t1718100635470 ms\n"
        "\n"
        "\tLink 0:\n"
        "\t\taddress: 02:00:00:00:03:01\n"
        "\t\trx bytes:\t60\n"
        "\tLink 1:\n"
        "\t\trx bytes:\t40\n"
    )
    (station,) = parse_station_dump(text)
    assert station["rx_bytes"] == 100
    assert station["links"] == [
        {"link_id": 0, "address": "02:00:00:00:03:01", "rx_bytes": 60},
        {"link_id": 1, "rx_bytes": 40},
    ]


def test_huge_numbers_do_not_raise() -> None:
    text = f"Station aa (on x)\n\trx bytes:\t{'9' * 5000}\n\tsignal:\t{'9' * 400} dBm\n"
    (station,) = parse_station_dump(text)
    assert station["rx_bytes"] == "9" * 5000
    json.dumps(station, allow_nan=False)


# --- iw dev ---------------------------------------------------------------------


def test_interfaces_two_phys() -> None:
    calls: list[list[str]] = []
    managed, mesh = Mesh(runner=fake_runner(fixture("iw_dev_two_phys.txt"), calls=calls)).interfaces()
    assert calls == [["iw", "dev"]]
    assert managed["phy"] == "phy#1" and managed["phy_index"] == 1
    assert managed["name"] == "wlan1"
    assert managed["ifindex"] == 5
    assert managed["wdev"] == "0x100000001"
    assert managed["addr"] == "00:c0:ca:b1:4e:92"
    assert managed["ssid"] == "HQ-Relief-5G"
    assert managed["type"] == "managed"
    assert managed["channel"] == "36 (5180 MHz), width: 80 MHz, center1: 5210 MHz"
    assert managed["channel_number"] == 36
    assert managed["frequency_mhz"] == 5180
    assert managed["txpower"] == "23.00 dBm"
    assert managed["txpower_dbm"] == 23.0
    assert mesh["phy"] == "phy#0" and mesh["phy_index"] == 0
    assert mesh["name"] == "wlan0"
    assert mesh["ifindex"] == 4
    assert mesh["type"] == "mesh point"
    assert "ssid" not in mesh
    assert mesh["frequency_mhz"] == 2412
    assert mesh["txpower_dbm"] == 20.0
    assert mesh["extra"][0].strip() == "multicast TXQ:"


def test_interfaces_without_phy_lines_and_unnamed_device() -> None:
    text = "Unnamed/non-netdev interface\n\twdev 0x2\n\taddr 02:00:00:00:00:09\n\ttype P2P-device\n"
    (p2p,) = Mesh(runner=fake_runner(text)).interfaces()
    assert p2p == {
        "name": None,
        "wdev": "0x2",
        "addr": "02:00:00:00:00:09",
        "type": "P2P-device",
        "extra": [],
    }


def test_no_wireless_interfaces() -> None:
    assert Mesh(runner=fake_runner("")).interfaces() == []


# --- errors ---------------------------------------------------------------------


def test_no_such_device_is_not_found() -> None:
    runner = fake_runner(stderr="command failed: No such device (-19)\n", returncode=237)
    with pytest.raises(NotFound) as info:
        Mesh(runner=runner).stations("wlan9")
    assert info.value.message == "interface wlan9 not found"


def test_other_iw_failure_is_unavailable_with_iw_message() -> None:
    runner = fake_runner(stderr="nl80211 not found.\n", returncode=1)
    with pytest.raises(Unavailable) as info:
        Mesh(runner=runner).stations("wlan0")
    assert info.value.message == "nl80211 not found."


def test_interfaces_failure_is_unavailable() -> None:
    runner = fake_runner(stderr="command failed: Operation not permitted (-1)\n", returncode=255)
    with pytest.raises(Unavailable, match="Operation not permitted"):
        Mesh(runner=runner).interfaces()


def test_silent_failure_still_has_a_message() -> None:
    with pytest.raises(Unavailable, match="status 2"):
        Mesh(runner=fake_runner(returncode=2)).stations("wlan0")


def test_missing_binary_from_injected_runner_is_unavailable() -> None:
    def missing(argv: list[str]) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(2, "No such file or directory", argv[0])

    with pytest.raises(Unavailable) as info:
        Mesh(runner=missing).stations("wlan0")
    assert info.value.message == "iw is not installed on this host"


def test_timeout_is_unavailable() -> None:
    def hang(argv: list[str]) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(argv, 5)

    with pytest.raises(Unavailable, match="did not answer"):
        Mesh(runner=hang).interfaces()


def test_default_runner_with_missing_binary_is_unavailable() -> None:
    """Real subprocess, no mock: the binary genuinely does not exist."""
    with pytest.raises(Unavailable) as info:
        default_runner(["popvim-no-such-iw-binary-4f1c", "dev"])
    assert info.value.message == "iw is not installed on this host"
    with pytest.raises(Unavailable):
        Mesh(iw="popvim-no-such-iw-binary-4f1c").stations("wlan0")


@pytest.mark.parametrize(
    "name",
    ["../x", "", "a" * 16, ".", "..", "wlan/0", "wlan 0", "wlan0\n", "wl;an", "wlän0", "-" * 16],
)
def test_invalid_interface_names(name: str) -> None:
    calls: list[list[str]] = []
    with pytest.raises(InvalidArgument):
        Mesh(runner=fake_runner(calls=calls)).stations(name)
    assert calls == []  # rejected before iw runs


@pytest.mark.parametrize("name", ["wlan0", "a" * 15, "mesh-0", "br.10", "wlan0:1", "x_y"])
def test_valid_interface_names(name: str) -> None:
    assert Mesh(runner=fake_runner("")).stations(name) == []


def test_non_string_interface_name_is_invalid() -> None:
    with pytest.raises(InvalidArgument):
        Mesh(runner=fake_runner()).stations(None)  # type: ignore[arg-type]


# --- properties -------------------------------------------------------------------

_line_chars = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"), include_characters="\t")
_body_line = st.text(_line_chars, max_size=60).filter(lambda line: not line.strip().startswith("Station"))
_mac = st.from_regex(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", fullmatch=True)
_ifname = st.from_regex(r"[A-Za-z0-9_.-]{1,15}", fullmatch=True)


@settings(max_examples=300)
@given(st.text())
def test_stations_never_raises_on_arbitrary_output(text: str) -> None:
    stations = Mesh(runner=fake_runner(text)).stations("wlan0")
    assert isinstance(stations, list)
    json.dumps(stations, allow_nan=False)


@settings(max_examples=200)
@given(st.text())
def test_interfaces_never_raises_on_arbitrary_output(text: str) -> None:
    interfaces = Mesh(runner=fake_runner(text)).interfaces()
    assert isinstance(interfaces, list)
    json.dumps(interfaces, allow_nan=False)


@settings(max_examples=200)
@given(
    st.lists(_body_line, max_size=5),
    st.lists(st.tuples(_mac, _ifname, st.lists(_body_line, max_size=8)), max_size=6),
)
def test_every_station_header_yields_one_entry(preamble: list[str], blocks: list[tuple[str, str, list[str]]]) -> None:
    lines = list(preamble)
    for mac, ifname, body in blocks:
        lines.append(f"Station {mac} (on {ifname})")
        lines.extend(body)
    stations = Mesh(runner=fake_runner("\n".join(lines))).stations("wlan0")
    assert [(s["mac"], s["interface"]) for s in stations] == [(m, i) for m, i, _ in blocks]
    json.dumps(stations, allow_nan=False)
