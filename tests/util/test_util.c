/* Unit tests of lib/util: buffers, wiping allocators, names. */
#include <string.h>

#include "check.h"
#include "coffre/coffre.h"
#include "util/buf.h"
#include "util/secmem.h"

static void
test_buf_cap(void)
{
    struct coffre_buf b;

    coffre_buf_init(&b, 8);
    CHECK_RC(coffre_buf_adds(&b, "12345678"), COFFRE_OK);
    CHECK_RC(coffre_buf_addc(&b, 'x'), COFFRE_ERR_TOOBIG);
    CHECK(b.len == 8);
    CHECK(strcmp(coffre_buf_cstr(&b), "12345678") == 0);
    coffre_buf_reset(&b);
    CHECK_RC(coffre_buf_addf(&b, "%d-%s", 42, "ab"), COFFRE_OK);
    CHECK(strcmp(coffre_buf_cstr(&b), "42-ab") == 0);
    CHECK_RC(coffre_buf_addf(&b, "%s", "toolong"), COFFRE_ERR_TOOBIG);
    coffre_buf_free(&b);
}

static void
test_varint(void)
{
    struct coffre_buf b;

    coffre_buf_init(&b, 64);
    CHECK_RC(coffre_buf_add_varint(&b, 300), COFFRE_OK);
    CHECK(b.len == 2 && b.p[0] == 0xac && b.p[1] == 0x02);
    coffre_buf_free(&b);
}

static void
test_wipe_on_free(void)
{
    size_t r0, v0;
    char *s;
    unsigned char *k;

    check_secmem_watch();
    r0 = check_secmem_released();
    v0 = check_secmem_violations();
    s = coffre_pmem_strdup("Dupont");
    k = coffre_key_alloc(32);
    CHECK(s != NULL && k != NULL);
    memset(k, 0xaa, 32);
    coffre_pmem_free(s);
    coffre_key_free(k, 32);
    CHECK(check_secmem_released() == r0 + 2);
    CHECK(check_secmem_violations() == v0);
}

static void
test_names(void)
{
    CHECK(coffre_class_parse("photo") == COFFRE_CLASS_PHOTO);
    CHECK(coffre_class_parse("nope") == -1);
    CHECK(strcmp(coffre_state_name(COFFRE_STATE_BADGE_ISSUED),
                 "badge_issued") == 0);
    CHECK(coffre_state_allowed(COFFRE_STATE_SUBMITTED, COFFRE_STATE_VETTING));
    CHECK(!coffre_state_allowed(COFFRE_STATE_SUBMITTED, COFFRE_STATE_APPROVED));
    CHECK(!coffre_state_allowed(COFFRE_STATE_REFUSED, COFFRE_STATE_APPROVED));
    CHECK(coffre_state_allowed(COFFRE_STATE_REVOKED, COFFRE_STATE_ERASED));
    CHECK(!coffre_state_allowed(COFFRE_STATE_ERASED, COFFRE_STATE_ERASED));
    CHECK(strcmp(coffre_strerror(COFFRE_ERR_CRYPTO),
                 "ciphertext does not authenticate") == 0);
    CHECK(strcmp(coffre_strerror(9999), "unknown error") == 0);
}

int
main(void)
{
    if (coffre_lib_init() != COFFRE_OK) {
        return 2;
    }
    RUN(test_buf_cap);
    RUN(test_varint);
    RUN(test_wipe_on_free);
    RUN(test_names);
    return check_done();
}
