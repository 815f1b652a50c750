#!/bin/bash
# `make run`: a ready development vault on loopback. The dev vault's root
# key lives in memory only, so each run starts from a fresh store with
# generated demo data; the directory is recreated every time.
set -eu
build=${1:-build}
dir=${2:-dev-vault}
port=${3:-8443}
persons=${4:-10000}

busy() {
    echo "make run: port $port is in use; choose another with:" \
        "make run PORT=$((port + 1))" >&2
    exit 3
}

# Before anything else: a server already there (often the previous `make
# run`) would otherwise lose its dev directory to the rm below.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    busy
fi
rm -rf "$dir"
rc=0
"$build/src/coffre" server --dev --listen "127.0.0.1:$port" \
    --dev-dir "$dir" --demo-persons "$persons" || rc=$?
# 3: the address was taken (the server checks it first, and says so).
if [ "$rc" -eq 3 ]; then
    busy
fi
exit "$rc"
