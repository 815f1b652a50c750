/*
 * The badge vectors (tests/vectors/badge/vectors.txt): every case gives
 * its expected decision, and the issuer reproduces the genuine payload
 * byte for byte from the seeds (both signing and encoding are
 * deterministic).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "badge_fixture.h"
#include "check.h"

static const char *const expect_names[COFFRE_GATE_REASON_COUNT] = {
    "accept",  "malformed", "unknown_key", "bad_signature", "not_yet_valid",
    "expired", "revoked",   "wrong_venue", "wrong_zone",    "stale_list",
};

static uint8_t *
hex_field(const char *hex, size_t *plen)
{
    size_t n = strlen(hex) / 2;
    uint8_t *p = malloc(n + 1);

    if (p == NULL ||
        sodium_hex2bin(p, n, hex, strlen(hex), NULL, plen, NULL) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

static int
reason_of(const char *name)
{
    for (int r = 0; r < COFFRE_GATE_REASON_COUNT; r++) {
        if (strcmp(name, expect_names[r]) == 0) {
            return r;
        }
    }
    return -1;
}

static void
run_case(struct coffre_gate *g, char *rest, const char *genuine_seeded)
{
    char want[32], venue[32], zone[32];
    long long now;
    int used = 0;
    struct coffre_gate_decision d;
    const char *payload;

    if (sscanf(rest, "%31s %lld %31s %31s %n", want, &now, venue, zone,
               &used) != 4 ||
        used == 0) {
        check_record(0, "a well-formed case line", __FILE__, __LINE__);
        return;
    }
    payload = rest + used;
    CHECK_RC(coffre_gate_verify(g, payload, strlen(payload), now,
                                strcmp(venue, "-") ? venue : NULL,
                                strcmp(zone, "-") ? zone : NULL, &d),
             COFFRE_OK);
    if (d.reason != reason_of(want)) {
        printf("# case %s decided %s\n", want,
               coffre_gate_reason_name(d.reason));
    }
    CHECK(d.reason == reason_of(want));
    if (strcmp(want, "accept") == 0) {
        CHECK(strcmp(payload, genuine_seeded) == 0);
    }
}

/* Handle one "key value" line; cases once the lists are loaded. */
static void
vector_line(char *line, struct coffre_gate **pg, const char *genuine,
            size_t *pcases)
{
    char *val = strchr(line, ' ');
    uint8_t *bin;
    size_t n = 0;
    long long age;
    char pol[16];

    if (line[0] == '#' || val == NULL) {
        return;
    }
    *val++ = '\0';
    if (strcmp(line, "list_pk") == 0) {
        bin = hex_field(val, &n);
        CHECK(bin != NULL && n == 32);
        CHECK_RC(coffre_gate_new(bin, pg), COFFRE_OK);
        free(bin);
    } else if (strcmp(line, "trust_list") == 0 ||
               strcmp(line, "revocation_list") == 0) {
        int revoc = line[0] == 'r';
        bin = hex_field(val, &n);
        CHECK(bin != NULL && *pg != NULL);
        CHECK_RC(revoc ? coffre_gate_load_revocations(*pg, bin, n)
                       : coffre_gate_load_trust(*pg, bin, n),
                 COFFRE_OK);
        free(bin);
    } else if (strcmp(line, "policy") == 0) {
        CHECK(sscanf(val, "%lld %15s", &age, pol) == 2);
        coffre_gate_set_policy(*pg, age, strcmp(pol, "refuse") == 0);
    } else if (strcmp(line, "case") == 0) {
        run_case(*pg, val, genuine);
        (*pcases)++;
    }
}

int
main(int argc, char **argv)
{
    struct coffre_badge_claims c;
    struct coffre_badge_key *bk;
    struct coffre_gate *g = NULL;
    char line[8192], *genuine = NULL;
    size_t cases = 0;
    FILE *f;

    if (argc != 2 || sodium_init() < 0 || (f = fopen(argv[1], "r")) == NULL) {
        fprintf(stderr, "usage: test_vectors VECTORS_FILE\n");
        return 2;
    }
    bk = fix_key(1); /* badge_seed: 32 bytes of 0x01 */
    fix_claims(&c);
    CHECK_RC(coffre_badge_issue(&c, bk, &genuine, NULL), COFFRE_OK);
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        vector_line(line, &g, genuine, &cases);
    }
    fclose(f);
    printf("# %zu cases\n", cases);
    CHECK(cases >= 12);
    coffre_gate_free(g);
    coffre_free(genuine);
    coffre_badge_key_free(bk);
    return check_done();
}
