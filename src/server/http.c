/*
 * libmicrohttpd + GnuTLS: the only place that sees HTTP and TLS. Each
 * connection's client certificate is verified once, on its first request,
 * and the principal kept for the connection's lifetime (a TLS session's
 * peer does not change). Bodies are accumulated up to the configured cap.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <sodium.h>

#include "coffre/audit.h"
#include "server.h"

struct req_state;

/*
 * Answers waiting for their audit entry to become durable. Their
 * connections are suspended, so the worker threads go on serving other
 * connections meanwhile; the resumer thread waits for the newest entry of
 * the list (entries become durable in order, so that covers all of them),
 * then resumes every connection it covered. Many answers per sync, few
 * threads, few context switches.
 */
struct waiters {
    pthread_mutex_t lock;
    pthread_cond_t more;
    struct req_state *head;
    int stop;
    pthread_t thread;
    int started;
};

/* At most this many event-loop threads (cmd_server.c caps --threads). */
#define HTTP_MAX_DAEMONS 64
/* Open connections, all daemons together. */
#define HTTP_MAX_CONNECTIONS 1000u

/* The longest wait of an event loop with nothing due (ms). */
#define LOOP_MAX_WAIT_MS 1000
/* Runs in a row that libmicrohttpd asks for at once, with no event in
 * between and no byte moved, before the loop waits for an event
 * (loop_main); the wait then doubles from 1 ms up to LOOP_IDLE_MAX_MS. */
#define LOOP_SPIN_MAX 4
#define LOOP_IDLE_MAX_MS 64

struct srv_http;

/* The event loop of one daemon (loop_main). */
struct loop {
    struct srv_http *h;
    struct MHD_Daemon *d;
    unsigned index;
    int wake_fd; /* eventfd: connections were resumed (resumer_main) */
    int ep;      /* epoll: the daemon's epoll fd, stop_fd and wake_fd */
    pthread_t thread;
    int started;
    uint64_t beat; /* ms (CLOCK_MONOTONIC) of its last run: srv_http_alive */
};

/* Certificates of the server's chain sent (the leaf first). */
#define TLS_CHAIN_MAX 8

/*
 * The server's certificate and key, given to GnuTLS by a callback at each
 * handshake (MHD_OPTION_HTTPS_CERT_CALLBACK), so that a reload swaps them
 * without restarting a daemon (srv_http_reload_cert). The callback has no
 * argument of ours: the pair in force is a global (one server per
 * process). Replaced pairs stay allocated until srv_http_stop, since a
 * handshake in progress may still use them.
 */
struct tls_cred {
    gnutls_pcert_st pcert[TLS_CHAIN_MAX];
    unsigned n;
    gnutls_privkey_t key;
    struct tls_cred *older;
};
static struct tls_cred *cred_now;

/* The loop the calling thread runs, for the requests it holds. */
static _Thread_local const struct loop *this_loop;
/* Bytes the calling thread's TLS sessions moved through their sockets:
 * how a loop tells a run that did something from one that spun. */
static _Thread_local uint64_t tls_moved;

/* The sockets under each TLS session, as gnutls' own functions would use
 * them (libmicrohttpd gives it the descriptor), counting the bytes. */
static ssize_t
tls_pull(gnutls_transport_ptr_t fd, void *buf, size_t n)
{
    ssize_t got = recv((int)(intptr_t)fd, buf, n, 0);
    tls_moved += got > 0 ? (uint64_t)got : 0;
    return got;
}

static ssize_t
tls_push(gnutls_transport_ptr_t fd, const giovec_t *iov, int iovcnt)
{
    struct msghdr m = {.msg_iov = (struct iovec *)(void *)iov,
                       .msg_iovlen = (size_t)iovcnt};
    ssize_t put = sendmsg((int)(intptr_t)fd, &m, MSG_NOSIGNAL);
    tls_moved += put > 0 ? (uint64_t)put : 0;
    return put;
}

struct srv_http {
    struct tls_cred *cred; /* the newest, as cred_now; older ones chained */
    /* One daemon and its event loop per thread, see srv_http_start. */
    struct loop loops[HTTP_MAX_DAEMONS];
    unsigned nd;
    int async;   /* answers are held while entries sync; set once at start */
    int stop_fd; /* eventfd: once written, every loop ends */
    struct srv_ctx *ctx;
    struct waiters w;
};

/* Per connection (MHD socket context). */
struct conn_state {
    int checked;
    unsigned gen; /* of the policy checked under: a swap checks again */
    const struct srv_principal *who;
    const struct srv_pset *pset;
    const char *why;
};

