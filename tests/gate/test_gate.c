/* Unit tests of the gate verifier (lib/gate) and the issuer (lib/badge). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zlib.h>

#include "badge_fixture.h"
#include "check.h"
#include "gate/base45.h"
#include "gate/cbor_get.h"
#include "gate/gate_ctx.h"

struct env {
    struct coffre_badge_key *bk, *lk;
    struct coffre_gate *g;
    char *badge;
    uint8_t id[8];
};

static void
env_open(struct env *e, const uint8_t *revoked, size_t n)
{
    struct coffre_badge_claims c;

    memset(e, 0, sizeof(*e));
    e->bk = fix_key(1);
    e->lk = fix_key(2);
    CHECK_RC(fix_gate(e->bk, e->lk, revoked, n, FIX_NOW - 60, &e->g),
             COFFRE_OK);
    fix_claims(&c);
    CHECK_RC(coffre_badge_issue(&c, e->bk, &e->badge, e->id), COFFRE_OK);
}

static void
env_close(struct env *e)
{
    coffre_free(e->badge);
    coffre_gate_free(e->g);
    coffre_badge_key_free(e->bk);
    coffre_badge_key_free(e->lk);
}

static int
decide(const struct env *e, const char *badge, const char *venue,
       const char *zone, int64_t now)
{
    struct coffre_gate_decision d;

    if (coffre_gate_verify(e->g, badge, strlen(badge), now, venue, zone, &d) !=
        COFFRE_OK) {
        return -1;
    }
    return d.reason;
}

static void
test_base45_rfc(void)
{
    static const struct {
        const char *bin, *txt;
    } v[] = {{"AB", "BB8"},
             {"Hello!!", "%69 VD92EX0"},
             {"base-45", "UJCLQE7W581"},
             {"ietf!", "QED8WEX0"},
             {"", ""}};
    char out[64];
    uint8_t bin[64];
    size_t n;

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t bl = strlen(v[i].bin), tl = strlen(v[i].txt);
        n = coffre_base45_encode((const uint8_t *)v[i].bin, bl, out,
                                 sizeof(out));
        CHECK(n == tl && memcmp(out, v[i].txt, tl) == 0);
        CHECK_RC(coffre_base45_decode(v[i].txt, tl, bin, sizeof(bin), &n),
                 COFFRE_OK);
        CHECK(n == bl && memcmp(bin, v[i].bin, bl) == 0);
    }
    /* Strict: outside the alphabet, lowercase, > 65535, bad length. */
    CHECK_RC(coffre_base45_decode("GGW", 3, bin, sizeof(bin), &n),
             COFFRE_ERR_PARSE); /* 65535 + 1 */
    CHECK_RC(coffre_base45_decode("FGW", 3, bin, sizeof(bin), &n),
             COFFRE_OK); /* 65535 */
    CHECK(n == 2 && bin[0] == 0xff && bin[1] == 0xff);
    CHECK_RC(coffre_base45_decode("bb8", 3, bin, sizeof(bin), &n),
             COFFRE_ERR_PARSE);
    CHECK_RC(coffre_base45_decode("BB8B", 4, bin, sizeof(bin), &n),
             COFFRE_ERR_PARSE);
    CHECK_RC(coffre_base45_decode("::", 2, bin, sizeof(bin), &n),
             COFFRE_ERR_PARSE); /* 2024 > 255 in a final pair */
    CHECK_RC(coffre_base45_decode("BB8BB8", 6, bin, 3, &n), COFFRE_ERR_TOOBIG);
    CHECK_RC(coffre_base45_decode("BB\n", 3, bin, sizeof(bin), &n),
             COFFRE_ERR_PARSE);
}

/* Declared lengths beyond the input and deep nesting never reach libcbor. */
static void
test_cbor_check(void)
{
    static const uint8_t huge_array[] = {0x9a, 0xff, 0xff, 0xff, 0xff, 0x00};
    static const uint8_t huge_map[] = {0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2};
    static const uint8_t ok[] = {0xa2, 0x01, 0x27, 0x04, 0x41, 0x00};
    static const uint8_t indef[] = {0x9f, 0x01, 0xff};
    uint8_t deep[12];

    CHECK(coffre_cbor_check(huge_array, sizeof(huge_array)) == -1);
    CHECK(coffre_cbor_check(huge_map, sizeof(huge_map)) == -1);
    CHECK(coffre_cbor_check(ok, sizeof(ok)) == 0);
    CHECK(coffre_cbor_check(ok, sizeof(ok) - 1) == -1);
    CHECK(coffre_cbor_check(indef, sizeof(indef)) == -1);
    memset(deep, 0x81, sizeof(deep));
    deep[sizeof(deep) - 1] = 0x00;
    CHECK(coffre_cbor_check(deep, sizeof(deep)) == -1);
    CHECK(coffre_cbor_check(deep + 4, sizeof(deep) - 4) == 0);
}

