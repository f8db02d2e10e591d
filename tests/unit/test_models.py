"""Request validation: bad input is refused with a message, good input normalised."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from popvim.vim.errors import InvalidArgument
from popvim.vim.images import split_reference
from popvim.vim.models import ContainerConfig, parse_memory


def test_command_string_is_split_like_a_shell() -> None:
    assert ContainerConfig(image="x", command="sh -c 'echo hi'").command == ["sh", "-c", "echo hi"]


@pytest.mark.parametrize(
    "field",
    [
        {"name": "bad name"},
        {"name": "-dash"},
        {"command": ""},
        {"command": "unterminated 'quote"},
        {"env": {"A=B": "x"}},
        {"ports": {"70000": 1}},
        {"ports": {"80/icmp": 1}},
        {"ports": {"80": 0}},
        {"volumes": ["relative"]},
        {"volumes": ["/a:/b:rx"]},
        {"memory": "12q"},
        {"memory": 1024},
        {"cpus": 0},
        {"mac_address": "02:42"},
        {"restart_policy": "sometimes"},
        {"endpoints": {"private": "300.1.1.1"}},
        {"cap_add": ["net admin"]},
        {"unknown_field": 1},
    ],
)
def test_bad_container_configs_are_refused(field: dict) -> None:
    with pytest.raises(ValidationError):
        ContainerConfig(image="x", **field)


def test_ports_and_memory_are_normalised() -> None:
    c = ContainerConfig(image="x", ports={"80": 8080, "53/udp": None}, memory="512m")
    assert c.ports == {"80/tcp": 8080, "53/udp": None}
    assert c.memory == 512 * 1024**2
    assert parse_memory("1g") == 1024**3


@given(st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=8), st.integers(), st.none()), max_size=6))
def test_arbitrary_payloads_validate_or_raise_validation_error(payload: dict) -> None:
    try:
        ContainerConfig.model_validate({"image": "x", **payload})
    except ValidationError:
        pass


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("busybox", ("busybox", None)),
        ("busybox:1.36", ("busybox", "1.36")),
        ("127.0.0.1:5055/popvim-test/busybox", ("127.0.0.1:5055/popvim-test/busybox", None)),
        ("127.0.0.1:5055/popvim-test/busybox:v2", ("127.0.0.1:5055/popvim-test/busybox", "v2")),
    ],
)
def test_image_references_split_minding_registry_ports(ref: str, expected: tuple) -> None:
    assert split_reference(ref) == expected


@pytest.mark.parametrize("ref", ["", "UPPER/case", "a b", "x:", "::"])
def test_bad_image_references(ref: str) -> None:
    with pytest.raises(InvalidArgument):
        split_reference(ref)
