#!/bin/bash
# coffre-gate with no network at all (a network namespace with only a down
# loopback): accepts the genuine badge, refuses each crafted one with its
# reason, reads stdin, and decodes a QR code rendered to PNG.
set -euo pipefail
gate=$1
tool=$2
now=1721980800
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT

if ! unshare -n true 2>/dev/null; then
    echo "unshare -n not permitted here: skipping"
    exit 77
fi
"$tool" setup "$d"
badge=$("$tool" issue)
foreign=$("$tool" issue foreign)
fails=0

# expect STATUS FIRST-LINE ARGS...: run offline, compare.
expect() {
    local want_rc=$1 want=$2 out rc
    shift 2
    set +e
    out=$(unshare -n "$gate" --dir "$d" verify --now "$now" "$@" 2>&1)
    rc=$?
    set -e
    if [ "$rc" != "$want_rc" ] || [ "$(head -1 <<<"$out")" != "$want" ]; then
        echo "FAIL: verify $*: got rc=$rc '$(head -1 <<<"$out")'," \
            "want rc=$want_rc '$want'"
        fails=$((fails + 1))
    else
        echo "ok   $want"
    fi
}

expect 0 "ACCEPT" --venue STF --zone 3 "$badge"
unshare -n "$gate" --dir "$d" verify --now "$now" "$badge" |
    grep -q '^name: DUPONT J-M$'
# A name as another issuer may write it: shown in capitals, per code point
# on NFC (utf8proc), every script (before: ASCII letters only, "MüLLER").
lower=$("$tool" issue-name "$(printf 'Mu\xcc\x88ller \xd1\x84\xd1\x91\xd0\xb4\xd0\xbe\xd1\x80\xd0\xbe\xd0\xb2 \xe1\x83\x97 \xd5\xa1')")
name=$(unshare -n "$gate" --dir "$d" verify --now "$now" "$lower" | sed -n 's/^name: //p')
if [ "$name" = "$(printf 'M\xc3\x9cLLER \xd0\xa4\xd0\x81\xd0\x94\xd0\x9e\xd0\xa0\xd0\x9e\xd0\x92 \xe1\xb2\x97 \xd4\xb1')" ]; then
    echo "ok   name in capitals"
else
    echo "FAIL: name shown as '$name'"
    fails=$((fails + 1))
fi
expect 1 "REFUSE: wrong zone" --zone 2 "$badge"
expect 1 "REFUSE: wrong venue" --venue BCY "$badge"
expect 1 "REFUSE: unknown key" "$foreign"
expect 1 "REFUSE: malformed" "${badge:0:100}"
expect 1 "REFUSE: malformed" "HC1:${badge:4}"
expect 1 "REFUSE: expired" --now $((now + 40 * 86400)) "$badge"
expect 1 "REFUSE: not yet valid" --now $((now - 2 * 86400 + 10)) "$badge"
expect 1 "REFUSE: revocation list too old" --max-age 10 --stale refuse \
    "$badge"
expect 0 "ACCEPT" --max-age 10 --stale warn "$badge"
# Stdin.
set +e
out=$(echo "$badge" | unshare -n "$gate" --dir "$d" verify --now "$now" -)
rc=$?
set -e
[ $rc = 0 ] && [ "$(head -1 <<<"$out")" = ACCEPT ] || {
    echo "FAIL: stdin"
    fails=$((fails + 1))
}
# The image path: a QR rendered to PNG by the issuer, decoded by zbar.
"$tool" png "$badge" "$d/badge.png"
expect 0 "ACCEPT" --image "$d/badge.png"
# gate.conf: refuse stale lists by configuration.
printf 'max_age = 5\nstale = refuse\n' >"$d/gate.conf"
expect 1 "REFUSE: revocation list too old" "$badge"
rm "$d/gate.conf"
# A revocation list naming the badge.
"$tool" revoke "$d" "$badge"
expect 1 "REFUSE: revoked" "$badge"

if [ $fails -ne 0 ]; then
    echo "$fails failed"
    exit 1
fi
echo "gate_cli: all passed"
