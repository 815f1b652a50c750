#!/bin/bash
# The coffre command as a custodian or operator uses it: init, unseal with
# shares, put/get/find/erase, keys, gen, import, --help, errors and exit
# statuses.
. "$(dirname "$0")/lib.sh"

D=$T/vault S=$T/shares
check "init" "$COFFRE" init --data "$D" --shares-dir "$S"
check_exit 1 "init twice" "$COFFRE" init --data "$D" --shares-dir "$T/s2"
check_stderr "already holds a vault" "init twice message"
[ "$(stat -c %a "$S/share-1.txt")" = 600 ] && pass || fail "share mode"
ls "$S" | grep -c share- | grep -qx 5 && pass || fail "five shares"
[ ! -e "$T/s2" ] && pass || fail "init over a vault made its shares directory"

# init is all or nothing (issue 13). A shares directory that holds share
# files already (another vault's) is refused before anything is made: not
# one of them is touched, no data directory or store is created.
F=$T/foreign
mkdir -m 700 "$F"
for k in 1 2 3 4 5; do echo "another vault's share $k" >"$F/share-$k.txt"; done
cp -a "$F" "$T/foreign.orig"
check_exit 1 "init over another vault's shares" "$COFFRE" init \
    --data "$T/v2" --shares-dir "$F"
check_stderr "$F/share-1.txt already exists" "existing share named"
diff -r "$F" "$T/foreign.orig" >/dev/null && pass ||
    fail "init changed another vault's shares: $(ls "$F")"
[ ! -e "$T/v2" ] && pass || fail "refused init left $T/v2"
# Only the last one there: refused all the same, the first four unwritten.
rm "$F"/share-[1-4].txt
check_exit 1 "init over one share" "$COFFRE" init --data "$T/v4" \
    --shares-dir "$F"
check_stderr "$F/share-5.txt already exists" "the existing share named"
[ "$(ls "$F")" = share-5.txt ] && pass || fail "shares written: $(ls "$F")"
cmp -s "$F/share-5.txt" "$T/foreign.orig/share-5.txt" && pass ||
    fail "init changed the existing share-5.txt"
[ ! -e "$T/v4" ] && pass || fail "refused init left $T/v4"

# A failure midway (the shares medium is read-only, found when the first
# share is written) removes exactly what init made, and a retry succeeds.
# As root, init runs as nobody, so that the permissions hold.
W=$T/w AS=()
mkdir -p "$W/ro" "$W/v3"
echo "the custodian's" >"$W/ro/README"
echo "the operator's" >"$W/v3/keep"
if [ "$(id -u)" = 0 ]; then
    chmod 755 "$T" && chown -R nobody "$W"
    AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
chmod 555 "$W/ro"
check_exit 1 "init, shares not writable" "${AS[@]}" "$COFFRE" init \
    --data "$W/v" --shares-dir "$W/ro"
check_stderr "cannot create $W/ro/share-1.txt" "unwritable share named"
[ ! -e "$W/v" ] && pass || fail "failed init left $W/v: $(ls -A "$W/v")"
[ "$(ls -A "$W/ro")" = README ] && pass || fail "left $(ls -A "$W/ro")"
check_exit 1 "init in an existing directory, shares not writable" \
    "${AS[@]}" "$COFFRE" init --data "$W/v3" --shares-dir "$W/ro"
[ "$(ls -A "$W/v3")" = keep ] && pass ||
    fail "failed init left in $W/v3: $(ls -A "$W/v3")"
chmod 755 "$W/ro"
check "init once the shares are writable" "${AS[@]}" "$COFFRE" init \
    --data "$W/v3" --shares-dir "$W/ro"
"$COFFRE" status --data "$W/v3" --share "$W/ro/share-1.txt" \
    --share "$W/ro/share-3.txt" --share "$W/ro/share-5.txt" |
    grep -q "^sealed:    no" && pass || fail "the retried vault unseals"

SH="--data $D --share $S/share-2.txt --share $S/share-4.txt --share $S/share-5.txt"
check_exit 1 "two shares are not enough" "$COFFRE" get --data "$D" \
    --share "$S/share-1.txt" --share "$S/share-2.txt" 1
