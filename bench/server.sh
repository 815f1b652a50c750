#!/bin/bash
# Benchmark: GET /v1/persons/{p}?fields=public,identity,contact as office
# over keep-alive mutual-TLS connections, side by side in the same run with
# the same server's /v1/sys/health (the ceiling of the TLS + HTTP stack).
# Usage: bench/server.sh [BUILD] [SECONDS] [CONNECTIONS] [PERSONS]
set -eu
build=${1:-build}
secs=${2:-10}
conns=${3:-16}
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
    --conns "$conns" --seconds "$secs")
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
health=$("${lg[@]}" "$base/v1/sys/health")
person=$("${lg[@]}" "${urls[@]}")
h_rps=$(field "$health" rps)
p_rps=$(field "$person" rps)
echo "coffre server (${THREADS:-1} worker thread(s); 0 = one per connection), $(nproc) cores, $conns keep-alive mTLS connections, ${secs}s each, $persons persons, load generator on the same machine"
echo
echo "| route | req/s | p50 ms | p99 ms | errors | ratio to health |"
echo "|---|---:|---:|---:|---:|---:|"
echo "| GET /v1/sys/health | $h_rps | $(field "$health" p50_ms) | $(field "$health" p99_ms) | $(field "$health" errors) | 1.00 |"
echo "| GET /v1/persons/{p}?fields=public,identity,contact | $p_rps | $(field "$person" p50_ms) | $(field "$person" p99_ms) | $(field "$person" errors) | $(python3 -c "print(f'{$p_rps/$h_rps:.2f}')") |"
