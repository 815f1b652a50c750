/*
 * badge_tool: the issuing side for the gate's shell tests, the interop test
 * and the vectors, from the fixture keys (tests/gate/badge_fixture.c).
 *   setup DIR            list key, trust list and empty revocations in DIR
 *   issue [foreign]      print the fixture badge (or one by a foreign key)
 *   issue-name NAME      the fixture badge with NAME as its name, as given
 *   revoke DIR BADGE     revocation list (sequence 2) naming BADGE
 *   png BADGE FILE       the QR code of BADGE as a PNG
 *   trust DIR PKHEX      trust list (sequence 2) adding the key PKHEX
 *   pk                   print the badge and list public keys (hex)
 *   vectors              print tests/vectors/badge/vectors.txt
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "badge_fixture.h"

static int
write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    FILE *f;
    int ok;

    if (dir != NULL) {
        snprintf(path, sizeof(path), "%s/%s", dir, name);
    } else {
        snprintf(path, sizeof(path), "%s", name);
    }
    f = fopen(path, "wb");
    if (f == NULL) {
        return 1;
    }
    ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : 1;
}

static int
revocations(const char *dir, const struct coffre_badge_key *lk,
            const uint8_t *ids, size_t n, uint64_t seq)
{
    unsigned char *buf;
    size_t len;
    int rc;

    if (coffre_badge_revocation_list(ids, n, seq, FIX_NOW - 60, lk, &buf,
                                     &len) != COFFRE_OK) {
        return 1;
    }
    rc = write_file(dir, "revocations.cbor", buf, len);
    coffre_free(buf);
    return rc;
}

static int
setup(const char *dir, const struct coffre_badge_key *bk,
      const struct coffre_badge_key *lk)
{
    uint8_t pk[32];
    char hex[65];
    unsigned char *buf;
    size_t len;
    int rc;

    coffre_badge_key_public(lk, pk, NULL);
    sodium_bin2hex(hex, sizeof(hex), pk, sizeof(pk));
    hex[64] = '\n';
    if (write_file(dir, "list-key", hex, sizeof(hex)) != 0 ||
        fix_trust(bk, lk, 1, &buf, &len) != COFFRE_OK) {
        return 1;
    }
    rc = write_file(dir, "trust-list.cbor", buf, len);
    coffre_free(buf);
    return rc != 0 ? rc : revocations(dir, lk, NULL, 0, 1);
}

static int
issue(const struct coffre_badge_key *k, const char *name)
{
    struct coffre_badge_claims c;
    char *p;

    fix_claims(&c);
    if (name != NULL) {
        c.name = name;
    }
    if (coffre_badge_issue(&c, k, &p, NULL) != COFFRE_OK) {
        return 1;
    }
    printf("%s\n", p);
    coffre_free(p);
    return 0;
}

static int
revoke(const char *dir, const char *badge, const struct coffre_badge_key *bk,
       const struct coffre_badge_key *lk)
{
    struct coffre_gate *g = NULL;
    struct coffre_gate_decision d;
    int rc = 1;

    if (fix_gate(bk, lk, NULL, 0, FIX_NOW, &g) == COFFRE_OK &&
        coffre_gate_verify(g, badge, strlen(badge), FIX_NOW, NULL, NULL, &d) ==
            COFFRE_OK &&
        d.reason == COFFRE_GATE_ACCEPT) {
        rc = revocations(dir, lk, d.id, 1, 2);
    }
    coffre_gate_free(g);
    return rc;
}

static int
png(const char *badge, const char *file)
{
    unsigned char *buf;
    size_t len;
    int rc;

    if (coffre_badge_qr_png(badge, 4, &buf, &len) != COFFRE_OK) {
        return 1;
    }
    rc = write_file(NULL, file, buf, len);
    coffre_free(buf);
    return rc;
}

static int
trust(const char *dir, const char *pkhex, const struct coffre_badge_key *bk,
      const struct coffre_badge_key *lk)
{
    struct coffre_badge_trusted t[2];
    unsigned char *buf;
    size_t len, n = 0;
    int rc;

    coffre_badge_key_public(bk, t[0].pk, NULL);
    if (sodium_hex2bin(t[1].pk, 32, pkhex, strlen(pkhex), NULL, &n, NULL) !=
            0 ||
        n != 32) {
        return 1;
    }
    t[0].not_before = t[1].not_before = 1704067200;
    t[0].not_after = t[1].not_after = 1767225600;
    if (coffre_badge_trust_list(t, 2, 2, FIX_NOW - 60, lk, &buf, &len) !=
        COFFRE_OK) {
        return 1;
    }
    rc = write_file(dir, "trust-list.cbor", buf, len);
    coffre_free(buf);
    return rc;
}

static int
print_pks(const struct coffre_badge_key *bk, const struct coffre_badge_key *lk)
{
    uint8_t pk[32];
    char hex[65];

    coffre_badge_key_public(bk, pk, NULL);
    printf("badge %s\n", sodium_bin2hex(hex, sizeof(hex), pk, 32));
    coffre_badge_key_public(lk, pk, NULL);
    printf("list %s\n", sodium_bin2hex(hex, sizeof(hex), pk, 32));
    return 0;
}

static void
print_hex(const char *label, const uint8_t *p, size_t n)
{
    printf("%s ", label);
    for (size_t i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }
    printf("\n");
}

/* Re-sign nothing: flip one bit of the COSE bytes of ${badge} at ${off}. */
static void
print_flipped(const char *what, const char *badge, size_t off_from_end,
              size_t off)
{
    uint8_t cose[1024];
    char out[1200];
    size_t n;

    if (fix_unwrap(badge, cose, sizeof(cose), &n) != 0) {
        return;
    }
    cose[off_from_end ? n - off_from_end : off] ^= 0x01;
    if (fix_wrap(cose, n, out, sizeof(out)) == 0) {
        printf("case %s %d - - %s\n", what, FIX_NOW, out);
    }
}