/* Per request (MHD con_cls). */
struct req_state {
    int begun;      /* on_request was called once */
    uint64_t t0_ns; /* CLOCK_MONOTONIC when the request began */
    char id[17];    /* request id: 8 random bytes, hex (logs, header) */
    const struct srv_principal *who; /* for the log line of a held one */
    char *body;
    size_t len, cap;
    int too_big;
    /* What the raw request target showed (raw_target). */
    int target_nul;    /* "%00" in the path or a query argument */
    int args_overflow; /* more arguments than SRV_QUERY_MAX: none parsed */
    int bad_te;        /* a Transfer-Encoding other than chunked */
    /* An answer held while its audit entry becomes durable. */
    struct srv_resp resp;
    int held;
    int audit_rc;
    struct MHD_Connection *conn;
    unsigned loop; /* the index of the loop that serves it */
    struct req_state *next;
};

static void
notify_conn(void *cls, struct MHD_Connection *c, void **socket_context,
            enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = calloc(1, sizeof(struct conn_state));
        const union MHD_ConnectionInfo *ti =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        if (ti != NULL && ti->tls_session != NULL) {
            /* before any byte: the handshake is counted too */
            gnutls_transport_set_pull_function(ti->tls_session, tls_pull);
            gnutls_transport_set_vec_push_function(ti->tls_session, tls_push);
        }
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        free(*socket_context);
        *socket_context = NULL;
    }
}

static void
request_done(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct req_state *rs = *con_cls;
    if (rs != NULL) {
        if (rs->held) {
            srv_resp_free(&rs->resp);
        }
        if (rs->body != NULL) {
            sodium_memzero(rs->body, rs->cap);
            free(rs->body);
        }
        free(rs);
        *con_cls = NULL;
    }
}

/*
 * The raw request target, before libmicrohttpd parses its arguments: the
 * request's state starts here. A "%00" would be cut silently at the NUL
 * once decoded ("fields=public%00identity" served as "public"): noted,
 * answered 400. Each argument costs a header record in the connection's
 * memory pool, and 500 of them exhausted it: libmicrohttpd then closed
 * the connection without an answer. Past SRV_QUERY_MAX arguments the
 * query is emptied here, before it is parsed, and the request answered
 * 400. The target is the connection's own buffer, which libmicrohttpd
 * rewrites in place itself; it has already found the '?' (where the
 * path ends) and parses what follows it (docs/server.md, "Bad input").
 */
static void *
raw_target(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    struct req_state *rs = calloc(1, sizeof(struct req_state));
    if (rs == NULL) {
        return NULL;
    }
    for (const char *p = uri; (p = strchr(p, '%')) != NULL; p++) {
        if (p[1] == '0' && p[2] == '0') {
            rs->target_nul = 1;
            break;
        }
    }
    char *q = strchr(uri, '?');
    if (q != NULL) {
        size_t nargs = 1;
        for (const char *p = q + 1; *p != '\0'; p++) {
            nargs += *p == '&';
        }
        if (nargs > SRV_QUERY_MAX) {
            rs->args_overflow = 1;
            q[1] = '\0'; /* the '?' itself is where the path ends */
        }
    }
    return rs;
}

/* A Transfer-Encoding header other than "chunked": the body cannot be
 * framed (RFC 9112 section 6.1). */
static int
bad_transfer_encoding(struct MHD_Connection *c)
{
    const char *te = MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    return te != NULL && strcasecmp(te, "chunked") != 0;
}

/* Append upload data; past the cap only remember that it was too big. */
static void
accumulate(struct req_state *rs, const char *data, size_t n, size_t max)
{
    if (rs->too_big || n > max - rs->len) {
        rs->too_big = 1;
        return;
    }
    if (rs->len + n + 1 > rs->cap) {
        size_t ncap = rs->cap ? rs->cap : 1024;
        while (ncap < rs->len + n + 1) {
            ncap *= 2;
        }
        char *nb = malloc(ncap);
        if (nb == NULL) {
            rs->too_big = 1;
            return;
        }
        if (rs->body != NULL) {
            memcpy(nb, rs->body, rs->len);
            sodium_memzero(rs->body, rs->cap);
            free(rs->body);
        }
        rs->body = nb;
        rs->cap = ncap;
    }
    memcpy(rs->body + rs->len, data, n);
    rs->len += n;
    rs->body[rs->len] = '\0';
}

static enum MHD_Result
add_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct srv_req *req = cls;
    (void)kind;
    if (req->nquery == SRV_QUERY_MAX) {
        req->query_overflow = 1;
        return MHD_NO;
    }
    req->query[req->nquery].key = key;
    req->query[req->nquery].value = value ? value : "";
    req->nquery++;
    return MHD_YES;
}

