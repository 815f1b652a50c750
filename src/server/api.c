/*
 * Request dispatch: route, authentication, query arguments, seal state and
 * role checks, in that order, then the handler. Deny by default: a route
 * lists the roles it serves, nothing else gets through.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "coffre/seal.h"

#include "api.h"
#include "approval.h"
#include "badges.h"
#include "console.h"
#include "guard.h"

#define ROLE(r) (1u << (r))

/*
 * Who may call each route, with what: every request goes through admit()
 * with its rule and with its route's entry in srv_routes (route.c): the
 * seal state it is served in and its audit action.
 */
struct route_rule {
    unsigned roles;          /* ROLE() bits allowed */
    int has_body;            /* expects a JSON body */
    const char *const *args; /* allowed query arguments */
};

static const char *const no_args[] = {NULL};
static const char *const get_args[] = {"fields", "purpose", NULL};
static const char *const list_args[] = {
    "document_number", "email", "surname", "given_names", "birth_date", "state",
    "category",        "limit", "cursor",  "purpose",     "due_within", NULL};
static const char *const pending_args[] = {"limit", "cursor", NULL};
static const char *const inclusion_args[] = {"index", "size", NULL};
static const char *const consistency_args[] = {"from", "to", NULL};
static const char *const entries_args[] = {"start", "end", NULL};
static const char *const purpose_args[] = {"purpose", NULL};

#define ANY_ROLE ((1u << SRV_ROLE_COUNT) - 1u)

