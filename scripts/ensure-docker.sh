#!/usr/bin/env bash
# Make sure the host has a running Docker engine plus the tools the image
# builders and tests need (busybox-static, debootstrap, iproute2,
# docker-registry). Idempotent: does nothing when all is already in place.
set -euo pipefail

log() { echo "ensure-docker: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root"
    exit 1
fi

# command-to-check:debian-package
NEEDED=(
    "dockerd:docker.io"
    "busybox:busybox-static"
    "debootstrap:debootstrap"
    "ip:iproute2"
    "docker-registry:docker-registry"
)

missing=()
for item in "${NEEDED[@]}"; do
    cmd=${item%%:*}
    pkg=${item#*:}
    if [ "$pkg" = busybox-static ]; then
        # a dynamically linked /bin/busybox (package "busybox") is not enough:
        # the image needs the static one.
        dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' \
            || missing+=("$pkg")
    elif ! PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    log "installing missing packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    # Note: the docker-registry package's own service (port 5000) is not
    # used; scripts/local-registry.sh runs a private instance on 5055.
fi

server_version() {
    docker version --format '{{.Server.Version}}' 2>/dev/null
}

if server_version >/dev/null; then
    exit 0
fi

dockerd_pid=
if ! pgrep -x dockerd >/dev/null 2>&1; then
    log "starting dockerd in the background (log: /var/log/popvim-dockerd.log)"
    setsid nohup dockerd >/var/log/popvim-dockerd.log 2>&1 </dev/null &
    dockerd_pid=$!
else
    log "dockerd is running but not answering yet"
fi

log "waiting for the Docker daemon (up to 60 s)"
deadline=$(( $(date +%s) + 60 ))
while ! v=$(server_version); do
    if [ -n "$dockerd_pid" ] && ! kill -0 "$dockerd_pid" 2>/dev/null; then
        log "dockerd exited; see /var/log/popvim-dockerd.log"
        tail -n 20 /var/log/popvim-dockerd.log >&2 || true
        exit 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        log "Docker daemon did not answer within 60 s; see /var/log/popvim-dockerd.log"
        tail -n 20 /var/log/popvim-dockerd.log >&2 || true
        exit 1
    fi
    sleep 0.5
done
log "Docker daemon is up (server $v)"
