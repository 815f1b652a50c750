/*
 * Opening, creating, unsealing and sealing a vault.
 *
 * A vault directory holds one store (coffre.db). The root key is never
 * stored: init splits it into Shamir shares written to the custodians'
 * files, and the store keeps only a check value and one commitment per
 * share, so that unseal can tell a wrong share or a wrong combination
 * from a right one (docs/keys.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "coffre/seal.h"
#include "vault/vault.h"
#include "util/secmem.h"

#define DB_NAME "coffre.db"
#define META_VERSION 1

int
vault_fail(struct coffre_vault *v, int rc, const char *fmt, ...)
{
    va_list ap;

    if (v != NULL) {
        va_start(ap, fmt);
        vsnprintf(v->errmsg, sizeof(v->errmsg), fmt, ap);
        va_end(ap);
    }
    return rc;
}

int
vault_store_fail(struct coffre_vault *v, int rc, const char *what)
{
    if (rc == COFFRE_ERR_STORE ||
        (rc == COFFRE_ERR_UNAVAILABLE && v->store->errmsg[0] != '\0')) {
        return vault_fail(v, rc, "%s: %s", what, v->store->errmsg);
    }
    return vault_fail(v, rc, "%s: %s", what, coffre_strerror(rc));
}

void
vault_root_use(struct coffre_vault *v)
{
    sodium_mprotect_readonly(v->root);
}

void
vault_root_idle(struct coffre_vault *v)
{
    sodium_mprotect_noaccess(v->root);
}

static struct coffre_vault *
vault_new(void)
{
    struct coffre_vault *v = calloc(1, sizeof(*v));

    if (v == NULL) {
        return NULL;
    }
    pthread_mutexattr_t attr;

    /* Recursive: the audit hook runs with the lock held and may ask for
     * pseudonyms (coffre_vault_set_audit). */
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&v->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    v->lock_fd = -1;
    v->retention = VAULT_RETENTION_DEFAULT;
    v->vetting_deadline = VAULT_VETTING_DEFAULT;
    return v;
}

static int
db_path(char *out, size_t cap, const char *dir)
{
    int n = snprintf(out, cap, "%s/%s", dir, DB_NAME);

    return n < 0 || (size_t)n >= cap ? COFFRE_ERR_ARG : COFFRE_OK;
}

static void
set_id(struct coffre_vault *v, const unsigned char id[16])
{
    memcpy(v->id, id, 16);
    sodium_bin2hex(v->id_hex, sizeof(v->id_hex), v->id, 16);
}

static int
meta_put_u32(struct coffre_vault *v, const char *k, uint32_t x)
{
    unsigned char b[4] = {(unsigned char)(x >> 24), (unsigned char)(x >> 16),
                          (unsigned char)(x >> 8), (unsigned char)x};

    return v->store->ops->meta_put(v->store, k, b, 4);
}

static int
meta_get_exact(struct coffre_vault *v, const char *k, void *out, size_t len)
{
    struct coffre_buf b;
    int rc;

    coffre_buf_init(&b, 64 * 1024);
    rc = v->store->ops->meta_get(v->store, k, &b);
    if (rc == COFFRE_OK && b.len != len) {
        rc = vault_fail(v, COFFRE_ERR_STORE, "vault metadata %s is corrupt", k);
    } else if (rc == COFFRE_OK) {
        memcpy(out, b.p, len);
    }
    coffre_buf_free(&b);
    return rc;
}

static int
meta_get_u32(struct coffre_vault *v, const char *k, uint32_t *px)
{
    unsigned char b[4];
    int rc = meta_get_exact(v, k, b, 4);

    if (rc == COFFRE_OK) {
        *px = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
              (uint32_t)b[2] << 8 | b[3];
    }
    return rc;
}

int
vault_meta_str(struct coffre_vault *v, const char *k, char *out, size_t cap)
{
    struct coffre_buf b;
    int rc;

    out[0] = '\0';
    coffre_buf_init(&b, 64 * 1024);
    rc = v->store->ops->meta_get(v->store, k, &b);
    if (rc == COFFRE_ERR_NOTFOUND) {
        rc = COFFRE_OK;
    } else if (rc == COFFRE_OK &&
               (b.len >= cap || memchr(b.p, '\0', b.len) != NULL)) {
        rc = vault_fail(v, COFFRE_ERR_STORE, "vault metadata %s is corrupt", k);
    } else if (rc == COFFRE_OK) {
        memcpy(out, b.p, b.len);
        out[b.len] = '\0';
    }
    coffre_buf_free(&b);
    return rc;
}

