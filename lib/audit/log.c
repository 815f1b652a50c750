/*
 * The durable audit log: group commit, checkpoint signing, recovery.
 *
 * Appenders frame their entry and queue it under the lock; one committer
 * thread swaps the queue out, writes it with one write() and one
 * fdatasync(), then adds the leaves to the tree and wakes the waiters. A
 * signer thread signs a checkpoint of the durable tree once a second (at
 * once for the first entry), or as soon as AUDIT_SIGN_EVERY durable
 * entries are uncovered, appends it durably to the checkpoints file and
 * only then serves it; the committer holds while AUDIT_UNCOVERED_MAX are.
 *
 * A write or sync error fails the log closed: appends and waits are
 * refused at once. The committer then retries, 100 ms later and twice as
 * late each time up to 3.2 s: it cuts both files back to their durable
 * bytes (the refused requests leave no entry), tests that a write
 * succeeds, syncs, checks the last records, and accepts appends again.
 *
 * Locks: sign_lock (serialises checkpoint production, and the recovery's
 * cuts) before lock (all the state below, and the tree). The files are
 * written by one thread each, outside the lock; the bytes below the
 * durable offsets never change.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "audit/entry.h"
#include "audit/log.h"
#include "audit/merkle.h"
#include "audit/note.h"
#include "store/store.h"
#include "util/secmem.h"
#include "vault/vault.h"

#define QUEUE_MAX (64u << 20) /* bytes queued before appends are refused */
#define SIGN_INTERVAL_MS 1000
#define RETRY_MIN_MS 100 /* first retry after a failure, then doubled */
#define RETRY_MAX_MS 3200
#define PROBE_LEN 4096 /* zeros a retry writes, then cuts, to test for room */

/* A ticket (coffre_audit_append) is the entry's index and the epoch it was
 * queued in; the epoch grows at each recovery, which reuses the indices of
 * the entries the failure refused. */
#define TICKET_SHIFT 48
#define INDEX_MASK ((UINT64_C(1) << TICKET_SHIFT) - 1)
#define EPOCH_MASK ((UINT64_C(1) << (64 - TICKET_SHIFT)) - 1)

struct qbuf {
    unsigned char *p;
    size_t len, cap;
    uint64_t n; /* entries */
};

struct coffre_audit {
    pthread_mutex_t lock, sign_lock;
    pthread_cond_t work;    /* committer: queue not empty, failed, stop */
    pthread_cond_t durable; /* waiters: durable grew, or failed */
    pthread_cond_t sign;    /* signer: durable grew, recovered, or stop */
    int efd, cfd;
    struct coffre_merkle_tree *tree; /* durable leaves only */
    uint64_t *offs;                  /* frame offset of each durable entry */
    size_t offs_cap;
    uint64_t eoff, coff; /* durable bytes of each file */
    struct qbuf q;
    uint64_t next, ndurable;
    int failed, stop;
    /* Failure and recovery (docs/audit.md section 10). */
    char reason[COFFRE_AUDIT_REASON_MAX]; /* while failed; no personal value */
    int64_t failed_ms;                    /* failed since: unix time, ms */
    int64_t retry_ms; /* next retry: CLOCK_MONOTONIC, ms (work's clock) */
    int64_t backoff_ms;
    uint64_t epoch;    /* of the tickets appends give now */
    uint64_t prev_end; /* entries durable when the last epoch ended */
    uint64_t recoveries;
    struct coffre_note_signer *signer;
    char *origin, *vkey;
    char *note; /* latest checkpoint served, coffre_pmem */
    size_t note_len;
    uint64_t note_size;
    int64_t last_sign_ms;
    int signer_idle;    /* the signer waits for entries, not for its time */
    int committer_held; /* the committer waits for a checkpoint */
    uint64_t syncs, nsigned;
    pthread_t committer, signer_th;
    int threads;
    void *attach; /* coffre_audit_attach's hook state (attach.c) */
    struct coffre_vault *attach_v;
    /* Not NULL: the log is kept in the vault's store (log_pg.c), and
     * every function below hands over to it; nothing above is used but
     * the keys and the origin. */
    struct audit_pg *pg;
};

/* The store whose transaction this thread's write entry belongs in. */
static _Thread_local struct coffre_store *tx_store;

void
audit_log_tx(struct coffre_store *s)
{
    tx_store = s;
}

void
audit_log_set_attach(struct coffre_audit *a, void *attach,
                     struct coffre_vault *v)
{
    audit_attach_free(a->attach, a->attach_v);
    a->attach = attach;
    a->attach_v = v;
}

static _Thread_local char open_msg[1536];

const char *
coffre_audit_open_errmsg(void)
{
    return open_msg;
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Where a file operation failed: "write", errno. */
struct ioerr {
    const char *what;
    int err;
};

static int
io_fail(struct ioerr *e, const char *what)
{
    e->what = what;
    e->err = errno != 0 ? errno : EIO;
    return COFFRE_ERR_IO;
}

/* For the retries' timing: immune to the wall clock being set. */
static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
write_all(int fd, const unsigned char *p, size_t len, struct ioerr *e)
{
    while (len > 0) {
        ssize_t w;

        errno = 0;
        w = write(fd, p, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return io_fail(e, "write");
        }
        p += w;
        len -= (size_t)w;
    }
    return COFFRE_OK;
}

/* Append framed bytes and make them durable. */
static int
write_durable(int fd, const unsigned char *p, size_t len, struct ioerr *e)
{
    int rc = write_all(fd, p, len, e);

    if (rc == COFFRE_OK && fdatasync(fd) != 0) {
        rc = io_fail(e, "fdatasync");
    }
    return rc;
}

static int
pread_full(int fd, unsigned char *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return COFFRE_ERR_IO;
        }
        p += r, n -= (size_t)r, off += (uint64_t)r;
    }
    return COFFRE_OK;
}

/* Record the leaves of durable frames [p, p + len) in the tree. */
static int
tree_add_frames(struct coffre_audit *a, const unsigned char *p, size_t len)
{
    size_t pos = 0;

    while (pos < len) {
        size_t plen = audit_be32(p + pos);
        uint64_t n = coffre_merkle_tree_size(a->tree);

        if (n >= a->offs_cap) {
            size_t cap = a->offs_cap ? a->offs_cap * 2 : 1024;
            uint64_t *o = realloc(a->offs, cap * sizeof(*o));

            if (o == NULL) {
                return COFFRE_ERR_NOMEM;
            }
            a->offs = o, a->offs_cap = cap;
        }
        if (coffre_merkle_tree_append(a->tree, p + pos + AUDIT_FRAME_HEAD +
                                                   plen) != COFFRE_OK) {
            return COFFRE_ERR_NOMEM;
        }
        a->offs[n] = a->eoff + pos;
        pos += AUDIT_FRAME_OVERHEAD + plen;
    }
    return COFFRE_OK;
}

