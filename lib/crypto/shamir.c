/*
 * Shamir sealing of the root key: libgfshare does the GF(2^8) arithmetic;
 * this module numbers the shares 1..n (their x coordinates), writes each as
 * one line of text that a custodian can keep on paper or in a file, and
 * reads those lines back with a checksum that catches typing errors. The
 * format is normative in docs/keys.md.
 */
#include "crypto/crypto.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <libgfshare.h>
#include <sodium.h>

#include "coffre/coffre.h"
#include "util/secmem.h"

#define SHARE_MAGIC "coffre-share-v1"
#define SHARE_B64_LEN 43 /* base64url, no padding, of 32 bytes */
#define SHARE_TEXT_ALLOC 160
#define SHARE_FIELDS 7

static pthread_once_t gf_once = PTHREAD_ONCE_INIT;

/* libgfshare draws its polynomial coefficients (and the noise it scribbles
 * over freed contexts) from this hook; it has no default we could trust. */
static void
gf_rand(unsigned char *buf, unsigned int n)
{
    randombytes_buf(buf, n);
}

static void
gf_setup(void)
{
    gfshare_fill_rand = gf_rand;
}

/* First 4 bytes of BLAKE2b-256 of the body, as 8 lowercase hex chars. */
static void
share_checksum(const char *body, size_t len, char hex[9])
{
    unsigned char h[32];

    crypto_generichash(h, sizeof(h), (const unsigned char *)body, len, NULL, 0);
    sodium_bin2hex(hex, 9, h, 4);
}

void
coffre_share_commitment(const struct coffre_share *s, unsigned char out[32])
{
    static const char label[] = "coffre/share-commit";
    unsigned char nums[3] = {(unsigned char)s->threshold,
                             (unsigned char)s->count, (unsigned char)s->index};
    crypto_generichash_state st;

    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const unsigned char *)label,
                              sizeof(label) - 1);
    crypto_generichash_update(&st, s->vault_id, sizeof(s->vault_id));
    crypto_generichash_update(&st, nums, sizeof(nums));
    crypto_generichash_update(&st, s->bytes, s->len);
    crypto_generichash_final(&st, out, 32);
    sodium_memzero(&st, sizeof(st));
}

/* The text line of share ${s}, in coffre_pmem memory. */
static int
share_format(const struct coffre_share *s, char **ptext)
{
    char vid[33], b64[SHARE_B64_LEN + 1], sum[9];
    char *t;
    int n, rc = COFFRE_ERR_NOMEM;

    *ptext = NULL;
    t = coffre_pmem_alloc(SHARE_TEXT_ALLOC);
    if (t == NULL) {
        goto out;
    }
    sodium_bin2hex(vid, sizeof(vid), s->vault_id, sizeof(s->vault_id));
    sodium_bin2base64(b64, sizeof(b64), s->bytes, s->len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    n = snprintf(t, SHARE_TEXT_ALLOC, "%s %s %u %u %u %s", SHARE_MAGIC, vid,
                 s->threshold, s->count, s->index, b64);
    if (n < 0 || (size_t)n + 11 > SHARE_TEXT_ALLOC) {
        rc = COFFRE_ERR_ARG;
        goto out;
    }
    share_checksum(t, (size_t)n, sum);
    snprintf(t + n, SHARE_TEXT_ALLOC - (size_t)n, " %s\n", sum);
    *ptext = t;
    t = NULL;
    rc = COFFRE_OK;
out:
    sodium_memzero(b64, sizeof(b64));
    coffre_pmem_free(t);
    return rc;
}

static void
free_texts(char **texts, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        coffre_pmem_free(texts[i]);
        texts[i] = NULL;
    }
}

