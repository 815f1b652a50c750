#!/bin/bash
# Integration: a vault with Shamir shares starts sealed: 503 to everything
# but health, seal status, unseal (custodian, one share per call, one
# share per custodian) and metrics; the vetting deadline refuses on its
# own; SIGTERM loses no acknowledged write (restart from the configuration
# file and read it).
. "$(dirname "$0")/lib.sh"
trap 'finish; exit $?' EXIT
PORT=$(free_port)
DEV=$WORK/dev
start_dev "$DEV" "$PORT" --dev-shares --demo-persons 30 --vetting-deadline 2
P='purpose=it'

# share K: the unseal body with share file K
share() {
    jq -Rs '{share: .}' "$DEV/shares/share-$1.txt"
}

unseal_all() {
    expect 200 custodian GET /v1/sys/seal-status
    check "sealed" '.sealed == true'
    expect 503 office GET "/v1/persons?state=submitted"
    check "sealed code" '.error.code == "sealed"'
    expect 503 platform POST /v1/persons '{}'
    expect 503 auditor GET /v1/sys/stats
    expect 200 admin GET /v1/sys/health
    check "health says sealed" '.sealed == true'
    expect 200 admin GET /metrics
    echo "$BODY" | grep -q '^coffre_sealed 1$' && ok || bad "sealed gauge"
    expect 403 office POST /v1/sys/unseal "{\"share\":\"x\"}"
    expect 400 custodian POST /v1/sys/unseal '{"share":"coffre-share-v1 junk"}'
    expect 400 custodian POST /v1/sys/unseal '{"share":5}'
    expect 400 custodian POST /v1/sys/unseal '{"shares":"x"}'
    # The threshold counts distinct custodians (docs/keys.md): one
    # custodian principal gives one share, whatever shares it holds.
    # Before: the custodian's second share counted, so one certificate
    # holding three share files unsealed alone.
    expect 200 custodian POST /v1/sys/unseal "$(share 1)"
    check "progress 1" '.sealed == true and .have == 1 and .need == 3'
    expect 409 custodian POST /v1/sys/unseal "$(share 2)"
    check "one share per custodian" '.error.code == "share_already_given" and
      (.error.message | test("custodian"))'
    expect 200 custodian GET /v1/sys/seal-status
    check "the second share did not count" '.sealed == true and .have == 1'
    expect 200 custodian2 POST /v1/sys/unseal "$(share 2)"
    check "progress 2" '.sealed == true and .have == 2 and .need == 3'
    expect 409 custodian2 POST /v1/sys/unseal "$(share 3)"
    expect 200 custodian3 POST /v1/sys/unseal "$(share 3)"
    check "unsealed" '.sealed == false'
    expect 200 office GET "/v1/persons?state=submitted&limit=5"
}
unseal_all

# --- the vetting deadline (2 s here) refuses on its own --------------------
expect 200 office GET "/v1/persons?state=submitted&limit=1"
O=$(echo "$BODY" | jq -r '.items[0].pseudonym')
expect 200 vetting GET "/v1/vetting/pending?limit=1000"
N0=$(echo "$BODY" | jq '.items | length')
expect 200 office POST "/v1/persons/$O/state" '{"state":"vetting"}'
expect 200 vetting GET "/v1/vetting/pending?limit=1000"
check "pending" ".items | length == $N0 + 1"
sleep 4
expect 200 office GET "/v1/persons/$O?fields=public&$P"
check "refused past the deadline" '.person.public.state == "refused"'
expect 200 vetting GET "/v1/vetting/pending?limit=1000"
check "not pending any more" ".items | length == $N0"
# A verdict given in time stops the clock: the request found its verdict,
# so the sweep must not refuse it while the office has yet to approve
# (before: refused past the deadline, its favourable verdict lost).
expect 200 office GET "/v1/persons?state=submitted&limit=1"
O2=$(echo "$BODY" | jq -r '.items[0].pseudonym')
expect 200 office GET "/v1/persons/$O2?fields=identity&$P"
SUR2=$(echo "$BODY" | jq -r .person.identity.surname)
expect 200 office POST "/v1/persons/$O2/state" '{"state":"vetting"}'
expect 200 vetting GET "/v1/vetting/pending?limit=1000"
V2=$(echo "$BODY" | jq -r --arg s "$SUR2" '.items[] | select(.identity.surname == $s) | .pseudonym' | head -1)
expect 200 vetting POST "/v1/vetting/$V2/verdict" '{"verdict":"favourable"}'
sleep 4
expect 200 vetting GET "/v1/vetting/pending?limit=1000" # runs the sweep
expect 200 office GET "/v1/persons/$O2?fields=public,vetting&$P"
check "decided in time: still vetting, verdict kept" \
    '.person.public.state == "vetting" and .person.vetting.status == "favourable"'
expect 200 office POST "/v1/persons/$O2/state" '{"state":"approved"}'

# --- SIGTERM after an acknowledged write ---------------------------------
expect 200 office GET "/v1/persons/$O?fields=public,identity,contact,document&$P"
APP=$(echo "$BODY" | jq -c '.person | del(.source_key) | .public.state = "submitted" | .document = {"type": "passport", "number": "DURABLE42", "country": "FRA", "expiry": "2035-01-01"} | .contact.email = "durable@example.org"')
expect 201 platform POST /v1/persons "$APP"
stop_server
[ "$SERVER_RC" = 0 ] && ok || bad "exit status after SIGTERM: $SERVER_RC"
"$COFFRE" server --config "$DEV/server.json" >"$DEV.log2" 2>&1 &
SERVER_PID=$!
wait_ready "$DEV" "$PORT" admin
unseal_all
expect 200 office GET "/v1/persons?document_number=DURABLE42&$P"
check "acknowledged write survived" '.items | length == 1'
stop_server
[ "$SERVER_RC" = 0 ] && ok || bad "second exit status: $SERVER_RC"