static void
authenticate(struct srv_http *h, struct MHD_Connection *c, struct srv_req *req)
{
    const union MHD_ConnectionInfo *si =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_state *cs = si ? si->socket_context : NULL;
    const struct srv_pset *ps = srv_pset(h->ctx);
    req->pset = ps;
    if (cs != NULL && cs->checked && cs->gen == ps->gen) {
        req->who = cs->who;
        req->auth_why = cs->why;
        return;
    }
    /* First request, or the policy changed since (a reload): a principal
     * removed keeps nothing on a connection it opened before. */
    const union MHD_ConnectionInfo *ti =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    (void)srv_auth_session(ps->cfg, ti ? ti->tls_session : NULL, &req->who,
                           &req->auth_why);
    if (cs != NULL) {
        cs->checked = 1;
        cs->gen = ps->gen;
        cs->pset = ps;
        cs->who = req->who;
        cs->why = req->auth_why;
    }
}

static void
free_body(void *p)
{
    if (p != NULL) {
        sodium_memzero(p, strlen(p));
        free(p);
    }
}

static uint64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The method as logged: one of HTTP's own, or "other" (a client's token
 * is not written to the log as it came). */
static const char *
log_method(const char *m)
{
    static const char *const known[] = {"GET",     "HEAD",  "POST",
                                        "PUT",     "PATCH", "DELETE",
                                        "OPTIONS", "TRACE", "CONNECT"};
    for (size_t i = 0; m != NULL && i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(m, known[i]) == 0) {
            return known[i];
        }
    }
    return "other";
}

/*
 * One log line per answer (docs/server.md, "Logs"): the route template,
 * never the path or the query (a search carries the values searched for),
 * never the body.
 */
static void
log_request(const struct req_state *rs, const char *method,
            const struct srv_principal *who, const struct srv_resp *r)
{
    uint64_t us = (mono_ns() - rs->t0_ns) / 1000u;
    json_t *o = json_pack(
        "{s:s,s:s?,s:s,s:s,s:s,s:i,s:I}", "request_id", rs->id, "principal",
        who ? who->name : NULL, "role",
        srv_role_name(who ? who->role : SRV_ROLE_NONE), "method",
        log_method(method), "route",
        r->route < R__COUNT ? srv_route_labels[r->route] : "unmatched",
        "status", (int)r->status, "latency_us", (json_int_t)us);
    if (o != NULL) {
        json_object_set_new(o, "audit_index",
                            r->audit_indexed
                                ? json_integer((json_int_t)r->audit_index)
                                : json_null());
    }
    srv_log_json(SRV_LOG_INFO, "request", o);
}

/* The console's own headers (docs/console.md): no inline script or
 * style, nothing from elsewhere, no framing, no referrer. */
static void
console_headers(struct MHD_Response *resp, const char *etag)
{
    char tag[64];
    MHD_add_response_header(
        resp, "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy",
                            "same-origin");
    if (etag != NULL &&
        (size_t)snprintf(tag, sizeof(tag), "\"%s\"", etag) < sizeof(tag)) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, tag);
    }
}

