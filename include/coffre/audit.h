/*
 * coffre audit log: the public API (docs/audit.md, sections 8 to 11).
 *
 * Two sides:
 * - the vault's log (struct coffre_audit): one canonical entry per request
 *   that touches personal data, keys, policy or the seal, made durable by
 *   group commit, the leaves of an RFC 6962 tree whose checkpoints the vault
 *   signs (C2SP tlog-checkpoint in a C2SP signed note, Ed25519);
 * - the verifier's side, usable without a vault: parse entries, verify
 *   checkpoints against a verifier key string, recompute trees, check
 *   proofs, read an exported log.
 *
 * Entries never hold a personal value: the caller passes pseudonyms, field
 * class names and a purpose typed by an office user, which must not contain
 * personal data (it is cut at COFFRE_AUDIT_MAX_PURPOSE bytes).
 *
 * Strings returned through an out-parameter are freed with coffre_free().
 */
#ifndef COFFRE_AUDIT_H
#define COFFRE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/coffre.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COFFRE_AUDIT_HASH_LEN 32
#define COFFRE_AUDIT_VERSION 1
#define COFFRE_AUDIT_MAX_PRINCIPAL 64 /* lowercase hex SHA-256, or empty */
#define COFFRE_AUDIT_MAX_ROLE 32
#define COFFRE_AUDIT_MAX_ACTION 64
#define COFFRE_AUDIT_MAX_PSEUDONYM 64
#define COFFRE_AUDIT_MAX_PURPOSE 200
#define COFFRE_AUDIT_MAX_OUTCOME 32
#define COFFRE_AUDIT_ENTRY_MAX 1024 /* canonical bytes, hard cap */
#define COFFRE_AUDIT_MAX_PROOF 65   /* hashes in any proof */
#define COFFRE_AUDIT_MAX_PAGE 1000  /* entries per coffre_audit_entries_json */

/* One entry, decoded. Strings are NUL-terminated. */
struct coffre_audit_entry {
    int64_t time_ms;                                /* unix time, ms, >= 0 */
    char principal[COFFRE_AUDIT_MAX_PRINCIPAL + 1]; /* hex fingerprint */
    char role[COFFRE_AUDIT_MAX_ROLE + 1];           /* "office", ... */
    char action[COFFRE_AUDIT_MAX_ACTION + 1];       /* "person.read", ... */
    char pseudonym[COFFRE_AUDIT_MAX_PSEUDONYM + 1]; /* caller's, or "" */
    unsigned classes; /* COFFRE_CLASS_BIT() mask disclosed */
    char purpose[COFFRE_AUDIT_MAX_PURPOSE + 1]; /* coffre_audit_set_purpose */
    unsigned status;                            /* HTTP status, 100..599 */
    char outcome[COFFRE_AUDIT_MAX_OUTCOME + 1]; /* short code: "ok", ... */
};

/* ------------------------------------------------------------------ */
/* Entries (both sides).                                              */

/**
 * coffre_audit_entry_encode(e, out, cap, plen): the canonical bytes of
 * ${e} (docs/audit.md section 8) in ${out} (room for ${cap} bytes;
 * COFFRE_AUDIT_ENTRY_MAX is always enough), their length in *${plen}.
 * COFFRE_ERR_ARG if a field is out of its domain (docs/audit.md).
 */
COFFRE_API int coffre_audit_entry_encode(const struct coffre_audit_entry *e,
                                         unsigned char *out, size_t cap,
                                         size_t *plen);

/**
 * coffre_audit_entry_parse(b, len, e): decode the canonical entry at ${b}
 * into ${e}, strictly: every byte accounted for, every field in its domain,
 * so that encoding ${e} gives back ${b}. COFFRE_ERR_PARSE otherwise,
 * COFFRE_ERR_TOOBIG over COFFRE_AUDIT_ENTRY_MAX.
 */
COFFRE_API int coffre_audit_entry_parse(const unsigned char *b, size_t len,
                                        struct coffre_audit_entry *e);

