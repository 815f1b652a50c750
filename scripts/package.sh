#!/bin/sh
# Build the Debian package of coffre from an already built build directory
# (docs/service.md): binaries, library, man pages from `meson install`,
# the unit, the example configuration and the maintainer scripts from
# dist/, Depends from dpkg-shlibdeps. No rebuild, no network.
# Usage: scripts/package.sh [BUILD_DIR [OUT_DIR]]   (default: build build)
# Prints the path of the .deb it wrote. COFFRE_DEB_FAST=1 compresses with
# gzip -1 instead of xz (the tests: seconds instead of a minute).
set -eu
build=${1:-build}
out=${2:-$build}
top=$(cd "$(dirname "$0")/.." && pwd)
dist="$top/dist"

[ -x "$build/src/coffre" ] || {
    echo "package.sh: $build/src/coffre not built (make, or ninja -C $build)" >&2
    exit 1
}
command -v dpkg-shlibdeps >/dev/null || {
    echo "package.sh: dpkg-shlibdeps missing (apt-get install dpkg-dev)" >&2
    exit 1
}
version=$("$build/src/coffre" --version | sed -n 's/^coffre //p')
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
stage=$(mktemp -d "${TMPDIR:-/tmp}/coffre-deb-XXXXXX")
trap 'rm -rf "$stage"' EXIT INT TERM

# What meson installs (bin/, lib/, share/man/), under whatever prefix the
# build was configured with; relocated to /usr below.
meson install -C "$build" --no-rebuild --strip --destdir "$stage/inst" \
    >"$stage/install.log"
prefix=$(find "$stage/inst" -type f -name coffre -path '*/bin/*' |
    sed 's#/bin/coffre$##')
root="$stage/debian/coffre"
install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/usr/lib/$multiarch" \
    "$root/usr/share/man/man1" "$root/usr/share/man/man5" \
    "$root/usr/share/doc/coffre" "$root/lib/systemd/system" "$root/etc/coffre"
install -m 0755 "$prefix/bin/coffre" "$prefix/bin/coffre-gate" "$root/usr/bin/"
# The runtime library only (no libcoffre.so: no headers are shipped).
for f in $(find "$prefix" -name 'libcoffre.so.*'); do
    cp -P "$f" "$root/usr/lib/$multiarch/"
done
chmod 0644 "$root/usr/lib/$multiarch"/libcoffre.so.*.*.*
for page in $(find "$prefix" -path '*/man/man[15]/*' -type f); do
    sec=$(basename "$(dirname "$page")")
    gzip -9n <"$page" >"$root/usr/share/man/$sec/$(basename "$page").gz"
done
[ -e "$root/usr/share/man/man1/coffre.1.gz" ] || {
    echo "package.sh: no man pages in $build (scdoc, -Dman=enabled)" >&2
    exit 1
}
install -m 0644 "$dist/systemd/coffre.service" "$root/lib/systemd/system/"
install -m 0644 "$dist/coffre.conf.example" "$root/etc/coffre/"
install -m 0644 "$dist/debian/copyright" "$root/usr/share/doc/coffre/"
for s in postinst prerm postrm; do
    install -m 0755 "$dist/debian/$s" "$root/DEBIAN/"
done
echo /etc/coffre/coffre.conf.example >"$root/DEBIAN/conffiles"
echo "activate-noawait ldconfig" >"$root/DEBIAN/triggers"
echo "libcoffre 0 coffre (>= $version)" >"$root/DEBIAN/shlibs"

# Depends: the packages of the shared libraries the ELF files need.
printf 'Source: coffre\n\nPackage: coffre\nArchitecture: any\n' \
    >"$stage/debian/control"
lib=$(cd "$stage" && ls debian/coffre/usr/lib/"$multiarch"/libcoffre.so.*.*.*)
if ! (cd "$stage" && dpkg-shlibdeps -O -xcoffre -edebian/coffre/usr/bin/coffre \
    -edebian/coffre/usr/bin/coffre-gate -e"$lib") >"$stage/shlibs" \
    2>"$stage/shlibdeps.err"; then
    cat "$stage/shlibdeps.err" >&2
    exit 1
fi
depends=$(sed -n 's/^shlibs:Depends=//p' "$stage/shlibs")
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
    -e "s/@DEPENDS@/$depends/" "$dist/debian/control.in" >"$root/DEBIAN/control"

mkdir -p "$out"
deb="$out/coffre_${version}_$arch.deb"
compress="-Zxz"
[ -z "${COFFRE_DEB_FAST:-}" ] || compress="-Zgzip -z1"
# shellcheck disable=SC2086
dpkg-deb --root-owner-group $compress --build "$root" "$deb" >/dev/null
echo "$deb"
