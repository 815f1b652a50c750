#!/bin/sh
# `make test` after the builds: fuzz smoke, then every Meson suite, then one
# closing line "tests: N passed, N failed". Fails if anything failed.
set -u
asan=${1:?usage: test.sh ASAN_BUILD FUZZ_BUILD SECONDS}
fuzz=${2:?}
secs=${3:-10}
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/fuzz-smoke.sh" "$fuzz" "$secs" || exit 1
meson test -C "$asan" --print-errorlogs --num-processes 2
rc=$?
"$top/scripts/test-summary.sh" "$asan" || rc=1
exit $rc
