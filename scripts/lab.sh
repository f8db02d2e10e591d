#!/usr/bin/env bash
# A lab of several Docker hosts on one machine, without Docker-in-Docker:
# each node is a network namespace with its own dockerd, joined to the host
# by a veth on a private bridge; optionally a Swarm with the host engine as
# (drained) manager and every node as a worker.
#
#   scripts/lab.sh up N [--swarm] [--json]   make nodes 1..N (idempotent)
#   scripts/lab.sh status [--json]           what exists and whether it answers
#   scripts/lab.sh stop-node I               stop node I's dockerd (a lost host); `up` starts it again
#   scripts/lab.sh down                      remove every trace (also of a half-made lab)
#
# Environment: POPVIM_LAB (or --name) names the lab (default "pvlab"; several
# labs may coexist, only one of them with --swarm); LAB_IMAGES lists the images
# loaded into every node (default: the local test images; nothing is pulled).
#
# Every object is named after the lab so that `down` finds it without any
# state file: netns, dockerd socket/pidfile/exec-root/data-root, containerd
# namespaces and cgroup parent are all "<lab>-<i>", the host side of node i's
# veth is "<lab>-<i>", the bridge "<lab>-br", iptables rules carry the comment
# "popvim-lab:<lab>", and the host's Swarm node carries the label
# popvim.lab=<lab> (the proof that the lab made that Swarm).
set -Eeuo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
trap 'echo "lab: failed (line $LINENO: $BASH_COMMAND); lab.sh down removes what was made" >&2' ERR

HERE=$(cd "$(dirname "$0")" && pwd)
LAB=${POPVIM_LAB:-pvlab}
IMAGES=${LAB_IMAGES:-popvim-test/busybox:latest popvim-test/vnf-base:latest}
HOST_DOCKER=(docker)   # the host engine as configured for this shell

log() { echo "lab: $*" >&2; }
die() { log "$*"; exit 1; }

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
    exit 2
}

# ---------------------------------------------------------------- names

set_names() {
    [[ $LAB =~ ^[a-z][a-z0-9]{0,9}$ ]] || die "lab name '$LAB' must be 1-10 of [a-z0-9], starting with a letter"
    BR="$LAB-br"
    TAG="popvim-lab:$LAB"
    STATE="/run/popvim-lab/$LAB"
}

node() { echo "$LAB-$1"; }
sock() { echo "/run/$LAB-$1.sock"; }
ndocker() { docker -H "unix://$(sock "$1")" "${@:2}"; }

