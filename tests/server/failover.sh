#!/bin/bash
# Failover (docs/storage.md section 10): a dev server on a PostgreSQL 15
# primary with a synchronous standby (scripts/pg-standby.sh), its conninfo
# naming both hosts with target_session_attrs=read-write, under a mixed
# create-and-read load; the primary's postmaster is killed with kill -9
# and the standby promoted. Every create acknowledged before the kill is
# readable afterwards (all counted), the server serves again within 10 s
# without a restart (the gap is printed), every create retried under its
# Idempotency-Key exists exactly once, the audit log verifies, and a
# guard suspension made before the kill still holds. SERVERS=2 would run
# a second process once several may share one database (issue 14).
. "$(dirname "$0")/lib.sh"
PGS=$WORK/pgs
stop_pgs() { sh "$SRCDIR/scripts/pg-standby.sh" stop "$PGS"; }
trap '[ -n "${LOAD:-}" ] && kill $LOAD 2>/dev/null; stop_pgs; finish; exit $?' EXIT
CI=$(sh "$SRCDIR/scripts/pg-standby.sh" start "$PGS") ||
    fail_exit "no primary with a standby (scripts/deps.sh)"
PP=$(cat "$PGS/p/port") SP=$(cat "$PGS/s/port")
psql_at "$CI dbname=postgres" "CREATE DATABASE srv" >/dev/null ||
    fail_exit createdb
PORT=$(free_port)
DEV=$WORK/dev
echo '{"principals": {"office": {"rate": 10000, "burst": 10000,
  "persons_per_hour": 1000000, "persons_per_day": 1000000},
  "office-restricted": {"list_threshold": 1}}}' >"$WORK/guard.json"
start_dev "$DEV" "$PORT" --demo-persons 20 --guard-config "$WORK/guard.json" \
    --store "postgresql://postgres@127.0.0.1:$PP,127.0.0.1:$SP/srv?target_session_attrs=read-write"
P='purpose=it%20test'
find_template "state=submitted&limit=20"
[ -n "$TEMPLATE" ] && ok || fail_exit "no template person"

# --- a suspension before the kill ------------------------------------------------
req office-restricted GET "/v1/persons?state=submitted&limit=5"
req office-restricted GET "/v1/persons?state=submitted&limit=5"
expect 403 office-restricted GET /v1/sys/health
check "suspended before" '.error.code == "suspended"'

# --- the load: creates (each retried under its key until acknowledged) and reads
# load NAME: creates, one line "epoch_ms pseudonym" per acknowledgement.
load() {
    local i=0 st body ps
    while [ ! -e "$WORK/stop" ]; do
        i=$((i + 1))
        local a
        a=$(echo "$TEMPLATE" | jq -c --arg d "FO$1DOC$i" '.document.number = $d |
            .contact.email = "fo.\($d|ascii_downcase)@example.org" |
            .public.state = "submitted"')
        while [ ! -e "$WORK/stop.hard" ]; do
            st=$(curl -s -m 5 -o "$WORK/$1.body" -w '%{http_code}' \
                --cacert "$DEV/ca.pem" --cert "$DEV/office.pem" \
                --key "$DEV/office.key" -H "Idempotency-Key: $1-$i" \
                -H 'Content-Type: application/json' --data-binary "$a" \
                "https://127.0.0.1:$PORT/v1/persons")
            if [ "$st" = 201 ] || [ "$st" = 200 ]; then
                ps=$(jq -r .pseudonym "$WORK/$1.body")
                echo "$(date +%s%3N) $ps $st" >>"$WORK/$1.acked"
                curl -s -m 5 -o /dev/null --cacert "$DEV/ca.pem" \
                    --cert "$DEV/office.pem" --key "$DEV/office.key" \
                    "https://127.0.0.1:$PORT/v1/persons/$ps?fields=identity&$P"
                break
            fi
            echo "$(date +%s%3N) $st" >>"$WORK/$1.errors"
            sleep 0.1
        done
    done
}
N0=$(psql_at "$CI dbname=srv" "SELECT count(*) FROM person")
load a & LOAD=$!
load b & LOAD="$LOAD $!"
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
cat "$WORK"/*.acked | sort -n >"$WORK/acked"
ACKED=$(wc -l <"$WORK/acked")
AFTER=$(awk -v t="$T_KILL" '$1 > t' "$WORK/acked" | head -1 | cut -d' ' -f1)
GAP=$(( ${AFTER:-0} - T_KILL ))
echo "failover: $BEFORE creates acknowledged before the kill, $ACKED in all," \
    "$(cat "$WORK"/*.errors 2>/dev/null | wc -l) errors retried;" \
    "first create acknowledged ${GAP} ms after the kill"
[ "$BEFORE" -ge 5 ] && ok || bad "too little load before the kill: $BEFORE"
[ -n "$AFTER" ] && [ "$GAP" -le 10000 ] && ok || bad "no service within 10 s: gap $GAP ms"

# --- every acknowledged create, once, on the new primary ---------------------
NEW="host=127.0.0.1 port=$SP user=postgres dbname=srv"
psql_at "$NEW" "SELECT pg_is_in_recovery()" | grep -qx f && ok ||
    bad "the standby is the primary now"
N1=$(psql_at "$NEW" "SELECT count(*) FROM person")
DISTINCT=$(cut -d' ' -f2 "$WORK/acked" | sort -u | wc -l)
[ "$DISTINCT" = "$ACKED" ] && ok || bad "$ACKED acknowledgements, $DISTINCT pseudonyms"
[ "$N1" = $((N0 + ACKED)) ] && ok ||
    bad "persons on the new primary: $N1, want $N0 + $ACKED (each once)"
missing=0
while read -r _ ps _; do
    req office GET "/v1/persons/$ps?fields=identity&$P"
    [ "$STATUS" = 200 ] || missing=$((missing + 1))
done <"$WORK/acked"
[ "$missing" = 0 ] && ok || bad "$missing acknowledged creates not readable"
kill -0 "$SERVER_PID" && ok || bad "the server did not survive"

# --- the guard and the audit log --------------------------------------------------
expect 403 office-restricted GET /v1/sys/health
check "still suspended" '.error.code == "suspended"'
"$COFFRE" audit verify --vkey "$DEV/audit.vkey" --url "https://127.0.0.1:$PORT" \
    --cacert "$DEV/ca.pem" --cert "$DEV/auditor.pem" --key "$DEV/auditor.key" \
    >"$WORK/verify.out" 2>&1 && ok || bad "audit verify: $(cat "$WORK/verify.out")"
grep -q BREAK "$WORK/verify.out" && bad "audit BREAK" || ok
