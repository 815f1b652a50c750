/* Names in capitals for display (upper.h), through utf8proc. */
#include <sodium.h>
#include <string.h>
#include <utf8proc.h>

#include "badge/upper.h"

size_t
coffre_name_upper(const char *in, size_t len, char *out, size_t cap,
                  size_t max_clusters)
{
    utf8proc_int32_t cp[2 * COFFRE_UPPER_MAX_IN];
    utf8proc_uint8_t b[4];
    utf8proc_ssize_t n;
    size_t o = 0, clusters = 0, cluster_start = 0;
    int32_t prev = -1;
    int state = 0;

    if (cap == 0) {
        return 0;
    }
    out[0] = '\0';
    /* Only the head can be shown: cut it at a code point boundary. */
    if (len > COFFRE_UPPER_MAX_IN) {
        len = COFFRE_UPPER_MAX_IN;
        while (len > 0 && ((unsigned char)in[len] & 0xc0) == 0x80) {
            len--;
        }
    }
    n = utf8proc_decompose((const utf8proc_uint8_t *)in, (utf8proc_ssize_t)len,
                           cp, 2 * COFFRE_UPPER_MAX_IN, UTF8PROC_COMPOSE);
    if (n < 0 || n > 2 * COFFRE_UPPER_MAX_IN) {
        return 0;
    }
    n = utf8proc_normalize_utf32(cp, n, UTF8PROC_COMPOSE);
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        if (prev < 0 || utf8proc_grapheme_break_stateful(prev, cp[i], &state)) {
            if (max_clusters > 0 && clusters == max_clusters) {
                break;
            }
            clusters++;
            cluster_start = o;
        }
        prev = cp[i];
        utf8proc_ssize_t k = utf8proc_encode_char(utf8proc_toupper(cp[i]), b);
        if (k <= 0 || o + (size_t)k + 1 > cap) {
            o = cluster_start; /* no half cluster */
            break;
        }
        memcpy(out + o, b, (size_t)k);
        o += (size_t)k;
    }
    out[o] = '\0';
    sodium_memzero(cp, sizeof(cp));
    return o;
}
