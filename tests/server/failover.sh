#!/bin/bash
# Failover (docs/storage.md section 10, issue 14): two vault processes,
# each with its own data directory (the second made by `coffre init
# --join`) and port, on a PostgreSQL 15 primary with a synchronous standby
# (scripts/pg-standby.sh), both URIs naming both hosts with
# target_session_attrs=read-write, under a mixed create-and-read load
# spread over both (creates on one read back on the other); the primary's
# postmaster is killed with kill -9 and the standby promoted. Checked:
# every create acknowledged (by either process) is readable afterwards
# through each process and present exactly once (all counted), each
# process serves again within 10 s without a restart (each gap printed),
# the audit log in the database verifies from the database and through
# each process's API with no fork (the checkpoint saved before the kill is
# consistent with the ones served after), the signer lock is held again
# on the new primary and its checkpoint covers every entry, and a guard
# suspension made through one process before the kill holds on both.
. "$(dirname "$0")/lib.sh"
PGS=$WORK/pgs B_PID= LOAD=
stop_pgs() { sh "$SRCDIR/scripts/pg-standby.sh" stop "$PGS"; }
stop_all() {
    [ -n "$LOAD" ] && kill $LOAD 2>/dev/null
    [ -n "$B_PID" ] && kill "$B_PID" 2>/dev/null && wait "$B_PID"
    stop_server
    stop_pgs
    finish
}
trap 'stop_all; exit $?' EXIT
CI=$(sh "$SRCDIR/scripts/pg-standby.sh" start "$PGS") ||
    fail_exit "no primary with a standby (scripts/deps.sh)"
PP=$(cat "$PGS/p/port") SP=$(cat "$PGS/s/port")
psql_at "$CI dbname=postgres" "CREATE DATABASE srv" >/dev/null ||
    fail_exit createdb
URI="postgresql://postgres@127.0.0.1:$PP,127.0.0.1:$SP/srv?target_session_attrs=read-write"
DEV=$WORK/dev PA=$(free_port) PB=$(free_port)
PORT=$PA
echo '{"principals": {"office": {"rate": 10000, "burst": 10000,
  "persons_per_hour": 1000000, "persons_per_day": 1000000},
  "office-restricted": {"list_threshold": 1}}}' >"$WORK/guard.json"
start_dev "$DEV" "$PA" --dev-shares --demo-persons 20 \
    --guard-config "$WORK/guard.json" --store "$URI"
unseal_dev
# the second process: its own data directory on the same database
"$COFFRE" init --join --data "$WORK/vb" --store "$URI" >/dev/null &&
    ok || fail_exit "init --join"
jq --arg l "127.0.0.1:$PB" --arg d "$WORK/vb" \
    '.listen = $l | .data_dir = $d | del(.audit_dir)' "$DEV/server.json" \
    >"$WORK/b.json"
jq -e .guard "$WORK/b.json" >/dev/null && ok || bad "B has A's guard configuration"
"$COFFRE" server --config "$WORK/b.json" >"$WORK/b.log" 2>&1 &
B_PID=$!
for _ in $(seq 1 150); do
    curl -s -o /dev/null --cacert "$DEV/ca.pem" --cert "$DEV/admin.pem" \
        --key "$DEV/admin.key" "https://127.0.0.1:$PB/v1/sys/health" && break
    kill -0 "$B_PID" 2>/dev/null || fail_exit "B died: $(tail -5 "$WORK/b.log")"
    sleep 0.2
done
PORT=$PB dev_unseal && ok || fail_exit "unseal B: $(tail -3 "$WORK/b.log")"
P='purpose=it%20test'
find_template "state=submitted&limit=20&$P"
[ -n "$TEMPLATE" ] && ok || fail_exit "no template person"

# --- a suspension through A before the kill, seen by both -------------------
req office-restricted GET "/v1/persons?state=submitted&limit=5"
req office-restricted GET "/v1/persons?state=submitted&limit=5"
# suspended_on PORT WHEN: the principal's reads refused at once by the
# database's guard, its other routes after the process's next poll (once
# a second, docs/guard.md "Several processes").
suspended_on() {
    PORT=$1 expect 403 office-restricted GET "/v1/persons?state=submitted&limit=5"
    check "reads suspended $2, on $1" '.error.code == "suspended"'
    for _ in $(seq 1 25); do
        PORT=$1 req office-restricted GET /v1/sys/health
        [ "$STATUS" = 403 ] && break
        sleep 0.2
    done
    check "other routes suspended $2, on $1" '.error.code == "suspended"'
}
for p in $PA $PB; do suspended_on "$p" before; done

