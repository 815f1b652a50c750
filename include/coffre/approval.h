/*
 * coffre guard, part B (DESIGN sections 4 and 6, docs/approvals.md):
 * m-of-n custodian approvals of bulk operations, the retention period,
 * and signed erasure receipts of retention sweeps and erasure requests.
 *
 * Approvals live in the vault's store (one authenticated meta value), so
 * that a restarted server, or the CLI on the same store, neither loses
 * nor replays them.
 */
#ifndef COFFRE_APPROVAL_H
#define COFFRE_APPROVAL_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/coffre.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COFFRE_APPROVAL_ID_LEN 43 /* base64url of 32 random bytes */
#define COFFRE_APPROVAL_OP_MAX 32
#define COFFRE_APPROVAL_SCOPE_MAX 128
#define COFFRE_APPROVAL_NAME_MAX 64 /* principal names */
#define COFFRE_APPROVAL_APPROVERS_MAX 16
#define COFFRE_APPROVAL_KEEP 64  /* approvals kept in the store */
#define COFFRE_RECEIPT_ID_LEN 43 /* base64url of SHA-256 of the receipt */
#define COFFRE_RECEIPT_MAX_PSEUDONYMS 1000 /* per receipt */

/* One approval request and what happened to it. Plain strings, no
 * personal data: principal names, an operation and its scope. */
struct coffre_approval {
    char id[COFFRE_APPROVAL_ID_LEN + 1];
    char operation[COFFRE_APPROVAL_OP_MAX + 1];
    char scope[COFFRE_APPROVAL_SCOPE_MAX + 1];
    char requested_by[COFFRE_APPROVAL_NAME_MAX + 1];
    int64_t created, expires; /* unix seconds */
    unsigned need;            /* m: distinct custodians needed */
    unsigned napprovers;
    char approvers[COFFRE_APPROVAL_APPROVERS_MAX][COFFRE_APPROVAL_NAME_MAX + 1];
    int64_t used_at; /* 0: not used yet */
    char used_by[COFFRE_APPROVAL_NAME_MAX + 1];
};

enum coffre_approval_state {
    COFFRE_APPROVAL_PENDING = 0, /* fewer than need approvers, not expired */
    COFFRE_APPROVAL_GRANTED,     /* need approvers, not expired, not used */
    COFFRE_APPROVAL_EXPIRED,     /* past expires, not used */
    COFFRE_APPROVAL_USED,        /* consumed by its operation */
};

/* Why coffre_vault_approval_consume refused. */
enum coffre_approval_why {
    COFFRE_APPROVAL_WHY_NONE = 0,
    COFFRE_APPROVAL_WHY_UNKNOWN,     /* no such approval */
    COFFRE_APPROVAL_WHY_WRONG_SCOPE, /* another operation or scope */
    COFFRE_APPROVAL_WHY_TOO_FEW,     /* fewer approvers than needed */
    COFFRE_APPROVAL_WHY_EXPIRED,     /* past its expiry */
    COFFRE_APPROVAL_WHY_USED,        /* consumed already */
};

/** coffre_approval_state(a, now): the state of ${a} at unix ${now}. */
COFFRE_API int coffre_approval_state(const struct coffre_approval *a,
                                     int64_t now);

/** coffre_approval_state_name(s): "pending", "granted", "expired", "used". */
COFFRE_API const char *coffre_approval_state_name(int s);

/**
 * coffre_vault_approval_request(v, op, scope, by, need, ttl, pending_max,
 * now, out): a new approval request for operation ${op} on ${scope}
 * (printable ASCII, within the caps), asked by principal ${by}, granted at
 * ${need} (1 to COFFRE_APPROVAL_APPROVERS_MAX) distinct approvers,
 * expiring ${ttl} seconds after ${now}. Stored before it returns; a copy
 * in ${out}. COFFRE_ERR_ARG for a bad argument; COFFRE_ERR_DENIED when
 * ${by} has ${pending_max} requests pending already (0: no such cap), so
 * that one requester cannot take the slots of all; COFFRE_ERR_LIMIT when
 * the store already keeps COFFRE_APPROVAL_KEEP approvals none of which is
 * over (expired or used: those are dropped, oldest first, to make room).
 * Both checks and the write are one store transaction.
 */
COFFRE_API int coffre_vault_approval_request(struct coffre_vault *v,
                                             const char *op, const char *scope,
                                             const char *by, unsigned need,
                                             int64_t ttl, unsigned pending_max,
                                             int64_t now,
                                             struct coffre_approval *out);

/** coffre_vault_approval_get(v, id, out): approval ${id}, or
 * COFFRE_ERR_NOTFOUND. */
COFFRE_API int coffre_vault_approval_get(struct coffre_vault *v, const char *id,
                                         struct coffre_approval *out);

/**
 * coffre_vault_approval_approve(v, id, who, now, out): add approver ${who}
 * to ${id}; the approval after it in ${out}. COFFRE_ERR_NOTFOUND,
 * COFFRE_ERR_EXISTS if ${who} approved it already, COFFRE_ERR_STATE if it
 * expired or was used (no longer approvable); ${who} == requested_by is
 * allowed (a custodian may ask and approve: m distinct approvers are
 * needed all the same).
 */
COFFRE_API int coffre_vault_approval_approve(struct coffre_vault *v,
                                             const char *id, const char *who,
                                             int64_t now,
                                             struct coffre_approval *out);

