/* Fixtures for the gate tests: keys, claims, lists, re-wrapping. */
#include "badge_fixture.h"

#include <string.h>

#include <zlib.h>

#include "gate/base45.h"

static const char *const fix_venues[] = {"STF"};
static const char *const fix_zones[] = {"1", "3", "R"};

void
fix_claims(struct coffre_badge_claims *c)
{
    memset(c, 0, sizeof(*c));
    c->issuer = "P24";
    c->subject = "q3VrkWJ8Yx0aT4bLmN7pQ2sUvWxYz01234567890AbC";
    c->iat = FIX_NOW - 2 * 86400;
    c->nbf = FIX_NOW - 86400;
    c->exp = FIX_NOW + 30 * 86400;
    c->name = "DUPONT J-M";
    c->category = "athlete";
    c->venues = fix_venues;
    c->n_venues = 1;
    c->zones = fix_zones;
    c->n_zones = 3;
    c->transport = NULL; /* see test_transport */
}

struct coffre_badge_key *
fix_key(uint8_t byte)
{
    uint8_t seed[32];
    struct coffre_badge_key *k = NULL;

    memset(seed, byte, sizeof(seed));
    if (coffre_badge_key_from_seed(seed, &k) != COFFRE_OK) {
        return NULL;
    }
    return k;
}

int
fix_trust(const struct coffre_badge_key *badge_key,
          const struct coffre_badge_key *list_key, uint64_t seq,
          unsigned char **pbuf, size_t *plen)
{
    struct coffre_badge_trusted t;

    coffre_badge_key_public(badge_key, t.pk, NULL);
    t.not_before = 1704067200; /* 2024-01-01 */
    t.not_after = 1767225600;  /* 2026-01-01 */
    return coffre_badge_trust_list(&t, 1, seq, FIX_NOW - 3600, list_key, pbuf,
                                   plen);
}

int
fix_gate(const struct coffre_badge_key *badge_key,
         const struct coffre_badge_key *list_key, const uint8_t *revoked,
         size_t n, int64_t iat, struct coffre_gate **pg)
{
    uint8_t lpk[32];
    unsigned char *buf = NULL;
    size_t len;
    int rc;

    coffre_badge_key_public(list_key, lpk, NULL);
    rc = coffre_gate_new(lpk, pg);
    if (rc == COFFRE_OK) {
        rc = fix_trust(badge_key, list_key, 1, &buf, &len);
    }
    if (rc == COFFRE_OK) {
        rc = coffre_gate_load_trust(*pg, buf, len);
        coffre_free(buf);
        buf = NULL;
    }
    if (rc == COFFRE_OK) {
        rc = coffre_badge_revocation_list(revoked, n, 1, iat, list_key, &buf,
                                          &len);
    }
    if (rc == COFFRE_OK) {
        rc = coffre_gate_load_revocations(*pg, buf, len);
        coffre_free(buf);
    }
    return rc;
}

int
fix_unwrap(const char *payload, uint8_t *out, size_t cap, size_t *plen)
{
    uint8_t z[4096];
    size_t zlen;
    z_stream zs;
    int zrc;

    if (strncmp(payload, "CB1:", 4) != 0 ||
        coffre_base45_decode(payload + 4, strlen(payload) - 4, z, sizeof(z),
                             &zlen) != COFFRE_OK) {
        return -1;
    }
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, -15) != Z_OK) {
        return -1;
    }
    zs.next_in = z;
    zs.avail_in = (uInt)zlen;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    zrc = inflate(&zs, Z_FINISH);
    *plen = cap - zs.avail_out;
    inflateEnd(&zs);
    return zrc == Z_STREAM_END ? 0 : -1;
}

int
fix_wrap(const uint8_t *cose, size_t len, char *out, size_t cap)
{
    uint8_t z[4096];
    size_t n, zlen;
    z_stream zs;
    int zrc;

    memset(&zs, 0, sizeof(zs));
    if (cap < 5 ||
        deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        return -1;
    }
    zs.next_in = (Bytef *)(uintptr_t)cose;
    zs.avail_in = (uInt)len;
    zs.next_out = z;
    zs.avail_out = sizeof(z);
    zrc = deflate(&zs, Z_FINISH);
    zlen = sizeof(z) - zs.avail_out;
    deflateEnd(&zs);
    if (zrc != Z_STREAM_END) {
        return -1;
    }
    memcpy(out, "CB1:", 4);
    n = coffre_base45_encode(z, zlen, out + 4, cap - 5);
    if (n == 0) {
        return -1;
    }
    out[4 + n] = '\0';
    return 0;
}
