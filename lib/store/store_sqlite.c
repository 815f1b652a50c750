/*
 * The SQLite backend of the storage interface (store.h; schema and
 * guarantees in docs/storage.md).
 *
 * One connection, used by one thread at a time. Every statement is prepared
 * once (SQLITE_PREPARE_PERSISTENT) on first use and reset after each use, so
 * that the bulk path (person_insert inside a large transaction) is two bound
 * INSERTs per row with no SQL text built and no allocation of ours.
 * Parameters are bound SQLITE_STATIC: the caller's buffers outlive the step.
 */
#include "store/store.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "util/secmem.h"

#define BUSY_MS 5000
#define NEXT_ID_KEY "store.next_id"
/* the page cache outside bulk loads (see pragma_sql) */
#define CACHE_SIZE_SQL "PRAGMA cache_size = -65536;"
#define ERASED_STATE "7" /* COFFRE_STATE_ERASED, checked below */

_Static_assert(COFFRE_STATE_ERASED == 7, "ERASED_STATE in SQL text");
_Static_assert(COFFRE_STATE_VETTING == 1, "state 1 in SQL text");
_Static_assert(COFFRE_TAG_COUNT == 5, "tag columns");
_Static_assert(COFFRE_CLASS_COUNT == 6, "class columns");

/*
 * The photo column comes last in the table: SQLite reads a row's overflow
 * pages only for the columns asked for, so rows read without their photo
 * never touch its pages.
 */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS kek(version INTEGER PRIMARY KEY,"
    " wrapped BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS epoch_key(epoch INTEGER PRIMARY KEY,"
    " wrapped BLOB, destroyed INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS person(id INTEGER PRIMARY KEY,"
    " state INTEGER NOT NULL, epoch INTEGER NOT NULL,"
    " dk_gen INTEGER NOT NULL, retain_until INTEGER NOT NULL,"
    " deadline INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " tag_document BLOB, tag_email BLOB, tag_name_dob BLOB,"
    " tag_source BLOB, tag_category BLOB,"
    " c_public BLOB, c_identity BLOB, c_contact BLOB, c_document BLOB,"
    " c_vetting BLOB, c_photo BLOB);"
    "CREATE INDEX IF NOT EXISTS person_document ON person(tag_document)"
    " WHERE tag_document IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS person_email ON person(tag_email)"
    " WHERE tag_email IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS person_name_dob ON person(tag_name_dob)"
    " WHERE tag_name_dob IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS person_source ON person(tag_source)"
    " WHERE tag_source IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS person_state ON person(state, id);"
    "CREATE INDEX IF NOT EXISTS person_vetting_due ON person(deadline)"
    " WHERE state = 1 AND deadline > 0;"
    "CREATE TABLE IF NOT EXISTS dkey("
    " id INTEGER PRIMARY KEY REFERENCES person(id),"
    " kek_version INTEGER NOT NULL REFERENCES kek(version),"
    " epoch INTEGER NOT NULL, wrapped BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS dkey_kek ON dkey(kek_version);";

#define PERSON_COLS                                                            \
    "state, epoch, dk_gen, retain_until, deadline, updated, tag_document, "    \
    "tag_email, tag_name_dob, tag_source, tag_category, c_public, "            \
    "c_identity, c_contact, c_document, c_photo, c_vetting"
#define ERASE_SET                                                              \
    "UPDATE person SET state = " ERASED_STATE ", dk_gen = 0, "                 \
    "retain_until = 0, deadline = 0, updated = ?2, tag_document = NULL, "      \
    "tag_email = NULL, tag_name_dob = NULL, tag_source = NULL, "               \
    "tag_category = NULL, c_public = NULL, c_identity = NULL, "                \
    "c_contact = NULL, c_document = NULL, c_photo = NULL, c_vetting = NULL "

enum stmt {
    Q_BEGIN,
    Q_BEGIN_READ,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_META_GET,
    Q_META_PUT,
    Q_KEK_PUT,
    Q_KEK_GET,
    Q_KEK_LIST,
    Q_KEK_USED,
    Q_KEK_DELETE,
    Q_EPOCH_PUT,
    Q_EPOCH_GET,
    Q_EPOCH_DESTROY,
    Q_P_INSERT,
    Q_DK_INSERT,
    Q_P_STATE,
    Q_P_UPDATE,
    Q_DK_UPDATE,
    Q_P_GET,
    Q_DK_GET,
    Q_P_SET_STATE,
    Q_FIND0, /* one per tag kind, in enum coffre_tag_kind order */
    Q_FIND1,
    Q_FIND2,
    Q_FIND3,
    Q_FIND4,
    Q_LIST_ANY,
    Q_LIST_STATE,
    Q_LIST_CAT,
    Q_LIST_BOTH,
    Q_DUE_VETTING,
    Q_DUE_RETAIN,
    Q_P_ERASE,
    Q_DK_DELETE,
    Q_EP_DK_DELETE,
    Q_EP_P_ERASE,
    Q_DK_BELOW,
    Q_DK_COUNT,
    Q_STATS,
    Q_P_NEXT,
    Q_TOMB_INSERT,
    Q_EPOCH_NEXT,
    Q_META_NEXT,
    Q__COUNT
};

static const char *const stmt_sql[Q__COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_BEGIN_READ] = "BEGIN",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_META_GET] = "SELECT v FROM meta WHERE k = ?1",
    [Q_META_PUT] = "INSERT INTO meta(k, v) VALUES(?1, ?2)"
                   " ON CONFLICT(k) DO UPDATE SET v = excluded.v",
    [Q_KEK_PUT] = "INSERT INTO kek(version, wrapped) VALUES(?1, ?2)",
    [Q_KEK_GET] = "SELECT wrapped FROM kek WHERE version = ?1",
    [Q_KEK_LIST] = "SELECT version FROM kek ORDER BY version",
    [Q_KEK_USED] = "SELECT 1 FROM dkey WHERE kek_version = ?1 LIMIT 1",
    [Q_KEK_DELETE] = "DELETE FROM kek WHERE version = ?1",
    [Q_EPOCH_PUT] = "INSERT INTO epoch_key(epoch, wrapped) VALUES(?1, ?2)",
    [Q_EPOCH_GET] = "SELECT wrapped, destroyed FROM epoch_key"
                    " WHERE epoch = ?1",
    [Q_EPOCH_DESTROY] = "UPDATE epoch_key SET wrapped = NULL, destroyed = 1"
                        " WHERE epoch = ?1",
    [Q_P_INSERT] = "INSERT INTO person(id, state, epoch, dk_gen,"
                   " retain_until, deadline, updated, tag_document,"
                   " tag_email, tag_name_dob, tag_source, tag_category,"
                   " c_public, c_identity, c_contact, c_document, c_photo,"
                   " c_vetting) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
                   " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    [Q_DK_INSERT] = "INSERT INTO dkey(id, kek_version, epoch, wrapped)"
                    " VALUES(?1, ?2, ?3, ?4)",
    [Q_P_STATE] = "SELECT state FROM person WHERE id = ?1",
    [Q_P_UPDATE] = "UPDATE person SET state = ?2, epoch = ?3, dk_gen = ?4,"
                   " retain_until = ?5, deadline = ?6, updated = ?7,"
                   " tag_document = ?8, tag_email = ?9, tag_name_dob = ?10,"
                   " tag_source = ?11, tag_category = ?12, c_public = ?13,"
                   " c_identity = ?14, c_contact = ?15, c_document = ?16,"
                   " c_photo = ?17, c_vetting = ?18 WHERE id = ?1",
    [Q_DK_UPDATE] = "UPDATE dkey SET kek_version = ?2, epoch = ?3,"
                    " wrapped = ?4 WHERE id = ?1",
    [Q_P_GET] = "SELECT " PERSON_COLS " FROM person WHERE id = ?1",
    [Q_DK_GET] = "SELECT kek_version, epoch, wrapped FROM dkey WHERE id = ?1",
    [Q_P_SET_STATE] = "UPDATE person SET state = ?2, deadline = ?3,"
                      " updated = ?4 WHERE id = ?1 AND state <> " ERASED_STATE,
    [Q_FIND0] = "SELECT id FROM person WHERE tag_document = ?1 ORDER BY id",
    [Q_FIND1] = "SELECT id FROM person WHERE tag_email = ?1 ORDER BY id",
    [Q_FIND2] = "SELECT id FROM person WHERE tag_name_dob = ?1 ORDER BY id",
    [Q_FIND3] = "SELECT id FROM person WHERE tag_source = ?1 ORDER BY id",
    [Q_FIND4] = "SELECT id FROM person WHERE tag_category = ?1 ORDER BY id",
    [Q_LIST_ANY] = "SELECT id FROM person WHERE id > ?1"
                   " AND state <> " ERASED_STATE " ORDER BY id LIMIT ?2",
    [Q_LIST_STATE] = "SELECT id FROM person WHERE state = ?3 AND id > ?1"
                     " ORDER BY id LIMIT ?2",
    [Q_LIST_CAT] =
        "SELECT id FROM person WHERE id > ?1 AND state <> " ERASED_STATE
        " AND tag_category = ?4 ORDER BY id LIMIT ?2",
    [Q_LIST_BOTH] = "SELECT id FROM person WHERE state = ?3 AND id > ?1"
                    " AND tag_category = ?4 ORDER BY id LIMIT ?2",
    [Q_DUE_VETTING] = "SELECT id FROM person WHERE state = 1 AND deadline > 0"
                      " AND deadline < ?1 ORDER BY id LIMIT ?2",
    [Q_DUE_RETAIN] = "SELECT id FROM person WHERE state <> " ERASED_STATE
                     " AND retain_until > 0 AND retain_until < ?1"
                     " ORDER BY id LIMIT ?2",
    [Q_P_ERASE] = ERASE_SET "WHERE id = ?1",
    [Q_DK_DELETE] = "DELETE FROM dkey WHERE id = ?1",
    [Q_EP_DK_DELETE] = "DELETE FROM dkey WHERE id IN (SELECT id FROM person"
                       " WHERE epoch = ?1 AND state <> " ERASED_STATE ")",
    [Q_EP_P_ERASE] = ERASE_SET "WHERE epoch = ?1 AND state <> " ERASED_STATE,
    [Q_DK_BELOW] = "SELECT id, kek_version, epoch, wrapped FROM dkey"
                   " WHERE kek_version < ?1 ORDER BY kek_version, id"
                   " LIMIT ?2",
    [Q_DK_COUNT] = "SELECT count(*) FROM dkey WHERE kek_version = ?1",
    [Q_STATS] = "SELECT (SELECT count(*) FROM person), (SELECT count(*)"
                " FROM person WHERE state = " ERASED_STATE ")",
    [Q_P_NEXT] = "SELECT id FROM person WHERE id > ?1 ORDER BY id LIMIT 1",
    [Q_TOMB_INSERT] = "INSERT INTO person(id, state, epoch, dk_gen,"
                      " retain_until, deadline, updated)"
                      " VALUES(?1, " ERASED_STATE ", ?2, 0, 0, 0, ?3)",
    [Q_EPOCH_NEXT] = "SELECT epoch, wrapped, destroyed FROM epoch_key"
                     " WHERE epoch > ?1 ORDER BY epoch LIMIT 1",
    /* TEXT compares bytewise (BINARY collation) */
    [Q_META_NEXT] = "SELECT k, v FROM meta WHERE k > ?1"
                    " AND substr(k, 1, 6) <> 'store.' ORDER BY k LIMIT 1",
};

