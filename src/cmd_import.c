/*
 * coffre import: stream a JSON Lines or CSV accreditation file into the
 * vault in batches (memory does not grow with the file). Every record that
 * fails validation goes to the reject file with its line, field and rule;
 * the import goes on unless --stop-on-reject.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cmd.h"

#define IMPORT_BATCH 4096

struct import_args {
    struct cli_vault_opts vo;
    int format; /* -1: from the file name */
    const char *rejects;
    int stop_on_reject;
    const char *file;
};

struct import_stats {
    uint64_t stored, rejected;
    struct timespec t0;
};

static void
import_usage(FILE *f)
{
    fprintf(f,
            "usage: coffre import --data DIR --share FILE... [--format "
            "jsonl|csv]\n"
            "                     [--rejects FILE] [--stop-on-reject] FILE\n\n"
            "Load an accreditation file (docs/formats.md). The format "
            "comes from the\nextension (.csv, .jsonl) unless given. Records "
            "that fail validation are\nwritten to the reject file (default "
            "FILE.rejects) with line, field and rule,\nnever silently "
            "dropped.\n");
}

static int
import_parse(int argc, char **argv, struct import_args *a)
{
    static const struct option lo[] = {
        {"data", required_argument, NULL, CLI_OPT_DATA},
        {"share", required_argument, NULL, CLI_OPT_SHARE},
        {"format", required_argument, NULL, 'f'},
        {"rejects", required_argument, NULL, 'r'},
        {"stop-on-reject", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c, r;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        r = cli_vault_opt("import", &a->vo, c, optarg);
        if (r == 1) {
            continue;
        }
        if (c == 'h') {
            import_usage(stdout);
            return 0;
        } else if (c == 'f' && (a->format = coffre_format_parse(optarg)) >= 0) {
        } else if (c == 'r') {
            a->rejects = optarg;
        } else if (c == 'S') {
            a->stop_on_reject = 1;
        } else {
            import_usage(stderr);
            return 2;
        }
    }
    if (argc - optind != 1) {
        import_usage(stderr);
        return 2;
    }
    a->file = argv[optind];
    return -1;
}

static int
guess_format(const char *path)
{
    size_t n = strlen(path);

    if (n >= 4 && strcmp(path + n - 4, ".csv") == 0) {
        return COFFRE_FORMAT_CSV;
    }
    return COFFRE_FORMAT_JSONL;
}

static double
elapsed(const struct import_stats *st)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - st->t0.tv_sec) +
           (double)(t.tv_nsec - st->t0.tv_nsec) / 1e9;
}

static void
progress(const struct import_stats *st)
{
    double s = elapsed(st);

    fprintf(stderr, "\r%llu stored, %llu rejected, %.0f persons/s   ",
            (unsigned long long)st->stored, (unsigned long long)st->rejected,
            s > 0 ? (double)st->stored / s : 0.0);
}

static int
flush_batch(struct coffre_vault *v, struct coffre_person **batch, size_t *pn,
            struct import_stats *st)
{
    int rc = coffre_vault_put_many(v, batch, *pn, NULL);

    for (size_t i = 0; i < *pn; i++) {
        coffre_person_free(batch[i]);
    }
    if (rc != COFFRE_OK) {
        cli_error("import", "%s", coffre_vault_errmsg(v));
        return 1;
    }
    st->stored += *pn;
    *pn = 0;
    if (isatty(STDERR_FILENO)) {
        progress(st);
    }
    return 0;
}

static void
write_reject(FILE *rf, const struct coffre_diag *d, int rc)
{
    fprintf(rf, "line %llu\t%s\t%s\n", (unsigned long long)d->line,
            d->field[0] != '\0' ? d->field : "-",
            d->rule[0] != '\0' ? d->rule : coffre_strerror(rc));
}

/* Read the whole stream; returns an exit status. */
static int
import_stream(struct coffre_vault *v, struct coffre_reader *r, FILE *rf,
              const struct import_args *a, struct import_stats *st)
{
    struct coffre_person **batch = calloc(IMPORT_BATCH, sizeof(*batch));
    struct coffre_person *p;
    struct coffre_diag d;
    size_t n = 0;
    int rc, status = 0;

    if (batch == NULL) {
        cli_error("import", "out of memory");
        return 1;
    }
    for (;;) {
        memset(&d, 0, sizeof(d));
        rc = coffre_reader_next(r, &p, &d);
        if (rc == COFFRE_OK && p == NULL) {
            break;
        }
        if (rc == COFFRE_ERR_IO) {
            cli_error("import", "cannot read %s", a->file);
            status = 1;
            break;
        }
        if (rc != COFFRE_OK) {
            st->rejected++;
            write_reject(rf, &d, rc);
            if (a->stop_on_reject) {
                cli_error("import", "line %llu: %s: %s (stopping)",
                          (unsigned long long)d.line, d.field, d.rule);
                status = 1;
                break;
            }
            continue;
        }
        batch[n++] = p;
        if (n == IMPORT_BATCH && (status = flush_batch(v, batch, &n, st))) {
            break;
        }
    }
    if (status == 0 && n > 0) {
        status = flush_batch(v, batch, &n, st);
    }
    for (size_t i = 0; i < n; i++) {
        coffre_person_free(batch[i]);
    }
    free(batch);
    return status;
}

static int
import_run(struct coffre_vault *v, const struct import_args *a)
{
    char rpath[4096];
    struct import_stats st = {0};
    struct coffre_reader *r = NULL;
    FILE *in, *rf;
    int fmt = a->format >= 0 ? a->format : guess_format(a->file), status;

    snprintf(rpath, sizeof(rpath), "%s.rejects", a->file);
    in = strcmp(a->file, "-") == 0 ? stdin : fopen(a->file, "rb");
    if (in == NULL) {
        cli_error("import", "cannot open %s: %s", a->file, strerror(errno));
        return 1;
    }
    rf = fopen(a->rejects != NULL ? a->rejects : rpath, "w");
    if (rf == NULL ||
        coffre_reader_open(in, (enum coffre_format)fmt, &r) != COFFRE_OK) {
        cli_error("import", "cannot start: %s", strerror(errno));
        if (rf != NULL) {
            fclose(rf);
        }
        if (in != stdin) {
            fclose(in);
        }
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &st.t0);
    status = import_stream(v, r, rf, a, &st);
    coffre_reader_free(r);
    fclose(rf);
    if (in != stdin) {
        fclose(in);
    }
    if (isatty(STDERR_FILENO)) {
        fputc('\n', stderr);
    }
    printf("imported %llu persons, rejected %llu (see %s), %.1f s\n",
           (unsigned long long)st.stored, (unsigned long long)st.rejected,
           a->rejects != NULL ? a->rejects : rpath, elapsed(&st));
    return status;
}

int
cmd_import(int argc, char **argv)
{
    struct import_args a;
    struct coffre_vault *v;
    int r;

    memset(&a, 0, sizeof(a));
    a.format = -1;
    r = import_parse(argc, argv, &a);
    if (r >= 0) {
        return r;
    }
    r = cli_open_unsealed("import", &a.vo, &v);
    if (r != 0) {
        return r;
    }
    r = import_run(v, &a);
    coffre_vault_close(v);
    return r;
}
