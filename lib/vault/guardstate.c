/*
 * The guard's state shared through the store (coffre/guard.h, docs/guard.md
 * "Several processes"): a connection of its own to the vault's PostgreSQL
 * database, so that the guard never waits for the vault's lock nor joins
 * one of its transactions; one lock, since a libpq connection serves one
 * thread at a time.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/guard.h"
#include "store/store.h"
#include "vault/vault.h"

struct coffre_guard_state {
    pthread_mutex_t mu;
    struct coffre_store *store;
    char errmsg[256];
};

int
coffre_guard_state_open(struct coffre_vault *v, const char *password_file,
                        struct coffre_guard_state **pgs)
{
    struct vault_store_sel sel;
    struct coffre_guard_state *gs;
    int rc;

    if (v == NULL || pgs == NULL) {
        return COFFRE_ERR_ARG;
    }
    *pgs = NULL;
    if (v->store == NULL || v->store->ops->guard_open == NULL ||
        !vault_store_is_uri(v->store_loc)) {
        return COFFRE_OK; /* SQLite: the server keeps the state itself */
    }
    memset(&sel, 0, sizeof(sel));
    sel.pg = 1;
    snprintf(sel.uri, sizeof(sel.uri), "%s", v->store_loc);
    if ((gs = calloc(1, sizeof(*gs))) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    rc = vault_store_open_sel(&sel, password_file, &gs->store, v->errmsg,
                              sizeof(v->errmsg));
    if (rc == COFFRE_OK &&
        (rc = gs->store->ops->guard_open(gs->store)) != COFFRE_OK) {
        snprintf(v->errmsg, sizeof(v->errmsg), "%s", gs->store->errmsg);
    }
    if (rc != COFFRE_OK) {
        coffre_store_close(gs->store);
        free(gs);
        return rc;
    }
    pthread_mutex_init(&gs->mu, NULL);
    *pgs = gs;
    return COFFRE_OK;
}

void
coffre_guard_state_close(struct coffre_guard_state *gs)
{
    if (gs == NULL) {
        return;
    }
    coffre_store_close(gs->store);
    pthread_mutex_destroy(&gs->mu);
    free(gs);
}

/* Keep the store's message of a failure, under the lock. */
static int
gs_done(struct coffre_guard_state *gs, int rc)
{
    if (rc != COFFRE_OK) {
        snprintf(gs->errmsg, sizeof(gs->errmsg), "%s", gs->store->errmsg);
    }
    pthread_mutex_unlock(&gs->mu);
    return rc;
}

int
coffre_guard_state_observe(struct coffre_guard_state *gs,
                           const struct coffre_guard_ask *ask,
                           struct coffre_guard_verdict *out)
{
    if (gs == NULL || ask == NULL || out == NULL || ask->principal == NULL ||
        (ask->n > 0 && ask->ids == NULL)) {
        return COFFRE_ERR_ARG;
    }
    pthread_mutex_lock(&gs->mu);
    return gs_done(gs, gs->store->ops->guard_observe(gs->store, ask, out));
}

int
coffre_guard_state_reinstate(struct coffre_guard_state *gs, const char *name,
                             int *pfound)
{
    if (gs == NULL || name == NULL || pfound == NULL) {
        return COFFRE_ERR_ARG;
    }
    pthread_mutex_lock(&gs->mu);
    return gs_done(gs,
                   gs->store->ops->guard_reinstate(gs->store, name, pfound));
}

int
coffre_guard_state_list(struct coffre_guard_state *gs,
                        void (*fn)(void *arg,
                                   const struct coffre_guard_principal *p),
                        void *arg)
{
    if (gs == NULL || fn == NULL) {
        return COFFRE_ERR_ARG;
    }
    pthread_mutex_lock(&gs->mu);
    return gs_done(gs, gs->store->ops->guard_list(gs->store, fn, arg));
}

const char *
coffre_guard_state_errmsg(const struct coffre_guard_state *gs)
{
    return gs != NULL ? gs->errmsg : "";
}