static enum MHD_Result
queue(struct MHD_Connection *c, struct srv_resp *r, const char *id)
{
    size_t len = r->body == NULL ? 0
                 : r->body_len   ? r->body_len
                                 : strlen(r->body);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(
            len, r->body ? r->body : (char *)"", r->body ? free_body : NULL);
    if (resp == NULL) {
        srv_resp_free(r);
        return MHD_NO;
    }
    r->body = NULL; /* owned by the response now */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->ctype ? r->ctype : "application/json");
    MHD_add_response_header(resp, "Cache-Control",
                            r->cache_control ? r->cache_control : "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Request-Id", id);
    if (r->console) {
        console_headers(resp, r->etag);
    }
    if (r->allow != NULL) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    }
    if (r->retry_after != 0) { /* the guard's 429 (guard.c) */
        char ra[16];
        snprintf(ra, sizeof(ra), "%u", r->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    enum MHD_Result ret = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* A Content-Length over the cap: answer 413 without reading the body. */
static int
declared_too_big(struct MHD_Connection *c, size_t max)
{
    const char *cl = MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end = NULL;
    if (cl == NULL) {
        return 0;
    }
    unsigned long long n = strtoull(cl, &end, 10);
    return end != cl && (n > max || n == ULLONG_MAX);
}

/* Make eventfd ${fd} readable: the loops poll it. */
static void
signal_fd(int fd)
{
    uint64_t one = 1;

    if (write(fd, &one, sizeof(one)) < 0) {
        abort(); /* an eventfd write cannot fail here */
    }
}

/* Wait until entry ${index} of the audit log is durable: its status. */
static int
entry_wait(struct srv_http *h, uint64_t index)
{
    struct coffre_audit *a = srv_audit_get(h->ctx);

    return a != NULL ? coffre_audit_wait(a, index) : COFFRE_ERR_UNAVAILABLE;
}

/* Take the whole list of held answers; NULL when stopping with none. */
static struct req_state *
waiters_take(struct waiters *w)
{
    struct req_state *list;

    pthread_mutex_lock(&w->lock);
    while (w->head == NULL && !w->stop) {
        pthread_cond_wait(&w->more, &w->lock);
    }
    list = w->head;
    w->head = NULL;
    pthread_mutex_unlock(&w->lock);
    return list;
}

static void *
resumer_main(void *arg)
{
    struct srv_http *h = arg;
    struct req_state *list, *rs, *next;
    uint64_t newest;
    int rc;

    while ((list = waiters_take(&h->w)) != NULL) {
        newest = 0;
        for (rs = list; rs != NULL; rs = rs->next) {
            newest =
                rs->resp.audit_index > newest ? rs->resp.audit_index : newest;
        }
        rc = entry_wait(h, newest);
        uint64_t loops = 0;
        for (rs = list; rs != NULL; rs = next) {
            next = rs->next;
            /* Once the newest is settled the others answer at once; each
             * asks for itself, as a log that recovered from a failure
             * reuses the indices of the entries it refused. */
            rs->audit_rc = rs->resp.audit_index == newest
                               ? rc
                               : entry_wait(h, rs->resp.audit_index);
            loops |= (uint64_t)1 << rs->loop;
            MHD_resume_connection(rs->conn);
        }
        /* libmicrohttpd only runs resumed connections when its daemon is
         * run again: wake each loop concerned, once. */
        for (; loops != 0; loops &= loops - 1) {
            signal_fd(h->loops[__builtin_ctzll(loops)].wake_fd);
        }
    }
    return NULL;
}

/* A resumed connection: its entry is durable (or the log failed). */
/* Log the answer ${r} of ${rs}, then queue it. */
static enum MHD_Result
answer(struct MHD_Connection *c, struct req_state *rs, const char *method,
       struct srv_resp *r)
{
    log_request(rs, method, rs->who, r);
    return queue(c, r, rs->id);
}

static enum MHD_Result
release(struct MHD_Connection *c, struct req_state *rs, const char *method)
{
    rs->held = 0;
    if (rs->audit_rc != COFFRE_OK) {
        srv_audit_refuse(&rs->resp);
        rs->resp.audit_indexed = 0; /* the entry was not made durable */
    }
    return answer(c, rs, method, &rs->resp);
}

/*
 * Hold ${r} on a suspended connection until its entry is durable. Once
 * the server stops, the resumer may be gone: the entry is waited for
 * here, as in thread-per-connection mode, rather than left suspended
 * (libmicrohttpd cannot stop with a suspended connection).
 */
static enum MHD_Result
hold(struct srv_http *h, struct MHD_Connection *c, struct req_state *rs,
     struct srv_resp *r, const char *method)
{
    rs->resp = *r;
    rs->held = 1;
    rs->conn = c;
    rs->loop = this_loop->index;
    pthread_mutex_lock(&h->w.lock);
    if (!h->w.stop) {
        MHD_suspend_connection(c);
        rs->next = h->w.head;
        h->w.head = rs;
        pthread_cond_signal(&h->w.more);
        pthread_mutex_unlock(&h->w.lock);
        return MHD_YES;
    }
    pthread_mutex_unlock(&h->w.lock);
    rs->audit_rc = entry_wait(h, r->audit_index);
    return release(c, rs, method);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *upload_data,
           size_t *upload_data_size, void **con_cls)
{
    struct srv_http *h = cls;
    struct req_state *rs = *con_cls;
    (void)version;
    if (rs != NULL && rs->held) {
        return release(c, rs, method);
    }
    if (rs == NULL) { /* raw_target found no memory */
        return MHD_NO;
    }
    if (!rs->begun) {
        /* Answering on the first call makes MHD close the connection:
         * wait for the next one (NOTES.md, keep-alive), unless the
         * request is refused before its body ("100 Continue" never
         * sent) or its body cannot be framed. */
        rs->begun = 1;
        rs->t0_ns = mono_ns();
        unsigned char rid[8];
        randombytes_buf(rid, sizeof(rid));
        sodium_bin2hex(rs->id, sizeof(rs->id), rid, sizeof(rid));
        rs->bad_te = bad_transfer_encoding(c);
        if (!rs->bad_te && !declared_too_big(c, srv_cfg(h->ctx)->body_max)) {
            return MHD_YES;
        }
        rs->too_big = !rs->bad_te;
    } else if (*upload_data_size != 0) {
        accumulate(rs, upload_data, *upload_data_size,
                   srv_cfg(h->ctx)->body_max);
        *upload_data_size = 0; /* past the cap: read and dropped */
        return MHD_YES;
    }
    struct srv_req req;
    struct srv_resp r;
    memset(&req, 0, sizeof(req));
    memset(&r, 0, sizeof(r));
    authenticate(h, c, &req);
    rs->who = req.who;
    if (rs->too_big || rs->bad_te) {
        char param[COFFRE_PSEUDONYM_LEN + 1];
        unsigned st;
        r.route = srv_route_match(method, url, param, &st);
        if (rs->bad_te) {
            srv_error(&r, 400, "bad_request",
                      "unsupported Transfer-Encoding (only chunked)");
        } else {
            srv_error(&r, 413, "too_large", "the body is over %zu bytes",
                      srv_cfg(h->ctx)->body_max);
        }
        srv_metrics_observe(h->ctx->metrics, r.route,
                            req.who ? req.who->role : SRV_ROLE_NONE, r.status,
                            0);
        return answer(c, rs, method, &r);
    }
    req.method = method;
    req.path = url;
    req.body = rs->body ? rs->body : "";
    req.body_len = rs->len;
    req.ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                            MHD_HTTP_HEADER_CONTENT_TYPE);
    req.if_none_match = MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    req.idem_key =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    req.target_nul = rs->target_nul;
    req.query_overflow = rs->args_overflow;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &req);
    req.audit_async = h->async;
    srv_handle(h->ctx, &req, &r);
    if (r.audit_pending) {
        return hold(h, c, rs, &r, method);
    }
    return answer(c, rs, method, &r);
}

