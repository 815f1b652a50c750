/*
 * Listing cursors of the public API (docs/keys.md section 5.1): the
 * vault's cursor key and the AD that binds a cursor to this vault, the
 * caller's audience and the caller's description of the list.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "vault/vault.h"

/* The key and AD of a cursor, lock held; COFFRE_OK or the failure. */
static int
cursor_setup(struct coffre_vault *v, const char *audience, const void *context,
             size_t context_len, const struct coffre_key **pk,
             unsigned char ad[COFFRE_AD_MAX], size_t *padlen)
{
    size_t alen =
        audience != NULL ? strnlen(audience, VAULT_AUDIENCE_MAX + 1) : 0;
    int rc = vault_check_unsealed(v);

    if (rc != COFFRE_OK) {
        return rc;
    }
    if (alen == 0 || alen > VAULT_AUDIENCE_MAX ||
        context_len > COFFRE_CURSOR_CONTEXT_MAX ||
        (context == NULL && context_len != 0)) {
        return vault_fail(v, COFFRE_ERR_ARG,
                          "cursor: audience of 1 to %d bytes, context of at "
                          "most %d",
                          VAULT_AUDIENCE_MAX, COFFRE_CURSOR_CONTEXT_MAX);
    }
    *padlen = coffre_ad_cursor(ad, v->id, audience,
                               (const unsigned char *)context, context_len);
    rc = vault_cursor_key(v, pk);
    return rc == COFFRE_OK && *padlen == 0 ? COFFRE_ERR_ARG : rc;
}

int
coffre_vault_cursor_make(struct coffre_vault *v, const char *audience,
                         const void *context, size_t context_len,
                         uint64_t after_id, char out[COFFRE_CURSOR_LEN + 1])
{
    const struct coffre_key *k = NULL;
    unsigned char ad[COFFRE_AD_MAX];
    size_t adlen = 0;
    int rc;

    pthread_mutex_lock(&v->lock);
    rc = cursor_setup(v, audience, context, context_len, &k, ad, &adlen);
    if (rc == COFFRE_OK) {
        coffre_cursor_seal(k, ad, adlen, after_id, out);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int
coffre_vault_cursor_open(struct coffre_vault *v, const char *audience,
                         const void *context, size_t context_len,
                         const char *cursor, uint64_t *pafter_id)
{
    const struct coffre_key *k = NULL;
    unsigned char ad[COFFRE_AD_MAX];
    size_t adlen = 0;
    int rc;

    pthread_mutex_lock(&v->lock);
    rc = cursor_setup(v, audience, context, context_len, &k, ad, &adlen);
    if (rc == COFFRE_OK && cursor == NULL) {
        rc = COFFRE_ERR_PARSE;
    } else if (rc == COFFRE_OK) {
        rc = coffre_cursor_open(k, ad, adlen, cursor, pafter_id);
    }
    if (rc == COFFRE_ERR_PARSE || rc == COFFRE_ERR_CRYPTO) {
        rc = vault_fail(v, rc, "not a cursor of this list");
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}
