/*
 * The storage conformance suite (see conformance.h). Each case opens a
 * fresh store, so cases are independent and any one can fail alone.
 */
#include "conformance.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/secmem.h"

static int (*fresh_fn)(struct coffre_store **ps, void *ctx);
static void *fresh_ctx;

#define S (st->ops)

/* A person row with its own ciphertext storage. */
struct fix {
    struct coffre_store_person row;
    struct coffre_store_dkey dk;
    unsigned char ct[COFFRE_CLASS_COUNT][96];
};

static struct coffre_store *
fresh(void)
{
    struct coffre_store *st = NULL;
    static const unsigned char kek[40] = {1, 2, 3};

    if (fresh_fn(&st, fresh_ctx) != COFFRE_OK || st == NULL) {
        check_record(0, "open_fresh", __FILE__, __LINE__);
        exit(1);
    }
    /* data keys reference their key-encryption key: version 1 exists */
    CHECK_RC(S->kek_put(st, 1, kek, sizeof(kek)), COFFRE_OK);
    return st;
}

static void
tag_of(unsigned char t[COFFRE_TAG_LEN], int kind, unsigned v)
{
    memset(t, 0, COFFRE_TAG_LEN);
    t[0] = (unsigned char)kind;
    t[1] = (unsigned char)v;
    t[2] = (unsigned char)(v >> 8);
    t[15] = 0xa5;
}

/* A person with every class and tag; seed varies the bytes. */
static void
fix_make(struct fix *f, uint64_t id, unsigned seed)
{
    memset(f, 0, sizeof(*f));
    f->row.id = id;
    f->row.state = COFFRE_STATE_SUBMITTED;
    f->row.epoch = 3;
    f->row.dk_gen = 1;
    f->row.retain_until = 2000000000;
    f->row.updated = 1700000000;
    for (int k = 0; k < COFFRE_TAG_COUNT; k++) {
        tag_of(f->row.tags[k], k, seed);
        f->row.tag_mask |= 1u << k;
    }
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        memset(f->ct[c], (int)(seed * 7 + (unsigned)c), sizeof(f->ct[c]));
        f->row.ct[c] = f->ct[c];
        f->row.ct_len[c] = 40 + (size_t)c * 9;
    }
    f->dk.id = id;
    f->dk.kek_version = 1;
    f->dk.epoch = 3;
    f->dk.len = 72;
    memset(f->dk.wrapped, (int)(seed + 1), f->dk.len);
}

static uint64_t
put(struct coffre_store *st, unsigned seed, struct fix *f)
{
    uint64_t id = 0;

    CHECK_RC(S->id_reserve(st, 1, &id), COFFRE_OK);
    fix_make(f, id, seed);
    CHECK_RC(S->person_insert(st, &f->row, &f->dk), COFFRE_OK);
    return id;
}

static int
row_equal(const struct coffre_store_person *a,
          const struct coffre_store_person *b, unsigned classes)
{
    if (a->id != b->id || a->state != b->state || a->epoch != b->epoch ||
        a->dk_gen != b->dk_gen || a->retain_until != b->retain_until ||
        a->deadline != b->deadline || a->updated != b->updated ||
        a->tag_mask != b->tag_mask) {
        return 0;
    }
    for (int k = 0; k < COFFRE_TAG_COUNT; k++) {
        if ((a->tag_mask >> k) & 1u &&
            memcmp(a->tags[k], b->tags[k], COFFRE_TAG_LEN) != 0) {
            return 0;
        }
    }
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        int want = (classes & COFFRE_CLASS_BIT(c)) && a->ct[c] != NULL;
        if (want != (b->ct[c] != NULL)) {
            return 0;
        }
        if (want && (a->ct_len[c] != b->ct_len[c] ||
                     memcmp(a->ct[c], b->ct[c], a->ct_len[c]) != 0)) {
            return 0;
        }
    }
    return 1;
}

static int
dk_equal(const struct coffre_store_dkey *a, const struct coffre_store_dkey *b)
{
    return a->id == b->id && a->kek_version == b->kek_version &&
           a->epoch == b->epoch && a->len == b->len &&
           memcmp(a->wrapped, b->wrapped, a->len) == 0;
}

static void
case_meta(void)
{
    struct coffre_store *st = fresh();
    struct coffre_buf b;

    coffre_buf_init(&b, 64);
    CHECK_RC(S->meta_get(st, "vault_id", &b), COFFRE_ERR_NOTFOUND);
    CHECK_RC(S->meta_put(st, "vault_id", "abc", 3), COFFRE_OK);
    CHECK_RC(S->meta_get(st, "vault_id", &b), COFFRE_OK);
    CHECK(b.len == 3 && memcmp(b.p, "abc", 3) == 0);
    CHECK_RC(S->meta_put(st, "vault_id", "\0xyzw", 5), COFFRE_OK);
    CHECK_RC(S->meta_get(st, "vault_id", &b), COFFRE_OK);
    CHECK(b.len == 5 && memcmp(b.p, "\0xyzw", 5) == 0);
    CHECK_RC(S->meta_put(st, "empty", "", 0), COFFRE_OK);
    CHECK_RC(S->meta_get(st, "empty", &b), COFFRE_OK);
    CHECK(b.len == 0);
    CHECK_RC(S->meta_put(st, "store.next_id", "x", 1), COFFRE_ERR_ARG);
    CHECK_RC(S->meta_get(st, "store.next_id", &b), COFFRE_ERR_ARG);
    /* meta_add: only a key not present, the value kept */
    CHECK_RC(S->meta_add(st, "vault_id", "new", 3), COFFRE_ERR_EXISTS);
    CHECK_RC(S->meta_get(st, "vault_id", &b), COFFRE_OK);
    CHECK(b.len == 5 && memcmp(b.p, "\0xyzw", 5) == 0);
    CHECK_RC(S->meta_add(st, "added", "a", 1), COFFRE_OK);
    CHECK_RC(S->meta_get(st, "added", &b), COFFRE_OK);
    CHECK(b.len == 1 && b.p[0] == 'a');
    CHECK_RC(S->meta_add(st, "store.x", "x", 1), COFFRE_ERR_ARG);
    coffre_buf_free(&b);
    coffre_buf_init(&b, 2);
    CHECK_RC(S->meta_get(st, "vault_id", &b), COFFRE_ERR_TOOBIG);
    coffre_buf_free(&b);
    coffre_store_close(st);
}

