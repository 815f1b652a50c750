/* libFuzzer: signed-note parsing and verification, key string parsing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/note.h"
#include "coffre/coffre.h"

/* The golang.org/x/mod/sumdb/note test keys (see tests/audit/test_note.c),
 * so that seeds carrying their signatures reach the verification path. */
static const char *const vkeys[2] = {
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_keys(const uint8_t *data, size_t size)
{
    struct coffre_note_verifier v;
    struct coffre_note_signer *s = NULL;
    char *str = NULL, *copy;

    if (size > 4096 || (copy = malloc(size + 1)) == NULL) {
        return;
    }
    memcpy(copy, data, size);
    copy[size] = '\0';
    /* Whatever parses must format back to the very same string. */
    if (coffre_note_verifier_parse(copy, &v) == COFFRE_OK) {
        if (coffre_note_verifier_format(&v, &str) != COFFRE_OK ||
            strcmp(str, copy) != 0) {
            __builtin_trap();
        }
        coffre_free(str);
    }
    if (coffre_note_signer_parse(copy, &s) == COFFRE_OK) {
        if (coffre_note_signer_format(s, &str) != COFFRE_OK ||
            strcmp(str, copy) != 0) {
            __builtin_trap();
        }
        coffre_free(str);
        coffre_note_signer_free(s);
    }
    free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct coffre_note_verifier known[2];
    static int ready;
    struct coffre_note *n = NULL;

    if (!ready) {
        if (sodium_init() < 0 ||
            coffre_note_verifier_parse(vkeys[0], &known[0]) != COFFRE_OK ||
            coffre_note_verifier_parse(vkeys[1], &known[1]) != COFFRE_OK) {
            __builtin_trap();
        }
        ready = 1;
    }
    if (coffre_note_open((const char *)data, size, known, 2, &n) == COFFRE_OK) {
        /* The text is a prefix of the input, and something verified. */
        if (n->text_len >= size || memcmp(n->text, data, n->text_len) != 0 ||
            n->nverified == 0 || n->nverified > n->nsigs) {
            __builtin_trap();
        }
        coffre_note_free(n);
    }
    fuzz_keys(data, size);
    return 0;
}
