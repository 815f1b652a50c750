/*
 * RFC 6962 / RFC 9162 Merkle hash trees over SHA-256 (docs/audit.md).
 *
 * leaf hash = SHA-256(0x00 || data), node hash = SHA-256(0x01 || l || r),
 * MTH({}) = SHA-256(""), MTH of n > 1 leaves splits at k, the largest power
 * of two smaller than n. Hashes are 32 raw bytes. Proofs travel as the
 * concatenation of their hashes, bottom-up, in the order of RFC 9162.
 *
 * Nothing here is secret (audit entries hold no personal value), so the
 * tree lives in plain malloc memory.
 */
#ifndef COFFRE_AUDIT_MERKLE_H
#define COFFRE_AUDIT_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define COFFRE_MERKLE_HASH_LEN 32
/* Longest proof for a tree of fewer than 2^64 leaves: 64 levels, plus the
 * first subtree hash a consistency proof may start with. */
#define COFFRE_MERKLE_MAX_PROOF 65

/** coffre_merkle_leaf_hash(data, len, out): SHA-256(0x00 || data). */
void coffre_merkle_leaf_hash(const void *data, size_t len,
                             unsigned char out[COFFRE_MERKLE_HASH_LEN]);

/** coffre_merkle_node_hash(l, r, out): SHA-256(0x01 || l || r); ${out} may
 * alias ${l} or ${r}. */
void coffre_merkle_node_hash(const unsigned char l[COFFRE_MERKLE_HASH_LEN],
                             const unsigned char r[COFFRE_MERKLE_HASH_LEN],
                             unsigned char out[COFFRE_MERKLE_HASH_LEN]);

/*
 * A frontier: the O(log n) state that gives the root of a stream of leaf
 * hashes without keeping them (the migration manifest root, for one).
 * hash[h] is the complete subtree of 2^h leaves pending at height h, valid
 * when bit h of n is set.
 */
struct coffre_merkle_frontier {
    uint64_t n;
    unsigned char hash[64][COFFRE_MERKLE_HASH_LEN];
};

/** coffre_merkle_frontier_init(f): an empty frontier. */
void coffre_merkle_frontier_init(struct coffre_merkle_frontier *f);

/** coffre_merkle_frontier_add(f, leaf): append one leaf hash; amortised
 * O(1). COFFRE_ERR_TOOBIG when 2^64 - 1 leaves were added already. */
int
coffre_merkle_frontier_add(struct coffre_merkle_frontier *f,
                           const unsigned char leaf[COFFRE_MERKLE_HASH_LEN]);

/** coffre_merkle_frontier_root(f, out): MTH of the leaves added so far. */
void coffre_merkle_frontier_root(const struct coffre_merkle_frontier *f,
                                 unsigned char out[COFFRE_MERKLE_HASH_LEN]);

/** coffre_merkle_root(leaves, n, out): MTH of the ${n} leaf hashes stored
 * back to back at ${leaves} (32 * n bytes), in O(log n) memory. */
void coffre_merkle_root(const unsigned char *leaves, size_t n,
                        unsigned char out[COFFRE_MERKLE_HASH_LEN]);

/*
 * An append-only tree holding every leaf hash and every complete internal
 * node (about 64 bytes per leaf: 64 MB for a million entries). This makes
 * the root at any past size and any proof cost O(log n) hashes, where
 * recomputing from the leaves would cost O(n).
 *
 * No locking inside: any number of concurrent readers (the const functions)
 * are safe as long as no append runs at the same time.
 */
struct coffre_merkle_tree;

/** coffre_merkle_tree_new(pt): an empty tree in *${pt}. */
int coffre_merkle_tree_new(struct coffre_merkle_tree **pt);

/** coffre_merkle_tree_free(t): release ${t}; NULL is a no-op. */
void coffre_merkle_tree_free(struct coffre_merkle_tree *t);

/** coffre_merkle_tree_append(t, leaf): add the leaf hash ${leaf} at index
 * size(t). On COFFRE_ERR_NOMEM the tree is unchanged. */
int coffre_merkle_tree_append(struct coffre_merkle_tree *t,
                              const unsigned char leaf[COFFRE_MERKLE_HASH_LEN]);

/** coffre_merkle_tree_size(t): number of leaves. */
uint64_t coffre_merkle_tree_size(const struct coffre_merkle_tree *t);

/** coffre_merkle_tree_leaf(t, index, out): the leaf hash at ${index};
 * COFFRE_ERR_ARG if ${index} >= size. */
int coffre_merkle_tree_leaf(const struct coffre_merkle_tree *t, uint64_t index,
                            unsigned char out[COFFRE_MERKLE_HASH_LEN]);

/** coffre_merkle_tree_root(t, size, out): MTH of the first ${size} leaves
 * (0 <= size <= size(t), else COFFRE_ERR_ARG). */
int coffre_merkle_tree_root(const struct coffre_merkle_tree *t, uint64_t size,
                            unsigned char out[COFFRE_MERKLE_HASH_LEN]);

/**
 * coffre_merkle_tree_inclusion(t, index, size, proof, cap, plen): the audit
 * path PATH(index, D[0:size]) of RFC 6962 2.1.1, written as *${plen} hashes
 * to ${proof}, which has room for ${cap} hashes (COFFRE_MERKLE_MAX_PROOF is
 * always enough; fewer gives COFFRE_ERR_TOOBIG). COFFRE_ERR_ARG unless
 * index < size <= size(t).
 */
int coffre_merkle_tree_inclusion(const struct coffre_merkle_tree *t,
                                 uint64_t index, uint64_t size,
                                 unsigned char *proof, size_t cap,
                                 size_t *plen);

/**
 * coffre_merkle_tree_consistency(t, m, n, proof, cap, plen): PROOF(m,
 * D[0:n]) of RFC 6962 2.1.2, as for coffre_merkle_tree_inclusion. m == n
 * gives the empty proof; COFFRE_ERR_ARG unless 0 < m <= n <= size(t).
 */
int coffre_merkle_tree_consistency(const struct coffre_merkle_tree *t,
                                   uint64_t m, uint64_t n, unsigned char *proof,
                                   size_t cap, size_t *plen);

/**
 * coffre_merkle_verify_inclusion(leaf, index, size, proof, plen, root): the
 * RFC 9162 2.1.3.2 check that ${leaf} is at ${index} in the tree of
 * ${size} leaves whose root is ${root}, given the ${plen} hashes at
 * ${proof}. COFFRE_OK, or COFFRE_ERR_CRYPTO for anything else (index >=
 * size, a proof too short or too long, a wrong hash).
 */
int coffre_merkle_verify_inclusion(
    const unsigned char leaf[COFFRE_MERKLE_HASH_LEN], uint64_t index,
    uint64_t size, const unsigned char *proof, size_t plen,
    const unsigned char root[COFFRE_MERKLE_HASH_LEN]);

/**
 * coffre_merkle_verify_consistency(m, n, old_root, new_root, proof, plen):
 * the RFC 9162 2.1.4.2 check that the tree of ${m} leaves with root
 * ${old_root} is a prefix of the tree of ${n} leaves with root ${new_root}.
 * m == n needs an empty proof and equal roots; m == 0 and m > n are
 * refused. COFFRE_OK or COFFRE_ERR_CRYPTO.
 */
int coffre_merkle_verify_consistency(
    uint64_t m, uint64_t n,
    const unsigned char old_root[COFFRE_MERKLE_HASH_LEN],
    const unsigned char new_root[COFFRE_MERKLE_HASH_LEN],
    const unsigned char *proof, size_t plen);

#endif
