/*
 * Custodian approvals over HTTPS (docs/approvals.md): request, approve,
 * status, and their use by the operations they gate. The approvals
 * themselves are the vault's (coffre/approval.h): a restart neither loses
 * nor replays one. The custodians are the principals of role custodian;
 * cfg->approvals_required of them must approve, each once. One requester
 * has at most cfg->approval_pending_max requests pending, so that it
 * cannot take the COFFRE_APPROVAL_KEEP slots of all.
 *
 * A bulk_read approval (scope "PRINCIPAL:EXTRA") is used the moment it is
 * granted: it raises PRINCIPAL's person quota by EXTRA until it expires
 * (srv_approval_quota_bonus, for the guard's quotas).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "approval.h"

int
srv_approvals_new(struct srv_ctx *ctx)
{
    ctx->approvals = calloc(1, sizeof(*ctx->approvals));
    if (ctx->approvals == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    pthread_mutex_init(&ctx->approvals->lock, NULL);
    return COFFRE_OK;
}

void
srv_approvals_free(struct srv_ctx *ctx)
{
    if (ctx->approvals != NULL) {
        pthread_mutex_destroy(&ctx->approvals->lock);
        free(ctx->approvals);
        ctx->approvals = NULL;
    }
}

/* "PRINCIPAL:EXTRA" to its parts; 0 on success. */
static int
bulk_read_scope(const char *scope, char name[SRV_NAME_MAX + 1],
                uint64_t *pextra)
{
    const char *colon = strrchr(scope, ':');
    char *end = NULL;
    size_t n = colon ? (size_t)(colon - scope) : 0;
    if (n == 0 || n > SRV_NAME_MAX || colon[1] < '1' || colon[1] > '9') {
        return -1;
    }
    unsigned long long x = strtoull(colon + 1, &end, 10);
    if (*end != '\0' || x > 10000000ULL) {
        return -1;
    }
    memcpy(name, scope, n);
    name[n] = '\0';
    *pextra = (uint64_t)x;
    return 0;
}

/* Lock held: remember the bonus of a used bulk_read approval. */
static void
bonus_add(struct srv_approvals *s, const struct coffre_approval *a)
{
    char name[SRV_NAME_MAX + 1];
    uint64_t extra = 0;
    if (bulk_read_scope(a->scope, name, &extra) != 0) {
        return;
    }
    int64_t now = (int64_t)time(NULL);
    size_t k = 0;
    for (size_t i = 0; i < s->nbonus; i++) { /* drop the expired */
        if (s->bonus[i].expires > now) {
            s->bonus[k++] = s->bonus[i];
        }
    }
    s->nbonus = k;
    if (k < SRV_BONUS_MAX && a->expires > now) {
        memcpy(s->bonus[k].principal, name, sizeof(name));
        s->bonus[k].extra = extra;
        s->bonus[k].expires = a->expires;
        s->nbonus++;
    }
}

/* Lock held: rebuild the bonuses from the vault once it is unsealed. */
static void
bonus_load(struct srv_ctx *ctx)
{
    struct srv_approvals *s = ctx->approvals;
    struct coffre_approval *all;
    size_t n = 0;
    if (s->loaded || coffre_vault_is_sealed(ctx->vault)) {
        return;
    }
    all = calloc(COFFRE_APPROVAL_KEEP, sizeof(*all));
    if (all != NULL &&
        coffre_vault_approval_list(ctx->vault, all, COFFRE_APPROVAL_KEEP, &n) ==
            COFFRE_OK) {
        s->loaded = 1;
        for (size_t i = 0; i < n && i < COFFRE_APPROVAL_KEEP; i++) {
            if (strcmp(all[i].operation, SRV_OP_BULK_READ) == 0 &&
                all[i].used_at != 0) {
                bonus_add(s, &all[i]);
            }
        }
    }
    free(all);
}