static const struct route_rule rules[R__COUNT] = {
    [R_HEALTH] = {ANY_ROLE, 0, no_args},
    [R_SEAL_STATUS] = {ANY_ROLE, 0, no_args},
    [R_UNSEAL] = {ROLE(SRV_ROLE_CUSTODIAN), 1, no_args},
    [R_METRICS] = {ROLE(SRV_ROLE_ADMIN) | ROLE(SRV_ROLE_AUDITOR), 0, no_args},
    [R_STATS] = {ROLE(SRV_ROLE_ADMIN) | ROLE(SRV_ROLE_AUDITOR), 0, no_args},
    [R_PERSONS_POST] = {ROLE(SRV_ROLE_PLATFORM) | ROLE(SRV_ROLE_OFFICE), 1,
                        no_args},
    [R_PERSONS_LIST] = {ROLE(SRV_ROLE_PLATFORM) | ROLE(SRV_ROLE_OFFICE) |
                            ROLE(SRV_ROLE_PRINTER) | ROLE(SRV_ROLE_GATE),
                        0, list_args},
    [R_PERSON_GET] = {ROLE(SRV_ROLE_PLATFORM) | ROLE(SRV_ROLE_OFFICE) |
                          ROLE(SRV_ROLE_VETTING) | ROLE(SRV_ROLE_GATE) |
                          ROLE(SRV_ROLE_PRINTER),
                      0, get_args},
    [R_PERSON_PATCH] = {ROLE(SRV_ROLE_PLATFORM) | ROLE(SRV_ROLE_OFFICE), 1,
                        no_args},
    [R_PERSON_DELETE] = {ROLE(SRV_ROLE_OFFICE), 0, no_args},
    [R_PERSON_STATE] = {ROLE(SRV_ROLE_OFFICE), 1, no_args},
    [R_VETTING_PENDING] = {ROLE(SRV_ROLE_VETTING), 0, pending_args},
    [R_VETTING_VERDICT] = {ROLE(SRV_ROLE_VETTING), 1, no_args},
    /* The key and checkpoint hold no access pattern: the admin may read
     * them to watch the log grow and publish checkpoints. Entries and
     * proofs say who read which pseudonym: auditors only. */
    [R_AUDIT_KEY] = {ROLE(SRV_ROLE_AUDITOR) | ROLE(SRV_ROLE_ADMIN), 0, no_args},
    [R_AUDIT_CHECKPOINT] = {ROLE(SRV_ROLE_AUDITOR) | ROLE(SRV_ROLE_ADMIN), 0,
                            no_args},
    [R_AUDIT_INCLUSION] = {ROLE(SRV_ROLE_AUDITOR), 0, inclusion_args},
    [R_AUDIT_CONSISTENCY] = {ROLE(SRV_ROLE_AUDITOR), 0, consistency_args},
    [R_AUDIT_ENTRIES] = {ROLE(SRV_ROLE_AUDITOR), 0, entries_args},
    /* Approvals (docs/approvals.md): who may ask for which operation is
     * checked per operation; only custodians approve, never the admin. */
    [R_APPROVAL_CREATE] = {ANY_ROLE & ~ROLE(SRV_ROLE_AUDITOR), 1, no_args},
    [R_APPROVAL_GET] = {ANY_ROLE, 0, no_args},
    [R_APPROVAL_APPROVE] = {ROLE(SRV_ROLE_CUSTODIAN), 0, no_args},
    /* The admin may run the sweep (maintenance): the answer is a count
     * and a receipt id, and the receipt itself is not for the admin. */
    [R_RETENTION_SWEEP] = {ROLE(SRV_ROLE_CUSTODIAN) | ROLE(SRV_ROLE_ADMIN), 0,
                           no_args},
    [R_EPOCH_DESTROY] = {ROLE(SRV_ROLE_CUSTODIAN), 1, no_args},
    [R_RECEIPT_GET] = {ROLE(SRV_ROLE_OFFICE) | ROLE(SRV_ROLE_CUSTODIAN) |
                           ROLE(SRV_ROLE_AUDITOR),
                       0, no_args},
    [R_SUBJECT_ACCESS] = {ROLE(SRV_ROLE_OFFICE), 0, purpose_args},
    [R_RECEIPT_KEY] = {ANY_ROLE, 0, no_args}, /* a public key */
    /* The admin watches the guard; only a custodian lifts a suspension. */
    [R_GUARD_STATUS] = {ROLE(SRV_ROLE_ADMIN) | ROLE(SRV_ROLE_CUSTODIAN) |
                            ROLE(SRV_ROLE_AUDITOR),
                        0, no_args},
    [R_GUARD_REINSTATE] = {ROLE(SRV_ROLE_CUSTODIAN), 1, no_args},
    /* Badges (docs/badge.md): issuing discloses names, so the office
     * states a purpose; the lists are for gates; the list key is public
     * (provisioning); rotating a signing key is a custodian's act. */
    [R_BADGE_ISSUE] = {ROLE(SRV_ROLE_OFFICE) | ROLE(SRV_ROLE_PRINTER), 0,
                       purpose_args},
    [R_BADGE_TRUST] = {ROLE(SRV_ROLE_GATE), 0, no_args},
    [R_BADGE_REVOCATIONS] = {ROLE(SRV_ROLE_GATE), 0, no_args},
    [R_BADGE_LIST_KEY] = {ANY_ROLE, 0, no_args},
    [R_BADGE_ROTATE] = {ROLE(SRV_ROLE_CUSTODIAN), 0, no_args},
    /* Sealing is a custodian's act (coffre operator seal); the list of
     * approvals is for those who approve and those who watch them. */
    [R_SEAL] = {ROLE(SRV_ROLE_CUSTODIAN), 0, no_args},
    [R_APPROVAL_LIST] = {ROLE(SRV_ROLE_CUSTODIAN) | ROLE(SRV_ROLE_AUDITOR) |
                             ROLE(SRV_ROLE_ADMIN),
                         0, no_args},
    /* The console's pages hold no data: any principal loads them, and
     * what they fetch is then bound by the rules above (console.md). */
    [R_CONSOLE] = {ANY_ROLE, 0, no_args},
    [R_CONSOLE_ASSET] = {ANY_ROLE, 0, no_args},
    /* The caller's own state: every principal, about itself only. */
    [R_WHOAMI] = {ANY_ROLE, 0, no_args},
};

/* The guard's view of the bulk_read approvals (guard_set_bonus). */
static uint64_t
quota_bonus(void *arg, const char *name, int64_t *pexpires)
{
    return srv_approval_quota_bonus(arg, name, pexpires);
}

/* The guard's shared state (coffre_guard_state_*), for guard.c. */
static int
sh_observe(void *gs, const struct coffre_guard_ask *ask,
           struct coffre_guard_verdict *out)
{
    return coffre_guard_state_observe(gs, ask, out);
}

static int
sh_reinstate(void *gs, const char *name, int *pfound)
{
    return coffre_guard_state_reinstate(gs, name, pfound);
}

static int
sh_list(void *gs, void (*fn)(void *arg, const struct coffre_guard_principal *p),
        void *arg)
{
    return coffre_guard_state_list(gs, fn, arg);
}

static const char *
sh_errmsg(void *gs)
{
    return coffre_guard_state_errmsg(gs);
}