static void
case_kek(void)
{
    struct coffre_store *st = fresh();
    struct coffre_buf b;
    uint32_t v[4];
    size_t n = 0;
    struct fix f;

    coffre_buf_init(&b, COFFRE_WRAPPED_MAX);
    CHECK_RC(S->kek_put(st, 3, "k3", 2), COFFRE_OK);
    CHECK_RC(S->kek_put(st, 2, "k2", 2), COFFRE_OK);
    CHECK_RC(S->kek_put(st, 2, "zz", 2), COFFRE_ERR_EXISTS);
    CHECK_RC(S->kek_get(st, 2, &b), COFFRE_OK);
    CHECK(b.len == 2 && memcmp(b.p, "k2", 2) == 0);
    CHECK_RC(S->kek_get(st, 9, &b), COFFRE_ERR_NOTFOUND);
    CHECK_RC(S->kek_list(st, v, 4, &n), COFFRE_OK);
    CHECK(n == 3 && v[0] == 1 && v[1] == 2 && v[2] == 3);
    CHECK_RC(S->kek_list(st, v, 1, &n), COFFRE_OK);
    CHECK(n == 3 && v[0] == 1);
    CHECK_RC(S->kek_delete(st, 2), COFFRE_OK);
    CHECK_RC(S->kek_delete(st, 2), COFFRE_ERR_NOTFOUND);
    CHECK_RC(S->kek_get(st, 2, &b), COFFRE_ERR_NOTFOUND);
    CHECK_RC(S->kek_list(st, v, 4, &n), COFFRE_OK);
    CHECK(n == 2 && v[0] == 1 && v[1] == 3);
    (void)put(st, 1, &f);
    CHECK_RC(S->kek_delete(st, 1), COFFRE_ERR_INUSE);
    CHECK_RC(S->kek_get(st, 1, &b), COFFRE_OK);
    coffre_buf_free(&b);
    coffre_store_close(st);
}

static void
case_epoch(void)
{
    struct coffre_store *st = fresh();
    struct coffre_buf b;
    uint64_t n = 99;

    coffre_buf_init(&b, COFFRE_WRAPPED_MAX);
    CHECK_RC(S->epoch_get(st, 7, &b), COFFRE_ERR_NOTFOUND);
    CHECK_RC(S->epoch_put(st, 7, "e7", 2), COFFRE_OK);
    CHECK_RC(S->epoch_put(st, 7, "e7", 2), COFFRE_ERR_EXISTS);
    CHECK_RC(S->epoch_get(st, 7, &b), COFFRE_OK);
    CHECK(b.len == 2 && memcmp(b.p, "e7", 2) == 0);
    CHECK_RC(S->epoch_erase(st, 7, &n), COFFRE_OK);
    CHECK(n == 0);
    CHECK_RC(S->epoch_get(st, 7, &b), COFFRE_ERR_ERASED);
    CHECK_RC(S->epoch_put(st, 7, "e7", 2), COFFRE_ERR_ERASED);
    CHECK_RC(S->epoch_erase(st, 7, &n), COFFRE_ERR_ERASED);
    CHECK_RC(S->epoch_erase(st, 8, &n), COFFRE_ERR_NOTFOUND);
    coffre_buf_free(&b);
    coffre_store_close(st);
}

static void
case_id_reserve(void)
{
    struct coffre_store *st = fresh();
    uint64_t a = 0, b = 0, c = 0, d = 0;

    CHECK_RC(S->id_reserve(st, 1, &a), COFFRE_OK);
    CHECK(a >= 1);
    CHECK_RC(S->id_reserve(st, 100, &b), COFFRE_OK);
    CHECK(b > a);
    CHECK_RC(S->id_reserve(st, 1, &c), COFFRE_OK);
    CHECK(c >= b + 100);
    CHECK_RC(S->id_reserve(st, 0, &d), COFFRE_ERR_ARG);
    /* a rolled-back reservation is not handed out again */
    CHECK_RC(S->begin(st), COFFRE_OK);
    CHECK_RC(S->id_reserve(st, 5, &d), COFFRE_OK);
    CHECK(d > c);
    CHECK_RC(S->rollback(st), COFFRE_OK);
    CHECK_RC(S->id_reserve(st, 1, &a), COFFRE_OK);
    CHECK(a >= d + 5);
    coffre_store_close(st);
}

