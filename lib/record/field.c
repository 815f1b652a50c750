/*
 * The field table and the generic accessors over it. Tag numbers and column
 * names are normative (docs/formats.md): never renumber, only append.
 */
#include "record/field.h"

#include <string.h>

#include <sodium.h>

#include "record/rules.h"
#include "util/secmem.h"

#define OFF(m) offsetof(struct coffre_person, m)
#define PUB COFFRE_CLASS_PUBLIC
#define IDN COFFRE_CLASS_IDENTITY
#define CON COFFRE_CLASS_CONTACT
#define DOC COFFRE_CLASS_DOCUMENT
#define PHO COFFRE_CLASS_PHOTO
#define VET COFFRE_CLASS_VETTING
#define T COFFRE_FK_TEXT
#define L COFFRE_FK_LIST

/* In JSON key order; tags count from 1 within each class. */
const struct coffre_field coffre_fields[] = {
    {"source_key", "source_key", "source_key", PUB, 11, T, 1, 0,
     OFF(source_key), COFFRE_MAX_SOURCE_KEY, 0, NULL},
    {"protected", "protected", "protected", PUB, 10, COFFRE_FK_BOOL, 1, 0,
     OFF(is_protected), 1, 0, NULL},
    {"public.category", "category", "category", PUB, 1, T, 0, 1, OFF(category),
     32, 0, coffre_rule_category},
    {"public.organisation", "organisation", "organisation", PUB, 2, T, 0, 1,
     OFF(organisation), COFFRE_MAX_TEXT, 0, NULL},
    {"public.function", "function", "function", PUB, 3, T, 0, 0, OFF(function),
     COFFRE_MAX_TEXT, 0, NULL},
    {"public.venues", "venues", "venues", PUB, 4, L, 0, 0, OFF(venues),
     COFFRE_MAX_CODE, COFFRE_MAX_LIST, coffre_rule_place_code},
    {"public.zones", "zones", "zones", PUB, 5, L, 0, 0, OFF(zones),
     COFFRE_MAX_CODE, COFFRE_MAX_LIST, coffre_rule_place_code},
    {"public.transport_code", "transport_code", "transport_code", PUB, 6, T, 0,
     0, OFF(transport_code), 8, 0, coffre_rule_transport},
    {"public.valid_from", "valid_from", "valid_from", PUB, 7, T, 0, 1,
     OFF(valid_from), 10, 0, coffre_rule_date},
    {"public.valid_until", "valid_until", "valid_until", PUB, 8, T, 0, 1,
     OFF(valid_until), 10, 0, coffre_rule_date},
    {"public.state", "state", "state", PUB, 9, COFFRE_FK_STATE, 0, 0,
     OFF(state), 16, 0, NULL},
    {"identity.surname", "surname", "surname", IDN, 1, T, 0, 1, OFF(surname),
     COFFRE_MAX_TEXT, 0, NULL},
    {"identity.given_names", "given_names", "given_names", IDN, 2, T, 0, 1,
     OFF(given_names), COFFRE_MAX_TEXT, 0, NULL},
    {"identity.sex", "sex", "sex", IDN, 3, T, 0, 1, OFF(sex), 1, 0,
     coffre_rule_sex},
    {"identity.birth_date", "birth_date", "birth_date", IDN, 4, T, 0, 1,
     OFF(birth_date), 10, 0, coffre_rule_date},
    {"identity.birth_place", "birth_place", "birth_place", IDN, 5, T, 0, 1,
     OFF(birth_place), COFFRE_MAX_TEXT, 0, NULL},
    {"identity.birth_country", "birth_country", "birth_country", IDN, 6, T, 0,
     1, OFF(birth_country), 3, 0, coffre_rule_country},
    {"identity.nationalities", "nationalities", "nationalities", IDN, 7, L, 0,
     1, OFF(nationalities), 3, COFFRE_MAX_NATIONALITIES, coffre_rule_country},
    {"contact.address", "address", "address", CON, 1, T, 0, 1, OFF(address),
     COFFRE_MAX_ADDRESS, 0, NULL},
    {"contact.postal_code", "postal_code", "postal_code", CON, 2, T, 0, 1,
     OFF(postal_code), COFFRE_MAX_CODE, 0, NULL},
    {"contact.city", "city", "city", CON, 3, T, 0, 1, OFF(city),
     COFFRE_MAX_TEXT, 0, NULL},
    {"contact.country", "country", "country", CON, 4, T, 0, 1, OFF(country), 3,
     0, coffre_rule_country},
    {"contact.email", "email", "email", CON, 5, T, 0, 0, OFF(email),
     COFFRE_MAX_EMAIL, 0, coffre_rule_email},
    {"contact.phone", "phone", "phone", CON, 6, T, 0, 0, OFF(phone), 16, 0,
     coffre_rule_phone},
    {"document.type", "type", "doc_type", DOC, 1, T, 0, 1, OFF(doc_type), 32, 0,
     coffre_rule_doc_type},
    {"document.number", "number", "doc_number", DOC, 2, T, 0, 1,
     OFF(doc_number), COFFRE_MAX_DOCNUM, 0, coffre_rule_doc_number},
    {"document.country", "country", "doc_country", DOC, 3, T, 0, 1,
     OFF(doc_country), 3, 0, coffre_rule_country},
    {"document.expiry", "expiry", "doc_expiry", DOC, 4, T, 0, 1,
     OFF(doc_expiry), 10, 0, coffre_rule_date},
    {"photo.jpeg", "jpeg", "photo_jpeg_base64", PHO, 1, COFFRE_FK_PHOTO, 0, 1,
     OFF(photo), COFFRE_MAX_PHOTO, 0, NULL},
    {"vetting.status", "status", "vetting_status", VET, 1, T, 0, 1,
     OFF(vetting_status), 16, 0, coffre_rule_vetting},
    {"vetting.decided_at", "decided_at", "vetting_decided_at", VET, 2, T, 0, 0,
     OFF(vetting_decided_at), 20, 0, coffre_rule_datetime},
    {"vetting.decided_by", "decided_by", "vetting_decided_by", VET, 3, T, 0, 0,
     OFF(vetting_decided_by), COFFRE_MAX_TEXT, 0, NULL},
};
const size_t coffre_fields_count =
    sizeof(coffre_fields) / sizeof(coffre_fields[0]);

