/* The gate verifier: from a badge string to ACCEPT or REFUSE. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zlib.h>

#include "gate/base45.h"
#include "gate/cose.h"
#include "gate/gate_ctx.h"

static const char *const reason_names[COFFRE_GATE_REASON_COUNT] = {
    "accept",        "malformed",
    "unknown key",   "bad signature",
    "not yet valid", "expired",
    "revoked",       "wrong venue",
    "wrong zone",    "revocation list too old",
};

/* docs/badge.md, "Categories": codes under 24 take one CBOR byte. */
static const char *const categories[] = {
    NULL,         "athlete",     "team_official", "technical_official",
    "media",      "broadcaster", "staff",         "volunteer",
    "contractor", "security",    "police",        "authority",
    "guest",      "medical",     "driver",        "family",
};
#define N_CATEGORIES (sizeof(categories) / sizeof(categories[0]))

const char *
coffre_gate_reason_name(int r)
{
    if (r < 0 || r >= COFFRE_GATE_REASON_COUNT) {
        return "unknown";
    }
    return reason_names[r];
}

const char *
coffre_gate_category_name(uint64_t code)
{
    return code < N_CATEGORIES ? categories[code] : NULL;
}

int
coffre_gate_category_code(const char *name)
{
    for (size_t i = 1; i < N_CATEGORIES; i++) {
        if (strcmp(name, categories[i]) == 0) {
            return (int)i;
        }
    }
    return -1;
}

void
coffre_gate_kid(const uint8_t pk[32], uint8_t kid[COFFRE_BADGE_KID_LEN])
{
    uint8_t h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(h, pk, 32);
    memcpy(kid, h, COFFRE_BADGE_KID_LEN);
}

int
coffre_gate_new(const uint8_t list_pk[32], struct coffre_gate **pg)
{
    struct coffre_gate *g;

    *pg = NULL;
    if (sodium_init() < 0) {
        return COFFRE_ERR_UNAVAILABLE;
    }
    g = calloc(1, sizeof(*g));
    if (g == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    memcpy(g->list_pk, list_pk, 32);
    coffre_gate_kid(list_pk, g->list_kid);
    g->max_age = 24 * 3600;
    *pg = g;
    return COFFRE_OK;
}

void
coffre_gate_free(struct coffre_gate *g)
{
    if (g != NULL) {
        free(g->revoked);
        free(g);
    }
}

void
coffre_gate_set_policy(struct coffre_gate *g, int64_t max_age, int refuse)
{
    g->max_age = max_age;
    g->refuse_stale = refuse != 0;
}

uint64_t
coffre_gate_seq(const struct coffre_gate *g, int revocations)
{
    return revocations ? g->revoc_seq : g->trust_seq;
}

/* Inflate raw deflate data into ${out}; refuses more than ${cap} bytes. */
static int
gate_inflate(const uint8_t *in, size_t n, uint8_t *out, size_t cap,
             size_t *plen)
{
    z_stream z;
    int zrc;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -15) != Z_OK) {
        return COFFRE_ERR_NOMEM;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    zrc = inflate(&z, Z_FINISH);
    *plen = cap - z.avail_out;
    inflateEnd(&z);
    /* Z_BUF_ERROR here means the output cap was reached: a zip bomb. */
    return zrc == Z_STREAM_END && z.avail_in == 0 ? COFFRE_OK
                                                  : COFFRE_ERR_PARSE;
}

static int
gate_key_ok(const struct coffre_gate_key *k, int64_t t)
{
    return t >= k->not_before && t <= k->not_after;
}

static int
gate_revoked(const struct coffre_gate *g, const uint8_t id[8])
{
    size_t lo = 0, hi = g->n_revoked;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(g->revoked + mid * COFFRE_GATE_ID_LEN, id,
                       COFFRE_GATE_ID_LEN);
        if (c == 0) {
            return 1;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return 0;
}

static int
gate_has(char (*v)[COFFRE_GATE_MAX_CODE + 1], size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i], s) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * Decode the badge string into its COSE_Sign1 (payload into ${pbuf});
 * 0 on success, a reason otherwise.
 */
