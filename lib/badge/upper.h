/* Names in capitals for display, shared by the badge issuer (name.c) and
 * coffre-gate (src/gate/verify.c), so that both show one spelling. */
#ifndef COFFRE_BADGE_UPPER_H
#define COFFRE_BADGE_UPPER_H

#include <stddef.h>

/* The longest input looked at, in bytes (a display name is 32 bytes). */
#define COFFRE_UPPER_MAX_IN 256

/*
 * coffre_name_upper(in, len, out, cap, max_clusters): the first ${len}
 * bytes of ${in} in NFC with each code point upper-cased (utf8proc's
 * simple mapping: ß stays ß, i gives I), at most ${max_clusters} grapheme
 * clusters (0: all), cut at a cluster boundary so that it fits in ${cap}
 * bytes with its NUL. Returns the bytes written (0 if nothing fits or
 * ${in} is not UTF-8; ${out} is then "").
 */
size_t coffre_name_upper(const char *in, size_t len, char *out, size_t cap,
                         size_t max_clusters);

#endif
