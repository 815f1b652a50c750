/*
 * The guard's state (docs/guard.md): one slot per configured principal,
 * each with its own lock, request bucket, person quotas and two sliding
 * windows of distinct persons (those whose personal data was disclosed;
 * all those returned). Suspensions are saved to the state file; alerts go
 * to stderr, the metrics and the optional alert command.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "guard.h"

#define NIL UINT32_MAX
#define ALERTS_KEPT 32  /* recent alerts shown by the status route */
#define CHILDREN_MAX 16 /* alert commands running at once */

/* A sliding window: the distinct ids seen in the last `window` seconds,
 * in a chained hash table threaded on a recency list. */
struct wentry {
    uint64_t id;
    double seen;
    uint32_t hnext, older, newer;
};
struct gwin {
    struct wentry *e;
    uint32_t ecap, n, freel, nb, oldest, newest;
    uint32_t *b;
};

struct bucket {
    double tokens, at;
};

struct gslot {
    pthread_mutex_t lock;
    const struct srv_principal *who;
    struct guard_limits lim;
    struct bucket req, hour, day;
    struct gwin personal, listed;
    int suspended;
    int64_t since; /* unix time */
    char reason[32];
    uint64_t limited; /* 429 answers */
    /* Approved extra persons (guard_set_bonus, bonus_update): spent of
     * the bonus in force, the bonus last seen and until when (unix), the
     * part of ended ones held for the bulk threshold, since when. */
    uint64_t bonus_used, bonus_last, bonus_held;
    int64_t bonus_until;
    double bonus_at;
    /* Shared state (guard_set_shared): the window counts of every process
     * as of the last poll, shown by the status route. */
    uint64_t shared_personal, shared_listed;
};

struct alert_child {
    pid_t pid;
    double started;
};

struct guard {
    const struct guard_config *gc;
    const struct srv_config *cfg;
    struct gslot *slots;
    size_t n;
    double (*now)(void);
    uint64_t (*bonus)(void *arg, const char *name, int64_t *pexpires);
    void *bonus_arg;
    pthread_rwlock_t poison_lock;
    uint64_t *poison;
    size_t npoison;
    pthread_mutex_t alock; /* alerts, children, the state file */
    json_t *alerts;        /* the last ALERTS_KEPT */
    struct alert_child kids[CHILDREN_MAX];
    uint64_t nalerts[4], dropped, saved_fail;
    char state_path[SRV_PATH_MAX + 32];
    /* On PostgreSQL: windows, quotas and suspensions shared by every
     * process of the database (guard_set_shared); NULL: this process's. */
    void *shared;
    const struct guard_shared_ops *sh;
    uint64_t shared_fail; /* answers refused: the database did not answer */
};

enum { WHY_BULK = 0, WHY_LIST, WHY_POISON, WHY_FULL };
static const char *const why_names[4] = {"bulk_read", "enumeration",
                                         "poison_record", "window_full"};

static double
real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- windows ------------------------------------------------------ */

static uint32_t
whash(uint64_t id, uint32_t nb)
{
    id *= 0x9e3779b97f4a7c15ull;
    return (uint32_t)(id >> 32) & (nb - 1);
}

static void
win_free(struct gwin *w)
{
    free(w->e);
    free(w->b);
    memset(w, 0, sizeof(*w));
}

/* Make room for one more entry, up to ${cap}; -1 when full. */
static int
win_grow(struct gwin *w, uint32_t cap)
{
    if (w->freel != NIL && w->e != NULL) {
        return 0;
    }
    if (w->ecap >= cap) {
        return -1;
    }
    uint32_t ncap = w->ecap ? w->ecap * 2 : 64;
    ncap = ncap > cap ? cap : ncap;
    uint32_t nb = 1;
    while (nb < ncap * 2u) {
        nb <<= 1;
    }
    struct wentry *e = realloc(w->e, ncap * sizeof(*e));
    uint32_t *b = malloc(nb * sizeof(*b));
    if (e == NULL || b == NULL) {
        free(b);
        w->e = e ? e : w->e;
        return -1;
    }
    w->e = e;
    free(w->b);
    w->b = b;
    w->nb = nb;
    memset(b, 0xff, nb * sizeof(*b));
    for (uint32_t i = w->oldest; i != NIL; i = e[i].newer) {
        uint32_t h = whash(e[i].id, nb);
        e[i].hnext = b[h];
        b[h] = i;
    }
    for (uint32_t i = w->ecap; i < ncap; i++) {
        e[i].hnext = i + 1 < ncap ? i + 1 : NIL;
    }
    w->freel = w->ecap;
    w->ecap = ncap;
    return 0;
}

static uint32_t
win_find(const struct gwin *w, uint64_t id)
{
    if (w->b == NULL) {
        return NIL;
    }
    uint32_t i = w->b[whash(id, w->nb)];
    while (i != NIL && w->e[i].id != id) {
        i = w->e[i].hnext;
    }
    return i;
}

static void
list_unlink(struct gwin *w, uint32_t i)
{
    struct wentry *x = &w->e[i];
    if (x->older != NIL) {
        w->e[x->older].newer = x->newer;
    } else {
        w->oldest = x->newer;
    }
    if (x->newer != NIL) {
        w->e[x->newer].older = x->older;
    } else {
        w->newest = x->older;
    }
}

