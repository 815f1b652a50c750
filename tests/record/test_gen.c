/*
 * The synthetic generator: every person valid, document numbers and emails
 * unique, deterministic in the seed; and, since it exercises every field,
 * JSON and TLV round trips over many persons.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "coffre/coffre.h"
#include "record/record.h"
#include "util/secmem.h"

#define N 10000

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t
duplicates(char **v, size_t n)
{
    size_t d = 0;

    qsort(v, n, sizeof(*v), cmp_str);
    for (size_t i = 1; i < n; i++) {
        d += strcmp(v[i - 1], v[i]) == 0;
    }
    return d;
}

static void
test_gen_valid_unique(void)
{
    struct coffre_gen_opts o = {.seed = 42, .photos = 1};
    struct coffre_gen *g = NULL;
    struct coffre_person *p;
    struct coffre_diag d;
    char **docs = calloc(N, sizeof(char *)),
         **mails = calloc(N, sizeof(char *));
    size_t nd = 0, nm = 0, invalid = 0, prot = 0, sec = 0;

    CHECK_RC(coffre_gen_new(&o, &g), COFFRE_OK);
    for (int i = 0; i < N; i++) {
        CHECK_RC(coffre_gen_next(g, &p), COFFRE_OK);
        if (coffre_person_validate_new(p, &d) != COFFRE_OK) {
            if (invalid++ < 5) {
                fprintf(stderr, "invalid: %s: %s\n", d.field, d.rule);
            }
        }
        if (p->doc_number != NULL) {
            docs[nd++] = strdup(p->doc_number);
        }
        if (p->email != NULL) {
            mails[nm++] = strdup(p->email);
        }
        prot += (size_t)p->is_protected;
        sec += strcmp(p->category, "security_force") == 0 ||
               strcmp(p->category, "public_authority") == 0;
        coffre_person_free(p);
    }
    CHECK(invalid == 0);
    CHECK(nd > N * 8 / 10 && nm > N * 9 / 10);
    CHECK(duplicates(docs, nd) == 0);
    CHECK(duplicates(mails, nm) == 0);
    CHECK(prot == sec && sec > N * 3 / 100 && sec < N * 7 / 100);
    for (size_t i = 0; i < nd; i++) {
        free(docs[i]);
    }
    for (size_t i = 0; i < nm; i++) {
        free(mails[i]);
    }
    free(docs);
    free(mails);
    coffre_gen_free(g);
}

static char *
json_of(const struct coffre_person *p)
{
    char *j = NULL;

    CHECK_RC(coffre_person_to_json(p, COFFRE_CLASSES_ALL, &j), COFFRE_OK);
    return j;
}

static void
test_gen_deterministic(void)
{
    struct coffre_gen_opts o = {.seed = 7};
    struct coffre_gen *a = NULL, *b = NULL;
    struct coffre_person *pa, *pb;
    int same = 1;

    CHECK_RC(coffre_gen_new(&o, &a), COFFRE_OK);
    CHECK_RC(coffre_gen_new(&o, &b), COFFRE_OK);
    for (int i = 0; i < 100; i++) {
        coffre_gen_next(a, &pa);
        coffre_gen_next(b, &pb);
        char *ja = json_of(pa), *jb = json_of(pb);
        same &= strcmp(ja, jb) == 0;
        coffre_free(ja);
        coffre_free(jb);
        coffre_person_free(pa);
        coffre_person_free(pb);
    }
    CHECK(same);
    coffre_gen_free(a);
    coffre_gen_free(b);
}

/* JSON and every class payload give back the same person. */
static void
test_gen_round_trips(void)
{
    struct coffre_gen_opts o = {.seed = 99, .photos = 1};
    struct coffre_gen *g = NULL;
    struct coffre_person *p, *q, *t;
    struct coffre_buf b;
    struct coffre_diag d;
    int json_ok = 1, tlv_ok = 1;

    CHECK_RC(coffre_gen_new(&o, &g), COFFRE_OK);
    for (int i = 0; i < 2000; i++) {
        coffre_gen_next(g, &p);
        char *j = json_of(p), *j2;
        if (coffre_person_from_json(j, strlen(j), &q, &d) != COFFRE_OK) {
            fprintf(stderr, "from_json: %s: %s\n", d.field, d.rule);
            json_ok = 0;
            coffre_free(j);
            coffre_person_free(p);
            continue;
        }
        j2 = json_of(q);
        json_ok &= strcmp(j, j2) == 0;
        t = coffre_person_new();
        for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
            if (!(p->classes & COFFRE_CLASS_BIT(c))) {
                continue;
            }
            coffre_buf_init(&b, 1u << 20);
            tlv_ok &= coffre_person_encode_class(p, c, &b) == COFFRE_OK;
            tlv_ok &= coffre_person_decode_class(t, c, b.p, b.len) == 0;
            coffre_buf_free(&b);
        }
        coffre_free(j2);
        j2 = json_of(t);
        tlv_ok &= strcmp(j, j2) == 0;
        coffre_free(j);
        coffre_free(j2);
        coffre_person_free(p);
        coffre_person_free(q);
        coffre_person_free(t);
    }
    CHECK(json_ok);
    CHECK(tlv_ok);
    coffre_gen_free(g);
}

