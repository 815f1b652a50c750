/*
 * Unit tests of lib/audit/note and checkpoint: the reference vectors of
 * golang.org/x/mod/sumdb/note, strict parsing, tampering, and the worked
 * example of docs/audit.md (tests/vectors/audit/example.txt).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/merkle.h"
#include "audit/note.h"
#include "check.h"
#include "coffre/coffre.h"
#include "util/buf.h"
#include "util/secmem.h"

/*
 * Test data of the Go reference implementation, github.com/golang/mod,
 * file sumdb/note/note_test.go (TestNewVerifier, TestNewSigner, TestSign,
 * TestOpen). Only the strings are taken.
 */
static const char peter_vkey[] =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char peter_skey[] = "PRIVATE+KEY+PeterNeumann+c74f20a3+"
                                 "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char enoch_vkey[] =
    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
static const char text[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
static const char peter_sig[] =
    "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIu"
    "GUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
static const char enoch_sig[] =
    "\xe2\x80\x94 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOH"
    "p+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

/* A NUL-terminated concatenation of up to four strings, malloc'd. */
static char *
cat4(const char *a, const char *b, const char *c, const char *d)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + strlen(d);
    char *s = malloc(n + 1);

    if (s == NULL) {
        abort();
    }
    snprintf(s, n + 1, "%s%s%s%s", a, b, c, d);
    return s;
}

static int
open_str(const char *msg, const struct coffre_note_verifier *k, size_t nk,
         struct coffre_note **pn)
{
    return coffre_note_open(msg, strlen(msg), k, nk, pn);
}

static void
test_verifier_key(void)
{
    struct coffre_note_verifier v;
    char *s = NULL, buf[128];
    size_t len = strlen(peter_vkey);
    unsigned long accepted = 0;

    CHECK_RC(coffre_note_verifier_parse(peter_vkey, &v), COFFRE_OK);
    CHECK(strcmp(v.name, "PeterNeumann") == 0 && v.id == 0xc74f20a3u);
    CHECK(coffre_note_key_id("PeterNeumann", v.pk) == 0xc74f20a3u);
    CHECK_RC(coffre_note_verifier_format(&v, &s), COFFRE_OK);
    CHECK(s != NULL && strcmp(s, peter_vkey) == 0);
    coffre_free(s);
    /* Every proper substring and every one-byte change is refused. */
    for (size_t i = 0; i <= len; i++) {
        for (size_t j = i + 1; j <= len; j++) {
            if (i == 0 && j == len) {
                continue;
            }
            memcpy(buf, peter_vkey + i, j - i);
            buf[j - i] = '\0';
            accepted += coffre_note_verifier_parse(buf, &v) == COFFRE_OK;
        }
    }
    memcpy(buf, peter_vkey, len + 1);
    for (size_t i = 0; i < len; i++) {
        buf[i]++;
        accepted += coffre_note_verifier_parse(buf, &v) == COFFRE_OK;
        buf[i]--;
    }
    CHECK(accepted == 0);
    /* Wrong key length and unknown algorithm, with matching key ids. */
    CHECK_RC(coffre_note_verifier_parse(
                 "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
                 "LDE4izWy10TWBADKEY==",
                 &v),
             COFFRE_ERR_PARSE);
    CHECK_RC(coffre_note_verifier_parse("PeterNeumann+173116ae+"
                                        "ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
                                        "LDE4izWy10TW",
                                        &v),
             COFFRE_ERR_PARSE);
    CHECK_RC(coffre_note_verifier_parse(enoch_vkey, &v), COFFRE_OK);
    CHECK(v.id == 0xaf0cfe78u);
    CHECK_RC(coffre_note_verifier_parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQe"
                                        "gwxbzhKqiBfsVkmqq\xafLDE4izWy10TW",
                                        &v),
             COFFRE_ERR_PARSE);
}

