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

/* Certificates of a client chain looked at (the leaf first). */
#define AUTH_CHAIN_MAX 8

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

/* Verify the peer chain ${peers} against the client CA of ${cfg}: its
 * own trust list (a reload may bring another CA), else the session's. */
static int
verify_chain(const struct srv_config *cfg, gnutls_session_t s,
             const gnutls_datum_t *peers, unsigned n, unsigned *status)
{
    gnutls_x509_crt_t crts[AUTH_CHAIN_MAX];
    unsigned k = 0;
    int rc = -1;
    if (cfg->client_trust == NULL) {
        return gnutls_certificate_verify_peers2(s, status) < 0 ? -1 : 0;
    }
    for (; k < n && k < AUTH_CHAIN_MAX; k++) {
        if (gnutls_x509_crt_init(&crts[k]) < 0) {
            break;
        }
        if (gnutls_x509_crt_import(crts[k], &peers[k], GNUTLS_X509_FMT_DER) <
            0) {
            gnutls_x509_crt_deinit(crts[k]);
            break;
        }
    }
    if (k == n || k == AUTH_CHAIN_MAX) {
        rc = gnutls_x509_trust_list_verify_crt2(cfg->client_trust, crts, k,
                                                NULL, 0, 0, status, NULL) < 0
                 ? -1
                 : 0;
    }
    while (k > 0) {
        gnutls_x509_crt_deinit(crts[--k]);
    }
    return rc;
}

int
srv_auth_trust_load(struct srv_config *cfg, const char *ca_pem, size_t len)
{
    gnutls_x509_trust_list_t tl;
    gnutls_datum_t d = {(unsigned char *)(uintptr_t)ca_pem, (unsigned)len};
    if (len > SRV_CONFIG_MAX || gnutls_x509_trust_list_init(&tl, 0) < 0) {
        return COFFRE_ERR_NOMEM;
    }
    if (gnutls_x509_trust_list_add_trust_mem(tl, &d, NULL, GNUTLS_X509_FMT_PEM,
                                             0, 0) <= 0) {
        gnutls_x509_trust_list_deinit(tl, 1);
        return COFFRE_ERR_PARSE;
    }
    if (cfg->client_trust != NULL) {
        gnutls_x509_trust_list_deinit(cfg->client_trust, 1);
    }
    cfg->client_trust = tl;
    return COFFRE_OK;
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
    if (verify_chain(cfg, s, peers, n, &status) != 0 || status != 0) {
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
