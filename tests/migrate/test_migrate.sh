#!/bin/bash
# Migration: CSV and JSON Lines with awkward content, rejects with line
# numbers, idempotence, updates, manifest roots, bundles (round trip,
# flipped byte, truncation, another vault), shred and erasure receipts.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/approval_lib.sh"

init_vault() { # init_vault NAME: a vault in $T/NAME, its options in $SH_NAME
    "$COFFRE" init --data "$T/$1" --shares-dir "$T/$1-s" >/dev/null
    echo "--data $T/$1 --share $T/$1-s/share-1.txt --share $T/$1-s/share-2.txt --share $T/$1-s/share-3.txt"
}
root_of() { awk '/^manifest root:/ { print $3 }'; }

A=$(init_vault a)
B=$(init_vault b)

# Awkward content, the same persons as CSV (BOM, CRLF, quotes, commas,
# semicolons, every script) and as JSON Lines (BOM, CRLF).
hdr='source_key,category,organisation,function,valid_from,valid_until,surname,given_names,sex,birth_date,birth_place,birth_country,nationalities'
{
    printf '\xef\xbb\xbf%s\r\n' "$hdr"
    printf '%s\r\n' \
    'K-1,media,"Le ""Monde"", SA","chef, adjoint",2024-07-01,2024-08-15,Éléonore-Anne,"Zoë ""Zo""",F,1990-02-28,Saint-Étienne,FRA,FRA;BEL' \
    '"K,2",athlete,Ελληνική Ομοσπονδία,,2024-07-01,2024-08-15,ΣΩΚΡΆΤΗΣ,Γιώργος,M,1988-05-01,Αθήνα,GRC,GRC' \
    'K-3,volunteer,Добровольцы,,2024-07-01,2024-08-15,Иванова,Мария,F,1999-12-31,Москва,RUS,RUS' \
    'K-4,media,中国日报,記者,2024-07-01,2024-08-15,王,小明,M,1985-01-15,北京,CHN,CHN' \
    'K-5,medical,مستشفى,,2024-07-01,2024-08-15,العربي,محمد,M,1970-06-06,القاهرة,EGY,EGY;FRA' \
    "K-6,contractor,O'Brien & Søn 🚀,,2024-07-01,2024-08-15,Nguyễn,Thị Ánh,X,2000-01-01,Hà Nội,VNM,VNM"
} >"$T/awk.csv"
{
    printf '\xef\xbb\xbf'
    jq -c '.' <<'JSON' | sed 's/$/\r/'
{"source_key":"K-1","public":{"category":"media","organisation":"Le \"Monde\", SA","function":"chef, adjoint","valid_from":"2024-07-01","valid_until":"2024-08-15"},"identity":{"surname":"Éléonore-Anne","given_names":"Zoë \"Zo\"","sex":"F","birth_date":"1990-02-28","birth_place":"Saint-Étienne","birth_country":"FRA","nationalities":["FRA","BEL"]}}
{"source_key":"K,2","public":{"category":"athlete","organisation":"Ελληνική Ομοσπονδία","valid_from":"2024-07-01","valid_until":"2024-08-15"},"identity":{"surname":"ΣΩΚΡΆΤΗΣ","given_names":"Γιώργος","sex":"M","birth_date":"1988-05-01","birth_place":"Αθήνα","birth_country":"GRC","nationalities":["GRC"]}}
{"source_key":"K-3","public":{"category":"volunteer","organisation":"Добровольцы","valid_from":"2024-07-01","valid_until":"2024-08-15"},"identity":{"surname":"Иванова","given_names":"Мария","sex":"F","birth_date":"1999-12-31","birth_place":"Москва","birth_country":"RUS","nationalities":["RUS"]}}
{"source_key":"K-4","public":{"category":"media","organisation":"中国日报","function":"記者","valid_from":"2024-07-01","valid_until":"2024-08-15"},"identity":{"surname":"王","given_names":"小明","sex":"M","birth_date":"1985-01-15","birth_place":"北京","birth_country":"CHN","nationalities":["CHN"]}}
{"source_key":"K-5","public":{"category":"medical","organisation":"مستشفى","valid_from":"2024-07-01","valid_until":"2024-08-15"},"identity":{"surname":"العربي","given_names":"محمد","sex":"M","birth_date":"1970-06-06","birth_place":"القاهرة","birth_country":"EGY","nationalities":["EGY","FRA"]}}
{"source_key":"K-6","public":{"category":"contractor","organisation":"O'Brien & Søn 🚀","valid_from":"2024-07-01","valid_until":"2024-08-15"},"identity":{"surname":"Nguyễn","given_names":"Thị Ánh","sex":"X","birth_date":"2000-01-01","birth_place":"Hà Nội","birth_country":"VNM","nationalities":["VNM"]}}
JSON
} >"$T/awk.jsonl"

