/*
 * The unsealed key ring: key-encryption keys by version, retention-epoch
 * keys (loaded on first use), blind-index keys, the pseudonym master and
 * the keys derived from it (audiences, cursors). Every stored key is
 * wrapped by the root key (docs/keys.md), derived keys are not stored;
 * here they live in locked memory and are wiped by vault_keys_forget().
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "util/secmem.h"
#include "vault/vault.h"

static const char *const tag_key_names[COFFRE_TAG_COUNT] = {
    [COFFRE_TAG_DOCUMENT] = "tag:document", [COFFRE_TAG_EMAIL] = "tag:email",
    [COFFRE_TAG_NAME_DOB] = "tag:name_dob", [COFFRE_TAG_SOURCE] = "tag:source",
    [COFFRE_TAG_CATEGORY] = "tag:category",
};
#define PSEUDONYM_KEY_NAME "pseudonym"
/* Derived from the pseudonym master, as the audience keys are; no
 * "pseudonym:AUDIENCE" label equals it. */
#define CURSOR_KEY_LABEL "cursor"

static int named_key_load(struct coffre_vault *v, const char *name,
                          struct coffre_key **pk);

/*
 * Wrap a fresh key under the root key and store it under meta "key:NAME".
 * With ${add}, the one place a named key is made at its first use: only
 * if absent (store op meta_add), since several processes may share the
 * store and make the same key at the same moment (docs/storage.md 9).
 * The one that loses takes the key the other stored: the vault then has
 * a single key of that name, the one every process holds.
 */
static int
named_key_create(struct coffre_vault *v, const char *name, int add,
                 struct coffre_key **pk)
{
    unsigned char ad[COFFRE_AD_MAX], w[COFFRE_WRAPPED_LEN];
    char meta[64];
    size_t adlen = coffre_ad_named(ad, v->id, name);
    int rc;

