/*
 * Sealed vault-to-vault bundles (docs/migration.md section 4): a header
 * naming both vaults and carrying a random stream key sealed to the
 * destination's X25519 bundle key, then crypto_secretstream chunks of
 * canonical JSON lines, the last one (tag FINAL) giving count and manifest
 * root. The header is the additional data of the first chunk.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/secmem.h"
#include "vault/migrate.h"

#define BUNDLE_MAGIC "coffreB1"
#define BUNDLE_SEALED_LEN (crypto_box_SEALBYTES + COFFRE_KEY_LEN)
#define BUNDLE_HEADER_LEN                                                      \
    (8 + 16 + 16 + BUNDLE_SEALED_LEN +                                         \
     crypto_secretstream_xchacha20poly1305_HEADERBYTES)
#define BUNDLE_FLUSH (64u * 1024u) /* plaintext bytes that end a chunk */
#define BUNDLE_PT_MAX (BUNDLE_FLUSH + COFFRE_MAX_JSON + 1)
#define BUNDLE_CT_MAX                                                          \
    (BUNDLE_PT_MAX + crypto_secretstream_xchacha20poly1305_ABYTES)
#define BUNDLE_KEY_PREFIX "coffre-bundle-v1:"

typedef crypto_secretstream_xchacha20poly1305_state stream_state;

/* The vault's X25519 bundle secret (named key "bundle") and public key. */
static int
bundle_keypair(struct coffre_vault *v, struct coffre_key **psk,
               unsigned char pk[crypto_box_PUBLICKEYBYTES])
{
    int rc = vault_named_key(v, "bundle", psk);

    if (rc == COFFRE_OK && crypto_scalarmult_base(pk, (*psk)->b) != 0) {
        rc = COFFRE_ERR_CRYPTO;
    }
    if (rc != COFFRE_OK) {
        coffre_key_destroy(*psk);
        *psk = NULL;
    }
    return rc;
}

int
coffre_vault_bundle_key(struct coffre_vault *v,
                        char out[COFFRE_BUNDLE_KEY_STRLEN + 1])
{
    unsigned char pk[crypto_box_PUBLICKEYBYTES];
    struct coffre_key *sk = NULL;
    char hex[2 * crypto_box_PUBLICKEYBYTES + 1];
    int rc;

    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = bundle_keypair(v, &sk, pk);
    }
    pthread_mutex_unlock(&v->lock);
    coffre_key_destroy(sk);
    if (rc == COFFRE_OK) {
        coffre_hex(pk, sizeof(pk), hex);
        snprintf(out, COFFRE_BUNDLE_KEY_STRLEN + 1, "%s%s:%s",
                 BUNDLE_KEY_PREFIX, v->id_hex, hex);
    }
    return rc;
}

/* Parse "coffre-bundle-v1:<vault id hex>:<X25519 hex>". */
static int
parse_bundle_key(const char *s, unsigned char id[16],
                 unsigned char pk[crypto_box_PUBLICKEYBYTES])
{
    char idhex[33];
    size_t pl = strlen(BUNDLE_KEY_PREFIX);

    if (strlen(s) != COFFRE_BUNDLE_KEY_STRLEN ||
        strncmp(s, BUNDLE_KEY_PREFIX, pl) != 0 || s[pl + 32] != ':') {
        return COFFRE_ERR_PARSE;
    }
    memcpy(idhex, s + pl, 32);
    idhex[32] = '\0';
    if (coffre_unhex(idhex, id, 16) != 0 ||
        coffre_unhex(s + pl + 33, pk, crypto_box_PUBLICKEYBYTES) != 0) {
        return COFFRE_ERR_PARSE;
    }
    return COFFRE_OK;
}

int
coffre_bundle_key_check(const char *to)
{
    unsigned char id[16], pk[crypto_box_PUBLICKEYBYTES];

    return to != NULL ? parse_bundle_key(to, id, pk) : COFFRE_ERR_ARG;
}

/* ------------------------------------------------------------------ */
/* Writing.                                                            */

