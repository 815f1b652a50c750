#!/bin/bash
# Integration (issue 15, backups; docs/operations.md section 2): a real
# server with a sealed-by-shares vault, real curl clients writing.
# - `coffre backup` while the clients write (B1) and once they stopped
#   (B2); B2 restored has the live vault's manifest root; B1 restored,
#   the writes past its audit mark accepted as lost, holds exactly the
#   persons the log created below its mark; both logs verify.
# - a person erased after B2: B2 restored under the live log is refused
#   (a single write past the mark: the case the ordinary check would take
#   for an uncommitted write), by the command line and by the server's
#   unseal; with --accept-rollback the person is erased
#   again, `coffre get` says erased, the log verifies.
# - bad inputs: another secret key, a tampered or truncated file (with
#   and without the manifest's hash fixed up), a non-empty target: a
#   clear error, nothing written.
. "$(dirname "$0")/lib.sh"
trap 'touch "$WORK/stop"; kill $(jobs -p) 2>/dev/null; finish; exit $?' EXIT
CLIENTS=3
PORT=$(free_port)
DEV=$WORK/dev
DATA=$DEV/vault
URL="https://127.0.0.1:$PORT"
P='purpose=backup%20test'
SH=(--share "$DEV/shares/share-1.txt" --share "$DEV/shares/share-2.txt"
    --share "$DEV/shares/share-3.txt")
start_dev "$DEV" "$PORT" --dev-shares --demo-persons 20
unseal_dev
req auditor GET /v1/audit/key
echo "$BODY" >"$WORK/vkey"
find_template "state=submitted&limit=20&$P"
[ -n "$TEMPLATE" ] || fail_exit "no template person"
TEMPLATE=$(echo "$TEMPLATE" | jq -c '.public.state = "submitted"')
# X: a demo person, erased after B2
req office GET "/v1/persons?state=submitted&limit=20&$P"
for ps in $(echo "$BODY" | jq -r '.items[].pseudonym'); do
    req office GET "/v1/persons/$ps?fields=document&$P"
    DOCX=$(echo "$BODY" | jq -r '.person.document.number // empty')
    [ -n "$DOCX" ] && { XPS=$ps; break; }
done
[ -n "${XPS:-}" ] || fail_exit "no person with a document"

"$COFFRE" backup keygen --secret "$WORK/bk.key" --public "$WORK/bk.pub" \
    >/dev/null && ok || bad "keygen"
"$COFFRE" backup keygen --secret "$WORK/bk.key" --public "$WORK/x.pub" \
    >/dev/null 2>&1 && bad "keygen over an existing key" || ok

# client ID: create persons (unique source key and document) until stopped
client() {
    local i=0 st k
    while [ ! -f "$WORK/stop" ]; do
        i=$((i + 1))
        k="BK$1-$i"
        st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$DEV/ca.pem" \
            --cert "$DEV/platform.pem" --key "$DEV/platform.key" \
            -H 'Content-Type: application/json' --data-binary \
            "$(echo "$TEMPLATE" | jq -c --arg k "$k" \
                '.source_key = $k | .document.number = $k')" "$URL/v1/persons")
        echo "$st" >>"$WORK/answers.$1"
    done
}
answered() { cat "$WORK"/answers.* 2>/dev/null | grep -c 201; }
mark_of() { jq -r .audit_mark "$1/manifest.json"; }

# --- B1 during the write load --------------------------------------------
for id in $(seq 1 $CLIENTS); do client "$id" & done
for _ in $(seq 1 100); do [ "$(answered)" -ge 10 ] && break; sleep 0.1; done
OVERLAP=0
for try in 1 2 3 4 5; do
    rm -rf "$WORK/b1"
    a0=$(answered)
    "$COFFRE" backup --data "$DATA" --out "$WORK/b1" --to "$WORK/bk.pub" \
        >"$WORK/b1.out" 2>&1 || { bad "backup under load: $(cat "$WORK/b1.out")"; break; }
    a1=$(answered)
    if [ "$a1" -gt "$a0" ]; then OVERLAP=1; break; fi
done
echo "B1: $(cat "$WORK/b1.out") ($((a1 - a0)) creates answered during it)"
[ "$OVERLAP" = 1 ] && ok || bad "no write was answered while a backup ran"
sleep 1
touch "$WORK/stop"
wait $(jobs -p | grep -v "^$SERVER_PID\$") 2>/dev/null
CREATED=$(answered)
echo "creates answered: $CREATED"
[ "$CREATED" -ge 10 ] && ok || bad "too little load ($CREATED creates)"

# --- B2 quiescent; files -------------------------------------------------
"$COFFRE" backup --data "$DATA" --out "$WORK/b2" --to "$WORK/bk.pub" \
    >"$WORK/b2.out" 2>&1 && ok || bad "backup: $(cat "$WORK/b2.out")"
modes=$(find "$WORK/b2" -type f -printf '%m\n' | sort -u)
[ "$modes" = 600 ] && ok || bad "backup file modes: $modes"
[ -z "$(grep -rl -- "$DOCX" "$WORK/b2" "$WORK/b1")" ] && ok ||
    bad "a document number in clear in a backup"
