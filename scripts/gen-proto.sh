#!/usr/bin/env bash
# Regenerate the Python modules of the Pop protocol from proto/vim_pop.proto.
#
#   scripts/gen-proto.sh            # into src/popvim/proto/ (commit the result)
#   scripts/gen-proto.sh OUT_DIR    # elsewhere (tests/unit/test_proto_sync.py
#                                   # uses this to detect drift)
#
# The generated modules are checked in so that installing popvim needs no
# protoc; this script is the only way they should change. grpc_tools.protoc
# emits `import vim_pop_pb2` in the gRPC module, which only works when the
# output directory is on sys.path; it is rewritten to a package-relative
# import so the modules work as popvim.proto.*.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$repo/src/popvim/proto}
python=${PYTHON:-$repo/.venv/bin/python}
[ -x "$python" ] || python=python3

mkdir -p "$out"
# grpc_tools ships the well-known types (google/protobuf/empty.proto).
wkt=$("$python" -c 'import importlib.resources as r; print(r.files("grpc_tools") / "_proto")')

"$python" -m grpc_tools.protoc \
    -I "$repo/proto" -I "$wkt" \
    --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
    "$repo/proto/vim_pop.proto"

sed -i 's/^import vim_pop_pb2 as vim__pop__pb2$/from . import vim_pop_pb2 as vim__pop__pb2/' "$out/vim_pop_pb2_grpc.py"
if grep -q '^import vim_pop_pb2' "$out/vim_pop_pb2_grpc.py"; then
    echo "gen-proto: could not make the import in vim_pop_pb2_grpc.py package-relative" >&2
    exit 1
fi
