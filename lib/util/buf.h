/*
 * A growable byte buffer with a hard cap (curl's dynbuf). Its storage is
 * coffre_pmem memory: it may hold plaintext, and is wiped when freed.
 */
#ifndef COFFRE_UTIL_BUF_H
#define COFFRE_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

struct coffre_buf {
    unsigned char *p;
    size_t len;
    size_t cap;   /* allocated */
    size_t limit; /* hard cap on len */
};

/** coffre_buf_init(b, limit): an empty buffer that refuses to pass ${limit}. */
void coffre_buf_init(struct coffre_buf *b, size_t limit);
/** coffre_buf_reserve(b, n): room for ${n} more bytes, allocated now. */
int coffre_buf_reserve(struct coffre_buf *b, size_t n);
/** coffre_buf_add(b, p, n): append; COFFRE_ERR_TOOBIG past the limit. */
int coffre_buf_add(struct coffre_buf *b, const void *p, size_t n);
int coffre_buf_addc(struct coffre_buf *b, unsigned char c);
int coffre_buf_adds(struct coffre_buf *b, const char *s);
/** coffre_buf_addf(b, fmt, ...): append formatted text. */
int coffre_buf_addf(struct coffre_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** coffre_buf_add_varint(b, v): append ${v} as an LEB128 unsigned varint. */
int coffre_buf_add_varint(struct coffre_buf *b, uint64_t v);
/** coffre_buf_cstr(b): NUL-terminate (not counted in len) and return p. */
char *coffre_buf_cstr(struct coffre_buf *b);
/** coffre_buf_detach(b): hand the storage to the caller (coffre_pmem_free). */
unsigned char *coffre_buf_detach(struct coffre_buf *b, size_t *plen);
void coffre_buf_reset(struct coffre_buf *b);
void coffre_buf_free(struct coffre_buf *b);

#endif
