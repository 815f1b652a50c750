/*
 * coffre: a sovereign vault for the personal data of an accreditation file.
 *
 * This is the whole public API of libcoffre. Every type is opaque except the
 * small option and diagnostic structs. Functions return an enum coffre_err
 * (COFFRE_OK is 0); details of the last failure of a vault are in
 * coffre_vault_errmsg(). No function prints or exits.
 *
 * Memory: strings and buffers returned through an out-parameter belong to
 * the caller and are freed with coffre_free() (which wipes them), persons
 * with coffre_person_free().
 */
#ifndef COFFRE_COFFRE_H
#define COFFRE_COFFRE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COFFRE_API __attribute__((visibility("default")))

enum coffre_err {
    COFFRE_OK = 0,
    COFFRE_ERR_NOMEM,       /* out of memory */
    COFFRE_ERR_ARG,         /* an argument is out of its domain */
    COFFRE_ERR_INVALID,     /* a record fails validation (see diag) */
    COFFRE_ERR_PARSE,       /* malformed input */
    COFFRE_ERR_TOOBIG,      /* input over its hard cap */
    COFFRE_ERR_IO,          /* a file operation failed */
    COFFRE_ERR_STORE,       /* the storage backend failed */
    COFFRE_ERR_CRYPTO,      /* a ciphertext failed to authenticate */
    COFFRE_ERR_SEALED,      /* the vault is sealed */
    COFFRE_ERR_SHARE,       /* a share is malformed or not of this vault */
    COFFRE_ERR_THRESHOLD,   /* the shares given do not unseal the vault */
    COFFRE_ERR_NOTFOUND,    /* no such person, key or object */
    COFFRE_ERR_EXISTS,      /* the object exists already */
    COFFRE_ERR_ERASED,      /* the person or epoch was erased */
    COFFRE_ERR_STATE,       /* illegal lifecycle transition */
    COFFRE_ERR_DENIED,      /* forbidden by policy */
    COFFRE_ERR_LIMIT,       /* a rate limit or quota is exceeded */
    COFFRE_ERR_UNAVAILABLE, /* a dependency is unavailable (retry later) */
    COFFRE_ERR_INUSE,       /* the object is still referenced */
    COFFRE_ERR__COUNT
};

/** coffre_strerror(err): a static English sentence for ${err}. */
COFFRE_API const char *coffre_strerror(int err);

/**
 * coffre_lib_init(): initialise libsodium and route JSON allocations through
 * the wiping allocator. Call once before anything else; idempotent.
 */
COFFRE_API int coffre_lib_init(void);

/** coffre_free(p): wipe and free a buffer returned by this library. */
COFFRE_API void coffre_free(void *p);

/* ------------------------------------------------------------------ */
/* Field classes of DESIGN section 3.                                 */

enum coffre_class {
    COFFRE_CLASS_PUBLIC = 0,
    COFFRE_CLASS_IDENTITY,
    COFFRE_CLASS_CONTACT,
    COFFRE_CLASS_DOCUMENT,
    COFFRE_CLASS_PHOTO,
    COFFRE_CLASS_VETTING,
    COFFRE_CLASS_COUNT
};
#define COFFRE_CLASS_BIT(c) (1u << (c))
#define COFFRE_CLASSES_ALL ((1u << COFFRE_CLASS_COUNT) - 1u)

/** coffre_class_name(c): "public", "identity", ...; NULL if out of range. */
COFFRE_API const char *coffre_class_name(int c);
/** coffre_class_parse(name): the class of ${name}, or -1. */
COFFRE_API int coffre_class_parse(const char *name);

/* Lifecycle states of DESIGN section 3. */
enum coffre_state {
    COFFRE_STATE_SUBMITTED = 0,
    COFFRE_STATE_VETTING,
    COFFRE_STATE_APPROVED,
    COFFRE_STATE_REFUSED,
    COFFRE_STATE_BADGE_ISSUED,
    COFFRE_STATE_REVOKED,
    COFFRE_STATE_EXPIRED,
    COFFRE_STATE_ERASED,
    COFFRE_STATE_COUNT
};
COFFRE_API const char *coffre_state_name(int s);
COFFRE_API int coffre_state_parse(const char *name);
/** coffre_state_allowed(from, to): 1 if the lifecycle allows it, else 0. */
COFFRE_API int coffre_state_allowed(int from, int to);

/* ------------------------------------------------------------------ */
/* Persons: one record of the accreditation file.                     */

struct coffre_person;

