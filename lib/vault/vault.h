/*
 * The vault's internal state, shared by the files of lib/vault/:
 * vault.c (open, init, unseal, seal), keyring.c (key-encryption keys,
 * epochs, index and pseudonym keys), person.c (records), bulk.c
 * (multithreaded put_many).
 *
 * Locking: every public coffre_vault_* function takes v->lock for its whole
 * duration; internal functions (prefix vault_) expect it held.
 */
#ifndef COFFRE_VAULT_VAULT_H
#define COFFRE_VAULT_VAULT_H

#include <pthread.h>
#include <stdint.h>

#include "coffre/coffre.h"
#include "crypto/crypto.h"
#include "record/record.h"
#include "store/store.h"

struct coffre_p11;
struct coffre_pkcs11;

#define VAULT_MAX_KEKS 64
#define VAULT_MAX_EPOCHS 256
#define VAULT_MAX_AUDIENCES 64
#define VAULT_MAX_SHARES 255
#define VAULT_STORE_URI_MAX 1024 /* bytes of a store URI, NUL included */
#define VAULT_AUDIENCE_MAX 64

/* Retention: end of validity plus this, by default (DESIGN section 4). */
#define VAULT_RETENTION_DEFAULT (365 * 86400LL)
/* Vetting with no verdict is refused after this, by default: two months. */
#define VAULT_VETTING_DEFAULT (61 * 86400LL)

struct vault_kek {
    uint32_t version;
    struct coffre_key *key;
};

/* An epoch key with the data-key wrapping key it gives under each KEK
 * version loaded (index parallel to v->keks), derived on first use. */
struct vault_epoch {
    uint32_t epoch;
    int destroyed;
    struct coffre_key *key;
    struct coffre_key *dkwrap[VAULT_MAX_KEKS];
};

struct vault_audience {
    char name[VAULT_AUDIENCE_MAX + 1];
    struct coffre_key *key;
};

struct coffre_vault {
    pthread_mutex_t lock;
    struct coffre_store *store;
    int dev;
    /* coffre_vault_accept_rollback: a restored store older than its log
     * may open, re-applying the log's erasures (hook.c). */
    int accept_rollback;
    unsigned char id[16];
    char id_hex[33];
    unsigned threshold, count;
    unsigned char root_check[32];
    unsigned char *commitments; /* count * 32 */
    int64_t retention;
    int64_t vetting_deadline;

    /* Shares given so far, while sealed, and who gave each ("": not
     * counted by giver, coffre_vault_unseal). */
    struct coffre_share pending[VAULT_MAX_SHARES];
    char pending_by[VAULT_MAX_SHARES][COFFRE_UNSEAL_BY_MAX + 1];
    unsigned npending;

    /* Unsealed state: root is NULL while sealed. The root key stays
     * mprotect'ed no-access while idle. */
    struct coffre_key *root;
    struct vault_kek keks[VAULT_MAX_KEKS];
    unsigned nkeks;
    uint32_t kek_current;
    struct vault_epoch epochs[VAULT_MAX_EPOCHS];
    unsigned nepochs;
    struct coffre_key *tagkey[COFFRE_TAG_COUNT];
    struct coffre_key *pseudo_master;
    struct vault_audience audiences[VAULT_MAX_AUDIENCES];
    unsigned naudiences;
    struct coffre_key *cursor_key; /* derived on first use */
    struct vault_scratch *scratch; /* for single-record calls */

    /* The audit hook (hook.c): while unsealed, nothing is disclosed or
     * written without it. */
    coffre_audit_fn audit_fn;
    void *audit_arg;
    /* The data directory (NULL for none) and its lock file, held while
     * the vault is unsealed: one process at a time (hook.c). */
    char *dir;
    int lock_fd;
    /* The store: "sqlite" or its URI (storesel.c); during init or open
     * the options that named it. */
    char store_loc[VAULT_STORE_URI_MAX];
    const struct coffre_store_opts *store_opts;

    /* The seal (seal_pkcs11.c, docs/keys.md section 8): enum coffre_seal;
     * how the root key in memory was obtained (VAULT_OPENED_*), which a
     * reseal checks for the custodians' consent; a token-sealed vault's
     * recorded module, token and key and its sealed root key; why the
     * last unseal from the token failed. During init only: the token's
     * configuration and session. */
    int seal;
    int opened_by;
    char p11_module[4096];
    char p11_token[33], p11_key[33];
    unsigned char p11_blob[61];
    char seal_error[256];
    const struct coffre_pkcs11 *p11_init;
    struct coffre_p11 *p11;

