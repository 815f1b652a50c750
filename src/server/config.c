/* The server's configuration file: strict JSON (docs/server.md). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <gnutls/x509.h>
#include <sodium.h>

#include "coffre/approval.h"

#include "guard.h"
#include "server.h"

static const char *const role_names[SRV_ROLE_COUNT] = {
    "platform", "office",  "vetting",   "gate",
    "printer",  "auditor", "custodian", "admin",
};

const char *
srv_role_name(int r)
{
    if (r < 0 || r >= SRV_ROLE_COUNT) {
        return "none";
    }
    return role_names[r];
}

int
srv_role_parse(const char *s)
{
    for (int r = 0; r < SRV_ROLE_COUNT; r++) {
        if (strcmp(s, role_names[r]) == 0) {
            return r;
        }
    }
    return -1;
}

void
srv_config_defaults(struct srv_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8443");
    snprintf(c->user, sizeof(c->user), "nobody");
    c->vetting_deadline = 61 * 86400; /* two months */
    c->body_max = 1024 * 1024;
    c->per_ip = 256;
    c->threads = 1; /* one epoll thread; answers wait suspended */
    c->approvals_required = 2;
    c->approval_ttl = 15 * 60;
    c->approval_pending_max = 4; /* of COFFRE_APPROVAL_KEEP: 16 requesters */
    c->retention = 365 * 86400;
    c->retention_sweep = 3600;
}

/* Write a message naming the key; always returns COFFRE_ERR_INVALID. */
static int __attribute__((format(printf, 3, 4)))
bad(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return COFFRE_ERR_INVALID;
}

static int
get_string(json_t *v, const char *key, char *out, size_t cap, char *err,
           size_t errlen)
{
    if (!json_is_string(v)) {
        return bad(err, errlen, "%s: must be a string", key);
    }
    size_t n = json_string_length(v);
    if (n == 0 || n >= cap || strlen(json_string_value(v)) != n) {
        return bad(err, errlen, "%s: must be 1 to %zu bytes, no NUL", key,
                   cap - 1);
    }
    memcpy(out, json_string_value(v), n + 1);
    return COFFRE_OK;
}

static int
get_bool(json_t *v, const char *key, int *out, char *err, size_t errlen)
{
    if (!json_is_boolean(v)) {
        return bad(err, errlen, "%s: must be true or false", key);
    }
    *out = json_is_true(v);
    return COFFRE_OK;
}

static int
get_int(json_t *v, const char *key, json_int_t lo, json_int_t hi,
        json_int_t *out, char *err, size_t errlen)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi) {
        return bad(err, errlen, "%s: must be an integer in [%lld, %lld]", key,
                   (long long)lo, (long long)hi);
    }
    *out = json_integer_value(v);
    return COFFRE_OK;
}

int
srv_hex_decode(const char *hex, unsigned char *out, size_t n)
{
    size_t bin_len = 0;
    const char *end = NULL;
    if (sodium_hex2bin(out, n, hex, strlen(hex), ":", &bin_len, &end) != 0 ||
        bin_len != n || *end != '\0') {
        return COFFRE_ERR_PARSE;
    }
    return COFFRE_OK;
}

static int
principal_field(struct srv_principal *p, const char *key, json_t *v, char *err,
                size_t errlen)
{
    char tmp[SRV_NAME_MAX + 1];
    if (strcmp(key, "name") == 0) {
        return get_string(v, "principals[].name", p->name, sizeof(p->name), err,
                          errlen);
    } else if (strcmp(key, "role") == 0) {
        if (get_string(v, "principals[].role", tmp, sizeof(tmp), err, errlen) !=
                COFFRE_OK ||
            (p->role = srv_role_parse(tmp)) < 0) {
            return bad(err, errlen, "principals[].role: unknown role");
        }
        return COFFRE_OK;
    } else if (strcmp(key, "audience") == 0) {
        return get_string(v, "principals[].audience", p->audience,
                          sizeof(p->audience), err, errlen);
    } else if (strcmp(key, "subject") == 0) {
        return get_string(v, "principals[].subject", p->subject,
                          sizeof(p->subject), err, errlen);
    } else if (strcmp(key, "protected_access") == 0) {
        return get_bool(v, "principals[].protected_access",
                        &p->protected_access, err, errlen);
    } else if (strcmp(key, "fingerprint") == 0) {
        char hex[3 * 32 + 1];
        if (get_string(v, "principals[].fingerprint", hex, sizeof(hex), err,
                       errlen) != COFFRE_OK ||
            srv_hex_decode(hex, p->fingerprint, 32) != COFFRE_OK) {
            return bad(err, errlen,
                       "principals[].fingerprint: must be 64 hex digits");
        }
        p->has_fingerprint = 1;
        return COFFRE_OK;
    }
    return bad(err, errlen, "principals[].%s: unknown key", key);
}

