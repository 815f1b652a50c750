/*
 * The audit log kept in the vault's PostgreSQL store (docs/audit.md
 * section 14): the second backend of struct coffre_audit beside the files
 * of log.c, chosen at open by the store (one with audit_append).
 *
 * Entries are rows, appended by the store in the transaction of the write
 * they record, or in one of their own for a disclosure (committed before
 * it is answered); the database numbers them without a gap. Every process
 * keeps the tree of the committed rows in memory, reading the new ones
 * (tail) before it answers a size, a proof, a checkpoint. One process at a
 * time signs: the holder of the store's signer lock, a session lock of the
 * log's own connection, which PostgreSQL releases when that process dies;
 * every other tries to take it once a second. Checkpoints are rows too,
 * served by every process once they check against its own tree.
 *
 * Locks: p->lock guards the own connection, the tree and the note.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/entry.h"
#include "audit/log.h"
#include "audit/merkle.h"
#include "audit/note.h"
#include "store/store.h"
#include "util/secmem.h"
#include "vault/vault.h"

#define SIGN_INTERVAL_MS 1000
#define TAIL_PAGE 4096

struct audit_pg {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    int stop, thread;
    pthread_t th;
    struct coffre_store *db; /* the log's own connection */
    struct coffre_store *vs; /* the vault's store: writes' transactions */
    struct coffre_merkle_tree *tree;
    const struct coffre_note_signer *signer;
    const char *origin, *vkey;
    char *note; /* latest checkpoint checked, coffre_pmem */
    size_t note_len;
    uint64_t note_size;
    int signing; /* this process holds the signer lock */
    uint64_t nsigned;
    int failed;
    int64_t failed_ms;
    char reason[COFFRE_AUDIT_REASON_MAX];
};

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Called with the lock held: note why the own connection failed; the
 * next use connects again. */
static int
fail_locked(struct audit_pg *p, int rc, const char *what)
{
    const char *m = p->db != NULL ? p->db->errmsg : "no connection";

    if (!p->failed) {
        p->failed_ms = now_ms();
    }
    p->failed = 1;
    /* Cut to the reason's room (a PostgreSQL message can be long). */
    size_t n = (size_t)snprintf(p->reason, sizeof(p->reason), "%s: ", what);

    if (n < sizeof(p->reason)) {
        memcpy(p->reason + n, m, strnlen(m, sizeof(p->reason) - n - 1));
        p->reason[n + strnlen(m, sizeof(p->reason) - n - 1)] = '\0';
    }
    return rc == COFFRE_ERR_NOMEM ? rc : COFFRE_ERR_UNAVAILABLE;
}

/* Called with the lock held: after a failure, a new connection with the
 * same parameters (a dropped one released the signer lock, if held). */
static int
db_ready(struct audit_pg *p)
{
    struct coffre_store *n = NULL;
    int rc;

    if (!p->failed) {
        return COFFRE_OK;
    }
    rc = p->db->ops->dup(p->db, &n);
    if (rc != COFFRE_OK) {
        return fail_locked(p, rc, "reconnect");
    }
    coffre_store_close(p->db);
    p->db = n;
    p->signing = 0;
    p->failed = 0;
    p->reason[0] = '\0';
    return COFFRE_OK;
}

static int
add_leaf(void *arg, uint64_t index, const unsigned char *b, size_t len)
{
    struct audit_pg *p = arg;
    unsigned char leaf[COFFRE_AUDIT_HASH_LEN];

    if (index != coffre_merkle_tree_size(p->tree) ||
        len > COFFRE_AUDIT_ENTRY_MAX) {
        return COFFRE_ERR_STORE;
    }
    coffre_audit_leaf_hash(b, len, leaf);
    return coffre_merkle_tree_append(p->tree, leaf);
}

/* Called with the lock held: add the rows committed since the last
 * tail to the tree. */
static int
tail_locked(struct audit_pg *p)
{
    size_t n = TAIL_PAGE;
    int rc = db_ready(p);

    while (rc == COFFRE_OK && n == TAIL_PAGE) {
        rc = p->db->ops->audit_read(p->db, coffre_merkle_tree_size(p->tree),
                                    TAIL_PAGE, add_leaf, p, &n);
    }
    return rc == COFFRE_OK ? rc : fail_locked(p, rc, "audit_entry: read");
}

