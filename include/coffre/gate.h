/*
 * coffre gate verifier: decides offline whether a badge (docs/badge.md) opens
 * a gate. Depends on libsodium, libcbor and zlib only; a gate device carries
 * this library, its trust list, its revocation list and nothing else.
 *
 * Functions return enum coffre_err values (coffre/coffre.h; only the enum is
 * used). A decision is never an error: coffre_gate_verify() returns
 * COFFRE_OK and says ACCEPT or REFUSE with a reason in the decision struct.
 * A context is not shared between threads while it is being loaded; once
 * loaded, coffre_gate_verify() only reads it and may run on every core.
 */
#ifndef COFFRE_GATE_H
#define COFFRE_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/coffre.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COFFRE_GATE_PREFIX "CB1:"
#define COFFRE_GATE_MAX_PAYLOAD 4096 /* characters of a badge string */
#define COFFRE_GATE_MAX_CBOR 4096    /* bytes once inflated */
#define COFFRE_GATE_MAX_TRUST (64u * 1024u)
#define COFFRE_GATE_MAX_REVOCATIONS (16u * 1024u * 1024u)
#define COFFRE_GATE_ID_LEN 8  /* badge id: SHA-256(signature)[0..8) */
#define COFFRE_GATE_SUB_LEN 6 /* short gate pseudonym carried as subject */
#define COFFRE_GATE_MAX_ITEMS 16
#define COFFRE_GATE_MAX_CODE 16
#define COFFRE_GATE_MAX_NAME 48

enum coffre_gate_reason {
    COFFRE_GATE_ACCEPT = 0,
    COFFRE_GATE_MALFORMED,     /* not a badge of this format */
    COFFRE_GATE_UNKNOWN_KEY,   /* no trusted key with this id at this time */
    COFFRE_GATE_BAD_SIGNATURE, /* signature does not verify */
    COFFRE_GATE_NOT_YET_VALID, /* now < nbf */
    COFFRE_GATE_EXPIRED,       /* now >= exp */
    COFFRE_GATE_REVOKED,       /* badge id on the revocation list */
    COFFRE_GATE_WRONG_VENUE,   /* venue asked is not on the badge */
    COFFRE_GATE_WRONG_ZONE,    /* zone asked is not on the badge */
    COFFRE_GATE_STALE_LIST,    /* revocation list too old (refuse policy) */
    COFFRE_GATE_REASON_COUNT
};

/** coffre_gate_reason_name(r): "accept", "malformed", ... (static). */
COFFRE_API const char *coffre_gate_reason_name(int r);

/* What a gate shows, from a badge whose signature verified. */
struct coffre_gate_decision {
    int reason;       /* enum coffre_gate_reason */
    int stale;        /* 1: the revocation list is older than the max age */
    int64_t list_age; /* seconds; -1 when no revocation list is loaded */
    uint8_t id[COFFRE_GATE_ID_LEN];
    uint8_t sub[COFFRE_GATE_SUB_LEN];
    int64_t iat, nbf, exp;
    char issuer[COFFRE_GATE_MAX_CODE + 1];
    char name[COFFRE_GATE_MAX_NAME + 1];
    char category[COFFRE_GATE_MAX_CODE + 1]; /* table name, or the text */
    char transport[COFFRE_GATE_MAX_CODE + 1];
    char venues[COFFRE_GATE_MAX_ITEMS][COFFRE_GATE_MAX_CODE + 1];
    size_t n_venues;
    char zones[COFFRE_GATE_MAX_ITEMS][COFFRE_GATE_MAX_CODE + 1];
    size_t n_zones;
};

struct coffre_gate;

/**
 * coffre_gate_new(list_pk, pg): a verifier that accepts trust and
 * revocation lists signed by the Ed25519 public key ${list_pk} (32 bytes,
 * provisioned on the device). Policy defaults: max age 24 h, warn.
 */
COFFRE_API int coffre_gate_new(const uint8_t list_pk[32],
                               struct coffre_gate **pg);

/** coffre_gate_free(g): release ${g}; NULL is a no-op. */
COFFRE_API void coffre_gate_free(struct coffre_gate *g);

/**
 * coffre_gate_set_policy(g, max_age, refuse): a revocation list older than
 * ${max_age} seconds (or none at all) refuses badges when ${refuse} is
 * nonzero, else only sets decision.stale.
 */
COFFRE_API void coffre_gate_set_policy(struct coffre_gate *g, int64_t max_age,
                                       int refuse);

/**
 * coffre_gate_load_trust(g, buf, len): install a signed trust list.
 * COFFRE_ERR_TOOBIG over COFFRE_GATE_MAX_TRUST, COFFRE_ERR_PARSE if
 * malformed, COFFRE_ERR_CRYPTO if not signed by the list key,
 * COFFRE_ERR_STATE if its sequence number is below the one loaded. On
 * failure the list already loaded stays.
 */
COFFRE_API int coffre_gate_load_trust(struct coffre_gate *g, const uint8_t *buf,
                                      size_t len);

/** coffre_gate_load_revocations(g, buf, len): the same for a revocation
 * list (cap COFFRE_GATE_MAX_REVOCATIONS). */
COFFRE_API int coffre_gate_load_revocations(struct coffre_gate *g,
                                            const uint8_t *buf, size_t len);

/** coffre_gate_load_file(g, path, revocations): read ${path} (capped) and
 * load it as a revocation list if ${revocations}, else as a trust list;
 * COFFRE_ERR_IO if it cannot be read. */
COFFRE_API int coffre_gate_load_file(struct coffre_gate *g, const char *path,
                                     int revocations);

/**
 * coffre_gate_list_info(buf, len, revocations, pseq, piat): check the
 * signature of a list with ${list_pk} and report its sequence number and
 * issued-at time, without installing it.
 */
COFFRE_API int coffre_gate_list_info(const uint8_t list_pk[32],
                                     const uint8_t *buf, size_t len,
                                     int revocations, uint64_t *pseq,
                                     int64_t *piat);

/** coffre_gate_seq(g, revocations): sequence number of the list loaded,
 * 0 when none. */
COFFRE_API uint64_t coffre_gate_seq(const struct coffre_gate *g,
                                    int revocations);

/**
 * coffre_gate_verify(g, payload, len, now, venue, zone, d): decide on the
 * badge string ${payload} at unix time ${now}; ${venue} and ${zone} (NULL:
 * not checked) must be on the badge. Fills *${d} and returns COFFRE_OK
 * whatever the decision; COFFRE_ERR_ARG on NULL arguments,
 * COFFRE_ERR_NOMEM if memory runs out.
 */
COFFRE_API int coffre_gate_verify(const struct coffre_gate *g,
                                  const char *payload, size_t len, int64_t now,
                                  const char *venue, const char *zone,
                                  struct coffre_gate_decision *d);

/** coffre_gate_category_name(code): the category of table code ${code}
 * (docs/badge.md), or NULL. */
COFFRE_API const char *coffre_gate_category_name(uint64_t code);

/** coffre_gate_category_code(name): the table code of ${name}, or -1. */
COFFRE_API int coffre_gate_category_code(const char *name);

#ifdef __cplusplus
}
#endif
#endif
