#!/bin/bash
# The vault on PostgreSQL (docs/storage.md section 7-8), on one throwaway
# PostgreSQL 15 cluster this test starts (scripts/pg-test.sh) and stops:
# init --store, the local commands, the refusals (a password in the URI, a
# store the data directory does not record, a database that holds a vault,
# a data directory given as a URI), a password file against a role that
# needs one, a dev server answering the API from PostgreSQL, and store copy
# SQLite -> PostgreSQL -> SQLite with equal manifest roots and a verifying
# audit log; coffre backup of the PostgreSQL store restored with the same
# root.
. "$(dirname "$0")/lib.sh"
SRC=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PGT=$(mktemp -d /tmp/coffre-pg-XXXXXX)
chmod 755 "$PGT"
stop_all() {
    [ -n "${SPID:-}" ] && kill "$SPID" 2>/dev/null && wait "$SPID"
    sh "$SRC/scripts/pg-test.sh" stop "$PGT/pg"
    rm -rf "$PGT"
    cleanup
}
trap stop_all EXIT
CI=$(sh "$SRC/scripts/pg-test.sh" start "$PGT/pg") || { echo "FAIL: no PostgreSQL"; exit 1; }
PORT=$(cat "$PGT/pg/port")
PSQL=/usr/lib/postgresql/15/bin/psql
sql() { "$PSQL" -qAt "$CI" -c "$1"; }
uri() { echo "postgresql://postgres@127.0.0.1:$PORT/$1"; }
for db in v1 v2 c1 c2 srv pw; do sql "CREATE DATABASE $db" || fail "createdb $db"; done

# --- init with --store, then every command finds the store by itself -----
D=$T/d1 S=$T/s1
check "init --store" "$COFFRE" init --data "$D" --shares-dir "$S" \
    --store "$(uri v1)"
[ "$(cat "$D/store")" = "$(uri v1)" ] && pass || fail "DATA/store records the URI"
[ "$(stat -c %a "$D/store")" = 600 ] && pass || fail "DATA/store mode"
[ ! -e "$D/coffre.db" ] && pass || fail "no SQLite file beside a PostgreSQL store"
SH="--data $D --share $S/share-1.txt --share $S/share-3.txt --share $S/share-5.txt"
"$COFFRE" gen --persons 30 --seed 11 --out "$T/p.jsonl" && pass || fail gen
head -1 "$T/p.jsonl" >"$T/one.json"
id=$("$COFFRE" put $SH "$T/one.json") && [ "$id" = 1 ] && pass || fail "put: $id"
"$COFFRE" get $SH --fields identity "$id" >"$T/got.json" && pass || fail get
[ "$(jq -c .identity "$T/one.json")" = "$(jq -c .identity "$T/got.json")" ] &&
    pass || fail "identity round trip through PostgreSQL"
doc=$(jq -r .document.number "$T/one.json")
[ "$("$COFFRE" find $SH --document "$doc")" = "$id" ] && pass || fail find
"$COFFRE" import $SH "$T/p.jsonl" >/dev/null && pass || fail import
check "erase" "$COFFRE" erase $SH 2
check_exit 1 "get erased" "$COFFRE" get $SH 2
"$COFFRE" status $SH >"$T/st" && pass || fail status
grep -q "^store:     $(uri v1)$" "$T/st" && pass || fail "status names the store"
grep -q "^persons:   29$" "$T/st" && pass || fail "29 live persons: $(cat "$T/st")"
"$PSQL" -qAt "host=127.0.0.1 port=$PORT user=postgres dbname=v1" \
    -c "SELECT count(*) FROM person WHERE state <> 7" | grep -qx 29 &&
    pass || fail "the rows are in PostgreSQL"
check "explicit --store, the recorded one" "$COFFRE" status --data "$D" \
    --store "postgres://postgres@127.0.0.1:$PORT/v1"

# --- refusals: clear errors, nothing changed ---------------------------------
check_exit 1 "another store than recorded" "$COFFRE" status --data "$D" \
    --store "$(uri v2)"
check_stderr "records the store $(uri v1), not the one given" "mismatch named"
check_exit 1 "SQLite given for a PostgreSQL vault" "$COFFRE" status \
    --data "$D" --store "$D/elsewhere"
