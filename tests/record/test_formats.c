/* JSON Lines and CSV streams: round trips, awkward content, line numbers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "coffre/coffre.h"
#include "record/record.h"
#include "util/secmem.h"

static char *
json_of(const struct coffre_person *p)
{
    char *j = NULL;

    coffre_person_to_json(p, COFFRE_CLASSES_ALL, &j);
    return j;
}

/* Persons with awkward values: quotes, commas, every script. */
static struct coffre_person *
awkward(int i)
{
    static const char *const names[] = {
        "O'Brien, \"Jr\"", "Lefèvre;Dubois", "Σωκράτης", "Фёдоров",
        "王 小明",         "محمد",           "שרה",      "Nguyễn Thị",
        "Żółć \"x\"",      "  spaced  ",
    };
    struct coffre_gen_opts o = {.seed = (uint64_t)i, .photos = i % 2};
    struct coffre_gen *g = NULL;
    struct coffre_person *p = NULL;

    coffre_gen_new(&o, &g);
    coffre_gen_next(g, &p);
    coffre_gen_free(g);
    coffre_pmem_free(p->surname);
    p->surname = coffre_pmem_strdup(names[i % 10]);
    coffre_pmem_free(p->organisation);
    p->organisation = coffre_pmem_strdup("A, \"B\" & C\xe2\x80\x99s");
    return p;
}

static void
round_trip(enum coffre_format fmt, int n)
{
    FILE *f = tmpfile();
    struct coffre_reader *r = NULL;
    struct coffre_person *p, *q;
    struct coffre_diag d;
    int same = 0, got = 0;

    for (int i = 0; i < n; i++) {
        p = awkward(i);
        CHECK_RC(coffre_person_write(f, fmt, p, i == 0), COFFRE_OK);
        coffre_person_free(p);
    }
    rewind(f);
    CHECK_RC(coffre_reader_open(f, fmt, &r), COFFRE_OK);
    while (coffre_reader_next(r, &q, &d) == COFFRE_OK && q != NULL) {
        p = awkward(got++);
        char *a = json_of(p), *b = json_of(q);
        same += strcmp(a, b) == 0;
        coffre_free(a);
        coffre_free(b);
        coffre_person_free(p);
        coffre_person_free(q);
    }
    CHECK(got == n && same == n);
    CHECK(coffre_reader_offset(r) == (uint64_t)ftell(f));
    coffre_reader_free(r);
    fclose(f);
}

static void
test_jsonl_round_trip(void)
{
    round_trip(COFFRE_FORMAT_JSONL, 40);
}

static void
test_csv_round_trip(void)
{
    round_trip(COFFRE_FORMAT_CSV, 40);
}

static const char PERSON_JSON[] =
    "{\"public\":{\"category\":\"media\",\"organisation\":\"AFP\","
    "\"valid_from\":\"2024-07-01\",\"valid_until\":\"2024-08-11\"},"
    "\"identity\":{\"surname\":\"Dupont\",\"given_names\":\"Zoé\","
    "\"sex\":\"F\",\"birth_date\":\"1980-01-01\",\"birth_place\":\"Lyon\","
    "\"birth_country\":\"FRA\",\"nationalities\":[\"FRA\"]}}";

struct expect {
    int rc;
    uint64_t line;
    const char *field;
};

/* Reads ${text} and checks each result against ${want} (n entries). */
static void
read_expect(enum coffre_format fmt, const char *text, size_t len,
            const struct expect *want, size_t n)
{
    FILE *f = fmemopen((void *)text, len, "r");
    struct coffre_reader *r = NULL;
    struct coffre_person *p;
    struct coffre_diag d;
    size_t i = 0;
    int rc;

    CHECK_RC(coffre_reader_open(f, fmt, &r), COFFRE_OK);
    for (;;) {
        rc = coffre_reader_next(r, &p, &d);
        if (rc == COFFRE_OK && p == NULL) {
            break;
        }
        coffre_person_free(p);
        int ok = i < n && rc == want[i].rc &&
                 (rc == COFFRE_OK || (d.line == want[i].line &&
                                      strcmp(d.field, want[i].field) == 0));
        if (!ok) {
            fprintf(stderr, "  record %zu: rc %d line %llu field %s (%s)\n", i,
                    rc, (unsigned long long)d.line, d.field, d.rule);
        }
        CHECK(ok);
        if (++i > n + 2 || rc == COFFRE_ERR_IO) {
            break;
        }
    }
    CHECK(i == n);
    coffre_reader_free(r);
    fclose(f);
}