uint64_t
srv_approval_quota_bonus(struct srv_ctx *ctx, const char *principal,
                         int64_t *pexpires)
{
    struct srv_approvals *s = ctx->approvals;
    int64_t now = (int64_t)time(NULL), last = 0;
    uint64_t extra = 0;
    if (pexpires != NULL) {
        *pexpires = 0;
    }
    if (s == NULL || principal == NULL) {
        return 0;
    }
    pthread_mutex_lock(&s->lock);
    bonus_load(ctx);
    for (size_t i = 0; i < s->nbonus; i++) {
        if (s->bonus[i].expires > now &&
            strcmp(s->bonus[i].principal, principal) == 0) {
            extra += s->bonus[i].extra;
            last = s->bonus[i].expires > last ? s->bonus[i].expires : last;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (pexpires != NULL) {
        *pexpires = last;
    }
    return extra;
}

static json_t *
approval_json(const struct coffre_approval *a)
{
    json_t *ap = json_array();
    for (unsigned i = 0; ap != NULL && i < a->napprovers; i++) {
        json_array_append_new(ap, json_string(a->approvers[i]));
    }
    json_t *o = json_pack(
        "{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:o*,s:s}", "id", a->id, "operation",
        a->operation, "scope", a->scope, "requested_by", a->requested_by,
        "created", (json_int_t)a->created, "expires", (json_int_t)a->expires,
        "need", (json_int_t)a->need, "approvers", ap, "state",
        coffre_approval_state_name(
            coffre_approval_state(a, (int64_t)time(NULL))));
    if (o != NULL && a->used_at != 0) {
        json_object_set_new(o, "used_at", json_integer(a->used_at));
        json_object_set_new(o, "used_by", json_string(a->used_by));
    }
    return o;
}

static int
all_digits(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    return n >= min && n <= max && strspn(s, "0123456789") == n;
}

static const struct srv_principal *
principal_named(const struct srv_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nprincipals; i++) {
        if (strcmp(cfg->principals[i].name, name) == 0) {
            return &cfg->principals[i];
        }
    }
    return NULL;
}

/* A bulk_read names a principal of the running policy, which is the
 * pinned one while unsealed: a grant for a name the policy lacks would
 * lie in wait for the principal a later policy change adds. 0, or -1
 * with the answer. */
static int
scope_principal_known(const struct srv_config *cfg, const char *op,
                      const char *scope, struct srv_resp *r)
{
    char name[SRV_NAME_MAX + 1];
    uint64_t extra;
    if (strcmp(op, SRV_OP_BULK_READ) != 0 ||
        bulk_read_scope(scope, name, &extra) != 0 ||
        principal_named(cfg, name) != NULL) {
        return 0;
    }
    srv_error(r, 400, "unknown_principal",
              "scope: no principal named %s in the policy (a bulk_read "
              "names one principal, not a role or an audience)",
              name);
    return -1;
}

/* May ${who} ask for ${op} on ${scope}? 0, or -1 with the answer. */
static int
may_request(const struct srv_principal *who, const char *op, const char *scope,
            struct srv_resp *r)
{
    int role = who->role;
    int keeper = role == SRV_ROLE_OFFICE || role == SRV_ROLE_CUSTODIAN;
    char name[SRV_NAME_MAX + 1];
    uint64_t extra;
    int ok_role = 0, ok_scope = 0;
    if (strcmp(op, SRV_OP_BULK_EXPORT) == 0) {
        ok_role = keeper;
        ok_scope = 1; /* the export's own selection string */
    } else if (strcmp(op, SRV_OP_EPOCH_DESTROY) == 0) {
        ok_role = keeper;
        ok_scope = all_digits(scope, 1, 10);
    } else if (strcmp(op, SRV_OP_POLICY_CHANGE) == 0) {
        ok_role = role == SRV_ROLE_ADMIN || role == SRV_ROLE_CUSTODIAN;
        ok_scope =
            strlen(scope) == 64 && strspn(scope, "0123456789abcdef") == 64;
    } else if (strcmp(op, SRV_OP_BULK_READ) == 0) {
        ok_scope = bulk_read_scope(scope, name, &extra) == 0;
        ok_role = keeper || (ok_scope && role != SRV_ROLE_ADMIN &&
                             strcmp(name, who->name) == 0);
    } else {
        srv_error(r, 400, "invalid_field", "operation: unknown operation");
        return -1;
    }
    if (!ok_scope) {
        srv_error(r, 400, "invalid_field", "scope: not a scope of %s", op);
        return -1;
    }
    if (!ok_role) {
        srv_error(r, 403, "forbidden", "role %s may not ask for %s",
                  srv_role_name(role), op);
        return -1;
    }
    return 0;
}

static unsigned
custodian_count(const struct srv_config *cfg)
{
    unsigned n = 0;
    for (size_t i = 0; i < cfg->nprincipals; i++) {
        n += cfg->principals[i].role == SRV_ROLE_CUSTODIAN;
    }
    return n;
}

/* The body {"operation": ..., "scope": ...}; 0 or -1 with the answer. */
static int
create_args(json_t *body, const char **pop, const char **pscope,
            struct srv_resp *r)
{
    *pop = json_string_value(json_object_get(body, "operation"));
    *pscope = json_string_value(json_object_get(body, "scope"));
    if (json_object_size(body) != 2 || *pop == NULL || *pscope == NULL) {
        srv_error(r, 400, "bad_request",
                  "the body must be {\"operation\": ..., \"scope\": ...}");
        return -1;
    }
    return 0;
}

void
api_approval_create(struct srv_ctx *ctx, const struct srv_req *req,
                    struct srv_resp *r)
{
    json_t *body = NULL;
    const char *op, *scope;
    struct coffre_approval a;
    if (api_body(req, r, &body) != 0 || create_args(body, &op, &scope, r) ||
        may_request(req->who, op, scope, r) != 0 ||
        scope_principal_known(srv_cfg(ctx), op, scope, r) != 0) {
        goto out;
    }
    if (custodian_count(srv_cfg(ctx)) < srv_cfg(ctx)->approvals_required) {
        srv_error(r, 409, "not_enough_custodians",
                  "fewer custodians are configured than approvals needed");
        goto out;
    }
    int rc = coffre_vault_approval_request(
        ctx->vault, op, scope, req->who->name, srv_cfg(ctx)->approvals_required,
        srv_cfg(ctx)->approval_ttl, srv_cfg(ctx)->approval_pending_max,
        (int64_t)time(NULL), &a);
    if (rc == COFFRE_ERR_ARG) {
        srv_error(r, 400, "invalid_field",
                  "scope: printable ASCII, at most %d bytes",
                  COFFRE_APPROVAL_SCOPE_MAX);
    } else if (rc == COFFRE_ERR_DENIED) {
        srv_error(r, 429, "too_many_pending",
                  "%s has %u pending approval requests, the most one "
                  "principal may have (approval_pending_max); ask again "
                  "once one is granted or expired",
                  req->who->name, srv_cfg(ctx)->approval_pending_max);
    } else if (rc == COFFRE_ERR_LIMIT) {
        srv_error(r, 429, "too_many_approvals",
                  "too many approval requests are open");
    } else if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
    } else {
        srv_json(r, 201, approval_json(&a));
        memcpy(r->pseudonym, a.id, sizeof(r->pseudonym)); /* audit entry */
    }
out:
    json_decref(body);
}