rc=$("$COFFRE" manifest "$T/awk.csv" | root_of)
rj=$("$COFFRE" manifest "$T/awk.jsonl" | root_of)
[ -n "$rc" ] && [ "$rc" = "$rj" ] && pass || fail "CSV and JSONL manifests differ ($rc / $rj)"
"$COFFRE" manifest "$T/awk.csv" | grep -q "(6 persons)" && pass || fail "6 persons in CSV"

"$COFFRE" import $A "$T/awk.csv" >"$T/imp1" && pass || fail "import CSV"
grep -q "6 new, 0 updated, 0 unchanged" "$T/imp1" && pass || fail "6 new: $(cat "$T/imp1")"
[ "$(root_of <"$T/imp1")" = "$rc" ] && pass || fail "import prints the file's root"
[ "$("$COFFRE" manifest --vault $A | root_of)" = "$rc" ] && pass ||
    fail "vault root equals the CSV root"
"$COFFRE" import $A "$T/awk.jsonl" >"$T/imp2" && pass || fail "import JSONL"
grep -q "0 new, 0 updated, 6 unchanged" "$T/imp2" && pass ||
    fail "same persons as JSONL add nothing: $(cat "$T/imp2")"
"$COFFRE" status $A | grep -q "persons:   6$" && pass || fail "6 persons"
id=$("$COFFRE" find $A --surname 'ELEONORE anne' --given-names 'Zoe "zo"' \
    --birth-date 1990-02-28) && pass || fail "find the accented one"
"$COFFRE" get $A "$id" | jq -e '.public.organisation == "Le \"Monde\", SA"' \
    >/dev/null && pass || fail "quotes and comma kept"

# An update: one field changed, one person added; the root follows.
sed 's/"Москва"/"Санкт-Петербург"/' "$T/awk.jsonl" >"$T/upd.jsonl"
jq -c '.source_key = "K-7" | .identity.surname = "Müller"' \
    < <(sed -n 1p "$T/awk.jsonl" | sed 's/^\xef\xbb\xbf//') >>"$T/upd.jsonl"
"$COFFRE" import $A "$T/upd.jsonl" >"$T/imp3" && pass || fail "import update"
grep -q "1 new, 1 updated, 5 unchanged" "$T/imp3" && pass ||
    fail "1 new 1 updated: $(cat "$T/imp3")"
ru=$("$COFFRE" manifest "$T/upd.jsonl" | root_of)
[ "$("$COFFRE" manifest --vault $A | root_of)" = "$ru" ] && pass ||
    fail "vault root after update"

# Rejects: line numbers (of the record's first line), field and rule.
{
    printf '%s\n' "$hdr"
    echo 'R-1,media,Org,,2024-07-01,2024-08-15,Doe,Jane,F,1990-01-01,Paris,FRA,FRA'
    echo 'R-2,media,Org,,2024-07-01,2024-08-15,Doe,Jane,Q,1990-01-01,Paris,FRA,FRA'
    echo 'R-3,media,"Two'
    echo 'lines",,2024-07-01,2024-08-15,Doe,Jane,F,1990-01-01,Paris,FRA,FRA'
    echo ',media,Org,,2024-07-01,2024-08-15,Doe,John,M,1990-01-01,Paris,FRA,FRA'
    echo 'R-5,media,Org,,2024-07-01,2024-02-30,Doe,Jim,M,1990-01-01,Paris,FRA,FRA'
    echo 'R-6,media,Org,,2024-07-01,2024-08-15,Doe,Jill,F,1990-01-01,Paris,FRA,FRA'
} >"$T/rej.csv"
"$COFFRE" import $A "$T/rej.csv" >"$T/imp4" && pass || fail "import with rejects"
grep -q "2 new.* 4 rejected" "$T/imp4" && pass || fail "2 new 4 rejected: $(cat "$T/imp4")"
grep -qP '^line 3\tsex\tmust be F, M or X' "$T/rej.csv.rejects" && pass || fail "line 3 sex"
grep -qP '^line 4\torganisation\tmust not contain control' "$T/rej.csv.rejects" &&
    pass || fail "line 4 newline in a field"
