/*
 * coffre backup and restore (docs/operations.md section 2, format in
 * docs/formats.md).
 *
 * The backup reads the store in one snapshot (store op begin_snapshot)
 * through coffre store copy's pass (vault_store_copy_pass), whose target
 * is a store of this file that writes nothing but frames: meta, keys and
 * data keys into one stream, persons and tombstones into the other. Each
 * stream is encrypted to the recipient (crypto_box_seal of a random file
 * key, the content in crypto_secretstream chunks). The restore checks
 * everything before it writes anything, replays the frames into a new
 * SQLite store through the same store operations, and reads that store
 * back with the same pass: its row digest must be the backup's.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "audit/log.h"
#include "coffre/backup.h"
#include "util/secmem.h"
#include "vault/vault.h"

#define BK_MAGIC "COFFREBK"
#define BK_VERSION 1
#define BK_KIND_KEYS 1
#define BK_KIND_RECORDS 2
#define BK_AD_LEN 28 /* magic, version, kind, 2 zero bytes, vault id */
#define BK_SEALED_LEN (crypto_box_SEALBYTES + 32)
#define BK_CHUNK 65536u
#define BK_PLAIN_MAX ((size_t)1 << 32) /* bytes of one decrypted stream */
#define BK_FILE_MAX (BK_PLAIN_MAX + BK_PLAIN_MAX / 1024 + 4096)
#define BK_COPY_MAX ((uint64_t)1 << 40) /* bytes of one audit file */

enum {
    F_META = 1,
    F_KEK,
    F_EPOCH,
    F_EPOCH_ERASE,
    F_DKEY,
    F_NEXT,
    F_PERSON,
    F_TOMB
};
#define FRAME_MAX                                                              \
    (COFFRE_CLASS_COUNT * (COFFRE_STORE_CT_MAX + 4u) +                         \
     COFFRE_TAG_COUNT * COFFRE_TAG_LEN + 1024u)

static const char *const audit_names[] = {"checkpoints", "entries"};

