/*
 * Badge keys and badge bookkeeping (docs/badge.md section 10). The seeds
 * are named vault keys wrapped by the root key: "key:badge:N" for badge-
 * signing version N, "key:badge:list" for the list-signing key. The rest
 * is small meta values, because at our scale (one badge or two per person,
 * revocations in the thousands) a store table would buy nothing over them
 * and would need an operation in both backends:
 *   badge:keys       per version: u32 version, i64 not_before, not_after,
 *                    last_exp (the latest exp it signed); all little endian
 *   badge:state      u64 trust_seq, u64 revoc_seq, u64 revoked count
 *   badge:revoked:K  chunk K of the revoked ids (8,000 ids of 8 bytes)
 *   badge:p:ID       the ids issued to person ID, until revoked
 * Every change is one store transaction.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/badgekeys.h"
#include "util/buf.h"
#include "vault/vault.h"

#define ID_LEN COFFRE_BADGE_ID_LEN
#define CHUNK_IDS 8000u /* ids per meta value: 64,000 bytes < the meta cap */
#define ENTRY_LEN 28u
/* The gate's cap on a revocation list is 16 MiB: keep well inside it. */
#define REVOKED_MAX 2000000u
/* A new key is trusted from a day before it is made, for gates whose clock
 * runs late, and until this long after while it is the current one. */
#define SKEW 86400
#define CURRENT_LIFE (10 * 366 * 86400LL)

struct key_ent {
    uint32_t version;
    int64_t not_before, not_after, last_exp;
};

struct badge_state {
    uint64_t trust_seq, revoc_seq, revoked;
};

static void
put64(unsigned char *p, uint64_t x)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(x >> (8 * i));
    }
}

static uint64_t
get64(const unsigned char *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--) {
        x = (x << 8) | p[i];
    }
    return x;
}

/* meta_get into ${b}; an absent value reads as empty. */
static int
meta_read(struct coffre_vault *v, const char *key, struct coffre_buf *b)
{
    int rc = v->store->ops->meta_get(v->store, key, b);
    return rc == COFFRE_ERR_NOTFOUND ? COFFRE_OK : rc;
}