static void
sh_close(void *gs)
{
    coffre_guard_state_close(gs);
}

static const struct guard_shared_ops shared_ops = {
    sh_observe, sh_reinstate, sh_list, sh_errmsg, sh_close};

int
srv_guard_make(struct srv_ctx *ctx, const struct srv_config *cfg,
               struct guard **pg)
{
    int rc =
        guard_new(cfg, cfg->guard ? cfg->guard : guard_config_default(), pg);
    if (rc == COFFRE_OK) {
        guard_set_bonus(*pg, quota_bonus, ctx);
    }
    /* On PostgreSQL the processes of the database share the guard's
     * state (docs/guard.md "Several processes"): a guard that cannot
     * reach it does not start, rather than count alone. */
    struct coffre_guard_state *gs = NULL;
    if (rc == COFFRE_OK && *pg != NULL && ctx->vault != NULL) {
        rc = coffre_guard_state_open(
            ctx->vault,
            cfg->store_password_file[0] ? cfg->store_password_file : NULL, &gs);
        if (rc != COFFRE_OK) {
            srv_log(SRV_LOG_ERR, "guard", "guard: shared state: %s",
                    coffre_vault_errmsg(ctx->vault));
            guard_free(*pg);
            *pg = NULL;
        } else if (gs != NULL) {
            guard_set_shared(*pg, &shared_ops, gs);
        }
    }
    return rc;
}

int
srv_ctx_swap(struct srv_ctx *ctx, struct srv_config *cfg, struct guard *guard)
{
    struct srv_pset *old = srv_pset(ctx);
    struct srv_pset *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    p->cfg = cfg;
    p->guard = guard;
    p->gen = old->gen + 1;
    p->owns_cfg = 1;
    p->older = old;
    __atomic_store_n(&ctx->pset, p, __ATOMIC_RELEASE);
    return COFFRE_OK;
}

int
srv_ctx_init(struct srv_ctx *ctx, struct coffre_vault *vault,
             struct srv_config *cfg)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->vault = vault;
    ctx->pset = calloc(1, sizeof(*ctx->pset));
    ctx->metrics = srv_metrics_new(srv_route_labels, R__COUNT);
    if (ctx->metrics == NULL || ctx->pset == NULL) {
        srv_metrics_free(ctx->metrics);
        free(ctx->pset);
        return COFFRE_ERR_NOMEM;
    }
    ctx->pset->cfg = cfg;
    pthread_mutex_init(&ctx->audit_lock, NULL);
    pthread_mutex_init(&ctx->policy_lock, NULL);
    if (srv_approvals_new(ctx) != COFFRE_OK ||
        srv_guard_make(ctx, cfg, &ctx->pset->guard) != COFFRE_OK) {
        srv_ctx_destroy(ctx);
        return COFFRE_ERR_NOMEM;
    }
    /* From now on nothing is disclosed or written but through it. */
    coffre_vault_set_audit(vault, srv_vault_hook, ctx);
    return COFFRE_OK;
}

void
srv_ctx_destroy(struct srv_ctx *ctx)
{
    if (ctx->vault != NULL) {
        coffre_vault_set_audit(ctx->vault, NULL, NULL);
    }
    srv_audit_stop(ctx);
    srv_approvals_free(ctx);
    for (struct srv_pset *p = ctx->pset, *older; p != NULL; p = older) {
        older = p->older;
        guard_free(p->guard);
        if (p->owns_cfg) {
            srv_config_free(p->cfg);
            free(p->cfg);
        }
        free(p);
    }
    ctx->pset = NULL;
    pthread_mutex_destroy(&ctx->audit_lock);
    pthread_mutex_destroy(&ctx->policy_lock);
    srv_metrics_free(ctx->metrics);
    ctx->metrics = NULL;
}

