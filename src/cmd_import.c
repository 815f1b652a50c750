/*
 * coffre import: stream a JSON Lines or CSV accreditation file (or a sealed
 * bundle) into the vault in batches; memory does not grow with the file
 * but for the manifest (72 bytes a person). Each batch is one transaction
 * that also records how far the file was read and the batch's manifest
 * entries, so a run killed at any moment resumes after the last committed
 * batch without reading the file before it again; records are keyed by
 * their source key, so importing again adds nothing (docs/migration.md).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "cmd.h"
#include "coffre/migrate.h"

#define IMPORT_BATCH 8192
#define MARKER_MAX 64
/* Manifest entries in one meta value: 1024 * 64 bytes = the 64 KiB cap. */
#define CHUNK_ENTRIES 1024
/* The marker keeps a hash of the bytes just before its offset, so that a
 * file changed since an interrupted import is not resumed at that offset. */
#define TAIL_BYTES 4096
#define TAIL_HEX 32

struct import_args {
    struct cli_vault_opts vo;
    int format; /* -1: from the file name */
    const char *rejects;
    int stop_on_reject;
    int bundle;
    int progress; /* --progress: draw it even when stderr is no terminal */
    const char *file;
};

struct import_pipe;

struct import_run {
    struct coffre_vault *v;
    const struct import_args *a;
    FILE *rf;
    char rpath[4096];
    char marker[MARKER_MAX];
    uint64_t resume_at, resume_lines, size, offset, lines, rejected, read;
    uint64_t chunks; /* manifest chunks committed (meta MARKER.m<i>) */
    uint64_t stale;  /* chunks of an abandoned resume, cleared at the end */
    char tail[TAIL_HEX + 1]; /* the marker's hash of the bytes before it */
    int fd;                  /* the file read, for that hash */
    size_t saved;            /* manifest entries committed in them */
    int reread; /* a v1 marker: read the prefix again for the manifest */
    struct coffre_import_counts c;
    struct coffre_manifest *m;
    struct coffre_person **batch;
    size_t n;
    struct import_pipe *pipe; /* NULL: batches stored in the reading thread */
    struct timespec t0;
    double last_draw;
    int last_step;     /* the 5% step of the last draw */
    const char *phase; /* NULL, or what the bar is of ("verifying") */
    int tty;
};

static void
import_usage(FILE *f)
{
    fprintf(f, "usage: coffre import --data DIR --share FILE... [--format "
               "jsonl|csv]\n"
               "                     [--rejects FILE] [--stop-on-reject] FILE\n"
               "       coffre import --data DIR --share FILE... --bundle "
               "BUNDLE\n"
               "options: --progress (the progress bar on standard error even "
               "when it is no\n"
               "terminal; on a terminal it is drawn anyway)\n\n"
               "Load an accreditation file (docs/formats.md) or a sealed "
               "bundle from another\nvault. Records are keyed by source_key: "
               "importing again adds nothing, a changed\nrecord is updated. An "
               "interrupted import resumes where it stopped when run\nagain. "
               "Records that fail validation go to the reject file (default "
               "FILE.rejects)\nwith line, field and rule. Prints the manifest "
               "root (docs/migration.md).\n");
}

static int
import_parse(int argc, char **argv, struct import_args *a)
{
    static const struct option lo[] = {
        {"data", required_argument, NULL, CLI_OPT_DATA},
        {"share", required_argument, NULL, CLI_OPT_SHARE},
        CLI_AUDIT_LONGOPTS,
        {"format", required_argument, NULL, 'f'},
        {"rejects", required_argument, NULL, 'r'},
        {"stop-on-reject", no_argument, NULL, 'S'},
        {"bundle", no_argument, NULL, 'b'},
        {"progress", no_argument, NULL, 'P'},
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
        } else if (c == 'b') {
            a->bundle = 1;
        } else if (c == 'P') {
            a->progress = 1;
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
elapsed(const struct import_run *st)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - st->t0.tv_sec) +
           (double)(t.tv_nsec - st->t0.tv_nsec) / 1e9;
}

