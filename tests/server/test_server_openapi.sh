#!/bin/bash
# docs/openapi.yaml describes exactly the routes the server serves
# (`coffre server --list-routes`), no more, no fewer. That every route of
# the document is exercised is checked at the end of test_server_api.sh,
# from the server's own request counters.
set -u
COFFRE=${COFFRE:?}
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
doc=$(python3 "$SRCDIR/tests/server/openapi_routes.py" "$SRCDIR/docs/openapi.yaml")
served=$("$COFFRE" server --list-routes | sort)
if [ "$doc" != "$served" ]; then
    echo "routes differ (< served, > documented):"
    diff <(echo "$served") <(echo "$doc")
    echo "0 passed, 1 failed"
    exit 1
fi
python3 - "$SRCDIR/docs/openapi.yaml" <<'PY' || { echo "0 passed, 1 failed"; exit 1; }
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
assert doc["openapi"].startswith("3.1"), "not OpenAPI 3.1"
for path, ops in doc["paths"].items():
    for m, op in ops.items():
        if m == "parameters":
            continue
        assert "responses" in op, f"{m} {path}: no responses"
        for code, r in op["responses"].items():
            if int(code) >= 400:
                ref = r.get("$ref", "")
                assert ref.startswith("#/components/responses/"), f"{m} {path} {code}"
PY
echo "$(echo "$served" | wc -l) routes documented; 1 passed, 0 failed"
