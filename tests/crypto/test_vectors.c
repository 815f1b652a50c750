/* Known answers for every format this component defines (docs/keys.md,
 * "Test vectors"). They were computed by a separate implementation from
 * the text of docs/keys.md (Python hashlib + a ChaCha20 library), not by
 * this code. K1 = 00 01 .. 1f, K2 = 20 21 .. 3f, vault id = 00 01 .. 0f. */
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "coffre/coffre.h"
#include "crypto/crypto.h"
#include "crypto_tests.h"

static unsigned char k1b[32], k2b[32], vid[16];

static int
eq_hex(const unsigned char *b, size_t n, const char *hex)
{
    char got[129];

    sodium_bin2hex(got, sizeof(got), b, n);
    return strcmp(got, hex) == 0;
}

static void
test_kat_keys(void)
{
    struct coffre_key *k1 = coffre_key_from(k1b), *k2 = coffre_key_from(k2b);
    struct coffre_key *d = NULL;
    unsigned char out[32];

    CHECK_RC(coffre_key_derive(k1, "index:email", &d), COFFRE_OK);
    CHECK(eq_hex(d->b, 32,
                 "aa5de59bb27e341ac2ceee7918f9a1da"
                 "b8bee25a4e6aaacb5bf86ab7bd0db940"));
    coffre_key_destroy(d);
    CHECK_RC(coffre_key_dkwrap(k1, 2024, k2, &d), COFFRE_OK);
    CHECK(eq_hex(d->b, 32,
                 "09abb1ffa54bdde41ff738b665c6d6a2"
                 "ec2ee9a96b97606312903c239551e758"));
    coffre_key_destroy(d);
    coffre_root_check(k1, vid, out);
    CHECK(eq_hex(out, 32,
                 "d57ad46d9c2d23cab26853e6c2fa0a53"
                 "3cf2ff15be9c777ee053b8b53b90399f"));
    coffre_blind_tag(k1, (const unsigned char *)"dupont", 6, out);
    CHECK(eq_hex(out, 16, "f2bdb2af16651eadf31af6b31353a9fa"));
    coffre_key_destroy(k1);
    coffre_key_destroy(k2);
}

static void
test_kat_pseudonym(void)
{
    struct coffre_key *k1 = coffre_key_from(k1b);
    char p[44];
    uint64_t id = 1;

    coffre_pseudonym_make(k1, 42, p);
    CHECK(strcmp(p, "ZXd7ghD0J0WCA9C0DFCy8cIu6b_wGSPp3nyL_JPZQa8") == 0);
    coffre_pseudonym_make(k1, 0, p);
    CHECK(strcmp(p, "YF4LPFOIOfhzXo6YV-d8QzNqlrOjNQZbXtzTvraeC_Q") == 0);
    CHECK_RC(coffre_pseudonym_open(k1, p, &id), COFFRE_OK);
    CHECK(id == 0);
    coffre_key_destroy(k1);
}

static void
test_kat_share(void)
{
    static const char text[] =
        "coffre-share-v1 000102030405060708090a0b0c0d0e0f 3 5 2 "
        "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1-f4CBgoM 803a6992\n";
    struct coffre_share s;
    unsigned char c[32];
    int bytes_ok = 1;

    CHECK_RC(coffre_share_parse(text, &s), COFFRE_OK);
    CHECK(s.threshold == 3 && s.count == 5 && s.index == 2 && s.len == 32);
    CHECK(memcmp(s.vault_id, vid, 16) == 0);
    for (size_t i = 0; s.bytes != NULL && i < 32; i++) {
        bytes_ok &= s.bytes[i] == 100 + i;
    }
    CHECK(bytes_ok);
    coffre_share_commitment(&s, c);
    CHECK(eq_hex(c, 32,
                 "f1b1553f5698bb5a2892afcc89155f3b"
                 "d943b3b64cb53ada72c5a39a7ca40a7f"));
    coffre_share_clear(&s);
}

void
test_vectors_all(void)
{
    for (unsigned i = 0; i < 32; i++) {
        k1b[i] = (unsigned char)i;
        k2b[i] = (unsigned char)(32 + i);
    }
    for (unsigned i = 0; i < 16; i++) {
        vid[i] = (unsigned char)i;
    }
    RUN(test_kat_keys);
    RUN(test_kat_pseudonym);
    RUN(test_kat_share);
}
