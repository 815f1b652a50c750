#!/bin/bash
# Integration, guard part B (docs/approvals.md): custodian approvals (too
# few, one custodian twice, wrong scope, reused, unknown, expired), the
# retention sweep and its signed receipt (verified by `coffre receipt
# verify`, refused once one byte is altered), destruction of a closed
# epoch only, erasure requests with receipts, the subject-access export
# (data and accesses, another role's included), the audit entries of each
# step, and the admin refused everything personal and every approval.
. "$(dirname "$0")/lib.sh"
trap 'finish; exit $?' EXIT
PORT=$(free_port)
DEV=$WORK/dev
start_dev "$DEV" "$PORT" --demo-persons 0 --retention 0
P='purpose=subject%20access%20request'

# person VALID_UNTIL SURNAME: a valid application as JSON
person() {
    jq -nc --arg u "$1" --arg s "$2" --arg e "$(echo "$2" | tr A-Z a-z)" '{
      public: {category: "media", organisation: "AFP", valid_from: "2019-12-01",
               valid_until: $u},
      identity: {surname: $s, given_names: "Paul", sex: "M",
                 birth_date: "1990-02-03", birth_place: "Lyon",
                 birth_country: "FRA", nationalities: ["FRA"]},
      contact: {address: "1 rue de la Paix", postal_code: "75002",
                city: "Paris", country: "FRA", email: "\($e)@example.org"},
      document: {type: "passport", number: "AB12345", country: "FRA",
                 expiry: "2031-01-01"},
      photo: {jpeg: "/9j/4AAQSkZJRgABAQAAAQABAAD/2Q=="}}'
}

# verify_receipt FILE: `coffre receipt verify` with the server's key
verify_receipt() {
    "$COFFRE" receipt verify --key "$VKEY" "$1" >"$WORK/verify.out" 2>&1
}

expect 200 office GET /v1/receipts/key
VKEY=$(echo "$BODY" | jq -r .key)
check "receipt key" '.key | startswith("coffre-receipt-")'
expect 200 admin GET /v1/receipts/key

# --- the retention sweep ----------------------------------------------------
expect 201 office POST /v1/persons "$(person 2020-01-15 Oldone)"
OLD1=$(echo "$BODY" | jq -r .pseudonym)
expect 201 office POST /v1/persons "$(person 2020-02-10 Oldtwo)"
OLD2=$(echo "$BODY" | jq -r .pseudonym)
expect 201 office POST /v1/persons "$(person 2030-06-30 Current)"
CUR=$(echo "$BODY" | jq -r .pseudonym)
expect 403 office POST /v1/retention/sweep
expect 403 auditor POST /v1/retention/sweep
expect 200 custodian POST /v1/retention/sweep
check "two erased" '.erased == 2 and (.receipt | length == 43)'
RECEIPT=$(echo "$BODY" | jq -r .receipt)
expect 404 office GET "/v1/persons/$OLD1?fields=public&$P"
expect 404 office GET "/v1/persons/$OLD2?fields=public&$P"
expect 200 office GET "/v1/persons/$CUR?fields=public&$P"
expect 200 admin POST /v1/retention/sweep
check "admin: a count, no data" '.erased == 0 and .receipt == null'

expect 200 custodian GET "/v1/receipts/$RECEIPT"
cp "$WORK/body" "$WORK/receipt.txt" # $BODY lost the last newline
verify_receipt "$WORK/receipt.txt" && ok || bad "receipt does not verify"
grep -q "^pseudonym $OLD1$" "$WORK/verify.out" && ok || bad "receipt: $OLD1"
grep -q "^pseudonym $OLD2$" "$WORK/verify.out" && ok || bad "receipt: $OLD2"
grep -q "^reason retention$" "$WORK/verify.out" && ok || bad "receipt reason"
grep -q "^by custodian$" "$WORK/verify.out" && ok || bad "receipt by"
grep -q "^count 2$" "$WORK/verify.out" && ok || bad "receipt count"
# one byte altered, anywhere in the text: refused
sed 's/^count 2$/count 3/' "$WORK/receipt.txt" >"$WORK/r1.txt"
verify_receipt "$WORK/r1.txt" && bad "altered count verifies" || ok
sed "s/^pseudonym $OLD1$/pseudonym ${OLD1%?}A/" "$WORK/receipt.txt" \
    >"$WORK/r2.txt"
cmp -s "$WORK/receipt.txt" "$WORK/r2.txt" && sed -i \
    "s/^pseudonym $OLD1$/pseudonym ${OLD1%?}B/" "$WORK/r2.txt"
verify_receipt "$WORK/r2.txt" && bad "altered pseudonym verifies" || ok
expect 200 auditor GET "/v1/receipts/$RECEIPT"
expect 403 admin GET "/v1/receipts/$RECEIPT"
expect 403 gate GET "/v1/receipts/$RECEIPT"
expect 404 custodian GET "/v1/receipts/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

