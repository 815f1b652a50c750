/*
 * Lists of the caller's pseudonyms: exact search by blind index (office)
 * and worklists by state and category; the vetting service's pending
 * applications and its verdicts. Worklists and the pending queue are
 * paged by page.c, which keeps the list promises.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "guard.h"

#define FIND_MAX 100 /* matches of one exact search */
/* due_within: at most a year ahead, and at most DUE_MAX - 1 persons due
 * in it (8 bytes each: 512 KiB for the request's life). */
#define DUE_HORIZON_MAX 31536000
#define DUE_MAX 65536

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

static int
worklist_args(struct srv_ctx *ctx, const struct srv_req *req,
              struct srv_resp *r, struct api_page *pg)
{
    const char *s = srv_query(req, "state");
    pg->state = -1;
    pg->category = srv_query(req, "category");
    if (s != NULL && (pg->state = coffre_state_parse(s)) < 0) {
        srv_error(r, 400, "invalid_argument", "state: unknown state");
        return -1;
    }
    if (pg->category && (strlen(pg->category) > 64 ||
                         !srv_utf8_valid(pg->category, strlen(pg->category)))) {
        srv_error(r, 400, "invalid_argument", "category: too long");
        return -1;
    }
    /* The printer prints approved persons; the gate keeps the public
     * fields of issued badges for when the network is gone. */
    if ((req->who->role == SRV_ROLE_PRINTER &&
         pg->state != COFFRE_STATE_APPROVED) ||
        (req->who->role == SRV_ROLE_GATE &&
         pg->state != COFFRE_STATE_BADGE_ISSUED)) {
        srv_error(r, 403, "forbidden",
                  "the printer lists state=approved, the gate "
                  "state=badge_issued");
        return -1;
    }
    return api_page_args(ctx, req, r, pg);
}

/* A worklist item: the pseudonym and what the caller may see of public. */
static json_t *
worklist_item(json_t *person, const char *pseudonym, json_t *extra)
{
    (void)extra;
    return json_pack("{s:s,s:O*}", "pseudonym", pseudonym, "public",
                     json_object_get(person, "public"));
}

/* due_within=SECONDS: the persons in vetting whose deadline falls before
 * now + SECONDS (passed ones included, until the sweep refuses them),
 * from the store's deadline index (coffre_vault_due); into *${pids}
 * (malloc'd) or left NULL without the argument. 0, or -1 with the
 * answer. */
static int
due_args(struct srv_ctx *ctx, const struct srv_req *req, struct srv_resp *r,
         struct api_page *pg, uint64_t **pids)
{
    const char *s = srv_query(req, "due_within");
    char *end = NULL;
    *pids = NULL;
    if (s == NULL) {
        return 0;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || strlen(s) > 10 || *end != '\0' || v < 1 ||
        v > DUE_HORIZON_MAX) {
        srv_error(r, 400, "invalid_argument", "due_within: 1 to %d seconds",
                  DUE_HORIZON_MAX);
        return -1;
    }
    if (pg->state != COFFRE_STATE_VETTING || pg->category != NULL) {
        srv_error(r, 400, "invalid_argument",
                  "due_within lists state=vetting, without a category");
        return -1;
    }
    size_t n = 0;
    uint64_t *ids = malloc(DUE_MAX * sizeof(*ids));
    int rc = ids == NULL ? COFFRE_ERR_NOMEM
                         : coffre_vault_due(ctx->vault, COFFRE_DUE_VETTING,
                                            (int64_t)time(NULL) + (int64_t)v,
                                            ids, DUE_MAX, &n);
    if (rc == COFFRE_OK && n >= DUE_MAX) {
        srv_error(r, 409, "conflict",
                  "more than %d persons are due within that horizon: ask a "
                  "shorter one",
                  DUE_MAX - 1);
        rc = -1;
    } else if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
    }
    if (rc != COFFRE_OK) {
        free(ids);
        return -1;
    }
    pg->list = "persons/due";
    pg->only = ids;
    pg->nonly = n;
    *pids = ids;
    return 0;
}

static void
worklist(struct srv_ctx *ctx, const struct srv_req *req, struct srv_resp *r)
{
    struct api_page pg = {.list = "persons", .item = worklist_item};
    uint64_t *due = NULL;
    /* The list's name is set before its cursor is opened. */
    pg.list = srv_query(req, "due_within") ? "persons/due" : "persons";
    if (worklist_args(ctx, req, r, &pg) == 0 &&
        due_args(ctx, req, r, &pg, &due) == 0) {
        api_page_answer(ctx, req, &pg, r);
    }
    free(due);
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

static int
has_verdict(json_t *person)
{
    const char *st = json_string_value(
        json_object_get(json_object_get(person, "vetting"), "status"));
    return st != NULL && strcmp(st, "pending") != 0;
}

/* The reason for access, which the law lists for a background check:
 * from the public class, which the vetting role otherwise does not see.
 * A decided application is left out. */
static json_t *
pending_reason(json_t *person, int *pskip)
{
    json_t *pub = json_object_get(person, "public");
    json_t *reason = json_object();
    const char *keys[] = {"category", "organisation", "function"};
    *pskip = has_verdict(person);
    for (size_t i = 0; reason != NULL && i < 3; i++) {
        json_t *v = json_object_get(pub, keys[i]);
        if (v != NULL) {
            json_object_set(reason, keys[i], v);
        }
    }
    return reason;
}

/* The fields the law lists for a background check. */
static json_t *
pending_item(json_t *person, const char *pseudonym, json_t *reason)
{
    return json_pack("{s:s,s:O,s:O*,s:O}", "pseudonym", pseudonym, "identity",
                     json_object_get(person, "identity"), "contact",
                     json_object_get(person, "contact"), "reason_for_access",
                     reason);
}

void
api_vetting_pending(struct srv_ctx *ctx, const struct srv_req *req,
                    struct srv_resp *r)
{
    struct api_page pg = {
        .list = "vetting/pending",
        .state = COFFRE_STATE_VETTING,
        .classes = COFFRE_CLASS_BIT(COFFRE_CLASS_IDENTITY) |
                   COFFRE_CLASS_BIT(COFFRE_CLASS_CONTACT) |
                   COFFRE_CLASS_BIT(COFFRE_CLASS_VETTING),
        .before = pending_reason,
        .item = pending_item,
    };
    if (api_page_args(ctx, req, r, &pg) != 0) {
        return;
    }
    srv_sweep(ctx, (int64_t)time(NULL));
    r->disclosed_personal = 1; /* identity and contact */
    api_page_answer(ctx, req, &pg, r);
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
    /* The verdict and a refusal's state in one transaction. */
    int rc = coffre_vault_verdict(ctx->vault, id, patch, !fav);
    if (rc == COFFRE_ERR_STATE) {
        srv_error(r, 409, "conflict", "no vetting request awaits a verdict");
        goto out;
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
