#!/bin/sh
# Run every libFuzzer target of a fuzz build for a few seconds each, from its
# seed corpus in tests/fuzz/corpus/NAME when there is one, FUZZ_JOBS (2) at
# a time: the same seconds per target, half the wall time on 2 cores.
# Fails if any target finds a crash, leak or timeout.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" = --one ]; then
    # --one SECONDS TARGET: one target (run by xargs below)
    secs=$2 t=$3
    name=$(basename "$t")
    work=$(mktemp -d)
    seeds="$top/tests/fuzz/corpus/$name"
    [ -d "$seeds" ] && cp -r "$seeds/." "$work/" 2>/dev/null || true
    echo "fuzz $name ${secs}s"
    if ! "$t" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
        -print_final_stats=0 -artifact_prefix="$work/" "$work" \
        >"$work.log" 2>&1; then
        tail -40 "$work.log"
        echo "fuzz $name: FAILED (artifacts in $work)"
        exit 1
    fi
    rm -rf "$work" "$work.log"
    exit 0
fi

build=${1:?usage: fuzz-smoke.sh BUILD_DIR [SECONDS]}
secs=${2:-10}
targets=$(find "$build/tests/fuzz" -type f -name 'fuzz_*' -perm -u+x | sort)
n=$(echo "$targets" | grep -c .)
if ! echo "$targets" | xargs -P "${FUZZ_JOBS:-2}" -n 1 sh "$0" --one "$secs"; then
    echo "fuzz smoke: a target failed"
    exit 1
fi
echo "fuzz smoke: $n targets ran ${secs}s each without a finding"
