/* libFuzzer target: the PIN file parser (docs/keys.md section 8.2) on
 * arbitrary bytes. A PIN that parses is 1 to 255 bytes of the input's
 * start, without a control character; anything over the cap is refused. */
#include <stdint.h>
#include <stdlib.h>

#include "coffre/coffre.h"
#include "crypto/p11.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = 12345;
    int rc = coffre_p11_pin_parse((const char *)data, size, &n);

    if (rc == COFFRE_OK) {
        if (n == 0 || n > COFFRE_P11_PIN_MAX || n > size) {
            abort();
        }
        for (size_t i = 0; i < n; i++) {
            if (data[i] < 0x20 || data[i] == 0x7f) {
                abort();
            }
        }
    } else if (n != 0 ||
               (size > COFFRE_P11_PIN_MAX + 2 && rc != COFFRE_ERR_TOOBIG)) {
        abort();
    }
    return 0;
}
