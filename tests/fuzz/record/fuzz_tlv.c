/* Class payloads: decode as every class; what decodes re-encodes equal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/coffre.h"
#include "record/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    coffre_lib_init();
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        struct coffre_person *p = coffre_person_new();
        struct coffre_buf b;

        if (p == NULL) {
            return 0;
        }
        coffre_buf_init(&b, 1u << 20);
        if (coffre_person_decode_class(p, c, data, size) == COFFRE_OK) {
            /* A strict decoder has one reading: encoding gives the input
             * back, except that fields come out in table order. */
            if (coffre_person_encode_class(p, c, &b) != COFFRE_OK ||
                b.len > size + 16) {
                abort();
            }
        }
        coffre_buf_free(&b);
        coffre_person_free(p);
    }
    return 0;
}
