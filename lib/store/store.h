/*
 * The storage interface (DESIGN section 9).
 *
 * A store only ever sees ciphertext, wrapped keys, blind-index tags and
 * plain bookkeeping (ids, lifecycle state, epoch numbers, dates). Backends:
 * store_sqlite.c (embedded default), store_pg.c (PostgreSQL). The
 * conformance suite in tests/store/ runs against this interface only.
 *
 * Every call returns an enum coffre_err; on COFFRE_ERR_STORE the backend's
 * message is in s->errmsg (never a personal value: the store has none).
 * Calls outside begin/commit are each their own transaction.
 *
 * Inside begin/commit: a call failing with a semantic error (NOTFOUND,
 * EXISTS, ERASED, INUSE, ARG, TOOBIG) has changed nothing and the
 * transaction goes on; after COFFRE_ERR_STORE or COFFRE_ERR_UNAVAILABLE
 * (PostgreSQL serialization failure or deadlock: retry) the caller must
 * roll back. Nested begin is COFFRE_ERR_ARG.
 *
 * Meta keys starting with "store." are the backend's own (ARG otherwise).
 * Data keys reference their key-encryption key: kek_put the version before
 * inserting a person whose data key it wraps (COFFRE_ERR_STORE otherwise).
 */
#ifndef COFFRE_STORE_STORE_H
#define COFFRE_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/coffre.h"
#include "coffre/guard.h"
#include "util/buf.h"

#define COFFRE_TAG_LEN 16                   /* blind-index tag bytes */
#define COFFRE_WRAPPED_MAX 128              /* bytes of one wrapped key */
#define COFFRE_STORE_CT_MAX (512u * 1024u)  /* bytes of one class ciphertext */
#define COFFRE_STORE_META_MAX (64u * 1024u) /* bytes of one meta value */
#define COFFRE_STORE_KEY_MAX 64u            /* bytes of one meta key name */

enum coffre_tag_kind {
    COFFRE_TAG_DOCUMENT = 0, /* document number */
    COFFRE_TAG_EMAIL,        /* email */
    COFFRE_TAG_NAME_DOB,     /* surname + given names + birth date */
    COFFRE_TAG_SOURCE,       /* the previous host's record key (import) */
    COFFRE_TAG_CATEGORY,     /* category, for worklists */
    COFFRE_TAG_COUNT
};

/* A wrapped data key, stored apart from the record data. */
struct coffre_store_dkey {
    uint64_t id;          /* the person's record id */
    uint32_t kek_version; /* key-encryption key that wraps it */
    uint32_t epoch;       /* retention epoch whose key also wraps it */
    size_t len;
    unsigned char wrapped[COFFRE_WRAPPED_MAX];
};

/* One person as stored. */
struct coffre_store_person {
    uint64_t id;
    int state;            /* enum coffre_state */
    uint32_t epoch;       /* retention epoch */
    uint32_t dk_gen;      /* data key generation (bound in every AD) */
    int64_t retain_until; /* unix time; 0 = not set */
    int64_t deadline;     /* vetting deadline, unix time; 0 = none */
    int64_t updated;      /* unix time of the last change */
    unsigned tag_mask;    /* bit k set: tags[k] present */
    unsigned char tags[COFFRE_TAG_COUNT][COFFRE_TAG_LEN];
    /* ciphertext of each class; NULL when the class is absent. On input the
     * store copies them; on output they are coffre_pmem memory owned by the
     * row (free with coffre_store_person_clear). */
    unsigned char *ct[COFFRE_CLASS_COUNT];
    size_t ct_len[COFFRE_CLASS_COUNT];
};

/** coffre_store_person_clear(row): free a row's ciphertexts, zero it. */
void coffre_store_person_clear(struct coffre_store_person *row);

struct coffre_store;

#define COFFRE_CHECKPOINT_LATEST INT64_C(-2)

/* One audit entry read back from the store (audit_read). */
typedef int (*coffre_store_audit_fn)(void *arg, uint64_t index,
                                     const unsigned char *entry, size_t len);

struct coffre_store_ops {
    const char *name; /* "sqlite", "postgresql" */
    void (*close)(struct coffre_store *s);

    int (*begin)(struct coffre_store *s);
    int (*commit)(struct coffre_store *s);
    int (*rollback)(struct coffre_store *s);
    /* A read-only transaction on one consistent snapshot (coffre backup):
     * every read until commit or rollback sees the store as it was at
     * this call, while other connections go on writing (SQLite: a WAL
     * read transaction; PostgreSQL: REPEATABLE READ, READ ONLY). ARG
     * inside a transaction; writes in it fail. */
    int (*begin_snapshot)(struct coffre_store *s);