"$COFFRE" backup --data "$DATA" --out "$WORK/b2" --to "$WORK/bk.pub" \
    >/dev/null 2>"$WORK/e.txt" && bad "backup into a non-empty directory" ||
    { grep -q "is not empty" "$WORK/e.txt" && ok || bad "non-empty out: $(cat "$WORK/e.txt")"; }

stop_server
root() { "$COFFRE" manifest --vault --data "$1" "${SH[@]}" | awk '{print $3, $4}' | tr -d '('; }
LIVE=$(root "$DATA")
echo "live vault: $LIVE"

# --- B2 restored: the live vault's root; its log verifies ----------------
"$COFFRE" restore --from "$WORK/b2" --data "$WORK/r2" --key "$WORK/bk.key" \
    >"$WORK/r2.out" 2>&1 && ok || bad "restore B2: $(cat "$WORK/r2.out")"
R2=$(root "$WORK/r2")
[ -n "$LIVE" ] && [ "$R2" = "$LIVE" ] && ok || bad "manifest of B2 restored: $R2, live $LIVE"
"$COFFRE" audit verify --vkey "$WORK/vkey" --log "$WORK/r2/audit" \
    >"$WORK/v.txt" 2>&1 && ok || bad "verify B2's log: $(cat "$WORK/v.txt")"
IDX=$("$COFFRE" find --data "$WORK/r2" "${SH[@]}" --document "$DOCX" | head -1)
[ -n "$IDX" ] && ok || bad "find X in B2 restored"

# --- B1 restored under the live log: persons below its mark --------------
M1=$(mark_of "$WORK/b1")
LOST=$("$COFFRE" audit query --log "$DATA/audit" --principal "" |
    awk -v m="$M1" '$1 >= m && /action=person.create/ && /status=201/' | wc -l)
"$COFFRE" restore --from "$WORK/b1" --data "$WORK/r1" --key "$WORK/bk.key" \
    --audit-from "$DATA/audit" --accept-rollback "${SH[@]}" >"$WORK/r1.out" 2>&1 &&
    ok || bad "restore B1: $(cat "$WORK/r1.out")"
N1=$(root "$WORK/r1" | awk '{print $2}')
NL=$(echo "$LIVE" | awk '{print $2}')
echo "B1 at mark $M1: $N1 persons; live $NL, $LOST created past the mark"
[ -n "$N1" ] && [ "$N1" -eq $((NL - LOST)) ] && [ "$LOST" -ge 1 ] && ok ||
    bad "B1 restored holds $N1 persons, want $NL - $LOST"
"$COFFRE" audit verify --vkey "$WORK/vkey" --log "$WORK/r1/audit" \
    >"$WORK/v.txt" 2>&1 && ok || bad "verify B1's log: $(cat "$WORK/v.txt")"

# --- X erased after B2 ---------------------------------------------------
restart_dev
unseal_dev
expect 200 office DELETE "/v1/persons/$XPS"
stop_server
"$COFFRE" restore --from "$WORK/b2" --data "$WORK/r3" --key "$WORK/bk.key" \
    --audit-from "$DATA/audit" >/dev/null 2>&1 && ok || bad "restore B2 (r3)"
"$COFFRE" get --data "$WORK/r3" "${SH[@]}" "$IDX" >"$WORK/g.txt" 2>&1 &&
    bad "a restored vault older than its log served X" ||
    { grep -q "restored from a backup older than its audit log.*--accept-rollback" \
        "$WORK/g.txt" && ok || bad "refusal message: $(cat "$WORK/g.txt")"; }
grep -q '"surname"' "$WORK/g.txt" && bad "X printed" || ok
# the server on that data directory: the unseal is refused, nothing served
jq --arg d "$WORK/r3" '.data_dir = $d | .audit_dir = ($d + "/audit")' \
    "$DEV/server.json" >"$WORK/r3.json"
restart_dev "$WORK/r3.json"
for k in 1 2; do
    req "$(custodian_of $k)" POST /v1/sys/unseal \
        "$(jq -Rs '{share: .}' "$DEV/shares/share-$k.txt")"
done
expect 503 custodian3 POST /v1/sys/unseal \
    "$(jq -Rs '{share: .}' "$DEV/shares/share-3.txt")"
check "the server names the rollback" \
    '.error.code == "audit_unavailable" and (.error.message | test("restored from a backup older than its audit log"))'
expect 503 office GET "/v1/persons/$XPS?fields=public&$P"
stop_server
"$COFFRE" restore --from "$WORK/b2" --data "$WORK/r4" --key "$WORK/bk.key" \
    --audit-from "$DATA/audit" --accept-rollback "${SH[@]}" >"$WORK/r4.out" 2>&1 &&
    ok || bad "restore --accept-rollback: $(cat "$WORK/r4.out")"
