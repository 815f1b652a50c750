/*
 * Normalisation of blind-index inputs (record.h): two spellings of one name
 * that a clerk would call the same must give the same index. Names go
 * through utf8proc (docs/formats.md, section 8): NFKC with Unicode case
 * folding, default-ignorable code points removed, then the diacritics of
 * every script that writes them as accents (Latin, Greek, the Arabic
 * harakat, the Hebrew points) dropped. Letters of their own stay: Cyrillic
 * й, ї, ў..., Arabic أ, Indic vowel signs and viramas, Hangul syllables.
 *
 * The output is the one of the hand-written tables used before utf8proc
 * for every character those tables folded (Latin, Greek, Cyrillic; frozen
 * in tests/record/norm_legacy.c and checked code point by code point),
 * so that the tags of stored names do not change.
 */
#include <string.h>
#include <utf8proc.h>

#include "record/record.h"
#include "record/rules.h"
#include "util/secmem.h"

/* A longer name is no name (stored ones are at most COFFRE_MAX_TEXT). */
#define NAME_MAX_IN 512
/* Code points after compatibility decomposition (at most 18 per input
 * code point; names do not come near that). */
#define NAME_MAX_CP 2048

/* Letters Unicode does not decompose, which the tables before utf8proc
 * folded to ASCII: their base letter (a bar, a stroke) or their spelling
 * (æ, œ, þ). Keys are case-folded. */
static const struct {
    int32_t c;
    const char *ascii;
} letters[] = {
    {0x00e6, "ae"}, {0x00f0, "d"}, {0x00f8, "o"}, {0x00fe, "th"}, {0x0111, "d"},
    {0x0127, "h"},  {0x0131, "i"}, {0x0138, "k"}, {0x0142, "l"},  {0x014b, "n"},
    {0x0153, "oe"}, {0x0167, "t"}, {0x0180, "b"}, {0x0192, "f"},  {0x0256, "d"},
};

static const char *
letter_ascii(int32_t c)
{
    for (size_t i = 0; i < sizeof(letters) / sizeof(letters[0]); i++) {
        if (letters[i].c == c) {
            return letters[i].ascii;
        }
    }
    return NULL;
}

/* Before decomposition, what the tables gave and utf8proc would not: Ŀ, ŀ
 * and ŉ, whose compatibility decompositions are l + middle dot and
 * apostrophe + n; U+0345 typed alone, an accent dropped (case folding
 * would make it ι); U+03A2, unassigned, which the tables took for Σ. */
static utf8proc_int32_t
premap(utf8proc_int32_t c, void *data)
{
    (void)data;
    switch (c) {
    case 0x13f:
    case 0x140:
        return 'l';
    case 0x149:
        return 'n';
    case 0x345:
        return 0x300;
    case 0x3a2:
        return 0x3c3;
    default:
        return c;
    }
}

static int
is_sep(int32_t c)
{
    /* U+00A0 is a space after NFKC; U+2019 has no decomposition. */
    return c == ' ' || c == '\t' || c == '-' || c == '\'' || c == 0x2019 ||
           c == 0xa0;
}

/* A mark that is an accent on its letter, dropped: the combining
 * diacritics blocks, Cyrillic titlo and the like, the Hebrew points,
 * the Arabic harakat (not hamza and madda, which make letters). */
static int
is_accent(int32_t c)
{
    utf8proc_category_t cat = utf8proc_category(c);

    if (cat != UTF8PROC_CATEGORY_MN && cat != UTF8PROC_CATEGORY_ME) {
        return 0;
    }
    return (c >= 0x300 && c <= 0x36f) || (c >= 0x483 && c <= 0x489) ||
           (c >= 0x591 && c <= 0x5c7) || (c >= 0x610 && c <= 0x61a) ||
           (c >= 0x64b && c <= 0x652) || (c >= 0x656 && c <= 0x65f) ||
           c == 0x670 || (c >= 0x6d6 && c <= 0x6ed) ||
           (c >= 0x1ab0 && c <= 0x1aff) || (c >= 0x1dc0 && c <= 0x1dff) ||
           (c >= 0x20d0 && c <= 0x20ff) || (c >= 0xfe20 && c <= 0xfe2f);
}

