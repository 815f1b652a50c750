#!/bin/bash
# Integration: the audit log of a dev server. Every audited route makes
# exactly one entry with the right fields, refusals included; other routes
# and unauthenticated requests make none; no entry holds a personal value;
# `coffre audit verify --url` proves the log, and consistency with a saved
# checkpoint; export and query. Then the fault test: the audit directory
# on a tiny tmpfs that is filled, after which personal-data requests get
# 503 audit_unavailable and disclose nothing and health says degraded;
# freed again, the log recovers by itself and health says ok.
. "$(dirname "$0")/lib.sh"
trap 'umount "$WORK/dev2/audit" 2>/dev/null; finish; exit $?' EXIT
PORT=$(free_port)
DEV=$WORK/dev
start_dev "$DEV" "$PORT" --demo-persons 60
P='purpose=audit%20test'
TLS=(--cacert "$DEV/ca.pem" --cert "$DEV/auditor.pem" --key "$DEV/auditor.key")
URL="https://127.0.0.1:$PORT"

# audit_size: the durable size, in $SIZE.
audit_size() {
    req auditor GET "/v1/audit/entries?start=0&end=0"
    SIZE=$(echo "$BODY" | jq .size)
}

# audited N WHAT JQ: the last request made exactly N entries, and the
# last one satisfies JQ.
audited() {
    local before=$SIZE n=$1 what=$2 cond=${3-}
    local keep_status=$STATUS keep_body=$BODY
    audit_size
    if [ "$((SIZE - before))" != "$n" ]; then
        bad "$what: $((SIZE - before)) entries, want $n"
    else
        ok
    fi
    if [ "$n" -gt 0 ]; then
        req auditor GET "/v1/audit/entries?start=$((SIZE - 1))&end=$SIZE"
        check "$what: entry" ".entries[0] | $cond"
    fi
    STATUS=$keep_status BODY=$keep_body
}

[ -s "$DEV/audit.vkey" ] && ok || bad "dev mode wrote audit.vkey"
expect 200 auditor GET /v1/audit/key
[ "$BODY" = "$(cat "$DEV/audit.vkey")" ] && ok || bad "key route = audit.vkey"
audit_size

# --- not audited: health, stats, metrics, audit routes, strangers --------
expect 200 office GET /v1/sys/health
expect 200 auditor GET /v1/sys/stats
expect 200 admin GET /metrics
expect 401 - GET "/v1/persons?state=submitted"
expect 401 - GET /nowhere
expect 200 auditor GET /v1/audit/checkpoint
audited 0 "non-personal routes"

