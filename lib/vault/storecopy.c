/*
 * coffre store copy: a vault's store, row by row, into an empty store of
 * another backend (docs/storage.md section 8).
 *
 * The rows go as stored: ciphertexts, wrapped keys and tags are bytes the
 * copy never opens, so no unseal is needed (nor would one protect
 * anything: whoever can read the source store can copy its files). The
 * source's data directory lock is held throughout, so no process writes
 * while it is read; the target is written in one transaction. Then both
 * stores are read again and a SHA-256 over every row compared.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/log.h"
#include "util/secmem.h"
#include "vault/vault.h"

struct copy {
    struct coffre_store *src, *dst; /* dst NULL: digest only */
    crypto_hash_sha256_state h;
    struct coffre_store_copy_stats *st;
    char *msg;
    size_t cap;
    int skip_audit; /* a store keeps the log: no audit/ files copied */
};

static int cfail(struct copy *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
cfail(struct copy *c, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->msg, c->cap, fmt, ap);
    va_end(ap);
    return rc;
}

static int
store_err(struct copy *c, struct coffre_store *s, int rc, const char *what)
{
    return cfail(c, rc, "%s: %s", what,
                 rc == COFFRE_ERR_STORE ? s->errmsg : coffre_strerror(rc));
}

static void
h_u64(struct copy *c, uint64_t x)
{
    unsigned char b[8];

    for (int i = 7; i >= 0; i--, x >>= 8) {
        b[i] = (unsigned char)x;
    }
    crypto_hash_sha256_update(&c->h, b, 8);
}

static void
h_bytes(struct copy *c, const void *p, size_t n)
{
    h_u64(c, n);
    crypto_hash_sha256_update(&c->h, p, n);
}

static int
copy_meta(struct copy *c, struct coffre_buf *b)
{
    char key[COFFRE_STORE_KEY_MAX + 1] = "", after[COFFRE_STORE_KEY_MAX + 1];
    int rc;

    for (;;) {
        memcpy(after, key, sizeof(key));
        rc = c->src->ops->meta_scan(c->src, after, key, b);
        if (rc == COFFRE_ERR_NOTFOUND) {
            return COFFRE_OK;
        }
        if (rc != COFFRE_OK) {
            return store_err(c, c->src, rc, "reading meta");
        }
        h_bytes(c, key, strlen(key));
        h_bytes(c, b->p, b->len);
        c->st->meta++;
        if (c->dst != NULL &&
            (rc = c->dst->ops->meta_put(c->dst, key, b->p, b->len)) != 0) {
            return store_err(c, c->dst, rc, "writing meta");
        }
    }
}

static int
copy_keks(struct copy *c, struct coffre_buf *b)
{
    uint32_t v[VAULT_MAX_KEKS];
    size_t n = 0;
    int rc = c->src->ops->kek_list(c->src, v, VAULT_MAX_KEKS, &n);

    if (rc == COFFRE_OK && n > VAULT_MAX_KEKS) {
        return cfail(c, COFFRE_ERR_TOOBIG, "more than %d key versions",
                     VAULT_MAX_KEKS);
    }
    for (size_t i = 0; rc == COFFRE_OK && i < n; i++) {
        rc = c->src->ops->kek_get(c->src, v[i], b);
        if (rc != COFFRE_OK) {
            return store_err(c, c->src, rc, "reading a key version");
        }
        h_u64(c, v[i]);
        h_bytes(c, b->p, b->len);
        c->st->keks++;
        if (c->dst != NULL &&
            (rc = c->dst->ops->kek_put(c->dst, v[i], b->p, b->len)) != 0) {
            return store_err(c, c->dst, rc, "writing a key version");
        }
    }
    return rc == COFFRE_OK ? rc : store_err(c, c->src, rc, "key versions");
}

/* A destroyed epoch is put, then destroyed: the store has no other way
 * to make one, and no person of it exists yet to be erased with it. */
static int
put_epoch(struct copy *c, uint32_t e, const struct coffre_buf *b, int dead)
{
    static const unsigned char gone = 0;
    uint64_t n = 0;
    int rc = dead ? c->dst->ops->epoch_put(c->dst, e, &gone, 1)
                  : c->dst->ops->epoch_put(c->dst, e, b->p, b->len);

    if (rc == COFFRE_OK && dead) {
        rc = c->dst->ops->epoch_erase(c->dst, e, &n);
    }
    return rc == COFFRE_OK ? rc : store_err(c, c->dst, rc, "writing an epoch");
}

