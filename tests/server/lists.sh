#!/bin/bash
# Integration: what lists give away (docs/server.md, "Lists and cursors"
# and "Protected records"). As the platform, with protected persons in the
# file, every page of a filtered and of an unfiltered worklist is walked:
# cursors are opaque (never a pseudonym, never resolvable, bound to the
# caller's audience and to the list's filter, authenticated), every
# visible record comes exactly once, no protected record is listed, and
# no answer about a protected record tells its category, organisation,
# function, venues, zones or transport. The vetting service's pending
# queue gets the same cursors.
. "$(dirname "$0")/lib.sh"
trap 'finish; exit $?' EXIT
PORT=$(free_port)
DEV=$WORK/dev
# Walking every page of an unfiltered list is exactly what poison records
# are there to catch (docs/guard.md): none here, and request rates that a
# walk of small pages stays under.
cat >"$WORK/guard.json" <<'EOF'
{"poison": {"count": 0},
 "roles": {"platform": {"rate": 1000, "burst": 1000},
           "office": {"rate": 1000, "burst": 1000},
           "vetting": {"rate": 1000, "burst": 1000}}}
EOF
start_dev "$DEV" "$PORT" --demo-persons 300 --guard-config "$WORK/guard.json"
P='purpose=it%20test'
PROTECTED_CATS='["security_force", "public_authority"]'
HIDDEN='["category", "organisation", "function", "venues", "zones", "transport_code"]'

# walk WHO PATH QUERY: every page of a list; the items in $WORK/items and
# the cursors handed out in $WORK/cursors, one per line.
walk() {
    local who=$1 path=$2 q=$3 c= pages=0
    : >"$WORK/items"
    : >"$WORK/cursors"
    while :; do
        req "$who" GET "$path?$q${c:+&cursor=$c}"
        if [ "$STATUS" != 200 ]; then
            bad "walk $who $path?$q: page $pages"
            return 1
        fi
        echo "$BODY" | jq -c '.items[]' >>"$WORK/items"
        c=$(echo "$BODY" | jq -r '.next_cursor // empty')
        [ -z "$c" ] && break
        echo "$c" >>"$WORK/cursors"
        pages=$((pages + 1))
        if [ "$pages" -gt 2000 ]; then
            bad "walk $who $path?$q does not end"
            return 1
        fi
    done
    ok
}

# cursors_opaque WHO GETPATH: no cursor of $WORK/cursors has the form of
# a pseudonym, equals a listed pseudonym, or names a person.
cursors_opaque() {
    local who=$1 suffix=$2 c n=0
    while read -r c; do
        n=$((n + 1))
        [[ ! $c =~ ^[A-Za-z0-9_-]{43}$ ]] && ok || bad "cursor has the form of a pseudonym: $c"
        jq -r .pseudonym "$WORK/items" | grep -qxF -- "$c" &&
            bad "cursor equals a listed pseudonym" || ok
        expect 404 "$who" GET "/v1/persons/$c$suffix"
    done <"$WORK/cursors"
    echo "  $n cursors checked"
}

# --- protected persons submitted by the platform and the office ------------
find_template "state=submitted&limit=50"
[ -n "$TEMPLATE" ] && ok || fail_exit "no template person"
# app N CATEGORY PROTECTED: an application of its own document and email.
app() {
    echo "$TEMPLATE" | jq -c --arg n "$1" --arg cat "$2" --argjson p "$3" \
        '.document.number = "LS\($n)X\(.document.number)" |
         .contact.email = "ls\($n).\(.contact.email)" |
         .identity.surname = "Listperson" | .protected = $p |
         .public.category = $cat |
         .public.organisation = "Gendarmerie nationale" |
         .public.function = "Officer" | .public.venues = ["STF"] |
         .public.zones = ["1"] | .public.transport_code = "T1" |
         .public.state = "submitted"'
}
expect 201 platform POST /v1/persons "$(app 1 security_force true)"
PL_PROT=$(echo "$BODY" | jq -r .pseudonym)
# protected although its category is not one of the protected ones
expect 201 platform POST /v1/persons "$(app 2 media true)"
PL_PROT2=$(echo "$BODY" | jq -r .pseudonym)
expect 201 platform POST /v1/persons "$(app 3 media false)"
PL_OPEN=$(echo "$BODY" | jq -r .pseudonym)
expect 201 office POST /v1/persons "$(app 4 public_authority true)"
EXTRA_PROTECTED=1 # protected records outside the protected categories

