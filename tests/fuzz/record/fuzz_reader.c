/* A person reader over a memory FILE: every record, never a crash. Built
 * twice (meson.build): FUZZ_FORMAT is COFFRE_FORMAT_CSV for fuzz_csv and
 * COFFRE_FORMAT_JSONL for fuzz_jsonl. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "coffre/coffre.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct coffre_reader *r = NULL;
    struct coffre_person *p;
    struct coffre_diag d;
    FILE *f;
    int rc, n = 0;

    coffre_lib_init();
    if (size == 0 || (f = fmemopen((void *)data, size, "r")) == NULL) {
        return 0;
    }
    if (coffre_reader_open(f, FUZZ_FORMAT, &r) == COFFRE_OK) {
        while ((rc = coffre_reader_next(r, &p, &d)) != COFFRE_ERR_IO) {
            if (rc == COFFRE_OK && p == NULL) {
                break;
            }
            coffre_person_free(p);
            if (++n > 100000) {
                abort(); /* the reader must make progress */
            }
        }
        if (coffre_reader_offset(r) > size) {
            abort();
        }
        coffre_reader_free(r);
    }
    fclose(f);
    return 0;
}