static void
list_push(struct gwin *w, uint32_t i)
{
    w->e[i].older = w->newest;
    w->e[i].newer = NIL;
    if (w->newest != NIL) {
        w->e[w->newest].newer = i;
    } else {
        w->oldest = i;
    }
    w->newest = i;
}

static void
win_remove_oldest(struct gwin *w)
{
    uint32_t i = w->oldest;
    uint32_t *pp = &w->b[whash(w->e[i].id, w->nb)];
    while (*pp != i) {
        pp = &w->e[*pp].hnext;
    }
    *pp = w->e[i].hnext;
    list_unlink(w, i);
    w->e[i].hnext = w->freel;
    w->freel = i;
    w->n--;
}

static void
win_expire(struct gwin *w, double now, double window)
{
    while (w->oldest != NIL && w->e[w->oldest].seen <= now - window) {
        win_remove_oldest(w);
    }
}

/* Record ${id} as seen now; -1 when the window is at ${cap}. */
static int
win_touch(struct gwin *w, uint64_t id, double now, uint32_t cap)
{
    uint32_t i = win_find(w, id);
    if (i != NIL) {
        list_unlink(w, i);
    } else {
        if (win_grow(w, cap) != 0) {
            return -1;
        }
        i = w->freel;
        w->freel = w->e[i].hnext;
        uint32_t h = whash(id, w->nb);
        w->e[i].id = id;
        w->e[i].hnext = w->b[h];
        w->b[h] = i;
        w->n++;
    }
    w->e[i].seen = now;
    list_push(w, i);
    return 0;
}

static void
win_init(struct gwin *w)
{
    memset(w, 0, sizeof(*w));
    w->freel = w->oldest = w->newest = NIL;
}

/* ---- buckets ------------------------------------------------------ */

static void
bucket_fill(struct bucket *b, double rate, double cap, double now)
{
    b->tokens += (now - b->at) * rate;
    b->tokens = b->tokens > cap ? cap : b->tokens;
    b->at = now;
}

/* Seconds until ${need} tokens are there, rounded up, at least 1. */
static unsigned
bucket_wait(const struct bucket *b, double rate, double need)
{
    double s = rate > 0 ? (need - b->tokens) / rate : 86400;
    if (s >= 86400) {
        return 86400;
    }
    unsigned u = s < 1 ? 1 : (unsigned)s;
    return (double)u < s ? u + 1 : u; /* rounded up, without libm */
}

/* ---- life --------------------------------------------------------- */

static void guard_load_state(struct guard *g);

int
guard_new(const struct srv_config *cfg, const struct guard_config *gc,
          struct guard **pg)
{
    *pg = NULL;
    if (!gc->enabled) {
        return COFFRE_OK;
    }
    struct guard *g = calloc(1, sizeof(*g));
    if (g == NULL ||
        (g->slots = calloc(cfg->nprincipals + 1, sizeof(*g->slots))) == NULL ||
        (g->alerts = json_array()) == NULL) {
        guard_free(g);
        return COFFRE_ERR_NOMEM;
    }
    g->gc = gc;
    g->cfg = cfg;
    g->n = cfg->nprincipals;
    g->now = real_now;
    pthread_rwlock_init(&g->poison_lock, NULL);
    pthread_mutex_init(&g->alock, NULL);
    double t = real_now();
    for (size_t i = 0; i < g->n; i++) {
        struct gslot *s = &g->slots[i];
        pthread_mutex_init(&s->lock, NULL);
        s->who = &cfg->principals[i];
        s->lim = guard_limits_of(gc, s->who);
        if (s->lim.rate > 0 && s->lim.burst < 1) {
            s->lim.burst = s->lim.rate < 1 ? 1 : s->lim.rate;
        }
        s->req = (struct bucket){s->lim.burst, t};
        s->hour = (struct bucket){s->lim.persons_hour, t};
        s->day = (struct bucket){s->lim.persons_day, t};
        win_init(&s->personal);
        win_init(&s->listed);
    }
    snprintf(g->state_path, sizeof(g->state_path), "%s",
             gc->state_file[0] ? gc->state_file : "");
    if (!gc->state_file[0] && cfg->data_dir[0]) {
        snprintf(g->state_path, sizeof(g->state_path), "%s/guard-state.json",
                 cfg->data_dir);
    }
    guard_load_state(g);
    *pg = g;
    return COFFRE_OK;
}

void
guard_free(struct guard *g)
{
    if (g == NULL) {
        return;
    }
    for (size_t i = 0; g->slots != NULL && i < g->n; i++) {
        win_free(&g->slots[i].personal);
        win_free(&g->slots[i].listed);
        pthread_mutex_destroy(&g->slots[i].lock);
    }
    for (size_t i = 0; i < CHILDREN_MAX; i++) {
        if (g->kids[i].pid > 0) {
            kill(g->kids[i].pid, SIGKILL);
            waitpid(g->kids[i].pid, NULL, 0);
        }
    }
    if (g->shared != NULL) {
        g->sh->close(g->shared);
    }
    free(g->slots);
    free(g->poison);
    json_decref(g->alerts);
    free(g);
}

void
guard_set_bonus(struct guard *g,
                uint64_t (*fn)(void *arg, const char *name, int64_t *pexpires),
                void *arg)
{
    if (g != NULL) {
        g->bonus = fn;
        g->bonus_arg = arg;
    }
}