static void
test_signer_key(void)
{
    struct coffre_note_signer *s = NULL;
    struct coffre_note_verifier v;
    char *str = NULL, buf[128];
    size_t len = strlen(peter_skey);
    unsigned long accepted = 0;

    check_secmem_watch();
    CHECK_RC(coffre_note_signer_parse(peter_skey, &s), COFFRE_OK);
    CHECK_RC(coffre_note_signer_format(s, &str), COFFRE_OK);
    CHECK(str != NULL && strcmp(str, peter_skey) == 0);
    coffre_free(str);
    coffre_note_signer_verifier(s, &v);
    CHECK_RC(coffre_note_verifier_format(&v, &str), COFFRE_OK);
    CHECK(str != NULL && strcmp(str, peter_vkey) == 0);
    coffre_free(str);
    coffre_note_signer_free(s);
    for (size_t i = 0; i <= len; i++) {
        for (size_t j = i + 1; j <= len; j++) {
            if (i == 0 && j == len) {
                continue;
            }
            memcpy(buf, peter_skey + i, j - i);
            buf[j - i] = '\0';
            accepted += coffre_note_signer_parse(buf, &s) == COFFRE_OK;
            coffre_note_signer_free(s);
        }
    }
    memcpy(buf, peter_skey, len + 1);
    for (size_t i = 0; i < len; i++) {
        buf[i]++;
        accepted += coffre_note_signer_parse(buf, &s) == COFFRE_OK;
        coffre_note_signer_free(s);
        buf[i]--;
    }
    CHECK(accepted == 0);
    CHECK_RC(coffre_note_signer_generate("bad name", &s), COFFRE_ERR_ARG);
    CHECK_RC(coffre_note_signer_generate("a+b", &s), COFFRE_ERR_ARG);
    CHECK_RC(coffre_note_signer_generate("", &s), COFFRE_ERR_ARG);
    CHECK(s == NULL);
    /* Every key and key string released was wiped first. */
    CHECK(check_secmem_released() > 0);
    CHECK(check_secmem_violations() == 0);
}

static void
test_sign_reference(void)
{
    struct coffre_note_signer *s = NULL;
    const struct coffre_note_signer *ss[1];
    char *note = NULL, *want = cat4(text, "\n", peter_sig, "");
    size_t len;

    CHECK_RC(coffre_note_signer_parse(peter_skey, &s), COFFRE_OK);
    ss[0] = s;
    CHECK_RC(coffre_note_sign(text, strlen(text), ss, 1, &note, &len),
             COFFRE_OK);
    CHECK(note != NULL && len == strlen(want) && strcmp(note, want) == 0);
    coffre_free(note);
    CHECK_RC(coffre_note_sign("abc", 3, ss, 1, &note, &len), COFFRE_ERR_PARSE);
    CHECK_RC(coffre_note_sign("", 0, ss, 1, &note, &len), COFFRE_ERR_PARSE);
    CHECK_RC(coffre_note_sign("a\tb\n", 4, ss, 1, &note, &len),
             COFFRE_ERR_PARSE);
    CHECK_RC(coffre_note_sign("\xff\n", 2, ss, 1, &note, &len),
             COFFRE_ERR_PARSE);
    CHECK_RC(coffre_note_sign(text, strlen(text), ss, 0, &note, &len),
             COFFRE_ERR_ARG);
    CHECK(note == NULL);
    coffre_note_signer_free(s);
    free(want);
}

