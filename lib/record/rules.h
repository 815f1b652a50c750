/*
 * The syntax rules of person fields (docs/formats.md, "rules"): UTF-8 text,
 * dates, codes, email, phone, countries. Each coffre_rule_* check returns
 * NULL when the value passes, else the rule it breaks as a short static
 * English sentence (never the value), ready for coffre_diag.rule.
 */
#ifndef COFFRE_RECORD_RULES_H
#define COFFRE_RECORD_RULES_H

#include <stddef.h>
#include <stdint.h>

/**
 * coffre_rule_utf8_next(s, n, pcp): decode one UTF-8 sequence at ${s}
 * (${n} bytes left) into *${pcp}; its length, or 0 if it is not valid
 * (truncated, overlong, surrogate, above U+10FFFF).
 */
size_t coffre_rule_utf8_next(const unsigned char *s, size_t n, uint32_t *pcp);

/**
 * coffre_rule_text(s, max): valid UTF-8, no control character, not empty,
 * at most ${max} bytes. The rule about the cap is written to ${rule}
 * (capacity ${rulecap}) since it names the cap.
 */
const char *coffre_rule_text(const char *s, size_t max, char *rule,
                             size_t rulecap);

const char *coffre_rule_date(const char *s);     /* YYYY-MM-DD, 1900..2100 */
const char *coffre_rule_datetime(const char *s); /* YYYY-MM-DDTHH:MM:SSZ */
const char *coffre_rule_country(const char *s);
const char *coffre_rule_sex(const char *s);
const char *coffre_rule_category(const char *s);
const char *coffre_rule_place_code(const char *s); /* venue, zone */
const char *coffre_rule_transport(const char *s);
const char *coffre_rule_email(const char *s);
const char *coffre_rule_phone(const char *s);
const char *coffre_rule_doc_type(const char *s);
const char *coffre_rule_doc_number(const char *s);
const char *coffre_rule_vetting(const char *s);

/** coffre_rule_jpeg(p, n): NULL if ${p} looks like a JPEG of allowed size. */
const char *coffre_rule_jpeg(const unsigned char *p, size_t n);

/** coffre_rule_today(out): today's UTC date as YYYY-MM-DD. */
void coffre_rule_today(char out[11]);

/** coffre_country_valid(s): 1 if ${s} is an ISO 3166-1 alpha-3 code. */
int coffre_country_valid(const char *s);
/** coffre_country_count(), coffre_country_at(i): the table, sorted. */
size_t coffre_country_count(void);
const char *coffre_country_at(size_t i);

#endif
