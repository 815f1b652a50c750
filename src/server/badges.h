/* The badge routes of the server (docs/badge.md, docs/server.md). */
#ifndef COFFRE_SRC_SERVER_BADGES_H
#define COFFRE_SRC_SERVER_BADGES_H

#include "server.h"

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