struct sq {
    struct coffre_store base;
    sqlite3 *db;
    int in_tx;          /* inside a caller's begin/commit */
    int erased_pending; /* an erasure awaits its WAL checkpoint */
    uint64_t id_hw;     /* ids below were handed out by this handle */
    sqlite3_stmt *st[Q__COUNT];
};

static struct sq *
sq_of(struct coffre_store *s)
{
    return (struct sq *)s;
}

static int
sq_fail(struct sq *s, int src)
{
    snprintf(s->base.errmsg, sizeof(s->base.errmsg), "sqlite: %s (%d)",
             sqlite3_errmsg(s->db), src);
    if ((src & 0xff) == SQLITE_BUSY || (src & 0xff) == SQLITE_LOCKED) {
        return COFFRE_ERR_UNAVAILABLE;
    }
    return COFFRE_ERR_STORE;
}

static int
q(struct sq *s, enum stmt k, sqlite3_stmt **pst)
{
    int src;

    if (s->st[k] == NULL) {
        src = sqlite3_prepare_v3(s->db, stmt_sql[k], -1,
                                 SQLITE_PREPARE_PERSISTENT, &s->st[k], NULL);
        if (src != SQLITE_OK) {
            return sq_fail(s, src);
        }
    }
    *pst = s->st[k];
    return COFFRE_OK;
}

/* Step a statement that returns no row; reset it in any case. */
static int
run(struct sq *s, sqlite3_stmt *st)
{
    int src = sqlite3_step(st);
    int rc = COFFRE_OK;

    if (src != SQLITE_DONE && src != SQLITE_ROW) {
        rc = sq_fail(s, src);
    }
    sqlite3_reset(st);
    return rc;
}

static int
run_k(struct sq *s, enum stmt k)
{
    sqlite3_stmt *st;
    int rc = q(s, k, &st);

    return rc != COFFRE_OK ? rc : run(s, st);
}

static int
bind_id(struct sq *s, sqlite3_stmt *st, int i, uint64_t v)
{
    if (v > (uint64_t)INT64_MAX) {
        return COFFRE_ERR_ARG;
    }
    if (sqlite3_bind_int64(st, i, (sqlite3_int64)v) != SQLITE_OK) {
        return sq_fail(s, sqlite3_errcode(s->db));
    }
    return COFFRE_OK;
}

static int
bind_blob(struct sq *s, sqlite3_stmt *st, int i, const void *p, size_t len)
{
    int src;

    if (len > COFFRE_STORE_CT_MAX) {
        return COFFRE_ERR_TOOBIG;
    }
    src = p == NULL ? sqlite3_bind_null(st, i)
                    : sqlite3_bind_blob(st, i, p, (int)len, SQLITE_STATIC);
    return src == SQLITE_OK ? COFFRE_OK : sq_fail(s, src);
}

/* Copy a BLOB column into a capped buffer (replacing its content). */
static int
col_buf(struct sq *s, sqlite3_stmt *st, int i, struct coffre_buf *out)
{
    const void *p = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);

    if (n < 0 || (n > 0 && p == NULL)) {
        return sq_fail(s, sqlite3_errcode(s->db));
    }
    coffre_buf_reset(out);
    return coffre_buf_add(out, p, (size_t)n);
}

/*
 * Transactions. A multi-statement operation outside the caller's
 * transaction runs in its own; inside, it relies on the caller's.
 */
static int
tx_open_k(struct sq *s, int *own, enum stmt begin)
{
    int rc;

    *own = 0;
    if (s->in_tx) {
        return COFFRE_OK;
    }
    rc = run_k(s, begin);
    *own = rc == COFFRE_OK;
    return rc;
}

/* Writers take the write lock at once (BEGIN IMMEDIATE): a deferred
 * transaction that reads then writes can fail to upgrade under load. */
static int
tx_open(struct sq *s, int *own)
{
    return tx_open_k(s, own, Q_BEGIN);
}

/*
 * Erased ciphertexts and data keys still sit in the WAL's older frames
 * until they are checkpointed into the database (where secure_delete has
 * zeroed them) and the WAL is rewound. A passive checkpoint never waits;
 * the truncating one is only tried without waiting, so that an erasure
 * never stalls on a reader: when it cannot run now, the next checkpoint
 * or close does the work.
 */
static void
wal_scrub(struct sq *s)
{
    s->erased_pending = 0;
    (void)sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                    NULL, NULL);
    sqlite3_busy_timeout(s->db, 0);
    (void)sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                    NULL, NULL);
    sqlite3_busy_timeout(s->db, BUSY_MS);
}

