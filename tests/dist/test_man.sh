#!/bin/bash
# The man pages (issue 15) are built and cannot silently drift:
# - coffre(1) has a section for every command `coffre --help` lists, and
#   names every option each command's --help names;
# - coffre-gate(1) names each command and option of coffre-gate's usage;
# - coffre.conf(5) names every key the server accepts, found by asking the
#   server itself (--check-config) about each name its parsers spell.
# Usage: test_man.sh COFFRE_GATE MAN_BUILD_DIR
. "$SRCDIR/tests/cli/lib.sh"
GATE=${1:?usage: test_man.sh COFFRE_GATE MAN_BUILD_DIR}
MAND=${2:?}

render() { # the page as plain ASCII text, one paragraph a line
    MANWIDTH=1000 man -E ascii -l "$1" 2>/dev/null | col -b
}
for p in coffre.1 coffre-gate.1 coffre.conf.5; do
    if [ -s "$MAND/$p" ] && render "$MAND/$p" >"$T/$p.txt" &&
        grep -q '^NAME' "$T/$p.txt"; then pass; else
        fail "$p: not built or does not render"; fi
done
has_word() { # has_word FILE WORD: WORD, not inside a longer name
    grep -qE -- "(^|[^A-Za-z0-9_-])$2([^A-Za-z0-9_-]|$)" "$1"
}

# coffre(1): a section per command, every option of its --help.
cmds=$("$COFFRE" --help | awk '/^commands:/ {on = 1; next}
    on && /^  [a-z]/ {print $1} on && /^$/ {on = 0}')
[ "$(echo "$cmds" | wc -w)" -ge 17 ] && pass || fail "coffre --help: $cmds"
for c in $cmds; do
    if grep -qx "   $c" "$T/coffre.1.txt"; then pass; else
        fail "coffre(1) has no section for command '$c'"; fi
    for o in $("$COFFRE" "$c" --help 2>&1 | grep -oE -- '--[a-z0-9-]+' |
        sort -u); do
        has_word "$T/coffre.1.txt" "$o" && pass ||
            fail "coffre(1) does not name '$c $o'"
    done
done

# coffre-gate(1): its usage's commands and options.
"$GATE" >"$T/gate-usage" 2>&1
for c in init sync verify; do
    grep -qE "^  $c " "$T/gate-usage" || fail "coffre-gate usage lacks $c"
    has_word "$T/coffre-gate.1.txt" "$c" && pass ||
        fail "coffre-gate(1) does not name '$c'"
done
for o in $(grep -ohE -- '--[a-z0-9-]+' "$T/gate-usage" | sort -u); do
    has_word "$T/coffre-gate.1.txt" "$o" && pass ||
        fail "coffre-gate(1) does not name '$o'"
done

# coffre.conf(5): every key the server accepts. Candidates: each name the
# configuration parsers spell. One the page names is fine; one it does not
# name must not be a key: the server's answer about it, in every place a
# key can be, is "unknown key".
base='"data_dir":"/d","tls_cert":"/c","tls_key":"/k","client_ca":"/a"'
probe() { # probe KEY: the first context in which the server takes KEY
    local k=$1
    printf '{%s,"%s":null}' "$base" "$k" >"$T/p.top"
    printf '{%s,"principals":[{"name":"p","role":"admin","subject":"CN=p",'\
'"%s":null}]}' "$base" "$k" >"$T/p.principal"
    printf '{%s,"guard":{"%s":null}}' "$base" "$k" >"$T/p.guard"
    printf '{%s,"guard":{"roles":{"office":{"%s":null}}}}' "$base" "$k" \
        >"$T/p.limits"
    printf '{%s,"guard":{"poison":{"%s":null}}}' "$base" "$k" >"$T/p.poison"
    for ctx in top principal guard limits poison; do
        "$COFFRE" server --check-config "$T/p.$ctx" >/dev/null 2>"$T/p.err"
        if ! grep -q "unknown key" "$T/p.err"; then
            echo "$ctx"
            return
        fi
    done
}
# The probe itself: a key of each place is found there, a non-key nowhere.
for kc in listen:top fingerprint:principal state_file:guard \
    bulk_window:limits custodian_file:poison; do
    got=$(probe "${kc%%:*}")
    [ "$got" = "${kc#*:}" ] && pass || fail "probe ${kc%%:*}: '$got'"
done
[ -z "$(probe no_such_key_x)" ] && pass || fail "probe takes a non-key"
named=0
for k in $(grep -ohE '"[a-z][a-z0-9_]*"' "$SRCDIR/src/server/config.c" \
    "$SRCDIR/src/server/guard_config.c" | tr -d '"' | sort -u); do
    if has_word "$T/coffre.conf.5.txt" "$k"; then
        named=$((named + 1))
        continue
    fi
    ctx=$(probe "$k")
    [ -z "$ctx" ] && pass || fail "coffre.conf(5) does not name key '$k' ($ctx)"
done
echo "$named names of the configuration parsers are in coffre.conf(5)"
finish
