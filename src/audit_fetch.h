/*
 * The auditor's tool over the network: fetch a vault's audit log from its
 * HTTPS endpoints (docs/openapi.yaml, /v1/audit/...) into the export
 * layout of docs/audit.md section 11, so that `coffre audit verify` and
 * `query` check it exactly as they check an exported log.
 */
#ifndef COFFRE_SRC_AUDIT_FETCH_H
#define COFFRE_SRC_AUDIT_FETCH_H

#include <stddef.h>
#include <stdint.h>

struct audit_remote {
    const char *url;    /* https://HOST:PORT, no trailing path */
    const char *cacert; /* PEM file of the server's CA, or NULL */
    const char *cert;   /* client certificate (role auditor) */
    const char *key;    /* its private key */
};

/* The vault was not reached or refused to answer (connection, TLS, an
 * HTTP status other than 200): nothing can be said about its log. */
#define AUDIT_UNREACHABLE (-2)

/**
 * audit_remote_get(rm, path, pbody, plen): GET ${path} under rm->url with
 * mutual TLS; the body (NUL-terminated, malloc'd, at most 64 MiB) in
 * *${pbody}. 0; AUDIT_UNREACHABLE (network, TLS, status != 200) or -1 (an
 * answer too large or empty), with a message on stderr.
 */
int audit_remote_get(const struct audit_remote *rm, const char *path,
                     char **pbody, size_t *plen);

/**
 * audit_fetch(rm, dir, pnote, psize): fetch the latest checkpoint (in
 * *${pnote}, malloc'd; its size in *${psize}, read without verifying: the
 * caller verifies) and the entries it covers, page by page, into ${dir}
 * (created): files entries, checkpoints (that one checkpoint), checkpoint
 * and vkey (the key the server announces: never trusted by itself).
 * Entries whose index or base64 is wrong stop it. 0, AUDIT_UNREACHABLE
 * or -1 (message on stderr).
 */
int audit_fetch(const struct audit_remote *rm, const char *dir, char **pnote,
                uint64_t *psize);

/** audit_b64_decode(s, out, cap, plen): standard padded base64 of the
 * NUL-terminated ${s}, alphabet checked; 0 or -1. */
int audit_b64_decode(const char *s, unsigned char *out, size_t cap,
                     size_t *plen);

/** audit_proof_parse(json, proof, pn): {"hashes":["b64",...]} to at most
 * COFFRE_AUDIT_MAX_PROOF hashes of 32 bytes in ${proof}; 0 or -1. */
int audit_proof_parse(const char *json, unsigned char *proof, size_t *pn);

/** audit_rmtree(dir): remove a fetched directory (best effort). */
void audit_rmtree(const char *dir);

#endif
