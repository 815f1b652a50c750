# Shared helpers for the shell integration tests. Each test sources this,
# calls `pass`/`fail` per assertion and `finish` at the end, which prints
# "N passed, N failed" and sets the exit status.
set -u
: "${COFFRE:?COFFRE must point at the coffre binary}"
PASSED=0
FAILED=0
T=$(mktemp -d "${TMPDIR:-/tmp}/coffre-it-XXXXXX")
# COFFRE_TEST_STORE=pg: vaults made with `init ... $(store_opt)` live in
# PostgreSQL (tests/pg_store.sh).
. "$(dirname "${BASH_SOURCE[0]}")/../pg_store.sh"
cleanup() { pg_store_stop; [ -n "${KEEP_TMP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT

pass() { PASSED=$((PASSED + 1)); }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }
check() { # check DESCRIPTION COMMAND...: the command must succeed
    local what=$1; shift
    if "$@" >/dev/null 2>&1; then pass; else fail "$what"; fi
}
check_exit() { # check_exit WANT DESCRIPTION COMMAND...: exact exit status
    local want=$1 what=$2 got; shift 2
    "$@" >"$T/out" 2>"$T/err"; got=$?
    if [ "$got" -eq "$want" ]; then pass; else
        fail "$what: exit $got, want $want"; sed 's/^/  | /' "$T/err" >&2; fi
}
check_stderr() { # check_stderr PATTERN DESCRIPTION: last stderr matches
    if grep -qE -- "$1" "$T/err"; then pass; else
        fail "$2: stderr lacks /$1/"; sed 's/^/  | /' "$T/err" >&2; fi
}
finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
}
