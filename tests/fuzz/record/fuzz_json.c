/* Person JSON: parse; what parses must serialise and parse back equal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/coffre.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct coffre_person *p = NULL, *q = NULL;
    struct coffre_diag d;
    char *a = NULL, *b = NULL;

    coffre_lib_init();
    if (coffre_person_from_json((const char *)data, size, &p, &d) !=
        COFFRE_OK) {
        return 0;
    }
    if (coffre_person_to_json(p, COFFRE_CLASSES_ALL, &a) != COFFRE_OK ||
        coffre_person_from_json(a, strlen(a), &q, &d) != COFFRE_OK ||
        coffre_person_to_json(q, COFFRE_CLASSES_ALL, &b) != COFFRE_OK ||
        strcmp(a, b) != 0) {
        abort();
    }
    coffre_free(a);
    coffre_free(b);
    coffre_person_free(p);
    coffre_person_free(q);
    return 0;
}