grep -qP '^line 6\tsource_key\tis required for import' "$T/rej.csv.rejects" &&
    pass || fail "line 6 no source key"
grep -qP '^line 7\tvalid_until\t' "$T/rej.csv.rejects" && pass || fail "line 7 date"
check_exit 1 "stop on reject" "$COFFRE" import $A --stop-on-reject \
    --rejects "$T/r2" "$T/rej.csv"
check_stderr "line 3" "stop on reject names the line"

# Bundles: A -> B. A bulk export needs a bulk_export approval of its
# selection, granted by two custodians through the server on A's data
# directory (docs/approvals.md), used once.
KB=$("$COFFRE" bundle-key $B) && pass || fail "bundle key"
ra=$("$COFFRE" manifest --vault $A | root_of)
check_exit 1 "export without --approval" "$COFFRE" export $A --to "$KB" \
    --out "$T/a.bundle"
check_stderr "--approval ID is required" "export needs an approval"
[ ! -e "$T/a.bundle" ] && pass || fail "nothing written without an approval"
grant_export "$T/a" "$T/a-s" 900 all category=media && pass ||
    fail "custodians grant bulk_export"
AALL=${APPROVALS[0]-none} AMEDIA=${APPROVALS[1]-none}
[ "$("$COFFRE" manifest --vault $A | root_of)" = "$ra" ] && pass ||
    fail "the server changed no person of A"
check_exit 1 "export: unknown approval" "$COFFRE" export $A --to "$KB" \
    --out "$T/x.bundle" --approval BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB
check_stderr "approval refused: no such approval" "unknown approval named"
check_exit 1 "export: approval of another scope" "$COFFRE" export $A \
    --to "$KB" --out "$T/x.bundle" --approval "$AMEDIA"
check_stderr "another operation or scope.*\"all\"" "wrong scope named"
check_exit 1 "export: category with the approval of all" "$COFFRE" export $A \
    --to "$KB" --out "$T/x.bundle" --approval "$AALL" --category athlete
[ ! -e "$T/x.bundle" ] && pass || fail "nothing written when refused"
# Issue 13: the approval is spent only when the export proceeds. A bad
# --to (not a bundle key, or one cut short) or an --out that cannot be
# made is refused before the approval is touched; the same approval then
# exports.
check_exit 2 "export: --to not a bundle key" "$COFFRE" export $A \
    --to /tmp/elsewhere --out "$T/x.bundle" --approval "$AALL"
check_stderr "--to /tmp/elsewhere: not a bundle key" "bad --to named"
check_exit 2 "export: --to cut short" "$COFFRE" export $A --to "${KB%?}" \
    --out "$T/x.bundle" --approval "$AALL"
check_stderr "not a bundle key" "short --to named"
[ ! -e "$T/x.bundle" ] && pass || fail "nothing written for a bad --to"
check_exit 1 "export: --out in no directory" "$COFFRE" export $A \
    --to "$KB" --out "$T/nodir/x.bundle" --approval "$AALL"
check_stderr "cannot create $T/nodir/x.bundle" "bad --out named"
echo "someone's file" >"$T/taken.bundle"
check_exit 1 "export: --out exists" "$COFFRE" export $A --to "$KB" \
    --out "$T/taken.bundle" --approval "$AALL"
[ "$(cat "$T/taken.bundle")" = "someone's file" ] && pass ||
    fail "export overwrote an existing --out"
"$COFFRE" export $A --to "$KB" --out "$T/a.bundle" --approval "$AALL" \
    --progress >"$T/exp" 2>"$T/err" && pass ||
    fail "export with the approval a bad --to left: $(cat "$T/err")"
[ "$(root_of <"$T/exp")" = "$ra" ] && pass || fail "export prints the vault root"
# --progress: export draws import's bar on stderr (no terminal here), up to
# 100% of the 9 persons, with counts only; stdout keeps the report alone.
tr '\r' '\n' <"$T/err" | grep '%' | sort -u >"$T/exp.bars"
[ "$(wc -l <"$T/exp.bars")" -ge 2 ] && pass ||
    fail "export progress: $(wc -l <"$T/exp.bars") distinct updates"
