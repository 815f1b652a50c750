#!/bin/bash
# PostgreSQL beside SQLite, in one run (issue 14):
#   1. the server's read and write load (bench/server_write.sh's routes:
#      health, a person read by the office, a submission POSTed by the
#      platform) on a dev server on SQLite, then on PostgreSQL, same load
#      generator, same persons count, same connections;
#   2. `coffre import` of the same generated CSV into a vault on SQLite and
#      into one on PostgreSQL;
#   3. the same read and write load on one PostgreSQL database through one
#      `coffre server` process, then spread over two (the second one's data
#      directory made by `coffre init --join`, each on its own port; the
#      load generator cycles its requests over both ports).
# PostgreSQL 15 runs on loopback on the same cores, started here durable
# (scripts/pg-test.sh with PG_TEST_DURABLE=1: fsync=on,
# synchronous_commit=on) so that it compares with SQLite's synchronous=FULL.
# For each load the CPU used by the coffre process(es), by PostgreSQL
# (postmaster and its backends) and by the load generator is read from
# /proc (cores = CPU seconds / wall seconds): what limits the run.
# Usage: bench/pg.sh [BUILD] [SECONDS] [CONNECTIONS] [PERSONS] [IMPORT_N]
set -eu
build=${1:-build}
secs=${2:-8}
conns=${3:-32}
persons=${4:-2000}
import_n=${5:-50000}
top=$(cd "$(dirname "$0")/.." && pwd)
C=$(cd "$build" && pwd)/src/coffre
loadgen=$(cd "$build" && pwd)/bench/server/loadgen
work=$(mktemp -d /tmp/coffre-bench-pg-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    "$top/scripts/pg-test.sh" stop "$work/pg" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

echo "bench: starting PostgreSQL 15 (fsync=on, synchronous_commit=on)..." >&2
PG_TEST_DURABLE=1 "$top/scripts/pg-test.sh" start "$work/pg" >/dev/null
pgport=$(cat "$work/pg/port")
pgsql() { psql -qAt -v ON_ERROR_STOP=1 "host=127.0.0.1 port=$pgport user=postgres dbname=postgres" -c "$1"; }
echo 0 >"$work/dbs"
newdb() { # a fresh database, its URI on stdout (numbered in a file: it runs in $(...))
    local db_n
    db_n=$(($(cat "$work/dbs") + 1))
    echo "$db_n" >"$work/dbs"
    pgsql "CREATE DATABASE bench$db_n" >&2
    echo "postgresql://postgres@127.0.0.1:$pgport/bench$db_n"
}
pg_settings=$(pgsql "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings
    WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'shared_buffers')")
postmaster=$(head -1 "$work/pg/data/postmaster.pid")

# CPU ticks of the given processes (utime + stime, and cutime + cstime:
# the children they reaped, PostgreSQL's ended backends) and of their
# live children (utime + stime).
ticks() {
    local p sum=0 c
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] || continue
        sum=$((sum + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13 + $14 + $15}')))
        for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do
            [ -r "/proc/$c/stat" ] || continue
            sum=$((sum + $(sed 's/.*) //' "/proc/$c/stat" | awk '{print $12 + $13}')))
        done
    done
    echo "$sum"
}
hz=$(getconf CLK_TCK)

cat >"$work/guard.json" <<'JSON'
{"roles": {"platform": {"rate": 1000000000, "burst": 1000000000},
           "office": {"rate": 1000000000, "burst": 1000000000,
                      "persons_per_hour": 0, "persons_per_day": 0,
                      "bulk_threshold": 100000, "list_threshold": 100000}}}
JSON

# wait_up DEVDIR PORT
wait_up() {
    for _ in $(seq 1 1200); do
        [ -f "$1/office.key" ] && curl -sf -o /dev/null --cacert "$1/ca.pem" \
            --cert "$1/office.pem" --key "$1/office.key" \
            "https://127.0.0.1:$2/v1/sys/health" && return 0
        sleep 0.2
    done
    echo "bench: server on :$2 did not start" >&2
    cat "$1.log" >&2
    exit 1
}
# unseal DEVDIR PORT: three custodians give shares 1..3.
unseal() {
    local k who
    for k in 1 2 3; do
        who=custodian
        [ "$k" = 1 ] || who=custodian$k
        jq -Rs '{share: .}' "$1/shares/share-$k.txt" |
            curl -sf -o /dev/null --cacert "$1/ca.pem" --cert "$1/$who.pem" \
                --key "$1/$who.key" -H 'Content-Type: application/json' \
                --data-binary @- "https://127.0.0.1:$2/v1/sys/unseal"
    done
}
# prepare DEVDIR PORT...: the person URLs (on every port given, in turn)
# and the submission body, in $urls and $work/app.json.
prepare() {
    local d=$1 p q
    shift
    local tls=(--cacert "$d/ca.pem" --cert "$d/office.pem" --key "$d/office.key")
    urls=()
    for p in $(curl -sf "${tls[@]}" "https://127.0.0.1:$1/v1/persons?limit=200&purpose=benchmark" |
        jq -r '.items[].pseudonym'); do
        for q in "$@"; do
            urls+=("https://127.0.0.1:$q/v1/persons/$p?fields=public,identity,contact&purpose=benchmark")
        done
    done
    [ ${#urls[@]} -gt 0 ] || { echo "bench: no persons to read" >&2; exit 1; }
    curl -sf "${tls[@]}" "${urls[0]/fields=public,identity,contact/fields=public,identity,contact,document}" |
        jq -c '.person | del(.source_key, .protected) | .public.state = "submitted"' >"$work/app.json"
}
# run LABEL ROLE DEVDIR COFFRE_PIDS -- LOADGEN ARGS: one load, one table row
# (rps, p50, p99, errors, CPU cores of coffre / PostgreSQL / load generator);
# the rps also in $rps.
run() {
    local label=$1 role=$2 d=$3 cpids=$4 out t0 t1 c0 c1 p0 p1 lt
    shift 5
    # What PostgreSQL's backends wait on: pg_stat_activity sampled every
    # 0.1 s during the load (client connections, active or idle in a
    # transaction) by one psql session (its own CPU is negligible),
    # printed to stderr and kept in $work/waits.
    (while :; do
        echo "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity
              WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
              AND state IN ('active', 'idle in transaction');"
        sleep 0.1
    done | psql -qAt "host=127.0.0.1 port=$pgport user=postgres dbname=postgres" \
        >"$work/waits.raw" 2>/dev/null) &
    local sampler=$!
    c0=$(ticks $cpids) p0=$(ticks "$postmaster") t0=$(now)
    out=$( { /usr/bin/time -f 'lgcpu=%U+%S' "$loadgen" --cacert "$d/ca.pem" \
        --cert "$d/$role.pem" --key "$d/$role.key" --seconds "$secs" \
        --conns "$conns" "$@"; } 2>&1)
    t1=$(now) c1=$(ticks $cpids) p1=$(ticks "$postmaster")
    pkill -P "$sampler" 2>/dev/null || true
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    if [ -s "$work/waits.raw" ]; then
        sort "$work/waits.raw" | uniq -c | sort -rn | head -4 |
            awk -v l="$label" 'BEGIN {printf "bench: %s: postgres waits:", l} {printf " %s %d", $2, $1} END {print ""}' |
            tee -a "$work/waits" >&2
    fi
    lt=$(echo "$out" | sed -n 's/^lgcpu=//p')
    rps=$(field "$out" rps)
    printf '| %s | %s | %s | %s | %s | %.2f | %.2f | %.2f |\n' "$label" "$rps" \
        "$(field "$out" p50_ms)" "$(field "$out" p99_ms)" "$(field "$out" errors)" \
        "$(echo "($c1 - $c0) / $hz / ($t1 - $t0)" | bc -l)" \
        "$(echo "($p1 - $p0) / $hz / ($t1 - $t0)" | bc -l)" \
        "$(echo "($lt) / ($t1 - $t0)" | bc -l)"
}
header() {
    echo "| $1 | req/s | p50 ms | p99 ms | errors | coffre cores | postgres cores | loadgen cores |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
}
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

echo "# PostgreSQL beside SQLite"
echo
echo "$(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'), release build $C;"
echo "PostgreSQL 15 on loopback on the same cores: $pg_settings;"
echo "SQLite: WAL, synchronous=FULL. Load generator on the same machine:"
echo "$conns keep-alive mTLS connections, ${secs}s a load, $persons demo persons,"
echo "guard on with its limits raised."

# --- 1. one server, SQLite then PostgreSQL ------------------------------------
declare -A R
echo
echo "## 1. One server: SQLite vs PostgreSQL"
echo
header "store / route"
# pg-noguard: the read again on PostgreSQL with the guard off (--no-guard,
# a dev-only option), whose shared state costs a round trip per read.
for store in sqlite pg pg-noguard; do
    echo "bench: server on $store..." >&2
    port=$(free_port)
    d=$work/dev-$store
    sopt=(--guard-config "$work/guard.json")
    [ "$store" = sqlite ] || sopt+=(--store "$(newdb)")
    [ "$store" = pg-noguard ] && sopt=(--no-guard --store "$(newdb)")
    "$C" server --dev --listen "127.0.0.1:$port" --dev-dir "$d" \
        --demo-persons "$persons" "${sopt[@]}" >"$d.log" 2>&1 &
    spid=$!
    pids+=("$spid")
    wait_up "$d" "$port"
    prepare "$d" "$port"
    base=https://127.0.0.1:$port
    if [ "$store" = pg-noguard ]; then
        run "pg, guard off: person read (office)" office "$d" "$spid" -- "${urls[@]}"
        kill "$spid"
        wait "$spid" 2>/dev/null || true
        continue
    fi
    run "$store: health (ceiling)" office "$d" "$spid" -- "$base/v1/sys/health"
    R[$store.health]=$rps
    run "$store: person read (office)" office "$d" "$spid" -- "${urls[@]}"
    R[$store.read]=$rps
    run "$store: submission (platform POST)" platform "$d" "$spid" -- \
        --expect 201 --body "$work/app.json" "$base/v1/persons"
    R[$store.write]=$rps
    kill "$spid"
    wait "$spid" 2>/dev/null || true
done
echo
echo "| ratio PostgreSQL / SQLite | health | person read | submission |"
echo "|---|---:|---:|---:|"
echo "| one server | $(ratio "${R[pg.health]}" "${R[sqlite.health]}") | $(ratio "${R[pg.read]}" "${R[sqlite.read]}") | $(ratio "${R[pg.write]}" "${R[sqlite.write]}") |"

# --- 2. import ----------------------------------------------------------------
echo "bench: import of $import_n persons..." >&2
"$C" gen --persons "$import_n" --seed 2024 --today 2024-07-26 --format csv --out "$work/p.csv"
declare -A I
for store in sqlite pg; do
    sopt=()
    [ "$store" = pg ] && sopt=(--store "$(newdb)")
    "$C" init --data "$work/imp-$store" --shares-dir "$work/imp-$store-s" "${sopt[@]}" >/dev/null
    s=$work/imp-$store-s
    p0=$(ticks "$postmaster") t0=$(now)
    out=$( { /usr/bin/time -f 'cpu=%U+%S' "$C" import --data "$work/imp-$store" \
        --share "$s/share-1.txt" --share "$s/share-2.txt" --share "$s/share-3.txt" \
        "$work/p.csv"; } 2>&1) || { echo "$out" >&2; exit 1; }
    t1=$(now) p1=$(ticks "$postmaster")
    wall=$(echo "$t1 - $t0" | bc -l)
    I[$store]=$(echo "$import_n / $wall" | bc -l)
    I[$store.c]=$(echo "($(echo "$out" | sed -n 's/^cpu=//p')) / $wall" | bc -l)
    I[$store.p]=$(echo "($p1 - $p0) / $hz / $wall" | bc -l)
done
echo
echo "## 2. coffre import, $import_n persons (one CSV)"
echo
echo "| store | persons/s | coffre cores | postgres cores | ratio to SQLite |"
echo "|---|---:|---:|---:|---:|"
for store in sqlite pg; do
    printf '| %s | %.0f | %.2f | %.2f | %s |\n' "$store" "${I[$store]}" "${I[$store.c]}" \
        "${I[$store.p]}" "$(ratio "${I[$store]}" "${I[sqlite]}")"
done

# --- 3. one process vs two on one PostgreSQL database -----------------------
echo "bench: two processes on one database..." >&2
uri=$(newdb)
d=$work/dev2
p1=$(free_port)
"$C" server --dev --dev-shares --listen "127.0.0.1:$p1" --dev-dir "$d" \
    --demo-persons "$persons" --guard-config "$work/guard.json" --store "$uri" \
    >"$d.log" 2>&1 &
spid=$!
pids+=("$spid")
wait_up "$d" "$p1"
unseal "$d" "$p1"
kill "$spid"
wait "$spid" 2>/dev/null || true
"$C" init --join --data "$work/join" --store "$uri" >/dev/null
p2=$(free_port)
while [ "$p2" = "$p1" ]; do p2=$(free_port); done
jq --arg d "$work/join" --arg l "127.0.0.1:$p2" \
    '.data_dir = $d | .listen = $l | del(.audit_dir)' "$d/server.json" >"$work/server2.json"
"$C" server --config "$d/server.json" >>"$d.log" 2>&1 &
s1=$!
pids+=("$s1")
wait_up "$d" "$p1"
unseal "$d" "$p1"
"$C" server --config "$work/server2.json" >>"$d.log" 2>&1 &
s2=$!
pids+=("$s2")
wait_up "$d" "$p2"
unseal "$d" "$p2"
echo
echo "## 3. One PostgreSQL database: one coffre server process vs two"
echo
echo "Both processes up and unsealed throughout; \"one\" sends every request"
echo "to the first, \"two\" cycles them over both ports (one load generator)."
echo
header "processes / route"
declare -A T
prepare "$d" "$p1"
run "one: person read" office "$d" "$s1 $s2" -- "${urls[@]}"
T[1.read]=$rps
run "one: submission" platform "$d" "$s1 $s2" -- --expect 201 --body "$work/app.json" \
    "https://127.0.0.1:$p1/v1/persons"
T[1.write]=$rps
prepare "$d" "$p1" "$p2"
run "two: person read" office "$d" "$s1 $s2" -- "${urls[@]}"
T[2.read]=$rps
run "two: submission" platform "$d" "$s1 $s2" -- --expect 201 --body "$work/app.json" \
    "https://127.0.0.1:$p1/v1/persons" "https://127.0.0.1:$p2/v1/persons"
T[2.write]=$rps
echo
echo "| ratio two processes / one | person read | submission |"
echo "|---|---:|---:|"
echo "| one database | $(ratio "${T[2.read]}" "${T[1.read]}") | $(ratio "${T[2.write]}" "${T[1.write]}") |"
if [ -s "$work/waits" ]; then
    echo
    echo "PostgreSQL's client backends sampled every 0.1 s during each load"
    echo "(samples of a wait event; CPU = active, waiting on nothing):"
    echo
    sed 's/^bench: /- /' "$work/waits"
fi