int
coffre_shamir_split(const struct coffre_key *root,
                    const unsigned char vault_id[16], unsigned n, unsigned m,
                    char **texts, unsigned char commitments[][32])
{
    unsigned char nrs[255];
    struct coffre_share s = {.threshold = m, .count = n, .len = 32};
    gfshare_ctx *ctx = NULL;
    int rc = COFFRE_ERR_NOMEM;

    if (m < 2 || m > n || n > 255) {
        return COFFRE_ERR_ARG;
    }
    for (unsigned i = 0; i < n; i++) {
        texts[i] = NULL;
        nrs[i] = (unsigned char)(i + 1);
    }
    memcpy(s.vault_id, vault_id, sizeof(s.vault_id));
    (void)pthread_once(&gf_once, gf_setup);
    s.bytes = coffre_key_alloc(s.len);
    ctx = gfshare_ctx_init_enc(nrs, n, (unsigned char)m, (unsigned)s.len);
    if (s.bytes == NULL || ctx == NULL) {
        goto out;
    }
    /* setsecret only copies the secret in; its prototype lacks const. */
    gfshare_ctx_enc_setsecret(ctx, (unsigned char *)(uintptr_t)root->b);
    for (unsigned i = 0; i < n; i++) {
        gfshare_ctx_enc_getshare(ctx, (unsigned char)i, s.bytes);
        s.index = i + 1;
        rc = share_format(&s, &texts[i]);
        if (rc != COFFRE_OK) {
            goto out;
        }
        coffre_share_commitment(&s, commitments[i]);
    }
    rc = COFFRE_OK;
out:
    if (ctx != NULL) {
        gfshare_ctx_free(ctx);
    }
    coffre_key_free(s.bytes, s.len);
    if (rc != COFFRE_OK) {
        free_texts(texts, n);
    }
    return rc;
}

/* A decimal 1..255 without sign or leading zero. */
static int
parse_byte(const char *f, unsigned *pv)
{
    unsigned v = 0;
    size_t len = strlen(f);

    if (len == 0 || len > 3 || f[0] == '0') {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (f[i] < '0' || f[i] > '9') {
            return -1;
        }
        v = v * 10 + (unsigned)(f[i] - '0');
    }
    if (v > 255) {
        return -1;
    }
    *pv = v;
    return 0;
}

