# Helpers of the server integration tests (bash). Source it; it needs
# $COFFRE (the coffre binary), curl and jq.
set -u
COFFRE=${COFFRE:?set COFFRE to the coffre binary}
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PASS=0
FAIL=0
WORK=$(mktemp -d /tmp/coffre-it-XXXXXX)
chmod 755 "$WORK"
SERVER_PID=
# COFFRE_TEST_STORE=pg: the same test on PostgreSQL (tests/pg_store.sh).
. "$SRCDIR/tests/pg_store.sh"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID"
        SERVER_RC=$?
        SERVER_PID=
    fi
}

finish() {
    stop_server
    [ -n "${PG_DIRS:-}" ] && pg_stop_all
    pg_store_stop
    rm -rf "$WORK"
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ]
}

# start_dev DIR PORT [extra options]: a dev server, waited for; on a
# fresh PostgreSQL database with COFFRE_TEST_STORE=pg.
start_dev() {
    local dir=$1 port=$2
    shift 2
    set -- "$@" $(store_opt)
    "$COFFRE" server --dev --listen "127.0.0.1:$port" --dev-dir "$dir" "$@" \
        >"$dir.log" 2>&1 &
    SERVER_PID=$!
    wait_ready "$dir" "$port" admin
}

# start_config CONFIG DIR PORT: a server from its configuration file (its
# certificates in DIR), waited for; its log appended to DIR.log.
start_config() {
    "$COFFRE" server --config "$1" >>"$2.log" 2>&1 &
    SERVER_PID=$!
    wait_ready "$2" "$3" admin
}

# unseal_shares SHARES_DIR: three custodians give shares 1..3 ($DEV, $PORT).
unseal_shares() {
    local k
    for k in 1 2 3; do
        req "$(custodian_of $k)" POST /v1/sys/unseal \
            "$(jq -Rs '{share: .}' "$1/share-$k.txt")"
    done
    [ "$STATUS" = 200 ] && echo "$BODY" | jq -e '.sealed == false' >/dev/null &&
        ok || bad "unseal"
}

