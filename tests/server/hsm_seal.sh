#!/bin/bash
# Integration (docs/keys.md section 8): the PKCS#11 seal with a real
# SoftHSM2 token in a private SOFTHSM2_CONF. Init sealed by the token;
# put/get with the PIN and no share; a wrong PIN, a missing token label,
# a missing key label, a missing module and a removed token each give a
# clear error naming it (never the PIN) and leave the vault sealed; the
# server unseals from the token at start and answers a GET, and starts
# sealed, saying why in /v1/sys/health, when the token fails it; a
# reseal Shamir -> token -> Shamir keeps every person readable, needs the
# custodians' shares, and the old shares no longer open the vault.
. "$(dirname "$0")/lib.sh"
trap 'finish; exit $?' EXIT
MODULE=${SOFTHSM2_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
PIN=pin-7f3a9c41 # distinctive: grepped for in every output
H=$WORK/hsm
mkdir -p "$H/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$H" >"$H/softhsm2.conf"
export SOFTHSM2_CONF=$H/softhsm2.conf
softhsm2-util --init-token --free --label coffre-t1 --pin "$PIN" \
    --so-pin so-5678 >/dev/null || fail_exit "softhsm2-util"
printf '%s\n' "$PIN" >"$H/pin"
printf 'wrong-pin\n' >"$H/badpin"
chmod 600 "$H/pin" "$H/badpin"
unset COFFRE_PKCS11_PIN
OUT=$WORK/out

# run EXIT DESC CMD...: the exit status must be EXIT; stdout+stderr in
# $OUT, which must never hold the PIN.
run() {
    local want=$1 desc=$2 rc
    shift 2
    "$@" >"$OUT" 2>&1
    rc=$?
    [ "$rc" = "$want" ] && ok || { nok "$desc: exit $rc, want $want"; cat "$OUT"; }
    ! grep -q "$PIN" "$OUT" && ok || nok "$desc: the PIN is in the output"
}
said() {
    grep -q -- "$1" "$OUT" && ok || { nok "$2: no '$1' in"; cat "$OUT"; }
}
nok() {
    FAIL=$((FAIL + 1))
    echo "FAIL: $*"
}

D=$WORK/v S=$WORK/shares
TOK=(--module "$MODULE" --token-label coffre-t1 --key-label root)

# --- init: a missing token label or module makes nothing ---
run 1 "init, no such token" "$COFFRE" init --data "$D" --shares-dir "$S" \
    --seal pkcs11 --module "$MODULE" --token-label nope --key-label root \
    --pin-file "$H/pin"
said "no token labelled 'nope'" "names the token label"
said "coffre-t1" "lists the tokens present"
[ ! -e "$D" ] && [ ! -e "$S" ] && ok || nok "a failed init made files"
run 1 "init, no module" "$COFFRE" init --data "$D" --shares-dir "$S" \
    --seal pkcs11 --module /nonexistent/p11.so --token-label coffre-t1 \
    --key-label root --pin-file "$H/pin"
said "/nonexistent/p11.so" "names the module"
run 1 "init, wrong PIN" "$COFFRE" init --data "$D" --shares-dir "$S" \
    --seal pkcs11 "${TOK[@]}" --pin-file "$H/badpin"
said "CKR_PIN_INCORRECT" "wrong PIN named"
run 1 "init, no PIN" "$COFFRE" init --data "$D" --shares-dir "$S" \
    --seal pkcs11 "${TOK[@]}"
said "COFFRE_PKCS11_PIN" "says where the PIN comes from"
# getopt takes --pin for --pin-file: the PIN is then a file name that
# no message may repeat.
run 1 "--pin SECRET is not echoed" "$COFFRE" init --data "$D" \
    --shares-dir "$S" --seal pkcs11 "${TOK[@]}" --pin "$PIN"
said "cannot read the PIN file" "a PIN file that is not there"

# --- init sealed by the token; put and get with the PIN, no share ---
run 0 "init --seal pkcs11" "$COFFRE" init --data "$D" --shares-dir "$S" \
    --shares 3 --threshold 2 --seal pkcs11 "${TOK[@]}" --pin-file "$H/pin"
run 0 "status, sealed" "$COFFRE" status --data "$D"
said "sealed:    yes" "sealed without the PIN"
said "seal:      pkcs11 (key 'root' on token 'coffre-t1'" "status names the seal"
"$COFFRE" gen --persons 3 --seed 11 --out "$WORK/p.jsonl" >/dev/null
head -1 "$WORK/p.jsonl" >"$WORK/one.json"
run 0 "put with the PIN file" "$COFFRE" put --data "$D" --pin-file "$H/pin" \
    "$WORK/one.json"
ID=$(cat "$OUT")
WANT=$(jq -c .identity "$WORK/one.json")
COFFRE_PKCS11_PIN=$PIN run 0 "get with the PIN in the environment" \
    "$COFFRE" get --data "$D" --fields identity "$ID"
[ "$(jq -c .identity "$OUT")" = "$WANT" ] && ok || nok "identity round trip"
run 1 "get with no PIN" "$COFFRE" get --data "$D" "$ID"
said "sealed by token 'coffre-t1'" "no PIN: names the token"
run 1 "get, wrong PIN" "$COFFRE" get --data "$D" --pin-file "$H/badpin" "$ID"
said "CKR_PIN_INCORRECT" "wrong PIN named"
said "stays sealed" "wrong PIN: sealed"
run 1 "put, wrong PIN" "$COFFRE" put --data "$D" --pin-file "$H/badpin" \
    "$WORK/one.json"
run 0 "the shares still open it (recovery)" "$COFFRE" status --data "$D" \
    --share "$S/share-1.txt" --share "$S/share-3.txt"
said "persons:   1" "the wrong PIN stored nothing"
strings "$D/coffre.db" | grep -q "$PIN" && nok "the PIN is in the store" || ok
grep -rq "$PIN" "$D/audit" && nok "the PIN is in the audit log" || ok

# --- the server: unsealed from the token at start, answers a GET ---
chmod 755 "$WORK"
DEV=$WORK/dev PORT=$(free_port)
start_dev "$DEV" "$PORT" --demo-persons 0
stop_server
# serve CONFIG-JQ: start `coffre server` on the vault with the dev
# certificates and this change to the dev configuration
N=0
serve() {
    N=$((N + 1))
    jq --arg d "$D" --arg l "127.0.0.1:$PORT" --arg a "$D/audit" \
        --arg p "$H/pin" --arg m "$MODULE" \
        ".data_dir = \$d | .listen = \$l | .audit_dir = \$a |
         .pkcs11_module = \$m | .pin_file = \$p | .guard = {poison: {count: 0}}
         | $1" "$DEV/server.json" >"$WORK/s$N.json"
    "$COFFRE" server --config "$WORK/s$N.json" >"$WORK/run$N.log" 2>&1 &
    SERVER_PID=$!
    wait_ready "$DEV" "$PORT" admin
}
serve '.'
expect 200 admin GET /v1/sys/health
check "unsealed from the token" '.sealed == false and .seal == "pkcs11"'
expect 200 office GET "/v1/persons?state=$(jq -r .public.state "$WORK/one.json")&limit=5"
PS=$(echo "$BODY" | jq -r '.items[0].pseudonym // empty')
expect 200 office GET "/v1/persons/$PS?fields=identity&purpose=it"
[ "$(echo "$BODY" | jq -c .person.identity)" = "$WANT" ] && ok ||
    bad "the server reads the person"
stop_server
[ "$SERVER_RC" = 0 ] && ok || nok "server exit $SERVER_RC"
! grep -q "$PIN" "$WORK/run$N.log" && ok || nok "the PIN in the server log"

# sealed_because JQ-CHANGE WORDS: the server starts sealed and says why
sealed_because() {
    serve "$1"
    expect 200 admin GET /v1/sys/health
    check "sealed: $2" ".sealed == true and (.seal_error | contains(\"$2\"))"
    expect 200 custodian GET /v1/sys/seal-status
    check "seal-status says why: $2" ".sealed == true and (.seal_error | contains(\"$2\"))"
    expect 503 office GET "/v1/persons?state=submitted&limit=5"
    stop_server
    [ "$SERVER_RC" = 0 ] && ok || nok "server exit $SERVER_RC ($2)"
    grep -q "stays sealed" "$WORK/run$N.log" && ok || nok "stderr says sealed"
    ! grep -q "$PIN" "$WORK/run$N.log" && ok || nok "the PIN in the log"
}
sealed_because ".pin_file = \"$H/badpin\"" "CKR_PIN_INCORRECT"
sealed_because '.pkcs11_token_label = "absent"' "no token labelled 'absent'"
sealed_because '.pkcs11_key_label = "other"' "no key labelled 'other'"
sealed_because '.pkcs11_module = "/nonexistent/p11.so"' "/nonexistent/p11.so"
sealed_because ".pin_file = \"$H/nopin\"" "cannot read the PIN file"

# --- the token removed (its directory emptied) ---
mv "$H/tokens" "$H/tokens.away"
mkdir "$H/tokens"
run 1 "get, token removed" "$COFFRE" get --data "$D" --pin-file "$H/pin" "$ID"
said "no token labelled 'coffre-t1'" "removed token named"
sealed_because '.' "no token labelled 'coffre-t1'"
rm -rf "$H/tokens"
mv "$H/tokens.away" "$H/tokens"
run 0 "the token back, get" "$COFFRE" get --data "$D" --pin-file "$H/pin" "$ID"

# --- reseal: Shamir -> token -> Shamir, all data readable ---
R=$WORK/r RS=$WORK/rshares NS=$WORK/newshares
run 0 "init shamir" "$COFFRE" init --data "$R" --shares-dir "$RS" \
    --shares 3 --threshold 2
OLD=(--share "$RS/share-1.txt" --share "$RS/share-2.txt")
run 0 "put" "$COFFRE" put --data "$R" "${OLD[@]}" "$WORK/one.json"
RID=$(cat "$OUT")
getsame() { # getsame DESC ARGS...: person RID reads back the same
    run 0 "$1" "$COFFRE" get --data "$R" --fields identity "${@:2}" "$RID"
    [ "$(jq -c .identity "$OUT" 2>/dev/null)" = "$WANT" ] && ok ||
        nok "$1: identity differs"
}
getsame "before the reseal" "${OLD[@]}"
run 1 "reseal to the token with one share" "$COFFRE" keys reseal --data "$R" \
    --share "$RS/share-1.txt" --to pkcs11 "${TOK[@]}" --key-label root2 \
    --pin-file "$H/pin"
said "sealed" "too few shares: sealed"
run 0 "reseal to the token" "$COFFRE" keys reseal --data "$R" "${OLD[@]}" \
    --to pkcs11 --module "$MODULE" --token-label coffre-t1 \
    --key-label root2 --pin-file "$H/pin"
run 0 "status after" "$COFFRE" status --data "$R"
said "key 'root2' on token 'coffre-t1'" "sealed by the new key"
getsame "with the PIN only, after" --pin-file "$H/pin"
run 1 "reseal to shamir from the token only" "$COFFRE" keys reseal \
    --data "$R" --pin-file "$H/pin" --to shamir --shares-dir "$NS"
said "consent" "the token alone does not consent"
[ ! -e "$NS" ] && ok || nok "a refused reseal wrote shares"
run 0 "reseal back to shamir" "$COFFRE" keys reseal --data "$R" "${OLD[@]}" \
    --to shamir --shares-dir "$NS" --shares 3 --threshold 2
[ -f "$NS/share-3.txt" ] && ok || nok "fresh shares written"
getsame "with the new shares" --share "$NS/share-2.txt" --share "$NS/share-3.txt"
run 1 "the old shares" "$COFFRE" get --data "$R" "${OLD[@]}" "$RID"
said "not the one issued by this vault" "old share refused"
run 1 "the token no longer opens it" "$COFFRE" get --data "$R" \
    --pin-file "$H/pin" "$RID"
said "sealed" "token: sealed"
[ "$(grep -rao 'key\.reseal' "$R/audit" | wc -l)" = 2 ] && ok ||
    nok "each reseal is one entry of the audit log"
