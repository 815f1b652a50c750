#!/bin/bash
# Soak: DURATION seconds (default 1800) of mixed load against a real dev
# `coffre server` (creates, reads, searches, patches, state changes through
# vetting to approval, badge issuance, audit checkpoints and proofs, and
# requests that must fail: 400, 403, 404, 409), with the server's VmRSS and
# open file descriptors sampled every 10 s into a CSV. Ends with a summary
# and a verdict: "flat" when RSS after a 2-minute warm-up grows less than 5%
# and the descriptors are back to their idle count; "flat but the audit
# tree and the page cache" when what RSS grows beyond the in-memory Merkle
# tree's documented share (72 bytes an entry: docs/audit.md section 2) and
# the growth of the SQLite file (its page cache, up to 64 MB) is under 5%. Exit 0
# only if flat (either) and no request got an answer other than the one
# expected.
# Not part of the test command. Usage: bench/soak.sh [BUILD] [CSV]
#   COFFRE (BUILD/src/coffre), DURATION (1800), WORKERS (4), WARMUP (120), INTERVAL (10), PERSONS (200)
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$top/bench/results"
csv=${2:-$top/bench/results/soak.csv}
coffre=${COFFRE:-$build/src/coffre}
work=$(mktemp -d /tmp/coffre-soak-XXXXXX)
chmod 755 "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The guard stays on, with limits raised so that the load is served: the
# soak looks for leaks, bench/guard.sh measures the guard. Its windows of
# disclosed persons (off thresholds: up to 10^6 entries) last 60 s rather
# than an hour, so that they are full, and stop growing, within the
# warm-up.
cat >"$work/guard.json" <<'JSON'
{"roles": {
  "office": {"rate": 1000000000, "burst": 1000000000, "persons_per_hour": 0,
             "persons_per_day": 0, "bulk_threshold": 0, "list_threshold": 0,
             "bulk_window": 60},
  "vetting": {"rate": 1000000000, "burst": 1000000000, "persons_per_hour": 0,
              "persons_per_day": 0, "bulk_threshold": 0, "list_threshold": 0,
              "bulk_window": 60},
  "printer": {"rate": 1000000000, "burst": 1000000000, "persons_per_hour": 0,
              "persons_per_day": 0, "bulk_threshold": 0, "list_threshold": 0,
              "bulk_window": 60},
  "auditor": {"rate": 1000000000, "burst": 1000000000}}}
JSON
"$coffre" server --dev --listen "127.0.0.1:$port" --dev-dir "$work/dev" \
    --demo-persons "${PERSONS:-200}" --threads "${THREADS:-1}" \
    --guard-config "$work/guard.json" >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
d=$work/dev
for _ in $(seq 1 600); do
    [ -f "$d/office.key" ] && curl -sf -o /dev/null --cacert "$d/ca.pem" \
        --cert "$d/office.pem" --key "$d/office.key" \
        "https://127.0.0.1:$port/v1/sys/health" && break
    kill -0 $pid 2>/dev/null || { cat "$work/server.log"; exit 1; }
    sleep 0.2
done
echo "coffre server soak: $(nproc) cores, ${DURATION:-1800} s, ${WORKERS:-4} workers, ${THREADS:-1} event-loop thread(s), ${PERSONS:-200} demo persons, CSV $csv"
rc=0
python3 "$top/bench/soak_load.py" "$d" "$port" "$pid" "${DURATION:-1800}" "$csv" \
    "${WORKERS:-4}" "${INTERVAL:-10}" "${WARMUP:-120}" || rc=$?
if ! kill -0 $pid 2>/dev/null; then
    echo "the server died:"; tail -n 20 "$work/server.log"; rc=1
fi
# A clean stop: on an ASan build (COFFRE=build-asan/src/coffre),
# LeakSanitizer reports here what the server leaked in the whole run.
kill -TERM $pid 2>/dev/null
wait $pid
echo "server exit status: $?"
if grep -q 'Sanitizer' "$work/server.log"; then
    grep -A12 'ERROR: .*Sanitizer\|SUMMARY: .*Sanitizer' "$work/server.log" | head -n 60
    rc=1
fi
echo "server log, errors and warnings: $(grep -ci '"level":"\(error\|warning\)"' "$work/server.log")"
grep -i '"level":"\(error\|warning\)"' "$work/server.log" | head -n 5 || true
exit $rc