static void
test_open_reference(void)
{
    struct coffre_note_verifier k[3];
    struct coffre_note *n = NULL;
    char *msg = cat4(text, "\n", peter_sig, enoch_sig);

    CHECK_RC(coffre_note_verifier_parse(peter_vkey, &k[0]), COFFRE_OK);
    CHECK_RC(coffre_note_verifier_parse(enoch_vkey, &k[1]), COFFRE_OK);
    k[2] = k[1];
    /* One known key verifies, the other signature is ignored. */
    CHECK_RC(open_str(msg, k, 1, &n), COFFRE_OK);
    CHECK(n != NULL && strcmp(n->text, text) == 0 &&
          n->text_len == strlen(text));
    CHECK(n != NULL && n->nsigs == 2 && n->nverified == 1 &&
          n->verified[0] == 0);
    coffre_note_free(n);
    CHECK_RC(open_str(msg, k, 2, &n), COFFRE_OK);
    CHECK(n != NULL && n->nverified == 2 && n->verified[1] == 1);
    coffre_note_free(n);
    /* No known key: nothing verified, refused. */
    CHECK_RC(open_str(msg, k, 0, &n), COFFRE_ERR_CRYPTO);
    CHECK(n == NULL);
    CHECK_RC(open_str(msg, k + 1, 1, &n), COFFRE_OK);
    coffre_note_free(n);
    /* Ambiguous known keys matter only when a signature names them. */
    CHECK_RC(open_str(msg, k + 1, 2, &n), COFFRE_ERR_ARG);
    free(msg);
    msg = cat4(text, "\n", peter_sig, "");
    CHECK_RC(open_str(msg, k, 3, &n), COFFRE_OK);
    coffre_note_free(n);
    free(msg);
    /* The same signature twice counts once. */
    msg = cat4(text, "\n", peter_sig, peter_sig);
    CHECK_RC(open_str(msg, k, 1, &n), COFFRE_OK);
    CHECK(n != NULL && n->nsigs == 2 && n->nverified == 1);
    coffre_note_free(n);
    free(msg);
}

static void
test_open_malformed(void)
{
    struct coffre_note_verifier k;
    struct coffre_note *n = NULL;
    struct coffre_buf b;
    char *bad[8], sig_nonl[sizeof peter_sig], sig_abcd[sizeof peter_sig + 4];

    CHECK_RC(coffre_note_verifier_parse(peter_vkey, &k), COFFRE_OK);
    memcpy(sig_nonl, peter_sig, sizeof peter_sig);
    sig_nonl[sizeof peter_sig - 2] = '\0';
    bad[0] = cat4(text, "", "", "");
    bad[1] = cat4(text, "\n", "", "");
    bad[2] = cat4(text, "\n", sig_nonl, "");
    bad[3] = cat4("\x01", text, "\n", peter_sig);
    bad[4] = cat4("\xff", text, "\n", peter_sig);
    bad[5] = cat4(text, "\n\xe2\x80\x94 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVB",
                  "tiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6Ryy",
                  "BwJnAM=\n");
    bad[6] = cat4(text, "\n", peter_sig, "Unexpected line.\n");
    bad[7] = cat4(text, "\n", "- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVB",
                  "tiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6Ryy"
                  "BwJnAM=\n");
    for (size_t i = 0; i < 8; i++) {
        CHECK_RC(open_str(bad[i], &k, 1, &n), COFFRE_ERR_PARSE);
        CHECK(n == NULL);
        free(bad[i]);
    }
    /* A known key's signature with 4 more base64 characters. */
    memcpy(sig_abcd, peter_sig, 60);
    memcpy(sig_abcd + 60, "ABCD", 4);
    memcpy(sig_abcd + 64, peter_sig + 60, sizeof peter_sig - 60);
    bad[0] = cat4(text, "\n", sig_abcd, "");
    CHECK_RC(open_str(bad[0], &k, 1, &n), COFFRE_ERR_CRYPTO);
    free(bad[0]);
    /* Caps: 101 signatures, then more than 1 MiB. */
    coffre_buf_init(&b, 2u << 20);
    CHECK_RC(coffre_buf_adds(&b, text), COFFRE_OK);
    CHECK_RC(coffre_buf_adds(&b, "\n"), COFFRE_OK);
    for (int i = 0; i < 101; i++) {
        CHECK_RC(coffre_buf_adds(&b, peter_sig), COFFRE_OK);
    }
    CHECK_RC(coffre_note_open((char *)b.p, b.len, &k, 1, &n),
             COFFRE_ERR_TOOBIG);
    coffre_buf_reset(&b);
    while (b.len <= COFFRE_NOTE_MAX_SIZE) {
        CHECK_RC(coffre_buf_adds(&b, text), COFFRE_OK);
    }
    CHECK_RC(coffre_buf_adds(&b, "\n"), COFFRE_OK);
    CHECK_RC(coffre_buf_adds(&b, peter_sig), COFFRE_OK);
    CHECK_RC(coffre_note_open((char *)b.p, b.len, &k, 1, &n),
             COFFRE_ERR_TOOBIG);
    coffre_buf_free(&b);
}