const struct coffre_field *
coffre_field_by_key(int cls, int top, const char *key)
{
    for (size_t i = 0; i < coffre_fields_count; i++) {
        const struct coffre_field *f = &coffre_fields[i];
        if ((top ? f->top : (!f->top && f->cls == cls)) &&
            strcmp(f->key, key) == 0) {
            return f;
        }
    }
    return NULL;
}

const struct coffre_field *
coffre_field_by_column(const char *col)
{
    for (size_t i = 0; i < coffre_fields_count; i++) {
        if (strcmp(coffre_fields[i].column, col) == 0) {
            return &coffre_fields[i];
        }
    }
    return NULL;
}

const struct coffre_field *
coffre_field_by_tag(int cls, unsigned tag)
{
    for (size_t i = 0; i < coffre_fields_count; i++) {
        if (coffre_fields[i].cls == cls && coffre_fields[i].tag == tag) {
            return &coffre_fields[i];
        }
    }
    return NULL;
}

const struct coffre_field *
coffre_field_by_name(const char *name)
{
    for (size_t i = 0; i < coffre_fields_count; i++) {
        if (strcmp(coffre_fields[i].name, name) == 0) {
            return &coffre_fields[i];
        }
    }
    return NULL;
}

char **
coffre_field_text(const struct coffre_person *p, const struct coffre_field *f)
{
    return (char **)(void *)((const char *)p + f->off);
}

struct coffre_strlist *
coffre_field_list(const struct coffre_person *p, const struct coffre_field *f)
{
    return (struct coffre_strlist *)(void *)((const char *)p + f->off);
}

void
coffre_field_diag(struct coffre_diag *d, const char *field, const char *rule)
{
    if (d == NULL) {
        return;
    }
    snprintf(d->field, sizeof(d->field), "%s", field);
    snprintf(d->rule, sizeof(d->rule), "%s", rule);
}

static int
set_invalid(const struct coffre_field *f, struct coffre_diag *diag,
            const char *rule)
{
    coffre_field_diag(diag, f->name, rule);
    return COFFRE_ERR_INVALID;
}

static char *
dup_value(const struct coffre_field *f, const char *s, size_t n)
{
    char *d;
    size_t j = 0;

    d = coffre_pmem_alloc(n + 1);
    if (d == NULL) {
        return NULL;
    }
    /* Phone numbers are accepted with spaces and stored bare. */
    for (size_t i = 0; i < n; i++) {
        if (!(f->check == coffre_rule_phone && s[i] == ' ')) {
            d[j++] = s[i];
        }
    }
    d[j] = '\0';
    return d;
}

static int
set_list_item(struct coffre_person *p, const struct coffre_field *f,
              const char *s, size_t n, struct coffre_diag *diag)
{
    struct coffre_strlist *l = coffre_field_list(p, f);
    char **v;

    if (l->n >= f->max_items) {
        return set_invalid(f, diag,
                           f->max_items == COFFRE_MAX_LIST
                               ? "must have at most 32 items"
                               : "must have 1 to 4 distinct items");
    }
    v = coffre_pmem_realloc(l->v, (l->n + 1) * sizeof(*v));
    if (v == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    l->v = v;
    if ((v[l->n] = dup_value(f, s, n)) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    l->n++;
    return COFFRE_OK;
}

/* libsodium 1.0.18 takes some bytes >= 0x80 for base64 digits (found by
 * fuzz_note): check the alphabet and padding ourselves first. */
static int
base64_alphabet_ok(const char *s, size_t n)
{
    size_t pad = 0;

    if (n % 4 != 0) {
        return 0;
    }
    while (pad < 2 && pad < n && s[n - 1 - pad] == '=') {
        pad++;
    }
    for (size_t i = 0; i < n - pad; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '+' || c == '/')) {
            return 0;
        }
    }
    return 1;
}

