/* RFC 6962 Merkle trees: hashing, an append-only tree, proofs (RFC 9162). */
#include "audit/merkle.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "coffre/coffre.h"

#define HLEN COFFRE_MERKLE_HASH_LEN

void
coffre_merkle_leaf_hash(const void *data, size_t len, unsigned char out[HLEN])
{
    crypto_hash_sha256_state st;
    const unsigned char prefix = 0x00;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &prefix, 1);
    if (len != 0) {
        crypto_hash_sha256_update(&st, data, len);
    }
    crypto_hash_sha256_final(&st, out);
}

void
coffre_merkle_node_hash(const unsigned char l[HLEN],
                        const unsigned char r[HLEN], unsigned char out[HLEN])
{
    unsigned char in[1 + 2 * HLEN];

    /* Copy first: out may alias l or r. */
    in[0] = 0x01;
    memcpy(in + 1, l, HLEN);
    memcpy(in + 1 + HLEN, r, HLEN);
    crypto_hash_sha256(out, in, sizeof in);
}

/* k of RFC 6962: the largest power of two smaller than n (n >= 2). */
static uint64_t
split_point(uint64_t n)
{
    return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/* ------------------------------------------------------------------ */
/* Frontier                                                           */

void
coffre_merkle_frontier_init(struct coffre_merkle_frontier *f)
{
    memset(f, 0, sizeof *f);
}

int
coffre_merkle_frontier_add(struct coffre_merkle_frontier *f,
                           const unsigned char leaf[HLEN])
{
    unsigned char cur[HLEN];
    unsigned h = 0;

    if (f->n == UINT64_MAX) {
        return COFFRE_ERR_TOOBIG;
    }
    memcpy(cur, leaf, HLEN);
    /* Each set low bit of n is a complete subtree of the same height as cur:
     * merge like a binary carry. */
    while ((f->n >> h) & 1) {
        coffre_merkle_node_hash(f->hash[h], cur, cur);
        h++;
    }
    memcpy(f->hash[h], cur, HLEN);
    f->n++;
    return COFFRE_OK;
}

void
coffre_merkle_frontier_root(const struct coffre_merkle_frontier *f,
                            unsigned char out[HLEN])
{
    unsigned char r[HLEN];
    int have = 0;

    if (f->n == 0) {
        crypto_hash_sha256(out, NULL, 0);
        return;
    }
    /* The subtrees, smallest (rightmost) first, fold right to left: this is
     * the recursive MTH, since the split point is always the largest
     * remaining subtree. */
    for (unsigned h = 0; h < 64; h++) {
        if (!((f->n >> h) & 1)) {
            continue;
        }
        if (have) {
            coffre_merkle_node_hash(f->hash[h], r, r);
        } else {
            memcpy(r, f->hash[h], HLEN);
            have = 1;
        }
    }
    memcpy(out, r, HLEN);
}

void
coffre_merkle_root(const unsigned char *leaves, size_t n,
                   unsigned char out[HLEN])
{
    struct coffre_merkle_frontier f;

    coffre_merkle_frontier_init(&f);
    for (size_t i = 0; i < n; i++) {
        (void)coffre_merkle_frontier_add(&f, leaves + i * HLEN);
    }
    coffre_merkle_frontier_root(&f, out);
}

/* ------------------------------------------------------------------ */
/* The tree: level h holds the floor(n / 2^h) complete nodes of height h;
 * node i of level h covers leaves [i * 2^h, (i + 1) * 2^h). */

struct merkle_level {
    unsigned char *h;
    size_t len; /* hashes */
    size_t cap; /* hashes */
};

struct coffre_merkle_tree {
    uint64_t n;
    struct merkle_level lv[64];
};

int
coffre_merkle_tree_new(struct coffre_merkle_tree **pt)
{
    *pt = calloc(1, sizeof **pt);
    return *pt != NULL ? COFFRE_OK : COFFRE_ERR_NOMEM;
}

void
coffre_merkle_tree_free(struct coffre_merkle_tree *t)
{
    if (t == NULL) {
        return;
    }
    for (unsigned h = 0; h < 64; h++) {
        free(t->lv[h].h);
    }
    free(t);
}

uint64_t
coffre_merkle_tree_size(const struct coffre_merkle_tree *t)
{
    return t->n;
}

static int
level_reserve(struct merkle_level *l)
{
    size_t ncap;
    unsigned char *p;

    if (l->len < l->cap) {
        return COFFRE_OK;
    }
    ncap = l->cap != 0 ? l->cap * 2 : 1024;
    if (ncap < l->cap || ncap > SIZE_MAX / HLEN) {
        return COFFRE_ERR_NOMEM;
    }
    p = realloc(l->h, ncap * HLEN);
    if (p == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    l->h = p;
    l->cap = ncap;
    return COFFRE_OK;
}

int
coffre_merkle_tree_append(struct coffre_merkle_tree *t,
                          const unsigned char leaf[HLEN])
{
    unsigned h, top = 0;
    int rc;

    if (t->n == UINT64_MAX) {
        return COFFRE_ERR_TOOBIG;
    }
    /* Leaf n completes one new node on each level up to the number of
     * trailing one bits of n; reserve them all before writing any, so a
     * failure leaves the tree as it was. */
    while ((t->n >> top) & 1) {
        top++;
    }
    for (h = 0; h <= top; h++) {
        rc = level_reserve(&t->lv[h]);
        if (rc != COFFRE_OK) {
            return rc;
        }
    }
    memcpy(t->lv[0].h + t->lv[0].len * HLEN, leaf, HLEN);
    t->lv[0].len++;
    for (h = 0; h < top; h++) {
        struct merkle_level *l = &t->lv[h], *up = &t->lv[h + 1];

        coffre_merkle_node_hash(l->h + (l->len - 2) * HLEN,
                                l->h + (l->len - 1) * HLEN,
                                up->h + up->len * HLEN);
        up->len++;
    }
    t->n++;
    return COFFRE_OK;
}

int
coffre_merkle_tree_leaf(const struct coffre_merkle_tree *t, uint64_t index,
                        unsigned char out[HLEN])
{
    if (index >= t->n) {
        return COFFRE_ERR_ARG;
    }
    memcpy(out, t->lv[0].h + index * HLEN, HLEN);
    return COFFRE_OK;
}

/*
 * MTH(D[lo:hi]) for lo < hi <= n, where lo is a multiple of a power of two
 * at least hi - lo: true of every range the RFC 6962 recursion visits. The
 * range is then the complete subtrees given by the bits of hi - lo, largest
 * first, each aligned, folded right to left.
 */
static void
range_hash(const struct coffre_merkle_tree *t, uint64_t lo, uint64_t hi,
           unsigned char out[HLEN])
{
    const unsigned char *node[64];
    unsigned cnt = 0;
    uint64_t pos = lo, s = hi - lo;
    unsigned char r[HLEN];

    for (int h = 63; h >= 0; h--) {
        if ((s >> h) & 1) {
            node[cnt++] = t->lv[h].h + (pos >> h) * HLEN;
            pos += (uint64_t)1 << h;
        }
    }
    memcpy(r, node[cnt - 1], HLEN);
    for (unsigned i = cnt - 1; i-- > 0;) {
        coffre_merkle_node_hash(node[i], r, r);
    }
    memcpy(out, r, HLEN);
}

int
coffre_merkle_tree_root(const struct coffre_merkle_tree *t, uint64_t size,
                        unsigned char out[HLEN])
{
    if (size > t->n) {
        return COFFRE_ERR_ARG;
    }
    if (size == 0) {
        crypto_hash_sha256(out, NULL, 0);
        return COFFRE_OK;
    }
    range_hash(t, 0, size, out);
    return COFFRE_OK;
}

/* Proofs are built top-down and stored bottom-up: reverse in place. */
static void
reverse_hashes(unsigned char *p, size_t n)
{
    unsigned char tmp[HLEN];

    for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
        memcpy(tmp, p + i * HLEN, HLEN);
        memcpy(p + i * HLEN, p + (j - 1) * HLEN, HLEN);
        memcpy(p + (j - 1) * HLEN, tmp, HLEN);
    }
}

int
coffre_merkle_tree_inclusion(const struct coffre_merkle_tree *t, uint64_t index,
                             uint64_t size, unsigned char *proof, size_t cap,
                             size_t *plen)
{
    uint64_t lo = 0, hi = size, k;
    size_t n = 0;

    *plen = 0;
    if (index >= size || size > t->n) {
        return COFFRE_ERR_ARG;
    }
    while (hi - lo > 1) {
        if (n == cap) {
            return COFFRE_ERR_TOOBIG;
        }
        k = split_point(hi - lo);
        if (index < lo + k) {
            range_hash(t, lo + k, hi, proof + n * HLEN);
            hi = lo + k;
        } else {
            range_hash(t, lo, lo + k, proof + n * HLEN);
            lo += k;
        }
        n++;
    }
    reverse_hashes(proof, n);
    *plen = n;
    return COFFRE_OK;
}

int
coffre_merkle_tree_consistency(const struct coffre_merkle_tree *t, uint64_t m,
                               uint64_t n, unsigned char *proof, size_t cap,
                               size_t *plen)
{
    uint64_t lo = 0, hi = n, k;
    size_t cnt = 0;
    int complete = 1; /* b of SUBPROOF: still on the left edge */

    *plen = 0;
    if (m == 0 || m > n || n > t->n) {
        return COFFRE_ERR_ARG;
    }
    while (m != hi - lo) {
        if (cnt == cap) {
            return COFFRE_ERR_TOOBIG;
        }
        k = split_point(hi - lo);
        if (m <= k) {
            range_hash(t, lo + k, hi, proof + cnt * HLEN);
            hi = lo + k;
        } else {
            range_hash(t, lo, lo + k, proof + cnt * HLEN);
            m -= k;
            lo += k;
            complete = 0;
        }
        cnt++;
    }
    if (!complete) {
        if (cnt == cap) {
            return COFFRE_ERR_TOOBIG;
        }
        range_hash(t, lo, hi, proof + cnt * HLEN);
        cnt++;
    }
    reverse_hashes(proof, cnt);
    *plen = cnt;
    return COFFRE_OK;
}

/* ------------------------------------------------------------------ */
/* Verification, RFC 9162 2.1.3.2 and 2.1.4.2, step for step.         */

/* Right-shift fn and sn together until LSB(fn) is set or fn is 0. */
static void
shift_to_set_bit(uint64_t *fn, uint64_t *sn)
{
    while ((*fn & 1) == 0 && *fn != 0) {
        *fn >>= 1;
        *sn >>= 1;
    }
}

int
coffre_merkle_verify_inclusion(const unsigned char leaf[HLEN], uint64_t index,
                               uint64_t size, const unsigned char *proof,
                               size_t plen, const unsigned char root[HLEN])
{
    uint64_t fn, sn;
    unsigned char r[HLEN];

    if (index >= size || plen > COFFRE_MERKLE_MAX_PROOF) {
        return COFFRE_ERR_CRYPTO;
    }
    fn = index;
    sn = size - 1;
    memcpy(r, leaf, HLEN);
    for (size_t i = 0; i < plen; i++) {
        const unsigned char *p = proof + i * HLEN;

        if (sn == 0) {
            return COFFRE_ERR_CRYPTO;
        }
        if ((fn & 1) || fn == sn) {
            coffre_merkle_node_hash(p, r, r);
            shift_to_set_bit(&fn, &sn);
        } else {
            coffre_merkle_node_hash(r, p, r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || sodium_memcmp(r, root, HLEN) != 0) {
        return COFFRE_ERR_CRYPTO;
    }
    return COFFRE_OK;
}

/* Steps 2 to 7 of RFC 9162 2.1.4.2, for 0 < m < n and a proof whose first
 * hash (possibly the old root, prepended) is ${first}. */
static int
consistency_walk(uint64_t m, uint64_t n, const unsigned char first[HLEN],
                 const unsigned char *rest, size_t nrest,
                 const unsigned char old_root[HLEN],
                 const unsigned char new_root[HLEN])
{
    uint64_t fn = m - 1, sn = n - 1;
    unsigned char fr[HLEN], sr[HLEN];

    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    memcpy(fr, first, HLEN);
    memcpy(sr, first, HLEN);
    for (size_t i = 0; i < nrest; i++) {
        const unsigned char *c = rest + i * HLEN;

        if (sn == 0) {
            return COFFRE_ERR_CRYPTO;
        }
        if ((fn & 1) || fn == sn) {
            coffre_merkle_node_hash(c, fr, fr);
            coffre_merkle_node_hash(c, sr, sr);
            shift_to_set_bit(&fn, &sn);
        } else {
            coffre_merkle_node_hash(sr, c, sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || sodium_memcmp(fr, old_root, HLEN) != 0 ||
        sodium_memcmp(sr, new_root, HLEN) != 0) {
        return COFFRE_ERR_CRYPTO;
    }
    return COFFRE_OK;
}

int
coffre_merkle_verify_consistency(uint64_t m, uint64_t n,
                                 const unsigned char old_root[HLEN],
                                 const unsigned char new_root[HLEN],
                                 const unsigned char *proof, size_t plen)
{
    if (m == 0 || m > n || plen > COFFRE_MERKLE_MAX_PROOF) {
        return COFFRE_ERR_CRYPTO;
    }
    if (m == n) {
        if (plen != 0 || sodium_memcmp(old_root, new_root, HLEN) != 0) {
            return COFFRE_ERR_CRYPTO;
        }
        return COFFRE_OK;
    }
    if (plen == 0) {
        return COFFRE_ERR_CRYPTO;
    }
    /* Step 2: when m is a power of two the old tree is a complete subtree
     * of the new one, and the proof omits its hash: the old root. */
    if ((m & (m - 1)) == 0) {
        return consistency_walk(m, n, old_root, proof, plen, old_root,
                                new_root);
    }
    return consistency_walk(m, n, proof, proof + HLEN, plen - 1, old_root,
                            new_root);
}
