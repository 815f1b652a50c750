/*
 * Key lifecycle: rotation of key-encryption keys, rewrapping data keys onto
 * the newest version in short batches (the vault keeps serving between
 * them), retiring old versions, and destroying retention epochs.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/secmem.h"
#include "vault/vault.h"

#define REWRAP_MAX_BATCH 4096

/* Forget KEK slot idx, keeping the epochs' dkwrap caches aligned. */
static void
drop_kek_slot(struct coffre_vault *v, unsigned idx)
{
    coffre_key_destroy(v->keks[idx].key);
    for (unsigned i = 0; i < v->nepochs; i++) {
        struct vault_epoch *e = &v->epochs[i];

        coffre_key_destroy(e->dkwrap[idx]);
        memmove(&e->dkwrap[idx], &e->dkwrap[idx + 1],
                (v->nkeks - idx - 1) * sizeof(e->dkwrap[0]));
        e->dkwrap[v->nkeks - 1] = NULL;
    }
    memmove(&v->keks[idx], &v->keks[idx + 1],
            (v->nkeks - idx - 1) * sizeof(v->keks[0]));
    v->nkeks--;
    memset(&v->keks[v->nkeks], 0, sizeof(v->keks[0]));
}

static int
rotate_tx(struct coffre_vault *v, void *arg)
{
    (void)arg;
    return vault_kek_new(v, v->kek_current + 1);
}

