/* Shamir split/combine, share text parsing and its checksum. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "coffre/coffre.h"
#include "crypto/crypto.h"
#include "crypto_tests.h"
#include "util/secmem.h"

static const unsigned char vid_a[16] = {0xa0, 1, 2,  3,  4,  5,  6,  7,
                                        8,    9, 10, 11, 12, 13, 14, 15};
static const unsigned char vid_b[16] = {0xb0, 1, 2,  3,  4,  5,  6,  7,
                                        8,    9, 10, 11, 12, 13, 14, 15};

static struct coffre_key *root;
static char *texts[5];
static unsigned char commits[5][32];

static void
setup(void)
{
    root = coffre_key_new();
    CHECK_RC(coffre_shamir_split(root, vid_a, 5, 3, texts, commits), COFFRE_OK);
}

static void
teardown(void)
{
    for (int i = 0; i < 5; i++) {
        coffre_pmem_free(texts[i]);
        texts[i] = NULL;
    }
    coffre_key_destroy(root);
}

/* Combines the shares whose bit is set in ${mask}. */
static int
combine_mask(unsigned mask, int *same)
{
    struct coffre_share s[5];
    struct coffre_key *k = NULL;
    unsigned n = 0;
    int rc;

    for (unsigned i = 0; i < 5; i++) {
        if (mask & (1u << i)) {
            CHECK_RC(coffre_share_parse(texts[i], &s[n++]), COFFRE_OK);
        }
    }
    rc = coffre_shamir_combine(s, n, &k);
    *same = k != NULL && memcmp(k->b, root->b, 32) == 0;
    coffre_key_destroy(k);
    for (unsigned i = 0; i < n; i++) {
        coffre_share_clear(&s[i]);
    }
    return rc;
}

static void
test_shamir_subsets(void)
{
    int ok = 0, bad = 0, same;

    for (unsigned mask = 1; mask < 32; mask++) {
        int bits = __builtin_popcount(mask);
        int rc = combine_mask(mask, &same);

        if (bits >= 3) {
            (rc == COFFRE_OK && same) ? ok++ : bad++;
        } else if (rc != COFFRE_ERR_THRESHOLD) {
            bad++;
        }
    }
    CHECK(ok == 16); /* 10 triples + 5 quadruples + the whole set */
    CHECK(bad == 0);
}

static void
test_share_format(void)
{
    struct coffre_share s;
    unsigned char c[32];
    char vid[33], line[300];

    sodium_bin2hex(vid, sizeof(vid), vid_a, 16);
    for (int i = 0; i < 5; i++) {
        char head[80];

        snprintf(head, sizeof(head), "coffre-share-v1 %s 3 5 %d ", vid, i + 1);
        CHECK(strncmp(texts[i], head, strlen(head)) == 0);
        CHECK(strlen(texts[i]) == strlen(head) + 43 + 1 + 8 + 1);
        CHECK(texts[i][strlen(texts[i]) - 1] == '\n');
        CHECK_RC(coffre_share_parse(texts[i], &s), COFFRE_OK);
        CHECK(s.threshold == 3 && s.count == 5 && s.index == (unsigned)i + 1);
        CHECK(memcmp(s.vault_id, vid_a, 16) == 0 && s.len == 32);
        coffre_share_commitment(&s, c);
        CHECK(memcmp(c, commits[i], 32) == 0);
        CHECK(i == 0 || memcmp(commits[i], commits[0], 32) != 0);
        coffre_share_clear(&s);
        CHECK(s.bytes == NULL);
    }
    /* Pasted with surrounding whitespace and CRLF. */
    snprintf(line, sizeof(line), "  \t%.*s\r\n\n", (int)strlen(texts[0]) - 1,
             texts[0]);
    CHECK_RC(coffre_share_parse(line, &s), COFFRE_OK);
    coffre_share_clear(&s);
}

static void
test_share_corrupt(void)
{
    struct coffre_share s;
    const char *why = NULL;
    char line[300], big[1100];
    size_t n = strlen(texts[1]);
    int bad = 0;

    /* Any single changed character before the checksum is caught. */
    for (size_t i = 0; i + 10 < n; i++) {
        memcpy(line, texts[1], n + 1);
        line[i] = line[i] == 'A' ? 'B' : 'A';
        if (coffre_share_parse_ex(line, &s, &why) != COFFRE_ERR_SHARE ||
            why == NULL || s.bytes != NULL) {
            bad++;
        }
    }
    CHECK(bad == 0);
    memcpy(line, texts[1], n + 1);
    line[n - 20] = line[n - 20] == 'A' ? 'B' : 'A';
    CHECK_RC(coffre_share_parse_ex(line, &s, &why), COFFRE_ERR_SHARE);
    CHECK(why != NULL && strstr(why, "checksum") != NULL);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_RC(coffre_share_parse(big, &s), COFFRE_ERR_TOOBIG);
    CHECK_RC(coffre_share_parse("", &s), COFFRE_ERR_SHARE);
    CHECK_RC(coffre_share_parse("coffre-share-v1 ", &s), COFFRE_ERR_SHARE);
    CHECK_RC(coffre_share_parse("coffre-share-v1 x 00000000", &s),
             COFFRE_ERR_SHARE);
}