grep -qE '^\[#{20}\] 100% 9 persons, [0-9]+/s, ETA 0 s +$' "$T/exp.bars" && pass ||
    fail "export progress: $(cat "$T/exp.bars")"
! grep -qiE '@|[a-z]{3,} [a-z]{3,} [a-z]{3,}@' "$T/exp.bars" && pass ||
    fail "a value in the export progress bar"
! grep -q '%' "$T/exp" && pass || fail "export progress on stdout"
check_exit 1 "export: approval reused" "$COFFRE" export $A --to "$KB" \
    --out "$T/x.bundle" --approval "$AALL"
check_stderr "approval refused: the approval was used already" "reuse named"
[ ! -e "$T/x.bundle" ] && pass || fail "nothing written on reuse"
"$COFFRE" export $A --to "$KB" --out "$T/media.bundle" --approval "$AMEDIA" \
    --category media >"$T/exp2" 2>"$T/err2" && pass || fail "export of one category"
grep -q "^exported 5 persons" "$T/exp2" && pass ||
    fail "5 media persons: $(cat "$T/exp2")"
# no --progress and stderr no terminal: no bar
[ ! -s "$T/err2" ] && pass || fail "export drew a bar unasked: $(cat "$T/err2")"
check_exit 2 "export without --to" "$COFFRE" export $A --out "$T/x.bundle"
KA=$("$COFFRE" bundle-key $A)
# Approvals that live 2 seconds are another policy (approval_ttl_seconds,
# docs/approvals.md section 6): on a vault of their own, C.
C=$(init_vault c)
grant_export "$T/c" "$T/c-s" 2 all && pass || fail "grant on C"
sleep 3
check_exit 1 "export: approval expired" "$COFFRE" export $C --to "$KA" \
    --out "$T/x.bundle" --approval "$APPROVAL"
check_stderr "approval refused: the approval expired" "expiry named"
[ ! -e "$T/x.bundle" ] && pass || fail "nothing written once expired"
grant_export "$T/b" "$T/b-s" 900 all && pass || fail "grant on B"
"$COFFRE" export $B --to "$KA" --out "$T/b-empty.bundle" \
    --approval "$APPROVAL" >/dev/null && pass || fail "export of an empty vault"
check_exit 1 "a bundle for another vault" "$COFFRE" import $A --bundle "$T/a.bundle"
check_stderr "bundle is for vault [0-9a-f]{32}, this vault is [0-9a-f]{32}" \
    "another vault named"
size=$(stat -c %s "$T/a.bundle")
cp "$T/a.bundle" "$T/flip.bundle"
off=$((size / 2))
b=$(od -An -tu1 -j "$off" -N1 "$T/flip.bundle" | tr -d ' ')
printf "$(printf '\\%03o' $(( b ^ 1 )))" |
    dd of="$T/flip.bundle" bs=1 seek="$off" conv=notrunc 2>/dev/null
check_exit 1 "a flipped byte" "$COFFRE" import $B --bundle "$T/flip.bundle"
check_stderr "does not authenticate|bad length" "flipped byte message"
head -c $((size - 40)) "$T/a.bundle" >"$T/trunc.bundle"
check_exit 1 "a truncated bundle" "$COFFRE" import $B --bundle "$T/trunc.bundle"
check_stderr "truncated" "truncated message"
head -c 300 "$T/a.bundle" >"$T/trunc2.bundle"
check_exit 1 "cut after the first chunk's start" "$COFFRE" import $B \
    --bundle "$T/trunc2.bundle"
"$COFFRE" status $B | grep -q "persons:   0$" && pass ||
    fail "refused bundles stored nothing"
"$COFFRE" import $B --progress --bundle "$T/a.bundle" >"$T/imp5" \
    2>"$T/imp5.err" && pass || fail "import bundle"
# --progress draws the bar with stderr no terminal: it moves, through the
# verifying pass then the import (it used to stay at 0%), and shows counts,
# never a value of the persons.
tr '\r' '\n' <"$T/imp5.err" | grep '%' | sort -u >"$T/imp5.bars"
[ "$(wc -l <"$T/imp5.bars")" -ge 3 ] && pass ||
    fail "bundle import progress: $(wc -l <"$T/imp5.bars") distinct updates"
grep -q "verifying the bundle" "$T/imp5.bars" && grep -q "100% 9 persons" \
    "$T/imp5.bars" && pass || fail "bundle import progress: phases"
