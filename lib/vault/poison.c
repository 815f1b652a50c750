/*
 * Poison (canary) records (docs/guard.md): planted like real persons, their
 * ids kept in meta "guard:poison" sealed (XChaCha20-Poly1305) under a key
 * of their own, itself wrapped by the root key under meta "key:poison".
 * The store and its backups show persons indistinguishable from the rest
 * and one opaque blob.
 */
#include <string.h>

#include <jansson.h>

#include "coffre/guard.h"
#include "crypto/crypto.h"
#include "util/buf.h"
#include "util/secmem.h"
#include "vault/vault.h"

#define POISON_KEY_NAME "poison"
#define POISON_KEY_META "key:" POISON_KEY_NAME
#define POISON_LIST_NAME "poison-list"
#define POISON_LIST_META "guard:poison"
#define POISON_HDR 8 /* drawn (4, BE) || count (4, BE) */
#define POISON_PT_MAX (POISON_HDR + 8 * COFFRE_POISON_MAX)

struct plist {
    uint32_t drawn; /* generator persons consumed so far */
    uint32_t n;
    uint64_t ids[COFFRE_POISON_MAX];
};

static void
put_be(unsigned char *p, uint64_t x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (unsigned char)(x >> (8 * (n - 1 - i)));
    }
}

static uint64_t
get_be(const unsigned char *p, size_t n)
{
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        x = (x << 8) | p[i];
    }
    return x;
}

/* The list key, made on first use when ${create} (by one process only:
 * vault_named_key); lock held. Without ${create}, NOTFOUND if absent. */
static int
poison_key(struct coffre_vault *v, int create, struct coffre_key **pk)
{
    struct coffre_buf b;
    int rc = COFFRE_OK;

    *pk = NULL;
    if (!create) {
        coffre_buf_init(&b, COFFRE_WRAPPED_MAX);
        rc = v->store->ops->meta_get(v->store, POISON_KEY_META, &b);
        coffre_buf_free(&b);
    }
    return rc == COFFRE_OK ? vault_named_key(v, POISON_KEY_NAME, pk) : rc;
}

/* Open the sealed list into ${l} (empty when absent); lock held. With
 * ${locked}, in a transaction: the value stays locked against other
 * processes until it ends (store op meta_get_locked). */
static int
list_load(struct coffre_vault *v, const struct coffre_key *k, struct plist *l,
          int locked)
{
    unsigned char ad[COFFRE_AD_MAX], *pt = NULL;
    size_t adlen = coffre_ad_named(ad, v->id, POISON_LIST_NAME);
    struct coffre_buf b;
    int rc;

    memset(l, 0, sizeof(*l));
    coffre_buf_init(&b, POISON_PT_MAX + COFFRE_AEAD_OVERHEAD);
    rc = locked && v->store->ops->meta_get_locked != NULL
             ? v->store->ops->meta_get_locked(v->store, POISON_LIST_META, &b)
             : v->store->ops->meta_get(v->store, POISON_LIST_META, &b);
    if (rc == COFFRE_ERR_NOTFOUND) {
        rc = COFFRE_OK;
        goto out;
    }
    if (rc == COFFRE_OK && (b.len < POISON_HDR + COFFRE_AEAD_OVERHEAD ||
                            (pt = coffre_pmem_alloc(b.len)) == NULL)) {
        rc = b.len < POISON_HDR + COFFRE_AEAD_OVERHEAD ? COFFRE_ERR_CRYPTO
                                                       : COFFRE_ERR_NOMEM;
    }
    if (rc == COFFRE_OK) {
        rc = coffre_aead_open(k, ad, adlen, b.p, b.len, pt);
    }
    size_t len = b.len - COFFRE_AEAD_OVERHEAD;
    if (rc == COFFRE_OK) {
        l->drawn = (uint32_t)get_be(pt, 4);
        l->n = (uint32_t)get_be(pt + 4, 4);
        if (l->n > COFFRE_POISON_MAX || len != POISON_HDR + 8 * (size_t)l->n) {
            rc = COFFRE_ERR_CRYPTO;
        }
    }
    for (uint32_t i = 0; rc == COFFRE_OK && i < l->n; i++) {
        l->ids[i] = get_be(pt + POISON_HDR + 8 * i, 8);
    }
out:
    coffre_pmem_free(pt);
    coffre_buf_free(&b);
    return rc;
}

