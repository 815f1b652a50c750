/* C2SP signed notes with Ed25519 keys (c2sp.org/signed-note). */
#include "audit/note.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "coffre/coffre.h"
#include "util/buf.h"
#include "util/secmem.h"

#define ALG_ED25519 0x01
#define SIG_BLOB_LEN (4 + COFFRE_NOTE_SIG_LEN)
#define SKEY_PREFIX "PRIVATE+KEY+"
/* U+2014 EM DASH, then a space: the start of every signature line. */
#define SIG_PREFIX "\xe2\x80\x94 "
#define SIG_PREFIX_LEN 4

struct coffre_note_signer {
    struct coffre_note_verifier v;
    unsigned char *sk; /* crypto_sign_SECRETKEYBYTES of coffre_key_alloc */
};

/*
 * The next code point of s[*pi..len), strictly (no overlong form, no
 * surrogate, nothing past U+10FFFF). Returns 0 on invalid UTF-8.
 */
static int
utf8_next(const unsigned char *s, size_t len, size_t *pi, uint32_t *pcp)
{
    static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
    size_t i = *pi, n;
    uint32_t cp = s[i];

    if (cp < 0x80) {
        n = 0;
    } else if ((cp & 0xe0) == 0xc0) {
        n = 1, cp &= 0x1f;
    } else if ((cp & 0xf0) == 0xe0) {
        n = 2, cp &= 0x0f;
    } else if ((cp & 0xf8) == 0xf0) {
        n = 3, cp &= 0x07;
    } else {
        return 0;
    }
    if (n > len - i - 1) {
        return 0;
    }
    for (size_t k = 1; k <= n; k++) {
        if ((s[i + k] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    *pi = i + n + 1;
    *pcp = cp;
    return 1;
}

/* Unicode White_Space, as Go's unicode.IsSpace, which key names exclude. */
static int
is_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 ||
           cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
           cp == 0x3000;
}

int
coffre_note_name_valid(const char *name, size_t len)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t i = 0;
    uint32_t cp;

    if (len == 0 || len > COFFRE_NOTE_MAX_NAME) {
        return 0;
    }
    while (i < len) {
        if (!utf8_next(s, len, &i, &cp) || cp < 0x20 || cp == '+' ||
            is_space(cp)) {
            return 0;
        }
    }
    return 1;
}

int
coffre_note_text_valid(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    uint32_t cp;

    if (len > COFFRE_NOTE_MAX_SIZE) {
        return COFFRE_ERR_TOOBIG;
    }
    if (len == 0 || s[len - 1] != '\n') {
        return COFFRE_ERR_PARSE;
    }
    while (i < len) {
        if (!utf8_next(s, len, &i, &cp) || (cp < 0x20 && cp != '\n')) {
            return COFFRE_ERR_PARSE;
        }
    }
    return COFFRE_OK;
}

uint32_t
coffre_note_key_id(const char *name, const unsigned char pk[COFFRE_NOTE_PK_LEN])
{
    crypto_hash_sha256_state st;
    const unsigned char sep[2] = {'\n', ALG_ED25519};
    unsigned char h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)name, strlen(name));
    crypto_hash_sha256_update(&st, sep, sizeof sep);
    crypto_hash_sha256_update(&st, pk, COFFRE_NOTE_PK_LEN);
    crypto_hash_sha256_final(&st, h);
    return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 |
           (uint32_t)h[3];
}

/*
 * Strict standard base64 (padding, zero trailing bits) of exactly the
 * ${slen} bytes at ${s}. The alphabet is checked here first: libsodium
 * 1.0.18 decodes some bytes >= 0x80 as if they were base64 digits.
 */
int
coffre_note_base64_decode(const char *s, size_t slen, unsigned char *out,
                          size_t cap, size_t *plen)
{
    if (slen == 0) {
        return COFFRE_ERR_PARSE;
    }
    for (size_t i = 0; i < slen; i++) {
        char c = s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=')) {
            return COFFRE_ERR_PARSE;
        }
    }
    if (sodium_base642bin(out, cap, s, slen, NULL, plen, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        return COFFRE_ERR_PARSE;
    }
    return COFFRE_OK;
}