static int
is_lower_hex(const char *f, size_t want)
{
    if (strlen(f) != want) {
        return 0;
    }
    for (size_t i = 0; i < want; i++) {
        if (!((f[i] >= '0' && f[i] <= '9') || (f[i] >= 'a' && f[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* Splits ${line} in place at single spaces into exactly SHARE_FIELDS
 * non-empty fields. */
static int
split_fields(char *line, char *f[SHARE_FIELDS])
{
    size_t nf = 0;
    char *p = line;

    for (;;) {
        char *sp = strchr(p, ' ');

        if (nf == SHARE_FIELDS || *p == '\0' || *p == ' ') {
            return -1;
        }
        f[nf++] = p;
        if (sp == NULL) {
            break;
        }
        *sp = '\0';
        p = sp + 1;
    }
    return nf == SHARE_FIELDS ? 0 : -1;
}

/* Checks the numbers and the share bytes; fills ${out} except bytes. */
static const char *
parse_body(char *f[SHARE_FIELDS], struct coffre_share *out,
           unsigned char bytes[32])
{
    size_t blen;
    const char *end;

    if (!is_lower_hex(f[1], 32) ||
        sodium_hex2bin(out->vault_id, 16, f[1], 32, NULL, NULL, NULL) != 0) {
        return "vault id is not 32 lowercase hex digits";
    }
    if (parse_byte(f[2], &out->threshold) != 0 ||
        parse_byte(f[3], &out->count) != 0 ||
        parse_byte(f[4], &out->index) != 0) {
        return "threshold, count or index is not a number 1..255";
    }
    if (out->threshold < 2 || out->threshold > out->count ||
        out->index > out->count) {
        return "threshold, count and index are inconsistent";
    }
    if (strlen(f[5]) != SHARE_B64_LEN ||
        sodium_base642bin(bytes, 32, f[5], SHARE_B64_LEN, NULL, &blen, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        blen != 32 || end != f[5] + SHARE_B64_LEN) {
        return "share bytes are not 43 base64url characters";
    }
    return NULL;
}

/* Parses the trimmed line ${line} (modified); NULL or the reason. The
 * checksum covers everything before the space that precedes it, so it is
 * checked first: a typing error is then reported as such. */
static const char *
parse_line(char *line, struct coffre_share *out, unsigned char bytes[32])
{
    char *f[SHARE_FIELDS];
    char want[9];
    char *sp;

    if (strncmp(line, SHARE_MAGIC " ", sizeof(SHARE_MAGIC)) != 0) {
        return "not a coffre-share-v1 line";
    }
    sp = strrchr(line, ' ');
    if (!is_lower_hex(sp + 1, 8)) {
        return "checksum is not 8 lowercase hex digits";
    }
    share_checksum(line, (size_t)(sp - line), want);
    if (sodium_memcmp(want, sp + 1, 8) != 0) {
        return "checksum mismatch (typing error or corruption)";
    }
    if (split_fields(line, f) != 0) {
        return "not 7 fields separated by single spaces";
    }
    return parse_body(f, out, bytes);
}

static int
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
coffre_share_parse_ex(const char *text, struct coffre_share *out,
                      const char **preason)
{
    char line[COFFRE_SHARE_TEXT_MAX + 1];
    unsigned char bytes[32];
    const char *why = NULL;
    size_t len = strnlen(text, COFFRE_SHARE_TEXT_MAX + 1);
    int rc = COFFRE_ERR_SHARE;

    memset(out, 0, sizeof(*out));
    if (len > COFFRE_SHARE_TEXT_MAX) {
        why = "share text longer than 1 KiB";
        rc = COFFRE_ERR_TOOBIG;
        goto out;
    }
    while (len > 0 && is_blank(*text)) {
        text++;
        len--;
    }
    while (len > 0 && is_blank(text[len - 1])) {
        len--;
    }
    memcpy(line, text, len);
    line[len] = '\0';
    why = parse_line(line, out, bytes);
    if (why != NULL) {
        goto out;
    }
    out->len = sizeof(bytes);
    out->bytes = coffre_key_alloc(out->len);
    if (out->bytes == NULL) {
        why = "out of memory";
        rc = COFFRE_ERR_NOMEM;
        goto out;
    }
    memcpy(out->bytes, bytes, out->len);
    rc = COFFRE_OK;
out:
    if (rc != COFFRE_OK) {
        memset(out, 0, sizeof(*out));
    }
    sodium_memzero(line, sizeof(line));
    sodium_memzero(bytes, sizeof(bytes));
    if (preason != NULL) {
        *preason = why;
    }
    return rc;
}

int
coffre_share_parse(const char *text, struct coffre_share *out)
{
    return coffre_share_parse_ex(text, out, NULL);
}

void
coffre_share_clear(struct coffre_share *s)
{
    if (s == NULL) {
        return;
    }
    coffre_key_free(s->bytes, s->len);
    memset(s, 0, sizeof(*s));
}

/* Shares must agree on vault, threshold and count and have distinct
 * indexes; fills ${nrs} with their x coordinates. */
static int
combine_check(const struct coffre_share *shares, unsigned k,
              unsigned char nrs[255])
{
    unsigned char seen[256] = {0};
    const struct coffre_share *s0 = &shares[0];

    for (unsigned i = 0; i < k; i++) {
        const struct coffre_share *s = &shares[i];

        if (memcmp(s->vault_id, s0->vault_id, 16) != 0 ||
            s->threshold != s0->threshold || s->count != s0->count ||
            s->len != COFFRE_SHARE_BYTES || s->bytes == NULL || s->index < 1 ||
            s->index > 255 || seen[s->index]) {
            return COFFRE_ERR_SHARE;
        }
        seen[s->index] = 1;
        nrs[i] = (unsigned char)s->index;
    }
    return k < s0->threshold ? COFFRE_ERR_THRESHOLD : COFFRE_OK;
}

int
coffre_shamir_combine(const struct coffre_share *shares, unsigned k,
                      struct coffre_key **proot)
{
    unsigned char nrs[255];
    struct coffre_key *root = NULL;
    gfshare_ctx *ctx;
    int rc;

    *proot = NULL;
    if (k == 0) {
        return COFFRE_ERR_THRESHOLD;
    }
    if (k > 255) {
        return COFFRE_ERR_SHARE; /* more than 255 distinct indexes */
    }
    rc = combine_check(shares, k, nrs);
    if (rc != COFFRE_OK) {
        return rc;
    }
    (void)pthread_once(&gf_once, gf_setup);
    root = coffre_key_alloc(sizeof(*root));
    ctx = gfshare_ctx_init_dec(nrs, k, COFFRE_SHARE_BYTES);
    if (root == NULL || ctx == NULL) {
        rc = COFFRE_ERR_NOMEM;
        goto out;
    }
    for (unsigned i = 0; i < k; i++) {
        gfshare_ctx_dec_giveshare(ctx, (unsigned char)i, shares[i].bytes);
    }
    gfshare_ctx_dec_extract(ctx, root->b);
    *proot = root;
    root = NULL;
out:
    if (ctx != NULL) {
        gfshare_ctx_free(ctx);
    }
    coffre_key_destroy(root);
    return rc;
}