# --- every audited route, one entry each ----------------------------------
FP_OFFICE=$(openssl x509 -in "$DEV/office.pem" -outform DER | sha256sum | cut -c1-64)
expect 200 office GET "/v1/persons?state=submitted&limit=3&$P"
audited 1 "list" ".action == \"person.list\" and .role == \"office\" and .principal == \"$FP_OFFICE\" and .classes == [\"public\"] and .purpose == \"audit test\" and .status == 200 and .outcome == \"ok\" and .pseudonym == \"\""
O=$(echo "$BODY" | jq -r '.items[0].pseudonym')
expect 200 office GET "/v1/persons/$O?fields=public,identity,contact,document&$P"
audited 1 "read" ".action == \"person.read\" and .pseudonym == \"$O\" and .classes == [\"public\",\"identity\",\"contact\",\"document\"]"
SURNAME=$(echo "$BODY" | jq -r .person.identity.surname)
DOCNO=$(echo "$BODY" | jq -r '.person.document.number // "AUDITDOC77"')
MAIL=$(echo "$BODY" | jq -r .person.contact.email)
# One in ten generated persons has no document: give this one a whole one.
APP=$(echo "$BODY" | jq -c '.person | del(.source_key) | .public.state = "submitted" | .document = (.document // {"type": "passport", "country": "FRA", "expiry": "2034-01-01"}) | .document.number = "AUDITDOC77" | .contact.email = "audit.secret@example.org" | .identity.surname = "Auditsecretname"')
expect 201 platform POST /v1/persons "$APP"
PL=$(echo "$BODY" | jq -r .pseudonym)
audited 1 "create" ".action == \"person.create\" and .role == \"platform\" and .pseudonym == \"$PL\" and .status == 201 and (.classes | index(\"identity\") != null) and .purpose == \"\""
expect 200 office GET "/v1/persons?document_number=AUDITDOC77&$P"
OF=$(echo "$BODY" | jq -r '.items[0].pseudonym')
audited 1 "search" '.action == "person.search" and .classes == [] and .pseudonym == ""'
expect 200 office PATCH "/v1/persons/$OF" '{"contact":{"email":"audit.secret2@example.org","address":"1 rue Secrète","postal_code":"75001","city":"Paris","country":"FRA"}}'
audited 1 "update" ".action == \"person.update\" and .pseudonym == \"$OF\" and .classes == [\"contact\"]"
expect 200 office POST "/v1/persons/$OF/state" '{"state":"vetting"}'
audited 1 "state" ".action == \"person.state\" and .pseudonym == \"$OF\" and .classes == []"
expect 200 vetting GET "/v1/vetting/pending?limit=1000"
VE=$(echo "$BODY" | jq -r '.items[] | select(.identity.surname == "Auditsecretname") | .pseudonym' | head -1)
audited 1 "pending" '.action == "vetting.pending" and .role == "vetting" and .classes == ["public","identity","contact"]'
expect 200 vetting POST "/v1/vetting/$VE/verdict" '{"verdict":"favourable"}'
audited 1 "verdict" ".action == \"vetting.verdict\" and .pseudonym == \"$VE\" and .classes == [\"vetting\"]"
expect 200 custodian POST /v1/sys/unseal '{"share":"x"}'
audited 1 "unseal" '.action == "seal.unseal" and .role == "custodian"'
# refusals are entries, and disclose no class
expect 403 platform GET "/v1/persons/$PL?fields=identity"
audited 1 "403" ".action == \"person.read\" and .status == 403 and .outcome == \"forbidden_class\" and .classes == [] and .pseudonym == \"$PL\""
expect 403 auditor GET "/v1/persons/$O?fields=public"
audited 1 "403 by role" '.status == 403 and .outcome == "forbidden" and .role == "auditor"'
expect 404 office GET "/v1/persons/$PL?fields=public&$P"
audited 1 "404" '.status == 404 and .outcome == "not_found"'
expect 400 office GET "/v1/persons/$O?fields=identity"
audited 1 "400" '.status == 400 and .outcome == "missing_purpose" and .classes == []'
expect 200 office DELETE "/v1/persons/$OF"
audited 1 "erase" ".action == \"person.erase\" and .pseudonym == \"$OF\""

# --- no personal value in any entry -----------------------------------------
req auditor GET "/v1/audit/entries?start=0&end=1000"
echo "$BODY" >"$WORK/entries.json"
echo "$BODY" | jq -r '.entries[].canonical' | base64 -d >"$WORK/entries.bin" 2>/dev/null
for v in "$SURNAME" "$DOCNO" "$MAIL" Auditsecretname AUDITDOC77 audit.secret Secrète; do
    if [ -n "$v" ] && [ "$v" != null ] &&
        ! grep -qF -- "$v" "$WORK/entries.json" "$WORK/entries.bin"; then
        ok
    else
        bad "personal value '$v' in the audit entries"
    fi
done
check "entries hold only known actions" '[.entries[].action] | all(test("^(person|vetting|seal|policy)\\."))'

# --- the auditor's tool over the network -------------------------------------
sleep 1.2 # a checkpoint of everything so far
"$COFFRE" audit verify --vkey "$DEV/audit.vkey" --url "$URL" "${TLS[@]}" \
    --save "$WORK/ck1" >"$WORK/v1.txt" 2>&1 && ok || bad "verify --url: $(cat "$WORK/v1.txt")"
grep -q "Recomputed the tree" "$WORK/v1.txt" && ok || bad "verify report"
for i in 1 2 3; do req office GET "/v1/persons/$O?fields=public&$P"; done
sleep 1.2
"$COFFRE" audit verify --vkey "$DEV/audit.vkey" --url "$URL" "${TLS[@]}" \
    --saved "$WORK/ck1" >"$WORK/v2.txt" 2>&1 && ok || bad "verify --saved: $(cat "$WORK/v2.txt")"
