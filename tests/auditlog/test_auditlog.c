/*
 * The durable audit log: canonical entries, group commit, recovery after
 * a torn tail, refusal of a tampered log, export, a SIGKILL crash test,
 * and a throughput measure (printed, not asserted).
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/entry.h"
#include "audit/log.h"
#include "check.h"
#include "coffre/audit.h"
#include "coffre/coffre.h"

static const unsigned char seed[32] = {1, 2, 3};
#define ORIGIN "coffre.test/audit"

static void
sample(struct coffre_audit_entry *e, int64_t t, const char *purpose)
{
    memset(e, 0, sizeof(*e));
    e->time_ms = t;
    memset(e->principal, 'a', 64);
    strcpy(e->role, "office");
    strcpy(e->action, "person.read");
    strcpy(e->pseudonym, "Abc-_9");
    e->classes = COFFRE_CLASS_BIT(COFFRE_CLASS_IDENTITY) |
                 COFFRE_CLASS_BIT(COFFRE_CLASS_CONTACT);
    coffre_audit_set_purpose(e, purpose);
    e->status = 200;
    strcpy(e->outcome, "ok");
}

static char *
path(const char *name)
{
    static char buf[8][512];
    static int k;
    char *p = buf[k++ % 8];

    snprintf(p, 512, "%s/%s", check_tmpdir(), name);
    return p;
}

static void
test_entry(void)
{
    struct coffre_audit_entry e, d;
    unsigned char b[COFFRE_AUDIT_ENTRY_MAX];
    size_t len;
    char longp[400];

    sample(&e, 1721999999123, "renewal of badge");
    CHECK_RC(coffre_audit_entry_encode(&e, b, sizeof(b), &len), COFFRE_OK);
    CHECK(b[0] == 1 && len == 1 + 8 + 65 + 7 + 12 + 7 + 1 + 9 + 8 + 17 + 2 + 3);
    CHECK_RC(coffre_audit_entry_parse(b, len, &d), COFFRE_OK);
    CHECK(memcmp(&e, &d, sizeof(e)) == 0);
    /* Every truncation and every single-byte change that still parses must
     * encode back to the same bytes: one encoding per entry. */
    for (size_t i = 0; i < len; i++) {
        CHECK(coffre_audit_entry_parse(b, i, &d) != COFFRE_OK);
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c[COFFRE_AUDIT_ENTRY_MAX], r[COFFRE_AUDIT_ENTRY_MAX];
        size_t rl;

        memcpy(c, b, len);
        c[i] ^= 0x01;
        if (coffre_audit_entry_parse(c, len, &d) == COFFRE_OK) {
            CHECK(coffre_audit_entry_encode(&d, r, sizeof(r), &rl) == 0 &&
                  rl == len && memcmp(r, c, len) == 0);
        }
    }
    /* Domains. */
    e.status = 99;
    CHECK_RC(coffre_audit_entry_encode(&e, b, sizeof(b), &len), COFFRE_ERR_ARG);
    sample(&e, 1, NULL);
    strcpy(e.role, "Office");
    CHECK_RC(coffre_audit_entry_encode(&e, b, sizeof(b), &len), COFFRE_ERR_ARG);
    sample(&e, 1, NULL);
    strcpy(e.principal, "abc");
    CHECK_RC(coffre_audit_entry_encode(&e, b, sizeof(b), &len), COFFRE_ERR_ARG);
    /* Purpose: cut at 200 bytes on a character boundary; controls refused. */
    memset(longp, 'x', 199);
    strcpy(longp + 199, "\xc3\xa9tail");
    CHECK_RC(coffre_audit_set_purpose(&e, longp), COFFRE_OK);
    CHECK(strlen(e.purpose) == 199);
    CHECK_RC(coffre_audit_set_purpose(&e, "a\nb"), COFFRE_ERR_ARG);
    CHECK_RC(coffre_audit_set_purpose(&e, "\xff"), COFFRE_ERR_ARG);
    sample(&e, 1, NULL);
    CHECK_RC(coffre_audit_entry_encode(&e, b, 10, &len), COFFRE_ERR_TOOBIG);
}

static void
fill(struct coffre_audit *a, int n)
{
    struct coffre_audit_entry e;
    uint64_t idx;
    char p[32];

    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof(p), "entry %d", i);
        sample(&e, 1000 + i, p);
        CHECK_RC(coffre_audit_record(a, &e, &idx), COFFRE_OK);
    }
}

/* ${n} entries as a busy server makes them: up to 64 requests queue theirs
 * before the first waits, so one fdatasync commits many (fast on a real
 * disk, where one sync per entry costs milliseconds). */