void
guard_set_clock(struct guard *g, double (*now)(void))
{
    g->now = now ? now : real_now;
    double t = g->now();
    for (size_t i = 0; i < g->n; i++) {
        g->slots[i].req.at = g->slots[i].hour.at = g->slots[i].day.at = t;
    }
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int
guard_set_poison(struct guard *g, const uint64_t *ids, size_t n)
{
    uint64_t *p = malloc((n ? n : 1) * sizeof(*p));
    if (p == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    memcpy(p, ids, n * sizeof(*p));
    qsort(p, n, sizeof(*p), cmp_u64);
    pthread_rwlock_wrlock(&g->poison_lock);
    free(g->poison);
    g->poison = p;
    g->npoison = n;
    pthread_rwlock_unlock(&g->poison_lock);
    return COFFRE_OK;
}

int
guard_is_poison(struct guard *g, uint64_t id)
{
    pthread_rwlock_rdlock(&g->poison_lock);
    int hit = g->npoison > 0 &&
              bsearch(&id, g->poison, g->npoison, sizeof(id), cmp_u64) != NULL;
    pthread_rwlock_unlock(&g->poison_lock);
    return hit;
}

static struct gslot *
slot_of(struct guard *g, const struct srv_principal *who)
{
    if (who < g->cfg->principals || who >= g->cfg->principals + g->n) {
        return NULL;
    }
    return &g->slots[who - g->cfg->principals];
}

/* ---- admission ---------------------------------------------------- */

static void
answer_suspended(struct srv_resp *r, const struct gslot *s)
{
    srv_resp_free(r);
    r->classes = 0; /* the audit entry: nothing was disclosed */
    srv_error(r, 403, "suspended",
              "principal %s is suspended by the guard (%s); a custodian "
              "reinstates it",
              s->who->name, s->reason);
}

int
guard_admit(struct guard *g, const struct srv_principal *who, int suspended_ok,
            struct srv_resp *r)
{
    struct gslot *s = g != NULL ? slot_of(g, who) : NULL;
    if (s == NULL) {
        return 1;
    }
    int go = 1;
    pthread_mutex_lock(&s->lock);
    if (s->suspended && !suspended_ok) {
        answer_suspended(r, s);
        go = 0;
    } else if (s->lim.rate > 0) {
        bucket_fill(&s->req, s->lim.rate, s->lim.burst, g->now());
        if (s->req.tokens < 1) {
            r->retry_after = bucket_wait(&s->req, s->lim.rate, 1);
            s->limited++;
            go = 0;
        } else {
            s->req.tokens -= 1;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (!go && r->status != 403) {
        srv_error(r, 429, "rate_limited",
                  "request rate over the limit of %s; retry after %u s",
                  who->name, r->retry_after);
    }
    return go;
}

void
guard_disclose(struct srv_resp *r, uint64_t id)
{
    /* A person is noted by the handler (resolve, list) and by the vault's
     * audit hook when it is read: once per answer. Newest first, since
     * the two notes of one person are usually neighbours. */
    for (size_t i = r->ndisclosed; i > 0; i--) {
        if (r->disclosed[i - 1] == id) {
            return;
        }
    }
    if (r->ndisclosed < SRV_PAGE_MAX) {
        r->disclosed[r->ndisclosed++] = id;
    } else {
        r->disclosed_over = 1;
    }
}

/* ---- alerts and the state file ------------------------------------ */

static void
iso_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
spawn_alert(struct guard *g, const char *text)
{
    const struct guard_config *gc = g->gc;
    char *argv[GUARD_ARGV_MAX + 1];
    char *envp[] = {(char *)"PATH=/usr/bin:/bin", NULL};
    int fds[2];
    size_t k = 0;
    while (k < CHILDREN_MAX && g->kids[k].pid > 0) {
        k++;
    }
    if (gc->alert_argc == 0 || k == CHILDREN_MAX ||
        pipe2(fds, O_CLOEXEC) != 0) {
        g->dropped += gc->alert_argc != 0;
        return;
    }
    for (size_t i = 0; i < gc->alert_argc; i++) {
        argv[i] = (char *)gc->alert_argv[i];
    }
    argv[gc->alert_argc] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
    pid_t pid = 0;
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, envp) == 0) {
        g->kids[k] = (struct alert_child){pid, real_now()};
        /* A few hundred bytes: the pipe takes them without blocking. */
        (void)fcntl(fds[1], F_SETFL, O_NONBLOCK);
        (void)!write(fds[1], text, strlen(text));
    } else {
        g->dropped++;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    close(fds[1]);
}

static void
save_state(struct guard *g)
{
    char tmp[sizeof(g->state_path) + 8];
    json_t *arr = json_array();
    for (size_t i = 0; i < g->n; i++) {
        struct gslot *s = &g->slots[i];
        pthread_mutex_lock(&s->lock);
        if (s->suspended) {
            json_array_append_new(
                arr, json_pack("{s:s,s:I,s:s}", "name", s->who->name, "since",
                               (json_int_t)s->since, "reason", s->reason));
        }
        pthread_mutex_unlock(&s->lock);
    }
    json_t *o = json_pack("{s:o}", "suspended", arr);
    char *text = o ? json_dumps(o, JSON_INDENT(1)) : NULL;
    json_decref(o);
    snprintf(tmp, sizeof(tmp), "%s.tmp", g->state_path);
    int fd = text && g->state_path[0]
                 ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600)
                 : -1;
    int ok = fd >= 0 &&
             write(fd, text, strlen(text)) == (ssize_t)strlen(text) &&
             fsync(fd) == 0;
    if (fd >= 0) {
        close(fd);
    }
    /* rename: a crash leaves the old file or the new one, never half. */
    if (g->state_path[0] && (!ok || rename(tmp, g->state_path) != 0)) {
        g->saved_fail++;
        srv_log(SRV_LOG_ERR, "guard", "guard: cannot save %s", g->state_path);
    }
    srv_jfree(text);
}

static void
guard_load_state(struct guard *g)
{
    json_t *o =
        g->state_path[0] ? json_load_file(g->state_path, 0, NULL) : NULL;
    json_t *arr = json_object_get(o, "suspended");
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *why = json_string_value(json_object_get(e, "reason"));
        for (size_t k = 0; name && k < g->n; k++) {
            struct gslot *s = &g->slots[k];
            if (strcmp(s->who->name, name) == 0) {
                s->suspended = 1;
                s->since =
                    (int64_t)json_integer_value(json_object_get(e, "since"));
                snprintf(s->reason, sizeof(s->reason), "%s",
                         why ? why : "restored");
            }
        }
    }
    json_decref(o);
}

/* Log, count, keep and send the alert of a suspension. */
static void
raise_alert(struct guard *g, const struct gslot *s, int why, uint32_t seen,
            uint32_t threshold, double window)
{
    char when[32];
    iso_time(s->since, when);
    json_t *a =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "alert",
                  "principal_suspended", "principal", s->who->name, "role",
                  srv_role_name(s->who->role), "reason", why_names[why], "time",
                  when, "persons_in_window", (json_int_t)seen, "threshold",
                  (json_int_t)threshold, "window_seconds", (json_int_t)window);
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    pthread_mutex_lock(&g->alock);
    g->nalerts[why]++;
    if (a != NULL) {
        json_array_append(g->alerts, a);
        if (json_array_size(g->alerts) > ALERTS_KEPT) {
            json_array_remove(g->alerts, 0);
        }
    }
    if (text != NULL) {
        srv_log_json(SRV_LOG_WARNING, "guard_alert",
                     json_pack("{s:O}", "alert", a));
        spawn_alert(g, text);
    }
    save_state(g);
    pthread_mutex_unlock(&g->alock);
    srv_jfree(text);
    json_decref(a);
}