/**
 * coffre_audit_set_purpose(e, text): copy the purpose ${text} (NULL: none)
 * into ${e}, cut to its longest prefix of at most COFFRE_AUDIT_MAX_PURPOSE
 * bytes ending on a UTF-8 character boundary. COFFRE_ERR_ARG (and an empty
 * purpose) if ${text} is not UTF-8 or holds a control character.
 */
COFFRE_API int coffre_audit_set_purpose(struct coffre_audit_entry *e,
                                        const char *text);

/** coffre_audit_leaf_hash(b, len, out): SHA-256(0x00 || b), the leaf. */
COFFRE_API void
coffre_audit_leaf_hash(const unsigned char *b, size_t len,
                       unsigned char out[COFFRE_AUDIT_HASH_LEN]);

/* ------------------------------------------------------------------ */
/* The vault's log.                                                   */

struct coffre_audit;

/**
 * coffre_audit_open(v, dir, origin, pa): open (creating it) the log in
 * ${dir} (made 0700 if absent), signing with the vault's audit key (made
 * on first use; ${v} must be unsealed, else COFFRE_ERR_SEALED), under
 * ${origin}, which is also the key name (NULL: "coffre.vault/<vault id>").
 * Rebuilds the tree, checks every record of both files and every stored
 * checkpoint against the tree. Cuts only what a crash leaves: a final
 * record the file ends inside of, or zero bytes past the last good record
 * (docs/audit.md section 9). Anything else (a record whose trailer hash
 * does not match, one that does not parse, a length over the cap, a
 * checkpoint that does not match) is refused with COFFRE_ERR_CRYPTO and
 * no byte of either file is changed; coffre_audit_open_errmsg() names the
 * file, the record and its byte offset. Then cross-checks the log with
 * the vault's store (docs/audit.md section 13): COFFRE_ERR_STORE if the
 * store is behind the log (writes the log records as done are missing) or
 * the log behind the store; a single write recorded by the log but never
 * committed (a crash between its entry and its commit) is noted in a
 * "store.recover" entry. Starts the committer and signer threads.
 */
COFFRE_API int coffre_audit_open(struct coffre_vault *v, const char *dir,
                                 const char *origin, struct coffre_audit **pa);

/** coffre_audit_open_errmsg(): why the last coffre_audit_open (or
 * coffre_audit_repair) of this thread failed, or what it cut (a torn tail:
 * file, bytes, offset), "" if nothing. Never holds a personal value. */
COFFRE_API const char *coffre_audit_open_errmsg(void);

/**
 * coffre_audit_event_entry(v, ev, audience, purpose, e): the entry of the
 * audit hook's event ${ev} of ${v} (coffre_vault_set_audit), all but its
 * principal and role, which the caller sets: now, the event's action and
 * classes, the person's pseudonym for ${audience} (a batch names none and
 * says its size after ${purpose}), status 201 for a creation, 200 else,
 * 500 "not_committed" for an aborted write. COFFRE_ERR_UNAVAILABLE if the
 * pseudonym cannot be made.
 */
COFFRE_API int coffre_audit_event_entry(struct coffre_vault *v,
                                        const struct coffre_event *ev,
                                        const char *audience,
                                        const char *purpose,
                                        struct coffre_audit_entry *e);

/* Who the entries of coffre_audit_attach name. */
struct coffre_actor {
    const char *principal; /* 64 lowercase hex digits, or NULL/"" */
    const char *role;      /* [a-z0-9_-]{1,32}, e.g. "local" */
    const char *audience;  /* pseudonyms in entries; NULL: the role */
    const char *purpose;   /* stated purpose, or NULL */
};

/**
 * coffre_audit_attach(a, v, actor): make ${a} (opened on ${v}) record
 * every disclosure and write of ${v} (coffre_vault_set_audit): one entry
 * per event naming ${actor} (strings copied), the person's pseudonym for
 * the actor's audience, the classes and the action, made durable before
 * the data leaves or the write commits. coffre_audit_close detaches it.
 * COFFRE_ERR_ARG for an actor outside the entry's domains.
 */