#define BURST 64
static void
fill_burst(struct coffre_audit *a, int n)
{
    struct coffre_audit_entry e;
    uint64_t t = 0;
    char p[32];

    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof(p), "entry %d", i);
        sample(&e, 1000 + i, p);
        CHECK_RC(coffre_audit_append(a, &e, &t), COFFRE_OK);
        if (i % BURST == BURST - 1 || i == n - 1) {
            CHECK_RC(coffre_audit_wait(a, t), COFFRE_OK);
        }
    }
}

static void
test_log(void)
{
    struct coffre_audit *a;
    char *note = NULL, *json = NULL;
    size_t len, pn;
    uint64_t size, before;
    unsigned char root[32], root2[32], proof[COFFRE_AUDIT_MAX_PROOF * 32];
    unsigned char b[COFFRE_AUDIT_ENTRY_MAX], leaf[32];
    const char *dir = path("log");

    CHECK_RC(audit_log_open(dir, ORIGIN, seed, &a), COFFRE_OK);
    CHECK(coffre_audit_size(a) == 0);
    fill(a, 20);
    CHECK(coffre_audit_size(a) == 20);
    CHECK_RC(coffre_audit_sync_checkpoint(a), COFFRE_OK);
    CHECK_RC(coffre_audit_checkpoint(a, &note, &len), COFFRE_OK);
    CHECK_RC(coffre_audit_checkpoint_verify(
                 note, len, coffre_audit_verifier_key(a), &size, root),
             COFFRE_OK);
    CHECK(size == 20);
    coffre_free(note);
    /* Inclusion of entry 7 and consistency 5 -> 20, checked as an auditor. */
    CHECK_RC(coffre_audit_entry_bytes(a, 7, b, &len), COFFRE_OK);
    coffre_audit_leaf_hash(b, len, leaf);
    CHECK_RC(coffre_audit_inclusion(a, 7, 20, proof, &pn), COFFRE_OK);
    CHECK_RC(coffre_audit_verify_inclusion(leaf, 7, 20, proof, pn, root),
             COFFRE_OK);
    CHECK_RC(coffre_audit_inclusion(a, 20, 20, proof, &pn), COFFRE_ERR_ARG);
    CHECK_RC(coffre_audit_consistency(a, 5, 20, proof, &pn), COFFRE_OK);
    CHECK_RC(coffre_audit_entries_json(a, 3, 6, &json), COFFRE_OK);
    CHECK(json != NULL && strstr(json, "\"index\":5") != NULL &&
          strstr(json, "\"purpose\":\"entry 5\"") != NULL);
    coffre_free(json);
    CHECK_RC(coffre_audit_proof_json(proof, pn, &json), COFFRE_OK);
    CHECK(json != NULL && strncmp(json, "{\"hashes\":[\"", 12) == 0);
    coffre_free(json);
    CHECK_RC(coffre_audit_export(a, path("export")), COFFRE_OK);
    CHECK_RC(coffre_audit_export(a, path("export")), COFFRE_ERR_EXISTS);
    coffre_audit_close(a);

    /* Reopen: same tree, same key; a torn tail is cut. */
    {
        FILE *f = fopen(path("log/entries"), "ab");
        fwrite("\0\0\0\x30garbage", 1, 11, f);
        fclose(f);
    }
    CHECK_RC(audit_log_open(dir, ORIGIN, seed, &a), COFFRE_OK);
    CHECK(strstr(coffre_audit_open_errmsg(), "torn tail of 11 bytes") != NULL);
    CHECK(coffre_audit_size(a) == 20);
    before = coffre_audit_size(a);
    fill(a, 3);
    CHECK(coffre_audit_size(a) == before + 3);
    coffre_audit_close(a);
    CHECK_RC(audit_log_open(dir, ORIGIN, seed, &a), COFFRE_OK);
    CHECK_RC(coffre_audit_checkpoint(a, &note, &len), COFFRE_OK);
    CHECK_RC(coffre_audit_checkpoint_verify(
                 note, len, coffre_audit_verifier_key(a), &size, root2),
             COFFRE_OK);
    CHECK(size == 23);
    coffre_free(note);
    {
        /* One writer per log: a second open is refused while it is open. */
        struct coffre_audit *b2 = NULL;

        CHECK_RC(audit_log_open(dir, ORIGIN, seed, &b2), COFFRE_ERR_INUSE);
        CHECK(b2 == NULL);
        CHECK(strstr(coffre_audit_open_errmsg(), "in use") != NULL);
    }
    coffre_audit_close(a);
    CHECK_RC(audit_log_open(dir, ORIGIN, seed, &a), COFFRE_OK);
    coffre_audit_close(a);

    /* Another key or origin: the stored checkpoints are refused. */
    CHECK_RC(audit_log_open(dir, "coffre.test/other", seed, &a),
             COFFRE_ERR_CRYPTO);
    CHECK(strstr(coffre_audit_open_errmsg(), "not signed by") != NULL);
    /* Truncated below a served checkpoint: refused, and said. */
    CHECK(truncate(path("log/entries"), 10 * 100) == 0);
    CHECK_RC(audit_log_open(dir, ORIGIN, seed, &a), COFFRE_ERR_CRYPTO);
    CHECK(strstr(coffre_audit_open_errmsg(), "truncated") != NULL);
}