static int
tx_close(struct sq *s, int own, int rc)
{
    if (!own) {
        return rc;
    }
    if (rc == COFFRE_OK) {
        rc = run_k(s, Q_COMMIT);
        if (rc == COFFRE_OK) {
            if (s->erased_pending) {
                wal_scrub(s);
            }
            return rc;
        }
    }
    (void)run_k(s, Q_ROLLBACK);
    s->erased_pending = 0;
    return rc;
}

/* ---- meta --------------------------------------------------------- */

static int
meta_key_ok(const char *key)
{
    size_t n;

    if (key == NULL) {
        return 0;
    }
    n = strlen(key);
    return n > 0 && n <= COFFRE_STORE_KEY_MAX && strncmp(key, "store.", 6);
}

static int
meta_get_raw(struct sq *s, const char *key, struct coffre_buf *out)
{
    sqlite3_stmt *st;
    int rc, src;

    if ((rc = q(s, Q_META_GET, &st)) != COFFRE_OK) {
        return rc;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        rc = col_buf(s, st, 0, out);
    } else {
        rc = src == SQLITE_DONE ? COFFRE_ERR_NOTFOUND : sq_fail(s, src);
    }
    sqlite3_reset(st);
    return rc;
}

static int
meta_put_raw(struct sq *s, const char *key, const void *p, size_t len)
{
    sqlite3_stmt *st;
    int rc;

    if ((rc = q(s, Q_META_PUT, &st)) != COFFRE_OK) {
        return rc;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    /* a zero-length value is an empty BLOB, not NULL */
    sqlite3_bind_blob(st, 2, p != NULL ? p : "", (int)len, SQLITE_STATIC);
    return run(s, st);
}

static int
sq_meta_get(struct coffre_store *s, const char *key, struct coffre_buf *out)
{
    if (!meta_key_ok(key) || out == NULL) {
        return COFFRE_ERR_ARG;
    }
    return meta_get_raw(sq_of(s), key, out);
}

static int
sq_meta_put(struct coffre_store *s, const char *key, const void *p, size_t len)
{
    if (!meta_key_ok(key) || (p == NULL && len > 0)) {
        return COFFRE_ERR_ARG;
    }
    if (len > COFFRE_STORE_META_MAX) {
        return COFFRE_ERR_TOOBIG;
    }
    return meta_put_raw(sq_of(s), key, p, len);
}

/* One writer at a time (the data directory's lock, the write lock of a
 * transaction): a look then a put is enough. */
static int
sq_meta_add(struct coffre_store *s, const char *key, const void *p, size_t len)
{
    struct coffre_buf b;
    int rc;

    if (!meta_key_ok(key) || (p == NULL && len > 0)) {
        return COFFRE_ERR_ARG;
    }
    coffre_buf_init(&b, COFFRE_STORE_META_MAX);
    rc = s->ops->meta_get(s, key, &b);
    coffre_buf_free(&b);
    if (rc == COFFRE_OK) {
        return COFFRE_ERR_EXISTS;
    }
    return rc == COFFRE_ERR_NOTFOUND ? sq_meta_put(s, key, p, len) : rc;
}

/* ---- key-encryption and epoch keys ------------------------------------ */

static int
sq_kek_put(struct coffre_store *store, uint32_t version, const void *wrapped,
           size_t len)
{
    struct sq *s = sq_of(store);
    sqlite3_stmt *st;
    int rc, src;

    if (version == 0 || wrapped == NULL || len == 0 ||
        len > COFFRE_WRAPPED_MAX) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = q(s, Q_KEK_PUT, &st)) != COFFRE_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, version);
    sqlite3_bind_blob(st, 2, wrapped, (int)len, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_CONSTRAINT_PRIMARYKEY) {
        rc = COFFRE_ERR_EXISTS;
    } else if (src != SQLITE_DONE) {
        rc = sq_fail(s, src);
    }
    sqlite3_reset(st);
    return rc;
}

/* Fetch one BLOB by an integer key; NOTFOUND when no row. */
static int
get_blob_by(struct sq *s, enum stmt k, int64_t key, struct coffre_buf *out,
            int *pnull)
{
    sqlite3_stmt *st;
    int rc, src;

    if ((rc = q(s, k, &st)) != COFFRE_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, key);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *pnull = sqlite3_column_type(st, 0) == SQLITE_NULL;
        rc = *pnull ? COFFRE_OK : col_buf(s, st, 0, out);
    } else {
        rc = src == SQLITE_DONE ? COFFRE_ERR_NOTFOUND : sq_fail(s, src);
    }
    sqlite3_reset(st);
    return rc;
}

static int
sq_kek_get(struct coffre_store *s, uint32_t version, struct coffre_buf *out)
{
    int isnull;

    if (out == NULL) {
        return COFFRE_ERR_ARG;
    }
    return get_blob_by(sq_of(s), Q_KEK_GET, version, out, &isnull);
}

/* Collect the first column of every row: up to cap in v, count in *pn. */
static int
collect_ids(struct sq *s, sqlite3_stmt *st, uint64_t *v, size_t cap, size_t *pn)
{
    size_t n = 0;
    int src, rc = COFFRE_OK;

    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (n < cap) {
            v[n] = (uint64_t)sqlite3_column_int64(st, 0);
        }
        n++;
    }
    if (src != SQLITE_DONE) {
        rc = sq_fail(s, src);
    }
    sqlite3_reset(st);
    *pn = n;
    return rc;
}

static int
sq_kek_list(struct coffre_store *store, uint32_t *versions, size_t cap,
            size_t *pn)
{
    struct sq *s = sq_of(store);
    sqlite3_stmt *st;
    uint64_t v[64];
    size_t n, i;
    int rc;

    if (pn == NULL || (versions == NULL && cap > 0)) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = q(s, Q_KEK_LIST, &st)) != COFFRE_OK) {
        return rc;
    }
    /* versions are few (one per rotation); 64 covers decades */
    rc = collect_ids(s, st, v, 64, &n);
    for (i = 0; rc == COFFRE_OK && i < n && i < cap && i < 64; i++) {
        versions[i] = (uint32_t)v[i];
    }
    *pn = n;
    return rc;
}

static int
row_exists(struct sq *s, enum stmt k, int64_t key, int *pyes)
{
    sqlite3_stmt *st;
    int rc, src;

    if ((rc = q(s, k, &st)) != COFFRE_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, key);
    src = sqlite3_step(st);
    *pyes = src == SQLITE_ROW;
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = sq_fail(s, src);
    }
    sqlite3_reset(st);
    return rc;
}

static int
sq_kek_delete(struct coffre_store *store, uint32_t version)
{
    struct sq *s = sq_of(store);
    int rc, own, used = 0;

    if ((rc = tx_open(s, &own)) != COFFRE_OK) {
        return rc;
    }
    rc = row_exists(s, Q_KEK_USED, version, &used);
    if (rc == COFFRE_OK && used) {
        rc = COFFRE_ERR_INUSE;
    }
    if (rc == COFFRE_OK) {
        sqlite3_stmt *st;
        if ((rc = q(s, Q_KEK_DELETE, &st)) == COFFRE_OK) {
            sqlite3_bind_int64(st, 1, version);
            rc = run(s, st);
        }
        if (rc == COFFRE_OK && sqlite3_changes(s->db) == 0) {
            rc = COFFRE_ERR_NOTFOUND;
        }
    }
    return tx_close(s, own, rc);
}

static int
sq_epoch_get(struct coffre_store *s, uint32_t epoch, struct coffre_buf *out)
{
    int rc, isnull = 0;

    if (out == NULL) {
        return COFFRE_ERR_ARG;
    }
    /* a destroyed epoch keeps its row with wrapped NULL */
    rc = get_blob_by(sq_of(s), Q_EPOCH_GET, epoch, out, &isnull);
    return rc == COFFRE_OK && isnull ? COFFRE_ERR_ERASED : rc;
}

