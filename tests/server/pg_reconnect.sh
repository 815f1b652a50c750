#!/bin/bash
# A dev server on PostgreSQL whose database connections are killed
# (pg_terminate_backend) again and again under a write and read load
# (docs/storage.md section 10, docs/server.md "Idempotency-Key"): the
# server reconnects by itself; every create acknowledged is readable, and
# a create retried under its Idempotency-Key after an error exists exactly
# once (the persons counted, not sampled); the audit log verifies. First,
# the Idempotency-Key rules: same key and body, the same answer and
# nothing written; another body, 409; another principal, its own key; a
# malformed key, 400 and nothing written.
. "$(dirname "$0")/lib.sh"
trap 'finish; exit $?' EXIT
pg_start "$WORK/pg"
psql_at "$PG_CI" "CREATE DATABASE srv" >/dev/null || fail_exit createdb
PORT=$(free_port)
DEV=$WORK/dev
echo '{"principals": {"office": {"rate": 10000, "burst": 10000,
  "persons_per_hour": 1000000, "persons_per_day": 1000000}}}' \
    >"$WORK/guard.json"
start_dev "$DEV" "$PORT" --demo-persons 20 --guard-config "$WORK/guard.json" \
    --store "postgresql://postgres@127.0.0.1:$PG_PORT/srv?application_name=coffre_srv"
P='purpose=it%20test'
DB="$PG_CI dbname=srv"
persons() { psql_at "$DB" "SELECT count(*) FROM person"; }

find_template "state=submitted&limit=20"
[ -n "$TEMPLATE" ] && ok || fail_exit "no template person"
app() { # app N: a new application, its document number N
    echo "$TEMPLATE" | jq -c --arg d "RCDOC$1" '.document.number = $d |
        .contact.email = "rc.\($d|ascii_downcase)@example.org" |
        .public.state = "submitted"'
}

# post WHO KEY BODY: $STATUS and $BODY, with an Idempotency-Key.
post() {
    STATUS=$(curl -s -o "$WORK/body" -w '%{http_code}' --cacert "$DEV/ca.pem" \
        --cert "$DEV/$1.pem" --key "$DEV/$1.key" -H "Idempotency-Key: $2" \
        -H 'Content-Type: application/json' --data-binary "$3" \
        "https://127.0.0.1:$PORT/v1/persons")
    BODY=$(cat "$WORK/body" 2>/dev/null)
}

# --- the Idempotency-Key rules ----------------------------------------------
N0=$(persons)
A1=$(app 1)
post office key-one "$A1"
[ "$STATUS" = 201 ] && ok || bad "first create: $STATUS"
PS1=$(echo "$BODY" | jq -r .pseudonym)
post office key-one "$A1"
[ "$STATUS" = 200 ] && ok || bad "the retry: $STATUS, want 200"
check "the same pseudonym, nothing created" \
    ".pseudonym == \"$PS1\" and .created == false"
post office key-one "$(app 2)"
[ "$STATUS" = 409 ] && ok || bad "the key with another body: $STATUS"
check "a JSON error" '.error.code == "conflict"'
post platform key-one "$(app 3)"
[ "$STATUS" = 201 ] && ok || bad "another principal's same key: $STATUS"
for k in "" "$(printf 'a%.0s' $(seq 1 129))" "tab	key"; do
    post office "$k" "$(app 4)"
    if [ -z "$k" ]; then
        # curl sends no header for an empty value: a plain create
        [ "$STATUS" = 201 ] && ok || bad "no key: $STATUS"
        continue
    fi
    [ "$STATUS" = 400 ] && ok || bad "malformed key '${k:0:10}': $STATUS"
    check "a JSON error" '.error.code == "invalid_header"'
done
[ "$(persons)" = $((N0 + 3)) ] && ok || bad "three persons made: $(persons) vs $N0"
psql_at "$DB" "SELECT count(*) FROM meta WHERE k LIKE 'idem.%'" | grep -qx 2 &&
    ok || bad "two idempotency records"