static void
case_round_trip(void)
{
    struct coffre_store *st = fresh();
    struct coffre_store_person got;
    struct coffre_store_dkey dk;
    struct fix f, g;
    uint64_t id = put(st, 1, &f);
    unsigned some = COFFRE_CLASS_BIT(COFFRE_CLASS_IDENTITY) |
                    COFFRE_CLASS_BIT(COFFRE_CLASS_VETTING);

    CHECK_RC(S->person_get(st, id, COFFRE_CLASSES_ALL, &got, &dk), COFFRE_OK);
    CHECK(row_equal(&f.row, &got, COFFRE_CLASSES_ALL));
    CHECK(dk_equal(&f.dk, &dk));
    coffre_store_person_clear(&got);
    CHECK_RC(S->person_get(st, id, some, &got, NULL), COFFRE_OK);
    CHECK(row_equal(&f.row, &got, some));
    coffre_store_person_clear(&got);
    CHECK_RC(S->person_get(st, id, 0, &got, NULL), COFFRE_OK);
    CHECK(row_equal(&f.row, &got, 0));
    coffre_store_person_clear(&got);

    /* absent classes and tags stay absent */
    CHECK_RC(S->id_reserve(st, 1, &id), COFFRE_OK);
    fix_make(&g, id, 2);
    g.row.ct[COFFRE_CLASS_PHOTO] = NULL;
    g.row.ct[COFFRE_CLASS_CONTACT] = NULL;
    g.row.tag_mask = 1u << COFFRE_TAG_SOURCE;
    g.row.deadline = -5;
    CHECK_RC(S->person_insert(st, &g.row, &g.dk), COFFRE_OK);
    CHECK_RC(S->person_get(st, id, COFFRE_CLASSES_ALL, &got, &dk), COFFRE_OK);
    CHECK(row_equal(&g.row, &got, COFFRE_CLASSES_ALL));
    CHECK(got.ct[COFFRE_CLASS_PHOTO] == NULL && got.tag_mask == 8u);
    coffre_store_person_clear(&got);
    CHECK_RC(S->person_get(st, id + 1000, 1, &got, NULL), COFFRE_ERR_NOTFOUND);
    CHECK_RC(S->person_get(st, 0, 1, &got, NULL), COFFRE_ERR_NOTFOUND);
    coffre_store_close(st);
}

static void
case_wiped(void)
{
    struct coffre_store *st = fresh();
    struct coffre_store_person got;
    struct fix f;
    uint64_t id = put(st, 4, &f);
    size_t v0;

    check_secmem_watch();
    v0 = check_secmem_violations();
    CHECK_RC(S->person_get(st, id, COFFRE_CLASSES_ALL, &got, NULL), COFFRE_OK);
    coffre_store_person_clear(&got);
    CHECK(check_secmem_violations() == v0);
    CHECK(got.ct[0] == NULL && got.id == 0);
    coffre_store_close(st);
}

static void
case_exists(void)
{
    struct coffre_store *st = fresh();
    struct coffre_store_person got;
    struct fix f, g;
    uint64_t id = put(st, 1, &f);

    fix_make(&g, id, 2);
    CHECK_RC(S->person_insert(st, &g.row, &g.dk), COFFRE_ERR_EXISTS);
    /* inside a transaction the failed insert changes nothing, and the
     * transaction goes on */
    CHECK_RC(S->begin(st), COFFRE_OK);
    CHECK_RC(S->person_insert(st, &g.row, &g.dk), COFFRE_ERR_EXISTS);
    (void)put(st, 3, &g);
    CHECK_RC(S->commit(st), COFFRE_OK);
    CHECK_RC(S->person_get(st, id, COFFRE_CLASSES_ALL, &got, NULL), COFFRE_OK);
    CHECK(row_equal(&f.row, &got, COFFRE_CLASSES_ALL));
    coffre_store_person_clear(&got);
    CHECK_RC(S->person_get(st, g.row.id, 0, &got, NULL), COFFRE_OK);
    /* a data key whose id differs from the row's is a programmer error */
    fix_make(&g, id + 100, 5);
    g.dk.id = id + 101;
    CHECK_RC(S->person_insert(st, &g.row, &g.dk), COFFRE_ERR_ARG);
    CHECK_RC(S->person_insert(st, &g.row, NULL), COFFRE_ERR_ARG);
    coffre_store_close(st);
}

static void
case_update(void)
{
    struct coffre_store *st = fresh();
    struct coffre_store_person got;
    struct coffre_store_dkey dk;
    struct fix f, g;
    uint64_t id = put(st, 1, &f);

    fix_make(&g, id, 9);
    g.row.ct[COFFRE_CLASS_DOCUMENT] = NULL;
    g.row.tag_mask &= ~(1u << COFFRE_TAG_EMAIL);
    g.row.dk_gen = 2;
    g.row.state = COFFRE_STATE_APPROVED;
    CHECK_RC(S->person_update(st, &g.row, NULL), COFFRE_OK);
    CHECK_RC(S->person_get(st, id, COFFRE_CLASSES_ALL, &got, &dk), COFFRE_OK);
    CHECK(row_equal(&g.row, &got, COFFRE_CLASSES_ALL));
    CHECK(dk_equal(&f.dk, &dk)); /* data key kept */
    coffre_store_person_clear(&got);
    CHECK_RC(S->person_update(st, &g.row, &g.dk), COFFRE_OK);
    CHECK_RC(S->person_get(st, id, 0, &got, &dk), COFFRE_OK);
    CHECK(dk_equal(&g.dk, &dk)); /* data key replaced */
    coffre_store_person_clear(&got);
    g.row.state = COFFRE_STATE_ERASED;
    CHECK_RC(S->person_update(st, &g.row, NULL), COFFRE_ERR_ARG);
    fix_make(&g, id + 50, 9);
    CHECK_RC(S->person_update(st, &g.row, NULL), COFFRE_ERR_NOTFOUND);
    CHECK_RC(S->person_erase(st, id), COFFRE_OK);
    fix_make(&g, id, 9);
    CHECK_RC(S->person_update(st, &g.row, NULL), COFFRE_ERR_ERASED);
    coffre_store_close(st);
}