/* A progress line on a terminal, redrawn at most ten times a second. */
static void
progress(struct import_run *st, int force)
{
    double s = elapsed(st), rate, frac, eta;
    uint64_t done = st->read;
    char bar[21];

    if (!st->tty) {
        return;
    }
    frac = st->size > 0 ? (double)st->offset / (double)st->size : 0.0;
    frac = frac > 1.0 ? 1.0 : frac;
    /* Every 0.1 s, and at each 5% however fast: a short run still moves. */
    if (!force && s - st->last_draw < 0.1 &&
        (int)(frac * 20) == st->last_step) {
        return;
    }
    st->last_draw = s;
    st->last_step = (int)(frac * 20);
    rate = s > 0 ? (double)done / s : 0.0;
    eta = frac > 0.0 && st->offset > st->resume_at
              ? s * (1.0 - frac) /
                    ((double)(st->offset - st->resume_at) / (double)st->size)
              : 0.0;
    for (int i = 0; i < 20; i++) {
        bar[i] = i < (int)(frac * 20) ? '#' : '.';
    }
    bar[20] = '\0';
    if (st->phase != NULL) { /* counts only: never a personal value */
        fprintf(stderr, "\r[%s] %3.0f%% %s   ", bar, frac * 100, st->phase);
        return;
    }
    fprintf(stderr,
            "\r[%s] %3.0f%% %" PRIu64 " persons, %" PRIu64
            " rejected, %.0f/s, ETA %.0f s   ",
            bar, frac * 100, done, st->rejected, rate, eta);
}

/* FNV-1a of the first 64 KiB and the name: the file's identity for
 * resuming (not a security check: the marker only says where to go on). */
static void
file_marker(const char *path, FILE *in, char out[MARKER_MAX])
{
    unsigned char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf), in);
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ buf[i]) * 1099511628211ull;
    }
    for (const char *p = strrchr(path, '/') ? strrchr(path, '/') : path; *p;
         p++) {
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    }
    rewind(in);
    snprintf(out, MARKER_MAX, "migrate.import.%016" PRIx64, h);
}

/* Where the reader stood after a batch's last record. */
struct read_point {
    uint64_t offset, lines, rejected;
    long rejpos;             /* bytes of the reject file */
    char tail[TAIL_HEX + 1]; /* hash of the bytes before offset */
};

/* BLAKE2b-128 of the (up to) TAIL_BYTES bytes of ${fd} before ${offset},
 * in hex; "-" when they cannot be read. */
static void
tail_hash(int fd, uint64_t offset, char out[TAIL_HEX + 1])
{
    unsigned char buf[TAIL_BYTES], h[TAIL_HEX / 2];
    size_t want = offset < TAIL_BYTES ? (size_t)offset : TAIL_BYTES;
    ssize_t got = pread(fd, buf, want, (off_t)(offset - want));

    if (got != (ssize_t)want) {
        snprintf(out, TAIL_HEX + 1, "-");
        return;
    }
    crypto_generichash(h, sizeof(h), buf, want, NULL, 0);
    sodium_bin2hex(out, TAIL_HEX + 1, h, sizeof(h));
}

/* The marker (docs/migration.md section 2): "v3 OFFSET LINES REJECTS_BYTES
 * REJECTED INSERTED UPDATED UNCHANGED DUPLICATES CHUNKS TAIL". */
static void
marker_format(const struct read_point *at, const struct coffre_import_counts *c,
              uint64_t chunks, char *out, size_t cap)
{
    snprintf(out, cap,
             "v3 %" PRIu64 " %" PRIu64 " %ld %" PRIu64 " %" PRIu64 " %" PRIu64
             " %" PRIu64 " %" PRIu64 " %" PRIu64 " %s",
             at->offset, at->lines, at->rejpos, at->rejected, c->inserted,
             c->updated, c->unchanged, c->duplicates, chunks, at->tail);
}