/**
 * coffre_vault_approval_consume(v, id, op, scope, by, now, out, pwhy): use
 * approval ${id} for ${op} on ${scope} by ${by}, exactly once: in one store
 * transaction it checks the match (exact strings), the approvers, the
 * expiry and that it is unused, then marks it used. COFFRE_OK, or
 * COFFRE_ERR_DENIED with the reason in *${pwhy} (checked in that order:
 * unknown, wrong scope, used, expired, too few); the approval in ${out}
 * when it exists (may be NULL).
 */
COFFRE_API int coffre_vault_approval_consume(
    struct coffre_vault *v, const char *id, const char *op, const char *scope,
    const char *by, int64_t now, struct coffre_approval *out, int *pwhy);

/** coffre_vault_approval_list(v, out, cap, pn): the approvals kept, oldest
 * first; up to ${cap} in ${out}, their number in *${pn}. */
COFFRE_API int coffre_vault_approval_list(struct coffre_vault *v,
                                          struct coffre_approval *out,
                                          size_t cap, size_t *pn);

/* ------------------------------------------------------------------ */
/* The pinned policy (docs/approvals.md section 6).                   */

#define COFFRE_POLICY_DIGEST_LEN 32 /* SHA-256 of the canonical policy */
#define COFFRE_APPROVAL_OP_POLICY_CHANGE "policy_change"

/**
 * coffre_vault_policy_get(v, digest, ppresent): the policy digest pinned
 * in ${v} into ${digest}, *${ppresent} 1; *${ppresent} 0 (and ${digest}
 * zero) when none is pinned yet. The pin is authenticated by a named key
 * of the vault: COFFRE_ERR_CRYPTO if the stored value was not written by
 * it, COFFRE_ERR_SEALED while sealed.
 */
COFFRE_API int
coffre_vault_policy_get(struct coffre_vault *v,
                        unsigned char digest[COFFRE_POLICY_DIGEST_LEN],
                        int *ppresent);

/**
 * coffre_vault_policy_pin(v, digest): pin ${digest} on first use, in one
 * store transaction; COFFRE_ERR_EXISTS (nothing written) if a policy is
 * pinned already: changing it takes coffre_vault_policy_change().
 */
COFFRE_API int
coffre_vault_policy_pin(struct coffre_vault *v,
                        const unsigned char digest[COFFRE_POLICY_DIGEST_LEN]);

/**
 * coffre_vault_policy_change(v, digest, id, by, now, out, pwhy): pin
 * ${digest} in place of the pinned policy, consuming approval ${id}
 * (operation "policy_change", scope the lowercase hex of ${digest}) by
 * ${by} in the same store transaction: both happen or neither. Refusals
 * as coffre_vault_approval_consume() (COFFRE_ERR_DENIED, *${pwhy}); the
 * approval in ${out} (may be NULL).
 */
COFFRE_API int
coffre_vault_policy_change(struct coffre_vault *v,
                           const unsigned char digest[COFFRE_POLICY_DIGEST_LEN],
                           const char *id, const char *by, int64_t now,
                           struct coffre_approval *out, int *pwhy);

/* ------------------------------------------------------------------ */
/* Retention and erasure receipts.                                    */

/** coffre_vault_set_retention(v, secs): the retention period added to the
 * end of validity of persons written from now on (default 365 days,
 * 0 allowed). */
COFFRE_API void coffre_vault_set_retention(struct coffre_vault *v,
                                           int64_t secs);

/**
 * coffre_vault_epoch_status(v, epoch): COFFRE_OK if retention epoch
 * ${epoch} has a key, COFFRE_ERR_ERASED if its key was destroyed,
 * COFFRE_ERR_NOTFOUND if it never had one. Lets a caller check before it
 * spends an approval on coffre_vault_epoch_destroy.
 */
COFFRE_API int coffre_vault_epoch_status(struct coffre_vault *v,
                                         uint32_t epoch);

/* What an erasure receipt states (docs/approvals.md). Strings are
 * printable ASCII without newlines. */
struct coffre_erasure {
    const char *by;       /* principal that ran it */
    const char *reason;   /* "retention", "request", "epoch 301" */
    const char *audience; /* whose pseudonyms are listed */
    int64_t time;         /* unix seconds */
    const char *const *pseudonyms;
    size_t npseudonyms;           /* at most COFFRE_RECEIPT_MAX_PSEUDONYMS */
    const char *const *approvals; /* approval ids, may be none */
    size_t napprovals;
};

/**
 * coffre_vault_erasure_receipt(v, e, id, preceipt): write the receipt of
 * ${e} (a C2SP signed note by the vault's receipt key, the same key and
 * header as coffre_vault_shred), store it under its id (base64url of
 * SHA-256 of the note) and return both: ${id} NUL-terminated, the note in
 * *${preceipt} (coffre_free). Verify it with coffre_receipt_verify().
 */
COFFRE_API int coffre_vault_erasure_receipt(struct coffre_vault *v,
                                            const struct coffre_erasure *e,
                                            char id[COFFRE_RECEIPT_ID_LEN + 1],
                                            char **preceipt);

/** coffre_vault_receipt_get(v, id, preceipt): a stored receipt
 * (coffre_free), COFFRE_ERR_NOTFOUND if none has ${id}. */
COFFRE_API int coffre_vault_receipt_get(struct coffre_vault *v, const char *id,
                                        char **preceipt);

#ifdef __cplusplus
}
#endif
#endif
