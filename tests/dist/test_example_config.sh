#!/bin/bash
# The example configuration (dist/coffre.conf.example, installed as
# /etc/coffre/coffre.conf.example) is one the server accepts, and
# `coffre server --check-config` refuses a bad one naming the key.
# Usage: test_example_config.sh EXAMPLE
. "$SRCDIR/tests/cli/lib.sh"
EX=${1:?usage: test_example_config.sh EXAMPLE}

check_exit 0 "the example is accepted" "$COFFRE" server --check-config "$EX"
grep -q "accepted (listen 0.0.0.0:8443, 11 principals, guard on)" "$T/out" &&
    pass || fail "check-config output: $(cat "$T/out")"
grep -q "warning: tls_key /etc/coffre/server.key" "$T/err" ||
    [ -r /etc/coffre/server.key ] && pass || fail "no warning on a missing key"
# The service runs as coffre in /var/lib/coffre (the unit's state dir).
jq -e '.user == "coffre" and (.data_dir | startswith("/var/lib/coffre/"))' \
    "$EX" >/dev/null && pass || fail "example: user or data_dir"

# Bad copies: each refused, exit 1, the key named, nothing else needed.
bad() { # bad WHAT JQ_FILTER PATTERN
    jq "$2" "$EX" >"$T/bad.json"
    check_exit 1 "$1" "$COFFRE" server --check-config "$T/bad.json"
    check_stderr "$3" "$1"
}
bad "unknown key" '. + {"listn": "x"}' 'listn: unknown key'
bad "out of range" '.threads = 65' 'threads: must be an integer'
bad "missing data_dir" 'del(.data_dir)' 'data_dir: required'
bad "bad role" '.principals[0].role = "root"' 'unknown role'
bad "guard key" '.guard.roles.office.rat = 1' 'guard.office.rat: unknown key'
printf '{"listen": ' >"$T/trunc.json"
check_exit 1 "truncated JSON" "$COFFRE" server --check-config "$T/trunc.json"
check_exit 1 "no such file" "$COFFRE" server --check-config "$T/none.json"
check_exit 2 "with --dev" "$COFFRE" server --check-config "$EX" --dev
finish
