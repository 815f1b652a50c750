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

/* ---- the guard's state shared by several processes --------------------
 * On a PostgreSQL store every `coffre server` on the database shares the
 * guard's windows, person quotas and suspensions (docs/guard.md "Several
 * processes"): one short round trip per answer that discloses persons.
 * On SQLite there is none: the server keeps them in memory and its state
 * file, as before. */

struct coffre_guard_state;

/* One answer to account: the persons it discloses and the limits. */
struct coffre_guard_ask {
    const char *principal; /* the principal's name */
    const uint64_t *ids;   /* record ids disclosed or touched */
    size_t n;
    int personal;        /* beyond class public: counts in the bulk window */
    const char *suspend; /* non-NULL: suspend now for this reason */
    uint64_t list_threshold, bulk_threshold; /* 0: off */
    double window;                           /* seconds */
    double persons_hour, persons_day;        /* quotas, 0: off */
    uint64_t bonus_left; /* approved extra persons left to pay a shortage */
};

/* Its outcome. */
struct coffre_guard_verdict {
    char reason[32]; /* "" or why the principal is suspended */
    int fresh;       /* 1: this answer suspended it */
    int64_t since;   /* unix time of the suspension */
    unsigned wait;   /* > 0: quota exhausted, retry after that many s */
    uint64_t seen, threshold; /* the count that tripped, and its limit */
    uint64_t paid;            /* persons the approvals paid */
};

/* A principal as the shared state knows it. */
struct coffre_guard_principal {
    const char *name;
    int suspended;
    int64_t since;
    const char *reason;
    uint64_t personal, listed; /* distinct persons in the windows */
};

/**
 * coffre_guard_state_open(v, password_file, pgs): a connection of its own
 * to the store of ${v} for the guard (${password_file} as for the store,
 * may be NULL), its tables created if need be; *${pgs} NULL (and
 * COFFRE_OK) when the store keeps no guard state (SQLite). Sealed or not.
 */
COFFRE_API int coffre_guard_state_open(struct coffre_vault *v,
                                       const char *password_file,
                                       struct coffre_guard_state **pgs);

/** coffre_guard_state_close(gs): close; NULL is a no-op. */
COFFRE_API void coffre_guard_state_close(struct coffre_guard_state *gs);

/**
 * coffre_guard_state_observe(gs, ask, out): account ${ask} atomically for
 * every process: a principal suspended already gets its reason back; a
 * window past its threshold (or ask->suspend) suspends it (out->fresh);
 * a quota short of persons gives out->wait; else the persons enter the
 * windows and the quotas. Thread-safe. COFFRE_ERR_STORE or
 * COFFRE_ERR_UNAVAILABLE when the database cannot answer (the caller
 * discloses nothing then); the message in coffre_guard_state_errmsg.
 */
COFFRE_API int coffre_guard_state_observe(struct coffre_guard_state *gs,
                                          const struct coffre_guard_ask *ask,
                                          struct coffre_guard_verdict *out);

/**
 * coffre_guard_state_reinstate(gs, name, pfound): lift the suspension of
 * ${name} and empty its windows; *${pfound} 0 if it was not suspended.
 */
COFFRE_API int coffre_guard_state_reinstate(struct coffre_guard_state *gs,
                                            const char *name, int *pfound);

/**
 * coffre_guard_state_list(gs, fn, arg): ${fn}(${arg}, p) for every
 * principal the shared state holds (the strings live during the call).
 */
COFFRE_API int coffre_guard_state_list(
    struct coffre_guard_state *gs,
    void (*fn)(void *arg, const struct coffre_guard_principal *p), void *arg);

/** coffre_guard_state_errmsg(gs): the last failure, never a person. */
COFFRE_API const char *
coffre_guard_state_errmsg(const struct coffre_guard_state *gs);

#ifdef __cplusplus
}
#endif
#endif