/*
 * Init is all or nothing (docs/keys.md section 4.3). It first refuses,
 * making nothing, what would overwrite: a store in the data directory or
 * any share file. Then it records each thing it makes, so that a failure
 * midway removes exactly those and nothing it did not make.
 */

/* A store's files: init makes a store only where none of them is, so
 * that undoing it may remove all of them (-wal and -shm are SQLite's,
 * -journal its rollback journal before WAL is set). */
static const char *const store_files[] = {DB_NAME, DB_NAME "-wal",
                                          DB_NAME "-shm", DB_NAME "-journal",
                                          VAULT_STORE_RECORD};
#define NSTORE_FILES (sizeof(store_files) / sizeof(store_files[0]))

struct init_made {
    int data_dir, share_dir; /* the directories it created */
    int lock;                /* the lock file it created, and holds */
    int store;               /* it opened the store, so made its files */
    unsigned shares;         /* share-1.txt .. share-N.txt written */
};

static int
join(struct coffre_vault *v, char *out, size_t cap, const char *dir,
     const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= cap) {
        return vault_fail(v, COFFRE_ERR_ARG, "path too long: %s", dir);
    }
    return COFFRE_OK;
}

static int
share_path(struct coffre_vault *v, char *out, size_t cap, const char *dir,
           unsigned idx)
{
    int n = snprintf(out, cap, "%s/share-%u.txt", dir, idx);

    if (n < 0 || (size_t)n >= cap) {
        return vault_fail(v, COFFRE_ERR_ARG, "share path too long: %s", dir);
    }
    return COFFRE_OK;
}

/* Nothing at ${path}, not even a dangling link; else ${what} explains. */
static int
must_be_absent(struct coffre_vault *v, const char *path, const char *what)
{
    struct stat st;

    if (lstat(path, &st) == 0) {
        return vault_fail(v, COFFRE_ERR_EXISTS, "%s already exists%s", path,
                          what);
    }
    if (errno != ENOENT) {
        return vault_fail(v, COFFRE_ERR_IO, "cannot check %s: %s", path,
                          strerror(errno));
    }
    return COFFRE_OK;
}

/* ${dir} is a directory, or nothing yet. */
static int
dir_or_nothing(struct coffre_vault *v, const char *dir)
{
    struct stat st;

    if (stat(dir, &st) == 0) {
        return S_ISDIR(st.st_mode) ? COFFRE_OK
                                   : vault_fail(v, COFFRE_ERR_EXISTS,
                                                "%s is not a directory", dir);
    }
    if (errno != ENOENT) {
        return vault_fail(v, COFFRE_ERR_IO, "cannot check %s: %s", dir,
                          strerror(errno));
    }
    return COFFRE_OK;
}

/* No store in ${dir}, nor the remains of one. */
static int
no_store(struct coffre_vault *v, const char *dir)
{
    char path[PATH_MAX];
    int rc = COFFRE_OK;

    for (size_t i = 0; i < NSTORE_FILES && rc == COFFRE_OK; i++) {
        rc = join(v, path, sizeof(path), dir, store_files[i]);
        if (rc == COFFRE_OK) {
            rc = must_be_absent(v, path, " (the remains of a store?)");
        }
        if (rc == COFFRE_ERR_EXISTS &&
            (i == 0 || strcmp(store_files[i], VAULT_STORE_RECORD) == 0)) {
            rc = vault_fail(v, rc, "%s already holds a vault", dir);
        }
    }
    return rc;
}

/* ${share_dir} is a directory or nothing, and none of the share files
 * of v->count shares is there. */
static int
init_refusals_shares(struct coffre_vault *v, const char *share_dir)
{
    char path[PATH_MAX];
    int rc = dir_or_nothing(v, share_dir);

    for (unsigned k = 1; rc == COFFRE_OK && k <= v->count; k++) {
        rc = share_path(v, path, sizeof(path), share_dir, k);
        if (rc == COFFRE_OK) {
            rc = must_be_absent(v, path,
                                " (another vault's share?): init "
                                "overwrites no share file");
        }
    }
    return rc;
}