# Indices of every node that has left any trace (namespace, link, files, process).
existing_nodes() {
    {
        ip netns list 2>/dev/null | awk '{print $1}' || true
        ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 || true
        ls -d /run/"$LAB"-* /var/lib/"$LAB"-* 2>/dev/null | xargs -r -n1 basename || true
        ls /sys/fs/cgroup/*/ 2>/dev/null || true
    } | sed -nE "s/^$LAB-([0-9]+)(\.sock|\.pid)?$/\1/p" | sort -un
}

# ---------------------------------------------------------------- tools

ensure_tools() {
    [ "$(id -u)" -eq 0 ] || die "must run as root"
    "$HERE/ensure-docker.sh"
    # command-to-check:debian-package
    local needed=("python3:python3" "ip:iproute2" "nsenter:util-linux" "unshare:util-linux" "iptables:iptables" "findmnt:util-linux")
    local missing=() item
    for item in "${needed[@]}"; do
        command -v "${item%%:*}" >/dev/null 2>&1 || missing+=("${item#*:}")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
        log "installing missing packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
        apt-get update -qq >&2
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
}

# ---------------------------------------------------------------- addresses

# Every IPv4 network in use on the host: routes, and the host engine's networks
# (including Swarm overlays and networks of bridges that are down).
used_networks() {
    ip -4 route show table all 2>/dev/null | awk '$1 ~ /^[0-9]/ {print $1}' || true
    # (a network removed meanwhile by someone else makes inspect fail: fine)
    "${HOST_DOCKER[@]}" network ls -q 2>/dev/null \
        | xargs -r "${HOST_DOCKER[@]}" network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' 2>/dev/null \
        | tr ' ' '\n' || true
    cat /run/popvim-lab/*/block 2>/dev/null || true
}

# The first 10.B.0.0/16 (B in 64..127) overlapping nothing in use. The lab
# stays out of 10.128.0.0/9 (the test suite draws random subnets there),
# 172.16.0.0/12 (popvim's pool) and Swarm's 10.0.0.0/16 default.
# Node links use B.0/24; Swarm's address pool is B.128.0/17 in /24s.
choose_block() {
    python3 - "$(used_networks | grep -E '^[0-9.]+(/[0-9]+)?$' | tr '\n' ' ')" <<'EOF'
import ipaddress, sys
used = [ipaddress.ip_network(n if "/" in n else n + "/32", strict=False)
        for n in sys.argv[1].split()]
used = [u for u in used if u.version == 4 and u.prefixlen > 0]
for b in range(64, 128):
    block = ipaddress.ip_network(f"10.{b}.0.0/16")
    if not any(block.overlaps(u) for u in used):
        print(block)
        break
else:
    sys.exit("no free 10.B.0.0/16 for the lab in 10.64.0.0-10.127.255.255")
EOF
}

load_state() {
    BLOCK=$(cat "$STATE/block" 2>/dev/null || true)
    # The state file lost (it lives in /run), the lab not: its bridge, or its
    # Swarm's advertise address, still tells which block it has.
    local addr=""
    [ -n "$BLOCK" ] || addr=$(ip -4 -o addr show dev "$BR" 2>/dev/null | awk '{print $4}' | head -n1 || true)
    [ -n "$BLOCK" ] || [ -n "$addr" ] || ! host_swarm_is_ours || addr=$("${HOST_DOCKER[@]}" info -f '{{.Swarm.NodeAddr}}')
    if [ -z "$BLOCK" ] && [[ $addr =~ ^10\.([0-9]+)\. ]]; then
        BLOCK="10.${BASH_REMATCH[1]}.0.0/16"
    fi
    [ -n "$BLOCK" ] || return 0
    local b=${BLOCK#10.}; b=${b%%.*}
    PREFIX="10.$b"
    SUBNET="$PREFIX.0.0/24"
    HOST_IP="$PREFIX.0.1"
    POOL="$PREFIX.128.0/17"
    GWBRIDGE_SUBNET="$PREFIX.1.0/24"
}

node_ip() { echo "$PREFIX.0.$((10 + $1))"; }

# ---------------------------------------------------------------- up

make_bridge() {
    if ! ip link show "$BR" >/dev/null 2>&1; then
        ip link add "$BR" type bridge
    fi
    ip addr replace "$HOST_IP/24" dev "$BR"
    ip link set "$BR" up
    # Docker sets FORWARD's policy to DROP and bridged frames go through
    # iptables (br_netfilter): let the nodes talk to each other on the bridge,
    # nothing else. Host <-> node is INPUT/OUTPUT and needs no rule.
    iptables -C FORWARD -i "$BR" -o "$BR" -m comment --comment "$TAG" -j ACCEPT 2>/dev/null \
        || iptables -I FORWARD 1 -i "$BR" -o "$BR" -m comment --comment "$TAG" -j ACCEPT
}

make_netns() {
    local i=$1 n; n=$(node "$1")
    [ -e "/run/netns/$n" ] || ip netns add "$n"
    if ! ip -n "$n" link show eth0 >/dev/null 2>&1; then
        ip link del "$n" 2>/dev/null || true
        ip link add "$n" type veth peer name "$n-p"
        ip link set "$n-p" netns "$n"
        ip -n "$n" link set "$n-p" name eth0
    fi
    ip link set "$n" master "$BR" up
    ip -n "$n" link set lo up
    ip -n "$n" addr replace "$(node_ip "$i")/24" dev eth0
    ip -n "$n" link set eth0 up
    # No default route: a node reaches the lab's bridge and nothing else (a
    # pull attempt fails at once instead of waiting for a DNS timeout).
}

answers() { ndocker "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start_dockerd() {
    local i=$1 n; n=$(node "$1")
    answers "$i" && return 0
    if [ -f "/run/$n.pid" ] && kill -0 "$(cat "/run/$n.pid")" 2>/dev/null; then
        return 0   # starting; wait_dockerd will see
    fi
    mkdir -p "/var/lib/$n" "/run/$n" "$STATE"
    # Never the host's /etc/docker/daemon.json, and a key of its own (the
    # default /etc/docker/key.json would give every node the host's engine ID).
    printf '{"deprecated-key-path": "/var/lib/%s/key.json"}\n' "$n" >"$STATE/$n.json"
    rm -f "/run/$n.sock" "/run/$n.pid"
    # Its own UTS namespace so that Swarm lists the node under its own name;
    # nsenter (not `ip netns exec`, which remounts /sys and hides the cgroups).
    # DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: a Swarm task uses the loaded image
    # without first trying a registry (there is none).
    DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 setsid nsenter --net="/run/netns/$n" unshare --uts sh -c "
        echo $n >/proc/sys/kernel/hostname
        exec dockerd --config-file $STATE/$n.json -H unix:///run/$n.sock \
            --data-root /var/lib/$n --exec-root /run/$n --pidfile /run/$n.pid \
            --containerd-namespace $n --containerd-plugins-namespace $n-plugins \
            --cgroup-parent $n --storage-driver overlay2 --shutdown-timeout 3 \
            --label lab.node=$n" >"$STATE/$n.log" 2>&1 </dev/null &
}

wait_dockerd() {
    local i=$1 n deadline; n=$(node "$1")
    deadline=$(( $(date +%s) + 60 ))
    until answers "$i"; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            tail -n 20 "$STATE/$n.log" >&2 || true
            die "$n: dockerd did not answer within 60 s (log: $STATE/$n.log)"
        fi
        sleep 0.3
    done
}

image_id() { "$@" image inspect -f '{{.Id}}' "$img" 2>/dev/null || true; }

load_images() {
    local img i missing=() want=() pids=()
    for img in $IMAGES; do
        [ -n "$(image_id "${HOST_DOCKER[@]}")" ] || die "image $img is not on the host engine (images/build-all.sh builds the test images; nothing is pulled)"
    done
    for i in "$@"; do
        want=()
        for img in $IMAGES; do
            [ "$(image_id ndocker "$i")" = "$(image_id "${HOST_DOCKER[@]}")" ] || want+=("$img")
        done
        [ "${#want[@]}" -eq 0 ] || missing+=("$i:${want[*]}")
    done
    [ "${#missing[@]}" -gt 0 ] || return 0
    local tar="/var/lib/$LAB-images.tar"
    log "saving $IMAGES"
    # shellcheck disable=SC2086
    "${HOST_DOCKER[@]}" save -o "$tar" $IMAGES
    for item in "${missing[@]}"; do
        i=${item%%:*}
        log "$(node "$i"): loading images"
        ndocker "$i" load -q -i "$tar" >/dev/null &
        pids+=($!)
    done
    local rc=0
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    rm -f "$tar"
    [ "$rc" -eq 0 ] || die "loading images into the nodes failed"
}

host_swarm_state() { "${HOST_DOCKER[@]}" info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null; }
host_node_id() { "${HOST_DOCKER[@]}" info -f '{{.Swarm.NodeID}}'; }
host_swarm_is_ours() {
    [ "$(host_swarm_state)" = active ] || return 1
    [ "$("${HOST_DOCKER[@]}" node inspect "$(host_node_id)" -f '{{index .Spec.Labels "popvim.lab"}}' 2>/dev/null)" = "$LAB" ]
}

make_swarm() {
    local state; state=$(host_swarm_state)
    if [ "$state" = active ]; then
        host_swarm_is_ours || die "the host engine is in a Swarm that the lab '$LAB' did not make; refusing to touch it"
        [ "$("${HOST_DOCKER[@]}" info -f '{{.Swarm.NodeAddr}}')" = "$HOST_IP" ] \
            || die "the lab's Swarm advertises another address than $HOST_IP; run lab.sh down first"
    elif [ "$state" = inactive ]; then
        # Docker would make docker_gwbridge from the host's local pool (a
        # 172.x/16 other users may want): give it one of the lab's subnets.
        if ! "${HOST_DOCKER[@]}" network inspect docker_gwbridge >/dev/null 2>&1; then
            "${HOST_DOCKER[@]}" network create --driver bridge --subnet "$GWBRIDGE_SUBNET" \
                --label "popvim.lab=$LAB" \
                --opt com.docker.network.bridge.name=docker_gwbridge \
                --opt com.docker.network.bridge.enable_icc=false \
                --opt com.docker.network.bridge.enable_ip_masquerade=true \
                docker_gwbridge >/dev/null
        fi
        log "host engine: swarm init, advertising $HOST_IP, address pool $POOL"
        "${HOST_DOCKER[@]}" swarm init --advertise-addr "$HOST_IP" --listen-addr "$HOST_IP:2377" \
            --data-path-addr "$HOST_IP" --default-addr-pool "$POOL" \
            --default-addr-pool-mask-length 24 >/dev/null
        # The host only manages: tasks run on the lab's nodes, never beside
        # other users' containers.
        "${HOST_DOCKER[@]}" node update --availability drain --label-add "popvim.lab=$LAB" \
            --label-add lab.role=manager "$(host_node_id)" >/dev/null
        # A leave before the ingress sandbox is in place leaves a stale
        # "ingress" behind on the host engine: let it settle first.
        local deadline=$(( $(date +%s) + 30 ))
        until "${HOST_DOCKER[@]}" network inspect ingress -f '{{range $k, $v := .Containers}}{{$k}} {{end}}' 2>/dev/null | grep -qw ingress-sbox; do
            [ "$(date +%s)" -lt "$deadline" ] || die "the host's ingress sandbox did not appear within 30 s"
            sleep 0.3
        done
    else
        die "the host engine's Swarm state is '$state'; refusing to touch it"
    fi
    local token i n id
    token=$("${HOST_DOCKER[@]}" swarm join-token -q worker)
    local ids=()
    for i in "$@"; do
        n=$(node "$i")
        # A node left over from an earlier Swarm (a crash, a reboot) leaves it
        # first; a worker knows no cluster ID, but the manager knows its node ID.
        if [ "$(ndocker "$i" info -f '{{.Swarm.LocalNodeState}}')" != inactive ] \
            && ! "${HOST_DOCKER[@]}" node inspect "$(ndocker "$i" info -f '{{.Swarm.NodeID}}')" >/dev/null 2>&1; then
            log "$n: leaving a stale Swarm"
            ndocker "$i" swarm leave --force >/dev/null
        fi
        if [ "$(ndocker "$i" info -f '{{.Swarm.LocalNodeState}}')" != active ]; then
            log "$n: joining the Swarm"
            ndocker "$i" swarm join --token "$token" --advertise-addr "$(node_ip "$i")" \
                --listen-addr "$(node_ip "$i"):2377" --data-path-addr "$(node_ip "$i")" \
                "$HOST_IP:2377" >/dev/null
        fi
        id=$(ndocker "$i" info -f '{{.Swarm.NodeID}}')
        ids+=("$id")
        # io.popvim.engine: where popvimd --engine swarm reaches the node's own engine (exec, logs, stats)
        "${HOST_DOCKER[@]}" node update --label-add "lab.node=$n" --label-add "site=site$i" \
            --label-add "popvim.lab=$LAB" --label-add "io.popvim.engine=unix://$(sock "$i")" "$id" >/dev/null
    done
    # Nodes of an earlier incarnation (data roots wiped, a stale Swarm left)
    # would linger as "down" under the same hostnames: the lab's Swarm holds
    # only the host and the current nodes.
    local stale me; me=$(host_node_id)
    for stale in $("${HOST_DOCKER[@]}" node ls -q); do
        [ "$stale" = "$me" ] && continue
        printf '%s\n' "${ids[@]}" | grep -qx "$stale" && continue
        "${HOST_DOCKER[@]}" node rm --force "$stale" >/dev/null
    done
}

cmd_up() {
    local count="" swarm=0 json=0
    while [ $# -gt 0 ]; do
        case $1 in
            --swarm) swarm=1 ;;
            --json) json=1 ;;
            --name) LAB=$2; shift ;;
            [0-9]*) count=$1 ;;
            *) usage ;;
        esac
        shift
    done
    set_names
    [[ $count =~ ^[0-9]+$ ]] && [ "$count" -ge 1 ] && [ "$count" -le 50 ] || die "up needs a node count between 1 and 50"
    local extra
    extra=$(existing_nodes | awk -v n="$count" '$1 > n' | tr '\n' ' ')
    [ -z "$extra" ] || die "the lab has nodes beyond $count ($extra); lab.sh down first"
    ensure_tools
    if [ "$swarm" -eq 1 ]; then   # refuse before making anything
        local state; state=$(host_swarm_state)
        [ "$state" = inactive ] || host_swarm_is_ours \
            || die "the host engine is in a Swarm (state '$state') that the lab '$LAB' did not make; refusing to touch it (leave it yourself, or run the lab without --swarm)"
    fi
    # ip netns makes /run/netns (a bind mount) when missing: note it, so that
    # the last lab's down takes it away again.
    [ -d /run/netns ] || { mkdir -p /run/popvim-lab; touch /run/popvim-lab/made-run-netns; }
    mkdir -p "$STATE"
    load_state
    [ -n "$BLOCK" ] || BLOCK=$(choose_block)
    echo "$BLOCK" >"$STATE/block"
    load_state
    log "lab '$LAB': $count node(s) on $SUBNET (host $HOST_IP)"
    make_bridge
    local i nodes=()
    for i in $(seq 1 "$count"); do nodes+=("$i"); make_netns "$i"; done
    for i in "${nodes[@]}"; do start_dockerd "$i"; done
    for i in "${nodes[@]}"; do wait_dockerd "$i"; done
    load_images "${nodes[@]}"
    [ "$swarm" -eq 0 ] || make_swarm "${nodes[@]}"
    if [ "$json" -eq 1 ]; then status_json; else status_text; fi
}

