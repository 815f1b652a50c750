/* The PKCS#11 token's PIN for the command line and the server: from a
 * file or the environment, never from the command line (docs/keys.md
 * section 8.2). */
#ifndef COFFRE_SRC_PIN_H
#define COFFRE_SRC_PIN_H

#include <stddef.h>

#define PIN_ENV "COFFRE_PKCS11_PIN"

/**
 * pin_read(file, ppin, plen, err, cap): the PIN of ${file} if not NULL,
 * else of the environment variable COFFRE_PKCS11_PIN (then wiped and
 * removed from the environment), in locked memory (*${ppin}, *${plen}
 * bytes; release it with pin_free). 0, or -1 with the reason in ${err},
 * which never quotes the PIN. *${ppin} is NULL when neither is given.
 */
int pin_read(const char *file, char **ppin, size_t *plen, char *err,
             size_t cap);

/** pin_free(pin): wipe and release a PIN of pin_read; NULL is a no-op. */
void pin_free(char *pin);

#endif