/* Replace the first occurrence of ${from} in ${s} by ${to} (same length). */
static void
patch(char *s, const char *from, const char *to)
{
    char *p = strstr(s, from);

    if (p == NULL || strlen(from) != strlen(to)) {
        abort();
    }
    memcpy(p, to, strlen(to));
}

static void
test_tamper(void)
{
    struct coffre_note_verifier k;
    struct coffre_note *n = NULL;
    char *msg;

    CHECK_RC(coffre_note_verifier_parse(peter_vkey, &k), COFFRE_OK);
    msg = cat4(text, "\n", peter_sig, "");
    patch(msg, "cryptography", "cryptographY");
    CHECK_RC(open_str(msg, &k, 1, &n), COFFRE_ERR_CRYPTO);
    free(msg);
    msg = cat4(text, "\n", peter_sig, "");
    patch(msg, "ZInNIuGU", "ZInNIuGV");
    CHECK_RC(open_str(msg, &k, 1, &n), COFFRE_ERR_CRYPTO);
    free(msg);
    /* Another name is another (unknown) key: nothing verifies. */
    msg = cat4(text, "\n", peter_sig, "");
    patch(msg, "PeterNeumann", "PeterNeumanm");
    CHECK_RC(open_str(msg, &k, 1, &n), COFFRE_ERR_CRYPTO);
    free(msg);
    /* The key id is part of the signature blob. */
    msg = cat4(text, "\n", peter_sig, "");
    patch(msg, "x08go", "x08gp");
    CHECK_RC(open_str(msg, &k, 1, &n), COFFRE_ERR_CRYPTO);
    free(msg);
    CHECK(n == NULL);
}

static void
test_roundtrip_generated(void)
{
    struct coffre_note_signer *s[2] = {NULL, NULL};
    struct coffre_note_verifier k[2];
    struct coffre_note *n = NULL;
    char *note = NULL, *skey = NULL;
    size_t len;
    const char body[] = "h\xc3\xa9llo \xe2\x80\x94 w\xc3\xb6rld\n\nsecond\n";

    CHECK_RC(coffre_note_signer_generate("coffre.example/log", &s[0]),
             COFFRE_OK);
    CHECK_RC(coffre_note_signer_generate("witness.example/w1", &s[1]),
             COFFRE_OK);
    coffre_note_signer_verifier(s[0], &k[0]);
    coffre_note_signer_verifier(s[1], &k[1]);
    CHECK_RC(coffre_note_sign(body, strlen(body),
                              (const struct coffre_note_signer *const *)s, 2,
                              &note, &len),
             COFFRE_OK);
    CHECK_RC(coffre_note_open(note, len, k + 1, 1, &n), COFFRE_OK);
    CHECK(n != NULL && strcmp(n->text, body) == 0 && n->nverified == 1);
    coffre_note_free(n);
    coffre_free(note);
    /* A signer key string parses back to the same key. */
    CHECK_RC(coffre_note_signer_format(s[0], &skey), COFFRE_OK);
    coffre_note_signer_free(s[1]);
    CHECK_RC(coffre_note_signer_parse(skey, &s[1]), COFFRE_OK);
    coffre_note_signer_verifier(s[1], &k[1]);
    CHECK(memcmp(&k[0], &k[1], sizeof k[0]) == 0);
    coffre_free(skey);
    coffre_note_signer_free(s[0]);
    coffre_note_signer_free(s[1]);
}

