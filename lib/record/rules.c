/* Field syntax rules; see rules.h and docs/formats.md. */
#include "record/rules.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "record/record.h"

size_t
coffre_rule_utf8_next(const unsigned char *s, size_t n, uint32_t *pcp)
{
    uint32_t cp, min;
    size_t len;

    if (n == 0) {
        return 0;
    }
    if (s[0] < 0x80) {
        *pcp = s[0];
        return 1;
    } else if ((s[0] & 0xe0) == 0xc0) {
        len = 2, cp = s[0] & 0x1fu, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3, cp = s[0] & 0x0fu, min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4, cp = s[0] & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    /* Overlong forms and surrogates would let two spellings of one text
     * pass as different values (and break blind indexes). */
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    *pcp = cp;
    return len;
}

const char *
coffre_rule_text(const char *s, size_t max, char *rule, size_t rulecap)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), k;
    uint32_t cp;

    if (n == 0) {
        return "must not be empty";
    }
    if (n > max) {
        snprintf(rule, rulecap, "must be at most %zu bytes", max);
        return rule;
    }
    for (size_t i = 0; i < n; i += k) {
        k = coffre_rule_utf8_next(u + i, n - i, &cp);
        if (k == 0) {
            return "must be valid UTF-8";
        }
        if (cp < 0x20 || cp == 0x7f) {
            return "must not contain control characters";
        }
    }
    return NULL;
}

static int
all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

static int
num(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int
date_ok(const char *s)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    int y, m, d, dim;

    if (!all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) ||
        s[7] != '-' || !all_digits(s + 8, 2)) {
        return 0;
    }
    y = num(s, 4), m = num(s + 5, 2), d = num(s + 8, 2);
    if (y < 1900 || y > 2100 || m < 1 || m > 12) {
        return 0;
    }
    dim = mdays[m - 1];
    if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) {
        dim = 29;
    }
    return d >= 1 && d <= dim;
}

const char *
coffre_rule_date(const char *s)
{
    if (strlen(s) != 10 || !date_ok(s)) {
        return "must be a date YYYY-MM-DD between 1900 and 2100";
    }
    return NULL;
}

const char *
coffre_rule_datetime(const char *s)
{
    static const char *const rule = "must be a UTC time YYYY-MM-DDTHH:MM:SSZ";

    if (strlen(s) != 20 || !date_ok(s) || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != 'Z' || !all_digits(s + 11, 2) ||
        !all_digits(s + 14, 2) || !all_digits(s + 17, 2)) {
        return rule;
    }
    if (num(s + 11, 2) > 23 || num(s + 14, 2) > 59 || num(s + 17, 2) > 59) {
        return rule;
    }
    return NULL;
}

void
coffre_rule_today(char out[11])
{
    time_t now = time(NULL);
    struct tm tm;
    char tmp[48];

    gmtime_r(&now, &tm);
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday);
    memcpy(out, tmp, 10);
    out[10] = '\0';
}

const char *
coffre_rule_country(const char *s)
{
    return coffre_country_valid(s) ? NULL
                                   : "must be an ISO 3166-1 alpha-3 code";
}

static int
in_list(const char *s, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (strcmp(s, *list) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *
coffre_rule_sex(const char *s)
{
    static const char *const v[] = {"F", "M", "X", NULL};

    return in_list(s, v) ? NULL : "must be F, M or X";
}

const char *
coffre_rule_category(const char *s)
{
    return in_list(s, coffre_record_categories)
               ? NULL
               : "must be one of the accreditation categories";
}

static int
code_ok(const char *s, size_t max, int punct)
{
    size_t n = strlen(s);

    if (n == 0 || n > max) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (punct && (c == '_' || c == '-')))) {
            return 0;
        }
    }
    return 1;
}

const char *
coffre_rule_place_code(const char *s)
{
    return code_ok(s, COFFRE_MAX_CODE, 1)
               ? NULL
               : "each item must be 1 to 16 characters of A-Z 0-9 _ -";
}

const char *
coffre_rule_transport(const char *s)
{
    return code_ok(s, 8, 0) ? NULL : "must be 1 to 8 characters of A-Z 0-9";
}

static int
atext(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int
local_ok(const char *s, size_t n)
{
    if (n < 1 || n > 64 || s[0] == '.' || s[n - 1] == '.') {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.' ? s[i + 1] == '.' : !atext(s[i])) {
            return 0;
        }
    }
    return 1;
}

static int
domain_ok(const char *s, size_t n)
{
    size_t label = 0, dots = 0;

    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? s[i] : '.';
        if (c == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-' ||
                s[i - label] == '-') {
                return 0;
            }
            dots += i < n;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9') || c == '-') {
            label++;
        } else {
            return 0;
        }
    }
    return dots >= 1;
}

const char *
coffre_rule_email(const char *s)
{
    const char *at = strchr(s, '@');
    size_t n = strlen(s);

    if (n > COFFRE_MAX_EMAIL || at == NULL || strchr(at + 1, '@') != NULL ||
        !local_ok(s, (size_t)(at - s)) ||
        !domain_ok(at + 1, n - (size_t)(at - s) - 1)) {
        return "must be an email address local@domain.tld";
    }
    return NULL;
}

const char *
coffre_rule_phone(const char *s)
{
    size_t n = strlen(s);

    if (n < 9 || n > 16 || s[0] != '+' || !all_digits(s + 1, n - 1)) {
        return "must be E.164: + then 8 to 15 digits";
    }
    return NULL;
}

const char *
coffre_rule_doc_type(const char *s)
{
    static const char *const v[] = {"passport", "id_card", "residence_permit",
                                    "diplomatic_passport", NULL};

    return in_list(s, v) ? NULL
                         : "must be passport, id_card, residence_permit or "
                           "diplomatic_passport";
}

const char *
coffre_rule_doc_number(const char *s)
{
    size_t n = strlen(s);

    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == ' ' || c == '-')) {
            n = 0;
        }
    }
    if (n < 5 || n > COFFRE_MAX_DOCNUM) {
        return "must be 5 to 24 characters of A-Z a-z 0-9 space -";
    }
    return NULL;
}

const char *
coffre_rule_vetting(const char *s)
{
    static const char *const v[] = {"pending", "favourable", "unfavourable",
                                    NULL};

    return in_list(s, v) ? NULL : "must be pending, favourable or unfavourable";
}

const char *
coffre_rule_jpeg(const unsigned char *p, size_t n)
{
    if (n < 5 || n > COFFRE_MAX_PHOTO || p[0] != 0xff || p[1] != 0xd8 ||
        p[2] != 0xff || p[n - 2] != 0xff || p[n - 1] != 0xd9) {
        return "must be a JPEG (FF D8 FF ... FF D9) of at most 262144 bytes";
    }
    return NULL;
}