/* Called with the lock held: check the stored checkpoint ${note} of
 * ${size} entries against this process's tree (tailed first). */
static int
note_check(struct audit_pg *p, const char *note, size_t len, uint64_t size)
{
    unsigned char root[COFFRE_AUDIT_HASH_LEN], mine[COFFRE_AUDIT_HASH_LEN];
    uint64_t n = 0;
    int rc = coffre_audit_checkpoint_verify(note, len, p->vkey, &n, root);

    if (rc == COFFRE_OK && n != size) {
        rc = COFFRE_ERR_CRYPTO;
    }
    if (rc == COFFRE_OK && size > coffre_merkle_tree_size(p->tree)) {
        rc = tail_locked(p);
    }
    if (rc == COFFRE_OK) {
        rc = coffre_merkle_tree_root(p->tree, size, mine);
    }
    if (rc == COFFRE_OK && sodium_memcmp(root, mine, sizeof(root)) != 0) {
        rc = COFFRE_ERR_CRYPTO;
    }
    return rc;
}

static int
note_set(struct audit_pg *p, const char *note, size_t len, uint64_t size)
{
    char *c = coffre_pmem_strndup(note, len);

    if (c == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    coffre_free(p->note);
    p->note = c, p->note_len = len, p->note_size = size;
    return COFFRE_OK;
}

/* Called with the lock held: take the latest stored checkpoint, once it
 * checks against this process's tree. */
static int
refresh_locked(struct audit_pg *p)
{
    struct coffre_buf b;
    uint64_t size = 0;
    int rc = db_ready(p);

    coffre_buf_init(&b, 65536);
    if (rc == COFFRE_OK) {
        rc = p->db->ops->checkpoint_get(p->db, COFFRE_CHECKPOINT_LATEST, &size,
                                        &b);
        if (rc != COFFRE_OK && rc != COFFRE_ERR_NOTFOUND) {
            rc = fail_locked(p, rc, "audit_checkpoint: read");
        }
    }
    if (rc == COFFRE_OK && (p->note == NULL || size != p->note_size)) {
        rc = note_check(p, (const char *)b.p, b.len, size);
        if (rc == COFFRE_ERR_CRYPTO) {
            snprintf(p->reason, sizeof(p->reason),
                     "the stored checkpoint of %" PRIu64
                     " entries does not match the entries",
                     size);
        }
        rc = rc == COFFRE_OK ? note_set(p, (const char *)b.p, b.len, size) : rc;
    }
    coffre_buf_free(&b);
    return rc == COFFRE_ERR_NOTFOUND ? COFFRE_OK : rc;
}

/* Called with the lock held by the signer: sign the tree as it is if it
 * grew past the latest stored checkpoint; stored before served. */
static int
sign_locked(struct audit_pg *p)
{
    struct coffre_checkpoint c = {.origin = (char *)p->origin};
    char *note = NULL;
    size_t len = 0;
    int rc = refresh_locked(p);

    rc = rc == COFFRE_OK ? tail_locked(p) : rc;
    if (rc != COFFRE_OK) {
        return rc;
    }
    c.size = coffre_merkle_tree_size(p->tree);
    if (p->note != NULL && c.size <= p->note_size) {
        return COFFRE_OK; /* nothing new */
    }
    rc = coffre_merkle_tree_root(p->tree, c.size, c.root);
    if (rc == COFFRE_OK) {
        rc = coffre_checkpoint_sign(&c, &p->signer, 1, &note, &len);
    }
    if (rc == COFFRE_OK) {
        rc = p->db->ops->checkpoint_put(p->db, c.size, note, len);
        if (rc == COFFRE_ERR_EXISTS) {
            /* Another signer got there first (its lock lost and taken
             * over meanwhile): serve its checkpoint, sign nothing. */
            coffre_free(note);
            return refresh_locked(p);
        }
        rc = rc == COFFRE_OK ? note_set(p, note, len, c.size)
                             : fail_locked(p, rc, "audit_checkpoint: write");
    }
    p->nsigned += rc == COFFRE_OK;
    coffre_free(note);
    return rc;
}

/* Called with the lock held: sign if this process holds, or can take,
 * the signer lock; else serve the signer's latest. */
static int
round_locked(struct audit_pg *p)
{
    int held = 0, rc = db_ready(p);

    if (rc == COFFRE_OK) {
        rc = p->db->ops->audit_signer_lock(p->db, &held);
        if (rc != COFFRE_OK) {
            return fail_locked(p, rc, "signer lock");
        }
    }
    p->signing = held;
    return held ? sign_locked(p) : refresh_locked(p);
}

static void *
signer_main(void *arg)
{
    struct audit_pg *p = arg;
    struct timespec ts;
    int64_t due;

    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        due = now_ms() + SIGN_INTERVAL_MS;
        ts.tv_sec = due / 1000;
        ts.tv_nsec = (long)(due % 1000) * 1000000;
        pthread_cond_timedwait(&p->cv, &p->lock, &ts);
        if (!p->stop) {
            (void)round_locked(p);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

void
audit_pg_close(struct audit_pg *p)
{
    if (p == NULL) {
        return;
    }
    if (p->thread) {
        pthread_mutex_lock(&p->lock);
        p->stop = 1;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->th, NULL);
        pthread_mutex_lock(&p->lock);
        if (p->signing) {
            (void)sign_locked(p); /* the last entries, as log.c does */
        }
        pthread_mutex_unlock(&p->lock);
    }
    coffre_store_close(p->db); /* releases the signer lock */
    coffre_merkle_tree_free(p->tree);
    coffre_free(p->note);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

int
audit_pg_open(struct coffre_store *vs, struct coffre_store *db,
              const struct coffre_note_signer *signer, const char *origin,
              const char *vkey, struct audit_pg **pp)
{
    struct audit_pg *p = calloc(1, sizeof(*p));
    int rc;

    *pp = NULL;
    if (p == NULL) {
        coffre_store_close(db);
        return COFFRE_ERR_NOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->vs = vs, p->db = db, p->signer = signer;
    p->origin = origin, p->vkey = vkey;
    rc = coffre_merkle_tree_new(&p->tree);
    pthread_mutex_lock(&p->lock);
    rc = rc == COFFRE_OK ? tail_locked(p) : rc;
    /* Sign at once if this process is the signer: a head for every entry
     * found; else check the latest against the entries. */
    rc = rc == COFFRE_OK ? round_locked(p) : rc;
    pthread_mutex_unlock(&p->lock);
    if (rc != COFFRE_OK) {
        audit_msg(rc, "the audit log in the store: %s",
                  p->reason[0] ? p->reason : coffre_strerror(rc));
    } else if (pthread_create(&p->th, NULL, signer_main, p) != 0) {
        rc = COFFRE_ERR_NOMEM;
    } else {
        p->thread = 1;
    }
    if (rc != COFFRE_OK) {
        audit_pg_close(p);
        return rc;
    }
    *pp = p;
    return COFFRE_OK;
}

int
audit_pg_append(struct audit_pg *p, struct coffre_store *tx,
                const struct coffre_audit_entry *e, uint64_t *pindex)
{
    unsigned char b[COFFRE_AUDIT_ENTRY_MAX];
    size_t len;
    int rc = coffre_audit_entry_encode(e, b, sizeof(b), &len);

    if (rc != COFFRE_OK) {
        return COFFRE_ERR_ARG;
    }
    if (tx != NULL && tx == p->vs) {
        /* A write's entry, in its transaction: the caller holds the
         * vault's lock, and the commit makes both durable. */
        rc = tx->ops->audit_append(tx, b, len, pindex);
        return rc == COFFRE_OK || rc == COFFRE_ERR_NOMEM
                   ? rc
                   : COFFRE_ERR_UNAVAILABLE;
    }
    pthread_mutex_lock(&p->lock);
    rc = db_ready(p);
    if (rc == COFFRE_OK) {
        rc = p->db->ops->audit_append(p->db, b, len, pindex);
        rc = rc == COFFRE_OK ? rc : fail_locked(p, rc, "audit_entry: write");
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

uint64_t
audit_pg_size(struct audit_pg *p)
{
    uint64_t n;

    pthread_mutex_lock(&p->lock);
    (void)tail_locked(p);
    n = coffre_merkle_tree_size(p->tree);
    pthread_mutex_unlock(&p->lock);
    return n;
}

int
audit_pg_checkpoint(struct audit_pg *p, char **pnote, size_t *plen)
{
    int rc;

    pthread_mutex_lock(&p->lock);
    rc = refresh_locked(p);
    if (rc == COFFRE_OK && p->note == NULL) {
        rc = COFFRE_ERR_UNAVAILABLE; /* no signer yet */
    }
    if (rc == COFFRE_OK) {
        *pnote = coffre_pmem_strndup(p->note, p->note_len);
        rc = *pnote == NULL ? COFFRE_ERR_NOMEM : COFFRE_OK;
    }
    if (rc == COFFRE_OK && plen != NULL) {
        *plen = p->note_len;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int
audit_pg_sync_checkpoint(struct audit_pg *p)
{
    int rc;

    pthread_mutex_lock(&p->lock);
    rc = round_locked(p);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int
audit_pg_proof(struct audit_pg *p, int consistency, uint64_t a, uint64_t b,
               unsigned char *proof, size_t *pn)
{
    int rc;

    pthread_mutex_lock(&p->lock);
    if (b > coffre_merkle_tree_size(p->tree)) {
        (void)tail_locked(p);
    }
    rc = consistency ? coffre_merkle_tree_consistency(
                           p->tree, a, b, proof, COFFRE_AUDIT_MAX_PROOF, pn)
                     : coffre_merkle_tree_inclusion(p->tree, a, b, proof,
                                                    COFFRE_AUDIT_MAX_PROOF, pn);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

struct one {
    unsigned char *out;
    size_t len;
};

static int
take_one(void *arg, uint64_t index, const unsigned char *b, size_t len)
{
    struct one *o = arg;

    (void)index;
    if (len > COFFRE_AUDIT_ENTRY_MAX) {
        return COFFRE_ERR_STORE;
    }
    memcpy(o->out, b, len);
    o->len = len;
    return COFFRE_OK;
}

int
audit_pg_entry_bytes(struct audit_pg *p, uint64_t index, unsigned char *out,
                     size_t *plen)
{
    struct one o = {out, 0};
    size_t n = 0;
    int rc;

    pthread_mutex_lock(&p->lock);
    rc = db_ready(p);
    if (rc == COFFRE_OK) {
        rc = p->db->ops->audit_read(p->db, index, 1, take_one, &o, &n);
        rc = rc == COFFRE_OK ? rc : fail_locked(p, rc, "audit_entry: read");
    }
    pthread_mutex_unlock(&p->lock);
    if (rc == COFFRE_OK && n != 1) {
        rc = COFFRE_ERR_NOTFOUND;
    }
    *plen = o.len;
    return rc;
}

int
audit_pg_read(struct audit_pg *p, uint64_t start, size_t n,
              int (*fn)(void *, uint64_t, const unsigned char *, size_t),
              void *arg)
{
    size_t got = 0;
    int rc;

    pthread_mutex_lock(&p->lock);
    rc = db_ready(p);
    if (rc == COFFRE_OK) {
        rc = p->db->ops->audit_read(p->db, start, n, fn, arg, &got);
        if (rc == COFFRE_ERR_STORE) {
            rc = fail_locked(p, rc, "audit_entry: read");
        }
    }
    pthread_mutex_unlock(&p->lock);
    return rc == COFFRE_OK && got != n ? COFFRE_ERR_NOTFOUND : rc;
}

/* ---- export: the rows as the files of docs/audit.md section 9 ------ */

struct out_file {
    int fd;
    int rc;
};

static int
frame_out(struct out_file *f, const unsigned char *b, size_t len)
{
    unsigned char frame[AUDIT_FRAME_OVERHEAD + 65536];
    unsigned char leaf[COFFRE_AUDIT_HASH_LEN];
    size_t n = len + AUDIT_FRAME_OVERHEAD, off = 0;

    if (len > 65536) {
        return COFFRE_ERR_TOOBIG;
    }
    coffre_audit_leaf_hash(b, len, leaf);
    audit_frame(b, len, leaf, frame);
    while (off < n) {
        ssize_t w = write(f->fd, frame + off, n - off);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return COFFRE_ERR_IO;
        }
        off += (size_t)w;
    }
    return COFFRE_OK;
}

static int
entry_out(void *arg, uint64_t index, const unsigned char *b, size_t len)
{
    (void)index;
    return frame_out(arg, b, len);
}

static int
create_in(const char *dir, const char *name, int *pfd)
{
    char path[4096];

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
        sizeof(path)) {
        return COFFRE_ERR_ARG;
    }
    *pfd =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (*pfd < 0) {
        return errno == EEXIST ? COFFRE_ERR_EXISTS : COFFRE_ERR_IO;
    }
    return COFFRE_OK;
}

static int
close_synced(int fd, int rc)
{
    if (rc == COFFRE_OK && fsync(fd) != 0) {
        rc = COFFRE_ERR_IO;
    }
    close(fd);
    return rc;
}

int
audit_store_write_files(struct coffre_store *s, uint64_t size, const char *dir)
{
    struct out_file f = {-1, 0};
    struct coffre_buf b;
    uint64_t done = 0, cs = 0;
    size_t n = 1;
    int rc = create_in(dir, "entries", &f.fd);

    while (rc == COFFRE_OK && done < size && n > 0) {
        size_t cap =
            size - done < TAIL_PAGE ? (size_t)(size - done) : TAIL_PAGE;

        rc = s->ops->audit_read(s, done, cap, entry_out, &f, &n);
        done += n;
    }
    if (rc == COFFRE_OK && done != size) {
        snprintf(s->errmsg, sizeof(s->errmsg),
                 "postgresql: audit_entry ends at %llu, not %llu",
                 (unsigned long long)done, (unsigned long long)size);
        rc = COFFRE_ERR_STORE;
    }
    if (f.fd >= 0) {
        rc = close_synced(f.fd, rc);
        f.fd = -1;
    }
    if (rc == COFFRE_OK) {
        rc = create_in(dir, "checkpoints", &f.fd);
    }
    coffre_buf_init(&b, 65536);
    for (int64_t after = -1; rc == COFFRE_OK; after = (int64_t)cs) {
        rc = s->ops->checkpoint_get(s, after, &cs, &b);
        if (rc == COFFRE_OK && cs > size) {
            break; /* past the snapshot */
        }
        rc = rc == COFFRE_OK ? frame_out(&f, b.p, b.len) : rc;
    }
    coffre_buf_free(&b);
    rc = rc == COFFRE_ERR_NOTFOUND ? COFFRE_OK : rc;
    return f.fd >= 0 ? close_synced(f.fd, rc) : rc;
}

int
audit_pg_export(struct audit_pg *p, const char *dir, char **pnote, size_t *plen)
{
    int rc;

    *pnote = NULL;
    pthread_mutex_lock(&p->lock);
    rc = refresh_locked(p);
    if (rc == COFFRE_OK && p->note == NULL) {
        rc = COFFRE_ERR_UNAVAILABLE;
    }
    if (rc == COFFRE_OK) {
        /* One snapshot: the entries the latest checkpoint covers. */
        rc = audit_store_write_files(p->db, p->note_size, dir);
    }
    if (rc == COFFRE_OK) {
        *pnote = coffre_pmem_strndup(p->note, p->note_len);
        *plen = p->note_len;
        rc = *pnote == NULL ? COFFRE_ERR_NOMEM : rc;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void
audit_pg_stats(struct audit_pg *p, struct coffre_audit_stats *st)
{
    pthread_mutex_lock(&p->lock);
    memset(st, 0, sizeof(*st));
    st->entries = coffre_merkle_tree_size(p->tree);
    st->checkpoints = p->nsigned;
    st->covered = p->note_size;
    st->failed = p->failed;
    st->failed_since_ms = p->failed ? p->failed_ms : 0;
    snprintf(st->reason, sizeof(st->reason), "%s", p->failed ? p->reason : "");
    pthread_mutex_unlock(&p->lock);
}

int
audit_pg_signing(struct audit_pg *p)
{
    int s;

    pthread_mutex_lock(&p->lock);
    s = p->signing;
    pthread_mutex_unlock(&p->lock);
    return s;
}

int
coffre_audit_store_export(struct coffre_vault *v, const char *dir)
{
    struct coffre_store *s;
    uint64_t n = 0;
    int rc;

    if (v == NULL || dir == NULL) {
        return COFFRE_ERR_ARG;
    }
    pthread_mutex_lock(&v->lock);
    s = v->store;
    if (s == NULL || s->ops->audit_size == NULL) {
        rc = COFFRE_ERR_NOTFOUND;
    } else {
        rc = s->ops->audit_size(s, &n);
        rc = rc == COFFRE_OK ? audit_store_write_files(s, n, dir) : rc;
        if (rc == COFFRE_ERR_STORE) {
            vault_fail(v, rc, "the audit log in the store: %s", s->errmsg);
        }
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

/* Read the record file ${dir}/${name} and hand each checked payload to
 * ${fn}; a record whose trailer does not match is COFFRE_ERR_CRYPTO. */
static int
load_file(const char *dir, const char *name,
          int (*fn)(struct coffre_store *, const unsigned char *, size_t),
          struct coffre_store *dst, uint64_t *pn)
{
    unsigned char *b = malloc(65536), stored[32], leaf[32];
    struct coffre_audit_file *f = NULL;
    char path[4096];
    size_t len = 0;
    int rc = b == NULL ? COFFRE_ERR_NOMEM : COFFRE_OK;

    *pn = 0;
    if (rc == COFFRE_OK && (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
                                            name) >= sizeof(path)) {
        rc = COFFRE_ERR_ARG;
    }
    if (rc == COFFRE_OK) {
        rc = coffre_audit_file_open(path, &f);
        if (rc != COFFRE_OK && access(path, F_OK) != 0 && errno == ENOENT) {
            free(b);
            return COFFRE_OK; /* no log yet */
        }
    }
    while (rc == COFFRE_OK && (rc = coffre_audit_file_next(
                                   f, b, 65536, &len, stored)) == COFFRE_OK) {
        coffre_audit_leaf_hash(b, len, leaf);
        rc = sodium_memcmp(leaf, stored, 32) != 0 ? COFFRE_ERR_CRYPTO
                                                  : fn(dst, b, len);
        *pn += rc == COFFRE_OK;
    }
    coffre_audit_file_close(f);
    free(b);
    return rc == COFFRE_ERR_NOTFOUND ? COFFRE_OK : rc;
}

static int
put_entry(struct coffre_store *s, const unsigned char *b, size_t len)
{
    uint64_t index;

    return len > COFFRE_AUDIT_ENTRY_MAX
               ? COFFRE_ERR_CRYPTO
               : s->ops->audit_append(s, b, len, &index);
}

static int
put_checkpoint(struct coffre_store *s, const unsigned char *b, size_t len)
{
    struct coffre_checkpoint c;
    const unsigned char *end = NULL;
    int rc = COFFRE_ERR_PARSE;

    /* Only its size is needed here: the note's text ends with the line
     * before the blank one; a verifier checks the signature. */
    for (size_t i = 0; i + 1 < len && end == NULL; i++) {
        end = b[i] == '\n' && b[i + 1] == '\n' ? b + i + 1 : NULL;
    }
    memset(&c, 0, sizeof(c));
    if (end != NULL) {
        rc = coffre_checkpoint_parse((const char *)b, (size_t)(end - b), &c);
    }
    if (rc == COFFRE_OK) {
        rc = s->ops->checkpoint_put(s, c.size, b, len);
        coffre_checkpoint_clear(&c);
    }
    return rc;
}

int
audit_store_load_files(struct coffre_store *dst, const char *dir,
                       uint64_t *pentries, uint64_t *pcheckpoints)
{
    uint64_t n = 1;
    int rc = dst->ops->audit_size(dst, &n);

    *pentries = *pcheckpoints = 0;
    if (rc == COFFRE_OK && n != 0) {
        return COFFRE_ERR_EXISTS;
    }
    rc = rc == COFFRE_OK ? dst->ops->begin(dst) : rc;
    if (rc == COFFRE_OK) {
        rc = load_file(dir, "entries", put_entry, dst, pentries);
        rc = rc == COFFRE_OK ? dst->ops->commit(dst) : rc;
        if (rc != COFFRE_OK) {
            (void)dst->ops->rollback(dst);
        }
    }
    if (rc == COFFRE_OK) {
        rc = load_file(dir, "checkpoints", put_checkpoint, dst, pcheckpoints);
    }
    return rc;
}
