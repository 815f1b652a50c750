#!/bin/bash
# One audit log for every process, in PostgreSQL (docs/audit.md section
# 14), on a PostgreSQL 15 this test starts on loopback:
# - the command line on a PostgreSQL vault: its entries are rows; a write
#   whose commit fails (a deferred trigger refuses it) leaves no entry and
#   no hole; a read whose entry the database refuses discloses nothing;
#   `coffre audit verify --data` verifies from the database;
# - two `coffre server` processes, two data directories (init --join), one
#   database: both write, the log is one sequence, both serve one checkpoint
#   and proofs that verify; kill -9 of the signer, the other takes over
#   and its next checkpoint is consistent with the one saved before;
# - store copy PostgreSQL -> SQLite -> PostgreSQL carries the log over,
#   verifying, with equal roots.
. "$(dirname "$0")/lib.sh"
B_PID=
stop_all() {
    [ -n "$B_PID" ] && kill "$B_PID" 2>/dev/null && wait "$B_PID"
    stop_server
    pg_stop
    finish
}
trap 'stop_all; exit $?' EXIT
pg_start
for db in cli srv back; do pg_sql postgres "CREATE DATABASE $db" ||
    fail_exit "createdb $db"; done
P=purpose=test STATUS= BODY=

# no_hole DB: the entries' indices are 0..n-1 and the head says n.
no_hole() {
    [ "$(pg_sql "$1" "SELECT count(*) = coalesce(max(idx) + 1, 0) AND
        count(*) = (SELECT next FROM audit_head) FROM audit_entry")" = t ]
}
entries() { pg_sql "$1" "SELECT count(*) FROM audit_entry"; }

# --- the command line: rows, a refused commit, verify from the database ---
D=$WORK/cli S=$WORK/cli-shares
"$COFFRE" init --data "$D" --shares-dir "$S" --store "$(pg_uri cli)" \
    >/dev/null && ok || bad "init on PostgreSQL"
SH="--data $D --share $S/share-1.txt --share $S/share-2.txt --share $S/share-3.txt"
"$COFFRE" gen --persons 6 --seed 5 --out "$WORK/p.jsonl" || bad gen
head -1 "$WORK/p.jsonl" >"$WORK/one.json"
sed -n 2p "$WORK/p.jsonl" >"$WORK/two.json"
n0=$(entries cli)
id=$("$COFFRE" put $SH "$WORK/one.json") && ok || bad "put"
"$COFFRE" get $SH --fields identity "$id" >/dev/null && ok || bad "get"
n1=$(entries cli)
[ "$n1" -ge $((n0 + 2)) ] && ok || bad "a write and a read are rows: $n0 -> $n1"
no_hole cli && ok || bad "indices without a hole"
[ ! -s "$D/audit/entries" ] && ok || bad "no entry in a file beside the store"
pg_sql cli "CREATE FUNCTION no_commit() RETURNS trigger LANGUAGE plpgsql AS
    \$\$BEGIN RAISE EXCEPTION 'refused by the test'; END\$\$;
    CREATE CONSTRAINT TRIGGER no_commit AFTER INSERT ON person
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION no_commit()" ||
    bad "trigger"
"$COFFRE" put $SH "$WORK/two.json" >/dev/null 2>&1 && bad "commit refused, put said ok" || ok
[ "$(entries cli)" = "$n1" ] && ok || bad "the refused write left an entry"
no_hole cli && ok || bad "no hole after the rollback"
pg_sql cli "DROP TRIGGER no_commit ON person" || bad "drop trigger"
"$COFFRE" put $SH "$WORK/two.json" >/dev/null && ok || bad "put after"
[ "$(entries cli)" = $((n1 + 1)) ] && ok || bad "the next write takes the index"
no_hole cli && ok || bad "no hole after the next write"
# fail closed: a read whose entry the database refuses discloses nothing
pg_sql cli "CREATE TRIGGER no_entry BEFORE INSERT ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION no_commit()" || bad "trigger on entries"
n2=$(entries cli)
"$COFFRE" get $SH --fields identity "$id" >"$WORK/leak" 2>/dev/null &&
    bad "a read with no entry answered" || ok
