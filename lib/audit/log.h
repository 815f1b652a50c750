/*
 * The vault's durable audit log (docs/audit.md sections 9 and 10); public
 * functions in include/coffre/audit.h. coffre_audit_open() takes the seed
 * from the vault; tests and tools that hold a seed use audit_log_open().
 * The operator's repair (repair.c) reports through audit_msg().
 */
#ifndef COFFRE_AUDIT_LOG_H
#define COFFRE_AUDIT_LOG_H

#include "coffre/audit.h"

/*
 * The uncovered window (docs/audit.md section 10): entries durable but
 * under no stored checkpoint can be cut by anyone who can write the file
 * without a verifier noticing. The signer signs once a second, and as soon
 * as AUDIT_SIGN_EVERY durable entries are uncovered; the committer holds
 * its next group commit while AUDIT_UNCOVERED_MAX are, so the window never
 * exceeds AUDIT_UNCOVERED_MAX entries plus one group commit.
 */
#define AUDIT_SIGN_EVERY 1024
#define AUDIT_UNCOVERED_MAX 2048

/** audit_log_open(dir, origin, seed, pa): coffre_audit_open with the
 * 32-byte Ed25519 ${seed} given (copied; the caller wipes its own). */
int audit_log_open(const char *dir, const char *origin,
                   const unsigned char seed[32], struct coffre_audit **pa);

struct coffre_vault;

/** audit_log_set_attach(a, attach, v): the hook state coffre_audit_attach
 * made for ${v}: freed (and ${v} detached) by coffre_audit_close. */
void audit_log_set_attach(struct coffre_audit *a, void *attach,
                          struct coffre_vault *v);

/** audit_attach_free(attach, v): detach ${v}'s hook and free its state. */
void audit_attach_free(void *attach, struct coffre_vault *v);

/** audit_msg(rc, fmt, ...): set what coffre_audit_open_errmsg() returns
 * in this thread (the open's and the repair's report); returns ${rc}. */
int audit_msg(int rc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------ */
/* The log kept in the vault's store (log_pg.c, docs/audit.md 14).    */

struct audit_pg;
struct coffre_store;
struct coffre_note_signer;
struct coffre_audit_stats;

/** audit_log_open_store(vs, origin, seed, pa): audit_log_open for a
 * vault whose store ${vs} keeps the log (ops->audit_append): the log gets
 * a connection of its own (ops->dup); ${vs} is used only for the entries
 * of writes, inside their transactions. */
int audit_log_open_store(struct coffre_store *vs, const char *origin,
                         const unsigned char seed[32],
                         struct coffre_audit **pa);

/** audit_log_tx(s): the store whose transaction this thread's next
 * entries belong in (hook.c, around a write's hook); NULL after. */
void audit_log_tx(struct coffre_store *s);

/** audit_pg_open(vs, db, signer, origin, vkey, pp): the store-kept log on
 * its own connection ${db} (taken: closed on failure too); ${signer},
 * ${origin}, ${vkey} stay owned by the caller, who outlives it. Reads the
 * entries, checks or signs the latest checkpoint, starts the signer. */
int audit_pg_open(struct coffre_store *vs, struct coffre_store *db,
                  const struct coffre_note_signer *signer, const char *origin,
                  const char *vkey, struct audit_pg **pp);
void audit_pg_close(struct audit_pg *p);
/** audit_pg_append(p, tx, e, pindex): append ${e}; in the transaction of
 * ${tx} if it is the vault's store, else committed on return. */
int audit_pg_append(struct audit_pg *p, struct coffre_store *tx,
                    const struct coffre_audit_entry *e, uint64_t *pindex);
uint64_t audit_pg_size(struct audit_pg *p);
int audit_pg_checkpoint(struct audit_pg *p, char **pnote, size_t *plen);
int audit_pg_sync_checkpoint(struct audit_pg *p);
/** audit_pg_proof(p, consistency, a, b, proof, pn): inclusion of entry
 * ${a} in size ${b}, or consistency of sizes ${a} and ${b}. */
int audit_pg_proof(struct audit_pg *p, int consistency, uint64_t a, uint64_t b,
                   unsigned char *proof, size_t *pn);
int audit_pg_entry_bytes(struct audit_pg *p, uint64_t index, unsigned char *out,
                         size_t *plen);
/** audit_pg_read(p, start, n, fn, arg): entries [start, start + n) to
 * ${fn} (store.h's coffre_store_audit_fn), in one query; NOTFOUND if
 * fewer are committed. */
int audit_pg_read(struct audit_pg *p, uint64_t start, size_t n,
                  int (*fn)(void *, uint64_t, const unsigned char *, size_t),
                  void *arg);
/** audit_pg_export(p, dir, pnote, plen): the files entries and
 * checkpoints of the latest checkpoint's snapshot in ${dir}, that
 * checkpoint in *${pnote} (coffre_free). */
int audit_pg_export(struct audit_pg *p, const char *dir, char **pnote,
                    size_t *plen);
void audit_pg_stats(struct audit_pg *p, struct coffre_audit_stats *st);
/** audit_pg_signing(p): 1 while this process signs the checkpoints. */
int audit_pg_signing(struct audit_pg *p);

/** audit_store_write_files(s, size, dir): the first ${size} entries of
 * the store ${s} and its checkpoints of at most that size as the new
 * files ${dir}/entries and ${dir}/checkpoints (docs/audit.md section 9). */
int audit_store_write_files(struct coffre_store *s, uint64_t size,
                            const char *dir);

/** audit_store_load_files(dst, dir, pentries, pcheckpoints): the log
 * files of ${dir} (absent: an empty log) into the empty log of the store
 * ${dst} (COFFRE_ERR_EXISTS if it is not), the entries in one
 * transaction, then the checkpoints in order; COFFRE_ERR_CRYPTO for a
 * record whose trailer does not match. Counts in the out-parameters. */
int audit_store_load_files(struct coffre_store *dst, const char *dir,
                           uint64_t *pentries, uint64_t *pcheckpoints);

#endif
