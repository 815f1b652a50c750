/*
 * The SQLite backend: the conformance suite on fresh files, then what is
 * particular to SQLite (pragmas, ids across reopen, no residue of erased
 * data in the files) and an insert-rate measurement (printed, not asserted).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <sqlite3.h>

#include "check.h"
#include "conformance.h"
#include "store/store.h"

static char *
db_path(const char *name)
{
    static char path[512];

    snprintf(path, sizeof(path), "%s/%s", check_tmpdir(), name);
    return path;
}

static int
open_fresh(struct coffre_store **ps, void *ctx)
{
    static unsigned n;
    char name[32];

    (void)ctx;
    snprintf(name, sizeof(name), "conf-%u.db", ++n);
    return coffre_store_open_sqlite(db_path(name), ps);
}

static void
test_pragmas(void)
{
    struct coffre_store *st = NULL;
    sqlite3 *db;
    sqlite3_stmt *q = NULL;
    static const char *const want[][2] = {
        {"PRAGMA journal_mode", "wal"}, {"PRAGMA secure_delete", "1"},
        {"PRAGMA foreign_keys", "1"},   {"PRAGMA synchronous", "2"},
        {"PRAGMA trusted_schema", "0"},
    };

    CHECK_RC(coffre_store_open_sqlite(db_path("pragma.db"), &st), COFFRE_OK);
    db = coffre_store_sqlite_handle(st);
    CHECK(db != NULL);
    for (size_t i = 0; db != NULL && i < sizeof(want) / sizeof(want[0]); i++) {
        CHECK(sqlite3_prepare_v2(db, want[i][0], -1, &q, NULL) == SQLITE_OK);
        CHECK(sqlite3_step(q) == SQLITE_ROW);
        CHECK(strcmp((const char *)sqlite3_column_text(q, 0), want[i][1]) == 0);
        sqlite3_finalize(q);
    }
    coffre_store_close(st);
    coffre_store_close(NULL);
}

static void
test_ids_across_reopen(void)
{
    struct coffre_store *st = NULL;
    uint64_t a = 0, b = 0, c = 0;
    const char *path = db_path("reopen.db");

    CHECK_RC(coffre_store_open_sqlite(path, &st), COFFRE_OK);
    CHECK_RC(st->ops->id_reserve(st, 10, &a), COFFRE_OK);
    CHECK_RC(st->ops->begin(st), COFFRE_OK);
    CHECK_RC(st->ops->id_reserve(st, 5, &b), COFFRE_OK);
    CHECK_RC(st->ops->rollback(st), COFFRE_OK);
    coffre_store_close(st);
    CHECK_RC(coffre_store_open_sqlite(path, &st), COFFRE_OK);
    CHECK_RC(st->ops->id_reserve(st, 1, &c), COFFRE_OK);
    CHECK(b >= a + 10 && c >= b + 5);
    coffre_store_close(st);
}

/* Count occurrences of marker in a file (0 if the file is absent). */
static size_t
count_in_file(const char *path, const unsigned char *marker, size_t mlen)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    size_t n, hits = 0;

    if (f == NULL) {
        return 0;
    }
    buf = malloc(64u << 20);
    n = buf != NULL ? fread(buf, 1, 64u << 20, f) : 0;
    fclose(f);
    for (size_t i = 0; n >= mlen && i <= n - mlen; i++) {
        if (memcmp(buf + i, marker, mlen) == 0) {
            hits++;
        }
    }
    free(buf);
    return hits;
}

static size_t
count_in_store(const char *path, const unsigned char *marker, size_t mlen)
{
    char p[600];
    size_t hits = count_in_file(path, marker, mlen);

    snprintf(p, sizeof(p), "%s-wal", path);
    hits += count_in_file(p, marker, mlen);
    snprintf(p, sizeof(p), "%s-shm", path);
    return hits + count_in_file(p, marker, mlen);
}

/* Rows whose ciphertexts, tags and data key carry a marker; some of them
 * in epoch 9, which is then destroyed, the others erased one by one. */