static void
test_checkpoint_roundtrip(void)
{
    struct coffre_checkpoint c = {0}, d;
    char origin[] = "coffre.example/audit", *t = NULL;
    size_t len;

    c.origin = origin;
    c.size = 20852163;
    for (int i = 0; i < 32; i++) {
        c.root[i] = (unsigned char)(i * 7);
    }
    CHECK_RC(coffre_checkpoint_format(&c, &t, &len), COFFRE_OK);
    CHECK_RC(coffre_checkpoint_parse(t, len, &d), COFFRE_OK);
    CHECK(strcmp(d.origin, origin) == 0 && d.size == c.size &&
          memcmp(d.root, c.root, 32) == 0 && strcmp(d.ext, "") == 0);
    coffre_checkpoint_clear(&d);
    coffre_free(t);
    c.ext = (char *)"ext one\next two\n";
    c.size = UINT64_MAX;
    CHECK_RC(coffre_checkpoint_format(&c, &t, &len), COFFRE_OK);
    CHECK_RC(coffre_checkpoint_parse(t, len, &d), COFFRE_OK);
    CHECK(d.size == UINT64_MAX && strcmp(d.ext, c.ext) == 0);
    coffre_checkpoint_clear(&d);
    coffre_free(t);
    c.ext = (char *)"no newline";
    CHECK_RC(coffre_checkpoint_format(&c, &t, &len), COFFRE_ERR_ARG);
    c.ext = (char *)"a\n\nb\n";
    CHECK_RC(coffre_checkpoint_format(&c, &t, &len), COFFRE_ERR_ARG);
    c.ext = NULL;
    c.origin = (char *)"";
    CHECK_RC(coffre_checkpoint_format(&c, &t, &len), COFFRE_ERR_ARG);
    c.origin = (char *)"two\nlines";
    CHECK_RC(coffre_checkpoint_format(&c, &t, &len), COFFRE_ERR_ARG);
    c.origin = (char *)"tab\there";
    CHECK_RC(coffre_checkpoint_format(&c, &t, &len), COFFRE_ERR_ARG);
    CHECK(t == NULL);
}

static void
test_checkpoint_strict(void)
{
    static const char *const bad[] = {
        "",
        "o\n",
        "o\n1\n",
        "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n+1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n 1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        /* 2^64 */
        ("o\n18446744073709551616\n"
         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"),
        /* bytes libsodium 1.0.18 alone would take for base64 digits */
        "o\n0\n47DLQpj8HBSa+/TIW\xd5\x8b"
        "0JCeuQeRkm5NMpJWZG3hSuFU=\n",
        /* non-zero trailing bits */
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n", /* 31 bytes */
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",  /* no pad */
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nx\n\ny\n",
        "o\r\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n1\r\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    };
    struct coffre_checkpoint c;

    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_RC(coffre_checkpoint_parse(bad[i], strlen(bad[i]), &c),
                 COFFRE_ERR_PARSE);
    }
    const char *empty = "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";

    CHECK_RC(coffre_checkpoint_parse(empty, strlen(empty), &c), COFFRE_OK);
    CHECK(c.size == 0 && strcmp(c.origin, "o") == 0);
    coffre_checkpoint_clear(&c);
}

/* ------------------------------------------------------------------ */
/* The worked example of docs/audit.md, fully deterministic.          */

static const char example_origin[] = "coffre.example/audit";

static void
example_tree(struct coffre_merkle_tree **pt)
{
    char entry[32];
    unsigned char leaf[COFFRE_MERKLE_HASH_LEN];

    CHECK_RC(coffre_merkle_tree_new(pt), COFFRE_OK);
    for (int i = 0; i < 7; i++) {
        snprintf(entry, sizeof entry, "entry %d", i);
        coffre_merkle_leaf_hash(entry, strlen(entry), leaf);
        CHECK_RC(coffre_merkle_tree_append(*pt, leaf), COFFRE_OK);
    }
}

static void
add_hashes(struct coffre_buf *b, const char *title, const unsigned char *h,
           size_t n)
{
    char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];

    CHECK_RC(coffre_buf_addf(b, "%s\n", title), COFFRE_OK);
    for (size_t i = 0; i < n; i++) {
        sodium_bin2base64(b64, sizeof b64, h + 32 * i, 32,
                          sodium_base64_VARIANT_ORIGINAL);
        CHECK_RC(coffre_buf_addf(b, "  %s\n", b64), COFFRE_OK);
    }
}

/* Seed = SHA-256("coffre audit example"); seven entries "entry 0".."entry
 * 6"; checkpoint at size 7; inclusion of entry 3; consistency 4 -> 7. */
