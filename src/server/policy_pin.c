/*
 * The policy pin (docs/approvals.md section 6). The vault keeps the
 * digest of the policy it last served under (coffre_vault_policy_*). When
 * the vault becomes unsealed, the running configuration's digest must
 * match it, or a granted policy_change approval must name the running
 * digest (it is consumed and the pin moves), or the vault is sealed again
 * and nothing is served: a host administrator cannot preposition a
 * principal, a looser guard or another client CA without m custodians.
 *
 * A reload (reload.c) may bring the pinned policy's approved successor:
 * srv_policy_successor consumes the approval and moves the pin, then the
 * new principal table and guard are published (srv_ctx_swap).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "approval.h"
#include "coffre/audit.h"

#define HEX_LEN (2 * SRV_POLICY_LEN)

void
srv_policy_enforce(struct srv_ctx *ctx,
                   const unsigned char digest[SRV_POLICY_LEN])
{
    pthread_mutex_lock(&ctx->policy_lock);
    memcpy(ctx->policy, digest, SRV_POLICY_LEN);
    __atomic_store_n(&ctx->policy_ok, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&ctx->policy_enforced, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&ctx->policy_lock);
}

int
srv_policy_ready(struct srv_ctx *ctx)
{
    if (coffre_vault_is_sealed(ctx->vault)) {
        return 0;
    }
    return !__atomic_load_n(&ctx->policy_enforced, __ATOMIC_ACQUIRE) ||
           __atomic_load_n(&ctx->policy_ok, __ATOMIC_ACQUIRE);
}

/* What the approvals say about the digest ${hex}: a granted one's id, or
 * why none is usable (and the id of the one that came nearest). */
struct pick {
    char id[COFFRE_APPROVAL_ID_LEN + 1];
    char near[COFFRE_APPROVAL_ID_LEN + 1];
    char why[96];
    int rank; /* of near: 3 pending, 2 expired, 1 used */
};

static void
pick_one(const struct coffre_approval *a, int64_t now, struct pick *p)
{
    static const int rank[] = {3, 0, 2, 1}; /* by COFFRE_APPROVAL_* */
    int s = coffre_approval_state(a, now);
    if (s == COFFRE_APPROVAL_GRANTED) {
        memcpy(p->id, a->id, sizeof(p->id));
        return;
    }
    if (rank[s] <= p->rank) {
        return;
    }
    p->rank = rank[s];
    memcpy(p->near, a->id, sizeof(p->near));
    if (s == COFFRE_APPROVAL_PENDING) {
        snprintf(p->why, sizeof(p->why),
                 "its policy_change approval has %u of %u custodians",
                 a->napprovers, a->need);
    } else {
        snprintf(p->why, sizeof(p->why), "its policy_change approval %s",
                 s == COFFRE_APPROVAL_EXPIRED ? "expired" : "was used");
    }
}

static int
pick_approval(struct srv_ctx *ctx, const char *hex, struct pick *p)
{
    struct coffre_approval *all = calloc(COFFRE_APPROVAL_KEEP, sizeof(*all));
    int64_t now = (int64_t)time(NULL);
    size_t n = 0;
    memset(p, 0, sizeof(*p));
    snprintf(p->why, sizeof(p->why), "no policy_change approval names it");
    int rc = all != NULL ? coffre_vault_approval_list(ctx->vault, all,
                                                      COFFRE_APPROVAL_KEEP, &n)
                         : COFFRE_ERR_NOMEM;
    for (size_t i = 0; rc == COFFRE_OK && i < n && !p->id[0]; i++) {
        if (strcmp(all[i].operation, COFFRE_APPROVAL_OP_POLICY_CHANGE) == 0 &&
            strcmp(all[i].scope, hex) == 0) {
            pick_one(&all[i], now, p);
        }
    }
    free(all);
    return rc;
}

