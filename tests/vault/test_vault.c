/*
 * The vault through its public API, on real SQLite files: sealing and
 * unsealing with Shamir shares, encryption round trips, tampering (a
 * flipped byte, a ciphertext moved to another row or class), rotation and
 * rewrap, erasure and epoch shredding against old copies, blind-index
 * search, key wiping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "coffre/audit.h"
#include "coffre/coffre.h"

#define N_PERSONS 300

static char dir_buf[512];

/* A submitted person with accents and irregular spacing in its names. */
static const char person[] =
    "{\"public\":{\"category\":\"media\",\"organisation\":\"AFP\","
    "\"valid_from\":\"2024-07-01\",\"valid_until\":\"2024-08-15\"},"
    "\"identity\":{\"surname\":\"Lef\xc3\xa8vre-Durand\",\"given_names\":"
    "\"\xc3\x89lodie  Anne\",\"sex\":\"F\",\"birth_date\":\"1990-02-03\","
    "\"birth_place\":\"Lyon\",\"birth_country\":\"FRA\","
    "\"nationalities\":[\"FRA\"]}}";

/* A fresh directory name under the test's temporary directory. */
static const char *
fresh(const char *name)
{
    snprintf(dir_buf, sizeof(dir_buf), "%s/%s", check_tmpdir(), name);
    return dir_buf;
}

static char *
read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 4096);

    if (f == NULL || buf == NULL) {
        free(buf);
        if (f != NULL) {
            fclose(f);
        }
        return NULL;
    }
    if (fread(buf, 1, 4095, f) == 0) {
        buf[0] = '\0';
    }
    fclose(f);
    return buf;
}

static char *
share_text(const char *shares, unsigned k)
{
    char path[800];

    snprintf(path, sizeof(path), "%s/share-%u.txt", shares, k);
    return read_text(path);
}

static struct coffre_person *
gen_one(struct coffre_gen *g)
{
    struct coffre_person *p = NULL;

    CHECK_RC(coffre_gen_next(g, &p), COFFRE_OK);
    return p;
}

/* The audit logs attached to open vaults: closed with them. */
static struct {
    struct coffre_vault *v;
    struct coffre_audit *a;
} logs[16];

/* Attach DATA/audit to ${v}: nothing is disclosed or written without. */
static void
attach(struct coffre_vault *v, const char *data)
{
    const struct coffre_actor actor = {NULL, "test", NULL, "unit test"};
    struct coffre_audit *a = NULL;
    char dir[700];
    size_t i = 0;

    snprintf(dir, sizeof(dir), "%s/audit", data);
    CHECK_RC(coffre_audit_open(v, dir, NULL, &a), COFFRE_OK);
    CHECK_RC(coffre_audit_attach(a, v, &actor), COFFRE_OK);
    while (i < 16 && logs[i].v != NULL) {
        i++;
    }
    CHECK(i < 16);
    if (i < 16) {
        logs[i].v = v;
        logs[i].a = a;
    }
}

/* Close ${v} and the log attached to it. */
static void
vclose(struct coffre_vault *v)
{
    for (size_t i = 0; v != NULL && i < 16; i++) {
        if (logs[i].v == v) {
            coffre_audit_close(logs[i].a);
            logs[i].v = NULL;
        }
    }
    coffre_vault_close(v);
}

/* A new vault in DIR with shares in DIR-shares; its first persons. */
static struct coffre_vault *
make_vault(const char *name, uint64_t *ids, size_t n)
{
    char data[512], shares[600];
    struct coffre_init_opts io = {5, 3, shares, NULL};
    struct coffre_gen_opts go = {.seed = 42, .photos = 0};
    struct coffre_vault *v = NULL;
    struct coffre_gen *g = NULL;
    struct coffre_person **ps = calloc(n + 1, sizeof(*ps));

    snprintf(data, sizeof(data), "%s", fresh(name));
    snprintf(shares, sizeof(shares), "%s-shares", data);
    CHECK_RC(coffre_vault_init(data, &io, &v), COFFRE_OK);
    attach(v, data);
    CHECK_RC(coffre_gen_new(&go, &g), COFFRE_OK);
    for (size_t i = 0; i < n; i++) {
        ps[i] = gen_one(g);
    }
    if (n > 0) {
        CHECK_RC(coffre_vault_put_many(v, ps, n, ids), COFFRE_OK);
    }
    for (size_t i = 0; i < n; i++) {
        coffre_person_free(ps[i]);
    }
    free(ps);
    coffre_gen_free(g);
    return v;
}

static void
test_init_writes_shares(void)
{
    char shares[600], path[700];
    struct stat st;
    struct coffre_vault *v = make_vault("init", NULL, 0);

    snprintf(shares, sizeof(shares), "%s/init-shares", check_tmpdir());
    for (unsigned k = 1; k <= 5; k++) {
        snprintf(path, sizeof(path), "%s/share-%u.txt", shares, k);
        CHECK(stat(path, &st) == 0);
        CHECK((st.st_mode & 0777) == 0600);
    }
    snprintf(path, sizeof(path), "%s/share-6.txt", shares);
    CHECK(stat(path, &st) != 0);
    CHECK(!coffre_vault_is_sealed(v));
    vclose(v);
    /* A second init in the same place is refused, shares untouched. */
    {
        struct coffre_init_opts io = {5, 3, shares, NULL};
        struct coffre_vault *w = NULL;

        snprintf(path, sizeof(path), "%s/init", check_tmpdir());
        CHECK_RC(coffre_vault_init(path, &io, &w), COFFRE_ERR_EXISTS);
        vclose(w);
    }
    /* A new vault over these shares: refused, nothing made, none lost
     * (issue 13: share-5.txt was deleted, a half-made store left). */
    {
        struct coffre_init_opts io = {5, 3, shares, NULL};
        struct coffre_vault *w = NULL;
        char data[700];

        snprintf(path, sizeof(path), "%s/share-%u.txt", shares, 2u);
        CHECK(unlink(path) == 0);
        snprintf(data, sizeof(data), "%s/init-other", check_tmpdir());
        CHECK_RC(coffre_vault_init(data, &io, &w), COFFRE_ERR_EXISTS);
        CHECK(strstr(coffre_vault_errmsg(w), "share-1.txt already exists"));
        vclose(w);
        CHECK(stat(data, &st) != 0);
        CHECK(stat(path, &st) != 0);
        for (unsigned k = 1; k <= 5; k++) {
            snprintf(path, sizeof(path), "%s/share-%u.txt", shares, k);
            CHECK((stat(path, &st) == 0) == (k != 2));
        }
    }
}