void
api_approval_get(struct srv_ctx *ctx, const struct srv_req *req,
                 const char *param, struct srv_resp *r)
{
    struct coffre_approval a;
    (void)req;
    int rc = coffre_vault_approval_get(ctx->vault, param, &a);
    if (rc == COFFRE_ERR_NOTFOUND) {
        srv_error(r, 404, "approval_unknown", "no such approval");
    } else if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
    } else {
        srv_json(r, 200, approval_json(&a));
    }
}

void
api_approval_list(struct srv_ctx *ctx, struct srv_resp *r)
{
    struct coffre_approval *all = calloc(COFFRE_APPROVAL_KEEP, sizeof(*all));
    json_t *arr = json_array();
    size_t n = 0;
    int rc = all == NULL || arr == NULL
                 ? COFFRE_ERR_NOMEM
                 : coffre_vault_approval_list(ctx->vault, all,
                                              COFFRE_APPROVAL_KEEP, &n);
    if (rc != COFFRE_OK) {
        json_decref(arr);
        api_vault_error(r, ctx->vault, rc);
    } else {
        for (size_t i = 0; i < n && i < COFFRE_APPROVAL_KEEP; i++) {
            json_array_append_new(arr, approval_json(&all[i]));
        }
        srv_json(r, 200, json_pack("{s:o}", "approvals", arr));
    }
    free(all);
}