/*
 * Where a record failed: the field (dotted JSON name, or CSV column name),
 * the rule it broke, and for streamed input the line number (1-based, 0 if
 * not from a stream). Never holds a personal value.
 */
struct coffre_diag {
    char field[48];
    char rule[160];
    uint64_t line;
};

/**
 * coffre_person_from_json(json, len, pp, diag): parse and validate one person
 * from its JSON object form (docs/formats.md). On success *${pp} is a new
 * person. On failure returns COFFRE_ERR_PARSE, COFFRE_ERR_TOOBIG or
 * COFFRE_ERR_INVALID and fills ${diag} (which may be NULL).
 */
COFFRE_API int coffre_person_from_json(const char *json, size_t len,
                                       struct coffre_person **pp,
                                       struct coffre_diag *diag);

/**
 * coffre_person_to_json(p, classes, pjson): the JSON object form of ${p},
 * limited to the classes in the ${classes} bitmask. *${pjson} is
 * NUL-terminated, freed with coffre_free().
 */
COFFRE_API int coffre_person_to_json(const struct coffre_person *p,
                                     unsigned classes, char **pjson);

/** coffre_person_classes(p): bitmask of the classes ${p} carries. */
COFFRE_API unsigned coffre_person_classes(const struct coffre_person *p);

/** coffre_person_state(p): the lifecycle state of ${p}. */
COFFRE_API int coffre_person_state(const struct coffre_person *p);

/** coffre_person_free(p): wipe and free ${p}; NULL is a no-op. */
COFFRE_API void coffre_person_free(struct coffre_person *p);

/* ------------------------------------------------------------------ */
/* Streams of persons: the CSV and JSON Lines files of docs/formats.md */

enum coffre_format { COFFRE_FORMAT_JSONL = 0, COFFRE_FORMAT_CSV };

/** coffre_format_parse(name): "jsonl" or "csv" to the format, or -1. */
COFFRE_API int coffre_format_parse(const char *name);

struct coffre_reader;

/**
 * coffre_reader_open(f, fmt, pr): a streaming reader over ${f} (not owned).
 * Memory does not grow with the file.
 */
COFFRE_API int coffre_reader_open(FILE *f, enum coffre_format fmt,
                                  struct coffre_reader **pr);

/**
 * coffre_reader_next(r, pp, diag): the next person. Returns COFFRE_OK with
 * *${pp} set, COFFRE_OK with *${pp} NULL at the end of the stream,
 * COFFRE_ERR_INVALID / COFFRE_ERR_PARSE / COFFRE_ERR_TOOBIG for a bad record
 * (diag names line, field and rule; the stream goes on with the next
 * record), or COFFRE_ERR_IO when reading fails (the stream is over).
 */
COFFRE_API int coffre_reader_next(struct coffre_reader *r,
                                  struct coffre_person **pp,
                                  struct coffre_diag *diag);

/** coffre_reader_offset(r): byte offset of the end of the last record. */
COFFRE_API uint64_t coffre_reader_offset(const struct coffre_reader *r);

/** coffre_reader_lines(r): line feeds read up to coffre_reader_offset (after
 * a record: the physical line the record ends on). */
COFFRE_API uint64_t coffre_reader_lines(const struct coffre_reader *r);

/**
 * coffre_reader_seek(r, offset, lines): go on reading at byte ${offset},
 * the end of a record as coffre_reader_offset gave it, where
 * coffre_reader_lines gave ${lines} (so that line numbers in diagnostics
 * stay those of the whole file). A CSV reader first reads the header row.
 * The FILE must be seekable: COFFRE_ERR_IO otherwise; COFFRE_ERR_ARG for a
 * point before what was read already; the header's error if it is bad.
 */
COFFRE_API int coffre_reader_seek(struct coffre_reader *r, uint64_t offset,
                                  uint64_t lines);

COFFRE_API void coffre_reader_free(struct coffre_reader *r);

/** coffre_person_write(f, fmt, p, header): append ${p} as one record. For CSV
 * with ${header} nonzero the header line is written first. */
COFFRE_API int coffre_person_write(FILE *f, enum coffre_format fmt,
                                   const struct coffre_person *p, int header);

/* ------------------------------------------------------------------ */
/* Synthetic accreditation files.                                     */

struct coffre_gen_opts {
    uint64_t seed;
    int photos; /* nonzero: attach a small generated JPEG to each person */
    /* The day the file is dated around, in days since 1970-01-01 UTC:
     * validity from up to 60 days before it to 7 to 66 days after it,
     * verdicts of the 120 days before it, documents expiring in the 2nd to 11th
     * year after it, ages 16 to 74. 0: 2024-07-26 (the output depends on the
     * seed alone). coffre_gen_today() gives the real date. */
    int64_t today;
};

