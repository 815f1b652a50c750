/*
 * systemd's service protocol (sd_notify(3), docs/server.md "Running under
 * systemd"): READY=1 once the server listens, STATUS= lines, RELOADING=1
 * around a reload, STOPPING=1 at shutdown, and WATCHDOG=1 from a thread
 * of its own while the server is healthy. Without NOTIFY_SOCKET every
 * call does nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "notify.h"
#include "server.h"

/* The main loop ticks once a second (cmd_server.c): older than this, it
 * is stuck. The event loops run at least once a second (http.c). */
#define MAIN_STALE_MS 5000u
#define LOOP_STALE_MS 5000u

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
srv_notify(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof(msg)) {
        (void)sd_notify(0, msg);
    }
}

void
srv_notify_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    /* MONOTONIC_USEC: systemd 253's Type=notify-reload wants it; older
     * ones ignore it. */
    srv_notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
               (unsigned long long)ts.tv_sec * 1000000ull +
                   (unsigned long long)ts.tv_nsec / 1000ull);
}

void
srv_watchdog_beat(struct srv_watchdog *w)
{
    __atomic_store_n(&w->main_beat, now_ms(), __ATOMIC_RELAXED);
}

/* The server is healthy: its main loop ticked and every event loop ran
 * lately. An audit log that refuses entries is not a reason to restart
 * (it recovers by itself, health says degraded): not looked at. */
static int
healthy(struct srv_watchdog *w)
{
    uint64_t beat = __atomic_load_n(&w->main_beat, __ATOMIC_RELAXED);
    return now_ms() - beat <= MAIN_STALE_MS &&
           (w->http == NULL || srv_http_alive(w->http, LOOP_STALE_MS));
}

static void *
watchdog_main(void *arg)
{
    struct srv_watchdog *w = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        if (healthy(w)) {
            (void)sd_notify(0, "WATCHDOG=1");
        } else if (!w->warned) {
            w->warned = 1;
            srv_log(SRV_LOG_ERR, "watchdog",
                    "an event loop or the main loop is stuck: no watchdog "
                    "ping (systemd restarts the service after WatchdogSec)");
        }
        uint64_t ns = (uint64_t)next.tv_nsec + w->interval_us * 1000u;
        next.tv_sec += (time_t)(ns / 1000000000u);
        next.tv_nsec = (long)(ns % 1000000000u);
        while (!w->stop &&
               pthread_cond_timedwait(&w->wake, &w->lock, &next) == 0) {
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int
srv_watchdog_start(struct srv_watchdog *w, struct srv_http *http)
{
    uint64_t usec = 0;
    pthread_condattr_t ca;
    memset(w, 0, sizeof(*w));
    w->http = http;
    srv_watchdog_beat(w);
    /* WATCHDOG_USEC (and WATCHDOG_PID, if set, naming this process) */
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) {
        return 0;
    }
    w->interval_us = usec / 2;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thread, NULL, watchdog_main, w) != 0) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        return -1;
    }
    pthread_setname_np(w->thread, "coffre-watchdog");
    w->started = 1;
    srv_log(SRV_LOG_INFO, "watchdog", "watchdog ping every %llu ms",
            (unsigned long long)(w->interval_us / 1000u));
    return 0;
}

void
srv_watchdog_stop(struct srv_watchdog *w)
{
    if (!w->started) {
        return;
    }
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    w->started = 0;
}
