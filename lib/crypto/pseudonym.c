/*
 * Pseudonyms: a deterministic, SIV-style encryption of the 8-byte record id
 * under an audience key (docs/keys.md, "Pseudonyms", argues its security):
 *   tag = BLAKE2b-192(key = K, "coffre/pseudonym-tag" || id BE)
 *   ct  = id BE XOR XChaCha20(key = K_enc, nonce = tag)[0..8)
 *   K_enc = BLAKE2b-256(key = K, "coffre/pseudonym-enc")
 *   pseudonym = base64url-nopad(tag || ct): 32 bytes, 43 characters.
 * Opening decrypts with the tag as nonce and recomputes the tag: only a
 * string made by this very key opens.
 */
#include "crypto/crypto.h"

#include <string.h>

#include <sodium.h>

#include "coffre/coffre.h"

#define PS_TAG 24 /* = crypto_stream_xchacha20_NONCEBYTES */
#define PS_CT 8
#define PS_LEN (PS_TAG + PS_CT)

static void
ps_tag(const struct coffre_key *k, const unsigned char id[8],
       unsigned char tag[PS_TAG])
{
    static const char label[] = "coffre/pseudonym-tag";
    crypto_generichash_state st;

    crypto_generichash_init(&st, k->b, sizeof(k->b), PS_TAG);
    crypto_generichash_update(&st, (const unsigned char *)label,
                              sizeof(label) - 1);
    crypto_generichash_update(&st, id, 8);
    crypto_generichash_final(&st, tag, PS_TAG);
    sodium_memzero(&st, sizeof(st));
}

/* XORs ${io} with the keystream selected by ${tag} under K_enc. */
static void
ps_xor(const struct coffre_key *k, const unsigned char tag[PS_TAG],
       unsigned char io[PS_CT])
{
    static const char label[] = "coffre/pseudonym-enc";
    unsigned char kenc[32];

    crypto_generichash(kenc, sizeof(kenc), (const unsigned char *)label,
                       sizeof(label) - 1, k->b, sizeof(k->b));
    crypto_stream_xchacha20_xor(io, io, PS_CT, tag, kenc);
    sodium_memzero(kenc, sizeof(kenc));
}

static void
put_be64(unsigned char p[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
}

static uint64_t
get_be64(const unsigned char p[8])
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

int
coffre_pseudonym_make(const struct coffre_key *audience_key, uint64_t record_id,
                      char out[44])
{
    unsigned char raw[PS_LEN];

    put_be64(raw + PS_TAG, record_id);
    ps_tag(audience_key, raw + PS_TAG, raw);
    ps_xor(audience_key, raw, raw + PS_TAG);
    sodium_bin2base64(out, COFFRE_PSEUDONYM_CHARS + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return COFFRE_OK;
}

int
coffre_pseudonym_open(const struct coffre_key *audience_key,
                      const char *pseudonym, uint64_t *precord_id)
{
    unsigned char raw[PS_LEN], tag[PS_TAG];
    char again[COFFRE_PSEUDONYM_CHARS + 1];
    const char *end;
    size_t blen;

    if (strnlen(pseudonym, COFFRE_PSEUDONYM_CHARS + 1) !=
            COFFRE_PSEUDONYM_CHARS ||
        sodium_base642bin(raw, sizeof(raw), pseudonym, COFFRE_PSEUDONYM_CHARS,
                          NULL, &blen, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        blen != sizeof(raw) || end != pseudonym + COFFRE_PSEUDONYM_CHARS) {
        return COFFRE_ERR_NOTFOUND;
    }
    /* One string per pseudonym: refuse non-canonical spellings (nonzero
     * unused bits in the last character) that decode to the same bytes. */
    sodium_bin2base64(again, sizeof(again), raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (memcmp(again, pseudonym, COFFRE_PSEUDONYM_CHARS) != 0) {
        return COFFRE_ERR_NOTFOUND;
    }
    ps_xor(audience_key, raw, raw + PS_TAG);
    ps_tag(audience_key, raw + PS_TAG, tag);
    if (sodium_memcmp(tag, raw, PS_TAG) != 0) {
        return COFFRE_ERR_NOTFOUND;
    }
    *precord_id = get_be64(raw + PS_TAG);
    return COFFRE_OK;
}