# ---------------------------------------------------------------- status

status_json() {
    load_state
    local i n first=1 swarm=null
    if host_swarm_is_ours; then
        swarm=$(printf '{"manager": "%s", "manager_address": "%s:2377", "cluster_id": "%s", "address_pool": "%s"}' \
            "${DOCKER_HOST:-unix:///var/run/docker.sock}" "$HOST_IP" \
            "$("${HOST_DOCKER[@]}" info -f '{{.Swarm.Cluster.ID}}')" "$POOL")
    fi
    printf '{"name": "%s", "subnet": "%s", "bridge": "%s", "host_address": "%s", "swarm": %s, "nodes": [' \
        "$LAB" "${SUBNET:-}" "$BR" "${HOST_IP:-}" "$swarm"
    for i in $(existing_nodes); do
        n=$(node "$i")
        local up=false nid="" nstate=""
        if answers "$i"; then
            up=true
            nid=$(ndocker "$i" info -f '{{.Swarm.NodeID}}' 2>/dev/null || true)
            nstate=$(ndocker "$i" info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null || true)
        fi
        [ $first -eq 1 ] || printf ', '
        first=0
        printf '{"index": %d, "name": "%s", "netns": "%s", "socket": "%s", "docker_host": "unix://%s", "address": "%s", "up": %s, "swarm_node_id": "%s", "swarm_state": "%s", "labels": {"lab.node": "%s", "site": "site%d"}}' \
            "$i" "$n" "$n" "$(sock "$i")" "$(sock "$i")" "$( [ -n "${PREFIX:-}" ] && node_ip "$i")" \
            "$up" "$nid" "$nstate" "$n" "$i"
    done
    printf ']}\n'
}

