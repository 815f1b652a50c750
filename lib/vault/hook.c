/*
 * The audit hook (docs/audit.md section 13): the one place every
 * disclosure and every write of the library goes through, whichever front
 * end calls it. A write's entry is made durable inside its store
 * transaction, before the commit, and the store records the entry's index
 * (the audit mark) in the same transaction; at the log's open the two are
 * cross-checked, so that a store behind its log (acknowledged writes lost)
 * or a log behind its store is refused.
 *
 * Also here: the data directory's lock, which keeps a second process
 * (a CLI beside a running server) from unsealing the same vault.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "audit/log.h"
#include "coffre/audit.h"
#include "store/store.h"
#include "vault/vault.h"

#define MARK_KEY "audit_mark"

/* Actions of the events; the write ones are those the mark covers. */
static const struct {
    const char *action;
    int write;
} ops[COFFRE_OP__COUNT] = {
    [COFFRE_OP_READ] = {"person.read", 0},
    [COFFRE_OP_FIND] = {"person.search", 0},
    [COFFRE_OP_EXPORT] = {"person.export", 0},
    [COFFRE_OP_CREATE] = {"person.create", 1},
    [COFFRE_OP_IMPORT] = {"person.import", 1},
    [COFFRE_OP_UPDATE] = {"person.update", 1},
    [COFFRE_OP_STATE] = {"person.state", 1},
    [COFFRE_OP_VERDICT] = {"vetting.verdict", 1},
    [COFFRE_OP_ERASE] = {"person.erase", 1},
    [COFFRE_OP_SHRED] = {"person.shred", 1},
    [COFFRE_OP_EPOCH_DESTROY] = {"retention.epoch_destroy", 1},
    [COFFRE_OP_BADGE_ISSUE] = {"badge.issue", 1},
    [COFFRE_OP_BADGE_REVOKE] = {"badge.revoke", 1},
    [COFFRE_OP_KEY_ROTATE] = {"key.rotate", 1},
    [COFFRE_OP_KEY_REWRAP] = {"key.rewrap", 1},
    [COFFRE_OP_KEY_RETIRE] = {"key.retire", 1},
    [COFFRE_OP_POISON] = {"guard.poison_plant", 1},
    [COFFRE_OP_KEY_RESEAL] = {"key.reseal", 1},
};

const char *
coffre_op_action(int op)
{
    return op >= 0 && op < COFFRE_OP__COUNT ? ops[op].action : NULL;
}

int
coffre_action_is_write(const char *action)
{
    for (int i = 0; action != NULL && i < COFFRE_OP__COUNT; i++) {
        if (ops[i].write && strcmp(ops[i].action, action) == 0) {
            return 1;
        }
    }
    return 0;
}

void
coffre_vault_set_audit(struct coffre_vault *v, coffre_audit_fn fn, void *arg)
{
    pthread_mutex_lock(&v->lock);
    v->audit_fn = fn;
    v->audit_arg = arg;
    pthread_mutex_unlock(&v->lock);
}

void
vault_event(struct coffre_event *ev, int op, uint64_t id, unsigned classes)
{
    memset(ev, 0, sizeof(*ev));
    ev->op = op;
    ev->action = coffre_op_action(op);
    ev->id = id;
    ev->count = id != 0;
    ev->classes = classes;
    ev->state = -1;
}

/* Ask the hook about ${ev} (${write}: a write, inside its transaction);
 * with no hook, or its refusal, the reason in v->errmsg. */
static int
call_hook(struct coffre_vault *v, struct coffre_event *ev, int write,
          uint64_t *pindex)
{
    const char *what = write ? "write" : "disclosure";
    int rc;

    if (v->audit_fn == NULL) {
        return vault_fail(v, COFFRE_ERR_DENIED,
                          "no audit log is attached: no %s happens unaudited",
                          what);
    }
    ev->write = write;
    ev->aborted = 0;
    /* A log kept in the store puts a write's entry in its transaction. */
    audit_log_tx(write ? v->store : NULL);
    rc = v->audit_fn(v->audit_arg, ev, pindex);
    audit_log_tx(NULL);
    if (rc == COFFRE_OK) {
        return rc;
    }
    if (rc == COFFRE_ERR_DENIED) {
        return vault_fail(v, rc, "%s refused by the audit policy", what);
    }
    return vault_fail(v, rc == COFFRE_ERR_NOMEM ? rc : COFFRE_ERR_UNAVAILABLE,
                      "the audit log cannot record this %s (%s): nothing "
                      "was %s",
                      what, coffre_strerror(rc),
                      write ? "written" : "disclosed");
}

