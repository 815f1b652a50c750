#!/bin/bash
# Crash test: import N generated persons (MIGRATE_CRASH_N, default 100000;
# 1000000 with a release build, docs/migration.md), kill -9 it at
# MIGRATE_CRASH_KILLS random moments (default 20), resume each time; at
# the end exactly N persons, no duplicates, and the vault's manifest root
# equals the source file's.
. "$(dirname "$0")/../cli/lib.sh"
N=${MIGRATE_CRASH_N:-100000}
KILLS=${MIGRATE_CRASH_KILLS:-20}
root_of() { awk '/^manifest root:/ { print $3 }'; }

"$COFFRE" init --data "$T/v" --shares-dir "$T/s" >/dev/null
SH="--data $T/v --share $T/s/share-1.txt --share $T/s/share-2.txt --share $T/s/share-3.txt"
"$COFFRE" gen --persons "$N" --seed 2024 --format csv --out "$T/p.csv"
want=$("$COFFRE" manifest "$T/p.csv" | root_of)
[ -n "$want" ] && pass || fail "source manifest"

# Time one import on a scratch vault to spread the kills over it.
t0=$(date +%s%N)
"$COFFRE" init --data "$T/w" --shares-dir "$T/ws" >/dev/null
"$COFFRE" import --data "$T/w" --share "$T/ws/share-1.txt" \
    --share "$T/ws/share-2.txt" --share "$T/ws/share-3.txt" "$T/p.csv" \
    >/dev/null
full_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
rm -rf "$T/w" "$T/ws"
echo "one uninterrupted import: $full_ms ms" >&2

killed=0
for k in $(seq 1 "$KILLS"); do
    ms=$(( 300 + RANDOM * RANDOM % (full_ms > 600 ? full_ms - 300 : 300) ))
    "$COFFRE" import $SH "$T/p.csv" >"$T/out.$k" 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
    wait "$pid" 2>/dev/null
    n=$("$COFFRE" status $SH | awk '/^persons:/ { print $2 }')
    echo "kill $k at ${ms} ms: $n persons stored" >&2
done
echo "$killed runs killed mid-import" >&2
"$COFFRE" import $SH "$T/p.csv" >"$T/final" && pass || fail "final resume"
cat "$T/final" >&2
n=$("$COFFRE" status $SH | awk '/^persons:/ { print $2 }')
[ "$n" = "$N" ] && pass || fail "exactly $N persons, got $n"
got=$("$COFFRE" manifest --vault $SH | tee "$T/vm" | root_of)
[ "$got" = "$want" ] && pass || fail "vault root $got != file root $want"
grep -q "($N persons)" "$T/vm" && pass || fail "no duplicates: $(cat "$T/vm")"
# Once complete, a new run adds nothing.
"$COFFRE" import $SH "$T/p.csv" | grep -q "0 new, 0 updated, $N unchanged" &&
    pass || fail "complete import again adds nothing"
finish