static void
insert_marked(struct coffre_store *st, const unsigned char *mk, uint64_t *ids,
              int n)
{
    static unsigned char ct[COFFRE_CLASS_COUNT][6000];
    struct coffre_store_person row;
    struct coffre_store_dkey dk;

    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        for (size_t o = 0; o + 32 <= sizeof(ct[c]); o += 40) {
            memcpy(ct[c] + o, mk, 32);
        }
    }
    CHECK_RC(st->ops->begin(st), COFFRE_OK);
    for (int i = 0; i < n; i++) {
        memset(&row, 0, sizeof(row));
        memset(&dk, 0, sizeof(dk));
        CHECK_RC(st->ops->id_reserve(st, 1, &ids[i]), COFFRE_OK);
        row.id = dk.id = ids[i];
        row.epoch = dk.epoch = i % 2 == 0 ? 9 : 4;
        row.tag_mask = (1u << COFFRE_TAG_COUNT) - 1u;
        for (int k = 0; k < COFFRE_TAG_COUNT; k++) {
            memcpy(row.tags[k], mk + 16, 12);
            row.tags[k][12] = (unsigned char)k;
            row.tags[k][13] = (unsigned char)i;
        }
        for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
            row.ct[c] = ct[c];
            row.ct_len[c] = c == COFFRE_CLASS_PHOTO ? sizeof(ct[c]) : 200;
        }
        dk.kek_version = 1;
        dk.len = 72;
        memcpy(dk.wrapped, mk, 32);
        memcpy(dk.wrapped + 40, mk, 32);
        CHECK_RC(st->ops->person_insert(st, &row, &dk), COFFRE_OK);
    }
    CHECK_RC(st->ops->commit(st), COFFRE_OK);
}

static void
test_no_residue(void)
{
    struct coffre_store *st = NULL;
    const char *path = db_path("residue.db");
    unsigned char mk[32];
    uint64_t ids[40], cnt = 0;

    for (int i = 0; i < 32; i++) {
        mk[i] = (unsigned char)(0xc0 ^ (i * 37));
    }
    CHECK_RC(coffre_store_open_sqlite(path, &st), COFFRE_OK);
    CHECK_RC(st->ops->kek_put(st, 1, "kek-1", 5), COFFRE_OK);
    CHECK_RC(st->ops->epoch_put(st, 9, mk, 32), COFFRE_OK);
    insert_marked(st, mk, ids, 40);
    CHECK(count_in_store(path, mk, 32) > 0);
    CHECK(count_in_store(path, mk + 16, 12) > 0);
    CHECK_RC(st->ops->epoch_erase(st, 9, &cnt), COFFRE_OK);
    CHECK(cnt == 20);
    for (int i = 1; i < 40; i += 2) {
        CHECK_RC(st->ops->person_erase(st, ids[i]), COFFRE_OK);
    }
    /* while open: the WAL was rewound, the pages zeroed */
    CHECK(count_in_store(path, mk, 32) == 0);
    CHECK(count_in_store(path, mk + 16, 12) == 0);
    coffre_store_close(st);
    CHECK(count_in_store(path, mk, 32) == 0);
    CHECK(count_in_store(path, mk + 16, 12) == 0);
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* 200,000 rows, 5 ciphertexts of ~80 bytes, 3 tags, 10,000 per commit. */
static void
bench_insert(void)
{
    enum { ROWS = 200000, BATCH = 10000 };
    struct coffre_store *st = NULL;
    struct coffre_store_person row;
    struct coffre_store_dkey dk;
    unsigned char ct[5][96];
    uint64_t first = 0;
    double t0, c0, dt, dc;

    CHECK_RC(coffre_store_open_sqlite(db_path("bench.db"), &st), COFFRE_OK);
    CHECK_RC(st->ops->kek_put(st, 1, "kek-1", 5), COFFRE_OK);
    memset(&row, 0, sizeof(row));
    memset(&dk, 0, sizeof(dk));
    memset(ct, 0x5a, sizeof(ct));
    for (int c = 0; c < 5; c++) {
        row.ct[c] = ct[c];
        row.ct_len[c] = 70 + (size_t)c * 5;
    }
    row.tag_mask = 1u << COFFRE_TAG_DOCUMENT | 1u << COFFRE_TAG_EMAIL |
                   1u << COFFRE_TAG_NAME_DOB;
    dk.kek_version = 1;
    dk.len = 72;
    t0 = now_s();
    c0 = cpu_s();
    for (int i = 0; i < ROWS; i++) {
        if (i % BATCH == 0) {
            CHECK_RC(st->ops->begin(st), COFFRE_OK);
            CHECK_RC(st->ops->id_reserve(st, BATCH, &first), COFFRE_OK);
        }
        row.id = dk.id = first + (uint64_t)(i % BATCH);
        for (int k = 0; k < 3; k++) {
            /* tags are keyed hashes: spread them like random bytes */
            uint64_t h = (row.id + (uint64_t)k) * 0x9e3779b97f4a7c15u;
            memcpy(row.tags[k], &h, 8);
            memcpy(row.tags[k] + 8, &h, 8);
        }
        if (st->ops->person_insert(st, &row, &dk) != COFFRE_OK) {
            check_record(0, "bench insert", __FILE__, __LINE__);
            break;
        }
        if (i % BATCH == BATCH - 1) {
            CHECK_RC(st->ops->commit(st), COFFRE_OK);
        }
    }
    dt = now_s() - t0;
    dc = cpu_s() - c0;
    /* CPU time as well: on a shared machine wall time says little */
    printf("bench: sqlite person_insert %d rows in %.2f s = %.0f rows/s "
           "(%.2f s CPU = %.0f rows/CPU-s)\n",
           ROWS, dt, ROWS / dt, dc, ROWS / dc);
    coffre_store_close(st);
}

/* Indexes of the schema present in the file. */
static int
index_count(sqlite3 *db)
{
    sqlite3_stmt *q = NULL;
    int n = -1;

    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM sqlite_master WHERE type = "
                           "'index' AND sql IS NOT NULL",
                           -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        n = sqlite3_column_int(q, 0);
    }
    sqlite3_finalize(q);
    return n;
}

