/*
 * coffre badges, issuing side (docs/badge.md): pure functions from claims
 * and a signing key to the badge string, its QR code (PNG, SVG), and the
 * signed trust and revocation lists a gate loads. Part of libcoffre.
 *
 * Buffers returned through out-parameters are freed with coffre_free().
 * Call coffre_lib_init() first.
 */
#ifndef COFFRE_BADGE_H
#define COFFRE_BADGE_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/coffre.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COFFRE_BADGE_ID_LEN 8 /* = COFFRE_GATE_ID_LEN */

/*
 * An Ed25519 key: the badge-signing key, or the list-signing key a gate
 * is provisioned with. The 32-byte seed is what the vault wraps under its
 * root key; the secret lives in locked memory wiped on free.
 */
struct coffre_badge_key;

/** coffre_badge_key_generate(pk): a new random key in *${pk}. */
COFFRE_API int coffre_badge_key_generate(struct coffre_badge_key **pk);

/** coffre_badge_key_from_seed(seed, pk): the key of a 32-byte ${seed}
 * (as unwrapped from the vault). */
COFFRE_API int coffre_badge_key_from_seed(const uint8_t seed[32],
                                          struct coffre_badge_key **pk);

/** coffre_badge_key_seed(k, seed): the seed of ${k}, to be wrapped. */
COFFRE_API void coffre_badge_key_seed(const struct coffre_badge_key *k,
                                      uint8_t seed[32]);

/** coffre_badge_key_public(k, pk, kid): public key (32 bytes) and key id
 * (4 bytes: SHA-256(pk)[0..4)); either may be NULL. */
COFFRE_API void coffre_badge_key_public(const struct coffre_badge_key *k,
                                        uint8_t pk[32], uint8_t kid[4]);

/** coffre_badge_key_free(k): wipe and free; NULL is a no-op. */
COFFRE_API void coffre_badge_key_free(struct coffre_badge_key *k);

/* What goes on a badge. Strings are UTF-8, NUL-terminated. */
struct coffre_badge_claims {
    const char *issuer;        /* NULL: no iss claim; else at most 16 bytes */
    const char *subject;       /* the holder's gate pseudonym (43 chars) */
    int64_t iat, nbf, exp;     /* unix times; exp > nbf */
    const char *name;          /* to show: coffre_badge_display_name() */
    const char *category;      /* a table name (docs/badge.md) or a code */
    const char *const *venues; /* 1..16 codes of at most 16 bytes */
    size_t n_venues;
    const char *const *zones; /* 0..16 codes */
    size_t n_zones;
    const char *transport; /* NULL when none */
};

/**
 * coffre_badge_issue(c, k, ppayload, id): sign the claims ${c} with ${k};
 * the badge string ("CB1:" + Base45) in *${ppayload}, its badge id (the id a
 * revocation list names) in ${id}. COFFRE_ERR_ARG when a claim is out of
 * its domain.
 */
COFFRE_API int coffre_badge_issue(const struct coffre_badge_claims *c,
                                  const struct coffre_badge_key *k,
                                  char **ppayload,
                                  uint8_t id[COFFRE_BADGE_ID_LEN]);

/**
 * coffre_badge_display_name(surname, given, out, cap): "DUPONT J-M" from
 * "Dupont", "Jean-Marie": the surname in capitals (NFC, utf8proc's upper
 * case per code point, every script), then the initials of the given
 * names (their first grapheme cluster; hyphens kept); truncated at a
 * cluster boundary to fit 32 bytes.
 */
COFFRE_API int coffre_badge_display_name(const char *surname, const char *given,
                                         char *out, size_t cap);

/** coffre_badge_qr_version(payload, pversion): the QR version (1..40) of
 * ${payload} at error-correction level Q. */
COFFRE_API int coffre_badge_qr_version(const char *payload, int *pversion);

/** coffre_badge_qr_png(payload, scale, ppng, plen): the QR code as a PNG,
 * ${scale} pixels per module, 4-module quiet zone. */
COFFRE_API int coffre_badge_qr_png(const char *payload, int scale,
                                   unsigned char **ppng, size_t *plen);

/** coffre_badge_qr_svg(payload, psvg): the QR code as SVG text. */
COFFRE_API int coffre_badge_qr_svg(const char *payload, char **psvg);

struct coffre_badge_trusted {
    uint8_t pk[32]; /* a badge-signing public key */
    int64_t not_before, not_after;
};

/**
 * coffre_badge_trust_list(keys, n, seq, iat, list_key, pout, plen): the
 * signed trust list of ${n} keys (at most 64), sequence ${seq}.
 */
COFFRE_API int coffre_badge_trust_list(const struct coffre_badge_trusted *keys,
                                       size_t n, uint64_t seq, int64_t iat,
                                       const struct coffre_badge_key *list_key,
                                       unsigned char **pout, size_t *plen);

/**
 * coffre_badge_revocation_list(ids, n, seq, iat, list_key, pout, plen): the
 * signed revocation list of the ${n} badge ids at ${ids} (8 bytes each, any
 * order, duplicates allowed: the list is sorted and deduplicated).
 */
COFFRE_API int
coffre_badge_revocation_list(const uint8_t *ids, size_t n, uint64_t seq,
                             int64_t iat,
                             const struct coffre_badge_key *list_key,
                             unsigned char **pout, size_t *plen);

#ifdef __cplusplus
}
#endif
#endif