    /* Small named values: vault id, sealed-key check, wrapped index keys.
     * meta_get: COFFRE_ERR_NOTFOUND if absent. meta_put replaces. */
    int (*meta_get)(struct coffre_store *s, const char *key,
                    struct coffre_buf *out);
    int (*meta_put)(struct coffre_store *s, const char *key, const void *p,
                    size_t len);
    /* meta_add: meta_put of a key not present, COFFRE_ERR_EXISTS (nothing
     * changed) if it is; a concurrent transaction adding the same key is
     * waited for (PostgreSQL), so of two only one adds it. */
    int (*meta_add)(struct coffre_store *s, const char *key, const void *p,
                    size_t len);
    /* meta_get for a read-check-write inside begin/commit: the value stays
     * locked against other processes until the transaction ends (SELECT
     * ... FOR UPDATE), so that they take turns. NULL when meta_get does
     * so already (SQLite: a write transaction holds the database). */
    int (*meta_get_locked)(struct coffre_store *s, const char *key,
                           struct coffre_buf *out);

    /* Key-encryption keys, wrapped by the root key, by version >= 1.
     * kek_put: COFFRE_ERR_EXISTS if the version is stored already.
     * kek_delete: NOTFOUND if absent, INUSE while a data key uses it. */
    int (*kek_put)(struct coffre_store *s, uint32_t version,
                   const void *wrapped, size_t len);
    int (*kek_get)(struct coffre_store *s, uint32_t version,
                   struct coffre_buf *out);
    /* versions in ascending order, at most cap; *pn = how many exist */
    int (*kek_list)(struct coffre_store *s, uint32_t *versions, size_t cap,
                    size_t *pn);
    int (*kek_delete)(struct coffre_store *s, uint32_t version);

    /* Retention-epoch keys, wrapped by the root key.
     * epoch_get: COFFRE_ERR_ERASED if destroyed, NOTFOUND if never made.
     * epoch_put: EXISTS if stored, ERASED if destroyed (never revived). */
    int (*epoch_put)(struct coffre_store *s, uint32_t epoch,
                     const void *wrapped, size_t len);
    int (*epoch_get)(struct coffre_store *s, uint32_t epoch,
                     struct coffre_buf *out);

    /* Reserve n consecutive fresh record ids; the first in *pfirst. Ids are
     * never reused, even after a rollback or an erasure. */
    int (*id_reserve)(struct coffre_store *s, uint64_t n, uint64_t *pfirst);

    /* Insert a new person (row->id from id_reserve) and its data key.
     * COFFRE_ERR_EXISTS if the id is taken. */
    int (*person_insert)(struct coffre_store *s,
                         const struct coffre_store_person *row,
                         const struct coffre_store_dkey *dk);
    /* Replace everything of an existing person but its id; dk may be NULL
     * to keep the data key. COFFRE_ERR_NOTFOUND / COFFRE_ERR_ERASED. */
    int (*person_update)(struct coffre_store *s,
                         const struct coffre_store_person *row,
                         const struct coffre_store_dkey *dk);
    /* Fetch a person's row; with `classes` a bitmask of the ciphertexts
     * wanted; dk (may be NULL) receives its data key. `row` is overwritten
     * (clear it first if it held ciphertexts).
     * COFFRE_ERR_NOTFOUND if never stored, COFFRE_ERR_ERASED if erased. */
    int (*person_get)(struct coffre_store *s, uint64_t id, unsigned classes,
                      struct coffre_store_person *row,
                      struct coffre_store_dkey *dk);
    /* State and vetting deadline; `updated` becomes now. State ERASED is
     * COFFRE_ERR_ARG here and in person_update: use person_erase. */
    int (*person_set_state)(struct coffre_store *s, uint64_t id, int state,
                            int64_t deadline);
    /* Ids (ascending) whose tag `kind` equals tag; at most cap in ids,
     * the number of matches in *pn. */
    int (*person_find)(struct coffre_store *s, enum coffre_tag_kind kind,
                       const unsigned char tag[COFFRE_TAG_LEN], uint64_t *ids,
                       size_t cap, size_t *pn);
    /* Live ids > after, ascending, filtered by state (-1: any) and by
     * category tag (NULL: any); at most cap; *pn = how many returned. */
    int (*person_list)(struct coffre_store *s, int state,
                       const unsigned char *cat_tag, uint64_t after,
                       uint64_t *ids, size_t cap, size_t *pn);
    /* Live ids with 0 < deadline < now in state VETTING (vetting past its
     * deadline), or with 0 < retain_until < now when which == 1; ascending,
     * at most cap; *pn = how many returned. */
    int (*person_due)(struct coffre_store *s, int which, int64_t now,
                      uint64_t *ids, size_t cap, size_t *pn);
    /* Erase one person: delete its data key, ciphertexts and tags; a
     * tombstone (id, state erased) remains. COFFRE_ERR_NOTFOUND if never
     * stored, COFFRE_ERR_ERASED if already erased. */
    int (*person_erase)(struct coffre_store *s, uint64_t id);
    /* Destroy an epoch's key and erase every person of that epoch;
     * *pcount = persons erased. NOTFOUND if the epoch key was never put,
     * ERASED if already destroyed. */
    int (*epoch_erase)(struct coffre_store *s, uint32_t epoch,
                       uint64_t *pcount);