/* Called with the lock held: refuse everything until the committer has
 * recovered (recover_locked). ${file}: ${e->what}: strerror says why; the
 * first failure's time is kept while failed. */
static void
fail_locked(struct coffre_audit *a, const char *file, const struct ioerr *e)
{
    char buf[64];

    snprintf(a->reason, sizeof(a->reason), "%s: %s: %s", file, e->what,
             strerror_r(e->err, buf, sizeof(buf)));
    if (!a->failed) {
        a->failed_ms = now_ms();
        a->backoff_ms = RETRY_MIN_MS;
        a->retry_ms = mono_ms() + RETRY_MIN_MS;
    }
    a->failed = 1;
    a->q.len = 0, a->q.n = 0;
    pthread_cond_broadcast(&a->durable);
    pthread_cond_signal(&a->work);
}

static void
commit_batch(struct coffre_audit *a, struct qbuf *b)
{
    struct ioerr e = {0};
    int rc;

    pthread_mutex_unlock(&a->lock);
    rc = write_durable(a->efd, b->p, b->len, &e);
    if (rc != COFFRE_OK) {
        /* At once, for the room: a refused request leaves no entry. The
         * recovery cuts again, and syncs. */
        (void)!ftruncate(a->efd, (off_t)a->eoff);
    }
    pthread_mutex_lock(&a->lock);
    if (rc == COFFRE_OK && tree_add_frames(a, b->p, b->len) != COFFRE_OK) {
        rc = COFFRE_ERR_NOMEM;
        e = (struct ioerr){"tree", ENOMEM};
    }
    if (rc != COFFRE_OK) {
        fail_locked(a, "entries", &e);
        return;
    }
    a->eoff += b->len;
    a->ndurable += b->n;
    a->syncs++;
    pthread_cond_broadcast(&a->durable);
    /* A signer waiting for its next second wakes by itself: waking it
     * for every batch cost a context switch per sync for nothing. It is
     * woken when it waits for entries, or when enough wait for it. */
    if (a->signer_idle || a->ndurable - a->note_size >= AUDIT_SIGN_EVERY) {
        pthread_cond_signal(&a->sign);
    }
}

/* Called with the lock held: so many durable entries lack a checkpoint
 * that the next group commit waits for one. */
static int
window_full(const struct coffre_audit *a)
{
    return !a->failed && a->ndurable - a->note_size >= AUDIT_UNCOVERED_MAX;
}

/* 1 if the record of ${fd} at ${off} ends at ${end} and checks (${off}
 * == ${end}: the file is empty): what a cut left is clean. */
static int
tail_clean(int fd, uint64_t off, uint64_t end, size_t cap)
{
    unsigned char head[AUDIT_FRAME_HEAD], leaf[COFFRE_AUDIT_HASH_LEN];
    unsigned char *p = NULL;
    size_t len;
    int ok = off == end;

    if (!ok && pread_full(fd, head, sizeof(head), off) == COFFRE_OK) {
        len = audit_be32(head);
        if (len <= cap && off + AUDIT_FRAME_OVERHEAD + len == end &&
            (p = malloc(len + AUDIT_FRAME_TAIL)) != NULL &&
            pread_full(fd, p, len + AUDIT_FRAME_TAIL, off + AUDIT_FRAME_HEAD) ==
                COFFRE_OK) {
            coffre_audit_leaf_hash(p, len, leaf);
            ok = sodium_memcmp(leaf, p + len, sizeof(leaf)) == 0;
        }
    }
    free(p);
    return ok;
}

/* Cut ${fd} back to ${end}, its durable bytes, and sync. First test that
 * a write succeeds now: zeros appended, then cut (a crash in between
 * leaves a zero tail, which the open cuts). */
static int
file_reset(int fd, uint64_t end, uint64_t last, size_t cap, struct ioerr *e)
{
    static const unsigned char zero[PROBE_LEN];
    struct stat st;

    errno = 0;
    if (ftruncate(fd, (off_t)end) != 0) {
        return io_fail(e, "truncate");
    }
    if (write_all(fd, zero, sizeof(zero), e) != COFFRE_OK) {
        (void)!ftruncate(fd, (off_t)end);
        return COFFRE_ERR_IO;
    }
    if (ftruncate(fd, (off_t)end) != 0) {
        return io_fail(e, "truncate");
    }
    if (fsync(fd) != 0) {
        return io_fail(e, "fsync");
    }
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != end ||
        !tail_clean(fd, last, end, cap)) {
        errno = EIO;
        return io_fail(e, "the last record does not check");
    }
    return COFFRE_OK;
}

/* Called with the lock held by a successful recovery: appends resume in
 * a new epoch, at the index after the last durable entry. */
static void
resume_locked(struct coffre_audit *a)
{
    a->failed = 0;
    a->reason[0] = '\0';
    a->failed_ms = 0;
    a->recoveries++;
    a->prev_end = a->next = a->ndurable;
    a->epoch = (a->epoch + 1) & EPOCH_MASK;
    pthread_cond_broadcast(&a->sign);
}

/* Called by the committer with the lock held, while failed. At the time of
 * the next retry, cut both files back to their durable bytes, test them
 * and check their last records, holding the sign lock (the signer writes
 * nothing meanwhile); then resume, or retry twice as late (at most
 * RETRY_MAX_MS). Appends and waits fail fast all along. */
