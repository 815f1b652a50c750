/* The badge routes of the server (docs/badge.md, docs/server.md). */
#ifndef COFFRE_SRC_SERVER_BADGES_H
#define COFFRE_SRC_SERVER_BADGES_H

#include "coffre/badge.h"
#include "server.h"

#define BADGE_MAX_ITEMS 16 /* venues or zones on a badge (docs/badge.md) */

/* Claims built from a person's JSON; the strings point into that JSON. */
struct badge_claims_src {
    struct coffre_badge_claims c;
    char name[64];
    char subject[COFFRE_PSEUDONYM_LEN + 1];
    const char *venues[BADGE_MAX_ITEMS];
    const char *zones[BADGE_MAX_ITEMS];
};

/**
 * badge_claims_from_json(person, now, s, pwhy): the claims of ${person}
 * (its public and identity classes as JSON) issued at ${now}, subject
 * unset; -1 with the reason in *${pwhy} (static) when its data does not
 * fit on a badge or its validity is over. Shared with `coffre badge`.
 */
int badge_claims_from_json(json_t *person, int64_t now,
                           struct badge_claims_src *s, const char **pwhy);

/**
 * srv_badges_dispatch(ctx, route, req, param, r): serve the badge route
 * ${route} (R_BADGE_*): issue a badge for the caller's pseudonym ${param},
 * the two signed lists as application/cbor, the list key, key rotation.
 */
void srv_badges_dispatch(struct srv_ctx *ctx, size_t route,
                         const struct srv_req *req, const char *param,
                         struct srv_resp *r);

/**
 * srv_badges_revoke(ctx, id, r): put every badge of person ${id} on the
 * next revocation list; 0, or -1 with a 500 answer in ${r}.
 */
int srv_badges_revoke(struct srv_ctx *ctx, uint64_t id, struct srv_resp *r);

/**
 * srv_badges_dev_files(v, dir): write ${dir}/badge-list.pub, the hex of
 * the list key a gate is provisioned with (dev mode); -1 if sealed.
 */
int srv_badges_dev_files(struct coffre_vault *v, const char *dir);

#endif
