#!/bin/bash
# docs/openapi.yaml passes Redocly's linter (recommended rules, the one
# exception in tests/dist/openapi/redocly.yaml) with no error; warnings are
# printed, not counted. @redocly/cli is pinned by package-lock.json and
# installed under the build directory (npm ci), as tests/console does with
# puppeteer-core. Skipped (77) only when node or npm is missing.
# usage: test_openapi_lint.sh NODE_DIR
set -u
NODE_DIR=${1:?usage: test_openapi_lint.sh NODE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
SRCDIR=${SRCDIR:-$(cd "$here/../.." && pwd)}
for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "$tool not installed: skipping"; exit 77; }
done
if [ ! -x "$NODE_DIR/node_modules/.bin/redocly" ] ||
    ! cmp -s "$here/openapi/package-lock.json" "$NODE_DIR/package-lock.json"; then
    mkdir -p "$NODE_DIR"
    cp "$here/openapi/package.json" "$here/openapi/package-lock.json" "$NODE_DIR/"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) || exit 1
fi
# No telemetry, no update check: the lint is the only thing it does.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
"$NODE_DIR/node_modules/.bin/redocly" lint --format stylish \
    --config "$here/openapi/redocly.yaml" "$SRCDIR/docs/openapi.yaml"
rc=$?
[ $rc -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $rc
