/* Typed, capped reads of libcbor items. */
#include "gate/cbor_get.h"

#include <stdio.h>
#include <string.h>

#include "coffre/coffre.h"

#define CBOR_MAX_DEPTH 8

/* Read one head at *${pos}: major type and argument. */
static int
cbor_head(const uint8_t *p, size_t len, size_t *pos, unsigned *pmajor,
          uint64_t *parg)
{
    unsigned ai;
    size_t n;

    if (*pos >= len) {
        return -1;
    }
    *pmajor = p[*pos] >> 5;
    ai = p[*pos] & 31u;
    (*pos)++;
    if (ai < 24) {
        *parg = ai;
        return 0;
    }
    if (ai > 27) {
        return -1; /* indefinite lengths and reserved values */
    }
    n = (size_t)1 << (ai - 24);
    if (n > len - *pos) {
        return -1;
    }
    *parg = 0;
    for (size_t i = 0; i < n; i++) {
        *parg = *parg << 8 | p[*pos + i];
    }
    *pos += n;
    return 0;
}

static int
cbor_item_check(const uint8_t *p, size_t len, size_t *pos, int depth)
{
    unsigned major;
    uint64_t arg, items;

    if (depth > CBOR_MAX_DEPTH || cbor_head(p, len, pos, &major, &arg) != 0) {
        return -1;
    }
    switch (major) {
    case 2:
    case 3:
        if (arg > len - *pos) {
            return -1;
        }
        *pos += (size_t)arg;
        return 0;
    case 4:
    case 5:
        /* Each item takes at least one byte. */
        if (arg > (len - *pos) / (major == 5 ? 2 : 1)) {
            return -1;
        }
        items = major == 5 ? arg * 2 : arg;
        for (uint64_t i = 0; i < items; i++) {
            if (cbor_item_check(p, len, pos, depth + 1) != 0) {
                return -1;
            }
        }
        return 0;
    case 6:
        return cbor_item_check(p, len, pos, depth + 1);
    case 7:
        return arg <= 23 || arg >= 25 ? 0 : -1; /* simple(24) not used */
    default:
        return 0;
    }
}

int
coffre_cbor_check(const uint8_t *p, size_t len)
{
    size_t pos = 0;

    if (cbor_item_check(p, len, &pos, 0) != 0 || pos != len) {
        return -1;
    }
    return 0;
}

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