/* ---- observation -------------------------------------------------- */

struct verdict {
    int why;       /* WHY_*, or -1 */
    unsigned wait; /* 429 Retry-After, or 0 */
    uint32_t seen, threshold;
};

/* Persons of ${r} not in ${w} yet. */
static uint32_t
count_new(const struct gwin *w, const struct srv_resp *r)
{
    uint32_t n = 0;
    for (size_t i = 0; i < r->ndisclosed; i++) {
        n += win_find(w, r->disclosed[i]) == NIL;
    }
    return n;
}

static uint32_t
cap_of(uint32_t threshold)
{
    return threshold ? threshold : 1000000u; /* bounded memory even so */
}

/* Account the bonus in force, ${bonus} until ${until} (unix), with the
 * slot locked: what an approval paid ends with it; what it allowed past
 * the bulk threshold is held for one more window, so that the persons
 * read under it leave the window rather than suspend the principal. */
static void
bonus_update(struct gslot *s, uint64_t bonus, int64_t until, double now)
{
    int ended = s->bonus_until <= (int64_t)time(NULL);
    uint64_t gone = ended                   ? s->bonus_last
                    : bonus < s->bonus_last ? s->bonus_last - bonus
                                            : 0;
    if (ended) {
        s->bonus_used = 0;
    }
    if (gone > 0) {
        s->bonus_held =
            gone + (now - s->bonus_at < s->lim.window ? s->bonus_held : 0);
        s->bonus_at = now;
    }
    s->bonus_last = bonus;
    s->bonus_until = bonus > 0 ? until : s->bonus_until;
}

/* The extra persons of the bulk threshold: the bonus in force and what
 * is held of the ended ones. */
static uint64_t
bulk_extra(const struct gslot *s, uint64_t bonus, double now)
{
    return bonus + (now - s->bonus_at < s->lim.window ? s->bonus_held : 0);
}

/* The person quotas with ${bonus} approved extra persons: 0 if ${np} may
 * be disclosed now (tokens taken), else the seconds to wait. */