/* Exactly 8 lowercase hex digits, as the reference implementation emits. */
static int
parse_hex8(const char *s, uint32_t *pv)
{
    uint32_t v = 0;

    for (int i = 0; i < 8; i++) {
        char c = s[i];

        if (c >= '0' && c <= '9') {
            v = v << 4 | (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v = v << 4 | (uint32_t)(c - 'a' + 10);
        } else {
            return 0;
        }
    }
    *pv = v;
    return 1;
}

/*
 * "name+hex8+base64" of a key string (after any PRIVATE+KEY+ prefix): the
 * name into ${name}, the id, and the 33 decoded bytes (algorithm byte then
 * key) into ${raw}. The base64 part may itself hold '+': the name ends at
 * the first one.
 */
static int
parse_key_string(const char *s, char name[COFFRE_NOTE_MAX_NAME + 1],
                 uint32_t *pid, unsigned char raw[1 + COFFRE_NOTE_PK_LEN])
{
    const char *plus = strchr(s, '+');
    size_t nlen, rlen;

    if (plus == NULL) {
        return COFFRE_ERR_PARSE;
    }
    nlen = (size_t)(plus - s);
    if (!coffre_note_name_valid(s, nlen) || strnlen(plus, 10) < 10 ||
        !parse_hex8(plus + 1, pid) || plus[9] != '+') {
        return COFFRE_ERR_PARSE;
    }
    if (coffre_note_base64_decode(plus + 10, strlen(plus + 10), raw,
                                  1 + COFFRE_NOTE_PK_LEN, &rlen) != 0 ||
        rlen != 1 + COFFRE_NOTE_PK_LEN || raw[0] != ALG_ED25519) {
        return COFFRE_ERR_PARSE;
    }
    memcpy(name, s, nlen);
    name[nlen] = '\0';
    return COFFRE_OK;
}

int
coffre_note_verifier_parse(const char *vkey, struct coffre_note_verifier *v)
{
    unsigned char raw[1 + COFFRE_NOTE_PK_LEN];
    int rc;

    memset(v, 0, sizeof *v);
    rc = parse_key_string(vkey, v->name, &v->id, raw);
    if (rc != COFFRE_OK) {
        return rc;
    }
    memcpy(v->pk, raw + 1, COFFRE_NOTE_PK_LEN);
    if (coffre_note_key_id(v->name, v->pk) != v->id) {
        memset(v, 0, sizeof *v);
        return COFFRE_ERR_PARSE;
    }
    return COFFRE_OK;
}

/* Append "name+hex8+base64(alg || key)" to ${b}; the stack copies are
 * wiped as the key may be a seed. */
static int
add_key_string(struct coffre_buf *b, const char *name, uint32_t id,
               const unsigned char key[32])
{
    unsigned char raw[33];
    char b64[sodium_base64_ENCODED_LEN(33, sodium_base64_VARIANT_ORIGINAL)];
    int rc;

    raw[0] = ALG_ED25519;
    memcpy(raw + 1, key, 32);
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw,
                      sodium_base64_VARIANT_ORIGINAL);
    rc = coffre_buf_addf(b, "%s+%08x+%s", name, (unsigned)id, b64);
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(b64, sizeof b64);
    return rc;
}

/* Hand a finished buffer to the caller as a NUL-terminated string. */
static int
buf_finish(struct coffre_buf *b, int rc, char **pout, size_t *plen)
{
    if (rc == COFFRE_OK && coffre_buf_cstr(b) == NULL) {
        rc = COFFRE_ERR_NOMEM;
    }
    if (rc != COFFRE_OK) {
        coffre_buf_free(b);
        return rc;
    }
    *pout = (char *)coffre_buf_detach(b, plen);
    return COFFRE_OK;
}

int
coffre_note_verifier_format(const struct coffre_note_verifier *v, char **pvkey)
{
    struct coffre_buf b;

    *pvkey = NULL;
    if (!coffre_note_name_valid(v->name, strlen(v->name))) {
        return COFFRE_ERR_ARG;
    }
    coffre_buf_init(&b, 1024);
    return buf_finish(&b, add_key_string(&b, v->name, v->id, v->pk), pvkey,
                      NULL);
}

int
coffre_note_signer_from_seed(const char *name, const unsigned char *seed,
                             struct coffre_note_signer **ps)
{
    struct coffre_note_signer *s;
    size_t nlen = strlen(name);