static int
set_photo(struct coffre_person *p, const char *s, size_t n,
          struct coffre_diag *diag, const struct coffre_field *f)
{
    size_t cap = n / 4 * 3 + 3, len = 0;
    const char *end = NULL;
    unsigned char *bin;

    if (n > (COFFRE_MAX_PHOTO + 2) / 3 * 4) {
        return set_invalid(f, diag, "must be at most 262144 bytes");
    }
    if (!base64_alphabet_ok(s, n)) {
        return set_invalid(f, diag, "must be standard base64");
    }
    if ((bin = coffre_pmem_alloc(cap)) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    if (sodium_base642bin(bin, cap, s, n, NULL, &len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != s + n) {
        coffre_pmem_free(bin);
        return set_invalid(f, diag, "must be standard base64");
    }
    coffre_pmem_free(p->photo);
    p->photo = bin;
    p->photo_len = len;
    return COFFRE_OK;
}

static int
set_scalar(struct coffre_person *p, const struct coffre_field *f, const char *s,
           size_t n, struct coffre_diag *diag)
{
    char **slot = coffre_field_text(p, f);
    char *v;

    if (f->kind == COFFRE_FK_BOOL) {
        if (n == 4 && memcmp(s, "true", 4) == 0) {
            p->is_protected = 1;
        } else if (n == 5 && memcmp(s, "false", 5) == 0) {
            p->is_protected = 0;
        } else {
            return set_invalid(f, diag, "must be true or false");
        }
        return COFFRE_OK;
    }
    if (f->kind == COFFRE_FK_STATE) {
        char name[16];
        int st = -1;
        if (n < sizeof(name)) {
            memcpy(name, s, n);
            name[n] = '\0';
            st = coffre_state_parse(name);
        }
        if (st < 0) {
            return set_invalid(f, diag, "must be a lifecycle state name");
        }
        p->state = st;
        return COFFRE_OK;
    }
    if ((v = dup_value(f, s, n)) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    coffre_pmem_free(*slot);
    *slot = v;
    return COFFRE_OK;
}

int
coffre_field_set(struct coffre_person *p, const struct coffre_field *f,
                 const char *s, size_t n, struct coffre_diag *diag)
{
    int rc;

    /* A NUL would silently cut the value short once stored as a C string. */
    if (memchr(s, '\0', n) != NULL) {
        return set_invalid(f, diag, "must not contain control characters");
    }
    /* Refuse before allocating: caps bound memory. Values with a syntax
     * rule get some slack so that the rule, not the cap, is reported. */
    if ((f->kind == COFFRE_FK_TEXT || f->kind == COFFRE_FK_LIST) &&
        n > (f->check != NULL ? 256 : f->max)) {
        char rule[64];
        snprintf(rule, sizeof(rule), "must be at most %zu bytes", f->max);
        return set_invalid(f, diag, rule);
    }
    if (f->kind == COFFRE_FK_LIST) {
        rc = set_list_item(p, f, s, n, diag);
    } else if (f->kind == COFFRE_FK_PHOTO) {
        rc = set_photo(p, s, n, diag, f);
    } else {
        rc = set_scalar(p, f, s, n, diag);
    }
    if (rc == COFFRE_OK) {
        p->classes |= COFFRE_CLASS_BIT(f->cls);
    }
    return rc;
}

void
coffre_field_clear(struct coffre_person *p, const struct coffre_field *f)
{
    struct coffre_strlist *l;

    switch (f->kind) {
    case COFFRE_FK_TEXT:
        coffre_pmem_free(*coffre_field_text(p, f));
        *coffre_field_text(p, f) = NULL;
        break;
    case COFFRE_FK_LIST:
        l = coffre_field_list(p, f);
        for (size_t i = 0; i < l->n; i++) {
            coffre_pmem_free(l->v[i]);
        }
        coffre_pmem_free(l->v);
        l->v = NULL;
        l->n = 0;
        break;
    case COFFRE_FK_PHOTO:
        coffre_pmem_free(p->photo);
        p->photo = NULL;
        p->photo_len = 0;
        break;
    case COFFRE_FK_STATE:
        p->state = COFFRE_STATE_SUBMITTED;
        break;
    default:
        p->is_protected = 0;
        break;
    }
}

int
coffre_field_has(const struct coffre_person *p, const struct coffre_field *f)
{
    switch (f->kind) {
    case COFFRE_FK_TEXT:
        return *coffre_field_text(p, f) != NULL;
    case COFFRE_FK_LIST:
        return coffre_field_list(p, f)->n != 0;
    case COFFRE_FK_PHOTO:
        return p->photo != NULL;
    default:
        return 1;
    }
}