static int
keys_load(struct coffre_vault *v, struct key_ent *e, size_t *pn)
{
    struct coffre_buf b;
    int rc;

    coffre_buf_init(&b, COFFRE_BADGE_KEYS_MAX * ENTRY_LEN);
    rc = meta_read(v, "badge:keys", &b);
    *pn = 0;
    if (rc == COFFRE_OK && b.len % ENTRY_LEN != 0) {
        rc = vault_fail(v, COFFRE_ERR_STORE, "badge:keys is torn");
    }
    for (size_t i = 0; rc == COFFRE_OK && i < b.len / ENTRY_LEN; i++) {
        const unsigned char *p = b.p + i * ENTRY_LEN;
        e[i].version = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
                       (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        e[i].not_before = (int64_t)get64(p + 4);
        e[i].not_after = (int64_t)get64(p + 12);
        e[i].last_exp = (int64_t)get64(p + 20);
        *pn = i + 1;
    }
    coffre_buf_free(&b);
    return rc;
}

static int
keys_save(struct coffre_vault *v, const struct key_ent *e, size_t n)
{
    unsigned char buf[COFFRE_BADGE_KEYS_MAX * ENTRY_LEN];

    for (size_t i = 0; i < n; i++) {
        unsigned char *p = buf + i * ENTRY_LEN;
        p[0] = (unsigned char)e[i].version;
        p[1] = (unsigned char)(e[i].version >> 8);
        p[2] = (unsigned char)(e[i].version >> 16);
        p[3] = (unsigned char)(e[i].version >> 24);
        put64(p + 4, (uint64_t)e[i].not_before);
        put64(p + 12, (uint64_t)e[i].not_after);
        put64(p + 20, (uint64_t)e[i].last_exp);
    }
    return v->store->ops->meta_put(v->store, "badge:keys", buf, n * ENTRY_LEN);
}

static int
state_load(struct coffre_vault *v, struct badge_state *s)
{
    struct coffre_buf b;
    int rc;

    coffre_buf_init(&b, 24);
    rc = meta_read(v, "badge:state", &b);
    /* Absent: both lists start at sequence 1, nothing revoked. */
    s->trust_seq = 1;
    s->revoc_seq = 1;
    s->revoked = 0;
    if (rc == COFFRE_OK && b.len == 24) {
        s->trust_seq = get64(b.p);
        s->revoc_seq = get64(b.p + 8);
        s->revoked = get64(b.p + 16);
    } else if (rc == COFFRE_OK && b.len != 0) {
        rc = vault_fail(v, COFFRE_ERR_STORE, "badge:state is torn");
    }
    coffre_buf_free(&b);
    return rc;
}

static int
state_save(struct coffre_vault *v, const struct badge_state *s)
{
    unsigned char buf[24];

    put64(buf, s->trust_seq);
    put64(buf + 8, s->revoc_seq);
    put64(buf + 16, s->revoked);
    return v->store->ops->meta_put(v->store, "badge:state", buf, sizeof(buf));
}

/* The Ed25519 key of named vault key ${name}, made on first use. */
static int
signing_key(struct coffre_vault *v, const char *name,
            struct coffre_badge_key **pk)
{
    struct coffre_key *k = NULL;
    int rc = vault_named_key(v, name, &k);

    if (rc == COFFRE_OK) {
        rc = coffre_badge_key_from_seed(k->b, pk);
    }
    coffre_key_destroy(k);
    return rc;
}

static int
version_key(struct coffre_vault *v, uint32_t version,
            struct coffre_badge_key **pk)
{
    char name[32];

    snprintf(name, sizeof(name), "badge:%" PRIu32, version);
    return signing_key(v, name, pk);
}

/* The key table, with version 1 made if there is none yet. */
static int
keys_current(struct coffre_vault *v, struct key_ent *e, size_t *pn)
{
    int rc = keys_load(v, e, pn);

    if (rc != COFFRE_OK || *pn != 0) {
        return rc;
    }
    e[0].version = 1;
    e[0].not_before = vault_now() - SKEW;
    e[0].not_after = vault_now() + CURRENT_LIFE;
    e[0].last_exp = 0;
    *pn = 1;
    return keys_save(v, e, 1);
}

struct issue_args {
    uint64_t person;
    const struct coffre_badge_claims *c;
    char *payload;
    uint8_t id[ID_LEN];
};

/* Append ${id} to the ids of person ${person}. */
static int
person_add(struct coffre_vault *v, uint64_t person, const uint8_t id[ID_LEN])
{
    char key[COFFRE_STORE_KEY_MAX];
    struct coffre_buf b;
    int rc;

    snprintf(key, sizeof(key), "badge:p:%" PRIu64, person);
    coffre_buf_init(&b, CHUNK_IDS * ID_LEN);
    rc = meta_read(v, key, &b);
    if (rc == COFFRE_OK && coffre_buf_add(&b, id, ID_LEN) != COFFRE_OK) {
        rc = vault_fail(v, COFFRE_ERR_TOOBIG, "too many badges for a person");
    }
    if (rc == COFFRE_OK) {
        rc = v->store->ops->meta_put(v->store, key, b.p, b.len);
    }
    coffre_buf_free(&b);
    return rc;
}

static int
issue_tx(struct coffre_vault *v, void *arg)
{
    struct issue_args *a = arg;
    struct key_ent e[COFFRE_BADGE_KEYS_MAX];
    struct coffre_badge_key *k = NULL;
    size_t n = 0;
    int rc = keys_current(v, e, &n);

    if (rc == COFFRE_OK) {
        rc = version_key(v, e[n - 1].version, &k);
    }
    if (rc == COFFRE_OK) {
        rc = coffre_badge_issue(a->c, k, &a->payload, a->id);
    }
    if (rc == COFFRE_OK) {
        rc = person_add(v, a->person, a->id);
    }
    if (rc == COFFRE_OK && a->c->exp > e[n - 1].last_exp) {
        e[n - 1].last_exp = a->c->exp;
        rc = keys_save(v, e, n);
    }
    coffre_badge_key_free(k);
    return rc;
}

int
coffre_vault_badge_issue(struct coffre_vault *v, uint64_t person,
                         const struct coffre_badge_claims *c, char **ppayload,
                         uint8_t id[COFFRE_BADGE_ID_LEN])
{
    struct issue_args a = {person, c, NULL, {0}};
    struct coffre_event ev;
    int rc;

    if (v == NULL || c == NULL || ppayload == NULL) {
        return COFFRE_ERR_ARG;
    }
    /* The badge carries names and the public fields. */
    vault_event(&ev, COFFRE_OP_BADGE_ISSUE, person,
                COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC) |
                    COFFRE_CLASS_BIT(COFFRE_CLASS_IDENTITY));
    rc = vault_in_tx_audited(v, &ev, issue_tx, &a);
    if (rc != COFFRE_OK) {
        coffre_free(a.payload);
        return rc;
    }
    *ppayload = a.payload;
    memcpy(id, a.id, ID_LEN);
    return COFFRE_OK;
}

