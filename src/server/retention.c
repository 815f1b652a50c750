/*
 * Retention (docs/approvals.md): the sweep that erases persons past their
 * retention date with ONE signed erasure receipt per sweep, destruction
 * of a closed retention epoch's key under a custodian approval, and the
 * receipts' route. Receipts list the office audience's pseudonyms: the
 * office is who answers the persons, and other audiences cannot link them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "approval.h"
#include "coffre/migrate.h"

#define SWEEP_MAX COFFRE_RECEIPT_MAX_PSEUDONYMS /* persons per sweep */
#define RECEIPT_AUDIENCE "office"
#define SYSTEM_NAME "retention-sweep" /* the background sweep's "by" */

int
srv_erasure_receipt(struct srv_ctx *ctx, const char *by, const char *reason,
                    const char *audience, const char *const *pseudonyms,
                    size_t n, const char *approval,
                    char id[COFFRE_RECEIPT_ID_LEN + 1])
{
    struct coffre_erasure e = {by,         reason, audience,  time(NULL),
                               pseudonyms, n,      &approval, approval != NULL};
    char *note = NULL;
    int rc = coffre_vault_erasure_receipt(ctx->vault, &e, id, &note);
    coffre_free(note);
    return rc;
}

/* Pseudonyms of one sweep or epoch: SWEEP_MAX slots. */
struct plist {
    char (*p)[COFFRE_PSEUDONYM_LEN + 1];
    const char **ptr;
    size_t n;
};

static int
plist_new(struct plist *l)
{
    l->n = 0;
    l->p = calloc(SWEEP_MAX, sizeof(*l->p));
    l->ptr = calloc(SWEEP_MAX, sizeof(*l->ptr));
    return l->p != NULL && l->ptr != NULL ? COFFRE_OK : COFFRE_ERR_NOMEM;
}

static void
plist_free(struct plist *l)
{
    free(l->p);
    free(l->ptr);
}

static int
plist_add(struct srv_ctx *ctx, struct plist *l, uint64_t id)
{
    if (l->n == SWEEP_MAX) {
        return COFFRE_ERR_LIMIT;
    }
    int rc =
        coffre_vault_pseudonym(ctx->vault, RECEIPT_AUDIENCE, id, l->p[l->n]);
    if (rc == COFFRE_OK) {
        l->ptr[l->n] = l->p[l->n];
        l->n++;
    }
    return rc;
}

/*
 * Erase up to SWEEP_MAX persons past their retention date, then sign one
 * receipt of those erased; the rest wait for the next sweep. *${pn} and
 * ${id} ("" when nothing was erased) say what happened.
 */
static int
sweep(struct srv_ctx *ctx, const char *by, size_t *pn,
      char id[COFFRE_RECEIPT_ID_LEN + 1])
{
    uint64_t *ids = calloc(SWEEP_MAX, sizeof(*ids));
    struct plist l;
    size_t n = 0;
    int rc = plist_new(&l);
    id[0] = '\0';
    *pn = 0;
    if (rc == COFFRE_OK && ids == NULL) {
        rc = COFFRE_ERR_NOMEM;
    }
    if (rc == COFFRE_OK) {
        rc = coffre_vault_due(ctx->vault, COFFRE_DUE_RETENTION,
                              (int64_t)time(NULL), ids, SWEEP_MAX, &n);
    }
    for (size_t i = 0; rc == COFFRE_OK && i < n && i < SWEEP_MAX; i++) {
        /* The pseudonym first: the receipt must name every erased one. */
        rc = plist_add(ctx, &l, ids[i]);
        if (rc == COFFRE_OK &&
            coffre_vault_erase(ctx->vault, ids[i]) != COFFRE_OK) {
            l.n--; /* not erased: retried next sweep, not on the receipt */
        }
    }
    if (rc == COFFRE_OK && l.n > 0) {
        rc = srv_erasure_receipt(ctx, by, "retention", RECEIPT_AUDIENCE, l.ptr,
                                 l.n, NULL, id);
    }
    *pn = l.n;
    plist_free(&l);
    free(ids);
    return rc;
}

void
srv_retention_tick(struct srv_ctx *ctx, int64_t now)
{
    struct srv_approvals *s = ctx->approvals;
    char id[COFFRE_RECEIPT_ID_LEN + 1];
    size_t n;
    if (s == NULL || srv_cfg(ctx)->retention_sweep <= 0 ||
        coffre_vault_is_sealed(ctx->vault) ||
        now - s->last_sweep < srv_cfg(ctx)->retention_sweep) {
        return;
    }
    s->last_sweep = now; /* only the signal loop's thread calls this */
    (void)sweep(ctx, SYSTEM_NAME, &n, id);
}

void
api_retention_sweep(struct srv_ctx *ctx, const struct srv_req *req,
                    struct srv_resp *r)
{
    char id[COFFRE_RECEIPT_ID_LEN + 1];
    size_t n = 0;
    int rc = sweep(ctx, req->who->name, &n, id);
    if (rc != COFFRE_OK && n == 0) {
        api_vault_error(r, ctx->vault, rc);
        return;
    }
    memcpy(r->pseudonym, id, sizeof(r->pseudonym)); /* audit entry */
    /* Erased without a receipt is reported as such, never hidden. */
    srv_json(r, rc == COFFRE_OK ? 200 : 500,
             json_pack("{s:I,s:s?,s:b}", "erased", (json_int_t)n, "receipt",
                       id[0] ? id : NULL, "receipt_ok", rc == COFFRE_OK));
}