static void
test_accept(void)
{
    struct env e;
    struct coffre_gate_decision d;
    int version = 0;

    env_open(&e, NULL, 0);
    CHECK(strncmp(e.badge, "CB1:", 4) == 0);
    CHECK_RC(coffre_gate_verify(e.g, e.badge, strlen(e.badge), FIX_NOW, "STF",
                                "3", &d),
             COFFRE_OK);
    CHECK(d.reason == COFFRE_GATE_ACCEPT);
    CHECK(strcmp(d.name, "DUPONT J-M") == 0);
    CHECK(strcmp(d.category, "athlete") == 0);
    CHECK(strcmp(d.issuer, "P24") == 0);
    CHECK(d.transport[0] == '\0');
    CHECK(d.n_zones == 3 && strcmp(d.zones[2], "R") == 0);
    CHECK(d.n_venues == 1 && strcmp(d.venues[0], "STF") == 0);
    CHECK(memcmp(d.id, e.id, 8) == 0);
    CHECK(d.stale == 0 && d.list_age == 60);
    CHECK(decide(&e, e.badge, NULL, NULL, FIX_NOW) == COFFRE_GATE_ACCEPT);
    CHECK_RC(coffre_badge_qr_version(e.badge, &version), COFFRE_OK);
    printf("# typical badge: %zu chars, QR version %d at level Q\n",
           strlen(e.badge), version);
    CHECK(version > 0 && version <= 10);
    env_close(&e);
}

/* Optional claims absent and present; codes as integers or text. */
static void
test_transport(void)
{
    struct env e;
    struct coffre_badge_claims c;
    struct coffre_gate_decision d;
    const char *zones[] = {"0", "07", "123456789", "1234567890"};
    char *b = NULL;

    env_open(&e, NULL, 0);
    fix_claims(&c);
    c.issuer = NULL;
    c.transport = "T2";
    c.category = "fencing-judge";
    c.zones = zones;
    c.n_zones = 4;
    CHECK_RC(coffre_badge_issue(&c, e.bk, &b, NULL), COFFRE_OK);
    CHECK_RC(coffre_gate_verify(e.g, b, strlen(b), FIX_NOW, "STF", "07", &d),
             COFFRE_OK);
    CHECK(d.reason == COFFRE_GATE_ACCEPT);
    CHECK(strcmp(d.transport, "T2") == 0 && d.issuer[0] == '\0');
    CHECK(strcmp(d.category, "fencing-judge") == 0);
    CHECK(d.n_zones == 4 && strcmp(d.zones[0], "0") == 0 &&
          strcmp(d.zones[2], "123456789") == 0 &&
          strcmp(d.zones[3], "1234567890") == 0);
    coffre_free(b);
    env_close(&e);
}

static void
test_refusals(void)
{
    struct env e;
    struct coffre_badge_key *foreign = fix_key(9);
    struct coffre_badge_claims c;
    char *other = NULL, buf[600];

    env_open(&e, NULL, 0);
    CHECK(decide(&e, e.badge, "STF", "2", FIX_NOW) == COFFRE_GATE_WRONG_ZONE);
    CHECK(decide(&e, e.badge, "BCY", "1", FIX_NOW) == COFFRE_GATE_WRONG_VENUE);
    CHECK(decide(&e, e.badge, NULL, NULL, FIX_NOW - 86400 - 1) ==
          COFFRE_GATE_NOT_YET_VALID);
    CHECK(decide(&e, e.badge, NULL, NULL, FIX_NOW + 30 * 86400) ==
          COFFRE_GATE_EXPIRED);
    /* Truncated, wrong prefix, empty, garbage. */
    snprintf(buf, sizeof(buf), "%.*s", (int)strlen(e.badge) - 3, e.badge);
    CHECK(decide(&e, buf, NULL, NULL, FIX_NOW) == COFFRE_GATE_MALFORMED);
    snprintf(buf, sizeof(buf), "HC1:%s", e.badge + 4);
    CHECK(decide(&e, buf, NULL, NULL, FIX_NOW) == COFFRE_GATE_MALFORMED);
    CHECK(decide(&e, "", NULL, NULL, FIX_NOW) == COFFRE_GATE_MALFORMED);
    CHECK(decide(&e, "CB1:", NULL, NULL, FIX_NOW) == COFFRE_GATE_MALFORMED);
    /* A foreign key: its kid is not on the trust list. */
    fix_claims(&c);
    CHECK_RC(coffre_badge_issue(&c, foreign, &other, NULL), COFFRE_OK);
    CHECK(decide(&e, other, NULL, NULL, FIX_NOW) == COFFRE_GATE_UNKNOWN_KEY);
    coffre_free(other);
    coffre_badge_key_free(foreign);
    env_close(&e);
}

