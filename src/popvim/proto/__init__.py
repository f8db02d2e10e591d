"""Generated Python modules of the Pop protocol (proto/vim_pop.proto).

``vim_pop_pb2`` (messages), ``vim_pop_pb2_grpc`` (stub and servicer) and the
``.pyi`` stubs are produced by ``scripts/gen-proto.sh`` and checked in, so an
install needs no protoc; tests/unit/test_proto_sync.py fails when they drift
from the .proto. Edit the .proto and rerun the script, never these files.
"""
