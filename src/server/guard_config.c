/* The "guard" object of the server configuration (docs/guard.md). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "coffre/guard.h"
#include "guard.h"

/*
 * Defaults, per role. The windows are an hour. Office: a clerk works one
 * person at a time, a few dozen an hour; 100 distinct persons an hour is
 * already a lot. Gate: one lane lets a person through every 2 to 3
 * seconds; its offline list of issued badges (public fields only) is the
 * whole file, hence the large list threshold. Vetting pulls its queue in
 * pages. Platform, printer: systems. Auditor, custodian, admin never
 * receive a person (no route of theirs discloses one): a second one
 * suspends.
 */
static const struct guard_limits role_defaults[SRV_ROLE_COUNT] = {
    [SRV_ROLE_PLATFORM] = {50, 200, 0, 0, 3600, 100, 2000},
    [SRV_ROLE_OFFICE] = {10, 50, 150, 600, 3600, 100, 2000},
    [SRV_ROLE_VETTING] = {50, 200, 10000, 50000, 3600, 5000, 10000},
    [SRV_ROLE_GATE] = {50, 100, 3000, 20000, 3600, 1500, 200000},
    [SRV_ROLE_PRINTER] = {20, 100, 2000, 10000, 3600, 1000, 20000},
    [SRV_ROLE_AUDITOR] = {20, 50, 0, 0, 3600, 1, 1},
    [SRV_ROLE_CUSTODIAN] = {20, 50, 0, 0, 3600, 1, 1},
    [SRV_ROLE_ADMIN] = {20, 50, 0, 0, 3600, 1, 1},
};

void
guard_config_defaults(struct guard_config *gc)
{
    memset(gc, 0, sizeof(*gc));
    gc->enabled = 1;
    memcpy(gc->role, role_defaults, sizeof(gc->role));
    gc->alert_timeout_ms = 5000;
    gc->poison_count = -1;
    gc->poison_per = 1000;
    gc->poison_max = 256;
    gc->poison_seed = 0x63616e617279ull; /* "canary" */
}

static int __attribute__((format(printf, 3, 4)))
bad(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return COFFRE_ERR_INVALID;
}

static int
get_num(json_t *v, const char *what, const char *key, double hi, double *out,
        char *err, size_t errlen)
{
    if (!json_is_number(v) || json_number_value(v) < 0 ||
        json_number_value(v) > hi) {
        return bad(err, errlen, "guard.%s.%s: must be a number in [0, %.0f]",
                   what, key, hi);
    }
    *out = json_number_value(v);
    return COFFRE_OK;
}

/* One member of a limits object; the GUARD_SET_* bit it sets, or 0. */
static unsigned
limit_field(struct guard_limits *l, const char *key, json_t *v,
            const char *what, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        unsigned bit;
        double hi;
    } f[] = {
        {"rate", GUARD_SET_RATE, 1e9},
        {"burst", GUARD_SET_BURST, 1e9},
        {"persons_per_hour", GUARD_SET_HOUR, 1e9},
        {"persons_per_day", GUARD_SET_DAY, 1e9},
        {"bulk_window", GUARD_SET_WINDOW, 366.0 * 86400},
        {"bulk_threshold", GUARD_SET_BULK, 10000000},
        {"list_threshold", GUARD_SET_LIST, 10000000},
    };
    double *dst[] = {&l->rate, &l->burst, &l->persons_hour, &l->persons_day,
                     &l->window};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        double x = 0;
        if (strcmp(key, f[i].name) != 0) {
            continue;
        }
        if (get_num(v, what, key, f[i].hi, &x, err, errlen) != COFFRE_OK ||
            (i >= 4 && x != (double)(uint32_t)x) || (i == 4 && x < 1)) {
            bad(err, errlen, "guard.%s.%s: out of range%s", what, key,
                i >= 4 ? " (a whole number, window >= 1)" : "");
            return 0;
        }
        if (i < 5) {
            *dst[i] = x;
        } else if (i == 5) {
            l->bulk_threshold = (uint32_t)x;
        } else {
            l->list_threshold = (uint32_t)x;
        }
        return f[i].bit;
    }
    bad(err, errlen, "guard.%s.%s: unknown key", what, key);
    return 0;
}