static int
principal_check(const struct srv_config *c, size_t i, char *err, size_t errlen)
{
    const struct srv_principal *p = &c->principals[i];
    if (p->name[0] == '\0' || p->role < 0) {
        return bad(err, errlen, "principals[%zu]: name and role required", i);
    }
    if (p->has_fingerprint == (p->subject[0] != '\0')) {
        return bad(err, errlen,
                   "principals[%zu]: exactly one of fingerprint, subject", i);
    }
    if (p->protected_access && p->role != SRV_ROLE_OFFICE) {
        return bad(err, errlen, "principals[%zu].protected_access: office only",
                   i);
    }
    for (size_t j = 0; j < i; j++) {
        const struct srv_principal *q = &c->principals[j];
        if (strcmp(p->name, q->name) == 0 ||
            (p->has_fingerprint && q->has_fingerprint &&
             memcmp(p->fingerprint, q->fingerprint, 32) == 0) ||
            (p->subject[0] && strcmp(p->subject, q->subject) == 0)) {
            return bad(err, errlen, "principals[%zu]: duplicate of [%zu]", i,
                       j);
        }
    }
    return COFFRE_OK;
}

static int
parse_principal(struct srv_config *c, size_t i, json_t *obj, char *err,
                size_t errlen)
{
    struct srv_principal *p = &c->principals[i];
    const char *key;
    json_t *v;
    memset(p, 0, sizeof(*p));
    p->role = -1;
    if (!json_is_object(obj)) {
        return bad(err, errlen, "principals[%zu]: must be an object", i);
    }
    json_object_foreach(obj, key, v)
    {
        int rc = principal_field(p, key, v, err, errlen);
        if (rc != COFFRE_OK) {
            return rc;
        }
    }
    if (p->audience[0] == '\0') {
        memcpy(p->audience, srv_role_name(p->role),
               strlen(srv_role_name(p->role)) + 1);
    }
    return principal_check(c, i, err, errlen);
}