static void
cred_free(struct tls_cred *c)
{
    while (c != NULL) {
        struct tls_cred *older = c->older;
        for (unsigned i = 0; i < c->n; i++) {
            gnutls_pcert_deinit(&c->pcert[i]);
        }
        gnutls_privkey_deinit(c->key);
        free(c);
        c = older;
    }
}

/*
 * The certificate chain and key of the PEM texts, checked to be a pair
 * (GnuTLS refuses a key that does not match the certificate's), in
 * *${pc}; -1 with the reason in ${err}, nothing allocated.
 */
static int
cred_load(const char *cert_pem, const char *key_pem, struct tls_cred **pc,
          char *err, size_t errlen)
{
    gnutls_datum_t cd = {(unsigned char *)(uintptr_t)cert_pem,
                         (unsigned)strlen(cert_pem)};
    gnutls_datum_t kd = {(unsigned char *)(uintptr_t)key_pem,
                         (unsigned)strlen(key_pem)};
    gnutls_certificate_credentials_t probe = NULL;
    struct tls_cred *c = calloc(1, sizeof(*c));
    int rc = c == NULL ? GNUTLS_E_MEMORY_ERROR
                       : gnutls_certificate_allocate_credentials(&probe);
    if (rc >= 0) { /* the pair check, on credentials thrown away */
        rc = gnutls_certificate_set_x509_key_mem2(probe, &cd, &kd,
                                                  GNUTLS_X509_FMT_PEM, NULL, 0);
    }
    if (rc >= 0) {
        c->n = TLS_CHAIN_MAX;
        rc = gnutls_pcert_list_import_x509_raw(c->pcert, &c->n, &cd,
                                               GNUTLS_X509_FMT_PEM, 0);
        c->n = rc >= 0 ? c->n : 0;
    }
    if (rc >= 0 && (rc = gnutls_privkey_init(&c->key)) >= 0) {
        rc = gnutls_privkey_import_x509_raw(c->key, &kd, GNUTLS_X509_FMT_PEM,
                                            NULL, 0);
    }
    if (probe != NULL) {
        gnutls_certificate_free_credentials(probe);
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s", gnutls_strerror(rc));
        cred_free(c);
        return -1;
    }
    *pc = c;
    return 0;
}

/* GnuTLS asks for the server's certificate (gnutls_certificate_retrieve_
 * function2): the pair in force. */
static int
cert_callback(gnutls_session_t s, const gnutls_datum_t *req_ca_dn, int nreqs,
              const gnutls_pk_algorithm_t *algos, int nalgos,
              gnutls_pcert_st **pcert, unsigned int *pcert_length,
              gnutls_privkey_t *pkey)
{
    struct tls_cred *c = __atomic_load_n(&cred_now, __ATOMIC_ACQUIRE);
    (void)s;
    (void)req_ca_dn;
    (void)nreqs;
    (void)algos;
    (void)nalgos;
    if (c == NULL) {
        return -1;
    }
    *pcert = c->pcert;
    *pcert_length = c->n;
    *pkey = c->key;
    return 0;
}