# wait_ready DIR PORT ROLE: poll /v1/sys/health until it answers.
wait_ready() {
    local i
    for i in $(seq 1 600); do
        if [ -f "$1/$3.key" ] && curl -s -o /dev/null --cacert "$1/ca.pem" \
            --cert "$1/$3.pem" --key "$1/$3.key" \
            "https://127.0.0.1:$2/v1/sys/health"; then
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            cat "$1.log" "$WORK"/*.log 2>/dev/null
            fail_exit "server died"
        fi
        sleep 0.2
    done
    fail_exit "server not ready"
}

# fail_exit MESSAGE: a failure that ends the test. Counted: the EXIT
# trap's finish decides the exit status from FAIL.
fail_exit() {
    FAIL=$((FAIL + 1))
    echo "FAIL: $*"
    exit 1
}

# req WHO METHOD PATH [BODY]: $STATUS and $BODY of the answer, using
# $DEV (certificate dir) and $PORT. WHO "-" sends no certificate.
req() {
    local who=$1 method=$2 path=$3 body=${4-}
    local args=(-s --path-as-is -o "$WORK/body" -w '%{http_code}'
        --cacert "$DEV/ca.pem" -X "$method")
    if [ "$who" != "-" ]; then
        args+=(--cert "$DEV/$who.pem" --key "$DEV/$who.key")
    fi
    if [ $# -ge 4 ]; then
        args+=(-H 'Content-Type: application/json' --data-binary "$body")
    fi
    STATUS=$(curl "${args[@]}" "https://127.0.0.1:$PORT$path")
    BODY=$(cat "$WORK/body" 2>/dev/null)
}

ok() {
    PASS=$((PASS + 1))
}

bad() {
    FAIL=$((FAIL + 1))
    echo "FAIL: $*"
    echo "  status=$STATUS body=${BODY:0:300}"
}

# expect CODE WHO METHOD PATH [BODY]: the status must be CODE, and an
# error answer must be the JSON error form.
expect() {
    local want=$1
    shift
    req "$@"
    if [ "$STATUS" != "$want" ]; then
        bad "$* -> want $want"
        return 1
    fi
    if [ "$want" -ge 400 ] && [ "$2" != "HEAD" ] &&
        ! echo "$BODY" | jq -e '.error.code and .error.message' >/dev/null 2>&1; then
        bad "$* -> not a JSON error"
        return 1
    fi
    ok
}

# find_template LIST_QUERY: TEMPLATE, the first plain (not protected)
# submitted person of the office's list ${LIST_QUERY} that has a document,
# as JSON without its source_key; empty if none. Reads the classes with $P.
find_template() {
    TEMPLATE=
    expect 200 office GET "/v1/persons?$1" || return 0
    for ps in $(echo "$BODY" | jq -r '.items[].pseudonym'); do
        req office GET "/v1/persons/$ps?fields=public,identity,contact,document&$P"
        if echo "$BODY" | jq -e '.person.protected != true and .person.document' \
            >/dev/null; then
            TEMPLATE=$(echo "$BODY" | jq -c '.person | del(.source_key)')
            break
        fi
    done
}

# custodian_of K: the dev custodian who gives share K (1..3): custodian,
# custodian2, custodian3. The threshold counts distinct custodians
# (docs/keys.md): one certificate cannot give two shares.
custodian_of() {
    if [ "$1" = 1 ]; then echo custodian; else echo "custodian$1"; fi
}

# check DESCRIPTION JQ-EXPR: test the last body.
check() {
    if echo "$BODY" | jq -e "$2" >/dev/null 2>&1; then
        ok
    else
        bad "$1 ($2)"
    fi
}

# dev_unseal: give the three dev shares of $DEV (--dev-shares) to the
# server at $PORT, as its three custodians.
dev_unseal() {
    local k
    for k in 1 2 3; do
        req "$(custodian_of $k)" POST /v1/sys/unseal \
            "$(jq -Rs '{share: .}' "$DEV/shares/share-$k.txt")"
    done
    [ "$STATUS" = 200 ] && echo "$BODY" | jq -e '.sealed == false' >/dev/null
}

# pg_start [DIR]: a throwaway PostgreSQL 15 on loopback (scripts/pg-test.sh)
# in DIR (default $WORK/pg); PG_CI its conninfo, PG_PORT its port. Fails
# the test (never skips) without PostgreSQL. pg_stop (or pg_stop_all)
# stops every one started, from the test's EXIT trap. pg_sql DB SQL runs
# SQL in DB of the last one; pg_uri DB is the vault's URI of DB;
# psql_at CONNINFO SQL gives one unaligned answer.
PG_DIRS=
pg_start() {
    PG_DIR=${1:-$WORK/pg}
    PG_CI=$(sh "$SRCDIR/scripts/pg-test.sh" start "$PG_DIR") ||
        fail_exit "no PostgreSQL 15 (scripts/deps.sh test)"
    PG_PORT=$(cat "$PG_DIR/port")
    PG_DIRS="$PG_DIRS $PG_DIR"
}

pg_stop() {
    local d
    for d in $PG_DIRS; do
        sh "$SRCDIR/scripts/pg-test.sh" stop "$d" >/dev/null 2>&1
    done
    PG_DIRS=
}

pg_stop_all() {
    pg_stop
}

pg_sql() {
    /usr/lib/postgresql/15/bin/psql -qAtX \
        "host=127.0.0.1 port=$PG_PORT user=postgres dbname=$1" -c "$2"
}

pg_uri() {
    echo "postgresql://postgres@127.0.0.1:$PG_PORT/$1"
}

psql_at() {
    /usr/lib/postgresql/15/bin/psql -qAtX "$1" -c "$2"
}

# unseal_dev: dev_unseal, counted as a check.
unseal_dev() {
    dev_unseal && ok || bad "unseal"
}

# restart_dev [CONFIG]: start the server of CONFIG (default
# $DEV/server.json) again (after stop_server), on $PORT, waited for; still
# sealed.
restart_dev() {
    "$COFFRE" server --config "${1:-$DEV/server.json}" >>"$DEV.log" 2>&1 &
    SERVER_PID=$!
    wait_ready "$DEV" "$PORT" admin
}
