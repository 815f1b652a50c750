/* libFuzzer target: opening arbitrary strings as listing cursors (the
 * cursor argument of every list). Whatever opens must have the cursor's
 * form, and must not open as a pseudonym: the seed (corpus/fuzz_cursor)
 * is a cursor of position 42 under this key and AD. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "coffre/coffre.h"
#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char fixed_key[COFFRE_KEY_LEN] =
    "fuzz-cursor-key-0123456789abcde";
static const unsigned char vault_id[16];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct coffre_key *k;
    static unsigned char ad[COFFRE_AD_MAX];
    static size_t adlen;
    uint64_t after = 0, id = 0;
    char *text;

    if (k == NULL) {
        if (sodium_init() < 0 || (k = coffre_key_from(fixed_key)) == NULL) {
            abort();
        }
        adlen = coffre_ad_cursor(ad, vault_id, "platform",
                                 (const unsigned char *)"persons", 7);
    }
    text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    if (coffre_cursor_open(k, ad, adlen, text, &after) == COFFRE_OK) {
        if (strlen(text) != COFFRE_CURSOR_CHARS ||
            memcmp(text, "c1.", 3) != 0 ||
            coffre_pseudonym_open(k, text, &id) == COFFRE_OK) {
            abort();
        }
    }
    free(text);
    return 0;
}