static int
copy_epochs(struct copy *c, struct coffre_buf *b)
{
    int64_t after = -1;
    uint32_t e = 0;
    int rc, dead = 0;

    for (;;) {
        rc = c->src->ops->epoch_scan(c->src, after, &e, b, &dead);
        if (rc == COFFRE_ERR_NOTFOUND) {
            return COFFRE_OK;
        }
        if (rc != COFFRE_OK) {
            return store_err(c, c->src, rc, "reading epochs");
        }
        h_u64(c, e);
        h_u64(c, (uint64_t)dead);
        h_bytes(c, b->p, dead ? 0 : b->len);
        c->st->epochs++;
        if (c->dst != NULL && (rc = put_epoch(c, e, b, dead)) != COFFRE_OK) {
            return rc;
        }
        after = e;
    }
}

static void
h_person(struct copy *c, const struct coffre_store_person *r,
         const struct coffre_store_dkey *dk, int has_dk)
{
    h_u64(c, r->id);
    h_u64(c, (uint64_t)r->state);
    h_u64(c, r->epoch);
    h_u64(c, r->dk_gen);
    h_u64(c, (uint64_t)r->retain_until);
    h_u64(c, (uint64_t)r->deadline);
    h_u64(c, (uint64_t)r->updated);
    h_u64(c, r->tag_mask);
    for (int k = 0; k < COFFRE_TAG_COUNT; k++) {
        if ((r->tag_mask >> k) & 1u) {
            h_bytes(c, r->tags[k], COFFRE_TAG_LEN);
        }
    }
    for (int k = 0; k < COFFRE_CLASS_COUNT; k++) {
        h_u64(c, r->ct[k] != NULL);
        if (r->ct[k] != NULL) {
            h_bytes(c, r->ct[k], r->ct_len[k]);
        }
    }
    h_u64(c, (uint64_t)has_dk);
    if (has_dk) {
        h_u64(c, dk->kek_version);
        h_u64(c, dk->epoch);
        h_bytes(c, dk->wrapped, dk->len);
    }
}

static int
copy_one(struct copy *c, const struct coffre_store_person *r,
         const struct coffre_store_dkey *dk, int has_dk)
{
    int rc;

    if (r->state == COFFRE_STATE_ERASED) {
        c->st->tombstones++;
        rc = c->dst == NULL ? COFFRE_OK
                            : c->dst->ops->tomb_insert(c->dst, r->id, r->epoch,
                                                       r->updated);
    } else {
        c->st->persons++;
        c->st->data_keys += (uint64_t)has_dk;
        rc = c->dst == NULL ? COFFRE_OK
                            : c->dst->ops->person_insert(c->dst, r, dk);
    }
    return rc == COFFRE_OK ? rc : store_err(c, c->dst, rc, "writing a person");
}

static int
copy_persons(struct copy *c)
{
    struct coffre_store_person row;
    struct coffre_store_dkey dk;
    uint64_t after = 0;
    int rc, has_dk = 0;

    memset(&row, 0, sizeof(row));
    for (;;) {
        coffre_store_person_clear(&row);
        rc = c->src->ops->person_scan(c->src, after, &row, &dk, &has_dk);
        if (rc == COFFRE_ERR_NOTFOUND) {
            rc = COFFRE_OK;
            break;
        }
        if (rc != COFFRE_OK) {
            rc = store_err(c, c->src, rc, "reading persons");
            break;
        }
        h_person(c, &row, &dk, has_dk);
        if ((rc = copy_one(c, &row, &dk, has_dk)) != COFFRE_OK) {
            break;
        }
        after = row.id;
    }
    coffre_store_person_clear(&row);
    sodium_memzero(&dk, sizeof(dk));
    return rc;
}

