#!/bin/bash
# Backup benchmark (issue 15, docs/operations.md section 2): N generated
# persons imported into a vault (SQLite store), then, on the same store in
# the same run:
#   - `coffre backup` (one snapshot, frames, two encrypted files, the log
#     copied, manifest) and `coffre restore` of it (checks, replay, read
#     back against the row digest),
#   - baselines: the sqlite3 CLI's `.backup` (SQLite's online backup API:
#     the same ciphertext store copied page by page, no encryption, no
#     check) and `coffre store copy` (the row pass both use, into a new
#     SQLite store, read back).
# Prints a markdown table with persons/s and ratios to `.backup`.
# usage: bench/backup.sh BUILD_DIR [N]
set -eu
build=${1:-build}
N=${2:-100000}
C=$(cd "$build" && pwd)/src/coffre
work=$(mktemp -d /tmp/coffre-bench-backup-XXXXXX)
trap 'rm -rf "$work"' EXIT
# run NAME CMD...: time CMD; wall and CPU (user + system) seconds in
# $work/NAME.t. On a shared machine the CPU time is the steadier figure.
run() {
    local name=$1
    shift
    /usr/bin/time -f '%e %U %S' -o "$work/$name.t" "$@" >/dev/null
}
wall() { cut -d' ' -f1 "$work/$1.t"; }
cpu() { awk '{print $2 + $3}' "$work/$1.t"; }

"$C" init --data "$work/v" --shares-dir "$work/s" >/dev/null
SH="--share $work/s/share-1.txt --share $work/s/share-2.txt --share $work/s/share-3.txt"
echo "bench: importing $N persons..." >&2
"$C" gen --persons "$N" --seed 2024 --today 2024-07-26 --out "$work/p.jsonl"
"$C" import --data "$work/v" $SH "$work/p.jsonl" >/dev/null
"$C" backup keygen --secret "$work/k" --public "$work/k.pub" >/dev/null
db_mb=$(du -m "$work/v/coffre.db" | cut -f1)

echo "bench: sqlite3 .backup..." >&2
run plain sqlite3 "$work/v/coffre.db" ".backup '$work/plain.db'"
echo "bench: coffre store copy..." >&2
run copy "$C" store copy --from "$work/v" --to "$work/copy"
echo "bench: coffre backup..." >&2
run backup "$C" backup --data "$work/v" --out "$work/b" --to "$work/k.pub"
bk_mb=$(du -sm "$work/b" | cut -f1)
echo "bench: coffre restore..." >&2
run restore "$C" restore --from "$work/b" --data "$work/r" --key "$work/k"

printf '| %s persons, store %s MB, backup %s MB | wall s | CPU s | persons/s of CPU | CPU vs sqlite3 .backup |\n' \
    "$N" "$db_mb" "$bk_mb"
echo '|---|---|---|---|---|'
for row in "plain|sqlite3 .backup (baseline)" "copy|coffre store copy" \
    "backup|coffre backup" "restore|coffre restore"; do
    k=${row%%|*} name=${row#*|}
    printf '| %s | %.2f | %.2f | %.0f | %.1f |\n' "$name" "$(wall "$k")" \
        "$(cpu "$k")" "$(echo "$N / ($(cpu "$k") + 0.001)" | bc -l)" \
        "$(echo "($(cpu "$k") + 0.001) / ($(cpu plain) + 0.001)" | bc -l)"
done
