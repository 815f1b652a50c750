/*
 * Persons in the vault: sealing a record into its stored row (one AEAD
 * ciphertext per class under a fresh data key, blind-index tags), opening
 * it again, updates, lifecycle, search, erasure, pseudonyms.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "coffre/migrate.h"
#include "util/secmem.h"
#include "vault/vault.h"

int64_t
vault_now(void)
{
    return (int64_t)time(NULL);
}

int
vault_check_unsealed(struct coffre_vault *v)
{
    if (v->root == NULL) {
        return vault_fail(v, COFFRE_ERR_SEALED, "the vault is sealed");
    }
    return COFFRE_OK;
}

static int
tx_locked_once(struct coffre_vault *v, int (*fn)(struct coffre_vault *, void *),
               void *arg)
{
    struct coffre_store *st = v->store;
    int rc = st->ops->begin(st);

    if (rc != COFFRE_OK) {
        return rc;
    }
    rc = fn(v, arg);
    if (rc == COFFRE_OK) {
        rc = st->ops->commit(st);
    } else {
        st->ops->rollback(st);
    }
    return rc;
}

/* A transaction the store rolled back is run again (store.h retry; a
 * failed begin left nothing either), at most three times in all. */
int
vault_tx_locked(struct coffre_vault *v,
                int (*fn)(struct coffre_vault *, void *), void *arg)
{
    int rc = COFFRE_OK;

    for (int i = 0; i < 3; i++) {
        rc = tx_locked_once(v, fn, arg);
        if (rc != COFFRE_ERR_UNAVAILABLE || !v->store->retry) {
            break;
        }
    }
    return rc;
}

int
vault_in_tx(struct coffre_vault *v, int (*fn)(struct coffre_vault *, void *),
            void *arg)
{
    int rc;

    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = vault_tx_locked(v, fn, arg);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

struct vault_scratch *
vault_scratch_new(void)
{
    struct vault_scratch *sc = calloc(1, sizeof(*sc));

    if (sc == NULL) {
        return NULL;
    }
    sc->dk = coffre_key_alloc(sizeof(*sc->dk));
    if (sc->dk == NULL) {
        free(sc);
        return NULL;
    }
    coffre_buf_init(&sc->tlv, COFFRE_MAX_JSON);
    coffre_buf_init(&sc->norm, 4096);
    return sc;
}

void
vault_scratch_free(struct vault_scratch *sc)
{
    if (sc == NULL) {
        return;
    }
    coffre_key_free(sc->dk, sizeof(*sc->dk));
    coffre_buf_free(&sc->tlv);
    coffre_buf_free(&sc->norm);
    free(sc);
}

/* "YYYY-MM-DD" (already validated) to the unix time ending that day. */
static int64_t
date_end(const char *d)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = atoi(d) - 1900;
    tm.tm_mon = atoi(d + 5) - 1;
    tm.tm_mday = atoi(d + 8);
    tm.tm_hour = 23;
    tm.tm_min = 59;
    tm.tm_sec = 59;
    return (int64_t)timegm(&tm);
}

/* Retention epochs are calendar months (UTC) of the retention date,
 * counted from January 2000: records that leave together share a key. */
static uint32_t
epoch_of_time(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t <= 0 || gmtime_r(&tt, &tm) == NULL || tm.tm_year < 100) {
        return 0;
    }
    return (uint32_t)((tm.tm_year - 100) * 12 + tm.tm_mon);
}

int
vault_person_plan(struct coffre_vault *v, const struct coffre_person *p,
                  int64_t *pretain, uint32_t *pepoch)
{
    *pretain = 0;
    if (p->valid_until != NULL) {
        *pretain = date_end(p->valid_until) + v->retention;
    }
    *pepoch = epoch_of_time(*pretain);
    return COFFRE_OK;
}

/* The tag of one normalised value, or nothing if the value is absent. */
static void
put_tag(struct coffre_vault *v, struct coffre_store_person *row, int kind,
        struct coffre_buf *norm, int rc)
{
    if (rc == COFFRE_OK && norm->len > 0) {
        coffre_blind_tag(v->tagkey[kind], norm->p, norm->len, row->tags[kind]);
        row->tag_mask |= 1u << kind;
    }
    coffre_buf_reset(norm);
}

static void
compute_tags(struct coffre_vault *v, const struct coffre_person *p,
             struct coffre_store_person *row, struct coffre_buf *norm)
{
    if (p->doc_number != NULL) {
        put_tag(v, row, COFFRE_TAG_DOCUMENT, norm,
                coffre_norm_document(p->doc_number, norm));
    }
    if (p->email != NULL) {
        put_tag(v, row, COFFRE_TAG_EMAIL, norm,
                coffre_norm_email(p->email, norm));
    }
    if (p->surname != NULL && p->given_names != NULL && p->birth_date != NULL) {
        put_tag(v, row, COFFRE_TAG_NAME_DOB, norm,
                coffre_norm_name_dob(p->surname, p->given_names, p->birth_date,
                                     norm));
    }
    if (p->source_key != NULL) {
        put_tag(v, row, COFFRE_TAG_SOURCE, norm,
                coffre_buf_adds(norm, p->source_key));
    }
    if (p->category != NULL) {
        put_tag(v, row, COFFRE_TAG_CATEGORY, norm,
                coffre_buf_adds(norm, p->category));
    }
}

