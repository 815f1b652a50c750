/*
 * Canonical audit entries: a fixed sequence of length-prefixed fields
 * (docs/audit.md section 8). One encoding per entry, so that anyone can
 * rehash an entry and find the leaf the tree holds; parsing is strict so
 * that parse then encode gives back the same bytes.
 */
#include <string.h>

#include <sodium.h>

#include "audit/entry.h"
#include "audit/merkle.h"

/* Which bytes a field may hold. */
enum charset { CS_TOKEN, CS_ACTION, CS_HEX, CS_B64URL, CS_TEXT };

uint32_t
audit_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

void
audit_put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

void
audit_frame(const unsigned char *payload, size_t len,
            const unsigned char leaf[COFFRE_AUDIT_HASH_LEN], unsigned char *out)
{
    audit_put_be32(out, (uint32_t)len);
    memcpy(out + AUDIT_FRAME_HEAD, payload, len);
    memcpy(out + AUDIT_FRAME_HEAD + len, leaf, AUDIT_FRAME_TAIL);
}

void
coffre_audit_leaf_hash(const unsigned char *b, size_t len,
                       unsigned char out[COFFRE_AUDIT_HASH_LEN])
{
    coffre_merkle_leaf_hash(b, len, out);
}

/* Length of the UTF-8 sequence at s (at most n bytes), 0 if invalid:
 * no overlong form, no surrogate, nothing above U+10FFFF. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
    uint32_t c;
    size_t len;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2, c = s[0] & 0x1fu;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3, c = s[0] & 0x0fu;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4, c = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        c = c << 6 | (s[i] & 0x3fu);
    }
    if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
        (len == 4 && (c < 0x10000 || c > 0x10ffff))) {
        return 0;
    }
    return len;
}

int
audit_text_valid(const unsigned char *s, size_t len)
{
    size_t i = 0, k;

    while (i < len) {
        if (s[i] < 0x20 || s[i] == 0x7f) {
            return 0;
        }
        k = utf8_seq(s + i, len - i);
        if (k == 0) {
            return 0;
        }
        i += k;
    }
    return 1;
}

static int
byte_ok(enum charset cs, unsigned char c)
{
    int lower = c >= 'a' && c <= 'z', digit = c >= '0' && c <= '9';

    switch (cs) {
    case CS_TOKEN:
        return lower || digit || c == '_' || c == '-';
    case CS_ACTION:
        return lower || digit || c == '_' || c == '-' || c == '.';
    case CS_HEX:
        return digit || (c >= 'a' && c <= 'f');
    case CS_B64URL:
        return lower || digit || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
    case CS_TEXT:
        return 1;
    }
    return 0;
}

/* Is this field value in its domain: length within [min, max], bytes of
 * its charset (principal: empty or exactly 64 hex digits)? */
static int
field_ok(const unsigned char *s, size_t len, size_t min, size_t max,
         enum charset cs)
{
    if (len < min || len > max) {
        return 0;
    }
    if (cs == CS_HEX && len != 0 && len != COFFRE_AUDIT_MAX_PRINCIPAL) {
        return 0;
    }
    if (cs == CS_TEXT) {
        return audit_text_valid(s, len);
    }
    for (size_t i = 0; i < len; i++) {
        if (!byte_ok(cs, s[i])) {
            return 0;
        }
    }
    return 1;
}

/* The string fields in encoding order, with their domains. */
struct field_spec {
    size_t off; /* in struct coffre_audit_entry */
    size_t min, max;
    enum charset cs;
};
#define FIELD(name, min, max, cs)                                              \
    {                                                                          \
        offsetof(struct coffre_audit_entry, name), min, max, cs                \
    }
static const struct field_spec head_fields[] = {
    FIELD(principal, 0, COFFRE_AUDIT_MAX_PRINCIPAL, CS_HEX),
    FIELD(role, 1, COFFRE_AUDIT_MAX_ROLE, CS_TOKEN),
    FIELD(action, 1, COFFRE_AUDIT_MAX_ACTION, CS_ACTION),
    FIELD(pseudonym, 0, COFFRE_AUDIT_MAX_PSEUDONYM, CS_B64URL),
};
static const struct field_spec purpose_field =
    FIELD(purpose, 0, COFFRE_AUDIT_MAX_PURPOSE, CS_TEXT);
static const struct field_spec outcome_field =
    FIELD(outcome, 1, COFFRE_AUDIT_MAX_OUTCOME, CS_TOKEN);

/* An encoder that only counts once the output is full. */
struct wr {
    unsigned char *p;
    size_t cap, len;
};

static void
wr_bytes(struct wr *w, const void *p, size_t n)
{
    if (w->len <= w->cap && n <= w->cap - w->len) {
        memcpy(w->p + w->len, p, n);
    }
    w->len += n;
}

static void
wr_u8(struct wr *w, unsigned v)
{
    unsigned char c = (unsigned char)v;

    wr_bytes(w, &c, 1);
}

static int
wr_field(struct wr *w, const struct coffre_audit_entry *e,
         const struct field_spec *f)
{
    const char *s = (const char *)e + f->off;
    size_t len = strnlen(s, f->max + 1);

    if (!field_ok((const unsigned char *)s, len, f->min, f->max, f->cs)) {
        return COFFRE_ERR_ARG;
    }
    wr_u8(w, (unsigned)len);
    wr_bytes(w, s, len);
    return COFFRE_OK;
}

