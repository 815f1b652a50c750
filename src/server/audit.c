/*
 * The server's side of the audit log (DESIGN section 5, docs/audit.md):
 * which routes make an entry and what it says, the fail-closed hook that
 * makes the entry durable before the answer leaves, the auditor's routes
 * (key, checkpoint, proofs, entries) and the log's metrics.
 *
 * An entry names the caller's pseudonym of the person, never a personal
 * value: handlers report it, the classes and the purpose through struct
 * srv_resp, and the hook copies nothing else from the request.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "coffre/audit.h"
#include "guard.h"
#include "server.h"

struct coffre_audit *
srv_audit_get(struct srv_ctx *ctx)
{
    /* Set once by srv_audit_start while other threads serve requests. */
    return __atomic_load_n(&ctx->audit, __ATOMIC_ACQUIRE);
}

/* The verifier key as a file, for the development mode's users. */
static void
write_vkey(const char *path, const char *vkey)
{
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fprintf(f, "%s\n", vkey);
        fclose(f);
    }
}

int
srv_audit_start(struct srv_ctx *ctx, char *err, size_t errlen)
{
    char dir[SRV_PATH_MAX + 8];
    struct coffre_audit *a = NULL;
    int rc = COFFRE_OK;
    snprintf(err, errlen, "ok");
    pthread_mutex_lock(&ctx->audit_lock);
    if (ctx->audit != NULL || coffre_vault_is_sealed(ctx->vault)) {
        goto out;
    }
    const struct srv_config *c = srv_cfg(ctx);
    if (c->audit_dir[0] != '\0') {
        snprintf(dir, sizeof(dir), "%s", c->audit_dir);
    } else {
        snprintf(dir, sizeof(dir), "%s/audit", c->data_dir);
    }
    rc = coffre_audit_open(ctx->vault, dir,
                           c->audit_origin[0] ? c->audit_origin : NULL, &a);
    if (rc != COFFRE_OK) {
        snprintf(err, errlen, "%s: %s (%s)", dir, coffre_strerror(rc),
                 coffre_audit_open_errmsg());
        goto out;
    }
    if (coffre_audit_open_errmsg()[0] != '\0') {
        /* What the open cut (a torn tail): the operator should know. */
        srv_log(SRV_LOG_WARNING, "audit", "audit log: %s",
                coffre_audit_open_errmsg());
    }
    if (ctx->audit_vkey_path != NULL) {
        write_vkey(ctx->audit_vkey_path, coffre_audit_verifier_key(a));
    }
    __atomic_store_n(&ctx->audit, a, __ATOMIC_RELEASE);
out:
    pthread_mutex_unlock(&ctx->audit_lock);
    return rc;
}

void
srv_audit_stop(struct srv_ctx *ctx)
{
    pthread_mutex_lock(&ctx->audit_lock);
    coffre_audit_close(ctx->audit);
    __atomic_store_n(&ctx->audit, NULL, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&ctx->audit_lock);
}