/* ------------------------------------------------------------------ */
/* Damage found at open: only a torn final record may be cut.         */

/* The whole file ${name} of ${dir} in a malloc'd buffer. */
static unsigned char *
slurp(const char *dir, const char *name, size_t *plen)
{
    char p[600];
    FILE *f;
    unsigned char *b = NULL;
    long n;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    f = fopen(p, "rb");
    if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)n + 1)) != NULL) {
        *plen = fread(b, 1, (size_t)n, f);
    }
    if (f != NULL) {
        fclose(f);
    }
    return b;
}

static void
spit(const char *dir, const char *name, const unsigned char *b, size_t len)
{
    char p[600];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    f = fopen(p, "wb");
    CHECK(f != NULL && fwrite(b, 1, len, f) == len);
    if (f != NULL) {
        fclose(f);
    }
}

/* SHA-256 of a file and its size: to show that a refusal changed nothing. */
static void
file_digest(const char *dir, const char *name, unsigned char h[32],
            size_t *plen)
{
    size_t len = 0;
    unsigned char *b = slurp(dir, name, &len);

    crypto_hash_sha256(h, b, len);
    *plen = len;
    free(b);
}

/* Byte offset of record ${k} of a record file (k == count: its end). */
static size_t
record_off(const unsigned char *b, size_t len, uint64_t k)
{
    size_t off = 0;

    for (uint64_t i = 0; i < k && off + 4 <= len; i++) {
        off += AUDIT_FRAME_OVERHEAD + audit_be32(b + off);
    }
    return off;
}

/* A fresh log of ${n} entries of which no stored checkpoint covers any:
 * only the checkpoint of the empty tree is kept, as after a crash before
 * the signer's first turn. */
static const char *
uncovered_log(const char *name, int n)
{
    const char *dir = path(name);
    struct coffre_audit *a;
    unsigned char *b;
    size_t len = 0;

    CHECK_RC(audit_log_open(dir, ORIGIN, seed, &a), COFFRE_OK);
    fill_burst(a, n);
    coffre_audit_close(a);
    b = slurp(dir, "checkpoints", &len);
    spit(dir, "checkpoints", b, record_off(b, len, 1));
    free(b);
    return dir;
}

/* Open must refuse with COFFRE_ERR_CRYPTO, name ${want} in its message,
 * and leave both files byte for byte as they were. */
static void
expect_refused(const char *dir, const char *want)
{
    struct coffre_audit *a = NULL;
    unsigned char e0[32], e1[32], c0[32], c1[32];
    size_t el0, el1, cl0, cl1;

    file_digest(dir, "entries", e0, &el0);
    file_digest(dir, "checkpoints", c0, &cl0);
    CHECK_RC(audit_log_open(dir, ORIGIN, seed, &a), COFFRE_ERR_CRYPTO);
    CHECK(a == NULL);
    if (strstr(coffre_audit_open_errmsg(), want) == NULL) {
        fprintf(stderr, "want '%s' in: %s\n", want, coffre_audit_open_errmsg());
        CHECK(!"the message names the record");
    }
    file_digest(dir, "entries", e1, &el1);
    file_digest(dir, "checkpoints", c1, &cl1);
    CHECK(el0 == el1 && memcmp(e0, e1, 32) == 0);
    CHECK(cl0 == cl1 && memcmp(c0, c1, 32) == 0);
}

/* Flip one bit of byte ${at} of ${dir}/${name}. */
static void
flip(const char *dir, const char *name, size_t at)
{
    size_t len = 0;
    unsigned char *b = slurp(dir, name, &len);

    CHECK(at < len);
    if (at < len) {
        b[at] ^= 0x01;
        spit(dir, name, b, len);
    }
    free(b);
}

