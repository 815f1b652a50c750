#!/bin/sh
# One closing line for the whole test run, from Meson's JSON test log:
# "tests: N passed, N failed" (each test counts once, whatever it checks).
set -eu
log=${1:?usage: test-summary.sh BUILD_DIR}/meson-logs/testlog.json
passed=$(jq -s '[.[] | select(.result == "OK")] | length' "$log")
failed=$(jq -s '[.[] | select(.result != "OK" and .result != "SKIP")] | length' "$log")
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
