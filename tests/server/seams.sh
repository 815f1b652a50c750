#!/bin/bash
# Integration: the seams where two modules met and a promise broke (issue
# 13), each tried the way a hostile client or a careless operator found it:
#  - the HTTP layer: an encoded NUL, a body that is not JSON, too many
#    query arguments, an unknown transfer coding (item 11);
#  - guard reinstate while sealed (item 5);
#  - subject access to a protected person by an office principal without
#    protected access, and a scrape through subject access (item 2);
#  - a retried submission (item 6: idempotency by source key);
#  - the command line on a vault its server is serving, and unaudited
#    local reads (item 10);
#  - kill -9 and a deleted write-ahead log: the store behind its audit
#    log (item 9);
#  - writes while the audit log's disk is full (item 6: the write and its
#    entry fail together).
. "$(dirname "$0")/lib.sh"
trap 'kill -9 $SERVER_PID 2>/dev/null; umount "$WORK/full/audit" 2>/dev/null; finish; exit $?' EXIT
PORT=$(free_port)
DEV=$WORK/dev
URL="https://127.0.0.1:$PORT"
P='purpose=seams%20test'
cat >"$WORK/guard.json" <<'EOF'
{"principals": {"office-restricted": {"bulk_window": 60, "bulk_threshold": 20}}}
EOF
start_dev "$DEV" "$PORT" --dev-shares --demo-persons 60 \
    --guard-config "$WORK/guard.json"
S=(--data "$DEV/vault" --share "$DEV/shares/share-1.txt"
    --share "$DEV/shares/share-2.txt" --share "$DEV/shares/share-3.txt")

unseal() {
    local k
    for k in 1 2 3; do
        req "$(custodian_of $k)" POST /v1/sys/unseal \
            "$(jq -Rs '{share: .}' "$DEV/shares/share-$k.txt")"
    done
}

# --- item 5: the guard's state changes only unsealed, audited ---------------
# Before: 200 (or 404) while sealed, by a principal of an unpinned policy,
# and no audit entry.
expect 503 custodian POST /v1/guard/reinstate '{"principal":"office-restricted"}'
check "sealed" '.error.code == "sealed"'
expect 200 admin GET /v1/guard/status # watching stays possible
unseal
[ "$STATUS" = 200 ] && ok || bad "unseal"

# --- item 2: subject access goes through the protected check and the guard --
expect 200 office GET "/v1/persons?limit=100&$P"
PROT= PLAIN=()
for ps in $(echo "$BODY" | jq -r '.items[].pseudonym'); do
    req office GET "/v1/persons/$ps?fields=public&$P"
    if echo "$BODY" | jq -e '.person.protected == true' >/dev/null; then
        PROT=$ps
    else
        PLAIN+=("$ps")
    fi
done
[ -n "$PROT" ] && [ "${#PLAIN[@]}" -gt 25 ] && ok ||
    bad "demo data: a protected person and 25 others"
expect 200 office GET "/v1/persons/$PROT/subject-access?$P"
check "office with protected access" '.person.identity.surname != null'
# Before: 200 with identity, contact, document and photo.
expect 403 office-restricted GET "/v1/persons/$PROT/subject-access?$P"
echo "$BODY" | jq -e '.person == null' >/dev/null && ok || bad "nothing disclosed"
expect 403 office-restricted GET "/v1/persons/$PROT?fields=identity&$P"
# Before: 170 full records in 12 s and no suspension. The window's
# threshold (20 persons) suspends the scraper at the 21st.
n=0
for ps in "${PLAIN[@]:0:25}"; do
    req office-restricted GET "/v1/persons/$ps/subject-access?$P"
    [ "$STATUS" = 200 ] && n=$((n + 1))
    [ "$STATUS" = 403 ] && break
done
[ "$n" = 20 ] && ok || bad "subject access answered $n persons before the guard"
check "suspended" '.error.code == "suspended"'
expect 200 admin GET /v1/guard/status
check "bulk read" '.principals[] | select(.name == "office-restricted") | .suspended and .reason == "bulk_read"'
expect 200 auditor GET /v1/audit/checkpoint
SIZE0=$(echo "$BODY" | sed -n 2p)
expect 200 custodian POST /v1/guard/reinstate '{"principal":"office-restricted"}'
sleep 1.2 # a checkpoint covering the entry
expect 200 auditor GET "/v1/audit/entries?start=$SIZE0&end=$((SIZE0 + 1000))"
check "reinstatement audited" '[.entries[] | select(.action == "guard.reinstate" and .role == "custodian" and .status == 200)] | length == 1'
expect 200 office-restricted GET "/v1/persons/${PLAIN[0]}?fields=identity&$P"