COFFRE_API int coffre_audit_attach(struct coffre_audit *a,
                                   struct coffre_vault *v,
                                   const struct coffre_actor *actor);

/**
 * coffre_audit_repair(dir, name, offset): the operator's way out when
 * coffre_audit_open refuses a damaged record (docs/audit.md section 9.1).
 * Moves the bytes of ${dir}/${name} ("entries" or "checkpoints") from
 * ${offset} to its end into the new file ${dir}/${name}.cut-${offset}
 * (O_EXCL, mode 0600, synced with its directory), then cuts the file at
 * ${offset} and syncs it. Needs no key. Changes nothing and returns
 * COFFRE_ERR_ARG if ${offset} is not a record boundary, is the end of the
 * file, or follows a damaged record (cut there instead);
 * COFFRE_ERR_DENIED if the cut would remove entries a stored checkpoint
 * covers, or the checkpoints file is damaged (repair it first);
 * COFFRE_ERR_INUSE while the log is open; COFFRE_ERR_EXISTS if the side
 * file exists. coffre_audit_open_errmsg() says what was done, or why not.
 */
COFFRE_API int coffre_audit_repair(const char *dir, const char *name,
                                   uint64_t offset);

/** coffre_audit_close(a): make queued entries durable, sign a last
 * checkpoint if the log grew, stop the threads, free ${a}; NULL no-op. */
COFFRE_API void coffre_audit_close(struct coffre_audit *a);

/**
 * coffre_audit_append(a, e, pticket): queue ${e}; in *${pticket} a ticket
 * for coffre_audit_wait() (not the leaf index: a recovery reuses the
 * indices of the entries it refused; tickets of the same epoch compare as
 * their indices, a later epoch's are larger). It is not durable before
 * coffre_audit_wait() says so. COFFRE_ERR_ARG for an invalid entry,
 * COFFRE_ERR_UNAVAILABLE while the log is failed (fail-closed: answer
 * 503) or the queue is full.
 */
COFFRE_API int coffre_audit_append(struct coffre_audit *a,
                                   const struct coffre_audit_entry *e,
                                   uint64_t *pticket);

/**
 * coffre_audit_wait(a, ticket): block until the entry of ${ticket} is
 * durable (COFFRE_OK) or the log failed before it was
 * (COFFRE_ERR_UNAVAILABLE: the request must be refused and nothing
 * disclosed; the entry is then never in the log, whatever the log does
 * after). Returns at once while the log is failed.
 */
COFFRE_API int coffre_audit_wait(struct coffre_audit *a, uint64_t ticket);

/** coffre_audit_record(a, e, pindex): append then wait; the entry's leaf
 * index in *${pindex}, which may be NULL. What a request handler calls
 * before it answers. */
COFFRE_API int coffre_audit_record(struct coffre_audit *a,
                                   const struct coffre_audit_entry *e,
                                   uint64_t *pindex);

/** coffre_audit_size(a): the number of durable entries. */
COFFRE_API uint64_t coffre_audit_size(struct coffre_audit *a);

/** coffre_audit_checkpoint(a, pnote, plen): the latest signed checkpoint
 * (durably stored before it is served), a text/plain signed note. */
COFFRE_API int coffre_audit_checkpoint(struct coffre_audit *a, char **pnote,
                                       size_t *plen);

/** coffre_audit_sync_checkpoint(a): sign a checkpoint of every durable
 * entry now, without waiting for the next second (tests, export). */
COFFRE_API int coffre_audit_sync_checkpoint(struct coffre_audit *a);

/** coffre_audit_verifier_key(a): the C2SP verifier key string
 * "name+keyid+base64", owned by ${a}. */
COFFRE_API const char *coffre_audit_verifier_key(const struct coffre_audit *a);

/** coffre_audit_origin(a): the log's origin line, owned by ${a}. */
COFFRE_API const char *coffre_audit_origin(const struct coffre_audit *a);

