#!/bin/bash
# Tamper tests: coffre audit verify --log accepts an untouched export and
# finds, and names, each break: a changed byte, a removed entry, a
# truncation, a forked checkpoint, an inconsistent saved checkpoint.
set -u
: "${COFFRE:?}" "${MKLOG:?}"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; }

"$MKLOG" "$T/log" 30 "$T/good" || { echo "FAIL mklog"; exit 1; }
KEY="$T/good/vkey"
fresh() { rm -rf "$T/x"; cp -r "$T/good" "$T/x"; }
# expect NAME EXIT REGEX [verify args...]
expect() {
    local name=$1 want=$2 re=$3; shift 3
    out=$("$COFFRE" audit verify --key "$KEY" --log "$T/x" "$@" 2>&1)
    rc=$?
    if [ "$rc" = "$want" ] && grep -Eq "$re" <<<"$out"; then ok "$name"
    else ko "$name (exit $rc): $out"; fi
}
entry_off() { # byte offset of entry $1 in entries
    python3 -c "
import struct,sys
b=open('$T/x/entries','rb').read(); o=0
for i in range($1): o+=4+struct.unpack('>I',b[o:o+4])[0]+32
print(o)"
}

fresh; expect untouched 0 "Checkpoint of 30 entries signed by coffre.test/tamper verified" --save "$T/saved"
fresh; expect saved 0 "Consistent with your saved checkpoint of 30" --saved "$T/saved"

fresh; off=$(entry_off 17)
python3 -c "
f=open('$T/x/entries','r+b'); f.seek($off+20); c=f.read(1); f.seek($off+20)
f.write(bytes([c[0]^1]))"
expect byte_flipped 1 "entry 17: its bytes do not hash to the leaf the tree needs"

fresh; a=$(entry_off 12); b=$(entry_off 13)
python3 -c "
d=open('$T/x/entries','rb').read(); open('$T/x/entries','wb').write(d[:$a]+d[$b:])"
expect entry_removed 1 "does not match the entries.*among 10..19"

fresh; truncate -s "$(entry_off 25)" "$T/x/entries"
expect truncated 1 "truncated: checkpoint of size 30 but only 25 entries"

fresh; truncate -s $(( $(entry_off 25) + 7 )) "$T/x/entries"
expect torn 1 "cut short after 25 entries"

fresh; "$MKLOG" fork "$T/x"
expect forked 1 "two checkpoints of size 30 with different roots: the log forked"

cp -r "$T/good" "$T/y"; "$MKLOG" fork "$T/y"
fresh; expect forked_saved 1 "checkpoint of size 30 in the log is not consistent with your saved checkpoint of size 30" --saved "$T/y/forged"

fresh; out=$("$COFFRE" audit query --log "$T/x" --pseudonym pseudo3)
grep -q "6 of 30 entries matched" <<<"$out" && ok query_pseudonym || ko "query_pseudonym: $out"
out=$("$COFFRE" audit query --log "$T/x" --counts --since 2024-07-26T08:10:00Z)
grep -q "role vetting: 6" <<<"$out" && grep -q "20 of 30 entries matched" <<<"$out" \
    && ok query_counts || ko "query_counts: $out"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
