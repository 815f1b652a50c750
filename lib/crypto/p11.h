/*
 * The PKCS#11 seal's token side (docs/keys.md section 8): load a module
 * through p11-kit, find a token by label, log in, find or make an AES key
 * that never leaves the token, and encrypt or decrypt the 32-byte root
 * key under it with CKM_AES_GCM.
 *
 * Every function writes a message naming what is wrong (module path,
 * token label, key label, the PKCS#11 return value) into ${err}; none
 * ever names the PIN.
 */
#ifndef COFFRE_CRYPTO_P11_H
#define COFFRE_CRYPTO_P11_H

#include <stddef.h>

#include "crypto/crypto.h"

/* A label on a token: 1 to 32 bytes (CK_TOKEN_INFO's field for tokens;
 * the same cap for keys, for symmetry). */
#define COFFRE_P11_LABEL_MAX 32
/* A PIN: 1 to 255 bytes. */
#define COFFRE_P11_PIN_MAX 255
/* The sealed root key: version 1 || GCM IV (12) || ciphertext (32) ||
 * tag (16). */
#define COFFRE_P11_BLOB_LEN 61
#define COFFRE_P11_BLOB_V1 1

/* A logged-in session on one token of a loaded module. */
struct coffre_p11;

struct coffre_p11_cfg {
    const char *module; /* path of the PKCS#11 module (.so) */
    const char *token;  /* token label */
    const char *key;    /* label of the AES key on the token */
    const char *pin;    /* the user PIN (not NUL-terminated) */
    size_t pin_len;
};

/**
 * coffre_p11_open(cfg, pp, err, cap): load cfg->module, find the token
 * labelled cfg->token among the slots with a token present, open a session
 * and log in with the PIN. COFFRE_ERR_UNAVAILABLE if the module is missing,
 * fails to load or initialise, or no token has that label (the message
 * lists the labels present); COFFRE_ERR_DENIED for a wrong or locked PIN;
 * COFFRE_ERR_ARG for a label or PIN out of bounds. *${pp} NULL on failure.
 */
int coffre_p11_open(const struct coffre_p11_cfg *cfg, struct coffre_p11 **pp,
                    char *err, size_t cap);

/**
 * coffre_p11_key(p, create, pcreated, err, cap): find the key labelled as
 * in the configuration; if absent and ${create}, generate it on the token
 * (AES-256, CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE,
 * encrypt and decrypt only); *${pcreated} (may be NULL) 1 if made.
 * COFFRE_ERR_NOTFOUND if absent and not ${create}; COFFRE_ERR_EXISTS if
 * two keys have the label; COFFRE_ERR_DENIED if the key found could leave
 * the token (extractable or not sensitive) or is not AES-256.
 */
int coffre_p11_key(struct coffre_p11 *p, int create, int *pcreated, char *err,
                   size_t cap);

/**
 * coffre_p11_seal(p, ad, adlen, k, blob, err, cap): encrypt ${k} under the
 * key found by coffre_p11_key, with a fresh random IV and ${ad} as GCM's
 * additional data, into ${blob}.
 */
int coffre_p11_seal(struct coffre_p11 *p, const unsigned char *ad, size_t adlen,
                    const struct coffre_key *k,
                    unsigned char blob[COFFRE_P11_BLOB_LEN], char *err,
                    size_t cap);

/**
 * coffre_p11_unseal(p, ad, adlen, blob, pk, err, cap): decrypt ${blob}
 * into a new key *${pk} (locked memory; the caller destroys it).
 * COFFRE_ERR_CRYPTO if it does not authenticate under this key and ${ad}
 * (another key, another vault), COFFRE_ERR_PARSE for an unknown version.
 */
int coffre_p11_unseal(struct coffre_p11 *p, const unsigned char *ad,
                      size_t adlen,
                      const unsigned char blob[COFFRE_P11_BLOB_LEN],
                      struct coffre_key **pk, char *err, size_t cap);

/** coffre_p11_pin_parse(text, len, plen): a PIN file's PIN (seal.h's
 * coffre_pkcs11_pin_parse, which calls it). */
int coffre_p11_pin_parse(const char *text, size_t len, size_t *plen);

/** coffre_p11_close(p): log out, close the session, finalise and release
 * the module; NULL is a no-op. */
void coffre_p11_close(struct coffre_p11 *p);

#endif