/* Every live person of ${epoch}: all must be expired (the epoch is
 * closed) and their pseudonyms go into ${l}. 0, or -1 with the answer. */
static int
epoch_closed(struct srv_ctx *ctx, uint32_t epoch, struct plist *l,
             struct srv_resp *r)
{
    uint64_t ids[SRV_PAGE_MAX], after = 0;
    size_t n = 0;
    /* An epoch that never had a key costs no approval; one destroyed
     * already is closed (its approval is checked, and used, again). */
    int rc = coffre_vault_epoch_status(ctx->vault, epoch);
    if (rc == COFFRE_ERR_NOTFOUND) {
        srv_error(r, 404, "not_found", "epoch %" PRIu32 " has no key", epoch);
        return -1;
    }
    if (rc != COFFRE_OK && rc != COFFRE_ERR_ERASED) {
        api_vault_error(r, ctx->vault, rc);
        return -1;
    }
    do {
        rc = coffre_vault_list(ctx->vault, -1, NULL, after, ids, SRV_PAGE_MAX,
                               &n);
        for (size_t i = 0; rc == COFFRE_OK && i < n; i++) {
            struct coffre_person *p = NULL;
            uint32_t e = 0;
            rc = coffre_vault_epoch_of(ctx->vault, ids[i], &e);
            if (rc != COFFRE_OK || e != epoch) {
                continue;
            }
            rc = coffre_vault_get(ctx->vault, ids[i],
                                  COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC), &p);
            int st = rc == COFFRE_OK ? coffre_person_state(p) : -1;
            coffre_person_free(p);
            if (rc == COFFRE_OK && st != COFFRE_STATE_EXPIRED) {
                srv_error(r, 409, "epoch_open",
                          "epoch %" PRIu32 " still holds persons that are "
                          "not expired",
                          epoch);
                return -1;
            }
            rc = rc == COFFRE_OK ? plist_add(ctx, l, ids[i]) : rc;
        }
        after = n > 0 ? ids[n - 1] : after;
    } while (rc == COFFRE_OK && n == SRV_PAGE_MAX);
    if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
        return -1;
    }
    return 0;
}

void
api_epoch_destroy(struct srv_ctx *ctx, const struct srv_req *req,
                  const char *param, struct srv_resp *r)
{
    char id[COFFRE_RECEIPT_ID_LEN + 1], reason[32];
    json_t *body = NULL;
    const char *approval = NULL;
    struct plist l = {NULL, NULL, 0};
    unsigned long e = strtoul(param, NULL, 10);
    if (e > UINT32_MAX) {
        srv_error(r, 404, "not_found", "no such epoch");
        return;
    }
    if (api_body(req, r, &body) != 0 ||
        api_only_string(body, "approval", r, &approval) != 0) {
        goto out;
    }
    if (strlen(approval) != COFFRE_APPROVAL_ID_LEN ||
        strspn(approval, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789-_") != COFFRE_APPROVAL_ID_LEN) {
        srv_error(r, 403, "approval_unknown", "no such approval");
        goto out;
    }
    /* The audit entry names the approval (the receipt names the epoch). */
    snprintf(r->pseudonym, sizeof(r->pseudonym), "%s", approval);
    if (plist_new(&l) != COFFRE_OK) {
        srv_error(r, 500, "internal", "out of memory");
        goto out;
    }
    /* Checked before the approval is used: a refusal costs no approval. */
    if (epoch_closed(ctx, (uint32_t)e, &l, r) != 0 ||
        srv_approval_use(ctx, req, approval, SRV_OP_EPOCH_DESTROY, param, r)) {
        goto out;
    }
    int rc = coffre_vault_epoch_destroy(ctx->vault, (uint32_t)e);
    if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
        goto out;
    }
    snprintf(reason, sizeof(reason), "epoch %lu", e);
    rc = srv_erasure_receipt(ctx, req->who->name, reason, RECEIPT_AUDIENCE,
                             l.ptr, l.n, approval, id);
    srv_json(r, rc == COFFRE_OK ? 200 : 500,
             json_pack("{s:I,s:b,s:I,s:s?}", "epoch", (json_int_t)e,
                       "destroyed", 1, "erased", (json_int_t)l.n, "receipt",
                       rc == COFFRE_OK ? id : NULL));
out:
    plist_free(&l);
    json_decref(body);
}

void
api_receipt_get(struct srv_ctx *ctx, const struct srv_req *req,
                const char *param, struct srv_resp *r)
{
    char *note = NULL;
    (void)req;
    int rc = coffre_vault_receipt_get(ctx->vault, param, &note);
    if (rc == COFFRE_ERR_NOTFOUND) {
        srv_error(r, 404, "not_found", "no such receipt");
    } else if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
    } else {
        srv_resp_free(r);
        r->body = strdup(note);
        r->status = r->body != NULL ? 200 : 500;
        r->ctype = "text/plain; charset=utf-8";
        if (r->body == NULL) {
            srv_error(r, 500, "internal", "out of memory");
        }
    }
    coffre_free(note);
}

void
api_receipt_key(struct srv_ctx *ctx, struct srv_resp *r)
{
    char *vkey = NULL;
    int rc = coffre_vault_receipt_key(ctx->vault, &vkey);
    if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
    } else {
        srv_json(r, 200, json_pack("{s:s}", "key", vkey));
    }
    coffre_free(vkey);
}
