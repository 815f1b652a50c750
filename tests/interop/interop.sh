#!/bin/bash
# Interoperability: an independent JavaScript implementation of
# docs/badge.md (npm cbor + base45, Node zlib and Ed25519) verifies a badge
# coffre issued, and coffre-gate accepts a badge the JavaScript built.
# usage: interop.sh COFFRE_GATE BADGE_TOOL NODE_DIR
set -euo pipefail
gate=$1
tool=$2
nodedir=$3
here=$(cd "$(dirname "$0")" && pwd)
now=1721980800

command -v node >/dev/null || { echo "node not installed: skipping"; exit 77; }
# Dependencies go under the build directory, never into the source tree.
if [ ! -d "$nodedir/node_modules/cbor" ]; then
    mkdir -p "$nodedir"
    cp "$here/package.json" "$here/package-lock.json" "$nodedir/"
    (cd "$nodedir" && npm ci --no-audit --no-fund --loglevel=error)
fi
export NODE_PATH="$nodedir/node_modules"
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT

# 1. JavaScript verifies a badge of ours.
"$tool" setup "$d"
badge=$("$tool" issue)
pk=$("$tool" pk | awk '$1 == "badge" { print $2 }')
out=$(node "$here/badge.js" verify "$badge" "$pk" "$now")
echo "$out"
[ "$(head -1 <<<"$out")" = ACCEPT ]
grep -q '^name: DUPONT J-M$' <<<"$out"
grep -q '^zones: 1 3 R$' <<<"$out"
# ... and refuses it with a flipped signature character.
last=${badge: -1}
[ "$last" = 0 ] && repl=1 || repl=0
set +e
node "$here/badge.js" verify "${badge:0:${#badge}-1}$repl" "$pk" "$now" \
    >/dev/null 2>&1
rc=$?
set -e
[ $rc -ne 0 ]

# 2. coffre-gate accepts a badge built by the JavaScript, with its own key
#    put on the trust list.
node "$here/badge.js" issue "$now" >"$d/js.txt"
line=$(cat "$d/js.txt")
jspk=${line%% *}
jsbadge=${line#* }
"$tool" trust "$d" "$jspk"
out=$(unshare -n "$gate" --dir "$d" verify --now "$now" --zone M "$jsbadge" 2>&1 ||
    "$gate" --dir "$d" verify --now "$now" --zone M "$jsbadge")
echo "$out"
[ "$(head -1 <<<"$out")" = ACCEPT ]
grep -q '^category: media$' <<<"$out"
echo "interop: both directions passed"