/* Encode every present class into sc->tlv, remembering where each ends. */
static int
encode_classes(const struct coffre_person *p, struct vault_scratch *sc,
               size_t end[COFFRE_CLASS_COUNT], size_t *pctlen)
{
    int rc = COFFRE_OK;

    *pctlen = 0;
    coffre_buf_reset(&sc->tlv);
    for (int c = 0; c < COFFRE_CLASS_COUNT && rc == COFFRE_OK; c++) {
        size_t before = sc->tlv.len;

        if (p->classes & COFFRE_CLASS_BIT(c)) {
            rc = coffre_person_encode_class(p, c, &sc->tlv);
            *pctlen += sc->tlv.len - before + COFFRE_AEAD_OVERHEAD;
        }
        end[c] = sc->tlv.len;
    }
    return rc;
}

static int
seal_classes(struct coffre_vault *v, const struct coffre_person *p,
             struct vault_scratch *sc, struct vault_sealed *out)
{
    size_t end[COFFRE_CLASS_COUNT], ctlen, start = 0, off = 0;
    unsigned char ad[COFFRE_AD_MAX];
    int rc = encode_classes(p, sc, end, &ctlen);

    if (rc != COFFRE_OK) {
        return rc;
    }
    out->arena = malloc(ctlen != 0 ? ctlen : 1);
    if (out->arena == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    for (int c = 0; c < COFFRE_CLASS_COUNT && rc == COFFRE_OK; c++) {
        size_t len = end[c] - start, adlen;

        if (!(p->classes & COFFRE_CLASS_BIT(c))) {
            continue;
        }
        adlen = coffre_ad_field(ad, v->id, out->row.id, c, out->row.dk_gen);
        rc = coffre_aead_seal(sc->dk, ad, adlen, sc->tlv.p + start, len,
                              out->arena + off);
        out->row.ct[c] = out->arena + off;
        out->row.ct_len[c] = len + COFFRE_AEAD_OVERHEAD;
        off += len + COFFRE_AEAD_OVERHEAD;
        start = end[c];
    }
    coffre_buf_reset(&sc->tlv);
    return rc;
}

int
vault_person_seal(struct coffre_vault *v, const struct coffre_person *p,
                  uint64_t id, uint32_t dk_gen, int64_t retain,
                  struct vault_epoch *e, const struct coffre_key *dkwrap,
                  struct vault_scratch *sc, struct vault_sealed *out)
{
    unsigned char ad[COFFRE_AD_MAX];
    size_t adlen;
    int rc;

