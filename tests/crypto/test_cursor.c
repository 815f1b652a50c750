/* Listing cursors: round trip, binding to the AD, tampering, form, and the
 * known answers of docs/keys.md computed by a separate implementation
 * (Python hashlib, HChaCha20 by hand, `cryptography`'s
 * ChaCha20-Poly1305). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "coffre/coffre.h"
#include "crypto/crypto.h"
#include "crypto_tests.h"

static const unsigned char vid[16] = {0, 1, 2,  3,  4,  5,  6,  7,
                                      8, 9, 10, 11, 12, 13, 14, 15};

static size_t
ad_of(unsigned char ad[COFFRE_AD_MAX], const char *audience, const char *ctx)
{
    return coffre_ad_cursor(ad, vid, audience, (const unsigned char *)ctx,
                            strlen(ctx));
}

static void
test_cursor_roundtrip(void)
{
    static const uint64_t pos[] = {0, 1, 258, UINT64_MAX};
    struct coffre_key *k = coffre_key_new();
    unsigned char ad[COFFRE_AD_MAX];
    size_t adlen = ad_of(ad, "platform", "persons");
    char c[COFFRE_CURSOR_CHARS + 1], again[COFFRE_CURSOR_CHARS + 1];
    uint64_t back;

    CHECK(adlen == 62);
    for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
        coffre_cursor_seal(k, ad, adlen, pos[i], c);
        CHECK(strlen(c) == COFFRE_CURSOR_CHARS);
        CHECK(strncmp(c, "c1.", 3) == 0);
        CHECK(strspn(c + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                            "wxyz0123456789-_") == COFFRE_CURSOR_CHARS - 3);
        back = 7;
        CHECK_RC(coffre_cursor_open(k, ad, adlen, c, &back), COFFRE_OK);
        CHECK(back == pos[i]);
        /* randomised: the same position never gives the same string */
        coffre_cursor_seal(k, ad, adlen, pos[i], again);
        CHECK(strcmp(c, again) != 0);
    }
    coffre_key_destroy(k);
}

static void
test_cursor_binding(void)
{
    struct coffre_key *k = coffre_key_new(), *k2 = coffre_key_new();
    unsigned char ad[COFFRE_AD_MAX], other[COFFRE_AD_MAX];
    unsigned char vid2[16] = {1};
    size_t adlen = ad_of(ad, "platform", "persons"), olen;
    char c[COFFRE_CURSOR_CHARS + 1];
    uint64_t back = 99;

    coffre_cursor_seal(k, ad, adlen, 42, c);
    CHECK_RC(coffre_cursor_open(k2, ad, adlen, c, &back), COFFRE_ERR_CRYPTO);
    olen = ad_of(other, "partner", "persons");
    CHECK_RC(coffre_cursor_open(k, other, olen, c, &back), COFFRE_ERR_CRYPTO);
    olen = ad_of(other, "platform", "vetting/pending");
    CHECK_RC(coffre_cursor_open(k, other, olen, c, &back), COFFRE_ERR_CRYPTO);
    olen = coffre_ad_cursor(other, vid2, "platform",
                            (const unsigned char *)"persons", 7);
    CHECK_RC(coffre_cursor_open(k, other, olen, c, &back), COFFRE_ERR_CRYPTO);
    /* the audience's length prefix: ("platformp", "ersons") differs */
    olen = ad_of(other, "platformp", "ersons");
    CHECK_RC(coffre_cursor_open(k, other, olen, c, &back), COFFRE_ERR_CRYPTO);
    CHECK(back == 99);
    /* out of domain */
    CHECK(coffre_ad_cursor(other, vid, "", NULL, 0) == 0);
    CHECK(coffre_ad_cursor(other, vid, NULL, NULL, 0) == 0);
    CHECK(coffre_ad_cursor(other, vid, "a", NULL, 1) == 0);
    CHECK(coffre_ad_cursor(other, vid, "a", NULL, 0) == 62);
    coffre_key_destroy(k);
    coffre_key_destroy(k2);
}

