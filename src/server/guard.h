/*
 * The guard against exfiltration (DESIGN section 6, docs/guard.md): per
 * principal token buckets (requests, and persons disclosed per hour and
 * per day), a sliding window of distinct persons disclosed that suspends
 * the principal past its role's threshold, poison records whose touch
 * suspends at once, alerts, and suspensions kept across restarts.
 *
 *   guard_config.c  the "guard" object of the configuration file;
 *   guard.c         windows, buckets, suspensions, alerts (no vault);
 *   poison.c        poison records: planting, loading, custodians' file.
 *
 * Hooks: guard_admit() before a handler (suspended? request rate?) and
 * guard_observe() after it, with the record ids the handler disclosed
 * (guard_disclose()); observe may replace the answer, so that a person
 * past a limit never leaves the server.
 */
#ifndef COFFRE_SRC_GUARD_H
#define COFFRE_SRC_GUARD_H

#include <stdint.h>
#include <stdio.h>

#include "coffre/guard.h"
#include "server.h"

/* Limits of one role or principal; 0 turns a limit off. */
struct guard_limits {
    double rate;             /* requests per second */
    double burst;            /* request bucket size */
    double persons_hour;     /* persons whose personal data is disclosed */
    double persons_day;      /*   ... per hour and per day (token buckets) */
    double window;           /* seconds of the sliding window */
    uint32_t bulk_threshold; /* distinct persons with personal data */
    uint32_t list_threshold; /* distinct persons returned at all */
};

/* Which members of a guard_limits an override sets. */
enum {
    GUARD_SET_RATE = 1u << 0,
    GUARD_SET_BURST = 1u << 1,
    GUARD_SET_HOUR = 1u << 2,
    GUARD_SET_DAY = 1u << 3,
    GUARD_SET_WINDOW = 1u << 4,
    GUARD_SET_BULK = 1u << 5,
    GUARD_SET_LIST = 1u << 6,
};

struct guard_override {
    char name[SRV_NAME_MAX + 1]; /* a principal's name */
    struct guard_limits lim;
    unsigned set; /* GUARD_SET_* */
};

#define GUARD_OVERRIDES_MAX 256
#define GUARD_ARGV_MAX 8

struct guard_config {
    int enabled;
    struct guard_limits role[SRV_ROLE_COUNT];
    unsigned role_set[SRV_ROLE_COUNT];
    struct guard_override over[GUARD_OVERRIDES_MAX];
    size_t nover;
    /* alert_command: argv (no shell), the alert JSON on stdin */
    char alert_argv[GUARD_ARGV_MAX][SRV_PATH_MAX];
    size_t alert_argc;
    unsigned alert_timeout_ms;
    /* poison records: count (-1: one per poison_per live persons, at most
     * poison_max), generator seed, the custodians' file */
    long poison_count;
    unsigned poison_per, poison_max;
    uint64_t poison_seed;
    char poison_file[SRV_PATH_MAX]; /* "" = DATA_DIR/poison-custodians.txt */
    char state_file[SRV_PATH_MAX];  /* "" = DATA_DIR/guard-state.json */
};

/* ---- guard_config.c ---------------------------------------------- */

/** guard_config_defaults(gc): the documented defaults (docs/guard.md). */
void guard_config_defaults(struct guard_config *gc);

/** guard_config_default(): a shared configuration holding the defaults. */
const struct guard_config *guard_config_default(void);

/**
 * guard_config_parse(gc, obj, err, errlen): the "guard" object ${obj} of
 * the configuration over the defaults; unknown keys, wrong types and
 * values out of range fail with COFFRE_ERR_INVALID, the key in ${err}.
 */
int guard_config_parse(struct guard_config *gc, json_t *obj, char *err,
                       size_t errlen);

/** guard_limits_of(gc, who): the limits of principal ${who}. */
struct guard_limits guard_limits_of(const struct guard_config *gc,
                                    const struct srv_principal *who);

/* ---- guard.c ----------------------------------------------------- */

struct guard;

/**
 * guard_new(cfg, gc, pg): the guard of the principals of ${cfg} under
 * ${gc} (not copied: it must outlive the guard). Suspensions saved in the
 * state file are restored. *${pg} NULL when gc->enabled is 0.
 */
int guard_new(const struct srv_config *cfg, const struct guard_config *gc,
              struct guard **pg);
void guard_free(struct guard *g);

/**
 * guard_set_bonus(g, fn, arg): ${fn}(${arg}, name, &expires) gives the
 * persons the granted bulk_read approvals in force add to the quotas and
 * bulk threshold of the principal ${name} (0: none), and the latest of
 * their expiries (unix seconds); asked on every disclosure, outside the
 * guard's locks. NULL: no bonus. No-op if ${g} is NULL.
 */
void guard_set_bonus(struct guard *g,
                     uint64_t (*fn)(void *arg, const char *name,
                                    int64_t *pexpires),
                     void *arg);

