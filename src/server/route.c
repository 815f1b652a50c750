/* The route table, path matching and the JSON error form. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "server.h"

/*
 * docs/openapi.yaml describes exactly these; tests/server checks it.
 * Besides method and path, each route says, in one place for every path:
 * - whether it is served while the vault is sealed (or unsealed under a
 *   policy not accepted yet): only what shows the seal state, unseals,
 *   watches the server, or is the console's static files;
 * - whether a principal the guard suspended is still served: only what
 *   holds no data but the caller's own (the console's files, whoami);
 * - its audit action, NULL when it makes no entry. The vault's audit hook
 *   (srv_vault_hook, audit.c) refuses every disclosure and write made
 *   while serving a route without one, so a route that forgets its
 *   action can neither read nor change anything.
 * tests/server/test_server_unit.c checks the table's invariants.
 */
const struct srv_route srv_routes[R__COUNT] = {
    [R_HEALTH] = {"GET", "/v1/sys/health", 1, NULL, 0},
    [R_SEAL_STATUS] = {"GET", "/v1/sys/seal-status", 1, NULL, 0},
    /* The unseal steps before the threshold make no entry (no log yet). */
    [R_UNSEAL] = {"POST", "/v1/sys/unseal", 1, "seal.unseal", 0},
    [R_METRICS] = {"GET", "/metrics", 1, NULL, 0},
    [R_STATS] = {"GET", "/v1/sys/stats", 0, NULL, 0},
    [R_PERSONS_POST] = {"POST", "/v1/persons", 0, "person.create", 0},
    /* Or "person.search" when the list is a search (lists.c). */
    [R_PERSONS_LIST] = {"GET", "/v1/persons", 0, "person.list", 0},
    [R_PERSON_GET] = {"GET", "/v1/persons/{pseudonym}", 0, "person.read", 0},
    [R_PERSON_PATCH] = {"PATCH", "/v1/persons/{pseudonym}", 0, "person.update",
                        0},
    [R_PERSON_DELETE] = {"DELETE", "/v1/persons/{pseudonym}", 0, "person.erase",
                         0},
    [R_PERSON_STATE] = {"POST", "/v1/persons/{pseudonym}/state", 0,
                        "person.state", 0},
    [R_VETTING_PENDING] = {"GET", "/v1/vetting/pending", 0, "vetting.pending",
                           0},
    [R_VETTING_VERDICT] = {"POST", "/v1/vetting/{pseudonym}/verdict", 0,
                           "vetting.verdict", 0},
    /* Reading the log makes no entry: it would grow with every check. */
    [R_AUDIT_KEY] = {"GET", "/v1/audit/key", 0, NULL, 0},
    [R_AUDIT_CHECKPOINT] = {"GET", "/v1/audit/checkpoint", 0, NULL, 0},
    [R_AUDIT_INCLUSION] = {"GET", "/v1/audit/proof/inclusion", 0, NULL, 0},
    [R_AUDIT_CONSISTENCY] = {"GET", "/v1/audit/proof/consistency", 0, NULL, 0},
    [R_AUDIT_ENTRIES] = {"GET", "/v1/audit/entries", 0, NULL, 0},
    /* The entry's pseudonym field holds the approval id (approval.c). */
    [R_APPROVAL_CREATE] = {"POST", "/v1/approvals", 0, "approval.request", 0},
    [R_APPROVAL_GET] = {"GET", "/v1/approvals/{id}", 0, NULL, 0},
    [R_APPROVAL_APPROVE] = {"POST", "/v1/approvals/{id}/approve", 0,
                            "approval.approve", 0},
    /* The entry's pseudonym field holds the receipt id. */
    [R_RETENTION_SWEEP] = {"POST", "/v1/retention/sweep", 0, "retention.sweep",
                           0},
    [R_EPOCH_DESTROY] = {"POST", "/v1/retention/epochs/{epoch}/destroy", 0,
                         "retention.epoch_destroy", 0},
    [R_RECEIPT_GET] = {"GET", "/v1/receipts/{id}", 0, NULL, 0},
    [R_RECEIPT_KEY] = {"GET", "/v1/receipts/key", 0, NULL, 0},
    [R_SUBJECT_ACCESS] = {"GET", "/v1/persons/{pseudonym}/subject-access", 0,
                          "person.subject_access", 0},
    /* The guard's state is watched while sealed; it changes only with the
     * vault unsealed under its pinned policy, audited. */
    [R_GUARD_STATUS] = {"GET", "/v1/guard/status", 1, NULL, 0},
    [R_GUARD_REINSTATE] = {"POST", "/v1/guard/reinstate", 0, "guard.reinstate",
                           0},
    [R_BADGE_ISSUE] = {"POST", "/v1/badges/{pseudonym}", 0, "badge.issue", 0},
    [R_BADGE_TRUST] = {"GET", "/v1/badges/trust-list", 0, NULL, 0},
    [R_BADGE_REVOCATIONS] = {"GET", "/v1/badges/revocations", 0, NULL, 0},
    [R_BADGE_LIST_KEY] = {"GET", "/v1/badges/list-key", 0, NULL, 0},
    [R_BADGE_ROTATE] = {"POST", "/v1/badges/keys/rotate", 0, "badge.rotate", 0},
    /* Sealing forgets the keys: an act of a custodian, audited. */
    [R_SEAL] = {"POST", "/v1/sys/seal", 0, "seal.seal", 0},
    [R_APPROVAL_LIST] = {"GET", "/v1/approvals", 0, NULL, 0},
    /* The console's static files (console.c): no data, so served sealed
     * too, where custodians unseal from it; no entry, like health. Served
     * to a suspended principal as well, with whoami, so that the page
     * can say why: neither holds anything but the caller's own state. */
    [R_CONSOLE] = {"GET", "/console/", 1, NULL, 1},
    [R_CONSOLE_ASSET] = {"GET", "/console/{asset}", 1, NULL, 1},
    [R_WHOAMI] = {"GET", "/v1/whoami", 1, NULL, 1},
};

