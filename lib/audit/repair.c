/*
 * The operator's way out of a log the open refuses (docs/audit.md section
 * 9.1): move the bytes from a record boundary to the end of a file into a
 * side file, durably, and only then cut the file there. A damaged record
 * is evidence: it is set aside, never dropped. Nothing a stored checkpoint
 * covers is ever cut, and nothing is done while the log is open.
 *
 * No key is needed (the vault may be sealed): the checkpoints are read for
 * their sizes only. A forged, unsigned checkpoint can only make the repair
 * refuse more.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/entry.h"
#include "audit/log.h"
#include "audit/note.h"

/* ${dir}/${name} in ${buf}; 0, or -1 if it does not fit. */
static int
join(char *buf, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);

    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* A walk over one record file. */
struct walk {
    const char *dir, *name;
    struct coffre_audit_file *f;
    unsigned char *p; /* payload buffer, cap bytes */
    size_t cap, len;
    unsigned char stored[COFFRE_AUDIT_HASH_LEN];
    uint64_t k, off; /* records read and checked, where the next begins */
};

static int
walk_open(struct walk *w, const char *dir, const char *name)
{
    char path[4096];

    w->dir = dir, w->name = name, w->k = 0, w->off = 0, w->f = NULL;
    w->cap = strcmp(name, "entries") == 0 ? COFFRE_AUDIT_ENTRY_MAX
                                          : COFFRE_NOTE_MAX_SIZE;
    w->p = malloc(w->cap);
    if (w->p == NULL) {
        return audit_msg(COFFRE_ERR_NOMEM, "%s: out of memory", dir);
    }
    if (join(path, sizeof(path), dir, name) != 0) {
        return audit_msg(COFFRE_ERR_ARG, "%s: path too long", dir);
    }
    if (coffre_audit_file_open(path, &w->f) != COFFRE_OK) {
        return audit_msg(COFFRE_ERR_IO, "%s: cannot read: %s", path,
                         strerror(errno));
    }
    return COFFRE_OK;
}

static void
walk_close(struct walk *w)
{
    coffre_audit_file_close(w->f);
    free(w->p);
    w->f = NULL, w->p = NULL;
}

/* The next record, checked: COFFRE_OK, COFFRE_ERR_NOTFOUND at the end of
 * the file (COFFRE_ERR_PARSE if it ends inside a record), or
 * COFFRE_ERR_CRYPTO for a damaged record, said. */
static int
walk_next(struct walk *w)
{
    unsigned char leaf[COFFRE_AUDIT_HASH_LEN];
    struct coffre_audit_entry e;
    int rc = coffre_audit_file_next(w->f, w->p, w->cap, &w->len, w->stored);

    if (rc == COFFRE_OK) {
        coffre_audit_leaf_hash(w->p, w->len, leaf);
        if (memcmp(leaf, w->stored, sizeof(leaf)) != 0 ||
            (w->cap == COFFRE_AUDIT_ENTRY_MAX &&
             coffre_audit_entry_parse(w->p, w->len, &e) != COFFRE_OK)) {
            rc = COFFRE_ERR_CRYPTO;
        }
    } else if (rc == COFFRE_ERR_TOOBIG) {
        rc = COFFRE_ERR_CRYPTO;
    }
    if (rc == COFFRE_ERR_CRYPTO) {
        return audit_msg(rc,
                         "%s/%s: record %" PRIu64 " at byte offset %" PRIu64
                         " is damaged",
                         w->dir, w->name, w->k, w->off);
    }
    if (rc == COFFRE_OK) {
        w->k++;
        w->off = coffre_audit_file_offset(w->f);
    }
    return rc;
}