grep -q "consistency proof from" "$WORK/v2.txt" && ok || bad "consistency reported"
"$COFFRE" audit verify --vkey "$(cat "$DEV/audit.vkey" | sed 's/+[0-9a-f]\{8\}+/+00000000+/')" \
    --url "$URL" "${TLS[@]}" >"$WORK/v3.txt" 2>&1 && bad "a wrong key verified" || ok
grep -q BREAK "$WORK/v3.txt" && ok || bad "wrong key named"
"$COFFRE" audit export --url "$URL" "${TLS[@]}" --out "$WORK/export" >/dev/null &&
    "$COFFRE" audit verify --vkey "$DEV/audit.vkey" --log "$WORK/export" >/dev/null &&
    ok || bad "export then verify --log"
"$COFFRE" audit query --url "$URL" "${TLS[@]}" --pseudonym "$O" >"$WORK/q.txt"
[ "$(grep -c "pseudonym=$O" "$WORK/q.txt")" -ge 5 ] && ok || bad "query by pseudonym"
"$COFFRE" audit query --url "$URL" "${TLS[@]}" --counts >"$WORK/c.txt"
grep -q '^role office: ' "$WORK/c.txt" && ok || bad "counts per role"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$DEV/ca.pem" \
    --cert "$DEV/office.pem" --key "$DEV/office.key" "$URL/v1/audit/entries?start=0&end=1")
[ "$STATUS" = 403 ] && ok || bad "office reads entries: $STATUS"
expect 400 auditor GET "/v1/audit/proof/inclusion?index=5&size=2"
expect 400 auditor GET "/v1/audit/proof/consistency?from=0&to=2"
expect 400 auditor GET "/v1/audit/entries?start=-1&end=2"
expect 400 auditor GET "/v1/audit/entries?start=3"
expect 200 admin GET /metrics
echo "$BODY" >"$WORK/metrics.txt"
grep -E '^(# (HELP|TYPE) )?coffre_audit_' "$WORK/metrics.txt" |
    promtool check metrics && ok || bad "promtool"
audit_size
grep -q "^coffre_audit_entries_total $SIZE$" "$WORK/metrics.txt" && ok || bad "entries metric"
grep -q '^coffre_audit_up 1$' "$WORK/metrics.txt" && ok || bad "audit up"
stop_server

# The two faults below are the file log's: a damaged entries file, and
# the log's own disk filling up. On PostgreSQL the log is rows of the
# vault's database (docs/audit.md section 14): tests/server/audit_pg.sh
# checks its faults (an entry the database refuses, a write whose commit
# fails, the signer killed).
if [ "${COFFRE_TEST_STORE:-}" = pg ]; then
    echo "the log is in PostgreSQL: the file faults do not apply"
else
# --- a log damaged at rest: the server refuses to start, says where, and
# leaves the file as it is ----------------------------------------------------
python3 -c "
f=open('$DEV/audit/entries','r+b'); f.seek(20); c=f.read(1); f.seek(20)
f.write(bytes([c[0]^1]))"
SUM=$(sha256sum <"$DEV/audit/entries")
timeout 60 "$COFFRE" server --dev --listen "127.0.0.1:$(free_port)" \
    --dev-dir "$DEV" --demo-persons 0 $(store_opt) >"$WORK/damaged.log" 2>&1
rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] && ok || bad "a server on a damaged log: exit $rc"
grep -q "audit log: .*/entries: record 0 at byte offset 0: its bytes do not match its trailer hash" \
    "$WORK/damaged.log" && ok || bad "the refusal names the record: $(cat "$WORK/damaged.log")"
[ "$(sha256sum <"$DEV/audit/entries")" = "$SUM" ] && ok || bad "the damaged log was changed"

