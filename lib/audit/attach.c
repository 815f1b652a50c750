/*
 * A vault's audit hook that writes to its audit log (coffre_audit_attach):
 * what a front end without its own notion of requests (the command line)
 * installs, so that everything it discloses or writes is an entry of the
 * log before it happens (docs/audit.md section 13).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/entry.h"
#include "audit/log.h"
#include "vault/vault.h"

struct audit_attach {
    struct coffre_audit *a;
    struct coffre_vault *v;
    char principal[COFFRE_AUDIT_MAX_PRINCIPAL + 1];
    char role[COFFRE_AUDIT_MAX_ROLE + 1];
    char audience[COFFRE_AUDIT_MAX_ROLE + 1];
    char purpose[COFFRE_AUDIT_MAX_PURPOSE + 1];
};

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
coffre_audit_event_entry(struct coffre_vault *v, const struct coffre_event *ev,
                         const char *audience, const char *purpose,
                         struct coffre_audit_entry *e)
{
    char text[COFFRE_AUDIT_MAX_PURPOSE + 64];

    memset(e, 0, sizeof(*e));
    e->time_ms = now_ms();
    snprintf(e->action, sizeof(e->action), "%s", ev->action);
    if (ev->id != 0 && ev->count <= 1 &&
        coffre_vault_pseudonym(v, audience, ev->id, e->pseudonym) !=
            COFFRE_OK) {
        return COFFRE_ERR_UNAVAILABLE;
    }
    e->classes = ev->classes;
    purpose = purpose != NULL ? purpose : "";
    if (ev->id == 0 && ev->count > 0) {
        snprintf(text, sizeof(text), "%s%s%llu persons", purpose,
                 purpose[0] ? "; " : "", (unsigned long long)ev->count);
        purpose = text;
    }
    if (coffre_audit_set_purpose(e, purpose) != COFFRE_OK) {
        (void)coffre_audit_set_purpose(e, "(invalid purpose)");
    }
    e->status = ev->aborted ? 500 : ev->op == COFFRE_OP_CREATE ? 201 : 200;
    snprintf(e->outcome, sizeof(e->outcome), "%s",
             ev->aborted ? "not_committed" : "ok");
    return COFFRE_OK;
}

static int
attach_hook(void *arg, const struct coffre_event *ev, uint64_t *pindex)
{
    struct audit_attach *t = arg;
    struct coffre_audit_entry e;
    int rc;

    if (ev == NULL) {
        t->v = NULL; /* the vault is closing */
        return COFFRE_OK;
    }
    rc = coffre_audit_event_entry(t->v, ev, t->audience, t->purpose, &e);
    memcpy(e.principal, t->principal, sizeof(e.principal));
    memcpy(e.role, t->role, sizeof(e.role));

    return rc == COFFRE_OK ? coffre_audit_record(t->a, &e, pindex) : rc;
}

/* Copy ${s} (NULL: "") into ${out} if its bytes are all of ${set} (NULL:
 * any) and it fits; -1 otherwise. */
static int
copy_field(char *out, size_t cap, const char *s, const char *set)
{
    s = s != NULL ? s : "";
    if (strlen(s) >= cap || (set != NULL && strspn(s, set) != strlen(s))) {
        return -1;
    }
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

int
coffre_audit_attach(struct coffre_audit *a, struct coffre_vault *v,
                    const struct coffre_actor *actor)
{
    static const char token[] = "abcdefghijklmnopqrstuvwxyz0123456789_-";
    struct audit_attach *t = calloc(1, sizeof(*t));
    struct coffre_audit_entry probe;

    if (t == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    memset(&probe, 0, sizeof(probe));
    if (actor == NULL || actor->role == NULL || actor->role[0] == '\0' ||
        copy_field(t->principal, sizeof(t->principal), actor->principal,
                   "0123456789abcdef") != 0 ||
        (t->principal[0] != '\0' && strlen(t->principal) != 64) ||
        copy_field(t->role, sizeof(t->role), actor->role, token) != 0 ||
        copy_field(t->audience, sizeof(t->audience),
                   actor->audience ? actor->audience : actor->role,
                   NULL) != 0 ||
        coffre_audit_set_purpose(&probe, actor->purpose) != COFFRE_OK) {
        free(t);
        return COFFRE_ERR_ARG;
    }
    memcpy(t->purpose, probe.purpose, sizeof(t->purpose));
    t->a = a;
    t->v = v;
    audit_log_set_attach(a, t, v);
    coffre_vault_set_audit(v, attach_hook, t);
    return COFFRE_OK;
}

void
audit_attach_free(void *attach, struct coffre_vault *v)
{
    struct audit_attach *t = attach;

    (void)v;
    if (t != NULL) {
        if (t->v != NULL) { /* still open: no hook of a freed log */
            coffre_vault_set_audit(t->v, NULL, NULL);
        }
        free(t);
    }
}