static int
marker_parse(struct import_run *st, const char *val, long *prejpos)
{
    if (sscanf(val,
               "v3 %" SCNu64 " %" SCNu64 " %ld %" SCNu64 " %" SCNu64 " %" SCNu64
               " %" SCNu64 " %" SCNu64 " %" SCNu64 " %32s",
               &st->resume_at, &st->resume_lines, prejpos, &st->rejected,
               &st->c.inserted, &st->c.updated, &st->c.unchanged,
               &st->c.duplicates, &st->chunks, st->tail) == 10) {
        return 1;
    }
    st->tail[0] = '\0'; /* v2: written before the tail hash existed */
    if (sscanf(val,
               "v2 %" SCNu64 " %" SCNu64 " %ld %" SCNu64 " %" SCNu64 " %" SCNu64
               " %" SCNu64 " %" SCNu64 " %" SCNu64,
               &st->resume_at, &st->resume_lines, prejpos, &st->rejected,
               &st->c.inserted, &st->c.updated, &st->c.unchanged,
               &st->c.duplicates, &st->chunks) == 9) {
        return 1;
    }
    /* Written by an older coffre: no manifest entries were kept. */
    st->reread = 1;
    return sscanf(val,
                  "v1 %" SCNu64 " %ld %" SCNu64 " %" SCNu64 " %" SCNu64
                  " %" SCNu64 " %" SCNu64,
                  &st->resume_at, prejpos, &st->rejected, &st->c.inserted,
                  &st->c.updated, &st->c.unchanged, &st->c.duplicates) == 7;
}

static int
chunk_name(const struct import_run *st, uint64_t i, char out[MARKER_MAX])
{
    int n = snprintf(out, MARKER_MAX, "%s.m%" PRIu64, st->marker, i);

    return n > 0 && n < MARKER_MAX ? 0 : -1;
}

/* The manifest entries of the committed batches, from their chunks. */
static int
chunks_load(struct import_run *st)
{
    char name[MARKER_MAX], *val = NULL;
    size_t len = 0;
    int rc = COFFRE_OK;

    for (uint64_t i = 0; i < st->chunks && rc == COFFRE_OK; i++) {
        rc = chunk_name(st, i, name) == 0 ? COFFRE_OK : COFFRE_ERR_ARG;
        if (rc == COFFRE_OK) {
            rc = coffre_vault_meta_get(st->v, name, &val, &len);
        }
        if (rc == COFFRE_OK) {
            rc = len > 0 ? coffre_manifest_unpack(
                               st->m, (const unsigned char *)val, len)
                         : COFFRE_ERR_PARSE;
        }
        coffre_free(val);
        val = NULL;
    }
    st->saved = coffre_manifest_count(st->m);
    return rc;
}

/*
 * The bytes before the marker's offset are not those it was cut after:
 * the file was changed since the interrupted import. Going on at that
 * offset could start mid-record and would miss what changed before it, so
 * the import starts over from the beginning: records already stored are
 * matched by their source key (unchanged, or updated).
 */
static int
file_changed(struct import_run *st)
{
    char now[TAIL_HEX + 1];

    if (st->tail[0] == '\0') {
        return 0;
    }
    tail_hash(st->fd, st->resume_at, now);
    if (strcmp(now, st->tail) == 0) {
        return 0;
    }
    fprintf(stderr,
            "import: %s changed since the interrupted import (the bytes "
            "before byte %" PRIu64 " differ): importing it from the start "
            "again; records already stored are matched by their source "
            "key\n",
            st->a->file, st->resume_at);
    st->stale = st->chunks;
    st->chunks = 0;
    st->resume_at = st->resume_lines = st->rejected = 0;
    memset(&st->c, 0, sizeof(st->c));
    return 1;
}

static int
marker_load(struct import_run *st, long *prejpos)
{
    char *val = NULL;
    int rc = coffre_vault_meta_get(st->v, st->marker, &val, NULL), ok;

    *prejpos = 0;
    if (rc == COFFRE_ERR_NOTFOUND || (rc == COFFRE_OK && val[0] == '\0')) {
        coffre_free(val);
        return 0;
    }
    ok = rc == COFFRE_OK && marker_parse(st, val, prejpos);
    coffre_free(val);
    if (!ok || st->resume_at > st->size) {
        cli_error("import",
                  "the import marker %s is damaged or the file "
                  "is shorter than when it was imported",
                  st->marker);
        return 1;
    }
    if (file_changed(st)) {
        *prejpos = 0;
        return 0;
    }
    if (chunks_load(st) != COFFRE_OK) {
        cli_error("import",
                  "the manifest entries of the import marker %s are "
                  "damaged or missing",
                  st->marker);
        return 1;
    }
    return 0;
}

