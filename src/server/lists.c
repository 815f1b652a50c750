/*
 * Lists of the caller's pseudonyms: exact search by blind index (office)
 * and worklists by state and category; the vetting service's pending
 * applications and its verdicts.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "guard.h"

#define FIND_MAX 100 /* matches of one exact search */

static json_t *
pseudonym_item(struct srv_ctx *ctx, const char *audience, uint64_t id,
               char out[COFFRE_PSEUDONYM_LEN + 1])
{
    int rc = coffre_vault_pseudonym(ctx->vault, audience, id, out);
    return rc == COFFRE_OK ? json_pack("{s:s}", "pseudonym", out) : NULL;
}

static void
search(struct srv_ctx *ctx, const struct srv_req *req, struct srv_resp *r)
{
    const char *doc = srv_query(req, "document_number");
    const char *email = srv_query(req, "email");
    const char *sn = srv_query(req, "surname");
    const char *gn = srv_query(req, "given_names");
    const char *dob = srv_query(req, "birth_date");
    enum coffre_find kind = COFFRE_FIND_NAME_DOB;
    int given = (doc != NULL) + (email != NULL) + (sn || gn || dob);
    if (req->who->role != SRV_ROLE_OFFICE) {
        srv_error(r, 403, "forbidden", "only the office searches");
        return;
    }
    if (given != 1 || srv_query(req, "state") || srv_query(req, "category") ||
        srv_query(req, "cursor") || srv_query(req, "limit") ||
        (!doc && !email && !(sn && gn && dob))) {
        srv_error(r, 400, "invalid_argument",
                  "search by document_number, by email, or by surname, "
                  "given_names and birth_date, alone");
        return;
    }
    if (api_purpose(req, r) != 0) {
        return;
    }
    kind = doc ? COFFRE_FIND_DOCUMENT : email ? COFFRE_FIND_EMAIL : kind;
    uint64_t ids[FIND_MAX];
    size_t n = 0;
    int rc = coffre_vault_find(ctx->vault, kind,
                               doc     ? doc
                               : email ? email
                                       : sn,
                               gn, dob, ids, FIND_MAX, &n);
    if (rc == COFFRE_ERR_ARG) {
        n = 0; /* a value that normalises to nothing matches nobody */
    } else if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
        return;
    }
    json_t *items = json_array();
    char p[COFFRE_PSEUDONYM_LEN + 1];
    for (size_t i = 0; i < n && i < FIND_MAX; i++) {
        json_array_append_new(
            items, pseudonym_item(ctx, req->who->audience, ids[i], p));
        guard_disclose(r, ids[i]);
    }
    srv_json(r, 200, json_pack("{s:o}", "items", items));
}

struct worklist {
    int state;
    const char *category;
    size_t limit;
    uint64_t after;
};

static int
worklist_args(struct srv_ctx *ctx, const struct srv_req *req,
              struct srv_resp *r, struct worklist *w)
{
    const char *s = srv_query(req, "state");
    w->state = -1;
    w->category = srv_query(req, "category");
    if (s != NULL && (w->state = coffre_state_parse(s)) < 0) {
        srv_error(r, 400, "invalid_argument", "state: unknown state");
        return -1;
    }
    if (w->category && (strlen(w->category) > 64 ||
                        !srv_utf8_valid(w->category, strlen(w->category)))) {
        srv_error(r, 400, "invalid_argument", "category: too long");
        return -1;
    }
    /* The printer prints approved persons; the gate keeps the public
     * fields of issued badges for when the network is gone. */
    if ((req->who->role == SRV_ROLE_PRINTER &&
         w->state != COFFRE_STATE_APPROVED) ||
        (req->who->role == SRV_ROLE_GATE &&
         w->state != COFFRE_STATE_BADGE_ISSUED)) {
        srv_error(r, 403, "forbidden",
                  "the printer lists state=approved, the gate "
                  "state=badge_issued");
        return -1;
    }
    return api_limit(req, r, &w->limit) == 0 &&
                   api_cursor(ctx, req, r, &w->after) == 0
               ? 0
               : -1;
}