static void
example_build(struct coffre_buf *b)
{
    unsigned char seed[32], p[COFFRE_MERKLE_MAX_PROOF * 32];
    struct coffre_merkle_tree *t = NULL;
    struct coffre_note_signer *s = NULL;
    struct coffre_note_verifier v;
    struct coffre_checkpoint c = {0};
    char *vkey = NULL, *note = NULL;
    size_t len, plen;

    crypto_hash_sha256(seed, (const unsigned char *)"coffre audit example", 20);
    CHECK_RC(coffre_note_signer_from_seed(example_origin, seed, &s), COFFRE_OK);
    coffre_note_signer_verifier(s, &v);
    CHECK_RC(coffre_note_verifier_format(&v, &vkey), COFFRE_OK);
    example_tree(&t);
    c.origin = (char *)example_origin;
    c.size = 7;
    CHECK_RC(coffre_merkle_tree_root(t, 7, c.root), COFFRE_OK);
    CHECK_RC(
        coffre_checkpoint_sign(&c, (const struct coffre_note_signer *const *)&s,
                               1, &note, &len),
        COFFRE_OK);
    CHECK_RC(coffre_buf_addf(b, "verifier key\n  %s\n\ncheckpoint\n%s\n", vkey,
                             note),
             COFFRE_OK);
    CHECK_RC(coffre_checkpoint_open(note, len, example_origin, &v, 1, &c),
             COFFRE_OK);
    CHECK(c.size == 7);
    coffre_checkpoint_clear(&c);
    CHECK_RC(coffre_checkpoint_open(note, len, "other.example/log", &v, 1, &c),
             COFFRE_ERR_CRYPTO);
    CHECK_RC(coffre_merkle_tree_leaf(t, 3, p), COFFRE_OK);
    add_hashes(b, "leaf hash of \"entry 3\" (index 3)", p, 1);
    CHECK_RC(coffre_merkle_tree_inclusion(t, 3, 7, p, 65, &plen), COFFRE_OK);
    add_hashes(b, "inclusion proof, leaf index 3 (\"entry 3\"), size 7", p,
               plen);
    CHECK_RC(coffre_merkle_tree_root(t, 4, p), COFFRE_OK);
    add_hashes(b, "\nroot at size 4", p, 1);
    CHECK_RC(coffre_merkle_tree_consistency(t, 4, 7, p, 65, &plen), COFFRE_OK);
    add_hashes(b, "consistency proof, size 4 to 7", p, plen);
    coffre_free(vkey);
    coffre_free(note);
    coffre_note_signer_free(s);
    coffre_merkle_tree_free(t);
}

static char *
read_file(const char *path, size_t *plen)
{
    FILE *f = fopen(path, "rb");
    char *s;

    if (f == NULL) {
        return NULL;
    }
    s = calloc(1, 65536);
    *plen = s != NULL ? fread(s, 1, 65535, f) : 0;
    fclose(f);
    return s;
}

static void
test_worked_example(void)
{
    struct coffre_buf b;
    const char *src = getenv("SRCDIR"), *out = getenv("COFFRE_WRITE_EXAMPLE");
    char path[4096], *want;
    size_t wlen = 0;
    FILE *f;

    coffre_buf_init(&b, 65536);
    example_build(&b);
    CHECK(coffre_buf_cstr(&b) != NULL);
    if (out != NULL && (f = fopen(out, "wb")) != NULL) {
        fwrite(b.p, 1, b.len, f);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/tests/vectors/audit/example.txt",
             src != NULL ? src : ".");
    want = read_file(path, &wlen);
    CHECK(want != NULL && wlen == b.len && memcmp(want, b.p, wlen) == 0);
    free(want);
    coffre_buf_free(&b);
}

int
main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    RUN(test_verifier_key);
    RUN(test_signer_key);
    RUN(test_sign_reference);
    RUN(test_open_reference);
    RUN(test_open_malformed);
    RUN(test_tamper);
    RUN(test_roundtrip_generated);
    RUN(test_checkpoint_roundtrip);
    RUN(test_checkpoint_strict);
    RUN(test_worked_example);
    return check_done();
}
