#!/usr/bin/env bash
# Start a throw-away PostgreSQL cluster for the tests and print the URL to export.
#   source .ci/postgres.sh    -> exports LABELMEND_TEST_POSTGRES_URL, stops the server at exit
# Installs Debian's postgresql package when no server binaries are present. The cluster
# lives in a temp dir, owned by the unprivileged `postgres` user (initdb refuses root),
# and listens on a free port of 127.0.0.1 only.
set -euo pipefail

pg_bindir() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
    done
    return 1
}

if ! PG_BIN="$(pg_bindir)"; then
    echo "Installing PostgreSQL (Debian package)…" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
    PG_BIN="$(pg_bindir)"
fi

as_postgres() {
    if [ "$(id -u)" != 0 ]; then
        "$@"
    elif command -v runuser >/dev/null; then
        runuser -u postgres -- "$@"
    else
        su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    fi
}

PG_DIR="$(mktemp -d /tmp/labelmend-pg.XXXXXX)"
[ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
PG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
PG_PASSWORD="labelmend-ci"
echo "$PG_PASSWORD" > "$PG_DIR/pw"
[ "$(id -u)" = 0 ] && chown postgres "$PG_DIR/pw"
as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -U labelmend --pwfile="$PG_DIR/pw" \
    --auth=scram-sha-256 -E UTF8 >"$PG_DIR/initdb.log"
# Tests only: no fsync, so the many small transactions of the tests stay fast.
as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null

stop_postgres() {
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
}
trap stop_postgres EXIT

PGPASSWORD="$PG_PASSWORD" "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U labelmend -d postgres \
    -qc "CREATE DATABASE labelmend_test" >/dev/null
export LABELMEND_TEST_POSTGRES_URL="postgresql+psycopg://labelmend:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/labelmend_test"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT" >&2
