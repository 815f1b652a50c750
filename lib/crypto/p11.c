/*
 * The PKCS#11 seal's token side, through p11-kit (docs/keys.md section 8).
 *
 * The module is loaded for one unseal or one seal and released at once:
 * the root key then lives in locked memory like a Shamir-rebuilt one, and
 * the token is not held open while the vault serves.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <sodium.h>

#include "coffre/coffre.h"
#include "crypto/p11.h"
#include "util/secmem.h"

#define P11_SLOTS_MAX 64
#define GCM_IV_LEN 12
#define GCM_TAG_LEN 16

struct coffre_p11 {
    CK_FUNCTION_LIST *f;
    CK_SESSION_HANDLE session;
    int open, logged_in;
    CK_OBJECT_HANDLE key;
    int have_key;
    char token[COFFRE_P11_LABEL_MAX + 1];
    char label[COFFRE_P11_LABEL_MAX + 1];
};

static int __attribute__((format(printf, 4, 5)))
fail(char *err, size_t cap, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return rc;
}

/* The name of a return value, for messages an operator can look up. */
static const char *
ckr_name(CK_RV rv)
{
    static const struct {
        CK_RV rv;
        const char *name;
    } names[] = {
        {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
        {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
        {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
        {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
        {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
        {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
        {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
        {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
        {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
        {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
        {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
        {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
        {CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID"},
        {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
        {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED"},
        {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
        {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].rv == rv) {
            return names[i].name;
        }
    }
    return p11_kit_strerror(rv);
}

/* A label as PKCS#11 writes it: 32 bytes, padded with spaces. */
static void
pad_label(unsigned char out[32], const char *label)
{
    size_t n = strlen(label);

    memset(out, ' ', 32);
    memcpy(out, label, n > 32 ? 32 : n);
}

static int
check_cfg(const struct coffre_p11_cfg *cfg, char *err, size_t cap)
{
    const char *labels[2] = {cfg->token, cfg->key};
    const char *names[2] = {"token label", "key label"};

    if (cfg->module == NULL || cfg->module[0] == '\0') {
        return fail(err, cap, COFFRE_ERR_ARG, "no PKCS#11 module path given");
    }
    for (int i = 0; i < 2; i++) {
        size_t n = labels[i] != NULL ? strlen(labels[i]) : 0;

        if (n == 0 || n > COFFRE_P11_LABEL_MAX) {
            return fail(err, cap, COFFRE_ERR_ARG,
                        "the %s must be 1 to %d bytes", names[i],
                        COFFRE_P11_LABEL_MAX);
        }
    }
    if (cfg->pin == NULL || cfg->pin_len == 0 ||
        cfg->pin_len > COFFRE_P11_PIN_MAX) {
        return fail(err, cap, COFFRE_ERR_ARG,
                    "the token's PIN must be 1 to %d bytes",
                    COFFRE_P11_PIN_MAX);
    }
    return COFFRE_OK;
}

static int
load_module(struct coffre_p11 *p, const char *module, char *err, size_t cap)
{
    struct stat st;
    CK_RV rv;

    if (stat(module, &st) != 0) {
        return fail(err, cap, COFFRE_ERR_UNAVAILABLE, "PKCS#11 module %s: %s",
                    module, strerror(errno));
    }
    p->f = p11_kit_module_load(module, 0);
    if (p->f == NULL) {
        const char *m = p11_kit_message();

        return fail(err, cap, COFFRE_ERR_UNAVAILABLE,
                    "cannot load the PKCS#11 module %s: %s", module,
                    m != NULL ? m : "unknown error");
    }
    rv = p11_kit_module_initialize(p->f);
    if (rv != CKR_OK) {
        p11_kit_module_release(p->f);
        p->f = NULL;
        return fail(err, cap, COFFRE_ERR_UNAVAILABLE,
                    "cannot initialise the PKCS#11 module %s: %s", module,
                    ckr_name(rv));
    }
    return COFFRE_OK;
}

/* Append the labels of the tokens present to ${err}, to help the
 * operator when none matches. */
static void
list_labels(struct coffre_p11 *p, const CK_SLOT_ID *slots, CK_ULONG n,
            char *err, size_t cap)
{
    size_t len = strlen(err);
    CK_TOKEN_INFO ti;

    for (CK_ULONG i = 0; i < n && len + 40 < cap; i++) {
        if (p->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK) {
            continue;
        }
        int w = 32;

        while (w > 0 && ti.label[w - 1] == ' ') {
            w--;
        }
        len += (size_t)snprintf(err + len, cap - len, "%s'%.*s'",
                                i == 0 ? "; tokens present: " : ", ", w,
                                (const char *)ti.label);
    }
    if (n == 0 && len + 30 < cap) {
        snprintf(err + len, cap - len, "; no token is present");
    }
}

static int
find_slot(struct coffre_p11 *p, const struct coffre_p11_cfg *cfg,
          CK_SLOT_ID *pslot, char *err, size_t cap)
{
    CK_SLOT_ID slots[P11_SLOTS_MAX];
    CK_ULONG n = P11_SLOTS_MAX;
    unsigned char want[32];
    CK_TOKEN_INFO ti;
    CK_RV rv = p->f->C_GetSlotList(CK_TRUE, slots, &n);

    if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL) {
        return fail(err, cap, COFFRE_ERR_UNAVAILABLE,
                    "the PKCS#11 module %s lists no slot: %s", cfg->module,
                    ckr_name(rv));
    }
    if (n > P11_SLOTS_MAX) {
        n = P11_SLOTS_MAX;
    }
    pad_label(want, cfg->token);
    for (CK_ULONG i = 0; i < n; i++) {
        if (p->f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
            memcmp(ti.label, want, 32) == 0) {
            *pslot = slots[i];
            return COFFRE_OK;
        }
    }
    fail(err, cap, COFFRE_ERR_UNAVAILABLE,
         "no token labelled '%s' in the PKCS#11 module %s (removed?)",
         cfg->token, cfg->module);
    list_labels(p, slots, n, err, cap);
    return COFFRE_ERR_UNAVAILABLE;
}

static int
login(struct coffre_p11 *p, const struct coffre_p11_cfg *cfg, char *err,
      size_t cap)
{
    CK_RV rv = p->f->C_Login(p->session, CKU_USER, (CK_UTF8CHAR_PTR)cfg->pin,
                             (CK_ULONG)cfg->pin_len);

    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
        p->logged_in = 1;
        return COFFRE_OK;
    }
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED ||
        rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_EXPIRED) {
        return fail(err, cap, COFFRE_ERR_DENIED,
                    "the PIN for token '%s' is refused (%s)%s", cfg->token,
                    ckr_name(rv), rv == CKR_PIN_INCORRECT ? ": wrong PIN" : "");
    }
    return fail(err, cap, COFFRE_ERR_UNAVAILABLE,
                "cannot log in to token '%s': %s", cfg->token, ckr_name(rv));
}

int
coffre_p11_open(const struct coffre_p11_cfg *cfg, struct coffre_p11 **pp,
                char *err, size_t cap)
{
    struct coffre_p11 *p;
    CK_SLOT_ID slot = 0;
    CK_RV rv;
    int rc = check_cfg(cfg, err, cap);

    *pp = NULL;
    if (rc != COFFRE_OK) {
        return rc;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    snprintf(p->token, sizeof(p->token), "%s", cfg->token);
    snprintf(p->label, sizeof(p->label), "%s", cfg->key);
    rc = load_module(p, cfg->module, err, cap);
    if (rc == COFFRE_OK) {
        rc = find_slot(p, cfg, &slot, err, cap);
    }
    if (rc == COFFRE_OK) {
        rv = p->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                 NULL, NULL, &p->session);
        rc = rv == CKR_OK ? COFFRE_OK
                          : fail(err, cap, COFFRE_ERR_UNAVAILABLE,
                                 "cannot open a session on token '%s': %s",
                                 cfg->token, ckr_name(rv));
        p->open = rv == CKR_OK;
    }
    if (rc == COFFRE_OK) {
        rc = login(p, cfg, err, cap);
    }
    if (rc != COFFRE_OK) {
        coffre_p11_close(p);
        return rc;
    }
    *pp = p;
    return COFFRE_OK;
}

/* The handles of the secret keys labelled p->label: at most 2 looked for,
 * *pn how many found. */
static int
find_keys(struct coffre_p11 *p, CK_OBJECT_HANDLE h[2], CK_ULONG *pn, char *err,
          size_t cap)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_LABEL, p->label, strlen(p->label)},
    };
    CK_RV rv = p->f->C_FindObjectsInit(p->session, t, 2);

    if (rv == CKR_OK) {
        rv = p->f->C_FindObjects(p->session, h, 2, pn);
        CK_RV rv2 = p->f->C_FindObjectsFinal(p->session);
        rv = rv == CKR_OK ? rv2 : rv;
    }
    if (rv != CKR_OK) {
        return fail(err, cap, COFFRE_ERR_UNAVAILABLE,
                    "cannot search token '%s' for key '%s': %s", p->token,
                    p->label, ckr_name(rv));
    }
    return COFFRE_OK;
}

/* A key that seals a root key must be AES-256 and never leave the token. */
static int
check_key(struct coffre_p11 *p, CK_OBJECT_HANDLE h, char *err, size_t cap)
{
    CK_BBOOL extractable = CK_TRUE, sensitive = CK_FALSE;
    CK_KEY_TYPE type = 0;
    CK_ULONG len = 0;
    CK_ATTRIBUTE t[] = {
        {CKA_EXTRACTABLE, &extractable, sizeof(extractable)},
        {CKA_SENSITIVE, &sensitive, sizeof(sensitive)},
        {CKA_KEY_TYPE, &type, sizeof(type)},
        {CKA_VALUE_LEN, &len, sizeof(len)},
    };
    CK_RV rv = p->f->C_GetAttributeValue(p->session, h, t, 4);

    if (rv != CKR_OK) {
        return fail(err, cap, COFFRE_ERR_UNAVAILABLE,
                    "cannot read the attributes of key '%s': %s", p->label,
                    ckr_name(rv));
    }
    if (type != CKK_AES || len != 32) {
        return fail(err, cap, COFFRE_ERR_DENIED,
                    "key '%s' on token '%s' is not an AES-256 key", p->label,
                    p->token);
    }
    if (extractable || !sensitive) {
        return fail(err, cap, COFFRE_ERR_DENIED,
                    "key '%s' on token '%s' could leave the token "
                    "(CKA_EXTRACTABLE true or CKA_SENSITIVE false): coffre "
                    "seals only under a key that cannot",
                    p->label, p->token);
    }
    return COFFRE_OK;
}

static int
generate_key(struct coffre_p11 *p, char *err, size_t cap)
{
    CK_MECHANISM mech = {CKM_AES_KEY_GEN, NULL, 0};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_ULONG len = 32;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_KEY_TYPE, &type, sizeof(type)},
        {CKA_VALUE_LEN, &len, sizeof(len)},
        {CKA_LABEL, p->label, strlen(p->label)},
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},
        {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_ENCRYPT, &yes, sizeof(yes)},
        {CKA_DECRYPT, &yes, sizeof(yes)},
        {CKA_WRAP, &no, sizeof(no)},
        {CKA_UNWRAP, &no, sizeof(no)},
        {CKA_SIGN, &no, sizeof(no)},
        {CKA_VERIFY, &no, sizeof(no)},
    };
    CK_RV rv = p->f->C_GenerateKey(p->session, &mech, t,
                                   sizeof(t) / sizeof(t[0]), &p->key);

    if (rv != CKR_OK) {
        return fail(err, cap, COFFRE_ERR_UNAVAILABLE,
                    "cannot generate key '%s' on token '%s': %s", p->label,
                    p->token, ckr_name(rv));
    }
    p->have_key = 1;
    return COFFRE_OK;
}

int
coffre_p11_key(struct coffre_p11 *p, int create, int *pcreated, char *err,
               size_t cap)
{
    CK_OBJECT_HANDLE h[2];
    CK_ULONG n = 0;
    int rc = find_keys(p, h, &n, err, cap);

    if (pcreated != NULL) {
        *pcreated = 0;
    }
    if (rc != COFFRE_OK) {
        return rc;
    }
    if (n > 1) {
        return fail(err, cap, COFFRE_ERR_EXISTS,
                    "more than one key labelled '%s' on token '%s'", p->label,
                    p->token);
    }
    if (n == 1) {
        rc = check_key(p, h[0], err, cap);
        if (rc == COFFRE_OK) {
            p->key = h[0];
            p->have_key = 1;
        }
        return rc;
    }
    if (!create) {
        return fail(err, cap, COFFRE_ERR_NOTFOUND,
                    "no key labelled '%s' on token '%s'", p->label, p->token);
    }
    rc = generate_key(p, err, cap);
    if (rc == COFFRE_OK && pcreated != NULL) {
        *pcreated = 1;
    }
    return rc;
}

static void
gcm_params(CK_GCM_PARAMS *g, unsigned char *iv, const unsigned char *ad,
           size_t adlen)
{
    memset(g, 0, sizeof(*g));
    g->pIv = iv;
    g->ulIvLen = GCM_IV_LEN;
    g->ulIvBits = GCM_IV_LEN * 8;
    g->pAAD = (CK_BYTE_PTR)ad;
    g->ulAADLen = (CK_ULONG)adlen;
    g->ulTagBits = GCM_TAG_LEN * 8;
}

int
coffre_p11_seal(struct coffre_p11 *p, const unsigned char *ad, size_t adlen,
                const struct coffre_key *k,
                unsigned char blob[COFFRE_P11_BLOB_LEN], char *err, size_t cap)
{
    unsigned char iv[GCM_IV_LEN];
    CK_GCM_PARAMS g;
    CK_MECHANISM mech = {CKM_AES_GCM, &g, sizeof(g)};
    CK_ULONG outlen = COFFRE_P11_BLOB_LEN - 1 - GCM_IV_LEN;
    CK_RV rv;

    if (!p->have_key) {
        return fail(err, cap, COFFRE_ERR_ARG, "no key selected");
    }
    randombytes_buf(iv, sizeof(iv));
    gcm_params(&g, iv, ad, adlen);
    rv = p->f->C_EncryptInit(p->session, &mech, p->key);
    if (rv == CKR_OK) {
        rv = p->f->C_Encrypt(p->session, (CK_BYTE_PTR)k->b, COFFRE_KEY_LEN,
                             blob + 1 + GCM_IV_LEN, &outlen);
    }
    if (rv != CKR_OK || outlen != COFFRE_KEY_LEN + GCM_TAG_LEN) {
        sodium_memzero(blob, COFFRE_P11_BLOB_LEN);
        return fail(err, cap, COFFRE_ERR_UNAVAILABLE,
                    "key '%s' on token '%s' cannot encrypt with "
                    "CKM_AES_GCM: %s",
                    p->label, p->token,
                    rv != CKR_OK ? ckr_name(rv) : "wrong length");
    }
    blob[0] = COFFRE_P11_BLOB_V1;
    memcpy(blob + 1, iv, GCM_IV_LEN);
    return COFFRE_OK;
}

int
coffre_p11_unseal(struct coffre_p11 *p, const unsigned char *ad, size_t adlen,
                  const unsigned char blob[COFFRE_P11_BLOB_LEN],
                  struct coffre_key **pk, char *err, size_t cap)
{
    unsigned char iv[GCM_IV_LEN];
    CK_GCM_PARAMS g;
    CK_MECHANISM mech = {CKM_AES_GCM, &g, sizeof(g)};
    struct coffre_key *k;
    unsigned char *out; /* locked; modules want room for the whole input */
    CK_ULONG outlen = COFFRE_KEY_LEN + GCM_TAG_LEN;
    CK_RV rv;

    *pk = NULL;
    if (!p->have_key) {
        return fail(err, cap, COFFRE_ERR_ARG, "no key selected");
    }
    if (blob[0] != COFFRE_P11_BLOB_V1) {
        return fail(err, cap, COFFRE_ERR_PARSE,
                    "the sealed root key has an unknown version %u", blob[0]);
    }
    k = coffre_key_alloc(sizeof(*k));
    out = coffre_key_alloc(outlen);
    if (k == NULL || out == NULL) {
        coffre_key_destroy(k);
        coffre_key_free(out, COFFRE_KEY_LEN + GCM_TAG_LEN);
        return COFFRE_ERR_NOMEM;
    }
    memcpy(iv, blob + 1, GCM_IV_LEN);
    gcm_params(&g, iv, ad, adlen);
    rv = p->f->C_DecryptInit(p->session, &mech, p->key);
    if (rv == CKR_OK) {
        rv = p->f->C_Decrypt(p->session, (CK_BYTE_PTR)blob + 1 + GCM_IV_LEN,
                             COFFRE_KEY_LEN + GCM_TAG_LEN, out, &outlen);
    }
    if (rv == CKR_OK && outlen == COFFRE_KEY_LEN) {
        memcpy(k->b, out, COFFRE_KEY_LEN);
    }
    coffre_key_free(out, COFFRE_KEY_LEN + GCM_TAG_LEN);
    if (rv != CKR_OK || outlen != COFFRE_KEY_LEN) {
        coffre_key_destroy(k);
        return fail(err, cap,
                    rv == CKR_OK || rv == CKR_ENCRYPTED_DATA_INVALID
                        ? COFFRE_ERR_CRYPTO
                        : COFFRE_ERR_UNAVAILABLE,
                    "key '%s' on token '%s' does not open this vault's "
                    "sealed root key (%s)",
                    p->label, p->token,
                    rv != CKR_OK ? ckr_name(rv) : "wrong length");
    }
    *pk = k;
    return COFFRE_OK;
}

void
coffre_p11_close(struct coffre_p11 *p)
{
    if (p == NULL) {
        return;
    }
    if (p->f != NULL) {
        if (p->logged_in) {
            (void)p->f->C_Logout(p->session);
        }
        if (p->open) {
            (void)p->f->C_CloseSession(p->session);
        }
        (void)p11_kit_module_finalize(p->f);
        p11_kit_module_release(p->f);
    }
    sodium_memzero(p, sizeof(*p));
    free(p);
}

int
coffre_p11_pin_parse(const char *text, size_t len, size_t *plen)
{
    *plen = 0;
    if (len > COFFRE_P11_PIN_MAX + 2) {
        return COFFRE_ERR_TOOBIG;
    }
    if (len > 0 && text[len - 1] == '\n') {
        len--;
        if (len > 0 && text[len - 1] == '\r') {
            len--;
        }
    }
    if (len == 0) {
        return COFFRE_ERR_PARSE;
    }
    if (len > COFFRE_P11_PIN_MAX) {
        return COFFRE_ERR_TOOBIG;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];

        if (c < 0x20 || c == 0x7f) {
            return COFFRE_ERR_PARSE;
        }
    }
    *plen = len;
    return COFFRE_OK;
}
