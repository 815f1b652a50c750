#!/bin/sh
# Install the Debian 12 packages coffre needs, only those missing.
# Idempotent: a machine that has everything runs no apt-get at all.
# Usage: scripts/deps.sh [build|test|all]   (default: all)
set -eu

BUILD="meson ninja-build pkg-config gcc libsodium-dev libgnutls28-dev
libmicrohttpd-dev libjansson-dev libcsv-dev libsqlite3-dev libpq-dev
libgfshare-dev libcbor-dev zlib1g-dev libqrencode-dev libzbar-dev
libpng-dev libcurl4-gnutls-dev libp11-kit-dev libsystemd-dev libutf8proc-dev"
TEST="clang libclang-rt-14-dev llvm curl gnutls-bin sqlite3 postgresql-15
zbar-tools softhsm2 p11-kit prometheus util-linux iproute2 jq bc python3
chromium libnss3-tools openssl nodejs"
# Debian's npm package conflicts with a nodejs that carries its own npm
# (NodeSource's): ask for it only when there is no npm command.
command -v npm >/dev/null 2>&1 || TEST="$TEST npm"
# Man pages (scdoc) and the package (scripts/package.sh: dpkg-shlibdeps);
# the checks of tests/dist: man, systemd-analyze, adduser in postinst.
BUILD="$BUILD scdoc dpkg-dev"
TEST="$TEST man-db systemd adduser"

case "${1:-all}" in
build) WANT="$BUILD" ;;
test | all) WANT="$BUILD $TEST" ;;
*) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=""
for p in $WANT; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "coffre: missing Debian packages:$missing" >&2
    echo "coffre: run as root, or install them with apt-get" >&2
    exit 1
fi
echo "coffre: installing missing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; refresh them once.
apt-get update -qq
# policy-rc.d keeps the postgresql package from starting a default cluster
# we would neither use nor stop.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
