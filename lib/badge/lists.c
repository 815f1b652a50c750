/* Signed trust and revocation lists (docs/badge.md, "Lists"). */
#include <stdlib.h>
#include <string.h>

#include "badge/sign.h"
#include "coffre/gate.h"
#include "gate/gate_int.h"
#include "util/secmem.h"

/* Sign ${payload} as a list of content type ${ctype} into a new buffer. */
static int
list_seal(const struct coffre_badge_key *k, const char *ctype,
          const uint8_t *payload, size_t len, unsigned char **pout,
          size_t *plen)
{
    struct coffre_cbw w;
    uint8_t sig[64];
    unsigned char *out;

    out = coffre_pmem_alloc(len + 160);
    if (out == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    coffre_cbw_init(&w, out, len + 160);
    coffre_badge_sign1(k, ctype, payload, len, &w, sig);
    if (w.err) {
        coffre_pmem_free(out);
        return w.err;
    }
    *pout = out;
    *plen = w.len;
    return COFFRE_OK;
}

static void
list_head(struct coffre_cbw *w, uint64_t seq, int64_t iat)
{
    coffre_cbw_head(w, 5, 3);
    coffre_cbw_int(w, COFFRE_LIST_SEQ);
    coffre_cbw_head(w, 0, seq);
    coffre_cbw_int(w, COFFRE_LIST_IAT);
    coffre_cbw_int(w, iat);
    coffre_cbw_int(w, COFFRE_LIST_ITEMS);
}

int
coffre_badge_trust_list(const struct coffre_badge_trusted *keys, size_t n,
                        uint64_t seq, int64_t iat,
                        const struct coffre_badge_key *list_key,
                        unsigned char **pout, size_t *plen)
{
    uint8_t buf[COFFRE_TRUST_MAX_KEYS * 64 + 64];
    struct coffre_cbw w;

    if (n > COFFRE_TRUST_MAX_KEYS || (n > 0 && keys == NULL) || iat < 0 ||
        list_key == NULL) {
        return COFFRE_ERR_ARG;
    }
    coffre_cbw_init(&w, buf, sizeof(buf));
    list_head(&w, seq, iat);
    coffre_cbw_head(&w, 4, n);
    for (size_t i = 0; i < n; i++) {
        if (keys[i].not_before < 0 || keys[i].not_after < keys[i].not_before) {
            return COFFRE_ERR_ARG;
        }
        coffre_cbw_head(&w, 4, 3);
        coffre_cbw_bstr(&w, keys[i].pk, 32);
        coffre_cbw_int(&w, keys[i].not_before);
        coffre_cbw_int(&w, keys[i].not_after);
    }
    if (w.err) {
        return w.err;
    }
    return list_seal(list_key, COFFRE_LIST_CTYPE_TRUST, buf, w.len, pout, plen);
}

static int
id_cmp(const void *a, const void *b)
{
    return memcmp(a, b, COFFRE_BADGE_ID_LEN);
}

int
coffre_badge_revocation_list(const uint8_t *ids, size_t n, uint64_t seq,
                             int64_t iat,
                             const struct coffre_badge_key *list_key,
                             unsigned char **pout, size_t *plen)
{
    const size_t L = COFFRE_BADGE_ID_LEN;
    uint8_t *sorted, *buf = NULL;
    struct coffre_cbw w;
    size_t m = 0;
    int rc = COFFRE_ERR_NOMEM;

    if ((n > 0 && ids == NULL) || iat < 0 || list_key == NULL ||
        n > COFFRE_GATE_MAX_REVOCATIONS / L) {
        return COFFRE_ERR_ARG;
    }
    sorted = malloc(n * L + 1);
    if (sorted == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    if (n > 0) {
        memcpy(sorted, ids, n * L);
        qsort(sorted, n, L, id_cmp);
    }
    for (size_t i = 0; i < n; i++) {
        if (m == 0 || memcmp(sorted + (m - 1) * L, sorted + i * L, L) != 0) {
            memmove(sorted + m * L, sorted + i * L, L);
            m++;
        }
    }
    buf = malloc(m * L + 64);
    if (buf != NULL) {
        coffre_cbw_init(&w, buf, m * L + 64);
        list_head(&w, seq, iat);
        coffre_cbw_bstr(&w, sorted, m * L);
        rc = w.err ? w.err
                   : list_seal(list_key, COFFRE_LIST_CTYPE_REVOC, buf, w.len,
                               pout, plen);
    }
    free(buf);
    free(sorted);
    return rc;
}
