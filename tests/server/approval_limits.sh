#!/bin/bash
# Integration, issue 13 item 11 (docs/approvals.md section 1): one
# principal cannot fill the approval slots (at most approval_pending_max,
# default 4, pending requests per requester: 429 too_many_pending naming
# the cap, while the others keep asking); the auditor asks for nothing;
# a bulk_read scope names a principal of the policy or is refused with
# 400 unknown_principal naming it, before anything is stored.
. "$(dirname "$0")/lib.sh"
trap 'finish; exit $?' EXIT
PORT=$(free_port)
DEV=$WORK/dev
start_dev "$DEV" "$PORT" --demo-persons 0

# ask WHO SCOPE: WHO asks for a bulk_read approval of SCOPE
ask() {
    req "$1" POST /v1/approvals '{"operation":"bulk_read","scope":"'"$2"'"}'
}

# --- a scope names a principal of the policy -------------------------------
# Before: any name was stored and could be granted, e.g. for a principal
# the next policy change would add.
expect 400 office POST /v1/approvals '{"operation":"bulk_read","scope":"nobody:10"}'
check "names the unknown principal" '.error.code == "unknown_principal" and
  (.error.message | test("nobody"))'
expect 400 custodian POST /v1/approvals '{"operation":"bulk_read","scope":"gate2:10"}'
check "custodian too" '.error.code == "unknown_principal" and
  (.error.message | test("gate2"))'
# principals not named after a role are known by their names; an
# audience (partner's) is not a principal
expect 201 office POST /v1/approvals '{"operation":"bulk_read","scope":"office-restricted:10"}'
expect 201 office POST /v1/approvals '{"operation":"bulk_read","scope":"partner:10"}'
expect 400 office POST /v1/approvals '{"operation":"bulk_read","scope":"partner-system:10"}'
check "an audience is not a principal" '.error.code == "unknown_principal"'

# --- one requester, at most 4 pending --------------------------------------
# Before: the gate's 64 requests were all accepted and took every slot:
# the custodians' next request was 429 too_many_approvals for 15 minutes.
n=0
for i in $(seq 1 64); do
    ask gate "gate:$i"
    [ "$STATUS" = 201 ] && n=$((n + 1))
    [ "$STATUS" = 201 ] && [ "$n" -eq 1 ] && G1=$(echo "$BODY" | jq -r .id)
    [ "$STATUS" = 429 ] && break
done
[ "$n" -eq 4 ] && ok || bad "the gate had $n requests accepted, want 4"
[ "$STATUS" = 429 ] && ok || bad "the gate's 5th request: want 429"
check "names the cap" '.error.code == "too_many_pending" and
  (.error.message | test("4 pending")) and
  (.error.message | test("approval_pending_max"))'
expect 429 gate POST /v1/approvals '{"operation":"bulk_read","scope":"gate:99"}'
expect 201 custodian POST /v1/approvals '{"operation":"epoch_destroy","scope":"240"}'
check "the others still ask" '.state == "pending"'
expect 201 office POST /v1/approvals '{"operation":"bulk_read","scope":"office:5"}'
expect 201 printer POST /v1/approvals '{"operation":"bulk_read","scope":"printer:5"}'
# a granted request is no longer pending: the gate may ask once more
expect 200 custodian POST "/v1/approvals/$G1/approve"
expect 200 custodian2 POST "/v1/approvals/$G1/approve"
check "granted and in force" '.state == "used"'
expect 201 gate POST /v1/approvals '{"operation":"bulk_read","scope":"gate:7"}'
expect 429 gate POST /v1/approvals '{"operation":"bulk_read","scope":"gate:8"}'
# the refusals are audited like every request
expect 200 auditor GET "/v1/audit/entries?start=0&end=1000"
check "refusals audited" '[.entries[] | select(.action == "approval.request"
  and .status == 429)] | length == 3'

# nothing stored: the office's refused requests took none of its 4 slots
# (3 pending of its own so far, 2 of them above; one more fits)
expect 201 office POST /v1/approvals '{"operation":"bulk_read","scope":"office:6"}'
expect 429 office POST /v1/approvals '{"operation":"bulk_read","scope":"office:7"}'
check "the office's cap" '.error.code == "too_many_pending"'

# --- the auditor asks for nothing (docs/approvals.md; the route says so) ----
expect 403 auditor POST /v1/approvals '{"operation":"bulk_read","scope":"auditor:10"}'
check "auditor refused" '.error.code == "forbidden"'
stop_server
[ "$SERVER_RC" = 0 ] && ok || bad "exit status after SIGTERM: $SERVER_RC"
