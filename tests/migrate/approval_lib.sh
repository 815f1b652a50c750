# Sourced by the migration tests (after tests/cli/lib.sh): the custodians
# grant a bulk_export approval the honest way, through the server on the
# vault's own data directory, each with its own client certificate
# (docs/approvals.md). One operator holding the shares cannot make one.
#
# grant_export DATA SHARES_DIR TTL SCOPE...: starts `coffre server
# --config` on DATA (certificates from a throwaway dev server, no poison
# records, approvals living TTL seconds), unseals it with three shares,
# one from each custodian; per SCOPE office asks for bulk_export,
# custodian and custodian2 approve; the server stops. Sets $APPROVALS (the ids, in order) and $APPROVAL
# (the first). SHARES_DIR must hold share-1.txt .. share-3.txt. The TTL
# is part of the policy the vault pins (docs/approvals.md section 6): use
# one TTL per vault.

# gx_port: a free loopback port
gx_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# gx_req WHO METHOD PATH [BODY]: $GX_STATUS and $GX_BODY
gx_req() {
    local args=(-s -o "$T/gx.body" -w '%{http_code}' --cacert "$GX/ca.pem"
        --cert "$GX/$1.pem" --key "$GX/$1.key" -X "$2")
    [ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
    GX_STATUS=$(curl "${args[@]}" "https://127.0.0.1:$GX_PORT$3")
    GX_BODY=$(cat "$T/gx.body" 2>/dev/null)
}

# gx_wait: the server at $GX_PORT answers health
gx_wait() {
    local i
    for i in $(seq 1 300); do
        if [ -f "$GX/admin.key" ] && curl -s -o /dev/null --cacert "$GX/ca.pem" \
            --cert "$GX/admin.pem" --key "$GX/admin.key" \
            "https://127.0.0.1:$GX_PORT/v1/sys/health"; then
            return 0
        fi
        kill -0 "$GX_PID" 2>/dev/null || { cat "$T/gx.log" >&2; return 1; }
        sleep 0.2
    done
    return 1
}

gx_stop() {
    kill -TERM "$GX_PID" 2>/dev/null
    wait "$GX_PID" 2>/dev/null
}

gx_certs() { # once: the certificates of a dev server, which then stops
    [ -f "$T/gx/server.json" ] && return 0
    GX=$T/gx GX_PORT=$(gx_port)
    "$COFFRE" server --dev --listen "127.0.0.1:$GX_PORT" --dev-dir "$GX" \
        --demo-persons 0 >"$T/gx.log" 2>&1 &
    GX_PID=$!
    gx_wait || return 1
    gx_stop
}

# gx_grant SCOPE: one granted approval, its id appended to $APPROVALS
gx_grant() {
    local id
    gx_req office POST /v1/approvals \
        "$(jq -nc --arg s "$1" '{operation: "bulk_export", scope: $s}')"
    id=$(echo "$GX_BODY" | jq -r '.id // empty')
    gx_req custodian POST "/v1/approvals/$id/approve"
    gx_req custodian2 POST "/v1/approvals/$id/approve"
    echo "$GX_BODY" | jq -e '.state == "granted"' >/dev/null ||
        { echo "grant_export: $GX_STATUS $GX_BODY" >&2; return 1; }
    APPROVALS+=("$id")
}

grant_export() {
    local data=$1 shares=$2 ttl=$3 k c rc=0
    shift 3
    APPROVALS=() APPROVAL=
    chmod 755 "$T" # started as root, the server drops to nobody
    gx_certs || { echo "grant_export: no dev server" >&2; return 1; }
    GX_PORT=$(gx_port)
    # The vault's own audit log, the one its command-line writes went to:
    # a second log would not agree with the store (docs/audit.md 13).
    jq --arg d "$data" --arg l "127.0.0.1:$GX_PORT" --arg a "$data/audit" \
        --argjson t "$ttl" \
        '.data_dir = $d | .listen = $l | .audit_dir = $a |
         .approval_ttl_seconds = $t | .guard = {poison: {count: 0}}' \
        "$GX/server.json" >"$T/gx.json"
    "$COFFRE" server --config "$T/gx.json" >"$T/gx.log" 2>&1 &
    GX_PID=$!
    gx_wait || { echo "grant_export: server not ready" >&2; return 1; }
    for k in 1 2 3; do # one share per custodian (docs/keys.md)
        c=custodian
        [ "$k" -gt 1 ] && c=custodian$k
        gx_req "$c" POST /v1/sys/unseal \
            "$(jq -Rs '{share: .}' "$shares/share-$k.txt")"
    done
    for k in "$@"; do
        gx_grant "$k" || rc=1
    done
    gx_stop
    APPROVAL=${APPROVALS[0]-}
    return $rc
}