int
srv_listen_parse(const char *s, struct sockaddr_storage *ss, unsigned *pflags)
{
    char host[SRV_NAME_MAX + 1];
    const char *colon = strrchr(s, ':');
    char *end = NULL;
    memset(ss, 0, sizeof(*ss));
    if (colon == NULL || (size_t)(colon - s) >= sizeof(host)) {
        return -1;
    }
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || port == 0 || port > 65535) {
        return -1;
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    size_t hl = strlen(host);
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *pflags = 0;
        return 0;
    }
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons((uint16_t)port);
            *pflags = MHD_USE_IPv6;
            return 0;
        }
    }
    return -1;
}

/*
 * Start one daemon. threads == 0: one thread per connection. A request
 * that touches personal data waits for its audit entry to be durable; a
 * waiting thread then holds up only its own connection, and the entries
 * of all connections share one sync (group commit). Otherwise one epoll
 * thread per daemon, answers held on suspended connections (hold).
 */
static struct MHD_Daemon *
start_one(struct srv_http *h, const struct sockaddr_storage *ss, unsigned v6,
          unsigned ndaemons, const char *ca_pem)
{
    const struct srv_config *cfg = srv_cfg(h->ctx);
    struct MHD_OptionItem reuse[] = {
        {MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    const char *prio = cfg->tls12 ? "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
                                  : "NORMAL:-VERS-ALL:+VERS-TLS1.3";
    unsigned flags = MHD_USE_TLS | MHD_USE_ERROR_LOG | v6 |
                     (cfg->threads != 0 ? MHD_ALLOW_SUSPEND_RESUME : 0) |
                     (cfg->threads == 0 ? MHD_USE_THREAD_PER_CONNECTION |
                                              MHD_USE_INTERNAL_POLLING_THREAD
                                        : MHD_USE_EPOLL); /* loop_main */
    return MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h,
        /* first: options before it log through MHD's own logger, which
         * says so on stderr at every start */
        MHD_OPTION_EXTERNAL_LOGGER, srv_log_mhd, NULL, MHD_OPTION_SOCK_ADDR, ss,
        MHD_OPTION_HTTPS_CERT_CALLBACK, cert_callback,
        MHD_OPTION_HTTPS_MEM_TRUST, ca_pem, MHD_OPTION_HTTPS_PRIORITIES, prio,
        /* SO_REUSEPORT, so that sibling daemons share the address;
         * left unset otherwise: 0 would also drop the default
         * SO_REUSEADDR, and a restart would fail for a minute on the
         * TIME_WAIT sockets of the connections the server closed. */
        MHD_OPTION_ARRAY, cfg->threads > 1 ? reuse : reuse + 1,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
        MHD_OPTION_CONNECTION_LIMIT, HTTP_MAX_CONNECTIONS / ndaemons,
        /* one address cannot take every slot (a daemon counts its own) */
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_ip,
        MHD_OPTION_URI_LOG_CALLBACK, raw_target, h,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_NOTIFY_CONNECTION,
        notify_conn, h, MHD_OPTION_NOTIFY_COMPLETED, request_done, h,
        MHD_OPTION_END);
}

/*
 * SO_REUSEPORT lets any socket of the same user join the address: check
 * first that nothing listens there, so that a second server started on a
 * busy address fails as it would without the option, rather than take a
 * share of the first one's connections.
 */
static int
address_in_use(const struct sockaddr_storage *ss)
{
    int one = 1, busy = 0;
    socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return errno != 0 ? errno : EIO;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    busy = bind(fd, (const struct sockaddr *)ss, len) != 0 ? errno : 0;
    close(fd);
    return busy;
}

int
srv_http_check_listen(const char *listen, const char **pwhy)
{
    struct sockaddr_storage ss;
    unsigned v6 = 0;
    int e;

    *pwhy = "not an address (A.B.C.D:PORT or [V6]:PORT)";
    if (listen == NULL || srv_listen_parse(listen, &ss, &v6) != 0) {
        return COFFRE_ERR_ARG;
    }
    e = address_in_use(&ss);
    if (e == EADDRINUSE) {
        *pwhy = "address already in use: another process listens there";
        return COFFRE_ERR_INUSE;
    }
    *pwhy = e != 0 ? strerror(e) : NULL;
    return e != 0 ? COFFRE_ERR_IO : COFFRE_OK;
}

/*
 * The event loop of one daemon, instead of libmicrohttpd's own. Its own
 * loop (0.9.75) never marks a connection in its TLS handshake as waiting
 * for input once input has arrived: while the client's next flight is
 * incomplete, it polls with a zero timeout and its thread spins on a whole
 * core (measured: 300 ticks in 3 s for one client that sent one byte of a
 * ClientHello and stopped; every honest handshake also spun for a round
 * trip). Any client could hold a core that way until the connection
 * timeout. This loop asks libmicrohttpd for its timeout like its own does,
 * but once LOOP_SPIN_MAX runs in a row asked for another at once without
 * moving a byte (tls_moved) and with no event, it waits for an event, 1 ms
 * then twice as long each idle run up to LOOP_IDLE_MAX_MS. Runs that move
 * bytes (a long answer leaving in pieces) are never held back.
 */
static void *
loop_main(void *arg)
{
    struct loop *l = arg;
    struct epoll_event got[3];
    uint64_t n64;
    int idle = 0, backoff = 1;

    this_loop = l;
    for (;;) {
        MHD_UNSIGNED_LONG_LONG to = LOOP_MAX_WAIT_MS;
        int ms = LOOP_MAX_WAIT_MS;
        uint64_t moved = tls_moved;

        __atomic_store_n(&l->beat, mono_ns() / 1000000u, __ATOMIC_RELAXED);
        MHD_run(l->d);
        if (MHD_get_timeout(l->d, &to) == MHD_YES) {
            ms = to < LOOP_MAX_WAIT_MS ? (int)to : LOOP_MAX_WAIT_MS;
        }
        idle = ms == 0 && tls_moved == moved ? idle + 1 : 0;
        if (idle > LOOP_SPIN_MAX) {
            ms = backoff;
            backoff = backoff < LOOP_IDLE_MAX_MS ? backoff * 2 : backoff;
        } else {
            backoff = 1;
        }
        int n = epoll_wait(l->ep, got, 3, ms);
        idle = n > 0 ? 0 : idle;
        for (int i = 0; i < n; i++) {
            if (got[i].data.fd == l->wake_fd) {
                /* reset; the run at the top takes the resumed ones */
                if (read(l->wake_fd, &n64, sizeof(n64)) < 0) {
                    n64 = 0; /* EAGAIN: another read took it */
                }
            } else if (got[i].data.fd == l->h->stop_fd) {
                /* answers the resumer released on its way out */
                for (int k = 0; k <= LOOP_SPIN_MAX; k++) {
                    MHD_run(l->d);
                }
                return NULL;
            }
        }
    }
}

/* The loop's epoll set: the daemon's own epoll fd, stop_fd, wake_fd. */
static int
loop_poll(struct loop *l)
{
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_EPOLL_FD);
    int fds[3] = {di != NULL ? di->epoll_fd : -1, l->h->stop_fd, l->wake_fd};

    l->ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < 3 && l->ep >= 0; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fds[i]};
        if (fds[i] < 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, fds[i], &ev) != 0) {
            close(l->ep);
            l->ep = -1;
        }
    }
    return l->ep >= 0 ? 0 : -1;
}