! grep -qiE '@|[a-z]{3,} [a-z]{3,} [a-z]{3,}@' "$T/imp5.bars" && pass ||
    fail "a value in the progress bar"
cat "$T/imp5.bars"
[ "$(root_of <"$T/imp5")" = "$ra" ] && pass || fail "bundle import root"
[ "$("$COFFRE" manifest --vault $B | root_of)" = "$ra" ] && pass ||
    fail "destination root equals source root"
"$COFFRE" import $B --bundle "$T/a.bundle" | grep -q "0 new, 0 updated, 9 unchanged" &&
    pass || fail "bundle import is idempotent"

# Shred on A what was sent, with a signed receipt.
check_exit 1 "shred with a wrong root" "$COFFRE" shred $A --all --manifest \
    "$(printf '%064d' 0)"
check_stderr "nothing erased" "wrong root message"
"$COFFRE" shred $A --all --manifest "$ra" --receipt "$T/receipt" && pass ||
    fail "shred"
"$COFFRE" status $A | grep -q "persons:   0$" && pass || fail "A is empty"
"$COFFRE" receipt key $A >"$T/vkey" && pass || fail "receipt key"
"$COFFRE" receipt verify --key "$(cat "$T/vkey")" "$T/receipt" >"$T/rv" &&
    pass || fail "receipt verifies"
grep -q "^manifest $ra$" "$T/rv" && grep -q "^count 9$" "$T/rv" && pass ||
    fail "receipt names root and count"
sed 's/^count 9$/count 8/' "$T/receipt" >"$T/receipt2"
check_exit 1 "altered receipt" "$COFFRE" receipt verify --key "$(cat "$T/vkey")" \
    "$T/receipt2"
"$COFFRE" receipt key $B >"$T/vkeyb"
check_exit 1 "receipt with another key" "$COFFRE" receipt verify \
    --key "$(cat "$T/vkeyb")" "$T/receipt"

# Shred a selection given as a file.
"$COFFRE" import $A "$T/awk.csv" >/dev/null
"$COFFRE" import $A "$T/rej.csv" >/dev/null
"$COFFRE" shred $A --from "$T/awk.csv" --manifest "$rc" --receipt "$T/r3" &&
    pass || fail "shred a file's selection"
"$COFFRE" status $A | grep -q "persons:   2$" && pass || fail "2 left"

# A file changed between an interrupted import and its resume is not
# resumed at the marker's offset (it could start mid-record and would miss
# what changed before it): the import starts over, matched by source key.
C=$(init_vault c)
"$COFFRE" gen --persons 12000 --seed 7 --format csv --out "$T/big.csv"
{ head -10001 "$T/big.csv"; echo 'BAD-1,nope'; tail -n +10002 "$T/big.csv"; } \
    >"$T/cut.csv"
"$COFFRE" import $C --stop-on-reject "$T/cut.csv" >/dev/null 2>&1 &&
    fail "stop on the bad row" || pass
n=$("$COFFRE" status $C | awk '/^persons:/ { print $2 }')
[ "$n" = 8192 ] && pass || fail "one batch committed before the stop: $n"
# Line 300 (a committed record, past the first 64 KiB that name the
# marker) gets a longer given name; the bad row goes.
python3 - "$T/cut.csv" <<'PY'
import csv, sys
p = sys.argv[1]
lines = open(p, encoding="utf-8", newline="").read().split("\n")
f = next(csv.reader([lines[299]]))
old = '"%s","%s"' % (f[11], f[12])
assert old in lines[299]
lines[299] = lines[299].replace(old, '"%s","%se"' % (f[11], f[12]), 1)
lines = [l for l in lines if not l.startswith("BAD-1,")]
open(p, "w", encoding="utf-8", newline="").write("\n".join(lines))
PY
want=$("$COFFRE" manifest "$T/cut.csv" | root_of)
"$COFFRE" import $C "$T/cut.csv" >"$T/cut.out" 2>"$T/cut.err" && pass ||
    fail "import of the changed file"
grep -q "changed since the interrupted import" "$T/cut.err" && pass ||
    fail "changed file noticed: $(cat "$T/cut.err")"
grep -q "3808 new, 1 updated, 8191 unchanged" "$T/cut.out" && pass ||
    fail "started over: $(cat "$T/cut.out")"
got=$("$COFFRE" manifest --vault $C | root_of)
[ -n "$want" ] && [ "$got" = "$want" ] && pass ||
    fail "vault root $got != changed file's $want"
finish