/* Dates around the given day, whatever it is (a leap day, a year's end):
 * validity covers it, verdicts before it, documents expire after the
 * validity; the same seed and day give the same persons, another day
 * other dates. Text comparison is date order for YYYY-MM-DD. */
static void
test_gen_today(void)
{
    static const char *const days[] = {"2024-02-29", "2030-12-31",
                                       "2026-01-01"};
    int bad = 0, diff = 0;

    for (size_t k = 0; k < sizeof(days) / sizeof(days[0]); k++) {
        struct coffre_gen_opts o = {.seed = 5};
        struct coffre_gen *g = NULL, *h = NULL;
        const char *t = days[k];

        CHECK_RC(coffre_gen_parse_day(t, &o.today), COFFRE_OK);
        CHECK_RC(coffre_gen_new(&o, &g), COFFRE_OK);
        o.today += 1;
        CHECK_RC(coffre_gen_new(&o, &h), COFFRE_OK);
        for (int i = 0; i < 2000; i++) {
            struct coffre_person *p = NULL, *q = NULL;
            CHECK_RC(coffre_gen_next(g, &p), COFFRE_OK);
            CHECK_RC(coffre_gen_next(h, &q), COFFRE_OK);
            bad +=
                strcmp(p->valid_from, t) > 0 || strcmp(p->valid_until, t) < 0;
            bad += p->vetting_decided_at != NULL &&
                   strncmp(p->vetting_decided_at, t, 10) >= 0;
            bad += p->doc_expiry != NULL &&
                   strcmp(p->doc_expiry, p->valid_until) <= 0;
            bad += coffre_person_validate(p, NULL) != COFFRE_OK;
            diff += strcmp(p->valid_from, q->valid_from) != 0;
            coffre_person_free(p);
            coffre_person_free(q);
        }
        coffre_gen_free(g);
        coffre_gen_free(h);
    }
    CHECK(bad == 0);
    CHECK(diff == 3 * 2000);
}

/* --today's parser: real days only. */
static void
test_gen_parse_day(void)
{
    static const char *const no[] = {
        "2023-02-29", "2024-13-01", "2024-00-10", "2024-1-01", "24-01-01",
        "2024/01/01", "1969-12-31", "2024-01-32", "",          "2024-01-01x"};
    int64_t d = 0;

    CHECK_RC(coffre_gen_parse_day("1970-01-01", &d), COFFRE_OK);
    CHECK(d == 0);
    CHECK_RC(coffre_gen_parse_day("2024-07-26", &d), COFFRE_OK);
    CHECK(d == 19930);
    CHECK_RC(coffre_gen_parse_day("2000-03-01", &d), COFFRE_OK);
    CHECK(d == 11017);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        CHECK_RC(coffre_gen_parse_day(no[i], &d), COFFRE_ERR_PARSE);
    }
    CHECK(coffre_gen_today() > 19930);
}

static void
test_gen_speed(void)
{
    struct coffre_gen_opts o = {.seed = 1};
    struct coffre_gen *g = NULL;
    struct coffre_person *p;
    struct timespec t0, t1;
    int n = 100000;

    CHECK_RC(coffre_gen_new(&o, &g), COFFRE_OK);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        coffre_gen_next(g, &p);
        coffre_person_free(p);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) +
               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* Informative only: this build has sanitizers. */
    printf("generator: %.0f persons/s (sanitized build)\n", n / s);
    CHECK(s > 0);
    coffre_gen_free(g);
}

int
main(void)
{
    coffre_lib_init();
    RUN(test_gen_valid_unique);
    RUN(test_gen_deterministic);
    RUN(test_gen_round_trips);
    RUN(test_gen_today);
    RUN(test_gen_parse_day);
    RUN(test_gen_speed);
    return check_done();
}
