#!/bin/bash
# Integration: the custodians' commands (`coffre operator`, docs/
# operations.md) against a real sealed server: unseal with three
# custodians' certificates (a share file, a pipe, a terminal that must not
# echo), status, approvals list and approve by id, seal; the errors an
# operator meets (unreachable, TLS refused, wrong role, share rejected);
# and no share ever in a process's command line or in the server's log.
. "$(dirname "$0")/lib.sh"
trap 'kill $SCAN_PID 2>/dev/null; finish; exit $?' EXIT
PORT=$(free_port)
DEV=$WORK/dev
URL=https://127.0.0.1:$PORT
start_dev "$DEV" "$PORT" --dev-shares --demo-persons 0

# tls WHO: the options of principal WHO's certificate
tls() {
    echo --cacert "$DEV/ca.pem" --cert "$DEV/$1.pem" --key "$DEV/$1.key"
}

# op WHO ARGS...: run `coffre operator` as WHO; $OUT, $RC
op() {
    local who=$1
    shift
    OUT=$("$COFFRE" operator "$@" $(tls "$who") 2>&1)
    RC=$?
}

# The secret part of each share (its base64 fields), to look for.
SECRETS=()
for k in 1 2 3; do
    SECRETS+=("$(awk '{print $(NF-1)}' "$DEV/shares/share-$k.txt")")
done
[ "${#SECRETS[2]}" -ge 20 ] && ok || fail_exit "share format: ${SECRETS[2]}"

# Every process's command line, scanned while the commands run.
printf '%s\n' "${SECRETS[@]}" >"$WORK/secrets"
(
    while :; do
        cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' ' ' |
            grep -F -f "$WORK/secrets" >>"$WORK/cmdline-hits"
        sleep 0.05
    done
) &
SCAN_PID=$!

# --- status of a sealed vault; errors before any share --------------------
op custodian status "$URL"
[ "$RC" = 0 ] && echo "$OUT" | grep -q '^sealed   yes$' &&
    echo "$OUT" | grep -q '0 of 3' && ok || bad "status sealed: $OUT"
op office unseal "$URL" --share "$DEV/shares/share-1.txt"
[ "$RC" = 1 ] && echo "$OUT" | grep -q "role office may not use POST /v1/sys/unseal" &&
    echo "$OUT" | grep -q "custodian's" && ok || bad "wrong role: $OUT"
printf 'coffre-share-v1 1 2 3 AAAA deadbeef\n' >"$WORK/junk.txt"
op custodian unseal "$URL" --share "$WORK/junk.txt"
[ "$RC" = 1 ] && echo "$OUT" | grep -q "HTTP 400 invalid_share" && ok ||
    bad "share rejected: $OUT"
printf 'not "a" share\n' >"$WORK/quote.txt"
op custodian unseal "$URL" --share "$WORK/quote.txt"
[ "$RC" = 1 ] && echo "$OUT" | grep -q "not the text of a share file" && ok ||
    bad "local refusal: $OUT"
op custodian unseal "$URL" --share "$WORK/missing.txt"
[ "$RC" = 1 ] && echo "$OUT" | grep -q "No such file" && ok || bad "missing: $OUT"
op custodian unseal "https://127.0.0.1:$(free_port)" --share "$DEV/shares/share-1.txt"
[ "$RC" = 1 ] && echo "$OUT" | grep -q "unreachable" && ok || bad "unreachable: $OUT"
# The server's certificate under a CA we do not trust; our certificate
# under a CA the server does not trust.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=stranger -days 2 -keyout "$WORK/stranger.key" \
    -out "$WORK/stranger.pem" 2>/dev/null
OUT=$("$COFFRE" operator status "$URL" --cacert "$WORK/stranger.pem" \
    --cert "$DEV/custodian.pem" --key "$DEV/custodian.key" 2>&1)
[ $? = 1 ] && echo "$OUT" | grep -q "certificate is not trusted" && ok ||
    bad "foreign server CA: $OUT"
OUT=$("$COFFRE" operator unseal "$URL" --cacert "$DEV/ca.pem" \
    --cert "$WORK/stranger.pem" --key "$WORK/stranger.key" \
    --share "$DEV/shares/share-1.txt" 2>&1)
[ $? = 1 ] && echo "$OUT" | grep -Eq "TLS refused|HTTP 401" && ok ||
    bad "foreign client certificate: $OUT"
"$COFFRE" operator unseal "$URL" --share 2>/dev/null
[ $? = 2 ] && ok || bad "usage error"
"$COFFRE" operator unseal "$URL" "$DEV/shares/share-1.txt" $(tls custodian) \
    >/dev/null 2>&1
[ $? = 2 ] && ok || bad "a share as an argument is a usage error"
op custodian status "$URL"
echo "$OUT" | grep -q '0 of 3' && ok || bad "nothing counted: $OUT"

# --- unseal: a file, a pipe, a terminal -----------------------------------
op custodian unseal "$URL" --share "$DEV/shares/share-1.txt"
[ "$RC" = 0 ] && echo "$OUT" | grep -q "1 of 3 custodians; still sealed" && ok ||
    bad "share 1 from a file: $OUT"
OUT=$(cat "$DEV/shares/share-2.txt" |
    "$COFFRE" operator unseal "$URL" $(tls custodian2) 2>&1)
