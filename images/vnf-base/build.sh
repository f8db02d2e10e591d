#!/usr/bin/env bash
# Build the docker image popvim-test/vnf-base:latest: a minimal Debian
# bookworm root filesystem made with debootstrap from the host's apt mirror,
# with haproxy, python3, curl and network tools. The rootfs tarball is cached
# under /var/cache/popvim-images/ keyed by the recipe hash, so a wiped docker
# only needs a re-import. Skips everything when the image is up to date.
set -euo pipefail

IMAGE=popvim-test/vnf-base:latest
LABEL=io.popvim.recipe
SUITE=bookworm
VARIANT=minbase
PACKAGES=haproxy,python3,curl,iproute2,busybox,procps,iputils-ping,netcat-openbsd
CACHE_DIR=/var/cache/popvim-images

log() { echo "vnf-base-image: $*" >&2; }

self=$(readlink -f "${BASH_SOURCE[0]}")
recipe=$(sha256sum "$self" | cut -d' ' -f1)
tarball=$CACHE_DIR/vnf-base-$recipe.tar

current_recipe() {
    docker image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "$IMAGE" 2>/dev/null || true
}

if [ "$(current_recipe)" = "$recipe" ]; then
    log "$IMAGE up to date (recipe ${recipe:0:12})"
    exit 0
fi

mkdir -p "$CACHE_DIR"
# serialise concurrent builds of this image
exec 9>"$CACHE_DIR/vnf-base.lock"
flock 9
if [ "$(current_recipe)" = "$recipe" ]; then
    log "$IMAGE up to date (recipe ${recipe:0:12})"
    exit 0
fi

# The Debian mirror this host's apt uses (never hard-coded): first URI of a
# deb822 stanza (or one-line entry) for suite $SUITE.
debian_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v suite="$SUITE" '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && suites ~ ("(^| )" suite "( |$)") && uri != "") { print uri; found = 1; exit }
                types = ""; suites = ""; uri = ""
            }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]*#/ { next }
            tolower($1) == "types:"  { $1 = ""; types = $0 " " }
            tolower($1) == "suites:" { $1 = ""; suites = $0 " " }
            tolower($1) == "uris:"   { uri = $2 }
            END { if (!found) flush() }
        ' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        # deb [options] URI suite components...
        sed -E 's/\[[^]]*\]//' "$f" | awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2 }'
    done
}

unmount_under() {
    # unmount everything mounted below $1, deepest first
    awk -v r="$1" 'index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r \
        | while IFS= read -r m; do umount -l "$m" 2>/dev/null || true; done
}

if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null || PATH=$PATH:/usr/sbin:/sbin
    if ! command -v debootstrap >/dev/null; then
        log "debootstrap is not installed (run scripts/ensure-docker.sh)"
        exit 1
    fi
    mirror=$(debian_mirror | head -n1)
    if [ -z "$mirror" ]; then
        log "no apt source for suite $SUITE found in /etc/apt"
        exit 1
    fi
    work=$(mktemp -d "$CACHE_DIR/build.XXXXXX")
    root=$work/rootfs
    trap 'unmount_under "$work"; rm -rf --one-file-system "$work"' EXIT
    log "debootstrap $SUITE ($VARIANT + $PACKAGES) from $mirror; this takes a few minutes"
    start=$(date +%s)
    if ! debootstrap --variant="$VARIANT" --include="$PACKAGES" "$SUITE" "$root" "$mirror" \
            >"$work/debootstrap.log" 2>&1; then
        log "debootstrap failed; last lines of its log:"
        tail -n 30 "$work/debootstrap.log" >&2
        [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
        exit 1
    fi
    unmount_under "$root"
    log "debootstrap done in $(( $(date +%s) - start )) s; cleaning"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/archives/partial/* \
           "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
           "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/debootstrap \
           "$root"/tmp/* "$root"/var/tmp/*
    mkdir -p "$root"/var/lib/apt/lists/partial "$root"/var/cache/apt/archives/partial
    # do not bake in the build host's identity; docker provides both at run time
    : >"$root/etc/resolv.conf"
    echo popvim-vnf >"$root/etc/hostname"
    tar -C "$root" --numeric-owner --xattrs -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    # drop tarballs of older recipes
    find "$CACHE_DIR" -maxdepth 1 -name 'vnf-base-*.tar' ! -name "vnf-base-$recipe.tar" -delete
    log "rootfs cached at $tarball ($(du -h "$tarball" | cut -f1))"
else
    log "re-importing cached rootfs $tarball"
fi

old_id=$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
new_id=$(docker import \
    --change 'CMD ["/bin/bash"]' \
    --change "LABEL $LABEL=$recipe" \
    --message "popvim-test vnf-base: debootstrap $SUITE $VARIANT +$PACKAGES" \
    "$tarball")

log "verifying ${new_id:7:12}"
if ! docker run --rm "$new_id" bash -ec '
        haproxy -v | head -n1
        python3 -c 1
        curl --version | head -n1
        for t in ip ping nc ps busybox; do command -v $t >/dev/null || { echo "missing $t"; exit 1; }; done
    ' >&2; then
    log "smoke test failed"
    docker rmi "$new_id" >/dev/null 2>&1 || true
    exit 1
fi

docker tag "$new_id" "$IMAGE"
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
    docker rmi "$old_id" >/dev/null 2>&1 || true
fi
log "built $IMAGE (${new_id:7:12})"
