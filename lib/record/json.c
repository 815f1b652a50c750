/* The JSON object form of a person (docs/formats.md), with jansson. */
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "record/field.h"
#include "record/record.h"
#include "util/buf.h"
#include "util/secmem.h"

/* The first allocation of a record's JSON text: 2 KiB with its NUL. */
#define JSON_FIRST_ROOM 2047u

static int
invalid(struct coffre_diag *d, const char *field, const char *rule)
{
    coffre_field_diag(d, field, rule);
    return COFFRE_ERR_INVALID;
}

static int
set_value(struct coffre_person *p, const struct coffre_field *f, json_t *v,
          struct coffre_diag *d)
{
    size_t i;
    json_t *item;
    int rc;

    if (f->kind == COFFRE_FK_BOOL) {
        if (!json_is_boolean(v)) {
            return invalid(d, f->name, "must be true or false");
        }
        return coffre_field_set(p, f, json_is_true(v) ? "true" : "false",
                                json_is_true(v) ? 4 : 5, d);
    }
    if (f->kind == COFFRE_FK_LIST) {
        if (!json_is_array(v)) {
            return invalid(d, f->name, "must be an array of strings");
        }
        /* An empty list is the same as no list; the class is present
         * because its object is. */
        json_array_foreach(v, i, item)
        {
            if (!json_is_string(item)) {
                return invalid(d, f->name, "must be an array of strings");
            }
            rc = coffre_field_set(p, f, json_string_value(item),
                                  json_string_length(item), d);
            if (rc != COFFRE_OK) {
                return rc;
            }
        }
        return COFFRE_OK;
    }
    if (!json_is_string(v)) {
        return invalid(d, f->name, "must be a string");
    }
    return coffre_field_set(p, f, json_string_value(v), json_string_length(v),
                            d);
}

static int
set_class(struct coffre_person *p, int cls, json_t *obj, struct coffre_diag *d)
{
    const struct coffre_field *f;
    const char *key;
    char name[64];
    json_t *v;
    int rc;

    if (!json_is_object(obj)) {
        return invalid(d, coffre_class_name(cls), "must be an object");
    }
    p->classes |= COFFRE_CLASS_BIT(cls);
    json_object_foreach(obj, key, v)
    {
        if ((f = coffre_field_by_key(cls, 0, key)) == NULL) {
            snprintf(name, sizeof(name), "%s.%s", coffre_class_name(cls), key);
            return invalid(d, name, "unknown field");
        }
        if ((rc = set_value(p, f, v, d)) != COFFRE_OK) {
            return rc;
        }
    }
    return COFFRE_OK;
}

static int
set_person(struct coffre_person *p, json_t *root, struct coffre_diag *d)
{
    const struct coffre_field *f;
    const char *key;
    json_t *v;
    int rc, cls;

    if (!json_is_object(root)) {
        return invalid(d, "", "must be a JSON object");
    }
    json_object_foreach(root, key, v)
    {
        if ((f = coffre_field_by_key(-1, 1, key)) != NULL) {
            rc = set_value(p, f, v, d);
        } else if ((cls = coffre_class_parse(key)) >= 0) {
            rc = set_class(p, cls, v, d);
        } else {
            rc = invalid(d, key, "unknown field");
        }
        if (rc != COFFRE_OK) {
            return rc;
        }
    }
    return COFFRE_OK;
}

static int
parse_fail(const json_error_t *err, struct coffre_diag *d)
{
    char rule[80];

    /* jansson's own text quotes the input: name the kind and place only. */
    snprintf(rule, sizeof(rule), "%s at byte %d",
             json_error_code(err) == json_error_duplicate_key
                 ? "duplicate key"
                 : "malformed JSON",
             err->position);
    coffre_field_diag(d, "", rule);
    return COFFRE_ERR_PARSE;
}

int
coffre_person_from_json(const char *json, size_t len, struct coffre_person **pp,
                        struct coffre_diag *diag)
{
    struct coffre_person *p = NULL;
    json_error_t err;
    json_t *root = NULL;
    int rc;