int
vault_audit_read(struct coffre_vault *v, struct coffre_event *ev)
{
    uint64_t index = 0;

    return call_hook(v, ev, 0, &index);
}

static int
mark_put(struct coffre_vault *v, uint64_t mark)
{
    unsigned char b[8];

    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(mark >> (56 - 8 * i));
    }
    return v->store->ops->meta_put(v->store, MARK_KEY, b, sizeof(b));
}

static int
mark_get(struct coffre_vault *v, uint64_t *pmark)
{
    struct coffre_buf b;
    int rc;

    *pmark = 0;
    coffre_buf_init(&b, 64);
    rc = v->store->ops->meta_get(v->store, MARK_KEY, &b);
    /* COFFRE_ERR_NOTFOUND: a store older than the mark. */
    if (rc == COFFRE_OK && b.len != 8) {
        rc = vault_fail(v, COFFRE_ERR_STORE,
                        "the store's audit mark is "
                        "corrupt");
    } else if (rc == COFFRE_OK) {
        for (int i = 0; i < 8; i++) {
            *pmark = *pmark << 8 | b.p[i];
        }
    }
    coffre_buf_free(&b);
    return rc;
}

int
vault_audit_mark_init(struct coffre_vault *v)
{
    return mark_put(v, 0);
}

int
vault_audit_write(struct coffre_vault *v, struct coffre_event *ev)
{
    uint64_t index = 0;
    int rc = call_hook(v, ev, 1, &index);

    if (rc != COFFRE_OK) {
        return rc;
    }
    if (v->store->ops->audit_append != NULL) {
        /* The log is in the store: the entry is in this transaction, the
         * mark would say nothing more (and one hot row fewer to update
         * per write). store copy sets it when the log leaves for files. */
        return rc;
    }
    rc = mark_put(v, index + 1);
    return rc == COFFRE_OK ? rc : vault_store_fail(v, rc, "audit mark");
}

/* The entry of ${ev} says the write was done: say it was not, and move
 * the mark past both if the store still takes a transaction. */
static void
audit_abort(struct coffre_vault *v, struct coffre_event *ev)
{
    struct coffre_store *s = v->store;
    uint64_t index = 0;

    if (s->ops->audit_append != NULL) {
        return; /* the log is in the store: the entry went with the write */
    }
    ev->aborted = 1;
    if (v->audit_fn(v->audit_arg, ev, &index) == COFFRE_OK &&
        s->ops->begin(s) == COFFRE_OK) {
        if (mark_put(v, index + 1) != COFFRE_OK ||
            s->ops->commit(s) != COFFRE_OK) {
            s->ops->rollback(s);
        }
    }
}

int
vault_audit_commit(struct coffre_vault *v, struct coffre_event *ev)
{
    struct coffre_store *s = v->store;
    int rc = s->ops->commit(s);

    if (rc == COFFRE_OK) {
        return rc;
    }
    vault_store_fail(v, rc, "commit");
    /* A commit whose outcome is unknown may have happened: the entry
     * stays as it is (docs/storage.md section 10). */
    if (!s->commit_unknown) {
        audit_abort(v, ev);
    }
    return rc;
}

/* Forget the epoch keys a rolled-back transaction may have made. */
static void
epochs_rollback(struct coffre_vault *v, unsigned nepochs)
{
    while (v->nepochs > nepochs) {
        vault_epoch_drop(v, v->epochs[v->nepochs - 1].epoch);
    }
}

/* One attempt: *${pretry} set if it failed in a way that certainly left
 * nothing behind in the store and may be run again. */