struct bundle_writer {
    FILE *out;
    stream_state *st;
    unsigned char header[BUNDLE_HEADER_LEN];
    int first;
    struct coffre_buf pt;
    unsigned char *ct;
    struct coffre_manifest *m;
    uint64_t count;
    coffre_progress_fn progress; /* NULL: none */
    void *progress_arg;
    uint64_t total; /* for progress: live persons, 0 if not known */
};

static int
write_chunk(struct bundle_writer *w, unsigned char tag)
{
    unsigned long long clen;
    unsigned char len_be[4];

    crypto_secretstream_xchacha20poly1305_push(
        w->st, w->ct, &clen, w->pt.p, w->pt.len, w->first ? w->header : NULL,
        w->first ? sizeof(w->header) : 0, tag);
    w->first = 0;
    coffre_buf_reset(&w->pt);
    len_be[0] = (unsigned char)(clen >> 24);
    len_be[1] = (unsigned char)(clen >> 16);
    len_be[2] = (unsigned char)(clen >> 8);
    len_be[3] = (unsigned char)clen;
    if (fwrite(len_be, 1, 4, w->out) != 4 ||
        fwrite(w->ct, 1, (size_t)clen, w->out) != clen) {
        return COFFRE_ERR_IO;
    }
    return COFFRE_OK;
}

static int
writer_item(void *ctx, const struct migrate_item *it)
{
    struct bundle_writer *w = ctx;
    char *json = NULL;
    int rc = coffre_person_to_json(it->p, COFFRE_CLASSES_ALL, &json);

    if (rc == COFFRE_OK) {
        rc = coffre_buf_adds(&w->pt, json);
    }
    coffre_free(json);
    if (rc == COFFRE_OK) {
        rc = coffre_buf_addc(&w->pt, '\n');
    }
    if (rc == COFFRE_OK) {
        rc = coffre_manifest_add_leaf(w->m, it->key_hash, it->leaf);
    }
    w->count++;
    if (rc == COFFRE_OK && w->pt.len >= BUNDLE_FLUSH) {
        rc = write_chunk(w, 0);
    }
    if (rc == COFFRE_OK && w->progress != NULL) {
        w->progress(w->progress_arg, w->count, w->total);
    }
    return rc;
}

static int
writer_start(struct coffre_vault *v, const unsigned char dest[16],
             const unsigned char pk[crypto_box_PUBLICKEYBYTES],
             struct bundle_writer *w)
{
    struct coffre_key *k = coffre_key_new();
    unsigned char *h = w->header;

