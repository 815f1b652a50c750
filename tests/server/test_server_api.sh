#!/bin/bash
# Integration: the API of a dev server on loopback, with curl and each
# role's client certificate: every route, every role's allowed and
# forbidden classes, protected records, pseudonym isolation, the lifecycle
# state machine, the vetting workflow, bad input, metrics, and at the end
# that every route of docs/openapi.yaml was exercised.
. "$(dirname "$0")/lib.sh"
trap 'finish; exit $?' EXIT
PORT=$(free_port)
DEV=$WORK/dev
# office-restricted may be shown one person an hour: the guard section
# below suspends it on purpose (docs/guard.md).
echo '{"principals": {"office-restricted": {"list_threshold": 1}}}' \
    >"$WORK/guard.json"
start_dev "$DEV" "$PORT" --demo-persons 200 --guard-config "$WORK/guard.json"
P='purpose=it%20test'

# --- whoami: the caller, its role, its own budget; nobody else's -----------
expect 200 office GET /v1/whoami
check "office whoami" '.principal == "office" and .role == "office" and .purpose.required == true and (.fingerprint | length == 64)'
check "office classes" '.classes.record == ["public","identity","contact","document","photo","vetting"]'
check "office budget" '.guard.enabled == true and .guard.window_seconds > 0 and (.guard.remaining | type == "number")'
check "no other principal" 'tostring | test("custodian|auditor|platform") | not'
expect 200 platform GET /v1/whoami
check "platform whoami" '.role == "platform" and .classes.record == ["public"] and .purpose.required == false'
expect 400 office GET "/v1/whoami?principal=auditor"
expect 401 - GET /v1/whoami

# --- every role reaches health and seal status ----------------------------
for who in platform office vetting gate printer auditor custodian admin \
    office-restricted partner; do
    expect 200 "$who" GET /v1/sys/health && check health '.status == "ok"'
    expect 200 "$who" GET /v1/sys/seal-status && check seal '.sealed == false'
done
expect 401 - GET /v1/sys/health
expect 401 - GET /v1/persons
expect 401 - GET /nowhere

# --- a valid application, shaped after a demo person ----------------------
expect 200 office GET "/v1/persons?state=submitted&limit=50"
OFFICE_PS=$(echo "$BODY" | jq -r '.items[].pseudonym')
TEMPLATE=
for ps in $OFFICE_PS; do
    req office GET "/v1/persons/$ps?fields=public,identity,contact,document&$P"
    if echo "$BODY" | jq -e '.person.protected != true and .person.document' \
        >/dev/null; then
        TEMPLATE=$(echo "$BODY" | jq -c '.person | del(.source_key)')
        break
    fi
