/*
 * Migration: manifest roots (a Merkle root over the canonical hash of every
 * record, ordered by source key) and idempotent import batches (one store
 * transaction per batch, progress marker included). docs/migration.md.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/merkle.h"
#include "util/secmem.h"
#include "vault/migrate.h"

#define MANIFEST_MAX_ENTRIES (1ull << 32)
#define SCAN_PAGE 1024

const char *
coffre_person_source_key(const struct coffre_person *p)
{
    return p != NULL ? p->source_key : NULL;
}

int
coffre_person_leaf(const struct coffre_person *p,
                   unsigned char out[COFFRE_MANIFEST_LEN])
{
    char *json = NULL;
    int rc = coffre_person_to_json(p, COFFRE_CLASSES_ALL, &json);

    if (rc == COFFRE_OK) {
        coffre_merkle_leaf_hash(json, strlen(json), out);
    }
    coffre_free(json);
    return rc;
}

void
migrate_key_hash(const char *key, unsigned char out[COFFRE_MANIFEST_LEN])
{
    crypto_hash_sha256(out, (const unsigned char *)key, strlen(key));
}

void
coffre_hex(const unsigned char *b, size_t n, char *out)
{
    sodium_bin2hex(out, 2 * n + 1, b, n);
}

int
coffre_unhex(const char *s, unsigned char *out, size_t n)
{
    size_t got = 0;

    if (strlen(s) != 2 * n ||
        sodium_hex2bin(out, n, s, 2 * n, NULL, &got, NULL) != 0 || got != n) {
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Manifests.                                                          */

struct manifest_entry {
    unsigned char key_hash[COFFRE_MANIFEST_LEN];
    unsigned char leaf[COFFRE_MANIFEST_LEN];
    uint64_t seq; /* order of addition: the last one of a key wins */
};

struct coffre_manifest {
    struct manifest_entry *e;
    size_t n, cap;
    uint64_t seq;
};

int
coffre_manifest_new(struct coffre_manifest **pm)
{
    *pm = calloc(1, sizeof(**pm));
    return *pm != NULL ? COFFRE_OK : COFFRE_ERR_NOMEM;
}

void
coffre_manifest_free(struct coffre_manifest *m)
{
    if (m != NULL) {
        free(m->e);
        free(m);
    }
}

int
coffre_manifest_add_leaf(struct coffre_manifest *m,
                         const unsigned char key_hash[COFFRE_MANIFEST_LEN],
                         const unsigned char leaf[COFFRE_MANIFEST_LEN])
{
    struct manifest_entry *e;

    if (m->n == m->cap) {
        size_t cap = m->cap != 0 ? m->cap * 2 : 4096;

        if (cap > MANIFEST_MAX_ENTRIES) {
            return COFFRE_ERR_TOOBIG;
        }
        e = realloc(m->e, cap * sizeof(*e));
        if (e == NULL) {
            return COFFRE_ERR_NOMEM;
        }
        m->e = e;
        m->cap = cap;
    }
    e = &m->e[m->n++];
    memcpy(e->key_hash, key_hash, COFFRE_MANIFEST_LEN);
    memcpy(e->leaf, leaf, COFFRE_MANIFEST_LEN);
    e->seq = m->seq++;
    return COFFRE_OK;
}

int
coffre_manifest_add(struct coffre_manifest *m, const struct coffre_person *p)
{
    unsigned char kh[COFFRE_MANIFEST_LEN], leaf[COFFRE_MANIFEST_LEN];
    int rc;

    if (p->source_key == NULL) {
        return COFFRE_ERR_ARG;
    }
    migrate_key_hash(p->source_key, kh);
    rc = coffre_person_leaf(p, leaf);
    return rc == COFFRE_OK ? coffre_manifest_add_leaf(m, kh, leaf) : rc;
}