static int
gate_decode(const char *payload, size_t len, struct coffre_cose_sign1 *s,
            uint8_t *pbuf, size_t pcap, int *perr)
{
    uint8_t z[COFFRE_GATE_MAX_PAYLOAD / 3 * 2 + 2];
    uint8_t cbor[COFFRE_GATE_MAX_CBOR];
    size_t plen = sizeof(COFFRE_GATE_PREFIX) - 1, zlen, clen;
    int rc;

    if (len > COFFRE_GATE_MAX_PAYLOAD || len < plen ||
        memcmp(payload, COFFRE_GATE_PREFIX, plen) != 0 ||
        coffre_base45_decode(payload + plen, len - plen, z, sizeof(z), &zlen) !=
            COFFRE_OK ||
        gate_inflate(z, zlen, cbor, sizeof(cbor), &clen) != COFFRE_OK) {
        return COFFRE_GATE_MALFORMED;
    }
    rc = coffre_cose_sign1_parse(cbor, clen, s, pbuf, pcap);
    if (rc == COFFRE_ERR_NOMEM) {
        *perr = rc;
    }
    if (rc != COFFRE_OK || s->alg != COFFRE_COSE_ALG_EDDSA ||
        s->kid_len != COFFRE_BADGE_KID_LEN || s->ctype[0] != '\0') {
        return COFFRE_GATE_MALFORMED;
    }
    return COFFRE_GATE_ACCEPT;
}

/* Find a key of that id valid now whose signature verifies. */
static int
gate_signature(const struct coffre_gate *g, const struct coffre_cose_sign1 *s,
               int64_t now, const struct coffre_gate_key **pk)
{
    uint8_t tbs[COFFRE_GATE_MAX_CBOR + 64];
    struct coffre_cbw w;
    int known = 0;

    coffre_cbw_init(&w, tbs, sizeof(tbs));
    coffre_cose_sig_structure(&w, s->prot, s->prot_len, s->payload,
                              s->payload_len);
    for (size_t i = 0; i < g->n_keys; i++) {
        const struct coffre_gate_key *k = &g->keys[i];
        if (memcmp(k->kid, s->kid, COFFRE_BADGE_KID_LEN) != 0 ||
            !gate_key_ok(k, now)) {
            continue;
        }
        known = 1;
        if (w.err == 0 &&
            crypto_sign_verify_detached(s->sig, tbs, w.len, k->pk) == 0) {
            *pk = k;
            return COFFRE_GATE_ACCEPT;
        }
    }
    return known ? COFFRE_GATE_BAD_SIGNATURE : COFFRE_GATE_UNKNOWN_KEY;
}

/* The checks after the signature, in the order docs/badge.md gives. */
static int
gate_policy(const struct coffre_gate *g, const struct coffre_gate_key *k,
            int64_t now, const char *venue, const char *zone,
            struct coffre_gate_decision *d)
{
    if (!gate_key_ok(k, d->iat)) {
        return COFFRE_GATE_UNKNOWN_KEY;
    }
    if (now < d->nbf) {
        return COFFRE_GATE_NOT_YET_VALID;
    }
    if (now >= d->exp) {
        return COFFRE_GATE_EXPIRED;
    }
    if (g->has_revoc && gate_revoked(g, d->id)) {
        return COFFRE_GATE_REVOKED;
    }
    d->list_age = g->has_revoc ? now - g->revoc_iat : -1;
    d->stale = !g->has_revoc || d->list_age > g->max_age;
    if (d->stale && g->refuse_stale) {
        return COFFRE_GATE_STALE_LIST;
    }
    if (venue != NULL && !gate_has(d->venues, d->n_venues, venue)) {
        return COFFRE_GATE_WRONG_VENUE;
    }
    if (zone != NULL && !gate_has(d->zones, d->n_zones, zone)) {
        return COFFRE_GATE_WRONG_ZONE;
    }
    return COFFRE_GATE_ACCEPT;
}

int
coffre_gate_verify(const struct coffre_gate *g, const char *payload, size_t len,
                   int64_t now, const char *venue, const char *zone,
                   struct coffre_gate_decision *d)
{
    uint8_t pbuf[COFFRE_GATE_MAX_CBOR], h[crypto_hash_sha256_BYTES];
    struct coffre_cose_sign1 s;
    const struct coffre_gate_key *k = NULL;
    int err = COFFRE_OK;

    if (g == NULL || payload == NULL || d == NULL) {
        return COFFRE_ERR_ARG;
    }
    memset(d, 0, sizeof(*d));
    d->list_age = -1;
    d->reason = gate_decode(payload, len, &s, pbuf, sizeof(pbuf), &err);
    if (err != COFFRE_OK) {
        return err;
    }
    if (d->reason == COFFRE_GATE_ACCEPT) {
        d->reason = gate_signature(g, &s, now, &k);
    }
    if (d->reason != COFFRE_GATE_ACCEPT) {
        return COFFRE_OK;
    }
    /* Claims are parsed only once their signature verified. */
    if (coffre_gate_claims_parse(s.payload, s.payload_len, d) != COFFRE_OK) {
        d->reason = COFFRE_GATE_MALFORMED;
        return COFFRE_OK;
    }
    crypto_hash_sha256(h, s.sig, sizeof(s.sig));
    memcpy(d->id, h, COFFRE_GATE_ID_LEN);
    d->reason = gate_policy(g, k, now, venue, zone, d);
    return COFFRE_OK;
}