/* A process that dies while bulk loading leaves indexes missing: the next
 * open builds them again. */
static void
test_bulk_reopen(void)
{
    struct coffre_store *st = NULL;
    int all;

    CHECK_RC(coffre_store_open_sqlite(db_path("bulk.db"), &st), COFFRE_OK);
    all = index_count(coffre_store_sqlite_handle(st));
    CHECK(all == 7);
    CHECK_RC(st->ops->bulk_load(st, COFFRE_BULK_IMPORT), COFFRE_OK);
    CHECK(index_count(coffre_store_sqlite_handle(st)) == 1);
    CHECK_RC(st->ops->bulk_load(st, COFFRE_BULK_NEW), COFFRE_OK);
    CHECK(index_count(coffre_store_sqlite_handle(st)) == 0);
    coffre_store_close(st); /* as if killed: never turned off */
    CHECK_RC(coffre_store_open_sqlite(db_path("bulk.db"), &st), COFFRE_OK);
    CHECK(index_count(coffre_store_sqlite_handle(st)) == all);
    coffre_store_close(st);
}

/* begin_snapshot (coffre backup): a WAL read transaction on one
 * snapshot while a second connection writes. */
static void
test_snapshot(void)
{
    struct coffre_store *a = NULL, *b = NULL;

    CHECK_RC(coffre_store_open_sqlite(db_path("snap.db"), &a), COFFRE_OK);
    CHECK_RC(coffre_store_open_sqlite(db_path("snap.db"), &b), COFFRE_OK);
    if (a != NULL && b != NULL) {
        store_conformance_snapshot(a, b);
    }
    coffre_store_close(a);
    coffre_store_close(b);
}

int
main(void)
{
    store_conformance(open_fresh, NULL);
    RUN(test_pragmas);
    RUN(test_ids_across_reopen);
    RUN(test_no_residue);
    RUN(test_bulk_reopen);
    RUN(test_snapshot);
    if (getenv("COFFRE_NO_BENCH") == NULL) {
        RUN(bench_insert);
    }
    return check_done();
}