static int
parse_principals(struct srv_config *c, json_t *arr, char *err, size_t errlen)
{
    if (!json_is_array(arr) || json_array_size(arr) > SRV_PRINCIPALS_MAX) {
        return bad(err, errlen, "principals: must be an array of at most %d",
                   SRV_PRINCIPALS_MAX);
    }
    size_t n = json_array_size(arr);
    c->principals = calloc(n ? n : 1, sizeof(*c->principals));
    if (c->principals == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    c->nprincipals = n;
    for (size_t i = 0; i < n; i++) {
        int rc = parse_principal(c, i, json_array_get(arr, i), err, errlen);
        if (rc != COFFRE_OK) {
            return rc;
        }
    }
    return COFFRE_OK;
}

static int
parse_number_key(struct srv_config *c, const char *key, json_t *v, char *err,
                 size_t errlen)
{
    json_int_t x = 0;
    int rc;
    if (strcmp(key, "vetting_deadline_seconds") == 0) {
        rc = get_int(v, key, 1, (json_int_t)10 * 366 * 86400, &x, err, errlen);
        c->vetting_deadline = (int64_t)x;
    } else if (strcmp(key, "body_max_bytes") == 0) {
        rc = get_int(v, key, 1024, 16 * 1024 * 1024, &x, err, errlen);
        c->body_max = (size_t)x;
    } else if (strcmp(key, "threads") == 0) {
        rc = get_int(v, key, 0, 64, &x, err, errlen);
        c->threads = (unsigned)x;
    } else if (strcmp(key, "connections_per_ip") == 0) {
        rc = get_int(v, key, 1, 1000, &x, err, errlen);
        c->per_ip = (unsigned)x;
    } else if (strcmp(key, "approvals_required") == 0) {
        rc = get_int(v, key, 1, 16, &x, err, errlen);
        c->approvals_required = (unsigned)x;
    } else if (strcmp(key, "approval_ttl_seconds") == 0) {
        rc = get_int(v, key, 1, 7 * 86400, &x, err, errlen);
        c->approval_ttl = (int64_t)x;
    } else if (strcmp(key, "approval_pending_max") == 0) {
        rc = get_int(v, key, 1, COFFRE_APPROVAL_KEEP, &x, err, errlen);
        c->approval_pending_max = (unsigned)x;
    } else if (strcmp(key, "retention_seconds") == 0) {
        rc = get_int(v, key, 0, (json_int_t)10 * 366 * 86400, &x, err, errlen);
        c->retention = (int64_t)x;
    } else if (strcmp(key, "retention_sweep_seconds") == 0) {
        rc = get_int(v, key, 0, 7 * 86400, &x, err, errlen);
        c->retention_sweep = (int64_t)x;
    } else {
        return bad(err, errlen, "%s: unknown key", key);
    }
    return rc;
}

static int
parse_key(struct srv_config *c, const char *key, json_t *v, char *err,
          size_t errlen)
{
    struct {
        const char *name;
        char *dst;
        size_t cap;
    } strs[] = {
        {"listen", c->listen, sizeof(c->listen)},
        {"data_dir", c->data_dir, sizeof(c->data_dir)},
        {"store", c->store, sizeof(c->store)},
        {"store_password_file", c->store_password_file,
         sizeof(c->store_password_file)},
        {"tls_cert", c->tls_cert, sizeof(c->tls_cert)},
        {"tls_key", c->tls_key, sizeof(c->tls_key)},
        {"client_ca", c->client_ca, sizeof(c->client_ca)},
        {"user", c->user, sizeof(c->user)},
        {"audit_dir", c->audit_dir, sizeof(c->audit_dir)},
        {"audit_origin", c->audit_origin, sizeof(c->audit_origin)},
        {"health_listen", c->health_listen, sizeof(c->health_listen)},
        {"pkcs11_module", c->pkcs11_module, sizeof(c->pkcs11_module)},
        {"pkcs11_token_label", c->pkcs11_token_label,
         sizeof(c->pkcs11_token_label)},
        {"pkcs11_key_label", c->pkcs11_key_label, sizeof(c->pkcs11_key_label)},
        {"pin_file", c->pin_file, sizeof(c->pin_file)},
    };
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (strcmp(key, strs[i].name) == 0) {
            return get_string(v, key, strs[i].dst, strs[i].cap, err, errlen);
        }
    }
    if (strcmp(key, "tls12") == 0) {
        return get_bool(v, key, &c->tls12, err, errlen);
    } else if (strcmp(key, "mlock") == 0) {
        return get_bool(v, key, &c->mlock, err, errlen);
    } else if (strcmp(key, "health_public") == 0) {
        return get_bool(v, key, &c->health_public, err, errlen);
    } else if (strcmp(key, "principals") == 0) {
        if (c->principals != NULL) {
            return bad(err, errlen, "principals: duplicate key");
        }
        return parse_principals(c, v, err, errlen);
    } else if (strcmp(key, "guard") == 0) {
        /* docs/guard.md */
        if (c->guard != NULL ||
            (c->guard = malloc(sizeof(*c->guard))) == NULL) {
            return c->guard ? bad(err, errlen, "guard: duplicate key")
                            : COFFRE_ERR_NOMEM;
        }
        guard_config_defaults(c->guard);
        return guard_config_parse(c->guard, v, err, errlen);
    }
    return parse_number_key(c, key, v, err, errlen);
}

