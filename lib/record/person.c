/* Persons: allocation, classes, deep copy. */
#include <string.h>

#include "record/field.h"
#include "record/record.h"
#include "util/secmem.h"

const char *const coffre_record_categories[] = {
    "athlete",
    "team_official",
    "technical_official",
    "media",
    "broadcaster",
    "organising_staff",
    "volunteer",
    "contractor",
    "olympic_family",
    "security_force",
    "public_authority",
    "medical",
    "transport",
    NULL,
};

struct coffre_person *
coffre_person_new(void)
{
    /* pmem: the struct holds pointers only, but photo_len and the flags
     * are personal data too. */
    return coffre_pmem_calloc(1, sizeof(struct coffre_person));
}

void
coffre_person_clear_class(struct coffre_person *p, int cls)
{
    if (p == NULL || cls < 0 || cls >= COFFRE_CLASS_COUNT) {
        return;
    }
    for (size_t i = 0; i < coffre_fields_count; i++) {
        if (coffre_fields[i].cls == cls) {
            coffre_field_clear(p, &coffre_fields[i]);
        }
    }
    p->classes &= ~COFFRE_CLASS_BIT(cls);
}

void
coffre_person_free(struct coffre_person *p)
{
    if (p == NULL) {
        return;
    }
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        coffre_person_clear_class(p, c);
    }
    coffre_pmem_free(p);
}

unsigned
coffre_person_classes(const struct coffre_person *p)
{
    return p != NULL ? p->classes : 0;
}

int
coffre_person_state(const struct coffre_person *p)
{
    return p != NULL ? p->state : -1;
}

void
coffre_person_take_class(struct coffre_person *dst, struct coffre_person *src,
                         int cls)
{
    coffre_person_clear_class(dst, cls);
    for (size_t i = 0; i < coffre_fields_count; i++) {
        const struct coffre_field *f = &coffre_fields[i];
        if (f->cls != cls) {
            continue;
        }
        /* Move the member bytes, then zero the source so that freeing it
         * does not free what dst now owns. */
        size_t sz = f->kind == COFFRE_FK_TEXT    ? sizeof(char *)
                    : f->kind == COFFRE_FK_LIST  ? sizeof(struct coffre_strlist)
                    : f->kind == COFFRE_FK_PHOTO ? sizeof(unsigned char *)
                                                 : sizeof(int);
        memcpy((char *)dst + f->off, (char *)src + f->off, sz);
        memset((char *)src + f->off, 0, sz);
        if (f->kind == COFFRE_FK_PHOTO) {
            dst->photo_len = src->photo_len;
            src->photo_len = 0;
        }
    }
    dst->classes |= src->classes & COFFRE_CLASS_BIT(cls);
    src->classes &= ~COFFRE_CLASS_BIT(cls);
}

static int
copy_field(struct coffre_person *d, const struct coffre_person *s,
           const struct coffre_field *f)
{
    const struct coffre_strlist *l;
    char **slot;

    switch (f->kind) {
    case COFFRE_FK_TEXT:
        slot = coffre_field_text(s, f);
        if (*slot != NULL &&
            (*coffre_field_text(d, f) = coffre_pmem_strdup(*slot)) == NULL) {
            return COFFRE_ERR_NOMEM;
        }
        return COFFRE_OK;
    case COFFRE_FK_LIST:
        l = coffre_field_list(s, f);
        for (size_t i = 0; i < l->n; i++) {
            int rc = coffre_field_set(d, f, l->v[i], strlen(l->v[i]), NULL);
            if (rc != COFFRE_OK) {
                return rc;
            }
        }
        return COFFRE_OK;
    case COFFRE_FK_PHOTO:
        if (s->photo != NULL) {
            if ((d->photo = coffre_pmem_alloc(s->photo_len)) == NULL) {
                return COFFRE_ERR_NOMEM;
            }
            memcpy(d->photo, s->photo, s->photo_len);
            d->photo_len = s->photo_len;
        }
        return COFFRE_OK;
    case COFFRE_FK_STATE:
        d->state = s->state;
        return COFFRE_OK;
    default:
        d->is_protected = s->is_protected;
        return COFFRE_OK;
    }
}

int
coffre_person_merge(struct coffre_person *dst, const struct coffre_person *src)
{
    int rc = COFFRE_OK;

    for (int c = 0; c < COFFRE_CLASS_COUNT && rc == COFFRE_OK; c++) {
        if (!(src->classes & COFFRE_CLASS_BIT(c))) {
            continue;
        }
        coffre_person_clear_class(dst, c);
        for (size_t i = 0; i < coffre_fields_count && rc == COFFRE_OK; i++) {
            if (coffre_fields[i].cls == c) {
                rc = copy_field(dst, src, &coffre_fields[i]);
            }
        }
        dst->classes |= COFFRE_CLASS_BIT(c);
    }
    return rc;
}

int
coffre_format_parse(const char *name)
{
    if (name == NULL) {
        return -1;
    }
    if (strcmp(name, "jsonl") == 0) {
        return COFFRE_FORMAT_JSONL;
    }
    if (strcmp(name, "csv") == 0) {
        return COFFRE_FORMAT_CSV;
    }
    return -1;
}
