#!/bin/bash
# Integration: kill -9 under load. A vault with shares, served from its
# configuration file, is unsealed and loaded by parallel clients (POST
# /v1/persons, GET reads) that record every request that got an answer,
# while a watcher saves each checkpoint served; the server is killed with
# SIGKILL at random moments, ROUNDS times, and restarted. Afterwards every
# answered request's entry is found (pseudonym, action, status) and
# `coffre audit verify` proves the log and its consistency with every
# checkpoint saved during the run.
. "$(dirname "$0")/lib.sh"
trap 'kill $(jobs -p) 2>/dev/null; finish; exit $?' EXIT
ROUNDS=${ROUNDS:-6}
CLIENTS=4
PORT=$(free_port)
DEV=$WORK/dev
URL="https://127.0.0.1:$PORT"
start_dev "$DEV" "$PORT" --dev-shares --demo-persons 20
mkdir -p "$WORK/answers" "$WORK/saved"

unseal() {
    local k
    for k in 1 2 3; do
        req "$(custodian_of $k)" POST /v1/sys/unseal \
            "$(jq -Rs '{share: .}' "$DEV/shares/share-$k.txt")"
    done
    [ "$STATUS" = 200 ] && echo "$BODY" | jq -e '.sealed == false' >/dev/null &&
        ok || bad "unseal"
}

# client ID ROUND: submit and read back until killed; one line per answer.
client() {
    local id=$1 round=$2 i=0 st ps out="$WORK/answers/$1.$2"
    local c=(curl -s --cacert "$DEV/ca.pem" --cert "$DEV/platform.pem"
        --key "$DEV/platform.key" -o "$WORK/c$id.body" -w '%{http_code}')
    while :; do
        i=$((i + 1))
        st=$("${c[@]}" -H 'Content-Type: application/json' --data-binary \
            "$(echo "$APP" | jq -c --arg d "K$id$round$i" '.document.number = $d')" \
            "$URL/v1/persons") || continue
        [ "$st" = 000 ] && continue
        ps=$(jq -r '.pseudonym // "-"' "$WORK/c$id.body" 2>/dev/null)
        echo "person.create $st $ps" >>"$out"
        [ "$st" = 201 ] || continue
        st=$("${c[@]}" "$URL/v1/persons/$ps?fields=public") || continue
        [ "$st" = 000 ] || echo "person.read $st $ps" >>"$out"
    done
}

# watcher ROUND: save every checkpoint served.
watcher() {
    local n=0
    while :; do
        n=$((n + 1))
        curl -s --cacert "$DEV/ca.pem" --cert "$DEV/auditor.pem" \
            --key "$DEV/auditor.key" -o "$WORK/saved/$1.$n" -w '%{http_code}' \
            "$URL/v1/audit/checkpoint" | grep -q 200 || rm -f "$WORK/saved/$1.$n"
        sleep 0.3
    done
}

unseal
req auditor GET /v1/audit/key
echo "$BODY" >"$WORK/vkey" # trusted from the first start
expect 200 platform GET "/v1/persons?limit=1"
P0=$(echo "$BODY" | jq -r '.items[0].pseudonym')
req office GET "/v1/persons?state=submitted&limit=1&purpose=t"
O0=$(echo "$BODY" | jq -r '.items[0].pseudonym')
expect 200 office GET "/v1/persons/$O0?fields=public,identity,contact,document&purpose=t"
APP=$(echo "$BODY" | jq -c '.person | del(.source_key) | .public.state = "submitted"')

for round in $(seq 1 "$ROUNDS"); do
    pids=()
    for id in $(seq 1 $CLIENTS); do
        client "$id" "$round" &
        pids+=($!)
    done
    watcher "$round" &
    pids+=($!)
    sleep "$(python3 -c 'import random; print(round(random.uniform(1.5, 4), 2))')"
    kill -9 "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
    kill "${pids[@]}" 2>/dev/null
    wait "${pids[@]}" 2>/dev/null
    "$COFFRE" server --config "$DEV/server.json" >>"$DEV.log" 2>&1 &
    SERVER_PID=$!
    wait_ready "$DEV" "$PORT" admin
    unseal
done

ANSWERED=$(cat "$WORK"/answers/* | wc -l)
SAVED=$(ls "$WORK/saved" | wc -l)
echo "answered requests: $ANSWERED, checkpoints saved: $SAVED"
[ "$ANSWERED" -ge $((ROUNDS * CLIENTS)) ] && ok || bad "too little load"
[ "$SAVED" -ge "$ROUNDS" ] && ok || bad "too few checkpoints saved"

# --- every answered request is in the log ------------------------------------
TLS=(--cacert "$DEV/ca.pem" --cert "$DEV/auditor.pem" --key "$DEV/auditor.key")
sleep 1.2
"$COFFRE" audit export --url "$URL" "${TLS[@]}" --out "$WORK/export" >/dev/null &&
    ok || bad "export"
"$COFFRE" audit query --log "$WORK/export" --principal "" >"$WORK/all.txt"
python3 - "$WORK/all.txt" "$WORK"/answers/* <<'PY' && ok || bad "answered requests missing from the log"
import collections, re, sys
have = collections.Counter()
for line in open(sys.argv[1]):
    m = re.search(r"action=(\S+) pseudonym=(\S+) .*status=(\d+)", line)
    if m and "role=platform" in line:
        have[(m.group(1), m.group(2), m.group(3))] += 1
want = collections.Counter()
for f in sys.argv[2:]:
    for line in open(f):
        action, status, ps = line.split()
        if action == "person.read" or status == "201":
            want[(action, ps, status)] += 1
        else:  # an answered refusal names no pseudonym
            want[(action, "-", status)] += 1
missing = {k: n - have[k] for k, n in want.items() if have[k] < n}
print(f"{sum(want.values())} answered requests, {len(missing)} missing")
for k in list(missing)[:10]:
    print("missing:", k)
sys.exit(1 if missing else 0)
PY

# --- the log verifies, consistent with every checkpoint saved ----------------
"$COFFRE" audit verify --vkey "$WORK/vkey" --log "$WORK/export" >"$WORK/v.txt" 2>&1 &&
    ok || bad "verify --log: $(cat "$WORK/v.txt")"
n=0
for f in "$WORK"/saved/*; do
    n=$((n + 1))
    if ! "$COFFRE" audit verify --vkey "$WORK/vkey" --log "$WORK/export" \
        --saved "$f" >"$WORK/vs.txt" 2>&1; then
        bad "not consistent with saved checkpoint $f: $(cat "$WORK/vs.txt")"
    fi
done
ok
"$COFFRE" audit verify --vkey "$WORK/vkey" --url "$URL" "${TLS[@]}" \
    --saved "$(ls "$WORK"/saved/* | tail -1)" >"$WORK/vu.txt" 2>&1 &&
    ok || bad "verify --url: $(cat "$WORK/vu.txt")"
echo "checked $n saved checkpoints"
stop_server
