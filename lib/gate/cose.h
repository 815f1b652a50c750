/*
 * The pieces of COSE (RFC 9052) and CBOR the badge format needs: a small
 * writer over a caller's buffer (deterministic, shortest-form heads), the
 * Sig_structure of COSE_Sign1, and a strict COSE_Sign1 parser.
 */
#ifndef COFFRE_GATE_COSE_H
#define COFFRE_GATE_COSE_H

#include <stddef.h>
#include <stdint.h>

#define COFFRE_COSE_MAX_PROTECTED 64
#define COFFRE_COSE_MAX_KID 16
#define COFFRE_COSE_MAX_CTYPE 24
#define COFFRE_COSE_SIG_LEN 64
#define COFFRE_COSE_ALG_EDDSA (-8)

/* A CBOR writer into fixed storage: the first overflow sets err. */
struct coffre_cbw {
    uint8_t *p;
    size_t len;
    size_t cap;
    int err; /* 0, or COFFRE_ERR_TOOBIG */
};

void coffre_cbw_init(struct coffre_cbw *w, uint8_t *p, size_t cap);
/** coffre_cbw_head(w, major, v): a head of major type ${major} (0..7). */
void coffre_cbw_head(struct coffre_cbw *w, unsigned major, uint64_t v);
/** coffre_cbw_int(w, v): an unsigned or negative integer. */
void coffre_cbw_int(struct coffre_cbw *w, int64_t v);
void coffre_cbw_bstr(struct coffre_cbw *w, const void *p, size_t n);
void coffre_cbw_tstr(struct coffre_cbw *w, const char *s, size_t n);
void coffre_cbw_raw(struct coffre_cbw *w, const void *p, size_t n);

/* A parsed COSE_Sign1; the payload points into caller-provided storage. */
struct coffre_cose_sign1 {
    uint8_t prot[COFFRE_COSE_MAX_PROTECTED];
    size_t prot_len;
    int64_t alg;
    uint8_t kid[COFFRE_COSE_MAX_KID];
    size_t kid_len;
    char ctype[COFFRE_COSE_MAX_CTYPE + 1]; /* "" when absent */
    uint8_t *payload;
    size_t payload_len;
    uint8_t sig[COFFRE_COSE_SIG_LEN];
};

/**
 * coffre_cose_sign1_parse(in, len, s, pbuf, pcap): parse a COSE_Sign1
 * (tag 18 optional) that fills ${in} exactly; the payload is copied into
 * ${pbuf} (capacity ${pcap}). Protected header: a definite map with alg (1)
 * an integer, kid (4) a bstr, optional content type (3) a text; no other
 * label. Unprotected header: an empty map. COFFRE_ERR_PARSE otherwise,
 * COFFRE_ERR_TOOBIG when a part exceeds its cap.
 */
int coffre_cose_sign1_parse(const uint8_t *in, size_t len,
                            struct coffre_cose_sign1 *s, uint8_t *pbuf,
                            size_t pcap);

/**
 * coffre_cose_sig_structure(w, prot, plen, payload, len): append
 * ["Signature1", prot, h'', payload], the bytes an Ed25519 signature covers.
 */
void coffre_cose_sig_structure(struct coffre_cbw *w, const uint8_t *prot,
                               size_t plen, const uint8_t *payload, size_t len);

#endif
