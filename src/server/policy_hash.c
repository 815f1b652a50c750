/*
 * The policy digest (docs/approvals.md section 6): SHA-256 of a canonical
 * form of the security-relevant part of the configuration, so that a
 * change of principals, guard, approval or retention settings, or of the
 * client CA, needs a policy_change approval, and operational tuning
 * (listen address, threads, paths) does not.
 */
#include <string.h>

#include <sodium.h>

#include "server.h"

/* Top-level keys left out: changing them grants no one anything (the
 * pkcs11_* and pin_file keys say where the sealing token is, keys.md 8). */
static const char *const operational[] = {
    "listen",         "threads",
    "user",           "mlock",
    "data_dir",       "audit_dir",
    "tls_cert",       "tls_key",
    "body_max_bytes", "retention_sweep_seconds",
    "audit_origin",   "connections_per_ip",
    "health_listen",  "health_public",
    "pkcs11_module",  "pkcs11_token_label",
    "pin_file",       "pkcs11_key_label",
    "store",          "store_password_file",
};

/* The canonical text of ${root} (modified): operational keys removed,
 * client_ca replaced by the hex SHA-256 of the CA's bytes. */
static char *
canonical(json_t *root, const char *ca, size_t ca_len)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    for (size_t i = 0; i < sizeof(operational) / sizeof(operational[0]); i++) {
        (void)json_object_del(root, operational[i]);
    }
    crypto_hash_sha256(h, (const unsigned char *)ca, ca_len);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    if (json_object_set_new(root, "client_ca", json_string(hex)) != 0) {
        return NULL;
    }
    return json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
}

int
srv_policy_digest(const char *text, size_t len, const char *ca, size_t ca_len,
                  unsigned char out[SRV_POLICY_LEN], char *err, size_t errlen)
{
    json_error_t jerr;
    snprintf(err, errlen, "ok");
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL || !json_is_object(root)) {
        snprintf(err, errlen, "the configuration is not a JSON object");
        json_decref(root);
        return COFFRE_ERR_PARSE;
    }
    char *c = canonical(root, ca, ca_len);
    json_decref(root);
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return COFFRE_ERR_NOMEM;
    }
    crypto_hash_sha256(out, (const unsigned char *)c, strlen(c));
    srv_jfree(c);
    return COFFRE_OK;
}
