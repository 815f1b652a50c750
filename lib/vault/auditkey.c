/*
 * The audit log's signing key: an Ed25519 seed kept like every other vault
 * key, wrapped by the root key under meta "key:audit" (docs/keys.md), made
 * on first use. The log (lib/audit/log.c) asks for it once, at open.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "util/buf.h"
#include "vault/vault.h"

#define AUDIT_KEY_NAME "audit"
#define AUDIT_KEY_META "key:" AUDIT_KEY_NAME

/* Load the wrapped seed, or NOTFOUND when the vault never made one. */
static int
audit_key_load(struct coffre_vault *v, const unsigned char *ad, size_t adlen,
               struct coffre_key **pk)
{
    struct coffre_buf b;
    int rc;

    coffre_buf_init(&b, COFFRE_WRAPPED_MAX);
    rc = v->store->ops->meta_get(v->store, AUDIT_KEY_META, &b);
    if (rc == COFFRE_OK) {
        vault_root_use(v);
        rc = coffre_key_unwrap(v->root, ad, adlen, b.p, b.len, pk);
        vault_root_idle(v);
    }
    coffre_buf_free(&b);
    return rc;
}

static int
audit_key_create(struct coffre_vault *v, const unsigned char *ad, size_t adlen,
                 struct coffre_key **pk)
{
    unsigned char w[COFFRE_WRAPPED_LEN];
    int rc;

    *pk = coffre_key_new();
    if (*pk == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    vault_root_use(v);
    rc = coffre_key_wrap(v->root, ad, adlen, *pk, w);
    vault_root_idle(v);
    if (rc == COFFRE_OK) {
        rc = v->store->ops->meta_put(v->store, AUDIT_KEY_META, w, sizeof(w));
    }
    return rc;
}

int
coffre_vault_audit_seed(struct coffre_vault *v, unsigned char seed[32])
{
    unsigned char ad[COFFRE_AD_MAX];
    size_t adlen;
    struct coffre_key *k = NULL;
    int rc;

    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc != COFFRE_OK) {
        goto out;
    }
    adlen = coffre_ad_named(ad, v->id, AUDIT_KEY_NAME);
    rc = audit_key_load(v, ad, adlen, &k);
    if (rc == COFFRE_ERR_NOTFOUND) {
        coffre_key_destroy(k);
        k = NULL;
        rc = audit_key_create(v, ad, adlen, &k);
    }
    if (rc != COFFRE_OK) {
        rc = vault_store_fail(v, rc, "audit signing key");
        goto out;
    }
    memcpy(seed, k->b, COFFRE_KEY_LEN);
out:
    coffre_key_destroy(k);
    pthread_mutex_unlock(&v->lock);
    return rc;
}