# --- item 4: what the platform sees of a protected record -----------------
for ps in "$PL_PROT" "$PL_PROT2"; do
    expect 200 platform GET "/v1/persons/$ps?fields=public"
    check "protected: state and validity only" \
        '(.person.public | keys) - ["state", "valid_from", "valid_until"] == []'
    check "protected: state still followed" '.person.public.state == "submitted"'
    check "protected: nothing outside public" \
        '(.person | keys) == ["public"]'
done
expect 200 platform GET "/v1/persons/$PL_OPEN?fields=public"
check "open record: public fields" \
    '.person.public.category == "media" and .person.public.organisation and .person.public.zones'
DOC1=$(app 1 security_force true | jq -r .document.number)
expect 200 office GET "/v1/persons?document_number=$DOC1&$P"
O1=$(echo "$BODY" | jq -r '.items[0].pseudonym')
expect 200 office GET "/v1/persons/$O1?fields=public,identity,contact,document&$P"
check "office with protected access: the whole record" \
    '.person.protected == true and .person.public.category == "security_force" and
     .person.public.organisation and .person.public.function and
     .person.public.venues and .person.public.zones and
     .person.public.transport_code and .person.identity.surname'
expect 200 office-restricted GET "/v1/persons/$O1?fields=public&$P"
check "office without protected access: public class as before" \
    '.person.public.category == "security_force" and .person.public.organisation'
expect 403 office-restricted GET "/v1/persons/$O1?fields=identity&$P"
expect 403 office-restricted GET "/v1/persons/$O1/subject-access?$P"
check "subject access names the protected rule" '.error.message | contains("protected")'
expect 200 office GET "/v1/persons/$O1/subject-access?$P"
check "subject access with protected access" '.person.identity.surname == "Listperson"'

# --- the office's view: the reference --------------------------------------
expect 200 office GET "/v1/persons?limit=1000"
check "office lists everything in one page" '.next_cursor == null'
TOTAL=$(echo "$BODY" | jq '.items | length')
PROT_CAT=$(echo "$BODY" | jq --argjson pc "$PROTECTED_CATS" \
    '[.items[] | select(.public.category as $c | $pc | index($c))] | length')
MEDIA=$(echo "$BODY" | jq '[.items[] | select(.public.category == "media")] | length')
VISIBLE=$((TOTAL - PROT_CAT - EXTRA_PROTECTED))
[ "$PROT_CAT" -ge 10 ] && ok || bad "too few protected persons to test: $PROT_CAT"
echo "  $TOTAL persons, $PROT_CAT in protected categories, $VISIBLE visible to the platform"

# --- item 3 and 4: the platform walks an unfiltered list -------------------
walk platform /v1/persons "limit=7"
cp "$WORK/items" "$WORK/paged"
N=$(wc -l <"$WORK/items")
[ "$N" -eq "$VISIBLE" ] && ok || bad "platform paged $N items, $VISIBLE visible"
U=$(jq -r .pseudonym "$WORK/items" | sort -u | wc -l)
[ "$U" -eq "$N" ] && ok || bad "an item listed twice ($U distinct of $N)"
jq -e -s --argjson pc "$PROTECTED_CATS" \
    'all(.[]; .public.category as $c | $c != null and ($pc | index($c) | not))' \
    "$WORK/items" >/dev/null && ok || bad "the platform listed a protected record"
jq -r .pseudonym "$WORK/items" | grep -qx -e "$PL_PROT" -e "$PL_PROT2" &&
    bad "the platform's own protected records listed" || ok
jq -r .pseudonym "$WORK/items" | grep -qx "$PL_OPEN" && ok ||
    bad "the platform's own open record not listed"
