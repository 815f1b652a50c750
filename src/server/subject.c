/*
 * The subject-access export of one person (docs/approvals.md): every
 * class of the record (the photo as the base64 of the person form) and
 * every audit entry about that person. Entries name the caller's own
 * pseudonym, so each entry's (audience, pseudonym) is resolved through
 * the vault and compared with the record id. That scans the whole log:
 * about 1 µs per entry, fine at an accreditation file's scale (a million
 * entries: about a second); an index by record would be the next step.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "approval.h"
#include "coffre/audit.h"

/* The audience of an entry's caller: its principal's, by fingerprint,
 * or the role's own for a principal no longer configured. */
static const char *
entry_audience(const struct srv_config *cfg, const struct coffre_audit_entry *e)
{
    unsigned char fp[32];
    if (srv_hex_decode(e->principal, fp, sizeof(fp)) == COFFRE_OK) {
        const struct srv_principal *p = srv_principal_by_fingerprint(cfg, fp);
        if (p != NULL) {
            return p->audience;
        }
    }
    return e->role;
}

static const char *
entry_principal(const struct srv_config *cfg,
                const struct coffre_audit_entry *e)
{
    unsigned char fp[32];
    if (srv_hex_decode(e->principal, fp, sizeof(fp)) == COFFRE_OK) {
        const struct srv_principal *p = srv_principal_by_fingerprint(cfg, fp);
        if (p != NULL) {
            return p->name;
        }
    }
    return e->principal;
}

static json_t *
entry_json(const struct srv_config *cfg, const struct coffre_audit_entry *e,
           uint64_t index)
{
    json_t *classes = json_array();
    for (int c = 0; classes != NULL && c < COFFRE_CLASS_COUNT; c++) {
        if (e->classes & COFFRE_CLASS_BIT(c)) {
            json_array_append_new(classes, json_string(coffre_class_name(c)));
        }
    }
    return json_pack(
        "{s:I,s:I,s:s,s:s,s:s,s:o*,s:s,s:I,s:s}", "index", (json_int_t)index,
        "time_ms", (json_int_t)e->time_ms, "principal", entry_principal(cfg, e),
        "role", e->role, "action", e->action, "classes", classes, "purpose",
        e->purpose, "status", (json_int_t)e->status, "outcome", e->outcome);
}

/* The entries about record ${id}, oldest first; NULL when the log
 * cannot be read. */
static json_t *
accesses(struct srv_ctx *ctx, struct coffre_audit *a, uint64_t id)
{
    unsigned char buf[COFFRE_AUDIT_ENTRY_MAX];
    struct coffre_audit_entry e;
    json_t *out = json_array();
    uint64_t size = coffre_audit_size(a);
    for (uint64_t i = 0; out != NULL && i < size; i++) {
        size_t len = 0;
        uint64_t who = 0;
        if (coffre_audit_entry_bytes(a, i, buf, &len) != COFFRE_OK ||
            coffre_audit_entry_parse(buf, len, &e) != COFFRE_OK) {
            json_decref(out);
            return NULL;
        }
        if (e.pseudonym[0] == '\0' ||
            coffre_vault_resolve(ctx->vault, entry_audience(srv_cfg(ctx), &e),
                                 e.pseudonym, &who) != COFFRE_OK ||
            who != id) {
            continue;
        }
        json_array_append_new(out, entry_json(srv_cfg(ctx), &e, i));
    }
    return out;
}

void
api_subject_access(struct srv_ctx *ctx, const struct srv_req *req,
                   const char *param, struct srv_resp *r)
{
    struct coffre_audit *a = srv_audit_get(ctx);
    json_t *person = NULL, *list = NULL;
    uint64_t id = 0;
    if (api_purpose(req, r) != 0 || api_resolve(ctx, req, param, r, &id)) {
        return;
    }
    if (a == NULL) {
        srv_error(r, 503, "audit_unavailable", "the audit log is not open");
        return;
    }
    /* Every class: the person's right of access is to all their data.
     * So only a principal that may read all of this record exports it:
     * a protected record's needs protected access (the field policy). */
    if (api_fetch(ctx, id, COFFRE_CLASSES_ALL, r, &person) != 0) {
        return;
    }
    int prot = api_is_protected(person);
    if (srv_policy_readable(req->who, prot) != COFFRE_CLASSES_ALL) {
        json_decref(person);
        srv_error(r, 403, "forbidden_class",
                  "role %s may not export a protected record",
                  srv_role_name(req->who->role));
        return;
    }
    srv_policy_filter(person, req->who, prot);
    list = accesses(ctx, a, id);
    if (list == NULL) {
        json_decref(person);
        srv_error(r, 503, "audit_unavailable", "the audit log is unreadable");
        return;
    }
    srv_json(r, 200,
             json_pack("{s:s,s:o,s:o}", "pseudonym", param, "person", person,
                       "accesses", list));
    r->classes = COFFRE_CLASSES_ALL;
    memcpy(r->pseudonym, param, sizeof(r->pseudonym));
}
