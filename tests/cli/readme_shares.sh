#!/bin/bash
# The README's "The command" block names the share files `coffre init`
# writes (issue 15): its init, K= and S= lines run as written (the paths
# moved under a temporary directory, `coffre` the built one), every file
# $S names exists, and $S unseals the vault (a search finds nothing).
set -u
COFFRE=${COFFRE:?set COFFRE}
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d /tmp/coffre-readme-XXXXXX)
trap 'rm -rf "$T"' EXIT
PASS=0 FAIL=0
pass() { PASS=$((PASS + 1)); }
fail() { FAIL=$((FAIL + 1)); echo "FAIL: $*"; }

awk '/^## The command/ {on = 1} on && /^```sh/ {inb = 1; next}
     inb && /^```/ {exit} inb {print}' "$SRCDIR/README.md" |
    grep -E '^(coffre init |K=|S=)' |
    sed -e "s|/srv/coffre|$T/srv/coffre|g" \
        -e "s|/media/custodians|$T/media/custodians|g" \
        -e "s|^coffre |\"\$COFFRE\" |" >"$T/steps.sh"
[ "$(wc -l <"$T/steps.sh")" -eq 3 ] && pass || fail "README: init, K= and S= lines not found"
mkdir -p "$T/media/custodians" "$T/srv"
echo 'for f in $S; do case $f in --*) ;; *) echo "$f" ;; esac; done >"$T/named"' \
    >>"$T/steps.sh"
# Unsealed by those shares: the search runs and finds no one.
echo '"$COFFRE" find $S --purpose "readme check" --document "AB 123 456" 2>&1 |
    grep -q "no match"' >>"$T/steps.sh"
if COFFRE=$COFFRE T=$T bash -e "$T/steps.sh" >"$T/out" 2>&1; then
    pass
else
    fail "the README's lines failed: $(cat "$T/out")"
fi
n=0
while read -r f; do
    case $f in "$T/srv/coffre") continue ;; esac
    n=$((n + 1))
    [ -f "$f" ] && pass || fail "README names $f, init did not write it: $(ls "$T/media/custodians")"
done <"$T/named"
[ "$n" -eq 3 ] && pass || fail "README's S names $n share files, want 3"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
