/*
 * Base45 (RFC 9285): two bytes become three characters of the QR
 * alphanumeric set, a trailing byte becomes two. Decoding is strict.
 */
#ifndef COFFRE_GATE_BASE45_H
#define COFFRE_GATE_BASE45_H

#include <stddef.h>
#include <stdint.h>

/** coffre_base45_encoded_len(n): characters needed for ${n} bytes. */
size_t coffre_base45_encoded_len(size_t n);

/**
 * coffre_base45_encode(in, n, out, cap): write the Base45 text of ${in}
 * (not NUL-terminated) to ${out}; returns its length, or 0 if ${cap} is too
 * small (and ${n} is not 0).
 */
size_t coffre_base45_encode(const uint8_t *in, size_t n, char *out, size_t cap);

/**
 * coffre_base45_decode(in, n, out, cap, plen): decode ${n} characters into
 * ${out}; the byte count in *${plen}. COFFRE_ERR_PARSE for a character
 * outside the alphabet, a group over 65535 (or over 255 for a final pair)
 * or a length of 3k+1; COFFRE_ERR_TOOBIG when ${cap} is too small.
 */
int coffre_base45_decode(const char *in, size_t n, uint8_t *out, size_t cap,
                         size_t *plen);

#endif
