/* Error strings, class and state names, library initialisation. */
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "coffre/coffre.h"
#include "util/secmem.h"

static const char *const err_text[COFFRE_ERR__COUNT] = {
    [COFFRE_OK] = "success",
    [COFFRE_ERR_NOMEM] = "out of memory",
    [COFFRE_ERR_ARG] = "invalid argument",
    [COFFRE_ERR_INVALID] = "record fails validation",
    [COFFRE_ERR_PARSE] = "malformed input",
    [COFFRE_ERR_TOOBIG] = "input too large",
    [COFFRE_ERR_IO] = "input/output error",
    [COFFRE_ERR_STORE] = "storage error",
    [COFFRE_ERR_CRYPTO] = "ciphertext does not authenticate",
    [COFFRE_ERR_SEALED] = "vault is sealed",
    [COFFRE_ERR_SHARE] = "share is malformed or not of this vault",
    [COFFRE_ERR_THRESHOLD] = "shares do not unseal the vault",
    [COFFRE_ERR_NOTFOUND] = "not found",
    [COFFRE_ERR_EXISTS] = "already exists",
    [COFFRE_ERR_ERASED] = "erased",
    [COFFRE_ERR_STATE] = "illegal lifecycle transition",
    [COFFRE_ERR_DENIED] = "forbidden by policy",
    [COFFRE_ERR_LIMIT] = "rate limit or quota exceeded",
    [COFFRE_ERR_UNAVAILABLE] = "temporarily unavailable",
    [COFFRE_ERR_INUSE] = "still in use",
};

const char *
coffre_strerror(int err)
{
    if (err < 0 || err >= COFFRE_ERR__COUNT || err_text[err] == NULL) {
        return "unknown error";
    }
    return err_text[err];
}

static const char *const class_names[COFFRE_CLASS_COUNT] = {
    "public", "identity", "contact", "document", "photo", "vetting",
};

const char *
coffre_class_name(int c)
{
    if (c < 0 || c >= COFFRE_CLASS_COUNT) {
        return NULL;
    }
    return class_names[c];
}

int
coffre_class_parse(const char *name)
{
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        if (strcmp(name, class_names[c]) == 0) {
            return c;
        }
    }
    return -1;
}

static const char *const state_names[COFFRE_STATE_COUNT] = {
    "submitted",    "vetting", "approved", "refused",
    "badge_issued", "revoked", "expired",  "erased",
};

const char *
coffre_state_name(int s)
{
    if (s < 0 || s >= COFFRE_STATE_COUNT) {
        return NULL;
    }
    return state_names[s];
}

int
coffre_state_parse(const char *name)
{
    for (int s = 0; s < COFFRE_STATE_COUNT; s++) {
        if (strcmp(name, state_names[s]) == 0) {
            return s;
        }
    }
    return -1;
}

#define B(s) (1u << (s))
/* The lifecycle of DESIGN section 3; erasure is allowed from every state. */
static const unsigned state_next[COFFRE_STATE_COUNT] = {
    [COFFRE_STATE_SUBMITTED] =
        B(COFFRE_STATE_VETTING) | B(COFFRE_STATE_REFUSED),
    [COFFRE_STATE_VETTING] = B(COFFRE_STATE_APPROVED) | B(COFFRE_STATE_REFUSED),
    [COFFRE_STATE_APPROVED] = B(COFFRE_STATE_BADGE_ISSUED) |
                              B(COFFRE_STATE_REVOKED) | B(COFFRE_STATE_EXPIRED),
    [COFFRE_STATE_REFUSED] = 0,
    [COFFRE_STATE_BADGE_ISSUED] = B(COFFRE_STATE_BADGE_ISSUED) |
                                  B(COFFRE_STATE_REVOKED) |
                                  B(COFFRE_STATE_EXPIRED),
    [COFFRE_STATE_REVOKED] = 0,
    [COFFRE_STATE_EXPIRED] = 0,
    [COFFRE_STATE_ERASED] = 0,
};

int
coffre_state_allowed(int from, int to)
{
    if (from < 0 || from >= COFFRE_STATE_COUNT || to < 0 ||
        to >= COFFRE_STATE_COUNT || from == COFFRE_STATE_ERASED) {
        return 0;
    }
    if (to == COFFRE_STATE_ERASED) {
        return 1;
    }
    return (state_next[from] & B(to)) != 0;
}

static void *
json_alloc(size_t n)
{
    return coffre_pmem_alloc(n);
}

int
coffre_lib_init(void)
{
    if (sodium_init() < 0) {
        return COFFRE_ERR_UNAVAILABLE;
    }
    /* JSON trees hold personal values: wipe them on free. */
    json_set_alloc_funcs(json_alloc, coffre_pmem_free);
    return COFFRE_OK;
}

void
coffre_free(void *p)
{
    coffre_pmem_free(p);
}