# --- approvals: epochs 240 and 241 (January, February 2020) are closed now ---
expect 403 admin POST /v1/approvals '{"operation":"epoch_destroy","scope":"240"}'
expect 403 gate POST /v1/approvals '{"operation":"epoch_destroy","scope":"240"}'
expect 403 auditor POST /v1/approvals '{"operation":"epoch_destroy","scope":"240"}'
expect 400 office POST /v1/approvals '{"operation":"epoch_destroy","scope":"x"}'
expect 400 office POST /v1/approvals '{"operation":"format_disk","scope":"1"}'
expect 201 office POST /v1/approvals '{"operation":"epoch_destroy","scope":"240"}'
A1=$(echo "$BODY" | jq -r .id)
check "pending" '.state == "pending" and .need == 2 and .requested_by == "office"'
D1='{"approval":"'$A1'"}'
expect 403 custodian POST /v1/retention/epochs/240/destroy "$D1"
check "none approved" '.error.code == "approval_insufficient"'
expect 200 custodian POST "/v1/approvals/$A1/approve"
check "one approver" '.approvers == ["custodian"] and .state == "pending"'
expect 409 custodian POST "/v1/approvals/$A1/approve"
check "one custodian once" '.error.code == "already_approved"'
expect 403 custodian POST /v1/retention/epochs/240/destroy "$D1"
check "too few" '.error.code == "approval_insufficient"'
expect 403 admin POST "/v1/approvals/$A1/approve"
expect 403 office POST "/v1/approvals/$A1/approve"
expect 200 custodian2 POST "/v1/approvals/$A1/approve"
check "granted" '.state == "granted" and (.approvers | length == 2)'
expect 403 admin POST /v1/retention/epochs/240/destroy "$D1"
expect 403 office POST /v1/retention/epochs/240/destroy "$D1"
expect 403 custodian POST /v1/retention/epochs/241/destroy "$D1"
check "wrong scope" '.error.code == "approval_wrong_scope"'
expect 200 custodian GET "/v1/approvals/$A1"
check "still granted" '.state == "granted"'
expect 200 custodian POST /v1/retention/epochs/240/destroy "$D1"
check "destroyed" '.destroyed == true and .epoch == 240 and (.receipt | length == 43)'
ERECEIPT=$(echo "$BODY" | jq -r .receipt)
expect 403 custodian POST /v1/retention/epochs/240/destroy "$D1"
check "reused" '.error.code == "approval_used"'
expect 404 custodian POST /v1/retention/epochs/7/destroy "$D1"
check "an epoch without a key costs no approval" '.error.code == "not_found"'
expect 200 admin GET "/v1/approvals/$A1"
check "used" '.state == "used" and .used_by == "custodian"'
expect 403 custodian POST "/v1/approvals/$A1/approve"
check "used: no more approvals" '.error.code == "approval_used"'
expect 403 custodian POST /v1/retention/epochs/240/destroy \
    '{"approval":"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"}'
check "unknown" '.error.code == "approval_unknown"'
expect 404 custodian GET /v1/approvals/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB
expect 200 custodian GET "/v1/receipts/$ERECEIPT"
cp "$WORK/body" "$WORK/ereceipt.txt" # $BODY lost the last newline
verify_receipt "$WORK/ereceipt.txt" && ok || bad "epoch receipt"
grep -q "^reason epoch 240$" "$WORK/verify.out" && ok || bad "epoch reason"
grep -q "^approvals $A1$" "$WORK/verify.out" && ok || bad "epoch approval"

# an open epoch (a live, not expired person) is refused before the
# approval is spent
EPOCH_CUR=$(( (2030 - 2000) * 12 + 5 ))
expect 201 custodian POST /v1/approvals \
    '{"operation":"epoch_destroy","scope":"'$EPOCH_CUR'"}'
A2=$(echo "$BODY" | jq -r .id)
expect 200 custodian POST "/v1/approvals/$A2/approve"
expect 200 custodian3 POST "/v1/approvals/$A2/approve"
expect 409 custodian POST "/v1/retention/epochs/$EPOCH_CUR/destroy" \
    '{"approval":"'$A2'"}'
check "open epoch" '.error.code == "epoch_open"'
expect 200 custodian GET "/v1/approvals/$A2"
check "not spent" '.state == "granted"'

