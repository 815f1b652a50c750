/*
 * The vault's badge keys and badge bookkeeping (docs/badge.md section 10):
 * badge-signing Ed25519 keys by version and the list-signing key, each
 * seed wrapped by the root key like every other vault key; the badge ids
 * issued to each person; the revoked ids and the sequence numbers of the
 * two signed lists. Part of libcoffre; every function takes the vault's
 * lock and answers COFFRE_ERR_SEALED while the vault is sealed.
 *
 * Buffers returned through out-parameters are freed with coffre_free().
 */
#ifndef COFFRE_BADGEKEYS_H
#define COFFRE_BADGEKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/badge.h"
#include "coffre/coffre.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Badge-signing key versions kept on the trust list (its cap). */
#define COFFRE_BADGE_KEYS_MAX 64

/* What a vault says about its badges (no secret, no personal data). */
struct coffre_vault_badge_info {
    unsigned key_version; /* current badge-signing key, 0: none made yet */
    size_t keys_trusted;  /* versions on the trust list now */
    uint64_t trust_seq;   /* sequence of the trust list */
    uint64_t revoc_seq;   /* sequence of the revocation list */
    uint64_t revoked;     /* badge ids on the revocation list */
};

/**
 * coffre_vault_badge_issue(v, person, c, ppayload, id): sign the claims
 * ${c} with the current badge-signing key (version 1 is made on first
 * use), remember the badge id under person ${person} so that revoking the
 * person revokes it, and return the badge string in *${ppayload} and its
 * id in ${id}. The vault does not check the person's state: the caller
 * does. COFFRE_ERR_ARG when a claim is out of its domain (nothing stored),
 * COFFRE_ERR_TOOBIG past 8,000 badges for one person.
 */
COFFRE_API int coffre_vault_badge_issue(struct coffre_vault *v, uint64_t person,
                                        const struct coffre_badge_claims *c,
                                        char **ppayload,
                                        uint8_t id[COFFRE_BADGE_ID_LEN]);

/**
 * coffre_vault_badge_revoke_person(v, person, pn): put every badge issued
 * to ${person} on the revocation list, in one transaction, and bump the
 * list's sequence when any was added; the count added in *${pn} (may be
 * NULL). Idempotent: a second call adds nothing.
 */
COFFRE_API int coffre_vault_badge_revoke_person(struct coffre_vault *v,
                                                uint64_t person, size_t *pn);

/**
 * coffre_vault_badge_trust_list(v, pout, plen): the trust list signed now
 * by the list key: every badge-signing key version whose validity has not
 * ended (the current one, and previous ones until their last badge
 * expires).
 */
COFFRE_API int coffre_vault_badge_trust_list(struct coffre_vault *v,
                                             unsigned char **pout,
                                             size_t *plen);

/**
 * coffre_vault_badge_revocations(v, pout, plen): the revocation list
 * signed now by the list key (issued_at = now: a gate's staleness clock
 * restarts at each fetch).
 */
COFFRE_API int coffre_vault_badge_revocations(struct coffre_vault *v,
                                              unsigned char **pout,
                                              size_t *plen);

/**
 * coffre_vault_badge_rotate(v, pversion): make a new badge-signing key
 * version, which signs from now on; the previous one stays on the trust
 * list until the last badge it signed expires. The trust list's sequence
 * is bumped. New version in *${pversion} (may be NULL). COFFRE_ERR_LIMIT
 * when COFFRE_BADGE_KEYS_MAX versions are still trusted.
 */
COFFRE_API int coffre_vault_badge_rotate(struct coffre_vault *v,
                                         unsigned *pversion);

/**
 * coffre_vault_badge_list_key(v, pk): the list-signing public key (made on
 * first use), which a gate is provisioned with (`coffre-gate init HEX`).
 */
COFFRE_API int coffre_vault_badge_list_key(struct coffre_vault *v,
                                           uint8_t pk[32]);

/** coffre_vault_badge_info(v, info): counters of ${v}'s badges. */
COFFRE_API int coffre_vault_badge_info(struct coffre_vault *v,
                                       struct coffre_vault_badge_info *info);

#ifdef __cplusplus
}
#endif
#endif
