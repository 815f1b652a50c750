/* Helpers shared by the handlers of api.c, persons.c and vetting.c. */
#ifndef COFFRE_SRC_SERVER_API_H
#define COFFRE_SRC_SERVER_API_H

#include "server.h"

/** api_vault_error(r, v, err): the HTTP answer for a vault error. */
void api_vault_error(struct srv_resp *r, struct coffre_vault *v, int err);

/**
 * api_body(req, r, pobj): the request body as a JSON object in *${pobj};
 * 0 on success, -1 with the error answer in ${r} (invalid UTF-8, malformed
 * JSON, duplicate keys, not an object, empty).
 */
int api_body(const struct srv_req *req, struct srv_resp *r, json_t **pobj);

/**
 * api_only_string(obj, key, r, pval): ${obj} must have exactly one member,
 * ${key}, a string; -1 with a 400 answer otherwise.
 */
int api_only_string(json_t *obj, const char *key, struct srv_resp *r,
                    const char **pval);

/** api_resolve(ctx, req, param, r, pid): the caller's pseudonym to an id;
 * -1 with a 404 answer when it is not the caller's. Takes the lock. */
int api_resolve(struct srv_ctx *ctx, const struct srv_req *req,
                const char *param, struct srv_resp *r, uint64_t *pid);

/**
 * api_fetch(ctx, id, classes, r, pjson): decrypt ${classes} of person ${id}
 * (the public class is always added: it carries the protected flag) as a
 * JSON object in *${pjson}; -1 with the error answer in ${r}.
 */
int api_fetch(struct srv_ctx *ctx, uint64_t id, unsigned classes,
              struct srv_resp *r, json_t **pjson);

/** api_fetch_text(ctx, id, classes, r, ptext): as api_fetch, the compact
 * JSON text (freed with coffre_free), exactly ${classes}. */
int api_fetch_text(struct srv_ctx *ctx, uint64_t id, unsigned classes,
                   struct srv_resp *r, char **ptext);

/** api_is_protected(person): the protected flag of a fetched person. */
int api_is_protected(json_t *person);

/** api_state_of(person): the lifecycle state of a fetched person, or -1. */
int api_state_of(json_t *person);

/** api_purpose(req, r): check the purpose argument; -1 with a 400 answer
 * when it is too long, not UTF-8, or missing for the office. */
int api_purpose(const struct srv_req *req, struct srv_resp *r);

/** api_limit(req, r, plimit): the limit argument (default 50). */
int api_limit(const struct srv_req *req, struct srv_resp *r, size_t *plimit);

/** api_cursor(ctx, req, r, pafter): the cursor (a pseudonym) to an id. */
int api_cursor(struct srv_ctx *ctx, const struct srv_req *req,
               struct srv_resp *r, uint64_t *pafter);

void api_persons_post(struct srv_ctx *ctx, const struct srv_req *req,
                      struct srv_resp *r);
void api_persons_list(struct srv_ctx *ctx, const struct srv_req *req,
                      struct srv_resp *r);
void api_person_get(struct srv_ctx *ctx, const struct srv_req *req,
                    const char *param, struct srv_resp *r);
void api_person_patch(struct srv_ctx *ctx, const struct srv_req *req,
                      const char *param, struct srv_resp *r);
void api_person_delete(struct srv_ctx *ctx, const struct srv_req *req,
                       const char *param, struct srv_resp *r);
void api_person_state(struct srv_ctx *ctx, const struct srv_req *req,
                      const char *param, struct srv_resp *r);
void api_vetting_pending(struct srv_ctx *ctx, const struct srv_req *req,
                         struct srv_resp *r);
void api_vetting_verdict(struct srv_ctx *ctx, const struct srv_req *req,
                         const char *param, struct srv_resp *r);

#endif
