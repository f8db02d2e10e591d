#!/usr/bin/env bash
# A throwaway PostgreSQL cluster (Debian's postgresql server) on loopback, for
# tests and benchmarks that keep popvim's state on a real server.
#   start  - install the server when missing, create the cluster once, start it
#            if not running; wait until it accepts connections
#   stop   - stop it and delete the cluster
#   status - exit 0 when it is running and accepting connections
#   url    - print the SQLAlchemy URL of its superuser (database "postgres");
#            tests create a database of their own per daemon with it
# The cluster belongs to the system user "postgres", lives under $BASE, listens
# on 127.0.0.1 only (and a socket in $BASE/run) and has a password of its own.
set -euo pipefail

ADDR=127.0.0.1
PORT=55432
BASE=/var/lib/popvim-test-pg
DATA=$BASE/data
RUN=$BASE/run
LOG=$BASE/postgres.log
SUPERUSER=popvim
PWFILE=$BASE/password

log() { echo "postgres: $*" >&2; }

bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
}

as_postgres() { runuser -u postgres -- "$@"; }

ensure_installed() {
    if [ -n "$(bindir)" ] && command -v pg_dump >/dev/null 2>&1; then
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        log "the postgresql server is not installed and installing it needs root"
        return 1
    fi
    log "installing Debian's postgresql server"
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql postgresql-client >&2
    # Debian's own cluster (port 5432) is not used; this script runs its own.
}

ready() {
    local bin
    bin=$(bindir) || return 1
    "$bin/pg_isready" -q -h "$ADDR" -p "$PORT" -t 2 2>/dev/null
}

running() {
    local bin
    bin=$(bindir) || return 1
    [ -f "$DATA/postmaster.pid" ] && as_postgres "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

init_cluster() {
    local bin=$1
    log "creating the cluster in $DATA"
    mkdir -p "$BASE"
    chown postgres:postgres "$BASE"
    chmod 0700 "$BASE"
    umask 077
    python3 -c 'import secrets; print(secrets.token_hex(16))' >"$PWFILE"
    chown postgres:postgres "$PWFILE"
    as_postgres "$bin/initdb" -D "$DATA" -U "$SUPERUSER" --pwfile="$PWFILE" \
        --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$DATA/postgresql.conf" <<CONF
# popvim test cluster (scripts/postgres.sh)
listen_addresses = '$ADDR'
port = $PORT
unix_socket_directories = '$RUN'
max_connections = 400
timezone = 'UTC'
log_min_messages = warning
CONF
}

start() {
    local bin deadline
    ensure_installed
    bin=$(bindir)
    if running && ready; then
        log "already running on $ADDR:$PORT"
        return 0
    fi
    if ! running && ready; then
        log "something else already answers on $ADDR:$PORT; not starting"
        return 1
    fi
    [ -f "$DATA/PG_VERSION" ] || init_cluster "$bin"
    mkdir -p "$RUN"
    chown postgres:postgres "$RUN"
    if ! running; then
        log "starting PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on $ADDR:$PORT (log $LOG)"
        touch "$LOG"
        chown postgres:postgres "$LOG"
        as_postgres "$bin/pg_ctl" -D "$DATA" -l "$LOG" -s start >/dev/null || {
            log "pg_ctl start failed; last log lines:"
            tail -n 20 "$LOG" >&2 || true
            return 1
        }
    fi
    deadline=$(( $(date +%s) + 30 ))
    until ready; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "PostgreSQL did not accept connections on $ADDR:$PORT within 30 s"
            tail -n 20 "$LOG" >&2 || true
            return 1
        fi
        sleep 0.2
    done
    log "ready at $ADDR:$PORT"
}

stop() {
    local bin
    bin=$(bindir) || { log "not installed"; return 0; }
    if running; then
        log "stopping PostgreSQL on $ADDR:$PORT"
        as_postgres "$bin/pg_ctl" -D "$DATA" -m fast -s stop >/dev/null || true
    else
        log "not running"
    fi
    rm -rf --one-file-system "$BASE"
}

url() {
    [ -r "$PWFILE" ] || { log "no cluster yet (run: $0 start)"; return 1; }
    echo "postgresql+psycopg://$SUPERUSER:$(cat "$PWFILE")@$ADDR:$PORT/postgres"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) running && ready ;;
    url) url ;;
    *) echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
