/*
 * coffre migration (DESIGN section 7, docs/migration.md): manifest roots,
 * resumable idempotent import batches, sealed vault-to-vault bundles,
 * shredding with signed erasure receipts.
 *
 * Manifest root: leaf(p) = SHA-256(0x00 || canonical JSON of p), the
 * canonical JSON being coffre_person_to_json(p, COFFRE_CLASSES_ALL); the
 * leaves are ordered by SHA-256(source_key) (so file order does not
 * matter), one leaf per source key (the last one read wins), and the root
 * is the RFC 6962 Merkle tree hash over them. Every migrated person needs
 * a source key.
 */
#ifndef COFFRE_MIGRATE_H
#define COFFRE_MIGRATE_H

#include "coffre/coffre.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COFFRE_MANIFEST_LEN 32

/** coffre_person_source_key(p): the previous host's key of ${p}, or NULL. */
COFFRE_API const char *coffre_person_source_key(const struct coffre_person *p);

/** coffre_person_leaf(p, out): the manifest leaf hash of ${p} (above). */
COFFRE_API int coffre_person_leaf(const struct coffre_person *p,
                                  unsigned char out[COFFRE_MANIFEST_LEN]);

/* A manifest under construction: 72 bytes per person, in plain memory
 * (it holds hashes only, no personal value). */
struct coffre_manifest;

COFFRE_API int coffre_manifest_new(struct coffre_manifest **pm);

/**
 * coffre_manifest_add(m, p): add ${p} (COFFRE_ERR_ARG without a source
 * key). A later person with the same source key replaces the earlier one.
 */
COFFRE_API int coffre_manifest_add(struct coffre_manifest *m,
                                   const struct coffre_person *p);

/** coffre_manifest_add_leaf(m, key_hash, leaf): add a precomputed entry:
 * ${key_hash} = SHA-256(source key). */
COFFRE_API int
coffre_manifest_add_leaf(struct coffre_manifest *m,
                         const unsigned char key_hash[COFFRE_MANIFEST_LEN],
                         const unsigned char leaf[COFFRE_MANIFEST_LEN]);

/**
 * coffre_manifest_root(m, root, pcount): sort, drop replaced entries and
 * write the root to ${root}, the number of persons to *${pcount} (may be
 * NULL). The manifest may be extended and rooted again afterwards.
 */
COFFRE_API int coffre_manifest_root(struct coffre_manifest *m,
                                    unsigned char root[COFFRE_MANIFEST_LEN],
                                    uint64_t *pcount);

/** coffre_manifest_contains(m, key_hash): 1 if an entry has ${key_hash}
 * (only after coffre_manifest_root), else 0. */
COFFRE_API int
coffre_manifest_contains(const struct coffre_manifest *m,
                         const unsigned char key_hash[COFFRE_MANIFEST_LEN]);

COFFRE_API void coffre_manifest_free(struct coffre_manifest *m);

/* One packed entry: key hash || leaf. */
#define COFFRE_MANIFEST_PACKED_LEN (2 * COFFRE_MANIFEST_LEN)

/** coffre_manifest_count(m): the entries added so far (replaced ones
 * included until coffre_manifest_root drops them). */
COFFRE_API size_t coffre_manifest_count(const struct coffre_manifest *m);

/**
 * coffre_manifest_pack(m, from, n, out): entries ${from} .. ${from}+${n}-1,
 * in the order they were added, to ${out} (n * COFFRE_MANIFEST_PACKED_LEN
 * bytes), so that coffre_manifest_unpack rebuilds them. Only before
 * coffre_manifest_root (which reorders); COFFRE_ERR_ARG past the end.
 */
COFFRE_API int coffre_manifest_pack(const struct coffre_manifest *m,
                                    size_t from, size_t n, unsigned char *out);

/** coffre_manifest_unpack(m, p, len): add the packed entries of ${p}, in
 * order; COFFRE_ERR_PARSE unless ${len} is a multiple of the entry size. */
COFFRE_API int coffre_manifest_unpack(struct coffre_manifest *m,
                                      const unsigned char *p, size_t len);

/** coffre_hex(b, n, out): ${n} bytes as 2n lowercase hex digits + NUL. */
COFFRE_API void coffre_hex(const unsigned char *b, size_t n, char *out);

