/*
 * coffre_vault_put_many: many persons in one transaction, sealed on every
 * core. The batch is cut into chunks; worker threads seal chunks in order
 * of claim while the calling thread inserts finished chunks into the store
 * in order, and seals chunks itself whenever the next one is not ready.
 * SQLite takes one writer, so this overlaps the crypto with the inserts.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/secmem.h"
#include "vault/vault.h"

#define BULK_CHUNK 256
#define BULK_MAX_THREADS 16

struct bulk_plan {
    int64_t retain;
    struct vault_epoch *e;
    const struct coffre_key *wrap;
};

struct bulk {
    struct coffre_vault *v;
    struct coffre_person *const *ps;
    size_t n;
    uint64_t first_id;
    struct bulk_plan *plan;
    struct vault_sealed *sealed;
    size_t nchunks;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next;         /* next chunk to claim */
    unsigned char *done; /* per chunk: sealed (or failed) */
    int rc;
    size_t bad; /* index of the first invalid person */
    struct coffre_diag diag;
};

static int
seal_chunk(struct bulk *b, size_t k, struct vault_scratch *sc)
{
    size_t lo = k * BULK_CHUNK, hi = lo + BULK_CHUNK;
    struct coffre_diag diag;
    int rc = COFFRE_OK;

    if (hi > b->n) {
        hi = b->n;
    }
    for (size_t i = lo; i < hi && rc == COFFRE_OK; i++) {
        const struct bulk_plan *pl = &b->plan[i];

        rc = coffre_person_validate_new(b->ps[i], &diag);
        if (rc != COFFRE_OK) {
            pthread_mutex_lock(&b->mu);
            if (b->rc == COFFRE_OK || i < b->bad) {
                b->bad = i;
                b->diag = diag;
            }
            pthread_mutex_unlock(&b->mu);
            break;
        }
        rc = vault_person_seal(b->v, b->ps[i], b->first_id + i, 1, pl->retain,
                               pl->e, pl->wrap, sc, &b->sealed[i]);
    }
    return rc;
}

/* Claim the next unsealed chunk and seal it; 0 if none was left. */
static int
claim_and_seal(struct bulk *b, struct vault_scratch *sc)
{
    size_t k;
    int rc;

    if (b->next >= b->nchunks || b->rc != COFFRE_OK) {
        return 0;
    }
    k = b->next++;
    pthread_mutex_unlock(&b->mu);
    rc = seal_chunk(b, k, sc);
    pthread_mutex_lock(&b->mu);
    if (rc != COFFRE_OK && b->rc == COFFRE_OK) {
        b->rc = rc;
    }
    b->done[k] = 1;
    pthread_cond_broadcast(&b->cv);
    return 1;
}

static void *
worker(void *arg)
{
    struct bulk *b = arg;
    struct vault_scratch *sc = vault_scratch_new();

    pthread_mutex_lock(&b->mu);
    if (sc == NULL) {
        b->rc = COFFRE_ERR_NOMEM;
        pthread_cond_broadcast(&b->cv);
    }
    while (sc != NULL && claim_and_seal(b, sc)) {
    }
    pthread_mutex_unlock(&b->mu);
    vault_scratch_free(sc);
    return NULL;
}

static int
insert_chunk(struct bulk *b, size_t k)
{
    struct coffre_store *s = b->v->store;
    size_t lo = k * BULK_CHUNK, hi = lo + BULK_CHUNK;
    int rc = COFFRE_OK;

    if (hi > b->n) {
        hi = b->n;
    }
    for (size_t i = lo; i < hi; i++) {
        if (rc == COFFRE_OK) {
            rc = s->ops->person_insert(s, &b->sealed[i].row, &b->sealed[i].dk);
        }
        vault_sealed_clear(&b->sealed[i]);
    }
    return rc;
}

/* The calling thread: insert chunks in order, sealing when it must wait. */
static int
drive(struct bulk *b)
{
    int rc = COFFRE_OK;

    for (size_t k = 0; k < b->nchunks && rc == COFFRE_OK; k++) {
        pthread_mutex_lock(&b->mu);
        while (!b->done[k] && b->rc == COFFRE_OK) {
            if (!claim_and_seal(b, b->v->scratch)) {
                pthread_cond_wait(&b->cv, &b->mu);
            }
        }
        rc = b->rc;
        pthread_mutex_unlock(&b->mu);
        if (rc == COFFRE_OK) {
            rc = insert_chunk(b, k);
        }
    }
    pthread_mutex_lock(&b->mu);
    if (b->rc == COFFRE_OK) {
        b->rc = rc;
    }
    b->next = b->nchunks; /* stop the workers */
    pthread_mutex_unlock(&b->mu);
    return rc;
}

