/*
 * Shredding what was migrated, with a signed erasure receipt (a C2SP
 * signed note by the vault's Ed25519 receipt key, named key "receipt"
 * wrapped by the root key). docs/migration.md section 5.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "audit/note.h"
#include "util/secmem.h"
#include "vault/migrate.h"

#define RECEIPT_HEADER "coffre erasure receipt v1"

struct shred_sel {
    const struct coffre_manifest *sel;
    struct coffre_manifest *got; /* what is stored, of the selection */
    uint64_t *ids;
    size_t n, cap;
};

static int
shred_collect(void *ctx, const struct migrate_item *it)
{
    struct shred_sel *s = ctx;

    if (s->sel != NULL && !coffre_manifest_contains(s->sel, it->key_hash)) {
        return COFFRE_OK;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint64_t *ids = realloc(s->ids, cap * sizeof(*ids));

        if (ids == NULL) {
            return COFFRE_ERR_NOMEM;
        }
        s->ids = ids;
        s->cap = cap;
    }
    s->ids[s->n++] = it->id;
    return coffre_manifest_add_leaf(s->got, it->key_hash, it->leaf);
}

int
vault_receipt_signer(struct coffre_vault *v, struct coffre_note_signer **ps)
{
    struct coffre_key *k = NULL;
    char name[64];
    int rc = vault_named_key(v, "receipt", &k);

    snprintf(name, sizeof(name), "coffre-receipt-%s", v->id_hex);
    if (rc == COFFRE_OK) {
        rc = coffre_note_signer_from_seed(name, k->b, ps);
    }
    coffre_key_destroy(k);
    return rc;
}

/* SHA-256 over the source-key hashes erased, in manifest order: names
 * what was erased without naming anyone. */
static int
receipt_text(struct coffre_vault *v, struct shred_sel *s,
             const unsigned char root[COFFRE_MANIFEST_LEN],
             struct coffre_buf *t)
{
    char rhex[65], khex[65], when[32];
    unsigned char kh[32], r2[32];
    crypto_hash_sha256_state h;
    time_t now = time(NULL);
    struct tm tm;
    uint64_t n;
    int rc = coffre_manifest_root(s->got, r2, &n);

    crypto_hash_sha256_init(&h);
    for (uint64_t i = 0; rc == COFFRE_OK && i < n; i++) {
        /* The manifest holds each key hash once, sorted. */
        crypto_hash_sha256_update(&h, migrate_manifest_key(s->got, (size_t)i),
                                  32);
    }
    crypto_hash_sha256_final(&h, kh);
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    coffre_hex(root, COFFRE_MANIFEST_LEN, rhex);
    coffre_hex(kh, sizeof(kh), khex);
    if (rc == COFFRE_OK) {
        rc =
            coffre_buf_addf(t,
                            RECEIPT_HEADER "\nvault %s\ntime %s\ncount %llu\n"
                                           "manifest %s\nerased-keys %s\n"
                                           "approvals none\n",
                            v->id_hex, when, (unsigned long long)n, rhex, khex);
    }
    return rc;
}

/* What was sent is no longer vouched for here: its badges go on the
 * revoked list with it (the destination issues its own). */
static int
erase_all_tx(struct coffre_vault *v, void *arg)
{
    const struct shred_sel *s = arg;
    size_t revoked = 0;
    int rc = COFFRE_OK;

    for (size_t i = 0; i < s->n && rc == COFFRE_OK; i++) {
        rc = v->store->ops->person_erase(v->store, s->ids[i]);
        if (rc == COFFRE_OK) {
            rc = vault_badge_revoke_locked(v, s->ids[i], &revoked);
        }
    }
    return rc;
}

static int
erase_all(struct coffre_vault *v, struct shred_sel *s)
{
    struct coffre_event ev;
    int rc;

    vault_event(&ev, COFFRE_OP_SHRED, 0, 0);
    ev.count = s->n;
    rc = vault_tx_audited(v, &ev, erase_all_tx, s);
    if (rc == COFFRE_ERR_DENIED || rc == COFFRE_ERR_UNAVAILABLE) {
        return rc;
    }

    return rc == COFFRE_OK ? rc : vault_store_fail(v, rc, "shred");
}