/* The meta values a batch commits with: the chunks of its manifest
 * entries, then the marker; at the end of the file, all of them cleared. */
struct batch_meta {
    const struct import_run *st;
    int last;
    struct read_point at; /* taken when the batch was cut */
    uint64_t chunks0;     /* chunks committed before the batch */
    struct coffre_meta_value *mv;
    char (*names)[MARKER_MAX];
    unsigned char *packed;
    size_t n, chunks; /* values; new chunks among them */
    char state[256];  /* the marker's value */
};

static void
batch_meta_free(struct batch_meta *bm)
{
    free(bm->mv);
    free(bm->names);
    free(bm->packed);
    memset(bm, 0, sizeof(*bm));
}

static int
batch_meta_chunks(struct import_run *st, int last, struct batch_meta *bm)
{
    size_t fresh = last ? 0 : coffre_manifest_count(st->m) - st->saved;
    uint64_t all = st->chunks > st->stale ? st->chunks : st->stale;
    size_t k = last ? (size_t)all : (fresh + CHUNK_ENTRIES - 1) / CHUNK_ENTRIES;

    bm->chunks = last ? 0 : k;
    bm->n = k + 1;
    bm->mv = calloc(bm->n, sizeof(*bm->mv));
    bm->names = calloc(bm->n, sizeof(*bm->names));
    bm->packed = fresh > 0 ? malloc(fresh * COFFRE_MANIFEST_PACKED_LEN) : NULL;
    if (bm->mv == NULL || bm->names == NULL || (fresh > 0 && !bm->packed) ||
        (fresh > 0 &&
         coffre_manifest_pack(st->m, st->saved, fresh, bm->packed) != 0)) {
        return 1;
    }
    for (size_t i = 0; i < k; i++) {
        size_t from = i * CHUNK_ENTRIES, left = last ? 0 : fresh - from;

        if (chunk_name(st, last ? i : st->chunks + i, bm->names[i]) != 0) {
            return 1;
        }
        bm->mv[i].name = bm->names[i];
        bm->mv[i].val = ""; /* at the end: cleared */
        if (!last) {
            bm->mv[i].val = bm->packed + from * COFFRE_MANIFEST_PACKED_LEN;
            bm->mv[i].len = (left < CHUNK_ENTRIES ? left : CHUNK_ENTRIES) *
                            COFFRE_MANIFEST_PACKED_LEN;
        }
    }
    return 0;
}

static int
batch_meta_make(struct import_run *st, int last, struct batch_meta *bm)
{
    memset(bm, 0, sizeof(*bm));
    bm->st = st;
    bm->last = last;
    bm->chunks0 = st->chunks;
    if (!last) {
        fflush(st->rf);
        bm->at.rejpos = ftell(st->rf);
        bm->at.offset = st->offset;
        bm->at.lines = st->lines;
        bm->at.rejected = st->rejected;
        tail_hash(st->fd, st->offset, bm->at.tail);
    }
    return batch_meta_chunks(st, last, bm);
}

/* coffre_import_meta_fn: the marker holds the counts with the batch's. */
static int
batch_meta_cb(void *ctx, const struct coffre_import_counts *total,
              const struct coffre_meta_value **pmeta, size_t *pn)
{
    struct batch_meta *bm = ctx;
    struct coffre_meta_value *mk = &bm->mv[bm->n - 1];

    if (!bm->last) {
        marker_format(&bm->at, total, bm->chunks0 + bm->chunks, bm->state,
                      sizeof(bm->state));
    }
    mk->name = bm->st->marker;
    mk->val = bm->state;
    mk->len = strlen(bm->state);
    *pmeta = bm->mv;
    *pn = bm->n;
    return 0;
}