struct coffre_gen;

COFFRE_API int coffre_gen_new(const struct coffre_gen_opts *opts,
                              struct coffre_gen **pg);
/** coffre_gen_next(g, pp): the next synthetic person (deterministic in seed).
 */
COFFRE_API int coffre_gen_next(struct coffre_gen *g, struct coffre_person **pp);
COFFRE_API void coffre_gen_free(struct coffre_gen *g);
/** coffre_gen_today(): today's date (UTC) in days since 1970-01-01, for
 * coffre_gen_opts.today. */
COFFRE_API int64_t coffre_gen_today(void);
/** coffre_gen_parse_day(s, pday): the date ${s} (YYYY-MM-DD, a real day
 * from 1970 to 9999) in days since 1970-01-01 into *${pday}; COFFRE_OK or
 * COFFRE_ERR_PARSE. */
COFFRE_API int coffre_gen_parse_day(const char *s, int64_t *pday);

/* ------------------------------------------------------------------ */
/* The vault.                                                         */

struct coffre_vault;

/*
 * Where a vault's store is (docs/storage.md section 7). The data directory
 * is always the vault's local state (lock, audit log); the store is SQLite
 * in it (the default) or a PostgreSQL database named by a URI
 * (postgresql:// or postgres://) that carries no password. init records
 * the URI in DATA_DIR/store, so later opens need not repeat it.
 */
struct coffre_store_opts {
    /* NULL: what the data directory records (SQLite if nothing); else a
     * URI, or the data directory itself for SQLite. Opening with one the
     * data directory does not record is COFFRE_ERR_ARG. */
    const char *location;
    /* NULL: libpq's own (PGPASSWORD, PGPASSFILE, ~/.pgpass); else a file
     * (not readable by group or others) whose first line is the password,
     * read into locked memory and wiped once connected. */
    const char *password_file;
};

struct coffre_init_opts {
    unsigned shares;       /* n, default 5 when 0 */
    unsigned threshold;    /* m, default 3 when 0 */
    const char *share_dir; /* where share files are written (created 0700) */
    const struct coffre_store_opts *store; /* NULL: SQLite in ${dir} */
};

/**
 * coffre_vault_init(dir, opts, pv): create a new vault in ${dir} (which must
 * not hold one), generate its root key, split it into opts->shares Shamir
 * shares of which opts->threshold unseal, write each to its own file
 * share_dir/share-K.txt (mode 0600, created exclusively) and return the
 * vault unsealed in *${pv}. The root key is never written in clear.
 * All or nothing (docs/keys.md section 4.3): COFFRE_ERR_EXISTS, having
 * made nothing, if ${dir} holds a store or any share file is there; a
 * failure midway removes what it made (directories, store, shares) and
 * nothing else. *${pv} is set on failure too, for its errmsg: close it.
 */
COFFRE_API int coffre_vault_init(const char *dir,
                                 const struct coffre_init_opts *opts,
                                 struct coffre_vault **pv);

/**
 * coffre_vault_join(dir, so, msg, cap): make ${dir} (new, or an empty
 * directory; made 0700) a second data directory of the vault already in
 * the PostgreSQL store so->location (docs/storage.md section 9): it
 * records that store (DIR/store) and nothing else, so that another
 * process (a second `coffre server`) has a lock of its own on the same
 * vault; it unseals with the same shares. COFFRE_ERR_ARG if the store is
 * not a PostgreSQL URI, COFFRE_ERR_NOTFOUND if it holds no vault,
 * COFFRE_ERR_EXISTS if ${dir} is not empty; nothing is made then. Why in
 * ${msg} (${cap} bytes).
 */
COFFRE_API int coffre_vault_join(const char *dir,
                                 const struct coffre_store_opts *so, char *msg,
                                 size_t cap);

/** coffre_vault_open(dir, pv): open an existing vault, sealed. */
COFFRE_API int coffre_vault_open(const char *dir, struct coffre_vault **pv);

/**
 * coffre_vault_open_store(dir, so, pv): coffre_vault_open() with the
 * store's options (may be NULL: as recorded in ${dir}). A location other
 * than the recorded one, or a URI carrying a password, is COFFRE_ERR_ARG;
 * a database that cannot be reached, COFFRE_ERR_UNAVAILABLE. *${pv} is
 * set on failure too, for its errmsg: close it.
 */
COFFRE_API int coffre_vault_open_store(const char *dir,
                                       const struct coffre_store_opts *so,
                                       struct coffre_vault **pv);