cursors_opaque platform "?fields=public"
cp "$WORK/cursors" "$WORK/cursors_all"
walk platform /v1/persons "limit=1000"
diff <(jq -r .pseudonym "$WORK/paged" | sort) \
    <(jq -r .pseudonym "$WORK/items" | sort) >/dev/null && ok ||
    bad "paging and one page list different records"

# --- a category-filtered list ------------------------------------------------
walk platform /v1/persons "category=media&limit=3"
N=$(wc -l <"$WORK/items")
[ "$N" -eq $((MEDIA - EXTRA_PROTECTED)) ] && ok ||
    bad "platform media: $N items, want $((MEDIA - EXTRA_PROTECTED))"
jq -r .pseudonym "$WORK/items" | grep -qx "$PL_PROT2" &&
    bad "protected media record listed" || ok
cursors_opaque platform "?fields=public"
MEDIA_C=$(head -1 "$WORK/cursors")
for cat in security_force public_authority; do
    walk platform /v1/persons "category=$cat&limit=3"
    [ ! -s "$WORK/items" ] && ok || bad "platform lists $cat"
    cursors_opaque platform "?fields=public"
done
walk platform /v1/persons "state=vetting&limit=5"
cursors_opaque platform "?fields=public"
jq -e -s 'all(.[]; .public.category != null)' "$WORK/items" >/dev/null &&
    ok || bad "state list: a record without its category"

# --- no item and no answer about a protected record tells what it hides -----
for who in platform partner; do
    expect 200 "$who" GET "/v1/persons?limit=1000"
    check "$who: no item hides its category" \
        'all(.items[]; .public.category != null)'
done

