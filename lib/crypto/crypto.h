/*
 * The crypto component: keys, AEAD envelopes, Shamir sealing of the root
 * key, blind indexes and pseudonyms. Every primitive is libsodium's (and
 * libgfshare's for the Shamir arithmetic); this module only fixes how they
 * are combined. docs/keys.md is normative for every byte layout below.
 *
 * Departures from the brief this API was written to, and why:
 * - coffre_rng detects fork() with a pthread_atfork generation counter
 *   rather than comparing getpid(): glibc no longer caches the pid, so
 *   getpid() would cost one syscall per call, which is what coffre_rng
 *   exists to avoid. A process forked by a raw clone() syscall bypasses
 *   the handler; coffre never does that.
 * - Pseudonyms use a 24-byte tag (BLAKE2b-192, an XChaCha20 nonce exactly)
 *   and an 8-byte ciphertext: 32 bytes, 43 characters, see docs/keys.md.
 * - coffre_share_parse_ex() also returns the reason a share text was
 *   refused (a static string, never a secret), for the unseal message.
 *
 * Call sodium_init() (coffre_lib_init()) before anything here.
 */
#ifndef COFFRE_CRYPTO_CRYPTO_H
#define COFFRE_CRYPTO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define COFFRE_KEY_LEN 32
#define COFFRE_NONCE_LEN 24
#define COFFRE_TAG_LEN 16
#define COFFRE_AEAD_OVERHEAD 40 /* 24-byte nonce + 16-byte tag */
#define COFFRE_AD_MAX 64
#define COFFRE_WRAPPED_LEN 72 /* COFFRE_KEY_LEN + COFFRE_AEAD_OVERHEAD */
#define COFFRE_NAMED_MAX 32   /* longest name for coffre_ad_named */
#define COFFRE_LABEL_MAX 255  /* longest label for coffre_key_derive */
#define COFFRE_SHARE_TEXT_MAX 1024
#define COFFRE_SHARE_BYTES 32

/* A symmetric key. Always in coffre_key_alloc memory (locked, wiped). */
struct coffre_key {
    unsigned char b[COFFRE_KEY_LEN];
};

/** coffre_key_new(): a fresh random key (from coffre_rng), NULL on ENOMEM. */
struct coffre_key *coffre_key_new(void);

/** coffre_key_from(b): a key holding a copy of the 32 bytes ${b}; NULL on
 * ENOMEM. The caller wipes its own copy. */
struct coffre_key *coffre_key_from(const unsigned char b[COFFRE_KEY_LEN]);

/** coffre_key_destroy(k): wipe and free ${k}; NULL is a no-op. */
void coffre_key_destroy(struct coffre_key *k);

/**
 * coffre_rng(out, n): fill ${out} with ${n} random bytes from a per-thread
 * ChaCha20 generator seeded by randombytes_buf (the kernel), refilled in
 * 4 KiB blocks and rekeyed after each block (fast key erasure: a later
 * memory read cannot recover bytes already handed out). Reseeds in a child
 * after fork(); wiped at thread exit. Never fails.
 */
void coffre_rng(void *out, size_t n);

/**
 * coffre_aead_seal(k, ad, adlen, pt, len, out): XChaCha20-Poly1305-IETF of
 * ${pt} (${len} bytes) under ${k} with associated data ${ad}, a random
 * nonce; writes nonce || ciphertext || tag, ${len} + 40 bytes, to ${out}
 * (which must not overlap ${pt}). COFFRE_ERR_TOOBIG if ${len} is beyond
 * libsodium's limit.
 */
int coffre_aead_seal(const struct coffre_key *k, const unsigned char *ad,
                     size_t adlen, const unsigned char *pt, size_t len,
                     unsigned char *out);

/**
 * coffre_aead_open(k, ad, adlen, ct, ctlen, out): the inverse of
 * coffre_aead_seal; ${out} receives ${ctlen} - 40 bytes. COFFRE_ERR_PARSE
 * if ${ctlen} < 40; COFFRE_ERR_CRYPTO if it does not authenticate under
 * (${k}, ${ad}), and then ${out} is wiped.
 */
int coffre_aead_open(const struct coffre_key *k, const unsigned char *ad,
                     size_t adlen, const unsigned char *ct, size_t ctlen,
                     unsigned char *out);

/*
 * Associated data: "coffre/<kind>" NUL, the 16-byte vault id, then the
 * numbers big-endian (docs/keys.md, "Associated data"). Each returns the
 * length written to ${ad}, or 0 on an argument out of its domain.
 */

/** coffre_ad_field(ad, vault_id, record_id, cls, dk_gen): AD of one field
 * class ciphertext of a record, under data key generation ${dk_gen}. */