static void
loop_close(struct loop *l)
{
    if (l->ep >= 0) {
        close(l->ep);
    }
    if (l->wake_fd >= 0) {
        close(l->wake_fd);
    }
    l->ep = l->wake_fd = -1;
}

static void
stop_daemons(struct srv_http *h)
{
    if (h->stop_fd >= 0) {
        signal_fd(h->stop_fd);
    }
    for (unsigned i = 0; i < h->nd; i++) {
        if (h->loops[i].started) {
            pthread_join(h->loops[i].thread, NULL);
            h->loops[i].started = 0;
        }
        MHD_stop_daemon(h->loops[i].d);
        loop_close(&h->loops[i]);
    }
    h->nd = 0;
}

/* Start daemon ${l}->index and, unless one thread per connection, its
 * loop; on failure nothing of it is left running. */
static int
start_loop(struct srv_http *h, struct loop *l,
           const struct sockaddr_storage *ss, unsigned v6, unsigned n,
           const char *ca_pem)
{
    l->h = h;
    l->index = h->nd;
    l->wake_fd = l->ep = -1;
    l->d = start_one(h, ss, v6, n, ca_pem);
    if (l->d != NULL && srv_cfg(h->ctx)->threads != 0) {
        l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (l->wake_fd < 0 || loop_poll(l) != 0 ||
            pthread_create(&l->thread, NULL, loop_main, l) != 0) {
            MHD_stop_daemon(l->d);
            l->d = NULL;
        } else {
            l->started = 1;
            pthread_setname_np(l->thread, "coffre-http");
        }
    }
    if (l->d == NULL) {
        loop_close(l);
        return -1;
    }
    return 0;
}

