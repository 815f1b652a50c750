#!/bin/bash
# Benchmark: what the guard costs. The load of bench/server.sh (office
# reads of public, identity and contact over keep-alive mutual TLS, with
# bench/server's load generator) against the same build started twice in
# one run: with the guard, and with --no-guard (a dev-only option that
# exists for this comparison). Alternated ROUNDS times; the table gives
# the median of each and the ratio (target >= 0.90).
#
# So that the guard's full path is measured and not a wall of 429s, the
# office principal's rate and person quotas are lifted for the run and
# the load reads 50 distinct persons, under the bulk threshold of 100:
# every request still goes through the suspension check, the request
# bucket, the poison lookup, the quota buckets and both sliding windows.
# Usage: bench/guard.sh [BUILD] [SECONDS] [CONNECTIONS] [PERSONS] [ROUNDS]
set -eu
build=${1:-build}
secs=${2:-10}
conns=${3:-16}
persons=${4:-5000}
rounds=${5:-3}
coffre=$build/src/coffre
loadgen=$build/bench/server/loadgen
work=$(mktemp -d /tmp/coffre-bench-guard-XXXXXX)
chmod 755 "$work"
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
cat >"$work/guard.json" <<'JSON'
{"principals": {"office": {"rate": 1000000000, "burst": 1000000000,
                           "persons_per_hour": 0, "persons_per_day": 0}}}
JSON
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# run_one MODE: start a server (MODE guard or no-guard), load it, stop it;
# prints the load generator's line.
run_one() {
    local port d extra base tls urls p
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    d=$work/dev-$1
    rm -rf "$d"
    if [ "$1" = guard ]; then extra=(--guard-config "$work/guard.json"); else extra=(--no-guard); fi
    "$coffre" server --dev --listen "127.0.0.1:$port" --dev-dir "$d" \
        --demo-persons "$persons" --threads "${THREADS:-1}" "${extra[@]}" \
        >"$work/server-$1.log" 2>&1 &
    pid=$!
    tls=(--cacert "$d/ca.pem" --cert "$d/office.pem" --key "$d/office.key")
    base="https://127.0.0.1:$port"
    for _ in $(seq 1 600); do
        curl -sf -o /dev/null "${tls[@]}" "$base/v1/sys/health" && break
        sleep 0.2
    done
    urls=()
    for p in $(curl -sf "${tls[@]}" "$base/v1/persons?state=vetting&limit=50" | jq -r '.items[].pseudonym'); do
        urls+=("$base/v1/persons/$p?fields=public,identity,contact&purpose=benchmark")
    done
    "$loadgen" --cacert "$d/ca.pem" --cert "$d/office.pem" --key "$d/office.key" \
        --conns "$conns" --seconds "$secs" "${urls[@]}"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
}

on=() off=()
for r in $(seq 1 "$rounds"); do
    off+=("$(run_one no-guard)")
    on+=("$(run_one guard)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rps() { local x; for x in "$@"; do field "$x" rps; done; }
err() { local x s=0; for x in "$@"; do s=$((s + $(field "$x" errors))); done; echo $s; }
off_rps=$(median $(rps "${off[@]}"))
on_rps=$(median $(rps "${on[@]}"))
echo "coffre server (${THREADS:-1} worker thread(s); 0 = one per connection), $(nproc) cores, $conns keep-alive mTLS connections, ${secs}s x $rounds rounds each, alternated, $persons persons, load generator on the same machine"
echo
echo "| server | req/s (median) | rounds | errors | ratio |"
echo "|---|---:|---|---:|---:|"
echo "| --no-guard | $off_rps | $(rps "${off[@]}" | tr '\n' ' ') | $(err "${off[@]}") | 1.00 |"
echo "| guard on | $on_rps | $(rps "${on[@]}" | tr '\n' ' ') | $(err "${on[@]}") | $(python3 -c "print(f'{$on_rps/$off_rps:.2f}')") |"