status_text() {
    load_state
    local nodes first; nodes=$(existing_nodes); first=$(echo "$nodes" | head -n1)
    if [ -z "$nodes" ] && ! ip link show "$BR" >/dev/null 2>&1; then
        echo "lab '$LAB': nothing up"
        return 0
    fi
    echo "lab '$LAB' on ${SUBNET:-?}: host side $BR ${HOST_IP:-?}"
    if host_swarm_is_ours; then
        echo "swarm: manager = host engine (${DOCKER_HOST:-unix:///var/run/docker.sock}), advertising $HOST_IP:2377, drained"
    fi
    local i
    for i in $nodes; do
        local st=down
        answers "$i" && st="up, swarm $(ndocker "$i" info -f '{{.Swarm.LocalNodeState}}')"
        printf '  %-10s %-14s DOCKER_HOST=unix://%-22s %s\n' "$(node "$i")" "$( [ -n "${PREFIX:-}" ] && node_ip "$i")" "$(sock "$i")" "$st"
    done
    echo "reach a node: docker -H unix://$(sock "$first") ps;  a shell in its namespace: nsenter --net=/run/netns/$(node "$first") sh"
}

cmd_status() {
    local json=0
    while [ $# -gt 0 ]; do
        case $1 in
            --json) json=1 ;;
            --name) LAB=$2; shift ;;
            *) usage ;;
        esac
        shift
    done
    set_names
    if [ "$json" -eq 1 ]; then status_json; else status_text; fi
}

