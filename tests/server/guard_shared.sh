#!/bin/bash
# Two `coffre server` processes on one PostgreSQL database share the guard
# (docs/guard.md "Several processes"; issue 14). The second process has a
# data directory of its own, made with `coffre init --join`. The office
# (rate and quotas lifted, bulk threshold 20) reads distinct persons:
# through one process until it is suspended (the threshold measured), then,
# reinstated, alternately through both: it must be suspended at the same
# request. The suspension is enforced by the other process at once for
# reads and within a poll for everything else, survives a restart of
# both, and a reinstatement through one is seen by both.
export COFFRE_TEST_STORE=pg
. "$(dirname "$0")/lib.sh"
S1=
trap '[ -n "$S1" ] && kill "$S1" 2>/dev/null; finish; exit $?' EXIT
THRESHOLD=20
DEV=$WORK/dev
P1=$(free_port)
P2=$(free_port)
PORT=$P1
cat >"$WORK/guard.json" <<JSON
{"roles": {"office": {"rate": 0, "persons_per_hour": 0, "persons_per_day": 0,
                      "bulk_threshold": $THRESHOLD, "list_threshold": 0}}}
JSON
start_dev "$DEV" "$P1" --dev-shares --demo-persons 120 \
    --guard-config "$WORK/guard.json"
unseal_shares "$DEV/shares"
URI=$(cat "$DEV/vault/store")
case "$URI" in postgresql://*) ok ;; *) fail_exit "not on PostgreSQL: $URI" ;; esac
# The office's pseudonyms (listing counts in the listed window only).
expect 200 office GET "/v1/persons?state=submitted&limit=100&purpose=list"
echo "$BODY" | jq -r '.items[].pseudonym' >"$WORK/ps"
[ "$(wc -l <"$WORK/ps")" -ge $((THRESHOLD * 2 + 4)) ] && ok ||
    fail_exit "too few persons listed: $(wc -l <"$WORK/ps")"
stop_server

# --- a second data directory on the same database ---------------------------
D2=$WORK/d2
"$COFFRE" init --join --data "$D2" --store "$URI" >"$WORK/join.out" 2>&1 &&
    ok || bad "init --join: $(cat "$WORK/join.out")"
[ "$(cat "$D2/store")" = "$URI" ] && ok || bad "DIR2/store records the URI"
[ ! -e "$D2/coffre.db" ] && ok || bad "a SQLite file in the joined directory"
"$COFFRE" init --join --data "$D2" --store "$URI" >/dev/null 2>"$WORK/err" &&
    bad "joined twice" || ok
grep -q "is not empty" "$WORK/err" && ok || bad "twice: $(cat "$WORK/err")"
EMPTY=$(pg_store_new)
"$COFFRE" init --join --data "$WORK/d3" --store "$EMPTY" >/dev/null 2>"$WORK/err" &&
    bad "joined a database without a vault" || ok
grep -q "holds no vault" "$WORK/err" && [ ! -e "$WORK/d3" ] && ok ||
    bad "no vault: $(cat "$WORK/err")"
# One audit log in the database (docs/audit.md section 14): the second
# process has nothing of its own but its lock and store record.
jq --arg d "$D2" --arg l "127.0.0.1:$P2" \
    '.data_dir = $d | .listen = $l | del(.audit_dir)' \
    "$DEV/server.json" >"$WORK/server2.json"

# start_both: both processes from their configuration files, unsealed.
start_both() {
    PORT=$P1
    start_config "$DEV/server.json" "$DEV" "$P1"
    S1=$SERVER_PID
    unseal_shares "$DEV/shares"
    PORT=$P2
    start_config "$WORK/server2.json" "$DEV" "$P2"
    unseal_shares "$DEV/shares"
}
stop_both() {
    stop_server
    kill -TERM "$S1" && wait "$S1"
    S1=
}
# read_until_suspended FIRST ALTERNATE: office reads persons of the list,
# starting at line FIRST, through P1 (ALTERNATE 1: P1 and P2 in turn)
# until 403 suspended; $READ the persons obtained, $LAST the port that
# refused.
read_until_suspended() {
    local i=0 ps
    READ=0
    for ps in $(tail -n +"$1" "$WORK/ps"); do
        PORT=$P1
        [ "$2" = 1 ] && [ $((i % 2)) = 1 ] && PORT=$P2
        i=$((i + 1))
        req office GET "/v1/persons/$ps?fields=identity&purpose=scrape"
        if [ "$STATUS" = 200 ]; then
            READ=$((READ + 1))
        elif [ "$STATUS" = 403 ] && echo "$BODY" | jq -e '.error.code == "suspended"' >/dev/null; then
            LAST=$PORT
            return 0
        else
            bad "read $i: unexpected answer"
            return 1
        fi
    done
    bad "never suspended after $READ persons"
}

start_both
# --- the threshold through one process ---------------------------------------
read_until_suspended 1 0
ONE=$READ
echo "one process: suspended after $ONE persons"
[ "$ONE" = "$THRESHOLD" ] && ok || bad "one process obtained $ONE persons"
PORT=$P1
expect 200 custodian POST /v1/guard/reinstate '{"principal": "office"}'
sleep 1.5 # the other process's poll
# --- the same threshold through both ------------------------------------------
read_until_suspended $((THRESHOLD + 2)) 1
TWO=$READ
echo "two processes, alternately: suspended after $TWO persons (refused by :$LAST)"
[ "$TWO" = "$ONE" ] && ok || bad "two processes obtained $TWO persons, one $ONE"
# The other process refuses at once (a read is judged in the database)...
OTHER=$([ "$LAST" = "$P1" ] && echo "$P2" || echo "$P1")
PORT=$OTHER
ps=$(sed -n 1p "$WORK/ps")
expect 403 office GET "/v1/persons/$ps?fields=identity&purpose=after"
check "suspended on the other process" '.error.code == "suspended"'
# ... and every route once it polled; its status names the suspension.
sleep 1.5
expect 403 office GET /v1/sys/health
expect 200 auditor GET /v1/guard/status
check "status on the other process" \
    '.principals[] | select(.name == "office") | .suspended and .reason == "bulk_read"'

# --- a restart of both: still suspended, sealed or not -------------------------
stop_both
PORT=$P1
start_config "$DEV/server.json" "$DEV" "$P1"
S1=$SERVER_PID
PORT=$P2
start_config "$WORK/server2.json" "$DEV" "$P2"
for PORT in $P1 $P2; do
    expect 200 auditor GET /v1/guard/status
    check "suspended after a restart, sealed (:$PORT)" \
        '.principals[] | select(.name == "office") | .suspended'
    expect 403 office GET /v1/sys/health
    unseal_shares "$DEV/shares"
    expect 403 office GET "/v1/persons/$ps?fields=identity&purpose=restart"
done

# --- reinstated through one, seen by both ---------------------------------------
PORT=$P2
expect 200 custodian POST /v1/guard/reinstate '{"principal": "office"}'
PORT=$P1
expect 404 custodian POST /v1/guard/reinstate '{"principal": "office"}'
sleep 1.5
for PORT in $P1 $P2; do
    expect 200 office GET "/v1/persons/$ps?fields=identity&purpose=back"
    expect 200 auditor GET /v1/guard/status
    check "reinstated (:$PORT)" \
        '.principals[] | select(.name == "office") | .suspended == false'
done
stop_both