/* A bulk_read approval is used by its grant: the bonus starts now. */
static void
grant_bulk_read(struct srv_ctx *ctx, struct coffre_approval *a)
{
    char name[SRV_NAME_MAX + 1];
    uint64_t extra;
    int why = 0;
    if (strcmp(a->operation, SRV_OP_BULK_READ) != 0 ||
        coffre_approval_state(a, (int64_t)time(NULL)) !=
            COFFRE_APPROVAL_GRANTED ||
        bulk_read_scope(a->scope, name, &extra) != 0) {
        return;
    }
    if (coffre_vault_approval_consume(ctx->vault, a->id, a->operation, a->scope,
                                      name, (int64_t)time(NULL), a,
                                      &why) == COFFRE_OK) {
        pthread_mutex_lock(&ctx->approvals->lock);
        bonus_load(ctx);
        if (ctx->approvals->loaded) { /* else the load counted it */
            bonus_add(ctx->approvals, a);
        }
        pthread_mutex_unlock(&ctx->approvals->lock);
    }
}

void
api_approval_approve(struct srv_ctx *ctx, const struct srv_req *req,
                     const char *param, struct srv_resp *r)
{
    struct coffre_approval a;
    int64_t now = (int64_t)time(NULL);
    int rc = coffre_vault_approval_approve(ctx->vault, param, req->who->name,
                                           now, &a);
    if (rc == COFFRE_ERR_NOTFOUND) {
        srv_error(r, 404, "approval_unknown", "no such approval");
    } else if (rc == COFFRE_ERR_EXISTS) {
        srv_error(r, 409, "already_approved",
                  "this custodian approved it already");
    } else if (rc == COFFRE_ERR_STATE && a.used_at != 0) {
        srv_error(r, 403, "approval_used", "the approval was used");
    } else if (rc == COFFRE_ERR_STATE) {
        srv_error(r, 403, "approval_expired", "the approval expired");
    } else if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
    } else {
        grant_bulk_read(ctx, &a);
        srv_json(r, 200, approval_json(&a));
    }
}

int
srv_approval_use(struct srv_ctx *ctx, const struct srv_req *req, const char *id,
                 const char *op, const char *scope, struct srv_resp *r)
{
    static const struct {
        const char *code, *msg;
    } whys[] = {
        [COFFRE_APPROVAL_WHY_UNKNOWN] = {"approval_unknown",
                                         "no such approval"},
        [COFFRE_APPROVAL_WHY_WRONG_SCOPE] =
            {"approval_wrong_scope",
             "the approval is for another operation or scope"},
        [COFFRE_APPROVAL_WHY_TOO_FEW] = {"approval_insufficient",
                                         "not enough custodians approved"},
        [COFFRE_APPROVAL_WHY_EXPIRED] = {"approval_expired",
                                         "the approval expired"},
        [COFFRE_APPROVAL_WHY_USED] = {"approval_used",
                                      "the approval was used already"},
    };
    int why = 0;
    int rc =
        coffre_vault_approval_consume(ctx->vault, id, op, scope, req->who->name,
                                      (int64_t)time(NULL), NULL, &why);
    if (rc == COFFRE_OK) {
        return 0;
    }
    if (rc == COFFRE_ERR_DENIED && why > 0 && why <= COFFRE_APPROVAL_WHY_USED) {
        srv_error(r, 403, whys[why].code, "%s", whys[why].msg);
    } else {
        api_vault_error(r, ctx->vault, rc);
    }
    return -1;
}
