#!/bin/bash
# The Debian package (issue 15), installed into this machine for real:
# scripts/package.sh builds it from the build directory under test, dpkg
# installs it, the commands run from /usr/bin, the coffre system user, its
# state directory, the man pages and the unit are there; dpkg --purge
# leaves nothing (no file of the package, no user or group, no
# /var/lib/coffre, no /etc/coffre). Cleans up on any exit.
# Skips (77) unless root, and when coffre is installed or a coffre user,
# /var/lib/coffre or /etc/coffre exists already: those are not its own.
# Usage: test_package.sh BUILD_DIR VERSION
. "$SRCDIR/tests/cli/lib.sh"
BUILD=${1:?usage: test_package.sh BUILD_DIR VERSION}
VERSION=${2:?}

# meson test points LD_LIBRARY_PATH at the build: the installed commands
# must find the installed library by themselves.
unset LD_LIBRARY_PATH
skip() { echo "skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "not root"
command -v dpkg-deb >/dev/null && command -v dpkg-shlibdeps >/dev/null ||
    skip "no dpkg-dev"
dpkg-query -W -f='${Status}' coffre 2>/dev/null | grep -q 'installed' &&
    skip "a coffre package is installed"
getent passwd coffre >/dev/null && skip "a user coffre exists"
getent group coffre >/dev/null && skip "a group coffre exists"
[ -e /var/lib/coffre ] || [ -e /etc/coffre ] && skip "/var/lib/coffre or /etc/coffre exists"

dpkg_retry() { # dpkg ARGS..., waiting up to 2 min for another's lock
    local i
    for i in $(seq 60); do
        if dpkg "$@" >"$T/dpkg.out" 2>&1; then return 0; fi
        grep -q 'lock' "$T/dpkg.out" || break
        sleep 2
    done
    sed 's/^/  | /' "$T/dpkg.out" >&2
    return 1
}
# From here on this machine is changed: put it back whatever happens.
restore() {
    if dpkg-query -W -f='${Status}' coffre 2>/dev/null | grep -q 'installed\|config-files'; then
        dpkg_retry --purge coffre || echo "test_package: purge failed" >&2
    fi
    getent passwd coffre >/dev/null && deluser --system --quiet coffre
    getent group coffre >/dev/null && delgroup --system --quiet coffre
    rm -rf /var/lib/coffre /etc/coffre
    cleanup
}
trap restore EXIT

t0=$(date +%s.%N)
deb=$(COFFRE_DEB_FAST=1 "$SRCDIR/scripts/package.sh" "$BUILD" "$T/out")
t1=$(date +%s.%N)
[ -f "$deb" ] && pass || { fail "no package built"; exit 1; }
dpkg-deb -f "$deb" Depends >"$T/depends"
for p in adduser libsodium23 libgnutls30 libmicrohttpd12 libjansson4 \
    libcsv3 libsqlite3-0 libpq5 libgfshare2 libcbor0.8 zlib1g libqrencode4; do
    grep -qE "(^|, )$p( |,|$)" "$T/depends" && pass ||
        fail "Depends lacks $p: $(cat "$T/depends")"
done
[ "$(dpkg-deb -f "$deb" Version)" = "$VERSION" ] && pass || fail "Version"
dpkg-deb -I "$deb" conffiles | grep -qx /etc/coffre/coffre.conf.example &&
    pass || fail "the example is not a conffile"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\.##; s# ->.*##' |
    grep -v '/$' >"$T/files"
for f in /usr/bin/coffre /usr/bin/coffre-gate \
    /lib/systemd/system/coffre.service /etc/coffre/coffre.conf.example \
    /usr/share/man/man1/coffre.1.gz /usr/share/man/man1/coffre-gate.1.gz \
    /usr/share/man/man5/coffre.conf.5.gz; do
    grep -qx "$f" "$T/files" && pass || fail "the package lacks $f"
done

check "dpkg -i" dpkg_retry -i "$deb"
t2=$(date +%s.%N)
got=$(/usr/bin/coffre --version 2>&1)
[ "$got" = "coffre $VERSION" ] && pass || fail "/usr/bin/coffre --version: $got"
got=$(/usr/bin/coffre-gate --version 2>&1)
[ "$got" = "coffre-gate $VERSION" ] && pass ||
    fail "/usr/bin/coffre-gate --version: $got"
lib=$(ldd /usr/bin/coffre | sed -n 's/^.*libcoffre.so.0 => \([^ ]*\) .*/\1/p')
case "$(readlink -f "${lib:-none}")" in
/usr/lib/*/libcoffre.so.$VERSION) pass ;;
*) fail "/usr/bin/coffre loads libcoffre from '${lib:-nowhere}'" ;;
esac
ldd /usr/bin/coffre /usr/bin/coffre-gate | grep 'not found' &&
    fail "a library the commands need is missing" || pass
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd coffre)
[ -n "${uid:-}" ] && [ "$uid" -lt 1000 ] && pass || fail "no system user coffre"
[ "${home:-}" = /var/lib/coffre ] && pass || fail "coffre's home: ${home:-}"
case "${shell:-}" in */nologin | /bin/false) pass ;; *) fail "shell $shell" ;; esac
[ "$(stat -c '%U:%G %a' /var/lib/coffre)" = "coffre:coffre 750" ] && pass ||
    fail "/var/lib/coffre: $(stat -c '%U:%G %a' /var/lib/coffre)"
