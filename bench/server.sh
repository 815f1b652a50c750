#!/bin/bash
# Benchmark: GET /v1/persons/{p}?fields=public,identity,contact as office
# over keep-alive mutual-TLS connections, side by side in the same run with
# two ceilings of the same server: /v1/sys/health (TLS + HTTP, nothing
# else) and the read of a pseudonym that resolves to nobody (a 404 that is
# routed, authorised and written to the audit log durably before it
# leaves, like every person read, but reads no record).
# Usage: bench/server.sh [BUILD] [SECONDS] [CONNECTIONS...] [PERSONS]
#   CONNECTIONS: a count or a space-separated list (default "16 32 64")
set -eu
build=${1:-build}
secs=${2:-10}
conn_list=${3:-16 32 64}
persons=${4:-5000}
top=$(cd "$(dirname "$0")/.." && pwd)
coffre=$build/src/coffre
loadgen=$build/bench/server/loadgen
work=$(mktemp -d /tmp/coffre-bench-XXXXXX)
chmod 755 "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The guard stays on, with the office's limits raised so that the load is
# served rather than refused (bench/guard.sh measures the guard's cost).
cat >"$work/guard.json" <<'JSON'
{"principals": {"office": {"rate": 1000000000, "burst": 1000000000,
                           "persons_per_hour": 0, "persons_per_day": 0,
                           "bulk_threshold": 100000, "list_threshold": 100000}}}
JSON
"$coffre" server --dev --listen "127.0.0.1:$port" --dev-dir "$work/dev" \
    --demo-persons "$persons" --threads "${THREADS:-1}" \
    --guard-config "$work/guard.json" >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
d=$work/dev
tls=(--cacert "$d/ca.pem" --cert "$d/office.pem" --key "$d/office.key")
for _ in $(seq 1 600); do
    curl -sf -o /dev/null "${tls[@]}" "https://127.0.0.1:$port/v1/sys/health" && break
    sleep 0.2
done
base="https://127.0.0.1:$port"
urls=()
for p in $(curl -sf "${tls[@]}" "$base/v1/persons?limit=200" | jq -r '.items[].pseudonym'); do
    urls+=("$base/v1/persons/$p?fields=public,identity,contact&purpose=benchmark")
done
[ ${#urls[@]} -gt 0 ] || { echo "no persons to read"; exit 1; }
lg=("$loadgen" --cacert "$d/ca.pem" --cert "$d/office.pem" --key "$d/office.key"
    --seconds "$secs")
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# 43 characters of the pseudonym alphabet: well formed, nobody's.
miss="$base/v1/persons/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA?fields=public,identity,contact&purpose=benchmark"
row() { # row CONNS LABEL OUTPUT HEALTH_RPS
    local rps
    rps=$(field "$3" rps)
    echo "| $1 | $2 | $rps | $(field "$3" p50_ms) | $(field "$3" p99_ms) | $(field "$3" errors) | $(python3 -c "print(f'{$rps/$4:.2f}')") |"
}
echo "coffre server (${THREADS:-1} event-loop thread(s); 0 = one per connection), $(nproc) cores, keep-alive mTLS connections, ${secs}s each, $persons persons, load generator on the same machine"
echo
echo "| connections | route | req/s | p50 ms | p99 ms | errors | ratio to health |"
echo "|---:|---|---:|---:|---:|---:|---:|"
for conns in $conn_list; do
    health=$("${lg[@]}" --conns "$conns" "$base/v1/sys/health")
    audited=$("${lg[@]}" --conns "$conns" --expect 404 "$miss")
    person=$("${lg[@]}" --conns "$conns" "${urls[@]}")
    h_rps=$(field "$health" rps)
    row "$conns" "GET /v1/sys/health" "$health" "$h_rps"
    row "$conns" "GET /v1/persons/{nobody} (404, audited)" "$audited" "$h_rps"
    row "$conns" "GET /v1/persons/{p}?fields=public,identity,contact" "$person" "$h_rps"
done