/**
 * coffre_vault_join(dir, so, msg, cap): make ${dir} (created 0700 if
 * absent) a further data directory of the vault that the PostgreSQL store
 * so->location holds, for another process on the same database: its URI
 * is recorded in DIR/store, nothing else is made and the database is not
 * changed. COFFRE_ERR_ARG for a store that is not a PostgreSQL URI,
 * COFFRE_ERR_EXISTS if ${dir} holds a vault, COFFRE_ERR_NOTFOUND if the
 * database holds none; the reason in ${msg} (${cap} bytes).
 */
COFFRE_API int coffre_vault_join(const char *dir,
                                 const struct coffre_store_opts *so, char *msg,
                                 size_t cap);

/** coffre_vault_store_location(v): "sqlite" or the store's URI (it
 * carries no password). */
COFFRE_API const char *
coffre_vault_store_location(const struct coffre_vault *v);

/**
 * coffre_vault_open_dev(dir, pv): create a development vault in ${dir} whose
 * root key lives in memory only: it cannot be reopened after close.
 */
COFFRE_API int coffre_vault_open_dev(const char *dir, struct coffre_vault **pv);

/** coffre_vault_open_dev_store(dir, so, pv): coffre_vault_open_dev() on
 * the store ${so} names (NULL: SQLite in ${dir}); a database must hold no
 * vault yet. */
COFFRE_API int coffre_vault_open_dev_store(const char *dir,
                                           const struct coffre_store_opts *so,
                                           struct coffre_vault **pv);

/* What coffre_store_copy() copied and checked. */
struct coffre_store_copy_stats {
    uint64_t persons, tombstones, data_keys, keks, epochs, meta, audit_files;
    uint64_t next_id;
    unsigned char digest[32]; /* of every row copied, equal on both sides */
};

/**
 * coffre_store_copy(from, from_so, to, to_so, st, msg, cap): copy the
 * store of the vault in data directory ${from} (its store as ${from_so}
 * or its record says) row by row, as stored (ciphertexts stay
 * ciphertexts: no unseal), into the empty store ${to_so} names (NULL:
 * SQLite) of a new data directory ${to}, with the audit log files of
 * ${from}/audit; then reads both stores again and compares a digest of
 * every row. Holds ${from}'s lock throughout (COFFRE_ERR_INUSE while a
 * server has it unsealed). Refuses (COFFRE_ERR_EXISTS), having made
 * nothing, a ${to} that holds anything or a database that holds a vault.
 * The reason of a failure in ${msg} (${cap} bytes).
 */
COFFRE_API int
coffre_store_copy(const char *from, const struct coffre_store_opts *from_so,
                  const char *to, const struct coffre_store_opts *to_so,
                  struct coffre_store_copy_stats *st, char *msg, size_t cap);

/**
 * coffre_vault_unseal(v, share, have, need): add one share (the text of a
 * share file). When the threshold is reached the root key is rebuilt and
 * checked; a wrong combination fails with COFFRE_ERR_THRESHOLD and forgets
 * the shares given. ${have}/${need} (may be NULL) report progress. Shares
 * are not counted by giver: for the command line, whose operator holds
 * every share it reads.
 */
COFFRE_API int coffre_vault_unseal(struct coffre_vault *v, const char *share,
                                   unsigned *have, unsigned *need);

#define COFFRE_UNSEAL_BY_MAX 64 /* bytes of a giver's name */

/**
 * coffre_vault_unseal_as(v, share, by, have, need): coffre_vault_unseal()
 * of a share given by custodian ${by} (1 to COFFRE_UNSEAL_BY_MAX bytes):
 * the threshold counts distinct givers, so a second share from ${by}
 * while the vault is sealed fails with COFFRE_ERR_EXISTS, is not even
 * parsed, and changes nothing (the first one stays given). Givers are
 * forgotten with the shares (a wrong combination, a seal). ${by} NULL is
 * coffre_vault_unseal(); COFFRE_ERR_ARG for an empty or longer ${by}.
 */
COFFRE_API int coffre_vault_unseal_as(struct coffre_vault *v, const char *share,
                                      const char *by, unsigned *have,
                                      unsigned *need);

/** coffre_vault_unseal_progress(v, have, need): shares given so far and
 * the threshold (have == need once unsealed). */
COFFRE_API void coffre_vault_unseal_progress(struct coffre_vault *v,
                                             unsigned *have, unsigned *need);