/* One audit entry of the pin; COFFRE_ERR_IO if it cannot be made. */
static int
note(struct srv_ctx *ctx, const struct srv_principal *who, const char *action,
     const char *id, const char *purpose, unsigned status, char *msg,
     size_t msglen)
{
    int rc = srv_audit_note(ctx, who, action, id, purpose, status,
                            status < 300 ? "ok" : "policy_unapproved");
    if (rc != COFFRE_OK) {
        snprintf(msg, msglen, "the audit log cannot record %s: %s", action,
                 coffre_strerror(rc));
        return COFFRE_ERR_IO;
    }
    return COFFRE_OK;
}

static int
first_use(struct srv_ctx *ctx, const struct srv_principal *who, const char *hex,
          char *msg, size_t msglen)
{
    char purpose[COFFRE_AUDIT_MAX_PURPOSE + 1];
    int rc = coffre_vault_policy_pin(ctx->vault, ctx->policy);
    if (rc != COFFRE_OK) {
        snprintf(msg, msglen, "cannot pin the policy: %s (%s)",
                 coffre_strerror(rc), coffre_vault_errmsg(ctx->vault));
        return rc;
    }
    snprintf(purpose, sizeof(purpose), "policy %s first use", hex);
    return note(ctx, who, "policy.pin", "", purpose, 200, msg, msglen);
}

/* The running policy ${hex} differs from the pinned ${old}. */
static int
change(struct srv_ctx *ctx, const struct srv_principal *who, const char *hex,
       const char *old, char *msg, size_t msglen)
{
    char purpose[COFFRE_AUDIT_MAX_PURPOSE + 1];
    const char *by = who != NULL ? who->name : "coffre-server";
    struct pick p;
    int why = 0;
    int rc = pick_approval(ctx, hex, &p);
    if (rc == COFFRE_OK && p.id[0] != '\0') {
        rc = coffre_vault_policy_change(ctx->vault, ctx->policy, p.id, by,
                                        (int64_t)time(NULL), NULL, &why);
        if (rc == COFFRE_OK) {
            snprintf(purpose, sizeof(purpose), "policy %s from %s", hex, old);
            return note(ctx, who, "policy.change", p.id, purpose, 200, msg,
                        msglen);
        }
        memcpy(p.near, p.id, sizeof(p.near));
        snprintf(p.why, sizeof(p.why), "its policy_change approval failed");
    }
    if (rc != COFFRE_OK && rc != COFFRE_ERR_DENIED) {
        snprintf(msg, msglen, "the approvals cannot be read: %s (%s)",
                 coffre_strerror(rc), coffre_vault_errmsg(ctx->vault));
        return rc;
    }
    snprintf(purpose, sizeof(purpose), "policy %s pinned %s", hex, old);
    (void)note(ctx, who, "policy.refuse", p.near, purpose, 409, msg, msglen);
    snprintf(msg, msglen,
             "the running policy %s is not the pinned one and %s; the vault "
             "is sealed again",
             hex, p.why);
    srv_log(SRV_LOG_ERR, "policy",
            "the pinned policy is %s. To serve under %s: on "
            "a server running the pinned policy, request a policy_change "
            "approval with that scope, have it granted, then restart with "
            "this configuration before it expires (docs/approvals.md "
            "section 6).",
            old, hex);
    return COFFRE_ERR_DENIED;
}

/* Lock held, vault unsealed: compare, pin, or consume an approval. */
static int
check(struct srv_ctx *ctx, const struct srv_principal *who, char *msg,
      size_t msglen)
{
    unsigned char pinned[SRV_POLICY_LEN];
    char hex[HEX_LEN + 1], old[HEX_LEN + 1], err[512];
    int present = 0;
    /* Every outcome is an entry: the log opens first, or nothing is done. */
    if (srv_audit_start(ctx, err, sizeof(err)) != COFFRE_OK) {
        snprintf(msg, msglen, "audit log: %s", err);
        return COFFRE_ERR_IO;
    }
    int rc = coffre_vault_policy_get(ctx->vault, pinned, &present);
    if (rc != COFFRE_OK) {
        snprintf(msg, msglen, "the policy pin cannot be read: %s (%s)",
                 coffre_strerror(rc), coffre_vault_errmsg(ctx->vault));
        return rc;
    }
    sodium_bin2hex(hex, sizeof(hex), ctx->policy, SRV_POLICY_LEN);
    if (!present) {
        return first_use(ctx, who, hex, msg, msglen);
    }
    if (sodium_memcmp(pinned, ctx->policy, SRV_POLICY_LEN) == 0) {
        return COFFRE_OK;
    }
    sodium_bin2hex(old, sizeof(old), pinned, SRV_POLICY_LEN);
    return change(ctx, who, hex, old, msg, msglen);
}

