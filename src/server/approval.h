/*
 * The guard, part B, in the server (docs/approvals.md): custodian
 * approvals (approval.c), the retention sweep, epoch destruction and
 * erasure receipts (retention.c), the subject-access export (subject.c).
 */
#ifndef COFFRE_SRC_APPROVAL_H
#define COFFRE_SRC_APPROVAL_H

#include "coffre/approval.h"
#include "server.h"

/* Operations that need approvals. */
#define SRV_OP_BULK_EXPORT "bulk_export"
#define SRV_OP_BULK_READ "bulk_read"
#define SRV_OP_EPOCH_DESTROY "epoch_destroy"
#define SRV_OP_POLICY_CHANGE "policy_change"

#define SRV_BONUS_MAX 64 /* bulk-read bonuses live at once */

/* Quota bonuses of granted bulk_read approvals, kept in memory and
 * rebuilt from the vault's approvals at start. */
struct srv_approvals {
    pthread_mutex_t lock;
    int loaded; /* rebuilt from the vault since it was unsealed */
    struct {
        char principal[SRV_NAME_MAX + 1];
        uint64_t extra;
        int64_t expires;
    } bonus[SRV_BONUS_MAX];
    size_t nbonus;
    int64_t last_sweep; /* retention sweep thread: last run */
};

/** srv_approvals_new(ctx): attach the approval state to ${ctx}. */
int srv_approvals_new(struct srv_ctx *ctx);
/** srv_approvals_free(ctx): detach and free it; no-op if absent. */
void srv_approvals_free(struct srv_ctx *ctx);

/**
 * srv_approval_quota_bonus(ctx, principal, pexpires): persons the granted
 * bulk_read approvals in force add to the quota of the principal named
 * ${principal}; 0 if none. The latest of their expiries in *${pexpires}
 * (0 if none; may be NULL). For guard part A's quotas; cheap (no vault).
 */
uint64_t srv_approval_quota_bonus(struct srv_ctx *ctx, const char *principal,
                                  int64_t *pexpires);

/**
 * srv_approval_use(ctx, req, id, op, scope, r): consume approval ${id}
 * for ${op} on ${scope} by the caller. 0 when it may go on; -1 with a 403
 * answer in ${r} whose code says why (approval_unknown,
 * approval_wrong_scope, approval_used, approval_expired,
 * approval_insufficient), or another error answer.
 */
int srv_approval_use(struct srv_ctx *ctx, const struct srv_req *req,
                     const char *id, const char *op, const char *scope,
                     struct srv_resp *r);

void api_approval_create(struct srv_ctx *ctx, const struct srv_req *req,
                         struct srv_resp *r);
void api_approval_get(struct srv_ctx *ctx, const struct srv_req *req,
                      const char *param, struct srv_resp *r);
void api_approval_approve(struct srv_ctx *ctx, const struct srv_req *req,
                          const char *param, struct srv_resp *r);
/** api_approval_list(ctx, r): {"approvals": [...]}, every approval the
 * vault keeps (at most COFFRE_APPROVAL_KEEP), oldest first. */
void api_approval_list(struct srv_ctx *ctx, struct srv_resp *r);

/* ---- retention.c ------------------------------------------------- */

/**
 * srv_erasure_receipt(ctx, by, reason, audience, pseudonyms, n, approval,
 * id): sign and store a receipt (coffre_vault_erasure_receipt); its id in
 * ${id}. ${approval} may be NULL.
 */
int srv_erasure_receipt(struct srv_ctx *ctx, const char *by, const char *reason,
                        const char *audience, const char *const *pseudonyms,
                        size_t n, const char *approval,
                        char id[COFFRE_RECEIPT_ID_LEN + 1]);

/**
 * srv_retention_tick(ctx, now): the background retention sweep, run when
 * cfg->retention_sweep seconds passed since the last one (0: never).
 */
void srv_retention_tick(struct srv_ctx *ctx, int64_t now);

void api_retention_sweep(struct srv_ctx *ctx, const struct srv_req *req,
                         struct srv_resp *r);
void api_epoch_destroy(struct srv_ctx *ctx, const struct srv_req *req,
                       const char *param, struct srv_resp *r);
void api_receipt_get(struct srv_ctx *ctx, const struct srv_req *req,
                     const char *param, struct srv_resp *r);
/** api_receipt_key(ctx, r): {"key": the receipts' C2SP verifier key}. */
void api_receipt_key(struct srv_ctx *ctx, struct srv_resp *r);

/* ---- policy_pin.c ------------------------------------------------ */

/**
 * srv_policy_enforce(ctx, digest): the running policy is ${digest}
 * (srv_policy_digest); from now on ${ctx} serves nothing but the routes
 * allowed while sealed until srv_policy_verify() accepted it.
 */
void srv_policy_enforce(struct srv_ctx *ctx,
                        const unsigned char digest[SRV_POLICY_LEN]);

/** srv_policy_ready(ctx): 1 when the vault is unsealed and the running
 * policy is accepted (or not enforced). Cheap, no lock. */
int srv_policy_ready(struct srv_ctx *ctx);

/**
 * srv_policy_verify(ctx, who, msg, msglen): once the vault is unsealed
 * (by ${who}, NULL at start), compare the running policy with the pin:
 * none pinned: pin it (audit policy.pin); equal: accept; different: a
 * granted policy_change approval whose scope is the running digest is
 * consumed and the pin moved (audit policy.change), else the vault is
 * sealed again (audit policy.refuse). COFFRE_OK when accepted;
 * COFFRE_ERR_DENIED (policy unapproved) or COFFRE_ERR_IO (the audit log
 * cannot record it) or another error, the vault sealed again, the reason
 * in ${msg} and on stderr; COFFRE_ERR_SEALED if the vault is sealed.
 */
int srv_policy_verify(struct srv_ctx *ctx, const struct srv_principal *who,
                      char *msg, size_t msglen);

/**
 * srv_policy_successor(ctx, next, msg, msglen): a reload brings the policy
 * ${next} while the vault serves under the pinned one: a granted
 * policy_change approval whose scope is ${next} is consumed and the pin
 * moved (audit policy.change, by the server), COFFRE_OK, and the caller
 * puts ${next} in force. Otherwise COFFRE_ERR_DENIED (audit policy.refuse)
 * or another error, the reason in ${msg}: nothing changes, the pinned
 * policy stays in force (the vault is not sealed). COFFRE_ERR_SEALED if
 * the vault is not serving yet.
 */
int srv_policy_successor(struct srv_ctx *ctx,
                         const unsigned char next[SRV_POLICY_LEN], char *msg,
                         size_t msglen);

/* ---- subject.c --------------------------------------------------- */

void api_subject_access(struct srv_ctx *ctx, const struct srv_req *req,
                        const char *param, struct srv_resp *r);

#endif
