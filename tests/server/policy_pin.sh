#!/bin/bash
# Integration (docs/approvals.md section 6): the policy pin. The first
# unseal pins the configuration's policy digest; a restart under the same
# policy, or one that differs in operational keys only, serves; a changed
# policy (here a new office principal with protected access) is refused at
# the unseal (409 policy_unapproved, the vault sealed again, the new
# principal served nothing) until m custodians grant a policy_change
# approval naming its digest, which the unseal then consumes; too few
# approvers or an approval of another digest do not do. Key order and the
# CA file's path do not change the digest, the CA's content does. Every
# step is in the audit log.
. "$(dirname "$0")/lib.sh"
trap 'finish; exit $?' EXIT
PORT=$(free_port)
DEV=$WORK/dev
start_dev "$DEV" "$PORT" --dev-shares --demo-persons 20
CFG=$DEV/server.json
P='purpose=it'

# hash FILE: the policy digest of a configuration, no vault involved
hash() {
    "$COFFRE" server --config "$1" --policy-hash
}

# restart FILE: stop the server, start it (sealed) on configuration FILE
N=0
restart() {
    stop_server
    N=$((N + 1))
    "$COFFRE" server --config "$1" >"$WORK/run$N.log" 2>&1 &
    SERVER_PID=$!
    wait_ready "$DEV" "$PORT" admin
}

# unseal3 STATUS: give three shares; the third must answer STATUS
unseal3() {
    local k
    for k in 1 2; do
        expect 200 "$(custodian_of $k)" POST /v1/sys/unseal \
            "$(jq -Rs '{share: .}' "$DEV/shares/share-$k.txt")"
    done
    expect "$1" custodian3 POST /v1/sys/unseal \
        "$(jq -Rs '{share: .}' "$DEV/shares/share-3.txt")"
}

# refused WHY: the last unseal was refused for the policy, naming WHY
refused() {
    check "policy_unapproved" '.error.code == "policy_unapproved"'
    check "names the running digest" ".error.message | contains(\"$H1\")"
    check "says why: $1" ".error.message | contains(\"$1\")"
    expect 200 custodian GET /v1/sys/seal-status
    check "sealed again" '.sealed == true and .have == 0'
    expect 503 office GET "/v1/persons?state=submitted&limit=1"
    expect 503 office-restricted GET "/v1/persons?state=submitted&limit=1"
    grep -q "pinned policy is $H0" "$WORK/run$N.log" && ok ||
        bad "stderr names the pinned digest"
}

# --- the digest: sorted keys, operational keys, the CA's path and bytes ---
H0=$(hash "$CFG") && ok || bad "--policy-hash failed"
[[ $H0 =~ ^[0-9a-f]{64}$ ]] && ok || bad "digest: $H0"
jq -S . "$CFG" >"$WORK/sorted.json"
[ "$(hash "$WORK/sorted.json")" = "$H0" ] && ok || bad "key order counts"
jq --arg l "127.0.0.1:$PORT" '.threads = 2 | .body_max_bytes = 4096 |
    .retention_sweep_seconds = 5 | .mlock = false | .listen = $l' \
    "$CFG" >"$WORK/ops.json"
[ "$(hash "$WORK/ops.json")" = "$H0" ] && ok || bad "operational keys count"
cp "$DEV/ca.pem" "$WORK/ca-copy.pem"
jq --arg c "$WORK/ca-copy.pem" '.client_ca = $c' "$CFG" >"$WORK/ca-path.json"
[ "$(hash "$WORK/ca-path.json")" = "$H0" ] && ok || bad "the CA's path counts"
{ cat "$DEV/ca.pem"; echo; } >"$WORK/ca-other.pem"
jq --arg c "$WORK/ca-other.pem" '.client_ca = $c' "$CFG" >"$WORK/ca-bytes.json"
H2=$(hash "$WORK/ca-bytes.json")
[ "$H2" != "$H0" ] && ok || bad "the CA's bytes do not count"
jq '.approvals_required = 3' "$CFG" >"$WORK/m3.json"
[ "$(hash "$WORK/m3.json")" != "$H0" ] && ok || bad "approvals_required"
jq '.guard.enabled = false' "$CFG" >"$WORK/noguard.json"
[ "$(hash "$WORK/noguard.json")" != "$H0" ] && ok || bad "the guard"
if "$COFFRE" server --policy-hash 2>/dev/null; then
    bad "--policy-hash without --config"