# --- item 11: what the HTTP layer let through ------------------------------
# raw WHO METHOD PATH [CURL ARGS...]: $STATUS and $BODY, curl as given.
raw() {
    local who=$1 method=$2 path=$3
    shift 3
    STATUS=$(curl -s --path-as-is -o "$WORK/body" -w '%{http_code}' \
        --cacert "$DEV/ca.pem" --cert "$DEV/$who.pem" --key "$DEV/$who.key" \
        -X "$method" "$@" "$URL$path")
    BODY=$(cat "$WORK/body" 2>/dev/null)
}
json_error() { # CODE: the answer is that status with a JSON error body
    if [ "$STATUS" = "$1" ] && echo "$BODY" | jq -e '.error.code and .error.message' >/dev/null 2>&1; then
        ok
    else
        bad "want $1 with a JSON error"
    fi
}
# Before: "fields=public%00identity" was served as fields=public (the value
# cut at the NUL), and a NUL in the path was cut likewise.
raw office GET "/v1/persons/${PLAIN[1]}?fields=public%00identity&$P"
json_error 400
check "names the NUL" '.error.message | test("NUL")'
raw office GET "/v1/persons/${PLAIN[1]}%00x?fields=public&$P"
json_error 400
# Before: any content type was read as JSON.
expect 200 admin GET /v1/sys/stats
N0=$(echo "$BODY" | jq .persons)
expect 200 office GET "/v1/persons/${PLAIN[1]}?fields=public,identity,contact,document&$P"
APP11=$(echo "$BODY" | jq -c '.person | .source_key = "SEAM-CT-1" | .public.state = "submitted" | .document.number = "SEAMCT1" | .contact.email = "seamct1@example.org" | del(.protected)')
raw platform POST /v1/persons -H 'Content-Type: text/plain' --data-binary "$APP11"
json_error 415
check "unsupported_media_type" '.error.code == "unsupported_media_type"'
raw platform POST /v1/persons -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "$APP11"
json_error 415
raw platform POST /v1/persons --data-binary "$APP11" -H 'Content-Type:'
json_error 415
expect 200 admin GET /v1/sys/stats
[ "$(echo "$BODY" | jq .persons)" = "$N0" ] && ok || bad "a refused body stored nothing"
# Before: no answer at all (the connection's memory exhausted).
for n in 17 500 4000; do
    Q=$(seq -s '&' -f 'a%g=1' 1 "$n")
    raw office GET "/v1/persons?$Q"
    json_error 400
done
check "too many arguments" '.error.message | test("too many")'
# Before: no answer to a transfer coding the server does not know.
raw platform POST /v1/persons -H 'Transfer-Encoding: xchunked' \
    -H 'Content-Type: application/json' --data-binary "$APP11"
json_error 400
check "names the coding" '.error.message | test("Transfer-Encoding")'
raw platform POST /v1/persons -H 'Transfer-Encoding: chunked' \
    -H 'Content-Type: application/json; charset=utf-8' --data-binary "$APP11"
[ "$STATUS" = 201 ] && ok || bad "chunked JSON with a charset: $STATUS $BODY"
expect 200 admin GET /v1/sys/stats
[ "$(echo "$BODY" | jq .persons)" = $((N0 + 1)) ] && ok || bad "stored once"

# --- item 6: a retried submission is stored once ----------------------------
expect 200 office GET "/v1/persons/${PLAIN[1]}?fields=public,identity,contact,document&$P"
APP=$(echo "$BODY" | jq -c '.person | .source_key = "PLATFORM-APP-77" | .public.state = "submitted" | .document.number = "SEAM77" | .contact.email = "seam77@example.org" | del(.protected)')
expect 200 admin GET /v1/sys/stats
N0=$(echo "$BODY" | jq .persons)
expect 201 platform POST /v1/persons "$APP"
PL=$(echo "$BODY" | jq -r .pseudonym)
check "created" '.created == true'
expect 200 platform POST /v1/persons "$APP" # the answer was lost: a retry
check "same person, not created" ".pseudonym == \"$PL\" and .created == false"
expect 409 platform POST /v1/persons "$(echo "$APP" | jq -c '.identity.surname = "Autre"')"
expect 200 admin GET /v1/sys/stats
[ "$(echo "$BODY" | jq .persons)" = $((N0 + 1)) ] && ok || bad "one person stored"