static void
case_set_state(void)
{
    struct coffre_store *st = fresh();
    struct coffre_store_person got;
    struct fix f;
    uint64_t id = put(st, 1, &f);

    CHECK_RC(S->person_set_state(st, id, COFFRE_STATE_VETTING, 1234),
             COFFRE_OK);
    CHECK_RC(S->person_get(st, id, 0, &got, NULL), COFFRE_OK);
    CHECK(got.state == COFFRE_STATE_VETTING && got.deadline == 1234);
    CHECK(got.updated > 1700000000);
    CHECK(got.tag_mask == f.row.tag_mask && got.epoch == f.row.epoch);
    coffre_store_person_clear(&got);
    CHECK_RC(S->person_set_state(st, id, COFFRE_STATE_APPROVED, 0), COFFRE_OK);
    CHECK_RC(S->person_get(st, id, 0, &got, NULL), COFFRE_OK);
    CHECK(got.state == COFFRE_STATE_APPROVED && got.deadline == 0);
    coffre_store_person_clear(&got);
    CHECK_RC(S->person_set_state(st, id, COFFRE_STATE_ERASED, 0),
             COFFRE_ERR_ARG);
    CHECK_RC(S->person_set_state(st, id, 99, 0), COFFRE_ERR_ARG);
    CHECK_RC(S->person_set_state(st, id + 9, COFFRE_STATE_VETTING, 0),
             COFFRE_ERR_NOTFOUND);
    CHECK_RC(S->person_erase(st, id), COFFRE_OK);
    CHECK_RC(S->person_set_state(st, id, COFFRE_STATE_VETTING, 0),
             COFFRE_ERR_ERASED);
    coffre_store_close(st);
}

static void
case_find(void)
{
    struct coffre_store *st = fresh();
    unsigned char t[COFFRE_TAG_LEN];
    uint64_t first = 0, ids[8];
    size_t n = 0;
    struct fix f;

    /* ids 3, 1, 2 of the block, inserted in that order, share seed 7 */
    CHECK_RC(S->id_reserve(st, 4, &first), COFFRE_OK);
    for (unsigned i = 0; i < 4; i++) {
        uint64_t id = first + (i == 0 ? 3 : i == 1 ? 1 : i == 2 ? 2 : 0);
        fix_make(&f, id, i < 3 ? 7 : 8);
        CHECK_RC(S->person_insert(st, &f.row, &f.dk), COFFRE_OK);
    }
    for (int k = 0; k < COFFRE_TAG_COUNT; k++) {
        tag_of(t, k, 7);
        CHECK_RC(S->person_find(st, (enum coffre_tag_kind)k, t, ids, 8, &n),
                 COFFRE_OK);
        CHECK(n == 3 && ids[0] == first + 1 && ids[1] == first + 2 &&
              ids[2] == first + 3);
    }
    tag_of(t, COFFRE_TAG_EMAIL, 7);
    CHECK_RC(S->person_find(st, COFFRE_TAG_EMAIL, t, ids, 2, &n), COFFRE_OK);
    CHECK(n == 3 && ids[0] == first + 1 && ids[1] == first + 2);
    CHECK_RC(S->person_find(st, COFFRE_TAG_EMAIL, t, NULL, 0, &n), COFFRE_OK);
    CHECK(n == 3);
    tag_of(t, COFFRE_TAG_EMAIL, 8);
    CHECK_RC(S->person_find(st, COFFRE_TAG_EMAIL, t, ids, 8, &n), COFFRE_OK);
    CHECK(n == 1 && ids[0] == first);
    /* a tag of another kind does not match */
    tag_of(t, COFFRE_TAG_DOCUMENT, 8);
    CHECK_RC(S->person_find(st, COFFRE_TAG_EMAIL, t, ids, 8, &n), COFFRE_OK);
    CHECK(n == 0);
    CHECK_RC(S->person_find(st, COFFRE_TAG_COUNT, t, ids, 8, &n),
             COFFRE_ERR_ARG);
    coffre_store_close(st);
}

static void
case_list(void)
{
    struct coffre_store *st = fresh();
    unsigned char cat[COFFRE_TAG_LEN];
    uint64_t first = 0, ids[16], after;
    size_t n = 0, total;
    struct fix f;

    /* 10 persons: seed i % 2 gives two categories; even ones in vetting */
    CHECK_RC(S->id_reserve(st, 10, &first), COFFRE_OK);
    for (unsigned i = 0; i < 10; i++) {
        fix_make(&f, first + i, i % 2);
        f.row.state = i % 2 == 0 ? COFFRE_STATE_VETTING : COFFRE_STATE_APPROVED;
        CHECK_RC(S->person_insert(st, &f.row, &f.dk), COFFRE_OK);
    }
    CHECK_RC(S->person_erase(st, first + 9), COFFRE_OK);
    CHECK_RC(S->person_list(st, -1, NULL, 0, ids, 16, &n), COFFRE_OK);
    CHECK(n == 9 && ids[0] == first && ids[8] == first + 8);
    CHECK_RC(S->person_list(st, COFFRE_STATE_VETTING, NULL, 0, ids, 16, &n),
             COFFRE_OK);
    CHECK(n == 5 && ids[1] == first + 2);
    tag_of(cat, COFFRE_TAG_CATEGORY, 1);
    CHECK_RC(S->person_list(st, -1, cat, 0, ids, 16, &n), COFFRE_OK);
    CHECK(n == 4 && ids[0] == first + 1 && ids[3] == first + 7);
    CHECK_RC(S->person_list(st, COFFRE_STATE_VETTING, cat, 0, ids, 16, &n),
             COFFRE_OK);
    CHECK(n == 0);
    tag_of(cat, COFFRE_TAG_CATEGORY, 0);
    CHECK_RC(
        S->person_list(st, COFFRE_STATE_VETTING, cat, first + 2, ids, 16, &n),
        COFFRE_OK);
    CHECK(n == 3 && ids[0] == first + 4);
    /* pagination by cursor, 4 at a time, sees every live id once */
    total = 0;
    after = 0;
    do {
        CHECK_RC(S->person_list(st, -1, NULL, after, ids, 4, &n), COFFRE_OK);
        for (size_t i = 0; i < n; i++) {
            CHECK(ids[i] == first + total + i);
        }
        total += n;
        after = n > 0 ? ids[n - 1] : after;
    } while (n == 4);
    CHECK(total == 9);
    CHECK_RC(S->person_list(st, COFFRE_STATE_ERASED, NULL, 0, ids, 16, &n),
             COFFRE_OK);
    CHECK(n == 0);
    coffre_store_close(st);
}