    /* Data keys wrapped by a key-encryption key older than `version`,
     * oldest version first then ascending by id (an index walk, no sort),
     * at most cap; *pn = how many returned. */
    int (*dkey_list_below)(struct coffre_store *s, uint32_t version,
                           struct coffre_store_dkey *out, size_t cap,
                           size_t *pn);
    /* Replace a data key's wrapping (rewrap). NOTFOUND / ERASED. */
    int (*dkey_update)(struct coffre_store *s,
                       const struct coffre_store_dkey *dk);
    /* How many data keys a key-encryption key version wraps. */
    int (*dkey_count)(struct coffre_store *s, uint32_t version, uint64_t *pn);

    int (*stats)(struct coffre_store *s, uint64_t *plive, uint64_t *perased);

    /* Bulk loading, outside any transaction (mode: enum coffre_bulk).
     * COFFRE_BULK_IMPORT defers every secondary index but the source-key
     * one, COFFRE_BULK_NEW that one too: searches, lists and rewraps stay
     * correct, scanning instead. COFFRE_BULK_OFF builds them again from
     * sorted scans, far cheaper than maintaining them row by row. Opening
     * a store rebuilds any index missing, so a crash while loading loses
     * nothing. NULL when the backend gains nothing from it. ARG inside a
     * transaction or for an unknown mode. */
    int (*bulk_load)(struct coffre_store *s, int mode);

    /* A quick integrity check of the store's structure, run when a vault
     * is unsealed: COFFRE_ERR_STORE with the first problem in msg. NULL
     * when the backend has none to run (PostgreSQL checks its pages
     * itself). */
    int (*check)(struct coffre_store *s, char *msg, size_t cap);

    /* Raw copy between stores (coffre store copy, docs/storage.md): every
     * row as stored, in key order, without a key. Each *_scan gives the
     * first row after `after` and COFFRE_ERR_NOTFOUND past the last.
     * person_scan: tombstones too (state ERASED, epoch and updated kept,
     * nothing else, *phas_dk 0); a live person with every ciphertext and,
     * *phas_dk 1, its data key. `row` is overwritten as by person_get. */
    int (*person_scan)(struct coffre_store *s, uint64_t after,
                       struct coffre_store_person *row,
                       struct coffre_store_dkey *dk, int *phas_dk);
    /* A tombstone as person_erase leaves one. EXISTS if the id is taken. */
    int (*tomb_insert)(struct coffre_store *s, uint64_t id, uint32_t epoch,
                       int64_t updated);
    /* Epoch keys by epoch > after (-1: from the first); a destroyed one
     * has *pdestroyed 1 and an empty `wrapped`. */
    int (*epoch_scan)(struct coffre_store *s, int64_t after, uint32_t *pepoch,
                      struct coffre_buf *wrapped, int *pdestroyed);
    /* Meta keys > after ("" from the first), bytewise order, the
     * backend's own "store." keys left out; key holds up to
     * COFFRE_STORE_KEY_MAX bytes and a NUL. */
    int (*meta_scan)(struct coffre_store *s, const char *after, char *key,
                     struct coffre_buf *val);
    /* The next id id_reserve would give, reserving nothing. */
    int (*id_next)(struct coffre_store *s, uint64_t *pnext);
    /* Make id_reserve give ids from `next` on; ARG if that would give an
     * id again (next below id_next): ids are never reused. */
    int (*id_set_next)(struct coffre_store *s, uint64_t next);

