/*
 * The PKCS#11 seal (docs/keys.md section 8): the root key sealed under an
 * AES key that never leaves a token, the sealed copy kept in the store's
 * metadata with the token's coordinates, and the moves between seals.
 *
 * Metadata: "seal" ("shamir" or "pkcs11"; absent: shamir), "pkcs11_root"
 * (COFFRE_P11_BLOB_LEN bytes, or empty once resealed to Shamir),
 * "pkcs11_module", "pkcs11_token", "pkcs11_key" (strings).
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "coffre/seal.h"
#include "crypto/p11.h"
#include "vault/vault.h"

#define AD_LABEL "coffre/pkcs11-root"
#define AD_LEN (sizeof(AD_LABEL) + 16) /* label, NUL, vault id */

/* The sealed root key's additional data: bound to this vault. */
static void
root_ad(const struct coffre_vault *v, unsigned char ad[AD_LEN])
{
    memcpy(ad, AD_LABEL, sizeof(AD_LABEL)); /* with its NUL */
    memcpy(ad + sizeof(AD_LABEL), v->id, 16);
}

/* ${p11}'s coordinates, each NULL one taken from what ${v} recorded. */
static void
resolve(const struct coffre_vault *v, const struct coffre_pkcs11 *p11,
        struct coffre_p11_cfg *cfg)
{
    cfg->module = p11->module != NULL ? p11->module : v->p11_module;
    cfg->token = p11->token != NULL ? p11->token : v->p11_token;
    cfg->key = p11->key != NULL ? p11->key : v->p11_key;
    cfg->pin = p11->pin;
    cfg->pin_len = p11->pin_len;
}

/* Open the token and select its key (made if ${create}); the coordinates
 * are recorded in ${v} only once the caller commits to them. */
static int
open_token(struct coffre_vault *v, const struct coffre_p11_cfg *cfg, int create,
           struct coffre_p11 **pp)
{
    int rc = coffre_p11_open(cfg, pp, v->errmsg, sizeof(v->errmsg));

    if (rc == COFFRE_OK) {
        rc = coffre_p11_key(*pp, create, NULL, v->errmsg, sizeof(v->errmsg));
    }
    if (rc != COFFRE_OK) {
        coffre_p11_close(*pp);
        *pp = NULL;
    }
    return rc;
}

static int
record(struct coffre_vault *v, const struct coffre_p11_cfg *cfg)
{
    if (strlen(cfg->module) >= sizeof(v->p11_module)) {
        return vault_fail(v, COFFRE_ERR_ARG, "PKCS#11 module path too long");
    }
    if (cfg->module != v->p11_module) {
        snprintf(v->p11_module, sizeof(v->p11_module), "%s", cfg->module);
    }
    if (cfg->token != v->p11_token) {
        snprintf(v->p11_token, sizeof(v->p11_token), "%s", cfg->token);
    }
    if (cfg->key != v->p11_key) {
        snprintf(v->p11_key, sizeof(v->p11_key), "%s", cfg->key);
    }
    return COFFRE_OK;
}

int
vault_seal_prepare(struct coffre_vault *v)
{
    struct coffre_p11_cfg cfg;
    int rc;

    resolve(v, v->p11_init, &cfg);
    rc = open_token(v, &cfg, 1, &v->p11);
    if (rc == COFFRE_OK) {
        rc = record(v, &cfg);
    }
    if (rc == COFFRE_OK) {
        v->seal = COFFRE_SEAL_PKCS11;
    }
    return rc;
}

int
vault_seal_wrap(struct coffre_vault *v)
{
    unsigned char ad[AD_LEN];
    int rc;

    root_ad(v, ad);
    vault_root_use(v);
    rc = coffre_p11_seal(v->p11, ad, sizeof(ad), v->root, v->p11_blob,
                         v->errmsg, sizeof(v->errmsg));
    vault_root_idle(v);
    return rc;
}

void
vault_seal_release(struct coffre_vault *v)
{
    coffre_p11_close(v->p11);
    v->p11 = NULL;
}

static int
put_str(struct coffre_vault *v, const char *k, const char *s)
{
    return v->store->ops->meta_put(v->store, k, s, strlen(s));
}

int
vault_seal_meta_put(struct coffre_vault *v)
{
    struct coffre_store *s = v->store;
    int p11 = v->seal == COFFRE_SEAL_PKCS11;
    int rc = put_str(v, "seal", p11 ? "pkcs11" : "shamir");

    /* Back to Shamir, the token's copy of the root key goes: the token
     * alone must no longer open this store. */
    if (rc == COFFRE_OK) {
        rc = s->ops->meta_put(s, "pkcs11_root", v->p11_blob,
                              p11 ? sizeof(v->p11_blob) : 0);
    }
    if (rc == COFFRE_OK) {
        rc = put_str(v, "pkcs11_module", p11 ? v->p11_module : "");
    }
    if (rc == COFFRE_OK) {
        rc = put_str(v, "pkcs11_token", p11 ? v->p11_token : "");
    }
    if (rc == COFFRE_OK) {
        rc = put_str(v, "pkcs11_key", p11 ? v->p11_key : "");
    }
    return rc;
}

