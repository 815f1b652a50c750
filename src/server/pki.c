/*
 * The development PKI of `coffre server --dev`: a CA, a server certificate
 * for 127.0.0.1 and localhost, one client certificate per principal.
 * ECDSA P-256 everywhere (what curl, openssl and GnuTLS all accept).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "server.h"

#define DAYS (24 * 3600)

struct pair {
    gnutls_x509_privkey_t key;
    gnutls_x509_crt_t crt;
};

static void
pair_free(struct pair *p)
{
    if (p->key) {
        gnutls_x509_privkey_deinit(p->key);
    }
    if (p->crt) {
        gnutls_x509_crt_deinit(p->crt);
    }
    memset(p, 0, sizeof(*p));
}

/* A fresh key and a certificate skeleton for CN=${cn}, valid 30 days. */
static int
pair_new(struct pair *p, const char *cn)
{
    unsigned char serial[16];
    time_t now = time(NULL);
    memset(p, 0, sizeof(*p));
    randombytes_buf(serial, sizeof(serial));
    serial[0] &= 0x7f; /* a positive INTEGER */
    if (gnutls_x509_privkey_init(&p->key) < 0 ||
        gnutls_x509_privkey_generate(
            p->key, GNUTLS_PK_ECDSA,
            GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
        gnutls_x509_crt_init(&p->crt) < 0 ||
        gnutls_x509_crt_set_version(p->crt, 3) < 0 ||
        gnutls_x509_crt_set_serial(p->crt, serial, sizeof(serial)) < 0 ||
        gnutls_x509_crt_set_activation_time(p->crt, now - 3600) < 0 ||
        gnutls_x509_crt_set_expiration_time(p->crt, now + 30 * DAYS) < 0 ||
        gnutls_x509_crt_set_dn_by_oid(p->crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                      cn, (unsigned)strlen(cn)) < 0 ||
        gnutls_x509_crt_set_dn_by_oid(p->crt, GNUTLS_OID_X520_ORGANIZATION_NAME,
                                      0, "coffre dev", 10) < 0 ||
        gnutls_x509_crt_set_key(p->crt, p->key) < 0) {
        pair_free(p);
        return COFFRE_ERR_CRYPTO;
    }
    return COFFRE_OK;
}

static int
make_ca(struct pair *ca)
{
    int rc = pair_new(ca, "coffre dev CA");
    if (rc != COFFRE_OK) {
        return rc;
    }
    if (gnutls_x509_crt_set_basic_constraints(ca->crt, 1, 0) < 0 ||
        gnutls_x509_crt_set_key_usage(ca->crt, GNUTLS_KEY_KEY_CERT_SIGN |
                                                   GNUTLS_KEY_CRL_SIGN) < 0 ||
        gnutls_x509_crt_sign2(ca->crt, ca->crt, ca->key, GNUTLS_DIG_SHA256, 0) <
            0) {
        pair_free(ca);
        return COFFRE_ERR_CRYPTO;
    }
    return COFFRE_OK;
}

static int
make_leaf(struct pair *leaf, const char *cn, int server, const struct pair *ca)
{
    int rc = pair_new(leaf, cn);
    if (rc != COFFRE_OK) {
        return rc;
    }
    unsigned char ip[4];
    inet_pton(AF_INET, "127.0.0.1", ip);
    const char *purpose =
        server ? GNUTLS_KP_TLS_WWW_SERVER : GNUTLS_KP_TLS_WWW_CLIENT;
    if (gnutls_x509_crt_set_basic_constraints(leaf->crt, 0, -1) < 0 ||
        gnutls_x509_crt_set_key_usage(leaf->crt, GNUTLS_KEY_DIGITAL_SIGNATURE) <
            0 ||
        gnutls_x509_crt_set_key_purpose_oid(leaf->crt, purpose, 0) < 0 ||
        (server && (gnutls_x509_crt_set_subject_alt_name(
                        leaf->crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
                        GNUTLS_FSAN_APPEND) < 0 ||
                    gnutls_x509_crt_set_subject_alt_name(
                        leaf->crt, GNUTLS_SAN_IPADDRESS, ip, 4,
                        GNUTLS_FSAN_APPEND) < 0)) ||
        gnutls_x509_crt_sign2(leaf->crt, ca->crt, ca->key, GNUTLS_DIG_SHA256,
                              0) < 0) {
        pair_free(leaf);
        return COFFRE_ERR_CRYPTO;
    }
    return COFFRE_OK;
}

/* Write ${len} bytes to ${dir}/${name} with ${mode}, replacing the file. */
static int
write_file(const char *dir, const char *name, const void *p, size_t len,
           mode_t mode)
{
    char path[SRV_PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        return COFFRE_ERR_ARG;
    }
    (void)unlink(path);
    int fd =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        return COFFRE_ERR_IO;
    }
    ssize_t w = write(fd, p, len);
    int rc = (w == (ssize_t)len && fsync(fd) == 0) ? COFFRE_OK : COFFRE_ERR_IO;
    close(fd);
    return rc;
}

/* Write NAME.pem (and NAME.key when ${with_key}); fp of the DER. */
static int
write_pair(const char *dir, const char *name, const struct pair *p,
           int with_key, unsigned char fp[32])
{
    gnutls_datum_t crt = {NULL, 0}, der = {NULL, 0}, key = {NULL, 0};
    char file[SRV_NAME_MAX + 8];
    int rc = COFFRE_ERR_CRYPTO;
    if (gnutls_x509_crt_export2(p->crt, GNUTLS_X509_FMT_PEM, &crt) < 0 ||
        gnutls_x509_crt_export2(p->crt, GNUTLS_X509_FMT_DER, &der) < 0 ||
        (with_key &&
         gnutls_x509_privkey_export2_pkcs8(p->key, GNUTLS_X509_FMT_PEM, NULL,
                                           GNUTLS_PKCS_PLAIN, &key) < 0)) {
        goto out;
    }
    if (fp != NULL) {
        crypto_hash_sha256(fp, der.data, der.size);
    }
    snprintf(file, sizeof(file), "%s.pem", name);
    rc = write_file(dir, file, crt.data, crt.size, 0644);
    if (rc == COFFRE_OK && with_key) {
        snprintf(file, sizeof(file), "%s.key", name);
        rc = write_file(dir, file, key.data, key.size, 0600);
    }
out:
    gnutls_free(crt.data);
    gnutls_free(der.data);
    if (key.data != NULL) {
        sodium_memzero(key.data, key.size);
    }
    gnutls_free(key.data);
    return rc;
}

int
srv_pki_dev(const char *dir, const char *const *names, size_t n,
            unsigned char (*fps)[32])
{
    struct pair ca, leaf;
    int rc = make_ca(&ca);
    if (rc != COFFRE_OK) {
        return rc;
    }
    rc = write_pair(dir, "ca", &ca, 0, NULL);
    if (rc == COFFRE_OK && (rc = make_leaf(&leaf, "localhost", 1, &ca)) == 0) {
        rc = write_pair(dir, "server", &leaf, 1, NULL);
        pair_free(&leaf);
    }
    for (size_t i = 0; i < n && rc == COFFRE_OK; i++) {
        if (strlen(names[i]) > SRV_NAME_MAX ||
            (rc = make_leaf(&leaf, names[i], 0, &ca)) != COFFRE_OK) {
            rc = rc ? rc : COFFRE_ERR_ARG;
            break;
        }
        rc = write_pair(dir, names[i], &leaf, 1, fps[i]);
        pair_free(&leaf);
    }
    pair_free(&ca);
    return rc;
}