static int
sq_epoch_put(struct coffre_store *store, uint32_t epoch, const void *wrapped,
             size_t len)
{
    struct sq *s = sq_of(store);
    sqlite3_stmt *st;
    struct coffre_buf b;
    int rc, src;

    if (wrapped == NULL || len == 0 || len > COFFRE_WRAPPED_MAX) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = q(s, Q_EPOCH_PUT, &st)) != COFFRE_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, epoch);
    sqlite3_bind_blob(st, 2, wrapped, (int)len, SQLITE_STATIC);
    src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src == SQLITE_DONE) {
        return COFFRE_OK;
    }
    if (src != SQLITE_CONSTRAINT_PRIMARYKEY) {
        return sq_fail(s, src);
    }
    coffre_buf_init(&b, COFFRE_WRAPPED_MAX);
    rc = sq_epoch_get(store, epoch, &b);
    coffre_buf_free(&b);
    return rc == COFFRE_ERR_ERASED ? rc : COFFRE_ERR_EXISTS;
}

/* ---- ids ----------------------------------------------------------- */

static int
id_load(struct sq *s, uint64_t *pnext)
{
    struct coffre_buf b;
    int rc;

    coffre_buf_init(&b, 8);
    rc = meta_get_raw(s, NEXT_ID_KEY, &b);
    *pnext = 1;
    if (rc == COFFRE_ERR_NOTFOUND) {
        rc = COFFRE_OK;
    } else if (rc == COFFRE_OK && b.len == 8) {
        *pnext = 0;
        for (size_t i = 0; i < 8; i++) {
            *pnext = (*pnext << 8) | b.p[i];
        }
    } else if (rc == COFFRE_OK) {
        snprintf(s->base.errmsg, sizeof(s->base.errmsg), "bad id counter");
        rc = COFFRE_ERR_STORE;
    }
    coffre_buf_free(&b);
    return rc;
}

static int
id_save(struct sq *s, uint64_t next)
{
    unsigned char be[8];

    for (int i = 7; i >= 0; i--) {
        be[i] = (unsigned char)next;
        next >>= 8;
    }
    return meta_put_raw(s, NEXT_ID_KEY, be, sizeof(be));
}

/*
 * The counter lives in the database, so a rolled-back transaction would
 * roll it back too; id_hw remembers what this handle gave out, and
 * sq_rollback writes it back at once so that no id is handed out twice.
 */
static int
sq_id_reserve(struct coffre_store *store, uint64_t n, uint64_t *pfirst)
{
    struct sq *s = sq_of(store);
    uint64_t next;
    int rc, own;

    if (n == 0 || pfirst == NULL || n > (uint64_t)INT64_MAX / 2) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = tx_open(s, &own)) != COFFRE_OK) {
        return rc;
    }
    rc = id_load(s, &next);
    if (rc == COFFRE_OK) {
        next = next > s->id_hw ? next : s->id_hw;
        if (next > (uint64_t)INT64_MAX - n) {
            rc = COFFRE_ERR_TOOBIG;
        }
    }
    if (rc == COFFRE_OK && (rc = id_save(s, next + n)) == COFFRE_OK) {
        *pfirst = next;
        s->id_hw = next + n;
    }
    return tx_close(s, own, rc);
}

/* ---- transactions ---------------------------------------------------- */

static int
sq_begin(struct coffre_store *store)
{
    struct sq *s = sq_of(store);
    int rc;

    if (s->in_tx) {
        return COFFRE_ERR_ARG;
    }
    rc = run_k(s, Q_BEGIN);
    s->in_tx = rc == COFFRE_OK;
    return rc;
}

/* A deferred transaction takes its snapshot at its first read: read at
 * once, so that the snapshot is this call's. */
static int
sq_begin_snapshot(struct coffre_store *store)
{
    struct sq *s = sq_of(store);
    int rc, src;

    if (s->in_tx) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = run_k(s, Q_BEGIN_READ)) != COFFRE_OK) {
        return rc;
    }
    src = sqlite3_exec(s->db, "SELECT count(*) FROM meta", NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        rc = sq_fail(s, src);
        (void)run_k(s, Q_ROLLBACK);
        return rc;
    }
    s->in_tx = 1;
    return COFFRE_OK;
}

static int
sq_commit(struct coffre_store *store)
{
    struct sq *s = sq_of(store);
    int rc;

    if (!s->in_tx) {
        return COFFRE_ERR_ARG;
    }
    rc = run_k(s, Q_COMMIT);
    if (rc != COFFRE_OK) {
        /* a failed COMMIT leaves the transaction open: end it */
        (void)run_k(s, Q_ROLLBACK);
    }
    s->in_tx = 0;
    if (rc == COFFRE_OK && s->erased_pending) {
        wal_scrub(s);
    }
    s->erased_pending = 0;
    return rc;
}

static int
sq_rollback(struct coffre_store *store)
{
    struct sq *s = sq_of(store);
    uint64_t next;
    int rc;

    if (!s->in_tx) {
        return COFFRE_ERR_ARG;
    }
    rc = run_k(s, Q_ROLLBACK);
    s->in_tx = 0;
    s->erased_pending = 0;
    if (rc == COFFRE_OK && s->id_hw != 0 &&
        (rc = id_load(s, &next)) == COFFRE_OK && next < s->id_hw) {
        rc = id_save(s, s->id_hw);
    }
    return rc;
}

/* ---- persons -------------------------------------------------------- */

static int
check_row(const struct coffre_store_person *row)
{
    if (row == NULL || row->id == 0 || row->id > (uint64_t)INT64_MAX ||
        row->state < 0 || row->state >= COFFRE_STATE_COUNT ||
        row->state == COFFRE_STATE_ERASED ||
        (row->tag_mask >> COFFRE_TAG_COUNT) != 0) {
        return COFFRE_ERR_ARG;
    }
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        if (row->ct[c] != NULL && row->ct_len[c] > COFFRE_STORE_CT_MAX) {
            return COFFRE_ERR_TOOBIG;
        }
    }
    return COFFRE_OK;
}

static int
check_dkey(const struct coffre_store_dkey *dk, uint64_t id, uint32_t epoch)
{
    if (dk->id != id || dk->epoch != epoch || dk->len == 0 ||
        dk->len > COFFRE_WRAPPED_MAX || dk->kek_version == 0) {
        return COFFRE_ERR_ARG;
    }
    return COFFRE_OK;
}

/* Bind ?1..?18 of Q_P_INSERT / Q_P_UPDATE. */
static int
bind_person(struct sq *s, sqlite3_stmt *st,
            const struct coffre_store_person *row)
{
    int rc = bind_id(s, st, 1, row->id);

    sqlite3_bind_int(st, 2, row->state);
    sqlite3_bind_int64(st, 3, row->epoch);
    sqlite3_bind_int64(st, 4, row->dk_gen);
    sqlite3_bind_int64(st, 5, row->retain_until);
    sqlite3_bind_int64(st, 6, row->deadline);
    sqlite3_bind_int64(st, 7, row->updated);
    for (int k = 0; rc == COFFRE_OK && k < COFFRE_TAG_COUNT; k++) {
        const void *t = (row->tag_mask >> k) & 1u ? row->tags[k] : NULL;
        rc = bind_blob(s, st, 8 + k, t, COFFRE_TAG_LEN);
    }
    /* classes in enum order: public identity contact document photo vetting */
    for (int c = 0; rc == COFFRE_OK && c < COFFRE_CLASS_COUNT; c++) {
        rc = bind_blob(s, st, 13 + c, row->ct[c], row->ct_len[c]);
    }
    return rc;
}

static int
bind_dkey(struct sq *s, sqlite3_stmt *st, const struct coffre_store_dkey *dk)
{
    int rc = bind_id(s, st, 1, dk->id);

    sqlite3_bind_int64(st, 2, dk->kek_version);
    sqlite3_bind_int64(st, 3, dk->epoch);
    if (rc == COFFRE_OK) {
        rc = bind_blob(s, st, 4, dk->wrapped, dk->len);
    }
    return rc;
}

