#!/bin/bash
# PID 1 of an emulated host: starts the nested Docker engine, loads the images
# baked into this image (and any *.tar under /images, a volume the operator
# may mount), then runs popvimd in the foreground. Configured by environment:
#   POPD_AUTH   users of the nested popvimd (default admin:admin)
#   HOST_NAME   the nested PoP's name (default: this container's hostname)
# popvimd serves REST on 7080 and the Pop protocol on 60000, on every address
# of the emulated host (80, 8080, ... stay free for its VNFs).
set -euo pipefail
log() { echo "popvim-host: $*" >&2; }

# Nested containers get a cgroup of their own under the outer container's, so
# that nothing of the nested engine sits next to the outer engine's containers.
parent=/popvim-nested-$(hostname)
log "starting dockerd (cgroup parent $parent)"
dockerd --host unix:///var/run/docker.sock --storage-driver overlay2 --cgroup-parent "$parent" \
    --userland-proxy=true >/var/log/dockerd.log 2>&1 &
engine=$!
for _ in $(seq 1 300); do
    docker version >/dev/null 2>&1 && break
    kill -0 "$engine" 2>/dev/null || { tail -n 30 /var/log/dockerd.log >&2; log "dockerd exited"; exit 1; }
    sleep 0.1
done
docker version >/dev/null 2>&1 || { tail -n 30 /var/log/dockerd.log >&2; log "dockerd did not answer"; exit 1; }
for tar in /opt/popvim/images/*.tar /images/*.tar; do
    [ -f "$tar" ] || continue
    docker load -q -i "$tar" >&2
done
mkdir -p /etc/popvim /var/lib/popvim
cat >/etc/popvim/popvimd.toml <<CONF
[pop]
name = "${HOST_NAME:-$(hostname)}"
state_dir = "/var/lib/popvim"
listen = "0.0.0.0:7080"
pop_listen = "0.0.0.0:60000"
[tls]
# reachable only on the emulated host's own networks, made by the outer PoP
allow_plaintext = true
[policy]
# the emulated host's own ports: published on its address, privileged ones too
bind_address = "0.0.0.0"
host_ports = "1-65535"
CONF
export POPD_AUTH=${POPD_AUTH:-admin:admin}
log "starting popvimd"
python3 -m popvim.daemon --config /etc/popvim/popvimd.toml "$@" &
daemon=$!
# Stopped (SIGTERM): popvimd first, then the engine, which stops the nested
# containers; then their (empty) cgroups under the outer hierarchy go too.
stop() {
    kill -TERM "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
    kill -TERM "$engine" 2>/dev/null || true
    wait "$engine" 2>/dev/null || true
    for dir in /sys/fs/cgroup/*/"${parent#/}"; do
        [ -d "$dir" ] || continue
        find "$dir" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
        rmdir "$dir" 2>/dev/null || true
    done
}
trap 'stop; exit 0' TERM INT
wait "$daemon" || code=$?
stop
exit "${code:-0}"