check_stderr "sealed: 2 share\(s\) given, 3 needed" "sealed message"

# A share whose digits were altered: caught by its checksum.
awk '{ c = substr($6, 1, 1); $6 = (c == "A" ? "B" : "A") substr($6, 2);
       print }' "$S/share-3.txt" >"$T/bad-share"
cmp -s "$T/bad-share" "$S/share-3.txt" && fail "bad share not altered"
check_exit 1 "damaged share" "$COFFRE" status --data "$D" \
    --share "$T/bad-share"
check_stderr "share" "damaged share message"

"$COFFRE" gen --persons 20 --seed 7 --out "$T/p.jsonl" && pass || fail gen
head -1 "$T/p.jsonl" >"$T/one.json"
id=$("$COFFRE" put $SH "$T/one.json") && pass || fail "put"
[ "$id" = 1 ] && pass || fail "first id is 1, got $id"
"$COFFRE" get $SH --fields identity,document "$id" >"$T/got.json" &&
    pass || fail "get"
want=$(jq -c '.identity' "$T/one.json")
got=$(jq -c '.identity' "$T/got.json")
[ "$want" = "$got" ] && pass || fail "identity round trip"
jq -e 'has("contact") | not' "$T/got.json" >/dev/null && pass ||
    fail "only the classes asked"

doc=$(jq -r '.document.number' "$T/one.json")
mail=$(jq -r '.contact.email' "$T/one.json" | tr a-z A-Z)
[ "$("$COFFRE" find $SH --document "$doc")" = "$id" ] && pass ||
    fail "find by document"
[ "$("$COFFRE" find $SH --email " $mail ")" = "$id" ] && pass ||
    fail "find by email, case and spaces folded"
sn=$(jq -r '.identity.surname' "$T/one.json")
gn=$(jq -r '.identity.given_names' "$T/one.json")
bd=$(jq -r '.identity.birth_date' "$T/one.json")
[ "$("$COFFRE" find $SH --surname "$sn" --given-names "$gn" \
    --birth-date "$bd")" = "$id" ] && pass || fail "find by name and birth"
check_exit 1 "no match" "$COFFRE" find $SH --document NOPE12345

# Bad input: a clear message, a non-zero exit, nothing stored.
echo '{"public": {"category": "media"}, "identity": {"sex": "Q"}}' \
    >"$T/bad.json"
check_exit 1 "invalid person" "$COFFRE" put $SH "$T/bad.json"
check_stderr "validation" "invalid person message"
echo '{"public":' >"$T/trunc.json"
check_exit 1 "malformed JSON" "$COFFRE" put $SH "$T/trunc.json"
"$COFFRE" status $SH | grep -q "persons:   1$" && pass ||
    fail "bad input stored nothing"

# Import, keys, erase.
"$COFFRE" import $SH "$T/p.jsonl" >"$T/imp" && pass || fail import
# The person put above is the file's first record (same source key): the
# import finds it unchanged and adds the 19 others.
grep -q "19 new, 0 updated, 1 unchanged, 0 duplicates, 0 rejected" "$T/imp" &&
    pass || fail "import summary: $(cat "$T/imp")"
check "rotate" "$COFFRE" keys $SH rotate
"$COFFRE" keys $SH rewrap | grep -q "^20 data key" && pass || fail rewrap
check "retire v1" "$COFFRE" keys $SH retire 1
check_exit 1 "retire current" "$COFFRE" keys $SH retire 2
check "get after rewrap" "$COFFRE" get $SH 5
check "erase" "$COFFRE" erase $SH "$id"
check_exit 1 "get erased" "$COFFRE" get $SH "$id"
check_stderr "erased" "erased message"
check_exit 1 "erase twice" "$COFFRE" erase $SH "$id"
check_exit 2 "bad id" "$COFFRE" get $SH abc
check_exit 2 "unknown option" "$COFFRE" get $SH --frobnicate 1
check_exit 2 "unknown command" "$COFFRE" frobnicate

for c in init status gen import put get find erase keys manifest bundle-key \
    export shred receipt audit badge server; do
    "$COFFRE" "$c" --help >"$T/help" 2>&1 && grep -q "usage: coffre $c" \
        "$T/help" && pass || fail "$c --help"
done
finish