int
coffre_vault_rotate(struct coffre_vault *v, unsigned *pversion)
{
    uint32_t before;
    struct coffre_event ev;
    unsigned idx;
    int rc;

    vault_event(&ev, COFFRE_OP_KEY_ROTATE, 0, 0);
    pthread_mutex_lock(&v->lock);
    before = v->kek_current;
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = vault_tx_audited(v, &ev, rotate_tx, NULL);
        /* Rolled back: the key loaded for the new version goes too. */
        if (rc != COFFRE_OK && v->kek_current != before &&
            vault_kek(v, v->kek_current, &idx) != NULL) {
            drop_kek_slot(v, idx);
            v->kek_current = before;
        }
    }
    if (rc == COFFRE_OK && pversion != NULL) {
        *pversion = v->kek_current;
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

/* Move one data key from its KEK to the current one. */
static int
rewrap_one(struct coffre_vault *v, struct coffre_store_dkey *dk)
{
    unsigned char ad[COFFRE_AD_MAX];
    const struct coffre_key *to;
    struct vault_epoch *e;
    size_t adlen;
    int rc;

    rc = vault_open_dkey(v, dk, v->scratch);
    if (rc == COFFRE_OK) {
        rc = vault_epoch(v, dk->epoch, 0, &e);
    }
    if (rc == COFFRE_OK) {
        rc = vault_dkwrap(v, v->kek_current, e, &to);
    }
    if (rc == COFFRE_OK) {
        dk->kek_version = v->kek_current;
        dk->len = COFFRE_WRAPPED_LEN;
        adlen = coffre_ad_dkey(ad, v->id, dk->id, dk->kek_version, dk->epoch);
        rc = coffre_key_wrap(to, ad, adlen, v->scratch->dk, dk->wrapped);
    }
    sodium_memzero(v->scratch->dk->b, sizeof(v->scratch->dk->b));
    if (rc == COFFRE_OK) {
        rc = v->store->ops->dkey_update(v->store, dk);
    }
    return rc;
}

struct rewrap_args {
    size_t max, moved;
    struct coffre_event *ev;
};

static int
rewrap_tx(struct coffre_vault *v, void *arg)
{
    struct rewrap_args *a = arg;
    struct coffre_store_dkey *batch = calloc(a->max, sizeof(*batch));
    size_t n = 0;
    int rc = batch != NULL ? COFFRE_OK : COFFRE_ERR_NOMEM;

    if (rc == COFFRE_OK) {
        rc = v->store->ops->dkey_list_below(v->store, v->kek_current, batch,
                                            a->max, &n);
    }
    for (size_t i = 0; i < n && rc == COFFRE_OK; i++) {
        rc = rewrap_one(v, &batch[i]);
    }
    free(batch);
    a->moved = n;
    a->ev->count = n;
    return rc;
}

static int
rewrap_locked(struct coffre_vault *v, size_t max, size_t *pmoved)
{
    struct coffre_event ev;
    struct rewrap_args a = {max > REWRAP_MAX_BATCH ? REWRAP_MAX_BATCH : max, 0,
                            &ev};
    int rc;

    vault_event(&ev, COFFRE_OP_KEY_REWRAP, 0, 0);
    a.max = a.max != 0 ? a.max : 1;
    rc = vault_tx_audited(v, &ev, rewrap_tx, &a);
    *pmoved = rc == COFFRE_OK ? a.moved : 0;
    return rc == COFFRE_OK || rc == COFFRE_ERR_DENIED ||
                   rc == COFFRE_ERR_UNAVAILABLE
               ? rc
               : vault_store_fail(v, rc, "rewrap");
}

int
coffre_vault_rewrap(struct coffre_vault *v, size_t max, size_t *pmoved)
{
    int rc;

    *pmoved = 0;
    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = rewrap_locked(v, max, pmoved);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

static int
retire_tx(struct coffre_vault *v, void *arg)
{
    return v->store->ops->kek_delete(v->store, *(const unsigned *)arg);
}

static int
retire_locked(struct coffre_vault *v, unsigned version)
{
    uint64_t n = 0;
    unsigned idx;
    int rc;

    if (vault_kek(v, version, &idx) == NULL) {
        return vault_fail(v, COFFRE_ERR_NOTFOUND, "no key-encryption key v%u",
                          version);
    }
    if (version == v->kek_current) {
        return vault_fail(v, COFFRE_ERR_INUSE,
                          "v%u is the current key-encryption key: rotate "
                          "first",
                          version);
    }
    rc = v->store->ops->dkey_count(v->store, version, &n);
    if (rc == COFFRE_OK && n > 0) {
        return vault_fail(v, COFFRE_ERR_INUSE,
                          "v%u still wraps %llu data keys: rewrap first",
                          version, (unsigned long long)n);
    }
    if (rc == COFFRE_OK) {
        struct coffre_event ev;

        vault_event(&ev, COFFRE_OP_KEY_RETIRE, 0, 0);
        rc = vault_tx_audited(v, &ev, retire_tx, &version);
    }
    if (rc != COFFRE_OK) {
        return rc == COFFRE_ERR_DENIED || rc == COFFRE_ERR_UNAVAILABLE
                   ? rc
                   : vault_store_fail(v, rc, "retire");
    }
    drop_kek_slot(v, idx);
    return COFFRE_OK;
}

int
coffre_vault_retire(struct coffre_vault *v, unsigned version)
{
    int rc;

    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = retire_locked(v, version);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int
coffre_vault_epoch_of(struct coffre_vault *v, uint64_t id, uint32_t *pepoch)
{
    struct coffre_store_person row;
    int rc;

    memset(&row, 0, sizeof(row));
    pthread_mutex_lock(&v->lock);
    rc = v->store->ops->person_get(v->store, id, 0, &row, NULL);
    if (rc == COFFRE_OK) {
        *pepoch = row.epoch;
    } else {
        rc = vault_store_fail(v, rc, "epoch of");
    }
    coffre_store_person_clear(&row);
    pthread_mutex_unlock(&v->lock);
    return rc;
}

struct epoch_args {
    uint32_t epoch;
    struct coffre_event *ev;
};

static int
epoch_tx(struct coffre_vault *v, void *arg)
{
    struct epoch_args *a = arg;

    return v->store->ops->epoch_erase(v->store, a->epoch, &a->ev->count);
}

int
coffre_vault_epoch_destroy(struct coffre_vault *v, uint32_t epoch)
{
    struct coffre_event ev;
    int rc;

    struct epoch_args a = {epoch, &ev};

    vault_event(&ev, COFFRE_OP_EPOCH_DESTROY, 0, 0);
    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = vault_tx_audited(v, &ev, epoch_tx, &a);
        if (rc == COFFRE_OK) {
            vault_epoch_drop(v, epoch);
        } else if (rc != COFFRE_ERR_DENIED && rc != COFFRE_ERR_UNAVAILABLE) {
            rc = vault_store_fail(v, rc, "destroy epoch");
        }
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}
