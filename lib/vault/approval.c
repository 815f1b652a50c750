/*
 * m-of-n custodian approvals (docs/approvals.md). Every approval the vault
 * keeps is in ONE store meta value, "approvals": HMAC-SHA256 (key: the
 * named key "approval", wrapped by the root key) || a JSON array. One
 * value, because a change is a read-check-write that must be one store
 * transaction (consumption exactly once, even with the CLI and a server on
 * one store), and because the list is small (COFFRE_APPROVAL_KEEP). The
 * MAC makes a row written straight into the store, without the root key,
 * count for nothing; a rollback of the whole value to an older copy is
 * not detected (docs/approvals.md says so).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "coffre/approval.h"
#include "vault/vault.h"

#define APPROVALS_META "approvals"
#define MAC_LEN crypto_auth_hmacsha256_BYTES

struct approvals {
    struct coffre_approval a[COFFRE_APPROVAL_KEEP];
    size_t n;
};

static const char *const state_names[] = {"pending", "granted", "expired",
                                          "used"};

int
coffre_approval_state(const struct coffre_approval *a, int64_t now)
{
    if (a->used_at != 0) {
        return COFFRE_APPROVAL_USED;
    }
    if (now >= a->expires) {
        return COFFRE_APPROVAL_EXPIRED;
    }
    return a->napprovers >= a->need ? COFFRE_APPROVAL_GRANTED
                                    : COFFRE_APPROVAL_PENDING;
}

const char *
coffre_approval_state_name(int s)
{
    if (s < 0 || s > COFFRE_APPROVAL_USED) {
        return NULL;
    }
    return state_names[s];
}

/* Printable ASCII, no space for names, 1 to cap bytes. */
static int
text_ok(const char *s, size_t cap, int spaces)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > cap) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < (spaces ? 0x20 : 0x21) || s[i] > 0x7e) {
            return 0;
        }
    }
    return 1;
}

static int
copy_str(json_t *obj, const char *key, char *out, size_t cap, int spaces)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (s == NULL || (s[0] != '\0' && !text_ok(s, cap - 1, spaces))) {
        return COFFRE_ERR_PARSE;
    }
    memcpy(out, s, strlen(s) + 1);
    return COFFRE_OK;
}

static int
get_i64(json_t *obj, const char *key, int64_t *out)
{
    json_t *x = json_object_get(obj, key);
    if (!json_is_integer(x) || json_integer_value(x) < 0) {
        return COFFRE_ERR_PARSE;
    }
    *out = (int64_t)json_integer_value(x);
    return COFFRE_OK;
}

static int
decode_one(json_t *o, struct coffre_approval *a)
{
    json_t *ap = json_object_get(o, "approvers");
    int64_t need = 0;
    int rc = COFFRE_OK;
    memset(a, 0, sizeof(*a));
    rc |= copy_str(o, "id", a->id, sizeof(a->id), 0);
    rc |= copy_str(o, "operation", a->operation, sizeof(a->operation), 0);
    rc |= copy_str(o, "scope", a->scope, sizeof(a->scope), 1);
    rc |= copy_str(o, "requested_by", a->requested_by, sizeof(a->requested_by),
                   0);
    rc |= copy_str(o, "used_by", a->used_by, sizeof(a->used_by), 0);
    rc |= get_i64(o, "created", &a->created);
    rc |= get_i64(o, "expires", &a->expires);
    rc |= get_i64(o, "used_at", &a->used_at);
    rc |= get_i64(o, "need", &need);
    if (rc != COFFRE_OK || !json_is_array(ap) || need < 1 ||
        need > COFFRE_APPROVAL_APPROVERS_MAX ||
        json_array_size(ap) > COFFRE_APPROVAL_APPROVERS_MAX) {
        return COFFRE_ERR_PARSE;
    }
    a->need = (unsigned)need;
    for (size_t i = 0; i < json_array_size(ap); i++) {
        const char *s = json_string_value(json_array_get(ap, i));
        if (!text_ok(s, COFFRE_APPROVAL_NAME_MAX, 0)) {
            return COFFRE_ERR_PARSE;
        }
        memcpy(a->approvers[a->napprovers++], s, strlen(s) + 1);
    }
    return COFFRE_OK;
}