    /*
     * The audit log kept in the store (docs/audit.md section 14), for
     * several vault processes on one database. NULL for SQLite, whose log
     * stays in files. Implemented by store_pg_audit.c.
     *
     * audit_append: the canonical entry (at most COFFRE_AUDIT_ENTRY_MAX
     * bytes) at the next index, in *pindex, inside the current
     * transaction (the write and its entry commit together) or as its own
     * transaction outside one. Indices have no gap: a rolled-back append
     * leaves none.
     */
    int (*audit_append)(struct coffre_store *s, const unsigned char *entry,
                        size_t len, uint64_t *pindex);
    /* Committed entries from index `from` on, ascending, at most cap,
     * each handed to fn (an error from fn stops and is returned); *pn =
     * how many were handed. COFFRE_ERR_STORE if the indices have a hole. */
    int (*audit_read)(struct coffre_store *s, uint64_t from, size_t cap,
                      coffre_store_audit_fn fn, void *arg, size_t *pn);
    /* The number of committed entries. */
    int (*audit_size)(struct coffre_store *s, uint64_t *pn);
    /* Store a signed checkpoint of `size` entries, in a transaction of its
     * own that checks that no checkpoint of that size or a larger one is
     * stored (EXISTS then): two different checkpoints of one size (a
     * fork) can never be stored. */
    int (*checkpoint_put)(struct coffre_store *s, uint64_t size,
                          const void *note, size_t len);
    /* The first checkpoint of a size > after (-1: the first), or with
     * after COFFRE_CHECKPOINT_LATEST the latest. NOTFOUND if none. */
    int (*checkpoint_get)(struct coffre_store *s, int64_t after,
                          uint64_t *psize, struct coffre_buf *note);
    /* Try to take (or keep) the signer's lock: a session lock, released
     * when the connection closes or drops. *pheld 1 if this connection
     * holds it. */
    int (*audit_signer_lock)(struct coffre_store *s, int *pheld);
    /* A second connection to the same database, a store of its own. */
    int (*dup)(struct coffre_store *s, struct coffre_store **pnew);
    /* The guard's state shared by the processes of one database
     * (coffre/guard.h, docs/guard.md "Several processes"); NULL when the
     * backend keeps none (SQLite). guard_open creates its tables; the
     * others are each one statement of their own, never inside
     * begin/commit. Implemented in store_pg_guard.c. */
    int (*guard_open)(struct coffre_store *s);
    int (*guard_observe)(struct coffre_store *s,
                         const struct coffre_guard_ask *ask,
                         struct coffre_guard_verdict *out);
    int (*guard_reinstate)(struct coffre_store *s, const char *name,
                           int *pfound);
    int (*guard_list)(struct coffre_store *s,
                      void (*fn)(void *arg,
                                 const struct coffre_guard_principal *p),
                      void *arg);
};

/* The indexes a bulk load defers, by the names both schemas give them:
 * every secondary index, then (COFFRE_BULK_NEW) the source-key one. */
#define COFFRE_STORE_BULK_DROP_SQL                                             \
    "DROP INDEX IF EXISTS person_document;"                                    \
    "DROP INDEX IF EXISTS person_email;"                                       \
    "DROP INDEX IF EXISTS person_name_dob;"                                    \
    "DROP INDEX IF EXISTS person_state;"                                       \
    "DROP INDEX IF EXISTS person_vetting_due;"                                 \
    "DROP INDEX IF EXISTS dkey_kek;"
#define COFFRE_STORE_BULK_DROP_SOURCE_SQL "DROP INDEX IF EXISTS person_source;"

struct coffre_store {
    const struct coffre_store_ops *ops;
    char errmsg[256];
    /* Set by the backend with the failure of a call inside a transaction:
     * retry: the transaction certainly did not commit and may be run
     * again from begin (a serialization failure, or a connection lost and
     * regained, docs/storage.md section 10); commit_unknown: a commit whose
     * outcome could not be learnt (never retry it blindly). Cleared by
     * begin. */
    int retry;
    int commit_unknown;
};

/**
 * coffre_store_open_sqlite(path, ps): open or create the SQLite store at
 * ${path} (WAL, secure_delete, synchronous=FULL: see docs/storage.md).
 */
int coffre_store_open_sqlite(const char *path, struct coffre_store **ps);

/**
 * coffre_store_open_pg(conninfo, ps): open the PostgreSQL store reached by
 * the libpq connection string ${conninfo}, creating its tables if needed.
 */
int coffre_store_open_pg(const char *conninfo, struct coffre_store **ps);

/**
 * coffre_store_open_pg_auth(conninfo, password, msg, cap, ps):
 * coffre_store_open_pg with ${password} (NULL: libpq's own, PGPASSWORD or
 * the password file) given to PQconnectdbParams after the conninfo, so
 * that it wins; a copy is kept in locked memory, wiped at close, to
 * reconnect after a lost connection (docs/storage.md section 10). On failure
 * libpq's message, on one line, in ${msg}
 * (${cap} bytes; may be NULL); it never holds the password.
 */
int coffre_store_open_pg_auth(const char *conninfo, const char *password,
                              char *msg, size_t cap, struct coffre_store **ps);

struct sqlite3;
/**
 * coffre_store_sqlite_handle(s): the SQLite connection behind ${s} (for
 * tests that inspect pragmas), or NULL if ${s} is not a SQLite store.
 */
struct sqlite3 *coffre_store_sqlite_handle(struct coffre_store *s);

/** coffre_store_close(s): close; NULL is a no-op. */
void coffre_store_close(struct coffre_store *s);

#endif
