#!/bin/bash
# Integration: what a newcomer does first (issue 15). The README's badge
# walk-through, run as the README gives it (only the port changed) against
# a dev server started today: an approved demo person gets a badge and
# coffre-gate accepts it. A second server on a busy address refuses at
# once, says so and exits 3, leaving the first one serving; `make run`'s
# script names PORT= and keeps the running server's dev directory.
# Usage: newcomer.sh COFFRE-GATE (COFFRE in the environment).
. "$(dirname "$0")/lib.sh"
trap 'finish; exit $?' EXIT
GATE=${1:?usage: newcomer.sh COFFRE-GATE}
STATUS=-
BODY=
PORT=$(free_port)
RUN=$WORK/run
DEV=$RUN/dev-vault
mkdir -p "$RUN/build/src/gate"
ln -s "$GATE" "$RUN/build/src/gate/coffre-gate"
start_dev "$DEV" "$PORT" --demo-persons 300

# --- the README's block, literally ------------------------------------------
awk '/<!-- badge-walkthrough/ {on = 1; next}
     on && /^```sh/ {inb = 1; next}
     inb && /^```/ {exit}
     inb {print}' "$SRCDIR/README.md" >"$WORK/walk.sh"
grep -q 'coffre-gate --dir gate verify' "$WORK/walk.sh" && ok ||
    bad "README: no badge walk-through block found"
sed -i "s/127\.0\.0\.1:8443/127.0.0.1:$PORT/g" "$WORK/walk.sh"
if (cd "$RUN" && bash -e "$WORK/walk.sh") >"$WORK/walk.out" 2>&1; then
    ok
else
    bad "README badge walk-through failed"
    cat "$WORK/walk.out"
fi
grep -q '^ACCEPT' "$WORK/walk.out" && ok || bad "coffre-gate did not accept"
grep -q '^name: ' "$WORK/walk.out" && ok || bad "no name shown"

# --- a busy address -------------------------------------------------------------
t0=$(date +%s)
"$COFFRE" server --dev --listen "127.0.0.1:$PORT" --dev-dir "$WORK/second" \
    --demo-persons 5000 >"$WORK/second.out" 2>"$WORK/second.err"
rc=$?
t1=$(date +%s)
[ "$rc" -eq 3 ] && ok || bad "second server on a busy port: exit $rc, want 3"
grep -q "cannot listen on 127.0.0.1:$PORT: address already in use" \
    "$WORK/second.err" && ok || bad "no 'address already in use' message"
grep -q -- "--listen" "$WORK/second.err" && ok || bad "no way out named"
! grep -q "loading" "$WORK/second.err" && ok ||
    bad "the busy address was found after loading the demo persons"
[ $((t1 - t0)) -le 5 ] && ok || bad "refusal took $((t1 - t0)) s"
cat "$WORK/second.err"
# The configuration path checks too: the first server's own config.
"$COFFRE" server --config "$DEV/server.json" >/dev/null 2>"$WORK/cfg.err"
rc=$?
[ "$rc" -eq 3 ] && ok || bad "--config on a busy port: exit $rc, want 3"
expect 200 admin GET /v1/sys/health

# --- make run's script ----------------------------------------------------------
BUILD=$(dirname "$(dirname "$COFFRE")")
bash "$SRCDIR/scripts/run.sh" "$BUILD" "$DEV" "$PORT" 10 >/dev/null \
    2>"$WORK/run.err"
rc=$?
[ "$rc" -eq 3 ] && ok || bad "run.sh on a busy port: exit $rc, want 3"
grep -q "port $PORT is in use; choose another with: make run PORT=" \
    "$WORK/run.err" && ok || bad "run.sh did not name PORT="
cat "$WORK/run.err"
[ -f "$DEV/ca.pem" ] && ok || bad "run.sh removed the running server's dev dir"
expect 200 admin GET /v1/sys/health