static json_t *
encode_one(const struct coffre_approval *a)
{
    json_t *ap = json_array();
    for (unsigned i = 0; ap != NULL && i < a->napprovers; i++) {
        json_array_append_new(ap, json_string(a->approvers[i]));
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:o*,s:I,s:s}", "id", a->id,
                     "operation", a->operation, "scope", a->scope,
                     "requested_by", a->requested_by, "created",
                     (json_int_t)a->created, "expires", (json_int_t)a->expires,
                     "need", (json_int_t)a->need, "approvers", ap, "used_at",
                     (json_int_t)a->used_at, "used_by", a->used_by);
}

static int
decode_all(const unsigned char *p, size_t len, struct approvals *all)
{
    json_t *arr =
        json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, NULL);
    int rc = json_is_array(arr) && json_array_size(arr) <= COFFRE_APPROVAL_KEEP
                 ? COFFRE_OK
                 : COFFRE_ERR_PARSE;
    for (size_t i = 0; rc == COFFRE_OK && i < json_array_size(arr); i++) {
        rc = decode_one(json_array_get(arr, i), &all->a[i]);
        all->n = i + 1;
    }
    json_decref(arr);
    return rc;
}

/* Read and authenticate the list; lock held, in the transaction. */
static int
load(struct coffre_vault *v, const struct coffre_key *k, struct approvals *all)
{
    struct coffre_buf b;
    unsigned char mac[MAC_LEN];
    int rc;
    all->n = 0;
    coffre_buf_init(&b, COFFRE_STORE_META_MAX);
    /* Locked until the transaction ends: another process changing the
     * list waits, then reads this one's (an approval used once). */
    rc = v->store->ops->meta_get_locked != NULL
             ? v->store->ops->meta_get_locked(v->store, APPROVALS_META, &b)
             : v->store->ops->meta_get(v->store, APPROVALS_META, &b);
    if (rc == COFFRE_ERR_NOTFOUND) {
        rc = COFFRE_OK; /* none yet */
    } else if (rc != COFFRE_OK) {
        rc = vault_store_fail(v, rc, "approvals");
    } else if (b.len < MAC_LEN) {
        rc = vault_fail(v, COFFRE_ERR_CRYPTO, "approvals: truncated");
    } else {
        crypto_auth_hmacsha256(mac, b.p + MAC_LEN, b.len - MAC_LEN, k->b);
        rc = sodium_memcmp(mac, b.p, MAC_LEN) == 0
                 ? decode_all(b.p + MAC_LEN, b.len - MAC_LEN, all)
                 : vault_fail(v, COFFRE_ERR_CRYPTO,
                              "approvals: not written by this vault");
    }
    coffre_buf_free(&b);
    return rc;
}

static int
save(struct coffre_vault *v, const struct coffre_key *k,
     const struct approvals *all)
{
    json_t *arr = json_array();
    unsigned char *out = NULL;
    char *text;
    size_t len;
    int rc = COFFRE_ERR_NOMEM;
    for (size_t i = 0; arr != NULL && i < all->n; i++) {
        json_array_append_new(arr, encode_one(&all->a[i]));
    }
    text = arr != NULL ? json_dumps(arr, JSON_COMPACT) : NULL;
    len = text != NULL ? strlen(text) : 0;
    out = text != NULL ? malloc(MAC_LEN + len) : NULL;
    if (out != NULL) {
        memcpy(out + MAC_LEN, text, len);
        crypto_auth_hmacsha256(out, out + MAC_LEN, len, k->b);
        rc = v->store->ops->meta_put(v->store, APPROVALS_META, out,
                                     MAC_LEN + len);
        rc = rc == COFFRE_OK ? rc : vault_store_fail(v, rc, "approvals");
    }
    free(out);
    coffre_free(text);
    json_decref(arr);
    return rc;
}