/** coffre_unhex(s, out, n): exactly 2n hex digits to ${n} bytes; 0 on
 * success, -1 otherwise. */
COFFRE_API int coffre_unhex(const char *s, unsigned char *out, size_t n);

/* ------------------------------------------------------------------ */
/* Import.                                                            */

struct coffre_import_counts {
    uint64_t inserted;   /* new source keys */
    uint64_t updated;    /* known source key, changed record */
    uint64_t unchanged;  /* known source key, same record */
    uint64_t duplicates; /* replaced by a later record of the same batch */
};

/* A migration meta value to write: ${name} starts with "migrate.". */
struct coffre_meta_value {
    const char *name;
    const void *val;
    size_t len; /* at most 64 KiB; 0 clears it */
};

/**
 * coffre_import_meta_fn(ctx, total, pmeta, pn): called by
 * coffre_vault_import inside its transaction, once the batch is stored and
 * counted (${total}: the counts given to it plus the batch's): set *${pmeta}
 * and *${pn} to the meta values to commit with the batch (import progress:
 * they are written with it or not at all), valid until coffre_vault_import
 * returns. Nonzero rolls the batch back (COFFRE_ERR_NOMEM).
 */
typedef int (*coffre_import_meta_fn)(void *ctx,
                                     const struct coffre_import_counts *total,
                                     const struct coffre_meta_value **pmeta,
                                     size_t *pn);

/**
 * coffre_vault_import(v, ps, n, meta, ctx, c): in ONE store transaction,
 * store each of the ${n} persons by its source key: insert when the key is
 * new, replace when the stored record differs, skip when it is the same;
 * then write the meta values that ${meta}(${ctx}, ...) gives (none when
 * ${meta} is NULL). Counts are added to ${c} once committed. Every person
 * must be valid and carry a source key (COFFRE_ERR_INVALID /
 * COFFRE_ERR_ARG, nothing written); COFFRE_ERR_ARG for a meta name that
 * does not start with "migrate." or a value over 64 KiB.
 */
COFFRE_API int coffre_vault_import(struct coffre_vault *v,
                                   struct coffre_person *const *ps, size_t n,
                                   coffre_import_meta_fn meta, void *ctx,
                                   struct coffre_import_counts *c);

/**
 * coffre_vault_meta_get(v, name, pval, plen): a migration meta value (an
 * import marker) in *${pval} (NUL-terminated, coffre_free), its length in
 * *${plen} (may be NULL; a value may hold NUL bytes), COFFRE_ERR_NOTFOUND
 * if absent. ${name} must start with "migrate.".
 */
COFFRE_API int coffre_vault_meta_get(struct coffre_vault *v, const char *name,
                                     char **pval, size_t *plen);
/** coffre_vault_meta_put(v, name, val): set it ("" clears it). */
COFFRE_API int coffre_vault_meta_put(struct coffre_vault *v, const char *name,
                                     const char *val);

/**
 * coffre_vault_manifest(v, root, pcount): the manifest root of every live
 * person of the vault (decrypting each one), and their number.
 */
COFFRE_API int coffre_vault_manifest(struct coffre_vault *v,
                                     unsigned char root[COFFRE_MANIFEST_LEN],
                                     uint64_t *pcount);

/* ------------------------------------------------------------------ */
/* Bundles (docs/migration.md section 4).                             */

/* "coffre-bundle-v1:" + 32 hex (vault id) + ":" + 64 hex (X25519). */
#define COFFRE_BUNDLE_KEY_STRLEN (17 + 32 + 1 + 64)

/**
 * coffre_vault_bundle_key(v, out): the vault's public key for receiving
 * bundles (created on first use, its secret wrapped by the root key), as
 * the string above, NUL-terminated.
 */
COFFRE_API int coffre_vault_bundle_key(struct coffre_vault *v,
                                       char out[COFFRE_BUNDLE_KEY_STRLEN + 1]);

/**
 * coffre_bundle_key_check(to): COFFRE_OK if ${to} is a bundle key string
 * as above, COFFRE_ERR_PARSE if not; needs no vault, so that a caller can
 * refuse a bad destination before it opens the vault or spends an
 * approval.
 */
COFFRE_API int coffre_bundle_key_check(const char *to);