static void
test_unseal_threshold(void)
{
    char data[600], shares[700];
    struct coffre_vault *v = make_vault("unseal", NULL, 0);
    struct coffre_person *p = NULL;
    unsigned have = 0, need = 0;
    char *s1, *s3, *s5;

    vclose(v);
    snprintf(data, sizeof(data), "%s/unseal", check_tmpdir());
    snprintf(shares, sizeof(shares), "%s-shares", data);
    s1 = share_text(shares, 1);
    s3 = share_text(shares, 3);
    s5 = share_text(shares, 5);
    CHECK_RC(coffre_vault_open(data, &v), COFFRE_OK);
    CHECK(coffre_vault_is_sealed(v));
    CHECK_RC(coffre_vault_get(v, 1, COFFRE_CLASSES_ALL, &p), COFFRE_ERR_SEALED);
    CHECK_RC(coffre_vault_unseal(v, s1, &have, &need), COFFRE_OK);
    CHECK(have == 1 && need == 3);
    CHECK_RC(coffre_vault_unseal(v, s1, &have, &need), COFFRE_ERR_SHARE);
    CHECK_RC(coffre_vault_unseal(v, s3, &have, &need), COFFRE_OK);
    CHECK(coffre_vault_is_sealed(v)); /* two of three */
    CHECK_RC(coffre_vault_unseal(v, "garbage", &have, &need), COFFRE_ERR_SHARE);
    CHECK_RC(coffre_vault_unseal(v, s5, &have, &need), COFFRE_OK);
    CHECK(!coffre_vault_is_sealed(v));
    CHECK_RC(coffre_vault_seal(v), COFFRE_OK);
    CHECK(coffre_vault_is_sealed(v));
    vclose(v);
    free(s1);
    free(s3);
    free(s5);
}

/* The threshold counts distinct givers: a second share from one custodian
 * is refused and changes nothing; givers are forgotten with the shares
 * at a seal. */
static void
test_unseal_by_custodian(void)
{
    char data[600], shares[700];
    struct coffre_vault *v = make_vault("unseal_by", NULL, 0);
    unsigned have = 0, need = 0;
    char *s1, *s2, *s3;

    vclose(v);
    snprintf(data, sizeof(data), "%s/unseal_by", check_tmpdir());
    snprintf(shares, sizeof(shares), "%s-shares", data);
    s1 = share_text(shares, 1);
    s2 = share_text(shares, 2);
    s3 = share_text(shares, 3);
    CHECK_RC(coffre_vault_open(data, &v), COFFRE_OK);
    CHECK_RC(coffre_vault_unseal_as(v, s1, "c1", &have, &need), COFFRE_OK);
    CHECK_RC(coffre_vault_unseal_as(v, s2, "c1", &have, &need),
             COFFRE_ERR_EXISTS);
    CHECK(have == 1 && need == 3);
    CHECK(strstr(coffre_vault_errmsg(v), "c1 gave a share already") != NULL);
    CHECK_RC(coffre_vault_unseal_as(v, s2, "", &have, &need), COFFRE_ERR_ARG);
    CHECK_RC(coffre_vault_unseal_as(v, s2, "c2", &have, &need), COFFRE_OK);
    CHECK(have == 2 && coffre_vault_is_sealed(v));
    CHECK_RC(coffre_vault_unseal_as(v, s3, "c2", &have, &need),
             COFFRE_ERR_EXISTS);
    CHECK(have == 2 && coffre_vault_is_sealed(v));
    CHECK_RC(coffre_vault_unseal_as(v, s3, "c3", &have, &need), COFFRE_OK);
    CHECK(!coffre_vault_is_sealed(v));
    /* sealed again: c1 may give a share anew */
    CHECK_RC(coffre_vault_seal(v), COFFRE_OK);
    CHECK_RC(coffre_vault_unseal_as(v, s1, "c1", &have, &need), COFFRE_OK);
    CHECK(have == 1);
    /* not counted by giver (the command line): as before */
    CHECK_RC(coffre_vault_unseal(v, s2, &have, &need), COFFRE_OK);
    CHECK_RC(coffre_vault_unseal(v, s3, &have, &need), COFFRE_OK);
    CHECK(!coffre_vault_is_sealed(v));
    vclose(v);
    free(s1);
    free(s2);
    free(s3);
}

static void
test_share_of_other_vault(void)
{
    char a[600], bshares[600];
    struct coffre_vault *v = make_vault("va", NULL, 0), *w;
    char *foreign;

    vclose(v);
    w = make_vault("vb", NULL, 0);
    vclose(w);
    snprintf(a, sizeof(a), "%s/va", check_tmpdir());
    snprintf(bshares, sizeof(bshares), "%s/vb-shares", check_tmpdir());
    foreign = share_text(bshares, 2);
    CHECK_RC(coffre_vault_open(a, &v), COFFRE_OK);
    CHECK_RC(coffre_vault_unseal(v, foreign, NULL, NULL), COFFRE_ERR_SHARE);
    CHECK(strstr(coffre_vault_errmsg(v), "another vault") != NULL);
    vclose(v);
    free(foreign);
}