/* One look at or change to the list, ${fn}, in one store transaction under
 * the lock; saved when ${write} and ${fn} returns COFFRE_OK, rolled back
 * on any error (a refusal changes nothing). */
typedef int (*change_fn)(struct approvals *all, void *arg);

struct list_op {
    change_fn fn;
    void *arg;
    int write;
};

/* In the transaction: load the list, change it, save it if asked. */
static int
list_tx(struct coffre_vault *v, void *arg)
{
    struct list_op *op = arg;
    struct coffre_key *k = NULL;
    struct approvals *all = calloc(1, sizeof(*all));
    int rc = all != NULL ? COFFRE_OK : COFFRE_ERR_NOMEM;
    rc = rc == COFFRE_OK ? vault_named_key(v, "approval", &k) : rc;
    rc = rc == COFFRE_OK ? load(v, k, all) : rc;
    rc = rc == COFFRE_OK ? op->fn(all, op->arg) : rc;
    if (rc == COFFRE_OK && op->write) {
        rc = save(v, k, all);
    }
    coffre_key_destroy(k);
    free(all);
    return rc;
}

static int
with_list(struct coffre_vault *v, change_fn fn, void *arg, int write)
{
    struct list_op op = {fn, arg, write};
    return vault_in_tx(v, list_tx, &op);
}

static struct coffre_approval *
find(struct approvals *all, const char *id)
{
    for (size_t i = 0; id != NULL && i < all->n; i++) {
        if (strcmp(all->a[i].id, id) == 0) {
            return &all->a[i];
        }
    }
    return NULL;
}

/* Room for one more: drop the oldest approval that is over. */
static int
make_room(struct approvals *all, int64_t now)
{
    if (all->n < COFFRE_APPROVAL_KEEP) {
        return COFFRE_OK;
    }
    for (size_t i = 0; i < all->n; i++) {
        int s = coffre_approval_state(&all->a[i], now);
        if (s == COFFRE_APPROVAL_EXPIRED || s == COFFRE_APPROVAL_USED) {
            memmove(&all->a[i], &all->a[i + 1],
                    (all->n - i - 1) * sizeof(all->a[0]));
            all->n--;
            return COFFRE_OK;
        }
    }
    return COFFRE_ERR_LIMIT;
}

struct req_arg {
    struct coffre_approval *a;
    int64_t now;
    unsigned pending_max;
};

/* Pending requests of ${by}: those that still wait for approvers. */
static unsigned
pending_of(const struct approvals *all, const char *by, int64_t now)
{
    unsigned n = 0;
    for (size_t i = 0; i < all->n; i++) {
        if (strcmp(all->a[i].requested_by, by) == 0 &&
            coffre_approval_state(&all->a[i], now) == COFFRE_APPROVAL_PENDING) {
            n++;
        }
    }
    return n;
}

/* The requester's cap first, so that one requester meets its own cap
 * long before the list is full and the slots stay others'. */
static int
add_request(struct approvals *all, void *arg)
{
    struct req_arg *r = arg;
    if (r->pending_max > 0 &&
        pending_of(all, r->a->requested_by, r->now) >= r->pending_max) {
        return COFFRE_ERR_DENIED;
    }
    int rc = make_room(all, r->now);
    if (rc == COFFRE_OK) {
        all->a[all->n++] = *r->a;
    }
    return rc;
}