static void
case_due(void)
{
    struct coffre_store *st = fresh();
    uint64_t a, b, c, d, ids[8];
    size_t n = 0;
    struct fix f;

    a = put(st, 1, &f);
    b = put(st, 2, &f);
    c = put(st, 3, &f);
    d = put(st, 4, &f);
    CHECK_RC(S->person_set_state(st, a, COFFRE_STATE_VETTING, 100), 0);
    CHECK_RC(S->person_set_state(st, b, COFFRE_STATE_VETTING, 300), 0);
    CHECK_RC(S->person_set_state(st, c, COFFRE_STATE_VETTING, 0), 0);
    /* a deadline outside vetting is not due */
    CHECK_RC(S->person_set_state(st, d, COFFRE_STATE_APPROVED, 100), 0);
    CHECK_RC(S->person_due(st, 0, 200, ids, 8, &n), COFFRE_OK);
    CHECK(n == 1 && ids[0] == a);
    CHECK_RC(S->person_due(st, 0, 301, ids, 8, &n), COFFRE_OK);
    CHECK(n == 2 && ids[0] == a && ids[1] == b);
    CHECK_RC(S->person_due(st, 0, 301, ids, 1, &n), COFFRE_OK);
    CHECK(n == 1 && ids[0] == a);
    CHECK_RC(S->person_due(st, 0, 100, ids, 8, &n), COFFRE_OK);
    CHECK(n == 0);
    /* retention: fix_make sets retain_until = 2000000000 */
    CHECK_RC(S->person_due(st, 1, 2000000000, ids, 8, &n), COFFRE_OK);
    CHECK(n == 0);
    CHECK_RC(S->person_erase(st, c), COFFRE_OK);
    CHECK_RC(S->person_due(st, 1, 2000000001, ids, 8, &n), COFFRE_OK);
    CHECK(n == 3 && ids[0] == a && ids[1] == b && ids[2] == d);
    CHECK_RC(S->person_due(st, 2, 0, ids, 8, &n), COFFRE_ERR_ARG);
    coffre_store_close(st);
}

static void
case_erase(void)
{
    struct coffre_store *st = fresh();
    struct coffre_store_person got;
    unsigned char t[COFFRE_TAG_LEN];
    uint64_t a, b, ids[4], live, erased, cnt;
    size_t n = 0;
    struct fix f;

    a = put(st, 1, &f);
    b = put(st, 2, &f);
    CHECK_RC(S->dkey_count(st, 1, &cnt), COFFRE_OK);
    CHECK(cnt == 2);
    CHECK_RC(S->person_erase(st, a), COFFRE_OK);
    CHECK_RC(S->person_get(st, a, COFFRE_CLASSES_ALL, &got, NULL),
             COFFRE_ERR_ERASED);
    CHECK(got.ct[0] == NULL && got.ct[COFFRE_CLASS_PHOTO] == NULL);
    coffre_store_person_clear(&got);
    for (int k = 0; k < COFFRE_TAG_COUNT; k++) {
        tag_of(t, k, 1);
        CHECK_RC(S->person_find(st, (enum coffre_tag_kind)k, t, ids, 4, &n),
                 COFFRE_OK);
        CHECK(n == 0);
    }
    CHECK_RC(S->dkey_count(st, 1, &cnt), COFFRE_OK);
    CHECK(cnt == 1);
    CHECK_RC(S->person_erase(st, a), COFFRE_ERR_ERASED);
    CHECK_RC(S->person_erase(st, b + 100), COFFRE_ERR_NOTFOUND);
    CHECK_RC(S->stats(st, &live, &erased), COFFRE_OK);
    CHECK(live == 1 && erased == 1);
    /* the id stays taken by its tombstone */
    fix_make(&f, a, 5);
    CHECK_RC(S->person_insert(st, &f.row, &f.dk), COFFRE_ERR_EXISTS);
    CHECK_RC(S->person_get(st, b, 0, &got, NULL), COFFRE_OK);
    coffre_store_person_clear(&got);
    coffre_store_close(st);
}

static void
case_epoch_erase(void)
{
    struct coffre_store *st = fresh();
    struct coffre_store_person got;
    struct coffre_buf bk;
    uint64_t ids[6], cnt = 0, live, erased;
    struct fix f;

    coffre_buf_init(&bk, COFFRE_WRAPPED_MAX);
    CHECK_RC(S->epoch_put(st, 5, "five", 4), COFFRE_OK);
    CHECK_RC(S->epoch_put(st, 6, "six", 3), COFFRE_OK);
    for (unsigned i = 0; i < 6; i++) {
        CHECK_RC(S->id_reserve(st, 1, &ids[i]), COFFRE_OK);
        fix_make(&f, ids[i], i);
        f.row.epoch = f.dk.epoch = i < 4 ? 5 : 6;
        CHECK_RC(S->person_insert(st, &f.row, &f.dk), COFFRE_OK);
    }
    CHECK_RC(S->person_erase(st, ids[0]), COFFRE_OK);
    CHECK_RC(S->epoch_erase(st, 5, &cnt), COFFRE_OK);
    CHECK(cnt == 3); /* ids[0] was erased already */
    CHECK_RC(S->epoch_get(st, 5, &bk), COFFRE_ERR_ERASED);
    CHECK_RC(S->epoch_get(st, 6, &bk), COFFRE_OK);
    for (unsigned i = 0; i < 6; i++) {
        CHECK_RC(S->person_get(st, ids[i], COFFRE_CLASSES_ALL, &got, NULL),
                 i < 4 ? COFFRE_ERR_ERASED : COFFRE_OK);
        coffre_store_person_clear(&got);
    }
    CHECK_RC(S->stats(st, &live, &erased), COFFRE_OK);
    CHECK(live == 2 && erased == 4);
    CHECK_RC(S->dkey_count(st, 1, &cnt), COFFRE_OK);
    CHECK(cnt == 2);
    coffre_buf_free(&bk);
    coffre_store_close(st);
}