static int
tx_audited_once(struct coffre_vault *v, struct coffre_event *ev,
                int (*fn)(struct coffre_vault *, void *), void *arg,
                int *pretry)
{
    struct coffre_store *s = v->store;
    unsigned nepochs = v->nepochs;
    uint64_t index = 0;
    int rc = s->ops->begin(s);

    *pretry = 0;
    if (rc != COFFRE_OK) {
        *pretry = rc == COFFRE_ERR_UNAVAILABLE && s->retry;
        return vault_store_fail(v, rc, "begin");
    }
    rc = fn(v, arg);
    if (rc == COFFRE_OK) {
        rc = call_hook(v, ev, 1, &index);
        if (rc != COFFRE_OK) {
            s->ops->rollback(s);
            epochs_rollback(v, nepochs);
            return rc; /* the audit log's own failure: not retried here */
        }
        /* With the log in the store the entry is in this transaction:
         * no mark (vault_audit_write). */
        rc = s->ops->audit_append != NULL ? COFFRE_OK : mark_put(v, index + 1);
        if (rc == COFFRE_OK) {
            rc = vault_audit_commit(v, ev);
            *pretry = rc != COFFRE_OK && s->retry;
            if (rc != COFFRE_OK && !s->commit_unknown) {
                epochs_rollback(v, nepochs);
            }
            return rc;
        }
        vault_store_fail(v, rc, "audit mark");
        s->ops->rollback(s);
        audit_abort(v, ev);
    } else {
        s->ops->rollback(s);
    }
    epochs_rollback(v, nepochs);
    *pretry = rc == COFFRE_ERR_UNAVAILABLE && s->retry;
    return rc;
}

/*
 * A transaction the store rolled back (a serialization failure, or a
 * connection lost and regained: store.h retry) is run again, at most
 * TX_ATTEMPTS times in all; a commit whose outcome is unknown never is.
 */
#define TX_ATTEMPTS 3

int
vault_tx_audited(struct coffre_vault *v, struct coffre_event *ev,
                 int (*fn)(struct coffre_vault *, void *), void *arg)
{
    int rc, retry = 0;

    for (int i = 0; i < TX_ATTEMPTS; i++) {
        rc = tx_audited_once(v, ev, fn, arg, &retry);
        if (rc == COFFRE_OK || !retry) {
            break;
        }
        ev->aborted = 0;
    }
    return rc;
}