# --- a checkpoint saved before the kill --------------------------------------
TLS=(--cacert "$DEV/ca.pem" --cert "$DEV/auditor.pem" --key "$DEV/auditor.key")
req auditor GET /v1/audit/key
VK=$BODY
sleep 1.5 # a signing round
"$COFFRE" audit verify --url "https://127.0.0.1:$PA" "${TLS[@]}" --vkey "$VK" \
    --save "$WORK/cp.before" >"$WORK/v.before" 2>&1 && ok ||
    bad "verify before: $(cat "$WORK/v.before")"
C0=$(sed -n 's/^Checkpoint of \([0-9]*\) entries.*/\1/p' "$WORK/v.before")

# --- the load: creates on one process (each resent under its key until
# acknowledged), each read back on the other until it answers 200.
# load NAME WRITE_PORT READ_PORT: one line "epoch_ms pseudonym status" per
# acknowledgement in NAME.acked, one per error in NAME.errors.
load() {
    local i=0 st ps a
    while [ ! -e "$WORK/stop" ]; do
        i=$((i + 1))
        a=$(echo "$TEMPLATE" | jq -c --arg d "FO$1DOC$i" '.document.number = $d |
            .contact.email = "fo.\($d|ascii_downcase)@example.org" |
            .public.state = "submitted"')
        ps=
        while [ ! -e "$WORK/stop.hard" ]; do
            st=$(curl -s -m 5 -o "$WORK/$1.body" -w '%{http_code}' \
                --cacert "$DEV/ca.pem" --cert "$DEV/office.pem" \
                --key "$DEV/office.key" -H "Idempotency-Key: $1-$i" \
                -H 'Content-Type: application/json' --data-binary "$a" \
                "https://127.0.0.1:$2/v1/persons")
            if [ "$st" = 201 ] || [ "$st" = 200 ]; then
                ps=$(jq -r .pseudonym "$WORK/$1.body")
                echo "$(date +%s%3N) $ps $st" >>"$WORK/$1.acked"
                break
            fi
            echo "$(date +%s%3N) create $st" >>"$WORK/$1.errors"
            sleep 0.1
        done
        while [ -n "$ps" ] && [ ! -e "$WORK/stop.hard" ]; do
            st=$(curl -s -m 5 -o /dev/null -w '%{http_code}' \
                --cacert "$DEV/ca.pem" --cert "$DEV/office.pem" \
                --key "$DEV/office.key" \
                "https://127.0.0.1:$3/v1/persons/$ps?fields=identity&$P")
            if [ "$st" = 200 ]; then
                echo "$(date +%s%3N) $ps" >>"$WORK/$1.read"
                break
            fi
            echo "$(date +%s%3N) read $st" >>"$WORK/$1.errors"
            sleep 0.1
        done
    done
}
N0=$(psql_at "$CI dbname=srv" "SELECT count(*) FROM person")
load a "$PA" "$PB" & LOAD=$!
load b "$PB" "$PA" & LOAD="$LOAD $!"
sleep 4
T_KILL=$(date +%s%3N)
BEFORE=$(cat "$WORK"/*.acked | wc -l)
sh "$SRCDIR/scripts/pg-standby.sh" kill "$PGS"
sh "$SRCDIR/scripts/pg-standby.sh" promote "$PGS" || bad "promote"
sleep 6
touch "$WORK/stop"
sleep 5
touch "$WORK/stop.hard"
wait $LOAD
LOAD=
# gap NAME: ms from the kill to NAME's first acknowledgement after it
gap() {
    local t
    t=$(sort -n "$WORK/$1.acked" | awk -v t="$T_KILL" '$1 > t' | head -1 | cut -d' ' -f1)
    [ -n "$t" ] && echo $((t - T_KILL)) || echo none
}
GA=$(gap a) GB=$(gap b)
cat "$WORK"/*.acked | sort -n >"$WORK/acked"
ACKED=$(wc -l <"$WORK/acked")
echo "failover, two processes: $BEFORE creates acknowledged before the kill," \
    "$ACKED in all, $(cat "$WORK"/*.errors 2>/dev/null | wc -l) errors retried;" \
    "first create acknowledged after the kill: A ${GA} ms, B ${GB} ms;" \
    "errors: $(cat "$WORK"/*.errors 2>/dev/null | cut -d' ' -f2- | sort |
        uniq -c | tr -s ' \n' ' ')"
[ "$BEFORE" -ge 5 ] && ok || bad "too little load before the kill: $BEFORE"
for g in "A $GA" "B $GB"; do
    set -- $g
    [ "$2" != none ] && [ "$2" -le 10000 ] && ok || bad "$1: no service within 10 s: $2"
done
# each create read back on the other process
[ "$(cat "$WORK"/*.read | wc -l)" = "$ACKED" ] && ok ||
    bad "$(cat "$WORK"/*.read | wc -l) creates of $ACKED read back on the other process"

# --- every acknowledged create, once, on the new primary, through both --------
NEW="host=127.0.0.1 port=$SP user=postgres dbname=srv"
psql_at "$NEW" "SELECT pg_is_in_recovery()" | grep -qx f && ok ||
    bad "the standby is the primary now"
N1=$(psql_at "$NEW" "SELECT count(*) FROM person")
DISTINCT=$(cut -d' ' -f2 "$WORK/acked" | sort -u | wc -l)
[ "$DISTINCT" = "$ACKED" ] && ok || bad "$ACKED acknowledgements, $DISTINCT pseudonyms"
[ "$N1" = $((N0 + ACKED)) ] && ok ||
    bad "persons on the new primary: $N1, want $N0 + $ACKED (each once)"
for p in $PA $PB; do
    missing=0
    while read -r _ ps _; do
        PORT=$p req office GET "/v1/persons/$ps?fields=identity&$P"
        [ "$STATUS" = 200 ] || missing=$((missing + 1))
    done <"$WORK/acked"
    [ "$missing" = 0 ] && ok || bad "$missing acknowledged creates not readable on $p"
done
kill -0 "$SERVER_PID" && ok || bad "A did not survive"
kill -0 "$B_PID" && ok || bad "B did not survive"

# --- the guard, the signer and the audit log ----------------------------------
for p in $PA $PB; do suspended_on "$p" after; done
# one sequence without a hole on the new primary
[ "$(psql_at "$NEW" "SELECT count(*) = max(idx) + 1 AND
    count(*) = (SELECT next FROM audit_head) FROM audit_entry")" = t ] && ok ||
    bad "the entries: one sequence without a hole"
# the signer lock held on the new primary, its checkpoint covering every entry
n=$(psql_at "$NEW" "SELECT next FROM audit_head")
for _ in $(seq 1 50); do
    [ "$(psql_at "$NEW" "SELECT max(size) FROM audit_checkpoint")" -ge "$n" ] && break
    sleep 0.2
done
[ "$(psql_at "$NEW" "SELECT max(size) FROM audit_checkpoint")" -ge "$n" ] && ok ||
    bad "no checkpoint covers the $n entries after the failover"
[ -n "$(psql_at "$NEW" "SELECT pid FROM pg_locks WHERE locktype = 'advisory'
    AND objid = 7243003 AND granted")" ] && ok ||
    bad "no process holds the signer lock on the new primary"
for p in $PA $PB; do
    "$COFFRE" audit verify --url "https://127.0.0.1:$p" "${TLS[@]}" --vkey "$VK" \
        --saved "$WORK/cp.before" >"$WORK/v.$p" 2>&1 && ok ||
        bad "verify through $p: $(cat "$WORK/v.$p")"
    grep -q "Consistent with your saved checkpoint" "$WORK/v.$p" && ok ||
        bad "no fork: $p's checkpoint consistent with the one before the kill"
    grep -q BREAK "$WORK/v.$p" && bad "audit BREAK through $p" || ok
    # the checkpoint served is one signed after the failover, not the old one
    to=$(sed -n "s/.*consistency proof from $C0 to \([0-9]*\) entries verifies.*/\1/p" \
        "$WORK/v.$p")
    [ -n "$C0" ] && [ "${to:-0}" -ge "$n" ] && ok ||
        bad "$p serves a checkpoint of the $n entries, proven from $C0: $(cat "$WORK/v.$p")"
done
"$COFFRE" audit verify --data "$WORK/vb" --vkey "$VK" >"$WORK/v.db" 2>&1 && ok ||
    bad "verify from the database: $(cat "$WORK/v.db")"
[ "$(sed -n 's/.* over \([0-9]*\) entries.*/\1/p' "$WORK/v.db" | head -1)" -ge "$n" ] 2>/dev/null &&
    ok || bad "verify read every row ($n): $(cat "$WORK/v.db")"