static void
expect_opens(const char *dir, uint64_t size, const char *want)
{
    struct coffre_audit *a = NULL;

    CHECK_RC(audit_log_open(dir, ORIGIN, seed, &a), COFFRE_OK);
    if (a != NULL) {
        CHECK(coffre_audit_size(a) == size);
        coffre_audit_close(a);
    }
    if (strstr(coffre_audit_open_errmsg(), want) == NULL) {
        fprintf(stderr, "want '%s' in: %s\n", want, coffre_audit_open_errmsg());
        CHECK(!"the message says what was cut");
    }
}

#define NDAMAGE 2507
static void
test_damage_entries(void)
{
    const char *dir = uncovered_log("dmg", NDAMAGE);
    size_t len = 0, last, end;
    unsigned char *orig = slurp(dir, "entries", &len);
    char want[160];

    last = record_off(orig, len, NDAMAGE - 1);
    end = record_off(orig, len, NDAMAGE);
    CHECK(end == len);
    /* One flipped byte in the first of many uncovered entries. */
    flip(dir, "entries", 20);
    expect_refused(dir, "/entries: record 0 at byte offset 0:");
    spit(dir, "entries", orig, len);
    /* ... in the middle, in a length: over the cap. */
    snprintf(want, sizeof(want),
             "record 1000 at byte offset %zu:", record_off(orig, len, 1000));
    flip(dir, "entries", record_off(orig, len, 1000) + 1);
    expect_refused(dir, want);
    CHECK(strstr(coffre_audit_open_errmsg(), "over the cap") != NULL);
    spit(dir, "entries", orig, len);
    /* ... in the trailer of the last complete record. */
    snprintf(want, sizeof(want), "record %d at byte offset %zu:", NDAMAGE - 1,
             last);
    flip(dir, "entries", len - 1);
    expect_refused(dir, want);
    spit(dir, "entries", orig, len);
    /* A torn final record, cut inside its payload, then inside its head:
     * cut, and only it. */
    CHECK(truncate(path("dmg/entries"), (off_t)(len - 10)) == 0);
    snprintf(want, sizeof(want),
             "cut a torn tail of %zu bytes at byte "
             "offset %zu",
             len - 10 - last, last);
    expect_opens(dir, NDAMAGE - 1, want);
    spit(dir, "entries", orig, len);
    CHECK(truncate(path("dmg/entries"), (off_t)(last + 2)) == 0);
    expect_opens(dir, NDAMAGE - 1, "cut a torn tail of 2 bytes");
    /* A tail of zeros after the last complete record (a file extended
     * before its data landed). */
    spit(dir, "entries", orig, len);
    {
        unsigned char *z = calloc(1, len + 100);

        memcpy(z, orig, len);
        spit(dir, "entries", z, len + 100);
        free(z);
    }
    expect_opens(dir, NDAMAGE, "cut a tail of 100 zero bytes");
    free(orig);
}

/* A record whose trailer is right but whose payload is not a canonical
 * entry; then the checkpoints file: a damaged record refused, a torn one
 * cut. */
static void
test_damage_records(void)
{
    const char *dir = uncovered_log("dmg2", 30);
    size_t len = 0, off, clen = 0;
    unsigned char *b = slurp(dir, "entries", &len), *c;
    char want[160];
    struct coffre_audit *a;

    off = record_off(b, len, 7);
    b[off + 4] = 2; /* version 2 */
    coffre_audit_leaf_hash(b + off + 4, audit_be32(b + off),
                           b + off + 4 + audit_be32(b + off));
    spit(dir, "entries", b, len);
    snprintf(want, sizeof(want), "record 7 at byte offset %zu: ", off);
    expect_refused(dir, want);
    CHECK(strstr(coffre_audit_open_errmsg(), "not a canonical entry") != NULL);
    free(b);

    dir = path("dmg3");
    CHECK_RC(audit_log_open(dir, ORIGIN, seed, &a), COFFRE_OK);
    fill(a, 3);
    CHECK_RC(coffre_audit_sync_checkpoint(a), COFFRE_OK);
    fill(a, 3);
    coffre_audit_close(a);
    c = slurp(dir, "checkpoints", &clen);
    off = record_off(c, clen, 1);
    flip(dir, "checkpoints", off + 30);
    snprintf(want, sizeof(want),
             "/checkpoints: record 1 at byte offset %zu:", off);
    expect_refused(dir, want);
    /* A torn checkpoint while the entries file also has a torn tail: both
     * cut, both said. */
    spit(dir, "checkpoints", c, clen - 5);
    b = slurp(dir, "entries", &len);
    spit(dir, "entries", b, len - 3);
    expect_opens(dir, 5, "checkpoints: cut a torn tail of");
    CHECK(strstr(coffre_audit_open_errmsg(), "entries: cut a torn tail of") !=
          NULL);
    free(b);
    free(c);
}

