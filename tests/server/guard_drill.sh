#!/bin/bash
# The exfiltration drill (docs/guard.md): 50,000 generated persons, and an
# attacker with a stolen platform, office and gate credential reading as
# fast as it can, one spreading its reads slowly, one reading a poison
# record, one meeting a poison record in a worklist. Prints a table, then
# asserts: office and gate get no more persons than their thresholds,
# the platform no personal field, the slow spreader is stopped by its
# day quota, one poison read or listing suspends, 429 carries
# Retry-After, alerts reach the alert command, the admin watches but
# cannot reinstate, a custodian can.
#
# The slow spreader uses a SHORT TEST WINDOW so that the test is fast:
# office-restricted has a 5 s window, a threshold of 20 and a day quota
# of 30 persons (guard.principals below). Everything else runs on the
# defaults of docs/guard.md. Uses the release build (build/) when it has
# the guard, else $COFFRE (ASan): both start 50,000 persons in seconds.
. "$(dirname "$0")/lib.sh"
trap 'finish; exit $?' EXIT
if [ -x "$SRCDIR/build/src/coffre" ] &&
    "$SRCDIR/build/src/coffre" server --help 2>&1 | grep -q guard-config; then
    COFFRE=$SRCDIR/build/src/coffre
fi
PERSONS=${DRILL_PERSONS:-50000}
PORT=$(free_port)
DEV=$WORK/dev
# The server drops root for nobody: the alert command writes there.
mkdir -m 1777 "$WORK/alerts"
ALERTS=$WORK/alerts/alerts.jsonl
cat >"$WORK/guard.json" <<JSON
{"principals": {"office-restricted": {"bulk_window": 5, "bulk_threshold": 20,
                                      "persons_per_day": 30}},
 "alert_command": ["/bin/sh", "-c", "cat >> $ALERTS; echo >> $ALERTS"],
 "alert_timeout_ms": 2000}
JSON
t0=$(date +%s.%N)
start_dev "$DEV" "$PORT" --demo-persons "$PERSONS" --guard-config "$WORK/guard.json"
echo "started $PERSONS persons in $(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')") s ($COFFRE)"
DRILL="python3 $SRCDIR/tests/server/guard_drill.py $DEV $PORT"

for sc in platform office gate slow; do
    $DRILL $sc >"$WORK/$sc.json" || bad "drill $sc failed"
done
POISON=$(awk 'NR > 2 { for (i = 2; i <= NF; i++) if ($i ~ /^office=/) { sub(/^office=/, "", $i); print $i; exit } }' \
    "$DEV/poison-custodians.txt")
[ -n "$POISON" ] && ok || bad "no poison record in the custodians' file"
# The office was suspended by its bulk read: reinstated first.
expect 403 admin POST /v1/guard/reinstate '{"principal":"office"}'
expect 200 custodian POST /v1/guard/reinstate '{"principal":"office"}'
expect 200 office GET /v1/sys/health
$DRILL poison "$POISON" >"$WORK/poison.json"
$DRILL poison-list >"$WORK/poison-list.json"

echo
echo "| scenario | credential | requests | 429 | persons listed | persons with personal data | personal fields | suspended after (s) | reason |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
for sc in platform office gate slow poison poison-list; do
    jq -r '"| \(.scenario) | \(.credential) | \(.requests) | \(.limited) | \(.listed) | \(.personal_persons) | \(.personal_fields) | \(.suspended_after // "-") | \(.reason // "-") |"' \
        "$WORK/$sc.json"
done
echo

j() { jq -e "$2" "$WORK/$1.json" >/dev/null && ok || bad "$1: $2 ($(cat "$WORK/$1.json"))"; }
j platform '.personal_fields == 0 and .personal_persons == 0'
j platform '.suspended_after != null'
j office '.personal_persons <= 100 and .personal_persons > 0'
j office '.reason == "bulk_read"'
j office '.limited > 0 and .retry_after_headers == .limited'
j gate '.personal_persons <= 1500 and .personal_persons > 0'
j gate '.reason == "bulk_read"'
j slow '.reason == "quota_exceeded" and .suspended_after == null'
j slow '.personal_persons <= 30 and .personal_persons >= 20'
j poison '.requests == 1 and .reason == "poison_record" and .personal_fields == 0'
j poison-list '.reason == "poison_record" and .listed == 0'

# Every further request of a suspended principal: 403 suspended.
expect 403 office GET /v1/sys/health && check "suspended code" '.error.code == "suspended"'
expect 403 gate GET /v1/sys/health
expect 200 admin GET /v1/guard/status
check "status lists suspensions" '[.principals[] | select(.suspended)] | length >= 4'
check "status has alerts" '.alerts | length >= 4'
check "status holds no pseudonym" '[.. | strings | select(length == 43)] | length == 0'
expect 200 admin GET /metrics
echo "$BODY" | grep -q 'coffre_guard_suspended{principal="office"} 1' && ok || bad "metric"
expect 403 vetting GET /v1/guard/status
expect 404 custodian POST /v1/guard/reinstate '{"principal":"vetting"}'
expect 400 custodian POST /v1/guard/reinstate '{"who":"office"}'
sleep 1.5 # the alert commands are reaped once a second
n=$(grep -c principal_suspended "$ALERTS" 2>/dev/null || echo 0)
[ "$n" -ge 4 ] && ok || bad "alert command ran $n times"
jq -e -s 'map(select(.reason == "poison_record")) | length >= 2' \
    <(grep . "$ALERTS") >/dev/null && ok || bad "poison alerts"