/** coffre_vault_seal(v): forget every key; the vault is sealed again. */
COFFRE_API int coffre_vault_seal(struct coffre_vault *v);
COFFRE_API int coffre_vault_is_sealed(const struct coffre_vault *v);

/** coffre_vault_id(v): the vault id as 32 lowercase hex characters. */
COFFRE_API const char *coffre_vault_id(const struct coffre_vault *v);

/** coffre_vault_errmsg(v): detail of the last failure (no personal value). */
COFFRE_API const char *coffre_vault_errmsg(const struct coffre_vault *v);

/** coffre_vault_close(v): wipe keys, close the store; NULL is a no-op. */
COFFRE_API void coffre_vault_close(struct coffre_vault *v);

/**
 * coffre_vault_put(v, p, pid): store a new person, encrypted; its record id
 * in *${pid}. The retention epoch is derived from the validity end. With a
 * source key the call is idempotent (coffre_vault_put_once).
 */
COFFRE_API int coffre_vault_put(struct coffre_vault *v,
                                const struct coffre_person *p, uint64_t *pid);

/**
 * coffre_vault_put_once(v, p, pid, pcreated): coffre_vault_put, telling
 * whether it stored anything. A person with a source key that a live
 * person already has is stored once: a retry of the same submission (the
 * classes it carries equal, whatever state the stored one has moved on
 * to) gives the stored id with *${pcreated} 0 and writes nothing; a
 * different one fails with COFFRE_ERR_EXISTS and stores nothing.
 */
COFFRE_API int coffre_vault_put_once(struct coffre_vault *v,
                                     const struct coffre_person *p,
                                     uint64_t *pid, int *pcreated);

/**
 * coffre_vault_put_keyed(v, p, key, keylen, pid, pcreated):
 * coffre_vault_put_once under a client's idempotency key (${keylen} bytes
 * at ${key}, 1 to COFFRE_IDEM_KEY_MAX; the caller makes it its own, e.g.
 * the principal's name and the key it sent). The key is recorded, as a
 * blind tag, in the person's own transaction, in the store (shared by
 * every process on it, kept across a failover). A retry under the same
 * key with the same submission gives the id stored the first time with
 * *${pcreated} 0 and writes nothing; with a different submission,
 * COFFRE_ERR_EXISTS and nothing stored.
 */
#define COFFRE_IDEM_KEY_MAX 512
COFFRE_API int coffre_vault_put_keyed(struct coffre_vault *v,
                                      const struct coffre_person *p,
                                      const void *key, size_t keylen,
                                      uint64_t *pid, int *pcreated);

/**
 * coffre_vault_put_many(v, ps, n, ids): store ${n} persons in one
 * transaction, encrypting on every core; ids[i] receives each record id.
 */
COFFRE_API int coffre_vault_put_many(struct coffre_vault *v,
                                     struct coffre_person *const *ps, size_t n,
                                     uint64_t *ids);

/* Modes of coffre_vault_bulk_load. */
enum coffre_bulk {
    COFFRE_BULK_OFF = 0,    /* every index maintained row by row */
    COFFRE_BULK_IMPORT = 1, /* all but the source-key index deferred */
    COFFRE_BULK_NEW = 2     /* every secondary index deferred */
};

/**
 * coffre_vault_bulk_load(v, mode): before writing many persons, typically
 * into a new or small vault, COFFRE_BULK_IMPORT (an import, which looks
 * every record up by its source key) or COFFRE_BULK_NEW (persons known to
 * be new); after, COFFRE_BULK_OFF. In between, the store defers the
 * indexes the mode names: searches, lists and rewraps still answer, by
 * scanning. COFFRE_BULK_OFF builds them from sorted scans, far cheaper than
 * maintaining them row by row. If the process dies in between, the next
 * open of the vault rebuilds them. A no-op on a store that gains nothing.
 */
COFFRE_API int coffre_vault_bulk_load(struct coffre_vault *v, int mode);

/**
 * coffre_vault_get(v, id, classes, pp): decrypt the classes of ${classes}
 * that the person carries. COFFRE_ERR_NOTFOUND if no such id,
 * COFFRE_ERR_ERASED if its key was destroyed, COFFRE_ERR_CRYPTO if a
 * ciphertext does not authenticate.
 */
COFFRE_API int coffre_vault_get(struct coffre_vault *v, uint64_t id,
                                unsigned classes, struct coffre_person **pp);

