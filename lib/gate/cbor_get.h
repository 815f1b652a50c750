/* Typed reads of libcbor items, with caps: the verifier's only accessors. */
#ifndef COFFRE_GATE_CBOR_GET_H
#define COFFRE_GATE_CBOR_GET_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

/**
 * coffre_cbor_check(p, len): 0 if ${p} holds exactly one well-formed CBOR
 * item of definite lengths, nested at most 8 deep, whose every declared
 * count fits in the bytes that remain; -1 otherwise. Run before cbor_load:
 * libcbor 0.8 allocates what a head declares before reading the items, so
 * a 5-byte head could ask for gigabytes.
 */
int coffre_cbor_check(const uint8_t *p, size_t len);

/** coffre_cbor_int(it, pv): an integer (major 0 or 1) fitting int64 into
 * *${pv}; 0 on success, -1 otherwise. */
int coffre_cbor_int(const cbor_item_t *it, int64_t *pv);

/**
 * coffre_cbor_bstr(it, out, cap, plen): copy a definite byte string into
 * ${out}. COFFRE_ERR_PARSE if ${it} is not one, COFFRE_ERR_TOOBIG if longer
 * than ${cap}.
 */
int coffre_cbor_bstr(const cbor_item_t *it, uint8_t *out, size_t cap,
                     size_t *plen);

/**
 * coffre_cbor_tstr(it, out, cap): copy a definite text string, NUL
 * terminated, into ${out}. COFFRE_ERR_PARSE if not one or if it holds a
 * control character (it may be shown on a gate's screen), COFFRE_ERR_TOOBIG
 * if it does not fit.
 */
int coffre_cbor_tstr(const cbor_item_t *it, char *out, size_t cap);

/** coffre_cbor_code(it, out, cap): a code that is a uint (written in
 * decimal) or a text string, as coffre_cbor_tstr(). */
int coffre_cbor_code(const cbor_item_t *it, char *out, size_t cap);

#endif