/* Every record before ${offset} checks, and one begins there. */
static int
check_prefix(const char *dir, const char *name, uint64_t offset, uint64_t *pk)
{
    struct walk w;
    uint64_t begin = 0;
    int rc = walk_open(&w, dir, name);

    while (rc == COFFRE_OK && w.off < offset) {
        begin = w.off;
        rc = walk_next(&w);
    }
    *pk = w.k;
    walk_close(&w);
    if (rc == COFFRE_OK && w.off == offset) {
        return COFFRE_OK;
    }
    if (rc == COFFRE_OK) {
        return audit_msg(COFFRE_ERR_ARG,
                         "%s/%s: byte offset %" PRIu64
                         " is not a record boundary (record %" PRIu64
                         " runs from %" PRIu64 " to %" PRIu64 ")",
                         dir, name, offset, w.k - 1, begin, w.off);
    }
    if (rc == COFFRE_ERR_CRYPTO) {
        return audit_msg(COFFRE_ERR_ARG,
                         "%s/%s: record %" PRIu64 " at byte offset %" PRIu64
                         ", before the cut, is damaged too: cut there "
                         "instead",
                         dir, name, w.k, w.off);
    }
    if (rc == COFFRE_ERR_NOTFOUND || rc == COFFRE_ERR_PARSE) {
        return audit_msg(COFFRE_ERR_ARG,
                         "%s/%s: byte offset %" PRIu64 " is past the last "
                         "complete record, which ends at %" PRIu64,
                         dir, name, offset, w.off);
    }
    return rc;
}

/* The tree size a checkpoint note states: its second line. */
static int
note_size(const unsigned char *p, size_t len, uint64_t *psize)
{
    const unsigned char *nl = memchr(p, '\n', len);
    size_t i = nl == NULL ? len : (size_t)(nl - p) + 1, digits = 0;
    uint64_t v = 0;

    for (; i < len && p[i] >= '0' && p[i] <= '9' && digits < 20; i++) {
        unsigned d = (unsigned)(p[i] - '0');

        if (v > (UINT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d, digits++;
    }
    if (digits == 0 || i >= len || p[i] != '\n') {
        return -1;
    }
    *psize = v;
    return 0;
}

/* The largest tree size any stored checkpoint states. A torn final record
 * was never served; any other damage must be repaired first. */
static int
covered_size(const char *dir, uint64_t *pmax)
{
    struct walk w;
    uint64_t n;
    int rc = walk_open(&w, dir, "checkpoints");

    *pmax = 0;
    while (rc == COFFRE_OK && (rc = walk_next(&w)) == COFFRE_OK) {
        if (note_size(w.p, w.len, &n) != 0) {
            w.k--, w.off -= w.len + AUDIT_FRAME_OVERHEAD;
            rc = COFFRE_ERR_CRYPTO;
            break;
        }
        *pmax = n > *pmax ? n : *pmax;
    }
    walk_close(&w);
    if (rc == COFFRE_ERR_CRYPTO) {
        return audit_msg(COFFRE_ERR_DENIED,
                         "%s/checkpoints: record %" PRIu64
                         " at byte offset %" PRIu64
                         " is damaged: repair that file first (--file "
                         "checkpoints), so that what the checkpoints cover "
                         "is known",
                         dir, w.k, w.off);
    }
    return rc == COFFRE_ERR_NOTFOUND || rc == COFFRE_ERR_PARSE ? COFFRE_OK : rc;
}

static int
write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        p += w, n -= (size_t)w;
    }
    return 0;
}

/* Copy [offset, size) of ${fd} to the new file ${side}, durably. */
static int
copy_aside(int fd, uint64_t offset, uint64_t size, const char *side)
{
    unsigned char buf[65536];
    int out =
        open(side, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int rc = COFFRE_OK;

    if (out < 0) {
        return errno == EEXIST ? COFFRE_ERR_EXISTS : COFFRE_ERR_IO;
    }
    while (rc == COFFRE_OK && offset < size) {
        size_t k =
            size - offset > sizeof(buf) ? sizeof(buf) : (size_t)(size - offset);
        ssize_t r = pread(fd, buf, k, (off_t)offset);

        if (r <= 0 || write_all(out, buf, (size_t)r) != 0) {
            rc = COFFRE_ERR_IO;
        } else {
            offset += (uint64_t)r;
        }
    }
    if (rc == COFFRE_OK && fsync(out) != 0) {
        rc = COFFRE_ERR_IO;
    }
    close(out);
    if (rc != COFFRE_OK) {
        unlink(side);
    }
    return rc;
}

static int
fsync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = dfd >= 0 && fsync(dfd) == 0 ? COFFRE_OK : COFFRE_ERR_IO;

    if (dfd >= 0) {
        close(dfd);
    }
    return rc;
}