done
[ -n "$TEMPLATE" ] && ok || bad "no template person"
DOC="ITDOC$RANDOM$RANDOM"
APP=$(echo "$TEMPLATE" | jq -c --arg d "$DOC" \
    '.document.number = $d | .identity.surname = "Testperson" |
     .contact.email = "it.\($d|ascii_downcase)@example.org" |
     .public.state = "submitted"')
EMAIL=$(echo "$APP" | jq -r .contact.email)
DOB=$(echo "$APP" | jq -r .identity.birth_date)
GIVEN=$(echo "$APP" | jq -r .identity.given_names)

expect 200 auditor GET /v1/sys/stats
PERSONS0=$(echo "$BODY" | jq .persons)
expect 201 platform POST /v1/persons "$APP"
PL=$(echo "$BODY" | jq -r .pseudonym)
check "pseudonym length" '.pseudonym | length == 43'

# --- the platform writes but never reads personal data back ---------------
expect 200 platform GET "/v1/persons/$PL?fields=public"
check "platform public" '.person.public.category and (.person.identity == null)'
check "no source key" '.person.source_key == null'
for cls in identity contact document photo vetting; do
    expect 403 platform GET "/v1/persons/$PL?fields=$cls" &&
        check "403 names $cls" ".error.message | contains(\"$cls\")"
done

# --- search (office) and pseudonym isolation ------------------------------
expect 400 office GET "/v1/persons?document_number=$DOC"   # no purpose
expect 200 office GET "/v1/persons?document_number=$DOC&$P"
check "found by document" '.items | length == 1'
OF=$(echo "$BODY" | jq -r '.items[0].pseudonym')
[ "$OF" != "$PL" ] && ok || bad "office and platform share a pseudonym"
expect 200 office GET "/v1/persons?email=$EMAIL&$P"
check "found by email" ".items[0].pseudonym == \"$OF\""
expect 200 office GET "/v1/persons?surname=testperson&given_names=$(jq -rn --arg g "$GIVEN" '$g|@uri')&birth_date=$DOB&$P"
check "found by name and birth date" ".items | map(.pseudonym) | index(\"$OF\") != null"
expect 400 office GET "/v1/persons?surname=x&$P"
expect 403 platform GET "/v1/persons?document_number=$DOC"
expect 404 office GET "/v1/persons/$PL?fields=public&$P"
expect 404 partner GET "/v1/persons/$PL?fields=public"
expect 404 platform GET "/v1/persons/$OF?fields=public"
expect 404 vetting GET "/v1/persons/$OF?fields=identity"

# --- office reads: purpose required and capped ----------------------------
expect 400 office GET "/v1/persons/$OF?fields=identity"
check "purpose named" '.error.code == "missing_purpose"'
LONG=$(printf 'p%.0s' $(seq 1 201))
expect 400 office GET "/v1/persons/$OF?fields=identity&purpose=$LONG"
expect 400 office GET "/v1/persons/$OF?fields=identity&purpose=%ff"
expect 200 office GET "/v1/persons/$OF?fields=public,identity,contact,document,vetting&$P"
check "office full" '.person.identity.surname == "Testperson" and .person.contact.email and .person.document.number'
expect 400 office GET "/v1/persons/$OF?fields=identity,nonsense&$P"
expect 400 office GET "/v1/persons/$OF?$P"

# --- patch ------------------------------------------------------------------
expect 200 office PATCH "/v1/persons/$OF" '{"contact":{"email":"new.it@example.org","address":"2 rue Neuve","postal_code":"75002","city":"Paris","country":"FRA"}}'
expect 200 office GET "/v1/persons/$OF?fields=contact&$P"
check "patched" '.person.contact.email == "new.it@example.org"'
expect 200 platform PATCH "/v1/persons/$PL" '{"public":{"category":"media","organisation":"Radio","function":"Reporter","valid_from":"2024-07-01","valid_until":"2024-08-31"}}'
expect 200 office GET "/v1/persons/$OF?fields=public&$P"
check "state kept by a public patch" '.person.public.state == "submitted" and .person.public.category == "media"'
expect 400 office PATCH "/v1/persons/$OF" '{"public":{"state":"approved"}}'
expect 403 platform PATCH "/v1/persons/$PL" '{"vetting":{"status":"favourable"}}'
expect 400 office PATCH "/v1/persons/$OF" '{"protected":true}'
expect 403 vetting PATCH "/v1/persons/$OF" '{"contact":{"email":"x@y.fr"}}'

# --- lifecycle and vetting workflow ---------------------------------------
expect 409 office POST "/v1/persons/$OF/state" '{"state":"approved"}'
expect 403 office POST "/v1/persons/$OF/state" '{"state":"refused"}'
expect 400 office POST "/v1/persons/$OF/state" '{"state":"flying"}'
expect 400 office POST "/v1/persons/$OF/state" '{"state":1}'
expect 400 office POST "/v1/persons/$OF/state" '{"state":"vetting","x":1}'
expect 400 office POST "/v1/persons/$OF/state" '{}'
expect 403 platform POST "/v1/persons/$PL/state" '{"state":"vetting"}'
expect 200 office POST "/v1/persons/$OF/state" '{"state":"vetting"}'
expect 200 vetting GET "/v1/vetting/pending?limit=1000"
VE=$(echo "$BODY" | jq -r --arg d "$DOB" '.items[] | select(.identity.surname == "Testperson" and .identity.birth_date == $d) | .pseudonym' | head -1)
[ -n "$VE" ] && ok || bad "pending lists the application"
check "pending fields" '.items[0] | .identity and .reason_for_access and (.contact.email == null) and (.public == null)'
expect 200 vetting GET "/v1/vetting/pending?limit=2"
C=$(echo "$BODY" | jq -r .next_cursor)
FIRST=$(echo "$BODY" | jq -r '.items[0].pseudonym')
expect 200 vetting GET "/v1/vetting/pending?limit=2&cursor=$C"
check "pending pages" ".items | map(.pseudonym) | index(\"$FIRST\") == null"
expect 200 vetting GET "/v1/persons/$VE?fields=identity,contact,document,vetting&purpose=check"
check "vetting address only" '.person.contact.address and (.person.contact.email == null) and (.person.contact.phone == null)'
for cls in public photo; do
    expect 403 vetting GET "/v1/persons/$VE?fields=$cls"
done
expect 400 vetting POST "/v1/vetting/$VE/verdict" '{"verdict":"maybe"}'
expect 400 vetting POST "/v1/vetting/$VE/verdict" '{"verdict":true}'
expect 403 office POST "/v1/vetting/$VE/verdict" '{"verdict":"favourable"}'
expect 200 vetting POST "/v1/vetting/$VE/verdict" '{"verdict":"favourable"}'
expect 409 vetting POST "/v1/vetting/$VE/verdict" '{"verdict":"unfavourable"}'
expect 200 office GET "/v1/persons/$OF?fields=vetting&$P"
check "verdict recorded" '.person.vetting.status == "favourable" and .person.vetting.decided_by == "vetting"'
expect 200 office POST "/v1/persons/$OF/state" '{"state":"approved"}'
expect 200 printer GET "/v1/persons?state=approved&limit=1000"
PR=$(echo "$BODY" | jq -r '.items[] | select(.public.category == "media" and .public.organisation == "Radio") | .pseudonym' | head -1)
[ -n "$PR" ] && ok || bad "printer lists the approved person"
expect 403 printer GET "/v1/persons?state=submitted"
expect 200 printer GET "/v1/persons/$PR?fields=public,identity,photo"
check "printer names only" '(.person.identity | keys) == ["given_names","surname"]'
for cls in contact document vetting; do
    expect 403 printer GET "/v1/persons/$PR?fields=$cls"
done
expect 200 office POST "/v1/persons/$OF/state" '{"state":"badge_issued"}'
expect 200 gate GET "/v1/persons?state=badge_issued&limit=1000"
GA=$(echo "$BODY" | jq -r '.items[] | select(.public.organisation == "Radio" and .public.function == "Reporter") | .pseudonym' | head -1)
[ -n "$GA" ] && ok || bad "gate lists the issued badge"
expect 403 gate GET "/v1/persons?state=approved"
expect 200 gate GET "/v1/persons/$GA?fields=public,identity,photo"
check "gate names only" '(.person.identity | keys) == ["given_names","surname"]'
for cls in contact document vetting; do
    expect 403 gate GET "/v1/persons/$GA?fields=$cls"
done
expect 200 office POST "/v1/persons/$OF/state" '{"state":"revoked"}'
expect 409 office POST "/v1/persons/$OF/state" '{"state":"approved"}'
expect 409 office POST "/v1/persons/$OF/state" '{"state":"badge_issued"}'
for who in auditor admin custodian; do
    expect 403 "$who" GET "/v1/persons/$OF?fields=public"
    expect 403 "$who" GET "/v1/persons?state=submitted"
    expect 403 "$who" POST /v1/persons "$APP"
done

# --- an unfavourable verdict refuses ---------------------------------------
APP2=$(echo "$APP" | jq -c '.document.number = "IT2\(.document.number)" | .contact.email = "two.\(.contact.email)"')
expect 201 office POST /v1/persons "$APP2"
O2=$(echo "$BODY" | jq -r .pseudonym)
expect 200 office POST "/v1/persons/$O2/state" '{"state":"vetting"}'
expect 200 vetting GET "/v1/vetting/pending?limit=1000"
V2=$(echo "$BODY" | jq -r --arg d "$DOB" '[.items[] | select(.identity.surname == "Testperson" and .identity.birth_date == $d)] | last | .pseudonym')
expect 200 vetting POST "/v1/vetting/$V2/verdict" '{"verdict":"unfavourable"}'
expect 200 office GET "/v1/persons/$O2?fields=public&$P"
check "refused" '.person.public.state == "refused"'
expect 409 office POST "/v1/persons/$O2/state" '{"state":"approved"}'

# --- protected records ------------------------------------------------------
APP3=$(echo "$APP" | jq -c '.protected = true | .public.category = "security_force" | .document.number = "IT3\(.document.number)" | .contact.email = "three.\(.contact.email)"')
expect 201 platform POST /v1/persons "$APP3"
PL3=$(echo "$BODY" | jq -r .pseudonym)
expect 200 platform GET "/v1/persons/$PL3?fields=public"
check "category hidden from the platform" '.person.public.category == null and .person.protected == null'
expect 200 platform GET "/v1/persons?category=security_force&limit=1000"
check "not listed by category" ".items | map(.pseudonym) | index(\"$PL3\") == null"
DOC3=$(echo "$APP3" | jq -r .document.number)
# whoami: the caller's own budget, counted down by the guard itself.
expect 200 office-restricted GET /v1/whoami
check "budget before" '.guard.list_threshold == 1 and .guard.list_remaining == 1 and .guard.suspended == false'
expect 200 office-restricted GET "/v1/persons?document_number=$DOC3&$P"
OR3=$(echo "$BODY" | jq -r '.items[0].pseudonym')
expect 200 office-restricted GET /v1/whoami
check "budget spent" '.guard.listed_in_window == 1 and .guard.list_remaining == 0'
expect 403 office-restricted GET "/v1/persons/$OR3?fields=identity&$P"
check "protected named" '.error.message | contains("protected")'
expect 200 office-restricted GET "/v1/persons/$OR3?fields=public&$P"
expect 200 office GET "/v1/persons?document_number=$DOC3&$P"
O3=$(echo "$BODY" | jq -r '.items[0].pseudonym')
[ "$O3" = "$OR3" ] && ok || bad "one audience per role"
expect 200 office GET "/v1/persons/$O3?fields=identity&$P"
check "office with protected access" '.person.identity.surname == "Testperson"'
expect 200 office POST "/v1/persons/$O3/state" '{"state":"vetting"}'
expect 200 vetting GET "/v1/vetting/pending?limit=1000"
check "vetting sees protected identity" '[.items[] | select(.reason_for_access.category == "security_force" and .identity.surname == "Testperson")] | length == 1'

# --- worklists -------------------------------------------------------------
expect 200 platform GET "/v1/persons?limit=5"
A=$(echo "$BODY" | jq -r '.items | map(.pseudonym) | join(" ")')
C=$(echo "$BODY" | jq -r .next_cursor)
expect 200 platform GET "/v1/persons?limit=5&cursor=$C"
B=$(echo "$BODY" | jq -r '.items | map(.pseudonym) | join(" ")')
[ -n "$A" ] && [ "$A" != "$B" ] && ok || bad "cursor pages"
expect 400 partner GET "/v1/persons?limit=5&cursor=$C"   # another audience's
expect 400 platform GET "/v1/persons?limit=0"
expect 400 platform GET "/v1/persons?limit=abc"
expect 400 platform GET "/v1/persons?state=nowhere"
expect 200 office GET "/v1/persons?state=submitted&category=media&limit=3"

# --- bad input never changes state -----------------------------------------
expect 200 auditor GET /v1/sys/stats
BEFORE=$(echo "$BODY" | jq .persons)
expect 400 platform POST /v1/persons '{"public":'
check "malformed" '.error.code == "invalid_json"'
expect 400 platform POST /v1/persons '[1,2]'
expect 400 platform POST /v1/persons "$(echo "$APP" | jq -c '.identity = "x"')"
expect 400 platform POST /v1/persons "$(echo "$APP" | jq -c '.identity.surname = 5')"
expect 400 platform POST /v1/persons "$(echo "$APP" | jq -c '.identity.hobby = "chess"')"
check "unknown field named" '.error.message | contains("hobby")'
expect 400 platform POST /v1/persons "$(echo "$APP" | jq -c '.colour = "blue"')"
expect 400 platform POST /v1/persons "$(echo "$APP" | jq -c 'del(.identity)')"
expect 400 platform POST /v1/persons "$(echo "$APP" | jq -c 'del(.identity.surname)')"
expect 400 platform POST /v1/persons "$(echo "$APP" | jq -c '.public.state = "approved"')"
expect 403 platform POST /v1/persons "$(echo "$APP" | jq -c '.vetting = {"status":"favourable"}')"
expect 400 platform POST /v1/persons "$(printf '{"public":{"category":"\xff\xfe"}}')"
check "utf8" '.error.code == "invalid_utf8"'
expect 400 platform POST /v1/persons ''
expect 400 platform POST /v1/persons '{"a":1,"a":2}'
head -c 1100000 /dev/zero | tr '\0' 'a' >"$WORK/big"
STATUS=$(curl -s -o "$WORK/body" -w '%{http_code}' --cacert "$DEV/ca.pem" \
    --cert "$DEV/platform.pem" --key "$DEV/platform.key" \
    -H 'Content-Type: application/json' --data-binary @"$WORK/big" \
    "https://127.0.0.1:$PORT/v1/persons")
BODY=$(cat "$WORK/body")
[ "$STATUS" = 413 ] && ok || bad "body over the cap -> 413"
HDRS=()
for i in $(seq 1 400); do HDRS+=(-H "X-Filler-$i: $(printf 'v%.0s' $(seq 1 60))"); done
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$DEV/ca.pem" \
    --cert "$DEV/admin.pem" --key "$DEV/admin.key" "${HDRS[@]}" \
    "https://127.0.0.1:$PORT/v1/sys/health")
case "$STATUS" in 413 | 431 | 400) ok ;; *) bad "too many headers -> $STATUS" ;; esac
expect 404 office GET "/v1/persons/../sys/health"
expect 404 office GET "/v1/persons/%2e%2e/sys/health"
expect 404 office GET "//v1/sys/health"
expect 404 office GET "/v1/persons/$OF/../$OF?fields=public&$P"
expect 404 office GET "/v1/persons/short?fields=public&$P"
expect 404 office GET "/v2/persons"
expect 404 admin GET /
expect 405 office PUT /v1/persons '{}'
expect 405 office DELETE /v1/persons
expect 405 admin POST /v1/sys/health '{}'
expect 405 admin POST /metrics '{}'
expect 400 platform GET "/v1/persons?colour=blue"
expect 400 platform GET "/v1/persons?limit=1&limit=2"
expect 400 admin GET "/v1/sys/health?x=1"
expect 400 office DELETE "/v1/persons/$OF" '{"why":"body"}'
expect 200 auditor GET /v1/sys/stats
check "bad input changed nothing" ".persons == $BEFORE"