psql_at "$DB" "SELECT count(*) FROM meta WHERE k LIKE '%key-one%'" |
    grep -qx 0 && ok || bad "the key in clear in the store"

# --- load while the connections are killed ----------------------------------
N1=$(persons)
(
    while :; do
        psql_at "$PG_CI" "SELECT count(pg_terminate_backend(pid)) FROM
            pg_stat_activity WHERE application_name = 'coffre_srv'" \
            >>"$WORK/kills" 2>/dev/null
        sleep 0.15
    done
) &
KILLER=$!
COUNT=60 ACKED=0 ERRORS=0 RETRIED_OLD=0 READ_RETRIES=0
: >"$WORK/acked"
for i in $(seq 1 $COUNT); do
    a=$(app "L$i") tries=0
    while :; do
        post office "load-$i" "$a"
        case $STATUS in
        201) break ;;
        200) RETRIED_OLD=$((RETRIED_OLD + 1)); break ;; # committed, answer lost
        esac
        ERRORS=$((ERRORS + 1)) tries=$((tries + 1))
        # only a server or link failure is worth a retry
        if [ "$tries" -ge 40 ] || [ "${STATUS:0:1}" = 4 ]; then
            bad "create $i: never acknowledged: $STATUS $BODY"
            continue 2
        fi
        sleep 0.1
    done
    ps=$(echo "$BODY" | jq -r .pseudonym)
    echo "$ps" >>"$WORK/acked"
    ACKED=$((ACKED + 1))
    # a read between writes, through the same killed connections
    # (a read's three connections, store, log and guard, may each be
    # killed twice within one request: a 503 then, retried like a create;
    # never a 404 or any other answer)
    for tries in 1 2 3 4 5 6 7 8 9 10; do
        req office GET "/v1/persons/$ps?fields=identity&$P"
        [ "$STATUS" = 503 ] || break
        READ_RETRIES=$((READ_RETRIES + 1))
        sleep 0.1
    done
    [ "$STATUS" = 200 ] || bad "read of $ps right after its create: $STATUS $BODY"
done
kill "$KILLER" && wait "$KILLER" 2>/dev/null
KILLS=$(awk '{s += $1} END {print s + 0}' "$WORK/kills")
echo "load: $ACKED creates acknowledged, $ERRORS errors retried," \
    "$RETRIED_OLD retries answered by an earlier commit, $READ_RETRIES reads retried after a 503, $KILLS connections killed"
[ "$KILLS" -ge 5 ] && ok || bad "the killer killed only $KILLS connections"
[ "$ACKED" = "$COUNT" ] && ok || bad "acknowledged $ACKED of $COUNT"
[ "$(sort -u "$WORK/acked" | wc -l)" = "$COUNT" ] && ok ||
    bad "distinct pseudonyms: $(sort -u "$WORK/acked" | wc -l)"
[ "$(persons)" = $((N1 + COUNT)) ] && ok ||
    bad "persons in the database: $(persons), want $((N1 + COUNT)) (each once)"
missing=0
while read -r ps; do
    req office GET "/v1/persons/$ps?fields=identity&$P"
    [ "$STATUS" = 200 ] || missing=$((missing + 1))
done <"$WORK/acked"
[ "$missing" = 0 ] && ok || bad "$missing acknowledged creates not readable"

# --- the audit log verifies ---------------------------------------------------
"$COFFRE" audit verify --vkey "$DEV/audit.vkey" --url "https://127.0.0.1:$PORT" \
    --cacert "$DEV/ca.pem" --cert "$DEV/auditor.pem" --key "$DEV/auditor.key" \
    >"$WORK/verify.out" 2>&1 && ok || bad "audit verify: $(cat "$WORK/verify.out")"
grep -q BREAK "$WORK/verify.out" && bad "audit BREAK" || ok