static void
case_rewrap(void)
{
    struct coffre_store *st = fresh();
    struct coffre_store_dkey out[8], dk;
    struct coffre_store_person got;
    uint64_t ids[5], cnt = 0;
    size_t n = 0;
    struct fix f;

    CHECK_RC(S->kek_put(st, 2, "k2", 2), COFFRE_OK);
    CHECK_RC(S->kek_put(st, 3, "k3", 2), COFFRE_OK);
    for (unsigned i = 0; i < 5; i++) {
        CHECK_RC(S->id_reserve(st, 1, &ids[i]), COFFRE_OK);
        fix_make(&f, ids[i], i);
        f.dk.kek_version = i == 1 ? 2 : 1;
        CHECK_RC(S->person_insert(st, &f.row, &f.dk), COFFRE_OK);
    }
    CHECK_RC(S->dkey_list_below(st, 2, out, 8, &n), COFFRE_OK);
    CHECK(n == 4 && out[0].id == ids[0] && out[1].id == ids[2]);
    CHECK(out[0].kek_version == 1 && out[0].len == 72 && out[0].epoch == 3);
    /* oldest version first, then by id */
    CHECK_RC(S->dkey_list_below(st, 3, out, 8, &n), COFFRE_OK);
    CHECK(n == 5 && out[3].id == ids[4] && out[4].id == ids[1]);
    CHECK_RC(S->dkey_list_below(st, 3, out, 2, &n), COFFRE_OK);
    CHECK(n == 2 && out[1].id == ids[2]);
    dk = out[0];
    dk.kek_version = 3;
    memset(dk.wrapped, 0xee, dk.len);
    CHECK_RC(S->dkey_update(st, &dk), COFFRE_OK);
    CHECK_RC(S->person_get(st, dk.id, 0, &got, out), COFFRE_OK);
    CHECK(dk_equal(&dk, &out[0]));
    coffre_store_person_clear(&got);
    CHECK_RC(S->dkey_count(st, 1, &cnt), COFFRE_OK);
    CHECK(cnt == 3);
    CHECK_RC(S->dkey_count(st, 3, &cnt), COFFRE_OK);
    CHECK(cnt == 1);
    CHECK_RC(S->dkey_count(st, 9, &cnt), COFFRE_OK);
    CHECK(cnt == 0);
    dk.id = ids[4] + 10;
    CHECK_RC(S->dkey_update(st, &dk), COFFRE_ERR_NOTFOUND);
    CHECK_RC(S->person_erase(st, ids[3]), COFFRE_OK);
    dk.id = ids[3];
    CHECK_RC(S->dkey_update(st, &dk), COFFRE_ERR_ERASED);
    CHECK_RC(S->kek_delete(st, 2), COFFRE_ERR_INUSE);
    coffre_store_close(st);
}

static void
case_transactions(void)
{
    struct coffre_store *st = fresh();
    struct coffre_store_person got;
    struct coffre_buf b;
    uint64_t a, live = 9, erased = 9;
    struct fix f;

    coffre_buf_init(&b, 16);
    CHECK_RC(S->commit(st), COFFRE_ERR_ARG);
    CHECK_RC(S->rollback(st), COFFRE_ERR_ARG);
    CHECK_RC(S->begin(st), COFFRE_OK);
    CHECK_RC(S->begin(st), COFFRE_ERR_ARG);
    a = put(st, 1, &f);
    CHECK_RC(S->meta_put(st, "k", "v", 1), COFFRE_OK);
    CHECK_RC(S->person_get(st, a, 0, &got, NULL), COFFRE_OK);
    coffre_store_person_clear(&got);
    CHECK_RC(S->rollback(st), COFFRE_OK);
    CHECK_RC(S->person_get(st, a, 0, &got, NULL), COFFRE_ERR_NOTFOUND);
    CHECK_RC(S->meta_get(st, "k", &b), COFFRE_ERR_NOTFOUND);
    CHECK_RC(S->stats(st, &live, &erased), COFFRE_OK);
    CHECK(live == 0 && erased == 0);
    /* an erasure rolled back is undone too */
    a = put(st, 2, &f);
    CHECK_RC(S->begin(st), COFFRE_OK);
    CHECK_RC(S->person_erase(st, a), COFFRE_OK);
    CHECK_RC(S->rollback(st), COFFRE_OK);
    CHECK_RC(S->person_get(st, a, 1, &got, NULL), COFFRE_OK);
    coffre_store_person_clear(&got);
    CHECK_RC(S->begin(st), COFFRE_OK);
    CHECK_RC(S->person_erase(st, a), COFFRE_OK);
    CHECK_RC(S->commit(st), COFFRE_OK);
    CHECK_RC(S->person_get(st, a, 1, &got, NULL), COFFRE_ERR_ERASED);
    coffre_buf_free(&b);
    coffre_store_close(st);
}