/* An outcome code must fit the entry's domain: [a-z0-9_-]{1,32}. */
static const char *
outcome_of(const struct srv_resp *r)
{
    const char *c = r->code;
    if (r->status < 400) {
        return "ok";
    }
    if (c == NULL || *c == '\0' || strlen(c) > COFFRE_AUDIT_MAX_OUTCOME ||
        strspn(c, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(c)) {
        return "error";
    }
    return c;
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The entry of one answered request: no personal value goes in. */
static void
build_entry(const char *action, const struct srv_req *req, const char *param,
            const struct srv_resp *r, struct coffre_audit_entry *e)
{
    const struct srv_principal *who = req->who;
    const char *purpose = r->purpose ? r->purpose : srv_query(req, "purpose");
    memset(e, 0, sizeof(*e));
    e->time_ms = now_ms();
    if (who->has_fingerprint) {
        sodium_bin2hex(e->principal, sizeof(e->principal), who->fingerprint,
                       32);
    }
    snprintf(e->role, sizeof(e->role), "%s", srv_role_name(who->role));
    snprintf(e->action, sizeof(e->action), "%s",
             r->action ? r->action : action);
    snprintf(e->pseudonym, sizeof(e->pseudonym), "%s",
             r->pseudonym[0] ? r->pseudonym : param);
    /* A refusal discloses nothing, whatever a handler noted before. */
    e->classes = r->status < 300 ? r->classes : 0;
    if (coffre_audit_set_purpose(e, purpose) != COFFRE_OK) {
        (void)coffre_audit_set_purpose(e, "(invalid purpose)");
    }
    e->status = r->status;
    snprintf(e->outcome, sizeof(e->outcome), "%s", outcome_of(r));
}

void
srv_audit_refuse(struct srv_resp *r)
{
    srv_resp_free(r);
    r->allow = NULL;
    r->classes = 0;
    srv_error(r, 503, "audit_unavailable",
              "the audit log cannot record this request; nothing was "
              "disclosed or written");
}

void
srv_audit_after(struct srv_ctx *ctx, size_t route, const struct srv_req *req,
                const char *param, struct srv_resp *r)
{
    char err[2048];
    const char *action = srv_route_action(route);
    if (action == NULL || req->who == NULL) {
        return;
    }
    struct coffre_audit *a = srv_audit_get(ctx);
    if (a == NULL && !coffre_vault_is_sealed(ctx->vault)) {
        /* The unseal that completed the threshold opens the log. */
        if (srv_audit_start(ctx, err, sizeof(err)) != COFFRE_OK) {
            /* The operator must learn why everything is refused. */
            srv_log(SRV_LOG_ERR, "audit", "audit log: %s", err);
        }
        a = srv_audit_get(ctx);
    }
    if (a == NULL) {
        /* Sealed: nothing could be disclosed, and no log to write to
         * (unseal steps before the threshold). Unsealed without a log:
         * fail closed. */
        if (!coffre_vault_is_sealed(ctx->vault)) {
            srv_audit_refuse(r);
        }
        return;
    }
    /* A write that succeeded made the request's entry itself, durable
     * before it committed; an answer other than that success (a guard
     * suspension, a later failure) is an entry of its own. */
    if (r->audit_written && r->status < 300 && r->action == NULL &&
        strcmp(r->written_action, action) == 0) {
        return;
    }
    struct coffre_audit_entry e;
    build_entry(action, req, param, r, &e);
    if (!req->audit_async) {
        if (coffre_audit_record(a, &e, &r->audit_index) != COFFRE_OK) {
            srv_audit_refuse(r);
        } else {
            r->audit_indexed = 1;
        }
    } else if (coffre_audit_append(a, &e, &r->audit_index) == COFFRE_OK) {
        r->audit_pending = 1; /* http.c waits before the answer leaves */
        r->audit_indexed = 1;
    } else {
        srv_audit_refuse(r);
    }
}

/* ---- the vault's audit hook -------------------------------------- */

static _Thread_local struct srv_call *current_call;

struct srv_call *
srv_call_set(struct srv_call *c)
{
    struct srv_call *prev = current_call;
    current_call = c;
    return prev;
}

/* The entry of a write the vault is about to commit, in the name of
 * ${who} (NULL: the server itself), as the request will be answered if
 * it commits. A batch names no person: its size goes with the purpose. */
static int
write_entry(struct srv_ctx *ctx, const struct srv_principal *who,
            const char *purpose, const struct coffre_event *ev,
            struct coffre_audit_entry *e)
{
    int rc = coffre_audit_event_entry(
        ctx->vault, ev, who ? who->audience : "server", purpose, e);
    if (who != NULL && who->has_fingerprint) {
        sodium_bin2hex(e->principal, sizeof(e->principal), who->fingerprint,
                       32);
    }
    snprintf(e->role, sizeof(e->role), "%s",
             who ? srv_role_name(who->role) : "server");
    return rc;
}

static int
record_write(struct srv_ctx *ctx, struct srv_call *c,
             const struct coffre_event *ev, uint64_t *pindex)
{
    struct coffre_audit *a = srv_audit_get(ctx);
    struct coffre_audit_entry e;
    const struct srv_principal *who = c ? c->req->who : NULL;
    const char *purpose = NULL;
    if (c != NULL) {
        purpose = c->r->purpose ? c->r->purpose : srv_query(c->req, "purpose");
    }
    int rc = a == NULL ? COFFRE_ERR_UNAVAILABLE
                       : write_entry(ctx, who, purpose, ev, &e);
    uint64_t index = 0;
    if (rc == COFFRE_OK) {
        rc = coffre_audit_record(a, &e, &index);
    }
    if (rc == COFFRE_OK && pindex != NULL) {
        *pindex = index;
    }
    if (rc == COFFRE_OK && c != NULL && !ev->aborted) {
        c->r->audit_written = 1;
        c->r->written_action = ev->action;
        c->r->audit_index = index; /* the log line names it */
        c->r->audit_indexed = 1;
    }
    return rc;
}

/* A disclosure while serving ${c}: of classes the principal may read of
 * this record, and counted by the guard. */
static int
judge_disclosure(struct srv_call *c, const struct coffre_event *ev)
{
    const struct srv_principal *who = c->req->who;
    unsigned personal =
        ev->classes & ~(unsigned)COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC);
    if (personal & ~srv_policy_readable(who, ev->is_protected)) {
        return COFFRE_ERR_DENIED;
    }
    /* Who the person is and what they applied for, by lifecycle state.
     * The vetting service's own class aside (its verdict route reads it
     * to find a decided request), and for that service the public class,
     * which the server reads for it (the reason for access, the state)
     * but never answers whole. */
    unsigned about =
        ev->classes & ~(unsigned)COFFRE_CLASS_BIT(COFFRE_CLASS_VETTING);
    if (who->role == SRV_ROLE_VETTING) {
        about &= ~(unsigned)COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC);
    }
    const char *why = about != 0 && ev->state >= 0
                          ? srv_policy_state_denied(who->role, ev->state,
                                                    ev->awaiting_verdict)
                          : NULL;
    if (why != NULL) {
        c->r->denied_why = why;
        return COFFRE_ERR_DENIED;
    }
    if (ev->id != 0) {
        guard_disclose(c->r, ev->id);
        c->r->disclosed_personal |= personal != 0;
    }
    return COFFRE_OK;
}