/* Seal ${l} and write it; lock held. */
static int
list_store(struct coffre_vault *v, const struct coffre_key *k,
           const struct plist *l)
{
    unsigned char ad[COFFRE_AD_MAX];
    size_t adlen = coffre_ad_named(ad, v->id, POISON_LIST_NAME);
    size_t len = POISON_HDR + 8 * (size_t)l->n;
    unsigned char *pt = coffre_pmem_alloc(len);
    unsigned char *ct = coffre_pmem_alloc(len + COFFRE_AEAD_OVERHEAD);
    int rc = pt && ct ? COFFRE_OK : COFFRE_ERR_NOMEM;

    if (rc == COFFRE_OK) {
        put_be(pt, l->drawn, 4);
        put_be(pt + 4, l->n, 4);
        for (uint32_t i = 0; i < l->n; i++) {
            put_be(pt + POISON_HDR + 8 * i, l->ids[i], 8);
        }
        rc = coffre_aead_seal(k, ad, adlen, pt, len, ct);
    }
    if (rc == COFFRE_OK) {
        rc = v->store->ops->meta_put(v->store, POISON_LIST_META, ct,
                                     len + COFFRE_AEAD_OVERHEAD);
    }
    coffre_pmem_free(pt);
    coffre_pmem_free(ct);
    return rc;
}

/* Load (or with ${create}, also make the key for) the list under the
 * vault lock. */
