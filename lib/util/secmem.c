#include "util/secmem.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static coffre_release_hook release_hook;

void
coffre_secmem_set_release_hook(coffre_release_hook hook)
{
    release_hook = hook;
}

void *
coffre_key_alloc(size_t len)
{
    void *p = sodium_malloc(len);
    if (p != NULL) {
        sodium_memzero(p, len);
    }
    return p;
}

void
coffre_key_free(void *p, size_t len)
{
    if (p == NULL) {
        return;
    }
    sodium_memzero(p, len);
    if (release_hook != NULL) {
        release_hook(p, len, 1);
    }
    sodium_free(p);
}

/*
 * A plaintext block carries its size in a header so that free can wipe it
 * without the caller knowing the size. The header is 16 bytes to keep the
 * alignment malloc gives.
 */
#define PMEM_HDR 16u

void *
coffre_pmem_alloc(size_t len)
{
    unsigned char *b;

    if (len > SIZE_MAX - PMEM_HDR) {
        errno = ENOMEM;
        return NULL;
    }
    b = malloc(PMEM_HDR + len);
    if (b == NULL) {
        return NULL;
    }
    memcpy(b, &len, sizeof(len));
    return b + PMEM_HDR;
}

void *
coffre_pmem_calloc(size_t n, size_t len)
{
    void *p;

    if (len != 0 && n > SIZE_MAX / len) {
        errno = ENOMEM;
        return NULL;
    }
    p = coffre_pmem_alloc(n * len);
    if (p != NULL) {
        memset(p, 0, n * len);
    }
    return p;
}

static size_t
pmem_size(const void *p)
{
    size_t len;

    memcpy(&len, (const unsigned char *)p - PMEM_HDR, sizeof(len));
    return len;
}

void
coffre_pmem_free(void *p)
{
    size_t len;

    if (p == NULL) {
        return;
    }
    len = pmem_size(p);
    sodium_memzero(p, len);
    if (release_hook != NULL) {
        release_hook(p, len, 0);
    }
    free((unsigned char *)p - PMEM_HDR);
}

void *
coffre_pmem_realloc(void *p, size_t len)
{
    void *q;
    size_t old;

    if (p == NULL) {
        return coffre_pmem_alloc(len);
    }
    old = pmem_size(p);
    q = coffre_pmem_alloc(len);
    if (q == NULL) {
        return NULL;
    }
    memcpy(q, p, old < len ? old : len);
    coffre_pmem_free(p);
    return q;
}

char *
coffre_pmem_strndup(const char *s, size_t n)
{
    char *d;

    if (n == SIZE_MAX) {
        return NULL;
    }
    d = coffre_pmem_alloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *
coffre_pmem_strdup(const char *s)
{
    return coffre_pmem_strndup(s, strlen(s));
}