static void
test_round_trip(void)
{
    uint64_t ids[N_PERSONS];
    struct coffre_vault *v = make_vault("rt", ids, N_PERSONS);
    struct coffre_gen_opts go = {.seed = 42, .photos = 0};
    struct coffre_gen *g = NULL;
    struct coffre_person *want, *got = NULL;
    char *a = NULL, *b = NULL;
    int same = 1;

    CHECK_RC(coffre_gen_new(&go, &g), COFFRE_OK);
    for (size_t i = 0; i < N_PERSONS; i++) {
        want = gen_one(g);
        CHECK_RC(coffre_vault_get(v, ids[i], COFFRE_CLASSES_ALL, &got),
                 COFFRE_OK);
        coffre_person_to_json(want, COFFRE_CLASSES_ALL, &a);
        coffre_person_to_json(got, COFFRE_CLASSES_ALL, &b);
        if (a == NULL || b == NULL || strcmp(a, b) != 0) {
            same = 0;
        }
        coffre_free(a);
        coffre_free(b);
        a = b = NULL;
        coffre_person_free(want);
        coffre_person_free(got);
        got = NULL;
    }
    CHECK(same);
    /* Only the classes asked for are decrypted. */
    CHECK_RC(coffre_vault_get(v, ids[0], COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC),
                              &got),
             COFFRE_OK);
    CHECK(coffre_person_classes(got) == COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC));
    coffre_person_free(got);
    CHECK_RC(coffre_vault_get(v, 999999, COFFRE_CLASSES_ALL, &got),
             COFFRE_ERR_NOTFOUND);
    coffre_gen_free(g);
    vclose(v);
}

/* Run one SQL statement on a vault's database file. */
static int
sql(const char *name, const char *stmt)
{
    char path[600];
    sqlite3 *db = NULL;
    int rc;

    snprintf(path, sizeof(path), "%s/%s/coffre.db", check_tmpdir(), name);
    rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(db, stmt, NULL, NULL, NULL);
    }
    sqlite3_close(db);
    return rc;
}

/* Flip one bit of byte `off` of person `id`'s identity ciphertext. */
static int
flip_byte(const char *name, int id, int off)
{
    char path[600];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    unsigned char buf[4096];
    int n = 0, rc;

    snprintf(path, sizeof(path), "%s/%s/coffre.db", check_tmpdir(), name);
    rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(db,
                                "SELECT c_identity FROM person WHERE id "
                                "= ?",
                                -1, &st, NULL);
    }
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, id);
        rc = sqlite3_step(st) == SQLITE_ROW ? SQLITE_OK : SQLITE_ERROR;
    }
    if (rc == SQLITE_OK) {
        n = sqlite3_column_bytes(st, 0);
        rc = n > off && n <= (int)sizeof(buf) ? SQLITE_OK : SQLITE_ERROR;
    }
    if (rc == SQLITE_OK) {
        memcpy(buf, sqlite3_column_blob(st, 0), (size_t)n);
        buf[off] ^= 1;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(db,
                                "UPDATE person SET c_identity = ? WHERE "
                                "id = ?",
                                -1, &st, NULL);
    }
    if (rc == SQLITE_OK) {
        sqlite3_bind_blob(st, 1, buf, n, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, id);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

static void
test_tamper(void)
{
    uint64_t ids[4];
    struct coffre_vault *v = make_vault("tamper", ids, 4);
    struct coffre_person *p = NULL;
    const unsigned pub = COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC);
    const unsigned idn = COFFRE_CLASS_BIT(COFFRE_CLASS_IDENTITY);

    /* A flipped byte in the middle of person 1's identity ciphertext. */
    CHECK(flip_byte("tamper", 1, 30) == SQLITE_OK);
    CHECK_RC(coffre_vault_get(v, ids[0], idn, &p), COFFRE_ERR_CRYPTO);
    CHECK(p == NULL);
    /* The other classes of that person still open. */
    CHECK_RC(coffre_vault_get(v, ids[0], pub, &p), COFFRE_OK);
    coffre_person_free(p);
    p = NULL;
    /* Person 3's identity moved onto person 2: fails to open. */
    CHECK(sql("tamper", "UPDATE person SET c_identity = (SELECT c_identity "
                        "FROM person WHERE id = 3) WHERE id = 2") == SQLITE_OK);
    CHECK_RC(coffre_vault_get(v, ids[1], idn, &p), COFFRE_ERR_CRYPTO);
    /* Person 4's contact ciphertext moved into its identity column. */
    CHECK(sql("tamper", "UPDATE person SET c_identity = c_public WHERE id = "
                        "4") == SQLITE_OK);
    CHECK_RC(coffre_vault_get(v, ids[3], idn, &p), COFFRE_ERR_CRYPTO);
    CHECK(strstr(coffre_vault_errmsg(v), "identity") != NULL);
    /* Person 3 itself is intact. */
    CHECK_RC(coffre_vault_get(v, ids[2], COFFRE_CLASSES_ALL, &p), COFFRE_OK);
    coffre_person_free(p);
    vclose(v);
}

static void
test_rotation(void)
{
    uint64_t ids[50], more[1];
    struct coffre_vault *v = make_vault("rot", ids, 50);
    struct coffre_vault_stats st;
    struct coffre_person *p = NULL, *q = NULL;
    unsigned version = 0;
    size_t moved = 0, total = 0;

    CHECK_RC(coffre_vault_rotate(v, &version), COFFRE_OK);
    CHECK(version == 2);
    /* Old records still open; new records use v2. A record read back
     * and put again is the same submission (its source key): stored
     * once. */
    CHECK_RC(coffre_vault_get(v, ids[7], COFFRE_CLASSES_ALL, &p), COFFRE_OK);
    CHECK_RC(coffre_vault_put(v, p, &more[0]), COFFRE_OK);
    CHECK(more[0] == ids[7]);
    coffre_person_free(p);
    CHECK_RC(coffre_person_from_json(person, strlen(person), &p, NULL),
             COFFRE_OK);
    CHECK_RC(coffre_vault_put(v, p, &more[0]), COFFRE_OK);
    CHECK(more[0] != ids[7]);
    CHECK_RC(coffre_vault_retire(v, 1), COFFRE_ERR_INUSE);
    CHECK_RC(coffre_vault_retire(v, 2), COFFRE_ERR_INUSE);
    do {
        CHECK_RC(coffre_vault_rewrap(v, 16, &moved), COFFRE_OK);
        total += moved;
        /* Reads go on between batches. */
        CHECK_RC(coffre_vault_get(v, ids[0], COFFRE_CLASSES_ALL, &q),
                 COFFRE_OK);
        coffre_person_free(q);
        q = NULL;
    } while (moved > 0);
    CHECK(total == 50);
    CHECK_RC(coffre_vault_retire(v, 1), COFFRE_OK);
    CHECK_RC(coffre_vault_stats(v, &st), COFFRE_OK);
    CHECK(st.kek_current == 2 && st.kek_versions == 1 && st.persons == 51);
    for (size_t i = 0; i < 50; i++) {
        CHECK_RC(coffre_vault_get(v, ids[i], COFFRE_CLASSES_ALL, &q),
                 COFFRE_OK);
        coffre_person_free(q);
        q = NULL;
    }
    coffre_person_free(p);
    vclose(v);
}