static int bk_fail(char *msg, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
bk_fail(char *msg, size_t cap, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return rc;
}

static void
put_be(unsigned char *p, uint64_t x, int n)
{
    for (int i = n - 1; i >= 0; i--, x >>= 8) {
        p[i] = (unsigned char)x;
    }
}

static uint64_t
get_be(const unsigned char *p, int n)
{
    uint64_t x = 0;

    for (int i = 0; i < n; i++) {
        x = x << 8 | p[i];
    }
    return x;
}

static void
hex_of(const unsigned char *p, size_t n, char *out)
{
    sodium_bin2hex(out, 2 * n + 1, p, n);
}

/* ------------------------------------------------------------------ */
/* The frame writer: a store that only records what it is given.      */

struct bkw {
    struct coffre_store base;
    struct coffre_buf keys, recs;
};

static int
frame(struct coffre_buf *b, int type, const unsigned char *head, size_t hlen,
      const void *tail, size_t tlen)
{
    unsigned char h[5];
    int rc;

    h[0] = (unsigned char)type;
    put_be(h + 1, hlen + tlen, 4);
    rc = coffre_buf_add(b, h, 5);
    if (rc == COFFRE_OK) {
        rc = coffre_buf_add(b, head, hlen);
    }
    if (rc == COFFRE_OK && tlen > 0) {
        rc = coffre_buf_add(b, tail, tlen);
    }
    return rc;
}

static struct bkw *
bkw_of(struct coffre_store *s)
{
    return (struct bkw *)(void *)s;
}

static int
w_meta_put(struct coffre_store *s, const char *key, const void *p, size_t len)
{
    unsigned char h[1 + COFFRE_STORE_KEY_MAX];
    size_t n = strlen(key);

    if (n == 0 || n > COFFRE_STORE_KEY_MAX) {
        return COFFRE_ERR_ARG;
    }
    h[0] = (unsigned char)n;
    memcpy(h + 1, key, n);
    return frame(&bkw_of(s)->keys, F_META, h, 1 + n, p, len);
}

static int
w_kek_put(struct coffre_store *s, uint32_t version, const void *wrapped,
          size_t len)
{
    unsigned char h[4];

    put_be(h, version, 4);
    return frame(&bkw_of(s)->keys, F_KEK, h, 4, wrapped, len);
}

static int
w_epoch_put(struct coffre_store *s, uint32_t epoch, const void *wrapped,
            size_t len)
{
    unsigned char h[4];

    put_be(h, epoch, 4);
    return frame(&bkw_of(s)->keys, F_EPOCH, h, 4, wrapped, len);
}

static int
w_epoch_erase(struct coffre_store *s, uint32_t epoch, uint64_t *pcount)
{
    unsigned char h[4];

    *pcount = 0;
    put_be(h, epoch, 4);
    return frame(&bkw_of(s)->keys, F_EPOCH_ERASE, h, 4, NULL, 0);
}

static int
w_person_insert(struct coffre_store *s, const struct coffre_store_person *r,
                const struct coffre_store_dkey *dk)
{
    struct bkw *w = bkw_of(s);
    unsigned char h[64 + COFFRE_TAG_COUNT * COFFRE_TAG_LEN], l[4];
    size_t n = 0;
    int rc;

    put_be(h, r->id, 8);
    put_be(h + 8, (uint64_t)r->state, 4);
    put_be(h + 12, r->epoch, 4);
    put_be(h + 16, r->dk_gen, 4);
    put_be(h + 20, (uint64_t)r->retain_until, 8);
    put_be(h + 28, (uint64_t)r->deadline, 8);
    put_be(h + 36, (uint64_t)r->updated, 8);
    put_be(h + 44, r->tag_mask, 4);
    n = 48;
    for (int k = 0; k < COFFRE_TAG_COUNT; k++) {
        if ((r->tag_mask >> k) & 1u) {
            memcpy(h + n, r->tags[k], COFFRE_TAG_LEN);
            n += COFFRE_TAG_LEN;
        }
    }
    size_t body = 0;
    for (int k = 0; k < COFFRE_CLASS_COUNT; k++) {
        body += 4 + (r->ct[k] != NULL ? r->ct_len[k] : 0);
    }
    rc = frame(&w->recs, F_PERSON, h, n, NULL, 0);
    if (rc == COFFRE_OK) { /* the frame's length covers the classes too */
        put_be(w->recs.p + w->recs.len - n - 4, n + body, 4);
    }
    for (int k = 0; rc == COFFRE_OK && k < COFFRE_CLASS_COUNT; k++) {
        put_be(l, r->ct[k] != NULL ? r->ct_len[k] : 0xffffffffu, 4);
        rc = coffre_buf_add(&w->recs, l, 4);
        if (rc == COFFRE_OK && r->ct[k] != NULL) {
            rc = coffre_buf_add(&w->recs, r->ct[k], r->ct_len[k]);
        }
    }
    put_be(h, dk->id, 8);
    put_be(h + 8, dk->kek_version, 4);
    put_be(h + 12, dk->epoch, 4);
    return rc == COFFRE_OK
               ? frame(&w->keys, F_DKEY, h, 16, dk->wrapped, dk->len)
               : rc;
}

static int
w_tomb_insert(struct coffre_store *s, uint64_t id, uint32_t epoch,
              int64_t updated)
{
    unsigned char h[20];

    put_be(h, id, 8);
    put_be(h + 8, epoch, 4);
    put_be(h + 12, (uint64_t)updated, 8);
    return frame(&bkw_of(s)->recs, F_TOMB, h, 20, NULL, 0);
}

static int
w_id_set_next(struct coffre_store *s, uint64_t next)
{
    unsigned char h[8];

    put_be(h, next, 8);
    return frame(&bkw_of(s)->keys, F_NEXT, h, 8, NULL, 0);
}

static const struct coffre_store_ops writer_ops = {
    .name = "backup",
    .meta_put = w_meta_put,
    .kek_put = w_kek_put,
    .epoch_put = w_epoch_put,
    .epoch_erase = w_epoch_erase,
    .person_insert = w_person_insert,
    .tomb_insert = w_tomb_insert,
    .id_set_next = w_id_set_next,
};

/* ------------------------------------------------------------------ */
/* The frame reader and the replay.                                    */

struct rd {
    const unsigned char *p;
    size_t len, off;
    const char *name;
};

struct fr {
    int type;
    const unsigned char *p;
    size_t len;
};

/* The next frame of ${r}: 1, 0 at the end, -1 if malformed. */
static int
next_frame(struct rd *r, struct fr *f)
{
    if (r->off == r->len) {
        return 0;
    }
    if (r->len - r->off < 5) {
        return -1;
    }
    f->type = r->p[r->off];
    f->len = (size_t)get_be(r->p + r->off + 1, 4);
    if (f->len > FRAME_MAX || f->len > r->len - r->off - 5) {
        return -1;
    }
    f->p = r->p + r->off + 5;
    r->off += 5 + f->len;
    return 1;
}

static int
parse_person(const struct fr *f, struct coffre_store_person *row)
{
    const unsigned char *p = f->p;
    size_t n = 48, len;

    memset(row, 0, sizeof(*row));
    if (f->len < n) {
        return -1;
    }
    row->id = get_be(p, 8);
    row->state = (int)get_be(p + 8, 4);
    row->epoch = (uint32_t)get_be(p + 12, 4);
    row->dk_gen = (uint32_t)get_be(p + 16, 4);
    row->retain_until = (int64_t)get_be(p + 20, 8);
    row->deadline = (int64_t)get_be(p + 28, 8);
    row->updated = (int64_t)get_be(p + 36, 8);
    row->tag_mask = (unsigned)get_be(p + 44, 4);
    if (row->id == 0 || row->state < 0 || row->state == COFFRE_STATE_ERASED ||
        row->state >= COFFRE_STATE_COUNT ||
        (row->tag_mask >> COFFRE_TAG_COUNT) != 0) {
        return -1;
    }
    for (int k = 0; k < COFFRE_TAG_COUNT; k++) {
        if ((row->tag_mask >> k) & 1u) {
            if (f->len - n < COFFRE_TAG_LEN) {
                return -1;
            }
            memcpy(row->tags[k], p + n, COFFRE_TAG_LEN);
            n += COFFRE_TAG_LEN;
        }
    }
    for (int k = 0; k < COFFRE_CLASS_COUNT; k++) {
        if (f->len - n < 4) {
            return -1;
        }
        len = (size_t)get_be(p + n, 4);
        n += 4;
        if (len == 0xffffffffu) {
            continue;
        }
        if (len > COFFRE_STORE_CT_MAX || len > f->len - n) {
            return -1;
        }
        row->ct[k] = (unsigned char *)(uintptr_t)(p + n);
        row->ct_len[k] = len;
        n += len;
    }
    return n == f->len ? 0 : -1;
}

static int
parse_dkey(const struct fr *f, struct coffre_store_dkey *dk)
{
    memset(dk, 0, sizeof(*dk));
    if (f->type != F_DKEY || f->len < 16 || f->len - 16 > COFFRE_WRAPPED_MAX) {
        return -1;
    }
    dk->id = get_be(f->p, 8);
    dk->kek_version = (uint32_t)get_be(f->p + 8, 4);
    dk->epoch = (uint32_t)get_be(f->p + 12, 4);
    dk->len = f->len - 16;
    memcpy(dk->wrapped, f->p + 16, dk->len);
    return 0;
}

struct replay {
    struct rd k, r;
    struct coffre_store *dst; /* NULL: check only */
    uint64_t last_id;
    char *msg;
    size_t cap;
};

static int
bad(struct replay *x, const struct rd *r, const char *what)
{
    return bk_fail(x->msg, x->cap, COFFRE_ERR_PARSE,
                   "%s: %s at byte %zu of its content", r->name, what, r->off);
}

static int
apply_rc(struct replay *x, int rc, const char *what)
{
    if (rc == COFFRE_OK) {
        return rc;
    }
    return bk_fail(x->msg, x->cap, rc, "writing %s: %s", what,
                   rc == COFFRE_ERR_STORE ? x->dst->errmsg
                                          : coffre_strerror(rc));
}

/* A meta, key or epoch frame of the keys stream. */
static int
apply_key(struct replay *x, const struct fr *f)
{
    struct coffre_store *d = x->dst;
    char key[COFFRE_STORE_KEY_MAX + 1];
    uint64_t n = 0;
    size_t kl;

    if (f->type == F_META) {
        kl = f->len > 0 ? f->p[0] : 0;
        if (kl == 0 || kl > COFFRE_STORE_KEY_MAX || f->len - 1 < kl ||
            memchr(f->p + 1, 0, kl) != NULL ||
            f->len - 1 - kl > COFFRE_STORE_META_MAX) {
            return bad(x, &x->k, "a malformed meta frame");
        }
        memcpy(key, f->p + 1, kl);
        key[kl] = '\0';
        return d == NULL ? COFFRE_OK
                         : apply_rc(x,
                                    d->ops->meta_put(d, key, f->p + 1 + kl,
                                                     f->len - 1 - kl),
                                    "meta");
    }
    if (f->len < 4 || f->len - 4 > COFFRE_STORE_META_MAX ||
        (f->type == F_EPOCH_ERASE && f->len != 4)) {
        return bad(x, &x->k, "a malformed key frame");
    }
    uint32_t v = (uint32_t)get_be(f->p, 4);
    if (d == NULL) {
        return COFFRE_OK;
    }
    if (f->type == F_KEK) {
        return apply_rc(x, d->ops->kek_put(d, v, f->p + 4, f->len - 4),
                        "a key version");
    }
    if (f->type == F_EPOCH) {
        return apply_rc(x, d->ops->epoch_put(d, v, f->p + 4, f->len - 4),
                        "an epoch key");
    }
    return apply_rc(x, d->ops->epoch_erase(d, v, &n), "a destroyed epoch");
}

/* Records up to the person ${dk} belongs to (tombstones before it), or
 * to the end when ${dk} is NULL. */
static int
apply_records(struct replay *x, const struct coffre_store_dkey *dk)
{
    struct coffre_store_person row;
    struct coffre_store *d = x->dst;
    struct fr f;
    int got, rc;

    while ((got = next_frame(&x->r, &f)) == 1) {
        if (f.type == F_TOMB && f.len == 20) {
            uint64_t id = get_be(f.p, 8);
            if (id <= x->last_id) {
                return bad(x, &x->r, "a record out of order");
            }
            x->last_id = id;
            rc = d == NULL
                     ? COFFRE_OK
                     : d->ops->tomb_insert(d, id, (uint32_t)get_be(f.p + 8, 4),
                                           (int64_t)get_be(f.p + 12, 8));
            if ((rc = apply_rc(x, rc, "a tombstone")) != COFFRE_OK) {
                return rc;
            }
            continue;
        }
        if (f.type != F_PERSON || parse_person(&f, &row) != 0) {
            return bad(x, &x->r, "a malformed record");
        }
        if (dk == NULL || row.id != dk->id || row.id <= x->last_id) {
            return bad(x, &x->r, "a record without its data key");
        }
        x->last_id = row.id;
        rc = d == NULL ? COFFRE_OK : d->ops->person_insert(d, &row, dk);
        return apply_rc(x, rc, "a person");
    }
    if (got < 0) {
        return bad(x, &x->r, "a truncated frame");
    }
    return dk == NULL ? COFFRE_OK : bad(x, &x->k, "a data key without record");
}

static int
replay_run(struct replay *x)
{
    struct coffre_store_dkey dk;
    struct fr f;
    int got, rc = COFFRE_OK, phase = 0; /* 0 keys, 1 data keys, 2 done */

    while (rc == COFFRE_OK && (got = next_frame(&x->k, &f)) == 1) {
        if (phase == 2) {
            rc = bad(x, &x->k, "a frame past the id counter");
        } else if (f.type >= F_META && f.type <= F_EPOCH_ERASE && phase == 0) {
            rc = apply_key(x, &f);
        } else if (f.type == F_DKEY) {
            phase = 1;
            rc = parse_dkey(&f, &dk) != 0
                     ? bad(x, &x->k, "a malformed data key")
                     : apply_records(x, &dk);
        } else if (f.type == F_NEXT && f.len == 8) {
            phase = 2;
            rc = apply_records(x, NULL);
            if (rc == COFFRE_OK && x->dst != NULL) {
                rc = apply_rc(x,
                              x->dst->ops->id_set_next(x->dst, get_be(f.p, 8)),
                              "the id counter");
            }
        } else {
            rc = bad(x, &x->k, "an unexpected frame");
        }
    }
    sodium_memzero(&dk, sizeof(dk));
    if (rc == COFFRE_OK && got < 0) {
        rc = bad(x, &x->k, "a truncated frame");
    }
    if (rc == COFFRE_OK && phase != 2) {
        rc = bad(x, &x->k, "no id counter (cut short)");
    }
    return rc;
}

int
coffre_backup_frames_check(const unsigned char *keys, size_t klen,
                           const unsigned char *recs, size_t rlen, char *msg,
                           size_t cap)
{
    struct replay x = {.k = {keys, klen, 0, "keys.cbk"},
                       .r = {recs, rlen, 0, "records.cbk"},
                       .msg = msg,
                       .cap = cap};

    if ((keys == NULL && klen) || (recs == NULL && rlen) || msg == NULL ||
        cap == 0) {
        return COFFRE_ERR_ARG;
    }
    return replay_run(&x);
}

/* ------------------------------------------------------------------ */
/* Files: exclusive creation, whole reads, hashing.                    */

static int
path_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);

    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int