int
vault_in_tx_audited(struct coffre_vault *v, struct coffre_event *ev,
                    int (*fn)(struct coffre_vault *, void *), void *arg)
{
    int rc;

    pthread_mutex_lock(&v->lock);
    rc = vault_check_unsealed(v);
    if (rc == COFFRE_OK) {
        rc = vault_tx_audited(v, ev, fn, arg);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The data directory's lock.                                          */

/* The pid written in the lock file by its holder, or 0. */
static long
lock_holder(int fd)
{
    char b[32];
    ssize_t n = pread(fd, b, sizeof(b) - 1, 0);

    if (n <= 0) {
        return 0;
    }
    b[n] = '\0';
    return strtol(b, NULL, 10);
}

int
vault_dir_lock(struct coffre_vault *v)
{
    char path[4096], pid[32];
    int fd, n;

    if (v->dir == NULL || v->lock_fd >= 0) {
        return COFFRE_OK;
    }
    n = snprintf(path, sizeof(path), "%s/%s", v->dir, VAULT_LOCK_NAME);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        return vault_fail(v, COFFRE_ERR_ARG, "path too long: %s", v->dir);
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return vault_fail(v, COFFRE_ERR_IO, "cannot open %s: %s", path,
                          strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        long holder = lock_holder(fd);

        close(fd);
        return vault_fail(v, COFFRE_ERR_INUSE,
                          "the vault in %s is unsealed by another process "
                          "(pid %ld: a running coffre server?); stop it, or "
                          "go through its API",
                          v->dir, holder);
    }
    n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        close(fd);
        return vault_fail(v, COFFRE_ERR_IO, "cannot write %s", path);
    }
    v->lock_fd = fd;
    return COFFRE_OK;
}

void
vault_dir_unlock(struct coffre_vault *v)
{
    if (v->lock_fd >= 0) {
        close(v->lock_fd); /* releases the flock */
        v->lock_fd = -1;
    }
}

/* ------------------------------------------------------------------ */
/* The cross-check of the store and its log at open.                   */

struct mark_scan {
    uint64_t writes, first, last;
    struct coffre_audit_entry last_entry;
};

/* The write entries that answered success in [from, n). */
static int
scan_writes(struct coffre_audit *a, uint64_t from, uint64_t n,
            struct mark_scan *ms)
{
    unsigned char b[COFFRE_AUDIT_ENTRY_MAX];
    struct coffre_audit_entry e;
    size_t len = 0;

    memset(ms, 0, sizeof(*ms));
    for (uint64_t i = from; i < n; i++) {
        if (coffre_audit_entry_bytes(a, i, b, &len) != COFFRE_OK ||
            coffre_audit_entry_parse(b, len, &e) != COFFRE_OK) {
            return COFFRE_ERR_IO;
        }
        if (e.status < 300 && coffre_action_is_write(e.action)) {
            ms->first = ms->writes++ == 0 ? i : ms->first;
            ms->last = i;
            ms->last_entry = e;
        }
    }
    return COFFRE_OK;
}

/* One write entry with no commit behind it: note it, move the mark. */
static int
note_uncommitted(struct coffre_vault *v, struct coffre_audit *a,
                 const struct mark_scan *ms, char *msg, size_t cap)
{
    struct coffre_audit_entry e;
    struct coffre_store *s = v->store;
    char why[COFFRE_AUDIT_MAX_PURPOSE + 1];
    uint64_t index = 0;
    int rc;

    memset(&e, 0, sizeof(e));
    e.time_ms = ms->last_entry.time_ms; /* never before the write's own */
    snprintf(e.role, sizeof(e.role), "vault");
    snprintf(e.action, sizeof(e.action), "store.recover");
    memcpy(e.pseudonym, ms->last_entry.pseudonym, sizeof(e.pseudonym));
    snprintf(why, sizeof(why),
             "entry %" PRIu64 " (%s) was never committed: the process "
             "stopped between its entry and its commit",
             ms->last, ms->last_entry.action);
    (void)coffre_audit_set_purpose(&e, why);
    e.status = 500;
    snprintf(e.outcome, sizeof(e.outcome), "not_committed");
    rc = coffre_audit_record(a, &e, &index);
    if (rc == COFFRE_OK) {
        rc = s->ops->begin(s);
    }
    if (rc == COFFRE_OK) {
        rc = mark_put(v, index + 1);
        rc = rc == COFFRE_OK ? s->ops->commit(s) : rc;
        if (rc != COFFRE_OK) {
            s->ops->rollback(s);
        }
    }
    snprintf(msg, cap, "%s", why);
    return rc;
}

/* ------------------------------------------------------------------ */
/* A store restored from a backup (docs/operations.md section 2).     */

void
coffre_vault_accept_rollback(struct coffre_vault *v)
{
    pthread_mutex_lock(&v->lock);
    v->accept_rollback = 1;
    pthread_mutex_unlock(&v->lock);
}

/* Whether the store was restored and not yet reconciled with its log. */
static int
restored_get(struct coffre_vault *v, int *prestored)
{
    struct coffre_buf b;
    int rc;

    coffre_buf_init(&b, 64);
    rc = v->store->ops->meta_get(v->store, VAULT_RESTORED_KEY, &b);
    *prestored = rc == COFFRE_OK && b.len > 0;
    coffre_buf_free(&b);
    return rc == COFFRE_ERR_NOTFOUND ? COFFRE_OK : rc;
}

struct rollback {
    uint64_t erased, gone, next;
};

/* Re-apply one write entry the restored store does not hold: an erasure
 * erases again; a creation only moves the id counter past its id, so
 * that no later person takes its id (nor its pseudonyms). */
static int
replay_one(struct coffre_vault *v, uint64_t i,
           const struct coffre_audit_entry *e, struct rollback *rb)
{
    int erase = strcmp(e->action, "person.erase") == 0 ||
                strcmp(e->action, "person.shred") == 0;
    uint64_t id = 0;
    size_t revoked = 0;
    int rc;

    /* Fail closed: an erasure the entry does not name (an epoch's, a
     * shred of several persons) cannot be re-applied, and accepting the
     * rollback would bring its persons back. */
    if (strcmp(e->action, "retention.epoch_destroy") == 0 ||
        (erase && e->pseudonym[0] == '\0')) {
        return vault_fail(v, COFFRE_ERR_STORE,
                          "audit entry %" PRIu64 " (%s) erased persons it "
                          "does not name: accepting the rollback would bring "
                          "them back; restore a backup taken after it",
                          i, e->action);
    }
    if ((!erase && strcmp(e->action, "person.create") != 0) ||
        e->pseudonym[0] == '\0') {
        return COFFRE_OK;
    }
    /* the entry's pseudonym is of its principal's audience: the role's
     * unless the server's configuration named another */
    if (coffre_vault_resolve(v, e->role, e->pseudonym, &id) != COFFRE_OK) {
        return vault_fail(v, COFFRE_ERR_STORE,
                          "audit entry %" PRIu64 " (%s): its pseudonym does "
                          "not resolve in audience \"%s\"; nothing was "
                          "re-applied",
                          i, e->action, e->role);
    }
    rb->next = id + 1 > rb->next ? id + 1 : rb->next;
    if (!erase) {
        return COFFRE_OK;
    }
    rc = v->store->ops->person_erase(v->store, id);
    if (rc == COFFRE_OK) {
        rb->erased++;
        return vault_badge_revoke_locked(v, id, &revoked);
    }
    /* erased in the backup already, or created after it */
    rb->gone += rc == COFFRE_ERR_ERASED || rc == COFFRE_ERR_NOTFOUND;
    return rc == COFFRE_ERR_ERASED || rc == COFFRE_ERR_NOTFOUND
               ? COFFRE_OK
               : vault_store_fail(v, rc, "re-applying an erasure");
}

/* Inside the caller's transaction: every write entry in [mark, n). */
static int
replay_writes(struct coffre_vault *v, struct coffre_audit *a, uint64_t mark,
              uint64_t n, struct rollback *rb)
{
    unsigned char b[COFFRE_AUDIT_ENTRY_MAX];
    struct coffre_audit_entry e;
    uint64_t next = 0;
    size_t len = 0;
    int rc = COFFRE_OK;

    for (uint64_t i = mark; rc == COFFRE_OK && i < n; i++) {
        if (coffre_audit_entry_bytes(a, i, b, &len) != COFFRE_OK ||
            coffre_audit_entry_parse(b, len, &e) != COFFRE_OK) {
            return vault_fail(v, COFFRE_ERR_IO,
                              "audit entry %" PRIu64 " unreadable", i);
        }
        if (e.status < 300 && coffre_action_is_write(e.action)) {
            rc = replay_one(v, i, &e, rb);
        }
    }
    if (rc == COFFRE_OK &&
        (rc = v->store->ops->id_next(v->store, &next)) == COFFRE_OK &&
        rb->next > next) {
        rc = v->store->ops->id_set_next(v->store, rb->next);
    }
    return rc;
}

/* The rollback accepted: erasures re-applied, an entry store.rollback,
 * the mark past it, the restored flag cleared, in one transaction. */
static int
accept_rollback(struct coffre_vault *v, struct coffre_audit *a, uint64_t mark,
                uint64_t n, const struct mark_scan *ms, char *msg, size_t cap)
{
    struct coffre_store *s = v->store;
    struct coffre_audit_entry e;
    struct rollback rb = {0, 0, 0};
    char why[COFFRE_AUDIT_MAX_PURPOSE + 1];
    uint64_t index = 0;
    int rc = s->ops->begin(s);

    if (rc == COFFRE_OK) {
        rc = replay_writes(v, a, mark, n, &rb);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    memset(&e, 0, sizeof(e));
    /* now, and never before the last write it accepts as lost */
    e.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    e.time_ms =
        e.time_ms > ms->last_entry.time_ms ? e.time_ms : ms->last_entry.time_ms;
    snprintf(e.role, sizeof(e.role), "vault");
    snprintf(e.action, sizeof(e.action), "store.rollback");
    snprintf(why, sizeof(why),
             "restored from a backup whose last write is entry %" PRIu64
             ": %" PRIu64 " later writes lost, %" PRIu64 " erasures re-applied",
             mark ? mark - 1 : 0, ms->writes, rb.erased);
    (void)coffre_audit_set_purpose(&e, why);
    e.status = 200;
    snprintf(e.outcome, sizeof(e.outcome), "rollback_accepted");
    if (rc == COFFRE_OK) {
        rc = coffre_audit_record(a, &e, &index);
    }
    if (rc == COFFRE_OK && (rc = mark_put(v, index + 1)) == COFFRE_OK) {
        rc = s->ops->meta_put(s, VAULT_RESTORED_KEY, "", 0);
    }
    rc = rc == COFFRE_OK ? s->ops->commit(s) : rc;
    if (rc != COFFRE_OK) {
        s->ops->rollback(s);
        return rc;
    }
    snprintf(msg, cap, "%s", why);
    return COFFRE_OK;
}

/* A restored store: its log may hold writes past the backup's mark. */
static int
restored_check(struct coffre_vault *v, struct coffre_audit *a, uint64_t mark,
               uint64_t n, char *msg, size_t cap)
{
    struct mark_scan ms;
    int rc = scan_writes(a, mark, n, &ms);

    if (rc != COFFRE_OK) {
        return rc;
    }
    if (ms.writes == 0) { /* nothing lost: an ordinary store from now on */
        return v->store->ops->meta_put(v->store, VAULT_RESTORED_KEY, "", 0);
    }
    if (v->accept_rollback) {
        rc = accept_rollback(v, a, mark, n, &ms, msg, cap);
        if (rc != COFFRE_OK && msg[0] == '\0') {
            snprintf(msg, cap, "accepting the rollback failed: %s",
                     v->errmsg[0] ? v->errmsg : coffre_strerror(rc));
        }
        return rc;
    }
    snprintf(msg, cap,
             "the store was restored from a backup older than its audit "
             "log: %" PRIu64 " writes the log records as done (entries %" PRIu64
             " to %" PRIu64 ") are not in it, whose last write is entry "
             "%" PRIu64 "; nothing is served. Restore again with "
             "--accept-rollback to re-apply the log's erasures and accept "
             "the loss of the other writes, or restore a newer backup",
             ms.writes, ms.first, ms.last, mark ? mark - 1 : 0);
    return COFFRE_ERR_STORE;
}

int
vault_audit_check(struct coffre_vault *v, struct coffre_audit *a, char *msg,
                  size_t cap)
{
    struct mark_scan ms;
    uint64_t mark = 0, n = coffre_audit_size(a);
    int rc, restored = 0;

    msg[0] = '\0';
    pthread_mutex_lock(&v->lock);
    rc = mark_get(v, &mark);
    if (rc == COFFRE_OK && (rc = restored_get(v, &restored)) == COFFRE_OK &&
        restored && n >= mark) {
        rc = restored_check(v, a, mark, n, msg, cap);
        pthread_mutex_unlock(&v->lock);
        return rc;
    }
    if (rc == COFFRE_ERR_NOTFOUND) {
        /* A vault made before the mark existed (a new one stores 0): its
         * log is taken as it is, from now on the mark follows it. */
        rc = mark_put(v, n);
        snprintf(msg, cap, "the store had no audit mark: set at %" PRIu64, n);
        mark = n;
    }
    if (rc == COFFRE_OK && n < mark) {
        snprintf(msg, cap,
                 "the audit log holds %" PRIu64 " entries, but the store "
                 "recorded its last write at entry %" PRIu64
                 ": the log is behind the store (truncated, or not this "
                 "vault's log)",
                 n, mark - 1);
        rc = COFFRE_ERR_STORE;
    }
    if (rc == COFFRE_OK) {
        rc = scan_writes(a, mark, n, &ms);
    }
    if (rc == COFFRE_OK && ms.writes > 1) {
        snprintf(msg, cap,
                 "the store is behind the audit log: %" PRIu64
                 " writes the log records as done (entries %" PRIu64
                 " to %" PRIu64 ") are not in the store, whose last write is "
                 "entry %" PRIu64
                 " (a lost write-ahead log, or an older copy of the store?)",
                 ms.writes, ms.first, ms.last, mark ? mark - 1 : 0);
        rc = COFFRE_ERR_STORE;
    } else if (rc == COFFRE_OK && ms.writes == 1) {
        rc = note_uncommitted(v, a, &ms, msg, cap);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}