static void
test_erase_old_copy(void)
{
    uint64_t ids[3];
    struct coffre_vault *v = make_vault("erase", ids, 3);
    struct coffre_person *p = NULL;
    size_t n = 0;
    uint64_t found[4];

    /* Keep a copy of person 2's record data, as a backup would. */
    CHECK(sql("erase", "CREATE TABLE backup AS SELECT * FROM person WHERE "
                       "id = 2") == SQLITE_OK);
    CHECK_RC(coffre_vault_erase(v, ids[1]), COFFRE_OK);
    CHECK_RC(coffre_vault_get(v, ids[1], COFFRE_CLASSES_ALL, &p),
             COFFRE_ERR_ERASED);
    CHECK_RC(coffre_vault_erase(v, ids[1]), COFFRE_ERR_ERASED);
    /* Restore the old copy of its data: still nothing opens. */
    CHECK(sql("erase", "UPDATE person SET (state, c_public, c_identity, "
                       "c_contact, c_document) = (SELECT 0, c_public, "
                       "c_identity, c_contact, c_document FROM backup) "
                       "WHERE id = 2") == SQLITE_OK);
    CHECK(coffre_vault_get(v, ids[1], COFFRE_CLASSES_ALL, &p) != COFFRE_OK);
    CHECK(p == NULL);
    CHECK_RC(coffre_vault_find(v, COFFRE_FIND_DOCUMENT, "nothing", NULL, NULL,
                               found, 4, &n),
             COFFRE_OK);
    CHECK(n == 0);
    /* Its neighbours are untouched. */
    CHECK_RC(coffre_vault_get(v, ids[2], COFFRE_CLASSES_ALL, &p), COFFRE_OK);
    coffre_person_free(p);
    vclose(v);
}

static void
test_epoch_shred(void)
{
    uint64_t ids[40];
    struct coffre_vault *v = make_vault("epoch", ids, 40);
    struct coffre_person *p = NULL;
    uint32_t e0 = 0, e;
    size_t same = 0, shredded = 0, kept = 0;

    CHECK_RC(coffre_vault_epoch_of(v, ids[0], &e0), COFFRE_OK);
    /* An old copy of the data and data keys of the whole epoch. */
    CHECK(sql("epoch",
              "CREATE TABLE old_person AS SELECT * FROM person; "
              "CREATE TABLE old_dkey AS SELECT * FROM dkey") == SQLITE_OK);
    CHECK_RC(coffre_vault_epoch_destroy(v, e0), COFFRE_OK);
    CHECK(sql("epoch", "DELETE FROM dkey; INSERT INTO dkey SELECT * FROM "
                       "old_dkey; DELETE FROM person; INSERT INTO person "
                       "SELECT * FROM old_person") == SQLITE_OK);
    for (size_t i = 0; i < 40; i++) {
        CHECK_RC(coffre_vault_epoch_of(v, ids[i], &e), COFFRE_OK);
        if (e == e0) {
            same++;
            shredded += coffre_vault_get(v, ids[i], COFFRE_CLASSES_ALL, &p) ==
                        COFFRE_ERR_ERASED;
        } else {
            kept += coffre_vault_get(v, ids[i], COFFRE_CLASSES_ALL, &p) ==
                    COFFRE_OK;
        }
        coffre_person_free(p);
        p = NULL;
    }
    CHECK(same >= 1 && shredded == same);
    CHECK(kept == 40 - same);
    vclose(v);
}

static void
test_find(void)
{
    uint64_t ids[20], found[4];
    struct coffre_vault *v = make_vault("find", ids, 20);
    struct coffre_person *p = NULL;
    char *json = NULL, *num, *mail;
    size_t n = 0;

    CHECK_RC(coffre_vault_get(v, ids[5], COFFRE_CLASSES_ALL, &p), COFFRE_OK);
    CHECK_RC(coffre_person_to_json(p, COFFRE_CLASSES_ALL, &json), COFFRE_OK);
    /* Pull the document number and email out of the JSON text. */
    num = strstr(json, "\"number\":\"");
    mail = strstr(json, "\"email\":\"");
    CHECK(num != NULL && mail != NULL);
    if (num != NULL && mail != NULL) {
        char dn[64] = {0}, em[300] = {0}, up[300] = {0};

        sscanf(num + 10, "%63[^\"]", dn);
        sscanf(mail + 9, "%299[^\"]", em);
        CHECK_RC(coffre_vault_find(v, COFFRE_FIND_DOCUMENT, dn, NULL, NULL,
                                   found, 4, &n),
                 COFFRE_OK);
        CHECK(n == 1 && found[0] == ids[5]);
        for (size_t i = 0; em[i] != '\0'; i++) {
            up[i] = (char)(em[i] >= 'a' && em[i] <= 'z' ? em[i] - 32 : em[i]);
        }
        CHECK_RC(coffre_vault_find(v, COFFRE_FIND_EMAIL, up, NULL, NULL, found,
                                   4, &n),
                 COFFRE_OK);
        CHECK(n == 1 && found[0] == ids[5]);
    }
    coffre_free(json);
    coffre_person_free(p);
    vclose(v);
}

