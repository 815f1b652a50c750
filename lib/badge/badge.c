/* Badge keys and badge issuing (docs/badge.md). */
#include <string.h>

#include <sodium.h>
#include <zlib.h>

#include "badge/sign.h"
#include "coffre/gate.h"
#include "gate/base45.h"
#include "gate/gate_int.h"
#include "util/secmem.h"

static int
key_new(const uint8_t *seed, struct coffre_badge_key **pk)
{
    struct coffre_badge_key *k;
    uint8_t h[crypto_hash_sha256_BYTES];

    *pk = NULL;
    k = coffre_pmem_calloc(1, sizeof(*k));
    if (k == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    k->sk = coffre_key_alloc(crypto_sign_SECRETKEYBYTES);
    if (k->sk == NULL) {
        coffre_pmem_free(k);
        return COFFRE_ERR_NOMEM;
    }
    if (seed != NULL) {
        crypto_sign_seed_keypair(k->pk, k->sk, seed);
    } else {
        crypto_sign_keypair(k->pk, k->sk);
    }
    crypto_hash_sha256(h, k->pk, sizeof(k->pk));
    memcpy(k->kid, h, sizeof(k->kid));
    *pk = k;
    return COFFRE_OK;
}

int
coffre_badge_key_generate(struct coffre_badge_key **pk)
{
    return key_new(NULL, pk);
}

int
coffre_badge_key_from_seed(const uint8_t seed[32], struct coffre_badge_key **pk)
{
    return key_new(seed, pk);
}

void
coffre_badge_key_seed(const struct coffre_badge_key *k, uint8_t seed[32])
{
    crypto_sign_ed25519_sk_to_seed(seed, k->sk);
}

void
coffre_badge_key_public(const struct coffre_badge_key *k, uint8_t pk[32],
                        uint8_t kid[4])
{
    if (pk != NULL) {
        memcpy(pk, k->pk, 32);
    }
    if (kid != NULL) {
        memcpy(kid, k->kid, 4);
    }
}

void
coffre_badge_key_free(struct coffre_badge_key *k)
{
    if (k != NULL) {
        coffre_key_free(k->sk, crypto_sign_SECRETKEYBYTES);
        coffre_pmem_free(k);
    }
}

void
coffre_badge_sign1(const struct coffre_badge_key *k, const char *ctype,
                   const uint8_t *payload, size_t len, struct coffre_cbw *w,
                   uint8_t sig[64])
{
    uint8_t prot[COFFRE_COSE_MAX_PROTECTED];
    struct coffre_cbw pw, tw;
    uint8_t *tbs;

    coffre_cbw_init(&pw, prot, sizeof(prot));
    coffre_cbw_head(&pw, 5, ctype != NULL ? 3 : 2);
    coffre_cbw_int(&pw, 1);
    coffre_cbw_int(&pw, COFFRE_COSE_ALG_EDDSA);
    if (ctype != NULL) {
        coffre_cbw_int(&pw, 3);
        coffre_cbw_tstr(&pw, ctype, strlen(ctype));
    }
    coffre_cbw_int(&pw, 4);
    coffre_cbw_bstr(&pw, k->kid, COFFRE_BADGE_KID_LEN);
    /* The to-be-signed bytes are as large as the payload: a list may be
     * megabytes, so they go to the heap. */
    tbs = pw.err ? NULL : coffre_pmem_alloc(len + 128);
    if (tbs == NULL) {
        w->err = pw.err ? pw.err : COFFRE_ERR_NOMEM;
        return;
    }
    coffre_cbw_init(&tw, tbs, len + 128);
    coffre_cose_sig_structure(&tw, prot, pw.len, payload, len);
    crypto_sign_detached(sig, NULL, tw.p, tw.len, k->sk);
    coffre_pmem_free(tbs);
    /* Untagged (RFC 9052 section 2): the text prefix names the type, and a
     * byte is a QR character and a half. Lists are tagged. */
    if (ctype != NULL) {
        coffre_cbw_head(w, 6, 18);
    }
    coffre_cbw_head(w, 4, 4);
    coffre_cbw_bstr(w, prot, pw.len);
    coffre_cbw_head(w, 5, 0);
    coffre_cbw_bstr(w, payload, len);
    coffre_cbw_bstr(w, sig, 64);
}

/* A code is carried as a uint when it is a canonical decimal number. */
static void
issue_code(struct coffre_cbw *w, const char *s)
{
    size_t n = strlen(s);
    uint64_t v = 0;

    if (n == 0 || n > 9 || (n > 1 && s[0] == '0') ||
        strspn(s, "0123456789") != n) {
        coffre_cbw_tstr(w, s, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    coffre_cbw_head(w, 0, v);
}

static int
issue_text_ok(const char *s, size_t max)
{
    size_t n;

    if (s == NULL || (n = strlen(s)) == 0 || n > max) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            return 0;
        }
    }
    return 1;
}

static int
issue_codes_ok(const char *const *v, size_t n, size_t min)
{
    if (n < min || n > COFFRE_GATE_MAX_ITEMS || (n > 0 && v == NULL)) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!issue_text_ok(v[i], COFFRE_GATE_MAX_CODE)) {
            return 0;
        }
    }
    return 1;
}

