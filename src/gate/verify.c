/* coffre-gate verify: one badge, one decision, no network. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "badge/upper.h"
#include "coffre/gate.h"
#include "gate_cmd.h"

struct verify_opts {
    const char *venue, *zone, *image, *payload;
    int64_t now;
    int64_t max_age;
    int refuse_stale;
};

static int
parse_i64(const char *s, int64_t *pv)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0) {
        return -1;
    }
    *pv = v;
    return 0;
}

static int
verify_args(struct verify_opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (o->payload != NULL || i + 1 != argc) {
                return -1;
            }
            o->payload = a;
            continue;
        }
        if (v == NULL) {
            return -1;
        }
        i++;
        if (strcmp(a, "--venue") == 0) {
            o->venue = v;
        } else if (strcmp(a, "--zone") == 0) {
            o->zone = v;
        } else if (strcmp(a, "--image") == 0) {
            o->image = v;
        } else if (strcmp(a, "--now") == 0) {
            if (parse_i64(v, &o->now) != 0) {
                return -1;
            }
        } else if (strcmp(a, "--max-age") == 0) {
            if (parse_i64(v, &o->max_age) != 0) {
                return -1;
            }
        } else if (strcmp(a, "--stale") == 0 &&
                   (strcmp(v, "warn") == 0 || strcmp(v, "refuse") == 0)) {
            o->refuse_stale = strcmp(v, "refuse") == 0;
        } else {
            return -1;
        }
    }
    return o->image != NULL && o->payload != NULL ? -1 : 0;
}

/* The badge text: from the argument, an image, or one line of stdin. */
static int
read_payload(const struct verify_opts *o, char *buf, size_t cap)
{
    size_t n;

    if (o->image != NULL) {
        return gate_image_decode(o->image, buf, cap);
    }
    if (o->payload != NULL && strcmp(o->payload, "-") != 0) {
        n = strlen(o->payload);
        if (n >= cap) {
            return -1;
        }
        memcpy(buf, o->payload, n + 1);
        return 0;
    }
    if (fgets(buf, (int)cap, stdin) == NULL) {
        return -1;
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static int
load_gate(const struct gate_conf *c, const struct verify_opts *o,
          struct coffre_gate **pg)
{
    char path[4096];
    uint8_t pk[32];
    int rc;

    if (gate_list_key(c->dir, pk) != 0) {
        fprintf(stderr, "coffre-gate: no list key in %s (run init)\n", c->dir);
        return -1;
    }
    if (coffre_gate_new(pk, pg) != COFFRE_OK) {
        return -1;
    }
    coffre_gate_set_policy(*pg, o->max_age, o->refuse_stale);
    if (gate_path(path, sizeof(path), c->dir, GATE_TRUST) != 0 ||
        (rc = coffre_gate_load_file(*pg, path, 0)) != COFFRE_OK) {
        fprintf(stderr, "coffre-gate: cannot load the trust list %s\n", path);
        return -1;
    }
    /* No revocation list is not fatal: it counts as infinitely stale. */
    if (gate_path(path, sizeof(path), c->dir, GATE_REVOC) == 0) {
        rc = coffre_gate_load_file(*pg, path, 1);
        if (rc != COFFRE_OK && rc != COFFRE_ERR_IO) {
            fprintf(stderr, "coffre-gate: ignoring bad revocation list %s\n",
                    path);
        }
    }
    return 0;
}

static void
print_codes(const struct coffre_gate_decision *d, int zones)
{
    size_t n = zones ? d->n_zones : d->n_venues;

    printf("%s:", zones ? "zones" : "venues");
    for (size_t i = 0; i < n; i++) {
        printf(" %s", zones ? d->zones[i] : d->venues[i]);
    }
    printf("\n");
}

static void
print_date(const char *label, int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) != NULL &&
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0) {
        printf("%s: %s\n", label, buf);
    }
}

static void
print_decision(const struct coffre_gate_decision *d)
{
    if (d->reason == COFFRE_GATE_ACCEPT) {
        printf("ACCEPT\n");
    } else {
        printf("REFUSE: %s\n", coffre_gate_reason_name(d->reason));
    }
    /* A badge whose signature failed shows nothing: its text is forged. */
    if (d->name[0] != '\0') {
        /* in capitals as the issuer writes them, whoever issued it */
        char name[4 * sizeof(d->name)];
        if (coffre_name_upper(d->name, strlen(d->name), name, sizeof(name),
                              0) == 0) {
            strcpy(name, "?");
        }
        printf("name: %s\ncategory: %s\n", name, d->category);
        print_codes(d, 1);
        print_codes(d, 0);
        if (d->transport[0] != '\0') {
            printf("transport: %s\n", d->transport);
        }
        print_date("not before", d->nbf);
        print_date("expires", d->exp);
    }
    if (d->stale && d->reason == COFFRE_GATE_ACCEPT) {
        if (d->list_age < 0) {
            printf("warning: no revocation list on this device\n");
        } else {
            printf("warning: revocation list is %lld s old\n",
                   (long long)d->list_age);
        }
    }
}

int
gate_cmd_verify(const struct gate_conf *c, int argc, char **argv)
{
    struct verify_opts o = {0};
    struct coffre_gate *g = NULL;
    struct coffre_gate_decision d;
    char payload[COFFRE_GATE_MAX_PAYLOAD + 2];
    int status = 2;

    o.now = (int64_t)time(NULL);
    o.max_age = c->max_age;
    o.refuse_stale = c->refuse_stale;
    if (verify_args(&o, argc, argv) != 0) {
        fprintf(stderr, "usage: coffre-gate verify [--venue V] [--zone Z] "
                        "[--now T] [--max-age S] [--stale warn|refuse] "
                        "[--image PNG | PAYLOAD | -]\n");
        return 2;
    }
    if (read_payload(&o, payload, sizeof(payload)) != 0) {
        printf("REFUSE: %s\n", coffre_gate_reason_name(COFFRE_GATE_MALFORMED));
        return 1;
    }
    if (load_gate(c, &o, &g) != 0) {
        goto out;
    }
    if (coffre_gate_verify(g, payload, strlen(payload), o.now, o.venue, o.zone,
                           &d) != COFFRE_OK) {
        goto out;
    }
    print_decision(&d);
    status = d.reason == COFFRE_GATE_ACCEPT ? 0 : 1;
out:
    coffre_gate_free(g);
    return status;
}