/**
 * coffre_audit_inclusion(a, index, size, proof, pn): the inclusion proof of
 * entry ${index} in the tree of ${size} durable entries: *${pn} hashes of
 * 32 bytes in ${proof} (room for COFFRE_AUDIT_MAX_PROOF). COFFRE_ERR_ARG
 * unless index < size <= coffre_audit_size(a).
 */
COFFRE_API int coffre_audit_inclusion(struct coffre_audit *a, uint64_t index,
                                      uint64_t size, unsigned char *proof,
                                      size_t *pn);

/** coffre_audit_consistency(a, m, n, proof, pn): the consistency proof of
 * size ${m} with size ${n}; COFFRE_ERR_ARG unless 0 < m <= n <= size. */
COFFRE_API int coffre_audit_consistency(struct coffre_audit *a, uint64_t m,
                                        uint64_t n, unsigned char *proof,
                                        size_t *pn);

/** coffre_audit_proof_json(proof, n, pjson): {"hashes":["b64",...]}. */
COFFRE_API int coffre_audit_proof_json(const unsigned char *proof, size_t n,
                                       char **pjson);

/** coffre_audit_entry_bytes(a, index, out, plen): the canonical bytes of
 * durable entry ${index} (room for COFFRE_AUDIT_ENTRY_MAX in ${out}). */
COFFRE_API int coffre_audit_entry_bytes(struct coffre_audit *a, uint64_t index,
                                        unsigned char *out, size_t *plen);

/**
 * coffre_audit_entries_json(a, start, end, pjson): durable entries
 * [start, end) as {"size":S,"entries":[{"index":I,"canonical":"b64",
 * "time_ms":..,"principal":..,"role":..,"action":..,"pseudonym":..,
 * "classes":[..],"purpose":..,"status":..,"outcome":..}, ...]}, S the
 * durable size. ${end} is clipped to S and to start + COFFRE_AUDIT_MAX_PAGE;
 * COFFRE_ERR_ARG if start > end.
 */
COFFRE_API int coffre_audit_entries_json(struct coffre_audit *a, uint64_t start,
                                         uint64_t end, char **pjson);

/** coffre_audit_export(a, dir): copy a consistent snapshot of the log to
 * ${dir} (created, must not hold one): files entries, checkpoints (every
 * checkpoint served), checkpoint (the latest) and vkey. */
COFFRE_API int coffre_audit_export(struct coffre_audit *a, const char *dir);

/**
 * coffre_audit_store_export(v, dir): the log kept in the store of ${v}
 * (PostgreSQL, docs/audit.md section 14; ${v} opened, sealed or not: the
 * log holds no secret) as the files "entries" and "checkpoints" of an
 * export (section 9) in the existing directory ${dir}: every committed
 * entry, every stored checkpoint of at most that many. The checkpoints
 * are not checked here: a verifier does it (coffre audit verify).
 * COFFRE_ERR_NOTFOUND if the store keeps no log (SQLite: the log is the
 * files of the data directory's audit/), COFFRE_ERR_EXISTS if ${dir}
 * holds such files already.
 */
COFFRE_API int coffre_audit_store_export(struct coffre_vault *v,
                                         const char *dir);

#define COFFRE_AUDIT_REASON_MAX 96

struct coffre_audit_stats {
    uint64_t entries;        /* durable */
    uint64_t syncs;          /* fdatasync calls of the committer */
    uint64_t checkpoints;    /* signed since open */
    int failed;              /* nonzero: the log refuses everything, for now */
    uint64_t covered;        /* entries the latest checkpoint covers */
    uint64_t recoveries;     /* times the log resumed by itself after failing */
    int64_t failed_since_ms; /* while failed: unix time (ms) it failed */
    /* While failed: why, as "FILE: OPERATION: strerror" ("entries: write:
     * No space left on device"); "" otherwise. Never a personal value. */
    char reason[COFFRE_AUDIT_REASON_MAX];
};
/** coffre_audit_stats(a, st): counters for /metrics and the failure state
 * for health (docs/audit.md section 10). */
COFFRE_API void coffre_audit_stats(struct coffre_audit *a,
                                   struct coffre_audit_stats *st);