static void
recover_locked(struct coffre_audit *a)
{
    struct ioerr e = {0};
    const char *file = "entries";
    uint64_t eoff, coff, elast, clast;
    int rc, whole;

    if (mono_ms() < a->retry_ms) {
        struct timespec ts = {.tv_sec = a->retry_ms / 1000,
                              .tv_nsec = (long)(a->retry_ms % 1000) * 1000000};

        pthread_cond_timedwait(&a->work, &a->lock, &ts);
        return;
    }
    pthread_mutex_unlock(&a->lock);
    pthread_mutex_lock(&a->sign_lock);
    pthread_mutex_lock(&a->lock);
    eoff = a->eoff, coff = a->coff;
    elast = a->ndurable > 0 ? a->offs[a->ndurable - 1] : 0;
    clast = a->note != NULL ? coff - a->note_len - AUDIT_FRAME_OVERHEAD : 0;
    whole = coffre_merkle_tree_size(a->tree) == a->ndurable;
    pthread_mutex_unlock(&a->lock);
    rc = file_reset(a->efd, eoff, elast, COFFRE_AUDIT_ENTRY_MAX, &e);
    if (rc == COFFRE_OK) {
        file = "checkpoints";
        rc = file_reset(a->cfd, coff, clast, COFFRE_NOTE_MAX_SIZE, &e);
    }
    if (rc == COFFRE_OK && !whole) {
        /* Out of memory while adding leaves: only a reopen rebuilds. */
        rc = COFFRE_ERR_NOMEM, file = "entries";
        e = (struct ioerr){"tree", ENOMEM};
    }
    pthread_mutex_lock(&a->lock);
    if (rc == COFFRE_OK) {
        resume_locked(a);
    } else {
        fail_locked(a, file, &e);
        a->backoff_ms =
            a->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : a->backoff_ms * 2;
        a->retry_ms = mono_ms() + a->backoff_ms;
    }
    pthread_mutex_unlock(&a->sign_lock);
}

static void *
committer_main(void *arg)
{
    struct coffre_audit *a = arg;
    struct qbuf b = {0}, t;

    pthread_mutex_lock(&a->lock);
    for (;;) {
        if (a->failed && !a->stop) {
            recover_locked(a);
            continue;
        }
        if (!a->stop && (a->q.len == 0 || window_full(a))) {
            a->committer_held = a->q.len != 0;
            pthread_cond_wait(&a->work, &a->lock);
            a->committer_held = 0;
            continue;
        }
        if (a->q.len == 0) {
            break; /* stopping, and everything queued is written */
        }
        /* Swap the buffers: appenders fill the other one meanwhile. */
        t = a->q, a->q = b, b = t;
        a->q.len = 0, a->q.n = 0;
        commit_batch(a, &b);
    }
    pthread_mutex_unlock(&a->lock);
    free(b.p);
    return NULL;
}

/* Sign a checkpoint of the durable tree unless the served one covers it;
 * stored durably before it is served. */
static int
checkpoint_make(struct coffre_audit *a)
{
    struct coffre_checkpoint c = {.origin = a->origin};
    const struct coffre_note_signer *s = a->signer;
    char *note = NULL;
    unsigned char *frame = NULL, leaf[COFFRE_AUDIT_HASH_LEN];
    size_t len = 0;
    struct ioerr e = {0};
    int rc = COFFRE_OK;

    pthread_mutex_lock(&a->sign_lock);
    pthread_mutex_lock(&a->lock);
    c.size = a->ndurable;
    if (a->failed) {
        rc = COFFRE_ERR_UNAVAILABLE;
    } else if (a->note == NULL || c.size != a->note_size) {
        rc = coffre_merkle_tree_root(a->tree, c.size, c.root);
    } else {
        c.size = UINT64_MAX; /* nothing new */
    }
    pthread_mutex_unlock(&a->lock);
    if (rc != COFFRE_OK || c.size == UINT64_MAX) {
        goto out;
    }
    rc = coffre_checkpoint_sign(&c, &s, 1, &note, &len);
    frame = rc == COFFRE_OK ? malloc(len + AUDIT_FRAME_OVERHEAD) : NULL;
    if (frame == NULL) {
        rc = rc == COFFRE_OK ? COFFRE_ERR_NOMEM : rc;
        goto out;
    }
    coffre_audit_leaf_hash((unsigned char *)note, len, leaf);
    audit_frame((unsigned char *)note, len, leaf, frame);
    rc = write_durable(a->cfd, frame, len + AUDIT_FRAME_OVERHEAD, &e);
    if (rc != COFFRE_OK) {
        (void)!ftruncate(a->cfd, (off_t)a->coff); /* as in commit_batch */
    }
    pthread_mutex_lock(&a->lock);
    if (rc == COFFRE_OK) {
        coffre_free(a->note);
        a->note = note, a->note_len = len, a->note_size = c.size;
        note = NULL;
        a->coff += len + AUDIT_FRAME_OVERHEAD;
        a->nsigned++;
        a->last_sign_ms = now_ms();
        if (a->committer_held) {
            pthread_cond_signal(&a->work);
        }
    } else {
        fail_locked(a, "checkpoints", &e);
    }
    pthread_mutex_unlock(&a->lock);
out:
    free(frame);
    coffre_free(note);
    pthread_mutex_unlock(&a->sign_lock);
    return rc;
}

