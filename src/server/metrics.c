/*
 * A small Prometheus registry: requests by route, role and status, latency
 * histograms by route, and the sealed state. One mutex: an update is a few
 * additions, far below the cost of the TLS record it answers.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "server.h"

#define STATUS_SLOTS 16 /* distinct statuses per (route, role) */

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct status_count {
    unsigned status;
    uint64_t n;
};

struct route_hist {
    uint64_t le[NBUCKETS]; /* cumulative at render time */
    uint64_t count;
    double sum;
};

struct srv_metrics {
    pthread_mutex_t lock;
    const char *const *routes;
    size_t nroutes;              /* plus one "unmatched" slot */
    struct status_count *counts; /* [route][role][slot] */
    struct route_hist *hist;     /* [route] */
};

static struct status_count *
slot_of(struct srv_metrics *m, size_t route, int role)
{
    size_t idx = (route * (SRV_ROLE_COUNT + 1) + (size_t)role) * STATUS_SLOTS;
    return &m->counts[idx];
}

struct srv_metrics *
srv_metrics_new(const char *const *routes, size_t nroutes)
{
    struct srv_metrics *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    m->routes = routes;
    m->nroutes = nroutes;
    m->counts = calloc((nroutes + 1) * (SRV_ROLE_COUNT + 1) * STATUS_SLOTS,
                       sizeof(*m->counts));
    m->hist = calloc(nroutes + 1, sizeof(*m->hist));
    if (m->counts == NULL || m->hist == NULL ||
        pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m->counts);
        free(m->hist);
        free(m);
        return NULL;
    }
    return m;
}

void
srv_metrics_free(struct srv_metrics *m)
{
    if (m == NULL) {
        return;
    }
    pthread_mutex_destroy(&m->lock);
    free(m->counts);
    free(m->hist);
    free(m);
}

void
srv_metrics_observe(struct srv_metrics *m, size_t route, int role,
                    unsigned status, double seconds)
{
    if (route > m->nroutes) {
        route = m->nroutes;
    }
    if (role < 0 || role > SRV_ROLE_COUNT) {
        role = SRV_ROLE_NONE;
    }
    pthread_mutex_lock(&m->lock);
    struct status_count *s = slot_of(m, route, role);
    for (size_t i = 0; i < STATUS_SLOTS; i++) {
        if (s[i].status == status || s[i].status == 0) {
            s[i].status = status;
            s[i].n++;
            break;
        }
    }
    struct route_hist *h = &m->hist[route];
    for (size_t b = 0; b < NBUCKETS; b++) {
        if (seconds <= buckets[b]) {
            h->le[b]++;
            break;
        }
    }
    h->count++;
    h->sum += seconds;
    pthread_mutex_unlock(&m->lock);
}

uint64_t
srv_metrics_hits(struct srv_metrics *m, size_t route)
{
    pthread_mutex_lock(&m->lock);
    uint64_t n = route <= m->nroutes ? m->hist[route].count : 0;
    pthread_mutex_unlock(&m->lock);
    return n;
}

static const char *
route_label(const struct srv_metrics *m, size_t r)
{
    return r < m->nroutes ? m->routes[r] : "unmatched";
}

static void
render_counts(struct srv_metrics *m, FILE *b)
{
    fputs("# HELP coffre_http_requests_total HTTP requests answered.\n"
          "# TYPE coffre_http_requests_total counter\n",
          b);
    for (size_t r = 0; r <= m->nroutes; r++) {
        for (int role = 0; role <= SRV_ROLE_COUNT; role++) {
            struct status_count *s = slot_of(m, r, role);
            for (size_t i = 0; i < STATUS_SLOTS && s[i].status != 0; i++) {
                fprintf(b,
                        "coffre_http_requests_total{route=\"%s\",role=\"%s\","
                        "status=\"%u\"} %llu\n",
                        route_label(m, r), srv_role_name(role), s[i].status,
                        (unsigned long long)s[i].n);
            }
        }
    }
}

static void
render_hist(struct srv_metrics *m, FILE *b)
{
    fputs("# HELP coffre_http_request_duration_seconds Time to answer.\n"
          "# TYPE coffre_http_request_duration_seconds histogram\n",
          b);
    for (size_t r = 0; r <= m->nroutes; r++) {
        const struct route_hist *h = &m->hist[r];
        const char *lbl = route_label(m, r);
        uint64_t cum = 0;
        for (size_t i = 0; i < NBUCKETS; i++) {
            cum += h->le[i];
            fprintf(b,
                    "coffre_http_request_duration_seconds_bucket"
                    "{route=\"%s\",le=\"%g\"} %llu\n",
                    lbl, buckets[i], (unsigned long long)cum);
        }
        fprintf(b,
                "coffre_http_request_duration_seconds_bucket{route=\"%s\","
                "le=\"+Inf\"} %llu\n"
                "coffre_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n"
                "coffre_http_request_duration_seconds_count{route=\"%s\"} "
                "%llu\n",
                lbl, (unsigned long long)h->count, lbl, h->sum, lbl,
                (unsigned long long)h->count);
    }
}

int
srv_metrics_render(struct srv_metrics *m, int sealed, char **pout)
{
    size_t len = 0;
    *pout = NULL;
    FILE *b = open_memstream(pout, &len);
    if (b == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    pthread_mutex_lock(&m->lock);
    render_counts(m, b);
    render_hist(m, b);
    pthread_mutex_unlock(&m->lock);
    fprintf(b,
            "# HELP coffre_sealed 1 when the vault is sealed.\n"
            "# TYPE coffre_sealed gauge\n"
            "coffre_sealed %d\n",
            sealed ? 1 : 0);
    int bad = ferror(b);
    if (fclose(b) != 0 || bad) {
        free(*pout);
        *pout = NULL;
        return COFFRE_ERR_NOMEM;
    }
    return COFFRE_OK;
}