static unsigned
take_quota(struct gslot *s, uint32_t np, uint64_t bonus)
{
    const struct guard_limits *l = &s->lim;
    double hs = l->persons_hour > 0 ? (double)np - s->hour.tokens : 0;
    double ds = l->persons_day > 0 ? (double)np - s->day.tokens : 0;
    double shortage = hs > ds ? hs : ds;
    uint64_t left = bonus > s->bonus_used ? bonus - s->bonus_used : 0;
    unsigned wait = 0;
    if (np == 0) {
        return 0;
    }
    if (shortage > 0 && (double)left < shortage) {
        if (hs > 0) {
            wait = bucket_wait(&s->hour, l->persons_hour / 3600, np);
        }
        if (ds > 0) {
            unsigned w = bucket_wait(&s->day, l->persons_day / 86400, np);
            wait = w > wait ? w : wait;
        }
        return wait;
    }
    if (shortage > 0) { /* the approval pays what the buckets lack */
        uint64_t paid = (uint64_t)shortage;
        s->bonus_used += (double)paid < shortage ? paid + 1 : paid;
    }
    s->hour.tokens -= l->persons_hour > 0 ? np : 0;
    s->day.tokens -= l->persons_day > 0 ? np : 0;
    s->hour.tokens = s->hour.tokens < 0 ? 0 : s->hour.tokens;
    s->day.tokens = s->day.tokens < 0 ? 0 : s->day.tokens;
    return 0;
}

/* The thresholds and quotas, with the slot locked; ${bonus}: persons the
 * granted bulk_read approvals add to both, until ${until}. */
static void
judge(struct guard *g, struct gslot *s, const struct srv_resp *r,
      uint64_t bonus, int64_t until, struct verdict *v)
{
    const struct guard_limits *l = &s->lim;
    double now = g->now();
    bonus_update(s, bonus, until, now);
    uint64_t bulk = l->bulk_threshold;
    bulk += bulk ? bulk_extra(s, bonus, now) : 0;
    bulk = bulk > UINT32_MAX ? UINT32_MAX : bulk;
    win_expire(&s->listed, now, l->window);
    win_expire(&s->personal, now, l->window);
    uint32_t nl = count_new(&s->listed, r);
    uint32_t np = r->disclosed_personal ? count_new(&s->personal, r) : 0;
    if (l->list_threshold && s->listed.n + nl > l->list_threshold) {
        *v = (struct verdict){WHY_LIST, 0, s->listed.n + nl, l->list_threshold};
        return;
    }
    if (bulk && s->personal.n + np > bulk) {
        *v = (struct verdict){WHY_BULK, 0, s->personal.n + np, (uint32_t)bulk};
        return;
    }
    bucket_fill(&s->hour, l->persons_hour / 3600, l->persons_hour, now);
    bucket_fill(&s->day, l->persons_day / 86400, l->persons_day, now);
    v->wait = take_quota(s, np, bonus);
    if (v->wait) {
        s->limited++;
        return;
    }
    for (size_t i = 0; i < r->ndisclosed && v->why < 0; i++) {
        if (win_touch(&s->listed, r->disclosed[i], now,
                      cap_of(l->list_threshold)) != 0 ||
            (r->disclosed_personal &&
             win_touch(&s->personal, r->disclosed[i], now,
                       cap_of((uint32_t)bulk)) != 0)) {
            *v = (struct verdict){WHY_FULL, 0, s->listed.n, 0};
        }
    }
}

static int
why_of(const char *reason)
{
    for (int w = 0; w < 4; w++) {
        if (strcmp(reason, why_names[w]) == 0) {
            return w;
        }
    }
    return WHY_FULL;
}

/* The shared judge (guard_set_shared): the thresholds and quotas of every
 * process at once, in one round trip; the approvals' bonus is accounted
 * here, with the slot locked around the local part only. ${v->why} >= 0
 * on entry: suspend for that reason. 0, or -1 when the database did not
 * answer (nothing may be disclosed then). */
static int
judge_shared(struct guard *g, struct gslot *s, const struct srv_resp *r,
             uint64_t bonus, int64_t until, struct verdict *v)
{
    struct coffre_guard_verdict out;
    pthread_mutex_lock(&s->lock);
    double now = g->now();
    bonus_update(s, bonus, until, now);
    uint64_t bulk = s->lim.bulk_threshold;
    bulk += bulk ? bulk_extra(s, bonus, now) : 0;
    struct coffre_guard_ask ask = {s->who->name,
                                   r->disclosed,
                                   r->ndisclosed,
                                   r->disclosed_personal,
                                   v->why >= 0 ? why_names[v->why] : NULL,
                                   s->lim.list_threshold,
                                   bulk,
                                   s->lim.window,
                                   s->lim.persons_hour,
                                   s->lim.persons_day,
                                   bonus > s->bonus_used ? bonus - s->bonus_used
                                                         : 0};
    pthread_mutex_unlock(&s->lock);
    if (g->sh->observe(g->shared, &ask, &out) != COFFRE_OK) {
        __atomic_add_fetch(&g->shared_fail, 1, __ATOMIC_RELAXED);
        srv_log(SRV_LOG_ERR, "guard", "guard: shared state: %s",
                g->sh->errmsg(g->shared));
        return -1;
    }
    pthread_mutex_lock(&s->lock);
    if (out.reason[0] != '\0') {
        v->why = why_of(out.reason);
        v->seen = (uint32_t)(out.seen > UINT32_MAX ? UINT32_MAX : out.seen);
        v->threshold =
            (uint32_t)(out.threshold > UINT32_MAX ? UINT32_MAX : out.threshold);
        s->suspended = 1;
        s->since = out.since;
        snprintf(s->reason, sizeof(s->reason), "%s", out.reason);
    } else if (out.wait > 0) {
        v->wait = out.wait;
        s->limited++;
    } else {
        s->bonus_used += out.paid;
    }
    pthread_mutex_unlock(&s->lock);
    return out.reason[0] != '\0' && !out.fresh; /* 1: suspended before */
}

