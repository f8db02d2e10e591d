#!/usr/bin/env bash
# Build popvim-test/host:latest, the emulated-host VNF (seed 003): vnf-base
# plus Debian's docker.io and iptables, popvim itself (installed from this
# checkout into a site directory, dependencies from the local wheels), and the
# test images a nested engine starts with (popvim-test/busybox and vnf-base, saved from the
# outer engine and loaded at boot: no registry is reachable from inside). The
# label io.popvim.recipe hashes this directory, popvim's sources and the base
# image id; an up-to-date image is not rebuilt.
set -euo pipefail

BASE=popvim-test/vnf-base:latest
IMAGE=popvim-test/host:latest
LABEL=io.popvim.recipe
NESTED_IMAGES=(popvim-test/busybox:latest popvim-test/vnf-base:latest)

log() { echo "host-image: $*" >&2; }

here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
repo=$(dirname "$(dirname "$here")")
base_id=$(docker image inspect --format '{{.Id}}' "$BASE" 2>/dev/null || true)
[ -n "$base_id" ] || { log "$BASE is missing (run images/vnf-base/build.sh first)"; exit 1; }
nested_ids=$(docker image inspect --format '{{.Id}}' "${NESTED_IMAGES[@]}" | tr '\n' ' ')
recipe=$( {
    (cd "$here" && sha256sum build.sh Dockerfile .dockerignore host-init.sh)
    (cd "$repo" && find src -name '*.py' -o -name '*.yaml' -o -name '*.css' -o -name '*.js' -o -name '*.html' \
        -o -name '*.svg' -o -name '*.ini' -o -name '*.mako' | sort | xargs sha256sum)
    sha256sum "$repo/pyproject.toml" "$repo/constraints.txt"
    echo "base=$base_id nested=$nested_ids"
} | sha256sum | cut -d' ' -f1)

current() { docker image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "$IMAGE" 2>/dev/null || true; }
if [ "$(current)" = "$recipe" ]; then
    log "$IMAGE up to date (recipe ${recipe:0:12})"
    exit 0
fi
exec 9>/run/lock/popvim-image-host.lock
flock 9
if [ "$(current)" = "$recipe" ]; then
    log "$IMAGE up to date (recipe ${recipe:0:12})"
    exit 0
fi

log "building $IMAGE (recipe ${recipe:0:12})"
work=$(mktemp -d /tmp/popvim-host.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$here"/Dockerfile "$here"/.dockerignore "$here"/host-init.sh "$work"/
# What changes rarely is cached, so that a change of popvim's sources rebuilds in
# seconds (docker's layer cache keeps the layers below it): popvim's dependencies
# (keyed by pyproject.toml and constraints.txt) and the saved images (by id).
cache=/var/cache/popvim-images
mkdir -p "$cache"
deps_key=$(cat "$repo/pyproject.toml" "$repo/constraints.txt" | sha256sum | cut -c1-16)
if [ ! -d "$cache/host-site-$deps_key" ]; then
    log "installing popvim's dependencies for the image (once per pyproject/constraints)"
    rm -rf "$cache/host-site-$deps_key.tmp"
    # for the image's python3: same Debian, same Python 3.11
    "$repo/.venv/bin/python" -m pip install -q --no-warn-script-location --target "$cache/host-site-$deps_key.tmp" \
        -c "$repo/constraints.txt" "$repo" >&2
    rm -rf "$cache/host-site-$deps_key.tmp/popvim" "$cache/host-site-$deps_key.tmp/bin"
    mv "$cache/host-site-$deps_key.tmp" "$cache/host-site-$deps_key"
    find "$cache" -maxdepth 1 -name 'host-site-*' ! -name "host-site-$deps_key" -exec rm -rf {} +
fi
cp -a "$cache/host-site-$deps_key" "$work/site"
cp -a "$repo/src/popvim" "$work/popvim"
find "$work/popvim" -name __pycache__ -prune -exec rm -rf {} +
mkdir -p "$work/images"
for image in "${NESTED_IMAGES[@]}"; do
    id=$(docker image inspect --format '{{.Id}}' "$image" | cut -d: -f2 | cut -c1-16)
    tar="$cache/host-image-$(echo "$image" | tr '/:' '__')-$id.tar"
    if [ ! -f "$tar" ]; then
        docker save -o "$tar.tmp" "$image"
        mv "$tar.tmp" "$tar"
    fi
    ln "$tar" "$work/images/$(echo "$image" | tr '/:' '__').tar" 2>/dev/null || cp "$tar" "$work/images/"
done
if ! DOCKER_BUILDKIT=0 docker build --build-arg "BASE=$BASE" --label "$LABEL=$recipe" \
        --iidfile "$work/id" "$work" >"$work/build.log" 2>&1; then
    tail -n 30 "$work/build.log" >&2
    log "docker build failed"
    exit 1
fi
new_id=$(cat "$work/id")
if ! docker run --rm --entrypoint sh "$new_id" -c 'dockerd --version && iptables --version && python3 -c "import popvim.daemon"' >&2; then
    docker rmi "$new_id" >/dev/null 2>&1 || true
    log "smoke test failed"
    exit 1
fi
old_id=$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
docker tag "$new_id" "$IMAGE"
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
    docker rmi "$old_id" >/dev/null 2>&1 || true
fi
log "built $IMAGE (${new_id:7:12})"
