/* Fuzz the sealed-bundle reader (lib/vault/bundle.c): header parsing,
 * addressing, then chunk by chunk, on a development vault made once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "coffre/migrate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct coffre_vault *
vault(void)
{
    static struct coffre_vault *v;
    static char dir[] = "/tmp/coffre-fuzz-bundle-XXXXXX";

    if (v == NULL) {
        coffre_lib_init();
        if (mkdtemp(dir) == NULL ||
            coffre_vault_open_dev(dir, &v) != COFFRE_OK) {
            abort();
        }
    }
    return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct coffre_bundle *b = NULL;
    struct coffre_person *p = NULL;
    FILE *f;

    if (size == 0) {
        return 0;
    }
    f = fmemopen((void *)(uintptr_t)data, size, "rb");
    if (f == NULL) {
        return 0;
    }
    if (coffre_bundle_open(vault(), f, &b) == COFFRE_OK) {
        for (int i = 0; i < 1000; i++) {
            if (coffre_bundle_next(b, &p) != COFFRE_OK || p == NULL) {
                break;
            }
            coffre_person_free(p);
            p = NULL;
        }
    }
    coffre_bundle_close(b); /* set even on failure, for its message */
    fclose(f);
    return 0;
}
