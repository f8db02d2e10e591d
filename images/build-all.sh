#!/usr/bin/env bash
# Make sure Docker and the host tools are there, then build (or confirm up to
# date) every test image. Prints "<image> <id>" per image on stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

"$repo/scripts/ensure-docker.sh"
"$here/busybox/build.sh"
"$here/vnf-base/build.sh"
"$here/sipp/build.sh"  # FROM vnf-base, so after it
"$here/host/build.sh"  # the emulated host: vnf-base + docker.io + this checkout's popvimd

for image in popvim-test/busybox:latest popvim-test/vnf-base:latest \
        mcilloni/sipp-server:latest mcilloni/sipp-client:latest popvim-test/host:latest; do
    echo "$image $(docker image inspect --format '{{.Id}}' "$image")"
done