    memset(out, 0, sizeof(*out));
    out->row.id = id;
    out->row.state = p->state;
    out->row.epoch = e->epoch;
    out->row.dk_gen = dk_gen;
    out->row.retain_until = retain;
    out->row.updated = vault_now();
    if (p->state == COFFRE_STATE_VETTING) {
        out->row.deadline = out->row.updated + v->vetting_deadline;
    }
    coffre_rng(sc->dk->b, sizeof(sc->dk->b));
    rc = seal_classes(v, p, sc, out);
    if (rc == COFFRE_OK) {
        out->dk.id = id;
        out->dk.kek_version = v->kek_current;
        out->dk.epoch = e->epoch;
        adlen = coffre_ad_dkey(ad, v->id, id, v->kek_current, e->epoch);
        out->dk.len = COFFRE_WRAPPED_LEN;
        rc = coffre_key_wrap(dkwrap, ad, adlen, sc->dk, out->dk.wrapped);
    }
    sodium_memzero(sc->dk->b, sizeof(sc->dk->b));
    compute_tags(v, p, &out->row, &sc->norm);
    return rc;
}

void
vault_sealed_clear(struct vault_sealed *s)
{
    free(s->arena);
    memset(s, 0, sizeof(*s));
}

/* Everything put needs but the id: epoch key and wrapping key. */
static int
prepare_seal(struct coffre_vault *v, const struct coffre_person *p,
             int64_t *pretain, struct vault_epoch **pe,
             const struct coffre_key **pwrap)
{
    uint32_t epoch;
    int rc;

    vault_person_plan(v, p, pretain, &epoch);
    rc = vault_epoch(v, epoch, 1, pe);
    if (rc == COFFRE_ERR_ERASED) {
        return vault_fail(v, rc,
                          "retention epoch %u was destroyed: no record can "
                          "be stored in it",
                          epoch);
    }
    if (rc == COFFRE_OK) {
        rc = vault_dkwrap(v, v->kek_current, *pe, pwrap);
    }
    return rc;
}

int
vault_put_locked(struct coffre_vault *v, const struct coffre_person *p,
                 uint64_t *pid)
{
    struct coffre_store *s = v->store;
    struct vault_sealed sealed;
    struct vault_epoch *e;
    const struct coffre_key *wrap;
    int64_t retain;
    int rc = prepare_seal(v, p, &retain, &e, &wrap);

    if (rc == COFFRE_OK) {
        rc = s->ops->id_reserve(s, 1, pid);
    }
    if (rc == COFFRE_OK) {
        rc = vault_person_seal(v, p, *pid, 1, retain, e, wrap, v->scratch,
                               &sealed);
        if (rc == COFFRE_OK) {
            rc = s->ops->person_insert(s, &sealed.row, &sealed.dk);
        }
        vault_sealed_clear(&sealed);
    }
    return rc == COFFRE_OK ? rc : vault_store_fail(v, rc, "put");
}

struct put_args {
    const struct coffre_person *p;
    uint64_t *pid;
    struct coffre_event *ev;
};

static int
put_tx(struct coffre_vault *v, void *arg)
{
    struct put_args *a = arg;
    int rc = vault_put_locked(v, a->p, a->pid);

    a->ev->id = *a->pid;
    return rc;
}

/* Whether the stored person ${id} is what ${p} submits: the classes ${p}
 * carries, whatever the state the stored one has moved on to. */
static int
same_submission(struct coffre_vault *v, uint64_t id,
                const struct coffre_person *p, int *psame)
{
    unsigned char a[32], b[32];
    struct coffre_person *old = NULL;
    int rc = vault_person_load(v, id, p->classes, &old, NULL);

    *psame = 0;
    if (rc == COFFRE_OK) {
        old->state = p->state;
        rc = coffre_person_leaf(old, a);
    }
    if (rc == COFFRE_OK) {
        rc = coffre_person_leaf(p, b);
    }
    *psame = rc == COFFRE_OK && sodium_memcmp(a, b, sizeof(a)) == 0;
    coffre_person_free(old);
    return rc;
}

/* The live person already stored under ${p}'s source key: *${pid} 0 if
 * none; COFFRE_ERR_EXISTS if it is a different submission. */
static int
put_existing(struct coffre_vault *v, const struct coffre_person *p,
             uint64_t *pid)
{
    unsigned char tag[COFFRE_TAG_LEN];
    size_t n = 0;
    int rc, same = 0;

    *pid = 0;
    if (p->source_key == NULL) {
        return COFFRE_OK;
    }
    coffre_blind_tag(v->tagkey[COFFRE_TAG_SOURCE],
                     (const unsigned char *)p->source_key,
                     strlen(p->source_key), tag);
    rc = v->store->ops->person_find(v->store, COFFRE_TAG_SOURCE, tag, pid, 1,
                                    &n);
    if (rc != COFFRE_OK || n == 0) {
        *pid = 0;
        return rc == COFFRE_OK ? rc : vault_store_fail(v, rc, "put");
    }
    rc = same_submission(v, *pid, p, &same);
    if (rc == COFFRE_OK && !same) {
        *pid = 0;
        rc = vault_fail(v, COFFRE_ERR_EXISTS,
                        "the source key already names a different "
                        "person: nothing stored");
    }
    return rc;
}

int
coffre_vault_put_once(struct coffre_vault *v, const struct coffre_person *p,
                      uint64_t *pid, int *pcreated)
{
    struct coffre_event ev;
    struct put_args a = {p, pid, &ev};
    struct coffre_diag diag;
    int rc;

    *pcreated = 0;
    if (p == NULL || pid == NULL) {
        return COFFRE_ERR_ARG;
    }
    vault_event(&ev, COFFRE_OP_CREATE, 0, coffre_person_classes(p));
    ev.count = 1;
    ev.is_protected = p->is_protected;
    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK && coffre_person_validate_new(p, &diag) != COFFRE_OK) {
        rc = vault_fail(v, COFFRE_ERR_INVALID, "%s: %s", diag.field, diag.rule);
    }
    if (rc == COFFRE_OK) {
        rc = put_existing(v, p, pid);
    }
    if (rc == COFFRE_OK && *pid == 0) {
        rc = vault_tx_audited(v, &ev, put_tx, &a);
        *pcreated = rc == COFFRE_OK;
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

/* ---- put under a client's idempotency key --------------------------- */

#define IDEM_PREFIX "idem."
#define IDEM_NAME_LEN (sizeof(IDEM_PREFIX) - 1 + 2 * COFFRE_TAG_LEN)

/* The meta key of an idempotency key: "idem." and the hex of its blind
 * tag (the key may name a principal: it is not stored as given). */
static int
idem_name(struct coffre_vault *v, const void *key, size_t keylen,
          char name[IDEM_NAME_LEN + 1])
{
    unsigned char in[5 + COFFRE_IDEM_KEY_MAX], tag[COFFRE_TAG_LEN];

    memcpy(in, "idem", 5); /* with its NUL: apart from any source key */
    memcpy(in + 5, key, keylen);
    coffre_blind_tag(v->tagkey[COFFRE_TAG_SOURCE], in, 5 + keylen, tag);
    memcpy(name, IDEM_PREFIX, sizeof(IDEM_PREFIX) - 1);
    sodium_bin2hex(name + sizeof(IDEM_PREFIX) - 1, 2 * COFFRE_TAG_LEN + 1, tag,
                   sizeof(tag));
    return COFFRE_OK;
}

/* The id recorded under ${name}, or 0. */
static int
idem_lookup(struct coffre_vault *v, const char *name, uint64_t *pid)
{
    struct coffre_buf b;
    int rc;

    *pid = 0;
    coffre_buf_init(&b, 64);
    rc = v->store->ops->meta_get(v->store, name, &b);
    if (rc == COFFRE_OK && b.len == 8) {
        for (int i = 0; i < 8; i++) {
            *pid = *pid << 8 | b.p[i];
        }
    } else if (rc == COFFRE_OK) {
        rc = vault_fail(v, COFFRE_ERR_STORE, "a corrupt idempotency record");
    } else if (rc == COFFRE_ERR_NOTFOUND) {
        rc = COFFRE_OK;
    } else {
        rc = vault_store_fail(v, rc, "idempotency key");
    }
    coffre_buf_free(&b);
    return rc;
}

struct keyed_args {
    struct put_args put;
    const char *name;
    int taken; /* another transaction recorded the key first */
};

/* The person and its key, in one transaction. */
static int
put_keyed_tx(struct coffre_vault *v, void *arg)
{
    struct keyed_args *a = arg;
    unsigned char b[8];
    int rc = put_tx(v, &a->put);

    if (rc != COFFRE_OK) {
        return rc;
    }
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(*a->put.pid >> (56 - 8 * i));
    }
    rc = v->store->ops->meta_add(v->store, a->name, b, sizeof(b));
    a->taken = rc == COFFRE_ERR_EXISTS;
    return rc == COFFRE_OK || a->taken
               ? rc
               : vault_store_fail(v, rc, "idempotency key");
}

/* The answer to a retry: the stored id, if it is the same submission. */
static int
idem_replay(struct coffre_vault *v, const struct coffre_person *p, uint64_t id)
{
    int same = 0, rc = same_submission(v, id, p, &same);

    if (rc == COFFRE_OK && !same) {
        rc = vault_fail(v, COFFRE_ERR_EXISTS,
                        "the idempotency key was used for a different "
                        "submission: nothing stored");
    }
    return rc;
}

static int
put_keyed_locked(struct coffre_vault *v, struct keyed_args *a,
                 struct coffre_event *ev, int *pcreated)
{
    const struct coffre_person *p = a->put.p;
    uint64_t *pid = a->put.pid;
    int rc = COFFRE_OK;

