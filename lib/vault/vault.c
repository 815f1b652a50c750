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
    if (rc == COFFRE_ERR_STORE) {
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

/* Create the directory (0700) if needed and make sure it holds no vault. */
static int
prepare_dir(struct coffre_vault *v, const char *dir, char *db, size_t dbcap)
{
    struct stat st;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return vault_fail(v, COFFRE_ERR_IO, "cannot create %s: %s", dir,
                          strerror(errno));
    }
    if (db_path(db, dbcap, dir) != COFFRE_OK) {
        return vault_fail(v, COFFRE_ERR_ARG, "path too long: %s", dir);
    }
    if (lstat(db, &st) == 0) {
        return vault_fail(v, COFFRE_ERR_EXISTS, "%s already holds a vault",
                          dir);
    }
    v->dir = strdup(dir);
    return v->dir != NULL ? vault_dir_lock(v) : COFFRE_ERR_NOMEM;
}

/* Write one share file exclusively, mode 0600, never following a link. */
static int
write_share(struct coffre_vault *v, const char *dir, unsigned idx,
            const char *text)
{
    char path[PATH_MAX];
    size_t len = strlen(text);
    int fd, n;

    n = snprintf(path, sizeof(path), "%s/share-%u.txt", dir, idx);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        return vault_fail(v, COFFRE_ERR_ARG, "share path too long");
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return vault_fail(v, COFFRE_ERR_IO, "cannot create %s: %s", path,
                          strerror(errno));
    }
    if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
        close(fd);
        unlink(path);
        return vault_fail(v, COFFRE_ERR_IO, "cannot write %s", path);
    }
    close(fd);
    return COFFRE_OK;
}

static void
remove_shares(const char *dir, unsigned n)
{
    char path[PATH_MAX];

    for (unsigned i = 1; i <= n; i++) {
        snprintf(path, sizeof(path), "%s/share-%u.txt", dir, i);
        unlink(path);
    }
}

/* Split the root key and write the share files; keep the commitments. */
static int
write_shares(struct coffre_vault *v, const char *share_dir)
{
    char *texts[VAULT_MAX_SHARES] = {0};
    int rc;
    unsigned i = 0;

    if (mkdir(share_dir, 0700) != 0 && errno != EEXIST) {
        return vault_fail(v, COFFRE_ERR_IO, "cannot create %s: %s", share_dir,
                          strerror(errno));
    }
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
    }
    if (rc != COFFRE_OK) {
        remove_shares(share_dir, i);
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
    return rc;
}

/* New root key, metadata and first keys, in one transaction. */
static int
create_vault(struct coffre_vault *v, const char *db, const char *share_dir)
{
    unsigned char id[16] = {0};
    int rc;

    rc = coffre_store_open_sqlite(db, &v->store);
    if (rc != COFFRE_OK) {
        return vault_fail(v, rc, "cannot create the store %s", db);
    }
    coffre_rng(id, sizeof(id));
    set_id(v, id);
    v->root = coffre_key_new();
    if (v->root == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    coffre_root_check(v->root, v->id, v->root_check);
    vault_root_idle(v);
    if (share_dir != NULL && (rc = write_shares(v, share_dir)) != COFFRE_OK) {
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
    if (rc != COFFRE_OK && share_dir != NULL) {
        remove_shares(share_dir, v->count);
    }
    return rc == COFFRE_OK ? rc : vault_store_fail(v, rc, "create");
}

int
coffre_vault_init(const char *dir, const struct coffre_init_opts *opts,
                  struct coffre_vault **pv)
{
    struct coffre_vault *v;
    char db[PATH_MAX];
    int rc;

    *pv = NULL;
    if (dir == NULL || opts == NULL || opts->share_dir == NULL) {
        return COFFRE_ERR_ARG;
    }
    v = vault_new();
    if (v == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    v->count = opts->shares != 0 ? opts->shares : 5;
    v->threshold = opts->threshold != 0 ? opts->threshold : 3;
    if (v->threshold < 2 || v->threshold > v->count ||
        v->count > VAULT_MAX_SHARES) {
        rc = vault_fail(v, COFFRE_ERR_ARG,
                        "need 2 <= threshold <= shares <= 255");
    } else {
        rc = prepare_dir(v, dir, db, sizeof(db));
    }
    if (rc == COFFRE_OK) {
        rc = create_vault(v, db, opts->share_dir);
    }
    *pv = v;
    return rc;
}

int
coffre_vault_open_dev(const char *dir, struct coffre_vault **pv)
{
    struct coffre_vault *v;
    char db[PATH_MAX];
    int rc;

    *pv = NULL;
    v = vault_new();
    if (v == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    v->dev = 1;
    rc = prepare_dir(v, dir, db, sizeof(db));
    if (rc == COFFRE_OK) {
        rc = create_vault(v, db, NULL);
    }
    *pv = v;
    return rc;
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
    return rc;
}

int
coffre_vault_open(const char *dir, struct coffre_vault **pv)
{
    struct coffre_vault *v;
    char db[PATH_MAX];
    struct stat st;
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
    if (stat(db, &st) != 0) {
        return vault_fail(v, COFFRE_ERR_NOTFOUND, "no vault in %s", dir);
    }
    v->dir = strdup(dir);
    if (v->dir == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    rc = coffre_store_open_sqlite(db, &v->store);
    if (rc != COFFRE_OK) {
        return vault_fail(v, rc, "cannot open the store %s", db);
    }
    return load_vault_meta(v);
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
    v->root = root;
    vault_root_idle(v);
    rc = unsealed_checks(v);
    if (rc == COFFRE_OK) {
        rc = vault_keys_load(v);
    }
    if (rc != COFFRE_OK) {
        vault_keys_forget(v);
        vault_dir_unlock(v);
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
