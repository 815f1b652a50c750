/*
 * Badge benchmark: verifications per second on one core, from badge string
 * to decision, side by side with libsodium's bare Ed25519 verification of
 * the same signed bytes; and the QR version (level Q) of generated badges.
 * Prints "key value" lines; bench/badge.sh makes the table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <zlib.h>

#include "coffre/badge.h"
#include "coffre/gate.h"
#include "gate/base45.h"
#include "gate/cose.h"

#define NOW 1721980800
#define MAX_BADGES 4096

struct signed_bytes {
    uint8_t tbs[1200];
    size_t len;
    uint8_t sig[64];
};

static char *badges[MAX_BADGES];
static struct signed_bytes bare[MAX_BADGES];

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
rand_word(char *out, size_t min, size_t max, const char *alphabet)
{
    size_t n = min + randombytes_uniform((uint32_t)(max - min + 1));
    size_t k = strlen(alphabet);

    for (size_t i = 0; i < n; i++) {
        out[i] = alphabet[randombytes_uniform((uint32_t)k)];
    }
    out[n] = '\0';
}

/* Realistic claims: names of 4..14 letters and 1..2 initials, 1..2 venues,
 * 1..4 zones, a transport code for one badge in three. */
static int
make_badge(const struct coffre_badge_key *k, char **pbadge)
{
    static const char *const cats[] = {"athlete",   "media",    "staff",
                                       "volunteer", "security", "guest"};
    char surname[16], given[16], name[40], sub[44], v[2][8], z[4][4], t[4];
    const char *venues[2] = {v[0], v[1]}, *zones[4] = {z[0], z[1], z[2], z[3]};
    struct coffre_badge_claims c = {0};

    rand_word(surname, 4, 14, "ABCDEFGHIJKLMNOPRSTUVZ");
    rand_word(given, 3, 8, "ABCDEFGHIJLMNPRST");
    if (randombytes_uniform(4) == 0) {
        given[2] = '-';
    }
    coffre_badge_display_name(surname, given, name, sizeof(name));
    rand_word(sub, 43, 43,
              "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
              "-_");
    for (int i = 0; i < 2; i++) {
        rand_word(v[i], 3, 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    }
    for (int i = 0; i < 4; i++) {
        rand_word(z[i], 1, 1, "12345678ABCR");
    }
    rand_word(t, 2, 2, "T0123456789");
    c.issuer = getenv("BADGE_ISS"); /* default none: docs/badge.md */
    c.subject = sub;
    c.iat = NOW - randombytes_uniform(90 * 86400);
    c.nbf = NOW - 86400;
    c.exp = NOW + 60 * 86400;
    c.name = name;
    c.category = cats[randombytes_uniform(6)];
    c.venues = venues;
    c.n_venues = 1 + randombytes_uniform(2);
    c.zones = zones;
    c.n_zones = 1 + randombytes_uniform(4);
    c.transport = randombytes_uniform(3) == 0 ? t : NULL;
    return coffre_badge_issue(&c, k, pbadge, NULL);
}

/* The bytes Ed25519 covers, taken out of a badge (outside the timing). */
static int
extract(const char *badge, struct signed_bytes *sb)
{
    uint8_t z[4096], cose[4096], payload[4096];
    struct coffre_cose_sign1 s;
    struct coffre_cbw w;
    size_t zlen;
    z_stream zs;

    if (coffre_base45_decode(badge + 4, strlen(badge) - 4, z, sizeof(z),
                             &zlen) != COFFRE_OK) {
        return -1;
    }
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, -15) != Z_OK) {
        return -1;
    }
    zs.next_in = z;
    zs.avail_in = (uInt)zlen;
    zs.next_out = cose;
    zs.avail_out = sizeof(cose);
    if (inflate(&zs, Z_FINISH) != Z_STREAM_END) {
        inflateEnd(&zs);
        return -1;
    }
    inflateEnd(&zs);
    if (coffre_cose_sign1_parse(cose, zs.total_out, &s, payload,
                                sizeof(payload)) != COFFRE_OK) {
        return -1;
    }
    coffre_cbw_init(&w, sb->tbs, sizeof(sb->tbs));
    coffre_cose_sig_structure(&w, s.prot, s.prot_len, s.payload, s.payload_len);
    sb->len = w.len;
    memcpy(sb->sig, s.sig, 64);
    return w.err ? -1 : 0;
}

