#!/bin/bash
# Integration (docs/server.md, "Running under systemd", "Health port",
# "Logs"): the real server under a fake service manager (notify_harness.py:
# READY=1 once the port accepts, WATCHDOG=1 at half of WATCHDOG_USEC,
# RELOADING=1/READY=1 on SIGHUP, STOPPING=1 on SIGTERM); the plain health
# port (200/503 and a tiny JSON, 404/405 elsewhere, loopback only unless
# told); and the JSON log: every line parses, every request line carries
# its fields, and no personal value sent in searches or writes appears
# anywhere in it.
. "$(dirname "$0")/lib.sh"
trap 'finish; exit $?' EXIT
P=purpose=it
STATUS= BODY=

# --- sd_notify and the watchdog -----------------------------------------
NPORT=$(free_port)
if python3 "$SRCDIR/tests/server/notify_harness.py" "$WORK" "$NPORT" -- \
    "$COFFRE" server --dev --listen "127.0.0.1:$NPORT" --dev-dir "$WORK/n" \
    --demo-persons 0 >"$WORK/harness.out" 2>&1; then
    ok
else
    bad "notify harness"
    cat "$WORK/harness.out" "$WORK/notify-server.log"
fi
grep -c '^ok' "$WORK/harness.out" | grep -qx 12 && ok ||
    bad "harness checks: $(cat "$WORK/harness.out")"

# --- the health port -----------------------------------------------------
PORT=$(free_port)
HPORT=$(free_port)
DEV=$WORK/dev
start_dev "$DEV" "$PORT" --demo-persons 30 --health-listen "127.0.0.1:$HPORT"
hreq() { # METHOD PATH: $STATUS, $BODY of the plain port
    STATUS=$(curl -s -o "$WORK/hbody" -w '%{http_code}' -X "$1" \
        "http://127.0.0.1:$HPORT$2")
    BODY=$(cat "$WORK/hbody")
}
hreq GET /health
[ "$STATUS" = 200 ] && ok || bad "GET /health"
[ "$BODY" = '{"status":"ok"}' ] && ok || bad "health body is only the status"
for path in / /v1/sys/health /metrics /health/ /health?x=1 /v1/persons; do
    hreq GET "$path"
    if [ "$path" = "/health?x=1" ]; then
        [ "$STATUS" = 200 ] && ok || bad "a query is ignored ($path)"
        continue
    fi
    [ "$STATUS" = 404 ] && echo "$BODY" | jq -e .error.code >/dev/null &&
        ok || bad "GET $path on the health port"
done
for m in POST PUT DELETE PATCH; do
    hreq "$m" /health
    [ "$STATUS" = 405 ] && echo "$BODY" | jq -e '.error.code' >/dev/null &&
        ok || bad "$m /health"
done
# No TLS there, and no plain HTTP on the API port.
curl -s -o /dev/null "https://127.0.0.1:$HPORT/health" && bad "TLS on health" || ok
curl -s -o /dev/null "http://127.0.0.1:$PORT/v1/sys/health" && bad "plain API" || ok
# A non-loopback address is refused unless told.
if "$COFFRE" server --dev --listen "127.0.0.1:$(free_port)" \
    --dev-dir "$WORK/pub" --demo-persons 0 \
    --health-listen "0.0.0.0:$(free_port)" >"$WORK/pub.log" 2>&1; then
    bad "0.0.0.0 health port accepted"
else
    grep -q "not a loopback address" "$WORK/pub.log" && ok ||
        bad "refusal says why: $(cat "$WORK/pub.log")"
fi

