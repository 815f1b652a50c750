/*
 * AEAD envelopes (XChaCha20-Poly1305-IETF with a random nonce) and the
 * associated data that binds each ciphertext to its place in the vault.
 * A 24-byte random nonce makes collisions negligible for any number of
 * messages one key will ever see, so nonces need no state.
 */
#include "crypto/crypto.h"

#include <string.h>

#include <sodium.h>

#include "coffre/coffre.h"

int
coffre_aead_seal(const struct coffre_key *k, const unsigned char *ad,
                 size_t adlen, const unsigned char *pt, size_t len,
                 unsigned char *out)
{
    unsigned long long clen;

    if (len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX ||
        len > SIZE_MAX - COFFRE_AEAD_OVERHEAD) {
        return COFFRE_ERR_TOOBIG;
    }
    coffre_rng(out, COFFRE_NONCE_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        out + COFFRE_NONCE_LEN, &clen, pt, len, ad, adlen, NULL, out, k->b);
    return COFFRE_OK;
}

int
coffre_aead_open(const struct coffre_key *k, const unsigned char *ad,
                 size_t adlen, const unsigned char *ct, size_t ctlen,
                 unsigned char *out)
{
    unsigned long long mlen;

    if (ctlen < COFFRE_AEAD_OVERHEAD) {
        return COFFRE_ERR_PARSE;
    }
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            out, &mlen, NULL, ct + COFFRE_NONCE_LEN, ctlen - COFFRE_NONCE_LEN,
            ad, adlen, ct, k->b) != 0) {
        sodium_memzero(out, ctlen - COFFRE_AEAD_OVERHEAD);
        return COFFRE_ERR_CRYPTO;
    }
    return COFFRE_OK;
}

static size_t
put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return 4;
}

static size_t
put_be64(unsigned char *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
    return 8;
}

/* "coffre/<kind>" NUL || vault id: every layout starts this way, so that
 * no two kinds can ever produce the same AD bytes. */
static size_t
ad_head(unsigned char *ad, const char *kind, const unsigned char vault_id[16])
{
    size_t n = strlen(kind) + 1;

    memcpy(ad, kind, n);
    memcpy(ad + n, vault_id, 16);
    return n + 16;
}

size_t
coffre_ad_field(unsigned char ad[COFFRE_AD_MAX],
                const unsigned char vault_id[16], uint64_t record_id, int cls,
                uint32_t dk_gen)
{
    size_t n;

    if (cls < 0 || cls > 255) {
        return 0;
    }
    n = ad_head(ad, "coffre/field", vault_id);
    n += put_be64(ad + n, record_id);
    ad[n++] = (unsigned char)cls;
    n += put_be32(ad + n, dk_gen);
    return n;
}

size_t
coffre_ad_dkey(unsigned char ad[COFFRE_AD_MAX],
               const unsigned char vault_id[16], uint64_t record_id,
               uint32_t kek_version, uint32_t epoch)
{
    size_t n = ad_head(ad, "coffre/dkey", vault_id);

    n += put_be64(ad + n, record_id);
    n += put_be32(ad + n, kek_version);
    n += put_be32(ad + n, epoch);
    return n;
}

size_t
coffre_ad_kek(unsigned char ad[COFFRE_AD_MAX], const unsigned char vault_id[16],
              uint32_t kek_version)
{
    size_t n = ad_head(ad, "coffre/kek", vault_id);

    n += put_be32(ad + n, kek_version);
    return n;
}

size_t
coffre_ad_epoch(unsigned char ad[COFFRE_AD_MAX],
                const unsigned char vault_id[16], uint32_t epoch)
{
    size_t n = ad_head(ad, "coffre/epoch", vault_id);

    n += put_be32(ad + n, epoch);
    return n;
}

size_t
coffre_ad_named(unsigned char ad[COFFRE_AD_MAX],
                const unsigned char vault_id[16], const char *name)
{
    size_t len = name != NULL ? strnlen(name, COFFRE_NAMED_MAX + 1) : 0;
    size_t n;

    if (len == 0 || len > COFFRE_NAMED_MAX) {
        return 0;
    }
    n = ad_head(ad, "coffre/named", vault_id);
    ad[n++] = (unsigned char)len;
    memcpy(ad + n, name, len);
    return n + len;
}

size_t
coffre_ad_cursor(unsigned char ad[COFFRE_AD_MAX],
                 const unsigned char vault_id[16], const char *audience,
                 const unsigned char *context, size_t context_len)
{
    size_t len = audience != NULL ? strnlen(audience, 256) : 0;
    crypto_generichash_state st;
    unsigned char u8len;
    size_t n;

    if (len == 0 || len > 255 || (context == NULL && context_len != 0)) {
        return 0;
    }
    u8len = (unsigned char)len;
    n = ad_head(ad, "coffre/cursor", vault_id);
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, &u8len, 1);
    crypto_generichash_update(&st, (const unsigned char *)audience, len);
    if (context_len > 0) {
        crypto_generichash_update(&st, context, context_len);
    }
    crypto_generichash_final(&st, ad + n, 32);
    return n + 32;
}