static void
case_large(void)
{
    struct coffre_store *st = fresh();
    struct coffre_store_person got;
    size_t big = 300u * 1024u;
    unsigned char *photo = malloc(COFFRE_STORE_CT_MAX + 1);
    struct fix f;
    uint64_t id;

    CHECK(photo != NULL);
    for (size_t i = 0; i <= COFFRE_STORE_CT_MAX; i++) {
        photo[i] = (unsigned char)(i * 31 + i / 251);
    }
    CHECK_RC(S->id_reserve(st, 1, &id), COFFRE_OK);
    fix_make(&f, id, 1);
    f.row.ct[COFFRE_CLASS_PHOTO] = photo;
    f.row.ct_len[COFFRE_CLASS_PHOTO] = big;
    CHECK_RC(S->person_insert(st, &f.row, &f.dk), COFFRE_OK);
    CHECK_RC(
        S->person_get(st, id, COFFRE_CLASS_BIT(COFFRE_CLASS_PHOTO), &got, NULL),
        COFFRE_OK);
    CHECK(got.ct_len[COFFRE_CLASS_PHOTO] == big &&
          memcmp(got.ct[COFFRE_CLASS_PHOTO], photo, big) == 0);
    coffre_store_person_clear(&got);
    CHECK_RC(S->id_reserve(st, 1, &id), COFFRE_OK);
    fix_make(&f, id, 1);
    f.row.ct[COFFRE_CLASS_PHOTO] = photo;
    f.row.ct_len[COFFRE_CLASS_PHOTO] = COFFRE_STORE_CT_MAX + 1;
    CHECK_RC(S->person_insert(st, &f.row, &f.dk), COFFRE_ERR_TOOBIG);
    free(photo);
    coffre_store_close(st);
}

/* Bulk loading (optional): every answer the same while indexes are
 * deferred and after they are built again. */
static void
bulk_check(struct coffre_store *st, uint64_t first, unsigned last_seed)
{
    unsigned char t[COFFRE_TAG_LEN];
    uint64_t ids[4];
    size_t got = 0;
    struct coffre_store_dkey out[4];

    for (int k = 0; k < COFFRE_TAG_COUNT; k++) {
        tag_of(t, k, last_seed); /* the last one written */
        CHECK_RC(S->person_find(st, (enum coffre_tag_kind)k, t, ids, 4, &got),
                 COFFRE_OK);
        CHECK(got == 1 && ids[0] == first + 19);
    }
    CHECK_RC(
        S->person_list(st, COFFRE_STATE_SUBMITTED, NULL, first, ids, 4, &got),
        COFFRE_OK);
    CHECK(got == 4 && ids[0] == first + 1 && ids[3] == first + 4);
    CHECK_RC(S->dkey_list_below(st, 2, out, 4, &got), COFFRE_OK);
    CHECK(got == 4 && out[0].id < out[1].id && out[0].kek_version == 1);
}

static void
case_bulk_load(void)
{
    struct coffre_store *st = fresh();
    uint64_t first = 0, id = 0;
    struct fix f;

    if (S->bulk_load == NULL) { /* the backend has nothing to defer */
        coffre_store_close(st);
        return;
    }
    CHECK_RC(S->bulk_load(st, 3), COFFRE_ERR_ARG);
    CHECK_RC(S->begin(st), COFFRE_OK);
    CHECK_RC(S->bulk_load(st, COFFRE_BULK_NEW), COFFRE_ERR_ARG);
    CHECK_RC(S->rollback(st), COFFRE_OK);
    for (int mode = COFFRE_BULK_IMPORT; mode <= COFFRE_BULK_NEW; mode++) {
        CHECK_RC(S->bulk_load(st, mode), COFFRE_OK);
        CHECK_RC(S->begin(st), COFFRE_OK);
        for (unsigned i = 0; i < 20; i++) {
            CHECK_RC(S->id_reserve(st, 1, &id), COFFRE_OK);
            first = i == 0 ? id : first;
            fix_make(&f, id, i + (unsigned)mode * 100);
            CHECK_RC(S->person_insert(st, &f.row, &f.dk), COFFRE_OK);
        }
        CHECK_RC(S->commit(st), COFFRE_OK);
        bulk_check(st, first, (unsigned)mode * 100 + 19);
        CHECK_RC(S->bulk_load(st, COFFRE_BULK_OFF), COFFRE_OK);
        bulk_check(st, first, (unsigned)mode * 100 + 19);
    }
    coffre_store_close(st);
}

/* Raw scans (store copy): every row in key order, tombstones and
 * destroyed epochs included, the backend's own meta left out; rows put
 * back raw into another fresh store read back equal; the id counter
 * moves forward only. */
