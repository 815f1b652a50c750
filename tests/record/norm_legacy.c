/*
 * The name folding of lib/record/norm.c before utf8proc (commit f46ba49),
 * frozen here as the oracle of tests/record/test_norm.c: every code point
 * these tables folded must fold the same way with utf8proc, or the
 * blind-index tags of stored names (COFFRE_TAG_NAME_DOB) would change and
 * their persons could no longer be found. Not part of the library.
 */
#include <string.h>

#include "record/record.h"
#include "record/rules.h"

int legacy_norm_name(const char *s, struct coffre_buf *out);

/* U+00C0..U+00FF: the base letters, '*' = kept as is; multi-letter
 * foldings (AE, TH, ss) are special-cased in fold(). */
static const char latin1[] = "aaaaaa*ceeeeiiiidnooooo*ouuuuy**"
                             "aaaaaa*ceeeeiiiidnooooo*ouuuuy*y";
/* U+0100..U+017F; '1' = ij, '2' = oe. */
static const char latin_a[] = "aaaaaaccccccccddddeeeeeeeeeegggggggghhhh"
                              "iiiiiiiiii11jjkkkllllllllllnnnnnnnnnoooooo"
                              "22rrrrrrsssssssstttttt"
                              "uuuuuuuuuuuuwwyyyzzzzzzs";
/* U+1EA0..U+1EF9, Vietnamese. */
static const char viet[] = "aaaaaaaaaaaaaaaaaaaaaaaaeeeeeeeeeeeeeeeeiiii"
                           "oooooooooooooooooooooooouuuuuuuuuuuuuuyyyyyyyy";

struct range {
    uint32_t lo, hi;
    char base;
};

/* Latin Extended-B letters in use in European and Vietnamese names. */
static const struct range latin_b[] = {
    {0x0180, 0x0180, 'b'}, {0x0189, 0x0189, 'd'}, {0x0191, 0x0192, 'f'},
    {0x01a0, 0x01a1, 'o'}, {0x01af, 0x01b0, 'u'}, {0x01cd, 0x01ce, 'a'},
    {0x01cf, 0x01d0, 'i'}, {0x01d1, 0x01d2, 'o'}, {0x01d3, 0x01dc, 'u'},
    {0x01e6, 0x01e7, 'g'}, {0x01e8, 0x01e9, 'k'}, {0x01ea, 0x01ed, 'o'},
    {0x01f8, 0x01f9, 'n'}, {0x01fa, 0x01fb, 'a'}, {0x01fe, 0x01ff, 'o'},
    {0x0200, 0x0203, 'a'}, {0x0204, 0x0207, 'e'}, {0x0208, 0x020b, 'i'},
    {0x020c, 0x020f, 'o'}, {0x0210, 0x0213, 'r'}, {0x0214, 0x0217, 'u'},
    {0x0218, 0x0219, 's'}, {0x021a, 0x021b, 't'}, {0x0226, 0x0227, 'a'},
    {0x0228, 0x0229, 'e'}, {0x022a, 0x0231, 'o'}, {0x0232, 0x0233, 'y'},
};

/* Greek U+0386..U+03CE with tonos and dialytika: the bare lowercase. */
static uint32_t
fold_greek(uint32_t c)
{
    static const uint16_t tonos[] = {
        0x3b1, 0, 0x3b5, 0x3b7, 0x3b9, 0,
        0x3bf, 0, 0x3c5, 0x3c9, 0x3b9, /* 0x386..0x390 */
    };

    if (c >= 0x386 && c <= 0x390 && tonos[c - 0x386] != 0) {
        return tonos[c - 0x386];
    }
    if (c >= 0x391 && c <= 0x3a9) {
        c += 0x20;
    }
    switch (c) {
    case 0x3aa:
    case 0x3af:
    case 0x3ca:
        return 0x3b9;
    case 0x3ab:
    case 0x3b0:
    case 0x3cb:
    case 0x3cd:
        return 0x3c5;
    case 0x3ac:
        return 0x3b1;
    case 0x3ad:
        return 0x3b5;
    case 0x3ae:
        return 0x3b7;
    case 0x3cc:
        return 0x3bf;
    case 0x3ce:
        return 0x3c9;
    case 0x3c2:
        return 0x3c3; /* final sigma */
    default:
        return c;
    }
}