static void
test_name_search_normalised(void)
{
    struct coffre_vault *v = make_vault("name", NULL, 0);
    struct coffre_person *p = NULL;
    uint64_t id = 0, found[2];
    size_t n = 0;

    CHECK_RC(coffre_person_from_json(person, strlen(person), &p, NULL),
             COFFRE_OK);
    CHECK_RC(coffre_vault_put(v, p, &id), COFFRE_OK);
    CHECK_RC(coffre_vault_find(v, COFFRE_FIND_NAME_DOB, "LEFEVRE DURAND",
                               "elodie anne", "1990-02-03", found, 2, &n),
             COFFRE_OK);
    CHECK(n == 1 && found[0] == id);
    CHECK_RC(coffre_vault_find(v, COFFRE_FIND_NAME_DOB, "LEFEVRE DURAND",
                               "elodie anne", "1990-02-04", found, 2, &n),
             COFFRE_OK);
    CHECK(n == 0);
    coffre_person_free(p);
    vclose(v);
}

static void
test_pseudonyms(void)
{
    uint64_t ids[2], got = 0;
    struct coffre_vault *v = make_vault("pseudo", ids, 2);
    char a[COFFRE_PSEUDONYM_LEN + 1], b[COFFRE_PSEUDONYM_LEN + 1];

    CHECK_RC(coffre_vault_pseudonym(v, "office", ids[0], a), COFFRE_OK);
    CHECK_RC(coffre_vault_pseudonym(v, "gate", ids[0], b), COFFRE_OK);
    CHECK(strlen(a) == COFFRE_PSEUDONYM_LEN && strcmp(a, b) != 0);
    CHECK_RC(coffre_vault_resolve(v, "office", a, &got), COFFRE_OK);
    CHECK(got == ids[0]);
    CHECK_RC(coffre_vault_resolve(v, "gate", a, &got), COFFRE_ERR_NOTFOUND);
    CHECK_RC(coffre_vault_resolve(v, "office", "x", &got), COFFRE_ERR_NOTFOUND);
    vclose(v);
}

static void
test_cursors(void)
{
    uint64_t ids[2], got = 0;
    struct coffre_vault *v = make_vault("cursor", ids, 2);
    struct coffre_vault *w = make_vault("cursor2", NULL, 0);
    char c[COFFRE_CURSOR_LEN + 1], d[COFFRE_CURSOR_LEN + 1];
    char p[COFFRE_PSEUDONYM_LEN + 1];
    static const char ctx[] = "persons\0platform";

    CHECK_RC(
        coffre_vault_cursor_make(v, "platform", ctx, sizeof(ctx), ids[1], c),
        COFFRE_OK);
    CHECK(strlen(c) == COFFRE_CURSOR_LEN);
    CHECK_RC(coffre_vault_cursor_open(v, "platform", ctx, sizeof(ctx), c, &got),
             COFFRE_OK);
    CHECK(got == ids[1]);
    /* opaque: never the same twice, never a pseudonym */
    CHECK_RC(
        coffre_vault_cursor_make(v, "platform", ctx, sizeof(ctx), ids[1], d),
        COFFRE_OK);
    CHECK(strcmp(c, d) != 0);
    CHECK_RC(coffre_vault_resolve(v, "platform", c, &got), COFFRE_ERR_NOTFOUND);
    CHECK_RC(coffre_vault_pseudonym(v, "platform", ids[1], p), COFFRE_OK);
    CHECK_RC(coffre_vault_cursor_open(v, "platform", ctx, sizeof(ctx), p, &got),
             COFFRE_ERR_PARSE);
    /* bound to audience, list and vault */
    got = 0;
    CHECK_RC(coffre_vault_cursor_open(v, "partner", ctx, sizeof(ctx), c, &got),
             COFFRE_ERR_CRYPTO);
    CHECK_RC(
        coffre_vault_cursor_open(v, "platform", ctx, sizeof(ctx) - 1, c, &got),
        COFFRE_ERR_CRYPTO);
    CHECK_RC(coffre_vault_cursor_open(v, "platform", NULL, 0, c, &got),
             COFFRE_ERR_CRYPTO);
    CHECK_RC(coffre_vault_cursor_open(w, "platform", ctx, sizeof(ctx), c, &got),
             COFFRE_ERR_CRYPTO);
    CHECK(got == 0);
    /* arguments out of their domain */
    CHECK_RC(coffre_vault_cursor_make(v, "", ctx, sizeof(ctx), 1, d),
             COFFRE_ERR_ARG);
    CHECK_RC(coffre_vault_cursor_make(v, "platform", ctx,
                                      COFFRE_CURSOR_CONTEXT_MAX + 1, 1, d),
             COFFRE_ERR_ARG);
    CHECK_RC(
        coffre_vault_cursor_open(v, "platform", ctx, sizeof(ctx), NULL, &got),
        COFFRE_ERR_PARSE);
    /* sealed: nothing opens, nothing is made */
    CHECK_RC(coffre_vault_seal(v), COFFRE_OK);
    CHECK_RC(coffre_vault_cursor_open(v, "platform", ctx, sizeof(ctx), c, &got),
             COFFRE_ERR_SEALED);
    CHECK_RC(coffre_vault_cursor_make(v, "platform", ctx, sizeof(ctx), 1, d),
             COFFRE_ERR_SEALED);
    coffre_vault_close(v);
    coffre_vault_close(w);
}

