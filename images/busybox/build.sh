#!/usr/bin/env bash
# Build the docker image popvim-test/busybox:latest from the host's
# busybox-static binary (no registry needed). Skips the build when an image
# with the same recipe label already exists.
set -euo pipefail

IMAGE=popvim-test/busybox:latest
LABEL=io.popvim.recipe
BUSYBOX=/bin/busybox
REQUIRED_APPLETS="sh wget nc httpd ip"

log() { echo "busybox-image: $*" >&2; }

if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed'; then
    log "busybox-static is not installed (run scripts/ensure-docker.sh)"
    exit 1
fi

self=$(readlink -f "${BASH_SOURCE[0]}")
bb_sum=$(sha256sum "$BUSYBOX" | cut -d' ' -f1)
recipe=$( { cat "$self"; echo "busybox-sha256=$bb_sum"; } | sha256sum | cut -d' ' -f1)

current_recipe() {
    docker image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "$IMAGE" 2>/dev/null || true
}

if [ "$(current_recipe)" = "$recipe" ]; then
    log "$IMAGE up to date (recipe ${recipe:0:12})"
    exit 0
fi

# serialise concurrent builds of this image
exec 9>/run/lock/popvim-image-busybox.lock
flock 9
if [ "$(current_recipe)" = "$recipe" ]; then
    log "$IMAGE up to date (recipe ${recipe:0:12})"
    exit 0
fi

log "building $IMAGE (recipe ${recipe:0:12})"
old_id=$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
work=$(mktemp -d /tmp/popvim-busybox.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs

mkdir -p "$root"/{bin,etc,dev,proc,sys,tmp,root,home,run,var/log,var/tmp,var/www,usr}
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"
install -m 0755 "$BUSYBOX" "$root/bin/busybox"
for applet in $("$BUSYBOX" --list); do
    [ "$applet" = busybox ] && continue
    ln -sf busybox "$root/bin/$applet"
done
# merged-/usr style so /usr/bin/env, /sbin/ip etc. resolve too
ln -s bin "$root/sbin"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"

cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
www-data:x:33:
nogroup:x:65534:
GROUP
cat >"$root/etc/shadow" <<'SHADOW'
root:*:19000:0:99999:7:::
SHADOW
chmod 0640 "$root/etc/shadow"
echo "popvim-busybox" >"$root/etc/hostname"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
touch "$root/etc/hosts" "$root/etc/resolv.conf"

new_id=$(tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . \
    | docker import \
        --change 'CMD ["/bin/sh"]' \
        --change "LABEL $LABEL=$recipe" \
        --message "popvim-test busybox from busybox-static $bb_sum" \
        - )

log "verifying ${new_id:7:12}"
out=$(docker run --rm "$new_id" sh -c 'echo ok; sleep 0.1')
if [ "$out" != ok ]; then
    log "smoke test failed: got '$out'"
    docker rmi "$new_id" >/dev/null 2>&1 || true
    exit 1
fi
if ! docker run --rm "$new_id" sh -c "for a in $REQUIRED_APPLETS; do command -v \$a >/dev/null || { echo missing \$a; exit 1; }; done" >&2; then
    log "required applets missing"
    docker rmi "$new_id" >/dev/null 2>&1 || true
    exit 1
fi

docker tag "$new_id" "$IMAGE"
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
    # drop the previous build if nothing else uses it (errors ignored)
    docker rmi "$old_id" >/dev/null 2>&1 || true
fi
log "built $IMAGE (${new_id:7:12})"
