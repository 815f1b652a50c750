/*
 * Unit tests of lib/audit/merkle: known answers, then exhaustive checks
 * against a naive transcription of the recursive definitions of RFC 6962.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/merkle.h"
#include "check.h"
#include "coffre/coffre.h"

#define HL COFFRE_MERKLE_HASH_LEN

/*
 * Known answers: the test data of the Go reference implementation,
 * github.com/transparency-dev/merkle, files proof/verify_test.go (leaves,
 * roots, inclusionProofs, consistencyProofs) and rfc6962/rfc6962_test.go
 * (hasher answers). Only the hex constants are taken. Leaf i of the
 * vectors is leaves[i]; inclusion "leaf" numbers there are 1-based.
 */
static const char *const kat_leaves[8] = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

static const char *const kat_roots[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

struct kat_proof {
    uint64_t a, b; /* inclusion: 0-based index, size; consistency: m, n */
    size_t len;
    const char *h[3];
};

static const struct kat_proof kat_inclusion[] = {
    {0, 1, 0, {NULL, NULL, NULL}},
    {0,
     8,
     3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5,
     8,
     3,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     3,
     1,
     {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125", NULL,
      NULL}},
    {1,
     5,
     3,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

static const struct kat_proof kat_consistency[] = {
    {1, 1, 0, {NULL, NULL, NULL}},
    {1,
     8,
     3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     2,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      NULL}},
    {6,
     7,
     3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

static void
unhex(const char *hex, unsigned char *out, size_t cap, size_t *plen)
{
    size_t n = 0;

    if (sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &n, NULL) != 0) {
        abort();
    }
    if (plen != NULL) {
        *plen = n;
    }
}

static int
eq_hex(const unsigned char *h, const char *hex)
{
    unsigned char want[HL];

    unhex(hex, want, sizeof want, NULL);
    return memcmp(h, want, HL) == 0;
}

static struct coffre_merkle_tree *
kat_tree(void)
{
    struct coffre_merkle_tree *t = NULL;
    unsigned char data[16], leaf[HL];
    size_t len;

    CHECK_RC(coffre_merkle_tree_new(&t), COFFRE_OK);
    for (size_t i = 0; i < 8; i++) {
        unhex(kat_leaves[i], data, sizeof data, &len);
        coffre_merkle_leaf_hash(data, len, leaf);
        CHECK_RC(coffre_merkle_tree_append(t, leaf), COFFRE_OK);
    }
    return t;
}

static void
test_hasher(void)
{
    unsigned char h[HL];

    coffre_merkle_root(NULL, 0, h);
    CHECK(eq_hex(h, "e3b0c44298fc1c149afbf4c8996fb924"
                    "27ae41e4649b934ca495991b7852b855"));
    coffre_merkle_leaf_hash("", 0, h);
    CHECK(eq_hex(h, "6e340b9cffb37a989ca544e6bb780a2c"
                    "78901d3fb33738768511a30617afa01d"));
    coffre_merkle_leaf_hash("L123456", 7, h);
    CHECK(eq_hex(h, "395aa064aa4c29f7010acfe3f25db948"
                    "5bbd4b91897b6ad7ad547639252b4d56"));
}

static void
test_kat_roots(void)
{
    struct coffre_merkle_tree *t = kat_tree();
    struct coffre_merkle_frontier f;
    unsigned char h[HL], leaf[HL];

    coffre_merkle_frontier_init(&f);
    for (uint64_t n = 1; n <= 8; n++) {
        CHECK_RC(coffre_merkle_tree_root(t, n, h), COFFRE_OK);
        CHECK(eq_hex(h, kat_roots[n - 1]));
        CHECK_RC(coffre_merkle_tree_leaf(t, n - 1, leaf), COFFRE_OK);
        CHECK_RC(coffre_merkle_frontier_add(&f, leaf), COFFRE_OK);
        coffre_merkle_frontier_root(&f, h);
        CHECK(eq_hex(h, kat_roots[n - 1]));
    }
    CHECK_RC(coffre_merkle_tree_root(t, 9, h), COFFRE_ERR_ARG);
    CHECK_RC(coffre_merkle_tree_leaf(t, 8, h), COFFRE_ERR_ARG);
    coffre_merkle_tree_free(t);
}

static void
load_proof(const struct kat_proof *k, unsigned char *p)
{
    for (size_t i = 0; i < k->len; i++) {
        unhex(k->h[i], p + i * HL, HL, NULL);
    }
}

/* The corruptions of the Go reference tests: wrong index, size, leaf or
 * root, garbage before or after, one bit flipped, one hash dropped. */
static void
kat_inclusion_corrupt(const unsigned char *leaf, uint64_t i, uint64_t n,
                      const unsigned char *p, size_t len,
                      const unsigned char *root)
{
    unsigned char q[(COFFRE_MERKLE_MAX_PROOF + 1) * HL], bad[HL];

    CHECK(coffre_merkle_verify_inclusion(leaf, i - 1, n, p, len, root) != 0);
    CHECK(coffre_merkle_verify_inclusion(leaf, i + 1, n, p, len, root) != 0);
    CHECK(coffre_merkle_verify_inclusion(leaf, i ^ 2, n, p, len, root) != 0);
    CHECK(coffre_merkle_verify_inclusion(leaf, i, n * 2, p, len, root) != 0);
    CHECK(coffre_merkle_verify_inclusion(leaf, i, n / 2, p, len, root) != 0);
    memcpy(bad, leaf, HL);
    bad[31] ^= 1;
    CHECK(coffre_merkle_verify_inclusion(bad, i, n, p, len, root) != 0);
    CHECK(coffre_merkle_verify_inclusion(leaf, i, n, p, len, bad) != 0);
    memcpy(q, p, len * HL);
    memcpy(q + len * HL, root, HL);
    CHECK(coffre_merkle_verify_inclusion(leaf, i, n, q, len + 1, root) != 0);
    memcpy(q, root, HL);
    memcpy(q + HL, p, len * HL);
    CHECK(coffre_merkle_verify_inclusion(leaf, i, n, q, len + 1, root) != 0);
    for (size_t j = 0; j < len; j++) {
        memcpy(q, p, len * HL);
        q[j * HL] ^= 8;
        CHECK(coffre_merkle_verify_inclusion(leaf, i, n, q, len, root) != 0);
    }
    if (len > 0) {
        CHECK(coffre_merkle_verify_inclusion(leaf, i, n, p, len - 1, root) !=
              0);
    }
}

static void
test_kat_inclusion(void)
{
    struct coffre_merkle_tree *t = kat_tree();
    unsigned char want[3 * HL], got[COFFRE_MERKLE_MAX_PROOF * HL];
    unsigned char leaf[HL], root[HL];
    size_t len;

    for (size_t k = 0; k < sizeof kat_inclusion / sizeof *kat_inclusion; k++) {
        const struct kat_proof *v = &kat_inclusion[k];

        load_proof(v, want);
        CHECK_RC(coffre_merkle_tree_inclusion(t, v->a, v->b, got,
                                              COFFRE_MERKLE_MAX_PROOF, &len),
                 COFFRE_OK);
        CHECK(len == v->len && memcmp(got, want, len * HL) == 0);
        CHECK_RC(coffre_merkle_tree_leaf(t, v->a, leaf), COFFRE_OK);
        unhex(kat_roots[v->b - 1], root, HL, NULL);
        CHECK_RC(coffre_merkle_verify_inclusion(leaf, v->a, v->b, want, v->len,
                                                root),
                 COFFRE_OK);
        kat_inclusion_corrupt(leaf, v->a, v->b, want, v->len, root);
    }
    CHECK_RC(coffre_merkle_tree_inclusion(t, 8, 8, got, 65, &len),
             COFFRE_ERR_ARG);
    CHECK_RC(coffre_merkle_tree_inclusion(t, 0, 9, got, 65, &len),
             COFFRE_ERR_ARG);
    CHECK_RC(coffre_merkle_tree_inclusion(t, 0, 8, got, 2, &len),
             COFFRE_ERR_TOOBIG);
    coffre_merkle_tree_free(t);
}

static void
kat_consistency_corrupt(uint64_t m, uint64_t n, const unsigned char *r1,
                        const unsigned char *r2, const unsigned char *p,
                        size_t len)
{
    unsigned char q[(COFFRE_MERKLE_MAX_PROOF + 1) * HL], bad[HL];

    CHECK(coffre_merkle_verify_consistency(m - 1, n, r1, r2, p, len) != 0);
    CHECK(coffre_merkle_verify_consistency(m + 1, n, r1, r2, p, len) != 0);
    CHECK(coffre_merkle_verify_consistency(m ^ 2, n, r1, r2, p, len) != 0);
    CHECK(coffre_merkle_verify_consistency(m, n * 2, r1, r2, p, len) != 0);
    CHECK(coffre_merkle_verify_consistency(m, n / 2, r1, r2, p, len) != 0);
    memset(bad, 0x5a, HL);
    CHECK(coffre_merkle_verify_consistency(m, n, bad, r2, p, len) != 0);
    CHECK(coffre_merkle_verify_consistency(m, n, r1, bad, p, len) != 0);
    CHECK(coffre_merkle_verify_consistency(m, n, r2, r1, p, len) != 0);
    CHECK(coffre_merkle_verify_consistency(m, n, r1, r2, p, 0) != 0);
    const unsigned char *extra[3] = {r1, r2, p};
    for (size_t e = 0; e < 3; e++) {
        memcpy(q, p, len * HL);
        memcpy(q + len * HL, extra[e], HL);
        CHECK(coffre_merkle_verify_consistency(m, n, r1, r2, q, len + 1) != 0);
        memcpy(q, extra[e], HL);
        memcpy(q + HL, p, len * HL);
        CHECK(coffre_merkle_verify_consistency(m, n, r1, r2, q, len + 1) != 0);
    }
    CHECK(coffre_merkle_verify_consistency(m, n, r1, r2, p, len - 1) != 0);
    for (size_t j = 0; j < len; j++) {
        memcpy(q, p, len * HL);
        q[j * HL] ^= 16;
        CHECK(coffre_merkle_verify_consistency(m, n, r1, r2, q, len) != 0);
    }
}

static void
test_kat_consistency(void)
{
    struct coffre_merkle_tree *t = kat_tree();
    unsigned char want[3 * HL], got[COFFRE_MERKLE_MAX_PROOF * HL];
    unsigned char r1[HL], r2[HL];
    size_t len;

    for (size_t k = 0; k < sizeof kat_consistency / sizeof *kat_consistency;
         k++) {
        const struct kat_proof *v = &kat_consistency[k];

        load_proof(v, want);
        CHECK_RC(coffre_merkle_tree_consistency(t, v->a, v->b, got, 65, &len),
                 COFFRE_OK);
        CHECK(len == v->len && memcmp(got, want, len * HL) == 0);
        unhex(kat_roots[v->a - 1], r1, HL, NULL);
        unhex(kat_roots[v->b - 1], r2, HL, NULL);
        CHECK_RC(
            coffre_merkle_verify_consistency(v->a, v->b, r1, r2, want, v->len),
            COFFRE_OK);
        if (v->len > 0) {
            kat_consistency_corrupt(v->a, v->b, r1, r2, want, v->len);
        }
    }
    /* Edge cases: m == n wants equal roots and no proof; m == 0 and
     * m > n are never consistent. */
    unhex(kat_roots[0], r1, HL, NULL);
    unhex(kat_roots[1], r2, HL, NULL);
    CHECK_RC(coffre_merkle_verify_consistency(1, 1, r1, r2, NULL, 0),
             COFFRE_ERR_CRYPTO);
    CHECK_RC(coffre_merkle_verify_consistency(1, 1, r1, r1, r1, 1),
             COFFRE_ERR_CRYPTO);
    CHECK_RC(coffre_merkle_verify_consistency(0, 0, r1, r1, NULL, 0),
             COFFRE_ERR_CRYPTO);
    CHECK_RC(coffre_merkle_verify_consistency(0, 2, r1, r2, NULL, 0),
             COFFRE_ERR_CRYPTO);
    CHECK_RC(coffre_merkle_verify_consistency(2, 1, r2, r1, NULL, 0),
             COFFRE_ERR_CRYPTO);
    CHECK_RC(coffre_merkle_verify_consistency(1, 2, r1, r2, NULL, 0),
             COFFRE_ERR_CRYPTO);
    CHECK_RC(coffre_merkle_tree_consistency(t, 0, 8, got, 65, &len),
             COFFRE_ERR_ARG);
    CHECK_RC(coffre_merkle_tree_consistency(t, 5, 4, got, 65, &len),
             COFFRE_ERR_ARG);
    CHECK_RC(coffre_merkle_tree_consistency(t, 3, 9, got, 65, &len),
             COFFRE_ERR_ARG);
    CHECK_RC(coffre_merkle_tree_consistency(t, 8, 8, got, 65, &len), COFFRE_OK);
    CHECK(len == 0);
    CHECK_RC(coffre_merkle_verify_inclusion(r1, 0, 0, NULL, 0, r1),
             COFFRE_ERR_CRYPTO);
    CHECK_RC(coffre_merkle_verify_inclusion(r1, 0, 1, NULL, 0, r1), COFFRE_OK);
    coffre_merkle_tree_free(t);
}

/* ------------------------------------------------------------------ */
/* A naive transcription of RFC 6962 2.1, recursive, for cross-checks. */

static uint64_t
naive_k(uint64_t n)
{
    uint64_t k = 1;

    while (k * 2 < n) {
        k *= 2;
    }
    return k;
}

static void
naive_mth(const unsigned char *d, uint64_t n, unsigned char out[HL])
{
    unsigned char l[HL], r[HL];
    uint64_t k;

    if (n == 1) {
        memcpy(out, d, HL);
        return;
    }
    k = naive_k(n);
    naive_mth(d, k, l);
    naive_mth(d + k * HL, n - k, r);
    coffre_merkle_node_hash(l, r, out);
}

static void
naive_path(uint64_t m, const unsigned char *d, uint64_t n, unsigned char *out,
           size_t *len)
{
    uint64_t k;

    if (n == 1) {
        return;
    }
    k = naive_k(n);
    if (m < k) {
        naive_path(m, d, k, out, len);
        naive_mth(d + k * HL, n - k, out + *len * HL);
    } else {
        naive_path(m - k, d + k * HL, n - k, out, len);
        naive_mth(d, k, out + *len * HL);
    }
    (*len)++;
}

static void
naive_subproof(uint64_t m, const unsigned char *d, uint64_t n, int b,
               unsigned char *out, size_t *len)
{
    uint64_t k;

    if (m == n) {
        if (!b) {
            naive_mth(d, n, out + *len * HL);
            (*len)++;
        }
        return;
    }
    k = naive_k(n);
    if (m <= k) {
        naive_subproof(m, d, k, b, out, len);
        naive_mth(d + k * HL, n - k, out + *len * HL);
    } else {
        naive_subproof(m - k, d + k * HL, n - k, 0, out, len);
        naive_mth(d, k, out + *len * HL);
    }
    (*len)++;
}

#define BIG 1000

struct rand_tree {
    struct coffre_merkle_tree *t;
    unsigned char *leaves;
};

static void
rand_tree(struct rand_tree *rt, size_t n)
{
    unsigned char data[40];

    rt->leaves = malloc(n * HL);
    CHECK(rt->leaves != NULL);
    CHECK_RC(coffre_merkle_tree_new(&rt->t), COFFRE_OK);
    for (size_t i = 0; i < n; i++) {
        randombytes_buf(data, sizeof data);
        coffre_merkle_leaf_hash(data, i % sizeof data, rt->leaves + i * HL);
        CHECK_RC(coffre_merkle_tree_append(rt->t, rt->leaves + i * HL),
                 COFFRE_OK);
    }
}

static void
test_roots_every_size(void)
{
    struct rand_tree rt;
    unsigned char a[HL], b[HL], c[HL];
    unsigned long bad = 0;

    rand_tree(&rt, BIG);
    CHECK(coffre_merkle_tree_size(rt.t) == BIG);
    for (uint64_t n = 1; n <= BIG; n++) {
        CHECK_RC(coffre_merkle_tree_root(rt.t, n, a), COFFRE_OK);
        coffre_merkle_root(rt.leaves, n, b);
        naive_mth(rt.leaves, n, c);
        bad += memcmp(a, b, HL) != 0 || memcmp(a, c, HL) != 0;
    }
    CHECK(bad == 0);
    coffre_merkle_tree_free(rt.t);
    free(rt.leaves);
}

/* Every inclusion proof of a tree of size n: equal to the naive one,
 * verifies, and fails with any one bit of it flipped. */
static unsigned long
inclusion_all(const struct rand_tree *rt, uint64_t n)
{
    unsigned char p[COFFRE_MERKLE_MAX_PROOF * HL], q[sizeof p], root[HL];
    size_t len, qlen;
    unsigned long bad = 0;

    naive_mth(rt->leaves, n, root);
    for (uint64_t i = 0; i < n; i++) {
        const unsigned char *leaf = rt->leaves + i * HL;

        bad += coffre_merkle_tree_inclusion(rt->t, i, n, p, 65, &len) != 0;
        qlen = 0;
        naive_path(i, rt->leaves, n, q, &qlen);
        bad += len != qlen || memcmp(p, q, len * HL) != 0;
        bad += coffre_merkle_verify_inclusion(leaf, i, n, p, len, root) != 0;
        for (size_t j = 0; j < len; j++) {
            size_t bit = j * HL * 8 + (i * 7 + j * 31) % (HL * 8);

            p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            bad +=
                coffre_merkle_verify_inclusion(leaf, i, n, p, len, root) == 0;
            p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        }
    }
    return bad;
}

static void
test_inclusion_exhaustive(void)
{
    static const uint64_t sizes[] = {255, 256, 257, 511, 512,
                                     513, 777, 999, 1000};
    struct rand_tree rt;
    unsigned long bad = 0;

    rand_tree(&rt, BIG);
    for (uint64_t n = 1; n <= 130; n++) {
        bad += inclusion_all(&rt, n);
    }
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        bad += inclusion_all(&rt, sizes[s]);
    }
    CHECK(bad == 0);
    coffre_merkle_tree_free(rt.t);
    free(rt.leaves);
}

static unsigned long
consistency_one(const struct rand_tree *rt, uint64_t m, uint64_t n)
{
    unsigned char p[COFFRE_MERKLE_MAX_PROOF * HL], q[sizeof p];
    unsigned char r1[HL], r2[HL];
    size_t len, qlen = 0;
    unsigned long bad = 0;

    naive_mth(rt->leaves, m, r1);
    naive_mth(rt->leaves, n, r2);
    bad += coffre_merkle_tree_consistency(rt->t, m, n, p, 65, &len) != 0;
    if (m < n) {
        naive_subproof(m, rt->leaves, n, 1, q, &qlen);
    }
    bad += len != qlen || memcmp(p, q, len * HL) != 0;
    bad += coffre_merkle_verify_consistency(m, n, r1, r2, p, len) != 0;
    /* Every bit of the proof for small trees, one per hash beyond. */
    for (size_t bit = 0; bit < len * HL * 8; bit += n <= 16 ? 1 : HL * 8 - 3) {
        p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        bad += coffre_merkle_verify_consistency(m, n, r1, r2, p, len) == 0;
        p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    r1[0] ^= 1;
    bad += coffre_merkle_verify_consistency(m, n, r1, r2, p, len) == 0;
    r1[0] ^= 1;
    r2[0] ^= 1;
    bad += coffre_merkle_verify_consistency(m, n, r1, r2, p, len) == 0;
    return bad;
}

static void
test_consistency_exhaustive(void)
{
    struct rand_tree rt;
    unsigned long bad = 0;

    rand_tree(&rt, BIG);
    for (uint64_t n = 1; n <= 64; n++) {
        for (uint64_t m = 1; m <= n; m++) {
            bad += consistency_one(&rt, m, n);
        }
    }
    for (uint64_t m = 1; m <= BIG; m += 37) {
        bad += consistency_one(&rt, m, BIG);
        bad += consistency_one(&rt, m, 777 > m ? 777 : m);
    }
    CHECK(bad == 0);
    coffre_merkle_tree_free(rt.t);
    free(rt.leaves);
}

/* A million leaves: the tree, the frontier and proofs agree at scale. */
static void
test_large(void)
{
    const uint64_t n = (1u << 20) + 3;
    struct coffre_merkle_tree *t = NULL;
    struct coffre_merkle_frontier f;
    unsigned char leaf[HL], a[HL], b[HL], p[COFFRE_MERKLE_MAX_PROOF * HL];
    size_t len;
    uint64_t idx[4] = {0, 123457, (1u << 20) - 1, (1u << 20) + 2};

    CHECK_RC(coffre_merkle_tree_new(&t), COFFRE_OK);
    coffre_merkle_frontier_init(&f);
    for (uint64_t i = 0; i < n; i++) {
        memcpy(leaf, &i, sizeof i);
        memset(leaf + sizeof i, 0x33, HL - sizeof i);
        if (coffre_merkle_tree_append(t, leaf) != COFFRE_OK ||
            coffre_merkle_frontier_add(&f, leaf) != COFFRE_OK) {
            CHECK(0);
            break;
        }
    }
    CHECK_RC(coffre_merkle_tree_root(t, n, a), COFFRE_OK);
    coffre_merkle_frontier_root(&f, b);
    CHECK(memcmp(a, b, HL) == 0);
    for (size_t k = 0; k < 4; k++) {
        CHECK_RC(coffre_merkle_tree_leaf(t, idx[k], leaf), COFFRE_OK);
        CHECK_RC(coffre_merkle_tree_inclusion(t, idx[k], n, p, 65, &len),
                 COFFRE_OK);
        CHECK_RC(coffre_merkle_verify_inclusion(leaf, idx[k], n, p, len, a),
                 COFFRE_OK);
        CHECK_RC(coffre_merkle_tree_root(t, idx[k] + 1, b), COFFRE_OK);
        CHECK_RC(coffre_merkle_tree_consistency(t, idx[k] + 1, n, p, 65, &len),
                 COFFRE_OK);
        CHECK_RC(coffre_merkle_verify_consistency(idx[k] + 1, n, b, a, p, len),
                 COFFRE_OK);
    }
    coffre_merkle_tree_free(t);
}

int
main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    RUN(test_hasher);
    RUN(test_kat_roots);
    RUN(test_kat_inclusion);
    RUN(test_kat_consistency);
    RUN(test_roots_every_size);
    RUN(test_inclusion_exhaustive);
    RUN(test_consistency_exhaustive);
    RUN(test_large);
    return check_done();
}