static void *
signer_main(void *arg)
{
    struct coffre_audit *a = arg;
    struct timespec ts;
    int64_t due;

    pthread_mutex_lock(&a->lock);
    while (!a->stop) {
        if (a->failed || a->ndurable == a->note_size) {
            a->signer_idle = 1;
            pthread_cond_wait(&a->sign, &a->lock);
            a->signer_idle = 0;
            continue;
        }
        due = a->last_sign_ms == 0 ? 0 : a->last_sign_ms + SIGN_INTERVAL_MS;
        if (a->ndurable - a->note_size < AUDIT_SIGN_EVERY && now_ms() < due) {
            ts.tv_sec = due / 1000;
            ts.tv_nsec = (long)(due % 1000) * 1000000;
            pthread_cond_timedwait(&a->sign, &a->lock, &ts);
            continue;
        }
        pthread_mutex_unlock(&a->lock);
        checkpoint_make(a);
        pthread_mutex_lock(&a->lock);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Opening: rebuild the tree, check every record and every checkpoint, */
/* and cut nothing but a torn final record (docs/audit.md section 9).  */

int
audit_msg(int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(open_msg, sizeof(open_msg), fmt, ap);
    va_end(ap);
    return rc;
}

/* Add a sentence to what the open says it did. */
static void open_note(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
open_note(const char *fmt, ...)
{
    size_t n = strlen(open_msg);
    va_list ap;

    if (n > 0 && n + 2 < sizeof(open_msg)) {
        memcpy(open_msg + n, "; ", 3);
        n += 2;
    }
    va_start(ap, fmt);
    vsnprintf(open_msg + n, sizeof(open_msg) - n, fmt, ap);
    va_end(ap);
}

/* One record file read at open. Only what a crash can leave is cut: the
 * file ending inside its last record, or zero bytes past the last good
 * record (a file extended before its data landed). Anything else is
 * evidence: the open refuses and changes nothing. */
struct scan {
    const char *dir, *name;
    int fd;
    struct coffre_audit_file *f;
    uint64_t k;        /* records read and checked */
    uint64_t good;     /* where the last of them ends */
    uint64_t size;     /* the file's size when opened */
    uint64_t zero_max; /* longest zero tail one unfinished write leaves */
    int zero;          /* the tail past good is zeros, not a torn record */
};

static int
scan_start(struct scan *s, const char *dir, const char *name, int fd,
           uint64_t zero_max)
{
    char path[4096];
    struct stat st;
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

    *s =
        (struct scan){.dir = dir, .name = name, .fd = fd, .zero_max = zero_max};
    if (n < 0 || (size_t)n >= sizeof(path)) {
        return audit_msg(COFFRE_ERR_ARG, "%s: path too long", dir);
    }
    if (fstat(fd, &st) != 0 || coffre_audit_file_open(path, &s->f) != 0) {
        return audit_msg(COFFRE_ERR_IO, "%s: cannot read: %s", path,
                         strerror(errno));
    }
    s->size = (uint64_t)st.st_size;
    return COFFRE_OK;
}

/* Refuse the open over record s->k: ${what} is wrong with it. */
static int
scan_refuse(const struct scan *s, const char *what)
{
    return audit_msg(COFFRE_ERR_CRYPTO,
                     "%s/%s: record %" PRIu64 " at byte offset %" PRIu64
                     ": %s. The file (%" PRIu64 " bytes) was left as it is: "
                     "a damaged record is evidence, not a torn write. "
                     "Keep a copy of the directory; `coffre audit verify` "
                     "says what the break covers, `coffre audit repair "
                     "--dir %s --cut-at %" PRIu64 "%s` moves the bytes from "
                     "there on to a side file",
                     s->dir, s->name, s->k, s->good, what, s->size, s->dir,
                     s->good,
                     strcmp(s->name, "entries") ? " --file checkpoints" : "");
}

/* 1 if the ${n} bytes of ${fd} from ${off} on are all zero. */
static int
zeros(int fd, uint64_t off, uint64_t n)
{
    unsigned char buf[65536];

    while (n > 0) {
        size_t k = n > sizeof(buf) ? sizeof(buf) : (size_t)n;
        ssize_t r = pread(fd, buf, k, (off_t)off);

        if (r <= 0) {
            return 0;
        }
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] != 0) {
                return 0;
            }
        }
        off += (uint64_t)r, n -= (uint64_t)r;
    }
    return 1;
}

/* A complete record at s->good failed its check: the end of the file if
 * all that follows is zeros, else a refusal. */
static int
scan_bad(struct scan *s, const char *what)
{
    uint64_t n = s->size - s->good;

    if (n <= s->zero_max && zeros(s->fd, s->good, n)) {
        s->zero = 1;
        return COFFRE_ERR_NOTFOUND;
    }
    return scan_refuse(s, what);
}

/* The next record of the file, whole; COFFRE_ERR_NOTFOUND at its end,
 * clean or torn (the file ends inside the record). */
static int
scan_next(struct scan *s, unsigned char *p, size_t cap, size_t *plen,
          unsigned char stored[COFFRE_AUDIT_HASH_LEN])
{
    char what[96];
    unsigned char head[AUDIT_FRAME_HEAD];
    int rc = coffre_audit_file_next(s->f, p, cap, plen, stored);

    if (rc == COFFRE_ERR_PARSE) {
        return COFFRE_ERR_NOTFOUND;
    }
    if (rc == COFFRE_ERR_TOOBIG &&
        pread(s->fd, head, sizeof(head), (off_t)s->good) == sizeof(head)) {
        snprintf(what, sizeof(what),
                 "it announces %" PRIu32 " bytes, over the cap of %zu",
                 audit_be32(head), cap);
        return scan_refuse(s, what);
    }
    if (rc != COFFRE_OK && rc != COFFRE_ERR_NOTFOUND) {
        return audit_msg(COFFRE_ERR_IO,
                         "%s/%s: cannot read record %" PRIu64
                         " at byte offset %" PRIu64,
                         s->dir, s->name, s->k, s->good);
    }
    return rc;
}

/* The record just read checked. */
static void
scan_ok(struct scan *s)
{
    s->k++;
    s->good = coffre_audit_file_offset(s->f);
}

static void
scan_close(struct scan *s)
{
    coffre_audit_file_close(s->f);
    s->f = NULL;
}

/* Once every check passed: cut what a crash left past the last good
 * record, and say so. */
static int
scan_cut(const struct scan *s)
{
    uint64_t n = s->size - s->good;

    if (n == 0) {
        return COFFRE_OK;
    }
    if (ftruncate(s->fd, (off_t)s->good) != 0 || fsync(s->fd) != 0) {
        return audit_msg(COFFRE_ERR_IO, "%s/%s: cannot cut the torn tail: %s",
                         s->dir, s->name, strerror(errno));
    }
    if (s->zero) {
        open_note("%s/%s: cut a tail of %" PRIu64 " zero bytes at byte "
                  "offset %" PRIu64 " (a file extended before its data "
                  "landed; %" PRIu64 " complete records kept)",
                  s->dir, s->name, n, s->good, s->k);
    } else {
        open_note("%s/%s: cut a torn tail of %" PRIu64 " bytes at byte "
                  "offset %" PRIu64 " (a write a crash left unfinished; "
                  "%" PRIu64 " complete records kept)",
                  s->dir, s->name, n, s->good, s->k);
    }
    return COFFRE_OK;
}

/* The longest zero tail an unfinished write leaves: one group commit (a
 * full queue) or the recovery probe, whichever is longer. */
#define ENTRIES_ZERO_MAX                                                       \
    ((uint64_t)QUEUE_MAX + COFFRE_AUDIT_ENTRY_MAX + AUDIT_FRAME_OVERHEAD)
#define CHECKPOINTS_ZERO_MAX                                                   \
    ((uint64_t)COFFRE_NOTE_MAX_SIZE + AUDIT_FRAME_OVERHEAD)

