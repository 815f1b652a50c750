/* libFuzzer target: opening arbitrary strings as pseudonyms. Whatever
 * opens must be exactly what coffre_pseudonym_make gives for that id. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "coffre/coffre.h"
#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char fixed_key[COFFRE_KEY_LEN] =
    "fuzz-audience-key-0123456789abc";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct coffre_key *k;
    char *text, again[44];
    uint64_t id;

    if (k == NULL) {
        if (sodium_init() < 0 || (k = coffre_key_from(fixed_key)) == NULL) {
            abort();
        }
    }
    text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    if (coffre_pseudonym_open(k, text, &id) == COFFRE_OK) {
        coffre_pseudonym_make(k, id, again);
        if (strcmp(again, text) != 0) {
            abort();
        }
    }
    free(text);
    return 0;
}