int
srv_vault_hook(void *arg, const struct coffre_event *ev, uint64_t *pindex)
{
    struct srv_ctx *ctx = arg;
    struct srv_call *c = current_call;
    if (ev == NULL) {
        return COFFRE_OK; /* the vault is closing; the context goes too */
    }
    if (c != NULL && c->ctx != ctx) {
        c = NULL; /* another server's request: not this one's */
    }
    if (ev->aborted || (c == NULL && ev->write)) {
        return record_write(ctx, c, ev, pindex);
    }
    if (c == NULL || c->req->who == NULL ||
        srv_route_action(c->route) == NULL) {
        /* Nothing leaves or changes outside an audited route. */
        return COFFRE_ERR_DENIED;
    }
    return ev->write ? record_write(ctx, c, ev, pindex)
                     : judge_disclosure(c, ev);
}

int
srv_audit_note(struct srv_ctx *ctx, const struct srv_principal *who,
               const char *action, const char *pseudonym, const char *purpose,
               unsigned status, const char *outcome)
{
    struct coffre_audit *a = srv_audit_get(ctx);
    struct coffre_audit_entry e;
    if (a == NULL) {
        return COFFRE_ERR_SEALED;
    }
    memset(&e, 0, sizeof(e));
    e.time_ms = now_ms();
    if (who != NULL && who->has_fingerprint) {
        sodium_bin2hex(e.principal, sizeof(e.principal), who->fingerprint, 32);
    }
    snprintf(e.role, sizeof(e.role), "%s",
             who != NULL ? srv_role_name(who->role) : "server");
    snprintf(e.action, sizeof(e.action), "%s", action);
    snprintf(e.pseudonym, sizeof(e.pseudonym), "%s", pseudonym);
    e.status = status;
    snprintf(e.outcome, sizeof(e.outcome), "%s", outcome);
    int rc = coffre_audit_set_purpose(&e, purpose);
    return rc == COFFRE_OK ? coffre_audit_record(a, &e, NULL) : rc;
}