write_new(const char *path, const void *p, size_t len, char *msg, size_t cap)
{
    int fd =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    const unsigned char *b = p;
    ssize_t w;

    if (fd < 0) {
        return bk_fail(msg, cap,
                       errno == EEXIST ? COFFRE_ERR_EXISTS : COFFRE_ERR_IO,
                       "cannot create %s: %s", path, strerror(errno));
    }
    while (len > 0 && (w = write(fd, b, len)) > 0) {
        b += w;
        len -= (size_t)w;
    }
    if (len > 0 || fsync(fd) != 0) {
        close(fd);
        return bk_fail(msg, cap, COFFRE_ERR_IO, "cannot write %s: %s", path,
                       strerror(errno));
    }
    close(fd);
    return COFFRE_OK;
}

/* The whole file at ${path}, at most ${max} bytes, into malloc memory. */
static int
read_all(const char *path, size_t max, unsigned char **pp, size_t *plen,
         char *msg, size_t cap)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    unsigned char *p;
    size_t got = 0;
    ssize_t n = 1;

    *pp = NULL;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) {
            close(fd);
        }
        return bk_fail(msg, cap, COFFRE_ERR_IO, "cannot read %s: %s", path,
                       fd < 0 ? strerror(errno) : "not a regular file");
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return bk_fail(msg, cap, COFFRE_ERR_TOOBIG,
                       "%s: over %zu bytes, the cap", path, max);
    }
    p = malloc((size_t)st.st_size + 1);
    while (p != NULL && got < (size_t)st.st_size &&
           (n = read(fd, p + got, (size_t)st.st_size - got)) > 0) {
        got += (size_t)n;
    }
    close(fd);
    if (p == NULL || n <= 0 || got != (size_t)st.st_size) {
        free(p);
        return bk_fail(msg, cap, p == NULL ? COFFRE_ERR_NOMEM : COFFRE_ERR_IO,
                       "cannot read %s", path);
    }
    p[got] = '\0';
    *pp = p;
    *plen = got;
    return COFFRE_OK;
}

