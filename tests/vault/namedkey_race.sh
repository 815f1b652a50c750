#!/bin/bash
# A named key is made once across processes (docs/storage.md section 9):
# test_namedkey_race on a throwaway PostgreSQL 15 (tests/pg_store.sh).
# usage: namedkey_race.sh EXE
export COFFRE_TEST_STORE=pg
. "$(dirname "$0")/../cli/lib.sh"
RACE=$1
ROUNDS=${NAMEDKEY_RACE_ROUNDS:-200}
URI=$(pg_store_new) || { fail "no database"; finish; exit 1; }
"$RACE" "$URI" "$T" "$ROUNDS" && pass || fail "two processes made one named key each"
finish
