#!/bin/sh
# Badge benchmark: verifications per second per core, badge string to
# decision, beside libsodium's bare crypto_sign_verify_detached on the same
# signed bytes, in the same run; and the QR version (level Q) of 1,000
# generated badges. Usage: bench/badge.sh [BUILD_DIR] (an optimised build
# without sanitizers gives meaningful rates).
set -eu
build=${1:-build}
out=$("$build/bench/badge/bench_badge" 1000 2000)
get() { echo "$out" | awk -v k="$1" '$1 == k { print $2 }'; }
cat <<TABLE
| measure | value |
|---|---|
| gate verify, string to decision (per s, one core) | $(get gate_verify_per_s) |
| bare crypto_sign_verify_detached, same bytes (per s) | $(get bare_ed25519_per_s) |
| ratio (target >= 0.8) | $(get ratio) |
| QR version at level Q, median of $(get badges) badges (target <= 10) | $(get qr_version_median) |
| QR version, maximum | $(get qr_version_max) |
TABLE