# --- erasure -----------------------------------------------------------------
expect 403 platform DELETE "/v1/persons/$PL"
expect 200 office DELETE "/v1/persons/$O2"
expect 404 office GET "/v1/persons/$O2?fields=public&$P"
expect 404 office DELETE "/v1/persons/$O2"
expect 200 office GET "/v1/persons?email=$(echo "$APP2" | jq -r .contact.email)&$P"
check "erased not found by search" '.items | length == 0'

# --- the auditor's routes (tests/server/test_server_audit.sh goes deeper) --
expect 200 auditor GET /v1/audit/key
expect 200 admin GET /v1/audit/checkpoint
expect 200 auditor GET "/v1/audit/proof/inclusion?index=0&size=1"
check "inclusion proof" '.hashes | length == 0'
expect 200 auditor GET "/v1/audit/proof/consistency?from=1&to=2"
expect 200 auditor GET "/v1/audit/entries?start=0&end=3"
check "entries page" '.entries | length == 3'
expect 403 admin GET "/v1/audit/entries?start=0&end=3"
expect 403 office GET /v1/audit/checkpoint

# --- badges (tests/server/badges.sh goes deeper, with coffre-gate) -------
BAPP=$(echo "$APP" | jq -c --arg f "$(date -u -d yesterday +%F)" \
    --arg u "$(date -u -d '+30 days' +%F)" \
    '.document.number = "ITB\(.document.number)" |
     .contact.email = "badge.\(.contact.email)" |
     .identity.surname = "Badgeholder" | .public.venues = ["STF"] |
     .public.zones = ["1"] | .public.valid_from = $f | .public.valid_until = $u')
expect 201 office POST /v1/persons "$BAPP"
OB=$(echo "$BODY" | jq -r .pseudonym)
expect 409 office POST "/v1/badges/$OB?$P"
expect 200 office POST "/v1/persons/$OB/state" '{"state":"vetting"}'
expect 200 vetting GET "/v1/vetting/pending?limit=1000"
VB=$(echo "$BODY" | jq -r '.items[] | select(.identity.surname == "Badgeholder") | .pseudonym' | head -1)
expect 200 vetting POST "/v1/vetting/$VB/verdict" '{"verdict":"favourable"}'
expect 200 office POST "/v1/persons/$OB/state" '{"state":"approved"}'
expect 201 office POST "/v1/badges/$OB?$P"
check "badge issued" '(.payload | startswith("CB1:")) and .png_base64 and .svg'
expect 403 platform POST "/v1/badges/$PL"
expect 200 gate GET /v1/badges/trust-list
expect 200 gate GET /v1/badges/revocations
expect 403 office GET /v1/badges/revocations
expect 200 gate GET /v1/badges/list-key
expect 403 office POST /v1/badges/keys/rotate
expect 200 custodian POST /v1/badges/keys/rotate

# --- approvals, retention, receipts, subject access (approval_server.sh
# goes deeper) ----------------------------------------------------------------
expect 200 office GET "/v1/persons?state=submitted&limit=1"
SA=$(echo "$BODY" | jq -r '.items[0].pseudonym')
expect 200 office GET "/v1/persons/$SA/subject-access?$P"
check "subject access" '.person.identity and (.accesses | length >= 1)'
expect 403 admin GET "/v1/persons/$SA/subject-access?$P"
# a person valid until 2020-01-15 kept 365 days: epoch 252 (January 2021),
# closed once the office erased it (the sweep runs at the end: it would
# erase the demo persons, long past their date, under the guard's tests)
OLD=$(echo "$APP" | jq -c '.document.number = "OLD12345" |
  .contact.email = "old.person@example.org" |
  .public.valid_from = "2020-01-01" | .public.valid_until = "2020-01-15"')
expect 201 office POST /v1/persons "$OLD"
OLDP=$(echo "$BODY" | jq -r .pseudonym)
expect 200 office DELETE "/v1/persons/$OLDP"
check "erasure receipt" '.receipt | length == 43'
EP=252
expect 201 custodian POST /v1/approvals '{"operation":"epoch_destroy","scope":"'$EP'"}'
AP=$(echo "$BODY" | jq -r .id)
expect 200 custodian POST "/v1/approvals/$AP/approve"
expect 403 admin POST "/v1/approvals/$AP/approve"
expect 200 custodian2 POST "/v1/approvals/$AP/approve"
expect 200 custodian GET "/v1/approvals/$AP"
check "granted" '.state == "granted"'
expect 200 custodian POST "/v1/retention/epochs/$EP/destroy" '{"approval":"'$AP'"}'
RC=$(echo "$BODY" | jq -r .receipt)
expect 200 auditor GET "/v1/receipts/$RC"
expect 200 auditor GET /v1/receipts/key

# --- the guard (guard_drill.sh goes deeper) ---------------------------------
expect 200 admin GET /v1/guard/status
check "guard on" '.enabled == true and (.principals | length > 0)'
expect 403 office GET /v1/guard/status
expect 403 admin POST /v1/guard/reinstate '{"principal":"office"}'
expect 404 custodian POST /v1/guard/reinstate '{"principal":"office"}'
expect 403 office-restricted GET "/v1/persons?limit=5"
check "suspended" '.error.code == "suspended"'
expect 403 office-restricted GET /v1/sys/health
# A suspended principal still loads the console and learns why (whoami
# holds only its own state); every route with data stays refused.
expect 200 office-restricted GET /v1/whoami
check "suspended, and why" '.guard.suspended == true and .guard.reason == "enumeration" and (.guard.since | test("Z$"))'
expect 200 office-restricted GET /console/
expect 200 office-restricted GET /console/app.js
expect 403 office-restricted GET "/v1/persons/$OR3?fields=public&$P"
check "still suspended" '.error.code == "suspended"'
expect 200 custodian POST /v1/guard/reinstate '{"principal":"office-restricted"}'
expect 200 office-restricted GET /v1/sys/health
expect 200 office-restricted GET /v1/whoami
check "reinstated" '.guard.suspended == false and .guard.reason == null'

# --- the console's static files (docs/console.md) ---------------------------
expect 200 office GET /console/
grep -q '<script src="app.js" defer></script>' "$WORK/body" && ok ||
    bad "console index.html"
grep -qi '<script>\|<style\| on[a-z]*=\| style=' "$WORK/body" && bad "inline script or style" || ok
expect 200 platform GET /console/app.js
expect 200 auditor GET /console/style.css
expect 404 office GET /console/missing.js
expect 404 office GET /console/..
expect 404 office GET /console
expect 405 office POST /console/app.js '{}'
expect 401 - GET /console/
console_hdrs() {
    curl -s -o /dev/null -D - --cacert "$DEV/ca.pem" --cert "$DEV/$1.pem" \
        --key "$DEV/$1.key" "${@:3}" "https://127.0.0.1:$PORT$2" | tr -d '\r'
}
h=$(console_hdrs office /console/app.js)
grep -qx 'Content-Type: text/javascript; charset=utf-8' <<<"$h" && ok || bad "app.js type"
grep -qx "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'" <<<"$h" &&
    ok || bad "console CSP"
grep -qx 'X-Content-Type-Options: nosniff' <<<"$h" && ok || bad "console nosniff"
grep -qx 'Cache-Control: no-cache' <<<"$h" && ok || bad "console caching"
etag=$(sed -n 's/^ETag: //p' <<<"$h")
[ -n "$etag" ] && ok || bad "console ETag"
h=$(console_hdrs office /console/app.js -H "If-None-Match: $etag")
grep -q '^HTTP/1.1 304' <<<"$h" && ok || bad "If-None-Match: not 304"
h=$(console_hdrs office /console/index.html)
grep -qx 'Content-Type: text/html; charset=utf-8' <<<"$h" && ok || bad "index type"
h=$(console_hdrs office /v1/sys/health)
grep -q '^Content-Security-Policy' <<<"$h" && bad "CSP on API answers" || ok
grep -qx 'Cache-Control: no-store' <<<"$h" && ok || bad "API no-store"

# --- unseal, metrics -------------------------------------------------------
expect 200 admin POST /v1/retention/sweep
expect 403 office POST /v1/sys/unseal '{"share":"x"}'
expect 200 custodian POST /v1/sys/unseal '{"share":"x"}'
check "already unsealed" '.sealed == false'
expect 403 office GET /metrics
expect 403 platform GET /v1/sys/stats
expect 200 auditor GET /metrics
expect 200 admin GET /metrics
echo "$BODY" >"$WORK/metrics.txt"
if command -v promtool >/dev/null; then
    promtool check metrics <"$WORK/metrics.txt" && ok || bad "promtool"
fi
grep -q '^coffre_sealed 0$' "$WORK/metrics.txt" && ok || bad "sealed gauge"
grep -q 'coffre_http_request_duration_seconds_bucket{route="GET /v1/persons/{pseudonym}",le="+Inf"}' \
    "$WORK/metrics.txt" && ok || bad "latency histogram"
# The custodians' list and seal (coffre operator, docs/operations.md):
# the seal last, this dev vault has no shares to unseal it again.
expect 200 custodian GET /v1/approvals
check "approvals listed" '.approvals | length >= 1'
expect 403 office GET /v1/approvals
expect 403 admin POST /v1/sys/seal
expect 200 custodian POST /v1/sys/seal
check "sealed" '.sealed == true'
expect 503 office GET "/v1/persons?limit=1"
expect 200 admin GET /metrics
echo "$BODY" >"$WORK/metrics.txt"

# --- every route of the OpenAPI document was exercised here ----------------
python3 "$SRCDIR/tests/server/openapi_routes.py" "$SRCDIR/docs/openapi.yaml" \
    >"$WORK/routes.txt"
while read -r method path; do
    n=$(grep -F "coffre_http_requests_total{route=\"$method $path\"," \
        "$WORK/metrics.txt" | grep -v 'status="40[0-9]"' | wc -l)
    [ "$n" -gt 0 ] && ok || bad "route $method $path not exercised with success"
done <"$WORK/routes.txt"

# --- SIGTERM: clean exit --------------------------------------------------
stop_server
[ "$SERVER_RC" = 0 ] && ok || bad "exit status after SIGTERM: $SERVER_RC"
