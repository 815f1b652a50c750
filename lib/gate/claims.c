/* The CWT claims of a badge (docs/badge.md, "Claims"). */
#include <string.h>

#include <cbor.h>

#include "gate/cbor_get.h"
#include "gate/gate_ctx.h"

static int
claims_codes(const cbor_item_t *it, char (*out)[COFFRE_GATE_MAX_CODE + 1],
             size_t *pn)
{
    size_t n;

    if (!cbor_isa_array(it) || !cbor_array_is_definite(it)) {
        return COFFRE_ERR_PARSE;
    }
    n = cbor_array_size(it);
    if (n > COFFRE_GATE_MAX_ITEMS) {
        return COFFRE_ERR_PARSE;
    }
    for (size_t i = 0; i < n; i++) {
        if (coffre_cbor_code(cbor_array_handle(it)[i], out[i],
                             sizeof(out[i])) != COFFRE_OK) {
            return COFFRE_ERR_PARSE;
        }
    }
    *pn = n;
    return COFFRE_OK;
}

static int
claims_time(const cbor_item_t *it, int64_t *pv)
{
    return coffre_cbor_int(it, pv) == 0 && *pv >= 0 ? COFFRE_OK
                                                    : COFFRE_ERR_PARSE;
}

static int
claims_category(const cbor_item_t *it, struct coffre_gate_decision *d)
{
    int64_t code;
    const char *name;

    if (coffre_cbor_int(it, &code) == 0 && code >= 0 &&
        (name = coffre_gate_category_name((uint64_t)code)) != NULL) {
        strcpy(d->category, name);
        return COFFRE_OK;
    }
    return coffre_cbor_code(it, d->category, sizeof(d->category));
}

static int
claims_sub(const cbor_item_t *it, struct coffre_gate_decision *d)
{
    size_t n;

    if (coffre_cbor_bstr(it, d->sub, sizeof(d->sub), &n) != COFFRE_OK ||
        n != COFFRE_GATE_SUB_LEN) {
        return COFFRE_ERR_PARSE;
    }
    return COFFRE_OK;
}

/* One claim; ${bit} is its slot in the seen-set. */
static int
claims_one(const struct cbor_pair *kv, struct coffre_gate_decision *d,
           unsigned *seen)
{
    int64_t key;
    unsigned bit;

    if (coffre_cbor_int(kv->key, &key) != 0 || key < -5 || key > 6 ||
        key == 0 || key == 3) {
        return COFFRE_ERR_PARSE; /* unknown claims are refused */
    }
    bit = 1u << (key + 5);
    if (*seen & bit) {
        return COFFRE_ERR_PARSE;
    }
    *seen |= bit;
    switch (key) {
    case COFFRE_CLAIM_ISS:
        return coffre_cbor_tstr(kv->value, d->issuer, sizeof(d->issuer));
    case COFFRE_CLAIM_SUB:
        return claims_sub(kv->value, d);
    case COFFRE_CLAIM_EXP:
        return claims_time(kv->value, &d->exp);
    case COFFRE_CLAIM_NBF:
        return claims_time(kv->value, &d->nbf);
    case COFFRE_CLAIM_IAT:
        return claims_time(kv->value, &d->iat);
    case COFFRE_CLAIM_NAME:
        return coffre_cbor_tstr(kv->value, d->name, sizeof(d->name));
    case COFFRE_CLAIM_CATEGORY:
        return claims_category(kv->value, d);
    case COFFRE_CLAIM_VENUES:
        return claims_codes(kv->value, d->venues, &d->n_venues);
    case COFFRE_CLAIM_ZONES:
        return claims_codes(kv->value, d->zones, &d->n_zones);
    default: /* COFFRE_CLAIM_TRANSPORT */
        return coffre_cbor_code(kv->value, d->transport, sizeof(d->transport));
    }
}

/* Every claim but iss and transport is required. */
#define CLAIM_BIT(k) (1u << ((k) + 5))
#define CLAIMS_REQUIRED                                                        \
    (CLAIM_BIT(COFFRE_CLAIM_SUB) | CLAIM_BIT(COFFRE_CLAIM_EXP) |               \
     CLAIM_BIT(COFFRE_CLAIM_NBF) | CLAIM_BIT(COFFRE_CLAIM_IAT) |               \
     CLAIM_BIT(COFFRE_CLAIM_NAME) | CLAIM_BIT(COFFRE_CLAIM_CATEGORY) |         \
     CLAIM_BIT(COFFRE_CLAIM_VENUES) | CLAIM_BIT(COFFRE_CLAIM_ZONES))

int
coffre_gate_claims_parse(const uint8_t *cbor, size_t len,
                         struct coffre_gate_decision *d)
{
    struct cbor_load_result res;
    cbor_item_t *map;
    unsigned seen = 0;
    int rc = COFFRE_ERR_PARSE;

    if (coffre_cbor_check(cbor, len) != 0) {
        return COFFRE_ERR_PARSE;
    }
    map = cbor_load(cbor, len, &res);
    if (map == NULL) {
        return res.error.code == CBOR_ERR_MEMERROR ? COFFRE_ERR_NOMEM
                                                   : COFFRE_ERR_PARSE;
    }
    if (res.error.code != CBOR_ERR_NONE || res.read != len ||
        !cbor_isa_map(map) || !cbor_map_is_definite(map)) {
        goto out;
    }
    for (size_t i = 0; i < cbor_map_size(map); i++) {
        rc = claims_one(&cbor_map_handle(map)[i], d, &seen);
        if (rc != COFFRE_OK) {
            rc = COFFRE_ERR_PARSE;
            goto out;
        }
    }
    rc = (seen & CLAIMS_REQUIRED) == CLAIMS_REQUIRED ? COFFRE_OK
                                                     : COFFRE_ERR_PARSE;
out:
    cbor_decref(&map);
    return rc;
}