/* Append ${n} ids to the revoked chunks, from the count in ${s}. */
static int
revoked_append(struct coffre_vault *v, struct badge_state *s,
               const unsigned char *ids, size_t n)
{
    char key[COFFRE_STORE_KEY_MAX];
    struct coffre_buf b;
    int rc = COFFRE_OK;

    if (s->revoked + n > REVOKED_MAX) {
        return vault_fail(v, COFFRE_ERR_LIMIT, "revocation list is full");
    }
    while (rc == COFFRE_OK && n > 0) {
        uint64_t chunk = s->revoked / CHUNK_IDS;
        size_t room = CHUNK_IDS - (size_t)(s->revoked % CHUNK_IDS);
        size_t take = n < room ? n : room;

        snprintf(key, sizeof(key), "badge:revoked:%" PRIu64, chunk);
        coffre_buf_init(&b, CHUNK_IDS * ID_LEN);
        rc = meta_read(v, key, &b);
        if (rc == COFFRE_OK) {
            rc = coffre_buf_add(&b, ids, take * ID_LEN);
        }
        if (rc == COFFRE_OK) {
            rc = v->store->ops->meta_put(v->store, key, b.p, b.len);
        }
        coffre_buf_free(&b);
        s->revoked += take;
        ids += take * ID_LEN;
        n -= take;
    }
    return rc;
}

/*
 * Move the badge ids issued to ${person} to the revoked list; inside the
 * caller's transaction, the vault lock held. Also called by erasure
 * (person.c): an erased person's badges must stop opening gates.
 */
int
vault_badge_revoke_locked(struct coffre_vault *v, uint64_t person,
                          size_t *padded)
{
    struct badge_state s;
    char key[COFFRE_STORE_KEY_MAX];
    struct coffre_buf b;
    int rc;

    *padded = 0;
    snprintf(key, sizeof(key), "badge:p:%" PRIu64, person);
    coffre_buf_init(&b, CHUNK_IDS * ID_LEN);
    rc = meta_read(v, key, &b);
    if (rc == COFFRE_OK && b.len != 0) {
        rc = state_load(v, &s);
        if (rc == COFFRE_OK) {
            rc = revoked_append(v, &s, b.p, b.len / ID_LEN);
        }
        s.revoc_seq++;
        if (rc == COFFRE_OK) {
            rc = state_save(v, &s);
        }
        /* Moved to the list: a second revocation adds nothing. */
        if (rc == COFFRE_OK) {
            rc = v->store->ops->meta_put(v->store, key, "", 0);
        }
        *padded = b.len / ID_LEN;
    }
    coffre_buf_free(&b);
    return rc;
}

struct revoke_args {
    uint64_t person;
    size_t added;
};

static int
revoke_tx(struct coffre_vault *v, void *arg)
{
    struct revoke_args *a = arg;

    return vault_badge_revoke_locked(v, a->person, &a->added);
}

