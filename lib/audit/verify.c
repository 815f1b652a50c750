/*
 * The verifier's side of the audit log (include/coffre/audit.h): what an
 * auditor's tool needs without a vault. Thin, checked wrappers over the
 * tree, proof and note primitives, and a reader of the log's record files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "audit/entry.h"
#include "audit/merkle.h"
#include "audit/note.h"
#include "util/secmem.h"

int
coffre_audit_checkpoint_verify(const char *note, size_t len, const char *vkey,
                               uint64_t *psize,
                               unsigned char root[COFFRE_AUDIT_HASH_LEN])
{
    struct coffre_note_verifier v;
    struct coffre_checkpoint c = {0};
    int rc;

    rc = coffre_note_verifier_parse(vkey, &v);
    if (rc != COFFRE_OK) {
        return rc;
    }
    /* The key name is the origin: a key of this vault signing another
     * log's head must not pass. */
    rc = coffre_checkpoint_open(note, len, v.name, &v, 1, &c);
    if (rc == COFFRE_OK) {
        *psize = c.size;
        memcpy(root, c.root, COFFRE_AUDIT_HASH_LEN);
    }
    coffre_checkpoint_clear(&c);
    return rc;
}

int
coffre_audit_verify_inclusion(const unsigned char leaf[COFFRE_AUDIT_HASH_LEN],
                              uint64_t index, uint64_t size,
                              const unsigned char *proof, size_t n,
                              const unsigned char root[COFFRE_AUDIT_HASH_LEN])
{
    return coffre_merkle_verify_inclusion(leaf, index, size, proof, n, root);
}

int
coffre_audit_verify_consistency(
    uint64_t m, uint64_t n, const unsigned char old_root[COFFRE_AUDIT_HASH_LEN],
    const unsigned char new_root[COFFRE_AUDIT_HASH_LEN],
    const unsigned char *proof, size_t k)
{
    return coffre_merkle_verify_consistency(m, n, old_root, new_root, proof, k);
}

int
coffre_audit_proof_json(const unsigned char *proof, size_t n, char **pjson)
{
    char b64[sodium_base64_ENCODED_LEN(COFFRE_AUDIT_HASH_LEN,
                                       sodium_base64_VARIANT_ORIGINAL)];
    json_t *o = json_object(), *a = json_array();
    int rc = COFFRE_ERR_NOMEM;

    if (o == NULL || a == NULL || json_object_set(o, "hashes", a) != 0) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        sodium_bin2base64(b64, sizeof(b64), proof + i * COFFRE_AUDIT_HASH_LEN,
                          COFFRE_AUDIT_HASH_LEN,
                          sodium_base64_VARIANT_ORIGINAL);
        if (json_array_append_new(a, json_string(b64)) != 0) {
            goto out;
        }
    }
    *pjson = json_dumps(o, JSON_COMPACT);
    rc = *pjson == NULL ? COFFRE_ERR_NOMEM : COFFRE_OK;
out:
    json_decref(a);
    json_decref(o);
    return rc;
}

/* A verifier's tree is the library's tree under a public name. */
struct coffre_audit_tree {
    struct coffre_merkle_tree *t;
};

int
coffre_audit_tree_new(struct coffre_audit_tree **pt)
{
    struct coffre_audit_tree *t = calloc(1, sizeof(*t));

    *pt = NULL;
    if (t == NULL || coffre_merkle_tree_new(&t->t) != COFFRE_OK) {
        free(t);
        return COFFRE_ERR_NOMEM;
    }
    *pt = t;
    return COFFRE_OK;
}

void
coffre_audit_tree_free(struct coffre_audit_tree *t)
{
    if (t != NULL) {
        coffre_merkle_tree_free(t->t);
        free(t);
    }
}

int
coffre_audit_tree_add(struct coffre_audit_tree *t, const unsigned char leaf[32])
{
    return coffre_merkle_tree_append(t->t, leaf);
}

uint64_t
coffre_audit_tree_size(const struct coffre_audit_tree *t)
{
    return coffre_merkle_tree_size(t->t);
}

int
coffre_audit_tree_root(const struct coffre_audit_tree *t, uint64_t size,
                       unsigned char root[32])
{
    return coffre_merkle_tree_root(t->t, size, root);
}

struct coffre_audit_file {
    FILE *f;
    uint64_t off;
};

int
coffre_audit_file_open(const char *path, struct coffre_audit_file **pf)
{
    struct coffre_audit_file *f = calloc(1, sizeof(*f));

    *pf = NULL;
    if (f == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    f->f = fopen(path, "rb");
    if (f->f == NULL) {
        int e = errno;

        free(f);
        return e == ENOENT ? COFFRE_ERR_NOTFOUND : COFFRE_ERR_IO;
    }
    *pf = f;
    return COFFRE_OK;
}

/* Read exactly n bytes: 1, 0 at a clean end before any byte, -1 cut short
 * or error (ferror tells which). */
static int
read_full(FILE *f, unsigned char *p, size_t n)
{
    size_t got = fread(p, 1, n, f);

    if (got == n) {
        return 1;
    }
    return got == 0 && !ferror(f) ? 0 : -1;
}

int
coffre_audit_file_next(struct coffre_audit_file *f, unsigned char *payload,
                       size_t cap, size_t *plen, unsigned char stored[32])
{
    unsigned char head[AUDIT_FRAME_HEAD];
    uint32_t len;
    int r = read_full(f->f, head, sizeof(head));

    if (r <= 0) {
        return ferror(f->f) ? COFFRE_ERR_IO
               : r == 0     ? COFFRE_ERR_NOTFOUND
                            : COFFRE_ERR_PARSE;
    }
    len = audit_be32(head);
    if (len > cap) {
        return COFFRE_ERR_TOOBIG;
    }
    if (read_full(f->f, payload, len) != 1 ||
        read_full(f->f, stored, AUDIT_FRAME_TAIL) != 1) {
        return ferror(f->f) ? COFFRE_ERR_IO : COFFRE_ERR_PARSE;
    }
    *plen = len;
    f->off += AUDIT_FRAME_OVERHEAD + (uint64_t)len;
    return COFFRE_OK;
}

uint64_t
coffre_audit_file_offset(const struct coffre_audit_file *f)
{
    return f->off;
}

void
coffre_audit_file_close(struct coffre_audit_file *f)
{
    if (f != NULL) {
        fclose(f->f);
        free(f);
    }
}