/**
 * coffre_vault_update(v, id, patch): replace the classes that ${patch}
 * carries (other classes are kept) and refresh the blind indexes.
 * A change of what was vetted (identity, document or photo) goes back to
 * vetting (docs/formats.md, "Changes after submission"): refused with
 * COFFRE_ERR_STATE while a verdict is awaited or once the application is
 * closed (refused, revoked, expired); after a favourable verdict (approved,
 * badge issued) the person returns to vetting with its verdict cleared and
 * its badges revoked, in the same transaction.
 */
COFFRE_API int coffre_vault_update(struct coffre_vault *v, uint64_t id,
                                   const struct coffre_person *patch);

/** coffre_vault_set_state(v, id, state): a lifecycle transition, checked. */
COFFRE_API int coffre_vault_set_state(struct coffre_vault *v, uint64_t id,
                                      int state);

enum coffre_find {
    COFFRE_FIND_DOCUMENT = 0, /* a = document number */
    COFFRE_FIND_EMAIL,        /* a = email */
    COFFRE_FIND_NAME_DOB,     /* a = surname, b = given names, c = birth date */
};

/**
 * coffre_vault_find(v, kind, a, b, c, ids, cap, pn): exact search by blind
 * index; up to ${cap} ids in ${ids}, the number of matches in *${pn}.
 */
COFFRE_API int coffre_vault_find(struct coffre_vault *v, enum coffre_find kind,
                                 const char *a, const char *b, const char *c,
                                 uint64_t *ids, size_t cap, size_t *pn);

/**
 * coffre_vault_erase(v, id): destroy the person's data key and data; any
 * copy of its ciphertext taken before can no longer be opened.
 */
COFFRE_API int coffre_vault_erase(struct coffre_vault *v, uint64_t id);

/** coffre_vault_rotate(v, pversion): add a new key-encryption key version,
 * used for every record written from now on. */
COFFRE_API int coffre_vault_rotate(struct coffre_vault *v, unsigned *pversion);

/**
 * coffre_vault_rewrap(v, max, pmoved): rewrap up to ${max} data keys still
 * under an older key-encryption key onto the newest one, in one short
 * transaction; *${pmoved} is how many. Call until it moves 0: the vault
 * serves reads and writes in between.
 */
COFFRE_API int coffre_vault_rewrap(struct coffre_vault *v, size_t max,
                                   size_t *pmoved);

/** coffre_vault_retire(v, version): destroy an old key-encryption key;
 * COFFRE_ERR_INUSE while a data key is still wrapped by it. */
COFFRE_API int coffre_vault_retire(struct coffre_vault *v, unsigned version);

/** coffre_vault_epoch_of(v, id, pepoch): the retention epoch of a person. */
COFFRE_API int coffre_vault_epoch_of(struct coffre_vault *v, uint64_t id,
                                     uint32_t *pepoch);

/**
 * coffre_vault_epoch_destroy(v, epoch): destroy a retention epoch's key:
 * every person of that epoch is shredded, in every copy of the store.
 */
COFFRE_API int coffre_vault_epoch_destroy(struct coffre_vault *v,
                                          uint32_t epoch);

struct coffre_vault_stats {
    uint64_t persons;      /* live records */
    uint64_t erased;       /* records whose key is gone */
    unsigned kek_current;  /* newest key-encryption key version */
    unsigned kek_versions; /* versions not yet retired */
};
COFFRE_API int coffre_vault_stats(struct coffre_vault *v,
                                  struct coffre_vault_stats *st);

/* ------------------------------------------------------------------ */
/* Pseudonyms and worklists.                                          */

/* A pseudonym is 43 base64url characters (32 bytes): unlinkable between
 * audiences, revealing nothing of the record id. */
#define COFFRE_PSEUDONYM_LEN 43

/**
 * coffre_vault_pseudonym(v, audience, id, out): the pseudonym of person ${id}
 * for ${audience} (a role or named system, at most 64 bytes), written
 * NUL-terminated to ${out}.
 */
COFFRE_API int coffre_vault_pseudonym(struct coffre_vault *v,
                                      const char *audience, uint64_t id,
                                      char out[COFFRE_PSEUDONYM_LEN + 1]);

/**
 * coffre_vault_accept_rollback(v): call before coffre_audit_open. A store
 * coffre_backup_restore() wrote is refused by the log's open while the log
 * holds writes past the backup's audit mark (COFFRE_ERR_STORE, the reason in
 * coffre_audit_open_errmsg()); after this call the open accepts them as
 * lost instead: it erases again every person the log erased past the mark
 * (person.erase, person.shred), moves the id counter past every id the
 * log created, records an entry "store.rollback" and moves the mark past
 * it, in one transaction (docs/operations.md section 2).
 */
