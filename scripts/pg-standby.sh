#!/bin/sh
# A throwaway PostgreSQL 15 primary with a synchronous streaming standby,
# on loopback, for tests (docs/storage.md section 10).
#   scripts/pg-standby.sh start DIR   primary in DIR/p (scripts/pg-test.sh,
#                                     synchronous_standby_names='*',
#                                     synchronous_commit=remote_apply), a
#                                     standby in DIR/s (pg_basebackup -R);
#                                     prints the vault's conninfo naming
#                                     both hosts, target_session_attrs=
#                                     read-write
#   scripts/pg-standby.sh promote DIR pg_ctl promote the standby
#   scripts/pg-standby.sh kill DIR    kill -9 the primary's postmaster
#   scripts/pg-standby.sh stop DIR    stop both
# As root, both run as the `postgres` user (initdb refuses root).
set -eu

BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
HERE=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] ||
    { echo "usage: $0 start|promote|kill|stop DIR" >&2; exit 2; }

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

case "$cmd" in
start)
    mkdir -p "$dir"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
    chmod 0755 "$dir"
    sh "$HERE/pg-test.sh" start "$dir/p" >/dev/null
    pport=$(cat "$dir/p/port")
    cat >>"$dir/p/data/postgresql.conf" <<EOF
wal_level = replica
max_wal_senders = 4
synchronous_standby_names = '*'
synchronous_commit = remote_apply
EOF
    # pg-test.sh ran with fsync=off: a failover test wants the real thing
    as_pg "$BIN/pg_ctl" -D "$dir/p/data" -l "$dir/p/server.log" -w -t 60 \
        -o "-p $pport -k $dir/p -c listen_addresses=127.0.0.1" \
        restart >/dev/null
    mkdir -p "$dir/s"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$dir/s"
    chmod 0700 "$dir/s"
    as_pg "$BIN/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres \
        -D "$dir/s/data" -R -X stream >"$dir/s/basebackup.log" 2>&1 ||
        { cat "$dir/s/basebackup.log" >&2; exit 1; }
    sport=$(free_port)
    echo "$sport" >"$dir/s/port"
    # once promoted it is alone: it must not wait for a standby of its own
    as_pg "$BIN/pg_ctl" -D "$dir/s/data" -l "$dir/s/server.log" -w -t 60 \
        -o "-p $sport -k $dir/s -c listen_addresses=127.0.0.1 -c synchronous_standby_names=" \
        start >/dev/null
    # wait until the standby streams synchronously
    for _ in $(seq 1 100); do
        st=$("$BIN/psql" -qAtX "host=127.0.0.1 port=$pport user=postgres dbname=postgres" \
            -c "SELECT sync_state FROM pg_stat_replication" 2>/dev/null || true)
        [ "$st" = sync ] && break
        sleep 0.1
    done
    [ "$st" = sync ] || { echo "pg-standby: the standby is not synchronous" >&2; exit 1; }
    echo "host=127.0.0.1,127.0.0.1 port=$pport,$sport user=postgres target_session_attrs=read-write"
    ;;
promote)
    as_pg "$BIN/pg_ctl" -D "$dir/s/data" -w -t 60 promote >/dev/null
    ;;
kill)
    pid=$(head -1 "$dir/p/data/postmaster.pid")
    kill -9 "$pid"
    ;;
stop)
    for d in "$dir/s" "$dir/p"; do
        if [ -f "$d/data/postmaster.pid" ]; then
            as_pg "$BIN/pg_ctl" -D "$d/data" -m immediate -w stop >/dev/null 2>&1 || true
        fi
    done
    ;;
*)
    echo "usage: $0 start|promote|kill|stop DIR" >&2
    exit 2
    ;;
esac
