/* Handlers of /v1/persons: submit, read, patch, erase, transitions. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "approval.h"
#include "badges.h"
#include "guard.h"

static const char *const class_keys[COFFRE_CLASS_COUNT] = {
    "public", "identity", "contact", "document", "photo", "vetting",
};

/*
 * Check the top-level members of a submitted or patched person against
 * what ${role} may write; 0 or -1 with the answer in ${r}. The lifecycle
 * state moves only through the state route; "protected" and "source_key"
 * are set at submission only.
 */
static int
check_write(json_t *body, int role, int patch, struct srv_resp *r)
{
    unsigned allowed = srv_policy_writable(role, patch);
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        int cls = coffre_class_parse(key);
        if (cls >= 0 && !(allowed & COFFRE_CLASS_BIT(cls))) {
            srv_error(r, 403, "forbidden_class",
                      "class %s is not writable by role %s", key,
                      srv_role_name(role));
            return -1;
        }
        if (cls < 0 && (patch || (strcmp(key, "protected") != 0 &&
                                  strcmp(key, "source_key") != 0))) {
            srv_error(r, 400, "unknown_field", "unknown or immutable field %s",
                      key);
            return -1;
        }
    }
    json_t *state = json_object_get(json_object_get(body, "public"), "state");
    if (state != NULL && (patch || !json_is_string(state) ||
                          strcmp(json_string_value(state), "submitted") != 0)) {
        srv_error(r, 400, "immutable_field",
                  "public.state: changes go through POST .../state");
        return -1;
    }
    return 0;
}

/* Parse the (checked) JSON into a person; -1 with a 400/413 answer. */
static int
to_person(json_t *body, struct srv_resp *r, struct coffre_person **pp)
{
    struct coffre_diag diag;
    memset(&diag, 0, sizeof(diag));
    char *text = json_dumps(body, JSON_COMPACT);
    if (text == NULL) {
        srv_error(r, 500, "internal", "out of memory");
        return -1;
    }
    int rc = coffre_person_from_json(text, strlen(text), pp, &diag);
    srv_jfree(text);
    if (rc == COFFRE_ERR_TOOBIG) {
        srv_error(r, 413, "too_large", "the person is over its size cap");
    } else if (rc != COFFRE_OK) {
        diag.field[sizeof(diag.field) - 1] = '\0';
        diag.rule[sizeof(diag.rule) - 1] = '\0';
        srv_error(r, 400, "invalid_record", "%s: %s", diag.field, diag.rule);
    }
    return rc == COFFRE_OK ? 0 : -1;
}

/* An Idempotency-Key header: 1 to SRV_IDEM_MAX visible ASCII characters;
 * 0 without one, -1 with a 400 answer. */
#define SRV_IDEM_MAX 128
static int
idem_key(const struct srv_req *req, struct srv_resp *r, char *out, size_t cap,
         size_t *plen)
{
    const char *k = req->idem_key;
    size_t n = k != NULL ? strlen(k) : 0, name = strlen(req->who->name);

    *plen = 0;
    if (k == NULL) {
        return 0;
    }
    for (size_t i = 0; i < n && i <= SRV_IDEM_MAX; i++) {
        if (k[i] < 0x21 || k[i] > 0x7e) {
            n = 0;
        }
    }
    if (n == 0 || n > SRV_IDEM_MAX || name + 1 + n > cap) {
        srv_error(r, 400, "invalid_header",
                  "Idempotency-Key: 1 to %d visible ASCII characters",
                  SRV_IDEM_MAX);
        return -1;
    }
    /* the principal's own: another principal's same key is another key */
    memcpy(out, req->who->name, name + 1);
    memcpy(out + name + 1, k, n);
    *plen = name + 1 + n;
    return 1;
}

