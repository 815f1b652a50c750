/* Unit tests of lib/crypto: AEAD, AD layouts, key wrapping and derivation,
 * Shamir shares, blind tags, pseudonyms, the fast RNG, key wiping. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "crypto_tests.h"
#include "coffre/coffre.h"
#include "crypto/crypto.h"
#include "util/secmem.h"

static const unsigned char vid_a[16] = {0xa0, 1, 2,  3,  4,  5,  6,  7,
                                        8,    9, 10, 11, 12, 13, 14, 15};
static const unsigned char vid_b[16] = {0xb0, 1, 2,  3,  4,  5,  6,  7,
                                        8,    9, 10, 11, 12, 13, 14, 15};

static int
all_zero(const unsigned char *p, size_t n)
{
    unsigned char acc = 0;

    for (size_t i = 0; i < n; i++) {
        acc |= p[i];
    }
    return acc == 0;
}

static void
test_aead_roundtrip(void)
{
    static const size_t lens[] = {0, 1, 100, 5000};
    struct coffre_key *k = coffre_key_new();
    unsigned char ad[COFFRE_AD_MAX], pt[5000], ct[5040], back[5000];
    size_t adlen = coffre_ad_field(ad, vid_a, 7, COFFRE_CLASS_IDENTITY, 1);

    CHECK(k != NULL);
    coffre_rng(pt, sizeof(pt));
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        size_t n = lens[i];

        CHECK_RC(coffre_aead_seal(k, ad, adlen, pt, n, ct), COFFRE_OK);
        memset(back, 0xee, sizeof(back));
        CHECK_RC(coffre_aead_open(k, ad, adlen, ct, n + 40, back), COFFRE_OK);
        CHECK(memcmp(back, pt, n) == 0);
    }
    CHECK_RC(coffre_aead_open(k, ad, adlen, ct, 39, back), COFFRE_ERR_PARSE);
    coffre_key_destroy(k);
}

static void
test_aead_tamper(void)
{
    struct coffre_key *k = coffre_key_new();
    struct coffre_key *k2 = coffre_key_new();
    unsigned char ad[COFFRE_AD_MAX], pt[100], ct[140], back[100];
    size_t adlen = coffre_ad_field(ad, vid_a, 7, COFFRE_CLASS_CONTACT, 3);
    int bad = 0;

    memset(pt, 'x', sizeof(pt));
    CHECK_RC(coffre_aead_seal(k, ad, adlen, pt, sizeof(pt), ct), COFFRE_OK);
    for (size_t i = 0; i < sizeof(ct); i++) {
        ct[i] ^= 0x01;
        memset(back, 0xee, sizeof(back));
        if (coffre_aead_open(k, ad, adlen, ct, sizeof(ct), back) !=
                COFFRE_ERR_CRYPTO ||
            !all_zero(back, sizeof(back))) {
            bad++;
        }
        ct[i] ^= 0x01;
    }
    CHECK(bad == 0);
    CHECK_RC(coffre_aead_open(k2, ad, adlen, ct, sizeof(ct), back),
             COFFRE_ERR_CRYPTO);
    CHECK_RC(coffre_aead_open(k, ad, adlen, ct, sizeof(ct), back), COFFRE_OK);
    coffre_key_destroy(k);
    coffre_key_destroy(k2);
}

/* Seals under the field AD of (vault_id, 42, identity, 1), opens with ad. */
static int
open_with(const unsigned char *ad, size_t adlen)
{
    struct coffre_key *k = coffre_key_from(
        (const unsigned char *)"0123456789abcdef0123456789abcdef");
    unsigned char good[COFFRE_AD_MAX], ct[50], back[10];
    size_t glen = coffre_ad_field(good, vid_a, 42, COFFRE_CLASS_IDENTITY, 1);
    int rc;

    coffre_aead_seal(k, good, glen, (const unsigned char *)"0123456789", 10,
                     ct);
    rc = coffre_aead_open(k, ad, adlen, ct, sizeof(ct), back);
    coffre_key_destroy(k);
    return rc;
}