static void
test_lifecycle(void)
{
    uint64_t ids[1];
    struct coffre_vault *v = make_vault("life", NULL, 0);
    struct coffre_person *p = NULL;
    size_t n = 0;
    uint64_t due[4];

    CHECK_RC(coffre_person_from_json(person, strlen(person), &p, NULL),
             COFFRE_OK);
    CHECK_RC(coffre_vault_put(v, p, &ids[0]), COFFRE_OK);
    coffre_person_free(p);

    CHECK_RC(coffre_vault_set_state(v, ids[0], COFFRE_STATE_APPROVED),
             COFFRE_ERR_STATE);
    coffre_vault_set_vetting_deadline(v, -10);
    CHECK_RC(coffre_vault_set_state(v, ids[0], COFFRE_STATE_VETTING),
             COFFRE_OK);
    CHECK_RC(coffre_vault_due(v, COFFRE_DUE_VETTING, 0x7fffffff, due, 4, &n),
             COFFRE_OK);
    CHECK(n == 1 && due[0] == ids[0]);
    CHECK_RC(coffre_vault_set_state(v, ids[0], COFFRE_STATE_APPROVED),
             COFFRE_OK);
    CHECK_RC(coffre_vault_set_state(v, ids[0], COFFRE_STATE_VETTING),
             COFFRE_ERR_STATE);
    vclose(v);
}

static void
test_dev_vault_cannot_reopen(void)
{
    struct coffre_vault *v = NULL;
    char path[600];

    snprintf(path, sizeof(path), "%s/dev", check_tmpdir());
    CHECK_RC(coffre_vault_open_dev(path, &v), COFFRE_OK);
    CHECK(!coffre_vault_is_sealed(v));
    vclose(v);
    CHECK_RC(coffre_vault_open(path, &v), COFFRE_ERR_SEALED);
    vclose(v);
}

static void
test_keys_wiped(void)
{
    uint64_t ids[8];
    struct coffre_vault *v;
    struct coffre_person *p = NULL;

    check_secmem_watch();
    v = make_vault("wipe", ids, 8);
    CHECK_RC(coffre_vault_get(v, ids[3], COFFRE_CLASSES_ALL, &p), COFFRE_OK);
    coffre_person_free(p);
    vclose(v);
    CHECK(check_secmem_released() > 20);
    CHECK(check_secmem_violations() == 0);
}

/* Reopen and unseal the vault make_vault made under ${name}. */
static struct coffre_vault *
reopen(const char *name)
{
    char data[600], shares[700];
    struct coffre_vault *v = NULL;

    snprintf(data, sizeof(data), "%s/%s", check_tmpdir(), name);
    snprintf(shares, sizeof(shares), "%s-shares", data);
    CHECK_RC(coffre_vault_open(data, &v), COFFRE_OK);
    for (unsigned k = 1; k <= 3; k++) {
        char *t = share_text(shares, k);

        CHECK_RC(coffre_vault_unseal(v, t, NULL, NULL), COFFRE_OK);
        free(t);
    }
    return v;
}

static int
failing_hook(void *arg, const struct coffre_event *ev, uint64_t *pindex)
{
    int *calls = arg;

    (void)pindex;
    if (ev != NULL) {
        (*calls)++;
    }
    return ev == NULL ? COFFRE_OK : COFFRE_ERR_UNAVAILABLE;
}

/* Nothing is disclosed or written unaudited: no hook, no data; a hook
 * that cannot record, no write (the entry and the write fail together). */
static void
test_audit_required(void)
{
    uint64_t ids[4], id = 0;
    struct coffre_vault *v = make_vault("hook", ids, 4);
    struct coffre_vault_stats st;
    struct coffre_person *p = NULL, *q = NULL;
    int calls = 0;

    CHECK_RC(coffre_person_from_json(person, strlen(person), &p, NULL),
             COFFRE_OK);
    for (size_t i = 0; i < 16; i++) {
        if (logs[i].v == v) { /* detached: the vault has no hook now */
            coffre_audit_close(logs[i].a);
            logs[i].v = NULL;
        }
    }
    CHECK_RC(coffre_vault_get(v, ids[1], COFFRE_CLASSES_ALL, &q),
             COFFRE_ERR_DENIED);
    CHECK(q == NULL);
    CHECK_RC(coffre_vault_put(v, p, &id), COFFRE_ERR_DENIED);
    CHECK_RC(coffre_vault_erase(v, ids[2]), COFFRE_ERR_DENIED);
    coffre_vault_set_audit(v, failing_hook, &calls);
    CHECK_RC(coffre_vault_put(v, p, &id), COFFRE_ERR_UNAVAILABLE);
    CHECK_RC(coffre_vault_update(v, ids[0], p), COFFRE_ERR_UNAVAILABLE);
    CHECK_RC(coffre_vault_set_state(v, ids[3], COFFRE_STATE_REVOKED),
             COFFRE_ERR_UNAVAILABLE);
    CHECK_RC(coffre_vault_get(v, ids[1], COFFRE_CLASSES_ALL, &q),
             COFFRE_ERR_UNAVAILABLE);
    CHECK(q == NULL);
    CHECK(calls == 4);
    CHECK_RC(coffre_vault_stats(v, &st), COFFRE_OK);
    CHECK(st.persons == 4 && st.erased == 0);
    coffre_person_free(p);
    vclose(v);
    /* Reopened with its log: the four persons as they were. */
    v = reopen("hook");
    attach(v, fresh("hook"));
    CHECK_RC(coffre_vault_get(v, ids[3], COFFRE_CLASSES_ALL, &q), COFFRE_OK);
    CHECK(q != NULL && coffre_person_state(q) != COFFRE_STATE_REVOKED);
    coffre_person_free(q);
    vclose(v);
}