/* guard_observe with the shared state. */
static void
observe_shared(struct guard *g, struct gslot *s, struct srv_resp *r,
               uint64_t bonus, int64_t until, struct verdict *v)
{
    int already = judge_shared(g, s, r, bonus, until, v);
    if (already < 0) {
        srv_resp_free(r);
        r->classes = 0;
        srv_error(r, 503, "guard_unavailable",
                  "the guard's shared state cannot be reached; retry later");
        return;
    }
    if (v->why >= 0) {
        answer_suspended(r, s);
        if (!already) {
            r->action = "guard.suspend"; /* the audit entry (audit.c) */
            raise_alert(g, s, v->why, v->seen, v->threshold, s->lim.window);
        }
    } else if (v->wait) {
        srv_resp_free(r);
        r->classes = 0;
        r->retry_after = v->wait;
        srv_error(r, 429, "quota_exceeded",
                  "persons quota of %s exhausted; retry after %u s",
                  s->who->name, v->wait);
    }
}

void
guard_observe(struct guard *g, const struct srv_principal *who,
              struct srv_resp *r)
{
    struct gslot *s = g != NULL ? slot_of(g, who) : NULL;
    struct verdict v = {-1, 0, 0, 0};
    if (s == NULL || (r->ndisclosed == 0 && !r->disclosed_over)) {
        return;
    }
    for (size_t i = 0; i < r->ndisclosed && v.why < 0; i++) {
        if (guard_is_poison(g, r->disclosed[i])) {
            v = (struct verdict){WHY_POISON, 0, 1, 0};
        }
    }
    v.why = v.why < 0 && r->disclosed_over ? WHY_FULL : v.why;
    /* A refusal discloses nothing: only a poison record's touch counts. */
    if (v.why < 0 && r->status >= 300) {
        return;
    }
    /* Asked before the slot lock: the callback takes its own. */
    int64_t until = 0;
    uint64_t bonus = g->bonus ? g->bonus(g->bonus_arg, who->name, &until) : 0;
    if (g->shared != NULL) {
        observe_shared(g, s, r, bonus, until, &v);
        return;
    }
    pthread_mutex_lock(&s->lock);
    int already = s->suspended;
    if (!already && v.why < 0) {
        judge(g, s, r, bonus, until, &v);
    }
    if (!already && v.why >= 0) {
        s->suspended = 1;
        s->since = (int64_t)time(NULL);
        snprintf(s->reason, sizeof(s->reason), "%s", why_names[v.why]);
    }
    pthread_mutex_unlock(&s->lock);
    if (already || v.why >= 0) {
        answer_suspended(r, s);
        if (!already) {
            r->action = "guard.suspend"; /* the audit entry (audit.c) */
            raise_alert(g, s, v.why, v.seen, v.threshold, s->lim.window);
        }
    } else if (v.wait) {
        srv_resp_free(r);
        r->classes = 0;
        r->retry_after = v.wait;
        srv_error(r, 429, "quota_exceeded",
                  "persons quota of %s exhausted; retry after %u s", who->name,
                  v.wait);
    }
}

/* ---- custodians, admins ------------------------------------------- */

static int
slot_named(const struct gslot *s, const char *name)
{
    unsigned char fp[32];
    if (strcmp(s->who->name, name) == 0) {
        return 1;
    }
    return s->who->has_fingerprint && strlen(name) >= 64 &&
           srv_hex_decode(name, fp, 32) == COFFRE_OK &&
           sodium_memcmp(fp, s->who->fingerprint, 32) == 0;
}

int
guard_reinstate(struct guard *g, const char *name, int *pfound)
{
    *pfound = 0;
    for (size_t i = 0; g != NULL && i < g->n; i++) {
        struct gslot *s = &g->slots[i];
        int lifted = 0;
        if (!slot_named(s, name)) {
            continue;
        }
        /* Shared: the database says whether it was suspended, for every
         * process; the others see it lifted at their next poll. */
        if (g->shared != NULL &&
            g->sh->reinstate(g->shared, s->who->name, &lifted) != COFFRE_OK) {
            srv_log(SRV_LOG_ERR, "guard", "guard: shared state: %s",
                    g->sh->errmsg(g->shared));
            return COFFRE_ERR_UNAVAILABLE;
        }
        pthread_mutex_lock(&s->lock);
        if (g->shared != NULL) {
            s->suspended = lifted;
            s->shared_personal = s->shared_listed = 0;
        }
        *pfound = s->suspended;
        /* A fresh start: the window that tripped would trip again. Only
         * for a suspended principal: wiping a running one's windows
         * would let it read past its threshold, and the caller is told
         * 404, nothing done. */
        if (s->suspended) {
            s->suspended = 0;
            s->reason[0] = '\0';
            win_free(&s->personal);
            win_free(&s->listed);
            win_init(&s->personal);
            win_init(&s->listed);
        }
        pthread_mutex_unlock(&s->lock);
        if (*pfound) {
            pthread_mutex_lock(&g->alock);
            save_state(g);
            pthread_mutex_unlock(&g->alock);
        }
        return COFFRE_OK;
    }
    return COFFRE_OK;
}

