#!/bin/bash
# Integration: mutual TLS refusals with a configuration file and a PKI made
# by certtool: no certificate, a foreign CA, an expired certificate, a
# certificate under the CA that names no principal, TLS 1.2 when not
# allowed; principals by subject and by fingerprint.
. "$(dirname "$0")/lib.sh"
trap 'finish; exit $?' EXIT
command -v certtool >/dev/null ||
    fail_exit "certtool missing: install gnutls-bin (scripts/deps.sh does)"
PORT=$(free_port)
PKI=$WORK/pki
mkdir -p "$PKI"
cd "$PKI" || fail_exit "cannot enter $PKI"

# A vault to serve: made once by the dev mode (shares), then stopped.
DEV=$WORK/dev
start_dev "$DEV" "$PORT" --dev-shares --demo-persons 5
stop_server

cert() { # NAME CA-NAME TEMPLATE-EXTRA...
    local name=$1 ca=$2
    shift 2
    certtool --generate-privkey --key-type ecdsa --outfile "$name.key" 2>/dev/null
    printf '%s\n' "cn = $name" "organization = it" "$@" >"$name.tmpl"
    if [ "$ca" = self ]; then
        certtool --generate-self-signed --load-privkey "$name.key" \
            --template "$name.tmpl" --outfile "$name.pem" 2>/dev/null
    else
        certtool --generate-certificate --load-privkey "$name.key" \
            --load-ca-certificate "$ca.pem" --load-ca-privkey "$ca.key" \
            --template "$name.tmpl" --outfile "$name.pem" 2>/dev/null
    fi
}
cert ca self "ca" "cert_signing_key" "expiration_days = 30"
cert foreign-ca self "ca" "cert_signing_key" "expiration_days = 30"
cert server ca "tls_www_server" "signing_key" "ip_address = 127.0.0.1" \
    "dns_name = localhost" "expiration_days = 30"
cert admin ca "tls_www_client" "signing_key" "expiration_days = 30"
cert office ca "tls_www_client" "signing_key" "expiration_days = 30"
cert stranger ca "tls_www_client" "signing_key" "expiration_days = 30"
cert expired ca "tls_www_client" "signing_key" \
    'activation_date = "2020-01-01 00:00:00"' \
    'expiration_date = "2020-02-01 00:00:00"'
cert intruder foreign-ca "tls_www_client" "signing_key" "expiration_days = 30"
fp() { certtool --certificate-info --infile "$1" | sed -n 's/^\t\tsha256:\([0-9a-f]\{64\}\)$/\1/p' | head -1; }
FP=$(fp office.pem)
SUBJ=$(certtool --certificate-info --infile admin.pem | sed -n 's/^\tSubject: //p' | head -1)
EXP_FP=$(fp expired.pem)
INT_FP=$(fp intruder.pem)
jq -n --arg l "127.0.0.1:$PORT" --arg d "$DEV/vault" --arg p "$PKI" \
    --arg fp "$FP" --arg subj "$SUBJ" --arg efp "$EXP_FP" --arg ifp "$INT_FP" '{
  listen: $l, data_dir: $d, tls_cert: "\($p)/server.pem",
  tls_key: "\($p)/server.key", client_ca: "\($p)/ca.pem",
  principals: [
    {name: "admin", role: "admin", subject: $subj},
    {name: "office", role: "office", fingerprint: $fp},
    {name: "expired", role: "admin", fingerprint: $efp},
    {name: "intruder", role: "admin", fingerprint: $ifp}]}' >"$WORK/server.json"
"$COFFRE" server --config "$WORK/server.json" >"$WORK/cfg.log" 2>&1 &
SERVER_PID=$!
DEV=$PKI
wait_ready "$PKI" "$PORT" admin

expect 200 admin GET /v1/sys/health          # principal by subject
expect 503 office GET "/v1/persons?state=submitted"   # by fingerprint; sealed
expect 401 - GET /v1/sys/health
expect 401 stranger GET /v1/sys/health
check "no principal" '.error.message | contains("principal")'
# expired or foreign: refused in the handshake or answered 401
for who in expired intruder; do
    req "$who" GET /v1/sys/health
    case "$STATUS" in 401 | 000) ok ;; *) bad "$who -> $STATUS" ;; esac
done
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --tls-max 1.2 \
    --cacert ca.pem --cert admin.pem --key admin.key \
    "https://127.0.0.1:$PORT/v1/sys/health")
[ "$STATUS" = 000 ] && ok || bad "TLS 1.2 not refused: $STATUS"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --tlsv1.3 \
    --cacert ca.pem --cert admin.pem --key admin.key \
    "https://127.0.0.1:$PORT/v1/sys/health")
[ "$STATUS" = 200 ] && ok || bad "TLS 1.3: $STATUS"
stop_server

# TLS 1.2 allowed by option
jq '.tls12 = true' "$WORK/server.json" >"$WORK/server12.json"
"$COFFRE" server --config "$WORK/server12.json" >"$WORK/cfg12.log" 2>&1 &
SERVER_PID=$!
wait_ready "$PKI" "$PORT" admin
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --tls-max 1.2 \
    --cacert ca.pem --cert admin.pem --key admin.key \
    "https://127.0.0.1:$PORT/v1/sys/health")
[ "$STATUS" = 200 ] && ok || bad "TLS 1.2 allowed: $STATUS"
stop_server

# a configuration with an unknown key is refused, naming it
jq '.colour = "blue"' "$WORK/server.json" >"$WORK/bad.json"
if "$COFFRE" server --config "$WORK/bad.json" 2>"$WORK/bad.log"; then
    bad "unknown configuration key accepted"
else
    grep -q colour "$WORK/bad.log" && ok || bad "unknown key not named"
fi