const char *
srv_route_action(size_t route)
{
    return route < R__COUNT ? srv_routes[route].action : NULL;
}

const char *const srv_route_labels[R__COUNT] = {
    [R_HEALTH] = "GET /v1/sys/health",
    [R_SEAL_STATUS] = "GET /v1/sys/seal-status",
    [R_UNSEAL] = "POST /v1/sys/unseal",
    [R_METRICS] = "GET /metrics",
    [R_STATS] = "GET /v1/sys/stats",
    [R_PERSONS_POST] = "POST /v1/persons",
    [R_PERSONS_LIST] = "GET /v1/persons",
    [R_PERSON_GET] = "GET /v1/persons/{pseudonym}",
    [R_PERSON_PATCH] = "PATCH /v1/persons/{pseudonym}",
    [R_PERSON_DELETE] = "DELETE /v1/persons/{pseudonym}",
    [R_PERSON_STATE] = "POST /v1/persons/{pseudonym}/state",
    [R_VETTING_PENDING] = "GET /v1/vetting/pending",
    [R_VETTING_VERDICT] = "POST /v1/vetting/{pseudonym}/verdict",
    [R_AUDIT_KEY] = "GET /v1/audit/key",
    [R_AUDIT_CHECKPOINT] = "GET /v1/audit/checkpoint",
    [R_AUDIT_INCLUSION] = "GET /v1/audit/proof/inclusion",
    [R_AUDIT_CONSISTENCY] = "GET /v1/audit/proof/consistency",
    [R_AUDIT_ENTRIES] = "GET /v1/audit/entries",
    [R_APPROVAL_CREATE] = "POST /v1/approvals",
    [R_APPROVAL_GET] = "GET /v1/approvals/{id}",
    [R_APPROVAL_APPROVE] = "POST /v1/approvals/{id}/approve",
    [R_RETENTION_SWEEP] = "POST /v1/retention/sweep",
    [R_EPOCH_DESTROY] = "POST /v1/retention/epochs/{epoch}/destroy",
    [R_RECEIPT_GET] = "GET /v1/receipts/{id}",
    [R_RECEIPT_KEY] = "GET /v1/receipts/key",
    [R_SUBJECT_ACCESS] = "GET /v1/persons/{pseudonym}/subject-access",
    [R_GUARD_STATUS] = "GET /v1/guard/status",
    [R_GUARD_REINSTATE] = "POST /v1/guard/reinstate",
    [R_BADGE_ISSUE] = "POST /v1/badges/{pseudonym}",
    [R_BADGE_TRUST] = "GET /v1/badges/trust-list",
    [R_BADGE_REVOCATIONS] = "GET /v1/badges/revocations",
    [R_BADGE_LIST_KEY] = "GET /v1/badges/list-key",
    [R_BADGE_ROTATE] = "POST /v1/badges/keys/rotate",
    [R_SEAL] = "POST /v1/sys/seal",
    [R_APPROVAL_LIST] = "GET /v1/approvals",
    [R_CONSOLE] = "GET /console/",
    [R_CONSOLE_ASSET] = "GET /console/{asset}",
    [R_WHOAMI] = "GET /v1/whoami",
};

/* A pseudonym segment: exactly 43 base64url characters. Anything else in
 * its place is no route at all, so that path tricks ("..", "%2e", empty
 * segments) can only ever miss. */
static int
pseudonym_ok(const char *s, size_t n)
{
    if (n != COFFRE_PSEUDONYM_LEN) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_')) {
            return 0;
        }
    }
    return 1;
}