int
guard_suspended(struct guard *g, const char *name)
{
    int on = 0;
    for (size_t i = 0; g != NULL && i < g->n; i++) {
        if (strcmp(g->slots[i].who->name, name) == 0) {
            pthread_mutex_lock(&g->slots[i].lock);
            on = g->slots[i].suspended;
            pthread_mutex_unlock(&g->slots[i].lock);
        }
    }
    return on;
}

static json_t *
slot_json(struct guard *g, struct gslot *s)
{
    char when[32] = "";
    pthread_mutex_lock(&s->lock);
    double now = g->now();
    win_expire(&s->listed, now, s->lim.window);
    win_expire(&s->personal, now, s->lim.window);
    if (s->suspended) {
        iso_time(s->since, when);
    }
    json_t *o = json_pack(
        "{s:s,s:s,s:b,s:s*,s:s*,s:I,s:I,s:I,s:I,s:I}", "name", s->who->name,
        "role", srv_role_name(s->who->role), "suspended", s->suspended, "since",
        s->suspended ? when : NULL, "reason", s->suspended ? s->reason : NULL,
        "persons_in_window",
        (json_int_t)(g->shared ? s->shared_personal : s->personal.n),
        "listed_in_window",
        (json_int_t)(g->shared ? s->shared_listed : s->listed.n),
        "bulk_threshold", (json_int_t)s->lim.bulk_threshold, "list_threshold",
        (json_int_t)s->lim.list_threshold, "limited", (json_int_t)s->limited);
    pthread_mutex_unlock(&s->lock);
    return o;
}

/* What is left of ${limit} when ${used} is spent: null when the limit
 * is off (0), never below 0. */
static json_t *
left_of(double limit, double used)
{
    if (limit <= 0) {
        return json_null();
    }
    return json_integer(used >= limit ? 0 : (json_int_t)(limit - used));
}

json_t *
guard_self(struct guard *g, const struct srv_principal *who)
{
    struct gslot *s = g != NULL ? slot_of(g, who) : NULL;
    char when[32] = "";
    if (s == NULL) {
        return json_pack("{s:b}", "enabled", 0);
    }
    /* Asked before the slot lock, as guard_observe does. */
    int64_t until = 0;
    uint64_t bonus = g->bonus ? g->bonus(g->bonus_arg, who->name, &until) : 0;
    /* Shared (PostgreSQL): the windows of every process, read now rather
     * than as of the last poll, so the budget shown is the one judged. */
    if (g->shared != NULL) {
        (void)guard_poll(g);
    }
    pthread_mutex_lock(&s->lock);
    const struct guard_limits *l = &s->lim;
    double now = g->now();
    win_expire(&s->listed, now, l->window);
    win_expire(&s->personal, now, l->window);
    bucket_fill(&s->hour, l->persons_hour / 3600, l->persons_hour, now);
    bucket_fill(&s->day, l->persons_day / 86400, l->persons_day, now);
    uint64_t bulk = l->bulk_threshold;
    bulk += bulk ? bulk_extra(s, bonus, now) : 0;
    if (s->suspended) {
        iso_time(s->since, when);
    }
    uint64_t personal = g->shared ? s->shared_personal : s->personal.n;
    uint64_t listed = g->shared ? s->shared_listed : s->listed.n;
    json_t *o = json_pack(
        "{s:b,s:f,s:I,s:o,s:o,s:I,s:o,s:o,s:{s:o,s:o},s:{s:o,s:o},s:I,s:b,"
        "s:s*,s:s*}",
        "enabled", 1, "window_seconds", l->window, "persons_in_window",
        (json_int_t)personal, "bulk_threshold",
        bulk ? json_integer((json_int_t)bulk) : json_null(), "remaining",
        left_of((double)bulk, (double)personal), "listed_in_window",
        (json_int_t)listed, "list_threshold",
        l->list_threshold ? json_integer((json_int_t)l->list_threshold)
                          : json_null(),
        "list_remaining", left_of((double)l->list_threshold, (double)listed),
        "persons_hour", "limit",
        l->persons_hour > 0 ? json_real(l->persons_hour) : json_null(),
        "remaining", left_of(l->persons_hour, l->persons_hour - s->hour.tokens),
        "persons_day", "limit",
        l->persons_day > 0 ? json_real(l->persons_day) : json_null(),
        "remaining", left_of(l->persons_day, l->persons_day - s->day.tokens),
        "approved_extra", (json_int_t)bonus, "suspended", s->suspended, "since",
        s->suspended ? when : NULL, "reason", s->suspended ? s->reason : NULL);
    pthread_mutex_unlock(&s->lock);
    return o;
}

json_t *
guard_status(struct guard *g)
{
    if (g == NULL) {
        return json_pack("{s:b}", "enabled", 0);
    }
    json_t *ps = json_array();
    for (size_t i = 0; i < g->n; i++) {
        json_array_append_new(ps, slot_json(g, &g->slots[i]));
    }
    pthread_mutex_lock(&g->alock);
    json_t *alerts = json_deep_copy(g->alerts);
    pthread_mutex_unlock(&g->alock);
    return json_pack("{s:b,s:o,s:o}", "enabled", 1, "principals", ps, "alerts",
                     alerts);
}

