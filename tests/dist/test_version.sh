#!/bin/bash
# --version everywhere (issue 15): coffre, every command of `coffre --help`,
# coffre-gate and each of its commands print the version meson's
# project(version:) declares, and no C file repeats it as a literal.
# Usage: test_version.sh COFFRE_GATE VERSION
. "$SRCDIR/tests/cli/lib.sh"
GATE=${1:?usage: test_version.sh COFFRE_GATE VERSION}
VERSION=${2:?}

want() { # want WHAT EXPECTED COMMAND...: exit 0 and exactly that line
    local what=$1 expected=$2 out rc; shift 2
    out=$("$@" 2>"$T/err"); rc=$?
    if [ "$rc" -eq 0 ] && [ "$out" = "$expected" ]; then pass; else
        fail "$what: got '$out' (exit $rc), want '$expected'"; fi
}

want "coffre --version" "coffre $VERSION" "$COFFRE" --version
cmds=$("$COFFRE" --help | awk '/^commands:/ {on = 1; next}
    on && /^  [a-z]/ {print $1} on && /^$/ {on = 0}')
n=$(echo "$cmds" | wc -w)
[ "$n" -ge 17 ] && pass || fail "coffre --help lists $n commands"
for c in $cmds; do
    want "coffre $c --version" "coffre $VERSION" "$COFFRE" "$c" --version
done
# Not a command: no version, a usage error.
check_exit 2 "coffre nosuch --version" "$COFFRE" nosuch --version

want "coffre-gate --version" "coffre-gate $VERSION" "$GATE" --version
for c in init sync verify; do
    want "coffre-gate $c --version" "coffre-gate $VERSION" "$GATE" "$c" --version
    want "coffre-gate --dir D $c --version" "coffre-gate $VERSION" \
        "$GATE" --dir "$T/gate" "$c" --version
done

# One source of truth: the version is meson's, not a literal in C.
if grep -rnF "\"$VERSION" "$SRCDIR/src" "$SRCDIR/lib" "$SRCDIR/include" \
    --include='*.c' --include='*.h' >"$T/lit"; then
    fail "the version is a literal in C:"; cat "$T/lit" >&2
else pass; fi
finish
