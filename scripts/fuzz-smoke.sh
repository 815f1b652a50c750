#!/bin/sh
# Run every libFuzzer target of a fuzz build for a few seconds each, from its
# seed corpus in tests/fuzz/corpus/NAME when there is one. Fails on the first
# crash, leak or timeout.
set -eu
build=${1:?usage: fuzz-smoke.sh BUILD_DIR [SECONDS]}
secs=${2:-10}
top=$(cd "$(dirname "$0")/.." && pwd)
n=0
for t in $(find "$build/tests/fuzz" -type f -name 'fuzz_*' -perm -u+x | sort); do
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
    n=$((n + 1))
done
echo "fuzz smoke: $n targets ran ${secs}s each without a finding"
