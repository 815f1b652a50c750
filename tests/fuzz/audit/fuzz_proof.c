/*
 * libFuzzer: inclusion and consistency proof verification.
 *
 * Input: flags (1 byte), a (8 bytes), b (8 bytes), then bytes used either
 * as raw hashes (leaf/old root, root/new root, proof) or, in "tree" mode,
 * as a mask XORed onto a correct proof of a fixed 300-leaf tree: the
 * verifier must accept exactly when the mask is zero and the proof length
 * is unchanged.
 */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "audit/merkle.h"
#include "coffre/coffre.h"

#define HL COFFRE_MERKLE_HASH_LEN
#define TREE 300

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct coffre_merkle_tree *tree;

static void
setup(void)
{
    unsigned char leaf[HL];

    if (sodium_init() < 0 || coffre_merkle_tree_new(&tree) != COFFRE_OK) {
        __builtin_trap();
    }
    for (unsigned i = 0; i < TREE; i++) {
        coffre_merkle_leaf_hash(&i, sizeof i, leaf);
        if (coffre_merkle_tree_append(tree, leaf) != COFFRE_OK) {
            __builtin_trap();
        }
    }
}

static uint64_t
get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof v);
    return v;
}

static void
raw_mode(int consistency, uint64_t a, uint64_t b, const uint8_t *p, size_t n)
{
    if (n < 2 * HL) {
        return;
    }
    if (consistency) {
        (void)coffre_merkle_verify_consistency(a, b, p, p + HL, p + 2 * HL,
                                               (n - 2 * HL) / HL);
    } else {
        (void)coffre_merkle_verify_inclusion(p, a, b, p + 2 * HL,
                                             (n - 2 * HL) / HL, p + HL);
    }
}

/* XOR ${mask} over ${proof} (len hashes); 1 if it changed a bit. */
static int
apply_mask(unsigned char *proof, size_t len, const uint8_t *mask, size_t n)
{
    int changed = 0;

    for (size_t i = 0; i < len * HL && i < n; i++) {
        proof[i] ^= mask[i];
        changed |= mask[i] != 0;
    }
    return changed;
}

static void
tree_mode(int consistency, uint64_t a, uint64_t b, const uint8_t *mask,
          size_t n, int cut)
{
    unsigned char proof[COFFRE_MERKLE_MAX_PROOF * HL], r1[HL], r2[HL];
    uint64_t size = b % TREE + 1, x = a % size;
    size_t len;
    int changed, ok;

    if (consistency) {
        x++; /* 0 < m <= n */
        if (coffre_merkle_tree_consistency(tree, x, size, proof, 65, &len) ||
            coffre_merkle_tree_root(tree, x, r1)) {
            __builtin_trap();
        }
    } else if (coffre_merkle_tree_inclusion(tree, x, size, proof, 65, &len) ||
               coffre_merkle_tree_leaf(tree, x, r1)) {
        __builtin_trap();
    }
    if (coffre_merkle_tree_root(tree, size, r2) != COFFRE_OK) {
        __builtin_trap();
    }
    changed = apply_mask(proof, len, mask, n);
    if (cut && len > 0) {
        len--, changed = 1;
    }
    ok = consistency
             ? coffre_merkle_verify_consistency(x, size, r1, r2, proof, len)
             : coffre_merkle_verify_inclusion(r1, x, size, proof, len, r2);
    if ((ok == COFFRE_OK) == changed) {
        __builtin_trap();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t flags;

    if (tree == NULL) {
        setup();
    }
    if (size < 17) {
        return 0;
    }
    flags = data[0];
    if (flags & 1) {
        tree_mode(flags & 2, get64(data + 1), get64(data + 9), data + 17,
                  size - 17, flags & 4);
    } else {
        raw_mode(flags & 2, get64(data + 1), get64(data + 9), data + 17,
                 size - 17);
    }
    return 0;
}