static void
case_raw_scan(void)
{
    struct coffre_store *st = fresh(), *to = fresh();
    struct coffre_store_person row, back;
    struct coffre_store_dkey dk, dk2;
    struct fix f[3];
    struct coffre_buf b;
    char key[COFFRE_STORE_KEY_MAX + 1];
    uint64_t ids[3], n = 0, next = 0, after = 0;
    uint32_t e = 0;
    int has = 0, dead = 0, seen = 0;
    static const unsigned char w[8] = {9, 9};

    coffre_buf_init(&b, COFFRE_STORE_META_MAX);
    memset(&row, 0, sizeof(row));
    memset(&back, 0, sizeof(back));
    CHECK_RC(S->meta_put(st, "b", "2", 1), COFFRE_OK);
    CHECK_RC(S->meta_put(st, "a", "1", 1), COFFRE_OK);
    CHECK_RC(S->epoch_put(st, 3, w, sizeof(w)), COFFRE_OK);
    CHECK_RC(S->epoch_put(st, 5, w, sizeof(w)), COFFRE_OK);
    CHECK_RC(S->epoch_erase(st, 5, &n), COFFRE_OK);
    for (unsigned i = 0; i < 3; i++) {
        ids[i] = put(st, i + 1, &f[i]);
    }
    CHECK_RC(S->person_erase(st, ids[1]), COFFRE_OK);
    CHECK_RC(S->meta_scan(st, "", key, &b), COFFRE_OK);
    CHECK(strcmp(key, "a") == 0 && b.len == 1 && b.p[0] == '1');
    CHECK_RC(S->meta_scan(st, "a", key, &b), COFFRE_OK);
    CHECK(strcmp(key, "b") == 0);
    CHECK_RC(S->meta_scan(st, "b", key, &b), COFFRE_ERR_NOTFOUND);
    CHECK_RC(S->epoch_scan(st, -1, &e, &b, &dead), COFFRE_OK);
    CHECK(e == 3 && !dead && b.len == sizeof(w));
    CHECK_RC(S->epoch_scan(st, 3, &e, &b, &dead), COFFRE_OK);
    CHECK(e == 5 && dead && b.len == 0);
    CHECK_RC(S->epoch_scan(st, 5, &e, &b, &dead), COFFRE_ERR_NOTFOUND);
    CHECK_RC(S->begin(to), COFFRE_OK);
    for (;;) {
        coffre_store_person_clear(&row);
        int rc = S->person_scan(st, after, &row, &dk, &has);
        if (rc != COFFRE_OK) {
            CHECK_RC(rc, COFFRE_ERR_NOTFOUND);
            break;
        }
        CHECK(row.id == ids[seen]);
        if (row.id == ids[1]) {
            CHECK(row.state == COFFRE_STATE_ERASED && !has && row.epoch == 3);
            CHECK_RC(to->ops->tomb_insert(to, row.id, row.epoch, row.updated),
                     COFFRE_OK);
            CHECK_RC(to->ops->tomb_insert(to, row.id, 1, 1), COFFRE_ERR_EXISTS);
        } else {
            CHECK(has && row_equal(&f[seen].row, &row, COFFRE_CLASSES_ALL));
            CHECK(dk_equal(&f[seen].dk, &dk));
            CHECK_RC(to->ops->person_insert(to, &row, &dk), COFFRE_OK);
        }
        after = row.id;
        seen++;
    }
    CHECK(seen == 3);
    CHECK_RC(S->id_next(st, &next), COFFRE_OK);
    CHECK(next == ids[2] + 1);
    CHECK_RC(to->ops->id_set_next(to, next + 10), COFFRE_OK);
    CHECK_RC(to->ops->commit(to), COFFRE_OK);
    CHECK_RC(to->ops->id_set_next(to, next), COFFRE_ERR_ARG);
    CHECK_RC(to->ops->id_reserve(to, 1, &n), COFFRE_OK);
    CHECK(n == next + 10);
    CHECK_RC(to->ops->person_get(to, ids[1], 0, &back, NULL),
             COFFRE_ERR_ERASED);
    coffre_store_person_clear(&back);
    CHECK_RC(to->ops->person_get(to, ids[2], COFFRE_CLASSES_ALL, &back, &dk2),
             COFFRE_OK);
    CHECK(row_equal(&f[2].row, &back, COFFRE_CLASSES_ALL) &&
          dk_equal(&f[2].dk, &dk2));
    coffre_store_person_clear(&back);
    coffre_store_person_clear(&row);
    coffre_buf_free(&b);
    coffre_store_close(st);
    coffre_store_close(to);
}

void
store_conformance(int (*open_fresh)(struct coffre_store **ps, void *ctx),
                  void *ctx)
{
    fresh_fn = open_fresh;
    fresh_ctx = ctx;
    RUN(case_meta);
    RUN(case_kek);
    RUN(case_epoch);
    RUN(case_id_reserve);
    RUN(case_round_trip);
    RUN(case_wiped);
    RUN(case_exists);
    RUN(case_update);
    RUN(case_set_state);
    RUN(case_find);
    RUN(case_list);
    RUN(case_due);
    RUN(case_erase);
    RUN(case_epoch_erase);
    RUN(case_rewrap);
    RUN(case_transactions);
    RUN(case_large);
    RUN(case_bulk_load);
    RUN(case_raw_scan);
}

void
store_conformance_snapshot(struct coffre_store *a, struct coffre_store *b)
{
    struct coffre_buf v;

    coffre_buf_init(&v, 64);
    CHECK_RC(b->ops->meta_put(b, "snap", "1", 1), COFFRE_OK);
    CHECK_RC(a->ops->begin_snapshot(a), COFFRE_OK);
    CHECK_RC(a->ops->begin_snapshot(a), COFFRE_ERR_ARG);
    CHECK_RC(a->ops->begin(a), COFFRE_ERR_ARG);
    /* the other handle writes meanwhile, and is not kept waiting */
    CHECK_RC(b->ops->meta_put(b, "snap", "2", 1), COFFRE_OK);
    CHECK_RC(b->ops->meta_put(b, "snap2", "x", 1), COFFRE_OK);
    CHECK_RC(a->ops->meta_get(a, "snap", &v), COFFRE_OK);
    CHECK(v.len == 1 && v.p[0] == '1');
    CHECK_RC(a->ops->meta_get(a, "snap2", &v), COFFRE_ERR_NOTFOUND);
    CHECK_RC(a->ops->commit(a), COFFRE_OK);
    CHECK_RC(a->ops->meta_get(a, "snap", &v), COFFRE_OK);
    CHECK(v.len == 1 && v.p[0] == '2');
    CHECK_RC(a->ops->begin_snapshot(a), COFFRE_OK);
    CHECK_RC(a->ops->rollback(a), COFFRE_OK);
    CHECK_RC(a->ops->meta_get(a, "snap2", &v), COFFRE_OK);
    coffre_buf_free(&v);
}
