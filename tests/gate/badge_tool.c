/*
 * badge_tool: the issuing side for the gate's shell tests, the interop test
 * and the vectors, from the fixture keys (tests/gate/badge_fixture.c).
 *   setup DIR            list key, trust list and empty revocations in DIR
 *   issue [foreign]      print the fixture badge (or one by a foreign key)
 *   revoke DIR BADGE     revocation list (sequence 2) naming BADGE
 *   png BADGE FILE       the QR code of BADGE as a PNG
 *   trust DIR PKHEX      trust list (sequence 2) adding the key PKHEX
 *   pk                   print the badge and list public keys (hex)
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
issue(const struct coffre_badge_key *k)
{
    struct coffre_badge_claims c;
    char *p;

    fix_claims(&c);
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
        return issue(bk);
    }
    if (strcmp(cmd, "issue") == 0 && argc == 3) {
        foreign = fix_key(9);
        rc = issue(foreign);
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