/* One pass over c->src (into c->dst when set): counts and digest. */
static int
copy_pass(struct copy *c, unsigned char digest[32])
{
    struct coffre_buf b;
    uint64_t next = 0;
    int rc;

    memset(c->st, 0, sizeof(*c->st));
    crypto_hash_sha256_init(&c->h);
    coffre_buf_init(&b, COFFRE_STORE_META_MAX);
    rc = copy_meta(c, &b);
    if (rc == COFFRE_OK) {
        rc = copy_keks(c, &b);
    }
    if (rc == COFFRE_OK) {
        rc = copy_epochs(c, &b);
    }
    coffre_buf_free(&b);
    if (rc == COFFRE_OK) {
        rc = copy_persons(c);
    }
    if (rc == COFFRE_OK &&
        (rc = c->src->ops->id_next(c->src, &next)) != COFFRE_OK) {
        rc = store_err(c, c->src, rc, "reading the id counter");
    }
    if (rc == COFFRE_OK && c->dst != NULL &&
        (rc = c->dst->ops->id_set_next(c->dst, next)) != COFFRE_OK) {
        rc = store_err(c, c->dst, rc, "writing the id counter");
    }
    h_u64(c, next);
    c->st->next_id = next;
    crypto_hash_sha256_final(&c->h, digest);
    return rc;
}

int
vault_store_copy_pass(struct coffre_store *src, struct coffre_store *dst,
                      struct coffre_store_copy_stats *st,
                      unsigned char digest[32], char *msg, size_t cap)
{
    struct copy c = {.src = src, .dst = dst, .st = st, .msg = msg, .cap = cap};

    return copy_pass(&c, digest);
}

/* The target: nothing at ${to}, or an empty directory; made 0700. */
static int
make_target(struct copy *c, const char *to, int *pmade)
{
    DIR *d;
    struct dirent *e;

    *pmade = 0;
    if (mkdir(to, 0700) == 0) {
        *pmade = 1;
        return COFFRE_OK;
    }
    if (errno != EEXIST || (d = opendir(to)) == NULL) {
        return cfail(c, COFFRE_ERR_IO, "cannot create %s: %s", to,
                     strerror(errno));
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            closedir(d);
            return cfail(c, COFFRE_ERR_EXISTS,
                         "%s is not empty: a copy goes into a new data "
                         "directory",
                         to);
        }
    }
    closedir(d);
    return COFFRE_OK;
}

int
vault_dir_make_empty(const char *to, const char *what, int *pmade, char *msg,
                     size_t cap)
{
    struct copy c = {.msg = msg, .cap = cap};
    int rc = make_target(&c, to, pmade);

    if (rc == COFFRE_ERR_EXISTS) {
        snprintf(msg, cap, "%s is not empty: %s", to, what);
    }
    return rc;
}

/* A store is empty: no meta, key, epoch nor person. */
static int
must_be_empty(struct copy *c, struct coffre_store *s, const char *what)
{
    struct coffre_store_person row;
    struct coffre_store_dkey dk;
    struct coffre_buf b;
    char key[COFFRE_STORE_KEY_MAX + 1];
    uint32_t e;
    size_t n = 0;
    int rc, x = 0;

    coffre_buf_init(&b, COFFRE_STORE_META_MAX);
    memset(&row, 0, sizeof(row));
    rc = s->ops->meta_scan(s, "", key, &b);
    if (rc == COFFRE_ERR_NOTFOUND) {
        rc = s->ops->epoch_scan(s, -1, &e, &b, &x);
    }
    if (rc == COFFRE_ERR_NOTFOUND) {
        rc = s->ops->person_scan(s, 0, &row, &dk, &x);
    }
    coffre_store_person_clear(&row);
    coffre_buf_free(&b);
    if (rc == COFFRE_ERR_NOTFOUND) {
        rc = s->ops->kek_list(s, NULL, 0, &n);
        if (rc == COFFRE_OK && n == 0) {
            return COFFRE_OK;
        }
    }
    if (rc == COFFRE_OK) {
        return cfail(c, COFFRE_ERR_EXISTS,
                     "the store %s is not empty: a copy goes into an empty "
                     "store",
                     what);
    }
    return store_err(c, s, rc, what);
}

