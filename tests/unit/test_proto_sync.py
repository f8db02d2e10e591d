"""The checked-in Pop protocol modules match proto/vim_pop.proto, which stays wire-compatible with seed 001.

Two ways the protocol can silently break: someone edits the .proto and
forgets to regenerate (the server then speaks the old protocol), or someone
changes an existing field or RPC (clients generated from seed 001's Appendix
B stop working). Each has a test here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

from google.protobuf import descriptor_pb2

REPO = Path(__file__).resolve().parents[2]
PROTO = REPO / "proto" / "vim_pop.proto"
GENERATED = REPO / "src" / "popvim" / "proto"
SEED = Path(__file__).parent / "fixtures" / "proto" / "seed001_vim_pop.proto"
GENERATED_FILES = ("vim_pop_pb2.py", "vim_pop_pb2.pyi", "vim_pop_pb2_grpc.py")


def test_checked_in_modules_match_a_fresh_generation(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(REPO / "scripts" / "gen-proto.sh"), str(tmp_path)],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    stale = [name for name in GENERATED_FILES if (tmp_path / name).read_bytes() != (GENERATED / name).read_bytes()]
    assert not stale, f"{', '.join(stale)} differ from proto/vim_pop.proto: run scripts/gen-proto.sh"


def test_generated_modules_import_as_a_package() -> None:
    from popvim.proto import vim_pop_pb2, vim_pop_pb2_grpc

    assert vim_pop_pb2_grpc.vim__pop__pb2 is vim_pop_pb2
    assert vim_pop_pb2.DESCRIPTOR.package == "vim_pop"


def _descriptors(proto: Path, tmp_path: Path) -> descriptor_pb2.FileDescriptorProto:
    out = tmp_path / f"{proto.stem}.pb"
    wkt = resources.files("grpc_tools") / "_proto"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{proto.parent}",
            f"-I{wkt}",
            f"--descriptor_set_out={out}",
            str(proto),
        ],
        check=True,
    )
    files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    return files.file[0]


def _fields(message: descriptor_pb2.DescriptorProto) -> dict[int, tuple[str, int, int, str, int | None]]:
    return {
        f.number: (f.name, f.type, f.label, f.type_name, f.oneof_index if f.HasField("oneof_index") else None)
        for f in message.field
    }


def _compare_message(
    seed: descriptor_pb2.DescriptorProto, ours: descriptor_pb2.DescriptorProto, path: str, problems: list[str]
) -> None:
    our_fields = _fields(ours)
    for number, field in _fields(seed).items():
        if our_fields.get(number) != field:
            problems.append(f"{path} field {number}: seed {field}, ours {our_fields.get(number)}")
    seed_oneofs = [o.name for o in seed.oneof_decl]
    if [o.name for o in ours.oneof_decl][: len(seed_oneofs)] != seed_oneofs:
        problems.append(f"{path}: oneofs changed")
    for enum in seed.enum_type:
        our_enum = next((e for e in ours.enum_type if e.name == enum.name), None)
        seed_values = {v.number: v.name for v in enum.value}
        our_values = {v.number: v.name for v in our_enum.value} if our_enum else {}
        if any(our_values.get(n) != name for n, name in seed_values.items()):
            problems.append(f"{path}.{enum.name}: enum values changed")
    our_nested = {m.name: m for m in ours.nested_type}
    for nested in seed.nested_type:
        if nested.name not in our_nested:
            problems.append(f"{path}.{nested.name}: missing")
        else:
            _compare_message(nested, our_nested[nested.name], f"{path}.{nested.name}", problems)


def test_the_protocol_is_a_wire_compatible_superset_of_seed_001(tmp_path: Path) -> None:
    seed, ours = _descriptors(SEED, tmp_path), _descriptors(PROTO, tmp_path)
    assert ours.package == seed.package == "vim_pop"
    problems: list[str] = []
    our_messages = {m.name: m for m in ours.message_type}
    for message in seed.message_type:
        if message.name not in our_messages:
            problems.append(f"message {message.name}: missing")
        else:
            _compare_message(message, our_messages[message.name], message.name, problems)
    (seed_service,), our_services = seed.service, {s.name: s for s in ours.service}
    assert seed_service.name in our_services, "service Pop is missing"
    our_methods = {m.name: m for m in our_services[seed_service.name].method}
    for method in seed_service.method:
        signature = (method.input_type, method.output_type, method.client_streaming, method.server_streaming)
        found = our_methods.get(method.name)
        if (
            found is None
            or (found.input_type, found.output_type, found.client_streaming, found.server_streaming) != signature
        ):
            problems.append(f"rpc {method.name}: seed {signature}, ours {found and found.input_type}")
    assert not problems, "\n".join(problems)
