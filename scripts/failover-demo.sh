#!/bin/sh
# A pg_auto_failover formation on loopback (docs/failover.md): a monitor and
# two PostgreSQL 15 nodes (primary, synchronous secondary), a vault on it
# through a two-host URI, a failover (pg_autoctl perform failover), and
# the vault working on the new primary. Needs the Debian 12 packages
# postgresql-15-auto-failover and pg-auto-failover-cli (not part of the
# test command). As root, PostgreSQL and pg_autoctl run as `postgres`.
#   scripts/failover-demo.sh [COFFRE_BINARY]
set -eu

BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
COFFRE=${1:-build/src/coffre}
DIR=$(mktemp -d /tmp/coffre-paf-XXXXXX)
chmod 755 "$DIR"
[ "$(id -u)" -ne 0 ] || chown postgres: "$DIR"
export XDG_CONFIG_HOME="$DIR/config" XDG_DATA_HOME="$DIR/share" \
    XDG_RUNTIME_DIR="$DIR/run"

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- env XDG_CONFIG_HOME="$XDG_CONFIG_HOME" \
            XDG_DATA_HOME="$XDG_DATA_HOME" XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" \
            PATH="$BIN:$PATH" "$@"
    else
        env PATH="$BIN:$PATH" "$@"
    fi
}
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
PIDS=
stop() {
    # runuser does not pass signals on: pg_autoctl stops its own node
    for d in "$DIR/n2" "$DIR/n1" "$DIR/monitor"; do
        [ -d "$d" ] && as_pg pg_autoctl stop --pgdata "$d" --immediate \
            >/dev/null 2>&1 || true
    done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] || rm -rf "$DIR"
}
trap stop EXIT
# state NODE_NAME: its reported state in the formation
state() {
    as_pg pg_autoctl show state --pgdata "$DIR/monitor" 2>/dev/null |
        awk -F'|' -v n="$1" '{gsub(/ /, "", $1)} $1 == n {gsub(/ /, "", $6); print $6}'
}
wait_state() { # NODE STATE
    for _ in $(seq 1 180); do
        [ "$(state "$1")" = "$2" ] && return 0
        sleep 1
    done
    echo "failover-demo: $1 never reached $2" >&2
    as_pg pg_autoctl show state --pgdata "$DIR/monitor" >&2 || true
    exit 1
}

M=$(free_port) P1=$(free_port) P2=$(free_port)
echo "== monitor on 127.0.0.1:$M"
as_pg pg_autoctl create monitor --pgdata "$DIR/monitor" --pgport "$M" \
    --hostname 127.0.0.1 --auth trust --no-ssl --pgctl "$BIN/pg_ctl" \
    --run >"$DIR/monitor.log" 2>&1 &
PIDS="$PIDS $!"
MON="postgres://autoctl_node@127.0.0.1:$M/pg_auto_failover?sslmode=disable"
for _ in $(seq 1 60); do
    "$BIN/psql" -qAtX "$MON" -c "SELECT 1" >/dev/null 2>&1 && break
    sleep 1
done
for n in 1 2; do
    port=$(eval echo "\$P$n")
    echo "== node$n on 127.0.0.1:$port"
    as_pg pg_autoctl create postgres --pgdata "$DIR/n$n" --pgport "$port" \
        --hostname 127.0.0.1 --name "node$n" --dbname coffre --auth trust \
        --no-ssl --monitor "$MON" --pgctl "$BIN/pg_ctl" \
        --run >"$DIR/n$n.log" 2>&1 &
    PIDS="$PIDS $!"
    [ "$n" = 1 ] && wait_state node1 single
done
wait_state node1 primary
wait_state node2 secondary
as_pg pg_autoctl show state --pgdata "$DIR/monitor"
"$BIN/psql" -qAtX "host=127.0.0.1 port=$P1 user=postgres dbname=coffre" \
    -c "SHOW synchronous_standby_names"

URI="postgresql://postgres@127.0.0.1:$P1,127.0.0.1:$P2/coffre?target_session_attrs=read-write"
echo "== the vault on $URI"
V=$DIR/vault
"$COFFRE" init --data "$V" --shares-dir "$V.shares" --store "$URI" >/dev/null
SH="--data $V --share $V.shares/share-1.txt --share $V.shares/share-2.txt --share $V.shares/share-3.txt"
"$COFFRE" gen --persons 2 --seed 7 --out "$DIR/p.jsonl"
head -1 "$DIR/p.jsonl" >"$DIR/a.json"
tail -1 "$DIR/p.jsonl" >"$DIR/b.json"
id1=$("$COFFRE" put $SH "$DIR/a.json")
echo "stored person $id1 on node1"

echo "== pg_autoctl perform failover"
as_pg pg_autoctl perform failover --pgdata "$DIR/monitor"
wait_state node2 primary
wait_state node1 secondary
as_pg pg_autoctl show state --pgdata "$DIR/monitor"

id2=$("$COFFRE" put $SH "$DIR/b.json")
echo "stored person $id2 on node2, the new primary"
"$COFFRE" get $SH --fields identity "$id1" | jq -c .identity.surname
"$COFFRE" get $SH --fields identity "$id2" | jq -c .identity.surname
"$COFFRE" status $SH | grep -E "^(store|persons):"
echo "failover-demo: OK"
