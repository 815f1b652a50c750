/* libFuzzer target: the share text parser on arbitrary bytes. A share that
 * parses must have consistent numbers and yield a commitment; one share
 * alone never reaches a threshold of at least 2. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "coffre/coffre.h"
#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct coffre_share s;
    struct coffre_key *k = NULL;
    unsigned char c[32];
    const char *why = NULL;
    char *text;
    int rc;

    if (sodium_init() < 0) {
        abort();
    }
    text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    rc = coffre_share_parse_ex(text, &s, &why);
    if (rc == COFFRE_OK) {
        if (s.threshold < 2 || s.threshold > s.count || s.index < 1 ||
            s.index > s.count || s.len != 32 || s.bytes == NULL) {
            abort();
        }
        coffre_share_commitment(&s, c);
        if (coffre_shamir_combine(&s, 1, &k) != COFFRE_ERR_THRESHOLD ||
            k != NULL) {
            abort();
        }
        coffre_share_clear(&s);
    } else if (why == NULL || s.bytes != NULL) {
        abort();
    }
    free(text);
    return 0;
}
