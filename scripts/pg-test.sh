#!/bin/sh
# A throwaway PostgreSQL 15 server for tests.
#   scripts/pg-test.sh start DIR   initdb in DIR/data, start on a free
#                                  loopback port with its socket in DIR,
#                                  print the libpq conninfo on stdout
#   scripts/pg-test.sh stop DIR    stop it (DIR is left for the caller)
# initdb and postgres refuse to run as root: as root, DIR is given to the
# `postgres` user and both run as that user (docs/storage.md).
# Tests run it with fsync=off. PG_TEST_DURABLE=1 starts it durable instead
# (fsync=on, synchronous_commit=on, full_page_writes=on: what a benchmark
# compares with SQLite's synchronous=FULL, bench/pg.sh).
set -eu

BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
start)
    if [ ! -x "$BIN/initdb" ] || [ ! -x "$BIN/pg_ctl" ]; then
        echo "pg-test: PostgreSQL 15 binaries missing in $BIN (run scripts/deps.sh)" >&2
        exit 1
    fi
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$dir"
    fi
    chmod 0700 "$dir"
    as_pg "$BIN/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    if [ "${PG_TEST_DURABLE:-0}" = 1 ]; then
        settings="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
    else
        settings="-c fsync=off"
    fi
    tries=0
    while :; do
        # a port in the dynamic range; retry on a clash
        port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
        if as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $settings" \
            start >/dev/null 2>&1; then
            break
        fi
        tries=$((tries + 1))
        if [ "$tries" -ge 5 ]; then
            cat "$dir/server.log" >&2 || true
            exit 1
        fi
    done
    echo "$port" >"$dir/port"
    echo "host=127.0.0.1 port=$port user=postgres dbname=postgres"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