    if (diag != NULL) {
        memset(diag, 0, sizeof(*diag));
    }
    if (json == NULL || pp == NULL) {
        return COFFRE_ERR_ARG;
    }
    *pp = NULL;
    if (len > COFFRE_MAX_JSON) {
        coffre_field_diag(diag, "", "must be at most 524288 bytes");
        return COFFRE_ERR_TOOBIG;
    }
    if ((root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err)) == NULL) {
        return parse_fail(&err, diag);
    }
    if ((p = coffre_person_new()) == NULL) {
        rc = COFFRE_ERR_NOMEM;
        goto out;
    }
    if ((rc = set_person(p, root, diag)) != COFFRE_OK ||
        (rc = coffre_person_validate(p, diag)) != COFFRE_OK) {
        goto out;
    }
    *pp = p;
    p = NULL;
out:
    coffre_person_free(p);
    json_decref(root);
    return rc;
}

static json_t *
photo_value(const struct coffre_person *p)
{
    size_t n =
        sodium_base64_ENCODED_LEN(p->photo_len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = coffre_pmem_alloc(n);
    json_t *v;

    if (b64 == NULL) {
        return NULL;
    }
    sodium_bin2base64(b64, n, p->photo, p->photo_len,
                      sodium_base64_VARIANT_ORIGINAL);
    v = json_string(b64);
    coffre_pmem_free(b64);
    return v;
}

static json_t *
field_value(const struct coffre_person *p, const struct coffre_field *f)
{
    const struct coffre_strlist *l;
    json_t *a;

    switch (f->kind) {
    case COFFRE_FK_TEXT:
        return json_string(*coffre_field_text(p, f));
    case COFFRE_FK_LIST:
        l = coffre_field_list(p, f);
        if ((a = json_array()) == NULL) {
            return NULL;
        }
        for (size_t i = 0; i < l->n; i++) {
            if (json_array_append_new(a, json_string(l->v[i])) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    case COFFRE_FK_PHOTO:
        return photo_value(p);
    case COFFRE_FK_STATE:
        return json_string(coffre_state_name(p->state));
    default:
        return json_boolean(p->is_protected);
    }
}

/* Adds the fields of class ${cls} that ${p} holds, top-level ones to
 * ${root} and the others to a class object. */
static int
add_class(json_t *root, const struct coffre_person *p, int cls)
{
    json_t *obj = json_object();

    if (obj == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    for (size_t i = 0; i < coffre_fields_count; i++) {
        const struct coffre_field *f = &coffre_fields[i];
        if (f->cls != cls || !coffre_field_has(p, f)) {
            continue;
        }
        if (json_object_set_new(f->top ? root : obj, f->key,
                                field_value(p, f)) != 0) {
            json_decref(obj);
            return COFFRE_ERR_NOMEM;
        }
    }
    if (json_object_set_new(root, coffre_class_name(cls), obj) != 0) {
        return COFFRE_ERR_NOMEM;
    }
    return COFFRE_OK;
}

static int
dump_cb(const char *buf, size_t size, void *data)
{
    return coffre_buf_add(data, buf, size) == COFFRE_OK ? 0 : -1;
}

int
coffre_person_to_json(const struct coffre_person *p, unsigned classes,
                      char **pjson)
{
    struct coffre_buf b;
    json_t *root;
    int rc = COFFRE_OK;

    if (p == NULL || pjson == NULL) {
        return COFFRE_ERR_ARG;
    }
    *pjson = NULL;
    if ((root = json_object()) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    for (int c = 0; c < COFFRE_CLASS_COUNT && rc == COFFRE_OK; c++) {
        if (classes & p->classes & COFFRE_CLASS_BIT(c)) {
            rc = add_class(root, p, c);
        }
    }
    /* Into a wiping buffer whatever allocator jansson was given; sized
     * for a usual record at once rather than grown (and wiped) by
     * doubling from 64 bytes. */
    coffre_buf_init(&b, 2 * COFFRE_MAX_JSON);
    if (rc == COFFRE_OK &&
        coffre_buf_reserve(&b, JSON_FIRST_ROOM) != COFFRE_OK) {
        rc = COFFRE_ERR_NOMEM;
    }
    if (rc == COFFRE_OK &&
        (json_dump_callback(root, dump_cb, &b,
                            JSON_COMPACT | JSON_PRESERVE_ORDER) != 0 ||
         coffre_buf_cstr(&b) == NULL)) {
        rc = COFFRE_ERR_NOMEM;
    }
    json_decref(root);
    if (rc != COFFRE_OK) {
        coffre_buf_free(&b);
        return rc;
    }
    *pjson = coffre_buf_cstr(&b);
    return COFFRE_OK;
}
