/* coffre gen: a synthetic accreditation file for demos, tests, benchmarks. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"

static void
gen_usage(FILE *f)
{
    fprintf(
        f, "usage: coffre gen --persons N [--seed S] [--format jsonl|csv] "
           "[--photos]\n                  [--today YYYY-MM-DD] [--out FILE]\n\n"
           "Write N realistic, valid, entirely synthetic persons "
           "(docs/formats.md):\nnames from many countries and scripts, "
           "every category including protected\nsecurity-force records. "
           "The same seed gives the same file.\n");
}

struct gen_args {
    uint64_t n, seed;
    int64_t today;
    int have_n, format, photos;
    const char *out;
};

static int
gen_parse(int argc, char **argv, struct gen_args *a)
{
    static const struct option lo[] = {
        {"persons", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'f'},
        {"photos", no_argument, NULL, 'p'},
        {"out", required_argument, NULL, 'o'},
        {"today", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c == 'h') {
            gen_usage(stdout);
            return 0;
        } else if (c == 'n' && cli_parse_u64(optarg, UINT64_MAX, &a->n) == 0) {
            a->have_n = 1;
        } else if (c == 's' &&
                   cli_parse_u64(optarg, UINT64_MAX, &a->seed) == 0) {
        } else if (c == 'f' && (a->format = coffre_format_parse(optarg)) >= 0) {
        } else if (c == 'p') {
            a->photos = 1;
        } else if (c == 'o') {
            a->out = optarg;
        } else if (c == 't' &&
                   coffre_gen_parse_day(optarg, &a->today) == COFFRE_OK) {
        } else if (c == 't') {
            cli_error("gen", "--today %s: not a date YYYY-MM-DD", optarg);
            return 2;
        } else {
            gen_usage(stderr);
            return 2;
        }
    }
    if (!a->have_n || optind != argc) {
        gen_usage(stderr);
        return 2;
    }
    return -1;
}

static int
gen_write(FILE *f, const struct gen_args *a)
{
    struct coffre_gen_opts go = {a->seed, a->photos, a->today};
    struct coffre_gen *g = NULL;
    struct coffre_person *p = NULL;
    int rc = coffre_gen_new(&go, &g);

    for (uint64_t i = 0; i < a->n && rc == COFFRE_OK; i++) {
        rc = coffre_gen_next(g, &p);
        if (rc == COFFRE_OK) {
            rc = coffre_person_write(f, (enum coffre_format)a->format, p,
                                     i == 0);
            coffre_person_free(p);
        }
    }
    coffre_gen_free(g);
    return rc;
}

int
cmd_gen(int argc, char **argv)
{
    struct gen_args a = {.today = coffre_gen_today()};
    FILE *f = stdout;
    int r = gen_parse(argc, argv, &a), rc;

    if (r >= 0) {
        return r;
    }
    if (a.out != NULL && (f = fopen(a.out, "wx")) == NULL) {
        cli_error("gen", "cannot create %s: %s", a.out, strerror(errno));
        return 1;
    }
    rc = gen_write(f, &a);
    if (fflush(f) != 0 || ferror(f)) {
        rc = COFFRE_ERR_IO;
    }
    if (f != stdout && fclose(f) != 0) {
        rc = COFFRE_ERR_IO;
    }
    if (rc != COFFRE_OK) {
        cli_error("gen", "%s", coffre_strerror(rc));
        return 1;
    }
    return 0;
}