void
api_persons_post(struct srv_ctx *ctx, const struct srv_req *req,
                 struct srv_resp *r)
{
    char key[SRV_NAME_MAX + 2 + SRV_IDEM_MAX];
    size_t keylen = 0;
    int keyed;
    json_t *body = NULL;
    struct coffre_person *p = NULL;
    if (api_body(req, r, &body) != 0 ||
        check_write(body, req->who->role, 0, r) != 0) {
        goto out;
    }
    if (!json_is_object(json_object_get(body, "public")) ||
        !json_is_object(json_object_get(body, "identity"))) {
        srv_error(r, 400, "missing_field",
                  "an application carries public and identity");
        goto out;
    }
    if ((keyed = idem_key(req, r, key, sizeof(key), &keylen)) < 0 ||
        to_person(body, r, &p) != 0) {
        goto out;
    }
    uint64_t id = 0;
    int created = 0;
    char pseudo[COFFRE_PSEUDONYM_LEN + 1];
    /* The source key is the submission's idempotency key: a retry after
     * a lost answer stores nothing twice (docs/server.md). */
    int rc = keyed ? coffre_vault_put_keyed(ctx->vault, p, key, keylen, &id,
                                            &created)
                   : coffre_vault_put_once(ctx->vault, p, &id, &created);
    if (rc == COFFRE_OK) {
        rc = coffre_vault_pseudonym(ctx->vault, req->who->audience, id, pseudo);
    }
    if (rc == COFFRE_ERR_EXISTS) {
        srv_error(r, 409, "conflict",
                  keyed ? "the Idempotency-Key or the source_key already "
                          "names a different application"
                        : "source_key already names a different "
                          "application");
        goto out;
    }
    if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
        goto out;
    }
    srv_json(r, created ? 201 : 200,
             json_pack("{s:s,s:b}", "pseudonym", pseudo, "created", created));
    /* The audit entry names the new pseudonym and the classes written. */
    memcpy(r->pseudonym, pseudo, sizeof(r->pseudonym));
    r->classes = created ? coffre_person_classes(p) : 0;
    r->action = created ? NULL : "person.resubmit";
out:
    coffre_person_free(p);
    json_decref(body);
}

/* The classes of the fields argument; -1 with a 400 answer. */
static int
parse_fields(const struct srv_req *req, struct srv_resp *r, unsigned *pmask)
{
    const char *s = srv_query(req, "fields");
    char name[16];
    *pmask = 0;
    if (s == NULL || *s == '\0') {
        srv_error(r, 400, "missing_argument", "fields: a list of classes");
        return -1;
    }
    while (*s != '\0') {
        size_t n = strcspn(s, ",");
        int cls = -1;
        if (n > 0 && n < sizeof(name)) {
            memcpy(name, s, n);
            name[n] = '\0';
            cls = coffre_class_parse(name);
        }
        if (cls < 0) {
            srv_error(r, 400, "invalid_argument", "fields: unknown class");
            return -1;
        }
        *pmask |= COFFRE_CLASS_BIT(cls);
        s += n + (s[n] == ',');
    }
    return 0;
}

/* 403 naming the first class of ${want} outside ${may}; 0 when none. */
static int
deny_classes(unsigned want, unsigned may, const struct srv_principal *who,
             const char *why, struct srv_resp *r)
{
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        if ((want & COFFRE_CLASS_BIT(c)) && !(may & COFFRE_CLASS_BIT(c))) {
            srv_error(r, 403, "forbidden_class",
                      "class %s is not readable "
                      "by role %s%s",
                      coffre_class_name(c), srv_role_name(who->role), why);
            return -1;
        }
    }
    return 0;
}

static void
strip_unasked(json_t *person, unsigned want)
{
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        if (!(want & COFFRE_CLASS_BIT(c))) {
            json_object_del(person, class_keys[c]);
        }
    }
    if (!(want & COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC))) {
        json_object_del(person, "source_key");
        json_object_del(person, "protected");
    }
}

/*
 * The office reading classes that include public needs no filtering (its
 * row of the table is all full, and the public class carries the
 * protected flag): the record's JSON text is answered as it is, without
 * parsing it again. The flag is found in the text: in compact JSON an
 * unescaped `"protected":true` can only be that member, since quotes
 * inside strings are escaped.
 */