size_t coffre_ad_field(unsigned char ad[COFFRE_AD_MAX],
                       const unsigned char vault_id[16], uint64_t record_id,
                       int cls, uint32_t dk_gen);

/** coffre_ad_dkey(ad, vault_id, record_id, kek_version, epoch): AD of a
 * wrapped data key. */
size_t coffre_ad_dkey(unsigned char ad[COFFRE_AD_MAX],
                      const unsigned char vault_id[16], uint64_t record_id,
                      uint32_t kek_version, uint32_t epoch);

/** coffre_ad_kek(ad, vault_id, kek_version): AD of a KEK wrapped by root. */
size_t coffre_ad_kek(unsigned char ad[COFFRE_AD_MAX],
                     const unsigned char vault_id[16], uint32_t kek_version);

/** coffre_ad_epoch(ad, vault_id, epoch): AD of an epoch key wrapped by
 * root. */
size_t coffre_ad_epoch(unsigned char ad[COFFRE_AD_MAX],
                       const unsigned char vault_id[16], uint32_t epoch);

/** coffre_ad_named(ad, vault_id, name): AD of a named key (index keys,
 * pseudonym master, audit key) wrapped by root; ${name} is 1 to 32 bytes,
 * else 0 is returned. */
size_t coffre_ad_named(unsigned char ad[COFFRE_AD_MAX],
                       const unsigned char vault_id[16], const char *name);

/**
 * coffre_ad_cursor(ad, vault_id, audience, context, context_len): AD of a
 * listing cursor: "coffre/cursor" NUL, the vault id, then BLAKE2b-256 of
 * u8 len || ${audience} || ${context} (62 bytes in all), so that a cursor
 * opens only for the audience and the list it was made for. ${audience}
 * is 1 to 255 bytes and ${context} may be empty (NULL with length 0);
 * else 0 is returned.
 */
size_t coffre_ad_cursor(unsigned char ad[COFFRE_AD_MAX],
                        const unsigned char vault_id[16], const char *audience,
                        const unsigned char *context, size_t context_len);

/**
 * coffre_key_wrap(kek, ad, adlen, k, out): seal the 32 bytes of ${k} under
 * ${kek} with ${ad}: 72 bytes in ${out}.
 */
int coffre_key_wrap(const struct coffre_key *kek, const unsigned char *ad,
                    size_t adlen, const struct coffre_key *k,
                    unsigned char out[COFFRE_WRAPPED_LEN]);

/**
 * coffre_key_unwrap(kek, ad, adlen, in, inlen, pk): open a wrapped key into
 * a new key *${pk}. COFFRE_ERR_PARSE if ${inlen} is not 72,
 * COFFRE_ERR_CRYPTO if it does not authenticate, COFFRE_ERR_NOMEM.
 */
int coffre_key_unwrap(const struct coffre_key *kek, const unsigned char *ad,
                      size_t adlen, const unsigned char *in, size_t inlen,
                      struct coffre_key **pk);

/**
 * coffre_key_dkwrap(kek, epoch, epoch_key, pk): the key that wraps data
 * keys of KEK version ${kek} and retention epoch ${epoch}: BLAKE2b-256
 * keyed by ${kek} over "coffre/dkwrap" || epoch (4, BE) || ${epoch_key}.
 * Without either input key it cannot be rebuilt.
 */
int coffre_key_dkwrap(const struct coffre_key *kek, uint32_t epoch,
                      const struct coffre_key *epoch_key,
                      struct coffre_key **pk);

/**
 * coffre_key_derive(master, label, pk): a subkey, BLAKE2b-256 keyed by
 * ${master} over "coffre/derive" NUL || ${label} (1 to 255 bytes, else
 * COFFRE_ERR_ARG). generichash rather than crypto_kdf because labels such
 * as "pseudonym:<audience>" are longer than crypto_kdf's 8-byte context.
 */
int coffre_key_derive(const struct coffre_key *master, const char *label,
                      struct coffre_key **pk);

/**
 * coffre_key_root_check(root, vault_id, out): a value that tells a right
 * root key from a wrong one and reveals nothing else (a PRF output):
 * BLAKE2b-256 keyed by ${root} over "coffre/root-check" || ${vault_id}.
 */
void coffre_root_check(const struct coffre_key *root,
                       const unsigned char vault_id[16], unsigned char out[32]);

/**
 * coffre_blind_tag(k, norm, len, tag): blind index of the normalised value
 * ${norm}: BLAKE2b-128 keyed by the index key ${k}.
 */
void coffre_blind_tag(const struct coffre_key *k, const unsigned char *norm,
                      size_t len, unsigned char tag[16]);

/* ------------------------------------------------------------------ */
/* Shamir sealing of the root key (share text format: docs/keys.md).  */