static int
insert_rows(struct sq *s, const struct coffre_store_person *row,
            const struct coffre_store_dkey *dk)
{
    sqlite3_stmt *st;
    int rc, src;

    if ((rc = q(s, Q_P_INSERT, &st)) != COFFRE_OK ||
        (rc = bind_person(s, st, row)) != COFFRE_OK) {
        return rc;
    }
    src = sqlite3_step(st);
    if (src == SQLITE_CONSTRAINT_PRIMARYKEY) {
        rc = COFFRE_ERR_EXISTS; /* nothing written: the caller may go on */
    } else if (src != SQLITE_DONE) {
        rc = sq_fail(s, src);
    }
    sqlite3_reset(st);
    if (rc == COFFRE_OK && (rc = q(s, Q_DK_INSERT, &st)) == COFFRE_OK &&
        (rc = bind_dkey(s, st, dk)) == COFFRE_OK) {
        rc = run(s, st);
    }
    return rc;
}

static int
sq_person_insert(struct coffre_store *store,
                 const struct coffre_store_person *row,
                 const struct coffre_store_dkey *dk)
{
    struct sq *s = sq_of(store);
    int rc, own;

    if ((rc = check_row(row)) != COFFRE_OK) {
        return rc;
    }
    if (dk == NULL || (rc = check_dkey(dk, row->id, row->epoch)) != 0) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = tx_open(s, &own)) != COFFRE_OK) {
        return rc;
    }
    return tx_close(s, own, insert_rows(s, row, dk));
}

/* NOTFOUND, ERASED or OK (live) for a person id. */
static int
person_status(struct sq *s, uint64_t id)
{
    sqlite3_stmt *st;
    int rc, src;

    if ((rc = q(s, Q_P_STATE, &st)) != COFFRE_OK ||
        (rc = bind_id(s, st, 1, id)) != COFFRE_OK) {
        return rc == COFFRE_ERR_ARG ? COFFRE_ERR_NOTFOUND : rc;
    }
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        rc = sqlite3_column_int(st, 0) == COFFRE_STATE_ERASED
                 ? COFFRE_ERR_ERASED
                 : COFFRE_OK;
    } else {
        rc = src == SQLITE_DONE ? COFFRE_ERR_NOTFOUND : sq_fail(s, src);
    }
    sqlite3_reset(st);
    return rc;
}

static int
update_rows(struct sq *s, const struct coffre_store_person *row,
            const struct coffre_store_dkey *dk)
{
    sqlite3_stmt *st;
    int rc = person_status(s, row->id);

    if (rc == COFFRE_OK && (rc = q(s, Q_P_UPDATE, &st)) == COFFRE_OK &&
        (rc = bind_person(s, st, row)) == COFFRE_OK) {
        rc = run(s, st);
    }
    if (rc == COFFRE_OK && dk != NULL &&
        (rc = q(s, Q_DK_UPDATE, &st)) == COFFRE_OK &&
        (rc = bind_dkey(s, st, dk)) == COFFRE_OK) {
        rc = run(s, st);
    }
    return rc;
}

static int
sq_person_update(struct coffre_store *store,
                 const struct coffre_store_person *row,
                 const struct coffre_store_dkey *dk)
{
    struct sq *s = sq_of(store);
    int rc, own;

    if ((rc = check_row(row)) != COFFRE_OK) {
        return rc;
    }
    if (dk != NULL && check_dkey(dk, row->id, row->epoch) != COFFRE_OK) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = tx_open(s, &own)) != COFFRE_OK) {
        return rc;
    }
    return tx_close(s, own, update_rows(s, row, dk));
}

/* Copy the tags and the wanted ciphertexts of a Q_P_GET row. */
static int
read_person_blobs(struct sq *s, sqlite3_stmt *st, unsigned classes,
                  struct coffre_store_person *row)
{
    for (int k = 0; k < COFFRE_TAG_COUNT; k++) {
        if (sqlite3_column_type(st, 6 + k) == SQLITE_NULL) {
            continue;
        }
        if (sqlite3_column_bytes(st, 6 + k) != COFFRE_TAG_LEN) {
            snprintf(s->base.errmsg, sizeof(s->base.errmsg), "bad tag");
            return COFFRE_ERR_STORE;
        }
        memcpy(row->tags[k], sqlite3_column_blob(st, 6 + k), COFFRE_TAG_LEN);
        row->tag_mask |= 1u << k;
    }
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        int i = 11 + c;
        size_t n;
        if (!(classes & COFFRE_CLASS_BIT(c)) ||
            sqlite3_column_type(st, i) == SQLITE_NULL) {
            continue;
        }
        n = (size_t)sqlite3_column_bytes(st, i);
        if (n > COFFRE_STORE_CT_MAX) {
            snprintf(s->base.errmsg, sizeof(s->base.errmsg), "bad blob");
            return COFFRE_ERR_STORE;
        }
        if ((row->ct[c] = coffre_pmem_alloc(n + 1)) == NULL) {
            return COFFRE_ERR_NOMEM;
        }
        if (n > 0) {
            memcpy(row->ct[c], sqlite3_column_blob(st, i), n);
        }
        row->ct_len[c] = n;
    }
    return COFFRE_OK;
}

static int
read_person(struct sq *s, uint64_t id, unsigned classes,
            struct coffre_store_person *row)
{
    sqlite3_stmt *st;
    int rc, src;

    if ((rc = q(s, Q_P_GET, &st)) != COFFRE_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
    src = sqlite3_step(st);
    if (src != SQLITE_ROW) {
        rc = src == SQLITE_DONE ? COFFRE_ERR_NOTFOUND : sq_fail(s, src);
    } else {
        row->id = id;
        row->state = sqlite3_column_int(st, 0);
        row->epoch = (uint32_t)sqlite3_column_int64(st, 1);
        row->dk_gen = (uint32_t)sqlite3_column_int64(st, 2);
        row->retain_until = sqlite3_column_int64(st, 3);
        row->deadline = sqlite3_column_int64(st, 4);
        row->updated = sqlite3_column_int64(st, 5);
        if (row->state == COFFRE_STATE_ERASED) {
            rc = COFFRE_ERR_ERASED;
        } else {
            rc = read_person_blobs(s, st, classes, row);
        }
    }
    sqlite3_reset(st);
    return rc;
}

static int
read_dkey(struct sq *s, uint64_t id, struct coffre_store_dkey *dk)
{
    sqlite3_stmt *st;
    int rc, src, n;

    if ((rc = q(s, Q_DK_GET, &st)) != COFFRE_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        n = sqlite3_column_bytes(st, 2);
        if (n <= 0 || n > COFFRE_WRAPPED_MAX) {
            snprintf(s->base.errmsg, sizeof(s->base.errmsg), "bad data key");
            rc = COFFRE_ERR_STORE;
        } else {
            dk->id = id;
            dk->kek_version = (uint32_t)sqlite3_column_int64(st, 0);
            dk->epoch = (uint32_t)sqlite3_column_int64(st, 1);
            dk->len = (size_t)n;
            memcpy(dk->wrapped, sqlite3_column_blob(st, 2), (size_t)n);
        }
    } else {
        /* a live person always has its key: a missing one is damage */
        snprintf(s->base.errmsg, sizeof(s->base.errmsg), "data key missing");
        rc = src == SQLITE_DONE ? COFFRE_ERR_STORE : sq_fail(s, src);
    }
    sqlite3_reset(st);
    return rc;
}

static int
sq_person_get(struct coffre_store *store, uint64_t id, unsigned classes,
              struct coffre_store_person *row, struct coffre_store_dkey *dk)
{
    struct sq *s = sq_of(store);
    int rc, own;

