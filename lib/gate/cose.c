/* COSE_Sign1 (RFC 9052) parsing with libcbor, and a small CBOR writer. */
#include "gate/cose.h"

#include <string.h>

#include <cbor.h>

#include "coffre/coffre.h"
#include "gate/cbor_get.h"

void
coffre_cbw_init(struct coffre_cbw *w, uint8_t *p, size_t cap)
{
    w->p = p;
    w->len = 0;
    w->cap = cap;
    w->err = 0;
}

void
coffre_cbw_raw(struct coffre_cbw *w, const void *p, size_t n)
{
    if (w->err || n > w->cap - w->len) {
        w->err = COFFRE_ERR_TOOBIG;
        return;
    }
    if (n > 0) {
        memcpy(w->p + w->len, p, n);
    }
    w->len += n;
}

void
coffre_cbw_head(struct coffre_cbw *w, unsigned major, uint64_t v)
{
    uint8_t h[9];
    size_t n;

    /* Shortest form (RFC 8949 section 4.2.1): the encoding is deterministic
     * so that an independent encoder produces the same bytes. */
    if (v < 24) {
        h[0] = (uint8_t)(major << 5 | v);
        n = 1;
    } else if (v <= 0xff) {
        h[0] = (uint8_t)(major << 5 | 24);
        n = 2;
    } else if (v <= 0xffff) {
        h[0] = (uint8_t)(major << 5 | 25);
        n = 3;
    } else if (v <= 0xffffffffu) {
        h[0] = (uint8_t)(major << 5 | 26);
        n = 5;
    } else {
        h[0] = (uint8_t)(major << 5 | 27);
        n = 9;
    }
    for (size_t i = 1; i < n; i++) {
        h[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
    coffre_cbw_raw(w, h, n);
}

void
coffre_cbw_int(struct coffre_cbw *w, int64_t v)
{
    if (v >= 0) {
        coffre_cbw_head(w, 0, (uint64_t)v);
    } else {
        coffre_cbw_head(w, 1, (uint64_t)(-(v + 1)));
    }
}

void
coffre_cbw_bstr(struct coffre_cbw *w, const void *p, size_t n)
{
    coffre_cbw_head(w, 2, n);
    coffre_cbw_raw(w, p, n);
}

void
coffre_cbw_tstr(struct coffre_cbw *w, const char *s, size_t n)
{
    coffre_cbw_head(w, 3, n);
    coffre_cbw_raw(w, s, n);
}

void
coffre_cose_sig_structure(struct coffre_cbw *w, const uint8_t *prot,
                          size_t plen, const uint8_t *payload, size_t len)
{
    coffre_cbw_head(w, 4, 4);
    coffre_cbw_tstr(w, "Signature1", 10);
    coffre_cbw_bstr(w, prot, plen);
    coffre_cbw_bstr(w, NULL, 0);
    coffre_cbw_bstr(w, payload, len);
}

/* One label of the protected header map. */
static int
cose_header_label(struct coffre_cose_sign1 *s, const struct cbor_pair *kv,
                  unsigned *seen)
{
    int64_t label;

    if (coffre_cbor_int(kv->key, &label) != 0 || label < 1 || label > 4 ||
        label == 2 || (*seen & (1u << label))) {
        return COFFRE_ERR_PARSE;
    }
    *seen |= 1u << label;
    if (label == 1) {
        return coffre_cbor_int(kv->value, &s->alg) ? COFFRE_ERR_PARSE
                                                   : COFFRE_OK;
    }
    if (label == 4) {
        return coffre_cbor_bstr(kv->value, s->kid, sizeof(s->kid), &s->kid_len);
    }
    return coffre_cbor_tstr(kv->value, s->ctype, sizeof(s->ctype));
}

static int
cose_protected(struct coffre_cose_sign1 *s, cbor_item_t *bstr)
{
    struct cbor_load_result res;
    cbor_item_t *map = NULL;
    unsigned seen = 0;
    int rc;

    rc = coffre_cbor_bstr(bstr, s->prot, sizeof(s->prot), &s->prot_len);
    if (rc != COFFRE_OK) {
        return rc;
    }
    if (coffre_cbor_check(s->prot, s->prot_len) != 0) {
        return COFFRE_ERR_PARSE;
    }
    map = cbor_load(s->prot, s->prot_len, &res);
    rc = COFFRE_ERR_PARSE;
    if (map == NULL || res.error.code != CBOR_ERR_NONE ||
        res.read != s->prot_len || !cbor_isa_map(map) ||
        !cbor_map_is_definite(map)) {
        goto out;
    }
    for (size_t i = 0; i < cbor_map_size(map); i++) {
        rc = cose_header_label(s, &cbor_map_handle(map)[i], &seen);
        if (rc != COFFRE_OK) {
            goto out;
        }
    }
    /* alg and kid are mandatory: a gate never guesses either. */
    rc = (seen & 0x12u) == 0x12u ? COFFRE_OK : COFFRE_ERR_PARSE;
out:
    if (map != NULL) {
        cbor_decref(&map);
    }
    return rc;
}

static int
cose_parts(struct coffre_cose_sign1 *s, cbor_item_t *arr, uint8_t *pbuf,
           size_t pcap)
{
    cbor_item_t **v;
    size_t n;
    int rc;

    if (!cbor_isa_array(arr) || !cbor_array_is_definite(arr) ||
        cbor_array_size(arr) != 4) {
        return COFFRE_ERR_PARSE;
    }
    v = cbor_array_handle(arr);
    rc = cose_protected(s, v[0]);
    if (rc != COFFRE_OK) {
        return rc;
    }
    if (!cbor_isa_map(v[1]) || !cbor_map_is_definite(v[1]) ||
        cbor_map_size(v[1]) != 0) {
        return COFFRE_ERR_PARSE;
    }
    rc = coffre_cbor_bstr(v[2], pbuf, pcap, &s->payload_len);
    if (rc != COFFRE_OK) {
        return rc;
    }
    s->payload = pbuf;
    rc = coffre_cbor_bstr(v[3], s->sig, sizeof(s->sig), &n);
    if (rc == COFFRE_OK && n != COFFRE_COSE_SIG_LEN) {
        rc = COFFRE_ERR_PARSE;
    }
    return rc == COFFRE_ERR_TOOBIG ? COFFRE_ERR_PARSE : rc;
}

int
coffre_cose_sign1_parse(const uint8_t *in, size_t len,
                        struct coffre_cose_sign1 *s, uint8_t *pbuf, size_t pcap)
{
    struct cbor_load_result res;
    cbor_item_t *top, *arr;
    int rc = COFFRE_ERR_PARSE, tagged = 0;

    memset(s, 0, sizeof(*s));
    /* libcbor 0.8 refuses the one-byte heads of tags 6..20 ("unassigned")
     * and so 0xd2, tag 18: strip it here; the longer forms reach libcbor. */
    if (len > 0 && in[0] == 0xd2) {
        in++;
        len--;
        tagged = 1;
    }
    if (coffre_cbor_check(in, len) != 0) {
        return COFFRE_ERR_PARSE;
    }
    top = cbor_load(in, len, &res);
    if (top == NULL) {
        return res.error.code == CBOR_ERR_MEMERROR ? COFFRE_ERR_NOMEM
                                                   : COFFRE_ERR_PARSE;
    }
    if (res.error.code != CBOR_ERR_NONE || res.read != len) {
        goto out;
    }
    if (!cbor_isa_tag(top)) {
        rc = cose_parts(s, top, pbuf, pcap);
    } else if (tagged) {
        rc = COFFRE_ERR_PARSE; /* a tag inside tag 18 */
    } else if (cbor_tag_value(top) == 18) {
        arr = cbor_tag_item(top); /* a reference of our own */
        rc = cose_parts(s, arr, pbuf, pcap);
        cbor_decref(&arr);
    }
out:
    cbor_decref(&top);
    return rc;
}
