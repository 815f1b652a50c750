/*
 * libFuzzer: coffre_audit_entry_parse, the strict decoder of canonical
 * audit entries (docs/audit.md section 8), which the auditor's tool runs
 * on bytes fetched from a server it does not trust. Whatever parses must
 * encode back to the same bytes (one encoding per entry).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct coffre_audit_entry e;
    unsigned char out[COFFRE_AUDIT_ENTRY_MAX];
    size_t len = 0;
    if (coffre_audit_entry_parse(data, size, &e) != COFFRE_OK) {
        return 0;
    }
    if (coffre_audit_entry_encode(&e, out, sizeof(out), &len) != COFFRE_OK ||
        len != size || memcmp(out, data, size) != 0) {
        abort();
    }
    return 0;
}
