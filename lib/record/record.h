/*
 * The person record of DESIGN section 3, as the library holds it in memory.
 *
 * Every string is NUL-terminated UTF-8 in coffre_pmem memory (wiped when
 * freed), or NULL when absent. A class is "present" when its bit is set in
 * `classes`; absent classes have all their fields NULL/empty.
 *
 * The wire forms (JSON object, CSV row, JSON Lines) are in docs/formats.md;
 * the encrypted form of each class (a TLV payload) in docs/storage.md.
 */
#ifndef COFFRE_RECORD_RECORD_H
#define COFFRE_RECORD_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/coffre.h"
#include "util/buf.h"

/* Hard caps, in bytes of UTF-8 unless said otherwise. */
#define COFFRE_MAX_TEXT 128    /* names, organisation, function, place */
#define COFFRE_MAX_ADDRESS 256 /* one address line */
#define COFFRE_MAX_EMAIL 254   /* RFC 5321 path limit */
#define COFFRE_MAX_CODE 16     /* venue, zone, transport codes */
#define COFFRE_MAX_LIST 32     /* items in venues, zones */
#define COFFRE_MAX_NATIONALITIES 4
#define COFFRE_MAX_DOCNUM 24
#define COFFRE_MAX_PHOTO (256u * 1024u) /* bytes of JPEG */
#define COFFRE_MAX_SOURCE_KEY 128
#define COFFRE_MAX_JSON (512u * 1024u) /* one person as JSON (photo base64) */

struct coffre_strlist {
    char **v;
    size_t n;
};

struct coffre_person {
    unsigned classes; /* COFFRE_CLASS_BIT() of each class present */
    int state;        /* enum coffre_state (public class) */
    int is_protected; /* security forces, public authorities */
    char *source_key; /* the previous host's key for this record, or NULL */

    /* public */
    char *category; /* one of coffre_record_categories[] */
    char *organisation;
    char *function;
    struct coffre_strlist venues;
    struct coffre_strlist zones;
    char *transport_code;
    char *valid_from;  /* YYYY-MM-DD */
    char *valid_until; /* YYYY-MM-DD */

    /* identity */
    char *surname;
    char *given_names;
    char *sex;        /* "F", "M" or "X" */
    char *birth_date; /* YYYY-MM-DD */
    char *birth_place;
    char *birth_country; /* ISO 3166-1 alpha-3 */
    struct coffre_strlist nationalities;

    /* contact */
    char *address; /* street line(s) */
    char *postal_code;
    char *city;
    char *country; /* ISO 3166-1 alpha-3 */
    char *email;
    char *phone; /* E.164: + and 8 to 15 digits */

    /* document */
    char *doc_type; /* passport, id_card, residence_permit, ... */
    char *doc_number;
    char *doc_country; /* ISO 3166-1 alpha-3 */
    char *doc_expiry;  /* YYYY-MM-DD */

    /* photo */
    unsigned char *photo; /* JPEG bytes */
    size_t photo_len;

    /* vetting */
    char *vetting_status;     /* pending, favourable, unfavourable */
    char *vetting_decided_at; /* YYYY-MM-DDTHH:MM:SSZ */
    char *vetting_decided_by;
};

/** coffre_person_new(): an empty person (no class present), or NULL. */
struct coffre_person *coffre_person_new(void);

/**
 * coffre_person_validate(p, diag): check every field of every present class
 * against its rule; on failure COFFRE_ERR_INVALID with ${diag} naming the
 * first failing field and the rule. Submitted persons must carry public and
 * identity; that is checked by coffre_person_validate_new().
 */
int coffre_person_validate(const struct coffre_person *p,
                           struct coffre_diag *diag);
int coffre_person_validate_new(const struct coffre_person *p,
                               struct coffre_diag *diag);

/**
 * coffre_person_validate_class(p, cls, diag): the rules of class ${cls}
 * alone (its fields, required fields, cross-field rules), whether or not
 * its bit is set in p->classes. A present class is always complete: a
 * field marked "required" in docs/formats.md must be there.
 */
int coffre_person_validate_class(const struct coffre_person *p, int cls,
                                 struct coffre_diag *diag);

/**
 * coffre_person_encode_class(p, cls, out): the TLV payload of class ${cls}
 * appended to ${out} (plaintext, to be encrypted by the caller).
 */
int coffre_person_encode_class(const struct coffre_person *p, int cls,
                               struct coffre_buf *out);

/**
 * coffre_person_decode_class(p, cls, in, len): parse a TLV payload of class
 * ${cls} into ${p}, replacing that class. COFFRE_ERR_PARSE if malformed.
 */
int coffre_person_decode_class(struct coffre_person *p, int cls,
                               const unsigned char *in, size_t len);

/** coffre_person_clear_class(p, cls): wipe and drop one class. */
void coffre_person_clear_class(struct coffre_person *p, int cls);

/**
 * coffre_person_merge(dst, src): copy every class present in ${src} into
 * ${dst}, replacing it (deep copy).
 */
int coffre_person_merge(struct coffre_person *dst,
                        const struct coffre_person *src);

/*
 * Blind-index inputs. Each writes the normalised value into ${out}:
 * document number: upper case, only A-Z and 0-9 kept;
 * email: trimmed, lower case (the whole address);
 * name+dob: surname and given names case-folded, accents removed, runs of
 * spaces, hyphens and apostrophes made one space, trimmed; then '\x1f' and
 * the birth date.
 * Returns COFFRE_ERR_ARG when the input normalises to nothing.
 */
int coffre_norm_document(const char *number, struct coffre_buf *out);
int coffre_norm_email(const char *email, struct coffre_buf *out);
int coffre_norm_name_dob(const char *surname, const char *given,
                         const char *birth_date, struct coffre_buf *out);

/**
 * coffre_norm_ascii(s, out, cap): the Latin letters of ${s}, folded to
 * a-z without accents, everything else dropped; NUL-terminated in ${out}
 * (${cap} bytes). Its length. For generated email addresses.
 */
size_t coffre_norm_ascii(const char *s, char *out, size_t cap);

/** NULL-terminated list of the categories of the public class. */
extern const char *const coffre_record_categories[];

#endif
