#!/bin/bash
# Integration: a vault with Shamir shares starts sealed: 503 to everything
# but health, seal status, unseal (custodian, one share per call) and
# metrics; the vetting deadline refuses on its own; SIGTERM loses no
# acknowledged write (restart from the configuration file and read it).
. "$(dirname "$0")/lib.sh"
trap 'finish; exit $?' EXIT
PORT=$(free_port)
DEV=$WORK/dev
start_dev "$DEV" "$PORT" --dev-shares --demo-persons 30 --vetting-deadline 2
P='purpose=it'

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
    local k=0
    for f in "$DEV"/shares/share-*.txt; do
        k=$((k + 1))
        [ $k -gt 3 ] && break
        expect 200 custodian POST /v1/sys/unseal "$(jq -Rs '{share: .}' "$f")"
        if [ $k -lt 3 ]; then
            check "progress $k" ".sealed == true and .have == $k and .need == 3"
        else
            check "unsealed" '.sealed == false'
        fi
    done
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

# --- SIGTERM after an acknowledged write ---------------------------------
expect 200 office GET "/v1/persons/$O?fields=public,identity,contact,document&$P"
APP=$(echo "$BODY" | jq -c '.person | del(.source_key) | .public.state = "submitted" | .document.number = "DURABLE42" | .contact.email = "durable@example.org"')
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