/* Flip one bit of the COSE bytes at ${off} and decide. */
static int
flip_decide(const struct env *e, size_t off, unsigned bit)
{
    uint8_t cose[1024];
    size_t n;
    char out[1200];

    if (fix_unwrap(e->badge, cose, sizeof(cose), &n) != 0 || off >= n) {
        return -1;
    }
    cose[off] ^= (uint8_t)(1u << bit);
    if (fix_wrap(cose, n, out, sizeof(out)) != 0) {
        return -1;
    }
    return decide(e, out, NULL, NULL, FIX_NOW);
}

static void
test_flips(void)
{
    struct env e;
    uint8_t cose[1024];
    size_t n, name_off;
    const uint8_t *p;

    env_open(&e, NULL, 0);
    CHECK(fix_unwrap(e.badge, cose, sizeof(cose), &n) == 0);
    /* Array, protected bstr(9) {1: -8, 4: kid}: alg at 4, kid at 7..10. */
    CHECK(cose[0] == 0x84 && cose[1] == 0x49 && cose[4] == 0x27);
    CHECK(flip_decide(&e, 8, 0) == COFFRE_GATE_UNKNOWN_KEY); /* kid */
    CHECK(flip_decide(&e, 4, 0) == COFFRE_GATE_MALFORMED);   /* alg */
    CHECK(flip_decide(&e, n - 1, 3) == COFFRE_GATE_BAD_SIGNATURE);
    CHECK(flip_decide(&e, n - 40, 7) == COFFRE_GATE_BAD_SIGNATURE);
    p = memmem(cose, n, "DUPONT", 6);
    CHECK(p != NULL);
    name_off = p != NULL ? (size_t)(p - cose) : 0;
    CHECK(flip_decide(&e, name_off + 1, 0) == COFFRE_GATE_BAD_SIGNATURE);
    /* Every single-bit flip anywhere is refused. */
    size_t accepted = 0;
    for (size_t off = 0; off < n; off++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            int r = flip_decide(&e, off, bit);
            accepted += r == COFFRE_GATE_ACCEPT || r < 0;
        }
    }
    CHECK(accepted == 0);
    env_close(&e);
}

static void
test_revoked_and_stale(void)
{
    struct env e, e2;
    struct coffre_gate_decision d;
    unsigned char *buf;
    size_t len;
    uint64_t seq;
    int64_t iat;
    uint8_t ids[24];

    env_open(&e, NULL, 0);
    randombytes_buf(ids, sizeof(ids));
    memcpy(ids + 8, e.id, 8);
    /* A list naming the badge, sequence 2: refused as revoked. */
    CHECK_RC(
        coffre_badge_revocation_list(ids, 3, 2, FIX_NOW - 10, e.lk, &buf, &len),
        COFFRE_OK);
    CHECK_RC(coffre_gate_list_info(e.g->list_pk, buf, len, 1, &seq, &iat),
             COFFRE_OK);
    CHECK(seq == 2 && iat == FIX_NOW - 10);
    CHECK_RC(coffre_gate_load_revocations(e.g, buf, len), COFFRE_OK);
    CHECK_RC(coffre_gate_load_trust(e.g, buf, len), COFFRE_ERR_PARSE);
    coffre_free(buf);
    CHECK(decide(&e, e.badge, NULL, NULL, FIX_NOW) == COFFRE_GATE_REVOKED);
    /* Sequence 1 again: refused, the loaded list stays. */
    CHECK_RC(
        coffre_badge_revocation_list(NULL, 0, 1, FIX_NOW, e.lk, &buf, &len),
        COFFRE_OK);
    CHECK_RC(coffre_gate_load_revocations(e.g, buf, len), COFFRE_ERR_STATE);
    coffre_free(buf);
    CHECK(decide(&e, e.badge, NULL, NULL, FIX_NOW) == COFFRE_GATE_REVOKED);
    env_close(&e);

    /* Stale: warn by default, refuse by policy. */
    env_open(&e2, NULL, 0);
    coffre_gate_set_policy(e2.g, 3600, 0);
    CHECK_RC(coffre_gate_verify(e2.g, e2.badge, strlen(e2.badge),
                                FIX_NOW + 7200, NULL, NULL, &d),
             COFFRE_OK);
    CHECK(d.reason == COFFRE_GATE_ACCEPT && d.stale == 1);
    coffre_gate_set_policy(e2.g, 3600, 1);
    CHECK(decide(&e2, e2.badge, NULL, NULL, FIX_NOW + 7200) ==
          COFFRE_GATE_STALE_LIST);
    CHECK(decide(&e2, e2.badge, NULL, NULL, FIX_NOW) == COFFRE_GATE_ACCEPT);
    env_close(&e2);
}

