/* Validation of persons against the rules of docs/formats.md. */
#include <stdio.h>
#include <string.h>

#include "record/field.h"
#include "record/record.h"
#include "record/rules.h"

static int
fail(struct coffre_diag *d, const char *field, const char *rule)
{
    coffre_field_diag(d, field, rule);
    return COFFRE_ERR_INVALID;
}

/* One string value: the text rules, then the field's own syntax. */
static const char *
check_value(const struct coffre_field *f, const char *s, char *rule,
            size_t rulecap)
{
    const char *bad = coffre_rule_text(s, f->max, rule, rulecap);

    /* A syntax rule says more than "too long" (a date of 11 bytes). */
    if ((bad == NULL || bad == rule) && f->check != NULL &&
        f->check(s) != NULL) {
        bad = f->check(s);
    }
    return bad;
}

static int
check_list(const struct coffre_field *f, const struct coffre_strlist *l,
           struct coffre_diag *d)
{
    char rule[64];
    const char *bad;
    int distinct = f->check == coffre_rule_country;

    if (l->n > f->max_items) {
        return fail(d, f->name,
                    distinct ? "must have 1 to 4 distinct items"
                             : "must have at most 32 items");
    }
    for (size_t i = 0; i < l->n; i++) {
        if ((bad = check_value(f, l->v[i], rule, sizeof(rule))) != NULL) {
            return fail(d, f->name, bad);
        }
        for (size_t j = 0; distinct && j < i; j++) {
            if (strcmp(l->v[i], l->v[j]) == 0) {
                return fail(d, f->name, "must have 1 to 4 distinct items");
            }
        }
    }
    return COFFRE_OK;
}

static int
check_field(const struct coffre_person *p, const struct coffre_field *f,
            struct coffre_diag *d)
{
    char rule[64];
    const char *bad = NULL, *s;

    if (!coffre_field_has(p, f)) {
        if (!f->required) {
            return COFFRE_OK;
        }
        return fail(d, f->name,
                    f->kind == COFFRE_FK_LIST
                        ? "must have 1 to 4 distinct items"
                        : "is required");
    }
    switch (f->kind) {
    case COFFRE_FK_TEXT:
        s = *coffre_field_text(p, f);
        bad = check_value(f, s, rule, sizeof(rule));
        break;
    case COFFRE_FK_LIST:
        return check_list(f, coffre_field_list(p, f), d);
    case COFFRE_FK_PHOTO:
        bad = coffre_rule_jpeg(p->photo, p->photo_len);
        break;
    case COFFRE_FK_STATE:
        if (p->state < 0 || p->state >= COFFRE_STATE_COUNT) {
            bad = "must be a lifecycle state name";
        }
        break;
    default:
        if (p->is_protected != 0 && p->is_protected != 1) {
            bad = "must be true or false";
        }
        break;
    }
    return bad != NULL ? fail(d, f->name, bad) : COFFRE_OK;
}

/* Rules between fields of one class, checked once each field is valid. */
static int
check_cross(const struct coffre_person *p, int cls, struct coffre_diag *d)
{
    char today[11];

    if (cls == COFFRE_CLASS_PUBLIC) {
        if (strcmp(p->valid_from, p->valid_until) > 0) {
            return fail(d, "public.valid_until",
                        "must not be before valid_from");
        }
        if (!p->is_protected &&
            (strcmp(p->category, "security_force") == 0 ||
             strcmp(p->category, "public_authority") == 0)) {
            return fail(d, "protected",
                        "must be true for security_force and "
                        "public_authority");
        }
    } else if (cls == COFFRE_CLASS_IDENTITY) {
        coffre_rule_today(today);
        if (strcmp(p->birth_date, today) > 0) {
            return fail(d, "identity.birth_date", "must not be in the future");
        }
    }
    return COFFRE_OK;
}

int
coffre_person_validate_class(const struct coffre_person *p, int cls,
                             struct coffre_diag *d)
{
    int rc;

    if (cls < 0 || cls >= COFFRE_CLASS_COUNT) {
        return COFFRE_ERR_ARG;
    }
    for (size_t i = 0; i < coffre_fields_count; i++) {
        if (coffre_fields[i].cls == cls &&
            (rc = check_field(p, &coffre_fields[i], d)) != COFFRE_OK) {
            return rc;
        }
    }
    return check_cross(p, cls, d);
}

int
coffre_person_validate(const struct coffre_person *p, struct coffre_diag *d)
{
    int rc;

    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        if ((p->classes & COFFRE_CLASS_BIT(c)) &&
            (rc = coffre_person_validate_class(p, c, d)) != COFFRE_OK) {
            return rc;
        }
    }
    return COFFRE_OK;
}

int
coffre_person_validate_new(const struct coffre_person *p, struct coffre_diag *d)
{
    if (!(p->classes & COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC))) {
        return fail(d, "public", "is required");
    }
    if (!(p->classes & COFFRE_CLASS_BIT(COFFRE_CLASS_IDENTITY))) {
        return fail(d, "identity", "is required");
    }
    return coffre_person_validate(p, d);
}