static void
test_jsonl_lines(void)
{
    char *text = malloc(COFFRE_MAX_JSON + 4096);
    const char *sex;
    size_t n = 0;
    const struct expect want[] = {
        {COFFRE_OK, 0, ""},        {COFFRE_ERR_INVALID, 4, "identity.sex"},
        {COFFRE_ERR_PARSE, 5, ""}, {COFFRE_ERR_TOOBIG, 6, ""},
        {COFFRE_OK, 0, ""},        {COFFRE_ERR_INVALID, 8, "unknown"},
        {COFFRE_OK, 0, ""},
    };

    n += (size_t)sprintf(text + n, "\xef\xbb\xbf%s\r\n\n  \r\n", PERSON_JSON);
    sex = strstr(PERSON_JSON, "\"sex\":\"F\"") + 6;
    n += (size_t)sprintf(text + n, "%.*s\"Q\"%s\n", (int)(sex - PERSON_JSON),
                         PERSON_JSON, sex + 3);
    n += (size_t)sprintf(text + n, "{\"public\":\n");
    memset(text + n, ' ', COFFRE_MAX_JSON + 10);
    n += COFFRE_MAX_JSON + 10;
    text[n++] = '\n';
    n += (size_t)sprintf(text + n, "%s\n", PERSON_JSON);
    n += (size_t)sprintf(text + n, "{\"unknown\":1}\n%s", PERSON_JSON);
    read_expect(COFFRE_FORMAT_JSONL, text, n, want, 7);
    free(text);
}

static const char HEADER[] =
    "surname,given_names,sex,birth_date,birth_place,birth_country,"
    "nationalities,category,organisation,valid_from,valid_until,"
    "protected,venues\r\n";

static void
test_csv_lines(void)
{
    char text[4096];
    size_t n = 0;
    const struct expect want[] = {
        {COFFRE_OK, 0, ""}, /* line 2 */
        /* lines 3-5: newlines are control characters, refused */
        {COFFRE_ERR_INVALID, 3, "surname"},
        {COFFRE_ERR_INVALID, 6, "sex"},        /* line 6 */
        {COFFRE_ERR_INVALID, 8, "surname"},    /* lines 8-10 */
        {COFFRE_ERR_PARSE, 11, ""},            /* line 11: 2 fields */
        {COFFRE_ERR_INVALID, 12, "protected"}, /* line 12 */
        {COFFRE_ERR_INVALID, 13, "venues"},    /* line 13 */
        {COFFRE_OK, 0, ""},                    /* line 14 */
    };
    const char *row = "Dupont,Zoé,F,1980-01-01,Lyon,FRA,FRA;DEU,athlete,"
                      "CNOSF,2024-07-01,2024-08-11,,SDF;PDP\r\n";

    n += (size_t)sprintf(text + n, "\xef\xbb\xbf%s%s", HEADER, row);
    n +=
        (size_t)sprintf(text + n, "\"Du\r\npont, \"\"Jr\"\"\",Zoé,F,1980-01-01,"
                                  "\"Lyon\nCedex\",FRA,FRA,athlete,CNOSF,"
                                  "2024-07-01,2024-08-11,false,\r\n");
    n += (size_t)sprintf(text + n,
                         "Dupont,Zoé,Q,1980-01-01,Lyon,FRA,FRA,athlete,"
                         "CNOSF,2024-07-01,2024-08-11,,\r\n\r\n");
    n += (size_t)sprintf(text + n, "\"A\nB\nC\",Zoé,F,1980-01-01,Lyon,FRA,FRA,"
                                   "athlete,CNOSF,2024-07-01,2024-08-11,,\n");
    n += (size_t)sprintf(text + n, "only,two\n");
    n += (size_t)sprintf(text + n,
                         "Dupont,Zoé,F,1980-01-01,Lyon,FRA,FRA,athlete,"
                         "CNOSF,2024-07-01,2024-08-11,yes,\n");
    n += (size_t)sprintf(text + n,
                         "Dupont,Zoé,F,1980-01-01,Lyon,FRA,FRA,athlete,"
                         "CNOSF,2024-07-01,2024-08-11,,SDF;;PDP\n");
    n += (size_t)sprintf(text + n, "%s", row);
    read_expect(COFFRE_FORMAT_CSV, text, n, want, 8);
}

static void
test_csv_header(void)
{
    const char *unknown = "surname,nickname\nA,B\n";
    const char *dup = "surname,surname\nA,B\n";
    const struct expect w1[] = {{COFFRE_ERR_PARSE, 1, "nickname"}};
    const struct expect w2[] = {{COFFRE_ERR_PARSE, 1, "surname"}};
    const struct expect w3[] = {{COFFRE_ERR_PARSE, 0, ""}};

    read_expect(COFFRE_FORMAT_CSV, unknown, strlen(unknown), w1, 1);
    read_expect(COFFRE_FORMAT_CSV, dup, strlen(dup), w2, 1);
    read_expect(COFFRE_FORMAT_CSV, "", 0, w3, 1);
    read_expect(COFFRE_FORMAT_CSV, HEADER, strlen(HEADER), NULL, 0);
}