else
    ok
fi

# A new principal: the office-restricted certificate, with protected
# access, under another name (prepositioned by the host's admin).
FP=$(jq -r '.principals[] | select(.name == "office-restricted") |
    .fingerprint' "$CFG")
jq --arg fp "$FP" '.principals |= (map(select(.name != "office-restricted"))
    + [{name: "intruder", role: "office", fingerprint: $fp,
        protected_access: true}])' "$CFG" >"$WORK/new.json"
H1=$(hash "$WORK/new.json")
[ "$H1" != "$H0" ] && ok || bad "a new principal does not count"

# --- first use pins ---------------------------------------------------------
unseal3 200
check "unsealed" '.sealed == false'
expect 200 office GET "/v1/persons?state=submitted&limit=1&$P"
expect 200 auditor GET "/v1/audit/entries?start=0&end=1000"
check "policy.pin" "[.entries[] | select(.action == \"policy.pin\" and
    (.purpose | contains(\"$H0\")))] | length == 1"

# --- the same policy, and operational changes, serve ------------------------
restart "$CFG"
unseal3 200
expect 200 office GET "/v1/persons?state=submitted&limit=1&$P"
restart "$WORK/ops.json"
unseal3 200
expect 200 office GET "/v1/persons?state=submitted&limit=1&$P"

# --- a changed policy without an approval: refused --------------------------
restart "$WORK/new.json"
unseal3 409
refused "no policy_change approval names it"

# --- on the pinned policy: one approval too few, one of another digest -------
restart "$CFG"
unseal3 200
expect 201 admin POST /v1/approvals \
    "{\"operation\":\"policy_change\",\"scope\":\"$H1\"}"
AP=$(echo "$BODY" | jq -r .id)
expect 200 custodian POST "/v1/approvals/$AP/approve"
expect 201 admin POST /v1/approvals \
    "{\"operation\":\"policy_change\",\"scope\":\"$H2\"}"
AW=$(echo "$BODY" | jq -r .id)
expect 200 custodian POST "/v1/approvals/$AW/approve"
expect 200 custodian2 POST "/v1/approvals/$AW/approve"
check "granted for another digest" '.state == "granted"'
restart "$WORK/new.json"
unseal3 409
refused "1 of 2 custodians"

# --- m of n: the unseal consumes the approval and moves the pin ------------
restart "$CFG"
unseal3 200
expect 200 custodian2 POST "/v1/approvals/$AP/approve"
check "granted" '.state == "granted"'
restart "$WORK/new.json"
unseal3 200
check "unsealed under the approved policy" '.sealed == false'
expect 200 office-restricted GET "/v1/persons?state=submitted&limit=1&$P"
expect 200 custodian GET "/v1/approvals/$AP"
check "consumed" '.state == "used"'
expect 200 custodian GET "/v1/approvals/$AW"
check "the other digest's approval untouched" '.state == "granted"'
expect 200 auditor GET "/v1/audit/entries?start=0&end=1000"
check "policy.change names the approval and both digests" "[.entries[] |
    select(.action == \"policy.change\" and .pseudonym == \"$AP\" and
    .purpose == \"policy $H1 from $H0\")] | length == 1"
check "refusals are entries" "[.entries[] | select(.action ==
    \"policy.refuse\" and .status == 409)] | length == 2"
check "the refused unseals too" "[.entries[] | select(.action ==
    \"seal.unseal\" and .outcome == \"policy_unapproved\")] | length == 2"

# --- the approval was used once: going back needs a new one -----------------
restart "$CFG"
unseal3 409
check "the old policy is a change now" '.error.code == "policy_unapproved"'
check "names its digest" ".error.message | contains(\"$H0\")"
restart "$WORK/new.json"
unseal3 200
expect 200 office-restricted GET "/v1/persons?state=submitted&limit=1&$P"
stop_server
[ "$SERVER_RC" = 0 ] && ok || bad "exit status: $SERVER_RC"