/* One worklist item, or NULL to skip the person. */
static json_t *
worklist_item(struct srv_ctx *ctx, const struct srv_req *req, uint64_t id,
              struct srv_resp *r)
{
    json_t *person = NULL;
    char p[COFFRE_PSEUDONYM_LEN + 1];
    if (api_fetch(ctx, id, 0, r, &person) != 0) {
        return NULL; /* erased meanwhile */
    }
    int prot = api_is_protected(person);
    if (!srv_policy_listed(req->who, prot)) {
        json_decref(person);
        return NULL;
    }
    srv_policy_filter(person, req->who, prot);
    json_t *item = pseudonym_item(ctx, req->who->audience, id, p);
    if (item != NULL) {
        json_object_set(item, "public", json_object_get(person, "public"));
    }
    json_decref(person);
    return item;
}

static void
worklist(struct srv_ctx *ctx, const struct srv_req *req, struct srv_resp *r)
{
    struct worklist w;
    if (worklist_args(ctx, req, r, &w) != 0) {
        return;
    }
    uint64_t *ids = calloc(w.limit, sizeof(*ids));
    size_t n = 0;
    int rc = COFFRE_ERR_NOMEM;
    if (ids != NULL) {
        rc = coffre_vault_list(ctx->vault, w.state, w.category, w.after, ids,
                               w.limit, &n);
    }
    if (rc != COFFRE_OK) {
        free(ids);
        api_vault_error(r, ctx->vault, rc);
        return;
    }
    json_t *items = json_array();
    struct srv_resp scratch = {0};
    for (size_t i = 0; i < n && i < w.limit; i++) {
        json_t *it = worklist_item(ctx, req, ids[i], &scratch);
        if (it != NULL) {
            json_array_append_new(items, it);
            guard_disclose(r, ids[i]);
        }
    }
    srv_resp_free(&scratch);
    char next[COFFRE_PSEUDONYM_LEN + 1];
    json_t *cursor = json_null();
    if (n == w.limit && n > 0) {
        json_decref(cursor);
        json_t *c = pseudonym_item(ctx, req->who->audience, ids[n - 1], next);
        cursor = c ? json_string(next) : json_null();
        json_decref(c);
    }
    free(ids);
    srv_json(r, 200,
             json_pack("{s:o,s:o}", "items", items, "next_cursor", cursor));
}

void
api_persons_list(struct srv_ctx *ctx, const struct srv_req *req,
                 struct srv_resp *r)
{
    const char *const search_keys[] = {"document_number", "email", "surname",
                                       "given_names", "birth_date"};
    for (size_t i = 0; i < 5; i++) {
        if (srv_query(req, search_keys[i]) != NULL) {
            r->action = "person.search"; /* pseudonyms only, no class */
            search(ctx, req, r);
            return;
        }
    }
    worklist(ctx, req, r);
    r->classes = COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC);
}

/* ---- vetting ----------------------------------------------------- */

/* The fields the law lists for a background check. */
static json_t *
pending_item(json_t *person, const struct srv_principal *who,
             const char *pseudonym)
{
    json_t *pub = json_object_get(person, "public");
    json_t *reason = json_object();
    const char *keys[] = {"category", "organisation", "function"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(pub, keys[i]);
        if (v != NULL) {
            json_object_set(reason, keys[i], v);
        }
    }
    /* The reason for access comes from the public class, which the
     * vetting role otherwise does not see; then the usual filter. */
    srv_policy_filter(person, who, api_is_protected(person));
    json_t *contact = json_object_get(person, "contact");
    return json_pack("{s:s,s:O,s:O*,s:o}", "pseudonym", pseudonym, "identity",
                     json_object_get(person, "identity"), "contact", contact,
                     "reason_for_access", reason);
}

static int
has_verdict(json_t *person)
{
    const char *st = json_string_value(
        json_object_get(json_object_get(person, "vetting"), "status"));
    return st != NULL && strcmp(st, "pending") != 0;
}

/* Add up to ${room} pending items after id ${*pafter}; 0 at the end. */
static size_t
pending_batch(struct srv_ctx *ctx, const struct srv_req *req, json_t *items,
              size_t room, uint64_t *pafter, struct srv_resp *r)
{
    uint64_t ids[64];
    size_t n = 0, added = 0;
    const unsigned want = COFFRE_CLASS_BIT(COFFRE_CLASS_IDENTITY) |
                          COFFRE_CLASS_BIT(COFFRE_CLASS_CONTACT) |
                          COFFRE_CLASS_BIT(COFFRE_CLASS_VETTING);
    int rc = coffre_vault_list(ctx->vault, COFFRE_STATE_VETTING, NULL, *pafter,
                               ids, 64, &n);
    if (rc != COFFRE_OK || n == 0) {
        return 0;
    }
    struct srv_resp scratch = {0};
    char p[COFFRE_PSEUDONYM_LEN + 1];
    for (size_t i = 0; i < n && i < 64 && added < room; i++) {
        json_t *person = NULL;
        *pafter = ids[i];
        if (api_fetch(ctx, ids[i], want, &scratch, &person) != 0) {
            continue;
        }
        json_t *pi = NULL;
        if (!has_verdict(person) &&
            (pi = pseudonym_item(ctx, req->who->audience, ids[i], p))) {
            json_array_append_new(items, pending_item(person, req->who, p));
            guard_disclose(r, ids[i]);
            added++;
        }
        json_decref(pi);
        json_decref(person);
    }
    srv_resp_free(&scratch);
    return n;
}