static int
office_fast_path(struct srv_ctx *ctx, const struct srv_principal *who,
                 const char *param, uint64_t id, unsigned want,
                 struct srv_resp *r)
{
    char *text = NULL;
    if (api_fetch_text(ctx, id, want, r, &text) != 0) {
        return 0;
    }
    int prot = strstr(text, "\"protected\":true") != NULL;
    if (deny_classes(want, srv_policy_readable(who, prot), who,
                     " on a protected record", r) == 0) {
        char *body = NULL;
        int n = asprintf(&body, "{\"pseudonym\":\"%s\",\"person\":%s}", param,
                         text);
        if (n < 0) {
            srv_error(r, 500, "internal", "out of memory");
        } else {
            srv_resp_free(r);
            r->body = body;
            r->status = 200;
            r->ctype = "application/json";
        }
    }
    coffre_free(text);
    return 0;
}

void
api_person_get(struct srv_ctx *ctx, const struct srv_req *req,
               const char *param, struct srv_resp *r)
{
    const struct srv_principal *who = req->who;
    unsigned want = 0;
    uint64_t id = 0;
    json_t *person = NULL;
    if (parse_fields(req, r, &want) != 0 || api_purpose(req, r) != 0 ||
        deny_classes(want, srv_policy_readable(who, 0), who, "", r) != 0 ||
        api_resolve(ctx, req, param, r, &id) != 0) {
        goto out;
    }
    /* Classes beyond public are personal data: the guard's bulk window
     * and quotas count this person. */
    r->disclosed_personal =
        (want & ~COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC)) != 0;
    if (who->role == SRV_ROLE_OFFICE &&
        (want & COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC))) {
        office_fast_path(ctx, who, param, id, want, r);
        goto out;
    }
    if (api_fetch(ctx, id, want, r, &person) != 0) {
        goto out;
    }
    int prot = api_is_protected(person);
    if (deny_classes(want, srv_policy_readable(who, prot), who,
                     " on a protected record", r) != 0) {
        goto out;
    }
    strip_unasked(person, want);
    srv_policy_filter(person, who, prot);
    srv_json(r, 200,
             json_pack("{s:s,s:O}", "pseudonym", param, "person", person));
out:
    r->classes = want; /* disclosed, when the answer is a success */
    json_decref(person);
}

/*
 * A patch that carries the public class must not reset what the record
 * holds beside it: copy the current state, protected flag and source key
 * in before parsing.
 */
static int
keep_record_members(struct srv_ctx *ctx, uint64_t id, json_t *body,
                    struct srv_resp *r)
{
    json_t *pub = json_object_get(body, "public");
    json_t *cur = NULL;
    if (pub == NULL) {
        return 0;
    }
    if (!json_is_object(pub)) {
        srv_error(r, 400, "wrong_type", "public must be an object");
        return -1;
    }
    if (api_fetch(ctx, id, 0, r, &cur) != 0) {
        return -1;
    }
    json_t *st = json_object_get(json_object_get(cur, "public"), "state");
    if (st != NULL) {
        json_object_set(pub, "state", st);
    }
    const char *keep[] = {"protected", "source_key"};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(cur, keep[i]);
        if (v != NULL) {
            json_object_set(body, keep[i], v);
        }
    }
    json_decref(cur);
    return 0;
}

void
api_person_patch(struct srv_ctx *ctx, const struct srv_req *req,
                 const char *param, struct srv_resp *r)
{
    json_t *body = NULL;
    struct coffre_person *p = NULL;
    uint64_t id = 0;
    if (api_body(req, r, &body) != 0 ||
        check_write(body, req->who->role, 1, r) != 0 ||
        api_resolve(ctx, req, param, r, &id) != 0 ||
        keep_record_members(ctx, id, body, r) != 0 ||
        to_person(body, r, &p) != 0) {
        goto out;
    }
    if (coffre_person_classes(p) == 0) {
        srv_error(r, 400, "missing_field", "a patch carries some class");
        goto out;
    }
    int rc = coffre_vault_update(ctx->vault, id, p);
    if (rc == COFFRE_ERR_STATE) {
        /* docs/formats.md, "Changes after submission" */
        srv_error(r, 409, "revetting_refused", "%s",
                  coffre_vault_errmsg(ctx->vault));
        goto out;
    }
    if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
        goto out;
    }
    srv_json(r, 200, json_pack("{s:s,s:b}", "pseudonym", param, "updated", 1));
    r->classes = coffre_person_classes(p); /* written */