# --- logs: searches and writes with personal values ----------------------
find_template "state=submitted&limit=20"
[ -n "$TEMPLATE" ] && ok || bad "no template person"
SURNAME=Qwzlogtestname
GIVEN=Xavierlogtest
DOC=LOGDOC$RANDOM$RANDOM
EMAIL="log.secret.$RANDOM@example.org"
PHONE="+33 6 12 98 $((RANDOM % 90 + 10)) 77"
STREET="17 rue Logsecret"
APP=$(echo "$TEMPLATE" | jq -c --arg s "$SURNAME" --arg g "$GIVEN" \
    --arg d "$DOC" --arg e "$EMAIL" \
    '.identity.surname = $s | .identity.given_names = $g |
     .document.number = $d | .contact.email = $e |
     .public.state = "submitted"')
DOB=$(echo "$APP" | jq -r .identity.birth_date)
expect 201 office POST /v1/persons "$APP"
PS=$(echo "$BODY" | jq -r .pseudonym)
enc() { jq -rn --arg v "$1" '$v|@uri'; }
expect 200 office GET "/v1/persons?email=$(enc "$EMAIL")&$P"
check "found by email" '.items | length == 1'
expect 200 office GET "/v1/persons?document_number=$DOC&$P"
expect 200 office GET "/v1/persons?surname=$SURNAME&given_names=$GIVEN&birth_date=$DOB&$P"
expect 200 office PATCH "/v1/persons/$PS" "$(jq -cn --arg p "$PHONE" \
    --arg a "$STREET" --arg e "$EMAIL" '{contact: {email: $e, phone: $p,
    address: $a, postal_code: "75002", city: "Paris", country: "FRA"}}')"
expect 200 office GET "/v1/persons/$PS?fields=identity,contact&$P"
# a refused search and a malformed body carry values too
expect 400 office GET "/v1/persons?surname=$SURNAME&$P"
expect 400 office POST /v1/persons "{\"identity\":{\"surname\":\"$SURNAME\""
expect 401 - GET "/v1/persons?email=$(enc "$EMAIL")"
sleep 0.3
stop_server
LOG=$DEV.log
grep -v '^coffre server: listening\|^coffre dev server\|^curl \|^badges\|^coffre-gate ' \
    "$LOG" | grep . >"$WORK/json.log"
N=$(wc -l <"$WORK/json.log")
[ "$N" -gt 10 ] && ok || bad "log lines: $N"
BADLINES=0
while IFS= read -r line; do
    echo "$line" | jq -e 'type == "object" and .time and .level and .event' \
        >/dev/null 2>&1 || { BADLINES=$((BADLINES + 1)); echo "not JSON: $line"; }
done <"$WORK/json.log"
[ "$BADLINES" = 0 ] && ok || bad "$BADLINES log lines are not JSON events"
jq -c 'select(.event == "request")' "$WORK/json.log" >"$WORK/req.log"
[ "$(wc -l <"$WORK/req.log")" -ge 10 ] && ok || bad "request lines"
jq -e -s 'all(.[]; has("request_id") and has("principal") and has("role")
    and has("method") and has("route") and has("status") and
    has("latency_us") and has("audit_index"))' "$WORK/req.log" >/dev/null &&
    ok || bad "request lines lack fields"
jq -e -s 'any(.[]; .route == "GET /v1/persons" and .principal == "office"
    and .status == 200 and (.audit_index | type == "number"))' \
    "$WORK/req.log" >/dev/null && ok || bad "a search names its audit entry"
jq -e -s 'any(.[]; .route == "POST /v1/persons" and .status == 201 and
    (.audit_index | type == "number"))' "$WORK/req.log" >/dev/null &&
    ok || bad "the write names its audit entry"
jq -e -s 'any(.[]; .status == 401 and .principal == null and
    .role == "none")' "$WORK/req.log" >/dev/null && ok || bad "401 line"
jq -e -s 'any(.[]; .event == "start") and any(.[]; .event == "stop")' \
    "$WORK/json.log" >/dev/null && ok || bad "start and stop events"
for v in "$SURNAME" "$GIVEN" "$DOC" "$EMAIL" "$(enc "$EMAIL")" "$PHONE" \
    "$STREET" "Logsecret" "$DOB" "$PS"; do
    if grep -qF -- "$v" "$LOG"; then
        bad "the log holds a personal value: $v"
    else
        ok
    fi
done
