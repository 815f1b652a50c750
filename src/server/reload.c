/*
 * SIGHUP: reload without dropping a connection (docs/server.md,
 * "Reload"). The configuration file, the TLS certificate and key and the
 * client CA are read again and checked whole before anything changes:
 *   - the server's certificate and key are swapped for the next
 *     handshakes (http.c); open connections keep theirs;
 *   - a policy (principals, guard limits, approvals, CA...) that differs
 *     from the one in force is put in force only as the pinned policy's
 *     approved successor: a granted policy_change approval naming its
 *     digest is consumed (policy_pin.c), then the new principal table and
 *     guard are published (srv_ctx_swap); requests already authenticated
 *     finish under the old one;
 *   - live operational keys (body_max_bytes, retention_sweep_seconds)
 *     change; the others (listen, threads, user, paths...) need a
 *     restart, and the reload says so.
 * Anything refused (unreadable file, bad JSON, a key that does not match
 * its certificate, an unapproved policy) is logged and nothing changes.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "approval.h"
#include "coffre/approval.h"
#include "guard.h"
#include "notify.h"

/* The PEM files of a configuration, read. */
struct pems {
    char *cert, *key, *ca;
    size_t ca_len;
};

static void
pems_free(struct pems *p)
{
    if (p->key != NULL) {
        sodium_memzero(p->key, strlen(p->key));
    }
    free(p->key);
    free(p->cert);
    free(p->ca);
    memset(p, 0, sizeof(*p));
}

static int
pems_read(const struct srv_config *c, struct pems *p, char *err, size_t errlen)
{
    char why[256];
    size_t n = 0;
    const char *paths[3] = {c->tls_cert, c->tls_key, c->client_ca};
    char **dst[3] = {&p->cert, &p->key, &p->ca};
    for (int i = 0; i < 3; i++) {
        if (srv_config_read(paths[i], dst[i], &n, why, sizeof(why)) !=
            COFFRE_OK) {
            snprintf(err, errlen, "%s", why);
            return -1;
        }
        if (i == 2) {
            p->ca_len = n;
        }
    }
    return 0;
}

/* Operational keys that only a restart changes: keep the running values
 * (command-line overrides included) and name those that differ. */
static void
keep_restart_keys(struct srv_config *next, const struct srv_config *cur)
{
    char differ[256] = "";
    struct {
        const char *name;
        char *a;
        const char *b;
        size_t cap;
    } s[] = {
        {"listen", next->listen, cur->listen, sizeof(next->listen)},
        {"data_dir", next->data_dir, cur->data_dir, sizeof(next->data_dir)},
        {"user", next->user, cur->user, sizeof(next->user)},
        {"audit_dir", next->audit_dir, cur->audit_dir, sizeof(next->audit_dir)},
        {"audit_origin", next->audit_origin, cur->audit_origin,
         sizeof(next->audit_origin)},
        {"health_listen", next->health_listen, cur->health_listen,
         sizeof(next->health_listen)},
    };
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        if (strcmp(s[i].a, s[i].b) != 0) {
            strncat(differ, " ", sizeof(differ) - strlen(differ) - 1);
            strncat(differ, s[i].name, sizeof(differ) - strlen(differ) - 1);
            memmove(s[i].a, s[i].b, strlen(s[i].b) + 1);
        }
    }
    if (next->threads != cur->threads || next->per_ip != cur->per_ip ||
        next->mlock != cur->mlock ||
        next->health_public != cur->health_public) {
        strncat(differ, " threads/connections_per_ip/mlock/health_public",
                sizeof(differ) - strlen(differ) - 1);
    }
    next->threads = cur->threads;
    next->per_ip = cur->per_ip;
    next->mlock = cur->mlock;
    next->health_public = cur->health_public;
    if (differ[0] != '\0') {
        srv_log(SRV_LOG_WARNING, "reload",
                "changed, in force at the next restart only:%s", differ);
    }
}

/* Put ${next} in force with a guard of its own (the policy changed). */
static int
swap_policy(struct srv_ctx *ctx, struct srv_config *next,
            const unsigned char digest[SRV_POLICY_LEN], int no_guard, char *err,
            size_t errlen)
{
    struct guard *g = NULL;
    if (!no_guard && srv_guard_make(ctx, next, &g) != COFFRE_OK) {
        snprintf(err, errlen, "the new guard cannot be built");
        return COFFRE_ERR_NOMEM;
    }
    int rc;
    if (srv_policy_ready(ctx)) {
        rc = srv_policy_successor(ctx, digest, err, errlen);
    } else {
        /* Sealed: the unseal checks the new policy against the pin, as
         * for a restart (policy_pin.c). */
        srv_policy_enforce(ctx, digest);
        snprintf(err, errlen, "the vault is sealed: the unseal checks it");
        rc = COFFRE_OK;
    }
    if (rc != COFFRE_OK) {
        guard_free(g);
        return rc;
    }
    if (srv_ctx_swap(ctx, next, g) != COFFRE_OK) {
        guard_free(g);
        snprintf(err, errlen, "out of memory after the pin moved: restart");
        return COFFRE_ERR_NOMEM;
    }
    coffre_vault_set_vetting_deadline(ctx->vault, next->vetting_deadline);
    coffre_vault_set_retention(ctx->vault, next->retention);
    return COFFRE_OK;
}

