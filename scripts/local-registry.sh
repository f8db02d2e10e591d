#!/usr/bin/env bash
# A throwaway Docker registry (Debian's docker-registry binary) on loopback
# for tests that exercise real image pulls.
#   start  - start it in the background if not running; wait until /v2/ answers
#   stop   - stop it and delete its storage
#   status - exit 0 when it is running and answering
#   url    - print the registry address (host:port)
# Docker trusts 127.0.0.0/8 registries over plain HTTP, so no daemon config
# is needed to push to / pull from it.
set -euo pipefail

ADDR=127.0.0.1
PORT=5055
BASE=/var/lib/popvim-test-registry
PIDFILE=/run/popvim-test-registry.pid
CONFIG=$BASE/config.yml
LOG=$BASE/registry.log

log() { echo "local-registry: $*" >&2; }

# HTTP GET /v2/ over bash's /dev/tcp (no curl needed); 0 when it answers 200
probe() {
    # shellcheck disable=SC2016  # expanded by the inner bash
    timeout 2 bash -c '
        exec 3<>"/dev/tcp/$0/$1" || exit 1
        printf "GET /v2/ HTTP/1.0\r\nHost: %s:%s\r\n\r\n" "$0" "$1" >&3
        IFS= read -r status <&3 || exit 1
        case "$status" in "HTTP/1."?" 200"*) exit 0 ;; *) exit 1 ;; esac
    ' "$ADDR" "$PORT" 2>/dev/null
}

# pid of our registry when it is alive, else nothing
our_pid() {
    local pid
    [ -f "$PIDFILE" ] || return 0
    pid=$(cat "$PIDFILE" 2>/dev/null || true)
    if [ -n "$pid" ] && [ -d "/proc/$pid" ] \
            && grep -q "docker-registry" "/proc/$pid/cmdline" 2>/dev/null; then
        echo "$pid"
    fi
}

start() {
    local pid deadline bin
    pid=$(our_pid)
    if [ -n "$pid" ] && probe; then
        log "already running on $ADDR:$PORT (pid $pid)"
        return 0
    fi
    if [ -z "$pid" ] && probe; then
        log "something else already answers on $ADDR:$PORT; not starting"
        return 1
    fi
    if [ -z "$pid" ]; then
        bin=$(PATH=$PATH:/usr/sbin:/sbin command -v docker-registry || true)
        if [ -z "$bin" ]; then
            log "docker-registry is not installed (run scripts/ensure-docker.sh)"
            return 1
        fi
        mkdir -p "$BASE/data"
        cat >"$CONFIG" <<CONF
version: 0.1
log:
  level: warn
  fields:
    service: popvim-test-registry
storage:
  filesystem:
    rootdirectory: $BASE/data
  delete:
    enabled: true
http:
  addr: $ADDR:$PORT
CONF
        log "starting docker-registry on $ADDR:$PORT (storage $BASE/data, log $LOG)"
        setsid nohup "$bin" serve "$CONFIG" >>"$LOG" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$PIDFILE"
    fi
    deadline=$(( $(date +%s) + 30 ))
    until probe; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "docker-registry exited; last log lines:"
            tail -n 20 "$LOG" >&2 || true
            rm -f "$PIDFILE"
            return 1
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "registry did not answer on http://$ADDR:$PORT/v2/ within 30 s"
            return 1
        fi
        sleep 0.2
    done
    log "registry ready at $ADDR:$PORT (pid $pid)"
}

stop() {
    local pid deadline
    pid=$(our_pid)
    if [ -n "$pid" ]; then
        log "stopping docker-registry (pid $pid)"
        kill "$pid" 2>/dev/null || true
        deadline=$(( $(date +%s) + 10 ))
        while kill -0 "$pid" 2>/dev/null; do
            if [ "$(date +%s)" -ge "$deadline" ]; then
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.1
        done
    else
        log "not running"
    fi
    rm -f "$PIDFILE"
    rm -rf --one-file-system "$BASE"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) [ -n "$(our_pid)" ] && probe ;;
    url) echo "$ADDR:$PORT" ;;
    *) echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