# bulk read beyond quota: granted = in force at once, for its lifetime
expect 403 gate POST /v1/approvals '{"operation":"bulk_read","scope":"printer:500"}'
expect 201 gate POST /v1/approvals '{"operation":"bulk_read","scope":"gate:500"}'
A3=$(echo "$BODY" | jq -r .id)
expect 200 custodian POST "/v1/approvals/$A3/approve"
expect 200 custodian2 POST "/v1/approvals/$A3/approve"
check "bulk read in force" '.state == "used" and .used_by == "gate"'
# a policy change: the admin may ask, never approve
H=$(printf 'new policy' | sha256sum | cut -d' ' -f1)
expect 201 admin POST /v1/approvals '{"operation":"policy_change","scope":"'$H'"}'
expect 400 admin POST /v1/approvals '{"operation":"policy_change","scope":"x"}'
expect 403 admin POST /v1/approvals '{"operation":"bulk_export","scope":"all"}'

# --- erasure request with receipt; subject access ---------------------------
expect 201 platform POST /v1/persons "$(person 2030-06-30 Subject)"
PL=$(echo "$BODY" | jq -r .pseudonym)
expect 200 platform GET "/v1/persons/$PL?fields=public"
expect 200 office GET "/v1/persons?email=subject@example.org&$P"
SO=$(echo "$BODY" | jq -r '.items[0].pseudonym')
expect 200 office GET "/v1/persons/$SO?fields=identity&$P"
expect 400 office GET "/v1/persons/$SO/subject-access"
expect 403 admin GET "/v1/persons/$SO/subject-access?$P"
expect 403 platform GET "/v1/persons/$PL/subject-access?$P"
expect 403 custodian GET "/v1/persons/$SO/subject-access?$P"
expect 200 office GET "/v1/persons/$SO/subject-access?$P"
check "all data" '.person.identity.surname == "Subject" and
  .person.contact.email == "subject@example.org" and
  .person.document.number == "AB12345" and
  .person.photo.jpeg == "/9j/4AAQSkZJRgABAQAAAQABAAD/2Q=="'
check "platform's create" '[.accesses[] | select(.role == "platform" and
  .action == "person.create")] | length == 1'
check "platform's read" '[.accesses[] | select(.role == "platform" and
  .action == "person.read")] | length == 1'
check "office's read" '[.accesses[] | select(.role == "office" and
  .action == "person.read" and .purpose == "subject access request")] |
  length == 1'
check "no other person" '[.accesses[] | select(.principal == "custodian")] |
  length == 0'
expect 200 office GET "/v1/persons/$CUR/subject-access?$P"
check "own entries only" '([.accesses[] | select(.role == "platform")] |
  length == 0) and (.accesses | length >= 1)'

expect 200 office DELETE "/v1/persons/$SO"
check "erasure receipt" '.erased == true and (.receipt | length == 43)'
DRECEIPT=$(echo "$BODY" | jq -r .receipt)
expect 200 office GET "/v1/receipts/$DRECEIPT"
cp "$WORK/body" "$WORK/dreceipt.txt" # $BODY lost the last newline
verify_receipt "$WORK/dreceipt.txt" && ok || bad "erasure receipt"
grep -q "^pseudonym $SO$" "$WORK/verify.out" && ok || bad "erasure pseudonym"
grep -q "^reason request$" "$WORK/verify.out" && ok || bad "erasure reason"
expect 404 office GET "/v1/persons/$SO/subject-access?$P"

# --- every step is in the audit log -----------------------------------------
expect 200 auditor GET "/v1/audit/entries?start=0&end=1000"
for a in approval.request approval.approve retention.sweep \
    retention.epoch_destroy person.subject_access person.erase; do
    check "audited: $a" "[.entries[] | select(.action == \"$a\")] | length > 0"
done
check "approval steps name the approval" "[.entries[] |
  select(.action == \"approval.approve\" and .pseudonym == \"$A1\")] |
  length == 6"
check "refusals too" "[.entries[] | select(.action ==
  \"retention.epoch_destroy\" and .status == 403)] | length >= 5"

# --- expiry: a second server whose approvals live 2 seconds ------------------
stop_server
PORT=$(free_port)
DEV=$WORK/dev2
start_dev "$DEV" "$PORT" --demo-persons 0 --approval-ttl 2 --retention 0
expect 201 office POST /v1/persons "$(person 2020-01-15 Oldthree)"
expect 200 custodian POST /v1/retention/sweep
expect 201 office POST /v1/approvals '{"operation":"epoch_destroy","scope":"240"}'
A4=$(echo "$BODY" | jq -r .id)
expect 200 custodian POST "/v1/approvals/$A4/approve"
expect 200 custodian2 POST "/v1/approvals/$A4/approve"
sleep 2.5
expect 200 custodian GET "/v1/approvals/$A4"
check "expired" '.state == "expired"'
expect 403 custodian3 POST "/v1/approvals/$A4/approve"
check "no approval once expired" '.error.code == "approval_expired"'
expect 403 custodian POST /v1/retention/epochs/240/destroy '{"approval":"'$A4'"}'
check "expired approval refused" '.error.code == "approval_expired"'
stop_server
[ "$SERVER_RC" = 0 ] && ok || bad "exit status after SIGTERM: $SERVER_RC"