static int
load_entries(struct coffre_audit *a, const char *dir, struct scan *s)
{
    unsigned char p[COFFRE_AUDIT_ENTRY_MAX + AUDIT_FRAME_OVERHEAD];
    unsigned char leaf[COFFRE_AUDIT_HASH_LEN], stored[COFFRE_AUDIT_HASH_LEN];
    struct coffre_audit_entry e;
    size_t len;
    int rc = scan_start(s, dir, "entries", a->efd, ENTRIES_ZERO_MAX);

    while (rc == COFFRE_OK &&
           (rc = scan_next(s, p + AUDIT_FRAME_HEAD, COFFRE_AUDIT_ENTRY_MAX,
                           &len, stored)) == COFFRE_OK) {
        coffre_audit_leaf_hash(p + AUDIT_FRAME_HEAD, len, leaf);
        if (sodium_memcmp(leaf, stored, sizeof(leaf)) != 0) {
            rc = scan_bad(s, "its bytes do not match its trailer hash");
        } else if (coffre_audit_entry_parse(p + AUDIT_FRAME_HEAD, len, &e) !=
                   COFFRE_OK) {
            rc = scan_bad(s, "its trailer matches but it is not a canonical "
                             "entry");
        } else {
            audit_frame(p + AUDIT_FRAME_HEAD, len, leaf, p);
            rc = tree_add_frames(a, p, len + AUDIT_FRAME_OVERHEAD);
            a->eoff += len + AUDIT_FRAME_OVERHEAD;
            scan_ok(s);
        }
    }
    scan_close(s);
    a->ndurable = a->next = coffre_merkle_tree_size(a->tree);
    return rc == COFFRE_ERR_NOTFOUND ? COFFRE_OK : rc;
}

/* One stored checkpoint: ours, and a head of the tree rebuilt. */
static int
check_stored(struct coffre_audit *a, const struct coffre_note_verifier *v,
             const char *note, size_t len, const struct scan *s)
{
    struct coffre_checkpoint c = {0};
    unsigned char root[COFFRE_AUDIT_HASH_LEN];
    uint64_t n = coffre_merkle_tree_size(a->tree);
    int rc = coffre_checkpoint_open(note, len, a->origin, v, 1, &c);
    char what[256] = "";

    if (rc != COFFRE_OK) {
        snprintf(what, sizeof(what),
                 "the checkpoint is not signed by this log's key (%s)",
                 coffre_strerror(rc));
    } else if (c.size > n) {
        snprintf(what, sizeof(what),
                 "a checkpoint of size %" PRIu64 " was served, but only "
                 "%" PRIu64 " entries remain: the log was truncated",
                 c.size, n);
    } else if (coffre_merkle_tree_root(a->tree, c.size, root) != COFFRE_OK ||
               sodium_memcmp(root, c.root, sizeof(root)) != 0) {
        snprintf(what, sizeof(what),
                 "the checkpoint of size %" PRIu64 " does not match the "
                 "entries: the log was tampered with",
                 c.size);
    } else {
        a->note_size = c.size;
    }
    coffre_checkpoint_clear(&c);
    return what[0] == '\0' ? COFFRE_OK : scan_refuse(s, what);
}

static int
load_checkpoints(struct coffre_audit *a, const char *dir, struct scan *s)
{
    struct coffre_note_verifier v;
    unsigned char stored[COFFRE_AUDIT_HASH_LEN], leaf[COFFRE_AUDIT_HASH_LEN];
    char *note = coffre_pmem_alloc(COFFRE_NOTE_MAX_SIZE + 1);
    size_t len;
    int rc = note == NULL ? COFFRE_ERR_NOMEM
                          : scan_start(s, dir, "checkpoints", a->cfd,
                                       CHECKPOINTS_ZERO_MAX);

    coffre_note_signer_verifier(a->signer, &v);
    while (rc == COFFRE_OK &&
           (rc = scan_next(s, (unsigned char *)note, COFFRE_NOTE_MAX_SIZE, &len,
                           stored)) == COFFRE_OK) {
        coffre_audit_leaf_hash((unsigned char *)note, len, leaf);
        if (sodium_memcmp(leaf, stored, sizeof(leaf)) != 0) {
            rc = scan_bad(s, "its bytes do not match its trailer hash");
            continue;
        }
        rc = check_stored(a, &v, note, len, s);
        if (rc == COFFRE_OK) {
            coffre_free(a->note);
            a->note = coffre_pmem_strndup(note, len);
            a->note_len = len;
            scan_ok(s);
            a->coff = s->good;
            rc = a->note == NULL ? COFFRE_ERR_NOMEM : COFFRE_OK;
        }
    }
    scan_close(s);
    coffre_free(note);
    return rc == COFFRE_ERR_NOTFOUND ? COFFRE_OK : rc;
}

static int
open_file(const char *dir, const char *name, int *pfd)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= sizeof(path)) {
        return COFFRE_ERR_ARG;
    }
    *pfd =
        open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    return *pfd < 0 ? COFFRE_ERR_IO : COFFRE_OK;
}

/* Make the directory and both files, and their names durable. */
static int
open_files(struct coffre_audit *a, const char *dir)
{
    int rc, dfd;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return audit_msg(COFFRE_ERR_IO, "%s: cannot create: %s", dir,
                         strerror(errno));
    }
    rc = open_file(dir, "entries", &a->efd);
    /* One writer per log: a second one (a second server on the same
     * directory) would interleave frames and fork the tree. The lock goes
     * with the descriptor, at close or at the process's death. */
    if (rc == COFFRE_OK && flock(a->efd, LOCK_EX | LOCK_NB) != 0) {
        return audit_msg(COFFRE_ERR_INUSE,
                         "%s: the log is in use by another process (a "
                         "second coffre server on the same directory?)",
                         dir);
    }
    if (rc == COFFRE_OK) {
        rc = open_file(dir, "checkpoints", &a->cfd);
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rc == COFFRE_OK && (dfd < 0 || fsync(dfd) != 0)) {
        rc = COFFRE_ERR_IO;
    }
    if (dfd >= 0) {
        close(dfd);
    }
    if (rc != COFFRE_OK) {
        return audit_msg(rc, "%s: cannot open the log files: %s", dir,
                         strerror(errno));
    }
    return rc;
}

static struct coffre_audit *
audit_new(void)
{
    struct coffre_audit *a = calloc(1, sizeof(*a));
    pthread_condattr_t mono;

    if (a == NULL) {
        return NULL;
    }
    a->efd = a->cfd = -1;
    a->backoff_ms = RETRY_MIN_MS;
    pthread_mutex_init(&a->lock, NULL);
    pthread_mutex_init(&a->sign_lock, NULL);
    /* The committer's retries wait on work: on the monotonic clock. */
    pthread_condattr_init(&mono);
    pthread_condattr_setclock(&mono, CLOCK_MONOTONIC);
    pthread_cond_init(&a->work, &mono);
    pthread_condattr_destroy(&mono);
    pthread_cond_init(&a->durable, NULL);
    pthread_cond_init(&a->sign, NULL);
    return a;
}