/* The operator's way out: coffre_audit_repair moves the bytes from a
 * record boundary on to a side file, then cuts; never what a checkpoint
 * covers, never while the log is open. */
static void
test_repair(void)
{
    const char *dir = uncovered_log("rep", 50);
    size_t len = 0, slen = 0, off10, off20;
    unsigned char *orig = slurp(dir, "entries", &len), *side;
    char name[64];
    struct coffre_audit *a;
    struct stat st;

    off10 = record_off(orig, len, 10);
    off20 = record_off(orig, len, 20);
    flip(dir, "entries", off10 + 20);
    expect_refused(dir, "record 10 at byte offset");
    /* Refused, changing nothing: not a boundary, a damaged record before
     * the cut, the end of the file, another file. */
    CHECK_RC(coffre_audit_repair(dir, "entries", off10 - 1), COFFRE_ERR_ARG);
    CHECK(strstr(coffre_audit_open_errmsg(), "not a record boundary") != NULL);
    CHECK_RC(coffre_audit_repair(dir, "entries", off20), COFFRE_ERR_ARG);
    CHECK(strstr(coffre_audit_open_errmsg(), "record 10") != NULL);
    CHECK_RC(coffre_audit_repair(dir, "entries", len), COFFRE_ERR_ARG);
    CHECK_RC(coffre_audit_repair(dir, "vkey", 0), COFFRE_ERR_ARG);
    expect_refused(dir, "record 10 at byte offset");
    /* Not while the log is open (another, healthy one here). */
    CHECK_RC(audit_log_open(path("rep_open"), ORIGIN, seed, &a), COFFRE_OK);
    CHECK_RC(coffre_audit_repair(path("rep_open"), "entries", 0),
             COFFRE_ERR_INUSE);
    coffre_audit_close(a);
    /* Done: the bytes from record 10 on are in the side file, the log
     * opens with entries 0..9. */
    CHECK_RC(coffre_audit_repair(dir, "entries", off10), COFFRE_OK);
    CHECK(strstr(coffre_audit_open_errmsg(), "10 records remain") != NULL);
    snprintf(name, sizeof(name), "entries.cut-%zu", off10);
    side = slurp(dir, name, &slen);
    CHECK(side != NULL && slen == len - off10 &&
          memcmp(side, orig + off10, 20) == 0 &&
          side[20] == (orig[off10 + 20] ^ 1) &&
          memcmp(side + 21, orig + off10 + 21, len - off10 - 21) == 0);
    CHECK(stat(path("rep/entries.cut-0"), &st) != 0);
    snprintf(name, sizeof(name), "rep/entries.cut-%zu", off10);
    CHECK(stat(path(name), &st) == 0 && (st.st_mode & 0777) == 0600);
    expect_opens(dir, 10, "");
    free(side);
    free(orig);
}

/* A cut that would remove entries a checkpoint covers is refused; the
 * checkpoints file has its own repair; an existing side file is kept. */
static void
test_repair_refused(void)
{
    const char *dir = path("rep2");
    struct coffre_audit *a;
    size_t len = 0, clen = 0;
    unsigned char *b, *c;
    char name[64];
    FILE *f;

    CHECK_RC(audit_log_open(dir, ORIGIN, seed, &a), COFFRE_OK);
    fill(a, 20);
    CHECK_RC(coffre_audit_sync_checkpoint(a), COFFRE_OK);
    fill(a, 5);
    coffre_audit_close(a);
    b = slurp(dir, "entries", &len);
    CHECK_RC(coffre_audit_repair(dir, "entries", record_off(b, len, 19)),
             COFFRE_ERR_DENIED);
    CHECK(strstr(coffre_audit_open_errmsg(), "covers") != NULL);
    /* The last stored checkpoint covers all 25: flip a byte of it. */
    c = slurp(dir, "checkpoints", &clen);
    flip(dir, "checkpoints", record_off(c, clen, 2) + 40);
    expect_refused(dir, "/checkpoints: record 2 at byte offset");
    CHECK_RC(coffre_audit_repair(dir, "entries", record_off(b, len, 22)),
             COFFRE_ERR_DENIED);
    CHECK(strstr(coffre_audit_open_errmsg(), "checkpoints") != NULL);
    snprintf(name, sizeof(name), "rep2/checkpoints.cut-%zu",
             record_off(c, clen, 2));
    f = fopen(path(name), "w");
    CHECK(f != NULL && fclose(f) == 0);
    CHECK_RC(coffre_audit_repair(dir, "checkpoints", record_off(c, clen, 2)),
             COFFRE_ERR_EXISTS);
    CHECK(unlink(path(name)) == 0);
    CHECK_RC(coffre_audit_repair(dir, "checkpoints", record_off(c, clen, 2)),
             COFFRE_OK);
    expect_opens(dir, 25, "");
    free(b);
    free(c);
}

