/*
 * csv_clear: the clear ceiling of bench/import.sh. Loads a CSV file as it
 * is, in clear, into plain SQLite: one TEXT column per column of the
 * header, no validation, no encryption, no manifest, one transaction for
 * every row (libcsv, one prepared statement), then the write bench's
 * three search indexes built after the load (bench/write/bench_write.c).
 * WAL and synchronous=FULL, as the write bench's clear table and the
 * vault. Times nothing: bench/import.sh times the whole process, as it
 * times `coffre import`.
 *
 * usage: csv_clear CSV DB
 *        prints "rows N"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <csv.h>
#include <sqlite3.h>

static double
now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct load {
    sqlite3 *db;
    sqlite3_stmt *st;
    char *cols;   /* the CREATE TABLE column list, while on the header */
    size_t ncols; /* columns of the header */
    size_t col;   /* next field of the current row */
    long rows;    /* rows inserted */
    int failed;
};

static void
die(struct load *l, const char *what)
{
    fprintf(stderr, "csv_clear: %s: %s\n", what,
            l->db != NULL ? sqlite3_errmsg(l->db) : "");
    exit(1);
}

static void
on_field(void *s, size_t len, void *data)
{
    struct load *l = data;

    if (l->st == NULL) { /* the header: a column name */
        size_t n = l->cols != NULL ? strlen(l->cols) : 0;
        char *c = realloc(l->cols, n + len + 16);

        if (c == NULL) {
            die(l, "out of memory");
        }
        snprintf(c + n, len + 16, "%s\"%.*s\" TEXT", n ? "," : "", (int)len,
                 (const char *)s);
        l->cols = c;
        l->ncols++;
        return;
    }
    if (l->col >= l->ncols) {
        l->failed = 1;
        return;
    }
    l->col++;
    if (len == 0) {
        sqlite3_bind_null(l->st, (int)l->col);
    } else {
        sqlite3_bind_text(l->st, (int)l->col, s, (int)len, SQLITE_TRANSIENT);
    }
}

static void
on_row(int c, void *data)
{
    struct load *l = data;

    (void)c;
    if (l->st == NULL) { /* end of the header: table and statement */
        size_t cap = l->ncols * 2 + 64;
        char *ins = malloc(cap), *tab = malloc(strlen(l->cols) + 64);
        size_t off;

        if (ins == NULL || tab == NULL) {
            die(l, "out of memory");
        }
        snprintf(tab, strlen(l->cols) + 64, "CREATE TABLE person(%s)", l->cols);
        off = (size_t)snprintf(ins, cap, "INSERT INTO person VALUES(?");
        for (size_t i = 1; i < l->ncols; i++) {
            off += (size_t)snprintf(ins + off, cap - off, ",?");
        }
        snprintf(ins + off, cap - off, ")");
        if (sqlite3_exec(l->db, tab, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(l->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(l->db, ins, -1, &l->st, NULL) != SQLITE_OK) {
            die(l, "schema");
        }
        free(ins);
        free(tab);
        return;
    }
    if (l->failed || l->col != l->ncols) {
        fprintf(stderr, "csv_clear: row %ld: %zu fields, header has %zu\n",
                l->rows + 1, l->col, l->ncols);
        exit(1);
    }
    if (sqlite3_step(l->st) != SQLITE_DONE) {
        die(l, "insert");
    }
    sqlite3_reset(l->st);
    l->col = 0;
    l->rows++;
}

int
main(int argc, char **argv)
{
    static char buf[1 << 20];
    struct load l = {0};
    struct csv_parser p;
    FILE *f;
    size_t n;
    double t0 = now(), t1;

    if (argc != 3) {
        fprintf(stderr, "usage: csv_clear CSV DB\n");
        return 2;
    }
    if ((f = fopen(argv[1], "rb")) == NULL) {
        perror(argv[1]);
        return 1;
    }
    if (csv_init(&p, CSV_STRICT) != 0 ||
        sqlite3_open(argv[2], &l.db) != SQLITE_OK ||
        sqlite3_exec(l.db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "PRAGMA cache_size=-32768;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        die(&l, "open");
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (csv_parse(&p, buf, n, on_field, on_row, &l) != n) {
            fprintf(stderr, "csv_clear: %s\n", csv_strerror(csv_error(&p)));
            return 1;
        }
    }
    csv_fini(&p, on_field, on_row, &l);
    csv_free(&p);
    fclose(f);
    if (l.st == NULL) {
        fprintf(stderr, "csv_clear: no header\n");
        return 1;
    }
    sqlite3_finalize(l.st);
    if (sqlite3_exec(l.db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        die(&l, "commit");
    }
    t1 = now();
    if (sqlite3_exec(l.db,
                     "PRAGMA threads=2; BEGIN;"
                     "CREATE INDEX p_doc ON person(doc_number);"
                     "CREATE INDEX p_email ON person(email);"
                     "CREATE INDEX p_name ON person(surname, "
                     "given_names, birth_date);"
                     "COMMIT",
                     NULL, NULL, NULL) != SQLITE_OK) {
        die(&l, "indexes");
    }
    sqlite3_close(l.db);
    fprintf(stderr, "csv_clear: load %.1f s, indexes and close %.1f s\n",
            t1 - t0, now() - t1);
    free(l.cols);
    printf("rows %ld\n", l.rows);
    return 0;
}