grep -q "1 erasures re-applied" "$WORK/r4.out" && ok || bad "rollback report: $(cat "$WORK/r4.out")"
"$COFFRE" get --data "$WORK/r4" "${SH[@]}" "$IDX" >"$WORK/g.txt" 2>&1 &&
    bad "X readable after the restore" ||
    { grep -qi "erased" "$WORK/g.txt" && ok || bad "get X: $(cat "$WORK/g.txt")"; }
OTHER=$((IDX == 1 ? 2 : 1))
"$COFFRE" get --data "$WORK/r4" "${SH[@]}" --fields public "$OTHER" \
    >/dev/null 2>&1 && ok || bad "another person unreadable after the rollback"
"$COFFRE" audit verify --vkey "$WORK/vkey" --log "$WORK/r4/audit" \
    >"$WORK/v.txt" 2>&1 && ok || bad "verify after the rollback: $(cat "$WORK/v.txt")"
"$COFFRE" audit query --log "$WORK/r4/audit" --principal "" |
    grep -q "action=store.rollback" && ok || bad "no store.rollback entry"

# --- bad inputs: a clear error, nothing written ---------------------------
# refuse DESC PATTERN BACKUP [KEY]: restore into a new target must fail
# with PATTERN and leave no target behind.
refuse() {
    rm -rf "$WORK/t"
    if "$COFFRE" restore --from "$3" --data "$WORK/t" --key "${4:-$WORK/bk.key}" \
        >/dev/null 2>"$WORK/e.txt"; then
        bad "$1: restored"
    elif ! grep -q -- "$2" "$WORK/e.txt"; then
        bad "$1: $(cat "$WORK/e.txt")"
    elif [ -e "$WORK/t" ]; then
        bad "$1: the target was made"
    else
        ok
    fi
}
# corrupt COPY FILE OP [fix]: OP on FILE of a copy of B2; "fix" recomputes
# the manifest's size and SHA-256 of it, as an attacker would.
corrupt() {
    rm -rf "$WORK/$1"
    cp -a "$WORK/b2" "$WORK/$1"
    python3 - "$WORK/$1" "$2" "$3" "${4:-}" <<'PY'
import hashlib, json, os, sys
d, name, op, fix = sys.argv[1:]
p = os.path.join(d, name)
b = bytearray(open(p, "rb").read())
if op == "flip":
    b[len(b) // 2] ^= 1
else:
    b = b[: len(b) - 100]
open(p, "wb").write(b)
if fix:
    m = json.load(open(os.path.join(d, "manifest.json")))
    for f in m["files"]:
        if f["name"] == name:
            f["size"] = len(b)
            f["sha256"] = hashlib.sha256(b).hexdigest()
    os.chmod(os.path.join(d, "manifest.json"), 0o600)
    json.dump(m, open(os.path.join(d, "manifest.json"), "w"))
PY
}
"$COFFRE" backup keygen --secret "$WORK/other.key" --public "$WORK/other.pub" >/dev/null
refuse "another secret key" "not the one this backup was encrypted to" \
    "$WORK/b2" "$WORK/other.key"
corrupt c1 records.cbk flip
refuse "a flipped byte" "records.cbk: its SHA-256 differs" "$WORK/c1"
corrupt c2 records.cbk flip fix
refuse "a flipped byte, manifest fixed" "does not authenticate" "$WORK/c2"
corrupt c3 keys.cbk cut
refuse "a truncated file" "keys.cbk: .* bytes, the manifest says" "$WORK/c3"
corrupt c4 keys.cbk cut fix
refuse "a truncated file, manifest fixed" "keys.cbk: cut short" "$WORK/c4"
corrupt c5 audit/entries flip
refuse "a tampered log copy" "audit/entries: its SHA-256 differs" "$WORK/c5"
echo '{"format":"coffre-backup/1"}' >"$WORK/c5/manifest.json"
refuse "a malformed manifest" "manifest.json is malformed" "$WORK/c5"
mkdir -p "$WORK/full" && echo keep >"$WORK/full/x"
"$COFFRE" restore --from "$WORK/b2" --data "$WORK/full" --key "$WORK/bk.key" \
    >/dev/null 2>"$WORK/e.txt" && bad "restore into a non-empty directory" ||
    { grep -q "is not empty" "$WORK/e.txt" && [ "$(ls "$WORK/full")" = x ] &&
        ok || bad "non-empty target: $(cat "$WORK/e.txt")"; }
"$COFFRE" restore --from "$WORK/b2" --data "$WORK/t" --key "$WORK/bk.key" \
    --accept-rollback >/dev/null 2>"$WORK/e.txt"
[ $? = 2 ] && grep -q "needs the custodians' shares" "$WORK/e.txt" && [ ! -e "$WORK/t" ] &&
    ok || bad "--accept-rollback without shares: $(cat "$WORK/e.txt")"
"$COFFRE" backup --data "$DATA" --out "$WORK/t" --to "$WORK/bk.key.none" \
    >/dev/null 2>&1 && bad "backup with no recipient key" || ok
[ ! -e "$WORK/t" ] && ok || bad "a failed backup left its directory"