int
coffre_vault_badge_revoke_person(struct coffre_vault *v, uint64_t person,
                                 size_t *pn)
{
    struct revoke_args a = {person, 0};
    struct coffre_event ev;
    int rc;

    if (v == NULL) {
        return COFFRE_ERR_ARG;
    }
    vault_event(&ev, COFFRE_OP_BADGE_REVOKE, person, 0);
    rc = vault_in_tx_audited(v, &ev, revoke_tx, &a);
    if (pn != NULL) {
        *pn = rc == COFFRE_OK ? a.added : 0;
    }
    return rc;
}

struct list_args {
    int revocations;
    unsigned char *out;
    size_t len;
};

static int
trust_body(struct coffre_vault *v, const struct coffre_badge_key *lk,
           struct list_args *a)
{
    struct key_ent e[COFFRE_BADGE_KEYS_MAX];
    struct coffre_badge_trusted t[COFFRE_BADGE_KEYS_MAX];
    struct badge_state s;
    size_t n = 0, m = 0;
    int64_t now = vault_now();
    int rc = keys_current(v, e, &n);

    if (rc == COFFRE_OK) {
        rc = state_load(v, &s);
    }
    for (size_t i = 0; rc == COFFRE_OK && i < n; i++) {
        struct coffre_badge_key *k = NULL;
        if (e[i].not_after < now) {
            continue; /* its badges have all expired */
        }
        rc = version_key(v, e[i].version, &k);
        if (rc == COFFRE_OK) {
            coffre_badge_key_public(k, t[m].pk, NULL);
            t[m].not_before = e[i].not_before;
            t[m].not_after = e[i].not_after;
            m++;
        }
        coffre_badge_key_free(k);
    }
    if (rc == COFFRE_OK) {
        rc = coffre_badge_trust_list(t, m, s.trust_seq, now, lk, &a->out,
                                     &a->len);
    }
    return rc;
}

/* Every revoked id, chunk after chunk, into one buffer. */
static int
revoc_body(struct coffre_vault *v, const struct coffre_badge_key *lk,
           struct list_args *a)
{
    struct badge_state s;
    struct coffre_buf all, b;
    char key[COFFRE_STORE_KEY_MAX];
    int rc = state_load(v, &s);

    coffre_buf_init(&all, (size_t)REVOKED_MAX * ID_LEN);
    for (uint64_t k = 0; rc == COFFRE_OK && k * CHUNK_IDS < s.revoked; k++) {
        snprintf(key, sizeof(key), "badge:revoked:%" PRIu64, k);
        coffre_buf_init(&b, CHUNK_IDS * ID_LEN);
        rc = v->store->ops->meta_get(v->store, key, &b);
        if (rc == COFFRE_OK) {
            rc = coffre_buf_add(&all, b.p, b.len);
        }
        coffre_buf_free(&b);
    }
    if (rc == COFFRE_OK && all.len != s.revoked * ID_LEN) {
        rc = vault_fail(v, COFFRE_ERR_STORE, "revoked ids are torn");
    }
    if (rc == COFFRE_OK) {
        rc = coffre_badge_revocation_list(all.p, all.len / ID_LEN, s.revoc_seq,
                                          vault_now(), lk, &a->out, &a->len);
    }
    coffre_buf_free(&all);
    return rc;
}

static int
list_tx(struct coffre_vault *v, void *arg)
{
    struct list_args *a = arg;
    struct coffre_badge_key *lk = NULL;
    int rc = signing_key(v, "badge:list", &lk);

    if (rc == COFFRE_OK) {
        rc = a->revocations ? revoc_body(v, lk, a) : trust_body(v, lk, a);
    }
    coffre_badge_key_free(lk);
    return rc;
}

static int
signed_list(struct coffre_vault *v, int revocations, unsigned char **pout,
            size_t *plen)
{
    struct list_args a = {revocations, NULL, 0};
    int rc;

    if (v == NULL || pout == NULL || plen == NULL) {
        return COFFRE_ERR_ARG;
    }
    /* A transaction even to read: the first call makes keys. */
    rc = vault_in_tx(v, list_tx, &a);
    if (rc != COFFRE_OK) {
        coffre_free(a.out);
        return rc;
    }
    *pout = a.out;
    *plen = a.len;
    return COFFRE_OK;
}

int
coffre_vault_badge_trust_list(struct coffre_vault *v, unsigned char **pout,
                              size_t *plen)
{
    return signed_list(v, 0, pout, plen);
}

