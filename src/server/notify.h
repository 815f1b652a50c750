/*
 * The service manager's protocol (notify.c) and the plain health port
 * (health.c): what `coffre server` tells systemd and load balancers.
 */
#ifndef COFFRE_SRC_SERVER_NOTIFY_H
#define COFFRE_SRC_SERVER_NOTIFY_H

#include <pthread.h>
#include <stdint.h>

#include "server.h"

/** srv_notify(fmt, ...): send one sd_notify(3) message ("READY=1\n
 * STATUS=..."); nothing without NOTIFY_SOCKET. */
void srv_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** srv_notify_reloading(): RELOADING=1 with MONOTONIC_USEC. */
void srv_notify_reloading(void);

struct srv_watchdog {
    struct srv_http *http;
    uint64_t main_beat; /* ms, CLOCK_MONOTONIC: srv_watchdog_beat */
    uint64_t interval_us;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int started, stop, warned;
};

/**
 * srv_watchdog_start(w, http): if systemd asked for a watchdog
 * (WATCHDOG_USEC), a thread that sends WATCHDOG=1 every half of it while
 * the main loop beats (srv_watchdog_beat) and the event loops of ${http}
 * run. 0 (also when no watchdog is asked for), -1 if the thread failed.
 */
int srv_watchdog_start(struct srv_watchdog *w, struct srv_http *http);

/** srv_watchdog_beat(w): the main loop is alive (call at each tick). */
void srv_watchdog_beat(struct srv_watchdog *w);

/** srv_watchdog_stop(w): end the thread; no-op if none. */
void srv_watchdog_stop(struct srv_watchdog *w);

struct srv_health;

/**
 * srv_health_start(ctx, addr, allow_public, ph): answer GET /health on
 * the plain-HTTP address ${addr} ("A.B.C.D:PORT" or "[V6]:PORT"), a
 * loopback one unless ${allow_public}. COFFRE_ERR_ARG for an address
 * refused (reason logged), COFFRE_ERR_IO if it cannot listen.
 */
int srv_health_start(struct srv_ctx *ctx, const char *addr, int allow_public,
                     struct srv_health **ph);

/** srv_health_stop(h): stop the health port; NULL is a no-op. */
void srv_health_stop(struct srv_health *h);

/** srv_health_state(ctx, why, len): "ok", "sealed" or "degraded" (the
 * audit log refuses entries; the reason in ${why}). */
const char *srv_health_state(struct srv_ctx *ctx, char *why, size_t len);

/* ---- reload.c ---------------------------------------------------- */

struct srv_reload {
    const char *path; /* the configuration file to read again */
    int no_guard;     /* --no-guard (benchmarks): no guard after a swap */
};

/**
 * srv_reload(ctx, http, how): SIGHUP. Read ${how}->path and the files it
 * names again and put them in force (docs/server.md, "Reload"); sends
 * RELOADING=1 then READY=1. On any error nothing changes and the reason
 * is logged (event reload_refused).
 */
int srv_reload(struct srv_ctx *ctx, struct srv_http *http,
               const struct srv_reload *how);

#endif