static int
shred_locked(struct coffre_vault *v, struct shred_sel *s,
             const unsigned char root[COFFRE_MANIFEST_LEN], char **preceipt)
{
    struct coffre_note_signer *signer = NULL;
    unsigned char got[COFFRE_MANIFEST_LEN];
    char ghex[65];
    struct coffre_buf t;
    size_t len;
    int rc = migrate_scan(v, NULL, shred_collect, s);

    if (rc == COFFRE_OK) {
        rc = coffre_manifest_root(s->got, got, NULL);
    }
    if (rc == COFFRE_OK && sodium_memcmp(got, root, sizeof(got)) != 0) {
        coffre_hex(got, sizeof(got), ghex);
        return vault_fail(v, COFFRE_ERR_INVALID,
                          "the selection as stored has manifest root %s, "
                          "not the one given: nothing erased",
                          ghex);
    }
    coffre_buf_init(&t, 4096);
    if (rc == COFFRE_OK) {
        rc = vault_receipt_signer(v, &signer);
    }
    if (rc == COFFRE_OK) {
        rc = receipt_text(v, s, root, &t);
    }
    if (rc == COFFRE_OK) {
        rc = erase_all(v, s);
    }
    if (rc == COFFRE_OK) {
        const struct coffre_note_signer *sg = signer;

        rc = coffre_note_sign((const char *)t.p, t.len, &sg, 1, preceipt, &len);
    }
    coffre_note_signer_free(signer);
    coffre_buf_free(&t);
    return rc;
}

int
coffre_vault_shred(struct coffre_vault *v, const struct coffre_manifest *sel,
                   const unsigned char root[COFFRE_MANIFEST_LEN],
                   char **preceipt)
{
    struct shred_sel s;
    int rc;

    *preceipt = NULL;
    memset(&s, 0, sizeof(s));
    s.sel = sel;
    rc = coffre_manifest_new(&s.got);
    if (rc == COFFRE_OK) {
        pthread_mutex_lock(&v->lock);
        rc = vault_check_unsealed(v);
        if (rc == COFFRE_OK) {
            rc = shred_locked(v, &s, root, preceipt);
        }
        pthread_mutex_unlock(&v->lock);
    }
    coffre_manifest_free(s.got);
    free(s.ids);
    return rc;
}

int
coffre_vault_receipt_key(struct coffre_vault *v, char **pvkey)
{
    struct coffre_note_signer *s = NULL;
    struct coffre_note_verifier ver;
    int rc;

    *pvkey = NULL;
    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = vault_receipt_signer(v, &s);
    }
    pthread_mutex_unlock(&v->lock);
    if (rc == COFFRE_OK) {
        coffre_note_signer_verifier(s, &ver);
        rc = coffre_note_verifier_format(&ver, pvkey);
    }
    coffre_note_signer_free(s);
    return rc;
}

int
coffre_receipt_verify(const char *vkey, const char *receipt, size_t len,
                      char **ptext)
{
    struct coffre_note_verifier ver;
    struct coffre_note *n = NULL;
    size_t hl = strlen(RECEIPT_HEADER);
    int rc;

    *ptext = NULL;
    rc = coffre_note_verifier_parse(vkey, &ver);
    if (rc == COFFRE_OK) {
        rc = coffre_note_open(receipt, len, &ver, 1, &n);
    }
    if (rc == COFFRE_OK &&
        (n->text_len <= hl || strncmp(n->text, RECEIPT_HEADER "\n", hl + 1))) {
        rc = COFFRE_ERR_PARSE; /* a signed note, but not a receipt */
    }
    if (rc == COFFRE_OK) {
        *ptext = coffre_pmem_alloc(n->text_len + 1);
        rc = *ptext != NULL ? COFFRE_OK : COFFRE_ERR_NOMEM;
    }
    if (rc == COFFRE_OK) {
        memcpy(*ptext, n->text, n->text_len);
        (*ptext)[n->text_len] = '\0';
    }
    coffre_note_free(n);
    return rc;
}
