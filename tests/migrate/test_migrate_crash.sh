#!/bin/bash
# Crash test (docs/migration.md section 2): import N generated persons
# (MIGRATE_CRASH_N, default 100000), kill -9 the import KILLS times
# (MIGRATE_CRASH_KILLS, default 20), every kill landing mid-import, and
# resume each time; at the end exactly N persons, no duplicates, the
# vault's manifest root equals the source file's, and the reject file names
# exactly the bad rows planted in the file, at their physical lines.
#
# Kill schedule: KILLS points drawn uniformly over the N persons and
# sorted, so that the kills spread over the whole import. Run k is killed
# when it should reach point k: a moment of its own remaining work,
# estimated from the persons stored so far and the rate the runs have
# shown (a short calibration import gives the first rate). A point already
# passed gives a moment within the run's first batch (or the first half of
# its work, if less), never less than a quarter batch. A kill counts only if the run was still importing (it
# died of SIGKILL); a run that completed first is reported, not counted, and
# the next delays are halved.
. "$(dirname "$0")/../cli/lib.sh"
N=${MIGRATE_CRASH_N:-100000}
KILLS=${MIGRATE_CRASH_KILLS:-20}
AGAIN=${MIGRATE_CRASH_AGAIN:-1} # 0: skip importing the complete file again
BATCH=8192 # IMPORT_BATCH in src/cmd_import.c
root_of() { awk '/^manifest root:/ { print $3 }'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
T_START=$(now_ms)
phase() { echo "[$((($(now_ms) - T_START) / 1000)) s] $*" >&2; }
rnd() { echo $(((RANDOM << 15 | RANDOM) % $1)); } # 0 <= rnd N < N <= 2^30
stored() { "$COFFRE" status $SH | awk '/^persons:/ { print $2 }'; }

"$COFFRE" init --data "$T/v" --shares-dir "$T/s" $(store_opt) >/dev/null
SH="--data $T/v --share $T/s/share-1.txt --share $T/s/share-2.txt --share $T/s/share-3.txt"
"$COFFRE" gen --persons "$N" --seed 2024 --format csv --out "$T/gen.csv"
# Plant 5 bad rows (rejected, not counted) and note their physical lines.
awk -v every=$(((N + 4) / 5)) -v want="$T/want.rejects" '
    { print; out++ }
    NR > 1 && (NR - 1) % every == 0 {
        print "bad row planted by the crash test"; out++
        print "line " out > want
    }' "$T/gen.csv" >"$T/p.csv"
rm -f "$T/gen.csv"
phase "generated $N persons"
want=$("$COFFRE" manifest "$T/p.csv" | root_of)
phase "manifest of the file"
[ -n "$want" ] && pass || fail "source manifest"

# Calibration: the rate of a short import on a scratch vault, and the
# start-up cost (open and unseal) of a run.
CAL=${MIGRATE_CRASH_CAL:-20000} # persons of the calibration import, at most
cal=$((N < CAL ? N : CAL))
head -n $((cal + 1)) "$T/p.csv" | grep -v '^bad row' >"$T/cal.csv"
"$COFFRE" init --data "$T/w" --shares-dir "$T/ws" $(store_opt) >/dev/null
t0=$(now_ms)
"$COFFRE" status --data "$T/w" --share "$T/ws/share-1.txt" \
    --share "$T/ws/share-2.txt" --share "$T/ws/share-3.txt" >/dev/null
startup=$(($(now_ms) - t0))
t0=$(now_ms)
"$COFFRE" import --data "$T/w" --share "$T/ws/share-1.txt" \
    --share "$T/ws/share-2.txt" --share "$T/ws/share-3.txt" "$T/cal.csv" \
    >/dev/null
cal_ms=$(($(now_ms) - t0))
rm -rf "$T/w" "$T/ws" "$T/cal.csv"
# Rate as persons and milliseconds of runs, summed over killed runs.
done_p=$cal
done_ms=$((cal_ms > startup ? cal_ms - startup : 1))
echo "calibration: $cal persons in $cal_ms ms, start-up $startup ms" >&2

# No point in the last stretch: a run aimed there could complete first.
small=$((N / 10 < BATCH ? N / 10 : BATCH))
margin=$((N / 30 > small ? N / 30 : small))
points=$(for k in $(seq 1 "$KILLS"); do rnd $((N - margin)); done | sort -n)
killed=0 completed=0 attempt=0 shrink=1 have=0
set -- $points
t_all=$(now_ms)
while [ "$killed" -lt "$KILLS" ] && [ "$attempt" -lt $((2 * KILLS + 5)) ]; do
    attempt=$((attempt + 1))
    aim=$1
    # Work left to this run: the rest of the file, or all of it again
    # (checked, not stored) once a run has completed.
    left=$((completed > 0 ? N : N - have))
    first=$((left / 2 < BATCH ? left / 2 : BATCH))
    first=$((first > 0 ? first : 1))
    togo=$((aim > have && completed == 0 ? aim - have : 1 + $(rnd $first)))
    # Not before the run is well into reading: a quarter batch at least.
    togo=$((togo * 4 < BATCH && completed == 0 ? BATCH / 4 : togo))
    ms=$((startup + togo * done_ms / done_p / shrink))
    t0=$(now_ms)
    "$COFFRE" import $SH "$T/p.csv" >"$T/out" 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    ran=$(($(now_ms) - t0))
    before=$have
    have=$(stored)
    if [ "$rc" -eq 137 ]; then
        killed=$((killed + 1))
        shift
        # Work since the last commit is lost: half a batch, on average.
        done_p=$((done_p + have - before + (ran > startup ? BATCH / 2 : 0)))
        done_ms=$((done_ms + (ran > startup ? ran - startup : 0)))
        echo "kill $killed at $ms ms (aimed at $aim): $before -> $have" \
            "persons stored" >&2
    elif [ "$rc" -eq 0 ]; then
        completed=$((completed + 1))
        shrink=$((shrink * 2))
        echo "run $attempt completed before its kill at $ms ms (not" \
            "counted): $before -> $have persons; next delay halved" >&2
    else
        fail "run $attempt failed (exit $rc)"
        sed 's/^/  | /' "$T/out" >&2
        break
    fi
done
echo "$killed kills landed mid-import, $completed runs completed first," \
    "$(($(now_ms) - t_all)) ms of killed runs" >&2
[ "$killed" -eq "$KILLS" ] && pass || fail "$killed of $KILLS kills mid-import"

phase "kills done"
t0=$(now_ms)
"$COFFRE" import $SH "$T/p.csv" >"$T/final" && pass || fail "final resume"
echo "final resume: $(($(now_ms) - t0)) ms" >&2
cat "$T/final" >&2
n=$(stored)
[ "$n" = "$N" ] && pass || fail "exactly $N persons, got $n"
# The marker carries the counts of the batches committed before a kill.
[ "$completed" -gt 0 ] || grep -q "$N new, 0 updated, 0 unchanged, 0 dup" \
    "$T/final" && pass || fail "counts across resumes"
[ "$(root_of <"$T/final")" = "$want" ] && pass ||
    fail "import printed $(root_of <"$T/final"), file root $want"
got=$("$COFFRE" manifest --vault $SH | tee "$T/vm" | root_of)
phase "manifest of the vault"
[ "$got" = "$want" ] && pass || fail "vault root $got != file root $want"
grep -q "($N persons)" "$T/vm" && pass || fail "no duplicates: $(cat "$T/vm")"
cut -f1 "$T/p.csv.rejects" | cmp -s - "$T/want.rejects" && pass ||
    fail "rejects: $(cut -f1 "$T/p.csv.rejects" | tr '\n' ' ')"
# Once complete, a new run adds nothing.
if [ "$AGAIN" != 0 ]; then
    "$COFFRE" import $SH "$T/p.csv" |
        grep -q "0 new, 0 updated, $N unchanged" && pass ||
        fail "complete import again adds nothing"
    phase "imported again"
fi
finish
