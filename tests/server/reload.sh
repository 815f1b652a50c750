#!/bin/bash
# Integration (docs/server.md, "Reload"): SIGHUP under load drops no
# request (keep-alive connections and new handshakes, five reloads
# alternating two certificates); the new certificate is the one served
# after a reload (fingerprints from openssl s_client); a broken
# certificate file or a key of another certificate is refused, logged,
# and the old pair stays; a changed rate limit is a policy change: refused
# while unapproved (old limits stay), in force once m custodians approved
# its digest.
. "$(dirname "$0")/lib.sh"
trap 'cp "$DEV.log" /tmp/ops/last-reload.log 2>/dev/null; finish; exit $?' EXIT
STATUS= BODY=
PORT=$(free_port)
DEV=$WORK/dev
# the load below is over the admin's default request rate
echo '{"roles": {"admin": {"rate": 5000, "burst": 5000}}}' >"$WORK/guard.json"
start_dev "$DEV" "$PORT" --demo-persons 20 --guard-config "$WORK/guard.json"
CFG=$DEV/server.json
# The server dropped root: it reads its files again as that user.
if [ "$(id -u)" = 0 ]; then chown -R nobody "$DEV"; fi
hup() { kill -HUP "$SERVER_PID"; sleep "${1:-0.3}"; }
served_fp() {
    openssl s_client -connect "127.0.0.1:$PORT" </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256 | cut -d= -f2
}
file_fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
# set_cfg JQ-FILTER: rewrite the configuration the server reloads
set_cfg() {
    jq "$@" "$CFG" >"$WORK/cfg.tmp" && cat "$WORK/cfg.tmp" >"$CFG"
}

# A second certificate for 127.0.0.1 (self-signed); clients trust both.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$DEV/new.key" -out "$DEV/new.pem" -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 2>/dev/null && ok || bad "openssl req"
cat "$DEV/ca.pem" "$DEV/new.pem" >"$WORK/trust.pem"
if [ "$(id -u)" = 0 ]; then chown nobody "$DEV/new.key" "$DEV/new.pem"; fi
OLD_FP=$(file_fp "$DEV/server.pem")
NEW_FP=$(file_fp "$DEV/new.pem")
[ "$(served_fp)" = "$OLD_FP" ] && ok || bad "the first certificate served"

# --- under load: 5 reloads, zero failures ---------------------------------
A=(--cacert "$WORK/trust.pem" --cert "$DEV/admin.pem" --key "$DEV/admin.key")
URL="https://127.0.0.1:$PORT/v1/sys/health"
# one keep-alive connection, 300 requests
(for i in $(seq 300); do echo "url = \"$URL\""; echo 'output = "/dev/null"';
    echo 'write-out = "%{http_code}\n"'; done) >"$WORK/many.cfg"
curl -s "${A[@]}" -K "$WORK/many.cfg" >"$WORK/keepalive.codes" 2>&1 &
KA=$!
# new connections, one per request
(for i in $(seq 150); do
    curl -s -o /dev/null -w '%{http_code}\n' "${A[@]}" "$URL"
done) >"$WORK/fresh.codes" 2>&1 &
FR=$!
for k in 1 2 3 4 5; do
    if [ $((k % 2)) = 1 ]; then
        set_cfg --arg c "$DEV/new.pem" --arg k "$DEV/new.key" \
            '.tls_cert = $c | .tls_key = $k'
    else
        set_cfg --arg c "$DEV/server.pem" --arg k "$DEV/server.key" \
            '.tls_cert = $c | .tls_key = $k'
    fi
    hup 0.4
