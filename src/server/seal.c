/*
 * A token-sealed vault unseals itself when the server starts, with the
 * module, labels and PIN file of the configuration (docs/keys.md section
 * 8). Any failure leaves it sealed and says why, on stderr and in
 * /v1/sys/health and /v1/sys/seal-status; the server serves on, sealed,
 * and the custodians may still unseal it with their shares.
 */
#include <stdio.h>

#include "coffre/seal.h"
#include "../pin.h"
#include "server.h"

static const char *
or_null(const char *s)
{
    return s[0] != '\0' ? s : NULL;
}

void
srv_seal_start(const struct srv_config *c, struct coffre_vault *v)
{
    struct coffre_pkcs11 p = {or_null(c->pkcs11_module),
                              or_null(c->pkcs11_token_label),
                              or_null(c->pkcs11_key_label), NULL, 0};
    char err[512];
    char *pin = NULL;
    size_t len = 0;

    if (coffre_vault_seal_kind(v) != COFFRE_SEAL_PKCS11 ||
        !coffre_vault_is_sealed(v)) {
        return;
    }
    err[0] = '\0';
    if (pin_read(or_null(c->pin_file), &pin, &len, err, sizeof(err)) != 0 ||
        pin == NULL) {
        if (err[0] == '\0') {
            snprintf(err, sizeof(err),
                     "no PIN for its token (pin_file in the configuration, "
                     "or " PIN_ENV ")");
        }
        coffre_vault_seal_error_set(v, err);
        fprintf(stderr, "coffre server: the vault stays sealed: %s\n", err);
        return;
    }
    p.pin = pin;
    p.pin_len = len;
    if (coffre_vault_unseal_pkcs11(v, &p) != COFFRE_OK) {
        fprintf(stderr, "coffre server: the vault stays sealed: %s\n",
                coffre_vault_seal_error(v));
    } else {
        fprintf(stderr, "coffre server: unsealed from token '%s'\n",
                p.token != NULL ? p.token : "(recorded)");
    }
    pin_free(pin);
}
