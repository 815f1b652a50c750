/*
 * The HTTPS server of `coffre server`: internal interfaces between its
 * modules. Layers, from the wire inwards:
 *   http.c    libmicrohttpd + GnuTLS glue: mutual TLS, body accumulation,
 *             keep-alive; turns a connection's request into a srv_req.
 *   auth.c    the client certificate -> principal mapping (chain, expiry,
 *             fingerprint or subject).
 *   route.c   the route table, path parsing, JSON error bodies.
 *   api.c     the handlers: policy checks, pseudonyms, vault calls.
 *   policy.c  the role x field-class table and the JSON filter.
 *   config.c  the strict JSON configuration file.
 *   metrics.c the Prometheus registry.
 *   pki.c     the development CA and certificates of --dev.
 * Everything below http.c runs without TLS, which is what the fuzz target
 * drives. Only the public API include/coffre/coffre.h is used.
 */
#ifndef COFFRE_SRC_SERVER_H
#define COFFRE_SRC_SERVER_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "coffre/coffre.h"

/* Roles of DESIGN section 2. */
enum srv_role {
    SRV_ROLE_PLATFORM = 0,
    SRV_ROLE_OFFICE,
    SRV_ROLE_VETTING,
    SRV_ROLE_GATE,
    SRV_ROLE_PRINTER,
    SRV_ROLE_AUDITOR,
    SRV_ROLE_CUSTODIAN,
    SRV_ROLE_ADMIN,
    SRV_ROLE_COUNT
};
#define SRV_ROLE_NONE SRV_ROLE_COUNT /* metrics label of unauthenticated */

#define SRV_NAME_MAX 64      /* principal names and audiences */
#define SRV_SUBJECT_MAX 512  /* a distinguished name */
#define SRV_PATH_MAX 1024    /* file paths in the configuration */
#define SRV_CONFIG_MAX 65536 /* bytes of the configuration file */
#define SRV_PRINCIPALS_MAX 1024
#define SRV_PURPOSE_MAX 200 /* bytes of a stated purpose */
#define SRV_PAGE_MAX 1000   /* items in one list answer */

struct guard;
struct guard_config;

struct srv_principal {
    char name[SRV_NAME_MAX + 1];
    int role;                        /* enum srv_role */
    char audience[SRV_NAME_MAX + 1]; /* pseudonym audience */
    int has_fingerprint;
    unsigned char fingerprint[32];     /* SHA-256 of the certificate DER */
    char subject[SRV_SUBJECT_MAX + 1]; /* or "" */
    int protected_access;              /* office: may read protected */
};

struct srv_config {
    char listen[SRV_NAME_MAX + 1]; /* "ADDRESS:PORT" */
    char data_dir[SRV_PATH_MAX];
    char store[1024];                       /* "": as data_dir records */
    char store_password_file[SRV_PATH_MAX]; /* "": libpq's own */
    char tls_cert[SRV_PATH_MAX];
    char tls_key[SRV_PATH_MAX];
    char client_ca[SRV_PATH_MAX];
    char user[SRV_NAME_MAX + 1];   /* drop to this user when root */
    int tls12;                     /* allow TLS 1.2 besides 1.3 */
    int mlock;                     /* mlockall when permitted */
    int64_t vetting_deadline;      /* seconds */
    size_t body_max;               /* bytes of a request body */
    unsigned threads;              /* MHD worker threads */
    unsigned per_ip;               /* open connections from one address */
    unsigned approvals_required;   /* m of the custodian principals */
    int64_t approval_ttl;          /* seconds an approval request lives */
    unsigned approval_pending_max; /* pending requests per requester */
    int64_t retention;             /* seconds kept after validity ends */
    int64_t retention_sweep;       /* seconds between sweeps, 0: none */
    char audit_dir[SRV_PATH_MAX];  /* "" = DATA_DIR/audit */
    char audit_origin[SRV_NAME_MAX * 4 + 1]; /* "" = coffre.vault/<id> */
    /* A token-sealed vault (docs/keys.md section 8): "" = what the vault
     * recorded; the PIN's file, "" = COFFRE_PKCS11_PIN. */
    char pkcs11_module[SRV_PATH_MAX];
    char pkcs11_token_label[33];
    char pkcs11_key_label[33];
    char pin_file[SRV_PATH_MAX];
    struct srv_principal *principals;
    size_t nprincipals;
    struct guard_config *guard; /* NULL: the defaults (guard.h) */
    /* gnutls_x509_trust_list_t of the client CA (srv_auth_trust_load),
     * or NULL: the TLS credentials' own trust (unit tests). */
    void *client_trust;
    /* The plain health port (health.c): "" for none. */
    char health_listen[SRV_NAME_MAX + 1];
    int health_public; /* allow a non-loopback health_listen */
};

