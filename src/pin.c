/*
 * The token's PIN: read straight into locked memory (no stdio buffer
 * holds a copy), parsed by coffre_pkcs11_pin_parse, wiped when released.
 */
#include "pin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "coffre/seal.h"

static const char *
parse_error(int rc)
{
    return rc == COFFRE_ERR_TOOBIG ? "longer than 255 bytes"
                                   : "empty, or holds a control character";
}

static int
read_file(const char *file, char *buf, size_t *plen, char *err, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        /* The path is not named: a mistyped --pin SECRET (getopt takes
         * it for --pin-file) must not end up in a message or a log. */
        snprintf(err, cap, "cannot read the PIN file (--pin-file): %s",
                 strerror(errno));
        return -1;
    }
    /* One byte over the cap tells a file too long. */
    while (n <= COFFRE_PKCS11_PIN_FILE_MAX &&
           (r = read(fd, buf + n, COFFRE_PKCS11_PIN_FILE_MAX + 1 - n)) != 0) {
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            snprintf(err, cap, "cannot read the PIN file (--pin-file): %s",
                     strerror(errno));
            close(fd);
            return -1;
        }
        n += (size_t)r;
    }
    close(fd);
    *plen = n;
    return 0;
}

int
pin_read(const char *file, char **ppin, size_t *plen, char *err, size_t cap)
{
    char *env = file == NULL ? getenv(PIN_ENV) : NULL;
    char *buf;
    size_t n = 0;
    int rc;

    *ppin = NULL;
    *plen = 0;
    if (file == NULL && env == NULL) {
        return 0;
    }
    buf = sodium_malloc(COFFRE_PKCS11_PIN_FILE_MAX + 1);
    if (buf == NULL) {
        snprintf(err, cap, "out of memory for the PIN");
        return -1;
    }
    if (env != NULL) {
        n = strnlen(env, COFFRE_PKCS11_PIN_FILE_MAX + 1);
        memcpy(buf, env, n);
        /* Gone from this process's environment, and from what
         * /proc/PID/environ shows of it. */
        sodium_memzero(env, strlen(env));
        unsetenv(PIN_ENV);
    } else if (read_file(file, buf, &n, err, cap) != 0) {
        sodium_free(buf);
        return -1;
    }
    rc = coffre_pkcs11_pin_parse(buf, n, plen);
    if (rc != COFFRE_OK) {
        snprintf(err, cap, "the PIN %s is %s",
                 file ? "file (--pin-file)" : "in " PIN_ENV, parse_error(rc));
        sodium_free(buf);
        return -1;
    }
    *ppin = buf;
    return 0;
}

void
pin_free(char *pin)
{
    if (pin != NULL) {
        sodium_free(pin); /* wipes */
    }
}