/* ------------------------------------------------------------------ */
/* The verifier's side: no vault needed.                              */

/**
 * coffre_audit_checkpoint_verify(note, len, vkey, psize, root): open the
 * signed checkpoint ${note} with the verifier key string ${vkey} (its name
 * must be the checkpoint's origin); the tree size in *${psize} and root in
 * ${root}. COFFRE_ERR_PARSE (malformed key or note), COFFRE_ERR_CRYPTO
 * (not signed by that key, or another log's origin).
 */
COFFRE_API int
coffre_audit_checkpoint_verify(const char *note, size_t len, const char *vkey,
                               uint64_t *psize,
                               unsigned char root[COFFRE_AUDIT_HASH_LEN]);

/** coffre_audit_verify_inclusion(leaf, index, size, proof, n, root):
 * RFC 9162 2.1.3.2. COFFRE_OK or COFFRE_ERR_CRYPTO. */
COFFRE_API int
coffre_audit_verify_inclusion(const unsigned char leaf[COFFRE_AUDIT_HASH_LEN],
                              uint64_t index, uint64_t size,
                              const unsigned char *proof, size_t n,
                              const unsigned char root[COFFRE_AUDIT_HASH_LEN]);

/** coffre_audit_verify_consistency(m, n, old_root, new_root, proof, k):
 * RFC 9162 2.1.4.2. COFFRE_OK or COFFRE_ERR_CRYPTO. */
COFFRE_API int coffre_audit_verify_consistency(
    uint64_t m, uint64_t n, const unsigned char old_root[COFFRE_AUDIT_HASH_LEN],
    const unsigned char new_root[COFFRE_AUDIT_HASH_LEN],
    const unsigned char *proof, size_t k);

/** A tree recomputed by a verifier from the leaves it fetched. */
struct coffre_audit_tree;

COFFRE_API int coffre_audit_tree_new(struct coffre_audit_tree **pt);
COFFRE_API void coffre_audit_tree_free(struct coffre_audit_tree *t);
/** coffre_audit_tree_add(t, leaf): append a leaf hash. */
COFFRE_API int coffre_audit_tree_add(struct coffre_audit_tree *t,
                                     const unsigned char leaf[32]);
COFFRE_API uint64_t coffre_audit_tree_size(const struct coffre_audit_tree *t);
/** coffre_audit_tree_root(t, size, root): root of the first ${size}
 * leaves; COFFRE_ERR_ARG past the size. */
COFFRE_API int coffre_audit_tree_root(const struct coffre_audit_tree *t,
                                      uint64_t size, unsigned char root[32]);

/**
 * A record file of the log (entries or checkpoints, docs/audit.md section
 * 9): each record is a 4-byte big-endian length, the payload, and
 * SHA-256(0x00 || payload).
 */
struct coffre_audit_file;

/** coffre_audit_file_open(path, pf): open ${path} for reading. */
COFFRE_API int coffre_audit_file_open(const char *path,
                                      struct coffre_audit_file **pf);

/**
 * coffre_audit_file_next(f, payload, cap, plen, stored): the next record:
 * payload in ${payload} (room for ${cap}), its stored trailer hash in
 * ${stored}, which the caller compares with coffre_audit_leaf_hash() (a
 * verifier wants to know which record broke, not just that one did).
 * COFFRE_OK with *${plen} set; COFFRE_ERR_NOTFOUND at a clean end of file;
 * COFFRE_ERR_PARSE for a record cut short (a truncated or torn file),
 * COFFRE_ERR_TOOBIG for a length over ${cap}; COFFRE_ERR_IO.
 */
COFFRE_API int coffre_audit_file_next(struct coffre_audit_file *f,
                                      unsigned char *payload, size_t cap,
                                      size_t *plen, unsigned char stored[32]);

/** coffre_audit_file_offset(f): byte offset of the next record. */
COFFRE_API uint64_t coffre_audit_file_offset(const struct coffre_audit_file *f);

COFFRE_API void coffre_audit_file_close(struct coffre_audit_file *f);

#ifdef __cplusplus
}
#endif
#endif