# --- fault: the log's disk fills up, then has room again ---------------------
# While the log refuses entries, audited requests get 503 and disclose
# nothing, and health says degraded (503) with the reason. Once there is
# room again the log recovers by itself, without a restart: audited
# requests are served, health says ok, the log verifies, and no refused
# request left an entry (each read states its own purpose, to be looked for).
DEV2=$WORK/dev2
mkdir -p "$DEV2/audit"
if mount -t tmpfs -o size=128k tmpfs "$DEV2/audit" 2>/dev/null; then
    PORT=$(free_port)
    DEV=$DEV2
    URL="https://127.0.0.1:$PORT"
    start_dev "$DEV2" "$PORT" --demo-persons 5
    expect 200 office GET "/v1/persons?state=submitted&limit=1&$P"
    O=$(echo "$BODY" | jq -r '.items[0].pseudonym')
    expect 200 office GET "/v1/persons/$O?fields=identity&$P"
    SN=$(echo "$BODY" | jq -r .person.identity.surname)
    ACCEPTED=() REFUSED=()
    # read PURPOSE: one audited read of $O, filed by its answer
    read_as() {
        req office GET "/v1/persons/$O?fields=identity&purpose=${1// /%20}"
        if [ "$STATUS" = 200 ]; then ACCEPTED+=("$1"); else REFUSED+=("$1"); fi
    }
    dd if=/dev/zero of="$DEV2/audit/filler" bs=4k 2>/dev/null
    # the entries file's last page still has room for a few entries
    for i in $(seq 1 200); do
        read_as "fill $i"
        [ "$STATUS" = 200 ] || break
    done
    echo "the disk filled after $i reads"
    read_as "refused 1"
    [ "$STATUS" = 503 ] && ok || bad "a read while the disk is full"
    check "audit_unavailable" '.error.code == "audit_unavailable" and .error.message'
    echo "$BODY" | grep -qF -- "$SN" && bad "a refused read disclosed the surname" || ok
    expect 503 platform POST /v1/persons "$APP"
    expect 503 office GET "/v1/persons?state=submitted&limit=1&purpose=refused%20list"
    check "no list" '.items == null'
    req admin GET /v1/sys/health # its own answer, not an error object
    [ "$STATUS" = 503 ] && ok || bad "health while the log refuses entries"
    check "health degraded, with the reason" '.status == "degraded" and .sealed == false and (.reasons | length) == 1 and (.reasons[0] | test("^audit log unavailable since [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z: (entries|checkpoints): [a-z ]+: No space left on device$"))'
    echo "health while full: $BODY"
    expect 200 admin GET /metrics
    echo "$BODY" | grep -q '^coffre_audit_up 0$' && ok || bad "audit down in metrics"
    # room again: the log recovers by itself, in a few seconds
    rm -f "$DEV2/audit/filler"
    t0=$(date +%s%N)
    for i in $(seq 1 100); do
        read_as "after $i"
        [ "$STATUS" = 200 ] && break
        sleep 0.1
    done
    echo "audited reads served again $(( ($(date +%s%N) - t0) / 1000000 )) ms after the space returned"
    [ "$STATUS" = 200 ] && ok || bad "the log did not recover within 10 s"
    expect 200 admin GET /v1/sys/health
    check "health ok again" '.status == "ok" and .sealed == false and (has("reasons") | not)'
    read_as "after recovery"
    [ "$STATUS" = 200 ] && ok || bad "a read after the recovery"
    expect 200 admin GET /metrics
    echo "$BODY" | grep -q '^coffre_audit_up 1$' && ok || bad "audit up again in metrics"
    echo "$BODY" | grep -Eq '^coffre_audit_recoveries_total [1-9][0-9]*$' && ok ||
        bad "recoveries in metrics"
    stop_server
    "$COFFRE" audit verify --vkey "$DEV2/audit.vkey" --log "$DEV2/audit" \
        >"$WORK/v4.txt" 2>&1 && ok || bad "verify after recovery: $(cat "$WORK/v4.txt")"
    "$COFFRE" audit query --log "$DEV2/audit" --pseudonym "$O" >"$WORK/q2.txt"
    for p in "${REFUSED[@]}"; do
        grep -qF "purpose=\"$p\"" "$WORK/q2.txt" && bad "refused read '$p' has an entry" || ok
    done
    for p in "${ACCEPTED[@]}"; do
        [ "$(grep -cF "purpose=\"$p\"" "$WORK/q2.txt")" = 1 ] && ok ||
            bad "answered read '$p' has no entry"
    done
    echo "${#ACCEPTED[@]} reads answered, ${#REFUSED[@]} refused"
    umount "$DEV2/audit"
else
    echo "SKIP: the fault test needs to mount a tmpfs (root)"
fi
fi