int
srv_audit_unavailable(struct srv_ctx *ctx, char *why, size_t len)
{
    struct coffre_audit *a = srv_audit_get(ctx);
    struct coffre_audit_stats st;
    char when[32] = "?";
    struct tm tm;
    if (a == NULL) {
        if (coffre_vault_is_sealed(ctx->vault)) {
            return 0; /* nothing is served that needs it */
        }
        snprintf(why, len, "audit log not open (the server's log says why)");
        return 1;
    }
    coffre_audit_stats(a, &st);
    if (!st.failed) {
        return 0;
    }
    time_t t = (time_t)(st.failed_since_ms / 1000);
    if (gmtime_r(&t, &tm) != NULL) {
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    snprintf(why, len, "audit log unavailable since %s: %s", when, st.reason);
    return 1;
}

/* ---- metrics ----------------------------------------------------- */

/* The tree size of the latest checkpoint: its note's second line. */
static uint64_t
checkpoint_size(struct coffre_audit *a)
{
    char *note = NULL;
    size_t len = 0;
    uint64_t n = 0;
    if (coffre_audit_checkpoint(a, &note, &len) == COFFRE_OK) {
        const char *nl = memchr(note, '\n', len);
        n = nl ? strtoull(nl + 1, NULL, 10) : 0;
    }
    coffre_free(note);
    return n;
}

void
srv_audit_metrics(struct srv_ctx *ctx, FILE *f)
{
    struct coffre_audit_stats st;
    struct coffre_audit *a = srv_audit_get(ctx);
    memset(&st, 0, sizeof(st));
    uint64_t size = 0;
    if (a != NULL) {
        coffre_audit_stats(a, &st);
        size = checkpoint_size(a);
    }
    fprintf(f,
            "# HELP coffre_audit_entries_total Durable audit entries.\n"
            "# TYPE coffre_audit_entries_total counter\n"
            "coffre_audit_entries_total %" PRIu64 "\n"
            "# HELP coffre_audit_syncs_total Group commits (fdatasync) of the "
            "audit log since start.\n"
            "# TYPE coffre_audit_syncs_total counter\n"
            "coffre_audit_syncs_total %" PRIu64 "\n"
            "# HELP coffre_audit_checkpoint_size Tree size of the latest "
            "signed checkpoint.\n"
            "# TYPE coffre_audit_checkpoint_size gauge\n"
            "coffre_audit_checkpoint_size %" PRIu64 "\n"
            "# HELP coffre_audit_up 1 when the audit log is open and "
            "accepting entries.\n"
            "# TYPE coffre_audit_up gauge\n"
            "coffre_audit_up %d\n"
            "# HELP coffre_audit_recoveries_total Times the audit log "
            "resumed by itself after a write error, since it was opened.\n"
            "# TYPE coffre_audit_recoveries_total counter\n"
            "coffre_audit_recoveries_total %" PRIu64 "\n",
            st.entries, st.syncs, size, a != NULL && !st.failed, st.recoveries);
}

/* ---- the auditor's routes ----------------------------------------- */

/* A decimal argument in [0, 2^63); -1 with a 400 answer. */
static int
u64_arg(const struct srv_req *req, const char *key, struct srv_resp *r,
        uint64_t *pv)
{
    const char *s = srv_query(req, key);
    char *end = NULL;
    if (s == NULL || s[0] < '0' || s[0] > '9' || strlen(s) > 19) {
        srv_error(r, 400, "invalid_argument", "%s: a decimal integer", key);
        return -1;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > INT64_MAX) {
        srv_error(r, 400, "invalid_argument", "%s: a decimal integer", key);
        return -1;
    }
    *pv = (uint64_t)v;
    return 0;
}

/* Answer ${text} as text/plain. */
static void
answer_text(struct srv_resp *r, const char *text, int add_newline)
{
    char *body = NULL;
    if (asprintf(&body, "%s%s", text, add_newline ? "\n" : "") < 0) {
        body = NULL;
    }
    if (body == NULL) {
        srv_error(r, 500, "internal", "out of memory");
        return;
    }
    srv_resp_free(r);
    r->body = body;
    r->status = 200;
    r->ctype = "text/plain; charset=utf-8";
}

/* Answer the JSON text ${json} (coffre_free'd here). */
static void
answer_json(struct srv_resp *r, char *json)
{
    char *body = strdup(json);
    coffre_free(json);
    if (body == NULL) {
        srv_error(r, 500, "internal", "out of memory");
        return;
    }
    srv_resp_free(r);
    r->body = body;
    r->status = 200;
    r->ctype = "application/json";
}

static void
proof_route(struct coffre_audit *a, size_t route, const struct srv_req *req,
            struct srv_resp *r)
{
    unsigned char proof[COFFRE_AUDIT_MAX_PROOF * COFFRE_AUDIT_HASH_LEN];
    size_t n = 0;
    uint64_t x = 0, y = 0;
    char *json = NULL;
    int incl = route == R_AUDIT_INCLUSION;
    if (u64_arg(req, incl ? "index" : "from", r, &x) != 0 ||
        u64_arg(req, incl ? "size" : "to", r, &y) != 0) {
        return;
    }
    int rc = incl ? coffre_audit_inclusion(a, x, y, proof, &n)
                  : coffre_audit_consistency(a, x, y, proof, &n);
    if (rc == COFFRE_ERR_ARG) {
        srv_error(r, 400, "invalid_argument",
                  incl ? "need index < size <= the log's size"
                       : "need 0 < from <= to <= the log's size");
        return;
    }
    if (rc == COFFRE_OK) {
        rc = coffre_audit_proof_json(proof, n, &json);
    }
    if (rc != COFFRE_OK) {
        srv_error(r, 500, "internal", "%s", coffre_strerror(rc));
        return;
    }
    answer_json(r, json);
}

static void
entries_route(struct coffre_audit *a, const struct srv_req *req,
              struct srv_resp *r)
{
    uint64_t start = 0, end = 0;
    char *json = NULL;
    if (u64_arg(req, "start", r, &start) != 0 ||
        u64_arg(req, "end", r, &end) != 0) {
        return;
    }
    int rc = coffre_audit_entries_json(a, start, end, &json);
    if (rc == COFFRE_ERR_ARG) {
        srv_error(r, 400, "invalid_argument", "need start <= end");
        return;
    }
    if (rc != COFFRE_OK) {
        srv_error(r, 500, "internal", "%s", coffre_strerror(rc));
        return;
    }
    answer_json(r, json);
}

void
srv_audit_dispatch(struct srv_ctx *ctx, size_t route, const struct srv_req *req,
                   struct srv_resp *r)
{
    struct coffre_audit *a = srv_audit_get(ctx);
    char *text = NULL;
    if (a == NULL) {
        srv_error(r, 503, "audit_unavailable", "the audit log is not open");
        return;
    }
    switch (route) {
    case R_AUDIT_KEY:
        answer_text(r, coffre_audit_verifier_key(a), 1);
        break;
    case R_AUDIT_CHECKPOINT:
        if (coffre_audit_checkpoint(a, &text, NULL) != COFFRE_OK) {
            srv_error(r, 500, "internal", "no checkpoint");
            return;
        }
        answer_text(r, text, 0);
        coffre_free(text);
        break;
    case R_AUDIT_INCLUSION:
    case R_AUDIT_CONSISTENCY:
        proof_route(a, route, req, r);
        break;
    default:
        entries_route(a, req, r);
        break;
    }
}