/* A person of ${state} (with a favourable verdict past vetting). */
static uint64_t
put_in_state(struct coffre_vault *v, const char *state, const char *key)
{
    char json[2048];
    struct coffre_person *p = NULL;
    uint64_t id = 0;
    const char *verdict =
        strcmp(state, "submitted") == 0 || strcmp(state, "vetting") == 0
            ? ""
            : ",\"vetting\":{\"status\":\"favourable\","
              "\"decided_at\":\"2024-05-01T10:00:00Z\","
              "\"decided_by\":\"svc\"}";

    snprintf(json, sizeof(json),
             "{\"source_key\":\"%s\",\"public\":{\"category\":\"media\","
             "\"organisation\":\"AFP\",\"valid_from\":\"2024-07-01\","
             "\"valid_until\":\"2024-08-15\",\"state\":\"%s\"},"
             "\"identity\":{\"surname\":\"Martin\",\"given_names\":"
             "\"Paul\",\"sex\":\"M\",\"birth_date\":\"1980-01-02\","
             "\"birth_place\":\"Lyon\",\"birth_country\":\"FRA\","
             "\"nationalities\":[\"FRA\"]},\"contact\":{\"address\":"
             "\"1 rue de la Paix\",\"postal_code\":\"69001\",\"city\":"
             "\"Lyon\",\"country\":\"FRA\",\"email\":\"p@example.org\"}%s}",
             key, state, verdict);
    CHECK_RC(coffre_person_from_json(json, strlen(json), &p, NULL), COFFRE_OK);
    CHECK_RC(coffre_vault_put(v, p, &id), COFFRE_OK);
    coffre_person_free(p);
    return id;
}

static struct coffre_person *
patch_of(const char *json)
{
    struct coffre_person *p = NULL;

    CHECK_RC(coffre_person_from_json(json, strlen(json), &p, NULL), COFFRE_OK);
    return p;
}

/* What is vetted cannot change behind the verdict's back. */
static void
test_revetting(void)
{
    struct coffre_vault *v = make_vault("revet", NULL, 0);
    struct coffre_person *rename = patch_of(
        "{\"identity\":{\"surname\":\"Dupont\",\"given_names\":\"Paul\","
        "\"sex\":\"M\",\"birth_date\":\"1980-01-02\",\"birth_place\":"
        "\"Lyon\",\"birth_country\":\"FRA\",\"nationalities\":[\"FRA\"]}}");
    struct coffre_person *same = patch_of(
        "{\"identity\":{\"surname\":\"Martin\",\"given_names\":\"Paul\","
        "\"sex\":\"M\",\"birth_date\":\"1980-01-02\",\"birth_place\":"
        "\"Lyon\",\"birth_country\":\"FRA\",\"nationalities\":[\"FRA\"]}}");
    struct coffre_person *mail =
        patch_of("{\"contact\":{\"address\":\"2 rue de la Paix\","
                 "\"postal_code\":\"69001\",\"city\":\"Lyon\","
                 "\"country\":\"FRA\",\"email\":\"q@example.org\"}}");
    struct coffre_person *q = NULL;
    uint64_t sub = put_in_state(v, "submitted", "R1");
    uint64_t vet = put_in_state(v, "vetting", "R2");
    uint64_t app = put_in_state(v, "approved", "R3");
    uint64_t iss = put_in_state(v, "badge_issued", "R4");
    uint64_t ref = put_in_state(v, "refused", "R5");

    CHECK_RC(coffre_vault_update(v, sub, rename), COFFRE_OK);
    CHECK_RC(coffre_vault_update(v, vet, rename), COFFRE_ERR_STATE);
    CHECK_RC(coffre_vault_update(v, ref, rename), COFFRE_ERR_STATE);
    /* The same values again, or another class: nothing to vet. */
    CHECK_RC(coffre_vault_update(v, app, same), COFFRE_OK);
    CHECK_RC(coffre_vault_update(v, app, mail), COFFRE_OK);
    CHECK_RC(coffre_vault_get(v, app, COFFRE_CLASSES_ALL, &q), COFFRE_OK);
    CHECK(coffre_person_state(q) == COFFRE_STATE_APPROVED);
    coffre_person_free(q);
    /* A new name after the verdict: vetted again, the verdict gone. */
    for (int k = 0; k < 2; k++) {
        uint64_t id = k == 0 ? app : iss;
        char *json = NULL;

        CHECK_RC(coffre_vault_update(v, id, rename), COFFRE_OK);
        CHECK_RC(coffre_vault_get(v, id, COFFRE_CLASSES_ALL, &q), COFFRE_OK);
        CHECK(coffre_person_state(q) == COFFRE_STATE_VETTING);
        CHECK_RC(coffre_person_to_json(q, COFFRE_CLASSES_ALL, &json),
                 COFFRE_OK);
        CHECK(json != NULL && strstr(json, "\"status\":\"pending\"") != NULL &&
              strstr(json, "favourable") == NULL &&
              strstr(json, "Dupont") != NULL);
        coffre_free(json);
        coffre_person_free(q);
    }
    coffre_person_free(rename);
    coffre_person_free(same);
    coffre_person_free(mail);
    vclose(v);
}

/* A retried submission (same source key) is stored once. */
static void
test_put_once(void)
{
    struct coffre_vault *v = make_vault("once", NULL, 0);
    struct coffre_vault_stats st;
    uint64_t id = put_in_state(v, "submitted", "K1"), again = 0, other = 0;
    struct coffre_person *p =
        patch_of("{\"source_key\":\"K1\",\"public\":{\"category\":\"media\","
                 "\"organisation\":\"AFP\",\"valid_from\":\"2024-07-01\","
                 "\"valid_until\":\"2024-08-15\"},\"identity\":{\"surname\":"
                 "\"Autre\",\"given_names\":\"Paul\",\"sex\":\"M\","
                 "\"birth_date\":\"1980-01-02\",\"birth_place\":\"Lyon\","
                 "\"birth_country\":\"FRA\",\"nationalities\":[\"FRA\"]}}");
    int created = 1;

    CHECK(put_in_state(v, "submitted", "K1") == id);
    CHECK_RC(coffre_vault_set_state(v, id, COFFRE_STATE_VETTING), COFFRE_OK);
    again = put_in_state(v, "submitted", "K1"); /* moved on: same one */
    CHECK(again == id);
    CHECK_RC(coffre_vault_put_once(v, p, &other, &created), COFFRE_ERR_EXISTS);
    CHECK(other == 0 && created == 0);
    CHECK_RC(coffre_vault_stats(v, &st), COFFRE_OK);
    CHECK(st.persons == 1);
    coffre_person_free(p);
    vclose(v);
}

