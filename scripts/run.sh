#!/bin/sh
# `make run`: a ready development vault on loopback. The dev vault's root
# key lives in memory only, so each run starts from a fresh store with
# generated demo data; the directory is recreated every time.
set -eu
build=${1:-build}
dir=${2:-dev-vault}
port=${3:-8443}
persons=${4:-10000}
rm -rf "$dir"
exec "$build/src/coffre" server --dev --listen "127.0.0.1:$port" \
    --dev-dir "$dir" --demo-persons "$persons"