int
coffre_vault_approval_request(struct coffre_vault *v, const char *op,
                              const char *scope, const char *by, unsigned need,
                              int64_t ttl, unsigned pending_max, int64_t now,
                              struct coffre_approval *out)
{
    unsigned char rnd[32];
    struct req_arg r = {out, now, pending_max};
    memset(out, 0, sizeof(*out));
    if (!text_ok(op, COFFRE_APPROVAL_OP_MAX, 0) ||
        !text_ok(scope, COFFRE_APPROVAL_SCOPE_MAX, 1) ||
        !text_ok(by, COFFRE_APPROVAL_NAME_MAX, 0) || need < 1 ||
        need > COFFRE_APPROVAL_APPROVERS_MAX || ttl < 1 || now < 0) {
        return COFFRE_ERR_ARG;
    }
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2base64(out->id, sizeof(out->id), rnd, sizeof(rnd),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    memcpy(out->operation, op, strlen(op) + 1);
    memcpy(out->scope, scope, strlen(scope) + 1);
    memcpy(out->requested_by, by, strlen(by) + 1);
    out->created = now;
    out->expires = now + ttl;
    out->need = need;
    return with_list(v, add_request, &r, 1);
}

struct get_arg {
    const char *id;
    struct coffre_approval *out;
};

static int
get_one(struct approvals *all, void *arg)
{
    struct get_arg *g = arg;
    struct coffre_approval *a = find(all, g->id);
    if (a == NULL) {
        return COFFRE_ERR_NOTFOUND;
    }
    *g->out = *a;
    return COFFRE_OK;
}

int
coffre_vault_approval_get(struct coffre_vault *v, const char *id,
                          struct coffre_approval *out)
{
    struct get_arg g = {id, out};
    memset(out, 0, sizeof(*out));
    return with_list(v, get_one, &g, 0);
}

struct approve_arg {
    const char *id, *who;
    int64_t now;
    struct coffre_approval *out;
};

static int
approve_one(struct approvals *all, void *arg)
{
    struct approve_arg *p = arg;
    struct coffre_approval *a = find(all, p->id);
    if (a == NULL) {
        return COFFRE_ERR_NOTFOUND;
    }
    *p->out = *a;
    int s = coffre_approval_state(a, p->now);
    if (s == COFFRE_APPROVAL_EXPIRED || s == COFFRE_APPROVAL_USED) {
        return COFFRE_ERR_STATE;
    }
    for (unsigned i = 0; i < a->napprovers; i++) {
        if (strcmp(a->approvers[i], p->who) == 0) {
            return COFFRE_ERR_EXISTS;
        }
    }
    if (a->napprovers == COFFRE_APPROVAL_APPROVERS_MAX) {
        return COFFRE_ERR_LIMIT;
    }
    memcpy(a->approvers[a->napprovers++], p->who, strlen(p->who) + 1);
    *p->out = *a;
    return COFFRE_OK;
}

int
coffre_vault_approval_approve(struct coffre_vault *v, const char *id,
                              const char *who, int64_t now,
                              struct coffre_approval *out)
{
    struct approve_arg p = {id, who, now, out};
    memset(out, 0, sizeof(*out));
    if (!text_ok(who, COFFRE_APPROVAL_NAME_MAX, 0)) {
        return COFFRE_ERR_ARG;
    }
    return with_list(v, approve_one, &p, 1);
}

struct consume_arg {
    const char *id, *op, *scope, *by;
    int64_t now;
    struct coffre_approval *out;
    int why;
};

static int
consume_one(struct approvals *all, void *arg)
{
    struct consume_arg *c = arg;
    struct coffre_approval *a = find(all, c->id);
    if (a == NULL) {
        c->why = COFFRE_APPROVAL_WHY_UNKNOWN;
        return COFFRE_ERR_DENIED;
    }
    *c->out = *a;
    int s = coffre_approval_state(a, c->now);
    if (strcmp(a->operation, c->op) != 0 || strcmp(a->scope, c->scope) != 0) {
        c->why = COFFRE_APPROVAL_WHY_WRONG_SCOPE;
    } else if (s == COFFRE_APPROVAL_USED) {
        c->why = COFFRE_APPROVAL_WHY_USED;
    } else if (s == COFFRE_APPROVAL_EXPIRED) {
        c->why = COFFRE_APPROVAL_WHY_EXPIRED;
    } else if (s == COFFRE_APPROVAL_PENDING) {
        c->why = COFFRE_APPROVAL_WHY_TOO_FEW;
    } else {
        a->used_at = c->now > 0 ? c->now : 1;
        memcpy(a->used_by, c->by, strlen(c->by) + 1);
        *c->out = *a;
        return COFFRE_OK;
    }
    return COFFRE_ERR_DENIED;
}

int
coffre_vault_approval_consume(struct coffre_vault *v, const char *id,
                              const char *op, const char *scope, const char *by,
                              int64_t now, struct coffre_approval *out,
                              int *pwhy)
{
    /* ${out} may hold the strings passed in: it is written last. */
    struct coffre_approval tmp;
    struct consume_arg c = {
        id, op, scope, by, now, &tmp, COFFRE_APPROVAL_WHY_NONE};
    memset(&tmp, 0, sizeof(tmp));
    *pwhy = COFFRE_APPROVAL_WHY_NONE;
    if (id == NULL || op == NULL || scope == NULL ||
        !text_ok(by, COFFRE_APPROVAL_NAME_MAX, 0)) {
        return COFFRE_ERR_ARG;
    }
    int rc = with_list(v, consume_one, &c, 1);
    *pwhy = c.why;
    if (out != NULL) {
        *out = tmp;
    }
    return rc;
}

struct list_arg {
    struct coffre_approval *out;
    size_t cap, *pn;
};

static int
list_all(struct approvals *all, void *arg)
{
    struct list_arg *l = arg;
    for (size_t i = 0; i < all->n && i < l->cap; i++) {
        l->out[i] = all->a[i];
    }
    *l->pn = all->n;
    return COFFRE_OK;
}

int
coffre_vault_approval_list(struct coffre_vault *v, struct coffre_approval *out,
                           size_t cap, size_t *pn)
{
    struct list_arg l = {out, cap, pn};
    *pn = 0;
    return with_list(v, list_all, &l, 0);
}

/* ------------------------------------------------------------------ */
/* The pinned policy (docs/approvals.md section 6): store meta "policy" =
 * HMAC-SHA256(K, D) || D, D the 32-byte policy digest, K the named key
 * "policy". Changed only with a policy_change approval, consumed in the
 * same store transaction. */

#define POLICY_META "policy"
#define POLICY_KEY "policy"
#define POLICY_LEN COFFRE_POLICY_DIGEST_LEN

/* Read and authenticate the pin; lock held, in a transaction. */
static int
policy_load(struct coffre_vault *v, unsigned char d[POLICY_LEN], int *ppresent)
{
    struct coffre_key *k = NULL;
    struct coffre_buf b;
    unsigned char mac[MAC_LEN];
    int rc;
    *ppresent = 0;
    coffre_buf_init(&b, MAC_LEN + POLICY_LEN);
    rc = v->store->ops->meta_get(v->store, POLICY_META, &b);
    if (rc == COFFRE_ERR_NOTFOUND) {
        rc = COFFRE_OK; /* nothing pinned yet */
    } else if (rc != COFFRE_OK) {
        rc = vault_store_fail(v, rc, "policy pin");
    } else if (b.len != MAC_LEN + POLICY_LEN) {
        rc = vault_fail(v, COFFRE_ERR_CRYPTO, "policy pin: malformed");
    } else if ((rc = vault_named_key(v, POLICY_KEY, &k)) != COFFRE_OK) {
        rc = vault_store_fail(v, rc, "policy key");
    } else {
        crypto_auth_hmacsha256(mac, b.p + MAC_LEN, POLICY_LEN, k->b);
        if (sodium_memcmp(mac, b.p, MAC_LEN) != 0) {
            rc = vault_fail(v, COFFRE_ERR_CRYPTO,
                            "policy pin: not written by this vault");
        } else {
            memcpy(d, b.p + MAC_LEN, POLICY_LEN);
            *ppresent = 1;
        }
    }
    coffre_key_destroy(k);
    coffre_buf_free(&b);
    return rc;
}

/* Write the pin; lock held, in a transaction. */
static int
policy_store(struct coffre_vault *v, const unsigned char d[POLICY_LEN])
{
    struct coffre_key *k = NULL;
    unsigned char out[MAC_LEN + POLICY_LEN];
    int rc = vault_named_key(v, POLICY_KEY, &k);
    if (rc != COFFRE_OK) {
        return vault_store_fail(v, rc, "policy key");
    }
    memcpy(out + MAC_LEN, d, POLICY_LEN);
    crypto_auth_hmacsha256(out, d, POLICY_LEN, k->b);
    coffre_key_destroy(k);
    rc = v->store->ops->meta_put(v->store, POLICY_META, out, sizeof(out));
    return rc == COFFRE_OK ? rc : vault_store_fail(v, rc, "policy pin");
}

struct pin_arg {
    unsigned char *out;      /* get: the pin read */
    const unsigned char *in; /* pin: the digest to write */
    int present;
};

/* First use: pin ${in} only if nothing is pinned. */
static int
policy_first(struct coffre_vault *v, struct pin_arg *p)
{
    unsigned char cur[POLICY_LEN];
    int rc = policy_load(v, cur, &p->present);
    if (rc == COFFRE_OK && p->present) {
        rc = vault_fail(v, COFFRE_ERR_EXISTS, "a policy is pinned already");
    }
    return rc == COFFRE_OK ? policy_store(v, p->in) : rc;
}

/* ${p}->in NULL: read the pin into ${p}->out; else pin ${p}->in if none
 * is. In the transaction of vault_in_tx. */
static int
policy_tx(struct coffre_vault *v, void *arg)
{
    struct pin_arg *p = arg;
    return p->in == NULL ? policy_load(v, p->out, &p->present)
                         : policy_first(v, p);
}

int
coffre_vault_policy_get(struct coffre_vault *v,
                        unsigned char digest[COFFRE_POLICY_DIGEST_LEN],
                        int *ppresent)
{
    struct pin_arg p = {digest, NULL, 0};
    memset(digest, 0, POLICY_LEN);
    int rc = vault_in_tx(v, policy_tx, &p);
    *ppresent = rc == COFFRE_OK && p.present;
    return rc;
}

int
coffre_vault_policy_pin(struct coffre_vault *v,
                        const unsigned char digest[COFFRE_POLICY_DIGEST_LEN])
{
    struct pin_arg p = {NULL, digest, 0};
    return vault_in_tx(v, policy_tx, &p);
}

struct change_arg {
    struct coffre_vault *v;
    const unsigned char *digest;
    struct consume_arg c;
};

static int
change_policy(struct approvals *all, void *arg)
{
    struct change_arg *p = arg;
    int rc = consume_one(all, &p->c);
    return rc == COFFRE_OK ? policy_store(p->v, p->digest) : rc;
}

int
coffre_vault_policy_change(struct coffre_vault *v,
                           const unsigned char digest[COFFRE_POLICY_DIGEST_LEN],
                           const char *id, const char *by, int64_t now,
                           struct coffre_approval *out, int *pwhy)
{
    char scope[2 * POLICY_LEN + 1];
    struct coffre_approval tmp;
    struct change_arg p = {v,
                           digest,
                           {id, COFFRE_APPROVAL_OP_POLICY_CHANGE, scope, by,
                            now, &tmp, COFFRE_APPROVAL_WHY_NONE}};
    memset(&tmp, 0, sizeof(tmp));
    *pwhy = COFFRE_APPROVAL_WHY_NONE;
    if (id == NULL || !text_ok(by, COFFRE_APPROVAL_NAME_MAX, 0)) {
        return COFFRE_ERR_ARG;
    }
    sodium_bin2hex(scope, sizeof(scope), digest, POLICY_LEN);
    int rc = with_list(v, change_policy, &p, 1);
    *pwhy = p.c.why;
    if (out != NULL) {
        *out = tmp;
    }
    return rc;
}