/* The subject: the first 8 base64url characters of the pseudonym. */
static int
issue_subject(const char *pseudonym, uint8_t sub[COFFRE_GATE_SUB_LEN])
{
    size_t n;

    if (pseudonym == NULL || strlen(pseudonym) < 8) {
        return COFFRE_ERR_ARG;
    }
    if (sodium_base642bin(sub, COFFRE_GATE_SUB_LEN, pseudonym, 8, NULL, &n,
                          NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        n != COFFRE_GATE_SUB_LEN) {
        return COFFRE_ERR_ARG;
    }
    return COFFRE_OK;
}

static int
issue_check(const struct coffre_badge_claims *c)
{
    if ((c->issuer != NULL && !issue_text_ok(c->issuer, 16)) ||
        !issue_text_ok(c->name, 32) ||
        !issue_text_ok(c->category, COFFRE_GATE_MAX_CODE) ||
        !issue_codes_ok(c->venues, c->n_venues, 1) ||
        !issue_codes_ok(c->zones, c->n_zones, 0) ||
        (c->transport != NULL &&
         !issue_text_ok(c->transport, COFFRE_GATE_MAX_CODE)) ||
        c->iat < 0 || c->nbf < 0 || c->exp <= c->nbf) {
        return COFFRE_ERR_ARG;
    }
    return COFFRE_OK;
}

/* The claims map, keys in deterministic (RFC 8949 4.2.1) order. */
static void
issue_claims(const struct coffre_badge_claims *c,
             const uint8_t sub[COFFRE_GATE_SUB_LEN], struct coffre_cbw *w)
{
    int cat = coffre_gate_category_code(c->category);

    coffre_cbw_head(w, 5, 8u + (c->issuer != NULL) + (c->transport != NULL));
    if (c->issuer != NULL) {
        coffre_cbw_int(w, COFFRE_CLAIM_ISS);
        coffre_cbw_tstr(w, c->issuer, strlen(c->issuer));
    }
    coffre_cbw_int(w, COFFRE_CLAIM_SUB);
    coffre_cbw_bstr(w, sub, COFFRE_GATE_SUB_LEN);
    coffre_cbw_int(w, COFFRE_CLAIM_EXP);
    coffre_cbw_int(w, c->exp);
    coffre_cbw_int(w, COFFRE_CLAIM_NBF);
    coffre_cbw_int(w, c->nbf);
    coffre_cbw_int(w, COFFRE_CLAIM_IAT);
    coffre_cbw_int(w, c->iat);
    coffre_cbw_int(w, COFFRE_CLAIM_NAME);
    coffre_cbw_tstr(w, c->name, strlen(c->name));
    coffre_cbw_int(w, COFFRE_CLAIM_CATEGORY);
    if (cat > 0) {
        coffre_cbw_int(w, cat);
    } else {
        issue_code(w, c->category);
    }
    coffre_cbw_int(w, COFFRE_CLAIM_VENUES);
    coffre_cbw_head(w, 4, c->n_venues);
    for (size_t i = 0; i < c->n_venues; i++) {
        issue_code(w, c->venues[i]);
    }
    coffre_cbw_int(w, COFFRE_CLAIM_ZONES);
    coffre_cbw_head(w, 4, c->n_zones);
    for (size_t i = 0; i < c->n_zones; i++) {
        issue_code(w, c->zones[i]);
    }
    if (c->transport != NULL) {
        coffre_cbw_int(w, COFFRE_CLAIM_TRANSPORT);
        issue_code(w, c->transport);
    }
}

/* Raw deflate (RFC 1951) at level 9, then Base45 after the prefix. */
static int
issue_text(const uint8_t *cose, size_t len, char **ppayload)
{
    uint8_t z[COFFRE_GATE_MAX_CBOR + 64];
    size_t pre = sizeof(COFFRE_GATE_PREFIX) - 1, n, zlen;
    char *out;
    z_stream zs;
    int zrc;

    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        return COFFRE_ERR_NOMEM;
    }
    zs.next_in = (Bytef *)(uintptr_t)cose;
    zs.avail_in = (uInt)len;
    zs.next_out = z;
    zs.avail_out = sizeof(z);
    zrc = deflate(&zs, Z_FINISH);
    zlen = sizeof(z) - zs.avail_out;
    deflateEnd(&zs);
    if (zrc != Z_STREAM_END) {
        return COFFRE_ERR_TOOBIG;
    }
    n = pre + coffre_base45_encoded_len(zlen);
    if (n > COFFRE_GATE_MAX_PAYLOAD) {
        return COFFRE_ERR_TOOBIG;
    }
    out = coffre_pmem_alloc(n + 1);
    if (out == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    memcpy(out, COFFRE_GATE_PREFIX, pre);
    coffre_base45_encode(z, zlen, out + pre, n - pre);
    out[n] = '\0';
    *ppayload = out;
    return COFFRE_OK;
}

int
coffre_badge_issue(const struct coffre_badge_claims *c,
                   const struct coffre_badge_key *k, char **ppayload,
                   uint8_t id[COFFRE_BADGE_ID_LEN])
{
    uint8_t sub[COFFRE_GATE_SUB_LEN], claims[1024], cose[1200], sig[64];
    uint8_t h[crypto_hash_sha256_BYTES];
    struct coffre_cbw cw, w;
    int rc;

    *ppayload = NULL;
    if (c == NULL || k == NULL || issue_check(c) != COFFRE_OK) {
        return COFFRE_ERR_ARG;
    }
    rc = issue_subject(c->subject, sub);
    if (rc != COFFRE_OK) {
        return rc;
    }
    coffre_cbw_init(&cw, claims, sizeof(claims));
    issue_claims(c, sub, &cw);
    coffre_cbw_init(&w, cose, sizeof(cose));
    if (cw.err == 0) {
        coffre_badge_sign1(k, NULL, claims, cw.len, &w, sig);
    }
    if (cw.err || w.err) {
        return COFFRE_ERR_TOOBIG;
    }
    rc = issue_text(cose, w.len, ppayload);
    if (rc == COFFRE_OK && id != NULL) {
        crypto_hash_sha256(h, sig, sizeof(sig));
        memcpy(id, h, COFFRE_BADGE_ID_LEN);
    }
    sodium_memzero(claims, sizeof(claims));
    sodium_memzero(cose, sizeof(cose));
    return rc;
}