[ ! -s "$WORK/leak" ] && ok || bad "a read with no entry disclosed: $(cat "$WORK/leak")"
pg_sql cli "DROP TRIGGER no_entry ON audit_entry" || bad "drop trigger"
[ "$(entries cli)" = "$n2" ] && no_hole cli && ok || bad "entries after the refusal"
VK=$("$COFFRE" status $SH | sed -n 's/^audit key: //p')
[ -n "$VK" ] && ok || bad "audit key"
"$COFFRE" audit verify --data "$D" --vkey "$VK" >"$WORK/v.out" && ok ||
    bad "verify from the database: $(cat "$WORK/v.out")"
grep -q "over $(entries cli) entries" "$WORK/v.out" && ok ||
    bad "verify read every row: $(cat "$WORK/v.out")"
"$COFFRE" audit query --data "$D" --counts >"$WORK/q.out" &&
    grep -q " of $(entries cli) entries matched" "$WORK/q.out" && ok ||
    bad "query from the database: $(cat "$WORK/q.out")"

# --- store copy: PostgreSQL -> SQLite -> PostgreSQL, the log carried -------
root() { "$COFFRE" manifest --vault --data "$1" ${SH#--data $D} | awk '{print $3}'; }
R0=$(root "$D")
"$COFFRE" store copy --from "$D" --to "$WORK/lite" >/dev/null && ok ||
    bad "copy PostgreSQL -> SQLite"
"$COFFRE" audit verify --log "$WORK/lite/audit" --vkey "$VK" >"$WORK/v.out" &&
    ok || bad "the copied files verify: $(cat "$WORK/v.out")"
grep -q "over $(entries cli) entries" "$WORK/v.out" && ok || bad "every entry in the files"
[ "$(root "$WORK/lite")" = "$R0" ] && ok || bad "root on SQLite"
"$COFFRE" get --data "$WORK/lite" ${SH#--data $D} --fields identity 1 \
    >/dev/null && ok || bad "a read on the SQLite copy"
"$COFFRE" store copy --from "$WORK/lite" --to "$WORK/back" \
    --to-store "$(pg_uri back)" >/dev/null && ok || bad "copy SQLite -> PostgreSQL"
[ "$(entries back)" -gt "$(entries cli)" ] && ok || bad "the rows of the log"
no_hole back && ok || bad "copied indices without a hole"
"$COFFRE" audit verify --data "$WORK/back" --vkey "$VK" >"$WORK/v.out" && ok ||
    bad "the copied rows verify: $(cat "$WORK/v.out")"
[ "$(root "$WORK/back")" = "$(root "$WORK/lite")" ] && ok || bad "root back on PostgreSQL"
"$COFFRE" get --data "$WORK/back" ${SH#--data $D} --fields identity 1 \
    >/dev/null && ok || bad "the copy opens and reads"
no_hole back && ok || bad "and appends without a hole"

# --- two servers, one database ---------------------------------------------
PORT=$(free_port) DEV=$WORK/dev
start_dev "$DEV" "$PORT" --dev-shares --demo-persons 10 --store "$(pg_uri srv)"
dev_unseal && ok || bad "unseal A"
PA=$PORT PB=$(free_port)
"$COFFRE" init --join --data "$WORK/vb" --store "$(pg_uri srv)" >/dev/null &&
    ok || bad "init --join"
[ "$(cat "$WORK/vb/store")" = "$(pg_uri srv)" ] && [ "$(ls "$WORK/vb")" = store ] &&
    ok || bad "--join records the store, nothing else"
"$COFFRE" init --join --data "$WORK/vb" --store "$(pg_uri srv)" \
    >/dev/null 2>&1 && bad "--join into a data directory not empty" || ok
pg_sql postgres "CREATE DATABASE nov" || bad "createdb nov"
"$COFFRE" init --join --data "$WORK/vc" --store "$(pg_uri nov)" \
    >/dev/null 2>"$WORK/err" && bad "--join a database without a vault" || ok
grep -q "holds no vault" "$WORK/err" && [ ! -e "$WORK/vc" ] && ok ||
    bad "refused join named, nothing made: $(cat "$WORK/err")"
jq --arg l "127.0.0.1:$PB" --arg d "$WORK/vb" \
    '.listen = $l | .data_dir = $d | del(.audit_dir)' "$DEV/server.json" \
    >"$WORK/b.json"
"$COFFRE" server --config "$WORK/b.json" >"$WORK/b.log" 2>&1 &
B_PID=$!
for _ in $(seq 1 100); do
    curl -s -o /dev/null --cacert "$DEV/ca.pem" --cert "$DEV/admin.pem" \
        --key "$DEV/admin.key" "https://127.0.0.1:$PB/v1/sys/health" && break
    sleep 0.2
done
PORT=$PB dev_unseal && ok || bad "unseal B: $(tail -3 "$WORK/b.log")"
find_template "state=submitted&limit=5&$P"
[ -n "$TEMPLATE" ] && ok || bad "a template person"
# write K persons through each, reading each back through the other
for i in 1 2 3 4 5 6; do
    [ $((i % 2)) = 0 ] && { W=$PA R=$PB; } || { W=$PB R=$PA; }
    PORT=$W expect 201 platform POST /v1/persons \
        "$(echo "$TEMPLATE" | jq -c --arg d "PGDOC$i" '.document.number = $d')"
    ps=$(echo "$BODY" | jq -r .pseudonym)
    PORT=$R expect 200 platform GET "/v1/persons/$ps?fields=public"
done
no_hole srv && ok || bad "the two servers' entries: one sequence"
TLS=(--cacert "$DEV/ca.pem" --cert "$DEV/auditor.pem" --key "$DEV/auditor.key")
req auditor GET /v1/audit/key
VKS=$BODY
sleep 1.5 # a signing round
for p in $PA $PB; do
    "$COFFRE" audit verify --url "https://127.0.0.1:$p" "${TLS[@]}" \
        --vkey "$VKS" --save "$WORK/cp.$p" >"$WORK/v.$p" && ok ||
        bad "verify through $p: $(cat "$WORK/v.$p")"
done
cmp -s "$WORK/cp.$PA" "$WORK/cp.$PB" && ok || bad "both serve one checkpoint"
grep -q "inclusion proof of entry .* verifies" "$WORK/v.$PB" && ok ||
    bad "B's proofs verify"
holder() { pg_sql srv "SELECT pid FROM pg_locks WHERE locktype = 'advisory'
    AND objid = 7243003 AND granted"; }
H0=$(holder)
[ -n "$H0" ] && ok || bad "one process holds the signer lock"
T0=$(date +%s%N)
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=
PORT=$PB
for i in 7 8 9; do
    expect 201 platform POST /v1/persons \
        "$(echo "$TEMPLATE" | jq -c --arg d "PGDOC$i" '.document.number = $d')"
done
n=$(entries srv)
for _ in $(seq 1 50); do
    [ "$(pg_sql srv "SELECT max(size) FROM audit_checkpoint")" -ge "$n" ] && break
    sleep 0.2
done
[ "$(pg_sql srv "SELECT max(size) FROM audit_checkpoint")" -ge "$n" ] && ok ||
    bad "B signs after A died (within 10 s)"
echo "takeover: every entry covered $((($(date +%s%N) - T0) / 1000000)) ms after the kill (3 writes in between; not asserted)"
H1=$(holder)
[ -n "$H1" ] && [ "$H1" != "$H0" ] && ok || bad "the lock changed hands: $H0 -> $H1"
"$COFFRE" audit verify --url "https://127.0.0.1:$PB" "${TLS[@]}" --vkey "$VKS" \
    --saved "$WORK/cp.$PA" >"$WORK/v.after" && ok ||
    bad "the next checkpoint is consistent with A's: $(cat "$WORK/v.after")"
grep -q "Consistent with your saved checkpoint" "$WORK/v.after" && ok ||
    bad "consistency checked"
"$COFFRE" audit verify --data "$WORK/vb" --vkey "$VKS" >"$WORK/v.db" && ok ||
    bad "verify from the database: $(cat "$WORK/v.db")"