static void
copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    char buf[65536];
    size_t n;

    CHECK(a != NULL && b != NULL);
    while (a != NULL && b != NULL && (n = fread(buf, 1, sizeof(buf), a)) > 0) {
        CHECK(fwrite(buf, 1, n, b) == n);
    }
    if (a != NULL) {
        fclose(a);
    }
    if (b != NULL) {
        fclose(b);
    }
}

/* The store's copy at ${name}/coffre.db goes back to ${saved} (an older
 * copy, or one whose write-ahead log was lost). */
static void
restore_store(const char *name, const char *saved)
{
    char db[700], side[720];

    snprintf(db, sizeof(db), "%s/%s/coffre.db", check_tmpdir(), name);
    copy_file(saved, db);
    snprintf(side, sizeof(side), "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", db);
    unlink(side);
}

/* One person more, through a vault opened with its log. */
static void
write_one(const char *name, const char *key)
{
    struct coffre_vault *v = reopen(name);

    attach(v, fresh(name));
    put_in_state(v, "submitted", key);
    vclose(v);
}

/* A store behind its log is refused; a log one uncommitted write ahead
 * (a crash between an entry and its commit) is noted and passed. */
static void
test_store_behind_log(void)
{
    char db[700], saved[720], dir[700];
    struct coffre_audit *a = NULL;
    struct coffre_vault *v = make_vault("behind", NULL, 0);

    put_in_state(v, "submitted", "B1");
    vclose(v);
    snprintf(db, sizeof(db), "%s/behind/coffre.db", check_tmpdir());
    snprintf(saved, sizeof(saved), "%s.saved", db);
    copy_file(db, saved);
    write_one("behind", "B2");
    restore_store("behind", saved); /* B2 lost: one write */
    v = reopen("behind");
    snprintf(dir, sizeof(dir), "%s/behind/audit", check_tmpdir());
    CHECK_RC(coffre_audit_open(v, dir, NULL, &a), COFFRE_OK);
    CHECK(strstr(coffre_audit_open_errmsg(), "never committed") != NULL);
    coffre_audit_close(a);
    vclose(v);
    /* Noted: the next open is clean, and writes go on. */
    write_one("behind", "B3");
    copy_file(db, saved);
    write_one("behind", "B4");
    write_one("behind", "B5");
    restore_store("behind", saved); /* B4 and B5 lost: refused */
    v = reopen("behind");
    CHECK_RC(coffre_audit_open(v, dir, NULL, &a), COFFRE_ERR_STORE);
    CHECK(a == NULL);
    CHECK(strstr(coffre_audit_open_errmsg(), "store is behind") != NULL);
    vclose(v);
}

/* A store whose pages are damaged does not unseal. */
static void
test_store_integrity(void)
{
    char db[700], shares[700];
    struct coffre_vault *v = make_vault("damaged", NULL, 0);
    FILE *f;
    char *t;

    for (int i = 0; i < 40; i++) {
        char key[16];

        snprintf(key, sizeof(key), "D%d", i);
        put_in_state(v, "submitted", key);
    }
    vclose(v);
    snprintf(db, sizeof(db), "%s/damaged/coffre.db", check_tmpdir());
    f = fopen(db, "r+b");
    CHECK(f != NULL);
    if (f != NULL) { /* a B-tree page's header, past the schema page */
        static const char junk[64] = "damaged damaged damaged damaged";

        fseek(f, 3 * 4096, SEEK_SET);
        fwrite(junk, 1, sizeof(junk), f);
        fclose(f);
    }
    snprintf(shares, sizeof(shares), "%s/damaged-shares", check_tmpdir());
    CHECK_RC(coffre_vault_open(fresh("damaged"), &v), COFFRE_OK);
    for (unsigned k = 1; k <= 3; k++) {
        int rc;

        t = share_text(shares, k);
        rc = coffre_vault_unseal(v, t, NULL, NULL);
        CHECK(k < 3 ? rc == COFFRE_OK : rc == COFFRE_ERR_STORE);
        free(t);
    }
    CHECK(coffre_vault_is_sealed(v));
    CHECK(strstr(coffre_vault_errmsg(v), "integrity") != NULL);
    vclose(v);
}

/* One process (one handle) unseals a data directory at a time. */
static void
test_one_unsealer(void)
{
    struct coffre_vault *v = make_vault("lock", NULL, 0), *w = NULL;
    char shares[700];

    snprintf(shares, sizeof(shares), "%s/lock-shares", check_tmpdir());
    CHECK_RC(coffre_vault_open(fresh("lock"), &w), COFFRE_OK);
    for (unsigned k = 1; k <= 3; k++) {
        char *t = share_text(shares, k);
        int rc = coffre_vault_unseal(w, t, NULL, NULL);

        CHECK(k < 3 ? rc == COFFRE_OK : rc == COFFRE_ERR_INUSE);
        free(t);
    }
    CHECK(coffre_vault_is_sealed(w));
    CHECK(strstr(coffre_vault_errmsg(w), "another process") != NULL);
    vclose(w);
    vclose(v);
}

int
main(void)
{
    if (coffre_lib_init() != COFFRE_OK) {
        return 2;
    }
    RUN(test_init_writes_shares);
    RUN(test_unseal_threshold);
    RUN(test_unseal_by_custodian);
    RUN(test_share_of_other_vault);
    RUN(test_round_trip);
    RUN(test_tamper);
    RUN(test_rotation);
    RUN(test_erase_old_copy);
    RUN(test_epoch_shred);
    RUN(test_find);
    RUN(test_name_search_normalised);
    RUN(test_pseudonyms);
    RUN(test_cursors);
    RUN(test_lifecycle);
    RUN(test_dev_vault_cannot_reopen);
    RUN(test_keys_wiped);
    RUN(test_audit_required);
    RUN(test_revetting);
    RUN(test_put_once);
    RUN(test_store_behind_log);
    RUN(test_store_integrity);
    RUN(test_one_unsealer);
    return check_done();
}