    char errmsg[256];
};

#define VAULT_OPENED_NONE 0
#define VAULT_OPENED_SHARES 1 /* the threshold of custodian shares, or init */
#define VAULT_OPENED_TOKEN 2  /* the PKCS#11 token */
/* storesel.c: which store a data directory uses (docs/storage.md 7). */
#define VAULT_DB_NAME "coffre.db"
#define VAULT_STORE_RECORD "store" /* DATA_DIR/store: the store's URI */
struct vault_store_sel {
    int pg;                        /* else SQLite in db */
    char uri[VAULT_STORE_URI_MAX]; /* postgresql://..., no password */
    char db[4096];
};
/** vault_store_is_uri(s): ${s} has a scheme (is not a directory). */
int vault_store_is_uri(const char *s);
/** vault_store_uri_check(loc, out, cap, msg, mcap): ${loc} a PostgreSQL
 * URI without a password, normalised into ${out}; ARG otherwise (the
 * message in ${msg} never repeats the URI). */
int vault_store_uri_check(const char *loc, char *out, size_t cap, char *msg,
                          size_t mcap);
/** vault_store_resolve(dir, so, creating, sel, msg, cap): the store of
 * data directory ${dir}: the options' (creating), or the one recorded,
 * which the options (may be NULL) must agree with. */
int vault_store_resolve(const char *dir, const struct coffre_store_opts *so,
                        int creating, struct vault_store_sel *sel, char *msg,
                        size_t cap);
/** vault_store_open_sel(sel, password_file, ps, msg, cap): open it. */
int vault_store_open_sel(const struct vault_store_sel *sel,
                         const char *password_file, struct coffre_store **ps,
                         char *msg, size_t cap);
/** vault_store_must_be_empty(s, what, msg, cap): EXISTS if ${s} holds a
 * vault. */
int vault_store_must_be_empty(struct coffre_store *s, const char *what,
                              char *msg, size_t cap);
/** vault_store_record(dir, uri, msg, cap): write DATA_DIR/store. */
int vault_store_record(const char *dir, const char *uri, char *msg, size_t cap);
/** vault_store_copy_pass(src, dst, st, digest, msg, cap): one pass of
 * coffre store copy over ${src}'s rows (storecopy.c), written to ${dst}
 * unless NULL, through meta_put, kek_put, epoch_put, epoch_erase,
 * person_insert, tomb_insert and id_set_next only, in that order of
 * kinds; counts in ${st}, a SHA-256 over every row in ${digest}. */
int vault_store_copy_pass(struct coffre_store *src, struct coffre_store *dst,
                          struct coffre_store_copy_stats *st,
                          unsigned char digest[32], char *msg, size_t cap);
/** vault_dir_make_empty(to, what, pmade, msg, cap): ${to} made 0700, or
 * an empty directory already (*${pmade} 0); EXISTS if not empty, the
 * message ending with ${what}. */
int vault_dir_make_empty(const char *to, const char *what, int *pmade,
                         char *msg, size_t cap);
/** vault_store_create(v, dir, so): init's store in v->store, recorded. */
int vault_store_create(struct coffre_vault *v, const char *dir,
                       const struct coffre_store_opts *so);
/** vault_store_attach(v, dir, so): open's store in v->store. */
int vault_store_attach(struct coffre_vault *v, const char *dir,
                       const struct coffre_store_opts *so);

