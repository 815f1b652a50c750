/*
 * coffre backup and restore (docs/operations.md section 2).
 *
 * A backup is a directory: keys.cbk (meta, key-encryption keys, epoch
 * keys, data keys, id counter) and records.cbk (persons and tombstones),
 * each encrypted to the backup recipient's X25519 public key; a copy of
 * the audit log (audit/checkpoints, audit/entries); manifest.json with the
 * snapshot's audit mark, counts, a digest of every row and the SHA-256 of
 * every file. It is taken online, from one read snapshot of the store,
 * sealed: the store holds only ciphertext, and no key is needed.
 */
#ifndef COFFRE_BACKUP_H
#define COFFRE_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/coffre.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COFFRE_BACKUP_MANIFEST_MAX (64u * 1024u) /* bytes of manifest.json */
#define COFFRE_BACKUP_FILE_HDR 132               /* bytes of a .cbk header */
#define COFFRE_BACKUP_FILES_MAX 4                /* files a manifest lists */

/* One file of a backup, as its manifest lists it. */
struct coffre_backup_file {
    char name[32]; /* "keys.cbk", "records.cbk", "audit/entries", ... */
    uint64_t size;
    unsigned char sha256[32];
};

/* What a backup holds, from its manifest. */
struct coffre_backup_info {
    char vault_id[33];
    int64_t created;     /* unix time of the snapshot */
    uint64_t audit_mark; /* the store's audit mark in the snapshot */
    uint64_t persons, tombstones, data_keys, keks, epochs, meta, next_id;
    unsigned char digest[32];    /* of every row (coffre store copy's) */
    unsigned char recipient[32]; /* the public key it is encrypted to */
    struct coffre_backup_file files[COFFRE_BACKUP_FILES_MAX];
    unsigned nfiles;
};

/**
 * coffre_backup_keygen(secret_path, public_path, msg, cap): a new backup
 * key pair: the secret key (64 hex digits and a newline) written to
 * ${secret_path}, the public key to ${public_path}, both created
 * exclusively, mode 0600. COFFRE_ERR_EXISTS if either exists (nothing
 * written); the reason in ${msg}.
 */
COFFRE_API int coffre_backup_keygen(const char *secret_path,
                                    const char *public_path, char *msg,
                                    size_t cap);

/**
 * coffre_backup_take(data, so, audit_dir, out, recipient_path, info, msg,
 * cap): back up the vault of data directory ${data} (its store as ${so}
 * or its record says; the log in ${audit_dir}, NULL: DATA/audit) into the
 * new or empty directory ${out}, encrypted to the public key in the file
 * ${recipient_path}. Runs beside a server writing: the store is read in
 * one snapshot, the log copied after it. On failure nothing is left in
 * ${out}; the reason in ${msg}. What was written in ${info}.
 */
COFFRE_API int coffre_backup_take(const char *data,
                                  const struct coffre_store_opts *so,
                                  const char *audit_dir, const char *out,
                                  const char *recipient_path,
                                  struct coffre_backup_info *info, char *msg,
                                  size_t cap);

/**
 * coffre_backup_restore(from, secret_path, data, audit_from, info, msg, cap):
 * check the backup ${from} whole (manifest, SHA-256 of every file, both
 * files opened with the secret key of ${secret_path}, every row parsed)
 * before anything is written; then make the new data directory ${data}
 * (absent or empty) with a SQLite store holding the backup's rows and
 * the audit log of ${audit_from} (the live vault's log directory; NULL:
 * the backup's copy), and read the store back against the backup's row
 * digest. The store is flagged restored: opening the log then refuses it
 * while the log holds writes past the backup's mark, unless
 * coffre_vault_accept_rollback(). On failure nothing is left in ${data}.
 */
COFFRE_API int coffre_backup_restore(const char *from, const char *secret_path,
                                     const char *data, const char *audit_from,
                                     struct coffre_backup_info *info, char *msg,
                                     size_t cap);

/**
 * coffre_backup_manifest_parse(text, len, info, msg, cap): parse a
 * manifest.json (at most COFFRE_BACKUP_MANIFEST_MAX bytes) strictly into
 * ${info}. COFFRE_ERR_PARSE / COFFRE_ERR_TOOBIG with the reason in ${msg}.
 */
COFFRE_API int coffre_backup_manifest_parse(const char *text, size_t len,
                                            struct coffre_backup_info *info,
                                            char *msg, size_t cap);

/**
 * coffre_backup_header_parse(p, len, kind, vault_id): check the header
 * of a .cbk file (the first COFFRE_BACKUP_FILE_HDR bytes of ${p}):
 * magic, version; its kind (1 keys, 2 records) in *${kind}, its vault id
 * in ${vault_id}. COFFRE_ERR_PARSE otherwise.
 */
COFFRE_API int coffre_backup_header_parse(const unsigned char *p, size_t len,
                                          int *kind,
                                          unsigned char vault_id[16]);

/**
 * coffre_backup_frames_check(keys, klen, recs, rlen, msg, cap): parse the
 * decrypted contents of keys.cbk and records.cbk as a restore replays
 * them, writing nothing: COFFRE_ERR_PARSE with the reason in ${msg} if
 * any frame is malformed, over its cap, or out of order.
 */
COFFRE_API int coffre_backup_frames_check(const unsigned char *keys,
                                          size_t klen,
                                          const unsigned char *recs,
                                          size_t rlen, char *msg, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