static int
parse_limits(json_t *obj, const char *what, struct guard_limits *l,
             unsigned *pset, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    if (!json_is_object(obj)) {
        return bad(err, errlen, "guard.%s: must be an object", what);
    }
    json_object_foreach(obj, key, v)
    {
        unsigned bit = limit_field(l, key, v, what, err, errlen);
        if (bit == 0) {
            return COFFRE_ERR_INVALID;
        }
        *pset |= bit;
    }
    return COFFRE_OK;
}

static int
parse_roles(struct guard_config *gc, json_t *obj, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    if (!json_is_object(obj)) {
        return bad(err, errlen, "guard.roles: must be an object");
    }
    json_object_foreach(obj, key, v)
    {
        int r = srv_role_parse(key);
        if (r < 0) {
            return bad(err, errlen, "guard.roles.%s: unknown role", key);
        }
        int rc =
            parse_limits(v, key, &gc->role[r], &gc->role_set[r], err, errlen);
        if (rc != COFFRE_OK) {
            return rc;
        }
    }
    return COFFRE_OK;
}

static int
parse_principals(struct guard_config *gc, json_t *obj, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    if (!json_is_object(obj) || json_object_size(obj) > GUARD_OVERRIDES_MAX) {
        return bad(err, errlen, "guard.principals: an object of at most %d",
                   GUARD_OVERRIDES_MAX);
    }
    json_object_foreach(obj, key, v)
    {
        struct guard_override *o = &gc->over[gc->nover];
        size_t n = strlen(key);
        if (n == 0 || n > SRV_NAME_MAX) {
            return bad(err, errlen, "guard.principals: bad name");
        }
        memset(o, 0, sizeof(*o));
        memcpy(o->name, key, n + 1);
        int rc = parse_limits(v, key, &o->lim, &o->set, err, errlen);
        if (rc != COFFRE_OK) {
            return rc;
        }
        gc->nover++;
    }
    return COFFRE_OK;
}

static int
get_path(json_t *v, const char *key, char *out, size_t cap, char *err,
         size_t errlen)
{
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    if (n == 0 || n >= cap || strlen(json_string_value(v)) != n) {
        return bad(err, errlen, "guard.%s: a string of 1 to %zu bytes", key,
                   cap - 1);
    }
    memcpy(out, json_string_value(v), n + 1);
    return COFFRE_OK;
}

/* alert_command: an array of strings, the program first (no shell). */
static int
parse_command(struct guard_config *gc, json_t *arr, char *err, size_t errlen)
{
    size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
    if (n == 0 || n > GUARD_ARGV_MAX) {
        return bad(err, errlen,
                   "guard.alert_command: an array of 1 to %d strings, the "
                   "program's absolute path first",
                   GUARD_ARGV_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        if (get_path(json_array_get(arr, i), "alert_command", gc->alert_argv[i],
                     SRV_PATH_MAX, err, errlen) != 0) {
            return COFFRE_ERR_INVALID;
        }
    }
    if (gc->alert_argv[0][0] != '/') {
        return bad(err, errlen, "guard.alert_command: absolute path first");
    }
    gc->alert_argc = n;
    return COFFRE_OK;
}

static int
get_uint(json_t *v, const char *key, json_int_t lo, json_int_t hi,
         json_int_t *out, char *err, size_t errlen)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi) {
        return bad(err, errlen, "guard.%s: an integer in [%lld, %lld]", key,
                   (long long)lo, (long long)hi);
    }
    *out = json_integer_value(v);
    return COFFRE_OK;
}

static int
parse_poison(struct guard_config *gc, json_t *obj, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_int_t x = 0;
    int rc = COFFRE_OK;
    if (!json_is_object(obj)) {
        return bad(err, errlen, "guard.poison: must be an object");
    }
    json_object_foreach(obj, key, v)
    {
        if (strcmp(key, "count") == 0) {
            rc = get_uint(v, "poison.count", 0, COFFRE_POISON_MAX, &x, err,
                          errlen);
            gc->poison_count = (long)x;
        } else if (strcmp(key, "per_persons") == 0) {
            rc = get_uint(v, "poison.per_persons", 10, 10000000, &x, err,
                          errlen);
            gc->poison_per = (unsigned)x;
        } else if (strcmp(key, "max") == 0) {
            rc = get_uint(v, "poison.max", 0, COFFRE_POISON_MAX, &x, err,
                          errlen);
            gc->poison_max = (unsigned)x;
        } else if (strcmp(key, "seed") == 0) {
            rc = get_uint(v, "poison.seed", 0, INT64_MAX, &x, err, errlen);
            gc->poison_seed = (uint64_t)x;
        } else if (strcmp(key, "custodian_file") == 0) {
            rc = get_path(v, "poison.custodian_file", gc->poison_file,
                          sizeof(gc->poison_file), err, errlen);
        } else {
            return bad(err, errlen, "guard.poison.%s: unknown key", key);
        }
        if (rc != COFFRE_OK) {
            return rc;
        }
    }
    return COFFRE_OK;
}

