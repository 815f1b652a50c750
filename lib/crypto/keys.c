/*
 * Keys: allocation in locked memory, wrapping one key under another,
 * derivations (data-key wrapping keys, named subkeys), the root check value
 * and blind index tags. Every derivation is keyed BLAKE2b over a message
 * that starts with its own "coffre/..." label, so outputs of different
 * purposes never coincide even under the same key.
 */
#include "crypto/crypto.h"

#include <string.h>

#include <sodium.h>

#include "coffre/coffre.h"
#include "util/secmem.h"

struct coffre_key *
coffre_key_new(void)
{
    struct coffre_key *k = coffre_key_alloc(sizeof(*k));

    if (k != NULL) {
        coffre_rng(k->b, sizeof(k->b));
    }
    return k;
}

struct coffre_key *
coffre_key_from(const unsigned char b[COFFRE_KEY_LEN])
{
    struct coffre_key *k = coffre_key_alloc(sizeof(*k));

    if (k != NULL) {
        memcpy(k->b, b, sizeof(k->b));
    }
    return k;
}

void
coffre_key_destroy(struct coffre_key *k)
{
    coffre_key_free(k, sizeof(*k));
}

int
coffre_key_wrap(const struct coffre_key *kek, const unsigned char *ad,
                size_t adlen, const struct coffre_key *k,
                unsigned char out[COFFRE_WRAPPED_LEN])
{
    return coffre_aead_seal(kek, ad, adlen, k->b, sizeof(k->b), out);
}

int
coffre_key_unwrap(const struct coffre_key *kek, const unsigned char *ad,
                  size_t adlen, const unsigned char *in, size_t inlen,
                  struct coffre_key **pk)
{
    struct coffre_key *k;
    int rc;

    *pk = NULL;
    if (inlen != COFFRE_WRAPPED_LEN) {
        return COFFRE_ERR_PARSE;
    }
    k = coffre_key_alloc(sizeof(*k));
    if (k == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    rc = coffre_aead_open(kek, ad, adlen, in, inlen, k->b);
    if (rc != COFFRE_OK) {
        coffre_key_destroy(k);
        return rc;
    }
    *pk = k;
    return COFFRE_OK;
}

/* Keyed BLAKE2b-256 of label || a || b into a new key; the hash state,
 * which holds the key, is wiped. */
static int
keyed_hash(const struct coffre_key *key, const void *label, size_t llen,
           const void *a, size_t alen, const void *b, size_t blen,
           struct coffre_key **pk)
{
    crypto_generichash_state st;
    struct coffre_key *k;

    *pk = NULL;
    k = coffre_key_alloc(sizeof(*k));
    if (k == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    crypto_generichash_init(&st, key->b, sizeof(key->b), sizeof(k->b));
    crypto_generichash_update(&st, label, llen);
    crypto_generichash_update(&st, a, alen);
    crypto_generichash_update(&st, b, blen);
    crypto_generichash_final(&st, k->b, sizeof(k->b));
    sodium_memzero(&st, sizeof(st));
    *pk = k;
    return COFFRE_OK;
}

int
coffre_key_dkwrap(const struct coffre_key *kek, uint32_t epoch,
                  const struct coffre_key *epoch_key, struct coffre_key **pk)
{
    static const char label[] = "coffre/dkwrap";
    unsigned char e[4] = {(unsigned char)(epoch >> 24),
                          (unsigned char)(epoch >> 16),
                          (unsigned char)(epoch >> 8), (unsigned char)epoch};

    return keyed_hash(kek, label, sizeof(label) - 1, e, sizeof(e), epoch_key->b,
                      sizeof(epoch_key->b), pk);
}

int
coffre_key_derive(const struct coffre_key *master, const char *label,
                  struct coffre_key **pk)
{
    /* The NUL is part of the prefix: "coffre/derive" NUL. */
    static const char prefix[] = "coffre/derive";
    size_t len = label != NULL ? strnlen(label, COFFRE_LABEL_MAX + 1) : 0;

    if (len == 0 || len > COFFRE_LABEL_MAX) {
        *pk = NULL;
        return COFFRE_ERR_ARG;
    }
    return keyed_hash(master, prefix, sizeof(prefix), label, len, NULL, 0, pk);
}

void
coffre_root_check(const struct coffre_key *root,
                  const unsigned char vault_id[16], unsigned char out[32])
{
    static const char label[] = "coffre/root-check";
    crypto_generichash_state st;

    crypto_generichash_init(&st, root->b, sizeof(root->b), 32);
    crypto_generichash_update(&st, (const unsigned char *)label,
                              sizeof(label) - 1);
    crypto_generichash_update(&st, vault_id, 16);
    crypto_generichash_final(&st, out, 32);
    sodium_memzero(&st, sizeof(st));
}

void
coffre_blind_tag(const struct coffre_key *k, const unsigned char *norm,
                 size_t len, unsigned char tag[16])
{
    crypto_generichash(tag, 16, norm, len, k->b, sizeof(k->b));
}
