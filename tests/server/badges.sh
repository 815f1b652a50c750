#!/bin/bash
# Integration: badges end to end. A dev server issues a badge for an
# approved person (office, printer; other roles 403, a person not approved
# 409); coffre-gate is provisioned with the dev dir's list key, syncs the
# trust and revocation lists over mutual TLS, and verifies with no network
# at all (unshare -n): the payload and the server's PNG accepted, a wrong
# zone refused. A rotated badge key keeps old badges valid and signs new
# ones; revoking the person refuses its badge after the next sync.
# Usage: badges.sh COFFRE-GATE (COFFRE in the environment).
. "$(dirname "$0")/lib.sh"
trap 'finish; exit $?' EXIT
GATE=${1:?usage: badges.sh COFFRE-GATE}
PORT=$(free_port)
DEV=$WORK/dev
GDIR=$WORK/gate
start_dev "$DEV" "$PORT" --demo-persons 20
P='purpose=badge%20printing'
URL="https://127.0.0.1:$PORT"
OFFLINE=(unshare -n)
if ! unshare -n true 2>/dev/null; then
    echo "unshare -n not permitted here: verifying without it"
    OFFLINE=()
fi

# --- persons: a template from the demo data, validity around today ---------
find_template "state=submitted&limit=50&$P"
[ -n "$TEMPLATE" ] && ok || bad "no template person"
FROM=$(date -u -d yesterday +%F)
UNTIL=$(date -u -d '+30 days' +%F)

