/*
 * Listing cursors (docs/keys.md, "Cursors"): the AEAD envelope of a
 * position, so that a cursor names nothing its holder was not shown, and
 * opens only where it was made. Unlike a pseudonym it is randomised: two
 * cursors of one position cannot be told equal, and they cannot be taken
 * for one another ('.' is not a base64url character).
 *   cursor = "c1." || base64url-nopad(nonce (24) || ct (8) || tag (16))
 */
#include "crypto/crypto.h"

#include <string.h>

#include <sodium.h>

#include "coffre/coffre.h"

#define CURSOR_PREFIX "c1."
#define CURSOR_PREFIX_LEN 3
#define CURSOR_RAW (8 + COFFRE_AEAD_OVERHEAD) /* 48 bytes */
#define CURSOR_B64 (COFFRE_CURSOR_CHARS - CURSOR_PREFIX_LEN)

void
coffre_cursor_seal(const struct coffre_key *k, const unsigned char *ad,
                   size_t adlen, uint64_t after,
                   char out[COFFRE_CURSOR_CHARS + 1])
{
    unsigned char pt[8], raw[CURSOR_RAW];

    for (int i = 7; i >= 0; i--) {
        pt[i] = (unsigned char)after;
        after >>= 8;
    }
    (void)coffre_aead_seal(k, ad, adlen, pt, sizeof(pt), raw); /* 8 bytes */
    memcpy(out, CURSOR_PREFIX, CURSOR_PREFIX_LEN);
    sodium_bin2base64(out + CURSOR_PREFIX_LEN, CURSOR_B64 + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(pt, sizeof(pt));
}

int
coffre_cursor_open(const struct coffre_key *k, const unsigned char *ad,
                   size_t adlen, const char *text, uint64_t *pafter)
{
    unsigned char raw[CURSOR_RAW], pt[8];
    const char *end = NULL;
    size_t blen = 0;
    uint64_t after = 0;

    /* 64 characters carry exactly 48 bytes: no spare bits, so one string
     * per envelope without a canonical-form check. */
    if (strnlen(text, COFFRE_CURSOR_CHARS + 1) != COFFRE_CURSOR_CHARS ||
        memcmp(text, CURSOR_PREFIX, CURSOR_PREFIX_LEN) != 0 ||
        sodium_base642bin(raw, sizeof(raw), text + CURSOR_PREFIX_LEN,
                          CURSOR_B64, NULL, &blen, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        blen != sizeof(raw) || end != text + COFFRE_CURSOR_CHARS) {
        return COFFRE_ERR_PARSE;
    }
    if (coffre_aead_open(k, ad, adlen, raw, sizeof(raw), pt) != COFFRE_OK) {
        return COFFRE_ERR_CRYPTO;
    }
    for (int i = 0; i < 8; i++) {
        after = (after << 8) | pt[i];
    }
    sodium_memzero(pt, sizeof(pt));
    *pafter = after;
    return COFFRE_OK;
}
