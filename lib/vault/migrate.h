/*
 * Internals shared by the migration files of lib/vault/: migrate.c
 * (manifests, import batches, vault scans), bundle.c (sealed bundles),
 * shred.c (erasure and receipts). docs/migration.md is normative.
 */
#ifndef COFFRE_VAULT_MIGRATE_H
#define COFFRE_VAULT_MIGRATE_H

#include "coffre/migrate.h"
#include "vault/vault.h"

/* One person met by a scan: its record id, the person (all classes, with
 * its effective source key), SHA-256 of that key and its manifest leaf. */
struct migrate_item {
    uint64_t id;
    struct coffre_person *p;
    unsigned char key_hash[COFFRE_MANIFEST_LEN];
    unsigned char leaf[COFFRE_MANIFEST_LEN];
};

typedef int (*migrate_scan_fn)(void *ctx, const struct migrate_item *it);

/**
 * migrate_scan(v, category, fn, ctx): call ${fn} on every live person (of
 * ${category} if not NULL) in ascending id order, lock held. A person
 * without a source key gets "coffre:<vault id>:<record id>" (docs). Stops
 * at the first nonzero return of ${fn}, which it returns.
 */
int migrate_scan(struct coffre_vault *v, const char *category,
                 migrate_scan_fn fn, void *ctx);

/** migrate_key_hash(key, out): SHA-256 of the source key ${key}. */
void migrate_key_hash(const char *key, unsigned char out[COFFRE_MANIFEST_LEN]);

/** migrate_manifest_key(m, i): the i-th key hash, in root order (after
 * coffre_manifest_root, i below its count). */
const unsigned char *migrate_manifest_key(const struct coffre_manifest *m,
                                          size_t i);

struct coffre_note_signer;

/** vault_receipt_signer(v, ps): the vault's erasure receipt signer (named
 * key "receipt"), lock held; also used by the retention receipts of
 * retention.c so that every receipt has one key and one format. */
int vault_receipt_signer(struct coffre_vault *v,
                         struct coffre_note_signer **ps);

#endif
