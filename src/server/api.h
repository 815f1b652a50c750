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

/*
 * One list of persons (page.c). Every handler that answers a list of
 * persons describes it here and answers with api_page_answer, which is
 * where the list promises are kept (docs/server.md, "Lists and cursors"):
 * records srv_policy_listed leaves out are never looked at further, every
 * record shown goes through srv_policy_filter and is counted by the guard,
 * pages are filled to their limit, and the page goes on with an opaque
 * cursor bound to the caller's audience, its role and this list (list,
 * state, category), never with a pseudonym.
 */
struct api_page {
    const char *list;     /* its name in its cursors: "persons", ... */
    int state;            /* lifecycle state listed, -1: any */
    const char *category; /* category listed, NULL: any */
    unsigned classes;     /* classes decrypted beside public */
    /* The route's own part, read from the record before the field policy
     * (the one exception to it, named in docs/server.md: the vetting
     * queue's reason for access): a new reference for item(), or NULL;
     * *pskip set to leave the record out. NULL: none. */
    json_t *(*before)(json_t *person, int *pskip);
    /* The item from the filtered record, the caller's pseudonym of it and
     * before's result (borrowed); NULL leaves the record out. */
    json_t *(*item)(json_t *person, const char *pseudonym, json_t *extra);
    /* Ascending ids to list instead of the store's list (state and
     * category then unused by the page, still bound in its cursors);
     * NULL: the store's list. */
    const uint64_t *only;
    size_t nonly;
    size_t limit;   /* set by api_page_args */
    uint64_t after; /* set by api_page_args, then the last record seen */
};

/**
 * api_page_args(ctx, req, r, pg): the limit and cursor arguments into
 * ${pg}, whose list, state and category are set already: the cursor must
 * have been made for the caller's audience and role and this very list;
 * 0, or -1 with the answer in ${r} (400 invalid_argument for a cursor
 * that is not one: malformed, altered, another caller's or list's).
 */
int api_page_args(struct srv_ctx *ctx, const struct srv_req *req,
                  struct srv_resp *r, struct api_page *pg);

/**
 * api_page_answer(ctx, req, pg, r): the page of ${pg} after pg->after: up
 * to pg->limit items and next_cursor (null when the list ended before the
 * page was full) as a 200 answer in ${r}, the persons shown disclosed to
 * the guard; or the vault's error, with nothing disclosed.
 */
void api_page_answer(struct srv_ctx *ctx, const struct srv_req *req,
                     struct api_page *pg, struct srv_resp *r);

/** api_whoami(ctx, req, r): GET /v1/whoami, the caller's own principal,
 * role, readable classes, purpose rule and guard budget (whoami.c). */
void api_whoami(struct srv_ctx *ctx, const struct srv_req *req,
                struct srv_resp *r);

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