static void
test_vault_key(void)
{
    struct coffre_vault *v;
    struct coffre_audit *a;
    char *vk1;

    CHECK_RC(coffre_vault_open_dev(path("vault"), &v), COFFRE_OK);
    CHECK_RC(coffre_audit_open(v, path("vlog"), NULL, &a), COFFRE_OK);
    vk1 = strdup(coffre_audit_verifier_key(a));
    CHECK(strncmp(vk1, "coffre.vault/", 13) == 0);
    fill(a, 2);
    coffre_audit_close(a);
    CHECK_RC(coffre_audit_open(v, path("vlog"), NULL, &a), COFFRE_OK);
    CHECK(strcmp(vk1, coffre_audit_verifier_key(a)) == 0);
    coffre_audit_close(a);
    coffre_vault_seal(v);
    CHECK_RC(coffre_audit_open(v, path("vlog2"), NULL, &a), COFFRE_ERR_SEALED);
    free(vk1);
    coffre_vault_close(v);
}

/* The size the latest served checkpoint covers. */
static uint64_t
covered(struct coffre_audit *a)
{
    char *note = NULL;
    size_t len = 0;
    uint64_t size = UINT64_MAX;
    unsigned char root[32];

    if (coffre_audit_checkpoint(a, &note, &len) != COFFRE_OK ||
        coffre_audit_checkpoint_verify(note, len, coffre_audit_verifier_key(a),
                                       &size, root) != COFFRE_OK) {
        size = UINT64_MAX;
    }
    coffre_free(note);
    return size;
}