# --- item 10: the command line beside a running server ----------------------
# Before: `coffre get` decrypted a person and `put`/`import` wrote while
# the server ran, with no audit entry at all.
echo "$APP" | jq -c '.source_key = "CLI-1" | .document.number = "CLI01"' >"$WORK/cli.json"
for cmd in "get 1" "put $WORK/cli.json" "find --document CLI01" "erase 2"; do
    # shellcheck disable=SC2086
    "$COFFRE" ${cmd%% *} "${S[@]}" ${cmd#* } >"$WORK/cli.out" 2>"$WORK/cli.err" &&
        bad "coffre $cmd ran beside the server" || ok
    grep -q "unsealed by another process" "$WORK/cli.err" && ok ||
        bad "coffre $cmd: $(cat "$WORK/cli.err")"
done
expect 200 admin GET /v1/sys/stats
[ "$(echo "$BODY" | jq .persons)" = $((N0 + 1)) ] && ok || bad "nothing written"
stop_server
# Server stopped: the command line works, audited in the same log.
"$COFFRE" get "${S[@]}" --purpose "seams: local read" --fields identity 1 \
    >"$WORK/get.out" 2>"$WORK/get.err" && ok || bad "get: $(cat "$WORK/get.err")"
"$COFFRE" put "${S[@]}" "$WORK/cli.json" >"$WORK/put1" 2>"$WORK/put1.err" &&
    "$COFFRE" put "${S[@]}" "$WORK/cli.json" >"$WORK/put2" 2>"$WORK/put2.err" &&
    ok || bad "put twice: $(cat "$WORK/put1.err" "$WORK/put2.err" 2>/dev/null)"
cmp -s "$WORK/put1" "$WORK/put2" && ok || bad "put is idempotent by source key"
grep -q "already stored" "$WORK/put2.err" && ok || bad "second put says so"
"$COFFRE" server --config "$DEV/server.json" >>"$DEV.log" 2>&1 &
SERVER_PID=$!
wait_ready "$DEV" "$PORT" admin
unseal
expect 200 auditor GET /v1/audit/checkpoint
SIZE1=$(echo "$BODY" | sed -n 2p)
expect 200 auditor GET "/v1/audit/entries?start=$((SIZE1 > 50 ? SIZE1 - 50 : 0))&end=$SIZE1"
check "local read audited" '[.entries[] | select(.role == "local" and .action == "person.read" and .purpose == "seams: local read" and .classes == ["identity"])] | length == 1'
check "local write audited, once" '[.entries[] | select(.role == "local" and .action == "person.create")] | length == 1'

# --- item 9: kill -9, the write-ahead log deleted ---------------------------
for i in $(seq 1 30); do
    req platform POST /v1/persons \
        "$(echo "$APP" | jq -c --arg k "WAL-$i" '.source_key = $k | .document.number = $k')"
    [ "$STATUS" = 201 ] || { bad "write $i: $STATUS"; break; }
done
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=
[ -s "$DEV/vault/coffre.db-wal" ] && ok || bad "the writes sat in the WAL"
rm -f "$DEV/vault/coffre.db-wal" "$DEV/vault/coffre.db-shm"
"$COFFRE" server --config "$DEV/server.json" >>"$DEV.log" 2>&1 &
SERVER_PID=$!
wait_ready "$DEV" "$PORT" admin
unseal
# Before: unsealed and served; 404 for writes the log records as 201.
[ "$STATUS" = 503 ] && ok || bad "unseal of a store behind its log: $STATUS"
check "says why" '.error.message | test("store is behind the audit log")'
expect 200 admin GET /v1/sys/seal-status
check "sealed again" '.sealed == true'
expect 503 office GET "/v1/persons?limit=1&$P"
"$COFFRE" get "${S[@]}" 1 >/dev/null 2>"$WORK/get2.err" && bad "CLI on it" || ok
grep -q "store is behind" "$WORK/get2.err" && ok || bad "CLI says why: $(cat "$WORK/get2.err")"
stop_server

# --- item 6: writes while the audit log's disk is full -----------------------
# Before: 503 "nothing was disclosed" for every write, all of them stored.
FULL=$WORK/full
mkdir -p "$FULL/audit"
if mount -t tmpfs -o size=128k tmpfs "$FULL/audit" 2>/dev/null; then
    PORT=$(free_port)
    DEV=$FULL
    start_dev "$FULL" "$PORT" --demo-persons 5
    expect 200 admin GET /v1/sys/stats
    N0=$(echo "$BODY" | jq .persons)
    dd if=/dev/zero of="$FULL/audit/filler" bs=4k 2>/dev/null
    stored=0 refused=0
    for i in $(seq 1 300); do
        req platform POST /v1/persons \
            "$(echo "$APP" | jq -c --arg k "FULL-$i" '.source_key = $k | .document.number = $k')"
        case $STATUS in
        201) stored=$((stored + 1)) ;;
        503) refused=$((refused + 1)) ;;
        *) bad "write $i: $STATUS" ;;
        esac
        [ "$refused" -ge 20 ] && break
    done
    echo "the disk filled after $stored writes; $refused refused"
    [ "$refused" -ge 20 ] && ok || bad "writes refused"
    check "audit_unavailable" '.error.code == "audit_unavailable"'
    expect 200 admin GET /v1/sys/stats
    [ "$(echo "$BODY" | jq .persons)" = $((N0 + stored)) ] && ok ||
        bad "stored: $(echo "$BODY" | jq .persons), want $((N0 + stored))"
    stop_server
    umount "$FULL/audit"
else
    echo "SKIP: the full-disk test needs to mount a tmpfs (root)"
fi