static void
test_cursor_tamper(void)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    struct coffre_key *k = coffre_key_new();
    unsigned char ad[COFFRE_AD_MAX];
    size_t adlen = ad_of(ad, "vetting", "vetting/pending");
    char c[COFFRE_CURSOR_CHARS + 1], q[COFFRE_CURSOR_CHARS + 8];
    char ps[COFFRE_PSEUDONYM_CHARS + 1];
    uint64_t back = 5;
    int bad = 0;

    coffre_cursor_seal(k, ad, adlen, 123456789, c);
    for (size_t i = 3; i < COFFRE_CURSOR_CHARS; i++) {
        for (size_t j = 0; j < sizeof(alphabet) - 1; j++) {
            if (alphabet[j] == c[i]) {
                continue;
            }
            memcpy(q, c, sizeof(c));
            q[i] = alphabet[j];
            bad +=
                coffre_cursor_open(k, ad, adlen, q, &back) != COFFRE_ERR_CRYPTO;
        }
    }
    CHECK(bad == 0);
    CHECK(back == 5);
    /* the form: prefix, length, alphabet */
    CHECK_RC(coffre_cursor_open(k, ad, adlen, "", &back), COFFRE_ERR_PARSE);
    CHECK_RC(coffre_cursor_open(k, ad, adlen, "c1.", &back), COFFRE_ERR_PARSE);
    memcpy(q, c, sizeof(c));
    q[0] = 'd';
    CHECK_RC(coffre_cursor_open(k, ad, adlen, q, &back), COFFRE_ERR_PARSE);
    memcpy(q, c, sizeof(c));
    q[2] = '_';
    CHECK_RC(coffre_cursor_open(k, ad, adlen, q, &back), COFFRE_ERR_PARSE);
    memcpy(q, c, sizeof(c));
    q[COFFRE_CURSOR_CHARS - 1] = '\0';
    CHECK_RC(coffre_cursor_open(k, ad, adlen, q, &back), COFFRE_ERR_PARSE);
    memcpy(q, c, COFFRE_CURSOR_CHARS);
    memcpy(q + COFFRE_CURSOR_CHARS, "A", 2);
    CHECK_RC(coffre_cursor_open(k, ad, adlen, q, &back), COFFRE_ERR_PARSE);
    memcpy(q, c, sizeof(c));
    q[20] = '+';
    CHECK_RC(coffre_cursor_open(k, ad, adlen, q, &back), COFFRE_ERR_PARSE);
    memcpy(q, c, sizeof(c));
    q[20] = '=';
    CHECK_RC(coffre_cursor_open(k, ad, adlen, q, &back), COFFRE_ERR_PARSE);
    /* a pseudonym is never a cursor, and a cursor never a pseudonym */
    coffre_pseudonym_make(k, 123456789, ps);
    CHECK_RC(coffre_cursor_open(k, ad, adlen, ps, &back), COFFRE_ERR_PARSE);
    CHECK_RC(coffre_pseudonym_open(k, c, &back), COFFRE_ERR_NOTFOUND);
    CHECK(back == 5);
    coffre_key_destroy(k);
}

/* docs/keys.md, "Test vectors": K1 = 00 01 .. 1f, vault id 00 01 .. 0f,
 * nonce 40 41 .. 57. */
static void
test_cursor_kat(void)
{
    unsigned char k1b[32], ad[COFFRE_AD_MAX];
    char hex[2 * COFFRE_AD_MAX + 1];
    struct coffre_key *k1;
    uint64_t back = 0;
    size_t adlen;

    for (int i = 0; i < 32; i++) {
        k1b[i] = (unsigned char)i;
    }
    k1 = coffre_key_from(k1b);
    adlen = ad_of(ad, "platform", "list");
    CHECK(adlen == 62);
    sodium_bin2hex(hex, sizeof(hex), ad, adlen);
    CHECK(strcmp(hex, "636f666672652f637572736f7200"
                      "000102030405060708090a0b0c0d0e0f"
                      "89ca6a1d6ed81406c3dfc2cd934d8365"
                      "be46bf58caaa4666e1b1c2b899606e01") == 0);
    CHECK_RC(coffre_cursor_open(k1, ad, adlen,
                                "c1.QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZX1DkFcNDgeB"
                                "TbDGVv8sQaE893Y2zXGJFG",
                                &back),
             COFFRE_OK);
    CHECK(back == 258);
    adlen = coffre_ad_cursor(ad, vid, "gate", NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), ad, adlen);
    CHECK(strcmp(hex, "636f666672652f637572736f7200"
                      "000102030405060708090a0b0c0d0e0f"
                      "ed4e41ecc5086ad3150b016a0b196710"
                      "3bc6e7f9905513d9593eb31d3db5f0a8") == 0);
    coffre_key_destroy(k1);
}

void
test_cursor_all(void)
{
    RUN(test_cursor_roundtrip);
    RUN(test_cursor_binding);
    RUN(test_cursor_tamper);
    RUN(test_cursor_kat);
}
