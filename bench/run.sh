#!/bin/bash
# Run every benchmark against a release build; each prints a markdown
# table with its baseline measured in the same run. Results go to stdout
# and to bench/results/ (ignored by git).
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$top/bench/results"
for b in "$top"/bench/*.sh; do
    case $(basename "$b") in run.sh | soak.sh) continue ;; esac # soak: by hand
    name=$(basename "$b" .sh)
    echo "## $name"
    "$b" "$build" | tee "$top/bench/results/$name.md"
done
