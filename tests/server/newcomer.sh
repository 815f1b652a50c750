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

# --- coffre audit verify: a first run, curl's spelling, no server ---------
URL="https://127.0.0.1:$PORT"
TLS=(--cacert "$DEV/ca.pem" --cert "$DEV/auditor.pem" --key "$DEV/auditor.key")
CK=$WORK/last.checkpoint
"$COFFRE" audit verify --vkey "$DEV/audit.vkey" --url "$URL" "${TLS[@]}" \
    --saved "$CK" >"$WORK/a1.out" 2>"$WORK/a1.err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "first run: exit $rc, want 0: $(cat "$WORK/a1.out" "$WORK/a1.err")"
grep -q "first run" "$WORK/a1.out" && ok || bad "first run not said"
! grep -q "BREAK" "$WORK/a1.out" && ok || bad "first run reported a BREAK"
[ -s "$CK" ] && ok || bad "first run saved no checkpoint"
[ ! -s "$WORK/a1.err" ] && ok || bad "curl's spelling warned: $(cat "$WORK/a1.err")"
expect 200 office GET "/v1/persons?state=submitted&limit=3" # log grows
"$COFFRE" audit verify --vkey "$DEV/audit.vkey" --url "$URL" "${TLS[@]}" \
    --saved "$CK" >"$WORK/a2.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] && ok || bad "second run: exit $rc"
grep -q "Consistent with your saved checkpoint" "$WORK/a2.out" && ok ||
    bad "second run did not check the saved checkpoint"
# The old spelling: verifier key as --key, client key as --cert-key.
"$COFFRE" audit verify --key "$DEV/audit.vkey" --url "$URL" \
    --cacert "$DEV/ca.pem" --cert "$DEV/auditor.pem" \
    --cert-key "$DEV/auditor.key" --saved "$CK" >"$WORK/a3.out" 2>"$WORK/a3.err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "old spelling: exit $rc: $(cat "$WORK/a3.err")"
grep -q "deprecated" "$WORK/a3.err" && ok || bad "old spelling: no warning"
# An integrity break stays exit 1: a saved checkpoint the key did not sign.
printf 'not a checkpoint\n' >"$WORK/forged"
"$COFFRE" audit verify --vkey "$DEV/audit.vkey" --url "$URL" "${TLS[@]}" \
    --saved "$WORK/forged" >"$WORK/a4.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q BREAK "$WORK/a4.out" && ok ||
    bad "a forged saved checkpoint: exit $rc, want 1 and BREAK"
# Not reached: no server there, a wrong CA (TLS), a role refused (HTTP 403).
DOWN=$(free_port)
for case in down tls http; do
    args=(--vkey "$DEV/audit.vkey" --url "$URL" "${TLS[@]}" --saved "$CK")
    case $case in
    down) args[3]="https://127.0.0.1:$DOWN" ;;
    tls) args[5]="$DEV/auditor.pem" ;;
    http) args[7]="$DEV/office.pem" args[9]="$DEV/office.key" ;;
    esac
    "$COFFRE" audit verify "${args[@]}" >"$WORK/u.out" 2>"$WORK/u.err"
    rc=$?
    [ "$rc" -eq 3 ] && ok || bad "$case: exit $rc, want 3: $(cat "$WORK/u.out" "$WORK/u.err")"
    ! grep -q BREAK "$WORK/u.out" && ok || bad "$case reported as a BREAK"
    grep -q "could not be reached" "$WORK/u.err" && ok || bad "$case: not said"
    sed -n 1p "$WORK/u.err"
done
"$COFFRE" audit verify --help | grep -q "3 the vault could not be reached" &&
    ok || bad "--help does not document exit 3"

# --- coffre-gate sync: curl's spelling, the old one warns -------------------
"$GATE" --dir "$RUN/gate" sync --cacert "$DEV/ca.pem" --cert "$DEV/gate.pem" \
    --cert-key "$DEV/gate.key" "$URL" >/dev/null 2>"$WORK/g.err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "gate sync --cert-key: exit $rc: $(cat "$WORK/g.err")"
grep -q "deprecated" "$WORK/g.err" && ok || bad "gate sync --cert-key: no warning"