/* One parsed share; bytes are in key memory, released by
 * coffre_share_clear. */
struct coffre_share {
    unsigned char vault_id[16];
    unsigned threshold, count, index;
    unsigned char *bytes;
    size_t len;
};

/**
 * coffre_shamir_split(root, vault_id, n, m, texts, commitments): split
 * ${root} into ${n} shares of which any ${m} rebuild it (2 <= m <= n <=
 * 255, else COFFRE_ERR_ARG). texts[i] (i < n) receives share i+1 as one
 * NUL-terminated line in coffre_pmem memory (free with coffre_pmem_free);
 * commitments[i] its commitment. On failure no text is left allocated.
 */
int coffre_shamir_split(const struct coffre_key *root,
                        const unsigned char vault_id[16], unsigned n,
                        unsigned m, char **texts,
                        unsigned char commitments[][32]);

/**
 * coffre_share_parse_ex(text, out, preason): parse a share line (surrounding
 * whitespace allowed, at most 1 KiB). COFFRE_ERR_SHARE if it is malformed
 * or its checksum fails, COFFRE_ERR_TOOBIG if longer, with a static reason
 * in *${preason} (may be NULL). On success ${out} owns key memory: release
 * with coffre_share_clear. On failure ${out} holds nothing.
 */
int coffre_share_parse_ex(const char *text, struct coffre_share *out,
                          const char **preason);

/** coffre_share_parse(text, out): coffre_share_parse_ex without reason. */
int coffre_share_parse(const char *text, struct coffre_share *out);

/** coffre_share_clear(s): wipe and release the bytes of ${s}, zero it. */
void coffre_share_clear(struct coffre_share *s);

/**
 * coffre_share_commitment(s, out): BLAKE2b-256 over "coffre/share-commit"
 * || vault id || threshold || count || index (one byte each) || share
 * bytes: what the vault stores to recognise its own shares.
 */
void coffre_share_commitment(const struct coffre_share *s,
                             unsigned char out[32]);

/**
 * coffre_shamir_combine(shares, k, proot): rebuild the root key from ${k}
 * shares into *${proot}. COFFRE_ERR_SHARE if they disagree on vault id,
 * threshold or count, or repeat an index; COFFRE_ERR_THRESHOLD if fewer
 * than the threshold. A share altered with a recomputed checksum yields a
 * wrong key: check it with coffre_root_check.
 */
int coffre_shamir_combine(const struct coffre_share *shares, unsigned k,
                          struct coffre_key **proot);

/* ------------------------------------------------------------------ */
/* Pseudonyms (construction and argument: docs/keys.md).              */

#define COFFRE_PSEUDONYM_CHARS 43

/**
 * coffre_pseudonym_make(audience_key, record_id, out): the pseudonym of
 * ${record_id} for the audience whose key (derived by the caller from the
 * pseudonym master with label "pseudonym:" || audience) is ${audience_key}:
 * 43 base64url characters and a NUL in ${out}. Deterministic.
 */
int coffre_pseudonym_make(const struct coffre_key *audience_key,
                          uint64_t record_id, char out[44]);

/**
 * coffre_pseudonym_open(audience_key, pseudonym, precord_id): the record id
 * behind ${pseudonym}; COFFRE_ERR_NOTFOUND for anything that is not a
 * pseudonym made with this key (malformed, other audience, tampered).
 */
int coffre_pseudonym_open(const struct coffre_key *audience_key,
                          const char *pseudonym, uint64_t *precord_id);

/* ------------------------------------------------------------------ */
/* Listing cursors (format and argument: docs/keys.md, "Cursors").    */

#define COFFRE_CURSOR_CHARS 67 /* "c1." and 64 base64url characters */

/**
 * coffre_cursor_seal(k, ad, adlen, after, out): the cursor that names the
 * position ${after} (a record id) under ${k} and ${ad}: "c1." followed by
 * base64url-nopad of the AEAD envelope (coffre_aead_seal, random nonce) of
 * u64 ${after}, 67 characters and a NUL in ${out}. Never fails.
 */
void coffre_cursor_seal(const struct coffre_key *k, const unsigned char *ad,
                        size_t adlen, uint64_t after,
                        char out[COFFRE_CURSOR_CHARS + 1]);

/**
 * coffre_cursor_open(k, ad, adlen, text, pafter): the position in the
 * cursor ${text} (read up to 68 bytes at most). COFFRE_ERR_PARSE if it is
 * not "c1." and exactly 64 base64url characters, COFFRE_ERR_CRYPTO if it
 * does not authenticate under (${k}, ${ad}); *${pafter} is set only on
 * success.
 */
int coffre_cursor_open(const struct coffre_key *k, const unsigned char *ad,
                       size_t adlen, const char *text, uint64_t *pafter);

#endif