/**
 * coffre_vault_export(v, to, category, out, pcount, root): write a bundle
 * of every live person (of ${category}, or all if NULL) sealed to the
 * bundle key string ${to}, to ${out}; the count and manifest root of what
 * was written in *${pcount} and ${root}.
 */
COFFRE_API int coffre_vault_export(struct coffre_vault *v, const char *to,
                                   const char *category, FILE *out,
                                   uint64_t *pcount,
                                   unsigned char root[COFFRE_MANIFEST_LEN]);

/** A long operation's progress: ${done} items so far out of ${total}
 * (0: not known beforehand). Called with the vault locked: it must not
 * call the vault back. */
typedef void (*coffre_progress_fn)(void *arg, uint64_t done, uint64_t total);

/**
 * coffre_vault_export_progress(v, to, category, out, fn, arg, pcount,
 * root): coffre_vault_export() that calls ${fn}(${arg}, ...) after each
 * person written; total: the live persons, or 0 for a category.
 */
COFFRE_API int
coffre_vault_export_progress(struct coffre_vault *v, const char *to,
                             const char *category, FILE *out,
                             coffre_progress_fn fn, void *arg, uint64_t *pcount,
                             unsigned char root[COFFRE_MANIFEST_LEN]);

struct coffre_bundle;

/**
 * coffre_bundle_open(v, in, pb): read and check a bundle's header: it must
 * be addressed to ${v} (COFFRE_ERR_DENIED otherwise, errmsg naming both
 * vault ids) and open with its bundle key (COFFRE_ERR_CRYPTO).
 */
COFFRE_API int coffre_bundle_open(struct coffre_vault *v, FILE *in,
                                  struct coffre_bundle **pb);

/**
 * coffre_bundle_next(b, pp): the next person; *${pp} NULL after the final
 * chunk, which was authenticated and whose count and root matched what
 * was read. COFFRE_ERR_CRYPTO for a chunk that does not authenticate,
 * COFFRE_ERR_PARSE for a truncated bundle or a bad record,
 * COFFRE_ERR_INVALID for a count or root mismatch; the detail is in
 * coffre_bundle_errmsg().
 */
COFFRE_API int coffre_bundle_next(struct coffre_bundle *b,
                                  struct coffre_person **pp);

/** coffre_bundle_info(b, pcount, root, sender): after the end: the count,
 * root and sender vault id (33 bytes of hex) the bundle declared. */
COFFRE_API void coffre_bundle_info(const struct coffre_bundle *b,
                                   uint64_t *pcount,
                                   unsigned char root[COFFRE_MANIFEST_LEN],
                                   char sender[33]);

COFFRE_API const char *coffre_bundle_errmsg(const struct coffre_bundle *b);
COFFRE_API void coffre_bundle_close(struct coffre_bundle *b);

/* ------------------------------------------------------------------ */
/* Shredding and erasure receipts (docs/migration.md section 5).      */

/**
 * coffre_vault_shred(v, sel, root, preceipt): erase every live person whose
 * source key is in ${sel} (after coffre_manifest_root; NULL: every live
 * person), provided the manifest root of those persons as stored equals
 * ${root} (COFFRE_ERR_INVALID otherwise, nothing erased). All in one
 * transaction. *${preceipt} is the signed erasure receipt (a C2SP signed
 * note), freed with coffre_free().
 */
COFFRE_API int coffre_vault_shred(struct coffre_vault *v,
                                  const struct coffre_manifest *sel,
                                  const unsigned char root[COFFRE_MANIFEST_LEN],
                                  char **preceipt);

/** coffre_vault_receipt_key(v, pvkey): the verifier key string of the
 * vault's receipt signing key (coffre_free). */
COFFRE_API int coffre_vault_receipt_key(struct coffre_vault *v, char **pvkey);

/**
 * coffre_receipt_verify(vkey, receipt, len, ptext): verify a signed erasure
 * receipt against the verifier key string ${vkey}; its text in *${ptext}
 * (coffre_free). COFFRE_ERR_PARSE if malformed, COFFRE_ERR_CRYPTO if the
 * signature does not verify.
 */
COFFRE_API int coffre_receipt_verify(const char *vkey, const char *receipt,
                                     size_t len, char **ptext);

#ifdef __cplusplus
}
#endif
#endif
