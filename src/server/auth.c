/*
 * Client certificate -> principal. libmicrohttpd asks for a client
 * certificate but does not require one (NOTES.md): every connection is
 * checked here before its first request is served.
 */
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "server.h"

/* The subject DN of a DER certificate, RFC 4514 form; 0 on success. */
static int
subject_of(const gnutls_datum_t *der, char *out, size_t cap)
{
    gnutls_x509_crt_t crt;
    gnutls_datum_t dn = {NULL, 0};
    int ok = -1;
    if (gnutls_x509_crt_init(&crt) < 0) {
        return -1;
    }
    if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) >= 0 &&
        gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0 && dn.size < cap) {
        memcpy(out, dn.data, dn.size);
        out[dn.size] = '\0';
        ok = 0;
    }
    gnutls_free(dn.data);
    gnutls_x509_crt_deinit(crt);
    return ok;
}

int
srv_auth_session(const struct srv_config *cfg, void *session,
                 const struct srv_principal **pwho, const char **why)
{
    gnutls_session_t s = session;
    unsigned status = 0, n = 0;
    *pwho = NULL;
    *why = "a client certificate is required";
    if (s == NULL) {
        return COFFRE_ERR_DENIED;
    }
    const gnutls_datum_t *peers = gnutls_certificate_get_peers(s, &n);
    if (peers == NULL || n == 0) {
        return COFFRE_ERR_DENIED;
    }
    /* Chain to the configured client CA, signatures, validity dates. */
    if (gnutls_certificate_verify_peers2(s, &status) < 0 || status != 0) {
        *why = (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED))
                   ? "the client certificate is expired or not yet valid"
                   : "the client certificate is not issued by the client CA";
        return COFFRE_ERR_DENIED;
    }
    unsigned char fp[32];
    crypto_hash_sha256(fp, peers[0].data, peers[0].size);
    const struct srv_principal *who = srv_principal_by_fingerprint(cfg, fp);
    char dn[SRV_SUBJECT_MAX + 1];
    if (who == NULL && subject_of(&peers[0], dn, sizeof(dn)) == 0) {
        who = srv_principal_by_subject(cfg, dn);
    }
    if (who == NULL) {
        *why = "the client certificate names no principal of the policy";
        return COFFRE_ERR_DENIED;
    }
    *pwho = who;
    *why = NULL;
    return COFFRE_OK;
}

int
srv_cert_fingerprint(const char *pem, size_t len, unsigned char fp[32])
{
    gnutls_datum_t in = {(unsigned char *)(uintptr_t)pem, (unsigned)len};
    gnutls_datum_t der = {NULL, 0};
    if (len > SRV_CONFIG_MAX ||
        gnutls_pem_base64_decode2("CERTIFICATE", &in, &der) < 0) {
        return COFFRE_ERR_PARSE;
    }
    crypto_hash_sha256(fp, der.data, der.size);
    gnutls_free(der.data);
    return COFFRE_OK;
}