static int
entry_cmp(const void *a, const void *b)
{
    const struct manifest_entry *x = a, *y = b;
    int c = memcmp(x->key_hash, y->key_hash, COFFRE_MANIFEST_LEN);

    if (c != 0) {
        return c;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int
coffre_manifest_root(struct coffre_manifest *m,
                     unsigned char root[COFFRE_MANIFEST_LEN], uint64_t *pcount)
{
    struct coffre_merkle_frontier *f = malloc(sizeof(*f));
    size_t out = 0;
    int rc = COFFRE_OK;

    if (f == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    if (m->n > 0) {
        qsort(m->e, m->n, sizeof(*m->e), entry_cmp);
    }
    /* Keep the last entry of each key, in place. */
    for (size_t i = 0; i < m->n; i++) {
        if (i + 1 < m->n && memcmp(m->e[i].key_hash, m->e[i + 1].key_hash,
                                   COFFRE_MANIFEST_LEN) == 0) {
            continue;
        }
        m->e[out++] = m->e[i];
    }
    m->n = out;
    coffre_merkle_frontier_init(f);
    for (size_t i = 0; i < m->n && rc == COFFRE_OK; i++) {
        rc = coffre_merkle_frontier_add(f, m->e[i].leaf);
    }
    coffre_merkle_frontier_root(f, root);
    free(f);
    if (pcount != NULL) {
        *pcount = m->n;
    }
    return rc;
}

int
coffre_manifest_contains(const struct coffre_manifest *m,
                         const unsigned char key_hash[COFFRE_MANIFEST_LEN])
{
    size_t lo = 0, hi = m->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(m->e[mid].key_hash, key_hash, COFFRE_MANIFEST_LEN);

        if (c == 0) {
            return 1;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return 0;
}

size_t
coffre_manifest_count(const struct coffre_manifest *m)
{
    return m->n;
}

int
coffre_manifest_pack(const struct coffre_manifest *m, size_t from, size_t n,
                     unsigned char *out)
{
    if (from > m->n || n > m->n - from) {
        return COFFRE_ERR_ARG;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char *o = out + i * COFFRE_MANIFEST_PACKED_LEN;

        memcpy(o, m->e[from + i].key_hash, COFFRE_MANIFEST_LEN);
        memcpy(o + COFFRE_MANIFEST_LEN, m->e[from + i].leaf,
               COFFRE_MANIFEST_LEN);
    }
    return COFFRE_OK;
}

int
coffre_manifest_unpack(struct coffre_manifest *m, const unsigned char *p,
                       size_t len)
{
    int rc = COFFRE_OK;

    if (len % COFFRE_MANIFEST_PACKED_LEN != 0) {
        return COFFRE_ERR_PARSE;
    }
    for (size_t i = 0; i < len && rc == COFFRE_OK;
         i += COFFRE_MANIFEST_PACKED_LEN) {
        rc = coffre_manifest_add_leaf(m, p + i, p + i + COFFRE_MANIFEST_LEN);
    }
    return rc;
}

const unsigned char *
migrate_manifest_key(const struct coffre_manifest *m, size_t i)
{
    return m->e[i].key_hash;
}

/* ------------------------------------------------------------------ */
/* Import batches.                                                     */

struct import_slot {
    unsigned char tag[COFFRE_TAG_LEN];
    size_t i;
};

static int
slot_cmp(const void *a, const void *b)
{
    const struct import_slot *x = a, *y = b;
    int c = memcmp(x->tag, y->tag, COFFRE_TAG_LEN);

    if (c != 0) {
        return c;
    }
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Replace a stored person by ${p} unless its canonical form is the same.
 * The file is the previous host's record, state and verdict included (a
 * custodians' operation checked by manifest roots): what a verdict
 * covered is not sent back to vetting here, unlike an update
 * (docs/migration.md). */
static int
import_replace(struct coffre_vault *v, const struct coffre_person *p,
               uint64_t id, struct coffre_import_counts *c)
{
    unsigned char a[COFFRE_MANIFEST_LEN], b[COFFRE_MANIFEST_LEN];
    struct coffre_store_person row;
    struct coffre_person *old = NULL;
    struct vault_sealed sealed;
    struct vault_epoch *e;
    const struct coffre_key *wrap;
    int64_t retain;
    uint32_t epoch;
    int rc;

    memset(&row, 0, sizeof(row));
    rc = vault_person_load(v, id, COFFRE_CLASSES_ALL, &old, &row);
    if (rc == COFFRE_OK) {
        rc = coffre_person_leaf(old, a);
    }
    if (rc == COFFRE_OK) {
        rc = coffre_person_leaf(p, b);
    }
    coffre_person_free(old);
    if (rc == COFFRE_OK && sodium_memcmp(a, b, sizeof(a)) == 0) {
        c->unchanged++;
        coffre_store_person_clear(&row);
        return COFFRE_OK;
    }
    if (rc == COFFRE_OK) {
        vault_person_plan(v, p, &retain, &epoch);
        rc = vault_epoch(v, epoch, 1, &e);
    }
    if (rc == COFFRE_OK) {
        rc = vault_dkwrap(v, v->kek_current, e, &wrap);
    }
    if (rc == COFFRE_OK) {
        /* A new data key generation: the old ciphertexts cannot be
         * replayed into the new row. */
        rc = vault_person_seal(v, p, id, row.dk_gen + 1, retain, e, wrap,
                               v->scratch, &sealed);
        if (rc == COFFRE_OK) {
            rc =
                v->store->ops->person_update(v->store, &sealed.row, &sealed.dk);
        }
        vault_sealed_clear(&sealed);
    }
    coffre_store_person_clear(&row);
    c->updated += rc == COFFRE_OK;
    return rc;
}

/* Sort the batch by source tag; mark earlier duplicates of a key. */
static int
import_slots(struct coffre_vault *v, struct coffre_person *const *ps, size_t n,
             struct import_slot *sl, unsigned char *dup)
{
    struct coffre_diag d;

    for (size_t i = 0; i < n; i++) {
        const char *k = ps[i]->source_key;

        if (k == NULL) {
            return vault_fail(v, COFFRE_ERR_ARG, "person %zu has no source key",
                              i);
        }
        if (coffre_person_validate_new(ps[i], &d) != COFFRE_OK) {
            return vault_fail(v, COFFRE_ERR_INVALID, "person %zu: %s: %s", i,
                              d.field, d.rule);
        }
        coffre_blind_tag(v->tagkey[COFFRE_TAG_SOURCE], (const unsigned char *)k,
                         strlen(k), sl[i].tag);
        sl[i].i = i;
    }
    qsort(sl, n, sizeof(*sl), slot_cmp);
    for (size_t j = 0; j + 1 < n; j++) {
        if (memcmp(sl[j].tag, sl[j + 1].tag, COFFRE_TAG_LEN) == 0) {
            dup[sl[j].i] = 1;
        }
    }
    return COFFRE_OK;
}

static int
import_locked(struct coffre_vault *v, struct coffre_person *const *ps, size_t n,
              struct import_slot *sl, unsigned char *dup,
              struct coffre_person **fresh, struct coffre_import_counts *c)
{
    struct coffre_store *s = v->store;
    size_t nfresh = 0, nf;
    uint64_t id;
    int rc = import_slots(v, ps, n, sl, dup);

    for (size_t j = 0; j < n && rc == COFFRE_OK; j++) {
        size_t i = sl[j].i;

        if (dup[i]) {
            c->duplicates++;
            continue;
        }
        rc = s->ops->person_find(s, COFFRE_TAG_SOURCE, sl[j].tag, &id, 1, &nf);
        if (rc == COFFRE_OK && nf == 0) {
            fresh[nfresh++] = ps[i];
        } else if (rc == COFFRE_OK) {
            rc = import_replace(v, ps[i], id, c);
        }
    }
    if (rc == COFFRE_OK) {
        rc = vault_bulk_insert(v, fresh, nfresh, NULL);
    }
    c->inserted += rc == COFFRE_OK ? nfresh : 0;
    return rc;
}

static int
marker_name_ok(const char *name)
{
    return name != NULL && strncmp(name, "migrate.", 8) == 0 &&
           strlen(name) < COFFRE_STORE_KEY_MAX;
}

/* The caller's progress values, counted with the batch: they commit with
 * it or not at all. */
static int
import_meta(struct coffre_vault *v, coffre_import_meta_fn fn, void *ctx,
            const struct coffre_import_counts *c,
            const struct coffre_import_counts *add)
{
    struct coffre_store *s = v->store;
    struct coffre_import_counts total = *c;
    const struct coffre_meta_value *mv = NULL;
    size_t n = 0;
    int rc = COFFRE_OK;

    total.inserted += add->inserted;
    total.updated += add->updated;
    total.unchanged += add->unchanged;
    total.duplicates += add->duplicates;
    if (fn(ctx, &total, &mv, &n) != 0) {
        return vault_fail(v, COFFRE_ERR_NOMEM, "import progress: no memory");
    }
    for (size_t i = 0; i < n && rc == COFFRE_OK; i++) {
        if (!marker_name_ok(mv[i].name) || mv[i].len > COFFRE_STORE_META_MAX ||
            (mv[i].val == NULL && mv[i].len > 0)) {
            return vault_fail(v, COFFRE_ERR_ARG,
                              "import meta value %zu: bad name or size", i);
        }
        rc = s->ops->meta_put(s, mv[i].name, mv[i].val, mv[i].len);
    }
    return rc;
}

static int
import_tx(struct coffre_vault *v, struct coffre_person *const *ps, size_t n,
          coffre_import_meta_fn meta, void *ctx, struct coffre_import_counts *c)
{
    struct coffre_store *s = v->store;
    size_t cap = n > 0 ? n : 1; /* a batch of meta values only is fine */
    struct import_slot *sl = calloc(cap, sizeof(*sl));
    unsigned char *dup = calloc(cap, 1);
    struct coffre_person **fresh = calloc(cap, sizeof(*fresh));
    struct coffre_import_counts add = {0};
    struct coffre_event ev;
    int rc = sl && dup && fresh ? s->ops->begin(s) : COFFRE_ERR_NOMEM;

    vault_event(&ev, COFFRE_OP_IMPORT, 0, 0);
    if (rc == COFFRE_OK) {
        rc = import_locked(v, ps, n, sl, dup, fresh, &add);
        if (rc == COFFRE_OK && meta != NULL) {
            rc = import_meta(v, meta, ctx, c, &add);
        }
        /* One entry for the batch: the persons it wrote. */
        ev.count = add.inserted + add.updated;
        for (size_t i = 0; i < n; i++) {
            ev.classes |= coffre_person_classes(ps[i]);
        }
        if (rc == COFFRE_OK && ev.count > 0) {
            rc = vault_audit_write(v, &ev);
        }
        if (rc == COFFRE_OK) {
            rc = ev.count > 0 ? vault_audit_commit(v, &ev) : s->ops->commit(s);
        } else {
            s->ops->rollback(s);
        }
    }
    if (rc == COFFRE_OK) {
        c->inserted += add.inserted;
        c->updated += add.updated;
        c->unchanged += add.unchanged;
        c->duplicates += add.duplicates;
    } else if (rc == COFFRE_ERR_STORE || rc == COFFRE_ERR_UNAVAILABLE) {
        vault_store_fail(v, rc, "import");
    }
    free(sl);
    free(dup);
    free(fresh);
    return rc;
}

int
coffre_vault_import(struct coffre_vault *v, struct coffre_person *const *ps,
                    size_t n, coffre_import_meta_fn meta, void *ctx,
                    struct coffre_import_counts *c)
{
    int rc;

    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = import_tx(v, ps, n, meta, ctx, c);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int
coffre_vault_meta_get(struct coffre_vault *v, const char *name, char **pval,
                      size_t *plen)
{
    struct coffre_buf b;
    int rc;

    *pval = NULL;
    if (plen != NULL) {
        *plen = 0;
    }
    if (!marker_name_ok(name)) {
        return COFFRE_ERR_ARG;
    }
    coffre_buf_init(&b, COFFRE_STORE_META_MAX + 1);
    pthread_mutex_lock(&v->lock);
    rc = v->store->ops->meta_get(v->store, name, &b);
    pthread_mutex_unlock(&v->lock);
    if (rc == COFFRE_OK) {
        if (plen != NULL) {
            *plen = b.len;
        }
        *pval = coffre_buf_cstr(&b);
        rc = *pval != NULL ? COFFRE_OK : COFFRE_ERR_NOMEM;
        coffre_buf_detach(&b, NULL);
    }
    coffre_buf_free(&b);
    return rc;
}

int
coffre_vault_meta_put(struct coffre_vault *v, const char *name, const char *val)
{
    int rc;

    if (!marker_name_ok(name)) {
        return COFFRE_ERR_ARG;
    }
    pthread_mutex_lock(&v->lock);
    rc = v->store->ops->meta_put(v->store, name, val, strlen(val));
    pthread_mutex_unlock(&v->lock);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Scans of the vault.                                                 */

/* Persons put through the API have no source key: give them one that is
 * unique to this vault, so that they migrate like the others. */
static int
effective_key(struct coffre_vault *v, struct coffre_person *p, uint64_t id)
{
    char k[80];
    size_t len;

    if (p->source_key != NULL) {
        return COFFRE_OK;
    }
    len = (size_t)snprintf(k, sizeof(k), "coffre:%s:%llu", v->id_hex,
                           (unsigned long long)id);
    p->source_key = coffre_pmem_alloc(len + 1);
    if (p->source_key == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    memcpy(p->source_key, k, len + 1);
    return COFFRE_OK;
}

static int
scan_one(struct coffre_vault *v, uint64_t id, migrate_scan_fn fn, void *ctx)
{
    struct migrate_item it;
    int rc;

    memset(&it, 0, sizeof(it));
    it.id = id;
    rc = vault_person_load(v, id, COFFRE_CLASSES_ALL, &it.p, NULL);
    if (rc == COFFRE_ERR_ERASED || rc == COFFRE_ERR_NOTFOUND) {
        return COFFRE_OK; /* erased between list and load: not live */
    }
    if (rc == COFFRE_OK) {
        rc = effective_key(v, it.p, id);
    }
    if (rc == COFFRE_OK) {
        migrate_key_hash(it.p->source_key, it.key_hash);
        rc = coffre_person_leaf(it.p, it.leaf);
    }
    if (rc == COFFRE_OK) {
        rc = fn(ctx, &it);
    }
    coffre_person_free(it.p);
    return rc;
}

int
migrate_scan(struct coffre_vault *v, const char *category, migrate_scan_fn fn,
             void *ctx)
{
    unsigned char tag[COFFRE_TAG_LEN];
    uint64_t *ids = calloc(SCAN_PAGE, sizeof(*ids)), after = 0;
    size_t n = SCAN_PAGE;
    int rc = ids != NULL ? COFFRE_OK : COFFRE_ERR_NOMEM;

    if (category != NULL) {
        coffre_blind_tag(v->tagkey[COFFRE_TAG_CATEGORY],
                         (const unsigned char *)category, strlen(category),
                         tag);
    }
    while (rc == COFFRE_OK && n == SCAN_PAGE) {
        rc = v->store->ops->person_list(v->store, -1,
                                        category != NULL ? tag : NULL, after,
                                        ids, SCAN_PAGE, &n);
        if (rc != COFFRE_OK) {
            rc = vault_store_fail(v, rc, "list");
        }
        for (size_t i = 0; i < n && rc == COFFRE_OK; i++) {
            rc = scan_one(v, ids[i], fn, ctx);
        }
        after = n > 0 ? ids[n - 1] : after;
    }
    free(ids);
    return rc;
}

static int
manifest_cb(void *ctx, const struct migrate_item *it)
{
    return coffre_manifest_add_leaf(ctx, it->key_hash, it->leaf);
}

int
coffre_vault_manifest(struct coffre_vault *v,
                      unsigned char root[COFFRE_MANIFEST_LEN], uint64_t *pcount)
{
    struct coffre_manifest *m = NULL;
    int rc = coffre_manifest_new(&m);

    if (rc == COFFRE_OK) {
        pthread_mutex_lock(&v->lock);
        rc = vault_check_unsealed(v);
        if (rc == COFFRE_OK) {
            rc = migrate_scan(v, NULL, manifest_cb, m);
        }
        pthread_mutex_unlock(&v->lock);
    }
    if (rc == COFFRE_OK) {
        rc = coffre_manifest_root(m, root, pcount);
    }
    coffre_manifest_free(m);
    return rc;
}
