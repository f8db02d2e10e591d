"""The ``pop`` CLI's own parsing: key=value arguments, hosts, global options, the token file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from popvim.cli.args import UsageError, container_spec, metadata_entries, network_options
from popvim.cli.main import hoist_global_options, normalize_host
from popvim.cli.tokens import TokenStore


def test_the_seeds_spawn_arguments() -> None:
    spec = container_spec(["image=nginx:latest", "name=nginx-cont"])
    assert (spec.image, spec.name) == ("nginx:latest", "nginx-cont")
    assert spec.create_kwargs() == {
        "flavour": "",
        "endpoints": None,
        "command": None,
        "env": None,
        "metadata": None,
        "ports": None,
    }


def test_every_key() -> None:
    spec = container_spec(
        [
            "image=busybox",
            "name=web",
            "flavor=m1.tiny",
            "network=private",
            "network=lan:10.0.0.5,dmz=10.1.0.7",
            "command=sh -c 'echo a b'",
            "env.A=1",
            "md.B=two words",
            "md.C=",
            "port=80,53/udp:5353",
        ]
    )
    assert spec.flavour == "m1.tiny"
    assert spec.endpoints == {"private": None, "lan": "10.0.0.5", "dmz": "10.1.0.7"}
    assert spec.command == ["sh", "-c", "echo a b"]
    assert (spec.env, spec.metadata) == ({"A": "1"}, {"B": "two words", "C": ""})
    assert spec.ports == {"80": 0, "53/udp": 5353}


@pytest.mark.parametrize(
    "items, message",
    [
        (["name=x"], "image=... is required"),
        (["image=x", "colour=blue"], "unknown key 'colour'"),
        (["image=x", "oops"], "expected key=value"),
        (["image=x", "=v"], "missing key"),
        (["image=x", "network=lan:10.0.0.300"], "not an IPv4 address"),
        (["image=x", "port=http"], "expected PORT"),
        (["image=x", "port=80:99999"], "not a port number"),
        (["image=x", "command="], "command is empty"),
        (["image=x", "command='unclosed"], "command"),
        (["image=x", "env.=1"], "needs a NAME"),
    ],
)
def test_bad_arguments_are_usage_errors(items: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        container_spec(items)


def test_metadata_and_network_options() -> None:
    assert metadata_entries(["A=1", "B="]) == {"A": "1", "B": ""}
    with pytest.raises(UsageError):
        metadata_entries([])
    assert network_options(["subnet=10.9.0.0/24", "ip-range=10.9.0.128/25", "internal=yes"]) == {
        "subnet": "10.9.0.0/24",
        "ip_range": "10.9.0.128/25",
        "internal": True,
    }
    with pytest.raises(UsageError, match="internal"):
        network_options(["internal=maybe"])


@pytest.mark.parametrize(
    "given, expected",
    [
        ("127.0.0.1", "127.0.0.1:60000"),
        ("pop.example:7000", "pop.example:7000"),
        (" h:01 ", "h:1"),
        ("[::1]:6000", "[::1]:6000"),
        ("[::1]", "[::1]:60000"),
        ("::1", "[::1]:60000"),
    ],
)
def test_hosts_get_the_default_port(given: str, expected: str) -> None:
    assert normalize_host(given) == expected


@pytest.mark.parametrize("bad", ["", "h:0", "h:65536", "h:port", ":60000"])
def test_bad_hosts(bad: str) -> None:
    with pytest.raises(UsageError):
        normalize_host(bad)


def test_global_options_may_follow_the_command_but_not_the_double_dash() -> None:
    assert hoist_global_options(["servers", "--json"]) == ["--json", "servers"]
    assert hoist_global_options(["servers", "--host", "h", "web", "--timeout=5"]) == [
        "--host",
        "h",
        "--timeout=5",
        "servers",
        "web",
    ]
    assert hoist_global_options(["exec", "web", "--", "cmd", "--json"]) == ["exec", "web", "--", "cmd", "--json"]


def test_the_token_file_is_private_and_atomic(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "cfg" / "tokens.json")
    assert store.get("h:1") is None and not store.remove("h:1")
    store.put("h:1", "u", "t1")
    store.put("h:2", "v", "t2")
    assert store.get("h:1").token == "t1" and store.get("h:2").user == "v"  # type: ignore[union-attr]
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert store.remove("h:1") and store.get("h:1") is None and store.get("h:2") is not None
    assert [p.name for p in store.path.parent.iterdir()] == ["tokens.json"]  # no temporary files left
    store.path.write_text("not json")
    assert store.get("h:2") is None  # a damaged file reads as empty, so `pop login` can repair it
    store.put("h:3", "w", "t3")
    assert store.get("h:3") is not None
