#!/bin/bash
# Integration, bulk read beyond quota (docs/approvals.md, docs/guard.md):
# a principal past its person quota gets 429; custodians grant a
# bulk_read approval "office:3"; it reads 3 persons more (and its bulk
# threshold is 3 higher), then 429 again; once the approval expires the
# quota is the configured one again, and the persons read under the
# approval do not suspend it; a later approval starts afresh.
. "$(dirname "$0")/lib.sh"
trap 'finish; exit $?' EXIT
PORT=$(free_port)
DEV=$WORK/dev
P='purpose=bulk%20read%20test'
cat >"$WORK/guard.json" <<JSON
{"principals": {"office": {"persons_per_hour": 3, "persons_per_day": 100,
                           "bulk_threshold": 4, "bulk_window": 3600}}}
JSON
start_dev "$DEV" "$PORT" --demo-persons 0 --approval-ttl 6 \
    --guard-config "$WORK/guard.json"

# person SURNAME: a valid application as JSON
person() {
    jq -nc --arg s "$1" '{
      public: {category: "media", organisation: "AFP", valid_from: "2026-01-01",
               valid_until: "2030-12-31"},
      identity: {surname: $s, given_names: "Paul", sex: "M",
                 birth_date: "1990-02-03", birth_place: "Lyon",
                 birth_country: "FRA", nationalities: ["FRA"]},
      contact: {address: "1 rue de la Paix", postal_code: "75002",
                city: "Paris", country: "FRA", email: "p@example.org"},
      document: {type: "passport", number: "AB12345", country: "FRA",
                 expiry: "2031-01-01"},
      photo: {jpeg: "/9j/4AAQSkZJRgABAQAAAQABAAD/2Q=="}}'
}

IDS=()
for s in Aa Bb Cc Dd Ee Ff Gg Hh; do
    expect 201 office POST /v1/persons "$(person "$s")"
    IDS+=("$(echo "$BODY" | jq -r .pseudonym)")
done
# read PERSON: the office reads one person's identity
read_person() {
    expect "$1" office GET "/v1/persons/${IDS[$2]}?fields=identity&$P"
}

read_person 200 0
read_person 200 1
read_person 200 2
read_person 429 3
check "quota" '.error.code == "quota_exceeded"'

expect 201 office POST /v1/approvals '{"operation":"bulk_read","scope":"office:3"}'
A=$(echo "$BODY" | jq -r .id)
read_person 429 3 # pending: no bonus yet
expect 200 custodian POST "/v1/approvals/$A/approve"
read_person 429 3
check "one custodian is not enough" '.error.code == "quota_exceeded"'
expect 200 custodian2 POST "/v1/approvals/$A/approve"
check "in force" '.state == "used" and .used_by == "office"'
T0=$(date +%s)
read_person 200 3
read_person 200 4 # past the bulk threshold of 4: raised to 7
read_person 200 5
read_person 429 6
check "quota plus three" '.error.code == "quota_exceeded"'
expect 200 office GET /v1/sys/health
# another principal's approval raises nothing of the office's
expect 201 gate POST /v1/approvals '{"operation":"bulk_read","scope":"gate:50"}'

# expiry: the configured quota again, and no suspension for the persons
# read under the approval (still in the bulk window)
while [ $(($(date +%s) - T0)) -lt 7 ]; do sleep 0.5; done
expect 200 custodian GET "/v1/approvals/$A"
read_person 429 6
check "expired: quota back" '.error.code == "quota_exceeded"'
read_person 429 7
check "not suspended" '.error.code == "quota_exceeded"'
# a later approval starts afresh: what the first one paid is not counted
expect 201 office POST /v1/approvals '{"operation":"bulk_read","scope":"office:1"}'
A2=$(echo "$BODY" | jq -r .id)
expect 200 custodian POST "/v1/approvals/$A2/approve"
expect 200 custodian3 POST "/v1/approvals/$A2/approve"
read_person 200 6
read_person 429 7
check "one more only" '.error.code == "quota_exceeded"'

expect 200 auditor GET "/v1/audit/entries?start=0&end=1000"
check "approval audited" "[.entries[] | select(.action == \"approval.approve\"
  and .pseudonym == \"$A\")] | length == 2"
stop_server
[ "$SERVER_RC" = 0 ] && ok || bad "exit status after SIGTERM: $SERVER_RC"
