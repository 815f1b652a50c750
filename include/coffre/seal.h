/*
 * How a vault's root key is sealed (docs/keys.md section 8): by the
 * custodians' Shamir shares, or by an AES key inside a PKCS#11 token
 * (an HSM; SoftHSM2 in tests) that never leaves it. A token-sealed vault
 * unseals with no custodian; its custodian sharing stays the recovery
 * when the token is lost and the custodians' consent to a reseal.
 */
#ifndef COFFRE_SEAL_H
#define COFFRE_SEAL_H

#include <stddef.h>

#include "coffre/coffre.h"

#ifdef __cplusplus
extern "C" {
#endif

enum coffre_seal {
    COFFRE_SEAL_SHAMIR = 0, /* the threshold of custodian shares */
    COFFRE_SEAL_PKCS11,     /* a key on a PKCS#11 token */
    COFFRE_SEAL_DEV,        /* --dev: in memory only */
};

/* Where the token's key is and how to log in. A NULL module, token or key
 * means the one the vault recorded when it was sealed to the token. */
struct coffre_pkcs11 {
    const char *module; /* path of the PKCS#11 module (.so) */
    const char *token;  /* token label, 1 to 32 bytes */
    const char *key;    /* key label, 1 to 32 bytes */
    const char *pin;    /* user PIN, 1 to 255 bytes; in locked memory, the
                         * caller wipes it; never in a message */
    size_t pin_len;
};

/** coffre_vault_seal_kind(v): enum coffre_seal of ${v}. */
COFFRE_API int coffre_vault_seal_kind(const struct coffre_vault *v);

/** coffre_vault_seal_name(v): "shamir", "pkcs11" or "dev". */
COFFRE_API const char *coffre_vault_seal_name(const struct coffre_vault *v);

/**
 * coffre_vault_pkcs11_recorded(v, pmodule, ptoken, pkey): the module path,
 * token label and key label a token-sealed vault recorded (each "" for
 * another seal); the strings belong to ${v}. Any pointer may be NULL.
 */
COFFRE_API void coffre_vault_pkcs11_recorded(const struct coffre_vault *v,
                                             const char **pmodule,
                                             const char **ptoken,
                                             const char **pkey);

/** coffre_vault_seal_error(v): why the last unseal from the token failed,
 * "" if none did or it succeeded since. Never holds the PIN. */
COFFRE_API const char *coffre_vault_seal_error(const struct coffre_vault *v);

/** coffre_vault_seal_error_set(v, msg): record ${msg} (truncated to 255
 * bytes) as why the token could not be tried: the caller could not read
 * the PIN, say. It must not hold the PIN. */
COFFRE_API void coffre_vault_seal_error_set(struct coffre_vault *v,
                                            const char *msg);

/**
 * coffre_vault_init_pkcs11(dir, opts, p11, pv): coffre_vault_init(), the
 * root key also sealed under the key ${p11}->key of token ${p11}->token
 * (made on the token if absent: AES-256, sensitive, not extractable).
 * The custodian sharing (opts) is still written: it is the recovery if
 * the token is lost, and the consent to a reseal. The token is checked
 * before anything is made; a key made on it stays if init fails later.
 */
COFFRE_API int coffre_vault_init_pkcs11(const char *dir,
                                        const struct coffre_init_opts *opts,
                                        const struct coffre_pkcs11 *p11,
                                        struct coffre_vault **pv);

/**
 * coffre_vault_unseal_pkcs11(v, p11): unseal a token-sealed vault from the
 * token; COFFRE_OK at once if unsealed. On failure the vault stays sealed
 * and the reason, naming the module, token or key (never the PIN), is in
 * coffre_vault_errmsg() and coffre_vault_seal_error():
 * COFFRE_ERR_ARG (not token-sealed, or a label or PIN out of bounds),
 * COFFRE_ERR_UNAVAILABLE (module missing or failing, no token with that
 * label), COFFRE_ERR_DENIED (wrong or locked PIN, a key that could leave
 * the token), COFFRE_ERR_NOTFOUND (no key with that label),
 * COFFRE_ERR_CRYPTO or COFFRE_ERR_THRESHOLD (that key does not open this
 * vault's root key).
 */
COFFRE_API int coffre_vault_unseal_pkcs11(struct coffre_vault *v,
                                          const struct coffre_pkcs11 *p11);

/**
 * coffre_vault_reseal_pkcs11(v, p11): seal ${v}'s root key under a token's
 * key from now on (made if absent), keeping the custodian sharing. ${v}
 * must have been unsealed with the threshold of its custodian shares in
 * this process: that is the custodians' consent (COFFRE_ERR_DENIED
 * otherwise). An audited write ("key.reseal").
 */
COFFRE_API int coffre_vault_reseal_pkcs11(struct coffre_vault *v,
                                          const struct coffre_pkcs11 *p11);

/**
 * coffre_vault_reseal_shamir(v, opts): seal ${v}'s root key by a fresh
 * custodian sharing (opts->shares, opts->threshold, written to
 * opts->share_dir as init does, refusing any file already there); the
 * previous shares are refused from then on and a token's sealed copy of
 * the root key is erased from the store. Same consent as
 * coffre_vault_reseal_pkcs11. On failure the share files it wrote are
 * removed and the vault's seal is unchanged.
 */
COFFRE_API int coffre_vault_reseal_shamir(struct coffre_vault *v,
                                          const struct coffre_init_opts *opts);

/**
 * coffre_pkcs11_keygen(p11, pcreated, err, cap): make the key ${p11}->key
 * on token ${p11}->token if absent (*${pcreated} 1), or check the one
 * there cannot leave the token (*${pcreated} 0). Errors as
 * coffre_vault_unseal_pkcs11, the message in ${err}.
 */
COFFRE_API int coffre_pkcs11_keygen(const struct coffre_pkcs11 *p11,
                                    int *pcreated, char *err, size_t cap);

/* The longest PIN, and the longest PIN file: the PIN and a line end. */
#define COFFRE_PKCS11_PIN_MAX 255
#define COFFRE_PKCS11_PIN_FILE_MAX (COFFRE_PKCS11_PIN_MAX + 2)

/**
 * coffre_pkcs11_pin_parse(text, len, plen): the PIN in a PIN file's
 * ${len} bytes at ${text}: the whole text but one final "\n" or "\r\n",
 * 1 to COFFRE_PKCS11_PIN_MAX bytes with no control character; its length
 * in *${plen}. COFFRE_ERR_TOOBIG over the cap, COFFRE_ERR_PARSE otherwise.
 * The message an error gives never quotes the text.
 */
COFFRE_API int coffre_pkcs11_pin_parse(const char *text, size_t len,
                                       size_t *plen);

#ifdef __cplusplus
}
#endif
#endif
