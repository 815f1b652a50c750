/*
 * coffre guard: the vault's side of the poison (canary) records of DESIGN
 * section 6 (docs/guard.md). Poison persons are generated like real ones
 * (coffre_gen, a seed of their own), stored like real ones, and their
 * record ids are kept in the vault sealed under a key wrapped by the root
 * key, so that only an unsealed vault (and the custodians' file the
 * server writes) knows which they are.
 */
#ifndef COFFRE_GUARD_H
#define COFFRE_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/coffre.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most poison records one vault holds. */
#define COFFRE_POISON_MAX 4096u

/**
 * coffre_vault_poison_plant(v, seed, count, pn): generate ${count} more
 * poison persons from the generator seeded with ${seed} (continuing where
 * the previous call stopped), store them and add their ids to the vault's
 * sealed poison list. They are left in states no worklist of normal work
 * asks for (refused, revoked, expired) and carry no source key, like a
 * person submitted through the API. *${pn} (may be NULL) receives how many
 * were planted. COFFRE_ERR_SEALED while sealed, COFFRE_ERR_LIMIT past
 * COFFRE_POISON_MAX.
 */
COFFRE_API int coffre_vault_poison_plant(struct coffre_vault *v, uint64_t seed,
                                         unsigned count, unsigned *pn);

/**
 * coffre_vault_poison_list(v, ids, cap, pn): the poison record ids, at most
 * ${cap} of them in ${ids} (ascending), their number in *${pn} (0 when none
 * were planted). COFFRE_ERR_SEALED while sealed, COFFRE_ERR_CRYPTO if the
 * sealed list does not authenticate.
 */
COFFRE_API int coffre_vault_poison_list(struct coffre_vault *v, uint64_t *ids,
                                        size_t cap, size_t *pn);

#ifdef __cplusplus
}
#endif
#endif