static void
test_lists_forged(void)
{
    struct env e;
    struct coffre_badge_key *evil = fix_key(7);
    unsigned char *buf;
    size_t len;

    env_open(&e, NULL, 0);
    /* A list signed by another key than the provisioned one. */
    CHECK_RC(fix_trust(evil, evil, 5, &buf, &len), COFFRE_OK);
    CHECK_RC(coffre_gate_load_trust(e.g, buf, len), COFFRE_ERR_CRYPTO);
    buf[len - 1] ^= 1;
    CHECK_RC(coffre_gate_load_trust(e.g, buf, len), COFFRE_ERR_CRYPTO);
    coffre_free(buf);
    /* A genuine list with a flipped signature bit. */
    CHECK_RC(fix_trust(e.bk, e.lk, 5, &buf, &len), COFFRE_OK);
    buf[len - 1] ^= 1;
    CHECK_RC(coffre_gate_load_trust(e.g, buf, len), COFFRE_ERR_CRYPTO);
    coffre_free(buf);
    CHECK(decide(&e, e.badge, NULL, NULL, FIX_NOW) == COFFRE_GATE_ACCEPT);
    /* Trust list sequence going back is refused. */
    CHECK_RC(fix_trust(e.bk, e.lk, 0, &buf, &len), COFFRE_OK);
    CHECK_RC(coffre_gate_load_trust(e.g, buf, len), COFFRE_ERR_STATE);
    coffre_free(buf);
    /* After the key's validity the badge key is unknown. */
    CHECK(decide(&e, e.badge, NULL, NULL, 1767225601) ==
          COFFRE_GATE_UNKNOWN_KEY);
    coffre_badge_key_free(evil);
    env_close(&e);
}

static void
test_zip_bomb(void)
{
    struct env e;
    static uint8_t zeros[64 * 1024];
    char out[2048];

    env_open(&e, NULL, 0);
    CHECK(fix_wrap(zeros, sizeof(zeros), out, sizeof(out)) == 0);
    CHECK(strlen(out) < 400);
    CHECK(decide(&e, out, NULL, NULL, FIX_NOW) == COFFRE_GATE_MALFORMED);
    env_close(&e);
}

