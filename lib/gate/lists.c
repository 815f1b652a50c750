/* Signed trust and revocation lists (docs/badge.md, "Lists"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <sodium.h>

#include "gate/cbor_get.h"
#include "gate/cose.h"
#include "gate/gate_ctx.h"

/*
 * Check that ${buf} is a COSE_Sign1 of content type ${ctype} signed by
 * ${list_pk}; its payload in *${pp} (malloc, caller frees).
 */
static int
list_open(const uint8_t list_pk[32], const uint8_t *buf, size_t len,
          const char *ctype, uint8_t **pp, size_t *plen)
{
    struct coffre_cose_sign1 s;
    struct coffre_cbw w;
    uint8_t kid[COFFRE_BADGE_KID_LEN], *payload, *tbs = NULL;
    int rc;

    *pp = NULL;
    payload = malloc(len + 1);
    if (payload == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    rc = coffre_cose_sign1_parse(buf, len, &s, payload, len);
    if (rc != COFFRE_OK) {
        goto out;
    }
    coffre_gate_kid(list_pk, kid);
    rc = COFFRE_ERR_PARSE;
    if (s.alg != COFFRE_COSE_ALG_EDDSA || strcmp(s.ctype, ctype) != 0) {
        goto out;
    }
    rc = COFFRE_ERR_CRYPTO;
    if (s.kid_len != sizeof(kid) || memcmp(s.kid, kid, sizeof(kid)) != 0) {
        goto out;
    }
    rc = COFFRE_ERR_NOMEM;
    tbs = malloc(s.payload_len + 128);
    if (tbs == NULL) {
        goto out;
    }
    coffre_cbw_init(&w, tbs, s.payload_len + 128);
    coffre_cose_sig_structure(&w, s.prot, s.prot_len, payload, s.payload_len);
    rc = COFFRE_ERR_CRYPTO;
    if (w.err == 0 &&
        crypto_sign_verify_detached(s.sig, tbs, w.len, list_pk) == 0) {
        *pp = payload;
        *plen = s.payload_len;
        payload = NULL;
        rc = COFFRE_OK;
    }
out:
    free(tbs);
    free(payload);
    return rc;
}

/* The common head of both lists: {1: seq, 2: iat, 3: items}. */
static int
list_head(const cbor_item_t *map, uint64_t *pseq, int64_t *piat,
          cbor_item_t **pitems)
{
    int64_t v[3] = {-1, -1, 0};
    cbor_item_t *items = NULL;

    if (!cbor_isa_map(map) || !cbor_map_is_definite(map) ||
        cbor_map_size(map) != 3) {
        return COFFRE_ERR_PARSE;
    }
    for (size_t i = 0; i < 3; i++) {
        struct cbor_pair *kv = &cbor_map_handle(map)[i];
        int64_t key;
        if (coffre_cbor_int(kv->key, &key) != 0 || key != (int64_t)i + 1) {
            return COFFRE_ERR_PARSE; /* keys in order, as encoded */
        }
        if (key == COFFRE_LIST_ITEMS) {
            items = kv->value;
        } else if (coffre_cbor_int(kv->value, &v[i]) != 0 || v[i] < 0) {
            return COFFRE_ERR_PARSE;
        }
    }
    *pseq = (uint64_t)v[0];
    *piat = v[1];
    *pitems = items;
    return COFFRE_OK;
}

static int
trust_entry(const cbor_item_t *e, struct coffre_gate_key *k)
{
    int64_t nb, na;
    size_t n;
    cbor_item_t **v;

    if (!cbor_isa_array(e) || !cbor_array_is_definite(e) ||
        cbor_array_size(e) != 3) {
        return COFFRE_ERR_PARSE;
    }
    v = cbor_array_handle(e);
    if (coffre_cbor_bstr(v[0], k->pk, sizeof(k->pk), &n) != COFFRE_OK ||
        n != sizeof(k->pk) || coffre_cbor_int(v[1], &nb) != 0 ||
        coffre_cbor_int(v[2], &na) != 0 || nb < 0 || na < nb) {
        return COFFRE_ERR_PARSE;
    }
    k->not_before = nb;
    k->not_after = na;
    coffre_gate_kid(k->pk, k->kid);
    return COFFRE_OK;
}

static int
trust_parse(const uint8_t *p, size_t len, uint64_t *pseq, int64_t *piat,
            struct coffre_gate_key *keys, size_t *pn)
{
    struct cbor_load_result res;
    cbor_item_t *map, *items;
    int rc = COFFRE_ERR_PARSE;

    if (coffre_cbor_check(p, len) != 0 ||
        (map = cbor_load(p, len, &res)) == NULL) {
        return COFFRE_ERR_PARSE;
    }
    if (res.read != len || list_head(map, pseq, piat, &items) != COFFRE_OK ||
        !cbor_isa_array(items) || !cbor_array_is_definite(items) ||
        cbor_array_size(items) > COFFRE_TRUST_MAX_KEYS) {
        goto out;
    }
    *pn = cbor_array_size(items);
    for (size_t i = 0; i < *pn; i++) {
        rc = trust_entry(cbor_array_handle(items)[i], &keys[i]);
        if (rc != COFFRE_OK) {
            goto out;
        }
    }
    rc = COFFRE_OK;
out:
    cbor_decref(&map);
    return rc;
}

static int
revoc_parse(const uint8_t *p, size_t len, uint64_t *pseq, int64_t *piat,
            uint8_t **pids, size_t *pn)
{
    struct cbor_load_result res;
    cbor_item_t *map, *items;
    size_t n;
    int rc = COFFRE_ERR_PARSE;

    *pids = NULL;
    if (coffre_cbor_check(p, len) != 0 ||
        (map = cbor_load(p, len, &res)) == NULL) {
        return COFFRE_ERR_PARSE;
    }
    if (res.read != len || list_head(map, pseq, piat, &items) != COFFRE_OK ||
        !cbor_isa_bytestring(items) || !cbor_bytestring_is_definite(items)) {
        goto out;
    }
    n = cbor_bytestring_length(items);
    if (n % COFFRE_GATE_ID_LEN != 0) {
        goto out;
    }
    /* Strictly ascending: the gate can binary-search the bytes as sent. */
    for (size_t i = COFFRE_GATE_ID_LEN; i < n; i += COFFRE_GATE_ID_LEN) {
        const uint8_t *ids = cbor_bytestring_handle(items);
        if (memcmp(ids + i - COFFRE_GATE_ID_LEN, ids + i, COFFRE_GATE_ID_LEN) >=
            0) {
            goto out;
        }
    }
    rc = COFFRE_ERR_NOMEM;
    *pids = malloc(n + 1);
    if (*pids != NULL) {
        if (n > 0) {
            memcpy(*pids, cbor_bytestring_handle(items), n);
        }
        *pn = n / COFFRE_GATE_ID_LEN;
        rc = COFFRE_OK;
    }
out:
    cbor_decref(&map);
    return rc;
}

int
coffre_gate_list_info(const uint8_t list_pk[32], const uint8_t *buf, size_t len,
                      int revocations, uint64_t *pseq, int64_t *piat)
{
    struct coffre_gate_key *keys = NULL;
    uint8_t *p = NULL, *ids = NULL;
    size_t plen, n;
    int rc;

    if (len >
        (revocations ? COFFRE_GATE_MAX_REVOCATIONS : COFFRE_GATE_MAX_TRUST)) {
        return COFFRE_ERR_TOOBIG;
    }
    rc = list_open(list_pk, buf, len,
                   revocations ? COFFRE_LIST_CTYPE_REVOC
                               : COFFRE_LIST_CTYPE_TRUST,
                   &p, &plen);
    if (rc != COFFRE_OK) {
        return rc;
    }
    if (revocations) {
        rc = revoc_parse(p, plen, pseq, piat, &ids, &n);
    } else if ((keys = calloc(COFFRE_TRUST_MAX_KEYS, sizeof(*keys))) == NULL) {
        rc = COFFRE_ERR_NOMEM;
    } else {
        rc = trust_parse(p, plen, pseq, piat, keys, &n);
    }
    free(keys);
    free(ids);
    free(p);
    return rc;
}

int
coffre_gate_load_trust(struct coffre_gate *g, const uint8_t *buf, size_t len)
{
    struct coffre_gate_key keys[COFFRE_TRUST_MAX_KEYS];
    uint8_t *p;
    size_t plen, n = 0;
    uint64_t seq;
    int64_t iat;
    int rc;

    if (len > COFFRE_GATE_MAX_TRUST) {
        return COFFRE_ERR_TOOBIG;
    }
    rc = list_open(g->list_pk, buf, len, COFFRE_LIST_CTYPE_TRUST, &p, &plen);
    if (rc != COFFRE_OK) {
        return rc;
    }
    rc = trust_parse(p, plen, &seq, &iat, keys, &n);
    free(p);
    if (rc != COFFRE_OK) {
        return rc;
    }
    if (seq < g->trust_seq) {
        return COFFRE_ERR_STATE; /* never go back to an older list */
    }
    memcpy(g->keys, keys, n * sizeof(keys[0]));
    g->n_keys = n;
    g->trust_seq = seq;
    return COFFRE_OK;
}

int
coffre_gate_load_revocations(struct coffre_gate *g, const uint8_t *buf,
                             size_t len)
{
    uint8_t *p, *ids = NULL;
    size_t plen, n = 0;
    uint64_t seq;
    int64_t iat;
    int rc;

    if (len > COFFRE_GATE_MAX_REVOCATIONS) {
        return COFFRE_ERR_TOOBIG;
    }
    rc = list_open(g->list_pk, buf, len, COFFRE_LIST_CTYPE_REVOC, &p, &plen);
    if (rc != COFFRE_OK) {
        return rc;
    }
    rc = revoc_parse(p, plen, &seq, &iat, &ids, &n);
    free(p);
    if (rc == COFFRE_OK && g->has_revoc && seq < g->revoc_seq) {
        rc = COFFRE_ERR_STATE;
    }
    if (rc != COFFRE_OK) {
        free(ids);
        return rc;
    }
    free(g->revoked);
    g->revoked = ids;
    g->n_revoked = n;
    g->revoc_seq = seq;
    g->revoc_iat = iat;
    g->has_revoc = 1;
    return COFFRE_OK;
}

int
coffre_gate_load_file(struct coffre_gate *g, const char *path, int revocations)
{
    size_t cap =
        revocations ? COFFRE_GATE_MAX_REVOCATIONS : COFFRE_GATE_MAX_TRUST;
    uint8_t *buf;
    size_t n;
    FILE *f;
    int rc;

    f = fopen(path, "rb");
    if (f == NULL) {
        return COFFRE_ERR_IO;
    }
    buf = malloc(cap + 1);
    if (buf == NULL) {
        fclose(f);
        return COFFRE_ERR_NOMEM;
    }
    n = fread(buf, 1, cap + 1, f);
    if (ferror(f)) {
        rc = COFFRE_ERR_IO;
    } else if (n > cap) {
        rc = COFFRE_ERR_TOOBIG;
    } else {
        rc = revocations ? coffre_gate_load_revocations(g, buf, n)
                         : coffre_gate_load_trust(g, buf, n);
    }
    fclose(f);
    free(buf);
    return rc;
}
