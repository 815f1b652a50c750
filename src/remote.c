/*
 * One HTTPS request to a coffre server (libcurl, mutual TLS), and the
 * reasons a request got no answer, said so that an operator knows what to
 * fix: the address, the CA file, or the client certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "remote.h"

struct body {
    char *p;
    size_t len;
    int over;
};

static size_t
on_data(char *data, size_t size, size_t n, void *arg)
{
    struct body *b = arg;
    size_t add = size * n;
    if (add > REMOTE_BODY_MAX - b->len) {
        b->over = 1;
        return 0; /* stops the transfer */
    }
    char *q = realloc(b->p, b->len + add + 1);
    if (q == NULL) {
        return 0;
    }
    memcpy(q + b->len, data, add);
    b->p = q;
    b->len += add;
    b->p[b->len] = '\0';
    return add;
}

/* What failed, in the operator's terms, then curl's own detail. */
static const char *
why_of(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return "the server's host name does not resolve";
    case CURLE_COULDNT_CONNECT:
        return "the server is unreachable (connection refused or no route)";
    case CURLE_OPERATION_TIMEDOUT:
        return "the server did not answer in time";
    case CURLE_PEER_FAILED_VERIFICATION:
        return "the server's certificate is not trusted (check --cacert and "
               "the URL's host name)";
    case CURLE_SSL_CACERT_BADFILE:
        return "the --cacert file cannot be read";
    case CURLE_SSL_CERTPROBLEM:
        return "the client certificate (--cert) cannot be used";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
        return "TLS refused: the server closed the connection (is --cert a "
               "certificate of a principal its CA signed, with its --key?)";
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return "the URL must be https://HOST:PORT";
    default:
        return "the request failed";
    }
}

static void
set_tls(CURL *c, const struct audit_remote *rm)
{
    if (rm->cacert) {
        curl_easy_setopt(c, CURLOPT_CAINFO, rm->cacert);
    }
    if (rm->cert) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, rm->cert);
    }
    if (rm->key) {
        curl_easy_setopt(c, CURLOPT_SSLKEY, rm->key);
    }
}

int
remote_call(const struct audit_remote *rm, const char *method, const char *path,
            const char *body, size_t blen, struct remote_answer *ans, char *err,
            size_t errlen)
{
    char url[4096], detail[CURL_ERROR_SIZE] = "";
    struct body b = {NULL, 0, 0};
    struct curl_slist *hdr = NULL;
    memset(ans, 0, sizeof(*ans));
    int n = snprintf(url, sizeof(url), "%s%s", rm->url, path);
    if (n < 0 || (size_t)n >= sizeof(url)) {
        snprintf(err, errlen, "URL too long");
        return -1;
    }
    CURL *c = curl_easy_init();
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    set_tls(c, rm);
    if (body != NULL) {
        /* POSTFIELDS: libcurl reads the caller's buffer, copies nothing
         * of its own (not COPYPOSTFIELDS). */
        hdr = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, ""); /* Content-Length: 0 */
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ans->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    if (rc != CURLE_OK || b.over) {
        snprintf(err, errlen, "%s %s: %s (%s)", method, url,
                 b.over ? "answer too large" : why_of(rc),
                 detail[0] ? detail : curl_easy_strerror(rc));
        free(b.p);
        return -1;
    }
    ans->body = b.p != NULL ? b.p : calloc(1, 1);
    ans->len = b.len;
    if (ans->body == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void
remote_error_text(const struct remote_answer *ans, char *out, size_t cap)
{
    json_error_t jerr;
    json_t *o = json_loads(ans->body ? ans->body : "", 0, &jerr);
    json_t *e = json_object_get(o, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (code != NULL && msg != NULL) {
        snprintf(out, cap, "%s (HTTP %ld %s)", msg, ans->status, code);
    } else {
        snprintf(out, cap, "HTTP %ld", ans->status);
    }
    json_decref(o);
}