void
api_vault_error(struct srv_resp *r, struct coffre_vault *v, int err)
{
    (void)v; /* its errmsg may name internals: not for clients */
    switch (err) {
    case COFFRE_ERR_NOTFOUND:
    case COFFRE_ERR_ERASED:
        srv_error(r, 404, "not_found", "no such person");
        break;
    case COFFRE_ERR_STATE:
        srv_error(r, 409, "conflict", "illegal lifecycle transition");
        break;
    case COFFRE_ERR_SEALED:
        srv_error(r, 503, "sealed", "the vault is sealed");
        break;
    case COFFRE_ERR_TOOBIG:
        srv_error(r, 413, "too_large", "input over its size cap");
        break;
    case COFFRE_ERR_LIMIT:
        srv_error(r, 429, "rate_limited", "%s", coffre_strerror(err));
        break;
    case COFFRE_ERR_DENIED:
        /* The audit hook's refusal: a protected record's classes, or a
         * route that may not disclose. */
        if (r->denied_why != NULL) {
            srv_error(r, 403, "forbidden_state", "%s", r->denied_why);
        } else {
            srv_error(r, 403, "forbidden_class",
                      "not readable by this principal (a protected record, "
                      "or a class outside its role)");
        }
        break;
    case COFFRE_ERR_UNAVAILABLE:
        srv_audit_refuse(r);
        break;
    case COFFRE_ERR_EXISTS:
    case COFFRE_ERR_INUSE:
        srv_error(r, 409, "conflict", "%s", coffre_strerror(err));
        break;
    case COFFRE_ERR_INVALID:
    case COFFRE_ERR_PARSE:
    case COFFRE_ERR_ARG:
        srv_error(r, 400, "bad_request", "%s", coffre_strerror(err));
        break;
    default:
        srv_error(r, 500, "internal", "%s", coffre_strerror(err));
        break;
    }
}

static int
args_ok(const struct srv_req *req, const char *const *allowed,
        struct srv_resp *r)
{
    if (req->query_overflow) {
        srv_error(r, 400, "bad_request", "too many query arguments");
        return 0;
    }
    for (size_t i = 0; i < req->nquery; i++) {
        size_t k = 0;
        while (allowed[k] != NULL && strcmp(allowed[k], req->query[i].key)) {
            k++;
        }
        if (allowed[k] == NULL) {
            srv_error(r, 400, "unknown_argument", "unknown query argument %s",
                      req->query[i].key);
            return 0;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(req->query[j].key, req->query[i].key) == 0) {
                srv_error(r, 400, "bad_request", "query argument %s twice",
                          req->query[i].key);
                return 0;
            }
        }
    }
    return 1;
}

/* Sealed, or unsealed under a policy not accepted yet (policy_pin.c):
 * nothing personal is served either way. */
static int
is_sealed(struct srv_ctx *ctx)
{
    return !srv_policy_ready(ctx);
}

/* The seal ("shamir", "pkcs11", "dev") and, while a token-sealed vault
 * is sealed, why the token did not open it (docs/keys.md section 8). */
static json_t *
seal_why(struct srv_ctx *ctx, json_t *o)
{
    const char *err = coffre_vault_seal_error(ctx->vault);
    if (o != NULL) {
        json_object_set_new(o, "seal",
                            json_string(coffre_vault_seal_name(ctx->vault)));
        if (err[0] != '\0' && coffre_vault_is_sealed(ctx->vault)) {
            json_object_set_new(o, "seal_error", json_string(err));
        }
    }
    return o;
}

/* 200 ok, or 503 degraded with the reasons while audited requests are
 * refused (docs/server.md). */
static void
sys_health(struct srv_ctx *ctx, struct srv_resp *r)
{
    int sealed = is_sealed(ctx);
    char why[256];
    if (!srv_audit_unavailable(ctx, why, sizeof(why))) {
        srv_json(r, 200,
                 seal_why(ctx, json_pack("{s:s,s:b}", "status", "ok", "sealed",
                                         sealed)));
        return;
    }
    srv_json(r, 503,
             json_pack("{s:s,s:b,s:[s]}", "status", "degraded", "sealed",
                       sealed, "reasons", why));
}

static void
sys_seal_status(struct srv_ctx *ctx, struct srv_resp *r)
{
    unsigned have = 0, need = 0;
    coffre_vault_unseal_progress(ctx->vault, &have, &need);
    srv_json(
        r, 200,
        seal_why(ctx, json_pack("{s:b,s:s,s:I,s:I}", "sealed", is_sealed(ctx),
                                "vault_id", coffre_vault_id(ctx->vault), "have",
                                (json_int_t)have, "need", (json_int_t)need)));
}

/* The unseal that completed the threshold: the audit log must open and
 * agree with the store (docs/audit.md section 13), and the running policy
 * must be the pinned one or an approved change (policy_pin.c); 0 to
 * answer. Either failing seals the vault again. */