/** guard_set_clock(g, now): a clock in seconds for tests (NULL: real). */
void guard_set_clock(struct guard *g, double (*now)(void));

/**
 * guard_set_poison(g, ids, n): the poison record ids (copied, sorted);
 * replaces the previous set.
 */
int guard_set_poison(struct guard *g, const uint64_t *ids, size_t n);

/** guard_is_poison(g, id): 1 if ${id} is a poison record. */
int guard_is_poison(struct guard *g, uint64_t id);

/**
 * guard_admit(g, who, suspended_ok, r): 1 if ${who} may go on; else 0
 * with the answer in ${r}: 403 suspended (unless ${suspended_ok}: a route
 * that holds nothing but the caller's own state, route.c), or 429
 * rate_limited with r->retry_after.
 */
int guard_admit(struct guard *g, const struct srv_principal *who,
                int suspended_ok, struct srv_resp *r);

/** guard_disclose(r, id): the handler disclosed (or touched) person ${id}. */
void guard_disclose(struct srv_resp *r, uint64_t id);

/**
 * guard_observe(g, who, r): account the persons ${r} discloses. A poison
 * record, or a window past its threshold, suspends ${who} (alert, state
 * file) and replaces ${r} by 403 suspended; a person quota exhausted
 * replaces it by 429. Either way the answer's data never leaves.
 */
void guard_observe(struct guard *g, const struct srv_principal *who,
                   struct srv_resp *r);

/**
 * guard_reinstate(g, name, pfound): lift the suspension of the principal
 * named ${name} (or whose certificate fingerprint is the hex ${name})
 * and empty its windows; *${pfound} 0 when no principal is suspended
 * under that name, which is then left as it was, windows included.
 */
int guard_reinstate(struct guard *g, const char *name, int *pfound);

/** guard_suspended(g, name): 1 if principal ${name} is suspended. */
int guard_suspended(struct guard *g, const char *name);

/**
 * guard_self(g, who): ${who}'s own budget as a new JSON object (window,
 * persons in it, thresholds and what is left of them, hour and day
 * quotas, suspended and why); {"enabled": false} without a guard. Names
 * no other principal and no person (GET /v1/whoami).
 */
json_t *guard_self(struct guard *g, const struct srv_principal *who);

/** guard_status(g): suspensions, counters and alerts as a new JSON object. */
json_t *guard_status(struct guard *g);

/** guard_metrics(g, f): the guard's Prometheus lines. */
void guard_metrics(struct guard *g, FILE *f);

/* The shared state's calls (coffre_guard_state_* of coffre/guard.h, set
 * by api.c: guard.c itself links without the vault library). */
struct guard_shared_ops {
    int (*observe)(void *gs, const struct coffre_guard_ask *ask,
                   struct coffre_guard_verdict *out);
    int (*reinstate)(void *gs, const char *name, int *pfound);
    int (*list)(void *gs,
                void (*fn)(void *arg, const struct coffre_guard_principal *p),
                void *arg);
    const char *(*errmsg)(void *gs);
    void (*close)(void *gs);
};

/**
 * guard_set_shared(g, ops, gs): share windows, quotas and suspensions with
 * the other processes of the database through ${gs} (owned by ${g} from
 * now on, closed by ops->close; docs/guard.md "Several processes"): each
 * answer that discloses persons is judged in the database; admission
 * reads the suspensions polled once a second (guard_poll), and those the
 * database returns.
 */
void guard_set_shared(struct guard *g, const struct guard_shared_ops *ops,
                      void *gs);

/** guard_poll(g): the shared suspensions and counts into ${g} now. */
int guard_poll(struct guard *g);

/** guard_tick(g): reap alert commands, killing those past their time;
 * poll the shared state. */
void guard_tick(struct guard *g);

/** guard_api_status(ctx, r): GET /v1/guard/status (admin, custodian,
 * auditor): suspensions, windows, recent alerts; no person. */
void guard_api_status(struct srv_ctx *ctx, struct srv_resp *r);

/** guard_api_reinstate(ctx, req, r): POST /v1/guard/reinstate (custodian):
 * {"principal": NAME or FINGERPRINT}; 404 when it is not suspended. */
void guard_api_reinstate(struct srv_ctx *ctx, const struct srv_req *req,
                         struct srv_resp *r);

/* ---- poison.c ---------------------------------------------------- */

/**
 * guard_poison_sync(ctx): when the vault is unsealed, plant the poison
 * records the configuration asks for that are not there yet, load their
 * ids into the guard and (re)write the custodians' file. Cheap when
 * nothing is to do; called once a second.
 */
void guard_poison_sync(struct srv_ctx *ctx);

/** guard_poison_due(gc, persons, have): how many more to plant. */
unsigned guard_poison_due(const struct guard_config *gc, uint64_t persons,
                          size_t have);

#endif