/* The side file first, its name durable, then the cut. */
static int
move_and_cut(const char *dir, const char *name, uint64_t offset, uint64_t k)
{
    char path[4096], side[4200];
    struct stat st;
    int fd, rc;

    /* The caller joined the same path already: it fits, and so does
     * ".cut-" and 20 digits in side. */
    (void)join(path, sizeof(path), dir, name);
    snprintf(side, sizeof(side), "%s.cut-%" PRIu64, path, offset);
    fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = audit_msg(COFFRE_ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    rc = copy_aside(fd, offset, (uint64_t)st.st_size, side);
    if (rc != COFFRE_OK) {
        audit_msg(rc, "%s: cannot write the side file: %s", side,
                  rc == COFFRE_ERR_EXISTS ? "it exists (keep it; move it "
                                            "elsewhere to cut again)"
                                          : strerror(errno));
        goto out;
    }
    rc = fsync_dir(dir);
    if (rc == COFFRE_OK &&
        (ftruncate(fd, (off_t)offset) != 0 || fsync(fd) != 0)) {
        rc = COFFRE_ERR_IO;
    }
    if (rc != COFFRE_OK) {
        audit_msg(rc,
                  "%s: the side file %s is written, but the cut "
                  "failed: %s",
                  path, side, strerror(errno));
        goto out;
    }
    audit_msg(COFFRE_OK,
              "%s: moved %" PRIu64 " bytes (byte offset %" PRIu64
              " to the end) to %s (mode 0600, synced), then cut the file "
              "there: %" PRIu64 " records remain. Keep the side file: it is "
              "evidence",
              path, (uint64_t)st.st_size - offset, offset, side, k);
out:
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

static uint64_t
file_size(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;

    return join(path, sizeof(path), dir, name) == 0 && stat(path, &st) == 0
               ? (uint64_t)st.st_size
               : 0;
}

/* Hold the log's lock (the one coffre_audit_open takes) while cutting. */
static int
lock_log(const char *dir, int *pfd)
{
    char path[4096];

    if (join(path, sizeof(path), dir, "entries") != 0) {
        return audit_msg(COFFRE_ERR_ARG, "%s: path too long", dir);
    }
    *pfd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (*pfd < 0) {
        return audit_msg(COFFRE_ERR_IO, "%s: %s", path, strerror(errno));
    }
    if (flock(*pfd, LOCK_EX | LOCK_NB) != 0) {
        return audit_msg(COFFRE_ERR_INUSE,
                         "%s: the log is open (a running server?): stop it "
                         "first",
                         dir);
    }
    return COFFRE_OK;
}

int
coffre_audit_repair(const char *dir, const char *name, uint64_t offset)
{
    uint64_t k = 0, covered = 0;
    int lfd = -1, rc;

    audit_msg(COFFRE_OK, "%s", "");
    if (strcmp(name, "entries") != 0 && strcmp(name, "checkpoints") != 0) {
        return audit_msg(COFFRE_ERR_ARG,
                         "%s: not a log file (entries or "
                         "checkpoints)",
                         name);
    }
    rc = lock_log(dir, &lfd);
    if (rc == COFFRE_OK) {
        rc = check_prefix(dir, name, offset, &k);
    }
    if (rc == COFFRE_OK && file_size(dir, name) <= offset) {
        rc = audit_msg(COFFRE_ERR_ARG,
                       "%s/%s: nothing after byte offset "
                       "%" PRIu64 " to cut",
                       dir, name, offset);
    }
    if (rc == COFFRE_OK && strcmp(name, "entries") == 0) {
        rc = covered_size(dir, &covered);
        if (rc == COFFRE_OK && covered > k) {
            rc = audit_msg(COFFRE_ERR_DENIED,
                           "%s/entries: the cut would remove entries "
                           "%" PRIu64 "..%" PRIu64 ", which a stored "
                           "checkpoint of size %" PRIu64 " covers: they "
                           "were served signed, and are not cut",
                           dir, k, covered - 1, covered);
        }
    }
    if (rc == COFFRE_OK) {
        rc = move_and_cut(dir, name, offset, k);
    }
    if (lfd >= 0) {
        close(lfd);
    }
    return rc;
}
