#!/bin/bash
# Write benchmark (issue: vault core): N generated persons written
#   - into an unsealed coffre vault (dev root key, SQLite store),
#   - in clear into plain SQLite with the same three search indexes,
#     maintained row by row and built once after the load (the ceiling:
#     coffre bulk loads defer its indexes the same way),
#   - into PostgreSQL 15 with pgcrypto's pgp_sym_encrypt on the personal
#     fields plus HMAC blind indexes (what a careful user would otherwise
#     configure: s2k-mode=1, cipher-algo=aes256), on loopback, started here.
# Same machine, same run, same records. Prints a markdown table.
# usage: bench/write.sh BUILD_DIR [N] [N_PG]
set -eu
build=${1:-build}
N=${2:-1000000}
NPG=${3:-50000}
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/coffre-bench-XXXXXX)
chmod 755 "$work"
pgdir=$work/pg
cleanup() {
    "$top/scripts/pg-test.sh" stop "$pgdir" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "bench: writing $N persons (coffre, clear SQLite)..." >&2
"$build/bench/write/bench_write" "$N" "$work" >"$work/res"
read -r _ clear_rate clear_bytes < <(grep '^sqlite-clear ' "$work/res")
read -r _ late_rate late_bytes < <(grep '^sqlite-clear-late ' "$work/res")
read -r _ vault_rate vault_bytes < <(grep '^coffre ' "$work/res")

echo "bench: pgcrypto on $NPG persons..." >&2
"$build/src/coffre" gen --persons "$NPG" --seed 2024 --today 2024-07-26 --format csv \
    --out "$work/persons.csv"
chmod 644 "$work/persons.csv"
conn=$("$top/scripts/pg-test.sh" start "$pgdir")
psql() { command psql "$conn" -v ON_ERROR_STOP=1 -qAt "$@"; }
cols=$(head -1 "$work/persons.csv" | sed 's/,/ text,/g; s/$/ text/')
psql -c "CREATE EXTENSION pgcrypto" \
     -c "CREATE UNLOGGED TABLE stage ($cols)" \
     -c "\\copy stage FROM '$work/persons.csv' CSV HEADER"
enc() { echo "pgp_sym_encrypt($1, :'k', 's2k-mode=1, cipher-algo=aes256')"; }
fields="surname given_names sex birth_date birth_place birth_country
nationalities address postal_code city country email phone doc_type
doc_number doc_country doc_expiry"
sel="" def=""
for f in $fields; do
    sel="$sel, $(enc "$f")"; def="$def, $f bytea"
done
psql -c "CREATE TABLE person (id bigserial PRIMARY KEY, category text,
    organisation text, valid_from text, valid_until text $def,
    hmac_doc bytea, hmac_email bytea, hmac_name bytea)" \
    -c "CREATE INDEX ON person(hmac_doc)" -c "CREATE INDEX ON person(hmac_email)" \
    -c "CREATE INDEX ON person(hmac_name)"
t0=$(date +%s.%N)
psql -v k=bench-secret-key <<SQL
INSERT INTO person (category, organisation, valid_from, valid_until,
    $(echo $fields | tr ' ' ','), hmac_doc, hmac_email, hmac_name)
SELECT category, organisation, valid_from, valid_until $sel,
    hmac(upper(doc_number), :'k', 'sha256'), hmac(lower(email), :'k', 'sha256'),
    hmac(lower(surname || given_names || birth_date), :'k', 'sha256')
FROM stage;
SQL
t1=$(date +%s.%N)
pg_rate=$(echo "$NPG / ($t1 - $t0)" | bc -l)
pg_bytes=$(psql -c "SELECT pg_total_relation_size('person') / $NPG")

printf '\n| path | persons | persons/s | bytes on disk / person | coffre is |\n'
printf '|---|---:|---:|---:|---:|\n'
printf '| coffre vault (encrypted, SQLite) | %d | %.0f | %.0f | 1 |\n' \
    "$N" "$vault_rate" "$vault_bytes"
printf '| plain SQLite in clear, indexes built after the load (ceiling) | %d | %.0f | %.0f | %.2f x |\n' \
    "$N" "$late_rate" "$late_bytes" "$(echo "$vault_rate / $late_rate" | bc -l)"
printf '| plain SQLite in clear, indexes maintained row by row | %d | %.0f | %.0f | %.2f x |\n' \
    "$N" "$clear_rate" "$clear_bytes" "$(echo "$vault_rate / $clear_rate" | bc -l)"
printf '| PostgreSQL 15 + pgcrypto pgp_sym_encrypt | %d | %.0f | %.0f | %.1f x |\n' \
    "$NPG" "$pg_rate" "$pg_bytes" "$(echo "$vault_rate / $pg_rate" | bc -l)"
