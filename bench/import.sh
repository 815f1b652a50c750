#!/bin/bash
# Import benchmark (issue 6, docs/migration.md): N generated persons from
# one CSV file
#   - `coffre import` into an unsealed vault (SQLite store),
#   - PostgreSQL 15 `COPY` of the same file into a staging table, then
#     into a table whose personal fields are encrypted with pgcrypto
#     (pgp_sym_encrypt s2k-mode=1 aes256, HMAC blind indexes: what a careful
#     user would configure), on loopback, started here; on NPG persons,
#   - `coffre export` then `coffre import --bundle` into a second vault,
#   - the ceilings: the same file loaded as it is, in clear, with no
#     validation, into plain SQLite (WAL, synchronous=FULL, one
#     transaction, the write bench's three search indexes built after the
#     load) by bench/import/csv_clear (libcsv, one prepared statement) and
#     by the sqlite3 CLI's `.import --csv`, the faster of the two kept; and
#     PostgreSQL `COPY` of the same file into a plain table, the same
#     indexes built after the load.
# Same machine, same run. Prints a markdown table with ratios, and the
# issue's targets (100,000 persons/s, 20 x pgcrypto) as rows.
# usage: bench/import.sh BUILD_DIR [N] [NPG]
set -eu
build=${1:-build}
N=${2:-1000000}
NPG=${3:-50000}
top=$(cd "$(dirname "$0")/.." && pwd)
C=$(cd "$build" && pwd)/src/coffre
work=$(mktemp -d /tmp/coffre-bench-import-XXXXXX)
chmod 755 "$work"
pgdir=$work/pg
cleanup() {
    "$top/scripts/pg-test.sh" stop "$pgdir" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
vault() { # vault NAME: init it, print its options
    "$C" init --data "$work/$1" --shares-dir "$work/$1-s" >/dev/null
    echo "--data $work/$1 --share $work/$1-s/share-1.txt --share $work/$1-s/share-2.txt --share $work/$1-s/share-3.txt"
}

echo "bench: generating $N persons..." >&2
"$C" gen --persons "$N" --seed 2024 --today 2024-07-26 --format csv --out "$work/p.csv"
head -n $((NPG + 1)) "$work/p.csv" >"$work/pg.csv"
chmod 644 "$work/p.csv" "$work/pg.csv"

echo "bench: coffre import..." >&2
A=$(vault a)
t0=$(now); "$C" import $A "$work/p.csv" >"$work/imp"; t1=$(now)
imp_rate=$(echo "$N / ($t1 - $t0)" | bc -l)

# The clear ceilings on the same file: the whole process timed, as above.
count() { sqlite3 "$1" "SELECT count(*) FROM person"; }
echo "bench: clear SQLite ceiling (csv_clear)..." >&2
mkdir "$work/clear1" "$work/clear2"
t0=$(now); "$build/bench/import/csv_clear" "$work/p.csv" "$work/clear1/c.db" >/dev/null; t1=$(now)
[ "$(count "$work/clear1/c.db")" = "$N" ] || { echo "bench: csv_clear lost rows" >&2; exit 1; }
rm -rf "$work/clear1"
csv_rate=$(echo "$N / ($t1 - $t0)" | bc -l)
echo "bench: clear SQLite ceiling (sqlite3 CLI .import)..." >&2
cols=$(head -1 "$work/p.csv" | sed 's/,/ TEXT,/g; s/$/ TEXT/')
t0=$(now)
sqlite3 -bail "$work/clear2/c.db" >/dev/null <<SQL
PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-32768;
CREATE TABLE person($cols);
BEGIN;
.import --csv --skip 1 $work/p.csv person
COMMIT;
PRAGMA threads=2;
BEGIN;
CREATE INDEX p_doc ON person(doc_number);
CREATE INDEX p_email ON person(email);
CREATE INDEX p_name ON person(surname, given_names, birth_date);
COMMIT;
SQL
t1=$(now)
[ "$(count "$work/clear2/c.db")" = "$N" ] || { echo "bench: sqlite3 .import lost rows" >&2; exit 1; }
rm -rf "$work/clear2"
cli_rate=$(echo "$N / ($t1 - $t0)" | bc -l)
echo "bench: clear SQLite: csv_clear $(printf %.0f "$csv_rate")/s, sqlite3 CLI $(printf %.0f "$cli_rate")/s" >&2
if [ "$(echo "$csv_rate >= $cli_rate" | bc)" = 1 ]; then
    clear_rate=$csv_rate clear_tool="bench/import/csv_clear: libcsv + one prepared statement"
else
    clear_rate=$cli_rate clear_tool="sqlite3 CLI \`.import --csv\`"
fi

echo "bench: export + import --bundle..." >&2
B=$(vault b)
key=$("$C" bundle-key $B)
# The export needs custodians' approval, granted through the server on
# A's data directory (docs/approvals.md); not timed.
T=$work COFFRE=$C
. "$top/tests/migrate/approval_lib.sh"
grant_export "$work/a" "$work/a-s" 900 all
t0=$(now); "$C" export $A --to "$key" --out "$work/a.bundle" --approval "$APPROVAL" >/dev/null; t1=$(now)
"$C" import $B --bundle "$work/a.bundle" >"$work/bimp"; t2=$(now)
exp_rate=$(echo "$N / ($t1 - $t0)" | bc -l)
bimp_rate=$(echo "$N / ($t2 - $t1)" | bc -l)
ra=$(awk '/^manifest root/ {print $3}' "$work/imp")
rb=$(awk '/^manifest root/ {print $3}' "$work/bimp")
[ "$ra" = "$rb" ] || echo "bench: WARNING roots differ: $ra $rb" >&2

echo "bench: PostgreSQL COPY + pgcrypto on $NPG persons..." >&2
conn=$("$top/scripts/pg-test.sh" start "$pgdir")
psql() { command psql "$conn" -v ON_ERROR_STOP=1 -qAt "$@"; }
cols=$(head -1 "$work/pg.csv" | sed 's/,/ text,/g; s/$/ text/')
enc() { echo "pgp_sym_encrypt($1, :'k', 's2k-mode=1, cipher-algo=aes256')"; }
fields="surname given_names sex birth_date birth_place birth_country
nationalities address postal_code city country email phone doc_type
doc_number doc_country doc_expiry"
sel="" def=""
for f in $fields; do sel="$sel, $(enc "$f")"; def="$def, $f bytea"; done
psql -c "CREATE EXTENSION pgcrypto" \
     -c "CREATE UNLOGGED TABLE stage ($cols)" \
     -c "CREATE TABLE person (id bigserial PRIMARY KEY, source_key text UNIQUE,
         category text, organisation text, valid_from text, valid_until text
         $def, hmac_doc bytea, hmac_email bytea, hmac_name bytea)" \
     -c "CREATE INDEX ON person(hmac_doc)" -c "CREATE INDEX ON person(hmac_email)" \
     -c "CREATE INDEX ON person(hmac_name)"