/* Rewrites the text of share ${i} with altered bytes and a recomputed
 * checksum, as a careful attacker (or a second implementation) would. */
static void
forge(int i, char *out, size_t cap)
{
    struct coffre_share s;
    char b64[44], body[200];
    unsigned char h[32];
    char sum[9];

    CHECK_RC(coffre_share_parse(texts[i], &s), COFFRE_OK);
    s.bytes[0] ^= 1;
    sodium_bin2base64(b64, sizeof(b64), s.bytes, 32,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(body, sizeof(body), "%.*s%s", (int)(16 + 33 + 6), texts[i], b64);
    crypto_generichash(h, 32, (unsigned char *)body, strlen(body), NULL, 0);
    sodium_bin2hex(sum, sizeof(sum), h, 4);
    snprintf(out, cap, "%s %s\n", body, sum);
    coffre_share_clear(&s);
}

static void
test_share_forged(void)
{
    struct coffre_share s[3];
    struct coffre_key *k = NULL;
    unsigned char c1[32], c2[32], cm[32];
    char line[300];

    forge(0, line, sizeof(line));
    CHECK_RC(coffre_share_parse(line, &s[0]), COFFRE_OK);
    coffre_share_commitment(&s[0], cm);
    CHECK(memcmp(cm, commits[0], 32) != 0); /* the vault can tell */
    CHECK_RC(coffre_share_parse(texts[1], &s[1]), COFFRE_OK);
    CHECK_RC(coffre_share_parse(texts[2], &s[2]), COFFRE_OK);
    CHECK_RC(coffre_shamir_combine(s, 3, &k), COFFRE_OK);
    coffre_root_check(root, vid_a, c1);
    coffre_root_check(k, vid_a, c2);
    CHECK(memcmp(c1, c2, 32) != 0);
    coffre_key_destroy(k);
    for (int i = 0; i < 3; i++) {
        coffre_share_clear(&s[i]);
    }
}

static void
test_share_mixing(void)
{
    struct coffre_key *other = coffre_key_new(), *k = NULL;
    char *t2[5];
    unsigned char c2[5][32];
    struct coffre_share s[3];

    CHECK_RC(coffre_shamir_split(other, vid_b, 5, 3, t2, c2), COFFRE_OK);
    CHECK_RC(coffre_share_parse(t2[0], &s[0]), COFFRE_OK);
    CHECK(memcmp(s[0].vault_id, vid_a, 16) != 0); /* another vault's */
    CHECK_RC(coffre_share_parse(texts[1], &s[1]), COFFRE_OK);
    CHECK_RC(coffre_share_parse(texts[2], &s[2]), COFFRE_OK);
    CHECK_RC(coffre_shamir_combine(s, 3, &k), COFFRE_ERR_SHARE);
    CHECK(k == NULL);
    coffre_share_clear(&s[0]);
    CHECK_RC(coffre_share_parse(texts[1], &s[0]), COFFRE_OK);
    CHECK_RC(coffre_shamir_combine(s, 3, &k), COFFRE_ERR_SHARE); /* dup */
    CHECK_RC(coffre_shamir_combine(s, 0, &k), COFFRE_ERR_THRESHOLD);
    for (int i = 0; i < 3; i++) {
        coffre_share_clear(&s[i]);
    }
    for (int i = 0; i < 5; i++) {
        coffre_pmem_free(t2[i]);
    }
    coffre_key_destroy(other);
}

static void
test_split_args(void)
{
    char *t[255];
    static unsigned char c[255][32];
    struct coffre_share s[2];
    struct coffre_key *k = NULL;

    CHECK_RC(coffre_shamir_split(root, vid_a, 5, 1, t, c), COFFRE_ERR_ARG);
    CHECK_RC(coffre_shamir_split(root, vid_a, 3, 4, t, c), COFFRE_ERR_ARG);
    CHECK_RC(coffre_shamir_split(root, vid_a, 256, 3, t, c), COFFRE_ERR_ARG);
    CHECK_RC(coffre_shamir_split(root, vid_a, 255, 2, t, c), COFFRE_OK);
    CHECK_RC(coffre_share_parse(t[17], &s[0]), COFFRE_OK);
    CHECK_RC(coffre_share_parse(t[254], &s[1]), COFFRE_OK);
    CHECK(s[1].index == 255 && s[1].count == 255);
    CHECK_RC(coffre_shamir_combine(s, 2, &k), COFFRE_OK);
    CHECK(k != NULL && memcmp(k->b, root->b, 32) == 0);
    coffre_key_destroy(k);
    coffre_share_clear(&s[0]);
    coffre_share_clear(&s[1]);
    for (int i = 0; i < 255; i++) {
        coffre_pmem_free(t[i]);
    }
}

void
test_shamir_all(void)
{
    setup();
    RUN(test_shamir_subsets);
    RUN(test_share_format);
    RUN(test_share_corrupt);
    RUN(test_share_forged);
    RUN(test_share_mixing);
    RUN(test_split_args);
    teardown();
}