void
api_vetting_pending(struct srv_ctx *ctx, const struct srv_req *req,
                    struct srv_resp *r)
{
    size_t limit = 0;
    uint64_t after = 0;
    if (api_limit(req, r, &limit) != 0 || api_cursor(ctx, req, r, &after)) {
        return;
    }
    srv_sweep(ctx, (int64_t)time(NULL));
    r->disclosed_personal = 1; /* identity and contact */
    json_t *items = json_array();
    while (json_array_size(items) < limit &&
           pending_batch(ctx, req, items, limit - json_array_size(items),
                         &after, r) > 0) {
    }
    json_t *cursor = json_null();
    if (json_array_size(items) == limit) {
        json_t *last = json_array_get(items, limit - 1);
        cursor = json_incref(json_object_get(last, "pseudonym"));
    }
    srv_json(r, 200,
             json_pack("{s:o,s:o}", "items", items, "next_cursor", cursor));
    /* identity, address, and the reason for access from public */
    r->classes = COFFRE_CLASS_BIT(COFFRE_CLASS_IDENTITY) |
                 COFFRE_CLASS_BIT(COFFRE_CLASS_CONTACT) |
                 COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC);
}

static int
verdict_patch(const char *verdict, const struct srv_principal *who,
              struct srv_resp *r, struct coffre_person **pp)
{
    char when[32];
    struct coffre_diag diag;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *o = json_pack("{s:{s:s,s:s,s:s}}", "vetting", "status", verdict,
                          "decided_at", when, "decided_by", who->name);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    int rc = s ? COFFRE_OK : COFFRE_ERR_NOMEM;
    if (rc == COFFRE_OK) {
        rc = coffre_person_from_json(s, strlen(s), pp, &diag);
    }
    srv_jfree(s);
    if (rc != COFFRE_OK) {
        srv_error(r, 500, "internal", "cannot record the verdict");
        return -1;
    }
    return 0;
}

void
api_vetting_verdict(struct srv_ctx *ctx, const struct srv_req *req,
                    const char *param, struct srv_resp *r)
{
    json_t *body = NULL, *person = NULL;
    const char *verdict = NULL;
    struct coffre_person *patch = NULL;
    uint64_t id = 0;
    if (api_body(req, r, &body) != 0 ||
        api_only_string(body, "verdict", r, &verdict) != 0) {
        goto out;
    }
    int fav = strcmp(verdict, "favourable") == 0;
    if (!fav && strcmp(verdict, "unfavourable") != 0) {
        srv_error(r, 400, "invalid_field",
                  "verdict: favourable or unfavourable");
        goto out;
    }
    srv_sweep(ctx, (int64_t)time(NULL));
    if (api_resolve(ctx, req, param, r, &id) != 0 ||
        api_fetch(ctx, id, COFFRE_CLASS_BIT(COFFRE_CLASS_VETTING), r,
                  &person) != 0) {
        goto out;
    }
    if (api_state_of(person) != COFFRE_STATE_VETTING || has_verdict(person)) {
        srv_error(r, 409, "conflict", "no vetting request awaits a verdict");
        goto out;
    }
    if (verdict_patch(verdict, req->who, r, &patch) != 0) {
        goto out;
    }
    int rc = coffre_vault_update(ctx->vault, id, patch);
    if (rc == COFFRE_OK && !fav) {
        rc = coffre_vault_set_state(ctx->vault, id, COFFRE_STATE_REFUSED);
    }
    if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
        goto out;
    }
    srv_json(r, 200,
             json_pack("{s:s,s:s}", "pseudonym", param, "verdict", verdict));
    r->classes = COFFRE_CLASS_BIT(COFFRE_CLASS_VETTING); /* written */
out:
    coffre_person_free(patch);
    json_decref(person);
    json_decref(body);
}