static uint32_t
fold_cyrillic(uint32_t c)
{
    if (c >= 0x400 && c <= 0x40f) {
        c += 0x50;
    } else if (c >= 0x410 && c <= 0x42f) {
        c += 0x20;
    } else if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) ||
               (c >= 0x4d0 && c <= 0x4ff)) {
        c |= 1u; /* pairs: even upper, odd lower */
    } else if (c >= 0x4c1 && c <= 0x4ce && (c & 1u)) {
        c += 1;
    }
    return c == 0x451 ? 0x435 : c; /* ё -> е */
}

static int
put_utf8(struct coffre_buf *out, uint32_t c)
{
    unsigned char b[4];
    size_t n;

    if (c < 0x80) {
        b[0] = (unsigned char)c, n = 1;
    } else if (c < 0x800) {
        b[0] = (unsigned char)(0xc0 | (c >> 6)), n = 2;
    } else if (c < 0x10000) {
        b[0] = (unsigned char)(0xe0 | (c >> 12)), n = 3;
    } else {
        b[0] = (unsigned char)(0xf0 | (c >> 18)), n = 4;
    }
    for (size_t i = 1; i < n; i++) {
        b[i] = (unsigned char)(0x80 | ((c >> (6 * (n - 1 - i))) & 0x3f));
    }
    return coffre_buf_add(out, b, n);
}

static const char *
fold_latin_special(uint32_t c)
{
    switch (c) {
    case 0xc6:
    case 0xe6:
    case 0x1fc:
    case 0x1fd:
        return "ae";
    case 0xde:
    case 0xfe:
        return "th";
    case 0xdf:
        return "ss";
    case 0x132:
    case 0x133:
        return "ij";
    case 0x152:
    case 0x153:
        return "oe";
    default:
        return NULL;
    }
}

/* The folded form of one code point as ASCII, or 0 if not Latin. */
static char
fold_latin(uint32_t c)
{
    if (c >= 'A' && c <= 'Z') {
        return (char)(c + 32);
    }
    if (c >= 0xc0 && c <= 0xff && latin1[c - 0xc0] != '*') {
        return latin1[c - 0xc0];
    }
    if (c >= 0x100 && c <= 0x17f && latin_a[c - 0x100] >= 'a') {
        return latin_a[c - 0x100];
    }
    if (c >= 0x1ea0 && c <= 0x1ef9) {
        return viet[c - 0x1ea0];
    }
    for (size_t i = 0; i < sizeof(latin_b) / sizeof(latin_b[0]); i++) {
        if (c >= latin_b[i].lo && c <= latin_b[i].hi) {
            return latin_b[i].base;
        }
    }
    return 0;
}

static int
is_sep(uint32_t c)
{
    return c == ' ' || c == '\t' || c == '-' || c == '\'' || c == 0x2019 ||
           c == 0xa0;
}

static int
fold(struct coffre_buf *out, uint32_t c)
{
    const char *multi = fold_latin_special(c);
    char a;

    if (multi != NULL) {
        return coffre_buf_adds(out, multi);
    }
    if ((a = fold_latin(c)) != 0) {
        return coffre_buf_addc(out, (unsigned char)a);
    }
    if (c >= 0x300 && c <= 0x36f) {
        return COFFRE_OK; /* combining accents of decomposed input */
    }
    if (c >= 0x386 && c <= 0x3ce) {
        c = fold_greek(c);
    } else if (c >= 0x400 && c <= 0x4ff) {
        c = fold_cyrillic(c);
    }
    return put_utf8(out, c);
}

/* Appends the normalised ${s}; COFFRE_ERR_ARG if it is empty or not UTF-8. */
int
legacy_norm_name(const char *s, struct coffre_buf *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), k, start = out->len;
    int pending = 0, rc;
    uint32_t c;

    for (size_t i = 0; i < n; i += k) {
        if ((k = coffre_rule_utf8_next(u + i, n - i, &c)) == 0) {
            return COFFRE_ERR_ARG;
        }
        if (is_sep(c)) {
            pending = out->len > start;
            continue;
        }
        if (pending && (rc = coffre_buf_addc(out, ' ')) != COFFRE_OK) {
            return rc;
        }
        pending = 0;
        if ((rc = fold(out, c)) != COFFRE_OK) {
            return rc;
        }
    }
    return out->len > start ? COFFRE_OK : COFFRE_ERR_ARG;
}