for bad in "postgresql://postgres:s3cr3tpw@127.0.0.1:$PORT/v2" \
    "postgresql://127.0.0.1:$PORT/v2?user=postgres&password=s3cr3tpw" \
    "postgres://127.0.0.1:$PORT/v2?pass%77ord=s3cr3tpw"; do
    check_exit 1 "a password in the URI" "$COFFRE" init --data "$T/dp" \
        --shares-dir "$T/sp" --store "$bad"
    check_stderr "carries a password" "password refusal named"
    grep -q s3cr3tpw "$T/err" && fail "the password was echoed" || pass
    [ ! -e "$T/dp" ] && [ ! -e "$T/sp" ] && pass || fail "refused init made files"
done
check_exit 1 "data directory as a URI" "$COFFRE" init --data "$(uri v2)" \
    --shares-dir "$T/sx"
check_stderr "the data directory is a local directory.*--store" "URI as data"
check_exit 1 "a database holding a vault" "$COFFRE" init --data "$T/d9" \
    --shares-dir "$T/s9" --store "$(uri v1)"
check_stderr "already holds a vault" "one database, one vault"
[ ! -e "$T/d9" ] && [ ! -e "$T/s9" ] && pass || fail "refused init made files"
check_exit 1 "init twice in one data directory" "$COFFRE" init --data "$D" \
    --shares-dir "$T/s8" --store "$(uri v2)"
check_stderr "already holds a vault" "init twice"

# --- a password from a file, for a role that needs one ----------------------
sql "CREATE ROLE vaultpw LOGIN PASSWORD 'pw-from-file-123'; ALTER DATABASE pw OWNER TO vaultpw" ||
    fail "create role"
HBA=$PGT/pg/data/pg_hba.conf
{ echo "host all vaultpw 127.0.0.1/32 scram-sha-256"; cat "$HBA"; } >"$HBA.new" &&
    cat "$HBA.new" >"$HBA" && sql "SELECT pg_reload_conf()" >/dev/null
PWU="postgresql://vaultpw@127.0.0.1:$PORT/pw"
check_exit 1 "no password" env -u PGPASSWORD PGPASSFILE=/nonexistent \
    "$COFFRE" init --data "$T/dw" --shares-dir "$T/sw" --store "$PWU"
check_stderr "password" "libpq says a password is needed"
printf 'pw-from-file-123\n' >"$T/pwfile"
chmod 644 "$T/pwfile"
check_exit 1 "a password file others may read" "$COFFRE" init --data "$T/dw" \
    --shares-dir "$T/sw" --store "$PWU" --store-password-file "$T/pwfile"
check_stderr "chmod 600" "loose password file named"
chmod 600 "$T/pwfile"
check "init with a password file" env PGPASSFILE=/nonexistent "$COFFRE" init \
    --data "$T/dw" --shares-dir "$T/sw" --store "$PWU" \
    --store-password-file "$T/pwfile"
check_exit 1 "reopen without the password" env PGPASSFILE=/nonexistent \
    "$COFFRE" status --data "$T/dw"
check "reopen with it from PGPASSWORD" env PGPASSWORD=pw-from-file-123 \
    "$COFFRE" status --data "$T/dw"
grep -rq pw-from-file-123 "$T/dw" && fail "password on disk in the data dir" || pass

# --- store copy: SQLite -> PostgreSQL -> SQLite --------------------------------
L=$T/lite LS=$T/ls
check "init SQLite" "$COFFRE" init --data "$L" --shares-dir "$LS"
LSH="--share $LS/share-1.txt --share $LS/share-2.txt --share $LS/share-3.txt"
"$COFFRE" import --data "$L" $LSH "$T/p.jsonl" >/dev/null && pass || fail import
check "erase on SQLite" "$COFFRE" erase --data "$L" $LSH 7
check "rotate on SQLite" "$COFFRE" keys --data "$L" $LSH rotate
root() { "$COFFRE" manifest --vault --data "$1" $LSH | awk '{print $3}'; }
vkey() { "$COFFRE" status --data "$1" $LSH | sed -n 's/^audit key: //p'; }
R0=$(root "$L")
[ -n "$R0" ] && pass || fail "manifest of the SQLite vault"
"$COFFRE" store copy --from "$L" --to "$T/onpg" --to-store "$(uri c1)" \
    >"$T/copy1" && pass || fail "copy SQLite -> PostgreSQL: $(cat "$T/copy1")"
grep -q "29 persons, 1 tombstones, 29 data keys, 2 key versions" "$T/copy1" &&
    pass || fail "copy counts: $(cat "$T/copy1")"