/* Free the ${*pn} persons of a batch; it is empty after. */
static void
persons_drop(struct coffre_person **ps, size_t *pn)
{
    for (size_t i = 0; i < *pn; i++) {
        coffre_person_free(ps[i]);
    }
    *pn = 0;
}

/*
 * Reading and storing overlap: while one batch is stored (sealed on every
 * core, written in one transaction) by the storing thread, the reading
 * thread parses, validates and hashes the next one. One batch at most is
 * in flight and batches commit in file order, each with the read point
 * taken when it was cut, so a kill still leaves a marker that says exactly
 * what was committed.
 */
struct import_pipe {
    struct import_run *st;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int busy; /* a batch is handed over and not yet stored */
    int quit;
    int rc; /* the first failure of the storing thread */
    struct coffre_person **batch;
    size_t n;
    struct batch_meta bm;
    struct coffre_import_counts c; /* totals, owned by the storing thread */
};

static void *
pipe_main(void *arg)
{
    struct import_pipe *p = arg;
    int rc;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->busy && !p->quit) {
            pthread_cond_wait(&p->cv, &p->mu);
        }
        if (!p->busy) {
            break;
        }
        pthread_mutex_unlock(&p->mu);
        rc = coffre_vault_import(p->st->v, p->batch, p->n, batch_meta_cb,
                                 &p->bm, &p->c);
        persons_drop(p->batch, &p->n);
        batch_meta_free(&p->bm);
        pthread_mutex_lock(&p->mu);
        p->rc = p->rc != COFFRE_OK ? p->rc : rc;
        p->busy = 0;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Wait until nothing is in flight; the storing thread's first failure. */
static int
pipe_idle(struct import_run *st)
{
    struct import_pipe *p = st->pipe;
    int rc;

    pthread_mutex_lock(&p->mu);
    while (p->busy) {
        pthread_cond_wait(&p->cv, &p->mu);
    }
    rc = p->rc;
    st->c = p->c;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static int
pipe_start(struct import_run *st, struct import_pipe *p)
{
    memset(p, 0, sizeof(*p));
    p->st = st;
    p->c = st->c;
    p->batch = calloc(IMPORT_BATCH, sizeof(*p->batch));
    if (p->batch == NULL) {
        return -1;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, pipe_main, p) != 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        free(p->batch);
        return -1;
    }
    st->pipe = p;
    return 0;
}

/* Let the batch in flight commit, stop the storing thread; its status. */
static int
pipe_stop(struct import_run *st)
{
    struct import_pipe *p = st->pipe;
    int rc = pipe_idle(st);

    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->batch);
    st->pipe = NULL;
    return rc;
}

static int
store_failed(struct import_run *st, int rc)
{
    cli_error("import", "%s",
              rc == COFFRE_ERR_NOMEM ? "out of memory"
                                     : coffre_vault_errmsg(st->v));
    return 1;
}

