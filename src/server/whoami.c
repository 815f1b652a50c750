/*
 * GET /v1/whoami (docs/server.md): the caller's own principal, role,
 * what its role may read, whether it states a purpose, and its own guard
 * budget. Nothing about any other principal and no person: so it is
 * served sealed and to a suspended principal too (route.c), which is
 * how the console says why a clerk is stopped.
 */
#include <sodium.h>

#include "api.h"
#include "guard.h"

/* The classes ${who} may read of an unprotected and of a protected
 * record (policy.c), as arrays of class names. */
static json_t *
classes_json(unsigned mask)
{
    json_t *a = json_array();
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        if (mask & COFFRE_CLASS_BIT(c)) {
            json_array_append_new(a, json_string(coffre_class_name(c)));
        }
    }
    return a;
}

void
api_whoami(struct srv_ctx *ctx, const struct srv_req *req, struct srv_resp *r)
{
    const struct srv_principal *who = req->who;
    const struct srv_pset *ps = req->pset ? req->pset : srv_pset(ctx);
    char fp[65] = "";
    if (who->has_fingerprint) {
        sodium_bin2hex(fp, sizeof(fp), who->fingerprint, 32);
    }
    srv_json(r, 200,
             json_pack("{s:s,s:s,s:s*,s:{s:o,s:o},s:{s:b,s:I},s:o}",
                       "principal", who->name, "role", srv_role_name(who->role),
                       "fingerprint", fp[0] ? fp : NULL, "classes", "record",
                       classes_json(srv_policy_readable(who, 0)), "protected",
                       classes_json(srv_policy_readable(who, 1)), "purpose",
                       "required", who->role == SRV_ROLE_OFFICE, "max_bytes",
                       (json_int_t)SRV_PURPOSE_MAX, "guard",
                       guard_self(ps->guard, who)));
}
