#!/bin/bash
# The web console end to end in headless Chromium (docs/console.md).
# usage: e2e.sh NODE_DIR [COFFRE_GATE]    (COFFRE: the coffre binary)
# With COFFRE_GATE, the badge payload the clerk's page showed is verified
# offline by the real coffre-gate.
# COFFRE_SCREENSHOTS=DIR writes each view's screenshot there (the
# README's docs/console/*.png); test runs write none, the tree stays clean.
#
# How the browser presents a client certificate: each principal gets a
# HOME whose NSS database (~/.pki/nssdb, pk12util) holds its certificate
# and the dev CA; Chromium picks it without asking only under the policy
# AutoSelectCertificateForUrls, which Linux Chromium reads from
# /etc/chromium/policies/managed alone. The browser runs in a private
# mount namespace (unshare) where a temporary directory is bound over
# /etc/chromium: the machine's own /etc is never written.
set -u
NODE_DIR=${1:?usage: e2e.sh NODE_DIR [COFFRE_GATE]}
GATE=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
SRCDIR=${SRCDIR:-$(cd "$here/../.." && pwd)}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
for tool in node npm openssl pk12util certutil unshare; do
    command -v "$tool" >/dev/null || { echo "$tool not installed: skipping"; exit 77; }
done
[ -x "$CHROMIUM" ] || { echo "no chromium at $CHROMIUM: skipping"; exit 77; }
[ -d /etc/chromium ] || { echo "no /etc/chromium to bind over: skipping"; exit 77; }
if [ "$(id -u)" = 0 ]; then ns=(unshare -m --propagation private)
else ns=(unshare -r -m --propagation private); fi
"${ns[@]}" true 2>/dev/null || { echo "no mount namespace here: skipping"; exit 77; }

# Dependencies under the build directory, pinned by the lock file.
if [ ! -d "$NODE_DIR/node_modules/puppeteer-core" ] ||
    ! cmp -s "$here/package-lock.json" "$NODE_DIR/package-lock.json"; then
    mkdir -p "$NODE_DIR"
    cp "$here/package.json" "$here/package-lock.json" "$NODE_DIR/"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) || exit 1
fi

source "$SRCDIR/tests/server/lib.sh"
STATUS= BODY= # lib.sh's bad() prints them
trap 'finish; exit $?' EXIT
DEV=$WORK/dev
PORT=$(free_port)
# office-restricted lists at most 3 persons a window: the suspended clerk.
echo '{"principals": {"office-restricted": {"list_threshold": 3}}}' \
    >"$WORK/guard.json"
start_dev "$DEV" "$PORT" --dev-shares --demo-persons 40 \
    --guard-config "$WORK/guard.json"

# One NSS database per principal: its certificate (and key), the CA.
for who in office office-restricted platform custodian custodian2 custodian3 auditor; do
    db=$WORK/home/$who/.pki/nssdb
    mkdir -p "$db"
    openssl pkcs12 -export -in "$DEV/$who.pem" -inkey "$DEV/$who.key" \
        -name "$who" -passout pass: -out "$WORK/$who.p12" || fail_exit "p12 $who"
    certutil -N -d "sql:$db" --empty-password &&
        pk12util -i "$WORK/$who.p12" -d "sql:$db" -W '' >/dev/null &&
        certutil -A -n coffre-dev-ca -t C,, -i "$DEV/ca.pem" -d "sql:$db" ||
        fail_exit "NSS database of $who"
done
etc=$WORK/etc-chromium
mkdir -p "$etc/policies/managed"
cp -a /etc/chromium/. "$etc/" 2>/dev/null
cat >"$etc/policies/managed/coffre-e2e.json" <<JSON
{"AutoSelectCertificateForUrls":
  ["{\"pattern\":\"https://127.0.0.1:$PORT\",\"filter\":{}}"]}
JSON

shots=${COFFRE_SCREENSHOTS:-}
[ -z "$shots" ] || mkdir -p "$shots"
BADGE_OUT=$WORK/badge.txt NODE_PATH="$NODE_DIR/node_modules" CHROMIUM="$CHROMIUM" "${ns[@]}" \
    sh -c 'mount --bind "$1" /etc/chromium && shift && exec "$@"' _ \
    "$etc" node "$here/e2e.js" "$PORT" "$DEV" "$WORK/home" "$shots"
rc=$?
[ $rc = 77 ] && { trap - EXIT; stop_server; rm -rf "$WORK"; exit 77; }
[ $rc = 0 ] && ok || bad "the browser's scenarios (exit $rc)"

# The badge the page previewed, read by a real gate, offline.
if [ -n "$GATE" ] && [ -s "$WORK/badge.txt" ]; then
    GDIR=$WORK/gate
    # The list key as a gate is provisioned with it (--dev-shares
    # writes no badge-list.pub: the keys are made at the unseal).
    req gate GET /v1/badges/list-key
    "$GATE" --dir "$GDIR" init "$(echo "$BODY" | jq -r .list_key)" >/dev/null &&
        "$GATE" --dir "$GDIR" sync --cacert "$DEV/ca.pem" --cert "$DEV/gate.pem" \
            --key "$DEV/gate.key" "https://127.0.0.1:$PORT" >"$WORK/sync.out" 2>&1 ||
        bad "coffre-gate init and sync: $(cat "$WORK/sync.out")"
    out=$("$GATE" --dir "$GDIR" verify "$(cat "$WORK/badge.txt")" 2>&1 | head -1)
    [ "$out" = ACCEPT ] && ok || bad "coffre-gate on the page's badge: $out"
elif [ -n "$GATE" ]; then
    bad "no badge payload from the page"
fi