int
vault_seal_meta_load(struct coffre_vault *v)
{
    char seal[16];
    struct coffre_buf b;
    int rc = vault_meta_str(v, "seal", seal, sizeof(seal));

    if (rc != COFFRE_OK || seal[0] == '\0' || strcmp(seal, "shamir") == 0) {
        return rc;
    }
    if (strcmp(seal, "pkcs11") != 0) {
        return vault_fail(v, COFFRE_ERR_STORE, "unknown seal '%s'", seal);
    }
    v->seal = COFFRE_SEAL_PKCS11;
    rc = vault_meta_str(v, "pkcs11_module", v->p11_module,
                        sizeof(v->p11_module));
    if (rc == COFFRE_OK) {
        rc = vault_meta_str(v, "pkcs11_token", v->p11_token,
                            sizeof(v->p11_token));
    }
    if (rc == COFFRE_OK) {
        rc = vault_meta_str(v, "pkcs11_key", v->p11_key, sizeof(v->p11_key));
    }
    if (rc != COFFRE_OK) {
        return rc;
    }
    coffre_buf_init(&b, 1024);
    rc = v->store->ops->meta_get(v->store, "pkcs11_root", &b);
    if (rc == COFFRE_OK && b.len != sizeof(v->p11_blob)) {
        rc = vault_fail(v, COFFRE_ERR_STORE,
                        "the token-sealed root key is corrupt");
    } else if (rc == COFFRE_OK) {
        memcpy(v->p11_blob, b.p, b.len);
    }
    coffre_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------ */

int
coffre_vault_seal_kind(const struct coffre_vault *v)
{
    return v->dev ? COFFRE_SEAL_DEV : v->seal;
}

const char *
coffre_vault_seal_name(const struct coffre_vault *v)
{
    static const char *const names[] = {"shamir", "pkcs11", "dev"};

    return names[coffre_vault_seal_kind(v)];
}

void
coffre_vault_pkcs11_recorded(const struct coffre_vault *v, const char **pmodule,
                             const char **ptoken, const char **pkey)
{
    int p11 = v->seal == COFFRE_SEAL_PKCS11;

    if (pmodule != NULL) {
        *pmodule = p11 ? v->p11_module : "";
    }
    if (ptoken != NULL) {
        *ptoken = p11 ? v->p11_token : "";
    }
    if (pkey != NULL) {
        *pkey = p11 ? v->p11_key : "";
    }
}

const char *
coffre_vault_seal_error(const struct coffre_vault *v)
{
    return v->seal_error;
}

void
coffre_vault_seal_error_set(struct coffre_vault *v, const char *msg)
{
    pthread_mutex_lock(&v->lock);
    snprintf(v->seal_error, sizeof(v->seal_error), "%s", msg);
    pthread_mutex_unlock(&v->lock);
}

int
coffre_vault_init_pkcs11(const char *dir, const struct coffre_init_opts *opts,
                         const struct coffre_pkcs11 *p11,
                         struct coffre_vault **pv)
{
    *pv = NULL;
    if (p11 == NULL || p11->module == NULL || p11->token == NULL ||
        p11->key == NULL) {
        return COFFRE_ERR_ARG;
    }
    return coffre_vault_init_with(dir, opts, p11, pv);
}

/* Decrypt the root key on the token and install it (lock held). */
static int
unseal_locked(struct coffre_vault *v, const struct coffre_pkcs11 *p11)
{
    unsigned char ad[AD_LEN], check[32];
    struct coffre_p11_cfg cfg;
    struct coffre_p11 *p = NULL;
    struct coffre_key *root = NULL;
    int rc;

    if (v->seal != COFFRE_SEAL_PKCS11) {
        return vault_fail(v, COFFRE_ERR_ARG,
                          "this vault is sealed by custodian shares, not by "
                          "a PKCS#11 token");
    }
    resolve(v, p11, &cfg);
    root_ad(v, ad);
    rc = open_token(v, &cfg, 0, &p);
    if (rc == COFFRE_OK) {
        rc = coffre_p11_unseal(p, ad, sizeof(ad), v->p11_blob, &root, v->errmsg,
                               sizeof(v->errmsg));
    }
    coffre_p11_close(p);
    if (rc != COFFRE_OK) {
        return rc;
    }
    coffre_root_check(root, v->id, check);
    if (sodium_memcmp(check, v->root_check, 32) != 0) {
        coffre_key_destroy(root);
        return vault_fail(v, COFFRE_ERR_THRESHOLD,
                          "key '%s' on token '%s' gives a wrong root key",
                          cfg.key, cfg.token);
    }
    return vault_root_install(v, root, VAULT_OPENED_TOKEN);
}

int
coffre_vault_unseal_pkcs11(struct coffre_vault *v,
                           const struct coffre_pkcs11 *p11)
{
    int rc = COFFRE_OK;

    pthread_mutex_lock(&v->lock);
    if (v->root == NULL) {
        rc = unseal_locked(v, p11);
        snprintf(v->seal_error, sizeof(v->seal_error), "%s",
                 rc == COFFRE_OK ? "" : v->errmsg);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

static int
reseal_tx(struct coffre_vault *v, void *arg)
{
    (void)arg;
    return vault_seal_meta_put(v);
}

/* The custodians' consent to a reseal: this process unsealed the vault
 * with the threshold of their shares (or made it). */
int
vault_reseal_consent(struct coffre_vault *v)
{
    int rc = vault_check_unsealed(v);

    if (rc == COFFRE_OK && v->opened_by != VAULT_OPENED_SHARES) {
        rc = vault_fail(v, COFFRE_ERR_DENIED,
                        "a reseal needs the custodians' consent: unseal "
                        "with the threshold of their shares (--share), not "
                        "the token");
    }
    if (rc == COFFRE_OK && v->dev) {
        rc = vault_fail(v, COFFRE_ERR_ARG,
                        "a development vault has no seal to change");
    }
    return rc;
}

/* A vault's seal fields, restored when a reseal fails. */
struct saved_seal {
    int seal;
    char module[sizeof(((struct coffre_vault *)0)->p11_module)];
    char token[33], key[33];
    unsigned char blob[COFFRE_P11_BLOB_LEN];
};

static void
seal_save(const struct coffre_vault *v, struct saved_seal *s)
{
    s->seal = v->seal;
    memcpy(s->module, v->p11_module, sizeof(s->module));
    memcpy(s->token, v->p11_token, sizeof(s->token));
    memcpy(s->key, v->p11_key, sizeof(s->key));
    memcpy(s->blob, v->p11_blob, sizeof(s->blob));
}

static void
seal_restore(struct coffre_vault *v, const struct saved_seal *s)
{
    v->seal = s->seal;
    memcpy(v->p11_module, s->module, sizeof(s->module));
    memcpy(v->p11_token, s->token, sizeof(s->token));
    memcpy(v->p11_key, s->key, sizeof(s->key));
    memcpy(v->p11_blob, s->blob, sizeof(s->blob));
}

int
coffre_vault_reseal_pkcs11(struct coffre_vault *v,
                           const struct coffre_pkcs11 *p11)
{
    struct saved_seal keep;
    struct coffre_p11_cfg cfg;
    struct coffre_event ev;
    int rc;

    vault_event(&ev, COFFRE_OP_KEY_RESEAL, 0, 0);
    pthread_mutex_lock(&v->lock);
    rc = vault_reseal_consent(v);
    if (rc != COFFRE_OK) {
        goto out;
    }
    seal_save(v, &keep);
    resolve(v, p11, &cfg);
    rc = open_token(v, &cfg, 1, &v->p11);
    if (rc == COFFRE_OK) {
        rc = record(v, &cfg);
    }
    if (rc == COFFRE_OK) {
        rc = vault_seal_wrap(v);
    }
    vault_seal_release(v);
    if (rc == COFFRE_OK) {
        v->seal = COFFRE_SEAL_PKCS11;
        rc = vault_tx_audited(v, &ev, reseal_tx, NULL);
    }
    if (rc != COFFRE_OK) {
        seal_restore(v, &keep);
    }
out:
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int
coffre_pkcs11_keygen(const struct coffre_pkcs11 *p11, int *pcreated, char *err,
                     size_t cap)
{
    struct coffre_p11_cfg cfg = {p11->module, p11->token, p11->key, p11->pin,
                                 p11->pin_len};
    struct coffre_p11 *p = NULL;
    int rc = coffre_p11_open(&cfg, &p, err, cap);

    if (rc == COFFRE_OK) {
        rc = coffre_p11_key(p, 1, pcreated, err, cap);
    }
    coffre_p11_close(p);
    return rc;
}

int
coffre_pkcs11_pin_parse(const char *text, size_t len, size_t *plen)
{
    return coffre_p11_pin_parse(text, len, plen);
}