COFFRE_API void coffre_vault_accept_rollback(struct coffre_vault *v);

/**
 * coffre_vault_resolve(v, audience, pseudonym, pid): the record id behind
 * ${audience}'s ${pseudonym}; COFFRE_ERR_NOTFOUND for anything else
 * (malformed, another audience's, tampered). It does not read the store:
 * whether the person still exists is reported by the call using the id.
 */
COFFRE_API int coffre_vault_resolve(struct coffre_vault *v,
                                    const char *audience, const char *pseudonym,
                                    uint64_t *pid);

/*
 * A listing cursor is "c1." and 64 base64url characters: an authenticated
 * encryption of the position a list resumes after (docs/keys.md section
 * 5.1). It names no record and is no pseudonym ('.' is not base64url, and
 * its length differs), it differs each time it is made, and it opens only
 * for the audience and the list context it was made for.
 */
#define COFFRE_CURSOR_LEN 67
#define COFFRE_CURSOR_CONTEXT_MAX 256 /* bytes of a list's context */

/**
 * coffre_vault_cursor_make(v, audience, context, context_len, after_id,
 * out): a cursor that resumes a list after record ${after_id}, for
 * ${audience} (1 to 64 bytes) and the list the caller describes by the
 * ${context_len} bytes ${context} (at most COFFRE_CURSOR_CONTEXT_MAX: its
 * route and filter, so that a cursor of one list is refused on another),
 * written NUL-terminated to ${out}. COFFRE_ERR_SEALED while sealed,
 * COFFRE_ERR_ARG for an argument out of its domain.
 */
COFFRE_API int coffre_vault_cursor_make(struct coffre_vault *v,
                                        const char *audience,
                                        const void *context, size_t context_len,
                                        uint64_t after_id,
                                        char out[COFFRE_CURSOR_LEN + 1]);

/**
 * coffre_vault_cursor_open(v, audience, context, context_len, cursor,
 * pafter_id): the record id the cursor ${cursor} resumes after, in
 * *${pafter_id}. COFFRE_ERR_PARSE if ${cursor} is not of the cursor form
 * (read up to COFFRE_CURSOR_LEN + 1 bytes; any pseudonym is refused so);
 * COFFRE_ERR_CRYPTO if this vault did not make it for this ${audience} and
 * context, or it was altered; COFFRE_ERR_SEALED, COFFRE_ERR_ARG as for
 * coffre_vault_cursor_make. *${pafter_id} is set only on success.
 */
COFFRE_API int coffre_vault_cursor_open(struct coffre_vault *v,
                                        const char *audience,
                                        const void *context, size_t context_len,
                                        const char *cursor,
                                        uint64_t *pafter_id);

/**
 * coffre_vault_list(v, state, category, after, ids, cap, pn): live record
 * ids greater than ${after}, ascending, in lifecycle ${state} (-1: any) and
 * of ${category} (NULL: any); at most ${cap}, the number in *${pn}.
 */
COFFRE_API int coffre_vault_list(struct coffre_vault *v, int state,
                                 const char *category, uint64_t after,
                                 uint64_t *ids, size_t cap, size_t *pn);

enum coffre_due {
    COFFRE_DUE_VETTING = 0, /* in vetting past its deadline */
    COFFRE_DUE_RETENTION,   /* past its retention date */
};
/** coffre_vault_due(v, which, now, ids, cap, pn): ids due at unix ${now}. */
COFFRE_API int coffre_vault_due(struct coffre_vault *v, enum coffre_due which,
                                int64_t now, uint64_t *ids, size_t cap,
                                size_t *pn);

/** coffre_vault_set_vetting_deadline(v, secs): delay between entering
 * vetting and automatic refusal (default 61 days). */
COFFRE_API void coffre_vault_set_vetting_deadline(struct coffre_vault *v,
                                                  int64_t secs);

/* ------------------------------------------------------------------ */
/* The audit hook: every disclosure and every write is audited          */
/* (docs/audit.md section 13).                                          */