/* Everything read and checked; COFFRE_OK when ${next} was put in force
 * (*${ptaken} 1: the context owns it now). */
static int
apply(struct srv_ctx *ctx, struct srv_http *http, struct srv_config *next,
      const char *text, size_t len, const struct srv_reload *how, int *ptaken,
      char *err, size_t errlen)
{
    struct srv_config *cur = srv_cfg(ctx);
    struct pems p = {0};
    struct tls_cred *pair = NULL;
    unsigned char digest[SRV_POLICY_LEN], fp[32];
    char fphex[65], why[256];
    int rc = COFFRE_ERR_PARSE;
    keep_restart_keys(next, cur);
    if (pems_read(next, &p, err, errlen) != 0) {
        goto out;
    }
    if (srv_tls_pair_load(p.cert, p.key, &pair, why, sizeof(why)) !=
        COFFRE_OK) {
        snprintf(err, errlen, "%.300s, %.300s: %.200s", next->tls_cert,
                 next->tls_key, why);
        goto out;
    }
    if (srv_auth_trust_load(next, p.ca, p.ca_len) != COFFRE_OK) {
        snprintf(err, errlen, "%.900s: no CA certificate", next->client_ca);
        goto out;
    }
    if (srv_policy_digest(text, len, p.ca, p.ca_len, digest, err, errlen) !=
        COFFRE_OK) {
        goto out;
    }
    int changed = sodium_memcmp(digest, ctx->policy, SRV_POLICY_LEN) != 0;
    if (changed) {
        rc = swap_policy(ctx, next, digest, how->no_guard, err, errlen);
        if (rc != COFFRE_OK) {
            goto out;
        }
        *ptaken = 1;
        srv_log(SRV_LOG_INFO, "reload", "policy: %s", err);
    } else {
        /* Same policy: the guard keeps its windows; the live tuning. */
        __atomic_store_n(&cur->body_max, next->body_max, __ATOMIC_RELAXED);
        __atomic_store_n(&cur->retention_sweep, next->retention_sweep,
                         __ATOMIC_RELAXED);
    }
    srv_http_use_pair(http, pair);
    pair = NULL;
    fphex[0] = '\0';
    if (srv_cert_fingerprint(p.cert, strlen(p.cert), fp) == COFFRE_OK) {
        sodium_bin2hex(fphex, sizeof(fphex), fp, sizeof(fp));
    }
    srv_log_json(SRV_LOG_INFO, "reload",
                 json_pack("{s:s,s:s,s:s}", "msg", "configuration reloaded",
                           "policy", changed ? "changed" : "unchanged",
                           "certificate_sha256", fphex));
    rc = COFFRE_OK;
out:
    srv_tls_pair_free(pair);
    pems_free(&p);
    return rc;
}

int
srv_reload(struct srv_ctx *ctx, struct srv_http *http,
           const struct srv_reload *how)
{
    char err[1024], *text = NULL;
    size_t len = 0;
    int taken = 0;
    struct srv_config *next = calloc(1, sizeof(*next));
    int rc = next == NULL ? COFFRE_ERR_NOMEM : COFFRE_OK;
    snprintf(err, sizeof(err), "out of memory");
    srv_notify_reloading();
    if (rc == COFFRE_OK) {
        rc = srv_config_read(how->path, &text, &len, err, sizeof(err));
    }
    if (rc == COFFRE_OK) {
        rc = srv_config_parse(next, text, len, err, sizeof(err));
    }
    if (rc == COFFRE_OK) {
        rc = apply(ctx, http, next, text, len, how, &taken, err, sizeof(err));
    }
    if (rc != COFFRE_OK) {
        srv_log(SRV_LOG_ERR, "reload_refused",
                "reload refused, the running configuration stays: %s: %s",
                how->path, err);
    }
    if (!taken && next != NULL) {
        srv_config_free(next);
        free(next);
    }
    free(text);
    srv_notify("READY=1\nSTATUS=%s",
               rc == COFFRE_OK ? "serving (reloaded)"
                               : "serving (reload refused, see the log)");
    return rc;
}