/* Cyrillic letters with a mark (й, ї, ё...) are letters of their own. */
static int
is_cyrillic(int32_t c)
{
    return (c >= 0x400 && c <= 0x52f) || (c >= 0x1c80 && c <= 0x1c8f) ||
           (c >= 0x2de0 && c <= 0x2dff) || (c >= 0xa640 && c <= 0xa69f);
}

/* Folded code points, composed and written out at the end. */
struct cps {
    utf8proc_int32_t *p;
    utf8proc_ssize_t n, cap;
};

static int
put_cp(struct cps *o, int32_t c)
{
    const char *ascii = letter_ascii(c);

    if (ascii == NULL) {
        if (o->n == o->cap) {
            return COFFRE_ERR_ARG;
        }
        o->p[o->n++] = c;
        return COFFRE_OK;
    }
    for (; *ascii != '\0'; ascii++) {
        if (o->n == o->cap) {
            return COFFRE_ERR_ARG;
        }
        o->p[o->n++] = (unsigned char)*ascii;
    }
    return COFFRE_OK;
}

/* One composed, case-folded code point, its accents dropped. */
static int
fold(struct cps *o, int32_t c)
{
    utf8proc_int32_t d[32];
    utf8proc_ssize_t n;
    int rc;

    if (is_accent(c) || c == 0x640) { /* 0x640: Arabic tatweel */
        return COFFRE_OK;
    }
    n = utf8proc_decompose_char(c, d, 32, UTF8PROC_DECOMPOSE, NULL);
    if (n <= 1 || n > 32 || is_cyrillic(d[0])) {
        /* ё and е: the same letter to the tables before utf8proc */
        return put_cp(o, c == 0x451 ? 0x435 : c);
    }
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        if (!is_accent(d[i]) && (rc = put_cp(o, d[i])) != COFFRE_OK) {
            return rc;
        }
    }
    return COFFRE_OK;
}

/* Appends the folded ${s} (NFC), separators and all; COFFRE_ERR_ARG if it
 * is not UTF-8 or too long. */
static int
fold_text(const char *s, struct coffre_buf *out, int with_seps)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), k;
    struct cps in_, o_, *in = &in_, *o = &o_;
    utf8proc_uint8_t b[4];
    utf8proc_ssize_t m;
    int pending = 0, rc = COFFRE_OK;
    uint32_t c;

    if (n > NAME_MAX_IN) {
        return COFFRE_ERR_ARG;
    }
    for (size_t i = 0; i < n; i += k) {
        if ((k = coffre_rule_utf8_next(u + i, n - i, &c)) == 0) {
            return COFFRE_ERR_ARG;
        }
    }
    /* Room for the worst expansion (18 code points from 3 bytes), at most
     * NAME_MAX_CP; the output takes one more per byte (æ: ae). Personal
     * data: wiped when freed (util/secmem.h). */
    in->cap =
        n * 18 + 8 < NAME_MAX_CP ? (utf8proc_ssize_t)(n * 18 + 8) : NAME_MAX_CP;
    o->cap = in->cap + (utf8proc_ssize_t)n + 8;
    in->p = coffre_pmem_alloc((size_t)(in->cap + o->cap) * sizeof(*in->p));
    if (in->p == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    o->p = in->p + in->cap;
    o->n = 0;
    m = utf8proc_decompose_custom(u, (utf8proc_ssize_t)n, in->p, in->cap,
                                  UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT |
                                      UTF8PROC_CASEFOLD | UTF8PROC_IGNORE,
                                  premap, NULL);
    if (m < 0 || m > in->cap) {
        rc = COFFRE_ERR_ARG;
        goto done;
    }
    in->n = utf8proc_normalize_utf32(in->p, m, UTF8PROC_COMPOSE);
    for (utf8proc_ssize_t i = 0; rc == COFFRE_OK && i < in->n; i++) {
        if (with_seps && is_sep(in->p[i])) {
            pending = o->n > 0;
            continue;
        }
        utf8proc_ssize_t at = o->n;
        if (pending) {
            rc = put_cp(o, ' ');
        }
        if (rc == COFFRE_OK) {
            rc = fold(o, in->p[i]);
        }
        /* A separator is written before something only: an accent that
         * follows one and is dropped leaves it pending. */
        if (o->n == at + pending) {
            o->n = at;
        } else {
            pending = 0;
        }
    }
    if (rc == COFFRE_OK) {
        /* marks kept after dropped ones compose now (タ ゙) */
        o->n = utf8proc_normalize_utf32(o->p, o->n, UTF8PROC_COMPOSE);
    }
    for (utf8proc_ssize_t i = 0; rc == COFFRE_OK && i < o->n; i++) {
        m = utf8proc_encode_char(o->p[i], b);
        rc = m > 0 ? coffre_buf_add(out, b, (size_t)m) : COFFRE_ERR_ARG;
    }
done:
    coffre_pmem_free(in->p);
    return rc;
}

