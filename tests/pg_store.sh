# The store switch of the integration tests, sourced by tests/server/lib.sh
# and tests/cli/lib.sh. With COFFRE_TEST_STORE=pg the test runs on
# PostgreSQL: sourcing this starts one throwaway PostgreSQL 15 cluster on
# loopback for the test (scripts/pg-test.sh), every vault the test creates
# gets a fresh database of its own, and pg_store_stop (called by the
# libraries' exit paths) stops the cluster. Without it (or with
# COFFRE_TEST_STORE=sqlite) nothing changes: store_opt prints nothing.
#
#   store_opt        "--store URI" of a fresh database, or nothing on SQLite
#   pg_store_new     the URI of a fresh database (PostgreSQL only)
#   pg_store_sql SQL run SQL on the cluster's postgres database
# A PostgreSQL run fails, never skips, when PostgreSQL cannot start.
COFFRE_TEST_STORE=${COFFRE_TEST_STORE:-sqlite}
PG_STORE_DIR=
PG_STORE_PORT=
PG_STORE_PSQL=${PG_BIN:-/usr/lib/postgresql/15/bin}/psql
PG_STORE_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

pg_store_sql() {
    "$PG_STORE_PSQL" -qAt -v ON_ERROR_STOP=1 \
        "host=127.0.0.1 port=$PG_STORE_PORT user=postgres dbname=postgres" \
        -c "$1"
}

# Databases are numbered in a file: store_opt runs in command
# substitutions, whose variables do not come back.
pg_store_new() {
    local n
    n=$(($(cat "$PG_STORE_DIR/count") + 1))
    echo "$n" >"$PG_STORE_DIR/count"
    pg_store_sql "CREATE DATABASE vault$n" >&2 ||
        { echo "pg_store: CREATE DATABASE vault$n failed" >&2; return 1; }
    echo "postgresql://postgres@127.0.0.1:$PG_STORE_PORT/vault$n"
}

store_opt() {
    if [ "$COFFRE_TEST_STORE" = pg ]; then
        echo "--store $(pg_store_new)"
    fi
}

pg_store_stop() {
    if [ -n "$PG_STORE_DIR" ]; then
        sh "$PG_STORE_SRC/scripts/pg-test.sh" stop "$PG_STORE_DIR/pg"
        rm -rf "$PG_STORE_DIR"
        PG_STORE_DIR=
    fi
}

case "$COFFRE_TEST_STORE" in
sqlite) ;;
pg)
    # Its own directory, readable by the postgres user the cluster runs as.
    PG_STORE_DIR=$(mktemp -d /tmp/coffre-pgs-XXXXXX)
    chmod 755 "$PG_STORE_DIR"
    echo 0 >"$PG_STORE_DIR/count"
    if ! sh "$PG_STORE_SRC/scripts/pg-test.sh" start "$PG_STORE_DIR/pg" \
        >/dev/null; then
        echo "FAIL: COFFRE_TEST_STORE=pg but PostgreSQL 15 did not start" >&2
        rm -rf "$PG_STORE_DIR"
        exit 1
    fi
    PG_STORE_PORT=$(cat "$PG_STORE_DIR/pg/port")
    echo "store: PostgreSQL 15 on 127.0.0.1:$PG_STORE_PORT" >&2
    ;;
*)
    echo "FAIL: COFFRE_TEST_STORE=$COFFRE_TEST_STORE (sqlite or pg)" >&2
    exit 1
    ;;
esac