# --- bad cursors: 400 JSON, nothing changes ---------------------------------
expect 200 auditor GET /v1/sys/stats
BEFORE=$(echo "$BODY" | jq -c .)
C=$(head -1 "$WORK/cursors_all")
[ -n "$C" ] && ok || bad "no cursor to tamper with"
# one character changed, in the middle and at the end
for pos in 5 20 $((${#C} - 1)); do
    ch=${C:$pos:1}
    [ "$ch" = A ] && sub=B || sub=A
    T="${C:0:$pos}$sub${C:$((pos + 1))}"
    expect 400 platform GET "/v1/persons?limit=7&cursor=$T" &&
        check "tampered: invalid_argument" '.error.code == "invalid_argument"'
done
expect 400 platform GET "/v1/persons?limit=7&cursor=${C:0:$((${#C} - 1))}"
expect 400 platform GET "/v1/persons?limit=7&cursor=${C}A"
expect 400 platform GET "/v1/persons?limit=7&cursor="
expect 400 platform GET "/v1/persons?limit=7&cursor=$(printf 'c%.0s' $(seq 1 2000))"
expect 400 platform GET "/v1/persons?limit=7&cursor=%ff%fe"
# a pseudonym is not a cursor
expect 400 platform GET "/v1/persons?limit=7&cursor=$PL_OPEN"
check "pseudonym as cursor" '.error.code == "invalid_argument"'
# another principal's (another audience's)
expect 400 partner GET "/v1/persons?limit=7&cursor=$C"
# another list's: the filter is part of the cursor
expect 200 platform GET "/v1/persons?limit=7&cursor=$C"
expect 200 platform GET "/v1/persons?limit=3&cursor=$C" # the limit is not
expect 400 platform GET "/v1/persons?state=submitted&limit=7&cursor=$C"
check "other list: invalid_argument" '.error.code == "invalid_argument"'
expect 400 platform GET "/v1/persons?category=media&limit=7&cursor=$C"
expect 200 platform GET "/v1/persons?category=media&limit=3&cursor=$MEDIA_C"
expect 400 platform GET "/v1/persons?category=athlete&limit=3&cursor=$MEDIA_C"
expect 400 platform GET "/v1/persons?limit=3&cursor=$MEDIA_C"
expect 400 platform GET "/v1/persons?category=media&state=submitted&limit=3&cursor=$MEDIA_C"
expect 400 office GET "/v1/persons?category=media&limit=3&cursor=$MEDIA_C"
expect 200 auditor GET /v1/sys/stats
[ "$(echo "$BODY" | jq -c .)" = "$BEFORE" ] && ok || bad "bad cursors changed the vault"

# --- the vetting service's pending queue ------------------------------------
walk vetting /v1/vetting/pending "limit=1000"
cp "$WORK/items" "$WORK/pending_all"
PENDING=$(wc -l <"$WORK/items")
[ "$PENDING" -ge 5 ] && ok || bad "too few pending applications: $PENDING"
walk vetting /v1/vetting/pending "limit=2"
diff <(jq -r .pseudonym "$WORK/pending_all" | sort) \
    <(jq -r .pseudonym "$WORK/items" | sort) >/dev/null && ok ||
    bad "pending pages differ from one page"
U=$(jq -r .pseudonym "$WORK/items" | sort -u | wc -l)
[ "$U" -eq "$PENDING" ] && ok || bad "a pending item listed twice"
cursors_opaque vetting "?fields=identity&$P"
VC=$(head -1 "$WORK/cursors")
expect 404 vetting POST "/v1/vetting/$VC/verdict" '{"verdict":"favourable"}'
expect 400 vetting GET "/v1/vetting/pending?limit=2&cursor=$(jq -r .pseudonym "$WORK/items" | head -1)"
T="${VC:0:10}$([ "${VC:10:1}" = A ] && echo B || echo A)${VC:11}"
expect 400 vetting GET "/v1/vetting/pending?limit=2&cursor=$T"
check "pending tampered: invalid_argument" '.error.code == "invalid_argument"'
# a worklist cursor is not a pending cursor, whoever holds it
expect 400 vetting GET "/v1/vetting/pending?limit=2&cursor=$C"

# --- vetting deadline near: due_within (the store's deadline index) --------
# Every person in vetting has a deadline within a year (61 days by
# default): the due list of a year is the vetting list. One sent to
# vetting now is due in 61 days, not in one.
walk office /v1/persons "state=vetting&limit=7"
jq -r .pseudonym "$WORK/items" | sort >"$WORK/vetting.all"
walk office /v1/persons "state=vetting&due_within=31536000&limit=7"
jq -r .pseudonym "$WORK/items" | sort >"$WORK/vetting.due"
[ -s "$WORK/vetting.due" ] && cmp -s "$WORK/vetting.all" "$WORK/vetting.due" &&
    ok || bad "due within a year differs from the vetting list"
jq -e -s 'all(.public.state == "vetting")' "$WORK/items" >/dev/null &&
    ok || bad "a due item not in vetting"
DC=$(head -1 "$WORK/cursors")
expect 400 office GET "/v1/persons?state=vetting&limit=7&cursor=$DC"
expect 200 office GET "/v1/persons?state=submitted&limit=1"
NOW_PS=$(echo "$BODY" | jq -r '.items[0].pseudonym')
expect 200 office POST "/v1/persons/$NOW_PS/state" '{"state":"vetting"}'
expect 200 office GET "/v1/persons?state=vetting&due_within=5356800&limit=1000"
check "due in 62 days" ".items | map(.pseudonym) | index(\"$NOW_PS\") != null"
expect 200 office GET "/v1/persons?state=vetting&due_within=86400&limit=1000"
check "not due tomorrow" ".items | map(.pseudonym) | index(\"$NOW_PS\") == null"
for bad_q in "state=vetting&due_within=0" "state=vetting&due_within=31536001" \
    "state=vetting&due_within=1e3" "state=vetting&due_within=-5" \
    "state=vetting&due_within=99999999999" "due_within=60" \
    "state=approved&due_within=60" \
    "state=vetting&category=volunteer&due_within=60"; do
    expect 400 office GET "/v1/persons?$bad_q" &&
        check "due_within refused: $bad_q" '.error.code == "invalid_argument"'
done

stop_server
[ "$SERVER_RC" = 0 ] && ok || bad "exit status after SIGTERM: $SERVER_RC"