/* What init refuses before it makes anything. */
static int
init_refusals(struct coffre_vault *v, const char *dir, const char *share_dir)
{
    char path[PATH_MAX];
    struct vault_store_sel sel;
    int rc = vault_store_resolve(dir, v->store_opts, 1, &sel, v->errmsg,
                                 sizeof(v->errmsg));

    if (rc == COFFRE_OK) {
        rc = dir_or_nothing(v, dir);
    }
    if (rc == COFFRE_OK) {
        rc = no_store(v, dir);
    }
    if (rc == COFFRE_OK) {
        rc = join(v, path, sizeof(path), dir, VAULT_LOCK_NAME);
    }
    if (rc == COFFRE_OK && share_dir != NULL) {
        rc = init_refusals_shares(v, share_dir);
    }
    return rc;
}

/* mkdir ${dir} 0700 unless it is a directory already; *${pmade} 1 if
 * this made it. */
static int
make_dir(struct coffre_vault *v, const char *dir, int *pmade)
{
    struct stat st;
    int e;

    if (mkdir(dir, 0700) == 0) {
        *pmade = 1;
        return COFFRE_OK;
    }
    e = errno;
    if (e == EEXIST) {
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
            return COFFRE_OK;
        }
        e = ENOTDIR;
    }
    return vault_fail(v, COFFRE_ERR_IO, "cannot create %s: %s", dir,
                      strerror(e));
}

/* The data directory and its lock; then, under the lock (another init may
 * have raced this one), still no store in it. */