/* Hand the full batch to the storing thread (after the one in flight). */
static int
pipe_hand(struct import_run *st)
{
    struct import_pipe *p = st->pipe;
    struct coffre_person **spare;
    int rc = pipe_idle(st);

    if (rc == COFFRE_OK && batch_meta_make(st, 0, &p->bm) != 0) {
        batch_meta_free(&p->bm);
        rc = COFFRE_ERR_NOMEM;
    }
    if (rc != COFFRE_OK) {
        persons_drop(st->batch, &st->n);
        return store_failed(st, rc);
    }
    st->chunks += p->bm.chunks; /* as committed if it commits; if not, the
                                   run stops at the next batch */
    st->saved = coffre_manifest_count(st->m);
    spare = p->batch;
    p->batch = st->batch;
    p->n = st->n;
    st->batch = spare;
    st->n = 0;
    pthread_mutex_lock(&p->mu);
    p->busy = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

/* Store the batch; ${last}: the file is read to its end, so the marker and
 * the manifest chunks are cleared in the same transaction. */
static int
flush_batch(struct import_run *st, int last)
{
    struct batch_meta bm;
    int rc = COFFRE_OK;

    if (st->pipe != NULL && !last) {
        return pipe_hand(st);
    }
    if (st->pipe != NULL && (rc = pipe_idle(st)) != COFFRE_OK) {
        persons_drop(st->batch, &st->n);
        return store_failed(st, rc);
    }
    memset(&bm, 0, sizeof(bm));
    if (st->rf != NULL && batch_meta_make(st, last, &bm) != 0) {
        rc = COFFRE_ERR_NOMEM;
    }
    if (rc == COFFRE_OK) {
        /* bundles: no resume marker (two passes); with a pipe, idle
         * here, its totals go on in this thread */
        rc = coffre_vault_import(st->v, st->batch, st->n,
                                 st->rf != NULL ? batch_meta_cb : NULL, &bm,
                                 st->pipe != NULL ? &st->pipe->c : &st->c);
    }
    persons_drop(st->batch, &st->n);
    if (rc == COFFRE_OK && st->rf != NULL && !last) {
        st->chunks += bm.chunks;
        st->saved = coffre_manifest_count(st->m);
    }
    batch_meta_free(&bm);
    return rc != COFFRE_OK ? store_failed(st, rc) : 0;
}

static void
write_reject(FILE *rf, const struct coffre_diag *d, int rc)
{
    fprintf(rf, "line %llu\t%s\t%s\n", (unsigned long long)d->line,
            d->field[0] != '\0' ? d->field : "-",
            d->rule[0] != '\0' ? d->rule : coffre_strerror(rc));
}

/* One record read: returns 1 to stop with failure, 0 to go on. */
static int
take(struct import_run *st, int rc, struct coffre_person *p,
     struct coffre_diag *d)
{
    if (st->reread && st->offset <= st->resume_at) {
        /* Committed before a v1 marker: only the manifest needs it. */
        if (rc == COFFRE_OK && coffre_person_source_key(p) != NULL) {
            rc = coffre_manifest_add(st->m, p);
        }
        coffre_person_free(p);
        return rc == COFFRE_OK || rc == COFFRE_ERR_INVALID ||
                       rc == COFFRE_ERR_PARSE || rc == COFFRE_ERR_TOOBIG
                   ? 0
                   : 1;
    }
    if (rc == COFFRE_OK && coffre_person_source_key(p) == NULL) {
        snprintf(d->field, sizeof(d->field), "source_key");
        snprintf(d->rule, sizeof(d->rule), "is required for import");
        coffre_person_free(p);
        rc = COFFRE_ERR_INVALID;
    }
    if (rc != COFFRE_OK) {
        st->rejected++;
        write_reject(st->rf, d, rc);
        if (st->a->stop_on_reject) {
            cli_error("import", "line %llu: %s: %s (stopping)",
                      (unsigned long long)d->line, d->field, d->rule);
            return 1;
        }
        return 0;
    }
    st->read++;
    if (coffre_manifest_add(st->m, p) != COFFRE_OK) {
        coffre_person_free(p);
        cli_error("import", "out of memory");
        return 1;
    }
    st->batch[st->n++] = p;
    return st->n == IMPORT_BATCH ? flush_batch(st, 0) : 0;
}

/* Read the whole stream; returns an exit status. */
static int
import_stream(struct import_run *st, struct coffre_reader *r)
{
    struct coffre_person *p;
    struct coffre_diag d;
    int rc, status = 0;

    for (;;) {
        memset(&d, 0, sizeof(d));
        rc = coffre_reader_next(r, &p, &d);
        if (rc == COFFRE_OK && p == NULL) {
            break;
        }
        if (rc == COFFRE_ERR_IO) {
            cli_error("import", "cannot read %s", st->a->file);
            status = 1;
            break;
        }
        st->offset = coffre_reader_offset(r);
        st->lines = coffre_reader_lines(r);
        if ((status = take(st, rc, p, &d)) != 0) {
            break;
        }
        progress(st, 0);
    }
    if (status == 0) {
        status = flush_batch(st, 1);
    }
    return status;
}

static void
summary(struct import_run *st, const char *what)
{
    unsigned char root[COFFRE_MANIFEST_LEN];
    char hex[2 * COFFRE_MANIFEST_LEN + 1];
    uint64_t count = 0;
    double s = elapsed(st);

    if (st->tty) {
        progress(st, 1);
        fputc('\n', stderr);
    }
    coffre_manifest_root(st->m, root, &count);
    coffre_hex(root, sizeof(root), hex);
    printf("imported %s: %" PRIu64 " new, %" PRIu64 " updated, %" PRIu64
           " unchanged, %" PRIu64 " duplicates, %" PRIu64 " rejected%s%s%s\n",
           what, st->c.inserted, st->c.updated, st->c.unchanged,
           st->c.duplicates, st->rejected, st->rf ? " (see " : "",
           st->rf ? st->rpath : "", st->rf ? ")" : "");
    if (st->resume_at > 0) {
        printf("resumed at byte %" PRIu64 "\n", st->resume_at);
    }
    printf("manifest root: %s (%" PRIu64 " persons)\n", hex, count);
    printf("elapsed: %.1f s, %.0f persons/s\n", s,
           s > 0 ? (double)st->read / s : 0.0);
}

/* Open the reject file: on a resume, cut it back to what the last
 * committed batch had written. */
static int
open_rejects(struct import_run *st, long rejpos)
{
    if (st->resume_at > 0 && truncate(st->rpath, rejpos) == 0) {
        st->rf = fopen(st->rpath, "a");
    } else {
        st->rf = fopen(st->rpath, "w");
    }
    if (st->rf == NULL) {
        cli_error("import", "cannot write %s: %s", st->rpath, strerror(errno));
        return 1;
    }
    return 0;
}

static int
import_file(struct import_run *st, FILE *in)
{
    struct import_pipe pipe;
    const struct import_args *a = st->a;
    int fmt = a->format >= 0 ? a->format : guess_format(a->file);
    struct coffre_reader *r = NULL;
    struct stat sb;
    long rejpos;
    int status;

    st->fd = fileno(in);
    st->size = fstat(st->fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    file_marker(a->file, in, st->marker);
    snprintf(st->rpath, sizeof(st->rpath), "%s",
             a->rejects != NULL ? a->rejects : a->file);
    if (a->rejects == NULL) {
        strncat(st->rpath, ".rejects",
                sizeof(st->rpath) - strlen(st->rpath) - 1);
    }
    if (marker_load(st, &rejpos) != 0 || open_rejects(st, rejpos) != 0) {
        return 1;
    }
    if (coffre_reader_open(in, (enum coffre_format)fmt, &r) != COFFRE_OK) {
        cli_error("import", "cannot start reading %s", a->file);
        return 1;
    }
    if (st->resume_at > 0 && !st->reread &&
        coffre_reader_seek(r, st->resume_at, st->resume_lines) != COFFRE_OK) {
        cli_error("import", "cannot resume reading %s at byte %" PRIu64,
                  a->file, st->resume_at);
        coffre_reader_free(r);
        return 1;
    }
    if (pipe_start(st, &pipe) != 0) {
        st->pipe = NULL; /* no second thread: store in this one */
    }
    status = import_stream(st, r);
    if (st->pipe != NULL && pipe_stop(st) != COFFRE_OK && status == 0) {
        status = store_failed(st, COFFRE_ERR_STORE);
    }
    coffre_reader_free(r);
    summary(st, a->file);
    return status;
}

/* Pass 1 authenticates the whole bundle (nothing is stored from a bundle
 * that is altered, truncated or not for this vault); pass 2 imports it. */
static int
bundle_pass(struct import_run *st, FILE *in, int store)
{
    struct coffre_bundle *b = NULL;
    struct coffre_person *p;
    struct stat sb;
    int rc = coffre_bundle_open(st->v, in, &b), status = 0;

    /* The bar follows the bytes read, in both passes (it used to stay at
     * 0%: offset and size were the plain file's only). */
    st->size = fstat(fileno(in), &sb) == 0 ? (uint64_t)sb.st_size : 0;
    st->phase = store ? NULL : "verifying the bundle";
    st->last_step = -1;
    while (rc == COFFRE_OK && status == 0) {
        rc = coffre_bundle_next(b, &p);
        if (rc != COFFRE_OK || p == NULL) {
            st->offset = rc == COFFRE_OK ? st->size : st->offset; /* read */
            break;
        }
        off_t at = ftello(in);
        st->offset = at > 0 ? (uint64_t)at : 0;
        if (!store) {
            coffre_person_free(p);
            progress(st, 0);
            continue;
        }
        st->read++;
        if (coffre_manifest_add(st->m, p) != COFFRE_OK) {
            coffre_person_free(p);
            rc = COFFRE_ERR_NOMEM;
            break;
        }
        st->batch[st->n++] = p;
        status = st->n == IMPORT_BATCH ? flush_batch(st, 0) : 0;
        progress(st, 0);
    }
    if (rc != COFFRE_OK) {
        cli_error("import", "bundle refused: %s",
                  b != NULL && coffre_bundle_errmsg(b)[0] != '\0'
                      ? coffre_bundle_errmsg(b)
                      : coffre_strerror(rc));
        status = 1;
    }
    if (status == 0 && st->n > 0) {
        status = flush_batch(st, 1);
    }
    coffre_bundle_close(b);
    return status;
}

static int
import_bundle(struct import_run *st, FILE *in)
{
    int status = bundle_pass(st, in, 0);

    if (status == 0) {
        progress(st, 1);
        if (st->tty) {
            fputc('\n', stderr);
        }
        rewind(in);
        status = bundle_pass(st, in, 1);
    }
    if (status == 0) {
        summary(st, st->a->file);
    }
    return status;
}

/*
 * An import that brings at least as many records as the vault holds (a
 * first load, a migration) defers the search indexes for its duration
 * (coffre_vault_bulk_load): building them once at the end costs a
 * fraction of maintaining them row by row. Records are estimated from the
 * file's size. The indexes are built however the import ends; if the
 * process dies, the next open of the vault builds them.
 */
#define BULK_MIN_BYTES (1u << 20)
#define BULK_BYTES_PER_RECORD 512u

static int
bulk_begin(struct import_run *st, FILE *in)
{
    struct coffre_vault_stats vs;
    struct stat sb;

    if (fstat(fileno(in), &sb) != 0 || sb.st_size < BULK_MIN_BYTES ||
        coffre_vault_stats(st->v, &vs) != COFFRE_OK ||
        (uint64_t)sb.st_size / BULK_BYTES_PER_RECORD < vs.persons) {
        return 0;
    }
    return coffre_vault_bulk_load(st->v, COFFRE_BULK_IMPORT) == COFFRE_OK;
}

static int
bulk_end(struct import_run *st)
{
    if (st->tty) {
        fprintf(stderr, "import: building the search indexes...\n");
    }
    if (coffre_vault_bulk_load(st->v, COFFRE_BULK_OFF) != COFFRE_OK) {
        cli_error("import", "building the search indexes: %s",
                  coffre_vault_errmsg(st->v));
        return 1;
    }
    return 0;
}

static int
import_run(struct coffre_vault *v, const struct import_args *a)
{
    struct import_run st;
    FILE *in;
    int status;

    memset(&st, 0, sizeof(st));
    st.v = v;
    st.a = a;
    st.tty = a->progress || isatty(STDERR_FILENO);
    clock_gettime(CLOCK_MONOTONIC, &st.t0);
    in = fopen(a->file, "rb");
    if (in == NULL) {
        cli_error("import", "cannot open %s: %s", a->file, strerror(errno));
        return 1;
    }
    st.batch = calloc(IMPORT_BATCH, sizeof(*st.batch));
    if (st.batch == NULL || coffre_manifest_new(&st.m) != COFFRE_OK) {
        cli_error("import", "out of memory");
        status = 1;
    } else {
        int bulk = bulk_begin(&st, in);

        status = a->bundle ? import_bundle(&st, in) : import_file(&st, in);
        if (bulk && bulk_end(&st) != 0) {
            status = 1;
        }
    }
    if (st.rf != NULL) {
        fclose(st.rf);
    }
    fclose(in);
    coffre_manifest_free(st.m);
    if (st.batch != NULL) { /* what a failed or stopped run still holds */
        persons_drop(st.batch, &st.n);
    }
    free(st.batch);
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
    cli_close(v);
    return r;
}
