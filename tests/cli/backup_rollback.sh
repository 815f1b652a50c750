#!/bin/bash
# coffre restore --accept-rollback from the command line (docs/operations.md
# section 2.3): a person erased by `coffre erase` after the backup (role
# local, its pseudonym of audience local) is erased again and `coffre get`
# says so; a retention epoch destroyed after the backup, whose entry names
# no person, makes the rollback fail closed: refused, naming the entry, and
# the restored vault serves nothing. No surname, given names, email or
# document number of the file imported is in the backup's bytes.
. "$(dirname "$0")/lib.sh"
D=$T/d
SH="--share $T/s/share-1.txt --share $T/s/share-2.txt --share $T/s/share-3.txt"
check "init" "$COFFRE" init --data "$D" --shares-dir "$T/s"
"$COFFRE" gen --persons 10 --seed 3 --out "$T/p.jsonl" && pass || fail gen
"$COFFRE" import --data "$D" $SH "$T/p.jsonl" >/dev/null && pass || fail import
check "keygen" "$COFFRE" backup keygen --secret "$T/k" --public "$T/k.pub"
check "backup" "$COFFRE" backup --data "$D" --out "$T/b" --to "$T/k.pub"
python3 - "$T/p.jsonl" "$T/b" <<'PY' && pass || fail "a personal value in clear in the backup"
import json, os, sys
vals = set()
for line in open(sys.argv[1]):
    p = json.loads(line)
    for v in (p["identity"]["surname"], p["identity"]["given_names"],
              p.get("contact", {}).get("email"), p.get("document", {}).get("number")):
        if v and len(v) >= 5:
            vals.add(v.encode())
for root, _, files in os.walk(sys.argv[2]):
    for f in files:
        data = open(os.path.join(root, f), "rb").read()
        for v in vals:
            if v in data:
                sys.exit(f"{f} holds a personal value")
PY
check "erase 3 after the backup" "$COFFRE" erase --data "$D" $SH 3

check "restore, rollback accepted" "$COFFRE" restore --from "$T/b" \
    --data "$T/r1" --key "$T/k" --audit-from "$D/audit" --accept-rollback $SH
check_exit 1 "get the erased person" "$COFFRE" get --data "$T/r1" $SH 3
check_stderr "erased" "get says erased"
check "get another person" "$COFFRE" get --data "$T/r1" $SH --fields public 4
check "the log verifies" "$COFFRE" audit verify --vkey \
    "$("$COFFRE" status --data "$T/r1" $SH | sed -n 's/^audit key: //p')" \
    --log "$T/r1/audit"

E=$("$COFFRE" keys --data "$D" $SH epoch 5)
check "destroy the epoch of person 5" "$COFFRE" keys --data "$D" $SH \
    destroy-epoch "$E"
check_exit 1 "rollback past an epoch's destruction" "$COFFRE" restore \
    --from "$T/b" --data "$T/r2" --key "$T/k" --audit-from "$D/audit" \
    --accept-rollback $SH
check_stderr "retention.epoch_destroy\) erased persons it does not name" \
    "the refusal names the entry"
check_exit 1 "the restored vault serves nothing" "$COFFRE" get \
    --data "$T/r2" $SH --fields public 5
check_stderr "restored from a backup older than its audit log" "why"
finish