out:
    coffre_person_free(p);
    json_decref(body);
}

void
api_person_delete(struct srv_ctx *ctx, const struct srv_req *req,
                  const char *param, struct srv_resp *r)
{
    uint64_t id = 0;
    if (api_resolve(ctx, req, param, r, &id) != 0) {
        return;
    }
    int rc = coffre_vault_erase(ctx->vault, id);
    if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
        return;
    }
    /* An erasure request gets its signed receipt (docs/approvals.md),
     * naming the office's pseudonym; erased without one is said so. */
    char rid[COFFRE_RECEIPT_ID_LEN + 1];
    const char *one[] = {param};
    int rrc = srv_erasure_receipt(ctx, req->who->name, "request",
                                  req->who->audience, one, 1, NULL, rid);
    srv_json(r, 200,
             json_pack("{s:s,s:b,s:s?}", "pseudonym", param, "erased", 1,
                       "receipt", rrc == COFFRE_OK ? rid : NULL));
}

/* The office's transitions: refusal is the vetting service's (a verdict
 * or the deadline), erasure is DELETE. */
static int
office_target(const char *name, struct srv_resp *r)
{
    int to = coffre_state_parse(name);
    if (to < 0) {
        srv_error(r, 400, "invalid_field", "state: unknown state");
        return -1;
    }
    if (to == COFFRE_STATE_REFUSED || to == COFFRE_STATE_ERASED ||
        to == COFFRE_STATE_SUBMITTED) {
        srv_error(r, 403, "forbidden",
                  "the office may not move a person "
                  "to this state");
        return -1;
    }
    return to;
}

/* Approval needs a favourable verdict; 0 or -1 with the answer. */
static int
check_approval(struct srv_ctx *ctx, uint64_t id, struct srv_resp *r)
{
    json_t *p = NULL;
    if (api_fetch(ctx, id, COFFRE_CLASS_BIT(COFFRE_CLASS_VETTING), r, &p)) {
        return -1;
    }
    const char *st = json_string_value(
        json_object_get(json_object_get(p, "vetting"), "status"));
    int ok = st != NULL && strcmp(st, "favourable") == 0;
    json_decref(p);
    if (!ok) {
        srv_error(r, 409, "conflict", "approval needs a favourable verdict");
        return -1;
    }
    return 0;
}

void
api_person_state(struct srv_ctx *ctx, const struct srv_req *req,
                 const char *param, struct srv_resp *r)
{
    json_t *body = NULL;
    const char *name = NULL;
    uint64_t id = 0;
    int to = -1;
    if (api_body(req, r, &body) != 0 ||
        api_only_string(body, "state", r, &name) != 0 ||
        (to = office_target(name, r)) < 0 ||
        api_resolve(ctx, req, param, r, &id) != 0) {
        goto out;
    }
    if (to == COFFRE_STATE_APPROVED && check_approval(ctx, id, r) != 0) {
        goto out;
    }
    /* Badges first (badges.c): a revoked person whose badges still
     * opened gates would be the worse failure. */
    if (to == COFFRE_STATE_REVOKED && srv_badges_revoke(ctx, id, r) != 0) {
        goto out;
    }
    int rc = coffre_vault_set_state(ctx->vault, id, to);
    if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
        goto out;
    }
    srv_json(r, 200,
             json_pack("{s:s,s:s}", "pseudonym", param, "state",
                       coffre_state_name(to)));
out:
    json_decref(body);
}