static int
parse_member(struct guard_config *gc, const char *key, json_t *v, char *err,
             size_t errlen)
{
    json_int_t x = 0;
    if (strcmp(key, "enabled") == 0) {
        if (!json_is_boolean(v)) {
            return bad(err, errlen, "guard.enabled: true or false");
        }
        gc->enabled = json_is_true(v);
        return COFFRE_OK;
    } else if (strcmp(key, "roles") == 0) {
        return parse_roles(gc, v, err, errlen);
    } else if (strcmp(key, "principals") == 0) {
        return parse_principals(gc, v, err, errlen);
    } else if (strcmp(key, "alert_command") == 0) {
        return parse_command(gc, v, err, errlen);
    } else if (strcmp(key, "alert_timeout_ms") == 0) {
        int rc = get_uint(v, key, 10, 600000, &x, err, errlen);
        gc->alert_timeout_ms = (unsigned)x;
        return rc;
    } else if (strcmp(key, "poison") == 0) {
        return parse_poison(gc, v, err, errlen);
    } else if (strcmp(key, "state_file") == 0) {
        return get_path(v, key, gc->state_file, sizeof(gc->state_file), err,
                        errlen);
    }
    return bad(err, errlen, "guard.%s: unknown key", key);
}

int
guard_config_parse(struct guard_config *gc, json_t *obj, char *err,
                   size_t errlen)
{
    const char *key;
    json_t *v;
    if (!json_is_object(obj)) {
        return bad(err, errlen, "guard: must be an object");
    }
    json_object_foreach(obj, key, v)
    {
        int rc = parse_member(gc, key, v, err, errlen);
        if (rc != COFFRE_OK) {
            return rc;
        }
    }
    return COFFRE_OK;
}

struct guard_limits
guard_limits_of(const struct guard_config *gc, const struct srv_principal *who)
{
    struct guard_limits l = gc->role[who->role];
    for (size_t i = 0; i < gc->nover; i++) {
        const struct guard_override *o = &gc->over[i];
        if (strcmp(o->name, who->name) != 0) {
            continue;
        }
        l.rate = (o->set & GUARD_SET_RATE) ? o->lim.rate : l.rate;
        l.burst = (o->set & GUARD_SET_BURST) ? o->lim.burst : l.burst;
        l.persons_hour =
            (o->set & GUARD_SET_HOUR) ? o->lim.persons_hour : l.persons_hour;
        l.persons_day =
            (o->set & GUARD_SET_DAY) ? o->lim.persons_day : l.persons_day;
        l.window = (o->set & GUARD_SET_WINDOW) ? o->lim.window : l.window;
        l.bulk_threshold = (o->set & GUARD_SET_BULK) ? o->lim.bulk_threshold
                                                     : l.bulk_threshold;
        l.list_threshold = (o->set & GUARD_SET_LIST) ? o->lim.list_threshold
                                                     : l.list_threshold;
    }
    return l;
}

static struct guard_config dflt;

static void
fill_default(void)
{
    guard_config_defaults(&dflt);
}

const struct guard_config *
guard_config_default(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fill_default);
    return &dflt;
}

unsigned
guard_poison_due(const struct guard_config *gc, uint64_t persons, size_t have)
{
    uint64_t want = gc->poison_count >= 0 ? (uint64_t)gc->poison_count
                                          : persons / gc->poison_per;
    if (gc->poison_count < 0 && want > gc->poison_max) {
        want = gc->poison_max;
    }
    want = want > COFFRE_POISON_MAX ? COFFRE_POISON_MAX : want;
    return want > have ? (unsigned)(want - have) : 0;
}