static int
unseal_policy(struct srv_ctx *ctx, const struct srv_req *req,
              struct srv_resp *r)
{
    char msg[512];
    if (srv_audit_start(ctx, msg, sizeof(msg)) != COFFRE_OK) {
        (void)coffre_vault_seal(ctx->vault);
        srv_log(SRV_LOG_ERR, "audit", "audit log: %s; sealed again", msg);
        srv_error(r, 503, "audit_unavailable",
                  "the audit log does not open: %s; the vault is sealed "
                  "again",
                  msg);
        return -1;
    }
    int rc = srv_policy_verify(ctx, req->who, msg, sizeof(msg));
    if (rc == COFFRE_ERR_DENIED) {
        srv_error(r, 409, "policy_unapproved", "%s", msg);
    } else if (rc == COFFRE_ERR_IO) {
        srv_error(r, 503, "audit_unavailable", "%s", msg);
    } else if (rc != COFFRE_OK && rc != COFFRE_ERR_SEALED) {
        srv_error(r, 500, "internal", "the policy pin: %s",
                  coffre_strerror(rc));
    } else {
        return 0;
    }
    return -1;
}

static void
sys_unseal(struct srv_ctx *ctx, const struct srv_req *req, struct srv_resp *r)
{
    json_t *body = NULL;
    const char *share = NULL;
    if (api_body(req, r, &body) != 0 ||
        api_only_string(body, "share", r, &share) != 0) {
        goto out;
    }
    unsigned have = 0, need = 0;
    /* One custodian principal, one share toward the threshold, however
     * many share files it holds (docs/keys.md). */
    int rc = coffre_vault_is_sealed(ctx->vault)
                 ? coffre_vault_unseal_as(ctx->vault, share, req->who->name,
                                          &have, &need)
                 : COFFRE_OK;
    if (rc == COFFRE_ERR_EXISTS) {
        srv_error(r, 409, "share_already_given",
                  "custodian %s gave a share already: the threshold counts "
                  "distinct custodians, so the next share comes from "
                  "another one",
                  req->who->name);
    } else if (rc == COFFRE_ERR_SHARE || rc == COFFRE_ERR_PARSE) {
        srv_error(r, 400, "invalid_share",
                  "the share is not one of this "
                  "vault's or is malformed");
    } else if (rc == COFFRE_ERR_THRESHOLD) {
        srv_error(r, 400, "threshold",
                  "the shares given do not unseal the "
                  "vault; they were forgotten");
    } else if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
    } else if (coffre_vault_is_sealed(ctx->vault) ||
               unseal_policy(ctx, req, r) == 0) {
        coffre_vault_unseal_progress(ctx->vault, &have, &need);
        srv_json(r, 200,
                 json_pack("{s:b,s:I,s:I}", "sealed", is_sealed(ctx), "have",
                           (json_int_t)have, "need", (json_int_t)need));
    }
out:
    json_decref(body);
}

/* Forget the keys (docs/operations.md): the custodians unseal again. The
 * audit log stays open, as after a refused policy (its entry for this
 * request is made after the answer, like every route's). */
static void
sys_seal(struct srv_ctx *ctx, const struct srv_req *req, struct srv_resp *r)
{
    int rc = coffre_vault_seal(ctx->vault);
    if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
        return;
    }
    fprintf(stderr, "coffre server: sealed by custodian %s\n", req->who->name);
    srv_json(r, 200, json_pack("{s:b}", "sealed", 1));
}

static void
sys_metrics(struct srv_ctx *ctx, struct srv_resp *r)
{
    char *text = NULL, *all = NULL;
    size_t len = 0;
    FILE *f = NULL;
    if (srv_metrics_render(ctx->metrics, is_sealed(ctx), &text) != 0 ||
        (f = open_memstream(&all, &len)) == NULL) {
        free(text);
        srv_error(r, 500, "internal", "out of memory");
        return;
    }
    fputs(text, f);
    free(text);
    srv_audit_metrics(ctx, f);
    guard_metrics(srv_guard(ctx), f);
    if (fclose(f) != 0) {
        free(all);
        srv_error(r, 500, "internal", "out of memory");
        return;
    }
    text = all;
    srv_resp_free(r);
    r->body = text;
    r->status = 200;
    r->ctype = "text/plain; version=0.0.4; charset=utf-8";
}