static void
test_aead_wrong_ad(void)
{
    unsigned char ad[COFFRE_AD_MAX];
    size_t n;

    n = coffre_ad_field(ad, vid_a, 42, COFFRE_CLASS_IDENTITY, 1);
    CHECK_RC(open_with(ad, n), COFFRE_OK);
    n = coffre_ad_field(ad, vid_a, 43, COFFRE_CLASS_IDENTITY, 1);
    CHECK_RC(open_with(ad, n), COFFRE_ERR_CRYPTO);
    n = coffre_ad_field(ad, vid_a, 42, COFFRE_CLASS_CONTACT, 1);
    CHECK_RC(open_with(ad, n), COFFRE_ERR_CRYPTO);
    n = coffre_ad_field(ad, vid_a, 42, COFFRE_CLASS_IDENTITY, 2);
    CHECK_RC(open_with(ad, n), COFFRE_ERR_CRYPTO);
    n = coffre_ad_field(ad, vid_b, 42, COFFRE_CLASS_IDENTITY, 1);
    CHECK_RC(open_with(ad, n), COFFRE_ERR_CRYPTO);
    CHECK_RC(open_with(ad, 0), COFFRE_ERR_CRYPTO);
}

static void
test_ad_layout(void)
{
    static const unsigned char want_field[] = {
        'c',  'o', 'f', 'f', 'r', 'e', '/', 'f', 'i', 'e',  'l',  'd', 0,
        0xa0, 1,   2,   3,   4,   5,   6,   7,   8,   9,    10,   11,  12,
        13,   14,  15,  0,   0,   0,   0,   0,   0,   0x01, 0x02, /* record id
                                                                     258 */
        3,                  /* class document */
        0,    0,   0,   9}; /* dk_gen 9 */
    unsigned char ad[COFFRE_AD_MAX], ad2[COFFRE_AD_MAX];
    size_t n;

    n = coffre_ad_field(ad, vid_a, 258, COFFRE_CLASS_DOCUMENT, 9);
    CHECK(n == sizeof(want_field) && memcmp(ad, want_field, n) == 0);
    CHECK(coffre_ad_field(ad, vid_a, 1, -1, 0) == 0);
    CHECK(coffre_ad_field(ad, vid_a, 1, 256, 0) == 0);
    CHECK(coffre_ad_dkey(ad, vid_a, 1, 2, 3) == 11 + 1 + 16 + 8 + 4 + 4);
    CHECK(coffre_ad_kek(ad, vid_a, 2) == 11 + 16 + 4);
    n = coffre_ad_epoch(ad, vid_a, 2);
    CHECK(n == 13 + 16 + 4);
    CHECK(coffre_ad_kek(ad2, vid_a, 2) != n || memcmp(ad, ad2, n) != 0);
    CHECK(coffre_ad_named(ad, vid_a, "index:email") == 13 + 16 + 1 + 11);
    CHECK(coffre_ad_named(ad, vid_a, "") == 0);
    CHECK(coffre_ad_named(ad, vid_a, "0123456789abcdef0123456789abcdef") == 62);
    CHECK(coffre_ad_named(ad, vid_a, "0123456789abcdef0123456789abcdefX") == 0);
}

static void
test_key_wrap(void)
{
    struct coffre_key *kek = coffre_key_new(), *other = coffre_key_new();
    struct coffre_key *dk = coffre_key_new(), *back = NULL;
    unsigned char ad[COFFRE_AD_MAX], ad2[COFFRE_AD_MAX];
    unsigned char w[COFFRE_WRAPPED_LEN];
    size_t n = coffre_ad_dkey(ad, vid_a, 5, 1, 2024);
    size_t n2 = coffre_ad_dkey(ad2, vid_a, 5, 2, 2024);

    CHECK_RC(coffre_key_wrap(kek, ad, n, dk, w), COFFRE_OK);
    CHECK_RC(coffre_key_unwrap(kek, ad, n, w, sizeof(w), &back), COFFRE_OK);
    CHECK(back != NULL && memcmp(back->b, dk->b, 32) == 0);
    coffre_key_destroy(back);
    CHECK_RC(coffre_key_unwrap(other, ad, n, w, sizeof(w), &back),
             COFFRE_ERR_CRYPTO);
    CHECK(back == NULL);
    CHECK_RC(coffre_key_unwrap(kek, ad2, n2, w, sizeof(w), &back),
             COFFRE_ERR_CRYPTO);
    CHECK_RC(coffre_key_unwrap(kek, ad, n, w, 71, &back), COFFRE_ERR_PARSE);
    w[40] ^= 0x80;
    CHECK_RC(coffre_key_unwrap(kek, ad, n, w, sizeof(w), &back),
             COFFRE_ERR_CRYPTO);
    coffre_key_destroy(kek);
    coffre_key_destroy(other);
    coffre_key_destroy(dk);
}