    *ps = NULL;
    if (!coffre_note_name_valid(name, nlen)) {
        return COFFRE_ERR_ARG;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    s->sk = coffre_key_alloc(crypto_sign_SECRETKEYBYTES);
    if (s->sk == NULL) {
        free(s);
        return COFFRE_ERR_NOMEM;
    }
    crypto_sign_seed_keypair(s->v.pk, s->sk, seed);
    memcpy(s->v.name, name, nlen + 1);
    s->v.id = coffre_note_key_id(name, s->v.pk);
    *ps = s;
    return COFFRE_OK;
}

int
coffre_note_signer_generate(const char *name, struct coffre_note_signer **ps)
{
    unsigned char *seed = coffre_key_alloc(crypto_sign_SEEDBYTES);
    int rc;

    *ps = NULL;
    if (seed == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    randombytes_buf(seed, crypto_sign_SEEDBYTES);
    rc = coffre_note_signer_from_seed(name, seed, ps);
    coffre_key_free(seed, crypto_sign_SEEDBYTES);
    return rc;
}

int
coffre_note_signer_parse(const char *skey, struct coffre_note_signer **ps)
{
    char name[COFFRE_NOTE_MAX_NAME + 1];
    unsigned char *raw = coffre_key_alloc(1 + crypto_sign_SEEDBYTES);
    uint32_t id;
    int rc;

    *ps = NULL;
    if (raw == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    rc = COFFRE_ERR_PARSE;
    if (strncmp(skey, SKEY_PREFIX, strlen(SKEY_PREFIX)) != 0) {
        goto out;
    }
    rc = parse_key_string(skey + strlen(SKEY_PREFIX), name, &id, raw);
    if (rc != COFFRE_OK) {
        goto out;
    }
    rc = coffre_note_signer_from_seed(name, raw + 1, ps);
    if (rc == COFFRE_OK && (*ps)->v.id != id) {
        coffre_note_signer_free(*ps);
        *ps = NULL;
        rc = COFFRE_ERR_PARSE;
    }
out:
    coffre_key_free(raw, 1 + crypto_sign_SEEDBYTES);
    return rc;
}

int
coffre_note_signer_format(const struct coffre_note_signer *s, char **pskey)
{
    struct coffre_buf b;
    int rc;

    *pskey = NULL;
    coffre_buf_init(&b, 1024);
    rc = coffre_buf_adds(&b, SKEY_PREFIX);
    if (rc == COFFRE_OK) {
        /* The seed is the first half of libsodium's secret key. */
        rc = add_key_string(&b, s->v.name, s->v.id, s->sk);
    }
    return buf_finish(&b, rc, pskey, NULL);
}

void
coffre_note_signer_verifier(const struct coffre_note_signer *s,
                            struct coffre_note_verifier *v)
{
    *v = s->v;
}

void
coffre_note_signer_free(struct coffre_note_signer *s)
{
    if (s == NULL) {
        return;
    }
    coffre_key_free(s->sk, crypto_sign_SECRETKEYBYTES);
    free(s);
}

/* Append "— name base64(id || Ed25519(text))\n". */
static int
add_sig_line(struct coffre_buf *b, const struct coffre_note_signer *s,
             const char *text, size_t len)
{
    unsigned char blob[SIG_BLOB_LEN];
    char b64[sodium_base64_ENCODED_LEN(SIG_BLOB_LEN,
                                       sodium_base64_VARIANT_ORIGINAL)];

    blob[0] = (unsigned char)(s->v.id >> 24);
    blob[1] = (unsigned char)(s->v.id >> 16);
    blob[2] = (unsigned char)(s->v.id >> 8);
    blob[3] = (unsigned char)s->v.id;
    crypto_sign_detached(blob + 4, NULL, (const unsigned char *)text, len,
                         s->sk);
    sodium_bin2base64(b64, sizeof b64, blob, sizeof blob,
                      sodium_base64_VARIANT_ORIGINAL);
    return coffre_buf_addf(b, SIG_PREFIX "%s %s\n", s->v.name, b64);
}

int
coffre_note_sign(const char *text, size_t len,
                 const struct coffre_note_signer *const *signers,
                 size_t nsigners, char **pnote, size_t *plen)
{
    struct coffre_buf b;
    int rc;

    *pnote = NULL;
    if (nsigners == 0 || nsigners > COFFRE_NOTE_MAX_SIGS) {
        return COFFRE_ERR_ARG;
    }
    rc = coffre_note_text_valid(text, len);
    if (rc != COFFRE_OK) {
        return rc;
    }
    coffre_buf_init(&b, COFFRE_NOTE_MAX_SIZE);
    rc = coffre_buf_add(&b, text, len);
    if (rc == COFFRE_OK) {
        rc = coffre_buf_addc(&b, '\n');
    }
    for (size_t i = 0; i < nsigners && rc == COFFRE_OK; i++) {
        rc = add_sig_line(&b, signers[i], text, len);
    }
    return buf_finish(&b, rc, pnote, plen);
}

/* ------------------------------------------------------------------ */
/* Opening a note                                                     */

struct sig_line {
    const char *name;
    size_t name_len;
    uint32_t id;
    const unsigned char *sig; /* after the key id */
    size_t sig_len;
};

/* Split one signature line (without its newline) and decode its base64
 * into ${scratch}, which has room for ${cap} bytes. */
static int
parse_sig_line(const char *line, size_t len, unsigned char *scratch, size_t cap,
               struct sig_line *sl)
{
    const char *sp;
    size_t blen;

    if (len < SIG_PREFIX_LEN || memcmp(line, SIG_PREFIX, SIG_PREFIX_LEN) != 0) {
        return COFFRE_ERR_PARSE;
    }
    line += SIG_PREFIX_LEN;
    len -= SIG_PREFIX_LEN;
    sp = memchr(line, ' ', len);
    if (sp == NULL || !coffre_note_name_valid(line, (size_t)(sp - line))) {
        return COFFRE_ERR_PARSE;
    }
    sl->name = line;
    sl->name_len = (size_t)(sp - line);
    sp++;
    if (coffre_note_base64_decode(sp, len - sl->name_len - 1, scratch, cap,
                                  &blen) != 0 ||
        blen < 5) {
        return COFFRE_ERR_PARSE;
    }
    sl->id = (uint32_t)scratch[0] << 24 | (uint32_t)scratch[1] << 16 |
             (uint32_t)scratch[2] << 8 | (uint32_t)scratch[3];
    sl->sig = scratch + 4;
    sl->sig_len = blen - 4;
    return COFFRE_OK;
}

/* The index in known[] of the key that made ${sl}, -1 if none, -2 if two
 * known keys share its name and id. */
static long
find_known(const struct sig_line *sl, const struct coffre_note_verifier *known,
           size_t nknown)
{
    long found = -1;

    for (size_t k = 0; k < nknown; k++) {
        if (known[k].id != sl->id || strlen(known[k].name) != sl->name_len ||
            memcmp(known[k].name, sl->name, sl->name_len) != 0) {
            continue;
        }
        if (found >= 0) {
            return -2;
        }
        found = (long)k;
    }
    return found;
}

static void
note_mark_verified(struct coffre_note *n, size_t k)
{
    for (size_t i = 0; i < n->nverified; i++) {
        if (n->verified[i] == k) {
            return;
        }
    }
    n->verified[n->nverified++] = k;
}

/* Check each signature line of ${sigs} (ending in a newline) against the
 * known keys, recording in ${n} which verified. */
static int
check_sigs(struct coffre_note *n, const char *sigs, size_t slen,
           const struct coffre_note_verifier *known, size_t nknown,
           unsigned char *scratch)
{
    struct sig_line sl;
    const char *end = sigs + slen, *nl;
    long k;
    int rc;

    for (; sigs < end; sigs = nl + 1) {
        nl = memchr(sigs, '\n', (size_t)(end - sigs));
        if (++n->nsigs > COFFRE_NOTE_MAX_SIGS) {
            return COFFRE_ERR_TOOBIG;
        }
        rc = parse_sig_line(sigs, (size_t)(nl - sigs), scratch, slen, &sl);
        if (rc != COFFRE_OK) {
            return rc;
        }
        k = find_known(&sl, known, nknown);
        if (k == -2) {
            return COFFRE_ERR_ARG;
        }
        if (k < 0) {
            continue; /* unknown key: ignored, as the spec requires */
        }
        if (sl.sig_len != COFFRE_NOTE_SIG_LEN ||
            crypto_sign_verify_detached(sl.sig, (const unsigned char *)n->text,
                                        n->text_len, known[k].pk) != 0) {
            return COFFRE_ERR_CRYPTO;
        }
        note_mark_verified(n, (size_t)k);
    }
    return n->nverified > 0 ? COFFRE_OK : COFFRE_ERR_CRYPTO;
}

/* The offset of the last "\n\n" in ${msg}, or -1. */
static long
last_blank_line(const char *msg, size_t len)
{
    for (size_t i = len; i >= 2; i--) {
        if (msg[i - 1] == '\n' && msg[i - 2] == '\n') {
            return (long)(i - 2);
        }
    }
    return -1;
}

int
coffre_note_open(const char *msg, size_t len,
                 const struct coffre_note_verifier *known, size_t nknown,
                 struct coffre_note **pn)
{
    struct coffre_note *n = NULL;
    unsigned char *scratch = NULL;
    long split;
    int rc;

    *pn = NULL;
    rc = coffre_note_text_valid(msg, len);
    if (rc != COFFRE_OK) {
        return rc;
    }
    /* The text ends at the last blank line; signatures follow it. */
    split = last_blank_line(msg, len);
    if (split < 0 || (size_t)split + 2 == len) {
        return COFFRE_ERR_PARSE;
    }
    n = calloc(1, sizeof *n);
    scratch = malloc(len);
    rc = COFFRE_ERR_NOMEM;
    if (n == NULL || scratch == NULL ||
        (n->text = malloc((size_t)split + 2)) == NULL) {
        goto out;
    }
    n->text_len = (size_t)split + 1;
    memcpy(n->text, msg, n->text_len);
    n->text[n->text_len] = '\0';
    rc = check_sigs(n, msg + split + 2, len - (size_t)split - 2, known, nknown,
                    scratch);
out:
    free(scratch);
    if (rc != COFFRE_OK) {
        coffre_note_free(n);
        return rc;
    }
    *pn = n;
    return COFFRE_OK;
}

void
coffre_note_free(struct coffre_note *n)
{
    if (n == NULL) {
        return;
    }
    free(n->text);
    free(n);
}
