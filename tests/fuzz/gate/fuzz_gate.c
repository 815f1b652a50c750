/*
 * The gate verifier from badge string to decision. The first byte picks
 * the path: even, the rest is the badge string as scanned; odd, the rest
 * is a claims map that gets signed with the trusted key and wrapped, so
 * that the claims parser behind the signature check is reached too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "badge/sign.h"
#include "badge_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct coffre_gate *gate;
static struct coffre_badge_key *badge_key;

static void
fuzz_init(void)
{
    struct coffre_badge_key *lk;

    if (sodium_init() < 0) {
        abort();
    }
    badge_key = fix_key(1);
    lk = fix_key(2);
    if (fix_gate(badge_key, lk, NULL, 0, FIX_NOW, &gate) != COFFRE_OK) {
        abort();
    }
    coffre_badge_key_free(lk);
}

static void
fuzz_claims(const uint8_t *p, size_t n, char *text, size_t cap)
{
    uint8_t cose[COFFRE_GATE_MAX_CBOR + 128], sig[64];
    struct coffre_cbw w;

    text[0] = '\0';
    coffre_cbw_init(&w, cose, sizeof(cose));
    coffre_badge_sign1(badge_key, NULL, p, n, &w, sig);
    if (w.err == 0) {
        /* The kid/ctype form of a badge: no content type, untagged. */
        (void)fix_wrap(cose, w.len, text, cap);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[3 * COFFRE_GATE_MAX_CBOR];
    struct coffre_gate_decision d;

    if (gate == NULL) {
        fuzz_init();
    }
    if (size == 0 || size > 8192) {
        return 0;
    }
    if (data[0] & 1) {
        fuzz_claims(data + 1, size - 1, text, sizeof(text));
        if (text[0] == '\0') {
            return 0;
        }
        (void)coffre_gate_verify(gate, text, strlen(text), FIX_NOW, "STF", "1",
                                 &d);
    } else {
        (void)coffre_gate_verify(gate, (const char *)data + 1, size - 1,
                                 FIX_NOW, "STF", "1", &d);
    }
    if (d.reason < 0 || d.reason >= COFFRE_GATE_REASON_COUNT) {
        abort();
    }
    return 0;
}