static void
test_issue_args(void)
{
    struct coffre_badge_key *k = fix_key(1);
    struct coffre_badge_claims c;
    char *p = NULL;
    char name[64];
    const char *long_zones[17];

    fix_claims(&c);
    c.subject = "short";
    CHECK_RC(coffre_badge_issue(&c, k, &p, NULL), COFFRE_ERR_ARG);
    fix_claims(&c);
    c.exp = c.nbf;
    CHECK_RC(coffre_badge_issue(&c, k, &p, NULL), COFFRE_ERR_ARG);
    fix_claims(&c);
    c.name = "BAD\nNAME";
    CHECK_RC(coffre_badge_issue(&c, k, &p, NULL), COFFRE_ERR_ARG);
    fix_claims(&c);
    for (size_t i = 0; i < 17; i++) {
        long_zones[i] = "Z";
    }
    c.zones = long_zones;
    c.n_zones = 17;
    CHECK_RC(coffre_badge_issue(&c, k, &p, NULL), COFFRE_ERR_ARG);
    CHECK(p == NULL);
    CHECK_RC(coffre_badge_display_name("Dupont", "Jean-Marie Paul", name,
                                       sizeof(name)),
             COFFRE_OK);
    CHECK(strcmp(name, "DUPONT J-M P") == 0);
    CHECK_RC(coffre_badge_display_name("Le Bihan-Kerjean de la Tour d'Auvergne",
                                       "Éloïse", name, sizeof(name)),
             COFFRE_OK);
    CHECK(strlen(name) <= 32 && strstr(name, " \xc3\x89") != NULL);
    /* every script in capitals through utf8proc, per code point on NFC */
    static const char *const upper[][3] = {
        {"Müller", "Jean-Éloïse", "MÜLLER J-É"},
        {"Mu\xcc\x88ller", "e\xcc\x81mile", "MÜLLER É"}, /* NFD */
        {"Παπαδόπουλος", "Σοφία", "ΠΑΠΑΔΌΠΟΥΛΟΣ Σ"},
        {"Фёдоров", "йосиф", "ФЁДОРОВ Й"},
        {"Straße", "ßigrid", "STRAẞE ẞ"}, /* utf8proc: ẞ, U+1E9E */
        {"Işık", "ilker", "IŞIK I"},      /* not Turkish-dependent */
        {"ǆuro", "ǉuba", "ǄURO Ǉ"},
        {"ﬁnn", "zoë", "ﬁNN Z"}, /* ligature: no simple capital */
        {"ｙａｍａｄａ", "ｔａｒｏ", "ＹＡＭＡＤＡ Ｔ"},
        {"王", "小明", "王 小"},
        {"მამალაძე", "თამარ", "ᲛᲐᲛᲐᲚᲐᲫᲔ Თ"},
        {"Հակոբյան", "արամ", "ՀԱԿՈԲՅԱՆ Ա"},
        {"محمد", "علي", "محمد ع"},
        {"शर्मा", "क्षितिज", "शर्मा क्"}, /* a cluster (Unicode 15) */
    };
    for (size_t i = 0; i < sizeof(upper) / sizeof(upper[0]); i++) {
        CHECK_RC(coffre_badge_display_name(upper[i][0], upper[i][1], name,
                                           sizeof(name)),
                 COFFRE_OK);
        if (strcmp(name, upper[i][2]) != 0) {
            fprintf(stderr, "display %zu: %s, want %s\n", i, name, upper[i][2]);
            CHECK(0);
        }
    }
    /* cut at a cluster boundary: "क्षि" is two clusters of 6 bytes; 27
     * bytes of surname would end inside the fifth, 24 end between */
    CHECK_RC(coffre_badge_display_name("क्षिक्षिक्षिक्षि", "a", name, sizeof(name)),
             COFFRE_OK);
    CHECK(strlen(name) == 24 + 2 && strcmp(name + 24, " A") == 0);
    coffre_badge_key_free(k);
}

static void
test_qr_images(void)
{
    struct env e;
    unsigned char *png = NULL;
    char *svg = NULL;
    size_t len = 0;

    env_open(&e, NULL, 0);
    CHECK_RC(coffre_badge_qr_png(e.badge, 4, &png, &len), COFFRE_OK);
    CHECK(len > 8 && png != NULL && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    coffre_free(png);
    CHECK_RC(coffre_badge_qr_svg(e.badge, &svg), COFFRE_OK);
    CHECK(svg != NULL && strncmp(svg, "<svg", 4) == 0);
    CHECK_RC(coffre_badge_qr_png(e.badge, 0, &png, &len), COFFRE_ERR_ARG);
    coffre_free(svg);
    env_close(&e);
}

static void
test_key_wiped(void)
{
    size_t v0 = check_secmem_violations(), r0 = check_secmem_released();
    struct coffre_badge_key *k = NULL;
    uint8_t seed[32], seed2[32];

    CHECK_RC(coffre_badge_key_generate(&k), COFFRE_OK);
    coffre_badge_key_seed(k, seed);
    coffre_badge_key_free(k);
    CHECK_RC(coffre_badge_key_from_seed(seed, &k), COFFRE_OK);
    coffre_badge_key_seed(k, seed2);
    CHECK(memcmp(seed, seed2, 32) == 0);
    coffre_badge_key_free(k);
    coffre_badge_key_free(NULL);
    CHECK(check_secmem_released() > r0);
    CHECK(check_secmem_violations() == v0);
}

int
main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    check_secmem_watch();
    RUN(test_base45_rfc);
    RUN(test_cbor_check);
    RUN(test_accept);
    RUN(test_transport);
    RUN(test_refusals);
    RUN(test_flips);
    RUN(test_revoked_and_stale);
    RUN(test_lists_forged);
    RUN(test_zip_bomb);
    RUN(test_issue_args);
    RUN(test_qr_images);
    RUN(test_key_wiped);
    return check_done();
}
