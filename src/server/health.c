/*
 * The plain health port (docs/server.md, "Health port"): GET /health over
 * plain HTTP for load balancers, which hold no client certificate. It
 * says ok, sealed or degraded and nothing else: no personal data, no
 * route map, no reason text (that is for the authenticated
 * /v1/sys/health). Every other path is 404, every other method 405, with
 * a JSON body; few connections, short timeouts, no request body read.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "approval.h"
#include "notify.h"

#define HEALTH_CONNECTIONS 16u /* in all */
#define HEALTH_PER_IP 4u
#define HEALTH_TIMEOUT_S 5u
#define HEALTH_MEMORY 4096u /* bytes per connection: a short request only */

struct srv_health {
    struct MHD_Daemon *d;
    struct srv_ctx *ctx;
};

const char *
srv_health_state(struct srv_ctx *ctx, char *why, size_t len)
{
    if (srv_audit_unavailable(ctx, why, len)) {
        return "degraded";
    }
    return srv_policy_ready(ctx) ? "ok" : "sealed";
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *body,
      const char *allow)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (allow != NULL) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result
on_health(void *cls, struct MHD_Connection *c, const char *url,
          const char *method, const char *version, const char *upload,
          size_t *upload_size, void **con_cls)
{
    struct srv_health *h = cls;
    char why[256], body[64];
    (void)version;
    (void)upload;
    (void)con_cls;
    *upload_size = 0; /* a body is never looked at */
    if (strcmp(url, "/health") != 0) {
        return reply(c, 404,
                     "{\"error\":{\"code\":\"not_found\",\"message\":"
                     "\"no such path\"}}",
                     NULL);
    }
    if (strcmp(method, "GET") != 0) {
        return reply(c, 405,
                     "{\"error\":{\"code\":\"method_not_allowed\","
                     "\"message\":\"only GET\"}}",
                     "GET");
    }
    const char *st = srv_health_state(h->ctx, why, sizeof(why));
    snprintf(body, sizeof(body), "{\"status\":\"%s\"}", st);
    return reply(c, strcmp(st, "ok") == 0 ? 200 : 503, body, NULL);
}

static int
is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
        return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    }
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
    return IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
}

int
srv_health_start(struct srv_ctx *ctx, const char *addr, int allow_public,
                 struct srv_health **ph)
{
    struct sockaddr_storage ss;
    unsigned v6 = 0;
    *ph = NULL;
    if (srv_listen_parse(addr, &ss, &v6) != 0) {
        srv_log(SRV_LOG_ERR, "health", "health_listen %s: not ADDRESS:PORT",
                addr);
        return COFFRE_ERR_ARG;
    }
    if (!is_loopback(&ss) && !allow_public) {
        srv_log(SRV_LOG_ERR, "health",
                "health_listen %s is not a loopback address: set "
                "\"health_public\": true (or --health-public) to serve "
                "health there",
                addr);
        return COFFRE_ERR_ARG;
    }
    struct srv_health *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    h->ctx = ctx;
    h->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG | v6,
        0, NULL, NULL, on_health, h, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_CONNECTION_LIMIT, HEALTH_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, HEALTH_PER_IP,
        MHD_OPTION_CONNECTION_TIMEOUT, HEALTH_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HEALTH_MEMORY,
        MHD_OPTION_EXTERNAL_LOGGER, srv_log_mhd, NULL, MHD_OPTION_END);
    if (h->d == NULL) {
        srv_log(SRV_LOG_ERR, "health", "cannot listen on %s", addr);
        free(h);
        return COFFRE_ERR_IO;
    }
    srv_log(SRV_LOG_INFO, "health", "health port on http://%s/health", addr);
    *ph = h;
    return COFFRE_OK;
}

void
srv_health_stop(struct srv_health *h)
{
    if (h != NULL) {
        MHD_stop_daemon(h->d);
        free(h);
    }
}