/* ---- log.c ------------------------------------------------------- */

/* syslog priorities (journald's PRIORITY) */
enum srv_log_level { SRV_LOG_ERR = 3, SRV_LOG_WARNING = 4, SRV_LOG_INFO = 6 };

/**
 * srv_log(level, event, fmt, ...): one JSON line on stderr, {"time",
 * "level", "event", "msg"} (docs/server.md, "Logs"); under systemd
 * prefixed with "<level>" for the journal. The message must hold no
 * personal value. Thread-safe: one write per line.
 */
void srv_log(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** srv_log_json(level, event, obj): one line with the members of ${obj}
 * (reference stolen) after time, level and event. */
void srv_log_json(int level, const char *event, json_t *obj);

/**
 * srv_log_mhd(cls, fmt, ap): libmicrohttpd's error log
 * (MHD_OPTION_EXTERNAL_LOGGER) as log lines of event "http". Its messages
 * name the library's errors, not request values.
 */
void srv_log_mhd(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/** srv_log_time(out): the time now, RFC 3339 UTC with microseconds. */
void srv_log_time(char out[32]);

/* ---- seal.c ------------------------------------------------------ */

/** srv_seal_start(c, v): unseal the token-sealed ${v} from its token with
 * the configuration's module, labels and PIN file; any failure leaves it
 * sealed, said on stderr and kept in coffre_vault_seal_error(). */
void srv_seal_start(const struct srv_config *c, struct coffre_vault *v);

/* ---- config.c ---------------------------------------------------- */

/** srv_role_name(r): "platform", ...; "none" when out of range. */
const char *srv_role_name(int r);
/** srv_role_parse(s): the role named ${s}, or -1. */
int srv_role_parse(const char *s);

/** srv_config_defaults(c): zero ${c} and set every default. */
void srv_config_defaults(struct srv_config *c);

/**
 * srv_config_parse(c, text, len, err, errlen): parse the JSON configuration
 * ${text} into ${c} (defaults first). Unknown keys, wrong types, duplicate
 * principals and values out of range fail with COFFRE_ERR_INVALID (or
 * COFFRE_ERR_PARSE for malformed JSON, COFFRE_ERR_TOOBIG past
 * SRV_CONFIG_MAX) and a message naming the key in ${err}. On failure ${c}
 * holds nothing to free.
 */
int srv_config_parse(struct srv_config *c, const char *text, size_t len,
                     char *err, size_t errlen);

/**
 * srv_config_read(path, ptext, plen, err, errlen): the bytes of the
 * configuration file ${path} (at most SRV_CONFIG_MAX) in *${ptext}
 * (malloc'd, NUL-terminated) and *${plen}; COFFRE_ERR_IO or
 * COFFRE_ERR_TOOBIG with the reason in ${err}.
 */
int srv_config_read(const char *path, char **ptext, size_t *plen, char *err,
                    size_t errlen);

/** srv_config_load(c, path, err, errlen): read ${path} and parse it. */
int srv_config_load(struct srv_config *c, const char *path, char *err,
                    size_t errlen);

/** srv_config_free(c): free the principals; ${c} may be reused. */
void srv_config_free(struct srv_config *c);

/** srv_principal_by_fingerprint(c, fp): the principal, or NULL. */
const struct srv_principal *
srv_principal_by_fingerprint(const struct srv_config *c,
                             const unsigned char fp[32]);
/** srv_principal_by_subject(c, dn): the principal named by DN, or NULL. */
const struct srv_principal *srv_principal_by_subject(const struct srv_config *c,
                                                     const char *dn);

/** srv_hex_decode(hex, out, n): exactly 2n hex digits (':' allowed). */
int srv_hex_decode(const char *hex, unsigned char *out, size_t n);

/* ---- policy_hash.c ----------------------------------------------- */

#define SRV_POLICY_LEN 32 /* SHA-256 */

/**
 * srv_policy_digest(text, len, ca, ca_len, out, err, errlen): the policy
 * digest of the configuration ${text} with the client CA file's bytes
 * ${ca} (docs/approvals.md section 6): SHA-256 of the configuration
 * object without its operational keys, client_ca replaced by the hex
 * SHA-256 of ${ca}, dumped with sorted keys and no whitespace.
 * COFFRE_ERR_PARSE (reason in ${err}) if ${text} is not a JSON object.
 */
int srv_policy_digest(const char *text, size_t len, const char *ca,
                      size_t ca_len, unsigned char out[SRV_POLICY_LEN],
                      char *err, size_t errlen);

/* ---- policy.c ---------------------------------------------------- */

enum srv_access { SRV_NONE = 0, SRV_PARTIAL, SRV_FULL };

/**
 * srv_policy_access(role, cls): what ${role} may read of class ${cls}
 * (DESIGN section 3), before the protected-record rule.
 */
int srv_policy_access(int role, int cls);

/**
 * srv_policy_state_denied(role, state, awaiting_verdict): NULL when ${role}
 * may read a person in lifecycle ${state} (its classes but the vetting
 * class, and for the vetting service the public class, which the server
 * reads for it), else why not (static text). The gate reads badge_issued
 * persons, the printer approved and badge_issued ones, the vetting
 * service persons in vetting awaiting its verdict; the office any state.
 * Applied by the audit hook to every disclosure (audit.c).
 */
const char *srv_policy_state_denied(int role, int state, int awaiting_verdict);

/**
 * srv_policy_readable(who, is_protected): the bitmask of classes the
 * principal ${who} may read of a record, protected or not.
 */
unsigned srv_policy_readable(const struct srv_principal *who, int is_protected);

/** srv_policy_writable(role, patch): classes ${role} may submit (patch=0)
 * or change (patch=1). */
unsigned srv_policy_writable(int role, int patch);

/**
 * srv_policy_listed(who, is_protected): 1 if a record may appear in a
 * list answered to ${who} at all (before srv_policy_filter), 0 if it is
 * left out: a protected record is never listed for the platform.
 */
int srv_policy_listed(const struct srv_principal *who, int is_protected);

/**
 * srv_policy_filter(person, who, is_protected): remove from the JSON object
 * form ${person} every member ${who} may not see: partial classes keep their
 * named fields only, the public class of a protected record keeps only
 * state, valid_from and valid_until for the platform, and the record-level
 * members (source key, protected flag) are kept only for the office and
 * vetting roles. Every answer that carries a person goes through it.
 */
void srv_policy_filter(json_t *person, const struct srv_principal *who,
                       int is_protected);

/* ---- metrics.c --------------------------------------------------- */

struct srv_metrics;

/** srv_metrics_new(routes, nroutes): a registry; route labels not copied. */
struct srv_metrics *srv_metrics_new(const char *const *routes, size_t nroutes);
void srv_metrics_free(struct srv_metrics *m);
/** srv_metrics_observe(m, route, role, status, seconds): one request;
 * route == nroutes is "unmatched". */
void srv_metrics_observe(struct srv_metrics *m, size_t route, int role,
                         unsigned status, double seconds);
/** srv_metrics_hits(m, route): requests counted for ${route}. */
uint64_t srv_metrics_hits(struct srv_metrics *m, size_t route);
/** srv_metrics_render(m, sealed, persons, pout): Prometheus text format,
 * *${pout} malloc'd. */
int srv_metrics_render(struct srv_metrics *m, int sealed, char **pout);

/* ---- route.c ----------------------------------------------------- */

enum srv_route_id {
    R_HEALTH = 0,
    R_SEAL_STATUS,
    R_UNSEAL,
    R_METRICS,
    R_STATS,
    R_PERSONS_POST,
    R_PERSONS_LIST,
    R_PERSON_GET,
    R_PERSON_PATCH,
    R_PERSON_DELETE,
    R_PERSON_STATE,
    R_VETTING_PENDING,
    R_VETTING_VERDICT,
    R_AUDIT_KEY,
    R_AUDIT_CHECKPOINT,
    R_AUDIT_INCLUSION,
    R_AUDIT_CONSISTENCY,
    R_AUDIT_ENTRIES,
    R_APPROVAL_CREATE,
    R_APPROVAL_GET,
    R_APPROVAL_APPROVE,
    R_RETENTION_SWEEP,
    R_EPOCH_DESTROY,
    R_RECEIPT_GET,
    R_RECEIPT_KEY,
    R_SUBJECT_ACCESS,
    R_GUARD_STATUS,
    R_GUARD_REINSTATE,
    R_BADGE_ISSUE,
    R_BADGE_TRUST,
    R_BADGE_REVOCATIONS,
    R_BADGE_LIST_KEY,
    R_BADGE_ROTATE,
    R_APPROVAL_LIST,
    R_SEAL,
    R_CONSOLE,
    R_CONSOLE_ASSET,
    R_WHOAMI,
    R__COUNT
};

struct srv_route {
    const char *method;
    const char *path;   /* template: "{pseudonym}" is a parameter */
    int sealed_ok;      /* served while sealed */
    const char *action; /* audit action, or NULL: no entry (route.c) */
    int suspended_ok;   /* served to a principal the guard suspended */
};
extern const struct srv_route srv_routes[R__COUNT];
/** srv_route_labels: "GET /v1/..." of each route, for metrics. */
extern const char *const srv_route_labels[R__COUNT];

#define SRV_QUERY_MAX 16

struct srv_kv {
    const char *key;
    const char *value;
};

/* One request, below TLS and HTTP. Strings are not owned. */
struct srv_req {
    const char *method;
    const char *path;
    struct srv_kv query[SRV_QUERY_MAX];
    size_t nquery;
    int query_overflow;        /* more than SRV_QUERY_MAX arguments */
    int target_nul;            /* a "%00" in the path or the query (http.c) */
    const char *ctype;         /* Content-Type, or NULL */
    const char *if_none_match; /* If-None-Match, or NULL (console.c) */
    const char *idem_key;      /* Idempotency-Key, or NULL (persons.c) */
    const char *body;
    size_t body_len;
    const struct srv_principal *who; /* NULL: not authenticated */
    const struct srv_pset *pset;     /* who's policy; NULL: in force */
    const char *auth_why;            /* why who is NULL (static text) */
    /* Nonzero: the caller waits for the audit entry itself (http.c
     * suspends the connection): srv_handle only queues the entry and sets
     * resp->audit_pending. Zero: srv_handle blocks until it is durable. */
    int audit_async;
};

struct srv_resp {
    unsigned status;
    char *body;      /* malloc'd, NUL-terminated */
    size_t body_len; /* binary body (badges.c): its length; 0: strlen */
    const char *ctype;
    const char *allow; /* for 405 */
    /* A console file (console.c): its ETag (unquoted, static), the
     * console's headers (Content-Security-Policy...) and its caching;
     * cache_control NULL: "no-store", as every API answer. */
    int console;
    const char *etag;
    const char *cache_control;
    size_t route; /* metrics label index */
    /* What the audit entry of this request says (src/server/audit.c);
     * handlers fill them, never with a personal value. */
    const char *code;                         /* error code (static) */
    char pseudonym[COFFRE_PSEUDONYM_LEN + 1]; /* caller's, or "" */
    unsigned classes;                         /* disclosed (or written) */
    const char *purpose;                      /* stated, not owned */
    /* Persons the answer discloses or the request touched, for the guard
     * (guard_disclose); personal: classes beyond public were disclosed. */
    uint64_t disclosed[SRV_PAGE_MAX];
    size_t ndisclosed;
    int disclosed_over, disclosed_personal;
    unsigned retry_after;   /* seconds, for 429 */
    const char *action;     /* overrides the route's action (static) */
    const char *denied_why; /* the audit hook's refusal, why (static) */
    /* req->audit_async: the entry to wait for before the answer leaves
     * (audit_index: the ticket coffre_audit_append gave). */
    int audit_pending;
    uint64_t audit_index;
    int audit_indexed; /* audit_index is the request's entry (log.c) */
    /* The entry a write recorded through the vault's audit hook, durable
     * before it committed (srv_vault_hook): the request's own when the
     * answer is that write's success. */
    int audit_written;
    const char *written_action;
};

/**
 * srv_route_match(method, path, param, pstatus): the route of ${method}
 * ${path}, copying the path parameter to ${param}; R__COUNT with
 * *${pstatus} 404 (no such path) or 405 (path known, method not).
 */
size_t srv_route_match(const char *method, const char *path,
                       char param[COFFRE_PSEUDONYM_LEN + 1], unsigned *pstatus);

/** srv_route_action(route): the audit action of ${route}, NULL for a
 * route that makes no entry (and may neither disclose nor write). */
const char *srv_route_action(size_t route);

/** srv_route_allow(path): the Allow header value for ${path}. */
const char *srv_route_allow(const char *path);

/** srv_error(r, status, code, fmt, ...): an error answer in ${r}. */
void srv_error(struct srv_resp *r, unsigned status, const char *code,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/** srv_jfree(p): free a string jansson allocated (json_dumps). */
void srv_jfree(void *p);

/** srv_resp_free(r): wipe and free the body of ${r}. */
void srv_resp_free(struct srv_resp *r);

/** srv_json(r, status, obj): answer ${obj} (reference stolen). */
void srv_json(struct srv_resp *r, unsigned status, json_t *obj);

/** srv_query(req, key): the value of ${key}, or NULL. */
const char *srv_query(const struct srv_req *req, const char *key);

/** srv_utf8_valid(s, n): 1 if ${s} is well-formed UTF-8 without NUL. */
int srv_utf8_valid(const char *s, size_t n);

/* ---- api.c ------------------------------------------------------- */

struct coffre_audit; /* coffre/audit.h */

/*
 * The policy in force: the configuration (principals, limits) and the
 * guard built for it. A reload that brings an approved successor
 * (reload.c) publishes a new one; each request takes the one in force
 * when it is authenticated and keeps it to its end. Older ones are kept,
 * unused, until the server stops: requests in flight may still hold them.
 */
struct srv_pset {
    struct srv_config *cfg;
    struct guard *guard; /* NULL: no guard */
    unsigned gen;        /* 0 at start, +1 per swap */
    int owns_cfg;        /* cfg is freed with the set (reloads) */
    struct srv_pset *older;
};

struct srv_ctx {
    struct coffre_vault *vault;
    /* no lock: every coffre_vault_* call takes the vault's own */
    struct srv_pset *pset; /* read with srv_pset(), swapped atomically */
    struct srv_metrics *metrics;
    /* The audit log, opened once the vault is unsealed (audit.c); read
     * with srv_audit_get(). NULL: audited routes answer 503. */
    struct coffre_audit *audit;
    pthread_mutex_t audit_lock;
    const char *audit_vkey_path;     /* write the verifier key there, or NULL */
    struct srv_approvals *approvals; /* approval.c */
    /* The policy pin (policy_pin.c): once enforced, nothing but the
     * sealed-state routes is served until the running policy's digest
     * matches the vault's pin. policy_ok is read without the lock. */
    pthread_mutex_t policy_lock;
    int policy_enforced;
    int policy_ok;
    unsigned char policy[SRV_POLICY_LEN];
};

/** srv_pset(ctx): the policy in force. */
static inline struct srv_pset *
srv_pset(const struct srv_ctx *ctx)
{
    return __atomic_load_n(&ctx->pset, __ATOMIC_ACQUIRE);
}

/** srv_cfg(ctx): the configuration in force. */
static inline struct srv_config *
srv_cfg(const struct srv_ctx *ctx)
{
    return srv_pset(ctx)->cfg;
}

/** srv_guard(ctx): the guard in force, or NULL (bench --no-guard). */
static inline struct guard *
srv_guard(const struct srv_ctx *ctx)
{
    return srv_pset(ctx)->guard;
}

/**
 * srv_ctx_swap(ctx, cfg, guard): publish ${cfg} (owned from now on) and
 * ${guard} (owned) as the policy in force; the previous one is kept until
 * srv_ctx_destroy. COFFRE_ERR_NOMEM leaves everything as it was (and the
 * caller still owns both).
 */
int srv_ctx_swap(struct srv_ctx *ctx, struct srv_config *cfg,
                 struct guard *guard);

/** srv_guard_make(ctx, cfg, pg): the guard of ${cfg}, wired to the
 * approvals of ${ctx} (bulk_read bonus). */
int srv_guard_make(struct srv_ctx *ctx, const struct srv_config *cfg,
                   struct guard **pg);

/** srv_ctx_init(ctx, vault, cfg): bind a context (nothing owned). */
int srv_ctx_init(struct srv_ctx *ctx, struct coffre_vault *vault,
                 struct srv_config *cfg);
void srv_ctx_destroy(struct srv_ctx *ctx);

/**
 * srv_handle(ctx, req, resp): serve one request. Always fills ${resp} with a
 * status and a body (JSON, or Prometheus text for /metrics) and records
 * it in the metrics; the caller frees resp->body.
 */
void srv_handle(struct srv_ctx *ctx, const struct srv_req *req,
                struct srv_resp *resp);

/** srv_sweep(ctx, now): refuse vetting requests past their deadline. */
void srv_sweep(struct srv_ctx *ctx, int64_t now);

/* ---- audit.c ----------------------------------------------------- */

/**
 * srv_audit_start(ctx): open the audit log of ${ctx} (cfg->audit_dir, or
 * DATA_DIR/audit; cfg->audit_origin or the default) if the vault is
 * unsealed and it is not open yet. COFFRE_OK when open (or still sealed),
 * else the error of coffre_audit_open, its reason in ${err}.
 */
int srv_audit_start(struct srv_ctx *ctx, char *err, size_t errlen);

/** srv_audit_stop(ctx): close the log (durable, last checkpoint). */
void srv_audit_stop(struct srv_ctx *ctx);

/** srv_audit_get(ctx): the open log or NULL. */
struct coffre_audit *srv_audit_get(struct srv_ctx *ctx);

/**
 * srv_audit_after(ctx, route, req, param, r): the audit hook, called once
 * the handler has answered in ${r}: if ${route} is audited (the table in
 * audit.c) and the caller authenticated, record one entry and wait until
 * it is durable; if that fails, replace ${r} by 503 audit_unavailable.
 */
void srv_audit_after(struct srv_ctx *ctx, size_t route,
                     const struct srv_req *req, const char *param,
                     struct srv_resp *r);

/** srv_audit_refuse(r): replace ${r} by the 503 of an entry that could not
 * be made durable (nothing of the prepared answer leaves). */
void srv_audit_refuse(struct srv_resp *r);

/**
 * srv_audit_note(ctx, who, action, pseudonym, purpose, status, outcome):
 * record one entry that no route makes (the policy pin), and wait until
 * it is durable. ${who} NULL: the server itself (role "server", no
 * principal). COFFRE_ERR_SEALED if the log is not open.
 */
int srv_audit_note(struct srv_ctx *ctx, const struct srv_principal *who,
                   const char *action, const char *pseudonym,
                   const char *purpose, unsigned status, const char *outcome);

/* The request a thread is serving, for the vault's audit hook. */
struct srv_call {
    struct srv_ctx *ctx;
    size_t route;
    const struct srv_req *req;
    const char *param;
    struct srv_resp *r;
};

/** srv_call_set(c): the request this thread serves from now on (NULL:
 * none, the server's own work); the previous one is returned, so that
 * work of the server's own inside a request (the vetting sweep) is told
 * apart: set NULL, then set back. */
struct srv_call *srv_call_set(struct srv_call *c);

/**
 * srv_vault_hook(ctx, ev, pindex): the vault's audit hook while the server
 * runs (coffre_vault_set_audit, installed by srv_ctx_init). Inside a
 * request: a disclosure or write on a route with no audit action is
 * refused; a disclosure must be of classes the principal may read of
 * that record (the protected rule of srv_policy_readable) and counts the
 * person in the guard; a write's entry, naming the caller, is made
 * durable before the write commits (r->audit_written). Outside any
 * request, writes are the server's own (role "server") and disclosures
 * are refused.
 */
int srv_vault_hook(void *ctx, const struct coffre_event *ev, uint64_t *pindex);

/**
 * srv_audit_unavailable(ctx, why, len): 1 with the reason in ${why} while
 * the vault is unsealed and its audit log refuses entries ("audit log
 * unavailable since 2026-01-02T03:04:05Z: entries: write: No space left on
 * device"); 0 otherwise. No personal value.
 */
int srv_audit_unavailable(struct srv_ctx *ctx, char *why, size_t len);

/** srv_audit_metrics(ctx, f): the audit log's Prometheus lines. */
void srv_audit_metrics(struct srv_ctx *ctx, FILE *f);

/** srv_audit_dispatch(ctx, route, req, r): the auditor routes. */
void srv_audit_dispatch(struct srv_ctx *ctx, size_t route,
                        const struct srv_req *req, struct srv_resp *r);

/* ---- auth.c ------------------------------------------------------ */

/**
 * srv_auth_session(cfg, session, pwho, why): verify the peer certificate of
 * the GnuTLS ${session} (chain to the configured client CA, validity) and
 * map it to a principal in *${pwho}; COFFRE_ERR_DENIED with ${why} (static
 * text) when there is none.
 */
int srv_auth_session(const struct srv_config *cfg, void *session,
                     const struct srv_principal **pwho, const char **why);

/**
 * srv_auth_trust_load(cfg, ca_pem, len): verify client certificates of
 * ${cfg} against the CA certificates of ${ca_pem} from now on (the trust
 * list is freed by srv_config_free). COFFRE_ERR_PARSE if ${ca_pem} holds
 * no certificate.
 */
int srv_auth_trust_load(struct srv_config *cfg, const char *ca_pem, size_t len);

/** srv_cert_fingerprint(pem, len, fp): SHA-256 of a PEM certificate's DER. */
int srv_cert_fingerprint(const char *pem, size_t len, unsigned char fp[32]);

/* ---- pki.c ------------------------------------------------------- */

/**
 * srv_pki_dev(dir, names, roles, n, fps): write a development CA
 * (${dir}/ca.pem), a server certificate for 127.0.0.1 and localhost
 * (${dir}/server.pem, server.key) and for each name a client certificate
 * with CN = name (${dir}/NAME.pem, NAME.key; keys 0600); fps[i] receives
 * the SHA-256 fingerprint of client i.
 */
int srv_pki_dev(const char *dir, const char *const *names, size_t n,
                unsigned char (*fps)[32]);

/* ---- http.c ------------------------------------------------------ */

struct srv_http;

/** srv_http_start(ctx, cert, key, ca, phttp): listen per ctx->cfg. */
int srv_http_start(struct srv_ctx *ctx, const char *cert_pem,
                   const char *key_pem, const char *ca_pem,
                   struct srv_http **phttp);
struct sockaddr_storage;
/**
 * srv_listen_parse(s, ss, pflags): "A.B.C.D:PORT" or "[V6]:PORT" to the
 * socket address ${ss}; *${pflags} MHD_USE_IPv6 for a V6 one. -1 if ${s}
 * is neither.
 */
int srv_listen_parse(const char *s, struct sockaddr_storage *ss,
                     unsigned *pflags);

/** srv_http_check_listen(listen, pwhy): whether ${listen} can be bound
 * now (a test bind, closed at once): COFFRE_OK, COFFRE_ERR_INUSE when a
 * process listens there, COFFRE_ERR_ARG if malformed, COFFRE_ERR_IO
 * otherwise; *${pwhy} says why in words (static). Checked at start,
 * before the slow setup, so that a busy port is named at once. */
int srv_http_check_listen(const char *listen, const char **pwhy);
/** srv_http_stop(h): stop accepting, finish running requests, free. */
void srv_http_stop(struct srv_http *h);

struct tls_cred;

/**
 * srv_tls_pair_load(cert, key, pc, err, errlen): the certificate chain
 * and key of the PEM texts ${cert} and ${key} in *${pc}, checked to be a
 * pair; COFFRE_ERR_PARSE with the reason in ${err}.
 */
int srv_tls_pair_load(const char *cert, const char *key, struct tls_cred **pc,
                      char *err, size_t errlen);

/** srv_tls_pair_free(c): free a pair never given to srv_http_use_pair. */
void srv_tls_pair_free(struct tls_cred *c);

/** srv_http_use_pair(h, c): serve ${c} (owned from now on) to every
 * handshake from now on; connections open keep theirs. */
void srv_http_use_pair(struct srv_http *h, struct tls_cred *c);

/** srv_http_alive(h, max_ms): 1 if every event loop of ${h} ran in the
 * last ${max_ms} ms (the watchdog's test, notify.c). */
int srv_http_alive(struct srv_http *h, unsigned max_ms);

#endif