/* A CSV record over the row cap is skipped whole, quotes and all. */
static void
test_csv_toobig(void)
{
    size_t cap = 700 * 1024, n = 0;
    char *text = malloc(cap);
    const char *row = "Dupont,Zoé,F,1980-01-01,Lyon,FRA,FRA,athlete,"
                      "CNOSF,2024-07-01,2024-08-11,,\n";
    const struct expect want[] = {
        {COFFRE_ERR_TOOBIG, 2, ""},
        {COFFRE_OK, 0, ""},
    };

    n += (size_t)sprintf(text + n, "%s\"", HEADER);
    for (int i = 0; i < 600 * 1024 / 8; i++) {
        memcpy(text + n, "a,\n\"\"b\r\n", 8);
        n += 8;
    }
    n += (size_t)sprintf(text + n, "\",x\n%s", row);
    read_expect(COFFRE_FORMAT_CSV, text, n, want, 2);
    free(text);
}

static void
test_offset_resume(void)
{
    FILE *f = tmpfile();
    struct coffre_reader *r = NULL;
    struct coffre_person *p;
    struct coffre_diag d;
    uint64_t off;
    int n = 0;

    for (int i = 0; i < 5; i++) {
        p = awkward(i);
        coffre_person_write(f, COFFRE_FORMAT_JSONL, p, 0);
        coffre_person_free(p);
    }
    rewind(f);
    coffre_reader_open(f, COFFRE_FORMAT_JSONL, &r);
    coffre_reader_next(r, &p, &d);
    coffre_person_free(p);
    coffre_reader_next(r, &p, &d);
    coffre_person_free(p);
    off = coffre_reader_offset(r);
    coffre_reader_free(r);
    /* resume: the third record is next */
    fseek(f, (long)off, SEEK_SET);
    coffre_reader_open(f, COFFRE_FORMAT_JSONL, &r);
    while (coffre_reader_next(r, &p, &d) == COFFRE_OK && p != NULL) {
        if (n++ == 0) {
            CHECK(strcmp(p->source_key, "SRC-0000000001") == 0);
        }
        coffre_person_free(p);
    }
    CHECK(n == 3);
    coffre_reader_free(r);
    fclose(f);
}

/* Seek past two records of a CSV file (header read first): the same
 * records and line numbers as a reader that read everything. */
static void
test_seek_csv(void)
{
    FILE *f = tmpfile();
    struct coffre_reader *r = NULL;
    struct coffre_person *p;
    struct coffre_diag d;
    uint64_t off = 0, lines = 0, line[6] = {0};
    int n = 0;

    for (int i = 0; i < 6; i++) {
        p = awkward(i);
        coffre_person_write(f, COFFRE_FORMAT_CSV, p, i == 0);
        coffre_person_free(p);
    }
    rewind(f);
    CHECK_RC(coffre_reader_open(f, COFFRE_FORMAT_CSV, &r), COFFRE_OK);
    while (coffre_reader_next(r, &p, &d) == COFFRE_OK && p != NULL) {
        line[n++] = d.line;
        if (n == 2) {
            off = coffre_reader_offset(r);
            lines = coffre_reader_lines(r);
        }
        coffre_person_free(p);
    }
    CHECK(n == 6 && line[2] > lines);
    coffre_reader_free(r);
    rewind(f);
    CHECK_RC(coffre_reader_open(f, COFFRE_FORMAT_CSV, &r), COFFRE_OK);
    CHECK_RC(coffre_reader_seek(r, off, lines), COFFRE_OK);
    CHECK_RC(coffre_reader_seek(r, 1, 0), COFFRE_ERR_ARG);
    for (n = 2; coffre_reader_next(r, &p, &d) == COFFRE_OK && p != NULL; n++) {
        CHECK(n < 6 && d.line == line[n]);
        if (n == 2) {
            CHECK(strcmp(p->surname, "Σωκράτης") == 0);
        }
        coffre_person_free(p);
    }
    CHECK(n == 6);
    coffre_reader_free(r);
    fclose(f);
}

static void
test_stream_wiping(void)
{
    size_t v0;

    check_secmem_watch();
    v0 = check_secmem_violations();
    round_trip(COFFRE_FORMAT_CSV, 3);
    round_trip(COFFRE_FORMAT_JSONL, 3);
    CHECK(check_secmem_violations() == v0);
}

int
main(void)
{
    coffre_lib_init();
    RUN(test_jsonl_round_trip);
    RUN(test_csv_round_trip);
    RUN(test_jsonl_lines);
    RUN(test_csv_lines);
    RUN(test_csv_header);
    RUN(test_csv_toobig);
    RUN(test_offset_resume);
    RUN(test_seek_csv);
    RUN(test_stream_wiping);
    return check_done();
}
