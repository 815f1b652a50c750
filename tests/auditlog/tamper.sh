#!/bin/bash
# Tamper tests: coffre audit verify --log accepts an untouched export and
# finds, and names, each break: a changed byte, a removed entry, a
# truncation, a forked checkpoint, an inconsistent saved checkpoint. Then
# the live log: damage to entries no checkpoint covers yet, the break verify
# names, and the operator's repair.
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
    out=$("$COFFRE" audit verify --vkey "$KEY" --log "$T/x" "$@" 2>&1)
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

# --- the live log: damage to entries no checkpoint covers yet -------------
# live: a copy of the live log with 5 more entries (copies of entry 0) that
# no checkpoint covers, as a crash before the signer's turn leaves them.
live() {
    rm -rf "$T/l"; cp -r "$T/log" "$T/l"
    python3 -c "
import struct
p='$T/l/entries'; b=open(p,'rb').read(); n=struct.unpack('>I',b[:4])[0]
open(p,'ab').write(b[:4+n+32]*5)"
}
live_off() { # byte offset of entry $1 in the live copy
    python3 -c "
import struct
b=open('$T/l/entries','rb').read(); o=0
for i in range($1): o+=4+struct.unpack('>I',b[o:o+4])[0]+32
print(o)"
}
# lexpect NAME EXIT REGEX CMD...: exit status and output of a command
lexpect() {
    local name=$1 want=$2 re=$3; shift 3
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" = "$want" ] && grep -Eq "$re" <<<"$out"; then ok "$name"
    else ko "$name (exit $rc): $out"; fi
}
verify_live() { "$COFFRE" audit verify --vkey "$KEY" --log "$T/l"; }

live
lexpect live_uncovered 0 "5 entries \(30..34\) follow the latest checkpoint" verify_live

live; o31=$(live_off 31)
python3 -c "
f=open('$T/l/entries','r+b'); f.seek($o31+20); c=f.read(1); f.seek($o31+20)
f.write(bytes([c[0]^1]))"
lexpect live_flipped 1 "entry 31: its bytes do not hash to the leaf the tree needs \(byte offset $o31 of entries\)" verify_live
lexpect query_damaged 1 "1 damaged records were left out \(the first at byte offset $o31\)" \
    "$COFFRE" audit query --log "$T/l" --counts
lexpect repair_covered 1 "would remove entries 25..29, which a stored checkpoint of size 30 covers" \
    "$COFFRE" audit repair --dir "$T/l" --cut-at "$(live_off 25)"
lexpect repair_boundary 1 "byte offset $((o31 - 1)) is not a record boundary" \
    "$COFFRE" audit repair --dir "$T/l" --cut-at $((o31 - 1))
tail_sum=$(tail -c +$((o31 + 1)) "$T/l/entries" | sha256sum)
lexpect repair 0 "moved [0-9]+ bytes \(byte offset $o31 to the end\) to $T/l/entries.cut-$o31 .*31 records remain" \
    "$COFFRE" audit repair --dir "$T/l" --cut-at "$o31"
[ "$(sha256sum <"$T/l/entries.cut-$o31")" = "$tail_sum" ] &&
    [ "$(stat -c %a "$T/l/entries.cut-$o31")" = 600 ] &&
    [ "$(stat -c %s "$T/l/entries")" = "$o31" ] && ok repair_side_file ||
    ko "repair_side_file: $(ls -l "$T/l")"
lexpect repaired_verifies 0 "1 entry \(30\) follows the latest checkpoint" verify_live
lexpect repaired_opens 0 "" "$MKLOG" "$T/l" 0 "$T/lx"
lexpect repair_again 1 "nothing after byte offset $o31" \
    "$COFFRE" audit repair --dir "$T/l" --cut-at "$o31"

live; o32=$(live_off 32)
python3 -c "
f=open('$T/l/entries','r+b'); f.seek($o32+1); f.write(bytes([1]))"
lexpect live_over_cap 1 "entry 32 at byte offset $o32 announces a length over the cap" verify_live

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