static int
parse_root(struct srv_config *c, json_t *root, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    if (!json_is_object(root)) {
        return bad(err, errlen, "the configuration must be a JSON object");
    }
    json_object_foreach(root, key, v)
    {
        int rc = parse_key(c, key, v, err, errlen);
        if (rc != COFFRE_OK) {
            return rc;
        }
    }
    const char *need[] = {c->data_dir, c->tls_cert, c->tls_key, c->client_ca};
    const char *names[] = {"data_dir", "tls_cert", "tls_key", "client_ca"};
    for (size_t i = 0; i < 4; i++) {
        if (need[i][0] == '\0') {
            return bad(err, errlen, "%s: required", names[i]);
        }
    }
    if (strrchr(c->listen, ':') == NULL) {
        return bad(err, errlen, "listen: must be ADDRESS:PORT");
    }
    return COFFRE_OK;
}

int
srv_config_parse(struct srv_config *c, const char *text, size_t len, char *err,
                 size_t errlen)
{
    json_error_t jerr;
    srv_config_defaults(c);
    snprintf(err, errlen, "ok");
    if (len > SRV_CONFIG_MAX) {
        snprintf(err, errlen, "configuration over %d bytes", SRV_CONFIG_MAX);
        return COFFRE_ERR_TOOBIG;
    }
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        snprintf(err, errlen, "line %d: %s", jerr.line, jerr.text);
        return COFFRE_ERR_PARSE;
    }
    int rc = parse_root(c, root, err, errlen);
    json_decref(root);
    if (rc != COFFRE_OK) {
        srv_config_free(c);
    }
    return rc;
}

int
srv_config_read(const char *path, char **ptext, size_t *plen, char *err,
                size_t errlen)
{
    char *buf = malloc(SRV_CONFIG_MAX + 2);
    FILE *f = fopen(path, "rb");
    int rc = COFFRE_ERR_IO;
    *ptext = NULL;
    *plen = 0;
    if (buf == NULL || f == NULL) {
        snprintf(err, errlen, "%s", strerror(errno));
        goto out;
    }
    size_t n = fread(buf, 1, SRV_CONFIG_MAX + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "read error");
        goto out;
    }
    if (n > SRV_CONFIG_MAX) {
        snprintf(err, errlen, "configuration over %d bytes", SRV_CONFIG_MAX);
        rc = COFFRE_ERR_TOOBIG;
        goto out;
    }
    buf[n] = '\0';
    *ptext = buf;
    *plen = n;
    buf = NULL;
    rc = COFFRE_OK;
out:
    if (f != NULL) {
        fclose(f);
    }
    free(buf);
    return rc;
}

int
srv_config_load(struct srv_config *c, const char *path, char *err,
                size_t errlen)
{
    char *text = NULL;
    size_t n = 0;
    int rc = srv_config_read(path, &text, &n, err, errlen);
    if (rc == COFFRE_OK) {
        rc = srv_config_parse(c, text, n, err, errlen);
    }
    free(text);
    return rc;
}

void
srv_config_free(struct srv_config *c)
{
    free(c->principals);
    c->principals = NULL;
    free(c->guard);
    c->guard = NULL;
    c->nprincipals = 0;
    if (c->client_trust != NULL) {
        gnutls_x509_trust_list_deinit(c->client_trust, 1);
        c->client_trust = NULL;
    }
}

const struct srv_principal *
srv_principal_by_fingerprint(const struct srv_config *c,
                             const unsigned char fp[32])
{
    for (size_t i = 0; i < c->nprincipals; i++) {
        if (c->principals[i].has_fingerprint &&
            sodium_memcmp(c->principals[i].fingerprint, fp, 32) == 0) {
            return &c->principals[i];
        }
    }
    return NULL;
}

const struct srv_principal *
srv_principal_by_subject(const struct srv_config *c, const char *dn)
{
    for (size_t i = 0; i < c->nprincipals; i++) {
        if (c->principals[i].subject[0] != '\0' &&
            strcmp(c->principals[i].subject, dn) == 0) {
            return &c->principals[i];
        }
    }
    return NULL;
}