t0=$(now)
psql -v k=bench-secret-key <<SQL
\\copy stage FROM '$work/pg.csv' CSV HEADER
INSERT INTO person (source_key, category, organisation, valid_from,
    valid_until, $(echo $fields | tr ' ' ','), hmac_doc, hmac_email, hmac_name)
SELECT source_key, category, organisation, valid_from, valid_until $sel,
    hmac(upper(doc_number), :'k', 'sha256'), hmac(lower(email), :'k', 'sha256'),
    hmac(lower(surname || given_names || birth_date), :'k', 'sha256')
FROM stage;
SQL
t1=$(now)
pg_rate=$(echo "$NPG / ($t1 - $t0)" | bc -l)

echo "bench: PostgreSQL COPY in clear on $N persons..." >&2
psql -c "CREATE TABLE clear_person ($cols)"
t0=$(now)
psql <<SQL
\\copy clear_person FROM '$work/p.csv' CSV HEADER
CREATE INDEX ON clear_person(doc_number);
CREATE INDEX ON clear_person(email);
CREATE INDEX ON clear_person(surname, given_names, birth_date);
SQL
t1=$(now)
[ "$(psql -c "SELECT count(*) FROM clear_person")" = "$N" ] ||
    { echo "bench: COPY lost rows" >&2; exit 1; }
pgclear_rate=$(echo "$N / ($t1 - $t0)" | bc -l)

printf '\n| path | persons | persons/s | coffre import is |\n|---|---:|---:|---:|\n'
printf '| coffre import (CSV, resumable, idempotent, manifest) | %d | %.0f | 1 |\n' \
    "$N" "$imp_rate"
printf '| PostgreSQL 15 COPY + pgcrypto pgp_sym_encrypt | %d | %.0f | %.1f x |\n' \
    "$NPG" "$pg_rate" "$(echo "$imp_rate / $pg_rate" | bc -l)"
printf '| 20 x the pgcrypto row (issue 6 target) | | %.0f | %.2f x |\n' \
    "$(echo "20 * $pg_rate" | bc -l)" "$(echo "$imp_rate / (20 * $pg_rate)" | bc -l)"
printf '| issue 6 target | | 100000 | %.2f x |\n' "$(echo "$imp_rate / 100000" | bc -l)"
printf '| plain SQLite in clear, same file, no validation, indexes after the load (ceiling; %s) | %d | %.0f | %.2f x |\n' \
    "$clear_tool" "$N" "$clear_rate" "$(echo "$imp_rate / $clear_rate" | bc -l)"
printf '| PostgreSQL 15 COPY in clear, same file, indexes after the load | %d | %.0f | %.2f x |\n' \
    "$N" "$pgclear_rate" "$(echo "$imp_rate / $pgclear_rate" | bc -l)"
printf '| coffre export (sealed bundle) | %d | %.0f | |\n' "$N" "$exp_rate"
printf '| coffre import --bundle (verify pass + import pass) | %d | %.0f | |\n' \
    "$N" "$bimp_rate"