static int
copy_file(struct copy *c, const char *from, const char *to)
{
    char buf[65536];
    ssize_t n = 0;
    int in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out = -1, rc = 0;

    if (in >= 0) {
        out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   0600);
    }
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0) {
        if (write(out, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
    }
    if (in < 0 || out < 0 || n < 0 || fsync(out) != 0) {
        rc = cfail(c, COFFRE_ERR_IO, "cannot copy %s to %s: %s", from, to,
                   strerror(errno));
    }
    if (in >= 0) {
        close(in);
    }
    if (out >= 0) {
        close(out);
    }
    return rc;
}

/* The regular files of ${from} into ${to} (made 0700); the data
 * directory's own (lock, store, store record) stay behind. *${pn}
 * counts them. */
static int
copy_dir(struct copy *c, const char *from, const char *to, int top,
         uint64_t *pn)
{
    char a[PATH_MAX], b[PATH_MAX];
    struct dirent *e;
    struct stat st;
    DIR *d = opendir(from);
    int rc = COFFRE_OK;

    if (d == NULL) {
        return errno == ENOENT ? COFFRE_OK
                               : cfail(c, COFFRE_ERR_IO, "cannot read %s: %s",
                                       from, strerror(errno));
    }
    if (!top && mkdir(to, 0700) != 0) {
        closedir(d);
        return cfail(c, COFFRE_ERR_IO, "cannot create %s: %s", to,
                     strerror(errno));
    }
    while (rc == COFFRE_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' ||
            (top && (strcmp(e->d_name, VAULT_LOCK_NAME) == 0 ||
                     strcmp(e->d_name, VAULT_STORE_RECORD) == 0 ||
                     (c->skip_audit && strcmp(e->d_name, "audit") == 0) ||
                     strncmp(e->d_name, VAULT_DB_NAME, 9) == 0))) {
            continue;
        }
        if ((size_t)snprintf(a, sizeof(a), "%s/%s", from, e->d_name) >=
                sizeof(a) ||
            (size_t)snprintf(b, sizeof(b), "%s/%s", to, e->d_name) >=
                sizeof(b) ||
            lstat(a, &st) != 0) {
            rc = cfail(c, COFFRE_ERR_IO, "cannot read %s/%s", from, e->d_name);
        } else if (S_ISDIR(st.st_mode) && top) {
            rc = copy_dir(c, a, b, 0, pn);
        } else if (S_ISREG(st.st_mode)) {
            rc = copy_file(c, a, b);
            *pn += !top;
        }
    }
    closedir(d);
    return rc;
}

/* The audit log, when a store keeps it (docs/audit.md section 14): its
 * rows as the files of ${to}/audit, or the files of ${from}/audit as the
 * rows of the target, or rows to rows through files. The entries' bytes
 * are unchanged, so the tree and its checkpoints are the same. */
static int
copy_log(struct copy *c, const char *from, const char *to, uint64_t *pn)
{
    char src[PATH_MAX], dst[PATH_MAX];
    uint64_t n = 0, k = 0;
    int rc, in_src = c->src->ops->audit_size != NULL,
            in_dst = c->dst->ops->audit_size != NULL;

    c->skip_audit = in_src || in_dst;
    if (!c->skip_audit) {
        return COFFRE_OK; /* files to files: copy_dir */
    }
    if ((size_t)snprintf(src, sizeof(src), "%s/audit", from) >= sizeof(src) ||
        (size_t)snprintf(dst, sizeof(dst), "%s/%s", to,
                         in_dst ? ".audit-copy" : "audit") >= sizeof(dst)) {
        return cfail(c, COFFRE_ERR_ARG, "path too long: %s", to);
    }
    if (in_src && mkdir(dst, 0700) != 0) {
        return cfail(c, COFFRE_ERR_IO, "cannot create %s: %s", dst,
                     strerror(errno));
    }
    rc = in_src ? c->src->ops->audit_size(c->src, &n) : COFFRE_OK;
    if (rc == COFFRE_OK && in_src) {
        rc = audit_store_write_files(c->src, n, dst);
    }
    if (rc == COFFRE_OK && in_src && !in_dst) {
        /* The file log's cross-check (docs/audit.md section 13) starts
         * here: every entry so far is committed with its write. */
        unsigned char b[8];

        for (int i = 0; i < 8; i++) {
            b[i] = (unsigned char)(n >> (56 - 8 * i));
        }
        rc = c->dst->ops->meta_put(c->dst, "audit_mark", b, sizeof(b));
    }
    if (rc == COFFRE_OK && in_dst) {
        rc = audit_store_load_files(c->dst, in_src ? dst : src, &n, &k);
    }
    if (in_src && in_dst) {
        char f[PATH_MAX + 16];

        snprintf(f, sizeof(f), "%s/entries", dst);
        (void)unlink(f);
        snprintf(f, sizeof(f), "%s/checkpoints", dst);
        (void)unlink(f);
        (void)rmdir(dst);
    }
    if (rc != COFFRE_OK) {
        return store_err(c, rc == COFFRE_ERR_STORE && !in_dst ? c->src : c->dst,
                         rc, "copying the audit log");
    }
    *pn = 2; /* entries and checkpoints, as files or as rows */
    return COFFRE_OK;
}

