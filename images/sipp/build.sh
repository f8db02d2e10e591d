#!/usr/bin/env bash
# Build mcilloni/sipp-server:latest and mcilloni/sipp-client:latest, the
# stand-ins for the SIPp images of seed 001's test case (sipp itself is not
# packaged here: a small Python UAS/UAC plays each side), with `docker build`
# FROM the local popvim-test/vnf-base:latest, so no registry is needed. Both
# images carry the label io.popvim.recipe: a hash of this directory's sources
# and of the base image id. When both already carry the current recipe,
# nothing is done.
set -euo pipefail

BASE=popvim-test/vnf-base:latest
SERVER=mcilloni/sipp-server:latest
CLIENT=mcilloni/sipp-client:latest
LABEL=io.popvim.recipe
SOURCES=(build.sh Dockerfile .dockerignore sipmsg.py sip_uas.py sip_uac.py)
SMOKE_CALLS=3

log() { echo "sipp-images: $*" >&2; }

here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")

base_id=$(docker image inspect --format '{{.Id}}' "$BASE" 2>/dev/null || true)
if [ -z "$base_id" ]; then
    log "$BASE is missing (run images/vnf-base/build.sh first)"
    exit 1
fi
# a rebuilt base must rebuild these too, hence its id in the recipe
recipe=$( { (cd "$here" && sha256sum "${SOURCES[@]}"); echo "base=$base_id"; } | sha256sum | cut -d' ' -f1)

up_to_date() {
    local labels
    labels=$(docker image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "$SERVER" "$CLIENT" 2>/dev/null \
        | tr '\n' ' ' || true)
    [ "$labels" = "$recipe $recipe " ]
}

if up_to_date; then
    log "$SERVER and $CLIENT up to date (recipe ${recipe:0:12})"
    exit 0
fi

# serialise concurrent builds of these images
exec 9>/run/lock/popvim-image-sipp.lock
flock 9
if up_to_date; then
    log "$SERVER and $CLIENT up to date (recipe ${recipe:0:12})"
    exit 0
fi

log "building $SERVER and $CLIENT (recipe ${recipe:0:12})"
work=$(mktemp -d /tmp/popvim-sipp.XXXXXX)
smoke_name=popvim-sipp-smoke-$$-$RANDOM
new_ids=()
cleanup() {
    docker rm -f "$smoke_name" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    log "$*"
    # untagged candidates only: a failed build must not leave images behind
    for id in "${new_ids[@]}"; do docker rmi "$id" >/dev/null 2>&1 || true; done
    exit 1
}

build() {  # $1 = Dockerfile target; prints the new image id
    # the classic builder: it uses the local base image and never looks for a registry
    if ! DOCKER_BUILDKIT=0 docker build --target "$1" --build-arg "BASE=$BASE" --label "$LABEL=$recipe" \
            --iidfile "$work/$1.id" "$here" >"$work/$1.log" 2>&1; then
        tail -n 30 "$work/$1.log" >&2
        fail "docker build --target $1 failed"
    fi
    cat "$work/$1.id"
}

server_id=$(build sipp-server)
new_ids+=("$server_id")
client_id=$(build sipp-client)
new_ids+=("$client_id")

# Smoke test: the client runs in the server's network namespace (no network
# of its own), so the SIP traffic stays on that namespace's loopback.
log "verifying ${server_id:7:12} and ${client_id:7:12} with $SMOKE_CALLS calls over loopback"
docker run -d --name "$smoke_name" --network none "$server_id" >/dev/null || fail "cannot start the server"
if ! out=$(timeout 60 docker run --rm --network "container:$smoke_name" -e SERVER_PRIVATE=127.0.0.1 \
        -e SIPP_RATE=20 -e SIPP_MAX_CALLS=$SMOKE_CALLS "$client_id" 2>&1); then
    echo "$out" | tail -n 20 >&2
    fail "client smoke test failed"
fi
if [ "$(grep -c ' completed in ' <<<"$out")" -ne "$SMOKE_CALLS" ]; then
    echo "$out" | tail -n 20 >&2
    fail "client did not complete $SMOKE_CALLS calls"
fi
# docker's log copy is asynchronous: poll the server's log with a deadline
deadline=$((SECONDS + 10))
until [ "$(docker logs "$smoke_name" 2>&1 | grep -c '^call .* completed in ')" -ge "$SMOKE_CALLS" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        docker logs "$smoke_name" 2>&1 | tail -n 20 >&2
        fail "server did not log $SMOKE_CALLS completed calls"
    fi
    sleep 0.1
done
docker stop -t 5 "$smoke_name" >/dev/null
code=$(docker inspect --format '{{.State.ExitCode}}' "$smoke_name")
[ "$code" = 0 ] || fail "server exited $code on SIGTERM"

for pair in "$SERVER=$server_id" "$CLIENT=$client_id"; do
    image=${pair%%=*}
    new_id=${pair#*=}
    old_id=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
    docker tag "$new_id" "$image"
    if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
        # drop the previous build if nothing else uses it (errors ignored)
        docker rmi "$old_id" >/dev/null 2>&1 || true
    fi
    log "built $image (${new_id:7:12})"
done