/* Appends the normalised ${s}; COFFRE_ERR_ARG if it is empty or not UTF-8. */
static int
norm_name(const char *s, struct coffre_buf *out)
{
    size_t start = out->len;
    int rc = fold_text(s, out, 1);

    if (rc != COFFRE_OK) {
        return rc;
    }
    return out->len > start ? COFFRE_OK : COFFRE_ERR_ARG;
}

int
coffre_norm_name_dob(const char *surname, const char *given,
                     const char *birth_date, struct coffre_buf *out)
{
    int rc;

    if (surname == NULL || given == NULL || birth_date == NULL ||
        birth_date[0] == '\0') {
        return COFFRE_ERR_ARG;
    }
    if ((rc = norm_name(surname, out)) != COFFRE_OK ||
        (rc = coffre_buf_addc(out, 0x1f)) != COFFRE_OK ||
        (rc = norm_name(given, out)) != COFFRE_OK ||
        (rc = coffre_buf_addc(out, 0x1f)) != COFFRE_OK) {
        return rc;
    }
    return coffre_buf_adds(out, birth_date);
}

int
coffre_norm_document(const char *number, struct coffre_buf *out)
{
    size_t start = out->len;
    int rc;

    for (const char *s = number; s != NULL && *s != '\0'; s++) {
        char c = *s;
        if (c >= 'a' && c <= 'z') {
            c = (char)(c - 32);
        }
        if (((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) &&
            (rc = coffre_buf_addc(out, (unsigned char)c)) != COFFRE_OK) {
            return rc;
        }
    }
    return out->len > start ? COFFRE_OK : COFFRE_ERR_ARG;
}

int
coffre_norm_email(const char *email, struct coffre_buf *out)
{
    size_t n;
    const char *s = email;
    int rc;

    if (s == NULL) {
        return COFFRE_ERR_ARG;
    }
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    if (n == 0) {
        return COFFRE_ERR_ARG;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c + 32);
        }
        if ((rc = coffre_buf_addc(out, (unsigned char)c)) != COFFRE_OK) {
            return rc;
        }
    }
    return COFFRE_OK;
}

size_t
coffre_norm_ascii(const char *s, char *out, size_t cap)
{
    struct coffre_buf b;
    size_t len = 0;

    if (cap == 0) {
        return 0;
    }
    coffre_buf_init(&b, 4 * NAME_MAX_CP);
    /* The folded name, then only its letters a-z. */
    if (fold_text(s, &b, 0) == COFFRE_OK) {
        for (size_t i = 0; i < b.len && len + 1 < cap; i++) {
            if (b.p[i] >= 'a' && b.p[i] <= 'z') {
                out[len++] = (char)b.p[i];
            }
        }
    }
    coffre_buf_free(&b);
    out[len] = '\0';
    return len;
}
