/* The verifier context, shared by the modules of lib/gate. */
#ifndef COFFRE_GATE_GATE_CTX_H
#define COFFRE_GATE_GATE_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/gate.h"
#include "gate/gate_int.h"

struct coffre_gate_key {
    uint8_t kid[COFFRE_BADGE_KID_LEN];
    uint8_t pk[32];
    int64_t not_before, not_after;
};

struct coffre_gate {
    uint8_t list_pk[32];
    uint8_t list_kid[COFFRE_BADGE_KID_LEN];
    struct coffre_gate_key keys[COFFRE_TRUST_MAX_KEYS];
    size_t n_keys;
    uint64_t trust_seq;
    uint8_t *revoked; /* n_revoked ids of 8 bytes, strictly ascending */
    size_t n_revoked;
    uint64_t revoc_seq;
    int64_t revoc_iat;
    int has_revoc;
    int64_t max_age;
    int refuse_stale;
};

/** coffre_gate_kid(pk, kid): the key id of ${pk}: SHA-256(pk)[0..4). */
void coffre_gate_kid(const uint8_t pk[32], uint8_t kid[COFFRE_BADGE_KID_LEN]);

/** coffre_gate_claims_parse(cbor, len, d): fill the display fields and
 * times of ${d} from CWT claims; COFFRE_ERR_PARSE if malformed. */
int coffre_gate_claims_parse(const uint8_t *cbor, size_t len,
                             struct coffre_gate_decision *d);

#endif