done
wait $KA $FR
sort "$WORK/keepalive.codes" "$WORK/fresh.codes" | uniq -c | head -5
TOTAL=$(cat "$WORK/keepalive.codes" "$WORK/fresh.codes" | wc -l)
FAILED=$(cat "$WORK/keepalive.codes" "$WORK/fresh.codes" | grep -vc '^200$')
echo "under load: $TOTAL requests, $FAILED failed"
[ "$TOTAL" = 450 ] && ok || bad "requests answered: $TOTAL of 450"
[ "$FAILED" = 0 ] && ok || bad "$FAILED requests failed during reloads"
RELOADS=$(grep -c '"event":"reload","msg":"configuration reloaded"' "$DEV.log")
[ "$RELOADS" = 5 ] && ok || bad "reloads logged: $RELOADS"
# after an odd number of swaps: the new certificate
[ "$(served_fp)" = "$NEW_FP" ] && ok || bad "new certificate not served"
grep -q "\"certificate_sha256\":\"$(echo "$NEW_FP" | tr -d : |
    tr A-F a-f)\"" "$DEV.log" && ok || bad "the log names the new certificate"

# --- a broken certificate file, a key of another certificate -------------
cp "$DEV/new.pem" "$WORK/new.pem.bak"
echo "not a certificate" >"$DEV/new.pem"
hup
grep -q '"event":"reload_refused"' "$DEV.log" && ok || bad "broken cert accepted"
[ "$(served_fp)" = "$NEW_FP" ] && ok || bad "the old pair is not in force"
cat "$WORK/new.pem.bak" >"$DEV/new.pem"
set_cfg --arg c "$DEV/new.pem" --arg k "$DEV/server.key" \
    '.tls_cert = $c | .tls_key = $k'
hup
[ "$(grep -c '"event":"reload_refused"' "$DEV.log")" = 2 ] && ok ||
    bad "a key of another certificate accepted"
[ "$(served_fp)" = "$NEW_FP" ] && ok || bad "old pair after the mismatch"
set_cfg --arg k "$DEV/new.key" '.tls_key = $k'
echo '{"listen": ' >"$WORK/broken.json"
cp "$CFG" "$WORK/good.json"
cat "$WORK/broken.json" >"$CFG"
hup
[ "$(grep -c '"event":"reload_refused"' "$DEV.log")" = 3 ] && ok ||
    bad "malformed JSON accepted"
# back to the first pair, which the helpers' CA verifies
jq --arg c "$DEV/server.pem" --arg k "$DEV/server.key" \
    '.tls_cert = $c | .tls_key = $k' "$WORK/good.json" >"$CFG"
hup
[ "$(served_fp)" = "$OLD_FP" ] && ok || bad "back to the first certificate"
expect 200 admin GET /v1/sys/health

# --- a rate limit: a policy change, approved or not ----------------------
burst() { # WHO N: the number of 429 among N quick requests
    local i n=0
    for i in $(seq "$2"); do
        req "$1" GET /v1/sys/health
        [ "$STATUS" = 429 ] && n=$((n + 1))
    done
    echo "$n"
}
[ "$(burst office 12)" = 0 ] && ok || bad "office limited before the change"
set_cfg '.guard.roles.office = {"rate": 1, "burst": 3}'
H=$("$COFFRE" server --config "$CFG" --policy-hash) && ok || bad "policy hash"
hup
grep -q "new policy $H is not the pinned" "$DEV.log" && ok ||
    bad "unapproved policy not refused by name"
[ "$(burst office 12)" = 0 ] && ok || bad "unapproved limits in force"
expect 201 admin POST /v1/approvals \
    "{\"operation\":\"policy_change\",\"scope\":\"$H\"}"
ID=$(echo "$BODY" | jq -r .id)
expect 200 custodian POST "/v1/approvals/$ID/approve"
expect 200 custodian2 POST "/v1/approvals/$ID/approve"
hup
grep -q '"policy":"changed"' "$DEV.log" && ok || bad "approved policy refused"
N429=$(burst office 12)
[ "$N429" -ge 5 ] && ok || bad "the new rate limit is not in force ($N429)"
# the approval was spent: a second change needs a new one
set_cfg '.guard.roles.office = {"rate": 2, "burst": 3}'
hup
[ "$(grep -c 'is not the pinned' "$DEV.log")" = 2 ] && ok ||
    bad "a spent approval served twice"
expect 200 admin GET /v1/sys/health