[ "$(stat -c '%U:%G %a' /etc/coffre)" = "root:coffre 750" ] && pass ||
    fail "/etc/coffre: $(stat -c '%U:%G %a' /etc/coffre)"
got=$(runuser -u coffre -- /usr/bin/coffre --version 2>&1)
[ "$got" = "coffre $VERSION" ] && pass || fail "as coffre: $got"
check "the example config, as coffre" runuser -u coffre -- \
    /usr/bin/coffre server --check-config /etc/coffre/coffre.conf.example
[ "$(man -w coffre)" = /usr/share/man/man1/coffre.1.gz ] && pass ||
    fail "man -w coffre: $(man -w coffre 2>&1)"
MANWIDTH=80 man 5 coffre.conf 2>/dev/null | grep -q retention_sweep_seconds &&
    pass || fail "man 5 coffre.conf does not render"
man -w coffre-gate >/dev/null 2>&1 && pass || fail "man coffre-gate"
# The installed unit, as systemd will read it: binaries and man pages real.
systemd-analyze verify /lib/systemd/system/coffre.service >"$T/verify" 2>&1 &&
    [ ! -s "$T/verify" ] && pass ||
    { fail "verify of the installed unit"; cat "$T/verify" >&2; }

# Something of the service's own in its state dir, as a vault would be.
runuser -u coffre -- mkdir /var/lib/coffre/vault
cp /etc/coffre/coffre.conf.example /etc/coffre/coffre.conf
check "dpkg --purge" dpkg_retry --purge coffre
t3=$(date +%s.%N)
left=0
while read -r f; do
    if [ -e "$f" ] || [ -L "$f" ]; then fail "left after purge: $f"; left=1; fi
done <"$T/files"
[ "$left" -eq 0 ] && pass
getent passwd coffre >/dev/null && fail "user coffre left" || pass
getent group coffre >/dev/null && fail "group coffre left" || pass
[ -e /var/lib/coffre ] && fail "/var/lib/coffre left" || pass
[ -e /etc/coffre ] && fail "/etc/coffre left" || pass
dpkg-query -W -f='${Status}' coffre 2>/dev/null | grep -q . &&
    fail "dpkg still knows coffre: $(dpkg-query -W -f='${Status}' coffre)" ||
    pass
printf 'package %.1f s, install and checks %.1f s, purge %.1f s\n' \
    "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" \
    "$(echo "$t3 - $t2" | bc)"
finish