[ "$(root "$T/onpg")" = "$R0" ] && pass || fail "manifest root on PostgreSQL"
"$COFFRE" audit verify --vkey "$(vkey "$T/onpg")" --data "$T/onpg" \
    >/dev/null && pass || fail "audit log of the PostgreSQL copy verifies"
check_exit 1 "copy into a non-empty store" "$COFFRE" store copy --from "$L" \
    --to "$T/again" --to-store "$(uri c1)"
check_stderr "is not empty" "non-empty store named"
[ ! -e "$T/again" ] && pass || fail "refused copy left $T/again"
mkdir "$T/full" && touch "$T/full/x"
check_exit 1 "copy into a non-empty directory" "$COFFRE" store copy \
    --from "$L" --to "$T/full"
[ "$(ls "$T/full")" = x ] && pass || fail "refused copy changed $T/full"
"$COFFRE" store copy --from "$T/onpg" --to "$T/back" >"$T/copy2" && pass ||
    fail "copy PostgreSQL -> SQLite: $(cat "$T/copy2")"
[ "$(root "$T/back")" = "$R0" ] && pass || fail "manifest root back on SQLite"
"$COFFRE" audit verify --key "$(vkey "$T/back")" --log "$T/back/audit" \
    >/dev/null && pass || fail "audit log of the copy back verifies"
jq -c 'del(.source_key)' "$T/one.json" >"$T/new.json"
id=$("$COFFRE" put --data "$T/back" $LSH "$T/new.json" 2>&1)
[ "$id" = 31 ] && pass || fail "ids go on after the copy: $id"
cmp -s <(sed -n 2p "$T/copy1") <(sed -n 2p "$T/copy2") && pass ||
    fail "the same row digest on both copies"

# --- backup of the PostgreSQL store (one REPEATABLE READ snapshot) -----------
"$COFFRE" backup keygen --secret "$T/bk.key" --public "$T/bk.pub" >/dev/null &&
    pass || fail "backup keygen"
"$COFFRE" backup --data "$T/onpg" --out "$T/bk" --to "$T/bk.pub" \
    >"$T/bk.out" && pass || fail "backup of PostgreSQL: $(cat "$T/bk.out")"
grep -q "29 persons, 1 tombstones, 29 data keys, 2 key versions" "$T/bk.out" &&
    pass || fail "backup counts: $(cat "$T/bk.out")"
"$COFFRE" restore --from "$T/bk" --data "$T/fromkb" --key "$T/bk.key" \
    >/dev/null && pass || fail "restore of the PostgreSQL backup"
[ "$(root "$T/fromkb")" = "$R0" ] && pass || fail "manifest root after restore"
"$COFFRE" audit verify --key "$(vkey "$T/fromkb")" --log "$T/fromkb/audit" \
    >/dev/null && pass || fail "audit log of the restored backup verifies"

# --- a dev server answering the API from PostgreSQL -------------------------
SP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DEV=$T/dev
"$COFFRE" server --dev --listen "127.0.0.1:$SP" --dev-dir "$DEV" \
    --demo-persons 50 --store "$(uri srv)" >"$T/server.log" 2>&1 &
SPID=$!
for _ in $(seq 1 300); do
    curl -s -o /dev/null --cacert "$DEV/ca.pem" --cert "$DEV/admin.pem" \
        --key "$DEV/admin.key" "https://127.0.0.1:$SP/v1/sys/health" && break
    sleep 0.2
done
cr() { curl -s --cacert "$DEV/ca.pem" --cert "$DEV/$1.pem" --key "$DEV/$1.key" \
    "${@:3}" "https://127.0.0.1:$SP$2"; }
cr auditor /v1/sys/stats | jq -e '.persons >= 50' >/dev/null && pass ||
    fail "the server counts the persons of PostgreSQL"
"$PSQL" -qAt "host=127.0.0.1 port=$PORT user=postgres dbname=srv" \
    -c "SELECT count(*) >= 50 FROM person" | grep -qx t && pass ||
    fail "the dev server's rows are in PostgreSQL"
ps=$(cr office "/v1/persons?limit=1&purpose=it" | jq -r '.items[0].pseudonym')
cr office "/v1/persons/$ps?fields=identity&purpose=it" |
    jq -e '.person.identity.surname' >/dev/null && pass ||
    fail "office reads a person from PostgreSQL"
kill "$SPID" && wait "$SPID"
SPID=
finish