/* vault.c */
int vault_fail(struct coffre_vault *v, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int vault_store_fail(struct coffre_vault *v, int rc, const char *what);
void vault_root_use(struct coffre_vault *v);
void vault_root_idle(struct coffre_vault *v);

/** vault_root_install(v, root, by): the root key ${root} (checked against
 * the root check value by the caller) becomes the vault's: the data
 * directory is locked, the store checked and the keys loaded; on failure
 * the vault is sealed again. ${root} is the vault's either way. */
int vault_root_install(struct coffre_vault *v, struct coffre_key *root, int by);
/** vault_meta_str(v, k, out, cap): the string meta value ${k} into ${out}
 * ("" if absent); COFFRE_ERR_STORE if longer than cap - 1. */
int vault_meta_str(struct coffre_vault *v, const char *k, char *out,
                   size_t cap);

/* seal_pkcs11.c */
/** vault_seal_prepare(v): init with a token: open it (v->p11_init) and
 * find or make its key, into v->p11, before anything is made. */
int vault_seal_prepare(struct coffre_vault *v);
/** vault_seal_wrap(v): seal the new root key under v->p11's key. */
int vault_seal_wrap(struct coffre_vault *v);
/** vault_seal_meta_put(v): write the seal's metadata (in a transaction). */
int vault_seal_meta_put(struct coffre_vault *v);
/** vault_seal_meta_load(v): read it, opening a vault. */
int vault_seal_meta_load(struct coffre_vault *v);
/** vault_seal_release(v): close v->p11; NULL is a no-op. */
void vault_seal_release(struct coffre_vault *v);
/** vault_reseal_consent(v): lock held; COFFRE_OK if the custodians
 * consented to a reseal (docs/keys.md 8.4), else the refusal. */
int vault_reseal_consent(struct coffre_vault *v);
/** vault.c: coffre_vault_init, sealed also to the token ${p11} if not
 * NULL. */
int coffre_vault_init_with(const char *dir, const struct coffre_init_opts *opts,
                           const struct coffre_pkcs11 *p11,
                           struct coffre_vault **pv);

/* keyring.c */
int vault_keys_create(struct coffre_vault *v);
int vault_keys_load(struct coffre_vault *v);
void vault_keys_forget(struct coffre_vault *v);
struct coffre_key *vault_kek(struct coffre_vault *v, uint32_t version,
                             unsigned *pidx);
int vault_epoch(struct coffre_vault *v, uint32_t epoch, int create,
                struct vault_epoch **pe);
int vault_dkwrap(struct coffre_vault *v, uint32_t kek_version,
                 struct vault_epoch *e, const struct coffre_key **pk);
int vault_audience_key(struct coffre_vault *v, const char *audience,
                       const struct coffre_key **pk);
/** vault_cursor_key(v, pk): the key of listing cursors (docs/keys.md
 * section 5.1), derived from the pseudonym master on first use and kept
 * until the vault is sealed; *${pk} belongs to the vault. */
int vault_cursor_key(struct coffre_vault *v, const struct coffre_key **pk);
int vault_kek_new(struct coffre_vault *v, uint32_t version);
void vault_epoch_drop(struct coffre_vault *v, uint32_t epoch);

/* person.c */

/* Per-thread working memory: a data key slot and plaintext buffers, all
 * wiped between uses. */
struct vault_scratch {
    struct coffre_key *dk;
    struct coffre_buf tlv;
    struct coffre_buf norm;
};
struct vault_scratch *vault_scratch_new(void);
void vault_scratch_free(struct vault_scratch *sc);

struct vault_sealed {
    struct coffre_store_person row;
    struct coffre_store_dkey dk;
    unsigned char *arena; /* the ciphertexts row.ct[] point into */
};
int vault_person_plan(struct coffre_vault *v, const struct coffre_person *p,
                      int64_t *pretain, uint32_t *pepoch);
int vault_person_seal(struct coffre_vault *v, const struct coffre_person *p,
                      uint64_t id, uint32_t dk_gen, int64_t retain,
                      struct vault_epoch *e, const struct coffre_key *dkwrap,
                      struct vault_scratch *sc, struct vault_sealed *out);
int vault_check_unsealed(struct coffre_vault *v);
/** vault_in_tx(v, fn, arg): take the lock, check the vault is unsealed,
 * run ${fn} in one store transaction (committed if it returns COFFRE_OK,
 * rolled back otherwise); its result. */
int vault_in_tx(struct coffre_vault *v,
                int (*fn)(struct coffre_vault *, void *), void *arg);
/** vault_tx_locked(v, fn, arg): the same with the lock held and the seal
 * checked by the caller. */
int vault_tx_locked(struct coffre_vault *v,
                    int (*fn)(struct coffre_vault *, void *), void *arg);
int64_t vault_now(void);
/** vault_badge_revoke_locked(v, person, padded): move the badges issued
 * to ${person} to the revoked list, inside the caller's transaction. */
int vault_badge_revoke_locked(struct coffre_vault *v, uint64_t person,
                              size_t *padded);
void vault_sealed_clear(struct vault_sealed *s);
/** vault_open_dkey(v, dk, sc): unwrap a stored data key into sc->dk;
 * COFFRE_ERR_ERASED if its epoch key is gone, COFFRE_ERR_CRYPTO if it does
 * not authenticate. */
int vault_open_dkey(struct coffre_vault *v, const struct coffre_store_dkey *dk,
                    struct vault_scratch *sc);

/* hook.c: the audit hook (docs/audit.md section 13). */

/** vault_event(ev, op, id, classes): a zeroed event of one person. */
void vault_event(struct coffre_event *ev, int op, uint64_t id,
                 unsigned classes);
/** vault_audit_read(v, ev): the hook's verdict on a disclosure (lock
 * held): COFFRE_OK, or its refusal with the reason in v->errmsg. */
int vault_audit_read(struct coffre_vault *v, struct coffre_event *ev);
/** vault_audit_write(v, ev): inside the caller's transaction (lock held):
 * the hook records the write durably, then the store's audit mark moves
 * to its entry. Any failure: the caller rolls back. */
int vault_audit_write(struct coffre_vault *v, struct coffre_event *ev);
/** vault_audit_commit(v, ev): commit the caller's transaction whose write
 * vault_audit_write recorded; if the commit fails, tell the hook. */
int vault_audit_commit(struct coffre_vault *v, struct coffre_event *ev);
/** vault_tx_audited(v, ev, fn, arg): as vault_tx_locked, with the write
 * recorded by vault_audit_write before the commit; ${fn} may fill ${ev}
 * (id, count, classes, protected flag) as it learns them. */
int vault_tx_audited(struct coffre_vault *v, struct coffre_event *ev,
                     int (*fn)(struct coffre_vault *, void *), void *arg);
/** vault_in_tx_audited(v, ev, fn, arg): the same, taking the lock and
 * checking the seal. */
int vault_in_tx_audited(struct coffre_vault *v, struct coffre_event *ev,
                        int (*fn)(struct coffre_vault *, void *), void *arg);
/** vault_audit_mark_init(v): a new store's audit mark, 0 (in the
 * creating transaction). */
int vault_audit_mark_init(struct coffre_vault *v);
/* The lock file in the data directory (hook.c; init undoes it, vault.c). */
#define VAULT_LOCK_NAME "lock"
/** vault_dir_lock(v): take the data directory's lock (unsealing);
 * COFFRE_ERR_INUSE with the holder's pid in v->errmsg. */
int vault_dir_lock(struct coffre_vault *v);
/** vault_dir_unlock(v): release it (sealing, closing). */
void vault_dir_unlock(struct coffre_vault *v);

struct coffre_audit;
/**
 * vault_audit_check(v, a, msg, cap): the cross-check of the store with the
 * log ${a} just opened on ${v} (coffre_audit_open): COFFRE_ERR_STORE with
 * the reason in ${msg} if either is behind the other; a single write
 * entry never committed is noted in the log and passed over (${msg} says
 * so).
 */
int vault_audit_check(struct coffre_vault *v, struct coffre_audit *a, char *msg,
                      size_t cap);

/* The meta key coffre restore sets in a restored store (the backup's
 * audit mark, 8 bytes big endian); hook.c clears it once the log and the
 * store agree (docs/operations.md section 2). */
#define VAULT_RESTORED_KEY "restored_mark"

/* auditkey.c: the audit log's Ed25519 seed (made on first use), for
 * lib/audit/log.c; takes v->lock. COFFRE_ERR_SEALED while sealed. */
int coffre_vault_audit_seed(struct coffre_vault *v, unsigned char seed[32]);

/* bulk.c: seal on every core and insert ps[0..n) inside the caller's
 * transaction (lock held); the first record id in *pfirst (may be NULL);
 * ids are consecutive. */
int vault_bulk_insert(struct coffre_vault *v, struct coffre_person *const *ps,
                      size_t n, uint64_t *pfirst);

/* person.c: store the new person ${p} inside the caller's transaction
 * (lock held, validated by the caller), its id in *${pid}. */
int vault_put_locked(struct coffre_vault *v, const struct coffre_person *p,
                     uint64_t *pid);

/* person.c: decrypt person id's classes (lock held); its row in *prow if
 * not NULL (clear it with coffre_store_person_clear). */
int vault_person_load(struct coffre_vault *v, uint64_t id, unsigned classes,
                      struct coffre_person **pp,
                      struct coffre_store_person *prow);

/* keyring.c: the named key "key:NAME" wrapped by root, created if absent. */
int vault_named_key(struct coffre_vault *v, const char *name,
                    struct coffre_key **pk);
#endif