static int
audit_keys(struct coffre_audit *a, const char *origin,
           const unsigned char seed[32])
{
    struct coffre_note_verifier v;
    int rc;

    if (!coffre_note_name_valid(origin, strlen(origin))) {
        return audit_msg(COFFRE_ERR_ARG, "origin '%s' is not a valid key name",
                         origin);
    }
    a->origin = strdup(origin);
    if (a->origin == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    rc = coffre_note_signer_from_seed(origin, seed, &a->signer);
    if (rc == COFFRE_OK) {
        coffre_note_signer_verifier(a->signer, &v);
        rc = coffre_note_verifier_format(&v, &a->vkey);
    }
    return rc;
}

static int
audit_start(struct coffre_audit *a)
{
    if (pthread_create(&a->committer, NULL, committer_main, a) != 0) {
        return COFFRE_ERR_NOMEM;
    }
    if (pthread_create(&a->signer_th, NULL, signer_main, a) != 0) {
        pthread_mutex_lock(&a->lock);
        a->stop = 1;
        pthread_cond_broadcast(&a->work);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->committer, NULL);
        return COFFRE_ERR_NOMEM;
    }
    a->threads = 1;
    return COFFRE_OK;
}

int
audit_log_open(const char *dir, const char *origin,
               const unsigned char seed[32], struct coffre_audit **pa)
{
    struct coffre_audit *a = audit_new();
    struct scan se = {0}, sc = {0};
    int rc;

    *pa = NULL;
    open_msg[0] = '\0';
    if (a == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    rc = audit_keys(a, origin, seed);
    if (rc == COFFRE_OK) {
        rc = coffre_merkle_tree_new(&a->tree);
    }
    if (rc == COFFRE_OK) {
        rc = open_files(a, dir);
    }
    if (rc == COFFRE_OK) {
        rc = load_entries(a, dir, &se);
    }
    if (rc == COFFRE_OK) {
        rc = load_checkpoints(a, dir, &sc);
    }
    /* Cut only once both files passed every check. */
    if (rc == COFFRE_OK) {
        rc = scan_cut(&se);
    }
    if (rc == COFFRE_OK) {
        rc = scan_cut(&sc);
    }
    if (rc == COFFRE_OK) {
        rc = checkpoint_make(a); /* a head for every entry found */
        if (rc != COFFRE_OK) {
            audit_msg(rc, "%s: cannot store a checkpoint: %s", dir,
                      a->reason[0] ? a->reason : coffre_strerror(rc));
        }
    }
    if (rc == COFFRE_OK) {
        rc = audit_start(a);
    }
    if (rc != COFFRE_OK) {
        coffre_audit_close(a);
        return rc;
    }
    *pa = a;
    return COFFRE_OK;
}

int
audit_log_open_store(struct coffre_store *vs, const char *origin,
                     const unsigned char seed[32], struct coffre_audit **pa)
{
    struct coffre_audit *a = audit_new();
    struct coffre_store *db = NULL;
    int rc;

    *pa = NULL;
    open_msg[0] = '\0';
    if (a == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    rc = audit_keys(a, origin, seed);
    if (rc == COFFRE_OK) {
        rc = vs->ops->dup(vs, &db);
        if (rc != COFFRE_OK) {
            audit_msg(rc, "the audit log's connection: %s", vs->errmsg);
        }
    }
    if (rc == COFFRE_OK) {
        rc = audit_pg_open(vs, db, a->signer, a->origin, a->vkey, &a->pg);
    }
    if (rc != COFFRE_OK) {
        coffre_audit_close(a);
        return rc;
    }
    *pa = a;
    return COFFRE_OK;
}

int
coffre_audit_open(struct coffre_vault *v, const char *dir, const char *origin,
                  struct coffre_audit **pa)
{
    unsigned char seed[32];
    char def[COFFRE_NOTE_MAX_NAME + 1];
    int rc;

    *pa = NULL;
    open_msg[0] = '\0';
    if (origin == NULL) {
        snprintf(def, sizeof(def), "coffre.vault/%s", coffre_vault_id(v));
        origin = def;
    }
    rc = coffre_vault_audit_seed(v, seed);
    if (rc != COFFRE_OK) {
        return audit_msg(rc, "%s", coffre_vault_errmsg(v));
    }
    if (v->store->ops->audit_append != NULL) {
        /* The log is in the store, written in the same transactions as
         * the data: the audit mark cannot disagree with it, nothing to
         * cross-check (docs/audit.md section 14). ${dir} is not used. */
        pthread_mutex_lock(&v->lock);
        rc = audit_log_open_store(v->store, origin, seed, pa);
        pthread_mutex_unlock(&v->lock);
        sodium_memzero(seed, sizeof(seed));
        return rc;
    }
    rc = audit_log_open(dir, origin, seed, pa);
    sodium_memzero(seed, sizeof(seed));
    if (rc == COFFRE_OK) {
        /* The store and its log tell the same story, or nothing is
         * served (docs/audit.md section 13). */
        rc = vault_audit_check(v, *pa, open_msg, sizeof(open_msg));
    }
    if (rc != COFFRE_OK) {
        coffre_audit_close(*pa);
        *pa = NULL;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Appending.                                                         */

static int
queue_room(struct qbuf *q, size_t n)
{
    size_t cap;
    unsigned char *p;

    if (q->len + n <= q->cap) {
        return COFFRE_OK;
    }
    if (q->len + n > QUEUE_MAX) {
        return COFFRE_ERR_UNAVAILABLE;
    }
    cap = q->cap ? q->cap : 65536;
    while (cap < q->len + n) {
        cap *= 2;
    }
    p = realloc(q->p, cap);
    if (p == NULL) {
        return COFFRE_ERR_UNAVAILABLE;
    }
    q->p = p, q->cap = cap;
    return COFFRE_OK;
}

int
coffre_audit_append(struct coffre_audit *a, const struct coffre_audit_entry *e,
                    uint64_t *pticket)
{
    unsigned char b[COFFRE_AUDIT_ENTRY_MAX], leaf[COFFRE_AUDIT_HASH_LEN];
    size_t len;
    int rc;

    if (a->pg != NULL) {
        /* Committed on return (or with the write's transaction). */
        return audit_pg_append(a->pg, tx_store, e, pticket);
    }
    rc = coffre_audit_entry_encode(e, b, sizeof(b), &len);
    if (rc != COFFRE_OK) {
        return COFFRE_ERR_ARG;
    }
    coffre_audit_leaf_hash(b, len, leaf); /* outside the lock */
    pthread_mutex_lock(&a->lock);
    rc = a->failed || a->stop || a->next > INDEX_MASK
             ? COFFRE_ERR_UNAVAILABLE
             : queue_room(&a->q, len + AUDIT_FRAME_OVERHEAD);
    if (rc == COFFRE_OK) {
        audit_frame(b, len, leaf, a->q.p + a->q.len);
        a->q.len += len + AUDIT_FRAME_OVERHEAD;
        a->q.n++;
        *pticket = a->epoch << TICKET_SHIFT | a->next++;
        pthread_cond_signal(&a->work);
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int
coffre_audit_wait(struct coffre_audit *a, uint64_t ticket)
{
    uint64_t epoch = ticket >> TICKET_SHIFT, i = ticket & INDEX_MASK;
    int rc;

    if (a->pg != NULL) {
        return COFFRE_OK; /* coffre_audit_append committed it */
    }
    pthread_mutex_lock(&a->lock);
    while (epoch == a->epoch && a->ndurable <= i && !a->failed && i < a->next) {
        pthread_cond_wait(&a->durable, &a->lock);
    }
    if (epoch == a->epoch) {
        rc = a->ndurable > i ? COFFRE_OK : COFFRE_ERR_UNAVAILABLE;
    } else {
        /* Queued before the last recovery: durable only if it was by
         * then; the indices after it were refused, and are reused. Older
         * epochs are refused (a refusal never discloses). */
        rc = epoch == ((a->epoch - 1) & EPOCH_MASK) && i < a->prev_end
                 ? COFFRE_OK
                 : COFFRE_ERR_UNAVAILABLE;
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int
coffre_audit_record(struct coffre_audit *a, const struct coffre_audit_entry *e,
                    uint64_t *pindex)
{
    uint64_t t;
    int rc = coffre_audit_append(a, e, &t);

    if (rc == COFFRE_OK) {
        rc = coffre_audit_wait(a, t);
    }
    if (rc == COFFRE_OK && pindex != NULL) {
        *pindex = t & INDEX_MASK;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Reading: sizes, checkpoints, proofs, entries.                      */

uint64_t
coffre_audit_size(struct coffre_audit *a)
{
    uint64_t n;

    if (a->pg != NULL) {
        return audit_pg_size(a->pg);
    }
    pthread_mutex_lock(&a->lock);
    n = a->ndurable;
    pthread_mutex_unlock(&a->lock);
    return n;
}

int
coffre_audit_checkpoint(struct coffre_audit *a, char **pnote, size_t *plen)
{
    int rc = COFFRE_OK;

    if (a->pg != NULL) {
        return audit_pg_checkpoint(a->pg, pnote, plen);
    }
    pthread_mutex_lock(&a->lock);
    *pnote = coffre_pmem_strndup(a->note, a->note_len);
    if (*pnote == NULL) {
        rc = COFFRE_ERR_NOMEM;
    } else if (plen != NULL) {
        *plen = a->note_len;
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int
coffre_audit_sync_checkpoint(struct coffre_audit *a)
{
    if (a->pg != NULL) {
        return audit_pg_sync_checkpoint(a->pg);
    }
    return checkpoint_make(a);
}

const char *
coffre_audit_verifier_key(const struct coffre_audit *a)
{
    return a->vkey;
}

const char *
coffre_audit_origin(const struct coffre_audit *a)
{
    return a->origin;
}

int
coffre_audit_inclusion(struct coffre_audit *a, uint64_t index, uint64_t size,
                       unsigned char *proof, size_t *pn)
{
    int rc;

    if (a->pg != NULL) {
        return audit_pg_proof(a->pg, 0, index, size, proof, pn);
    }
    pthread_mutex_lock(&a->lock);
    rc = coffre_merkle_tree_inclusion(a->tree, index, size, proof,
                                      COFFRE_AUDIT_MAX_PROOF, pn);
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int
coffre_audit_consistency(struct coffre_audit *a, uint64_t m, uint64_t n,
                         unsigned char *proof, size_t *pn)
{
    int rc;

    if (a->pg != NULL) {
        return audit_pg_proof(a->pg, 1, m, n, proof, pn);
    }
    pthread_mutex_lock(&a->lock);
    rc = coffre_merkle_tree_consistency(a->tree, m, n, proof,
                                        COFFRE_AUDIT_MAX_PROOF, pn);
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int
coffre_audit_entry_bytes(struct coffre_audit *a, uint64_t index,
                         unsigned char *out, size_t *plen)
{
    unsigned char head[AUDIT_FRAME_HEAD];
    uint64_t off = 0;
    size_t len;
    int rc = COFFRE_OK;

    if (a->pg != NULL) {
        return audit_pg_entry_bytes(a->pg, index, out, plen);
    }
    pthread_mutex_lock(&a->lock);
    if (index >= a->ndurable) {
        rc = COFFRE_ERR_NOTFOUND;
    } else {
        off = a->offs[index];
    }
    pthread_mutex_unlock(&a->lock);
    if (rc == COFFRE_OK) {
        rc = pread_full(a->efd, head, sizeof(head), off);
    }
    if (rc == COFFRE_OK) {
        len = audit_be32(head);
        rc = len > COFFRE_AUDIT_ENTRY_MAX
                 ? COFFRE_ERR_IO
                 : pread_full(a->efd, out, len, off + AUDIT_FRAME_HEAD);
        *plen = len;
    }
    return rc;
}

/* One entry as JSON: its canonical bytes (what an auditor rehashes) and,
 * for reading, the fields they decode to. */
static json_t *
entry_json(uint64_t index, const unsigned char *b, size_t len)
{
    struct coffre_audit_entry e;
    char b64[sodium_base64_ENCODED_LEN(COFFRE_AUDIT_ENTRY_MAX,
                                       sodium_base64_VARIANT_ORIGINAL)];
    json_t *classes = json_array();

    if (classes == NULL || coffre_audit_entry_parse(b, len, &e) != 0) {
        json_decref(classes);
        return NULL;
    }
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        if (e.classes & COFFRE_CLASS_BIT(c)) {
            json_array_append_new(classes, json_string(coffre_class_name(c)));
        }
    }
    sodium_bin2base64(b64, sizeof(b64), b, len, sodium_base64_VARIANT_ORIGINAL);
    return json_pack("{sIsssIsssssssssosssIss}", "index", (json_int_t)index,
                     "canonical", b64, "time_ms", (json_int_t)e.time_ms,
                     "principal", e.principal, "role", e.role, "action",
                     e.action, "pseudonym", e.pseudonym, "classes", classes,
                     "purpose", e.purpose, "status", (json_int_t)e.status,
                     "outcome", e.outcome);
}

static int
add_json(void *arg, uint64_t index, const unsigned char *b, size_t len)
{
    json_t *e = entry_json(index, b, len);

    return e == NULL || json_array_append_new(arg, e) ? COFFRE_ERR_NOMEM
                                                      : COFFRE_OK;
}

int
coffre_audit_entries_json(struct coffre_audit *a, uint64_t start, uint64_t end,
                          char **pjson)
{
    unsigned char b[COFFRE_AUDIT_ENTRY_MAX];
    uint64_t size = coffre_audit_size(a);
    json_t *arr = json_array(), *o = NULL;
    size_t len;
    int rc = arr == NULL ? COFFRE_ERR_NOMEM : COFFRE_OK;

    *pjson = NULL;
    if (start > end) {
        rc = COFFRE_ERR_ARG;
    }
    end = end > size ? size : end;
    if (end > start && end - start > COFFRE_AUDIT_MAX_PAGE) {
        end = start + COFFRE_AUDIT_MAX_PAGE;
    }
    if (a->pg != NULL && rc == COFFRE_OK && end > start) {
        /* One query for the page, not one per entry. */
        rc = audit_pg_read(a->pg, start, (size_t)(end - start), add_json, arr);
        start = end;
    }
    for (uint64_t i = start; i < end && rc == COFFRE_OK; i++) {
        json_t *e;

        rc = coffre_audit_entry_bytes(a, i, b, &len);
        e = rc == COFFRE_OK ? entry_json(i, b, len) : NULL;
        if (rc == COFFRE_OK && (e == NULL || json_array_append_new(arr, e))) {
            rc = COFFRE_ERR_NOMEM;
        }
    }
    if (rc == COFFRE_OK) {
        o = json_pack("{sIsO}", "size", (json_int_t)size, "entries", arr);
        *pjson = o == NULL ? NULL : json_dumps(o, JSON_COMPACT);
        rc = *pjson == NULL ? COFFRE_ERR_NOMEM : COFFRE_OK;
    }
    json_decref(o);
    json_decref(arr);
    return rc;
}

/* Copy the first ${len} bytes of ${fd} to the new file ${dir}/${name}. */
static int
copy_out(int fd, uint64_t len, const unsigned char *mem, const char *dir,
         const char *name)
{
    unsigned char buf[65536];
    char path[4096];
    uint64_t off = 0;
    struct ioerr e;
    int out, rc = COFFRE_OK;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
        sizeof(path)) {
        return COFFRE_ERR_ARG;
    }
    out =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (out < 0) {
        return errno == EEXIST ? COFFRE_ERR_EXISTS : COFFRE_ERR_IO;
    }
    if (mem != NULL) {
        rc = write_all(out, mem, (size_t)len, &e);
        off = len;
    }
    while (rc == COFFRE_OK && off < len) {
        size_t n = len - off > sizeof(buf) ? sizeof(buf) : (size_t)(len - off);

        rc = pread_full(fd, buf, n, off);
        rc = rc == COFFRE_OK ? write_all(out, buf, n, &e) : rc;
        off += n;
    }
    if (rc == COFFRE_OK && fsync(out) != 0) {
        rc = COFFRE_ERR_IO;
    }
    close(out);
    return rc;
}

int
coffre_audit_export(struct coffre_audit *a, const char *dir)
{
    uint64_t eoff, coff;
    char *note = NULL;
    size_t nlen = 0;
    int rc;

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        return COFFRE_ERR_IO;
    }
    if (a->pg != NULL) {
        rc = audit_pg_export(a->pg, dir, &note, &nlen);
        goto tail;
    }
    /* One snapshot: checkpoints never cover entries past eoff. */
    pthread_mutex_lock(&a->lock);
    eoff = a->eoff, coff = a->coff;
    note = coffre_pmem_strndup(a->note, a->note_len);
    nlen = a->note_len;
    pthread_mutex_unlock(&a->lock);
    rc = note == NULL ? COFFRE_ERR_NOMEM : COFFRE_OK;
    if (rc == COFFRE_OK) {
        rc = copy_out(a->efd, eoff, NULL, dir, "entries");
    }
    if (rc == COFFRE_OK) {
        rc = copy_out(a->cfd, coff, NULL, dir, "checkpoints");
    }
tail:
    if (rc == COFFRE_OK) {
        rc = copy_out(-1, nlen, (unsigned char *)note, dir, "checkpoint");
    }
    if (rc == COFFRE_OK) {
        rc = copy_out(-1, strlen(a->vkey), (unsigned char *)a->vkey, dir,
                      "vkey");
    }
    coffre_free(note);
    return rc;
}

void
coffre_audit_stats(struct coffre_audit *a, struct coffre_audit_stats *st)
{
    if (a->pg != NULL) {
        audit_pg_stats(a->pg, st);
        return;
    }
    pthread_mutex_lock(&a->lock);
    st->entries = a->ndurable;
    st->syncs = a->syncs;
    st->checkpoints = a->nsigned;
    st->failed = a->failed;
    st->covered = a->note_size;
    st->recoveries = a->recoveries;
    st->failed_since_ms = a->failed ? a->failed_ms : 0;
    snprintf(st->reason, sizeof(st->reason), "%s", a->failed ? a->reason : "");
    pthread_mutex_unlock(&a->lock);
}

void
coffre_audit_close(struct coffre_audit *a)
{
    if (a == NULL) {
        return;
    }
    audit_attach_free(a->attach, a->attach_v);
    audit_pg_close(a->pg);
    if (a->threads) {
        pthread_mutex_lock(&a->lock);
        a->stop = 1;
        pthread_cond_broadcast(&a->work);
        pthread_cond_broadcast(&a->sign);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->committer, NULL);
        pthread_join(a->signer_th, NULL);
        checkpoint_make(a); /* the entries the committer drained last */
    }
    if (a->efd >= 0) {
        close(a->efd);
    }
    if (a->cfd >= 0) {
        close(a->cfd);
    }
    coffre_merkle_tree_free(a->tree);
    coffre_note_signer_free(a->signer);
    coffre_free(a->vkey);
    coffre_free(a->note);
    free(a->origin);
    free(a->offs);
    free(a->q.p);
    pthread_cond_destroy(&a->work);
    pthread_cond_destroy(&a->durable);
    pthread_cond_destroy(&a->sign);
    pthread_mutex_destroy(&a->lock);
    pthread_mutex_destroy(&a->sign_lock);
    free(a);
}
