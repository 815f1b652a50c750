/* Helpers of the handlers: bodies, arguments, pseudonyms, fetching. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "guard.h"

int
api_body(const struct srv_req *req, struct srv_resp *r, json_t **pobj)
{
    json_error_t jerr;
    *pobj = NULL;
    if (req->body_len == 0) {
        srv_error(r, 400, "missing_body", "a JSON object body is required");
        return -1;
    }
    if (!srv_utf8_valid(req->body, req->body_len)) {
        srv_error(r, 400, "invalid_utf8", "the body is not valid UTF-8");
        return -1;
    }
    json_t *o =
        json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (o == NULL) {
        srv_error(r, 400, "invalid_json", "malformed JSON at line %d: %s",
                  jerr.line, jerr.text);
        return -1;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        srv_error(r, 400, "wrong_type", "the body must be a JSON object");
        return -1;
    }
    *pobj = o;
    return 0;
}

int
api_only_string(json_t *obj, const char *key, struct srv_resp *r,
                const char **pval)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        if (strcmp(k, key) != 0) {
            srv_error(r, 400, "unknown_field", "unknown field %s", k);
            return -1;
        }
    }
    v = json_object_get(obj, key);
    if (v == NULL) {
        srv_error(r, 400, "missing_field", "field %s is required", key);
        return -1;
    }
    if (!json_is_string(v) ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        srv_error(r, 400, "wrong_type", "field %s must be a string", key);
        return -1;
    }
    *pval = json_string_value(v);
    return 0;
}

int
api_resolve(struct srv_ctx *ctx, const struct srv_req *req, const char *param,
            struct srv_resp *r, uint64_t *pid)
{
    int rc = coffre_vault_resolve(ctx->vault, req->who->audience, param, pid);
    if (rc != COFFRE_OK) {
        /* Another audience's pseudonym is indistinguishable from none. */
        srv_error(r, 404, "not_found", "no such person");
        return -1;
    }
    guard_disclose(r, *pid); /* touched: the guard counts it */
    return 0;
}

int
api_fetch_text(struct srv_ctx *ctx, uint64_t id, unsigned classes,
               struct srv_resp *r, char **ptext)
{
    struct coffre_person *p = NULL;
    *ptext = NULL;
    int rc = coffre_vault_get(ctx->vault, id, classes, &p);
    if (rc == COFFRE_OK) {
        rc = coffre_person_to_json(p, classes, ptext);
    }
    coffre_person_free(p);
    if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
        return -1;
    }
    return 0;
}

int
api_fetch(struct srv_ctx *ctx, uint64_t id, unsigned classes,
          struct srv_resp *r, json_t **pjson)
{
    char *text = NULL;
    json_error_t jerr;
    *pjson = NULL;
    if (api_fetch_text(ctx, id, classes | COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC),
                       r, &text) != 0) {
        return -1;
    }
    *pjson = json_loads(text, 0, &jerr);
    coffre_free(text);
    if (*pjson == NULL || !json_is_object(*pjson)) {
        json_decref(*pjson);
        *pjson = NULL;
        srv_error(r, 500, "internal", "record form unreadable");
        return -1;
    }
    return 0;
}

int
api_is_protected(json_t *person)
{
    return json_is_true(json_object_get(person, "protected"));
}

int
api_state_of(json_t *person)
{
    json_t *pub = json_object_get(person, "public");
    const char *s = json_string_value(json_object_get(pub, "state"));
    return s ? coffre_state_parse(s) : -1;
}

int
api_purpose(const struct srv_req *req, struct srv_resp *r)
{
    const char *purpose = srv_query(req, "purpose");
    if (purpose == NULL) {
        if (req->who->role == SRV_ROLE_OFFICE) {
            srv_error(r, 400, "missing_purpose",
                      "the office states a purpose for every read");
            return -1;
        }
        return 0;
    }
    size_t n = strlen(purpose);
    if (n == 0 || n > SRV_PURPOSE_MAX || !srv_utf8_valid(purpose, n)) {
        srv_error(r, 400, "invalid_purpose", "purpose: 1 to %d bytes of UTF-8",
                  SRV_PURPOSE_MAX);
        return -1;
    }
    r->purpose = purpose; /* for the audit entry */
    return 0;
}

int
api_limit(const struct srv_req *req, struct srv_resp *r, size_t *plimit)
{
    const char *s = srv_query(req, "limit");
    *plimit = 50;
    if (s == NULL) {
        return 0;
    }
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || v < 1 || v > SRV_PAGE_MAX) {
        srv_error(r, 400, "invalid_argument", "limit: 1 to %d", SRV_PAGE_MAX);
        return -1;
    }
    *plimit = (size_t)v;
    return 0;
}