[ $? = 0 ] && echo "$OUT" | grep -q "2 of 3" && ok || bad "share 2 from a pipe: $OUT"
# A terminal: `script` gives the command a pty; the share typed there must
# not come back (no echo), and the prompt must.
OUT=$( (sleep 1; cat "$DEV/shares/share-3.txt"; sleep 2) |
    script -qec "$COFFRE operator unseal $URL $(tls custodian3)" /dev/null 2>&1)
echo "$OUT" | grep -q "not echoed" && ok || bad "no prompt: $OUT"
echo "$OUT" | grep -qF "${SECRETS[2]}" && bad "the share was echoed: $OUT" || ok
echo "$OUT" | grep -q "^unsealed" && ok || bad "share 3 from a terminal: $OUT"
op custodian status "$URL"
[ "$RC" = 0 ] && echo "$OUT" | grep -q '^sealed   no$' && ok || bad "status unsealed: $OUT"
expect 200 office GET "/v1/persons?state=submitted&limit=1"

# --- approvals ------------------------------------------------------------
op custodian approvals list "$URL"
[ "$RC" = 0 ] && echo "$OUT" | grep -q "no approval requests" && ok || bad "empty list: $OUT"
expect 201 office POST /v1/approvals '{"operation":"bulk_read","scope":"office:50"}'
ID=$(echo "$BODY" | jq -r .id)
op custodian approvals list "$URL"
echo "$OUT" | grep -q "^$ID  pending  bulk_read office:50  by office  approvals 0 of 2" &&
    ok || bad "list shows the pending request: $OUT"
op auditor approvals list "$URL"
[ "$RC" = 0 ] && ok || bad "the auditor lists: $OUT"
op office approvals list "$URL"
[ "$RC" = 1 ] && echo "$OUT" | grep -q "HTTP 403 forbidden" && ok || bad "office may not list: $OUT"
op custodian approvals approve "$URL" "$ID"
[ "$RC" = 0 ] && echo "$OUT" | grep -q "pending .* approvals 1 of 2" && ok || bad "approve 1: $OUT"
op custodian approvals approve "$URL" "$ID"
[ "$RC" = 1 ] && echo "$OUT" | grep -q "already_approved" && ok || bad "twice: $OUT"
op office approvals approve "$URL" "$ID"
[ "$RC" = 1 ] && echo "$OUT" | grep -q "HTTP 403 forbidden" && ok || bad "office approves: $OUT"
op custodian2 approvals approve "$URL" "$ID"
[ "$RC" = 0 ] && echo "$OUT" | grep -q "approvals 2 of 2" && ok || bad "approve 2: $OUT"
expect 200 custodian GET "/v1/approvals/$ID"
check "granted (a bulk_read is used at its grant)" '.state == "used" and (.approvers | length == 2)'
op custodian approvals approve "$URL" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
[ "$RC" = 1 ] && echo "$OUT" | grep -q "approval_unknown" && ok || bad "unknown id: $OUT"
op custodian approvals approve "$URL" "../../sys/seal"
[ "$RC" = 2 ] && ok || bad "a malformed id is refused before sending: $OUT"

# --- seal -----------------------------------------------------------------
op office seal "$URL"
[ "$RC" = 1 ] && echo "$OUT" | grep -q "role office may not use POST /v1/sys/seal" && ok ||
    bad "office seals: $OUT"
op custodian seal "$URL"
[ "$RC" = 0 ] && [ "$OUT" = sealed ] && ok || bad "seal: $OUT"
expect 503 office GET "/v1/persons?state=submitted&limit=1"
op custodian2 status "$URL"
echo "$OUT" | grep -q '^sealed   yes$' && ok || bad "status after seal: $OUT"
op custodian seal "$URL"
[ "$RC" = 0 ] && [ "$OUT" = "sealed already" ] && ok || bad "seal twice: $OUT"
# And back: the same three shares unseal it again.
for k in 1 2 3; do
    op "$(custodian_of $k)" unseal "$URL" --share "$DEV/shares/share-$k.txt"
done
[ "$OUT" = unsealed ] && ok || bad "unsealed again: $OUT"
expect 200 office GET "/v1/persons?state=submitted&limit=1"
expect 200 auditor GET "/v1/audit/entries?start=0&end=1000"
check "seal audited" '[.entries[] | select(.action == "seal.seal" and .role == "custodian" and
  .status == 200)] | length == 1'

# --- no share in a command line or in the server's log --------------------
kill $SCAN_PID 2>/dev/null
wait $SCAN_PID 2>/dev/null
[ ! -s "$WORK/cmdline-hits" ] && ok || bad "a share in /proc/*/cmdline: $(head -c 300 "$WORK/cmdline-hits")"
# The scanner does see what it looks for (so its silence means something).
bash -c 'sleep 1; true' "${SECRETS[0]}" &
sleep 0.3
cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' ' ' | grep -qF "${SECRETS[0]}" &&
    ok || bad "the scanner is blind"
wait $!
stop_server
grep -qF -f "$WORK/secrets" "$DEV.log" && bad "a share in the server's log" || ok
grep -q "sealed by custodian custodian" "$DEV.log" && ok || bad "seal logged"