/* Write the target in one transaction, then read both again. */
static int
copy_and_check(struct copy *c)
{
    struct coffre_store_copy_stats again;
    unsigned char d1[32], d2[32];
    struct coffre_store *dst = c->dst;
    int rc = dst->ops->begin(dst);

    if (rc == COFFRE_OK) {
        rc = copy_pass(c, d1);
    }
    if (rc == COFFRE_OK && (rc = dst->ops->commit(dst)) != COFFRE_OK) {
        return store_err(c, dst, rc, "committing the copy");
    }
    if (rc != COFFRE_OK) {
        (void)dst->ops->rollback(dst);
        return rc;
    }
    memcpy(c->st->digest, d1, 32);
    /* read the target back: a pass over it, writing nowhere */
    struct copy back = {.src = dst, .st = &again, .msg = c->msg, .cap = c->cap};
    if ((rc = copy_pass(&back, d2)) != COFFRE_OK) {
        return rc;
    }
    if (sodium_memcmp(d1, d2, 32) != 0 ||
        memcmp(&again, c->st,
               offsetof(struct coffre_store_copy_stats, digest)) != 0) {
        return cfail(c, COFFRE_ERR_STORE,
                     "the copy differs from its source when read back");
    }
    return COFFRE_OK;
}

/* Undo a failed copy: the files it made in ${to}, and ${to} if made. */
static void
copy_undo(const char *to, int made)
{
    char path[PATH_MAX];
    static const char *const files[] = {VAULT_DB_NAME, VAULT_DB_NAME "-wal",
                                        VAULT_DB_NAME "-shm",
                                        VAULT_STORE_RECORD};

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", to, files[i]) <
            sizeof(path)) {
            (void)unlink(path);
        }
    }
    if (made) {
        (void)rmdir(to);
    }
}

static int
open_target(struct copy *c, const char *to,
            const struct coffre_store_opts *to_so, struct vault_store_sel *sel)
{
    int rc = vault_store_resolve(to, to_so, 1, sel, c->msg, c->cap);

    if (rc == COFFRE_OK) {
        rc = vault_store_open_sel(sel, to_so ? to_so->password_file : NULL,
                                  &c->dst, c->msg, c->cap);
    }
    if (rc == COFFRE_OK) {
        rc = must_be_empty(c, c->dst, sel->pg ? sel->uri : sel->db);
    }
    if (rc == COFFRE_OK && sel->pg) {
        rc = vault_store_record(to, sel->uri, c->msg, c->cap);
    }
    return rc;
}

int
coffre_store_copy(const char *from, const struct coffre_store_opts *from_so,
                  const char *to, const struct coffre_store_opts *to_so,
                  struct coffre_store_copy_stats *st, char *msg, size_t cap)
{
    struct coffre_vault *v = NULL;
    struct vault_store_sel sel;
    struct copy c = {.st = st, .msg = msg, .cap = cap};
    uint64_t files = 0;
    int made = 0, rc;

    if (from == NULL || to == NULL || st == NULL || msg == NULL || cap == 0) {
        return COFFRE_ERR_ARG;
    }
    msg[0] = '\0';
    rc = coffre_vault_open_store(from, from_so, &v);
    if (rc == COFFRE_OK) {
        rc = vault_dir_lock(v); /* no writer meanwhile */
    }
    if (rc != COFFRE_OK) {
        snprintf(msg, cap, "%s", coffre_vault_errmsg(v));
        coffre_vault_close(v);
        return rc;
    }
    c.src = v->store;
    rc = make_target(&c, to, &made);
    if (rc == COFFRE_OK && (rc = open_target(&c, to, to_so, &sel)) != 0) {
        coffre_store_close(c.dst); /* ${to} was empty: all ours */
        c.dst = NULL;
        copy_undo(to, made);
    }
    if (c.dst != NULL) {
        rc = copy_and_check(&c);
        if (rc == COFFRE_OK) {
            rc = copy_log(&c, from, to, &files);
        }
        if (rc == COFFRE_OK) {
            rc = copy_dir(&c, from, to, 1, &files);
            st->audit_files = files;
        }
        coffre_store_close(c.dst);
        /* a failed copy leaves no data directory that looks like a vault */
        if (rc != COFFRE_OK) {
            copy_undo(to, 0);
        }
    }
    coffre_vault_close(v);
    return rc;
}