    *pk = coffre_key_new();
    if (*pk == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    vault_root_use(v);
    rc = coffre_key_wrap(v->root, ad, adlen, *pk, w);
    vault_root_idle(v);
    snprintf(meta, sizeof(meta), "key:%s", name);
    if (rc == COFFRE_OK) {
        rc = add ? v->store->ops->meta_add(v->store, meta, w, sizeof(w))
                 : v->store->ops->meta_put(v->store, meta, w, sizeof(w));
    }
    if (add && rc == COFFRE_ERR_EXISTS) {
        coffre_key_destroy(*pk);
        *pk = NULL;
        rc = named_key_load(v, name, pk);
    }
    if (rc != COFFRE_OK) {
        coffre_key_destroy(*pk);
        *pk = NULL;
    }
    return rc;
}

static int
named_key_load(struct coffre_vault *v, const char *name, struct coffre_key **pk)
{
    unsigned char ad[COFFRE_AD_MAX];
    char meta[64];
    size_t adlen = coffre_ad_named(ad, v->id, name);
    struct coffre_buf b;
    int rc;

    snprintf(meta, sizeof(meta), "key:%s", name);
    coffre_buf_init(&b, COFFRE_WRAPPED_MAX);
    rc = v->store->ops->meta_get(v->store, meta, &b);
    if (rc == COFFRE_OK) {
        vault_root_use(v);
        rc = coffre_key_unwrap(v->root, ad, adlen, b.p, b.len, pk);
        vault_root_idle(v);
    }
    coffre_buf_free(&b);
    if (rc != COFFRE_OK) {
        return vault_fail(v, rc, "cannot load the %s key", name);
    }
    return rc;
}

int
vault_kek_new(struct coffre_vault *v, uint32_t version)
{
    unsigned char ad[COFFRE_AD_MAX], w[COFFRE_WRAPPED_LEN];
    size_t adlen = coffre_ad_kek(ad, v->id, version);
    struct coffre_key *k;
    int rc;

    if (v->nkeks == VAULT_MAX_KEKS) {
        return vault_fail(v, COFFRE_ERR_LIMIT,
                          "%d key-encryption keys in use: retire old ones",
                          VAULT_MAX_KEKS);
    }
    k = coffre_key_new();
    if (k == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    vault_root_use(v);
    rc = coffre_key_wrap(v->root, ad, adlen, k, w);
    vault_root_idle(v);
    if (rc == COFFRE_OK) {
        rc = v->store->ops->kek_put(v->store, version, w, sizeof(w));
    }
    if (rc != COFFRE_OK) {
        coffre_key_destroy(k);
        return vault_store_fail(v, rc, "store a key-encryption key");
    }
    v->keks[v->nkeks].version = version;
    v->keks[v->nkeks].key = k;
    v->nkeks++;
    v->kek_current = version;
    return COFFRE_OK;
}

int
vault_keys_create(struct coffre_vault *v)
{
    int rc = COFFRE_OK;

    for (int t = 0; t < COFFRE_TAG_COUNT && rc == COFFRE_OK; t++) {
        rc = named_key_create(v, tag_key_names[t], 0, &v->tagkey[t]);
    }
    if (rc == COFFRE_OK) {
        rc = named_key_create(v, PSEUDONYM_KEY_NAME, 0, &v->pseudo_master);
    }
    if (rc == COFFRE_OK) {
        rc = vault_kek_new(v, 1);
    }
    if (rc == COFFRE_OK) {
        v->scratch = vault_scratch_new();
        rc = v->scratch == NULL ? COFFRE_ERR_NOMEM : COFFRE_OK;
    }
    return rc;
}

static int
kek_load(struct coffre_vault *v, uint32_t version)
{
    unsigned char ad[COFFRE_AD_MAX];
    size_t adlen = coffre_ad_kek(ad, v->id, version);
    struct coffre_buf b;
    struct coffre_key *k = NULL;
    int rc;

    coffre_buf_init(&b, COFFRE_WRAPPED_MAX);
    rc = v->store->ops->kek_get(v->store, version, &b);
    if (rc == COFFRE_OK) {
        vault_root_use(v);
        rc = coffre_key_unwrap(v->root, ad, adlen, b.p, b.len, &k);
        vault_root_idle(v);
    }
    coffre_buf_free(&b);
    if (rc != COFFRE_OK) {
        return vault_fail(v, rc, "cannot load key-encryption key v%u", version);
    }
    v->keks[v->nkeks].version = version;
    v->keks[v->nkeks].key = k;
    v->nkeks++;
    if (version > v->kek_current) {
        v->kek_current = version;
    }
    return COFFRE_OK;
}

int
vault_keys_load(struct coffre_vault *v)
{
    uint32_t versions[VAULT_MAX_KEKS];
    size_t n = 0;
    int rc = COFFRE_OK;

    for (int t = 0; t < COFFRE_TAG_COUNT && rc == COFFRE_OK; t++) {
        rc = named_key_load(v, tag_key_names[t], &v->tagkey[t]);
    }
    if (rc == COFFRE_OK) {
        rc = named_key_load(v, PSEUDONYM_KEY_NAME, &v->pseudo_master);
    }
    if (rc == COFFRE_OK) {
        rc = v->store->ops->kek_list(v->store, versions, VAULT_MAX_KEKS, &n);
    }
    if (rc == COFFRE_OK && (n == 0 || n > VAULT_MAX_KEKS)) {
        return vault_fail(v, COFFRE_ERR_STORE,
                          "%zu key-encryption keys in the store", n);
    }
    for (size_t i = 0; i < n && rc == COFFRE_OK; i++) {
        rc = kek_load(v, versions[i]);
    }
    if (rc == COFFRE_OK) {
        v->scratch = vault_scratch_new();
        rc = v->scratch == NULL ? COFFRE_ERR_NOMEM : COFFRE_OK;
    }
    return rc;
}

static void
epoch_forget(struct vault_epoch *e)
{
    coffre_key_destroy(e->key);
    for (unsigned i = 0; i < VAULT_MAX_KEKS; i++) {
        coffre_key_destroy(e->dkwrap[i]);
    }
    memset(e, 0, sizeof(*e));
}

void
vault_keys_forget(struct coffre_vault *v)
{
    vault_scratch_free(v->scratch);
    v->scratch = NULL;
    for (unsigned i = 0; i < v->nkeks; i++) {
        coffre_key_destroy(v->keks[i].key);
    }
    v->nkeks = 0;
    v->kek_current = 0;
    for (unsigned i = 0; i < v->nepochs; i++) {
        epoch_forget(&v->epochs[i]);
    }
    v->nepochs = 0;
    for (int t = 0; t < COFFRE_TAG_COUNT; t++) {
        coffre_key_destroy(v->tagkey[t]);
        v->tagkey[t] = NULL;
    }
    coffre_key_destroy(v->pseudo_master);
    v->pseudo_master = NULL;
    for (unsigned i = 0; i < v->naudiences; i++) {
        coffre_key_destroy(v->audiences[i].key);
    }
    memset(v->audiences, 0, sizeof(v->audiences));
    v->naudiences = 0;
    coffre_key_destroy(v->cursor_key);
    v->cursor_key = NULL;
    if (v->root != NULL) {
        sodium_mprotect_readwrite(v->root);
        coffre_key_destroy(v->root);
        v->root = NULL;
    }
}

struct coffre_key *
vault_kek(struct coffre_vault *v, uint32_t version, unsigned *pidx)
{
    for (unsigned i = 0; i < v->nkeks; i++) {
        if (v->keks[i].version == version) {
            if (pidx != NULL) {
                *pidx = i;
            }
            return v->keks[i].key;
        }
    }
    return NULL;
}

static int
epoch_create(struct coffre_vault *v, uint32_t epoch, struct coffre_key **pk)
{
    unsigned char ad[COFFRE_AD_MAX], w[COFFRE_WRAPPED_LEN];
    size_t adlen = coffre_ad_epoch(ad, v->id, epoch);
    int rc;

    *pk = coffre_key_new();
    if (*pk == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    vault_root_use(v);
    rc = coffre_key_wrap(v->root, ad, adlen, *pk, w);
    vault_root_idle(v);
    if (rc == COFFRE_OK) {
        rc = v->store->ops->epoch_put(v->store, epoch, w, sizeof(w));
    }
    return rc;
}

static int
epoch_load(struct coffre_vault *v, uint32_t epoch, int create,
           struct coffre_key **pk)
{
    unsigned char ad[COFFRE_AD_MAX];
    size_t adlen = coffre_ad_epoch(ad, v->id, epoch);
    struct coffre_buf b;
    int rc;

    *pk = NULL;
    coffre_buf_init(&b, COFFRE_WRAPPED_MAX);
    rc = v->store->ops->epoch_get(v->store, epoch, &b);
    if (rc == COFFRE_OK) {
        vault_root_use(v);
        rc = coffre_key_unwrap(v->root, ad, adlen, b.p, b.len, pk);
        vault_root_idle(v);
    } else if (rc == COFFRE_ERR_NOTFOUND && create) {
        rc = epoch_create(v, epoch, pk);
    }
    coffre_buf_free(&b);
    return rc;
}

int
vault_epoch(struct coffre_vault *v, uint32_t epoch, int create,
            struct vault_epoch **pe)
{
    struct vault_epoch *e;
    struct coffre_key *k;
    int rc;

    for (unsigned i = 0; i < v->nepochs; i++) {
        if (v->epochs[i].epoch == epoch) {
            *pe = &v->epochs[i];
            return COFFRE_OK;
        }
    }
    if (v->nepochs == VAULT_MAX_EPOCHS) {
        return vault_fail(v, COFFRE_ERR_LIMIT, "too many retention epochs");
    }
    rc = epoch_load(v, epoch, create, &k);
    if (rc != COFFRE_OK) {
        coffre_key_destroy(k);
        return vault_store_fail(v, rc, "retention epoch key");
    }
    e = &v->epochs[v->nepochs++];
    memset(e, 0, sizeof(*e));
    e->epoch = epoch;
    e->key = k;
    *pe = e;
    return COFFRE_OK;
}

/* Drop an epoch from the cache (its key was destroyed in the store). */
void
vault_epoch_drop(struct coffre_vault *v, uint32_t epoch)
{
    for (unsigned i = 0; i < v->nepochs; i++) {
        if (v->epochs[i].epoch == epoch) {
            epoch_forget(&v->epochs[i]);
            v->epochs[i] = v->epochs[v->nepochs - 1];
            memset(&v->epochs[v->nepochs - 1], 0, sizeof(v->epochs[0]));
            v->nepochs--;
            return;
        }
    }
}

int
vault_dkwrap(struct coffre_vault *v, uint32_t kek_version,
             struct vault_epoch *e, const struct coffre_key **pk)
{
    unsigned idx;
    struct coffre_key *kek = vault_kek(v, kek_version, &idx);
    int rc;

    if (kek == NULL) {
        return vault_fail(v, COFFRE_ERR_CRYPTO,
                          "key-encryption key v%u was retired", kek_version);
    }
    if (e->dkwrap[idx] == NULL) {
        rc = coffre_key_dkwrap(kek, e->epoch, e->key, &e->dkwrap[idx]);
        if (rc != COFFRE_OK) {
            return rc;
        }
    }
    *pk = e->dkwrap[idx];
    return COFFRE_OK;
}

int
vault_audience_key(struct coffre_vault *v, const char *audience,
                   const struct coffre_key **pk)
{
    struct vault_audience *a;
    char label[VAULT_AUDIENCE_MAX + 16];
    size_t len = strlen(audience);
    int rc;

    if (len == 0 || len > VAULT_AUDIENCE_MAX) {
        return vault_fail(v, COFFRE_ERR_ARG, "audience name of 1 to %d bytes",
                          VAULT_AUDIENCE_MAX);
    }
    for (unsigned i = 0; i < v->naudiences; i++) {
        if (strcmp(v->audiences[i].name, audience) == 0) {
            *pk = v->audiences[i].key;
            return COFFRE_OK;
        }
    }
    if (v->naudiences == VAULT_MAX_AUDIENCES) {
        return vault_fail(v, COFFRE_ERR_LIMIT, "too many audiences");
    }
    a = &v->audiences[v->naudiences];
    snprintf(label, sizeof(label), "pseudonym:%s", audience);
    rc = coffre_key_derive(v->pseudo_master, label, &a->key);
    if (rc != COFFRE_OK) {
        return rc;
    }
    memcpy(a->name, audience, len + 1);
    v->naudiences++;
    *pk = a->key;
    return COFFRE_OK;
}

int
vault_cursor_key(struct coffre_vault *v, const struct coffre_key **pk)
{
    /* Derived, not stored: nothing to create on a read path, and every
     * process on one store makes the same key. */
    if (v->cursor_key == NULL) {
        int rc = coffre_key_derive(v->pseudo_master, CURSOR_KEY_LABEL,
                                   &v->cursor_key);
        if (rc != COFFRE_OK) {
            return rc;
        }
    }
    *pk = v->cursor_key;
    return COFFRE_OK;
}

int
vault_named_key(struct coffre_vault *v, const char *name,
                struct coffre_key **pk)
{
    struct coffre_buf b;
    char meta[64];
    int rc;

    /* Absent is not a failure here: the key is made on first use, by one
     * process only (named_key_create). */
    snprintf(meta, sizeof(meta), "key:%s", name);
    coffre_buf_init(&b, COFFRE_WRAPPED_MAX);
    rc = v->store->ops->meta_get(v->store, meta, &b);
    coffre_buf_free(&b);
    if (rc == COFFRE_ERR_NOTFOUND) {
        return named_key_create(v, name, 1, pk);
    }
    return rc == COFFRE_OK ? named_key_load(v, name, pk) : rc;
}