# ---------------------------------------------------------------- down

# Processes in node i's cgroups (its containers), then in its netns
# (dockerd, containerd, shims); by exact handle, never by name.
kill_node_processes() {
    local n; n=$(node "$1")
    local sig pids
    for sig in TERM KILL; do
        pids=$( { cat /sys/fs/cgroup/*/"$n"/*/cgroup.procs /sys/fs/cgroup/*/"$n"/cgroup.procs 2>/dev/null || true
                  [ ! -e "/run/netns/$n" ] || ip netns pids "$n" 2>/dev/null || true; } | sort -un | tr '\n' ' ')
        [ -n "${pids// /}" ] || return 0
        # shellcheck disable=SC2086
        kill -"$sig" $pids 2>/dev/null || true
        local deadline=$(( $(date +%s) + 5 ))
        while [ "$(date +%s)" -lt "$deadline" ]; do
            local alive=0 p
            for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
            [ "$alive" -eq 1 ] || return 0
            sleep 0.2
        done
    done
}

stop_dockerd() {
    local n pid deadline; n=$(node "$1")
    # Swarm tasks would get their 10 s grace period each at shutdown; the lab
    # has nothing to save, and a manual stop keeps restart policies quiet.
    if answers "$1"; then
        ndocker "$1" ps -q | xargs -r docker -H "unix://$(sock "$1")" stop -t 0 >/dev/null 2>&1 || true
    fi
    pid=$(cat "/run/$n.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -qa -- "/run/$n.sock" "/proc/$pid/cmdline"; then
        kill -TERM "$pid"
        deadline=$(( $(date +%s) + 20 ))
        while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
    fi
    kill_node_processes "$1"
}

remove_node() {
    local n; n=$(node "$1")
    # overlay mounts, netns bind mounts, shm: deepest first
    findmnt -rn -o TARGET | { grep -E "^(/var/lib/$n|/run/$n)(/|$)" || true; } | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    [ -e "/run/netns/$n" ] && ip netns del "$n" 2>/dev/null || true
    ip link del "$n" 2>/dev/null || true
    rm -rf --one-file-system "/var/lib/$n" "/run/$n" "/run/$n.sock" "/run/$n.pid"
    local d
    for d in /sys/fs/cgroup/*/"$n"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
}

leave_host_swarm() {
    host_swarm_is_ours || return 0
    log "host engine: leaving the lab's Swarm"
    "${HOST_DOCKER[@]}" swarm leave --force >/dev/null
    local deadline=$(( $(date +%s) + 15 ))
    while "${HOST_DOCKER[@]}" network ls --format '{{.Name}} {{.Scope}}' | grep -qx 'ingress swarm'; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "the host engine still lists a stale 'ingress' network (a Docker quirk); the next swarm init replaces it"
            break
        fi
        sleep 0.3
    done
    remove_our_gwbridge   # it outlives the Swarm
    # Docker leaves its (unmounted, empty) ingress sandbox file behind.
    local sbox=/var/run/docker/netns/ingress_sbox
    if [ -f "$sbox" ] && [ ! -s "$sbox" ] && ! findmnt -rn "$sbox" >/dev/null; then
        rm -f "$sbox"
    fi
}

# The host's docker_gwbridge, if the lab made it (labelled) and nothing uses it
# any more (the ingress sandbox may take a moment to let go of it).
remove_our_gwbridge() {
    local deadline=$(( $(date +%s) + 15 ))
    while [ "$("${HOST_DOCKER[@]}" network inspect docker_gwbridge -f '{{index .Labels "popvim.lab"}}' 2>/dev/null)" = "$LAB" ]; do
        "${HOST_DOCKER[@]}" network rm docker_gwbridge >/dev/null 2>&1 && return 0
        # the Swarm is gone: an ingress sandbox endpoint left on it is stale
        [ "$(host_swarm_state)" != inactive ] \
            || "${HOST_DOCKER[@]}" network disconnect -f docker_gwbridge gateway_ingress-sbox >/dev/null 2>&1 || true
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "docker_gwbridge is still in use; left in place"
            return 0
        fi
        sleep 0.5
    done
}

cmd_down() {
    while [ $# -gt 0 ]; do
        case $1 in
            --name) LAB=$2; shift ;;
            *) usage ;;
        esac
        shift
    done
    set_names
    [ "$(id -u)" -eq 0 ] || die "must run as root"
    local nodes i
    nodes=$(existing_nodes)
    # The manager first, so that nothing reschedules the tasks stopped below.
    leave_host_swarm
    for i in $nodes; do stop_dockerd "$i" & done
    wait
    # a docker_gwbridge made for a swarm init that then failed
    [ "$(host_swarm_state)" != inactive ] || remove_our_gwbridge
    for i in $nodes; do remove_node "$i" & done   # rm of image layers dominates: in parallel
    wait
    ip link del "$BR" 2>/dev/null || true
    local rule
    iptables -S | { grep -E -- "--comment \"?$TAG\"?( |$)" || true; } | sed 's/^-A /-D /' | while read -r rule; do
        # shellcheck disable=SC2086
        eval iptables $rule
    done
    rm -rf "$STATE" "/var/lib/$LAB-images.tar"
    if [ -z "$(ls /run/popvim-lab 2>/dev/null | grep -vx made-run-netns)" ]; then   # the last lab
        if [ -e /run/popvim-lab/made-run-netns ] && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
            umount /run/netns 2>/dev/null || true
            rmdir /run/netns 2>/dev/null || true
        fi
        rm -rf /run/popvim-lab
    fi
    log "lab '$LAB' is down"
}

cmd_stop_node() {
    local i=""
    while [ $# -gt 0 ]; do
        case $1 in
            --name) LAB=$2; shift ;;
            [0-9]*) i=$1 ;;
            *) usage ;;
        esac
        shift
    done
    set_names
    [ "$(id -u)" -eq 0 ] || die "must run as root"
    existing_nodes | grep -qx "$i" || die "the lab '$LAB' has no node '$i'"
    stop_dockerd "$i"
    log "$(node "$i"): dockerd stopped (namespace, address and data kept; lab.sh up starts it again)"
}

# ---------------------------------------------------------------- main

[ $# -ge 1 ] || usage
cmd=$1; shift
case $cmd in
    up) cmd_up "$@" ;;
    status) cmd_status "$@" ;;
    stop-node) cmd_stop_node "$@" ;;
    down) cmd_down "$@" ;;
    *) usage ;;
esac