    if (k == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    memcpy(h, BUNDLE_MAGIC, 8);
    memcpy(h + 8, dest, 16);
    memcpy(h + 24, v->id, 16);
    crypto_box_seal(h + 40, k->b, COFFRE_KEY_LEN, pk);
    crypto_secretstream_xchacha20poly1305_init_push(
        w->st, h + 40 + BUNDLE_SEALED_LEN, k->b);
    coffre_key_destroy(k);
    w->first = 1;
    if (fwrite(h, 1, BUNDLE_HEADER_LEN, w->out) != BUNDLE_HEADER_LEN) {
        return COFFRE_ERR_IO;
    }
    return COFFRE_OK;
}

static int
writer_finish(struct bundle_writer *w, uint64_t *pcount,
              unsigned char root[COFFRE_MANIFEST_LEN])
{
    char hex[2 * COFFRE_MANIFEST_LEN + 1];
    int rc = w->pt.len > 0 ? write_chunk(w, 0) : COFFRE_OK;

    if (rc == COFFRE_OK) {
        rc = coffre_manifest_root(w->m, root, pcount);
    }
    if (rc == COFFRE_OK) {
        coffre_hex(root, COFFRE_MANIFEST_LEN, hex);
        rc = coffre_buf_addf(&w->pt, "end %llu %s\n",
                             (unsigned long long)w->count, hex);
    }
    if (rc == COFFRE_OK) {
        rc = write_chunk(w, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
    }
    if (rc == COFFRE_OK && fflush(w->out) != 0) {
        rc = COFFRE_ERR_IO;
    }
    return rc;
}

/* The export is recorded before its first byte is written: every live
 * person (of the category) leaves, sealed to the destination. */
static int
export_audit(struct coffre_vault *v, const char *category, uint64_t *ptotal)
{
    struct coffre_event ev;
    uint64_t live = 0, erased = 0;

    vault_event(&ev, COFFRE_OP_EXPORT, 0, COFFRE_CLASSES_ALL);
    if (category == NULL &&
        v->store->ops->stats(v->store, &live, &erased) == COFFRE_OK) {
        ev.count = live;
        *ptotal = live;
    }
    return vault_audit_read(v, &ev);
}

int
coffre_vault_export(struct coffre_vault *v, const char *to,
                    const char *category, FILE *out, uint64_t *pcount,
                    unsigned char root[COFFRE_MANIFEST_LEN])
{
    return coffre_vault_export_progress(v, to, category, out, NULL, NULL,
                                        pcount, root);
}

int
coffre_vault_export_progress(struct coffre_vault *v, const char *to,
                             const char *category, FILE *out,
                             coffre_progress_fn fn, void *arg, uint64_t *pcount,
                             unsigned char root[COFFRE_MANIFEST_LEN])
{
    unsigned char dest[16], pk[crypto_box_PUBLICKEYBYTES];
    struct bundle_writer w;
    int rc;

    if (parse_bundle_key(to, dest, pk) != COFFRE_OK) {
        return vault_fail(v, COFFRE_ERR_ARG, "not a bundle key");
    }
    memset(&w, 0, sizeof(w));
    w.out = out;
    w.progress = fn;
    w.progress_arg = arg;
    w.st = coffre_key_alloc(sizeof(*w.st));
    w.ct = malloc(BUNDLE_CT_MAX);
    coffre_buf_init(&w.pt, BUNDLE_PT_MAX);
    rc = w.st && w.ct ? coffre_manifest_new(&w.m) : COFFRE_ERR_NOMEM;
    pthread_mutex_lock(&v->lock);
    if (rc == COFFRE_OK) {
        rc = vault_check_unsealed(v);
    }
    if (rc == COFFRE_OK) {
        rc = export_audit(v, category, &w.total);
    }
    if (rc == COFFRE_OK) {
        rc = writer_start(v, dest, pk, &w);
    }
    if (rc == COFFRE_OK) {
        rc = migrate_scan(v, category, writer_item, &w);
    }
    pthread_mutex_unlock(&v->lock);
    if (rc == COFFRE_OK) {
        rc = writer_finish(&w, pcount, root);
    }
    if (w.st != NULL) {
        coffre_key_free(w.st, sizeof(*w.st));
    }
    coffre_buf_free(&w.pt);
    free(w.ct);
    coffre_manifest_free(w.m);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Reading.                                                            */

struct coffre_bundle {
    FILE *in;
    stream_state *st;
    unsigned char header[BUNDLE_HEADER_LEN];
    int first, done;
    uint64_t chunk; /* chunks read */
    unsigned char *ct;
    struct coffre_buf pt;
    size_t pos; /* next line in pt */
    struct coffre_manifest *m;
    uint64_t nread, count;
    unsigned char root[COFFRE_MANIFEST_LEN];
    char sender[33];
    char errmsg[256];
};

static int bfail(struct coffre_bundle *b, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
bfail(struct coffre_bundle *b, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(b->errmsg, sizeof(b->errmsg), fmt, ap);
    va_end(ap);
    return rc;
}

/* Check the header is for ${v} and open the stream key with its secret. */
static int
bundle_start(struct coffre_vault *v, struct coffre_bundle *b)
{
    unsigned char pk[crypto_box_PUBLICKEYBYTES], *h = b->header;
    struct coffre_key *sk = NULL, *k;
    char dest[33];
    int rc;

    if (fread(h, 1, BUNDLE_HEADER_LEN, b->in) != BUNDLE_HEADER_LEN ||
        memcmp(h, BUNDLE_MAGIC, 8) != 0) {
        return bfail(b, COFFRE_ERR_PARSE, "not a coffre bundle");
    }
    coffre_hex(h + 8, 16, dest);
    coffre_hex(h + 24, 16, b->sender);
    if (memcmp(h + 8, v->id, 16) != 0) {
        return bfail(b, COFFRE_ERR_DENIED,
                     "the bundle is for vault %s, this vault is %s", dest,
                     v->id_hex);
    }
    k = coffre_key_alloc(sizeof(*k));
    rc = k != NULL ? bundle_keypair(v, &sk, pk) : COFFRE_ERR_NOMEM;
    if (rc == COFFRE_OK &&
        crypto_box_seal_open(k->b, h + 40, BUNDLE_SEALED_LEN, pk, sk->b) != 0) {
        rc = bfail(b, COFFRE_ERR_CRYPTO,
                   "the bundle key does not open with this vault's bundle "
                   "key");
    }
    if (rc == COFFRE_OK && crypto_secretstream_xchacha20poly1305_init_pull(
                               b->st, h + 40 + BUNDLE_SEALED_LEN, k->b) != 0) {
        rc = bfail(b, COFFRE_ERR_CRYPTO, "bad stream header");
    }
    coffre_key_destroy(sk);
    if (k != NULL) {
        coffre_key_free(k, sizeof(*k));
    }
    return rc;
}

int
coffre_bundle_open(struct coffre_vault *v, FILE *in, struct coffre_bundle **pb)
{
    struct coffre_bundle *b = calloc(1, sizeof(*b));
    int rc;

    *pb = NULL;
    if (b == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    b->in = in;
    b->first = 1;
    b->st = coffre_key_alloc(sizeof(*b->st));
    b->ct = malloc(BUNDLE_CT_MAX);
    coffre_buf_init(&b->pt, BUNDLE_PT_MAX);
    rc = b->st && b->ct ? coffre_manifest_new(&b->m) : COFFRE_ERR_NOMEM;
    if (rc == COFFRE_OK) {
        pthread_mutex_lock(&v->lock);
        rc = vault_check_unsealed(v);
        if (rc == COFFRE_OK) {
            rc = bundle_start(v, b);
        }
        pthread_mutex_unlock(&v->lock);
    }
    *pb = b; /* even on failure: the caller reads the message, then closes */
    return rc;
}

static int
bundle_end(struct coffre_bundle *b)
{
    unsigned char root[COFFRE_MANIFEST_LEN];
    char hex[2 * COFFRE_MANIFEST_LEN + 1], *txt = coffre_buf_cstr(&b->pt);
    unsigned long long count;
    uint64_t n;
    int rc;

    if (txt == NULL || sscanf(txt, "end %llu %64[0-9a-f]", &count, hex) != 2 ||
        coffre_unhex(hex, b->root, COFFRE_MANIFEST_LEN) != 0) {
        return bfail(b, COFFRE_ERR_PARSE, "malformed final chunk");
    }
    b->count = count;
    if (fgetc(b->in) != EOF) {
        return bfail(b, COFFRE_ERR_PARSE, "data after the final chunk");
    }
    rc = coffre_manifest_root(b->m, root, &n);
    if (rc == COFFRE_OK && (n != b->count || b->nread != b->count ||
                            sodium_memcmp(root, b->root, sizeof(root)) != 0)) {
        rc = bfail(b, COFFRE_ERR_INVALID,
                   "the content does not match the bundle's count and "
                   "manifest root");
    }
    b->done = 1;
    coffre_buf_reset(&b->pt);
    return rc;
}

static int
read_chunk(struct coffre_bundle *b)
{
    unsigned char len_be[4], tag;
    unsigned long long plen;
    char num[24];
    size_t clen;

    if (fread(len_be, 1, 4, b->in) != 4) {
        return bfail(b, COFFRE_ERR_PARSE,
                     "the bundle is truncated: no final chunk");
    }
    clen = (size_t)len_be[0] << 24 | (size_t)len_be[1] << 16 |
           (size_t)len_be[2] << 8 | len_be[3];
    snprintf(num, sizeof(num), "%llu", (unsigned long long)b->chunk + 1);
    if (clen < crypto_secretstream_xchacha20poly1305_ABYTES ||
        clen > BUNDLE_CT_MAX) {
        return bfail(b, COFFRE_ERR_PARSE, "chunk %s has a bad length", num);
    }
    if (fread(b->ct, 1, clen, b->in) != clen) {
        return bfail(b, COFFRE_ERR_PARSE, "the bundle is truncated in chunk %s",
                     num);
    }
    coffre_buf_reset(&b->pt);
    if (coffre_buf_add(&b->pt, b->ct, clen) != COFFRE_OK ||
        crypto_secretstream_xchacha20poly1305_pull(
            b->st, b->pt.p, &plen, &tag, b->ct, clen,
            b->first ? b->header : NULL,
            b->first ? sizeof(b->header) : 0) != 0) {
        coffre_buf_reset(&b->pt);
        return bfail(b, COFFRE_ERR_CRYPTO,
                     "chunk %s does not authenticate (altered or not "
                     "from this sender)",
                     num);
    }
    b->first = 0;
    b->chunk++;
    b->pt.len = (size_t)plen;
    b->pos = 0;
    return tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL
               ? bundle_end(b)
               : COFFRE_OK;
}

static int
next_line(struct coffre_bundle *b, struct coffre_person **pp)
{
    const char *s = (const char *)b->pt.p + b->pos;
    const char *nl = memchr(s, '\n', b->pt.len - b->pos);
    struct coffre_diag d;
    int rc;

    memset(&d, 0, sizeof(d));
    snprintf(d.field, sizeof(d.field), "source_key");
    snprintf(d.rule, sizeof(d.rule), "is required for migration");
    if (nl == NULL) {
        return bfail(b, COFFRE_ERR_PARSE, "a chunk ends inside a record");
    }
    rc = coffre_person_from_json(s, (size_t)(nl - s), pp, &d);
    b->pos += (size_t)(nl - s) + 1;
    if (rc == COFFRE_OK && coffre_person_validate_new(*pp, &d) != COFFRE_OK) {
        rc = COFFRE_ERR_INVALID;
    }
    if (rc == COFFRE_OK) {
        rc = coffre_manifest_add(b->m, *pp);
    }
    if (rc != COFFRE_OK) {
        coffre_person_free(*pp);
        *pp = NULL;
        return bfail(b, rc == COFFRE_ERR_ARG ? COFFRE_ERR_INVALID : rc,
                     "a record is invalid: %s: %s", d.field, d.rule);
    }
    b->nread++;
    return COFFRE_OK;
}

int
coffre_bundle_next(struct coffre_bundle *b, struct coffre_person **pp)
{
    int rc = COFFRE_OK;

    *pp = NULL;
    while (!b->done && b->pos >= b->pt.len && rc == COFFRE_OK) {
        rc = read_chunk(b);
    }
    if (rc != COFFRE_OK || b->done) {
        return rc;
    }
    return next_line(b, pp);
}

void
coffre_bundle_info(const struct coffre_bundle *b, uint64_t *pcount,
                   unsigned char root[COFFRE_MANIFEST_LEN], char sender[33])
{
    if (pcount != NULL) {
        *pcount = b->count;
    }
    if (root != NULL) {
        memcpy(root, b->root, COFFRE_MANIFEST_LEN);
    }
    if (sender != NULL) {
        memcpy(sender, b->sender, 33);
    }
}

const char *
coffre_bundle_errmsg(const struct coffre_bundle *b)
{
    return b->errmsg;
}

void
coffre_bundle_close(struct coffre_bundle *b)
{
    if (b == NULL) {
        return;
    }
    if (b->st != NULL) {
        coffre_key_free(b->st, sizeof(*b->st));
    }
    coffre_buf_free(&b->pt);
    free(b->ct);
    coffre_manifest_free(b->m);
    free(b);
}