static double
seconds(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The uncovered window is bounded by count, not only by the 1 s timer:
 * appending fast (bursts of 64, as 64 request threads do), a checkpoint
 * follows 1,024 entries well within a second, and no more than
 * AUDIT_UNCOVERED_MAX durable entries plus one group commit are ever
 * without one. */
static void
test_checkpoint_bound(void)
{
    struct coffre_audit *a;
    uint64_t worst = 0, n, c;
    double t0, t1;

    CHECK_RC(audit_log_open(path("bound"), ORIGIN, seed, &a), COFFRE_OK);
    t0 = seconds();
    fill_burst(a, AUDIT_SIGN_EVERY);
    t1 = seconds();
    /* The timer may have signed some of them already; if not, all are
     * uncovered and a checkpoint must follow at once. */
    while (covered(a) == 0 && seconds() < t1 + 0.3) {
        usleep(2000);
    }
    printf("# %d entries in %.3f s; %.3f s later, %" PRIu64 " covered\n",
           AUDIT_SIGN_EVERY, t1 - t0, seconds() - t1, covered(a));
    CHECK(covered(a) > 0 && covered(a) <= AUDIT_SIGN_EVERY);
    t0 = seconds();
    for (int i = 0; i < 100; i++) {
        fill_burst(a, BURST);
        n = coffre_audit_size(a), c = covered(a);
        worst = n - c > worst ? n - c : worst;
    }
    printf("# %d entries in %.3f s, at most %" PRIu64 " uncovered\n",
           100 * BURST, seconds() - t0, worst);
    CHECK(worst <= AUDIT_UNCOVERED_MAX + BURST);
    coffre_audit_close(a);
}

/* ------------------------------------------------------------------ */
/* Failure and recovery: a write error fails the log closed; it cuts  */
/* the refused entries, and resumes by itself once writes work again. */

/* Wait up to ${secs} for the log's failed state to become ${want}. */
static int
await_failed(struct coffre_audit *a, int want, double secs)
{
    struct coffre_audit_stats st;
    double end = seconds() + secs;

    do {
        coffre_audit_stats(a, &st);
        if ((st.failed != 0) == want) {
            return 1;
        }
        usleep(10000);
    } while (seconds() < end);
    return 0;
}

static off_t
entries_size(const char *dir)
{
    char p[600];
    struct stat st;

    snprintf(p, sizeof(p), "%s/entries", dir);
    return stat(p, &st) == 0 ? st.st_size : -1;
}

/* The file size limit stands in for a full disk: writes past it fail
 * (EFBIG) as they would with ENOSPC, and no root is needed. */
static void
test_recovery(void)
{
    const char *dir = path("recover");
    struct coffre_audit *a;
    struct coffre_audit_entry e;
    struct coffre_audit_stats st;
    struct rlimit old, lim;
    uint64_t t1 = 0, t2 = 0, idx = 0, before;
    off_t size0;
    double t0;

    signal(SIGXFSZ, SIG_IGN);
    CHECK_RC(audit_log_open(dir, ORIGIN, seed, &a), COFFRE_OK);
    fill(a, 10);
    before = coffre_audit_size(a);
    size0 = entries_size(dir);
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    lim = old;
    lim.rlim_cur = (rlim_t)size0 + 100; /* less than one more entry */
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    sample(&e, 77, "refused");
    CHECK_RC(coffre_audit_append(a, &e, &t1), COFFRE_OK);
    CHECK_RC(coffre_audit_wait(a, t1), COFFRE_ERR_UNAVAILABLE);
    CHECK(await_failed(a, 1, 1));
    coffre_audit_stats(a, &st);
    CHECK(strcmp(st.reason, "entries: write: File too large") == 0);
    CHECK(st.failed_since_ms > 0 && st.recoveries == 0);
    /* Fail-closed, fast, while writes fail; the partial record is gone. */
    CHECK_RC(coffre_audit_record(a, &e, NULL), COFFRE_ERR_UNAVAILABLE);
    usleep(400000);
    CHECK(await_failed(a, 1, 0));
    CHECK_RC(coffre_audit_record(a, &e, NULL), COFFRE_ERR_UNAVAILABLE);
    CHECK(entries_size(dir) == size0);
    /* Room again: it resumes by itself, at the index the refused entry had
     * (which stays refused). */
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    t0 = seconds();
    CHECK(await_failed(a, 0, 10));
    printf("# recovered %.2f s after the limit was lifted\n", seconds() - t0);
    coffre_audit_stats(a, &st);
    CHECK(st.recoveries == 1 && st.reason[0] == '\0' &&
          st.failed_since_ms == 0);
    sample(&e, 78, "after");
    CHECK_RC(coffre_audit_append(a, &e, &t2), COFFRE_OK);
    CHECK_RC(coffre_audit_wait(a, t2), COFFRE_OK);
    CHECK_RC(coffre_audit_wait(a, t1), COFFRE_ERR_UNAVAILABLE);
    CHECK_RC(coffre_audit_record(a, &e, &idx), COFFRE_OK);
    CHECK(idx == before + 1);
    coffre_audit_close(a);
    CHECK_RC(audit_log_open(dir, ORIGIN, seed, &a), COFFRE_OK);
    CHECK(coffre_audit_size(a) == before + 2);
    for (uint64_t i = 0; i < coffre_audit_size(a); i++) {
        unsigned char b[COFFRE_AUDIT_ENTRY_MAX];
        size_t len;
        struct coffre_audit_entry d;

        CHECK(coffre_audit_entry_bytes(a, i, b, &len) == COFFRE_OK &&
              coffre_audit_entry_parse(b, len, &d) == COFFRE_OK &&
              strcmp(d.purpose, "refused") != 0);
    }
    coffre_audit_close(a);
}

/* Throughput: NTHREADS appending and waiting, as request handlers do. */
#define NTHREADS 16
#define PER_THREAD 2000
static void *
bench_thread(void *arg)
{
    struct coffre_audit *a = arg;
    struct coffre_audit_entry e;

    sample(&e, 5, "bench");
    for (int i = 0; i < PER_THREAD; i++) {
        if (coffre_audit_record(a, &e, NULL) != COFFRE_OK) {
            return arg;
        }
    }
    return NULL;
}

static void
test_throughput(void)
{
    struct coffre_audit *a;
    struct coffre_audit_stats st;
    pthread_t th[NTHREADS];
    struct timespec t0, t1;
    int bad = 0;
    double s;

    CHECK_RC(audit_log_open(path("bench"), ORIGIN, seed, &a), COFFRE_OK);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < NTHREADS; i++) {
        pthread_create(&th[i], NULL, bench_thread, a);
    }
    for (int i = 0; i < NTHREADS; i++) {
        void *r;
        pthread_join(th[i], &r);
        bad += r != NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(bad == 0);
    coffre_audit_stats(a, &st);
    CHECK(st.entries == NTHREADS * PER_THREAD);
    s = (double)(t1.tv_sec - t0.tv_sec) +
        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("# %d threads: %" PRIu64 " durable entries in %.2f s = %.0f "
           "entries/s, %" PRIu64 " syncs (%.0f/s, %.1f entries per sync)\n",
           NTHREADS, st.entries, s, (double)st.entries / s, st.syncs,
           (double)st.syncs / s, (double)st.entries / (double)st.syncs);
    coffre_audit_close(a);
}

/* Crash test: a child appends from 8 threads and prints "index purpose"
 * for each entry acknowledged durable; SIGKILL at a random moment; the
 * parent reopens (which checks every stored checkpoint against the
 * rebuilt tree) and finds every acknowledged entry. */
struct crash_arg {
    struct coffre_audit *a;
    FILE *out;
    int t;
};
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void *
crash_thread(void *arg)
{
    struct crash_arg *c = arg;
    struct coffre_audit_entry e;
    uint64_t idx;
    char p[64];

    for (unsigned i = 0;; i++) {
        snprintf(p, sizeof(p), "t%d-%u", c->t, i);
        sample(&e, 7, p);
        if (coffre_audit_record(c->a, &e, &idx) != COFFRE_OK) {
            return NULL;
        }
        pthread_mutex_lock(&out_lock);
        fprintf(c->out, "%" PRIu64 " %s\n", idx, p);
        fflush(c->out);
        pthread_mutex_unlock(&out_lock);
    }
}

static void
crash_child(const char *dir, int fd)
{
    struct coffre_audit *a;
    struct crash_arg args[8];
    pthread_t th[8];
    FILE *out = fdopen(fd, "w");

    if (out == NULL || audit_log_open(dir, ORIGIN, seed, &a) != COFFRE_OK) {
        _exit(3);
    }
    for (int t = 0; t < 8; t++) {
        args[t] = (struct crash_arg){a, out, t};
        pthread_create(&th[t], NULL, crash_thread, &args[t]);
    }
    for (;;) {
        pause();
    }
}

static int
crash_round(const char *dir, unsigned delay_us, uint64_t *packed)
{
    int fds[2], status, bad = 0;
    pid_t pid;
    FILE *in;
    char line[128], p[64];
    uint64_t idx;
    struct coffre_audit *a;
    struct coffre_audit_entry e;
    unsigned char b[COFFRE_AUDIT_ENTRY_MAX];
    size_t len;

    if (pipe(fds) != 0 || (pid = fork()) < 0) {
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        crash_child(dir, fds[1]);
    }
    close(fds[1]);
    usleep(delay_us);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    if (audit_log_open(dir, ORIGIN, seed, &a) != COFFRE_OK) {
        fprintf(stderr, "reopen: %s\n", coffre_audit_open_errmsg());
        close(fds[0]);
        return -1;
    }
    in = fdopen(fds[0], "r");
    while (fgets(line, sizeof(line), in) != NULL) {
        if (sscanf(line, "%" SCNu64 " %63s", &idx, p) != 2) {
            continue; /* the last line may be cut by the kill */
        }
        (*packed)++;
        if (coffre_audit_entry_bytes(a, idx, b, &len) != COFFRE_OK ||
            coffre_audit_entry_parse(b, len, &e) != COFFRE_OK ||
            strcmp(e.purpose, p) != 0) {
            bad++;
        }
    }
    fclose(in);
    coffre_audit_close(a);
    return bad;
}

static void
test_crash(void)
{
    const char *dir = path("crash");
    uint64_t acked = 0;
    int bad = 0;
    struct coffre_audit *a;

    srand((unsigned)time(NULL));
    for (int r = 0; r < 12 && bad == 0; r++) {
        bad = crash_round(dir, 20000 + (unsigned)(rand() % 300000), &acked);
    }
    CHECK(bad == 0);
    CHECK(acked > 0);
    CHECK_RC(audit_log_open(dir, ORIGIN, seed, &a), COFFRE_OK);
    printf("# crash test: 12 SIGKILLs, %" PRIu64 " acknowledged entries all "
           "found, %" PRIu64 " in the log\n",
           acked, coffre_audit_size(a));
    coffre_audit_close(a);
}

int
main(void)
{
    if (coffre_lib_init() != COFFRE_OK) {
        return 1;
    }
    RUN(test_entry);
    RUN(test_crash);
    RUN(test_log);
    RUN(test_damage_entries);
    RUN(test_damage_records);
    RUN(test_repair);
    RUN(test_repair_refused);
    RUN(test_vault_key);
    RUN(test_checkpoint_bound);
    RUN(test_recovery);
    RUN(test_throughput);
    return check_done();
}