static void
sys_stats(struct srv_ctx *ctx, struct srv_resp *r)
{
    struct coffre_vault_stats st;
    int rc = coffre_vault_stats(ctx->vault, &st);
    if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
        return;
    }
    srv_json(r, 200,
             json_pack("{s:I,s:I,s:I,s:I}", "persons", (json_int_t)st.persons,
                       "erased", (json_int_t)st.erased, "kek_current",
                       (json_int_t)st.kek_current, "kek_versions",
                       (json_int_t)st.kek_versions));
}

/* The routes of the custodians' and auditors' operations (approvals,
 * retention, receipts, subject access, guard, badges, audit log);
 * 0 if ${route} is not one of them. */
static int
dispatch_ops(struct srv_ctx *ctx, size_t route, const struct srv_req *req,
             const char *param, struct srv_resp *r)
{
    switch (route) {
    case R_AUDIT_KEY:
    case R_AUDIT_CHECKPOINT:
    case R_AUDIT_INCLUSION:
    case R_AUDIT_CONSISTENCY:
    case R_AUDIT_ENTRIES:
        srv_audit_dispatch(ctx, route, req, r);
        return 1;
    case R_APPROVAL_CREATE:
        api_approval_create(ctx, req, r);
        return 1;
    case R_APPROVAL_GET:
        api_approval_get(ctx, req, param, r);
        return 1;
    case R_APPROVAL_APPROVE:
        api_approval_approve(ctx, req, param, r);
        return 1;
    case R_APPROVAL_LIST:
        api_approval_list(ctx, r);
        return 1;
    case R_RETENTION_SWEEP:
        api_retention_sweep(ctx, req, r);
        return 1;
    case R_EPOCH_DESTROY:
        api_epoch_destroy(ctx, req, param, r);
        return 1;
    case R_RECEIPT_GET:
        api_receipt_get(ctx, req, param, r);
        return 1;
    case R_RECEIPT_KEY:
        api_receipt_key(ctx, r);
        return 1;
    case R_SUBJECT_ACCESS:
        api_subject_access(ctx, req, param, r);
        return 1;
    case R_GUARD_STATUS:
        guard_api_status(ctx, r);
        return 1;
    case R_GUARD_REINSTATE:
        guard_api_reinstate(ctx, req, r);
        return 1;
    case R_BADGE_ISSUE:
    case R_BADGE_TRUST:
    case R_BADGE_REVOCATIONS:
    case R_BADGE_LIST_KEY:
    case R_BADGE_ROTATE:
        srv_badges_dispatch(ctx, route, req, param, r);
        return 1;
    case R_CONSOLE:
    case R_CONSOLE_ASSET:
        srv_console_serve(route, param, req, r);
        return 1;
    case R_WHOAMI:
        api_whoami(ctx, req, r);
        return 1;
    default:
        return 0;
    }
}

static void
dispatch(struct srv_ctx *ctx, size_t route, const struct srv_req *req,
         const char *param, struct srv_resp *r)
{
    switch (route) {
    case R_HEALTH:
        sys_health(ctx, r);
        break;
    case R_SEAL_STATUS:
        sys_seal_status(ctx, r);
        break;
    case R_UNSEAL:
        sys_unseal(ctx, req, r);
        break;
    case R_SEAL:
        sys_seal(ctx, req, r);
        break;
    case R_METRICS:
        sys_metrics(ctx, r);
        break;
    case R_STATS:
        sys_stats(ctx, r);
        break;
    case R_PERSONS_POST:
        api_persons_post(ctx, req, r);
        break;
    case R_PERSONS_LIST:
        api_persons_list(ctx, req, r);
        break;
    case R_PERSON_GET:
        api_person_get(ctx, req, param, r);
        break;
    case R_PERSON_PATCH:
        api_person_patch(ctx, req, param, r);
        break;
    case R_PERSON_DELETE:
        api_person_delete(ctx, req, param, r);
        break;
    case R_PERSON_STATE:
        api_person_state(ctx, req, param, r);
        break;
    case R_VETTING_PENDING:
        api_vetting_pending(ctx, req, r);
        break;
    case R_VETTING_VERDICT:
        api_vetting_verdict(ctx, req, param, r);
        break;
    default:
        if (!dispatch_ops(ctx, route, req, param, r)) {
            srv_error(r, 404, "not_found", "no such route");
        }
        break;
    }
}

/* "application/json", with parameters or not (RFC 9110 section 8.3). */
static int
json_ctype(const char *ct)
{
    static const char json[] = "application/json";
    if (ct == NULL || strncasecmp(ct, json, sizeof(json) - 1) != 0) {
        return 0;
    }
    ct += sizeof(json) - 1;
    while (*ct == ' ' || *ct == '\t') {
        ct++;
    }
    return *ct == '\0' || *ct == ';';
}