/*
 * --threads N > 1 starts N daemons of one epoll thread each, each with its
 * own listening socket on the same address (SO_REUSEPORT): the kernel
 * spreads new connections over them by address hash. libmicrohttpd's own
 * thread pool shares one listening socket, and the first worker to wake
 * accepts a whole burst: measured, 16 connections all landed on one of
 * two workers, the other idle.
 */
int
srv_http_start(struct srv_ctx *ctx, const char *cert_pem, const char *key_pem,
               const char *ca_pem, struct srv_http **phttp)
{
    struct sockaddr_storage ss;
    unsigned v6 = 0;
    unsigned n = srv_cfg(ctx)->threads > 1 ? srv_cfg(ctx)->threads : 1;
    *phttp = NULL;
    if (srv_listen_parse(srv_cfg(ctx)->listen, &ss, &v6) != 0 ||
        n > HTTP_MAX_DAEMONS) {
        return COFFRE_ERR_ARG;
    }
    if (n > 1 && address_in_use(&ss) != 0) {
        return COFFRE_ERR_INUSE;
    }
    struct srv_http *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    h->ctx = ctx;
    char err[256];
    if (cred_load(cert_pem, key_pem, &h->cred, err, sizeof(err)) != 0) {
        srv_log(SRV_LOG_ERR, "server", "TLS certificate and key: %s", err);
        free(h);
        return COFFRE_ERR_PARSE;
    }
    __atomic_store_n(&cred_now, h->cred, __ATOMIC_RELEASE);
    pthread_mutex_init(&h->w.lock, NULL);
    pthread_cond_init(&h->w.more, NULL);
    /* Without the resumer, requests wait for their entries in place: so
     * in thread-per-connection mode, where libmicrohttpd cannot suspend. */
    h->w.started = srv_cfg(ctx)->threads != 0 &&
                   pthread_create(&h->w.thread, NULL, resumer_main, h) == 0;
    h->async = h->w.started;
    h->stop_fd = eventfd(0, EFD_CLOEXEC);
    for (; h->stop_fd >= 0 && h->nd < n; h->nd++) {
        if (start_loop(h, &h->loops[h->nd], &ss, v6, n, ca_pem) != 0) {
            break;
        }
    }
    if (h->nd < n || (srv_cfg(ctx)->threads != 0 && !h->w.started)) {
        srv_http_stop(h);
        return COFFRE_ERR_IO;
    }
    *phttp = h;
    return COFFRE_OK;
}

void
srv_http_stop(struct srv_http *h)
{
    if (h == NULL) {
        return;
    }
    /* Stops accepting, lets requests in flight finish: a write that was
     * acknowledged was committed before its answer was queued. The
     * resumer first releases every held answer (it drains the list before
     * it sees the stop), since MHD cannot stop with suspended
     * connections. */
    if (h->w.started) {
        pthread_mutex_lock(&h->w.lock);
        h->w.stop = 1;
        pthread_cond_signal(&h->w.more);
        pthread_mutex_unlock(&h->w.lock);
        pthread_join(h->w.thread, NULL);
        h->w.started = 0;
    }
    stop_daemons(h);
    if (h->stop_fd >= 0) {
        close(h->stop_fd);
    }
    pthread_cond_destroy(&h->w.more);
    pthread_mutex_destroy(&h->w.lock);
    __atomic_store_n(&cred_now, NULL, __ATOMIC_RELEASE);
    cred_free(h->cred);
    free(h);
}

int
srv_tls_pair_load(const char *cert_pem, const char *key_pem,
                  struct tls_cred **pc, char *err, size_t errlen)
{
    return cred_load(cert_pem, key_pem, pc, err, errlen) == 0
               ? COFFRE_OK
               : COFFRE_ERR_PARSE;
}

void
srv_tls_pair_free(struct tls_cred *c)
{
    cred_free(c);
}

void
srv_http_use_pair(struct srv_http *h, struct tls_cred *c)
{
    c->older = h->cred; /* a handshake in progress may hold it */
    h->cred = c;
    __atomic_store_n(&cred_now, c, __ATOMIC_RELEASE);
}

int
srv_http_alive(struct srv_http *h, unsigned max_ms)
{
    uint64_t now = mono_ns() / 1000000u;
    for (unsigned i = 0; i < h->nd; i++) {
        uint64_t beat = __atomic_load_n(&h->loops[i].beat, __ATOMIC_RELAXED);
        /* thread per connection: libmicrohttpd's own thread, no beat */
        if (h->loops[i].started && now - beat > max_ms) {
            return 0;
        }
    }
    return 1;
}