void
guard_metrics(struct guard *g, FILE *f)
{
    if (g == NULL) {
        return;
    }
    fprintf(f, "# HELP coffre_guard_suspended 1 while the principal is "
               "suspended\n# TYPE coffre_guard_suspended gauge\n");
    for (size_t i = 0; i < g->n; i++) {
        fprintf(f, "coffre_guard_suspended{principal=\"%s\"} %d\n",
                g->slots[i].who->name,
                guard_suspended(g, g->slots[i].who->name));
    }
    fprintf(f, "# HELP coffre_guard_suspensions_total principals suspended\n"
               "# TYPE coffre_guard_suspensions_total counter\n");
    pthread_mutex_lock(&g->alock);
    for (int w = 0; w < 4; w++) {
        fprintf(f, "coffre_guard_suspensions_total{reason=\"%s\"} %llu\n",
                why_names[w], (unsigned long long)g->nalerts[w]);
    }
    fprintf(f,
            "# HELP coffre_guard_alerts_dropped_total alert commands not "
            "started\n# TYPE coffre_guard_alerts_dropped_total counter\n"
            "coffre_guard_alerts_dropped_total %llu\n"
            "# HELP coffre_guard_state_save_failures_total failed writes of "
            "the state file\n"
            "# TYPE coffre_guard_state_save_failures_total counter\n"
            "coffre_guard_state_save_failures_total %llu\n",
            (unsigned long long)g->dropped, (unsigned long long)g->saved_fail);
    pthread_mutex_unlock(&g->alock);
    uint64_t limited = 0;
    for (size_t i = 0; i < g->n; i++) {
        limited += g->slots[i].limited; /* a monotonic counter; races only
                                           lose a recent increment */
    }
    fprintf(f,
            "# HELP coffre_guard_limited_total answers 429 (rate, quota)\n"
            "# TYPE coffre_guard_limited_total counter\n"
            "coffre_guard_limited_total %llu\n",
            (unsigned long long)limited);
}

/* One principal of the shared state into its slot. */
static void
poll_one(void *arg, const struct coffre_guard_principal *p)
{
    struct guard *g = arg;
    for (size_t i = 0; i < g->n; i++) {
        struct gslot *s = &g->slots[i];
        if (strcmp(s->who->name, p->name) != 0) {
            continue;
        }
        pthread_mutex_lock(&s->lock);
        s->suspended = p->suspended;
        s->since = p->suspended ? p->since : 0;
        snprintf(s->reason, sizeof(s->reason), "%s",
                 p->suspended ? p->reason : "");
        s->shared_personal = p->personal;
        s->shared_listed = p->listed;
        pthread_mutex_unlock(&s->lock);
    }
}

void
guard_set_shared(struct guard *g, const struct guard_shared_ops *ops, void *gs)
{
    g->sh = ops;
    g->shared = gs;
    guard_poll(g);
}

int
guard_poll(struct guard *g)
{
    if (g == NULL || g->shared == NULL) {
        return COFFRE_OK;
    }
    int rc = g->sh->list(g->shared, poll_one, g);
    if (rc != COFFRE_OK) {
        srv_log(SRV_LOG_ERR, "guard", "guard: shared state: %s",
                g->sh->errmsg(g->shared));
    }
    return rc;
}

void
guard_tick(struct guard *g)
{
    if (g == NULL) {
        return;
    }
    (void)guard_poll(g);
    double now = real_now();
    pthread_mutex_lock(&g->alock);
    for (size_t i = 0; i < CHILDREN_MAX; i++) {
        struct alert_child *k = &g->kids[i];
        if (k->pid <= 0) {
            continue;
        }
        if (waitpid(k->pid, NULL, WNOHANG) == k->pid) {
            k->pid = 0;
        } else if (now - k->started > g->gc->alert_timeout_ms / 1000.0) {
            kill(k->pid, SIGKILL);
            waitpid(k->pid, NULL, 0);
            k->pid = 0;
        }
    }
    pthread_mutex_unlock(&g->alock);
}

/* ---- routes -------------------------------------------------------- */

void
guard_api_status(struct srv_ctx *ctx, struct srv_resp *r)
{
    srv_json(r, 200, guard_status(srv_guard(ctx)));
}

void
guard_api_reinstate(struct srv_ctx *ctx, const struct srv_req *req,
                    struct srv_resp *r)
{
    json_t *o =
        json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
    const char *name = json_string_value(json_object_get(o, "principal"));
    int found = 0;
    if (name == NULL || json_object_size(o) != 1 || strlen(name) > 3 * 32) {
        srv_error(r, 400, "bad_request",
                  "the body is {\"principal\": NAME or FINGERPRINT}");
    } else if (srv_guard(ctx) == NULL) {
        srv_error(r, 409, "conflict", "the guard is off");
    } else if (guard_reinstate(srv_guard(ctx), name, &found) != COFFRE_OK) {
        srv_error(r, 503, "guard_unavailable",
                  "the guard's shared state cannot be reached; retry later");
    } else if (!found) {
        srv_error(r, 404, "not_found", "no suspended principal %s", name);
    } else {
        srv_log(SRV_LOG_INFO, "guard", "guard: %s reinstated by %s", name,
                req->who->name);
        srv_json(r, 200,
                 json_pack("{s:s,s:b}", "principal", name, "reinstated", 1));
    }
    json_decref(o);
}
