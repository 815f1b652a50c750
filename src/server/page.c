/*
 * Every list of persons the server answers goes through here
 * (docs/server.md, "Lists and cursors"): the records the field policy does
 * not list for the caller are left out before anything of them is used,
 * every record shown is filtered by the field policy and counted by the
 * guard, and the page is continued by an opaque cursor bound to the
 * caller's audience and to the list (route, role, filter), never by a
 * pseudonym. A page is filled up to its limit, so that its size says
 * nothing of the records left out.
 */
#include <string.h>

#include "api.h"
#include "guard.h"

#define PAGE_BATCH 128 /* ids asked of the store at a time */

/* Append ${s} and a NUL to ${buf}; 0 when it does not fit. */
static int
put(unsigned char *buf, size_t cap, size_t *pn, const char *s)
{
    size_t len = strlen(s) + 1;
    if (len > cap - *pn) {
        return 0;
    }
    memcpy(buf + *pn, s, len);
    *pn += len;
    return 1;
}

/*
 * What a cursor of ${pg} is bound to besides the audience: list NUL role
 * NUL state-or-"any" NUL ("=" category | "*") NUL. A category holds no
 * NUL (srv_query values are checked UTF-8 without one). 0 if too long.
 */
static size_t
page_context(const struct api_page *pg, const struct srv_principal *who,
             unsigned char buf[COFFRE_CURSOR_CONTEXT_MAX])
{
    size_t n = 0, cap = COFFRE_CURSOR_CONTEXT_MAX;
    int ok = put(buf, cap, &n, pg->list) &&
             put(buf, cap, &n, srv_role_name(who->role)) &&
             put(buf, cap, &n,
                 pg->state >= 0 ? coffre_state_name(pg->state) : "any") &&
             put(buf, cap, &n, pg->category != NULL ? "=" : "*");
    if (ok && pg->category != NULL) {
        n--; /* the category follows its "=" */
        ok = put(buf, cap, &n, pg->category);
    }
    return ok ? n : 0;
}

int
api_page_args(struct srv_ctx *ctx, const struct srv_req *req,
              struct srv_resp *r, struct api_page *pg)
{
    unsigned char c[COFFRE_CURSOR_CONTEXT_MAX];
    const char *s = srv_query(req, "cursor");
    pg->after = 0;
    if (api_limit(req, r, &pg->limit) != 0) {
        return -1;
    }
    if (s == NULL) {
        return 0;
    }
    size_t clen = page_context(pg, req->who, c);
    int rc = clen == 0
                 ? COFFRE_ERR_ARG
                 : coffre_vault_cursor_open(ctx->vault, req->who->audience, c,
                                            clen, s, &pg->after);
    if (rc == COFFRE_ERR_PARSE || rc == COFFRE_ERR_CRYPTO) {
        srv_error(r, 400, "invalid_argument",
                  "cursor: not a cursor of this list for this caller");
        return -1;
    }
    if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
        return -1;
    }
    return 0;
}

/* The item of record ${id} for the caller, or NULL to leave it out. */
static json_t *
page_item(struct srv_ctx *ctx, const struct srv_req *req,
          const struct api_page *pg, uint64_t id, struct srv_resp *scratch)
{
    json_t *person = NULL, *extra = NULL, *item = NULL;
    char p[COFFRE_PSEUDONYM_LEN + 1];
    int skip = 0;
    if (api_fetch(ctx, id, pg->classes, scratch, &person) != 0) {
        return NULL; /* erased meanwhile */
    }
    int prot = api_is_protected(person);
    if (srv_policy_listed(req->who, prot)) {
        extra = pg->before != NULL ? pg->before(person, &skip) : NULL;
        srv_policy_filter(person, req->who, prot);
        if (!skip && coffre_vault_pseudonym(ctx->vault, req->who->audience, id,
                                            p) == COFFRE_OK) {
            item = pg->item(person, p, extra);
        }
    }
    json_decref(extra);
    json_decref(person);
    return item;
}

/* Fill ${items} from pg->after on; pg->after ends at the last record
 * looked at. The vault's error, or COFFRE_OK. */
static int
page_fill(struct srv_ctx *ctx, const struct srv_req *req, struct api_page *pg,
          json_t *items, struct srv_resp *r)
{
    uint64_t ids[PAGE_BATCH];
    size_t batch = pg->limit < PAGE_BATCH ? pg->limit : PAGE_BATCH, n = 0;
    struct srv_resp scratch = {0};
    int rc = COFFRE_OK;
    for (size_t i = 0; pg->only != NULL && i < pg->nonly &&
                       json_array_size(items) < pg->limit;
         i++) {
        if (pg->only[i] <= pg->after) {
            continue;
        }
        json_t *it = page_item(ctx, req, pg, pg->only[i], &scratch);
        pg->after = pg->only[i];
        if (it != NULL) {
            json_array_append_new(items, it);
            guard_disclose(r, pg->only[i]);
        }
    }
    do {
        if (pg->only != NULL) {
            break;
        }
        rc = coffre_vault_list(ctx->vault, pg->state, pg->category, pg->after,
                               ids, batch, &n);
        for (size_t i = 0; rc == COFFRE_OK && i < n && i < batch &&
                           json_array_size(items) < pg->limit;
             i++) {
            json_t *it = page_item(ctx, req, pg, ids[i], &scratch);
            pg->after = ids[i];
            if (it != NULL) {
                json_array_append_new(items, it);
                guard_disclose(r, ids[i]);
            }
        }
    } while (rc == COFFRE_OK && n == batch &&
             json_array_size(items) < pg->limit);
    srv_resp_free(&scratch);
    return rc;
}

void
api_page_answer(struct srv_ctx *ctx, const struct srv_req *req,
                struct api_page *pg, struct srv_resp *r)
{
    unsigned char c[COFFRE_CURSOR_CONTEXT_MAX];
    char next[COFFRE_CURSOR_LEN + 1];
    size_t disclosed = r->ndisclosed;
    int over = r->disclosed_over;
    json_t *items = json_array();
    int rc =
        items != NULL ? page_fill(ctx, req, pg, items, r) : COFFRE_ERR_NOMEM;
    json_t *cursor = json_null();
    /* A full page goes on after its last item, whatever follows it. */
    if (rc == COFFRE_OK && pg->limit > 0 &&
        json_array_size(items) == pg->limit) {
        size_t clen = page_context(pg, req->who, c);
        rc = clen == 0
                 ? COFFRE_ERR_ARG
                 : coffre_vault_cursor_make(ctx->vault, req->who->audience, c,
                                            clen, pg->after, next);
        json_decref(cursor);
        cursor = rc == COFFRE_OK ? json_string(next) : NULL;
    }
    if (rc != COFFRE_OK || cursor == NULL) {
        json_decref(items);
        json_decref(cursor);
        r->ndisclosed = disclosed; /* nothing of the page was shown */
        r->disclosed_over = over;
        api_vault_error(r, ctx->vault, rc != COFFRE_OK ? rc : COFFRE_ERR_NOMEM);
        return;
    }
    srv_json(r, 200,
             json_pack("{s:o,s:o}", "items", items, "next_cursor", cursor));
}
