/* Typed, capped reads of libcbor items. */
#include "gate/cbor_get.h"

#include <stdio.h>
#include <string.h>

#include "coffre/coffre.h"

int
coffre_cbor_int(const cbor_item_t *it, int64_t *pv)
{
    uint64_t v;

    if (!cbor_isa_uint(it) && !cbor_isa_negint(it)) {
        return -1;
    }
    v = cbor_get_int(it);
    if (v > (uint64_t)INT64_MAX) {
        return -1;
    }
    *pv = cbor_isa_uint(it) ? (int64_t)v : -1 - (int64_t)v;
    return 0;
}

int
coffre_cbor_bstr(const cbor_item_t *it, uint8_t *out, size_t cap, size_t *plen)
{
    size_t n;

    if (!cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it)) {
        return COFFRE_ERR_PARSE;
    }
    n = cbor_bytestring_length(it);
    if (n > cap) {
        return COFFRE_ERR_TOOBIG;
    }
    if (n > 0) {
        memcpy(out, cbor_bytestring_handle(it), n);
    }
    *plen = n;
    return COFFRE_OK;
}

int
coffre_cbor_tstr(const cbor_item_t *it, char *out, size_t cap)
{
    const unsigned char *p;
    size_t n;

    if (!cbor_isa_string(it) || !cbor_string_is_definite(it)) {
        return COFFRE_ERR_PARSE;
    }
    n = cbor_string_length(it);
    if (n >= cap) {
        return COFFRE_ERR_TOOBIG;
    }
    p = cbor_string_handle(it);
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            return COFFRE_ERR_PARSE;
        }
    }
    if (n > 0) {
        memcpy(out, p, n);
    }
    out[n] = '\0';
    return COFFRE_OK;
}

int
coffre_cbor_code(const cbor_item_t *it, char *out, size_t cap)
{
    int64_t v;
    int n;

    if (coffre_cbor_int(it, &v) != 0) {
        return coffre_cbor_tstr(it, out, cap);
    }
    if (v < 0) {
        return COFFRE_ERR_PARSE;
    }
    n = snprintf(out, cap, "%lld", (long long)v);
    return n < 0 || (size_t)n >= cap ? COFFRE_ERR_TOOBIG : COFFRE_OK;
}
