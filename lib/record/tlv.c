/*
 * Class payloads (docs/formats.md, "class payload"): the plaintext that
 * the vault encrypts per field class. A version byte, then (tag, LEB128
 * length, bytes) per field in table order, list items repeating the tag.
 * Decoding is strict so that a payload has one reading only.
 */
#include <string.h>

#include "record/field.h"
#include "record/record.h"
#include "util/buf.h"
#include "util/secmem.h"

#define TLV_VERSION 1

static int
put(struct coffre_buf *out, unsigned tag, const void *p, size_t n)
{
    int rc;

    if ((rc = coffre_buf_addc(out, (unsigned char)tag)) != COFFRE_OK ||
        (rc = coffre_buf_add_varint(out, n)) != COFFRE_OK) {
        return rc;
    }
    return coffre_buf_add(out, p, n);
}

static int
encode_field(const struct coffre_person *p, const struct coffre_field *f,
             struct coffre_buf *out)
{
    const struct coffre_strlist *l;
    const char *s;
    unsigned char b;
    int rc = COFFRE_OK;

    switch (f->kind) {
    case COFFRE_FK_TEXT:
        s = *coffre_field_text(p, f);
        return s != NULL ? put(out, f->tag, s, strlen(s)) : COFFRE_OK;
    case COFFRE_FK_LIST:
        l = coffre_field_list(p, f);
        for (size_t i = 0; i < l->n && rc == COFFRE_OK; i++) {
            rc = put(out, f->tag, l->v[i], strlen(l->v[i]));
        }
        return rc;
    case COFFRE_FK_PHOTO:
        return p->photo != NULL ? put(out, f->tag, p->photo, p->photo_len)
                                : COFFRE_OK;
    case COFFRE_FK_STATE:
        s = coffre_state_name(p->state);
        return s != NULL ? put(out, f->tag, s, strlen(s)) : COFFRE_ERR_ARG;
    default:
        b = p->is_protected ? 1 : 0;
        return put(out, f->tag, &b, 1);
    }
}

int
coffre_person_encode_class(const struct coffre_person *p, int cls,
                           struct coffre_buf *out)
{
    int rc;

    if (p == NULL || cls < 0 || cls >= COFFRE_CLASS_COUNT) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = coffre_buf_addc(out, TLV_VERSION)) != COFFRE_OK) {
        return rc;
    }
    for (size_t i = 0; i < coffre_fields_count && rc == COFFRE_OK; i++) {
        if (coffre_fields[i].cls == cls) {
            rc = encode_field(p, &coffre_fields[i], out);
        }
    }
    return rc;
}

/* A minimal LEB128 varint of at most 9 bytes; 0 if malformed. */
static size_t
get_varint(const unsigned char *in, size_t len, uint64_t *pv)
{
    uint64_t v = 0;

    for (size_t i = 0; i < len && i < 9; i++) {
        v |= (uint64_t)(in[i] & 0x7f) << (7 * i);
        if (!(in[i] & 0x80)) {
            if (i > 0 && in[i] == 0) {
                return 0; /* non-minimal: two encodings of one length */
            }
            *pv = v;
            return i + 1;
        }
    }
    return 0;
}

static int
decode_field(struct coffre_person *t, const struct coffre_field *f,
             const unsigned char *v, size_t n, unsigned *seen)
{
    unsigned bit = 1u << (f->tag & 31u);

    if (f->kind != COFFRE_FK_LIST && (*seen & bit)) {
        return COFFRE_ERR_PARSE;
    }
    *seen |= bit;
    if (f->kind == COFFRE_FK_BOOL) {
        if (n != 1 || v[0] > 1) {
            return COFFRE_ERR_PARSE;
        }
        t->is_protected = v[0];
        t->classes |= COFFRE_CLASS_BIT(f->cls);
        return COFFRE_OK;
    }
    if (f->kind == COFFRE_FK_PHOTO) {
        if ((t->photo = coffre_pmem_alloc(n + 1)) == NULL) {
            return COFFRE_ERR_NOMEM;
        }
        memcpy(t->photo, v, n);
        t->photo_len = n;
        t->classes |= COFFRE_CLASS_BIT(f->cls);
        return COFFRE_OK;
    }
    if (n > f->max) {
        return COFFRE_ERR_PARSE;
    }
    return coffre_field_set(t, f, (const char *)v, n, NULL) == COFFRE_OK
               ? COFFRE_OK
               : COFFRE_ERR_PARSE;
}

static int
decode_all(struct coffre_person *t, int cls, const unsigned char *in,
           size_t len)
{
    const struct coffre_field *f;
    unsigned seen = 0;
    uint64_t n;
    size_t i = 1, k;
    int rc;

    if (len < 1 || in[0] != TLV_VERSION) {
        return COFFRE_ERR_PARSE;
    }
    while (i < len) {
        f = coffre_field_by_tag(cls, in[i++]);
        if (f == NULL || (k = get_varint(in + i, len - i, &n)) == 0) {
            return COFFRE_ERR_PARSE;
        }
        i += k;
        if (n > len - i ||
            n > (f->kind == COFFRE_FK_PHOTO ? COFFRE_MAX_PHOTO : f->max)) {
            return COFFRE_ERR_PARSE;
        }
        if ((rc = decode_field(t, f, in + i, (size_t)n, &seen)) != COFFRE_OK) {
            return rc;
        }
        i += (size_t)n;
    }
    return COFFRE_OK;
}

int
coffre_person_decode_class(struct coffre_person *p, int cls,
                           const unsigned char *in, size_t len)
{
    struct coffre_person *t;
    int rc;

    if (p == NULL || in == NULL || cls < 0 || cls >= COFFRE_CLASS_COUNT) {
        return COFFRE_ERR_ARG;
    }
    if ((t = coffre_person_new()) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    t->classes = COFFRE_CLASS_BIT(cls);
    rc = decode_all(t, cls, in, len);
    if (rc == COFFRE_OK &&
        coffre_person_validate_class(t, cls, NULL) != COFFRE_OK) {
        rc = COFFRE_ERR_PARSE; /* a payload we never write */
    }
    if (rc == COFFRE_OK) {
        coffre_person_take_class(p, t, cls);
    }
    coffre_person_free(t);
    return rc;
}
