/*
 * Memory for secrets.
 *
 * Keys: coffre_key_alloc() gives locked, guarded memory (sodium_malloc);
 * coffre_key_free() wipes it before releasing it.
 *
 * Plaintext (decrypted records, JSON of personal data): coffre_pmem_*() is a
 * malloc whose every free wipes the bytes first. It is cheap enough for one
 * allocation per field; the server additionally locks all its memory.
 *
 * Tests replace the release step with coffre_secmem_set_release_hook() to
 * check that every byte was zero when released.
 */
#ifndef COFFRE_UTIL_SECMEM_H
#define COFFRE_UTIL_SECMEM_H

#include <stddef.h>

/** coffre_key_alloc(len): ${len} bytes of locked memory, or NULL. */
void *coffre_key_alloc(size_t len);
/** coffre_key_free(p, len): wipe ${len} bytes at ${p} and release them. */
void coffre_key_free(void *p, size_t len);

/** coffre_pmem_alloc(len): ${len} bytes that will be wiped when freed. */
void *coffre_pmem_alloc(size_t len);
void *coffre_pmem_calloc(size_t n, size_t len);
/** coffre_pmem_realloc(p, len): like realloc, wiping the old block. */
void *coffre_pmem_realloc(void *p, size_t len);
char *coffre_pmem_strdup(const char *s);
char *coffre_pmem_strndup(const char *s, size_t n);
/** coffre_pmem_free(p): wipe and free a coffre_pmem block; NULL is a no-op. */
void coffre_pmem_free(void *p);

/*
 * Test hook: called with each block just before it is released, after the
 * library wiped it. NULL restores the default (no check).
 */
typedef void (*coffre_release_hook)(const void *p, size_t len, int is_key);
void coffre_secmem_set_release_hook(coffre_release_hook hook);

#endif
