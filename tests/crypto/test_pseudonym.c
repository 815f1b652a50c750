/* Pseudonyms: round trip, audiences, tampering, uniqueness. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "coffre/coffre.h"
#include "crypto/crypto.h"
#include "crypto_tests.h"

static struct coffre_key *master, *aud_a, *aud_b;

static void
test_pseudonym_roundtrip(void)
{
    static const uint64_t ids[] = {0, 1, 42, 1000000, UINT64_MAX};
    char p[44];
    uint64_t back;

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        CHECK_RC(coffre_pseudonym_make(aud_a, ids[i], p), COFFRE_OK);
        CHECK(strlen(p) == COFFRE_PSEUDONYM_CHARS);
        CHECK(strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789-_") == COFFRE_PSEUDONYM_CHARS);
        back = 7;
        CHECK_RC(coffre_pseudonym_open(aud_a, p, &back), COFFRE_OK);
        CHECK(back == ids[i]);
        CHECK_RC(coffre_pseudonym_open(aud_b, p, &back), COFFRE_ERR_NOTFOUND);
    }
}

static void
test_pseudonym_tamper(void)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char p[44], q[50];
    uint64_t back;
    int bad = 0;

    coffre_pseudonym_make(aud_a, 123456789, p);
    /* Every other character at every position: 43 * 63 variants. */
    for (size_t i = 0; i < COFFRE_PSEUDONYM_CHARS; i++) {
        for (size_t j = 0; j < sizeof(alphabet) - 1; j++) {
            if (alphabet[j] == p[i]) {
                continue;
            }
            memcpy(q, p, sizeof(p));
            q[i] = alphabet[j];
            if (coffre_pseudonym_open(aud_a, q, &back) != COFFRE_ERR_NOTFOUND) {
                bad++;
            }
        }
    }
    CHECK(bad == 0);
    CHECK_RC(coffre_pseudonym_open(aud_a, "", &back), COFFRE_ERR_NOTFOUND);
    memcpy(q, p, sizeof(p));
    q[42] = '\0';
    CHECK_RC(coffre_pseudonym_open(aud_a, q, &back), COFFRE_ERR_NOTFOUND);
    memcpy(q, p, 43);
    memcpy(q + 43, "A", 2);
    CHECK_RC(coffre_pseudonym_open(aud_a, q, &back), COFFRE_ERR_NOTFOUND);
    memcpy(q, p, sizeof(p));
    q[10] = '+';
    CHECK_RC(coffre_pseudonym_open(aud_a, q, &back), COFFRE_ERR_NOTFOUND);
    memcpy(q, p, sizeof(p));
    q[10] = '=';
    CHECK_RC(coffre_pseudonym_open(aud_a, q, &back), COFFRE_ERR_NOTFOUND);
}

static int
cmp_ps(const void *a, const void *b)
{
    return memcmp(a, b, 44);
}

#define NPS 100000

static void
test_pseudonym_distinct(void)
{
    char(*pa)[44] = malloc(sizeof(*pa) * NPS);
    char(*pb)[44] = malloc(sizeof(*pb) * NPS);
    size_t dup = 0, cross = 0;

    CHECK(pa != NULL && pb != NULL);
    if (pa == NULL || pb == NULL) {
        goto out;
    }
    for (uint64_t i = 0; i < NPS; i++) {
        coffre_pseudonym_make(aud_a, i, pa[i]);
        coffre_pseudonym_make(aud_b, i, pb[i]);
        cross += memcmp(pa[i], pb[i], 44) == 0;
    }
    qsort(pa, NPS, 44, cmp_ps);
    for (size_t i = 1; i < NPS; i++) {
        dup += memcmp(pa[i - 1], pa[i], 44) == 0;
    }
    CHECK(dup == 0);
    CHECK(cross == 0);
out:
    free(pa);
    free(pb);
}

void
test_pseudonym_all(void)
{
    master = coffre_key_new();
    CHECK_RC(coffre_key_derive(master, "pseudonym:gate", &aud_a), COFFRE_OK);
    CHECK_RC(coffre_key_derive(master, "pseudonym:printer", &aud_b), COFFRE_OK);
    RUN(test_pseudonym_roundtrip);
    RUN(test_pseudonym_tamper);
    RUN(test_pseudonym_distinct);
    coffre_key_destroy(aud_a);
    coffre_key_destroy(aud_b);
    coffre_key_destroy(master);
}