# new_person N: an application by the office; $OFFICE_PS its pseudonym.
new_person() {
    local app
    app=$(echo "$TEMPLATE" | jq -c --arg n "$1" --arg f "$FROM" --arg u "$UNTIL" \
        '.document.number = "BDG\($n)\(.document.number)" |
         .contact.email = "badge\($n).\(.contact.email)" |
         .identity.surname = "Dupont\($n)" | .identity.given_names = "Jean-Marie" |
         .public.category = "athlete" | .public.venues = ["STF"] |
         .public.zones = ["1", "3", "R"] | .public.valid_from = $f |
         .public.valid_until = $u | .public.state = "submitted" |
         .public.organisation = "Badge test \($n)"')
    expect 201 office POST /v1/persons "$app"
    OFFICE_PS=$(echo "$BODY" | jq -r .pseudonym)
}

# approve OFFICE_PS N: vetting, a favourable verdict, approval.
approve() {
    local ve
    expect 200 office POST "/v1/persons/$1/state" '{"state":"vetting"}'
    expect 200 vetting GET "/v1/vetting/pending?limit=1000"
    ve=$(echo "$BODY" | jq -r --arg s "Dupont$2" \
        '.items[] | select(.identity.surname == $s) | .pseudonym' | head -1)
    expect 200 vetting GET "/v1/persons/$ve?fields=identity,document&$P"
    expect 200 vetting POST "/v1/vetting/$ve/verdict" '{"verdict":"favourable"}'
    VETTING_PS=$ve
    expect 200 office POST "/v1/persons/$1/state" '{"state":"approved"}'
}

new_person A
PA=$OFFICE_PS
new_person B
PB=$OFFICE_PS
new_person C # stays submitted
PC=$OFFICE_PS
approve "$PA" A
# Who reads what, by state (issue 13, item 11): the vetting service reads
# a person while its verdict is awaited, not after (before: 200).
expect 403 vetting GET "/v1/persons/$VETTING_PS?fields=identity,document&$P"
check "decided: no longer the vetting service's" '.error.code == "forbidden_state"'
approve "$PB" B

# --- issuing ---------------------------------------------------------------
expect 400 office POST "/v1/badges/$PA"   # the office states a purpose
expect 409 office POST "/v1/badges/$PC?$P"
check "not approved" '.error.code == "conflict"'
for who in platform gate admin vetting auditor custodian; do
    expect 403 "$who" POST "/v1/badges/$PA"
done
expect 404 office POST "/v1/badges/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA?$P"
expect 201 office POST "/v1/badges/$PA?$P"
BADGE_A=$(echo "$BODY" | jq -r .payload)
check "payload" '.payload | startswith("CB1:")'
check "id" '.id | test("^[0-9a-f]{16}$")'
check "small QR" '.qr_version <= 11'
check "svg" '.svg | contains("<svg")'
echo "$BODY" | jq -r .png_base64 | base64 -d >"$WORK/a.png"
head -c 8 "$WORK/a.png" | od -An -tx1 | grep -q '89 50 4e 47' && ok ||
    bad "PNG signature"
expect 200 office GET "/v1/persons/$PA?fields=public&$P"
check "approved -> badge_issued" '.person.public.state == "badge_issued"'
expect 201 office POST "/v1/badges/$PA?$P"   # a reprint: state unchanged
expect 200 printer GET "/v1/persons?state=approved&limit=1000"
PRB=$(echo "$BODY" | jq -r '.items[] | select(.public.organisation == "Badge test B") | .pseudonym')
[ -n "$PRB" ] && ok || bad "printer lists person B"
expect 201 printer POST "/v1/badges/$PRB"
BADGE_B=$(echo "$BODY" | jq -r .payload)

# --- provisioning and sync -------------------------------------------------
expect 200 gate GET /v1/badges/list-key
check "list key is the dev dir's" ".list_key == \"$(cat "$DEV/badge-list.pub")\""
expect 403 office GET /v1/badges/trust-list
expect 403 printer GET /v1/badges/revocations
expect 200 gate GET /v1/badges/trust-list
expect 200 gate GET /v1/badges/revocations
CT=$(curl -s -o /dev/null -w '%{content_type}' --cacert "$DEV/ca.pem" \
    --cert "$DEV/gate.pem" --key "$DEV/gate.key" "$URL/v1/badges/revocations")
[ "$CT" = application/cbor ] && ok || bad "content type $CT"

"$GATE" --dir "$GDIR" init "$(cat "$DEV/badge-list.pub")" && ok || bad "init"
gate_sync() {
    "$GATE" --dir "$GDIR" sync --cacert "$DEV/ca.pem" --cert "$DEV/gate.pem" \
        --key "$DEV/gate.key" "$URL" >"$WORK/sync.out" 2>&1 && ok ||
        { bad "sync: $(cat "$WORK/sync.out")"; }
}
gate_sync

# verify WANT ARGS...: the first line of an offline verification.
verify() {
    local want=$1 out
    shift
    out=$("${OFFLINE[@]}" "$GATE" --dir "$GDIR" verify "$@" 2>&1 | head -1)
    if [ "$out" = "$want" ]; then
        ok
    else
        FAIL=$((FAIL + 1))
        echo "FAIL: verify ${*:1:3}: got '$out', want '$want'"
    fi
}
verify ACCEPT --venue STF --zone 3 "$BADGE_A"
"${OFFLINE[@]}" "$GATE" --dir "$GDIR" verify "$BADGE_A" |
    grep -q '^name: DUPONTA J-M$' && ok || bad "name shown"
verify ACCEPT --zone R --image "$WORK/a.png"
verify "REFUSE: wrong zone" --zone 2 "$BADGE_A"
verify "REFUSE: wrong venue" --venue BCY "$BADGE_A"
verify ACCEPT "$BADGE_B"
# The gate reads the names and photo of a badge holder (its pseudonym from
# its own list of issued badges)...
expect 200 gate GET "/v1/persons?state=badge_issued&limit=1000"
GA=$(echo "$BODY" | jq -r '.items[] | select(.public.organisation == "Badge test A") | .pseudonym')
[ -n "$GA" ] && ok || bad "the gate lists person A"
expect 200 gate GET "/v1/persons/$GA?fields=identity,photo&$P"
check "names" '.person.identity.surname == "DupontA"'

# --- rotation: the old key stays trusted for its badges --------------------
expect 403 office POST /v1/badges/keys/rotate
expect 200 custodian POST /v1/badges/keys/rotate
check "version 2" '.key_version == 2 and .keys_trusted == 2 and .trust_seq == 2'
gate_sync
grep -q 'sequence 2 installed' "$WORK/sync.out" && ok || bad "trust list 2"
verify ACCEPT --zone 1 "$BADGE_A"
expect 201 printer POST "/v1/badges/$PRB"
BADGE_B2=$(echo "$BODY" | jq -r .payload)
[ "$BADGE_B2" != "$BADGE_B" ] && ok || bad "a new key signs"
verify ACCEPT --zone 1 "$BADGE_B2"
verify ACCEPT "$BADGE_B"

# --- revocation ----------------------------------------------------------------
expect 200 office POST "/v1/persons/$PA/state" '{"state":"revoked"}'
verify ACCEPT "$BADGE_A" # the gate has not synced yet
gate_sync
grep -q 'revocations.cbor: sequence 2 installed' "$WORK/sync.out" && ok ||
    bad "revocation list 2: $(cat "$WORK/sync.out")"
verify "REFUSE: revoked" "$BADGE_A"
verify ACCEPT "$BADGE_B2"
expect 409 office POST "/v1/badges/$PA?$P"
# ... and nothing of a revoked person (before: 200, identity and photo).
expect 403 gate GET "/v1/persons/$GA?fields=identity,photo&$P"
check "revoked: not the gate's" '.error.code == "forbidden_state" and
  (.error.message | test("badge_issued"))'
expect 403 gate GET "/v1/persons/$GA?fields=public&$P"

# --- erasure: an erased person's badges are revoked with it ----------------
expect 200 office DELETE "/v1/persons/$PB"
verify ACCEPT "$BADGE_B2" # the gate has not synced yet
gate_sync
grep -q 'revocations.cbor: sequence 3 installed' "$WORK/sync.out" && ok ||
    bad "revocation list 3: $(cat "$WORK/sync.out")"
verify "REFUSE: revoked" "$BADGE_B"
verify "REFUSE: revoked" "$BADGE_B2"
verify "REFUSE: revoked" "$BADGE_A"
expect 200 auditor GET /metrics
grep -q 'route="POST /v1/badges/{pseudonym}"' <<<"$BODY" && ok ||
    bad "badge metrics"

# --- vetting bypass (issue 13, item 1): a new identity after the verdict ---
# Before the fix: the PATCH kept state and verdict, a badge was issued for
# a person nobody vetted and the gate accepted it. Now the person goes
# back to vetting, its verdict cleared and its badges revoked.
new_person D
PD=$OFFICE_PS
approve "$PD" D
expect 201 office POST "/v1/badges/$PD?$P"
BADGE_D=$(echo "$BODY" | jq -r .payload)
gate_sync
verify ACCEPT "$BADGE_D"
expect 200 office GET "/v1/persons/$PD?fields=identity&$P"
NEWID=$(echo "$BODY" | jq -c '{identity: (.person.identity | .surname = "Imposteur")}')
expect 200 office PATCH "/v1/persons/$PD" "$NEWID"
expect 200 office GET "/v1/persons/$PD?fields=public,vetting&$P"
check "back to vetting" '.person.public.state == "vetting"'
check "verdict cleared" '.person.vetting.status == "pending" and (.person.vetting.decided_by == null)'
expect 409 office POST "/v1/badges/$PD?$P"
expect 409 office POST "/v1/persons/$PD/state" '{"state":"approved"}'
gate_sync
verify "REFUSE: revoked" "$BADGE_D"
# While the verdict is awaited, what is vetted cannot change at all; the
# rest of the record can, and the same identity sent again changes nothing.
expect 409 office PATCH "/v1/persons/$PD" \
    "$(echo "$NEWID" | jq -c '.identity.surname = "Autre"')"
check "refusal says why" '.error.code == "revetting_refused"'
expect 200 office PATCH "/v1/persons/$PD" "$NEWID" # the same again
expect 200 vetting GET "/v1/vetting/pending?limit=1000"
check "pending again, under the new name" \
    '[.items[] | select(.identity.surname == "Imposteur")] | length == 1'
# The platform's own submission: the platform's PATCH after approval.
APP_E=$(echo "$TEMPLATE" | jq -c --arg f "$FROM" --arg u "$UNTIL" \
    '.document.number = "BDGE\(.document.number)" | .contact.email = "e.\(.contact.email)" |
     .identity.surname = "DupontE" | .public.valid_from = $f | .public.valid_until = $u |
     .public.state = "submitted" | .public.organisation = "Badge test E"')
expect 201 platform POST /v1/persons "$APP_E"
PLAT_E=$(echo "$BODY" | jq -r .pseudonym)
expect 200 office GET "/v1/persons?document_number=$(echo "$APP_E" | jq -r .document.number)&$P"
PE=$(echo "$BODY" | jq -r '.items[0].pseudonym')
approve "$PE" E
expect 200 platform PATCH "/v1/persons/$PLAT_E" \
    "$(echo "$APP_E" | jq -c '{document: (.document | .number = "ZZ999")}')"
expect 200 office GET "/v1/persons/$PE?fields=public,vetting&$P"
check "platform's change: back to vetting" \
    '.person.public.state == "vetting" and .person.vetting.status == "pending"'
