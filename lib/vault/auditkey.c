/*
 * The audit log's signing key: an Ed25519 seed kept like every other vault
 * key, wrapped by the root key under meta "key:audit" (docs/keys.md), made
 * on first use. The log (lib/audit/log.c) asks for it once, at open.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "vault/vault.h"

#define AUDIT_KEY_NAME "audit"

int
coffre_vault_audit_seed(struct coffre_vault *v, unsigned char seed[32])
{
    struct coffre_key *k = NULL;
    int rc;

    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc != COFFRE_OK) {
        goto out;
    }
    rc = vault_named_key(v, AUDIT_KEY_NAME, &k);
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
