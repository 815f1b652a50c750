/* libFuzzer: checkpoint note text parsing, strict and canonical. */
#include <stdint.h>
#include <string.h>

#include "audit/note.h"
#include "coffre/coffre.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct coffre_checkpoint c;
    char *text = NULL;
    size_t len;

    if (coffre_checkpoint_parse((const char *)data, size, &c) != COFFRE_OK) {
        return 0;
    }
    /* The parser accepts only the canonical form: formatting what it
     * parsed gives back the input byte for byte. */
    if (coffre_checkpoint_format(&c, &text, &len) != COFFRE_OK || len != size ||
        memcmp(text, data, size) != 0) {
        __builtin_trap();
    }
    coffre_free(text);
    coffre_checkpoint_clear(&c);
    return 0;
}
