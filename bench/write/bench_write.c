/*
 * bench_write: persons/s and bytes on disk per person when writing N
 * generated persons (a) into an unsealed coffre vault, as a bulk load, and
 * (b) in clear into plain SQLite with the same three search indexes, both
 * maintained row by row and built after the load (the ceiling), same
 * machine, same run, same records. The pgcrypto baseline is measured by
 * bench/write.sh around this program.
 *
 * usage: bench_write N DIR [vault]
 *        prints "name persons_per_s bytes_per_person" for each path
 *        (only coffre's with "vault", for profiling)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "coffre/audit.h"
#include "coffre/coffre.h"
#include "record/record.h"

#define BATCH 100000

static double
now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU seconds of every thread so far: a load-independent cost. */
static double
cpu(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static unsigned long long
dir_bytes(const char *dir)
{
    char path[1024];
    unsigned long long total = 0;
    struct dirent *e;
    struct stat st;
    DIR *d = opendir(dir);

    while (d != NULL && (e = readdir(d)) != NULL) {
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            total += (unsigned long long)st.st_size;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return total;
}

static struct coffre_person **
generate(size_t n)
{
    struct coffre_gen_opts go = {.seed = 2024, .photos = 0};
    struct coffre_gen *g = NULL;
    struct coffre_person **ps = calloc(n, sizeof(*ps));

    if (ps == NULL || coffre_gen_new(&go, &g) != COFFRE_OK) {
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        if (coffre_gen_next(g, &ps[i]) != COFFRE_OK) {
            exit(1);
        }
    }
    coffre_gen_free(g);
    return ps;
}

static void
bench_vault(struct coffre_person **ps, size_t n, const char *base)
{
    char dir[1024];
    struct coffre_vault *v = NULL;
    double t0, t, c0;

    const struct coffre_actor actor = {NULL, "bench", NULL, NULL};
    struct coffre_audit *a = NULL;
    char log[1100];

    snprintf(dir, sizeof(dir), "%s/vault", base);
    snprintf(log, sizeof(log), "%s/audit", dir);
    if (coffre_vault_open_dev(dir, &v) != COFFRE_OK) {
        fprintf(stderr, "vault: %s\n", coffre_vault_errmsg(v));
        exit(1);
    }
    /* Audited like every write: one entry per batch, in the timing. */
    if (coffre_audit_open(v, log, NULL, &a) != COFFRE_OK ||
        coffre_audit_attach(a, v, &actor) != COFFRE_OK) {
        fprintf(stderr, "audit: %s\n", coffre_audit_open_errmsg());
        exit(1);
    }
    t0 = now();
    c0 = cpu();
    if (coffre_vault_bulk_load(v, COFFRE_BULK_NEW) != COFFRE_OK) {
        fprintf(stderr, "vault: %s\n", coffre_vault_errmsg(v));
        exit(1);
    }
    for (size_t i = 0; i < n; i += BATCH) {
        size_t k = n - i < BATCH ? n - i : BATCH;

        if (coffre_vault_put_many(v, ps + i, k, NULL) != COFFRE_OK) {
            fprintf(stderr, "vault: %s\n", coffre_vault_errmsg(v));
            exit(1);
        }
    }
    fprintf(stderr, "bench: coffre rows written in %.1f s (%.1f CPU s)\n",
            now() - t0, cpu() - c0);
    /* indexes built */
    if (coffre_vault_bulk_load(v, COFFRE_BULK_OFF) != COFFRE_OK) {
        fprintf(stderr, "vault: %s\n", coffre_vault_errmsg(v));
        exit(1);
    }
    t = now() - t0;
    fprintf(stderr, "bench: coffre total %.1f s (%.1f CPU s)\n", t, cpu() - c0);
    coffre_audit_close(a);
    coffre_vault_close(v);
    printf("coffre %.0f %.0f\n", (double)n / t,
           (double)dir_bytes(dir) / (double)n);
}

/* The clear ceiling: the same persons, every field a column, in clear. */
static const char clear_schema[] =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA "
    "cache_size=-32768;"
    "CREATE TABLE person(id INTEGER PRIMARY KEY, state INTEGER, "
    "category TEXT, organisation TEXT, function TEXT, venues TEXT, "
    "zones TEXT, transport_code TEXT, valid_from TEXT, valid_until TEXT, "
    "surname TEXT, given_names TEXT, sex TEXT, birth_date TEXT, "
    "birth_place TEXT, birth_country TEXT, nationalities TEXT, "
    "address TEXT, postal_code TEXT, city TEXT, country TEXT, email TEXT, "
    "phone TEXT, doc_type TEXT, doc_number TEXT, doc_country TEXT, "
    "doc_expiry TEXT);";
static const char clear_indexes[] =
    "CREATE INDEX p_doc ON person(doc_number);"
    "CREATE INDEX p_email ON person(email);"
    "CREATE INDEX p_name ON person(surname, given_names, birth_date);";

static void
bind_list(sqlite3_stmt *st, int col, const struct coffre_strlist *l, char *buf,
          size_t cap)
{
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        int w = snprintf(buf + off, cap - off, "%s%s", i ? ";" : "", l->v[i]);
        if (w < 0 || (size_t)w >= cap - off) {
            break;
        }
        off += (size_t)w;
    }
    sqlite3_bind_text(st, col, buf, (int)off, SQLITE_TRANSIENT);
}

static void
bind_person(sqlite3_stmt *st, const struct coffre_person *p)
{
    char v[1024], z[1024], nat[64];
    const char *text[] = {
        p->category,    p->organisation,   p->function,   NULL,
        NULL,           p->transport_code, p->valid_from, p->valid_until,
        p->surname,     p->given_names,    p->sex,        p->birth_date,
        p->birth_place, p->birth_country,  NULL,          p->address,
        p->postal_code, p->city,           p->country,    p->email,
        p->phone,       p->doc_type,       p->doc_number, p->doc_country,
        p->doc_expiry};

    sqlite3_bind_int(st, 1, p->state);
    for (int i = 0; i < (int)(sizeof(text) / sizeof(text[0])); i++) {
        if (text[i] != NULL) {
            sqlite3_bind_text(st, i + 2, text[i], -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_null(st, i + 2);
        }
    }
    bind_list(st, 5, &p->venues, v, sizeof(v));
    bind_list(st, 6, &p->zones, z, sizeof(z));
    bind_list(st, 16, &p->nationalities, nat, sizeof(nat));
}

/*
 * The clear ceiling, two ways: indexes maintained row by row (late = 0),
 * or built once after the load (late = 1), which is what coffre's bulk
 * load does: compare like with like.
 */
static void
bench_clear(struct coffre_person **ps, size_t n, const char *base, int late)
{
    char dir[1024], path[1100];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    double t0, t;

    snprintf(dir, sizeof(dir), "%s/clear%s", base, late ? "-late" : "");
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/clear.db", dir);
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, clear_schema, NULL, NULL, NULL) != SQLITE_OK ||
        (!late &&
         sqlite3_exec(db, clear_indexes, NULL, NULL, NULL) != SQLITE_OK) ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO person VALUES(NULL,?,?,?,?,?,?,?,?,?,"
                           "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "clear: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    t0 = now();
    for (size_t i = 0; i < n; i++) {
        if (i % BATCH == 0) {
            sqlite3_exec(db, i ? "COMMIT; BEGIN" : "BEGIN", NULL, NULL, NULL);
        }
        bind_person(st, ps[i]);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fprintf(stderr, "clear: %s\n", sqlite3_errmsg(db));
            exit(1);
        }
        sqlite3_reset(st);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (late && sqlite3_exec(db, "PRAGMA threads = 2; BEGIN", NULL, NULL,
                             NULL) == SQLITE_OK) {
        sqlite3_exec(db, clear_indexes, NULL, NULL, NULL);
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    t = now() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    printf("sqlite-clear%s %.0f %.0f\n", late ? "-late" : "", (double)n / t,
           (double)dir_bytes(dir) / (double)n);
}

int
main(int argc, char **argv)
{
    struct coffre_person **ps;
    size_t n;

    if (argc < 3 || argc > 4 || (n = strtoul(argv[1], NULL, 10)) == 0 ||
        (argc == 4 && strcmp(argv[3], "vault") != 0)) {
        fprintf(stderr, "usage: bench_write N DIR [vault]\n");
        return 2;
    }
    if (coffre_lib_init() != COFFRE_OK) {
        return 1;
    }
    ps = generate(n);
    if (argc == 3) { /* "vault": coffre alone, for profiling */
        bench_clear(ps, n, argv[2], 0);
        bench_clear(ps, n, argv[2], 1);
    }
    bench_vault(ps, n, argv[2]);
    for (size_t i = 0; i < n; i++) {
        coffre_person_free(ps[i]);
    }
    free(ps);
    return 0;
}