int
coffre_vault_badge_revocations(struct coffre_vault *v, unsigned char **pout,
                               size_t *plen)
{
    return signed_list(v, 1, pout, plen);
}

static int
rotate_tx(struct coffre_vault *v, void *arg)
{
    struct key_ent e[COFFRE_BADGE_KEYS_MAX];
    struct coffre_badge_key *k = NULL;
    struct badge_state s;
    size_t n = 0, m = 0;
    int64_t now = vault_now();
    int rc = keys_current(v, e, &n);

    if (rc == COFFRE_OK) {
        rc = state_load(v, &s);
    }
    if (rc != COFFRE_OK) {
        return rc;
    }
    /* The old key is trusted until its last badge expires, no longer. */
    e[n - 1].not_after = e[n - 1].last_exp > now ? e[n - 1].last_exp : now;
    for (size_t i = 0; i < n; i++) {
        if (e[i].not_after >= now) {
            e[m++] = e[i]; /* versions past their validity are dropped */
        }
    }
    if (m == COFFRE_BADGE_KEYS_MAX) {
        return vault_fail(v, COFFRE_ERR_LIMIT, "%d badge keys still trusted",
                          COFFRE_BADGE_KEYS_MAX);
    }
    e[m].version = e[n - 1].version + 1;
    e[m].not_before = now - SKEW;
    e[m].not_after = now + CURRENT_LIFE;
    e[m].last_exp = 0;
    rc = version_key(v, e[m].version, &k); /* made and wrapped here */
    coffre_badge_key_free(k);
    s.trust_seq++;
    if (rc == COFFRE_OK) {
        rc = keys_save(v, e, m + 1);
    }
    if (rc == COFFRE_OK) {
        rc = state_save(v, &s);
    }
    if (rc == COFFRE_OK && arg != NULL) {
        *(unsigned *)arg = e[m].version;
    }
    return rc;
}

int
coffre_vault_badge_rotate(struct coffre_vault *v, unsigned *pversion)
{
    unsigned version = 0;
    int rc;

    if (v == NULL) {
        return COFFRE_ERR_ARG;
    }
    rc = vault_in_tx(v, rotate_tx, &version);
    if (rc == COFFRE_OK && pversion != NULL) {
        *pversion = version;
    }
    return rc;
}

static int
list_key_tx(struct coffre_vault *v, void *arg)
{
    struct coffre_badge_key *lk = NULL;
    int rc = signing_key(v, "badge:list", &lk);

    if (rc == COFFRE_OK) {
        coffre_badge_key_public(lk, arg, NULL);
    }
    coffre_badge_key_free(lk);
    return rc;
}

int
coffre_vault_badge_list_key(struct coffre_vault *v, uint8_t pk[32])
{
    if (v == NULL || pk == NULL) {
        return COFFRE_ERR_ARG;
    }
    return vault_in_tx(v, list_key_tx, pk);
}

static int
info_tx(struct coffre_vault *v, void *arg)
{
    struct coffre_vault_badge_info *info = arg;
    struct key_ent e[COFFRE_BADGE_KEYS_MAX];
    struct badge_state s;
    size_t n = 0;
    int64_t now = vault_now();
    int rc = keys_load(v, e, &n);

    if (rc == COFFRE_OK) {
        rc = state_load(v, &s);
    }
    if (rc != COFFRE_OK) {
        return rc;
    }
    info->key_version = n ? e[n - 1].version : 0;
    info->keys_trusted = 0;
    for (size_t i = 0; i < n; i++) {
        info->keys_trusted += e[i].not_after >= now;
    }
    info->trust_seq = s.trust_seq;
    info->revoc_seq = s.revoc_seq;
    info->revoked = s.revoked;
    return COFFRE_OK;
}

int
coffre_vault_badge_info(struct coffre_vault *v,
                        struct coffre_vault_badge_info *info)
{
    if (v == NULL || info == NULL) {
        return COFFRE_ERR_ARG;
    }
    memset(info, 0, sizeof(*info));
    return vault_in_tx(v, info_tx, info);
}
