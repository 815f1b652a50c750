#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "coffre/coffre.h"
#include "util/secmem.h"

void
coffre_buf_init(struct coffre_buf *b, size_t limit)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

static int
buf_reserve(struct coffre_buf *b, size_t n)
{
    size_t want, ncap;
    unsigned char *np;

    if (n > b->limit || b->len > b->limit - n) {
        return COFFRE_ERR_TOOBIG;
    }
    want = b->len + n + 1; /* room for a terminating NUL */
    if (want <= b->cap) {
        return COFFRE_OK;
    }
    ncap = b->cap != 0 ? b->cap : 64;
    while (ncap < want) {
        ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
    }
    np = coffre_pmem_realloc(b->p, ncap);
    if (np == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    b->p = np;
    b->cap = ncap;
    return COFFRE_OK;
}

int
coffre_buf_reserve(struct coffre_buf *b, size_t n)
{
    return buf_reserve(b, n);
}

int
coffre_buf_add(struct coffre_buf *b, const void *p, size_t n)
{
    int rc = buf_reserve(b, n);

    if (rc != COFFRE_OK) {
        return rc;
    }
    if (n != 0) {
        memcpy(b->p + b->len, p, n);
    }
    b->len += n;
    return COFFRE_OK;
}

int
coffre_buf_addc(struct coffre_buf *b, unsigned char c)
{
    return coffre_buf_add(b, &c, 1);
}

int
coffre_buf_adds(struct coffre_buf *b, const char *s)
{
    return coffre_buf_add(b, s, strlen(s));
}

int
coffre_buf_addf(struct coffre_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return COFFRE_ERR_ARG;
    }
    rc = buf_reserve(b, (size_t)n);
    if (rc != COFFRE_OK) {
        return rc;
    }
    va_start(ap, fmt);
    vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return COFFRE_OK;
}

int
coffre_buf_add_varint(struct coffre_buf *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;

    do {
        tmp[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v != 0) {
            tmp[n] |= 0x80;
        }
        n++;
    } while (v != 0);
    return coffre_buf_add(b, tmp, n);
}

char *
coffre_buf_cstr(struct coffre_buf *b)
{
    if (buf_reserve(b, 0) != COFFRE_OK) {
        return NULL;
    }
    b->p[b->len] = '\0';
    return (char *)b->p;
}

unsigned char *
coffre_buf_detach(struct coffre_buf *b, size_t *plen)
{
    unsigned char *p = b->p;

    if (plen != NULL) {
        *plen = b->len;
    }
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

void
coffre_buf_reset(struct coffre_buf *b)
{
    if (b->p != NULL) {
        memset(b->p, 0, b->len);
    }
    b->len = 0;
}

void
coffre_buf_free(struct coffre_buf *b)
{
    coffre_pmem_free(b->p);
    coffre_buf_init(b, b->limit);
}
