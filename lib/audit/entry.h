/*
 * Canonical audit entries (docs/audit.md section 8) and the record framing
 * of the log files (section 9). The public functions are declared in
 * include/coffre/audit.h; these are the internal helpers log.c shares.
 */
#ifndef COFFRE_AUDIT_ENTRY_H
#define COFFRE_AUDIT_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/audit.h"

/* Framing around each payload: 4-byte length before, leaf hash after. */
#define AUDIT_FRAME_HEAD 4
#define AUDIT_FRAME_TAIL COFFRE_AUDIT_HASH_LEN
#define AUDIT_FRAME_OVERHEAD (AUDIT_FRAME_HEAD + AUDIT_FRAME_TAIL)

/** audit_utf8_len(s, len): 1 if the ${len} bytes at ${s} are UTF-8 with no
 * control character (C0, DEL), else 0. */
int audit_text_valid(const unsigned char *s, size_t len);

/** audit_frame(payload, len, leaf, out): write the framed record (len +
 * AUDIT_FRAME_OVERHEAD bytes) to ${out}, the trailer being ${leaf}. */
void audit_frame(const unsigned char *payload, size_t len,
                 const unsigned char leaf[COFFRE_AUDIT_HASH_LEN],
                 unsigned char *out);

/** audit_be32(p) / audit_put_be32(p, v): big-endian helpers. */
uint32_t audit_be32(const unsigned char *p);
void audit_put_be32(unsigned char *p, uint32_t v);

#endif