/* What a call did to personal data, keys or badges. */
enum coffre_op {
    COFFRE_OP_READ = 0,      /* classes of one person handed to the caller */
    COFFRE_OP_FIND,          /* a blind-index search (record ids only) */
    COFFRE_OP_EXPORT,        /* every live person sealed into a bundle */
    COFFRE_OP_CREATE,        /* one person stored, or a batch of them */
    COFFRE_OP_IMPORT,        /* one import batch */
    COFFRE_OP_UPDATE,        /* classes of one person replaced */
    COFFRE_OP_STATE,         /* a lifecycle transition */
    COFFRE_OP_VERDICT,       /* the vetting service's verdict */
    COFFRE_OP_ERASE,         /* one person erased */
    COFFRE_OP_SHRED,         /* persons erased by manifest (migration) */
    COFFRE_OP_EPOCH_DESTROY, /* a retention epoch's key destroyed */
    COFFRE_OP_BADGE_ISSUE,   /* a badge signed (names leave in it) */
    COFFRE_OP_BADGE_REVOKE,  /* a person's badges revoked */
    COFFRE_OP_KEY_ROTATE,    /* a key-encryption key added */
    COFFRE_OP_KEY_REWRAP,    /* data keys rewrapped onto the newest one */
    COFFRE_OP_KEY_RETIRE,    /* an old key-encryption key destroyed */
    COFFRE_OP_POISON,        /* poison records planted (docs/guard.md) */
    COFFRE_OP_KEY_RESEAL,    /* the root key sealed another way (seal.h) */
    COFFRE_OP__COUNT
};

/* One event for the audit hook. Never holds a personal value. */
struct coffre_event {
    int op;               /* enum coffre_op */
    const char *action;   /* its audit action ("person.read"...), static */
    int write;            /* nonzero: a write, inside its store transaction */
    int aborted;          /* nonzero: the write recorded before failed to
                           * commit (a second call; its result is ignored) */
    uint64_t id;          /* the person, 0 for a batch or none */
    uint64_t count;       /* persons concerned: 1 for one person */
    unsigned classes;     /* classes disclosed or written */
    int is_protected;     /* the person is flagged protected (0 or 1) */
    int state;            /* a read's person: its lifecycle state, -1 for
                           * none (the hook may judge by role and state) */
    int awaiting_verdict; /* a read's person is in vetting with no verdict
                           * yet (its vetting deadline runs) */
};

/**
 * The audit hook of a vault, called by every function of this library
 * that hands out personal data (coffre_vault_get, _find, _export,
 * _badge_issue) or writes persons, keys or badges, in the calling
 * thread, with the vault's lock held (it is recursive: the hook may call
 * coffre_vault_pseudonym).
 * - A disclosure (ev->write 0): called once the data is decrypted, before
 *   it is handed out; any result but COFFRE_OK wipes it and the call fails
 *   with that result (COFFRE_ERR_DENIED: the caller may not see it;
 *   COFFRE_ERR_UNAVAILABLE: it cannot be recorded).
 * - A write (ev->write 1): called inside the store transaction, before it
 *   commits. The hook must make its entry durable and give its leaf index
 *   in *${pindex}; the store records that index in the same transaction
 *   (docs/audit.md section 13: the cross-check at open). Any result but
 *   COFFRE_OK rolls the write back and the call fails with that result:
 *   a write and its entry succeed or fail together.
 * - If the commit then fails, the hook is called again with ev->aborted
 *   set, so that it can record that the write did not happen.
 * - When the vault is closed, the hook is called once with ${ev} NULL:
 *   it must not refer to the vault afterwards.
 */
typedef int (*coffre_audit_fn)(void *arg, const struct coffre_event *ev,
                               uint64_t *pindex);

/**
 * coffre_vault_set_audit(v, fn, arg): install the audit hook of ${v}
 * (NULL: none). While a vault is unsealed with no hook, every function
 * that would disclose or write fails with COFFRE_ERR_DENIED: nothing
 * leaves or changes unaudited, whichever front end calls the library.
 * coffre_audit_attach (coffre/audit.h) installs one that writes entries
 * to a vault's audit log.
 */
COFFRE_API void coffre_vault_set_audit(struct coffre_vault *v,
                                       coffre_audit_fn fn, void *arg);

/** coffre_op_action(op): the audit action of ${op} ("person.read",
 * "person.create", ...), NULL out of range. */
COFFRE_API const char *coffre_op_action(int op);

/** coffre_action_is_write(action): 1 if ${action} names a write of
 * coffre_op_action, whose entry the store's audit mark must cover. */
COFFRE_API int coffre_action_is_write(const char *action);

/**
 * coffre_vault_verdict(v, id, patch, refuse): record the vetting service's
 * verdict, the vetting class of ${patch}, on a person in vetting whose
 * verdict is still pending, and with ${refuse} move it to refused, in one
 * transaction. COFFRE_ERR_STATE if no verdict is awaited.
 */
COFFRE_API int coffre_vault_verdict(struct coffre_vault *v, uint64_t id,
                                    const struct coffre_person *patch,
                                    int refuse);

#ifdef __cplusplus
}
#endif
#endif
