/*
 * The command line's HTTPS client of a running `coffre server` (libcurl,
 * mutual TLS): the auditor's fetch (audit_fetch.c) and the custodians'
 * commands (cmd_operator.c) go through this one function.
 */
#ifndef COFFRE_SRC_REMOTE_H
#define COFFRE_SRC_REMOTE_H

#include <stddef.h>

#include "audit_fetch.h" /* struct audit_remote: URL, CA, certificate, key */

#define REMOTE_BODY_MAX ((size_t)64 << 20) /* an answer's cap */

/* An HTTP answer: any status, its body NUL-terminated (malloc'd). */
struct remote_answer {
    long status;
    char *body;
    size_t len;
};

/**
 * remote_call(rm, method, path, body, blen, ans, err, errlen): send
 * ${method} ${path} under rm->url with mutual TLS (rm->cert, rm->key,
 * trusting rm->cacert), with ${blen} bytes of JSON ${body} if ${body} is
 * not NULL. libcurl sends ${body} from the caller's memory (no copy of
 * ours: a share stays in the caller's locked buffer). 0 when an answer
 * came back, whatever its status, in *${ans} (free ans->body); -1 when
 * none did, with a readable reason in ${err} (unreachable, TLS refused,
 * the server's certificate not trusted, an answer over
 * REMOTE_BODY_MAX...).
 */
int remote_call(const struct audit_remote *rm, const char *method,
                const char *path, const char *body, size_t blen,
                struct remote_answer *ans, char *err, size_t errlen);

/**
 * remote_error_text(ans, out, cap): the server's JSON error
 * {"error":{"code","message"}} of ${ans} as "message (HTTP 403 code)",
 * or the status alone when the body is not that form.
 */
void remote_error_text(const struct remote_answer *ans, char *out, size_t cap);

#endif
