/* The name a gate shows: surname in capitals and initials. */
#include <string.h>

#include "coffre/badge.h"

#define NAME_MAX_BYTES 32

/* Length of the UTF-8 sequence starting at ${s} (1 for a stray byte). */
static size_t
utf8_len(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

    for (size_t i = 1; i < n; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            return 1;
        }
    }
    return n;
}

static char
upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Append the initials of ${given} ("Jean-Marie Paul" -> "J-M P"). */
static size_t
name_initials(const char *given, char *out, size_t o, size_t cap)
{
    char sep = ' ';

    for (const char *p = given; *p != '\0';) {
        if (*p == ' ' || *p == '-') {
            sep = *p++;
            continue;
        }
        size_t n = utf8_len(p);
        if (o + 1 + n >= cap) {
            break;
        }
        out[o++] = sep;
        for (size_t i = 0; i < n; i++) {
            out[o++] = upper(p[i]);
        }
        p += n;
        while (*p != '\0' && *p != ' ' && *p != '-') {
            p++;
        }
        sep = ' ';
    }
    return o;
}

int
coffre_badge_display_name(const char *surname, const char *given, char *out,
                          size_t cap)
{
    size_t o = 0, lim;

    if (surname == NULL || out == NULL || cap == 0) {
        return COFFRE_ERR_ARG;
    }
    lim = cap < NAME_MAX_BYTES + 1 ? cap : NAME_MAX_BYTES + 1;
    /* Keep room for at least one initial after the surname. */
    for (const char *p = surname; *p != '\0';) {
        size_t n = utf8_len(p);
        if (o + n + 6 >= lim) {
            break;
        }
        for (size_t i = 0; i < n; i++) {
            out[o++] = upper(p[i]);
        }
        p += n;
    }
    if (given != NULL) {
        o = name_initials(given, out, o, lim);
    }
    out[o] = '\0';
    return o == 0 ? COFFRE_ERR_ARG : COFFRE_OK;
}