static void
wr_classes(struct wr *w, unsigned classes)
{
    unsigned n = 0;

    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        n += (classes >> c) & 1u;
    }
    wr_u8(w, n);
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        if (classes & COFFRE_CLASS_BIT(c)) {
            const char *name = coffre_class_name(c);

            wr_u8(w, (unsigned)strlen(name));
            wr_bytes(w, name, strlen(name));
        }
    }
}

int
coffre_audit_entry_encode(const struct coffre_audit_entry *e,
                          unsigned char *out, size_t cap, size_t *plen)
{
    struct wr w = {out, cap, 0};
    unsigned char t[8];
    int rc = COFFRE_OK;

    if (e->time_ms < 0 || (e->classes & ~COFFRE_CLASSES_ALL) != 0 ||
        e->status < 100 || e->status > 599) {
        return COFFRE_ERR_ARG;
    }
    wr_u8(&w, COFFRE_AUDIT_VERSION);
    audit_put_be32(t, (uint32_t)((uint64_t)e->time_ms >> 32));
    audit_put_be32(t + 4, (uint32_t)e->time_ms);
    wr_bytes(&w, t, 8);
    for (size_t i = 0; i < 4 && rc == COFFRE_OK; i++) {
        rc = wr_field(&w, e, &head_fields[i]);
    }
    wr_classes(&w, e->classes);
    if (rc == COFFRE_OK) {
        rc = wr_field(&w, e, &purpose_field);
    }
    wr_u8(&w, e->status >> 8);
    wr_u8(&w, e->status & 0xffu);
    if (rc == COFFRE_OK) {
        rc = wr_field(&w, e, &outcome_field);
    }
    if (rc == COFFRE_OK && w.len > cap) {
        rc = COFFRE_ERR_TOOBIG;
    }
    *plen = w.len;
    return rc;
}

/* A strict reader: any short read marks it failed. */
struct rd {
    const unsigned char *p;
    size_t len, pos;
    int bad;
};

static const unsigned char *
rd_take(struct rd *r, size_t n)
{
    const unsigned char *p = r->p + r->pos;

    if (r->bad || n > r->len - r->pos) {
        r->bad = 1;
        return NULL;
    }
    r->pos += n;
    return p;
}

static unsigned
rd_u8(struct rd *r)
{
    const unsigned char *p = rd_take(r, 1);

    return p == NULL ? 0 : p[0];
}

static void
rd_field(struct rd *r, struct coffre_audit_entry *e, const struct field_spec *f)
{
    size_t n = rd_u8(r);
    const unsigned char *p = rd_take(r, n);
    char *dst = (char *)e + f->off;

    if (p == NULL || !field_ok(p, n, f->min, f->max, f->cs)) {
        r->bad = 1;
        return;
    }
    memcpy(dst, p, n);
    dst[n] = '\0';
}

/* Class names, each known, in strictly ascending class order. */
static unsigned
rd_classes(struct rd *r)
{
    unsigned n = rd_u8(r), mask = 0;
    int last = -1;
    char name[16];

    for (unsigned i = 0; i < n && !r->bad; i++) {
        size_t len = rd_u8(r);
        const unsigned char *p = rd_take(r, len);
        int c;

        if (p == NULL || len >= sizeof(name)) {
            r->bad = 1;
            break;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        c = coffre_class_parse(name);
        if (c <= last) {
            r->bad = 1;
            break;
        }
        mask |= COFFRE_CLASS_BIT(c);
        last = c;
    }
    return mask;
}

int
coffre_audit_entry_parse(const unsigned char *b, size_t len,
                         struct coffre_audit_entry *e)
{
    struct rd r = {b, len, 0, 0};
    const unsigned char *t;
    uint64_t ms;

    if (len > COFFRE_AUDIT_ENTRY_MAX) {
        return COFFRE_ERR_TOOBIG;
    }
    memset(e, 0, sizeof(*e));
    if (rd_u8(&r) != COFFRE_AUDIT_VERSION || (t = rd_take(&r, 8)) == NULL) {
        return COFFRE_ERR_PARSE;
    }
    ms = (uint64_t)audit_be32(t) << 32 | audit_be32(t + 4);
    if (ms > (uint64_t)INT64_MAX) {
        return COFFRE_ERR_PARSE;
    }
    e->time_ms = (int64_t)ms;
    for (size_t i = 0; i < 4; i++) {
        rd_field(&r, e, &head_fields[i]);
    }
    e->classes = rd_classes(&r);
    rd_field(&r, e, &purpose_field);
    e->status = rd_u8(&r) << 8;
    e->status |= rd_u8(&r);
    rd_field(&r, e, &outcome_field);
    if (r.bad || r.pos != len || e->status < 100 || e->status > 599) {
        memset(e, 0, sizeof(*e));
        return COFFRE_ERR_PARSE;
    }
    return COFFRE_OK;
}

int
coffre_audit_set_purpose(struct coffre_audit_entry *e, const char *text)
{
    size_t len = text == NULL ? 0 : strlen(text), cut = 0, k;
    const unsigned char *s = (const unsigned char *)text;

    e->purpose[0] = '\0';
    if (!audit_text_valid(s, len)) {
        return COFFRE_ERR_ARG;
    }
    /* Whole characters only, so the cut text is still valid UTF-8. */
    while (cut < len) {
        k = utf8_seq(s + cut, len - cut);
        if (cut + k > COFFRE_AUDIT_MAX_PURPOSE) {
            break;
        }
        cut += k;
    }
    if (cut > 0) {
        memcpy(e->purpose, text, cut);
    }
    e->purpose[cut] = '\0';
    return COFFRE_OK;
}