static void
test_dkwrap_derive(void)
{
    struct coffre_key *kek1 = coffre_key_new(), *kek2 = coffre_key_new();
    struct coffre_key *e1 = coffre_key_new(), *e2 = coffre_key_new();
    struct coffre_key *a = NULL, *b = NULL, *c = NULL, *d = NULL, *a2 = NULL;

    CHECK_RC(coffre_key_dkwrap(kek1, 1, e1, &a), COFFRE_OK);
    CHECK_RC(coffre_key_dkwrap(kek1, 1, e1, &a2), COFFRE_OK);
    CHECK_RC(coffre_key_dkwrap(kek1, 2, e1, &b), COFFRE_OK);
    CHECK_RC(coffre_key_dkwrap(kek2, 1, e1, &c), COFFRE_OK);
    CHECK_RC(coffre_key_dkwrap(kek1, 1, e2, &d), COFFRE_OK);
    CHECK(memcmp(a->b, a2->b, 32) == 0);
    CHECK(memcmp(a->b, b->b, 32) != 0);
    CHECK(memcmp(a->b, c->b, 32) != 0);
    CHECK(memcmp(a->b, d->b, 32) != 0);
    coffre_key_destroy(b);
    coffre_key_destroy(c);
    coffre_key_destroy(a2);
    CHECK_RC(coffre_key_derive(kek1, "index:email", &b), COFFRE_OK);
    CHECK_RC(coffre_key_derive(kek1, "index:email", &c), COFFRE_OK);
    CHECK_RC(coffre_key_derive(kek1, "index:document", &a2), COFFRE_OK);
    CHECK(memcmp(b->b, c->b, 32) == 0 && memcmp(b->b, a2->b, 32) != 0);
    coffre_key_destroy(a2);
    CHECK_RC(coffre_key_derive(kek1, "", &a2), COFFRE_ERR_ARG);
    CHECK(a2 == NULL);
    coffre_key_destroy(a);
    coffre_key_destroy(b);
    coffre_key_destroy(c);
    coffre_key_destroy(d);
    coffre_key_destroy(kek1);
    coffre_key_destroy(kek2);
    coffre_key_destroy(e1);
    coffre_key_destroy(e2);
}

static void
test_root_check_blind(void)
{
    struct coffre_key *r1 = coffre_key_new(), *r2 = coffre_key_new();
    unsigned char c1[32], c2[32], c3[32], t1[16], t2[16], t3[16];

    coffre_root_check(r1, vid_a, c1);
    coffre_root_check(r1, vid_a, c2);
    CHECK(memcmp(c1, c2, 32) == 0);
    coffre_root_check(r2, vid_a, c2);
    coffre_root_check(r1, vid_b, c3);
    CHECK(memcmp(c1, c2, 32) != 0 && memcmp(c1, c3, 32) != 0);
    coffre_blind_tag(r1, (const unsigned char *)"dupont", 6, t1);
    coffre_blind_tag(r1, (const unsigned char *)"dupont", 6, t2);
    coffre_blind_tag(r2, (const unsigned char *)"dupont", 6, t3);
    CHECK(memcmp(t1, t2, 16) == 0 && memcmp(t1, t3, 16) != 0);
    coffre_blind_tag(r1, (const unsigned char *)"dupond", 6, t2);
    CHECK(memcmp(t1, t2, 16) != 0);
    coffre_key_destroy(r1);
    coffre_key_destroy(r2);
}

static void
test_secmem_clean(void)
{
    /* Every key, share and text released so far, through every path above
     * and in the other test files, was checked to be zero when freed. */
    CHECK(check_secmem_released() > 100);
    CHECK(check_secmem_violations() == 0);
}

int
main(void)
{
    if (sodium_init() < 0) {
        return 2;
    }
    check_secmem_watch();
    RUN(test_aead_roundtrip);
    RUN(test_aead_tamper);
    RUN(test_aead_wrong_ad);
    RUN(test_ad_layout);
    RUN(test_key_wrap);
    RUN(test_dkwrap_derive);
    RUN(test_root_check_blind);
    test_shamir_all();
    test_pseudonym_all();
    test_cursor_all();
    test_rng_all();
    test_vectors_all();
    RUN(test_secmem_clean);
    return check_done();
}
