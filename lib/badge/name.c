/* The name a gate shows: surname in capitals and initials. */
#include <string.h>

#include "badge/upper.h"
#include "coffre/badge.h"

#define NAME_MAX_BYTES 32

/* Append the initials of ${given} ("Jean-Marie Paul" -> "J-M P"): the
 * first grapheme cluster of each word, in capitals. */
static size_t
name_initials(const char *given, char *out, size_t o, size_t cap)
{
    char sep = ' ';

    for (const char *p = given; *p != '\0';) {
        if (*p == ' ' || *p == '-') {
            sep = *p++;
            continue;
        }
        size_t w = strcspn(p, " -"), k;
        if (o + 2 >= cap) {
            break;
        }
        k = coffre_name_upper(p, w, out + o + 1, cap - o - 1, 1);
        if (k == 0) {
            break;
        }
        out[o] = sep;
        o += 1 + k;
        p += w;
        sep = ' ';
    }
    return o;
}

int
coffre_badge_display_name(const char *surname, const char *given, char *out,
                          size_t cap)
{
    size_t o, lim;

    if (surname == NULL || out == NULL || cap == 0) {
        return COFFRE_ERR_ARG;
    }
    lim = cap < NAME_MAX_BYTES + 1 ? cap : NAME_MAX_BYTES + 1;
    /* Keep room for at least one initial after the surname. */
    o = coffre_name_upper(surname, strlen(surname), out,
                          lim > 6 && given != NULL ? lim - 5 : lim, 0);
    if (given != NULL) {
        o = name_initials(given, out, o, lim);
    }
    out[o] = '\0';
    return o == 0 ? COFFRE_ERR_ARG : COFFRE_OK;
}