/* Copy ${from} to the new file ${to}: its size and SHA-256 in ${bf}. */
static int
copy_hashed(const char *from, const char *to, struct coffre_backup_file *bf,
            char *msg, size_t cap)
{
    crypto_hash_sha256_state h;
    unsigned char buf[65536];
    int in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out = -1;
    ssize_t n = 0;

    crypto_hash_sha256_init(&h);
    bf->size = 0;
    if (in >= 0) {
        out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   0600);
    }
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0 &&
           bf->size < BK_COPY_MAX) {
        if (write(out, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
        crypto_hash_sha256_update(&h, buf, (unsigned long long)n);
        bf->size += (uint64_t)n;
    }
    int rc = in < 0 || out < 0 || n < 0 || fsync(out) != 0;
    if (rc) {
        bk_fail(msg, cap, COFFRE_ERR_IO, "cannot copy %s to %s: %s", from, to,
                strerror(errno));
    }
    if (in >= 0) {
        close(in);
    }
    if (out >= 0) {
        close(out);
    }
    crypto_hash_sha256_final(&h, bf->sha256);
    return rc ? COFFRE_ERR_IO : COFFRE_OK;
}

/* A key file: 64 hex digits and white space; into ${key} (32 bytes). */
static int
read_key_file(const char *path, unsigned char *key, const char *what, char *msg,
              size_t cap)
{
    unsigned char *p = NULL;
    size_t len = 0, bin = 0;
    const char *end = NULL;
    int rc = read_all(path, 256, &p, &len, msg, cap);

    if (rc != COFFRE_OK) {
        return rc;
    }
    if (sodium_hex2bin(key, 32, (const char *)p, len, " \t\r\n", &bin, &end) !=
            0 ||
        bin != 32 || strspn(end, " \t\r\n") != strlen(end)) {
        rc = bk_fail(msg, cap, COFFRE_ERR_PARSE,
                     "%s: not a backup %s (64 hex digits)", path, what);
    }
    sodium_memzero(p, len);
    free(p);
    return rc;
}

int
coffre_backup_keygen(const char *secret_path, const char *public_path,
                     char *msg, size_t cap)
{
    unsigned char pk[32], *sk = coffre_key_alloc(32);
    char *hex = coffre_key_alloc(66);
    int rc;

    if (secret_path == NULL || public_path == NULL || sk == NULL ||
        hex == NULL) {
        coffre_key_free(sk, 32);
        coffre_key_free(hex, 66);
        return COFFRE_ERR_ARG;
    }
    crypto_box_keypair(pk, sk);
    hex_of(sk, 32, hex);
    hex[64] = '\n';
    rc = write_new(secret_path, hex, 65, msg, cap);
    if (rc == COFFRE_OK) {
        hex_of(pk, 32, hex);
        hex[64] = '\n';
        rc = write_new(public_path, hex, 65, msg, cap);
        if (rc != COFFRE_OK) {
            (void)unlink(secret_path);
        }
    }
    coffre_key_free(sk, 32);
    coffre_key_free(hex, 66);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Encryption of one stream into a .cbk file.                          */

static void
make_header(unsigned char *h, int kind, const unsigned char vault_id[16])
{
    memset(h, 0, COFFRE_BACKUP_FILE_HDR);
    memcpy(h, BK_MAGIC, 8);
    h[8] = BK_VERSION;
    h[9] = (unsigned char)kind;
    memcpy(h + 12, vault_id, 16);
}

int
coffre_backup_header_parse(const unsigned char *p, size_t len, int *kind,
                           unsigned char vault_id[16])
{
    if (p == NULL || kind == NULL || vault_id == NULL ||
        len < COFFRE_BACKUP_FILE_HDR || memcmp(p, BK_MAGIC, 8) != 0 ||
        p[8] != BK_VERSION ||
        (p[9] != BK_KIND_KEYS && p[9] != BK_KIND_RECORDS) || p[10] != 0 ||
        p[11] != 0) {
        return COFFRE_ERR_PARSE;
    }
    *kind = p[9];
    memcpy(vault_id, p + 12, 16);
    return COFFRE_OK;
}

/* The whole encrypted file in ${out}: header, then chunks. */
static int
seal_stream(const struct coffre_buf *plain, int kind,
            const unsigned char vault_id[16], const unsigned char pk[32],
            struct coffre_buf *out)
{
    crypto_secretstream_xchacha20poly1305_state st;
    unsigned char *fk = coffre_key_alloc(32), hdr[COFFRE_BACKUP_FILE_HDR];
    unsigned char c[BK_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES];
    unsigned long long clen = 0;
    size_t off = 0, n;
    int rc = fk == NULL ? COFFRE_ERR_NOMEM : COFFRE_OK;

    if (rc == COFFRE_OK) {
        make_header(hdr, kind, vault_id);
        crypto_secretstream_xchacha20poly1305_keygen(fk);
        crypto_box_seal(hdr + BK_AD_LEN, fk, 32, pk);
        crypto_secretstream_xchacha20poly1305_init_push(
            &st, hdr + BK_AD_LEN + BK_SEALED_LEN, fk);
        rc = coffre_buf_add(out, hdr, sizeof(hdr));
    }
    do {
        n = plain->len - off > BK_CHUNK ? BK_CHUNK : plain->len - off;
        unsigned char tag =
            off + n == plain->len
                ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                : 0;
        if (rc != COFFRE_OK) {
            break;
        }
        crypto_secretstream_xchacha20poly1305_push(
            &st, c, &clen, plain->p + off, n, hdr, BK_AD_LEN, tag);
        unsigned char l[4];
        put_be(l, clen, 4);
        rc = coffre_buf_add(out, l, 4);
        if (rc == COFFRE_OK) {
            rc = coffre_buf_add(out, c, (size_t)clen);
        }
        off += n;
    } while (off < plain->len);
    coffre_key_free(fk, 32);
    sodium_memzero(&st, sizeof(st));
    return rc;
}

/* Decrypt a .cbk file's bytes ${p} into ${plain}. */
static int
open_stream(const char *name, const unsigned char *p, size_t len, int kind,
            const unsigned char vault_id[16], const unsigned char *sk,
            struct coffre_buf *plain, char *msg, size_t cap)
{
    crypto_secretstream_xchacha20poly1305_state st;
    unsigned char *fk = coffre_key_alloc(32), pk[32], id[16], tag = 0;
    unsigned long long mlen = 0;
    size_t off = COFFRE_BACKUP_FILE_HDR, clen;
    int k = 0, rc = COFFRE_OK;
    unsigned long chunk = 0;

    if (fk == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    crypto_scalarmult_base(pk, sk);
    if (coffre_backup_header_parse(p, len, &k, id) != COFFRE_OK || k != kind ||
        memcmp(id, vault_id, 16) != 0) {
        rc = bk_fail(msg, cap, COFFRE_ERR_PARSE,
                     "%s: not this backup's %s file (header)", name,
                     kind == BK_KIND_KEYS ? "keys" : "records");
    } else if (crypto_box_seal_open(fk, p + BK_AD_LEN, BK_SEALED_LEN, pk, sk) !=
                   0 ||
               crypto_secretstream_xchacha20poly1305_init_pull(
                   &st, p + BK_AD_LEN + BK_SEALED_LEN, fk) != 0) {
        rc = bk_fail(msg, cap, COFFRE_ERR_CRYPTO,
                     "%s: the backup secret key does not open it (the key "
                     "of another backup?)",
                     name);
    }
    while (rc == COFFRE_OK &&
           tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
        chunk++;
        if (len - off < 4 ||
            (clen = (size_t)get_be(p + off, 4)) <
                crypto_secretstream_xchacha20poly1305_ABYTES ||
            clen > BK_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES ||
            clen > len - off - 4) {
            rc =
                bk_fail(msg, cap, COFFRE_ERR_PARSE,
                        "%s: cut short at chunk %lu (truncated?)", name, chunk);
            break;
        }
        rc = coffre_buf_reserve(plain, clen);
        if (rc != COFFRE_OK) {
            rc = bk_fail(msg, cap, rc, "%s: over its cap", name);
            break;
        }
        if (crypto_secretstream_xchacha20poly1305_pull(
                &st, plain->p + plain->len, &mlen, &tag, p + off + 4, clen, p,
                BK_AD_LEN) != 0) {
            rc = bk_fail(msg, cap, COFFRE_ERR_CRYPTO,
                         "%s: chunk %lu does not authenticate (tampered or "
                         "corrupt)",
                         name, chunk);
            break;
        }
        plain->len += (size_t)mlen;
        off += 4 + clen;
    }
    if (rc == COFFRE_OK && off != len) {
        rc = bk_fail(msg, cap, COFFRE_ERR_PARSE,
                     "%s: bytes after its final chunk", name);
    }
    coffre_key_free(fk, 32);
    sodium_memzero(&st, sizeof(st));
    return rc;
}

/* ------------------------------------------------------------------ */
/* The manifest.                                                       */

static const char *const file_names[] = {"keys.cbk", "records.cbk",
                                         "audit/checkpoints", "audit/entries"};

static int
manifest_write(const char *out, const struct coffre_backup_info *in, char *msg,
               size_t cap)
{
    char hex[65], path[4096];
    json_t *o = json_object(), *files = json_array();
    int rc;

    json_object_set_new(o, "format", json_string("coffre-backup/1"));
    json_object_set_new(o, "vault_id", json_string(in->vault_id));
    json_object_set_new(o, "created", json_integer(in->created));
    json_object_set_new(o, "audit_mark",
                        json_integer((json_int_t)in->audit_mark));
    json_object_set_new(o, "persons", json_integer((json_int_t)in->persons));
    json_object_set_new(o, "tombstones",
                        json_integer((json_int_t)in->tombstones));
    json_object_set_new(o, "data_keys",
                        json_integer((json_int_t)in->data_keys));
    json_object_set_new(o, "key_versions", json_integer((json_int_t)in->keks));
    json_object_set_new(o, "epochs", json_integer((json_int_t)in->epochs));
    json_object_set_new(o, "meta", json_integer((json_int_t)in->meta));
    json_object_set_new(o, "next_id", json_integer((json_int_t)in->next_id));
    hex_of(in->digest, 32, hex);
    json_object_set_new(o, "rows_sha256", json_string(hex));
    hex_of(in->recipient, 32, hex);
    json_object_set_new(o, "recipient", json_string(hex));
    for (unsigned i = 0; i < in->nfiles; i++) {
        json_t *f = json_object();
        json_object_set_new(f, "name", json_string(in->files[i].name));
        json_object_set_new(f, "size",
                            json_integer((json_int_t)in->files[i].size));
        hex_of(in->files[i].sha256, 32, hex);
        json_object_set_new(f, "sha256", json_string(hex));
        json_array_append_new(files, f);
    }
    json_object_set_new(o, "files", files);
    /* jansson's allocator is the library's (coffre_lib_init) */
    json_malloc_t jm = NULL;
    json_free_t jf = NULL;
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    json_get_alloc_funcs(&jm, &jf);
    if (text == NULL || path_join(path, sizeof(path), out, "manifest.json")) {
        jf(text);
        return bk_fail(msg, cap, COFFRE_ERR_NOMEM, "cannot write the manifest");
    }
    size_t n = strlen(text);
    text[n] = '\n'; /* json_dumps's NUL: the file ends with a newline */
    rc = write_new(path, text, n + 1, msg, cap);
    text[n] = '\0';
    jf(text);
    return rc;
}

static int
get_u64(json_t *o, const char *k, uint64_t *pv)
{
    json_t *x = json_object_get(o, k);

    if (!json_is_integer(x) || json_integer_value(x) < 0) {
        return -1;
    }
    *pv = (uint64_t)json_integer_value(x);
    return 0;
}

static int
get_hex(json_t *o, const char *k, unsigned char *out, size_t n)
{
    const char *s = json_string_value(json_object_get(o, k));
    size_t bin = 0;

    return s == NULL || strlen(s) != 2 * n ||
                   sodium_hex2bin(out, n, s, 2 * n, NULL, &bin, NULL) != 0 ||
                   bin != n
               ? -1
               : 0;
}

static int
parse_files(json_t *files, struct coffre_backup_info *in)
{
    unsigned seen = 0;
    size_t i;
    json_t *f;

    if (!json_is_array(files) || json_array_size(files) < 2 ||
        json_array_size(files) > COFFRE_BACKUP_FILES_MAX) {
        return -1;
    }
    json_array_foreach(files, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        unsigned k = 0;
        while (name != NULL && k < COFFRE_BACKUP_FILES_MAX &&
               strcmp(name, file_names[k]) != 0) {
            k++;
        }
        if (name == NULL || k == COFFRE_BACKUP_FILES_MAX || (seen >> k) & 1u ||
            json_object_size(f) != 3 ||
            get_u64(f, "size", &in->files[i].size) != 0 ||
            get_hex(f, "sha256", in->files[i].sha256, 32) != 0) {
            return -1;
        }
        seen |= 1u << k;
        snprintf(in->files[i].name, sizeof(in->files[i].name), "%s", name);
    }
    in->nfiles = (unsigned)json_array_size(files);
    return (seen & 3u) == 3u ? 0 : -1;
}

int
coffre_backup_manifest_parse(const char *text, size_t len,
                             struct coffre_backup_info *in, char *msg,
                             size_t cap)
{
    json_error_t je;
    json_t *o;
    uint64_t created = 0;
    const char *fmt, *id;
    int bad_ = 0;

    if (text == NULL || in == NULL || msg == NULL || cap == 0) {
        return COFFRE_ERR_ARG;
    }
    memset(in, 0, sizeof(*in));
    if (len > COFFRE_BACKUP_MANIFEST_MAX) {
        return bk_fail(msg, cap, COFFRE_ERR_TOOBIG,
                       "the manifest is over %u bytes",
                       COFFRE_BACKUP_MANIFEST_MAX);
    }
    o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    fmt = json_string_value(json_object_get(o, "format"));
    id = json_string_value(json_object_get(o, "vault_id"));
    bad_ = !json_is_object(o) || json_object_size(o) != 14 || fmt == NULL ||
           strcmp(fmt, "coffre-backup/1") != 0 || id == NULL ||
           strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32 ||
           get_u64(o, "created", &created) != 0 ||
           get_u64(o, "audit_mark", &in->audit_mark) != 0 ||
           get_u64(o, "persons", &in->persons) != 0 ||
           get_u64(o, "tombstones", &in->tombstones) != 0 ||
           get_u64(o, "data_keys", &in->data_keys) != 0 ||
           get_u64(o, "key_versions", &in->keks) != 0 ||
           get_u64(o, "epochs", &in->epochs) != 0 ||
           get_u64(o, "meta", &in->meta) != 0 ||
           get_u64(o, "next_id", &in->next_id) != 0 ||
           get_hex(o, "rows_sha256", in->digest, 32) != 0 ||
           get_hex(o, "recipient", in->recipient, 32) != 0 ||
           parse_files(json_object_get(o, "files"), in) != 0;
    if (!bad_) {
        memcpy(in->vault_id, id, 33);
        in->created = (int64_t)created;
    }
    json_decref(o);
    return bad_ ? bk_fail(msg, cap, COFFRE_ERR_PARSE,
                          "manifest.json is malformed (not a coffre backup "
                          "manifest, or edited)")
                : COFFRE_OK;
}

/* ------------------------------------------------------------------ */
/* coffre backup.                                                      */

struct bk {
    const char *out;
    struct coffre_backup_info *in;
    struct bkw w;
    unsigned char vault_id[16];
    char *msg;
    size_t cap;
};

/* Read the store in one snapshot into the two frame streams. */
static int
snapshot(struct bk *b, struct coffre_store *src)
{
    struct coffre_store_copy_stats st;
    struct coffre_buf mark;
    int rc = src->ops->begin_snapshot(src);

    memset(&st, 0, sizeof(st));

    if (rc != COFFRE_OK) {
        return bk_fail(b->msg, b->cap, rc, "cannot read the store: %s",
                       rc == COFFRE_ERR_STORE ? src->errmsg
                                              : coffre_strerror(rc));
    }
    coffre_buf_init(&mark, 64);
    rc = src->ops->meta_get(src, "audit_mark", &mark);
    if (rc == COFFRE_OK && mark.len == 8) {
        b->in->audit_mark = get_be(mark.p, 8);
    } else if (rc == COFFRE_ERR_NOTFOUND && src->ops->audit_size != NULL) {
        /* The log is in the store (docs/audit.md section 14): its size in
         * this snapshot is the mark, every write of it has its entry. */
        rc = src->ops->audit_size(src, &b->in->audit_mark);
        if (rc != COFFRE_OK) {
            rc = bk_fail(b->msg, b->cap, rc, "cannot read the audit log: %s",
                         src->errmsg);
        }
    } else if (rc != COFFRE_ERR_NOTFOUND) {
        rc = bk_fail(b->msg, b->cap, COFFRE_ERR_STORE,
                     "the store's audit mark is unreadable");
    }
    coffre_buf_free(&mark);
    if (rc == COFFRE_OK || rc == COFFRE_ERR_NOTFOUND) {
        rc = vault_store_copy_pass(src, &b->w.base, &st, b->in->digest, b->msg,
                                   b->cap);
    }
    (void)src->ops->rollback(src); /* read only: nothing to commit */
    b->in->persons = st.persons;
    b->in->tombstones = st.tombstones;
    b->in->data_keys = st.data_keys;
    b->in->keks = st.keks;
    b->in->epochs = st.epochs;
    b->in->meta = st.meta;
    b->in->next_id = st.next_id;
    return rc;
}

static int
write_stream(struct bk *b, const char *name, const struct coffre_buf *plain,
             int kind)
{
    struct coffre_backup_file *f = &b->in->files[b->in->nfiles];
    struct coffre_buf c;
    char path[4096];
    int rc;

    coffre_buf_init(&c, BK_FILE_MAX);
    rc = seal_stream(plain, kind, b->vault_id, b->in->recipient, &c);
    if (rc != COFFRE_OK) {
        rc = bk_fail(b->msg, b->cap, rc, "cannot encrypt %s", name);
    } else if (path_join(path, sizeof(path), b->out, name) != 0) {
        rc = bk_fail(b->msg, b->cap, COFFRE_ERR_ARG, "path too long");
    } else {
        rc = write_new(path, c.p, c.len, b->msg, b->cap);
    }
    if (rc == COFFRE_OK) {
        snprintf(f->name, sizeof(f->name), "%s", name);
        f->size = c.len;
        crypto_hash_sha256(f->sha256, c.p, c.len);
        b->in->nfiles++;
    }
    coffre_buf_free(&c);
    return rc;
}

/* The log after the snapshot: every write the snapshot holds has its
 * entry in it. Checkpoints first, so that none covers entries not
 * copied; a torn last entry is what a crash leaves, cut at open. */
static int
copy_log(struct bk *b, const char *audit_dir)
{
    char from[4096], to[4096], name[32];
    int rc = COFFRE_OK;

    if (path_join(to, sizeof(to), b->out, "audit") != 0 || mkdir(to, 0700)) {
        return bk_fail(b->msg, b->cap, COFFRE_ERR_IO, "cannot create %s/audit",
                       b->out);
    }
    for (int i = 0; rc == COFFRE_OK && i < 2; i++) {
        struct coffre_backup_file *f = &b->in->files[b->in->nfiles];
        snprintf(name, sizeof(name), "audit/%s", audit_names[i]);
        if (path_join(from, sizeof(from), audit_dir, audit_names[i]) != 0 ||
            path_join(to, sizeof(to), b->out, name) != 0) {
            return bk_fail(b->msg, b->cap, COFFRE_ERR_ARG, "path too long");
        }
        rc = copy_hashed(from, to, f, b->msg, b->cap);
        if (rc == COFFRE_OK) {
            snprintf(f->name, sizeof(f->name), "%s", name);
            b->in->nfiles++;
        }
    }
    return rc;
}

/* Remove what a failed backup or restore made in ${dir}. */
static void
undo_dir(const char *dir, int made)
{
    static const char *const names[] = {
        "manifest.json",      "keys.cbk",          "records.cbk",
        "audit/checkpoints",  "audit/entries",     VAULT_DB_NAME,
        VAULT_DB_NAME "-wal", VAULT_DB_NAME "-shm"};
    char path[4096];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (path_join(path, sizeof(path), dir, names[i]) == 0) {
            (void)unlink(path);
        }
    }
    if (path_join(path, sizeof(path), dir, "audit") == 0) {
        (void)rmdir(path);
    }
    if (made) {
        (void)rmdir(dir);
    }
}

/* A log kept in the store: its rows as files in a directory of the
 * backup's own, then copied (hashed) as a file log is; that directory
 * removed after. */
static int
copy_log_rows(struct bk *b, struct coffre_store *s)
{
    char tmp[4096], f[4200];
    uint64_t n = 0;
    int rc;

    if (path_join(tmp, sizeof(tmp), b->out, ".audit-rows") != 0) {
        return bk_fail(b->msg, b->cap, COFFRE_ERR_ARG, "path too long");
    }
    if (mkdir(tmp, 0700) != 0) {
        return bk_fail(b->msg, b->cap, COFFRE_ERR_IO, "cannot create %s: %s",
                       tmp, strerror(errno));
    }
    rc = s->ops->audit_size(s, &n);
    if (rc == COFFRE_OK) {
        rc = audit_store_write_files(s, n, tmp);
    }
    if (rc != COFFRE_OK) {
        rc = bk_fail(b->msg, b->cap, rc, "cannot read the audit log: %s",
                     rc == COFFRE_ERR_STORE ? s->errmsg : coffre_strerror(rc));
    } else {
        rc = copy_log(b, tmp);
    }
    for (int i = 0; i < 2; i++) {
        snprintf(f, sizeof(f), "%s/%s", tmp, audit_names[i]);
        (void)unlink(f);
    }
    (void)rmdir(tmp);
    return rc;
}

static int
backup_run(struct bk *b, struct coffre_vault *v, const char *audit_dir)
{
    int rc = snapshot(b, v->store);

    if (rc == COFFRE_OK) {
        rc = v->store->ops->audit_size != NULL ? copy_log_rows(b, v->store)
                                               : copy_log(b, audit_dir);
    }
    if (rc == COFFRE_OK) {
        rc = write_stream(b, "keys.cbk", &b->w.keys, BK_KIND_KEYS);
    }
    if (rc == COFFRE_OK) {
        rc = write_stream(b, "records.cbk", &b->w.recs, BK_KIND_RECORDS);
    }
    if (rc == COFFRE_OK) {
        rc = manifest_write(b->out, b->in, b->msg, b->cap);
    }
    return rc;
}

int
coffre_backup_take(const char *data, const struct coffre_store_opts *so,
                   const char *audit_dir, const char *out,
                   const char *recipient_path, struct coffre_backup_info *info,
                   char *msg, size_t cap)
{
    struct coffre_vault *v = NULL;
    struct bk b = {.out = out, .in = info, .msg = msg, .cap = cap};
    char adir[4096];
    int made = 0, rc;

    if (data == NULL || out == NULL || recipient_path == NULL || info == NULL ||
        msg == NULL || cap == 0) {
        return COFFRE_ERR_ARG;
    }
    msg[0] = '\0';
    memset(info, 0, sizeof(*info));
    info->created = (int64_t)time(NULL);
    if (audit_dir == NULL) {
        if (path_join(adir, sizeof(adir), data, "audit") != 0) {
            return bk_fail(msg, cap, COFFRE_ERR_ARG, "path too long");
        }
        audit_dir = adir;
    }
    rc = read_key_file(recipient_path, info->recipient, "public key", msg, cap);
    if (rc == COFFRE_OK) {
        /* sealed, without the lock: a server may be writing meanwhile */
        rc = coffre_vault_open_store(data, so, &v);
        if (rc != COFFRE_OK) {
            snprintf(msg, cap, "%s", coffre_vault_errmsg(v));
        }
    }
    if (rc == COFFRE_OK) {
        rc = vault_dir_make_empty(out, "a backup goes into a new directory",
                                  &made, msg, cap);
    }
    if (rc != COFFRE_OK) {
        coffre_vault_close(v);
        return rc;
    }
    memcpy(b.vault_id, v->id, 16);
    memcpy(info->vault_id, v->id_hex, 33);
    b.w.base.ops = &writer_ops;
    coffre_buf_init(&b.w.keys, BK_PLAIN_MAX);
    coffre_buf_init(&b.w.recs, BK_PLAIN_MAX);
    rc = backup_run(&b, v, audit_dir);
    coffre_buf_free(&b.w.keys);
    coffre_buf_free(&b.w.recs);
    coffre_vault_close(v);
    if (rc != COFFRE_OK) {
        undo_dir(out, made);
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* coffre restore.                                                     */

struct rs {
    const char *from, *data, *audit_from;
    struct coffre_backup_info *in;
    unsigned char vault_id[16];
    struct coffre_buf keys, recs;
    char *msg;
    size_t cap;
};

static const struct coffre_backup_file *
listed(const struct coffre_backup_info *in, const char *name)
{
    for (unsigned i = 0; i < in->nfiles; i++) {
        if (strcmp(in->files[i].name, name) == 0) {
            return &in->files[i];
        }
    }
    return NULL;
}

/* A file of the backup, checked against the manifest, in memory. */
static int
read_listed(struct rs *r, const struct coffre_backup_file *f,
            unsigned char **pp, size_t *plen)
{
    unsigned char h[32];
    char path[4096];
    int rc;

    if (path_join(path, sizeof(path), r->from, f->name) != 0) {
        return bk_fail(r->msg, r->cap, COFFRE_ERR_ARG, "path too long");
    }
    rc = read_all(path, BK_FILE_MAX, pp, plen, r->msg, r->cap);
    if (rc == COFFRE_OK && *plen != f->size) {
        rc = bk_fail(r->msg, r->cap, COFFRE_ERR_CRYPTO,
                     "%s: %zu bytes, the manifest says %" PRIu64
                     " (truncated or replaced)",
                     f->name, *plen, f->size);
    }
    if (rc == COFFRE_OK) {
        crypto_hash_sha256(h, *pp, *plen);
        if (sodium_memcmp(h, f->sha256, 32) != 0) {
            rc = bk_fail(r->msg, r->cap, COFFRE_ERR_CRYPTO,
                         "%s: its SHA-256 differs from the manifest's "
                         "(tampered or corrupt)",
                         f->name);
        }
    }
    if (rc != COFFRE_OK) {
        free(*pp);
        *pp = NULL;
    }
    return rc;
}

/* Every check a restore makes before it writes anything. */
static int
restore_check(struct rs *r, const unsigned char *sk)
{
    static const char *const streams[] = {"keys.cbk", "records.cbk"};
    struct coffre_buf *plain[] = {&r->keys, &r->recs};
    unsigned char *p = NULL, pk[32];
    char path[4096];
    size_t len = 0, bin = 0;
    int rc;

    if (path_join(path, sizeof(path), r->from, "manifest.json") != 0) {
        return bk_fail(r->msg, r->cap, COFFRE_ERR_ARG, "path too long");
    }
    rc = read_all(path, COFFRE_BACKUP_MANIFEST_MAX, &p, &len, r->msg, r->cap);
    if (rc == COFFRE_OK) {
        rc = coffre_backup_manifest_parse((const char *)p, len, r->in, r->msg,
                                          r->cap);
        free(p);
    }
    if (rc == COFFRE_OK) {
        sodium_hex2bin(r->vault_id, 16, r->in->vault_id, 32, NULL, &bin, NULL);
        crypto_scalarmult_base(pk, sk);
        if (sodium_memcmp(pk, r->in->recipient, 32) != 0) {
            return bk_fail(r->msg, r->cap, COFFRE_ERR_CRYPTO,
                           "the backup secret key is not the one this backup "
                           "was encrypted to (its public key differs from "
                           "the manifest's recipient)");
        }
    }
    for (unsigned i = 0; rc == COFFRE_OK && i < r->in->nfiles; i++) {
        rc = read_listed(r, &r->in->files[i], &p, &len);
        int s = strcmp(r->in->files[i].name, streams[0]) == 0   ? 0
                : strcmp(r->in->files[i].name, streams[1]) == 0 ? 1
                                                                : -1;
        if (rc == COFFRE_OK && s >= 0) {
            rc = open_stream(streams[s], p, len,
                             s == 0 ? BK_KIND_KEYS : BK_KIND_RECORDS,
                             r->vault_id, sk, plain[s], r->msg, r->cap);
        }
        free(p);
        p = NULL;
    }
    if (rc == COFFRE_OK) {
        rc = coffre_backup_frames_check(r->keys.p, r->keys.len, r->recs.p,
                                        r->recs.len, r->msg, r->cap);
    }
    return rc;
}

/* The audit log of the restored directory: the live one, or the copy. */
static int
restore_log(struct rs *r)
{
    struct coffre_backup_file f;
    char from[4096], to[4096];
    int rc = COFFRE_OK;

    if (path_join(to, sizeof(to), r->data, "audit") != 0 || mkdir(to, 0700)) {
        return bk_fail(r->msg, r->cap, COFFRE_ERR_IO, "cannot create %s/audit",
                       r->data);
    }
    for (int i = 0; rc == COFFRE_OK && i < 2; i++) {
        char name[32];
        snprintf(name, sizeof(name), "audit/%s", audit_names[i]);
        int bad_path =
            r->audit_from != NULL
                ? path_join(from, sizeof(from), r->audit_from, audit_names[i])
                : path_join(from, sizeof(from), r->from, name);
        if (bad_path || path_join(to, sizeof(to), r->data, name) != 0) {
            return bk_fail(r->msg, r->cap, COFFRE_ERR_ARG, "path too long");
        }
        const struct coffre_backup_file *want = listed(r->in, name);
        rc = copy_hashed(from, to, &f, r->msg, r->cap);
        /* the copy checked again: the file may have changed since */
        if (rc == COFFRE_OK && r->audit_from == NULL &&
            (want == NULL || want->size != f.size ||
             sodium_memcmp(want->sha256, f.sha256, 32) != 0)) {
            rc = bk_fail(r->msg, r->cap, COFFRE_ERR_CRYPTO,
                         "%s: differs from the manifest", name);
        }
    }
    return rc;
}

/* Replay into the new store, read it back, flag it restored. */
static int
restore_store(struct rs *r, struct coffre_store *dst)
{
    struct coffre_store_copy_stats st;
    unsigned char d[32], m[8];
    struct replay x = {.k = {r->keys.p, r->keys.len, 0, "keys.cbk"},
                       .r = {r->recs.p, r->recs.len, 0, "records.cbk"},
                       .dst = dst,
                       .msg = r->msg,
                       .cap = r->cap};
    int rc = dst->ops->begin(dst);

    if (rc == COFFRE_OK) {
        rc = replay_run(&x);
        rc = rc == COFFRE_OK ? dst->ops->commit(dst) : rc;
        if (rc != COFFRE_OK) {
            (void)dst->ops->rollback(dst);
        }
    }
    if (rc == COFFRE_OK) {
        rc = vault_store_copy_pass(dst, NULL, &st, d, r->msg, r->cap);
    }
    if (rc == COFFRE_OK && sodium_memcmp(d, r->in->digest, 32) != 0) {
        rc = bk_fail(r->msg, r->cap, COFFRE_ERR_STORE,
                     "the restored store differs from the backup when read "
                     "back (row digest)");
    }
    if (rc == COFFRE_OK) {
        put_be(m, r->in->audit_mark, 8);
        rc = dst->ops->meta_put(dst, VAULT_RESTORED_KEY, m, 8);
    }
    if (rc == COFFRE_ERR_STORE && r->msg[0] == '\0') {
        snprintf(r->msg, r->cap, "the new store: %s", dst->errmsg);
    }
    return rc;
}

static int
restore_write(struct rs *r)
{
    struct coffre_store *dst = NULL;
    char path[4096];
    int made = 0;
    int rc = vault_dir_make_empty(r->data,
                                  "a restore goes into a new data directory",
                                  &made, r->msg, r->cap);

    if (rc != COFFRE_OK) {
        return rc;
    }
    if (path_join(path, sizeof(path), r->data, VAULT_DB_NAME) != 0) {
        rc = bk_fail(r->msg, r->cap, COFFRE_ERR_ARG, "path too long");
    } else if ((rc = coffre_store_open_sqlite(path, &dst)) != COFFRE_OK) {
        rc = bk_fail(r->msg, r->cap, rc, "cannot create the store %s", path);
    }
    if (rc == COFFRE_OK) {
        rc = restore_store(r, dst);
    }
    coffre_store_close(dst);
    if (rc == COFFRE_OK) {
        rc = restore_log(r);
    }
    if (rc != COFFRE_OK) {
        undo_dir(r->data, made);
    }
    return rc;
}

int
coffre_backup_restore(const char *from, const char *secret_path,
                      const char *data, const char *audit_from,
                      struct coffre_backup_info *info, char *msg, size_t cap)
{
    struct rs r = {.from = from,
                   .data = data,
                   .audit_from = audit_from,
                   .in = info,
                   .msg = msg,
                   .cap = cap};
    unsigned char *sk;
    int rc;

    if (from == NULL || secret_path == NULL || data == NULL || info == NULL ||
        msg == NULL || cap == 0) {
        return COFFRE_ERR_ARG;
    }
    msg[0] = '\0';
    if ((sk = coffre_key_alloc(32)) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    coffre_buf_init(&r.keys, BK_PLAIN_MAX);
    coffre_buf_init(&r.recs, BK_PLAIN_MAX);
    rc = read_key_file(secret_path, sk, "secret key", msg, cap);
    if (rc == COFFRE_OK) {
        rc = restore_check(&r, sk);
    }
    coffre_key_free(sk, 32);
    if (rc == COFFRE_OK) {
        rc = restore_write(&r);
    }
    coffre_buf_free(&r.keys);
    coffre_buf_free(&r.recs);
    return rc;
}
