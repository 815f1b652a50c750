/* Names: the blind-index folding (coffre_norm_name_dob) and the capitals
 * of badges and coffre-gate (coffre_name_upper, display name) on any
 * bytes. Outputs are UTF-8, folding a folded name changes nothing, a
 * display name fits 32 bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "badge/upper.h"
#include "coffre/badge.h"
#include "coffre/coffre.h"
#include "record/record.h"
#include "record/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_utf8(const unsigned char *p, size_t n)
{
    uint32_t c;

    for (size_t i = 0, k; i < n; i += k) {
        if ((k = coffre_rule_utf8_next(p + i, n - i, &c)) == 0) {
            abort();
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), shown[64], *again;
    struct coffre_buf a, b;

    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    coffre_buf_init(&a, 1u << 16);
    coffre_buf_init(&b, 1u << 16);
    if (coffre_norm_name_dob(s, "x", "1", &a) == COFFRE_OK) {
        check_utf8(a.p, a.len);
        again = strndup((const char *)a.p, a.len - 4); /* "\x1fx\x1f1" */
        if (again == NULL ||
            coffre_norm_name_dob(again, "x", "1", &b) != COFFRE_OK ||
            a.len != b.len || memcmp(a.p, b.p, a.len) != 0) {
            abort();
        }
        free(again);
    }
    if (coffre_badge_display_name(s, s, shown, sizeof(shown)) == COFFRE_OK) {
        if (strlen(shown) > 32) {
            abort();
        }
        check_utf8((const unsigned char *)shown, strlen(shown));
    }
    coffre_name_upper(s, size, shown, sizeof(shown), 0);
    check_utf8((const unsigned char *)shown, strlen(shown));
    coffre_buf_free(&a);
    coffre_buf_free(&b);
    free(s);
    return 0;
}
