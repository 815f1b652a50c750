/*
 * Retention period and the erasure receipts of retention sweeps, erasure
 * requests and epoch destruction (docs/approvals.md). A receipt is a C2SP
 * signed note by the same receipt key, under the same header, as the
 * receipts of coffre_vault_shred: one verifier key and one verifier
 * (coffre_receipt_verify, `coffre receipt verify`) for every receipt.
 * Receipts are kept in the store, meta "receipt:<id>", the id being the
 * base64url SHA-256 of the note: content-addressed, so a stored receipt
 * cannot be swapped for another under the same id without it showing.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "audit/note.h"
#include "coffre/approval.h"
#include "util/buf.h"
#include "util/secmem.h"
#include "vault/migrate.h"

#define RECEIPT_HEADER "coffre erasure receipt v1"
#define RECEIPT_MAX (COFFRE_STORE_META_MAX - 1024)

void
coffre_vault_set_retention(struct coffre_vault *v, int64_t secs)
{
    pthread_mutex_lock(&v->lock);
    v->retention = secs >= 0 ? secs : 0;
    pthread_mutex_unlock(&v->lock);
}

/* A value that goes on one line of the receipt: printable ASCII. */
static int
line_ok(const char *s, size_t cap)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > cap) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e) {
            return 0;
        }
    }
    return 1;
}

static int
erasure_ok(const struct coffre_erasure *e)
{
    if (!line_ok(e->by, 64) || !line_ok(e->reason, 64) ||
        !line_ok(e->audience, 64) || e->time < 0 ||
        e->npseudonyms > COFFRE_RECEIPT_MAX_PSEUDONYMS ||
        e->napprovals > COFFRE_APPROVAL_APPROVERS_MAX) {
        return 0;
    }
    for (size_t i = 0; i < e->npseudonyms; i++) {
        if (!line_ok(e->pseudonyms[i], COFFRE_PSEUDONYM_LEN) ||
            strchr(e->pseudonyms[i], ' ') != NULL) {
            return 0;
        }
    }
    for (size_t i = 0; i < e->napprovals; i++) {
        if (!line_ok(e->approvals[i], COFFRE_APPROVAL_ID_LEN) ||
            strchr(e->approvals[i], ' ') != NULL) {
            return 0;
        }
    }
    return 1;
}

/* The receipt text (docs/approvals.md section 4). */
static int
receipt_text(const char *vault_id, const struct coffre_erasure *e,
             struct coffre_buf *t)
{
    char when[32];
    time_t tt = (time_t)e->time;
    struct tm tm;
    int rc;
    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        return COFFRE_ERR_ARG;
    }
    rc = coffre_buf_addf(t,
                         RECEIPT_HEADER "\nvault %s\ntime %s\ncount %zu\n"
                                        "by %s\nreason %s\naudience %s\n"
                                        "approvals",
                         vault_id, when, e->npseudonyms, e->by, e->reason,
                         e->audience);
    for (size_t i = 0; rc == COFFRE_OK && i < e->napprovals; i++) {
        rc = coffre_buf_addf(t, " %s", e->approvals[i]);
    }
    if (rc == COFFRE_OK) {
        rc = coffre_buf_adds(t, e->napprovals == 0 ? " none\n" : "\n");
    }
    for (size_t i = 0; rc == COFFRE_OK && i < e->npseudonyms; i++) {
        rc = coffre_buf_addf(t, "pseudonym %s\n", e->pseudonyms[i]);
    }
    return rc;
}

static void
receipt_meta(const char *id, char meta[64])
{
    snprintf(meta, 64, "receipt:%s", id);
}

/* Sign ${t} and store the note; lock held. */
static int
sign_store(struct coffre_vault *v, const struct coffre_buf *t,
           char id[COFFRE_RECEIPT_ID_LEN + 1], char **preceipt)
{
    struct coffre_note_signer *signer = NULL;
    unsigned char h[crypto_hash_sha256_BYTES];
    char meta[64];
    size_t len = 0;
    int rc = vault_receipt_signer(v, &signer);
    if (rc == COFFRE_OK) {
        const struct coffre_note_signer *sg = signer;
        rc = coffre_note_sign((const char *)t->p, t->len, &sg, 1, preceipt,
                              &len);
    }
    if (rc == COFFRE_OK) {
        crypto_hash_sha256(h, (const unsigned char *)*preceipt, len);
        sodium_bin2base64(id, COFFRE_RECEIPT_ID_LEN + 1, h, sizeof(h),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        receipt_meta(id, meta);
        rc = v->store->ops->meta_put(v->store, meta, *preceipt, len);
        rc = rc == COFFRE_OK ? rc : vault_store_fail(v, rc, "receipt");
    }
    coffre_note_signer_free(signer);
    return rc;
}

int
coffre_vault_erasure_receipt(struct coffre_vault *v,
                             const struct coffre_erasure *e,
                             char id[COFFRE_RECEIPT_ID_LEN + 1],
                             char **preceipt)
{
    struct coffre_buf t;
    int rc;
    *preceipt = NULL;
    id[0] = '\0';
    if (!erasure_ok(e)) {
        return COFFRE_ERR_ARG;
    }
    coffre_buf_init(&t, RECEIPT_MAX);
    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = receipt_text(v->id_hex, e, &t);
    }
    if (rc == COFFRE_OK) {
        rc = sign_store(v, &t, id, preceipt);
    }
    pthread_mutex_unlock(&v->lock);
    coffre_buf_free(&t);
    if (rc != COFFRE_OK) {
        coffre_free(*preceipt);
        *preceipt = NULL;
        id[0] = '\0';
    }
    return rc;
}

int
coffre_vault_receipt_get(struct coffre_vault *v, const char *id,
                         char **preceipt)
{
    struct coffre_buf b;
    char meta[64];
    int rc;
    *preceipt = NULL;
    if (!line_ok(id, COFFRE_RECEIPT_ID_LEN) ||
        strlen(id) != COFFRE_RECEIPT_ID_LEN) {
        return COFFRE_ERR_NOTFOUND;
    }
    receipt_meta(id, meta);
    coffre_buf_init(&b, COFFRE_STORE_META_MAX + 1);
    pthread_mutex_lock(&v->lock);
    rc = v->store->ops->meta_get(v->store, meta, &b);
    pthread_mutex_unlock(&v->lock);
    if (rc == COFFRE_OK) {
        *preceipt = coffre_buf_cstr(&b);
        rc = *preceipt != NULL ? COFFRE_OK : COFFRE_ERR_NOMEM;
        coffre_buf_detach(&b, NULL);
    }
    coffre_buf_free(&b);
    return rc;
}

int
coffre_vault_epoch_status(struct coffre_vault *v, uint32_t epoch)
{
    struct coffre_buf b;
    int rc;
    coffre_buf_init(&b, COFFRE_STORE_META_MAX);
    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = v->store->ops->epoch_get(v->store, epoch, &b);
    }
    pthread_mutex_unlock(&v->lock);
    coffre_buf_free(&b);
    return rc;
}