int
srv_policy_verify(struct srv_ctx *ctx, const struct srv_principal *who,
                  char *msg, size_t msglen)
{
    int rc = COFFRE_OK;
    snprintf(msg, msglen, "ok");
    pthread_mutex_lock(&ctx->policy_lock);
    if (!ctx->policy_enforced || ctx->policy_ok) {
        rc = COFFRE_OK;
    } else if (coffre_vault_is_sealed(ctx->vault)) {
        rc = COFFRE_ERR_SEALED;
    } else if ((rc = check(ctx, who, msg, msglen)) == COFFRE_OK) {
        __atomic_store_n(&ctx->policy_ok, 1, __ATOMIC_RELEASE);
    } else {
        /* Never serve under a policy the custodians did not approve. */
        (void)coffre_vault_seal(ctx->vault);
        srv_log(SRV_LOG_ERR, "policy", "policy refused: %s", msg);
    }
    pthread_mutex_unlock(&ctx->policy_lock);
    return rc;
}

int
srv_policy_successor(struct srv_ctx *ctx,
                     const unsigned char next[SRV_POLICY_LEN], char *msg,
                     size_t msglen)
{
    char hex[HEX_LEN + 1], old[HEX_LEN + 1];
    char purpose[COFFRE_AUDIT_MAX_PURPOSE + 1];
    struct pick p;
    int why = 0, rc;
    pthread_mutex_lock(&ctx->policy_lock);
    sodium_bin2hex(hex, sizeof(hex), next, SRV_POLICY_LEN);
    sodium_bin2hex(old, sizeof(old), ctx->policy, SRV_POLICY_LEN);
    if (!srv_policy_ready(ctx)) {
        snprintf(msg, msglen, "the vault is sealed");
        pthread_mutex_unlock(&ctx->policy_lock);
        return COFFRE_ERR_SEALED;
    }
    rc = pick_approval(ctx, hex, &p);
    if (rc == COFFRE_OK && p.id[0] != '\0') {
        rc = coffre_vault_policy_change(ctx->vault, next, p.id, "coffre-server",
                                        (int64_t)time(NULL), NULL, &why);
        if (rc == COFFRE_OK) {
            memcpy(ctx->policy, next, SRV_POLICY_LEN);
            snprintf(purpose, sizeof(purpose), "policy %s from %s", hex, old);
            rc = note(ctx, NULL, "policy.change", p.id, purpose, 200, msg,
                      msglen);
            if (rc == COFFRE_OK) {
                snprintf(msg, msglen, "policy %s (approval %s) replaces %s",
                         hex, p.id, old);
            }
            pthread_mutex_unlock(&ctx->policy_lock);
            return COFFRE_OK; /* the pin moved: the new policy serves */
        }
        snprintf(p.why, sizeof(p.why), "its policy_change approval failed");
    }
    if (rc != COFFRE_OK && rc != COFFRE_ERR_DENIED) {
        snprintf(msg, msglen, "the approvals cannot be read: %s",
                 coffre_strerror(rc));
    } else {
        snprintf(purpose, sizeof(purpose), "policy %s pinned %s", hex, old);
        (void)note(ctx, NULL, "policy.refuse", p.near, purpose, 409, msg,
                   msglen);
        snprintf(msg, msglen,
                 "the new policy %s is not the pinned %s and %s; the pinned "
                 "one stays in force (docs/approvals.md section 6)",
                 hex, old, p.why);
        rc = COFFRE_ERR_DENIED;
    }
    pthread_mutex_unlock(&ctx->policy_lock);
    return rc;
}
