/*
 * The field table: one row per field of the person record, naming it in
 * every form (JSON key, CSV column, TLV tag) with its class, kind, cap and
 * rule. JSON, CSV, TLV and validation are all driven by this one table so
 * that the forms cannot drift apart.
 */
#ifndef COFFRE_RECORD_FIELD_H
#define COFFRE_RECORD_FIELD_H

#include <stddef.h>

#include "record/record.h"

enum coffre_fkind {
    COFFRE_FK_TEXT = 0, /* char * */
    COFFRE_FK_LIST,     /* struct coffre_strlist */
    COFFRE_FK_PHOTO,    /* photo, photo_len */
    COFFRE_FK_STATE,    /* int state, by name */
    COFFRE_FK_BOOL,     /* int is_protected */
};

struct coffre_field {
    const char *name;       /* dotted JSON name, used in diagnostics */
    const char *key;        /* key within its JSON object */
    const char *column;     /* CSV column */
    int cls;                /* enum coffre_class */
    unsigned char tag;      /* TLV tag within the class payload */
    unsigned char kind;     /* enum coffre_fkind */
    unsigned char top;      /* JSON key at the top level, not in the class */
    unsigned char required; /* needed whenever the class is present */
    size_t off;             /* offsetof(struct coffre_person, ...) */
    size_t max;             /* cap in bytes of the value or of each item */
    size_t max_items;       /* lists: cap on the number of items */
    const char *(*check)(const char *s); /* syntax rule, NULL: text only */
};

extern const struct coffre_field coffre_fields[];
extern const size_t coffre_fields_count;

/** coffre_field_by_key(cls, top, key): the field, or NULL if unknown. */
const struct coffre_field *coffre_field_by_key(int cls, int top,
                                               const char *key);
/** coffre_field_by_column(col): the field of CSV column ${col}, or NULL. */
const struct coffre_field *coffre_field_by_column(const char *col);
/** coffre_field_by_tag(cls, tag): the field of a TLV tag, or NULL. */
const struct coffre_field *coffre_field_by_tag(int cls, unsigned tag);
/** coffre_field_by_name(name): the field of a dotted name, or NULL. */
const struct coffre_field *coffre_field_by_name(const char *name);

/* Access to the member of ${p} that ${f} describes. */
char **coffre_field_text(const struct coffre_person *p,
                         const struct coffre_field *f);
struct coffre_strlist *coffre_field_list(const struct coffre_person *p,
                                         const struct coffre_field *f);

/**
 * coffre_field_set(p, f, s, n, diag): set ${f} of ${p} from its text form
 * (${n} bytes at ${s}, not NUL-terminated): text as is (phone without
 * spaces), state by name, photo from standard base64, protected from
 * true/false; a list gets ${s} appended as one item. Marks the class
 * present. COFFRE_ERR_INVALID with ${diag} when the text cannot be a value
 * of ${f} at all (over its cap, NUL byte, bad base64, unknown state).
 */
int coffre_field_set(struct coffre_person *p, const struct coffre_field *f,
                     const char *s, size_t n, struct coffre_diag *diag);

/** coffre_field_clear(p, f): wipe and drop the value of ${f}. */
void coffre_field_clear(struct coffre_person *p, const struct coffre_field *f);

/** coffre_field_has(p, f): 1 if ${f} of ${p} holds a value. */
int coffre_field_has(const struct coffre_person *p,
                     const struct coffre_field *f);

/** coffre_field_diag(d, field, rule): fill ${d} (may be NULL). */
void coffre_field_diag(struct coffre_diag *d, const char *field,
                       const char *rule);

/**
 * coffre_person_take_class(dst, src, cls): move class ${cls} from ${src} to
 * ${dst} (replacing it there, leaving it absent in ${src}); no allocation.
 */
void coffre_person_take_class(struct coffre_person *dst,
                              struct coffre_person *src, int cls);

#endif