static int
plan_all(struct bulk *b)
{
    struct coffre_vault *v = b->v;
    uint32_t epoch;
    int rc = COFFRE_OK;

    for (size_t i = 0; i < b->n && rc == COFFRE_OK; i++) {
        struct bulk_plan *pl = &b->plan[i];

        vault_person_plan(v, b->ps[i], &pl->retain, &epoch);
        if (i > 0 && b->plan[i - 1].e->epoch == epoch) {
            pl->e = b->plan[i - 1].e;
            pl->wrap = b->plan[i - 1].wrap;
            continue;
        }
        rc = vault_epoch(v, epoch, 1, &pl->e);
        if (rc == COFFRE_OK) {
            rc = vault_dkwrap(v, v->kek_current, pl->e, &pl->wrap);
        }
    }
    return rc;
}

static unsigned
thread_count(size_t nchunks)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t t = cpus > 1 ? (size_t)cpus - 1 : 1;

    if (t > BULK_MAX_THREADS) {
        t = BULK_MAX_THREADS;
    }
    return (unsigned)(t < nchunks ? t : nchunks);
}

static int
run_bulk(struct bulk *b)
{
    pthread_t tids[BULK_MAX_THREADS];
    unsigned nt = thread_count(b->nchunks), started = 0;
    int rc;

    for (unsigned i = 0; i < nt; i++) {
        if (pthread_create(&tids[i], NULL, worker, b) == 0) {
            started++;
        }
    }
    rc = drive(b);
    for (unsigned i = 0; i < started; i++) {
        pthread_join(tids[i], NULL);
    }
    for (size_t i = 0; i < b->n; i++) {
        vault_sealed_clear(&b->sealed[i]);
    }
    return rc;
}

/* Seal and insert ps[0..n) inside the caller's transaction, lock held. */
int
vault_bulk_insert(struct coffre_vault *v, struct coffre_person *const *ps,
                  size_t n, uint64_t *pfirst)
{
    struct bulk b;
    int rc = COFFRE_OK;

    if (n == 0) {
        return COFFRE_OK;
    }
    memset(&b, 0, sizeof(b));
    b.v = v;
    b.ps = ps;
    b.n = n;
    b.nchunks = (n + BULK_CHUNK - 1) / BULK_CHUNK;
    b.plan = calloc(n, sizeof(*b.plan));
    b.sealed = calloc(n, sizeof(*b.sealed));
    b.done = calloc(b.nchunks, 1);
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv, NULL);
    if (b.plan == NULL || b.sealed == NULL || b.done == NULL) {
        rc = COFFRE_ERR_NOMEM;
    }
    if (rc == COFFRE_OK) {
        rc = plan_all(&b);
    }
    if (rc == COFFRE_OK) {
        rc = v->store->ops->id_reserve(v->store, n, &b.first_id);
    }
    if (rc == COFFRE_OK) {
        rc = run_bulk(&b);
    }
    if (pfirst != NULL) {
        *pfirst = b.first_id;
    }
    if (rc == COFFRE_ERR_INVALID) {
        vault_fail(v, rc, "person %zu: %s: %s", b.bad, b.diag.field,
                   b.diag.rule);
    }
    pthread_cond_destroy(&b.cv);
    pthread_mutex_destroy(&b.mu);
    free(b.plan);
    free(b.sealed);
    free(b.done);
    return rc;
}

struct put_many_args {
    struct coffre_person *const *ps;
    size_t n;
    uint64_t first;
};

static int
put_many_tx(struct coffre_vault *v, void *arg)
{
    struct put_many_args *a = arg;

    return vault_bulk_insert(v, a->ps, a->n, &a->first);
}

int
coffre_vault_put_many(struct coffre_vault *v, struct coffre_person *const *ps,
                      size_t n, uint64_t *ids)
{
    struct put_many_args a = {ps, n, 0};
    struct coffre_event ev;
    int rc;

    if (n == 0) {
        return COFFRE_OK;
    }
    vault_event(&ev, COFFRE_OP_CREATE, 0, 0);
    ev.count = n;
    for (size_t i = 0; i < n; i++) {
        ev.classes |= coffre_person_classes(ps[i]);
    }
    rc = vault_in_tx_audited(v, &ev, put_many_tx, &a);
    if (rc != COFFRE_OK && rc != COFFRE_ERR_INVALID &&
        rc != COFFRE_ERR_DENIED && rc != COFFRE_ERR_UNAVAILABLE &&
        rc != COFFRE_ERR_SEALED) {
        return vault_store_fail(v, rc, "put many");
    }
    for (size_t i = 0; rc == COFFRE_OK && ids != NULL && i < n; i++) {
        ids[i] = a.first + i;
    }
    return rc;
}

int
coffre_vault_bulk_load(struct coffre_vault *v, int mode)
{
    int rc = COFFRE_OK;

    if (v == NULL || mode < COFFRE_BULK_OFF || mode > COFFRE_BULK_NEW) {
        return COFFRE_ERR_ARG;
    }
    pthread_mutex_lock(&v->lock);
    if (v->store->ops->bulk_load != NULL) {
        rc = v->store->ops->bulk_load(v->store, mode);
        if (rc != COFFRE_OK) {
            rc = vault_store_fail(v, rc, mode ? "bulk load" : "index build");
        }
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}