    if (row == NULL) {
        return COFFRE_ERR_ARG;
    }
    memset(row, 0, sizeof(*row));
    if (id == 0 || id > (uint64_t)INT64_MAX) {
        return COFFRE_ERR_NOTFOUND;
    }
    /* one snapshot for row and key, in case another process erases */
    if ((rc = tx_open_k(s, &own, Q_BEGIN_READ)) != COFFRE_OK) {
        return rc;
    }
    rc = read_person(s, id, classes, row);
    if (rc == COFFRE_OK && dk != NULL) {
        rc = read_dkey(s, id, dk);
    }
    if (rc != COFFRE_OK && rc != COFFRE_ERR_ERASED) {
        coffre_store_person_clear(row);
    }
    /* a read-only transaction: its outcome does not matter */
    (void)tx_close(s, own, COFFRE_OK);
    return rc;
}

static int
sq_person_set_state(struct coffre_store *store, uint64_t id, int state,
                    int64_t deadline)
{
    struct sq *s = sq_of(store);
    sqlite3_stmt *st;
    int rc;

    if (state < 0 || state >= COFFRE_STATE_COUNT ||
        state == COFFRE_STATE_ERASED) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = q(s, Q_P_SET_STATE, &st)) != COFFRE_OK) {
        return rc;
    }
    if ((rc = bind_id(s, st, 1, id)) != COFFRE_OK) {
        return COFFRE_ERR_NOTFOUND;
    }
    sqlite3_bind_int(st, 2, state);
    sqlite3_bind_int64(st, 3, deadline);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
    if ((rc = run(s, st)) != COFFRE_OK) {
        return rc;
    }
    /* no row changed: say why */
    return sqlite3_changes(s->db) == 0 ? person_status(s, id) : COFFRE_OK;
}

static int
sq_person_find(struct coffre_store *store, enum coffre_tag_kind kind,
               const unsigned char tag[COFFRE_TAG_LEN], uint64_t *ids,
               size_t cap, size_t *pn)
{
    struct sq *s = sq_of(store);
    sqlite3_stmt *st;
    int rc;

    if ((unsigned)kind >= COFFRE_TAG_COUNT || tag == NULL || pn == NULL ||
        (ids == NULL && cap > 0)) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = q(s, (enum stmt)(Q_FIND0 + (int)kind), &st)) != COFFRE_OK) {
        return rc;
    }
    sqlite3_bind_blob(st, 1, tag, COFFRE_TAG_LEN, SQLITE_STATIC);
    return collect_ids(s, st, ids, cap, pn);
}

static sqlite3_int64
limit_of(size_t cap)
{
    return cap > (size_t)INT32_MAX ? INT32_MAX : (sqlite3_int64)cap;
}

static int
sq_person_list(struct coffre_store *store, int state,
               const unsigned char *cat_tag, uint64_t after, uint64_t *ids,
               size_t cap, size_t *pn)
{
    struct sq *s = sq_of(store);
    sqlite3_stmt *st;
    enum stmt k;
    int rc;

    if (pn == NULL || (ids == NULL && cap > 0) || state < -1 ||
        state >= COFFRE_STATE_COUNT) {
        return COFFRE_ERR_ARG;
    }
    *pn = 0;
    if (state == COFFRE_STATE_ERASED || after >= (uint64_t)INT64_MAX) {
        return COFFRE_OK; /* tombstones are not listed */
    }
    k = state < 0 ? (cat_tag == NULL ? Q_LIST_ANY : Q_LIST_CAT)
                  : (cat_tag == NULL ? Q_LIST_STATE : Q_LIST_BOTH);
    if ((rc = q(s, k, &st)) != COFFRE_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
    sqlite3_bind_int64(st, 2, limit_of(cap));
    if (state >= 0) {
        sqlite3_bind_int(st, 3, state);
    }
    if (cat_tag != NULL) {
        sqlite3_bind_blob(st, 4, cat_tag, COFFRE_TAG_LEN, SQLITE_STATIC);
    }
    return collect_ids(s, st, ids, cap, pn);
}

static int
sq_person_due(struct coffre_store *store, int which, int64_t now, uint64_t *ids,
              size_t cap, size_t *pn)
{
    struct sq *s = sq_of(store);
    sqlite3_stmt *st;
    int rc;

    if ((which != 0 && which != 1) || pn == NULL || (ids == NULL && cap > 0)) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = q(s, which == 0 ? Q_DUE_VETTING : Q_DUE_RETAIN, &st)) != 0) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, limit_of(cap));
    return collect_ids(s, st, ids, cap, pn);
}

static int
erase_one(struct sq *s, uint64_t id)
{
    sqlite3_stmt *st;
    int rc = person_status(s, id);

    if (rc == COFFRE_OK && (rc = q(s, Q_DK_DELETE, &st)) == COFFRE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
        rc = run(s, st);
    }
    if (rc == COFFRE_OK && (rc = q(s, Q_P_ERASE, &st)) == COFFRE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
        rc = run(s, st);
    }
    if (rc == COFFRE_OK) {
        s->erased_pending = 1;
    }
    return rc;
}

static int
sq_person_erase(struct coffre_store *store, uint64_t id)
{
    struct sq *s = sq_of(store);
    int rc, own;

    if ((rc = tx_open(s, &own)) != COFFRE_OK) {
        return rc;
    }
    return tx_close(s, own, erase_one(s, id));
}

static int
erase_epoch(struct sq *s, uint32_t epoch, uint64_t *pcount)
{
    struct coffre_buf b;
    sqlite3_stmt *st;
    int rc;

    coffre_buf_init(&b, COFFRE_WRAPPED_MAX);
    rc = sq_epoch_get(&s->base, epoch, &b);
    coffre_buf_free(&b);
    if (rc == COFFRE_OK && (rc = q(s, Q_EP_DK_DELETE, &st)) == COFFRE_OK) {
        sqlite3_bind_int64(st, 1, epoch);
        rc = run(s, st);
    }
    if (rc == COFFRE_OK && (rc = q(s, Q_EP_P_ERASE, &st)) == COFFRE_OK) {
        sqlite3_bind_int64(st, 1, epoch);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
        rc = run(s, st);
        *pcount = (uint64_t)sqlite3_changes64(s->db);
    }
    if (rc == COFFRE_OK && (rc = q(s, Q_EPOCH_DESTROY, &st)) == COFFRE_OK) {
        sqlite3_bind_int64(st, 1, epoch);
        rc = run(s, st);
    }
    if (rc == COFFRE_OK) {
        s->erased_pending = 1;
    }
    return rc;
}

static int
sq_epoch_erase(struct coffre_store *store, uint32_t epoch, uint64_t *pcount)
{
    struct sq *s = sq_of(store);
    uint64_t count = 0;
    int rc, own;

    if ((rc = tx_open(s, &own)) != COFFRE_OK) {
        return rc;
    }
    rc = tx_close(s, own, erase_epoch(s, epoch, &count));
    if (pcount != NULL) {
        *pcount = rc == COFFRE_OK ? count : 0;
    }
    return rc;
}

/* ---- data keys (rewrap) ------------------------------------------------ */

static int
sq_dkey_list_below(struct coffre_store *store, uint32_t version,
                   struct coffre_store_dkey *out, size_t cap, size_t *pn)
{
    struct sq *s = sq_of(store);
    sqlite3_stmt *st;
    size_t n = 0;
    int rc, src, len;

    if (pn == NULL || (out == NULL && cap > 0)) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = q(s, Q_DK_BELOW, &st)) != COFFRE_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, version);
    sqlite3_bind_int64(st, 2, limit_of(cap));
    while ((src = sqlite3_step(st)) == SQLITE_ROW && n < cap) {
        len = sqlite3_column_bytes(st, 3);
        if (len <= 0 || len > COFFRE_WRAPPED_MAX) {
            snprintf(s->base.errmsg, sizeof(s->base.errmsg), "bad data key");
            rc = COFFRE_ERR_STORE;
            break;
        }
        out[n].id = (uint64_t)sqlite3_column_int64(st, 0);
        out[n].kek_version = (uint32_t)sqlite3_column_int64(st, 1);
        out[n].epoch = (uint32_t)sqlite3_column_int64(st, 2);
        out[n].len = (size_t)len;
        memcpy(out[n].wrapped, sqlite3_column_blob(st, 3), (size_t)len);
        n++;
    }
    if (rc == COFFRE_OK && src != SQLITE_DONE && src != SQLITE_ROW) {
        rc = sq_fail(s, src);
    }
    sqlite3_reset(st);
    *pn = rc == COFFRE_OK ? n : 0;
    return rc;
}