static double
run_gate(const struct coffre_gate *g, size_t n, size_t iters)
{
    struct coffre_gate_decision d;
    double t0 = now_s();

    for (size_t i = 0; i < iters; i++) {
        const char *b = badges[i % n];
        if (coffre_gate_verify(g, b, strlen(b), NOW, NULL, NULL, &d) !=
                COFFRE_OK ||
            d.reason != COFFRE_GATE_ACCEPT) {
            fprintf(stderr, "bench_badge: badge refused\n");
            exit(1);
        }
    }
    return (double)iters / (now_s() - t0);
}

static double
run_bare(const uint8_t pk[32], size_t n, size_t iters)
{
    double t0 = now_s();

    for (size_t i = 0; i < iters; i++) {
        const struct signed_bytes *sb = &bare[i % n];
        if (crypto_sign_verify_detached(sb->sig, sb->tbs, sb->len, pk) != 0) {
            fprintf(stderr, "bench_badge: bare verify failed\n");
            exit(1);
        }
    }
    return (double)iters / (now_s() - t0);
}

static int
cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static struct coffre_gate *
make_gate(const struct coffre_badge_key *bk, const struct coffre_badge_key *lk)
{
    struct coffre_badge_trusted t;
    struct coffre_gate *g = NULL;
    unsigned char *buf;
    uint8_t lpk[32];
    size_t len;

    coffre_badge_key_public(bk, t.pk, NULL);
    t.not_before = 0;
    t.not_after = NOW + 365 * 86400;
    coffre_badge_key_public(lk, lpk, NULL);
    if (coffre_gate_new(lpk, &g) != COFFRE_OK ||
        coffre_badge_trust_list(&t, 1, 1, NOW, lk, &buf, &len) != COFFRE_OK) {
        exit(1);
    }
    if (coffre_gate_load_trust(g, buf, len) != COFFRE_OK) {
        exit(1);
    }
    coffre_free(buf);
    if (coffre_badge_revocation_list(NULL, 0, 1, NOW, lk, &buf, &len) !=
            COFFRE_OK ||
        coffre_gate_load_revocations(g, buf, len) != COFFRE_OK) {
        exit(1);
    }
    coffre_free(buf);
    return g;
}

int
main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 1000;
    size_t iters = argc > 2 ? (size_t)atol(argv[2]) : 2000;
    struct coffre_badge_key *bk, *lk;
    struct coffre_gate *g;
    static int versions[MAX_BADGES];
    double gate_best = 0, bare_best = 0;
    uint8_t pk[32];

    if (coffre_lib_init() != COFFRE_OK || n == 0 || n > MAX_BADGES ||
        coffre_badge_key_generate(&bk) != COFFRE_OK ||
        coffre_badge_key_generate(&lk) != COFFRE_OK) {
        return 1;
    }
    coffre_badge_key_public(bk, pk, NULL);
    for (size_t i = 0; i < n; i++) {
        if (make_badge(bk, &badges[i]) != COFFRE_OK ||
            extract(badges[i], &bare[i]) != 0 ||
            coffre_badge_qr_version(badges[i], &versions[i]) != COFFRE_OK) {
            return 1;
        }
    }
    g = make_gate(bk, lk);
    /* Alternate the two in short rounds and keep the best of each: the
     * machine's load then weighs on both alike. */
    for (int round = 0; round < 15; round++) {
        double r = run_gate(g, n, iters), b = run_bare(pk, n, iters);
        gate_best = r > gate_best ? r : gate_best;
        bare_best = b > bare_best ? b : bare_best;
    }
    qsort(versions, n, sizeof(versions[0]), cmp_int);
    printf("badges %zu\n", n);
    printf("gate_verify_per_s %.0f\n", gate_best);
    printf("bare_ed25519_per_s %.0f\n", bare_best);
    printf("ratio %.3f\n", gate_best / bare_best);
    printf("qr_version_median %d\n", versions[n / 2]);
    printf("qr_version_max %d\n", versions[n - 1]);
    printf("qr_version_min %d\n", versions[0]);
    {
        size_t fit = 0;
        for (size_t i = 0; i < n; i++) {
            fit += versions[i] <= 10;
        }
        printf("qr_v10_or_less_pct %.1f\n", 100.0 * (double)fit / (double)n);
    }
    for (size_t i = 0; i < n; i++) {
        coffre_free(badges[i]);
    }
    coffre_gate_free(g);
    coffre_badge_key_free(bk);
    coffre_badge_key_free(lk);
    return 0;
}
