/* COSE_Sign1 production, shared by badges and lists. */
#ifndef COFFRE_BADGE_SIGN_H
#define COFFRE_BADGE_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/badge.h"
#include "gate/cose.h"

struct coffre_badge_key {
    unsigned char *sk; /* 64 bytes of coffre_key_alloc memory */
    uint8_t pk[32];
    uint8_t kid[4];
};

/**
 * coffre_badge_sign1(k, ctype, payload, len, w): append to ${w} the
 * COSE_Sign1 (tag 18) over ${payload} with protected header {1: -8, [3:
 * ${ctype} when not NULL,] 4: kid of ${k}}; the signature in ${sig}.
 */
void coffre_badge_sign1(const struct coffre_badge_key *k, const char *ctype,
                        const uint8_t *payload, size_t len,
                        struct coffre_cbw *w, uint8_t sig[64]);

#endif