static int
vectors(const struct coffre_badge_key *bk, const struct coffre_badge_key *lk)
{
    struct coffre_badge_claims c;
    struct coffre_badge_key *foreign = fix_key(9);
    char *good = NULL, *rev = NULL, *alien = NULL;
    unsigned char *tl = NULL, *rl = NULL;
    uint8_t pk[32], id[8], seed[32];
    size_t tlen, rlen;
    int rc = 1;

    fix_claims(&c);
    if (coffre_badge_issue(&c, bk, &good, NULL) != COFFRE_OK) {
        goto out;
    }
    c.subject = "Zm9vYmFyYmF6cXV4cXV1eHF1dXotLS0tLS0tLS0tLS0";
    c.name = "MARTIN C";
    if (coffre_badge_issue(&c, bk, &rev, id) != COFFRE_OK ||
        coffre_badge_issue(&c, foreign, &alien, NULL) != COFFRE_OK ||
        fix_trust(bk, lk, 1, &tl, &tlen) != COFFRE_OK ||
        coffre_badge_revocation_list(id, 1, 1, FIX_NOW - 60, lk, &rl, &rlen) !=
            COFFRE_OK) {
        goto out;
    }
    printf("# coffre badge vectors (docs/badge.md). Seeds are Ed25519 seeds;\n"
           "# keys, lists and payloads are deterministic from them.\n");
    coffre_badge_key_seed(bk, seed);
    print_hex("badge_seed", seed, 32);
    coffre_badge_key_public(bk, pk, NULL);
    print_hex("badge_pk", pk, 32);
    coffre_badge_key_seed(lk, seed);
    print_hex("list_seed", seed, 32);
    coffre_badge_key_public(lk, pk, NULL);
    print_hex("list_pk", pk, 32);
    print_hex("trust_list", tl, tlen);
    print_hex("revocation_list", rl, rlen);
    printf("policy 86400 refuse\n");
    printf("# case EXPECTED NOW VENUE ZONE PAYLOAD ('-': not checked)\n");
    printf("case accept %d STF 3 %s\n", FIX_NOW, good);
    printf("case wrong_zone %d STF 2 %s\n", FIX_NOW, good);
    printf("case wrong_venue %d BCY - %s\n", FIX_NOW, good);
    printf("case not_yet_valid %d - - %s\n", FIX_NOW - 86400 - 1, good);
    printf("case expired %d - - %s\n", FIX_NOW + 30 * 86400, good);
    printf("case stale_list %d - - %s\n", FIX_NOW + 2 * 86400, good);
    printf("case revoked %d - - %s\n", FIX_NOW, rev);
    printf("case unknown_key %d - - %s\n", FIX_NOW, alien);
    print_flipped("bad_signature", good, 1, 0);
    print_flipped("bad_signature", good, 0, 20); /* inside the claims */
    printf("case malformed %d - - %.*s\n", FIX_NOW, (int)strlen(good) - 2,
           good);
    printf("case malformed %d - - HC1:%s\n", FIX_NOW, good + 4);
    rc = 0;
out:
    coffre_free(good);
    coffre_free(rev);
    coffre_free(alien);
    coffre_free(tl);
    coffre_free(rl);
    coffre_badge_key_free(foreign);
    return rc;
}

static int
dispatch(int argc, char **argv, struct coffre_badge_key *bk,
         struct coffre_badge_key *lk)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    struct coffre_badge_key *foreign;
    int rc;

    if (strcmp(cmd, "setup") == 0 && argc == 3) {
        return setup(argv[2], bk, lk);
    }
    if (strcmp(cmd, "issue") == 0 && argc == 2) {
        return issue(bk, NULL);
    }
    if (strcmp(cmd, "issue-name") == 0 && argc == 3) {
        return issue(bk, argv[2]);
    }
    if (strcmp(cmd, "issue") == 0 && argc == 3) {
        foreign = fix_key(9);
        rc = issue(foreign, NULL);
        coffre_badge_key_free(foreign);
        return rc;
    }
    if (strcmp(cmd, "revoke") == 0 && argc == 4) {
        return revoke(argv[2], argv[3], bk, lk);
    }
    if (strcmp(cmd, "png") == 0 && argc == 4) {
        return png(argv[2], argv[3]);
    }
    if (strcmp(cmd, "trust") == 0 && argc == 4) {
        return trust(argv[2], argv[3], bk, lk);
    }
    if (strcmp(cmd, "vectors") == 0) {
        return vectors(bk, lk);
    }
    if (strcmp(cmd, "pk") == 0) {
        return print_pks(bk, lk);
    }
    fprintf(stderr, "badge_tool: bad usage\n");
    return 2;
}

int
main(int argc, char **argv)
{
    struct coffre_badge_key *bk, *lk;
    int rc;

    if (sodium_init() < 0) {
        return 1;
    }
    bk = fix_key(1);
    lk = fix_key(2);
    rc = bk != NULL && lk != NULL ? dispatch(argc, argv, bk, lk) : 1;
    coffre_badge_key_free(bk);
    coffre_badge_key_free(lk);
    return rc;
}