static int
sq_dkey_update(struct coffre_store *store, const struct coffre_store_dkey *dk)
{
    struct sq *s = sq_of(store);
    sqlite3_stmt *st;
    int rc;

    if (dk == NULL || check_dkey(dk, dk->id, dk->epoch) != COFFRE_OK) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = q(s, Q_DK_UPDATE, &st)) != COFFRE_OK) {
        return rc;
    }
    if ((rc = bind_dkey(s, st, dk)) != COFFRE_OK ||
        (rc = run(s, st)) != COFFRE_OK) {
        return rc == COFFRE_ERR_ARG ? COFFRE_ERR_NOTFOUND : rc;
    }
    if (sqlite3_changes(s->db) == 0) {
        rc = person_status(s, dk->id);
        return rc == COFFRE_OK ? COFFRE_ERR_STORE : rc;
    }
    return COFFRE_OK;
}

static int
count_of(struct sq *s, sqlite3_stmt *st, uint64_t *pa, uint64_t *pb)
{
    int src = sqlite3_step(st);
    int rc = COFFRE_OK;

    if (src == SQLITE_ROW) {
        *pa = (uint64_t)sqlite3_column_int64(st, 0);
        if (pb != NULL) {
            *pb = (uint64_t)sqlite3_column_int64(st, 1);
        }
    } else {
        rc = sq_fail(s, src);
    }
    sqlite3_reset(st);
    return rc;
}

static int
sq_dkey_count(struct coffre_store *store, uint32_t version, uint64_t *pn)
{
    struct sq *s = sq_of(store);
    sqlite3_stmt *st;
    int rc;

    if (pn == NULL) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = q(s, Q_DK_COUNT, &st)) != COFFRE_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, version);
    return count_of(s, st, pn, NULL);
}

static int
sq_stats(struct coffre_store *store, uint64_t *plive, uint64_t *perased)
{
    struct sq *s = sq_of(store);
    sqlite3_stmt *st;
    uint64_t total = 0, erased = 0;
    int rc;

    if ((rc = q(s, Q_STATS, &st)) != COFFRE_OK ||
        (rc = count_of(s, st, &total, &erased)) != COFFRE_OK) {
        return rc;
    }
    if (plive != NULL) {
        *plive = total - erased;
    }
    if (perased != NULL) {
        *perased = erased;
    }
    return COFFRE_OK;
}

/* ---- raw copy (store.h) ------------------------------------------------ */

static int
sq_person_scan(struct coffre_store *store, uint64_t after,
               struct coffre_store_person *row, struct coffre_store_dkey *dk,
               int *phas_dk)
{
    struct sq *s = sq_of(store);
    sqlite3_stmt *st;
    uint64_t id = 0;
    int rc, src;

    if (row == NULL || dk == NULL || phas_dk == NULL) {
        return COFFRE_ERR_ARG;
    }
    *phas_dk = 0;
    if ((rc = q(s, Q_P_NEXT, &st)) != COFFRE_OK ||
        (rc = bind_id(s, st, 1, after)) != COFFRE_OK) {
        return rc;
    }
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        id = (uint64_t)sqlite3_column_int64(st, 0);
    } else {
        rc = src == SQLITE_DONE ? COFFRE_ERR_NOTFOUND : sq_fail(s, src);
    }
    sqlite3_reset(st);
    if (rc != COFFRE_OK) {
        return rc;
    }
    rc = sq_person_get(store, id, COFFRE_CLASSES_ALL, row, dk);
    if (rc == COFFRE_ERR_ERASED) {
        return COFFRE_OK; /* the tombstone: state, epoch, updated */
    }
    *phas_dk = rc == COFFRE_OK;
    return rc;
}

static int
sq_tomb_insert(struct coffre_store *store, uint64_t id, uint32_t epoch,
               int64_t updated)
{
    struct sq *s = sq_of(store);
    sqlite3_stmt *st;
    int rc, src;

    if (id == 0) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = q(s, Q_TOMB_INSERT, &st)) != COFFRE_OK ||
        (rc = bind_id(s, st, 1, id)) != COFFRE_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 2, epoch);
    sqlite3_bind_int64(st, 3, updated);
    src = sqlite3_step(st);
    if (src == SQLITE_CONSTRAINT_PRIMARYKEY) {
        rc = COFFRE_ERR_EXISTS;
    } else if (src != SQLITE_DONE) {
        rc = sq_fail(s, src);
    }
    sqlite3_reset(st);
    return rc;
}

static int
sq_epoch_scan(struct coffre_store *store, int64_t after, uint32_t *pepoch,
              struct coffre_buf *wrapped, int *pdestroyed)
{
    struct sq *s = sq_of(store);
    sqlite3_stmt *st;
    int rc, src;

    if (pepoch == NULL || wrapped == NULL || pdestroyed == NULL) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = q(s, Q_EPOCH_NEXT, &st)) != COFFRE_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, after);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *pepoch = (uint32_t)sqlite3_column_int64(st, 0);
        *pdestroyed = sqlite3_column_int64(st, 2) != 0;
        rc = col_buf(s, st, 1, wrapped);
    } else {
        rc = src == SQLITE_DONE ? COFFRE_ERR_NOTFOUND : sq_fail(s, src);
    }
    sqlite3_reset(st);
    return rc;
}

static int
sq_meta_scan(struct coffre_store *store, const char *after, char *key,
             struct coffre_buf *val)
{
    struct sq *s = sq_of(store);
    sqlite3_stmt *st;
    const unsigned char *k;
    int rc, src;

    if (after == NULL || key == NULL || val == NULL) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = q(s, Q_META_NEXT, &st)) != COFFRE_OK) {
        return rc;
    }
    sqlite3_bind_text(st, 1, after, -1, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        k = sqlite3_column_text(st, 0);
        if (k == NULL || strlen((const char *)k) > COFFRE_STORE_KEY_MAX) {
            snprintf(s->base.errmsg, sizeof(s->base.errmsg),
                     "sqlite: a meta key is over its cap");
            rc = COFFRE_ERR_STORE;
        } else {
            memcpy(key, k, strlen((const char *)k) + 1);
            rc = col_buf(s, st, 1, val);
        }
    } else {
        rc = src == SQLITE_DONE ? COFFRE_ERR_NOTFOUND : sq_fail(s, src);
    }
    sqlite3_reset(st);
    return rc;
}

static int
sq_id_next(struct coffre_store *store, uint64_t *pnext)
{
    struct sq *s = sq_of(store);
    int rc;

    if (pnext == NULL) {
        return COFFRE_ERR_ARG;
    }
    rc = id_load(s, pnext);
    if (rc == COFFRE_OK && *pnext < s->id_hw) {
        *pnext = s->id_hw;
    }
    return rc;
}

static int
sq_id_set_next(struct coffre_store *store, uint64_t next)
{
    struct sq *s = sq_of(store);
    uint64_t cur = 0;
    int rc = sq_id_next(store, &cur);

    if (rc == COFFRE_OK && (next < cur || next > (uint64_t)INT64_MAX)) {
        rc = COFFRE_ERR_ARG;
    }
    return rc == COFFRE_OK ? id_save(s, next) : rc;
}

/* ---- open and close ---------------------------------------------------- */

static void
sq_close(struct coffre_store *store)
{
    struct sq *s = sq_of(store);

    if (s->in_tx) {
        (void)run_k(s, Q_ROLLBACK);
    }
    for (int k = 0; k < Q__COUNT; k++) {
        sqlite3_finalize(s->st[k]);
    }
    /* the last connection checkpoints and removes the WAL on close */
    sqlite3_close_v2(s->db);
    free(s);
}

/*
 * Bulk loading (store.h): inserting one row at a time into the random-keyed
 * tag indexes dirties index pages all over the file at every transaction;
 * building an index once from a sorted scan costs a fraction of that. The
 * indexes dropped here are exactly those schema_sql creates IF NOT EXISTS,
 * so turning bulk loading off, or reopening the store after a crash in
 * between, rebuilds them. COFFRE_BULK_IMPORT keeps the source-key index: an
 * import looks every record up by it.
 */

