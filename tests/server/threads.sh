#!/bin/bash
# Integration: --threads N serves from N event-loop daemons, each with its
# own listening socket on the address (SO_REUSEPORT); many connections at
# once are all answered; a second server on the busy address is refused
# rather than given a share of its connections; SIGTERM exits cleanly, and
# a server restarted at once on the same address listens again; a client
# stalled in its TLS handshake does not make the event loops spin.
. "$(dirname "$0")/lib.sh"
trap 'finish; exit $?' EXIT
PORT=$(free_port)
DEV=$WORK/dev
start_dev "$DEV" "$PORT" --threads 3 --demo-persons 40
P='purpose=it'

# Listening sockets on PORT (state 0A in /proc/net/tcp, port in hex).
listeners() {
    awk -v p=":$(printf '%04X' "$PORT")" \
        '$2 ~ p"$" && $4 == "0A" { n++ } END { print n + 0 }' /proc/net/tcp
}
[ "$(listeners)" = 3 ] && ok || bad "3 listening sockets, got $(listeners)"

expect 200 office GET "/v1/persons?limit=24"
mapfile -t PS < <(echo "$BODY" | jq -r '.items[].pseudonym')
[ ${#PS[@]} = 24 ] && ok || bad "24 persons listed, got ${#PS[@]}"

# 24 connections at once, each reading its person twice (keep-alive).
for i in "${!PS[@]}"; do
    u="https://127.0.0.1:$PORT/v1/persons/${PS[$i]}?fields=public,identity&$P"
    curl -s -o /dev/null -o /dev/null -w '%{http_code}\n' --cacert "$DEV/ca.pem" \
        --cert "$DEV/office.pem" --key "$DEV/office.key" "$u" "$u" \
        >"$WORK/c$i.out" &
done
wait_jobs() { while [ -n "$(jobs -rp | grep -v "^$SERVER_PID$")" ]; do sleep 0.1; done; }
wait_jobs
codes=$(cat "$WORK"/c*.out | grep -c '^200$')
[ "$codes" = 48 ] && ok || bad "48 answers 200, got $codes"

# A second server on the same address: refused, the first one untouched.
"$COFFRE" server --dev --listen "127.0.0.1:$PORT" --dev-dir "$WORK/dev2" \
    --threads 2 --demo-persons 0 >"$WORK/second.log" 2>&1
rc=$?
[ "$rc" != 0 ] && ok || bad "second server exit status $rc"
grep -q "cannot listen on 127.0.0.1:$PORT" "$WORK/second.log" && ok ||
    bad "second server: $(cat "$WORK/second.log")"
[ "$(listeners)" = 3 ] && ok || bad "still 3 listening sockets"
expect 200 office GET "/v1/persons/${PS[0]}?fields=public&$P"

# A connection still open when the server stops: the server closes it
# first, which leaves a TIME_WAIT socket on the address.
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
stop_server
exec 3>&-
[ "$SERVER_RC" = 0 ] && ok || bad "exit status after SIGTERM: $SERVER_RC"
[ "$(listeners)" = 0 ] && ok || bad "sockets left: $(listeners)"
tw=$(awk -v p=":$(printf '%04X' "$PORT")" '$2 ~ p"$" && $4 == "06"' \
    /proc/net/tcp | wc -l)
[ "$tw" -gt 0 ] && ok || bad "no TIME_WAIT socket on the port to restart over"

# CPU ticks (user + system) the server has used.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }

# Restarted at once on the same address, with one thread and with three:
# TIME_WAIT sockets do not keep it from listening.
for t in 1 3; do
    DEV=$WORK/dev-r$t
    start_dev "$DEV" "$PORT" --threads "$t" --demo-persons 0
    [ "$(listeners)" = "$t" ] && ok || bad "restart --threads $t: $(listeners)"
    expect 200 office GET "/v1/sys/health"
    # A client that sends one byte of a ClientHello and stops: the server
    # waits for the rest without spinning (libmicrohttpd's own loop polls
    # such a connection with no timeout: ~200 ticks of CPU in 2 s) and
    # serves the others meanwhile.
    exec 4<>"/dev/tcp/127.0.0.1/$PORT"
    printf '\x16' >&4
    sleep 0.2
    t0=$(cpu_ticks)
    sleep 2
    t1=$(cpu_ticks)
    [ $((t1 - t0)) -lt 50 ] && ok ||
        bad "--threads $t: $((t1 - t0)) ticks in 2 s with a stalled handshake"
    expect 200 office GET "/v1/sys/health"
    exec 4>&-
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"
    stop_server
    exec 3>&-
    [ "$SERVER_RC" = 0 ] && ok || bad "restart --threads $t: rc $SERVER_RC"
done
