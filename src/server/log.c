/*
 * The server's log: one JSON object per line on stderr, for every event
 * (docs/server.md, "Logs"). Under systemd stderr is a journal stream:
 * each line is then prefixed with its syslog priority ("<6>"), which
 * journald takes as the entry's PRIORITY and strips, so that the journal
 * holds the same JSON text as a file would. A line never holds a
 * personal value: requests are logged by route template, never by path,
 * query or body, and messages are the server's own texts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

/* A line longer than this is cut (its message shortened). */
#define LOG_MSG_MAX 2048

static int journal = -1; /* stderr is the journal's stream; -1: unknown */

/* JOURNAL_STREAM is "DEV:INO" of the stream systemd connected; it holds
 * for stderr only if stderr is still that stream (systemd.exec(5)). */
static int
stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev = 0, ino = 0;
    struct stat st;
    if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
        fstat(STDERR_FILENO, &st) != 0) {
        return 0;
    }
    return (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
}

static const char *
level_name(int level)
{
    switch (level) {
    case SRV_LOG_ERR:
        return "error";
    case SRV_LOG_WARNING:
        return "warning";
    default:
        return "info";
    }
}

void
srv_log_time(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%06ldZ", ts.tv_nsec / 1000);
}

void
srv_log_json(int level, const char *event, json_t *obj)
{
    char when[32], prio[8] = "";
    json_t *line = json_object();
    if (line == NULL || obj == NULL) {
        json_decref(line);
        json_decref(obj);
        return;
    }
    srv_log_time(when);
    json_object_set_new(line, "time", json_string(when));
    json_object_set_new(line, "level", json_string(level_name(level)));
    json_object_set_new(line, "event", json_string(event));
    json_object_update(line, obj);
    json_decref(obj);
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (text == NULL) {
        return;
    }
    if (__atomic_load_n(&journal, __ATOMIC_RELAXED) < 0) {
        __atomic_store_n(&journal, stderr_is_journal(), __ATOMIC_RELAXED);
    }
    if (__atomic_load_n(&journal, __ATOMIC_RELAXED) == 1) {
        snprintf(prio, sizeof(prio), "<%d>", level);
    }
    /* One writev per line: lines of several threads never interleave. */
    struct iovec iov[3] = {
        {prio, strlen(prio)}, {text, strlen(text)}, {(char *)"\n", 1}};
    (void)!writev(STDERR_FILENO, iov, 3);
    srv_jfree(text);
}

void
srv_log(int level, const char *event, const char *fmt, ...)
{
    char msg[LOG_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n >= sizeof(msg)) { /* cut, and say so */
        memcpy(msg + sizeof(msg) - 4, "...", 4);
    }
    json_t *o = json_pack("{s:s}", "msg", msg);
    if (o == NULL) { /* a path of the operator's that is not UTF-8 */
        o = json_pack("{s:s}", "msg", "(a message that is not UTF-8)");
    }
    srv_log_json(level, event, o);
}

void
srv_log_mhd(void *cls, const char *fmt, va_list ap)
{
    char msg[LOG_MSG_MAX];
    (void)cls;
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n < 0) {
        return;
    }
    size_t len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r')) {
        msg[--len] = '\0';
    }
    srv_log(SRV_LOG_WARNING, "http", "libmicrohttpd: %s", msg);
}