/* Run sql (schema_sql or a list of drops) in one write transaction. */
static int
exec_tx(struct sq *s, const char *sql)
{
    int rc, src;

    if ((rc = run_k(s, Q_BEGIN)) != COFFRE_OK) {
        return rc;
    }
    src = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        rc = sq_fail(s, src);
        (void)run_k(s, Q_ROLLBACK);
        return rc;
    }
    return run_k(s, Q_COMMIT);
}

/*
 * SQLite sorts an index's keys in runs as large as the page cache, then
 * merges them. With the 64 MiB cache, the million random tags of one index
 * made a single run of about 40 MiB, past the CPU caches, and its sort spent
 * most of its time on cache misses in a linked-list merge; runs of 2 MiB
 * sort in cache and are merged in order. Measured on 1,000,000 persons: the
 * seven builds take about a quarter less time and CPU. Sorter threads cost
 * more CPU than they saved in time on two cores. The cache size is restored
 * afterwards even if the build failed.
 */
#define BUILD_PRAGMA_SQL "PRAGMA threads = 0; PRAGMA cache_size = -2048;"
#define BUILD_DONE_SQL CACHE_SIZE_SQL

static int
build_indexes(struct sq *s)
{
    int src = sqlite3_exec(s->db, BUILD_PRAGMA_SQL, NULL, NULL, NULL);
    int rc = src == SQLITE_OK ? exec_tx(s, schema_sql) : sq_fail(s, src);

    src = sqlite3_exec(s->db, BUILD_DONE_SQL, NULL, NULL, NULL);
    if (src != SQLITE_OK && rc == COFFRE_OK) {
        rc = sq_fail(s, src);
    }
    return rc;
}

static int
sq_bulk_load(struct coffre_store *store, int mode)
{
    struct sq *s = sq_of(store);
    int src;

    if (s->in_tx || mode < COFFRE_BULK_OFF || mode > COFFRE_BULK_NEW) {
        return COFFRE_ERR_ARG;
    }
    if (mode == COFFRE_BULK_OFF) {
        return build_indexes(s);
    }
    /* While loading, a cache that holds the rows of a whole batch and the
     * source-key index avoids spilling dirty pages mid-transaction. */
    src = sqlite3_exec(s->db, "PRAGMA cache_size = -1048576", NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        return sq_fail(s, src);
    }
    return exec_tx(
        s, mode == COFFRE_BULK_NEW
               ? COFFRE_STORE_BULK_DROP_SQL COFFRE_STORE_BULK_DROP_SOURCE_SQL
               : COFFRE_STORE_BULK_DROP_SQL);
}

/* PRAGMA quick_check: every page and B-tree of the file is well formed
 * (it does not compare indexes with their tables: integrity_check would,
 * at several times the cost). Linear in the file's size. */
static int
sq_check(struct coffre_store *store, char *msg, size_t cap)
{
    struct sq *s = sq_of(store);
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL);
    int rc = COFFRE_OK;

    if (src == SQLITE_OK) {
        src = sqlite3_step(st);
    }
    if (src == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 0);

        if (r == NULL || strcmp(r, "ok") != 0) {
            snprintf(msg, cap, "%s", r != NULL ? r : "no answer");
            rc = COFFRE_ERR_STORE;
        }
    } else {
        snprintf(msg, cap, "%s", sqlite3_errmsg(s->db));
        rc = COFFRE_ERR_STORE;
    }
    sqlite3_finalize(st);
    return rc;
}

static const struct coffre_store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .begin = sq_begin,
    .begin_snapshot = sq_begin_snapshot,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .meta_get = sq_meta_get,
    .meta_put = sq_meta_put,
    .meta_add = sq_meta_add,
    .kek_put = sq_kek_put,
    .kek_get = sq_kek_get,
    .kek_list = sq_kek_list,
    .kek_delete = sq_kek_delete,
    .epoch_put = sq_epoch_put,
    .epoch_get = sq_epoch_get,
    .id_reserve = sq_id_reserve,
    .person_insert = sq_person_insert,
    .person_update = sq_person_update,
    .person_get = sq_person_get,
    .person_set_state = sq_person_set_state,
    .person_find = sq_person_find,
    .person_list = sq_person_list,
    .person_due = sq_person_due,
    .person_erase = sq_person_erase,
    .epoch_erase = sq_epoch_erase,
    .dkey_list_below = sq_dkey_list_below,
    .dkey_update = sq_dkey_update,
    .dkey_count = sq_dkey_count,
    .stats = sq_stats,
    .bulk_load = sq_bulk_load,
    .check = sq_check,
    .person_scan = sq_person_scan,
    .tomb_insert = sq_tomb_insert,
    .epoch_scan = sq_epoch_scan,
    .meta_scan = sq_meta_scan,
    .id_next = sq_id_next,
    .id_set_next = sq_id_set_next,
};

/*
 * The database holds only ciphertext and tags, but it is still the vault's
 * file: create it owner-only before SQLite does (its -wal and -shm files
 * take the database file's mode).
 */
static int
precreate(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

    if (fd < 0) {
        return COFFRE_ERR_IO;
    }
    close(fd);
    return COFFRE_OK;
}

/*
 * page_size only takes effect on a new database, before WAL is set.
 * Bulk loads dirty index pages all over the three random-keyed tag
 * indexes; a 64 MiB cache and a 40 MiB checkpoint interval keep them in
 * memory across batches instead of copying them to the database after
 * every 4 MiB of WAL (measured: about +10% rows per CPU-second).
 */
static const char pragma_sql[] = "PRAGMA page_size = 4096;"
                                 "PRAGMA journal_mode = WAL;"
                                 "PRAGMA secure_delete = ON;"
                                 "PRAGMA foreign_keys = ON;"
                                 "PRAGMA synchronous = FULL;" CACHE_SIZE_SQL
                                 "PRAGMA wal_autocheckpoint = 10000;"
                                 "PRAGMA trusted_schema = OFF;";

/* A pragma's current value as text must equal want (settings refused
 * silently, e.g. WAL on a file system without shared memory, fail here). */
static int
pragma_is(struct sq *s, const char *sql, const char *want)
{
    sqlite3_stmt *st = NULL;
    int src, rc = COFFRE_OK;

    src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        if (v == NULL || strcmp((const char *)v, want) != 0) {
            snprintf(s->base.errmsg, sizeof(s->base.errmsg),
                     "sqlite: %s is not %s", sql, want);
            rc = COFFRE_ERR_STORE;
        }
    } else {
        rc = sq_fail(s, src);
    }
    sqlite3_finalize(st);
    return rc;
}

static int
configure(struct sq *s)
{
    int src, rc;

    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_MS);
    src = sqlite3_exec(s->db, pragma_sql, NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        return sq_fail(s, src);
    }
    if ((rc = pragma_is(s, "PRAGMA journal_mode", "wal")) != COFFRE_OK ||
        (rc = pragma_is(s, "PRAGMA secure_delete", "1")) != COFFRE_OK ||
        (rc = pragma_is(s, "PRAGMA foreign_keys", "1")) != COFFRE_OK) {
        return rc;
    }
    return exec_tx(s, schema_sql);
}

int
coffre_store_open_sqlite(const char *path, struct coffre_store **ps)
{
    struct sq *s;
    int rc, src;

    if (path == NULL || ps == NULL) {
        return COFFRE_ERR_ARG;
    }
    *ps = NULL;
    if ((rc = precreate(path)) != COFFRE_OK) {
        return rc;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    s->base.ops = &sqlite_ops;
    src = sqlite3_open_v2(path, &s->db,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                              SQLITE_OPEN_NOFOLLOW,
                          NULL);
    if (src != SQLITE_OK) {
        rc = s->db != NULL ? COFFRE_ERR_STORE : COFFRE_ERR_NOMEM;
    } else {
        rc = configure(s);
    }
    if (rc != COFFRE_OK) {
        sq_close(&s->base);
        return rc;
    }
    *ps = &s->base;
    return COFFRE_OK;
}

struct sqlite3 *
coffre_store_sqlite_handle(struct coffre_store *s)
{
    return s != NULL && s->ops == &sqlite_ops ? sq_of(s)->db : NULL;
}
