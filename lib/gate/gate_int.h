/* Constants shared by the verifier and the issuer (docs/badge.md). */
#ifndef COFFRE_GATE_GATE_INT_H
#define COFFRE_GATE_GATE_INT_H

#define COFFRE_BADGE_KID_LEN 4
#define COFFRE_LIST_CTYPE_TRUST "coffre-trust/1"
#define COFFRE_LIST_CTYPE_REVOC "coffre-revoc/1"
#define COFFRE_TRUST_MAX_KEYS 64

/* CWT claim keys (RFC 8392) and the private ones of this format. */
enum {
    COFFRE_CLAIM_ISS = 1,
    COFFRE_CLAIM_SUB = 2,
    COFFRE_CLAIM_EXP = 4,
    COFFRE_CLAIM_NBF = 5,
    COFFRE_CLAIM_IAT = 6,
    COFFRE_CLAIM_NAME = -1,
    COFFRE_CLAIM_CATEGORY = -2,
    COFFRE_CLAIM_VENUES = -3,
    COFFRE_CLAIM_ZONES = -4,
    COFFRE_CLAIM_TRANSPORT = -5,
};

/* List payload keys. */
enum {
    COFFRE_LIST_SEQ = 1,
    COFFRE_LIST_IAT = 2,
    COFFRE_LIST_ITEMS = 3,
};

#endif
