#!/bin/bash
# Approvals single use across processes (issue 14): test_approval_race on
# a throwaway PostgreSQL 15 (tests/pg_store.sh). usage: approval_race.sh EXE
export COFFRE_TEST_STORE=pg
. "$(dirname "$0")/../cli/lib.sh"
RACE=$1
ROUNDS=${APPROVAL_RACE_ROUNDS:-60}
URI=$(pg_store_new) || { fail "no database"; finish; exit 1; }
"$RACE" "$URI" "$T" "$ROUNDS" && pass || fail "two processes used one approval"
finish