/* Everything before the handler; 1 when the request may go on. */
static int
admit(struct srv_ctx *ctx, size_t route, const struct srv_req *req,
      struct srv_resp *r)
{
    const struct route_rule *rule = &rules[route];
    if (req->who == NULL) {
        srv_error(r, 401, "unauthenticated", "%s",
                  req->auth_why ? req->auth_why
                                : "a known client certificate is required");
        return 0;
    }
    if (!(rule->roles & ROLE(req->who->role))) {
        srv_error(r, 403, "forbidden", "role %s may not use %s",
                  srv_role_name(req->who->role), srv_route_labels[route]);
        return 0;
    }
    if (!args_ok(req, rule->args, r)) {
        return 0;
    }
    if (!rule->has_body && req->body_len != 0) {
        srv_error(r, 400, "bad_request", "this route takes no body");
        return 0;
    }
    if (rule->has_body && req->body_len != 0 && !json_ctype(req->ctype)) {
        srv_error(r, 415, "unsupported_media_type",
                  "the body must be sent as Content-Type: application/json");
        return 0;
    }
    if (!srv_routes[route].sealed_ok && is_sealed(ctx)) {
        srv_error(r, 503, "sealed", "the vault is sealed");
        return 0;
    }
    /* Suspended? Over its request rate? (guard.c) */
    const struct srv_pset *ps = req->pset ? req->pset : srv_pset(ctx);
    return guard_admit(ps->guard, req->who, srv_routes[route].suspended_ok, r);
}

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
srv_handle(struct srv_ctx *ctx, const struct srv_req *req, struct srv_resp *r)
{
    double t0 = now_seconds();
    char param[COFFRE_PSEUDONYM_LEN + 1];
    unsigned st = 0;
    memset(r, 0, sizeof(*r));
    size_t route = srv_route_match(req->method, req->path, param, &st);
    r->route = route;
    if (req->target_nul) {
        /* Decoded, the target would be cut at the NUL: refused whole. */
        r->route = route = R__COUNT;
        srv_error(r, 400, "bad_request",
                  "the request target holds an encoded NUL byte (%%00)");
    } else if (route == R__COUNT && req->who == NULL) {
        /* Not even the route map is shown to a stranger. */
        srv_error(r, 401, "unauthenticated", "%s",
                  req->auth_why ? req->auth_why
                                : "a known client certificate is required");
    } else if (route == R__COUNT && st == 405) {
        srv_error(r, 405, "method_not_allowed", "%s is not allowed here",
                  req->method);
        r->allow = srv_route_allow(req->path);
    } else if (route == R__COUNT) {
        srv_error(r, 404, "not_found", "no such route");
    } else if (admit(ctx, route, req, r)) {
        struct srv_call call = {ctx, route, req, param, r};
        struct srv_call *prev = srv_call_set(&call);
        dispatch(ctx, route, req, param, r);
        srv_call_set(prev);
        /* Before the answer leaves: persons past a limit never do. */
        guard_observe(req->pset ? req->pset->guard : srv_guard(ctx), req->who,
                      r);
    }
    /* After the answer is made, before it leaves: one durable entry per
     * audited request, refusals included, or 503 (fail-closed). */
    srv_audit_after(ctx, route, req, param, r);
    srv_metrics_observe(ctx->metrics, route,
                        req->who ? req->who->role : SRV_ROLE_NONE, r->status,
                        now_seconds() - t0);
}

void
srv_sweep(struct srv_ctx *ctx, int64_t now)
{
    uint64_t ids[256];
    size_t n = 0;
    /* The server's own work, even inside a request: its entries name
     * the server, not the caller. */
    struct srv_call *prev = srv_call_set(NULL);
    if (!coffre_vault_is_sealed(ctx->vault) &&
        coffre_vault_due(ctx->vault, COFFRE_DUE_VETTING, now, ids, 256, &n) ==
            COFFRE_OK) {
        for (size_t i = 0; i < n && i < 256; i++) {
            /* A request that found no verdict in time counts as refused
             * (DESIGN section 3); a failure here is retried next sweep. */
            (void)coffre_vault_set_state(ctx->vault, ids[i],
                                         COFFRE_STATE_REFUSED);
        }
    }
    srv_call_set(prev);
}
