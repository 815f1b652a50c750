#!/bin/bash
# Benchmark: POST /v1/persons (a submission by the platform) over
# keep-alive mutual-TLS connections, side by side in the same run with the
# server's own ceilings: /v1/sys/health (TLS + HTTP only) and a person read
# by the office (audited, group-committed). Since issue 13 a write's audit
# entry is made durable inside its store transaction, before the commit,
# under the vault's lock: writes pay two syncs in a row (the log's, then
# SQLite's), reads keep sharing group commits.
# Usage: bench/server_write.sh [BUILD] [SECONDS] [CONNECTIONS...]
#   COFFRE=path runs another coffre binary (an earlier build, for a
#   before/after in one sitting) with this build's load generator.
set -eu
build=${1:-build}
secs=${2:-10}
conn_list=${3:-16 64}
coffre=${COFFRE:-$build/src/coffre}
loadgen=$build/bench/server/loadgen
work=$(mktemp -d /tmp/coffre-bench-XXXXXX)
chmod 755 "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Limits raised so that the load is served, not refused.
cat >"$work/guard.json" <<'JSON'
{"roles": {"platform": {"rate": 1000000000, "burst": 1000000000},
           "office": {"rate": 1000000000, "burst": 1000000000,
                      "persons_per_hour": 0, "persons_per_day": 0,
                      "bulk_threshold": 100000, "list_threshold": 100000}}}
JSON
"$coffre" server --dev --listen "127.0.0.1:$port" --dev-dir "$work/dev" \
    --demo-persons 2000 --guard-config "$work/guard.json" \
    >"$work/server.log" 2>&1 &
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
for p in $(curl -sf "${tls[@]}" "$base/v1/persons?limit=200&purpose=benchmark" | jq -r '.items[].pseudonym'); do
    urls+=("$base/v1/persons/$p?fields=public,identity,contact&purpose=benchmark")
done
[ ${#urls[@]} -gt 0 ] || { echo "no persons to read"; exit 1; }
# A submission without a source key: every POST stores a new person.
curl -sf "${tls[@]}" "${urls[0]/fields=public,identity,contact/fields=public,identity,contact,document}" |
    jq -c '.person | del(.source_key, .protected) | .public.state = "submitted"' >"$work/app.json"
lg=("$loadgen" --seconds "$secs")
office=(--cacert "$d/ca.pem" --cert "$d/office.pem" --key "$d/office.key")
platform=(--cacert "$d/ca.pem" --cert "$d/platform.pem" --key "$d/platform.key")
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
row() { # row CONNS LABEL OUTPUT HEALTH_RPS
    local rps
    rps=$(field "$3" rps)
    echo "| $1 | $2 | $rps | $(field "$3" p50_ms) | $(field "$3" p99_ms) | $(field "$3" errors) | $(python3 -c "print(f'{$rps/$4:.3f}')") |"
}
echo "$coffre, $(nproc) cores, keep-alive mTLS, ${secs}s each, load generator on the same machine"
echo
echo "| connections | route | req/s | p50 ms | p99 ms | errors | ratio to health |"
echo "|---:|---|---:|---:|---:|---:|---:|"
for conns in $conn_list; do
    health=$("${lg[@]}" "${office[@]}" --conns "$conns" "$base/v1/sys/health")
    hr=$(field "$health" rps)
    row "$conns" "health (ceiling)" "$health" "$hr"
    row "$conns" "person read (office)" \
        "$("${lg[@]}" "${office[@]}" --conns "$conns" "${urls[@]}")" "$hr"
    row "$conns" "submission (platform POST)" \
        "$("${lg[@]}" "${platform[@]}" --conns "$conns" --expect 201 \
            --body "$work/app.json" "$base/v1/persons")" "$hr"
done