    /* twice at most: a miss, then another process's key found */
    for (int i = 0; i < 2 && rc == COFFRE_OK; i++) {
        rc = idem_lookup(v, a->name, pid);
        if (rc == COFFRE_OK && *pid != 0) {
            return idem_replay(v, p, *pid);
        }
        if (rc == COFFRE_OK) {
            rc = put_existing(v, p, pid);
        }
        if (rc != COFFRE_OK || *pid != 0) {
            return rc;
        }
        a->taken = 0;
        rc = vault_tx_audited(v, ev, put_keyed_tx, a);
        if (rc == COFFRE_OK) {
            *pcreated = 1;
            return rc;
        }
        if (!a->taken) {
            return rc;
        }
        *pid = 0;
        rc = COFFRE_OK;
    }
    return rc == COFFRE_OK ? vault_fail(v, COFFRE_ERR_STORE,
                                        "the idempotency key is recorded "
                                        "but cannot be read")
                           : rc;
}

int
coffre_vault_put_keyed(struct coffre_vault *v, const struct coffre_person *p,
                       const void *key, size_t keylen, uint64_t *pid,
                       int *pcreated)
{
    char name[IDEM_NAME_LEN + 1];
    struct coffre_event ev;
    struct keyed_args a = {{p, pid, &ev}, name, 0};
    struct coffre_diag diag;
    int rc;

    if (p == NULL || pid == NULL || pcreated == NULL || key == NULL ||
        keylen == 0 || keylen > COFFRE_IDEM_KEY_MAX) {
        return COFFRE_ERR_ARG;
    }
    *pcreated = 0;
    *pid = 0;
    vault_event(&ev, COFFRE_OP_CREATE, 0, coffre_person_classes(p));
    ev.count = 1;
    ev.is_protected = p->is_protected;
    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK && coffre_person_validate_new(p, &diag) != COFFRE_OK) {
        rc = vault_fail(v, COFFRE_ERR_INVALID, "%s: %s", diag.field, diag.rule);
    }
    if (rc == COFFRE_OK) {
        rc = idem_name(v, key, keylen, name);
    }
    if (rc == COFFRE_OK) {
        rc = put_keyed_locked(v, &a, &ev, pcreated);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int
coffre_vault_put(struct coffre_vault *v, const struct coffre_person *p,
                 uint64_t *pid)
{
    int created = 0;

    return coffre_vault_put_once(v, p, pid, &created);
}

int
vault_open_dkey(struct coffre_vault *v, const struct coffre_store_dkey *dk,
                struct vault_scratch *sc)
{
    unsigned char ad[COFFRE_AD_MAX];
    const struct coffre_key *wrap;
    struct vault_epoch *e;
    size_t adlen;
    int rc;

    rc = vault_epoch(v, dk->epoch, 0, &e);
    if (rc == COFFRE_ERR_ERASED || rc == COFFRE_ERR_NOTFOUND) {
        return vault_fail(v, COFFRE_ERR_ERASED,
                          "the retention epoch key of this person was "
                          "destroyed");
    }
    if (rc == COFFRE_OK) {
        rc = vault_dkwrap(v, dk->kek_version, e, &wrap);
    }
    if (rc != COFFRE_OK) {
        return rc;
    }
    adlen = coffre_ad_dkey(ad, v->id, dk->id, dk->kek_version, dk->epoch);
    if (dk->len != COFFRE_WRAPPED_LEN) {
        return vault_fail(v, COFFRE_ERR_CRYPTO, "data key has a bad length");
    }
    rc = coffre_aead_open(wrap, ad, adlen, dk->wrapped, dk->len, sc->dk->b);
    if (rc != COFFRE_OK) {
        return vault_fail(v, COFFRE_ERR_CRYPTO,
                          "the data key of person %llu does not "
                          "authenticate",
                          (unsigned long long)dk->id);
    }
    return COFFRE_OK;
}

static int
open_class(struct coffre_vault *v, const struct coffre_store_person *row, int c,
           struct vault_scratch *sc, struct coffre_person *p)
{
    unsigned char ad[COFFRE_AD_MAX];
    size_t adlen = coffre_ad_field(ad, v->id, row->id, c, row->dk_gen);
    size_t len;
    int rc;

    if (row->ct_len[c] < COFFRE_AEAD_OVERHEAD) {
        return vault_fail(v, COFFRE_ERR_CRYPTO, "%s ciphertext truncated",
                          coffre_class_name(c));
    }
    len = row->ct_len[c] - COFFRE_AEAD_OVERHEAD;
    coffre_buf_reset(&sc->tlv);
    rc = coffre_buf_add(&sc->tlv, row->ct[c], len); /* room for plaintext */
    if (rc != COFFRE_OK) {
        return rc;
    }
    rc = coffre_aead_open(sc->dk, ad, adlen, row->ct[c], row->ct_len[c],
                          sc->tlv.p);
    if (rc != COFFRE_OK) {
        coffre_buf_reset(&sc->tlv);
        return vault_fail(v, COFFRE_ERR_CRYPTO,
                          "the %s data of person %llu does not authenticate",
                          coffre_class_name(c), (unsigned long long)row->id);
    }
    rc = coffre_person_decode_class(p, c, sc->tlv.p, len);
    coffre_buf_reset(&sc->tlv);
    if (rc != COFFRE_OK) {
        return vault_fail(v, COFFRE_ERR_CRYPTO, "the %s data is malformed",
                          coffre_class_name(c));
    }
    return COFFRE_OK;
}

static int
get_row(struct coffre_vault *v, uint64_t id, unsigned classes,
        struct coffre_store_person *row, struct coffre_store_dkey *dk)
{
    int rc = v->store->ops->person_get(v->store, id, classes, row, dk);

    if (rc == COFFRE_ERR_NOTFOUND) {
        return vault_fail(v, rc, "no person %llu", (unsigned long long)id);
    }
    if (rc == COFFRE_ERR_ERASED) {
        return vault_fail(v, rc, "person %llu was erased",
                          (unsigned long long)id);
    }
    return rc == COFFRE_OK ? rc : vault_store_fail(v, rc, "get");
}

static int
get_locked(struct coffre_vault *v, uint64_t id, unsigned classes,
           struct coffre_person **pp, struct coffre_store_person *prow)
{
    struct coffre_store_person row;
    struct coffre_store_dkey dk;
    struct coffre_person *p;
    int rc;

    memset(&row, 0, sizeof(row));
    rc = get_row(v, id, classes & COFFRE_CLASSES_ALL, &row, &dk);
    if (rc != COFFRE_OK) {
        return rc;
    }
    p = coffre_person_new();
    rc = p == NULL ? COFFRE_ERR_NOMEM : vault_open_dkey(v, &dk, v->scratch);
    for (int c = 0; c < COFFRE_CLASS_COUNT && rc == COFFRE_OK; c++) {
        if ((classes & COFFRE_CLASS_BIT(c)) && row.ct[c] != NULL) {
            rc = open_class(v, &row, c, v->scratch, p);
        }
    }
    sodium_memzero(v->scratch->dk->b, sizeof(v->scratch->dk->b));
    if (rc == COFFRE_OK) {
        p->state = row.state;
        *pp = p;
        p = NULL;
    }
    coffre_person_free(p);
    if (prow != NULL && rc == COFFRE_OK) {
        *prow = row;
    } else {
        coffre_store_person_clear(&row);
    }
    return rc;
}

/*
 * The public class is always opened, since it carries the protected flag
 * the audit hook judges by; it is cleared again when not asked for. The
 * hook sees the person before the caller does, and may refuse it.
 */
int
coffre_vault_get(struct coffre_vault *v, uint64_t id, unsigned classes,
                 struct coffre_person **pp)
{
    const unsigned pub = COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC);
    struct coffre_store_person row;
    struct coffre_event ev;
    int rc;

    *pp = NULL;
    pthread_mutex_lock(&v->lock);
    memset(&row, 0, sizeof(row));
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = get_locked(v, id, classes | pub, pp, &row);
    }
    if (rc == COFFRE_OK) {
        vault_event(&ev, COFFRE_OP_READ, id, 0);
        ev.is_protected = (*pp)->is_protected;
        ev.state = row.state;
        /* A verdict clears the deadline (verdict_tx). */
        ev.awaiting_verdict =
            row.state == COFFRE_STATE_VETTING && row.deadline != 0;
        coffre_store_person_clear(&row);
        if (!(classes & pub)) {
            coffre_person_clear_class(*pp, COFFRE_CLASS_PUBLIC);
        }
        ev.classes = (*pp)->classes;
        rc = vault_audit_read(v, &ev);
    }
    if (rc != COFFRE_OK) {
        coffre_person_free(*pp);
        *pp = NULL;
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

/* Re-seal a whole person under a new data key generation and replace it. */
static int
reseal(struct coffre_vault *v, const struct coffre_person *p,
       const struct coffre_store_person *old, int state, int64_t deadline)
{
    struct coffre_store *s = v->store;
    struct vault_sealed sealed;
    struct vault_epoch *e;
    const struct coffre_key *wrap;
    int64_t retain;
    int rc;

    rc = prepare_seal(v, p, &retain, &e, &wrap);
    if (rc != COFFRE_OK) {
        return rc;
    }
    rc = vault_person_seal(v, p, old->id, old->dk_gen + 1, retain, e, wrap,
                           v->scratch, &sealed);
    if (rc == COFFRE_OK) {
        sealed.row.state = state;
        sealed.row.deadline = deadline;
        rc = s->ops->person_update(s, &sealed.row, &sealed.dk);
    }
    vault_sealed_clear(&sealed);
    return rc;
}

/* What a vetting verdict covers (docs/formats.md, "Changes after
 * submission"): a change of it must be vetted again. */
#define VETTED_CLASSES                                                         \
    (COFFRE_CLASS_BIT(COFFRE_CLASS_IDENTITY) |                                 \
     COFFRE_CLASS_BIT(COFFRE_CLASS_DOCUMENT) |                                 \
     COFFRE_CLASS_BIT(COFFRE_CLASS_PHOTO))

/* Whether ${patch} changes a vetted class of ${old}: compared on their
 * encoded forms, so that sending the same values again changes nothing. */
static int
vetted_changed(const struct coffre_person *old,
               const struct coffre_person *patch, int *pchanged)
{
    struct coffre_buf mine, other;
    int rc = COFFRE_OK;

    *pchanged = 0;
    coffre_buf_init(&mine, COFFRE_MAX_JSON);
    coffre_buf_init(&other, COFFRE_MAX_JSON);
    for (int c = 0; c < COFFRE_CLASS_COUNT && rc == COFFRE_OK; c++) {
        if (!(patch->classes & VETTED_CLASSES & COFFRE_CLASS_BIT(c))) {
            continue;
        }
        coffre_buf_reset(&mine);
        coffre_buf_reset(&other);
        rc = coffre_person_encode_class(patch, c, &mine);
        if (rc == COFFRE_OK && (old->classes & COFFRE_CLASS_BIT(c))) {
            rc = coffre_person_encode_class(old, c, &other);
        }
        *pchanged |=
            rc == COFFRE_OK && (mine.len != other.len ||
                                sodium_memcmp(mine.p, other.p, other.len) != 0);
    }
    coffre_buf_free(&mine);
    coffre_buf_free(&other);
    return rc;
}

/* What a change of what was vetted does to a person in ${state}:
 * *${prevet} 1 if it goes back to vetting (approved, badge issued), 0 if
 * nothing (submitted), or COFFRE_ERR_STATE while a verdict is awaited or
 * once the application is closed. */
static int
revet_rule(struct coffre_vault *v, int state, int *prevet)
{
    *prevet = 0;
    switch (state) {
    case COFFRE_STATE_SUBMITTED:
        return COFFRE_OK;
    case COFFRE_STATE_APPROVED:
    case COFFRE_STATE_BADGE_ISSUED:
        *prevet = 1;
        return COFFRE_OK;
    case COFFRE_STATE_VETTING:
        return vault_fail(v, COFFRE_ERR_STATE,
                          "a vetting verdict is awaited: identity, "
                          "document and photo cannot change before it");
    default:
        return vault_fail(v, COFFRE_ERR_STATE,
                          "the application is closed (%s): a change of "
                          "identity, document or photo needs a new one",
                          coffre_state_name(state));
    }
}

/* Send ${p} (person ${id}) back to vetting inside the caller's
 * transaction: verdict pending, state vetting, a new deadline in
 * *${pdeadline}, badges revoked. */
static int
revet_apply(struct coffre_vault *v, struct coffre_person *p, uint64_t id,
            int64_t *pdeadline)
{
    size_t revoked = 0;

    coffre_person_clear_class(p, COFFRE_CLASS_VETTING);
    p->vetting_status = coffre_pmem_strdup("pending");
    if (p->vetting_status == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    p->classes |= COFFRE_CLASS_BIT(COFFRE_CLASS_VETTING);
    p->state = COFFRE_STATE_VETTING;
    *pdeadline = vault_now() + v->vetting_deadline;
    return vault_badge_revoke_locked(v, id, &revoked);
}

struct update_args {
    uint64_t id;
    const struct coffre_person *patch;
    struct coffre_event *ev;
};

static int
update_tx(struct coffre_vault *v, void *arg)
{
    const struct update_args *a = arg;
    struct coffre_store_person row;
    struct coffre_person *p = NULL;
    struct coffre_diag diag;
    int64_t deadline;
    int rc, changed = 0, revet = 0;

    memset(&row, 0, sizeof(row));
    rc = get_locked(v, a->id, COFFRE_CLASSES_ALL, &p, &row);
    if (rc != COFFRE_OK) {
        return rc;
    }
    deadline = row.deadline;
    rc = vetted_changed(p, a->patch, &changed);
    if (rc == COFFRE_OK && changed) {
        rc = revet_rule(v, row.state, &revet);
    }
    if (rc == COFFRE_OK) {
        rc = coffre_person_merge(p, a->patch);
    }
    p->state = row.state;
    if (rc == COFFRE_OK && revet) {
        rc = revet_apply(v, p, a->id, &deadline);
        a->ev->classes |= COFFRE_CLASS_BIT(COFFRE_CLASS_VETTING);
    }
    if (rc == COFFRE_OK && coffre_person_validate_new(p, &diag) != COFFRE_OK) {
        rc = vault_fail(v, COFFRE_ERR_INVALID, "%s: %s", diag.field, diag.rule);
    }
    if (rc == COFFRE_OK) {
        a->ev->is_protected = p->is_protected;
        rc = reseal(v, p, &row, p->state, deadline);
    }
    coffre_person_free(p);
    coffre_store_person_clear(&row);
    return rc;
}

int
coffre_vault_update(struct coffre_vault *v, uint64_t id,
                    const struct coffre_person *patch)
{
    struct coffre_event ev;
    struct update_args a = {id, patch, &ev};

    vault_event(&ev, COFFRE_OP_UPDATE, id, coffre_person_classes(patch));
    return vault_in_tx_audited(v, &ev, update_tx, &a);
}

/* The verdict: the vetting class of a person awaiting one, and with a
 * refusal the state, in one transaction. */
struct verdict_args {
    uint64_t id;
    const struct coffre_person *patch;
    int refuse;
};

static int
verdict_tx(struct coffre_vault *v, void *arg)
{
    const struct verdict_args *a = arg;
    const unsigned vet = COFFRE_CLASS_BIT(COFFRE_CLASS_VETTING);
    struct coffre_store_person row;
    struct coffre_person *p = NULL;
    int rc;

    memset(&row, 0, sizeof(row));
    rc = get_locked(v, a->id, COFFRE_CLASSES_ALL, &p, &row);
    if (rc == COFFRE_OK && (row.state != COFFRE_STATE_VETTING ||
                            (p->vetting_status != NULL &&
                             strcmp(p->vetting_status, "pending") != 0))) {
        rc = vault_fail(v, COFFRE_ERR_STATE,
                        "no vetting request awaits a verdict");
    }
    if (rc == COFFRE_OK && coffre_person_classes(a->patch) != vet) {
        rc = vault_fail(v, COFFRE_ERR_ARG, "a verdict is the vetting class");
    }
    if (rc == COFFRE_OK) {
        rc = coffre_person_merge(p, a->patch);
    }
    /* Decided: the deadline no longer runs (the sweep refuses only a
     * request that found no verdict in time), and the vetting service's
     * reading of this person ends (docs/server.md, "Field policy"). */
    if (rc == COFFRE_OK) {
        rc = reseal(v, p, &row, row.state,
                    p->vetting_status != NULL &&
                            strcmp(p->vetting_status, "pending") != 0
                        ? 0
                        : row.deadline);
    }
    if (rc == COFFRE_OK && a->refuse) {
        rc = v->store->ops->person_set_state(v->store, a->id,
                                             COFFRE_STATE_REFUSED, 0);
    }
    coffre_person_free(p);
    coffre_store_person_clear(&row);
    return rc;
}

int
coffre_vault_verdict(struct coffre_vault *v, uint64_t id,
                     const struct coffre_person *patch, int refuse)
{
    struct coffre_event ev;
    struct verdict_args a = {id, patch, refuse};

    vault_event(&ev, COFFRE_OP_VERDICT, id,
                COFFRE_CLASS_BIT(COFFRE_CLASS_VETTING));
    return vault_in_tx_audited(v, &ev, verdict_tx, &a);
}

/*
 * Erase one person: its data key and data go, and the badges issued to it
 * join the revoked list in the same transaction, so that a gate's next
 * list refuses them (an erased person's badge must not open a gate).
 */
static int
erase_tx(struct coffre_vault *v, void *arg)
{
    uint64_t id = *(const uint64_t *)arg;
    size_t revoked = 0;
    int rc = v->store->ops->person_erase(v->store, id);

    return rc == COFFRE_OK ? vault_badge_revoke_locked(v, id, &revoked) : rc;
}

static int
erase_locked(struct coffre_vault *v, uint64_t id)
{
    struct coffre_event ev;
    int rc;

    vault_event(&ev, COFFRE_OP_ERASE, id, 0);
    rc = vault_tx_audited(v, &ev, erase_tx, &id);

    if (rc == COFFRE_ERR_NOTFOUND || rc == COFFRE_ERR_ERASED) {
        return vault_fail(v, rc, "person %llu: %s", (unsigned long long)id,
                          coffre_strerror(rc));
    }
    return rc == COFFRE_OK ? rc : vault_store_fail(v, rc, "erase");
}

struct state_args {
    uint64_t id;
    int state;
    int64_t deadline;
};

static int
state_tx(struct coffre_vault *v, void *arg)
{
    const struct state_args *a = arg;
    int rc =
        v->store->ops->person_set_state(v->store, a->id, a->state, a->deadline);

    return rc == COFFRE_OK ? rc : vault_store_fail(v, rc, "set state");
}

static int
set_state_locked(struct coffre_vault *v, uint64_t id, int state)
{
    struct coffre_store_person row;
    int64_t deadline = 0;
    int rc, from;

    memset(&row, 0, sizeof(row));
    rc = get_row(v, id, 0, &row, NULL);
    if (rc != COFFRE_OK) {
        return rc;
    }
    from = row.state;
    coffre_store_person_clear(&row);
    if (!coffre_state_allowed(from, state)) {
        return vault_fail(v, COFFRE_ERR_STATE, "%s -> %s is not allowed",
                          coffre_state_name(from), coffre_state_name(state));
    }
    if (state == COFFRE_STATE_ERASED) {
        return erase_locked(v, id);
    }
    if (state == COFFRE_STATE_VETTING) {
        deadline = vault_now() + v->vetting_deadline;
    }
    struct state_args a = {id, state, deadline};
    struct coffre_event ev;

    vault_event(&ev, COFFRE_OP_STATE, id, 0);
    return vault_tx_audited(v, &ev, state_tx, &a);
}

int
coffre_vault_set_state(struct coffre_vault *v, uint64_t id, int state)
{
    int rc;

    if (state < 0 || state >= COFFRE_STATE_COUNT) {
        return COFFRE_ERR_ARG;
    }
    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = set_state_locked(v, id, state);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

static int
find_tag(struct coffre_vault *v, enum coffre_find kind, const char *a,
         const char *b, const char *c, int *ptagkind)
{
    struct coffre_buf *norm = &v->scratch->norm;

    coffre_buf_reset(norm);
    switch (kind) {
    case COFFRE_FIND_DOCUMENT:
        *ptagkind = COFFRE_TAG_DOCUMENT;
        return a != NULL ? coffre_norm_document(a, norm) : COFFRE_ERR_ARG;
    case COFFRE_FIND_EMAIL:
        *ptagkind = COFFRE_TAG_EMAIL;
        return a != NULL ? coffre_norm_email(a, norm) : COFFRE_ERR_ARG;
    case COFFRE_FIND_NAME_DOB:
        *ptagkind = COFFRE_TAG_NAME_DOB;
        if (a == NULL || b == NULL || c == NULL) {
            return COFFRE_ERR_ARG;
        }
        return coffre_norm_name_dob(a, b, c, norm);
    }
    return COFFRE_ERR_ARG;
}

int
coffre_vault_find(struct coffre_vault *v, enum coffre_find kind, const char *a,
                  const char *b, const char *c, uint64_t *ids, size_t cap,
                  size_t *pn)
{
    unsigned char tag[COFFRE_TAG_LEN];
    int rc, tk = 0;

    *pn = 0;
    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = find_tag(v, kind, a, b, c, &tk);
        if (rc != COFFRE_OK) {
            rc = vault_fail(v, COFFRE_ERR_ARG, "nothing to search for");
        }
    }
    if (rc == COFFRE_OK) {
        coffre_blind_tag(v->tagkey[tk], v->scratch->norm.p,
                         v->scratch->norm.len, tag);
        coffre_buf_reset(&v->scratch->norm);
        rc = v->store->ops->person_find(v->store, (enum coffre_tag_kind)tk, tag,
                                        ids, cap, pn);
        if (rc != COFFRE_OK) {
            rc = vault_store_fail(v, rc, "find");
        }
    }
    if (rc == COFFRE_OK) {
        struct coffre_event ev;

        vault_event(&ev, COFFRE_OP_FIND, 0, 0);
        ev.count = *pn;
        rc = vault_audit_read(v, &ev);
        *pn = rc == COFFRE_OK ? *pn : 0;
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int
coffre_vault_erase(struct coffre_vault *v, uint64_t id)
{
    int rc;

    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = erase_locked(v, id);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int
coffre_vault_list(struct coffre_vault *v, int state, const char *category,
                  uint64_t after, uint64_t *ids, size_t cap, size_t *pn)
{
    unsigned char tag[COFFRE_TAG_LEN];
    int rc;

    *pn = 0;
    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK && category != NULL) {
        coffre_blind_tag(v->tagkey[COFFRE_TAG_CATEGORY],
                         (const unsigned char *)category, strlen(category),
                         tag);
    }
    if (rc == COFFRE_OK) {
        rc = v->store->ops->person_list(v->store, state,
                                        category != NULL ? tag : NULL, after,
                                        ids, cap, pn);
        if (rc != COFFRE_OK) {
            rc = vault_store_fail(v, rc, "list");
        }
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int
coffre_vault_due(struct coffre_vault *v, enum coffre_due which, int64_t now,
                 uint64_t *ids, size_t cap, size_t *pn)
{
    int rc;

    *pn = 0;
    pthread_mutex_lock(&v->lock);
    rc = v->store->ops->person_due(v->store, (int)which, now, ids, cap, pn);
    if (rc != COFFRE_OK) {
        rc = vault_store_fail(v, rc, "due");
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int
coffre_vault_pseudonym(struct coffre_vault *v, const char *audience,
                       uint64_t id, char out[COFFRE_PSEUDONYM_LEN + 1])
{
    const struct coffre_key *k;
    int rc;

    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = vault_audience_key(v, audience, &k);
    }
    if (rc == COFFRE_OK) {
        rc = coffre_pseudonym_make(k, id, out);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int
coffre_vault_resolve(struct coffre_vault *v, const char *audience,
                     const char *pseudonym, uint64_t *pid)
{
    const struct coffre_key *k;
    int rc;

    /* No store lookup: only this vault can make a pseudonym that opens,
     * so one that opens names a record id it issued; whether that person
     * still exists is for the call that uses the id to say. This keeps a
     * read to one store transaction. */
    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = vault_audience_key(v, audience, &k);
    }
    if (rc == COFFRE_OK &&
        coffre_pseudonym_open(k, pseudonym, pid) != COFFRE_OK) {
        rc = vault_fail(v, COFFRE_ERR_NOTFOUND, "no such pseudonym");
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int
vault_person_load(struct coffre_vault *v, uint64_t id, unsigned classes,
                  struct coffre_person **pp, struct coffre_store_person *prow)
{
    return get_locked(v, id, classes, pp, prow);
}
