/* Trust and revocation lists as a gate reads them from disk or network:
 * the first byte picks which; the verifier must never crash. */
#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

#include "badge_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct coffre_gate *gate;
    static uint8_t pk[32];
    uint64_t seq;
    int64_t iat;

    if (gate == NULL) {
        struct coffre_badge_key *lk;
        if (sodium_init() < 0 || (lk = fix_key(2)) == NULL) {
            abort();
        }
        coffre_badge_key_public(lk, pk, NULL);
        coffre_badge_key_free(lk);
        if (coffre_gate_new(pk, &gate) != COFFRE_OK) {
            abort();
        }
    }
    if (size == 0) {
        return 0;
    }
    (void)coffre_gate_list_info(pk, data + 1, size - 1, data[0] & 1, &seq,
                                &iat);
    if (data[0] & 1) {
        (void)coffre_gate_load_revocations(gate, data + 1, size - 1);
    } else {
        (void)coffre_gate_load_trust(gate, data + 1, size - 1);
    }
    return 0;
}
