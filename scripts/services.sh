#!/usr/bin/env bash
# Makes sure the PostgreSQL and Redis that `make run`, `make test` and `make bench`
# need are answering, and prints the `export` lines that point at them:
#
#   eval "$(scripts/services.sh)"
#
# - DATABASE_URL set: used as it is. Otherwise a server on 127.0.0.1:5432 is used
#   if it lets `postgres` in without a password; otherwise a private cluster is started (initialised on first
#   use) under .local/ with Debian's initdb/pg_ctl, installing `postgresql` first
#   if the machine has none. Prints DATABASE_SERVER (a URL without a database).
# - REDIS_URL set: used as it is. Otherwise 127.0.0.1:6379 if it answers, or a
#   private redis-server (installed if missing).
# - COMMERCE_PRIVATE_SERVICES=1: never use the servers on the standard ports; always
#   the private ones (ports COMMERCE_PG_PORT, COMMERCE_REDIS_PORT).
#
# Progress goes to stderr; stdout carries only the export lines.
set -euo pipefail
# Keep -e inside $(...) too, so a failed install or start is never mistaken for a URL.
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.local"
PG_PORT=${COMMERCE_PG_PORT:-54329}
PRIVATE_ONLY=${COMMERCE_PRIVATE_SERVICES:-0}
REDIS_PORT=${COMMERCE_REDIS_PORT:-63790}

say() { echo "services: $*" >&2; }

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A server on the port that lets `postgres` in without a password, as the tests
# need (Debian's own cluster, say, asks for one over TCP). Without psql there is no
# way to ask, so a server that answers is taken as usable.
postgres_usable() {
    answers "$1" || return 1
    command -v psql >/dev/null 2>&1 || return 0
    PGCONNECT_TIMEOUT=3 psql "postgres://postgres@127.0.0.1:$1/postgres" -Atqc 'SELECT 1' >/dev/null 2>&1
}

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else say "cannot install without root or sudo: $*"; return 1
    fi
}

apt_install() {
    say "installing $* from Debian's packages"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# runuser lives in /usr/sbin, which a non-login PATH may lack.
RUNUSER=$(command -v runuser || echo /usr/sbin/runuser)

# Runs a PostgreSQL tool; initdb and pg_ctl refuse to run as root.
as_postgres() {
    if [ "$(id -u)" = 0 ]; then "$RUNUSER" -u postgres -- "$@"; else "$@"; fi
}

private_postgres_dir() {
    local dir="$STATE/postgres"
    if [ "$(id -u)" = 0 ]; then
        mkdir -p "$STATE"
        # The postgres user must reach the folder; a repository under a private home
        # (mode 700) is out of its reach, so use a folder of its own then.
        if ! "$RUNUSER" -u postgres -- test -x "$STATE" 2>/dev/null; then
            dir="/var/tmp/commerce-postgres-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
        fi
    fi
    echo "$dir"
}

start_private_postgres() {
    local bin dir
    bin=$(pg_bin)
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        apt_install postgresql
        bin=$(pg_bin)
        [ -x "$bin/initdb" ] || { say "no initdb after installing postgresql"; return 1; }
    fi
    dir=$(private_postgres_dir)
    if [ ! -f "$dir/PG_VERSION" ]; then
        say "initialising a private PostgreSQL cluster in $dir"
        mkdir -p "$dir"
        [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
        chmod 700 "$dir"
        as_postgres "$bin/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >&2
    fi
    say "starting the private PostgreSQL on 127.0.0.1:$PG_PORT"
    as_postgres "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
        -o "-p $PG_PORT -k $dir -c listen_addresses=127.0.0.1 -c max_connections=100" start >&2
    echo "postgres://postgres@127.0.0.1:$PG_PORT"
}

ensure_postgres() {
    if [ -n "${DATABASE_URL:-}" ]; then return; fi
    local server
    if [ "$PRIVATE_ONLY" != 1 ] && postgres_usable 5432; then
        server="postgres://postgres@127.0.0.1:5432"
    elif answers "$PG_PORT"; then
        server="postgres://postgres@127.0.0.1:$PG_PORT"
    else
        server=$(start_private_postgres)
    fi
    echo "export DATABASE_SERVER=$server"
}

ensure_redis() {
    if [ -n "${REDIS_URL:-}" ]; then return; fi
    if [ "$PRIVATE_ONLY" != 1 ] && answers 6379; then echo "export REDIS_URL=redis://127.0.0.1:6379"; return; fi
    if ! answers "$REDIS_PORT"; then
        command -v redis-server >/dev/null 2>&1 || apt_install redis-server
        mkdir -p "$STATE/redis"
        say "starting a private Redis on 127.0.0.1:$REDIS_PORT"
        redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$STATE/redis" \
            --save "" --appendonly no --logfile "$STATE/redis/redis.log" >&2
        for _ in $(seq 50); do answers "$REDIS_PORT" && break; sleep 0.1; done
        answers "$REDIS_PORT" || { say "the private Redis did not start; see $STATE/redis/redis.log"; return 1; }
    fi
    echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
}

ensure_postgres
ensure_redis