static int
list_get(struct coffre_vault *v, int create, struct plist *l,
         struct coffre_key **pk)
{
    int rc;

    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = poison_key(v, create, pk);
    }
    if (rc == COFFRE_OK) {
        rc = list_load(v, *pk, l, 0);
    } else if (rc == COFFRE_ERR_NOTFOUND && !create) {
        memset(l, 0, sizeof(*l)); /* never planted */
        rc = COFFRE_OK;
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

/*
 * Turn a generated person into a poison one, or NULL to skip it: the
 * states that worklists and the vetting queue never ask for, no source
 * key. The JSON detour is the only way to edit a person through the API.
 */
static struct coffre_person *
poison_shape(const struct coffre_person *p, uint32_t drawn)
{
    int st = coffre_person_state(p);
    const char *to = st == COFFRE_STATE_REFUSED        ? "refused"
                     : st != COFFRE_STATE_BADGE_ISSUED ? NULL
                     : (drawn & 1)                     ? "revoked"
                                                       : "expired";
    char *text = NULL, *out = NULL;
    json_t *o = NULL;
    struct coffre_person *q = NULL;

    if (to == NULL ||
        coffre_person_to_json(p, COFFRE_CLASSES_ALL, &text) != COFFRE_OK ||
        (o = json_loads(text, 0, NULL)) == NULL) {
        goto out;
    }
    json_object_del(o, "source_key");
    json_object_set_new(json_object_get(o, "public"), "state", json_string(to));
    out = json_dumps(o, JSON_COMPACT);
    if (out == NULL ||
        coffre_person_from_json(out, strlen(out), &q, NULL) != COFFRE_OK) {
        q = NULL;
    }
out:
    coffre_free(text);
    coffre_pmem_free(out);
    json_decref(o);
    return q;
}

/* Draw persons from the generator until one can be a poison. */
static int
poison_next(struct coffre_gen *g, struct plist *l, struct coffre_person **pq)
{
    *pq = NULL;
    for (unsigned tries = 0; *pq == NULL && tries < 1000; tries++) {
        struct coffre_person *p = NULL;
        int rc = coffre_gen_next(g, &p);
        if (rc != COFFRE_OK) {
            return rc;
        }
        l->drawn++;
        *pq = poison_shape(p, l->drawn);
        coffre_person_free(p);
    }
    return *pq != NULL ? COFFRE_OK : COFFRE_ERR_INVALID;
}

/* Skip the generator past the persons earlier calls consumed. */
static int
gen_resume(uint64_t seed, uint32_t drawn, struct coffre_gen **pg)
{
    /* Dated like the real records around them would be (gen.c). */
    struct coffre_gen_opts go = {
        .seed = seed, .photos = 1, .today = vault_now() / 86400};
    int rc = coffre_gen_new(&go, pg);
    for (uint32_t i = 0; rc == COFFRE_OK && i < drawn; i++) {
        struct coffre_person *p = NULL;
        rc = coffre_gen_next(*pg, &p);
        coffre_person_free(p);
    }
    return rc;
}

struct plant_args {
    struct plist *l;
    struct coffre_key *k;
    struct coffre_gen *g;
    unsigned count;
};

/* Every poison record and the list naming them, in one transaction: a
 * crash cannot leave a poison record that the guard does not know. */
static int
plant_tx(struct coffre_vault *v, void *arg)
{
    struct plant_args *a = arg;
    struct plist *cur = coffre_pmem_alloc(sizeof(*cur));
    int rc = cur != NULL ? list_load(v, a->k, cur, 1) : COFFRE_ERR_NOMEM;

    /* Another process (a server on the same database) planted since the
     * list was read: writing this one would drop its ids, and the guard
     * would no longer know those records. Nothing done; the next sync
     * plants from the new list. */
    if (rc == COFFRE_OK && (cur->drawn != a->l->drawn || cur->n != a->l->n)) {
        rc = vault_fail(v, COFFRE_ERR_UNAVAILABLE,
                        "poison list changed by another process");
    }
    coffre_pmem_free(cur);

    for (unsigned done = 0; rc == COFFRE_OK && done < a->count; done++) {
        struct coffre_person *q = NULL;
        uint64_t id = 0;

        rc = poison_next(a->g, a->l, &q);
        if (rc == COFFRE_OK) {
            rc = vault_put_locked(v, q, &id);
        }
        coffre_person_free(q);
        if (rc == COFFRE_OK) {
            a->l->ids[a->l->n++] = id; /* ids only grow: stays sorted */
        }
    }
    return rc == COFFRE_OK ? list_store(v, a->k, a->l) : rc;
}

int
coffre_vault_poison_plant(struct coffre_vault *v, uint64_t seed, unsigned count,
                          unsigned *pn)
{
    struct plant_args a = {coffre_pmem_alloc(sizeof(struct plist)), NULL, NULL,
                           count};
    struct coffre_event ev;
    size_t before = 0;
    int rc = a.l != NULL ? list_get(v, 1, a.l, &a.k) : COFFRE_ERR_NOMEM;

    if (rc == COFFRE_OK && a.l->n + (uint64_t)count > COFFRE_POISON_MAX) {
        rc = COFFRE_ERR_LIMIT;
    }
    if (rc == COFFRE_OK) {
        rc = gen_resume(seed, a.l->drawn, &a.g);
    }
    if (rc == COFFRE_OK && count > 0) {
        /* One entry for the planting, naming no record: the log's readers
         * must not learn which records are poison. */
        vault_event(&ev, COFFRE_OP_POISON, 0, 0);
        ev.count = count;
        before = a.l->n;
        rc = vault_in_tx_audited(v, &ev, plant_tx, &a);
    }
    if (pn != NULL) {
        *pn = rc == COFFRE_OK ? (unsigned)(a.l->n - before) : 0;
    }
    coffre_gen_free(a.g);
    coffre_key_destroy(a.k);
    coffre_pmem_free(a.l);
    return rc;
}

int
coffre_vault_poison_list(struct coffre_vault *v, uint64_t *ids, size_t cap,
                         size_t *pn)
{
    struct plist *l = coffre_pmem_alloc(sizeof(*l));
    struct coffre_key *k = NULL;
    int rc = l != NULL ? list_get(v, 0, l, &k) : COFFRE_ERR_NOMEM;

    *pn = 0;
    if (rc == COFFRE_OK) {
        *pn = l->n;
        for (size_t i = 0; i < l->n && i < cap; i++) {
            ids[i] = l->ids[i];
        }
    }
    coffre_key_destroy(k);
    coffre_pmem_free(l);
    return rc;
}