/* An epoch segment: 1 to 10 decimal digits. */
static int
epoch_ok(const char *s, size_t n)
{
    if (n == 0 || n > 10) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* An asset segment (a console file's name, console.c): 1 to 43 of
 * [a-z0-9._-], starting with a letter or digit, so never "." or "..". */
static int
asset_ok(const char *s, size_t n)
{
    if (n == 0 || n > COFFRE_PSEUDONYM_LEN ||
        !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9'))) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

/* Does the segment ${s} (${n} bytes) fit the parameter ${tpl} names? */
static int
param_ok(const char *tpl, const char *s, size_t n)
{
    static const char ep[] = "{epoch}", as[] = "{asset}";
    if (strncmp(tpl, ep, sizeof(ep) - 1) == 0) {
        return epoch_ok(s, n);
    }
    if (strncmp(tpl, as, sizeof(as) - 1) == 0) {
        return asset_ok(s, n);
    }
    return pseudonym_ok(s, n);
}

/* Match ${path} against template ${tpl}, segment by segment. "{epoch}"
 * is digits; "{asset}" a console file's name; "{pseudonym}" and "{id}"
 * (approvals, receipts: 32 bytes in base64url too) are 43 base64url
 * characters. */
static int
path_match(const char *tpl, const char *path,
           char param[COFFRE_PSEUDONYM_LEN + 1])
{
    while (*tpl != '\0') {
        if (*tpl == '{') {
            size_t n = strcspn(path, "/");
            if (!param_ok(tpl, path, n)) {
                return 0;
            }
            memcpy(param, path, n);
            param[n] = '\0';
            path += n;
            tpl += strcspn(tpl, "}") + 1;
        } else if (*tpl++ != *path++) {
            return 0;
        }
    }
    return *path == '\0';
}

size_t
srv_route_match(const char *method, const char *path,
                char param[COFFRE_PSEUDONYM_LEN + 1], unsigned *pstatus)
{
    int path_known = 0;
    param[0] = '\0';
    for (size_t r = 0; r < R__COUNT; r++) {
        if (path_match(srv_routes[r].path, path, param)) {
            path_known = 1;
            if (strcmp(method, srv_routes[r].method) == 0) {
                *pstatus = 200;
                return r;
            }
        }
    }
    *pstatus = path_known ? 405 : 404;
    return R__COUNT;
}

const char *
srv_route_allow(const char *path)
{
    static const char *const allows[] = {"GET", "POST", "GET, POST",
                                         "GET, PATCH, DELETE"};
    char param[COFFRE_PSEUDONYM_LEN + 1];
    int get = 0, post = 0, patch = 0;
    for (size_t r = 0; r < R__COUNT; r++) {
        if (path_match(srv_routes[r].path, path, param)) {
            get |= strcmp(srv_routes[r].method, "GET") == 0;
            post |= strcmp(srv_routes[r].method, "POST") == 0;
            patch |= strcmp(srv_routes[r].method, "PATCH") == 0;
        }
    }
    if (patch) {
        return allows[3];
    }
    return get && post ? allows[2] : post ? allows[1] : allows[0];
}

void
srv_jfree(void *p)
{
    json_malloc_t m;
    json_free_t f;
    json_get_alloc_funcs(&m, &f);
    f(p);
}

void
srv_resp_free(struct srv_resp *r)
{
    if (r->body != NULL) {
        sodium_memzero(r->body, strlen(r->body));
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
    }
}

void
srv_json(struct srv_resp *r, unsigned status, json_t *obj)
{
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    srv_resp_free(r);
    r->body = s ? strdup(s) : NULL;
    srv_jfree(s);
    json_decref(obj);
    r->status = status;
    r->ctype = "application/json";
    if (r->body == NULL) {
        r->status = 500;
        r->body = strdup("{\"error\":{\"code\":\"internal\","
                         "\"message\":\"out of memory\"}}");
    }
}

void
srv_error(struct srv_resp *r, unsigned status, const char *code,
          const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* A message may quote a key the client sent: json_pack escapes it, and
     * an invalid UTF-8 quote would make it fail, hence the fallback. */
    if (!srv_utf8_valid(msg, strlen(msg))) {
        snprintf(msg, sizeof(msg), "%s", code);
    }
    srv_json(r, status,
             json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
    r->code = code; /* the audit entry's outcome */
}

const char *
srv_query(const struct srv_req *req, const char *key)
{
    for (size_t i = 0; i < req->nquery; i++) {
        if (strcmp(req->query[i].key, key) == 0) {
            return req->query[i].value;
        }
    }
    return NULL;
}

/* Length of the UTF-8 sequence led by ${c}, 0 if ${c} cannot lead. */
static size_t
utf8_len(unsigned char c)
{
    if (c < 0x80) {
        return c != 0;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        return 2;
    }
    if (c >= 0xe0 && c <= 0xef) {
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        return 4;
    }
    return 0;
}

int
srv_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_len(p[i]);
        if (k == 0 || n - i < k) {
            return 0;
        }
        for (size_t j = 1; j < k; j++) {
            if ((p[i + j] & 0xc0) != 0x80) {
                return 0;
            }
        }
        /* overlongs, surrogates and code points past U+10FFFF */
        if ((p[i] == 0xe0 && p[i + 1] < 0xa0) ||
            (p[i] == 0xed && p[i + 1] > 0x9f) ||
            (p[i] == 0xf0 && p[i + 1] < 0x90) ||
            (p[i] == 0xf4 && p[i + 1] > 0x8f)) {
            return 0;
        }
        i += k;
    }
    return 1;
}
