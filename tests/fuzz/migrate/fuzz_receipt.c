/* Fuzz the erasure receipt check (a signed note parser and the receipt
 * header test) against a fixed verifier key. */
#include <stdint.h>
#include <stdlib.h>

#include "coffre/migrate.h"

/* Any valid Ed25519 verifier key string will do: signatures by other keys
 * are ignored, so the parser is what runs. */
#define VKEY                                                                   \
    "coffre-receipt-0+9dfd3a3e+AXlIfAlpbX1zXdQ2yMfUaWH4O7dB2iRqDMZqqXvRE2jl"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = NULL;
    char *msg = malloc(size + 1);

    if (msg == NULL) {
        return 0;
    }
    coffre_lib_init();
    for (size_t i = 0; i < size; i++) {
        msg[i] = (char)data[i];
    }
    msg[size] = '\0';
    if (coffre_receipt_verify(VKEY, msg, size, &text) == COFFRE_OK) {
        coffre_free(text);
    }
    free(msg);
    return 0;
}