static int
take_dir(struct coffre_vault *v, const char *dir, struct init_made *m)
{
    char lock[PATH_MAX];
    struct stat st;
    int had_lock, rc = make_dir(v, dir, &m->data_dir);

    if (rc == COFFRE_OK) {
        rc = join(v, lock, sizeof(lock), dir, VAULT_LOCK_NAME);
    }
    if (rc != COFFRE_OK) {
        return rc;
    }
    had_lock = lstat(lock, &st) == 0;
    v->dir = strdup(dir);
    if (v->dir == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    rc = vault_dir_lock(v);
    if (rc == COFFRE_OK) {
        m->lock = !had_lock;
        rc = no_store(v, dir);
    }
    return rc;
}

/* Remove ${path} (a directory if ${isdir}); the first failure is added to
 * the error message, so that nothing is left behind silently. */
static void
undo_one(struct coffre_vault *v, const char *path, int isdir, int *pfailed)
{
    int e;

    if ((isdir ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT) {
        return;
    }
    e = errno;
    if (!*pfailed) {
        size_t n = strlen(v->errmsg);

        *pfailed = 1;
        snprintf(v->errmsg + n, sizeof(v->errmsg) - n,
                 "; and %s could not be removed: %s", path, strerror(e));
    }
}

/* A failed init: remove what it made, last made first, and nothing else.
 * The paths were checked for length before anything was made. */
static void
init_undo(struct coffre_vault *v, const char *dir, const char *share_dir,
          const struct init_made *m)
{
    char path[PATH_MAX];
    int failed = 0;

    coffre_store_close(v->store); /* SQLite's files closed before they go */
    v->store = NULL;
    for (size_t i = 0; m->store && i < NSTORE_FILES; i++) {
        if (join(NULL, path, sizeof(path), dir, store_files[i]) == 0) {
            undo_one(v, path, 0, &failed);
        }
    }
    for (unsigned k = m->shares; k >= 1; k--) {
        if (share_path(NULL, path, sizeof(path), share_dir, k) == 0) {
            undo_one(v, path, 0, &failed);
        }
    }
    if (m->share_dir) {
        undo_one(v, share_dir, 1, &failed);
    }
    if (m->lock && join(NULL, path, sizeof(path), dir, VAULT_LOCK_NAME) == 0) {
        undo_one(v, path, 0, &failed); /* held: no one else has it open */
    }
    vault_dir_unlock(v);
    if (m->data_dir) {
        undo_one(v, dir, 1, &failed);
    }
}

/* A failed reseal to Shamir: remove the share files it wrote and the
 * shares directory if it made it. */
static void
reshare_undo(struct coffre_vault *v, const char *share_dir,
             const struct init_made *m)
{
    char path[PATH_MAX];
    int failed = 0;

    for (unsigned k = m->shares; k >= 1; k--) {
        if (share_path(NULL, path, sizeof(path), share_dir, k) == 0) {
            undo_one(v, path, 0, &failed);
        }
    }
    if (m->share_dir) {
        undo_one(v, share_dir, 1, &failed);
    }
}

/* Write one share file exclusively, mode 0600, never following a link. */
static int
write_share(struct coffre_vault *v, const char *dir, unsigned idx,
            const char *text)
{
    char path[PATH_MAX];
    size_t len = strlen(text);
    int fd, rc = share_path(v, path, sizeof(path), dir, idx);

    if (rc != COFFRE_OK) {
        return rc;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return vault_fail(v, COFFRE_ERR_IO, "cannot create %s: %s", path,
                          strerror(errno));
    }
    if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
        close(fd);
        unlink(path); /* made just now, exclusively: ours */
        return vault_fail(v, COFFRE_ERR_IO, "cannot write %s", path);
    }
    close(fd);
    return COFFRE_OK;
}

/* Split the root key and write the share files, counting in *${pn} those
 * written; keep the commitments. */
static int
write_shares(struct coffre_vault *v, const char *share_dir, unsigned *pn)
{
    char *texts[VAULT_MAX_SHARES] = {0};
    int rc;
    unsigned i = 0;

    v->commitments = calloc(v->count, 32);
    if (v->commitments == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    vault_root_use(v);
    rc = coffre_shamir_split(v->root, v->id, v->count, v->threshold, texts,
                             (unsigned char(*)[32])v->commitments);
    vault_root_idle(v);
    if (rc != COFFRE_OK) {
        return vault_fail(v, rc, "cannot split the root key");
    }
    for (i = 0; i < v->count && rc == COFFRE_OK; i++) {
        rc = write_share(v, share_dir, i + 1, texts[i]);
        if (rc == COFFRE_OK) {
            *pn = i + 1;
        }
    }
    for (i = 0; i < v->count; i++) {
        coffre_pmem_free(texts[i]);
    }
    return rc;
}

static int
store_vault_meta(struct coffre_vault *v)
{
    struct coffre_store *s = v->store;
    int rc;

    rc = meta_put_u32(v, "format", META_VERSION);
    if (rc == COFFRE_OK) {
        rc = s->ops->meta_put(s, "vault_id", v->id, 16);
    }
    if (rc == COFFRE_OK) {
        rc = meta_put_u32(v, "dev", (uint32_t)v->dev);
    }
    if (rc == COFFRE_OK) {
        rc = meta_put_u32(v, "threshold", v->threshold);
    }
    if (rc == COFFRE_OK) {
        rc = meta_put_u32(v, "shares", v->count);
    }
    if (rc == COFFRE_OK) {
        rc = s->ops->meta_put(s, "root_check", v->root_check, 32);
    }
    if (rc == COFFRE_OK && v->count > 0) {
        rc = s->ops->meta_put(s, "share_commitments", v->commitments,
                              (size_t)v->count * 32);
    }
    if (rc == COFFRE_OK && v->seal == COFFRE_SEAL_PKCS11) {
        rc = vault_seal_meta_put(v);
    }
    return rc;
}

/* New root key, metadata and first keys, in one transaction. */
static int
create_vault(struct coffre_vault *v, const char *share_dir, struct init_made *m)
{
    unsigned char id[16] = {0};
    int rc;

    m->store = 1; /* even if opening fails, its files may be there */
    if ((rc = vault_store_create(v, v->dir, v->store_opts)) != COFFRE_OK) {
        return rc;
    }
    coffre_rng(id, sizeof(id));
    set_id(v, id);
    v->root = coffre_key_new();
    if (v->root == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    coffre_root_check(v->root, v->id, v->root_check);
    vault_root_idle(v);
    v->opened_by = VAULT_OPENED_SHARES; /* the maker holds every share */
    if (v->p11 != NULL && (rc = vault_seal_wrap(v)) != COFFRE_OK) {
        return rc;
    }
    if (share_dir != NULL &&
        (rc = write_shares(v, share_dir, &m->shares)) != COFFRE_OK) {
        return rc;
    }
    rc = v->store->ops->begin(v->store);
    if (rc == COFFRE_OK) {
        rc = store_vault_meta(v);
    }
    if (rc == COFFRE_OK) {
        rc = vault_keys_create(v);
    }
    if (rc == COFFRE_OK) {
        rc = vault_audit_mark_init(v);
    }
    if (rc == COFFRE_OK) {
        rc = v->store->ops->commit(v->store);
    } else {
        v->store->ops->rollback(v->store);
    }
    return rc == COFFRE_OK ? rc : vault_store_fail(v, rc, "create");
}

/* Refuse, or make the directories, the store and the shares; a failure
 * removes what was made. */
static int
init_dirs_and_store(struct coffre_vault *v, const char *dir,
                    const char *share_dir)
{
    struct init_made made;
    int rc = init_refusals(v, dir, share_dir);

    memset(&made, 0, sizeof(made));
    /* The token before anything is made: a wrong PIN or label makes
     * nothing (a key made on the token stays, harmlessly). */
    if (rc == COFFRE_OK && v->p11_init != NULL) {
        rc = vault_seal_prepare(v);
    }
    if (rc == COFFRE_OK) {
        rc = take_dir(v, dir, &made);
    }
    if (rc == COFFRE_OK && share_dir != NULL) {
        rc = make_dir(v, share_dir, &made.share_dir);
    }
    if (rc == COFFRE_OK) {
        rc = create_vault(v, share_dir, &made);
    }
    vault_seal_release(v);
    v->p11_init = NULL;
    if (rc != COFFRE_OK) {
        init_undo(v, dir, share_dir, &made);
    }
    return rc;
}

int
coffre_vault_init(const char *dir, const struct coffre_init_opts *opts,
                  struct coffre_vault **pv)
{
    return coffre_vault_init_with(dir, opts, NULL, pv);
}

int
coffre_vault_init_with(const char *dir, const struct coffre_init_opts *opts,
                       const struct coffre_pkcs11 *p11,
                       struct coffre_vault **pv)
{
    struct coffre_vault *v;
    int rc;

    *pv = NULL;
    if (dir == NULL || opts == NULL || opts->share_dir == NULL) {
        return COFFRE_ERR_ARG;
    }
    v = vault_new();
    if (v == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    v->p11_init = p11;
    v->count = opts->shares != 0 ? opts->shares : 5;
    v->threshold = opts->threshold != 0 ? opts->threshold : 3;
    if (v->threshold < 2 || v->threshold > v->count ||
        v->count > VAULT_MAX_SHARES) {
        rc = vault_fail(v, COFFRE_ERR_ARG,
                        "need 2 <= threshold <= shares <= 255");
    } else {
        v->store_opts = opts->store;
        rc = init_dirs_and_store(v, dir, opts->share_dir);
    }
    *pv = v;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Reseal to a fresh custodian sharing (docs/keys.md section 8.4).     */

struct reshare {
    unsigned threshold, count;
    unsigned char *commitments;
    int seal;
};

static void
reshare_swap(struct coffre_vault *v, struct reshare *r)
{
    struct reshare cur = {v->threshold, v->count, v->commitments, v->seal};

    v->threshold = r->threshold;
    v->count = r->count;
    v->commitments = r->commitments;
    v->seal = r->seal;
    *r = cur;
}

static int
reshare_tx(struct coffre_vault *v, void *arg)
{
    struct coffre_store *s = v->store;
    int rc = meta_put_u32(v, "threshold", v->threshold);

    (void)arg;
    if (rc == COFFRE_OK) {
        rc = meta_put_u32(v, "shares", v->count);
    }
    if (rc == COFFRE_OK) {
        rc = s->ops->meta_put(s, "share_commitments", v->commitments,
                              (size_t)v->count * 32);
    }
    if (rc == COFFRE_OK) {
        rc = vault_seal_meta_put(v);
    }
    return rc;
}

/* Write the new sharing's files and commit it (lock held, consent
 * checked); a failure removes the files written and keeps the old seal. */
static int
reshare_locked(struct coffre_vault *v, const struct coffre_init_opts *opts)
{
    struct init_made made;
    struct coffre_event ev;
    struct reshare r = {opts->threshold != 0 ? opts->threshold : 3,
                        opts->shares != 0 ? opts->shares : 5, NULL,
                        COFFRE_SEAL_SHAMIR};
    int rc;

    memset(&made, 0, sizeof(made));
    if (r.threshold < 2 || r.threshold > r.count ||
        r.count > VAULT_MAX_SHARES) {
        return vault_fail(v, COFFRE_ERR_ARG,
                          "need 2 <= threshold <= shares <= 255");
    }
    vault_event(&ev, COFFRE_OP_KEY_RESEAL, 0, 0);
    reshare_swap(v, &r); /* r holds the old sharing now */
    rc = init_refusals_shares(v, opts->share_dir);
    if (rc == COFFRE_OK) {
        rc = make_dir(v, opts->share_dir, &made.share_dir);
    }
    if (rc == COFFRE_OK) {
        rc = write_shares(v, opts->share_dir, &made.shares);
    }
    if (rc == COFFRE_OK) {
        rc = vault_tx_audited(v, &ev, reshare_tx, NULL);
    }
    if (rc == COFFRE_OK) {
        free(r.commitments);
        memset(v->p11_module, 0, sizeof(v->p11_module));
        memset(v->p11_token, 0, sizeof(v->p11_token));
        memset(v->p11_key, 0, sizeof(v->p11_key));
        sodium_memzero(v->p11_blob, sizeof(v->p11_blob));
        return COFFRE_OK;
    }
    reshare_undo(v, opts->share_dir, &made);
    free(v->commitments);
    reshare_swap(v, &r);
    return rc;
}

int
coffre_vault_reseal_shamir(struct coffre_vault *v,
                           const struct coffre_init_opts *opts)
{
    int rc;

    if (opts == NULL || opts->share_dir == NULL) {
        return vault_fail(v, COFFRE_ERR_ARG, "no shares directory given");
    }
    pthread_mutex_lock(&v->lock);
    rc = vault_reseal_consent(v);
    if (rc == COFFRE_OK) {
        rc = reshare_locked(v, opts);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int
coffre_vault_open_dev(const char *dir, struct coffre_vault **pv)
{
    return coffre_vault_open_dev_store(dir, NULL, pv);
}

int
coffre_vault_open_dev_store(const char *dir, const struct coffre_store_opts *so,
                            struct coffre_vault **pv)
{
    struct coffre_vault *v;

    *pv = NULL;
    v = vault_new();
    if (v == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    v->dev = 1;
    v->store_opts = so;
    *pv = v;
    return init_dirs_and_store(v, dir, NULL);
}

static int
load_vault_meta(struct coffre_vault *v)
{
    uint32_t fmt = 0, dev = 0, m = 0, n = 0;
    unsigned char id[16] = {0};
    int rc;

    rc = meta_get_u32(v, "format", &fmt);
    if (rc == COFFRE_ERR_NOTFOUND) {
        return vault_fail(v, COFFRE_ERR_NOTFOUND, "no vault in this store");
    }
    if (rc == COFFRE_OK && fmt != META_VERSION) {
        return vault_fail(v, COFFRE_ERR_STORE, "unknown vault format %u", fmt);
    }
    if (rc == COFFRE_OK) {
        rc = meta_get_exact(v, "vault_id", id, 16);
    }
    if (rc == COFFRE_OK) {
        set_id(v, id);
        rc = meta_get_u32(v, "dev", &dev);
    }
    if (rc == COFFRE_OK && dev != 0) {
        return vault_fail(v, COFFRE_ERR_SEALED,
                          "a development vault cannot be reopened: its "
                          "root key lived in memory only");
    }
    if (rc == COFFRE_OK) {
        rc = meta_get_u32(v, "threshold", &m);
    }
    if (rc == COFFRE_OK) {
        rc = meta_get_u32(v, "shares", &n);
    }
    if (rc == COFFRE_OK && (m < 2 || m > n || n > VAULT_MAX_SHARES)) {
        return vault_fail(v, COFFRE_ERR_STORE, "corrupt share parameters");
    }
    if (rc == COFFRE_OK) {
        rc = meta_get_exact(v, "root_check", v->root_check, 32);
    }
    if (rc == COFFRE_OK) {
        v->threshold = m;
        v->count = n;
        v->commitments = calloc(n, 32);
        rc = v->commitments == NULL
                 ? COFFRE_ERR_NOMEM
                 : meta_get_exact(v, "share_commitments", v->commitments,
                                  (size_t)n * 32);
    }
    if (rc == COFFRE_OK) {
        rc = vault_seal_meta_load(v);
    }
    return rc;
}

int
coffre_vault_open(const char *dir, struct coffre_vault **pv)
{
    return coffre_vault_open_store(dir, NULL, pv);
}

int
coffre_vault_open_store(const char *dir, const struct coffre_store_opts *so,
                        struct coffre_vault **pv)
{
    struct coffre_vault *v;
    char db[PATH_MAX];
    int rc;

    *pv = NULL;
    v = vault_new();
    if (v == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    *pv = v;
    if (db_path(db, sizeof(db), dir) != COFFRE_OK) {
        return vault_fail(v, COFFRE_ERR_ARG, "path too long: %s", dir);
    }
    v->dir = strdup(dir);
    if (v->dir == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    rc = vault_store_attach(v, dir, so);
    return rc == COFFRE_OK ? load_vault_meta(v) : rc;
}

static void
forget_pending(struct coffre_vault *v)
{
    for (unsigned i = 0; i < v->npending; i++) {
        coffre_share_clear(&v->pending[i]);
        v->pending_by[i][0] = '\0';
    }
    v->npending = 0;
}

/* The threshold counts distinct custodians: has ${by} given one? */
static int
given_by(const struct coffre_vault *v, const char *by)
{
    for (unsigned i = 0; by != NULL && i < v->npending; i++) {
        if (strcmp(v->pending_by[i], by) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Check one parsed share against this vault: id, range, commitment. */
static int
check_share(struct coffre_vault *v, const struct coffre_share *sh)
{
    unsigned char c[32];

    if (sodium_memcmp(sh->vault_id, v->id, 16) != 0) {
        return vault_fail(v, COFFRE_ERR_SHARE,
                          "share %u belongs to another vault", sh->index);
    }
    if (sh->index < 1 || sh->index > v->count ||
        sh->threshold != v->threshold || sh->count != v->count) {
        return vault_fail(v, COFFRE_ERR_SHARE,
                          "share %u does not match this vault's %u-of-%u "
                          "sharing",
                          sh->index, v->threshold, v->count);
    }
    coffre_share_commitment(sh, c);
    if (sodium_memcmp(c, v->commitments + (sh->index - 1) * 32, 32) != 0) {
        return vault_fail(v, COFFRE_ERR_SHARE,
                          "share %u is not the one issued by this vault",
                          sh->index);
    }
    for (unsigned i = 0; i < v->npending; i++) {
        if (v->pending[i].index == sh->index) {
            return vault_fail(v, COFFRE_ERR_SHARE, "share %u was already given",
                              sh->index);
        }
    }
    return COFFRE_OK;
}

/* Before a vault serves: one process at a time, and a store that passes
 * its integrity check (docs/storage.md). */
static int
unsealed_checks(struct coffre_vault *v)
{
    char msg[200];
    int rc = vault_dir_lock(v);

    if (rc == COFFRE_OK && v->store->ops->check != NULL &&
        v->store->ops->check(v->store, msg, sizeof(msg)) != COFFRE_OK) {
        rc = vault_fail(v, COFFRE_ERR_STORE,
                        "the store fails its integrity check (%s): "
                        "restore it from a backup",
                        msg);
    }
    return rc;
}

/* Enough shares: rebuild the root key, check it, load the keys. */
static int
combine(struct coffre_vault *v)
{
    unsigned char check[32];
    struct coffre_key *root = NULL;
    int rc;

    rc = coffre_shamir_combine(v->pending, v->npending, &root);
    forget_pending(v);
    if (rc != COFFRE_OK) {
        return vault_fail(v, rc, "the shares do not combine");
    }
    coffre_root_check(root, v->id, check);
    if (sodium_memcmp(check, v->root_check, 32) != 0) {
        coffre_key_destroy(root);
        return vault_fail(v, COFFRE_ERR_THRESHOLD,
                          "the shares given rebuild a wrong root key; "
                          "all were forgotten, start again");
    }
    return vault_root_install(v, root, VAULT_OPENED_SHARES);
}

int
vault_root_install(struct coffre_vault *v, struct coffre_key *root, int by)
{
    int rc;

    v->root = root;
    v->opened_by = by;
    vault_root_idle(v);
    rc = unsealed_checks(v);
    if (rc == COFFRE_OK) {
        rc = vault_keys_load(v);
    }
    if (rc != COFFRE_OK) {
        vault_keys_forget(v);
        vault_dir_unlock(v);
        v->opened_by = VAULT_OPENED_NONE;
    }
    return rc;
}

int
coffre_vault_unseal_as(struct coffre_vault *v, const char *share,
                       const char *by, unsigned *have, unsigned *need)
{
    struct coffre_share sh;
    int rc;

    pthread_mutex_lock(&v->lock);
    if (v->root != NULL) {
        rc = COFFRE_OK;
        goto out;
    }
    if (by != NULL && (by[0] == '\0' || strlen(by) > COFFRE_UNSEAL_BY_MAX)) {
        rc = vault_fail(v, COFFRE_ERR_ARG, "a giver's name is 1 to %d bytes",
                        COFFRE_UNSEAL_BY_MAX);
        goto out;
    }
    if (given_by(v, by)) {
        rc = vault_fail(v, COFFRE_ERR_EXISTS,
                        "%s gave a share already; the threshold counts "
                        "distinct custodians",
                        by);
        goto out;
    }
    memset(&sh, 0, sizeof(sh));
    rc = coffre_share_parse(share, &sh);
    if (rc != COFFRE_OK) {
        rc = vault_fail(v, rc, "the share is malformed or damaged");
        goto out;
    }
    rc = check_share(v, &sh);
    if (rc != COFFRE_OK) {
        coffre_share_clear(&sh);
        goto out;
    }
    snprintf(v->pending_by[v->npending], sizeof(v->pending_by[0]), "%s",
             by != NULL ? by : "");
    v->pending[v->npending++] = sh;
    if (v->npending >= v->threshold) {
        rc = combine(v);
    }
out:
    if (have != NULL) {
        *have = v->root != NULL ? v->threshold : v->npending;
    }
    if (need != NULL) {
        *need = v->threshold;
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int
coffre_vault_unseal(struct coffre_vault *v, const char *share, unsigned *have,
                    unsigned *need)
{
    return coffre_vault_unseal_as(v, share, NULL, have, need);
}

void
coffre_vault_unseal_progress(struct coffre_vault *v, unsigned *have,
                             unsigned *need)
{
    pthread_mutex_lock(&v->lock);
    *have = v->root != NULL ? v->threshold : v->npending;
    *need = v->threshold;
    pthread_mutex_unlock(&v->lock);
}

int
coffre_vault_seal(struct coffre_vault *v)
{
    pthread_mutex_lock(&v->lock);
    forget_pending(v);
    vault_keys_forget(v);
    vault_dir_unlock(v);
    v->opened_by = VAULT_OPENED_NONE;
    pthread_mutex_unlock(&v->lock);
    return COFFRE_OK;
}

int
coffre_vault_is_sealed(const struct coffre_vault *v)
{
    return v->root == NULL;
}

const char *
coffre_vault_id(const struct coffre_vault *v)
{
    return v->id_hex;
}

const char *
coffre_vault_errmsg(const struct coffre_vault *v)
{
    return v != NULL ? v->errmsg : "no vault";
}

void
coffre_vault_set_vetting_deadline(struct coffre_vault *v, int64_t secs)
{
    pthread_mutex_lock(&v->lock);
    v->vetting_deadline = secs;
    pthread_mutex_unlock(&v->lock);
}

void
coffre_vault_close(struct coffre_vault *v)
{
    if (v == NULL) {
        return;
    }
    if (v->audit_fn != NULL) {
        (void)v->audit_fn(v->audit_arg, NULL, NULL); /* closing */
    }
    forget_pending(v);
    vault_keys_forget(v);
    vault_dir_unlock(v);
    coffre_store_close(v->store);
    free(v->commitments);
    free(v->dir);
    pthread_mutex_destroy(&v->lock);
    sodium_memzero(v, sizeof(*v));
    free(v);
}

int
coffre_vault_stats(struct coffre_vault *v, struct coffre_vault_stats *st)
{
    int rc;

    memset(st, 0, sizeof(*st));
    pthread_mutex_lock(&v->lock);
    rc = v->store->ops->stats(v->store, &st->persons, &st->erased);
    st->kek_current = v->kek_current;
    st->kek_versions = v->nkeks;
    pthread_mutex_unlock(&v->lock);
    return rc == COFFRE_OK ? rc : vault_store_fail(v, rc, "stats");
}
