/*
 * libFuzzer: request handling below TLS (routing, authorisation, query
 * arguments, JSON bodies, handlers) against a development vault.
 *
 * Input: one byte choosing the principal (or none), then lines: method,
 * path, query ("k=v&k=v", not decoded), and the rest is the body. "{P}"
 * in the path becomes the caller's pseudonym of a stored person, so that
 * the handlers behind a valid pseudonym are reached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coffre/audit.h"
#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct srv_ctx ctx;
static struct srv_config cfg;
static struct srv_principal principals[SRV_ROLE_COUNT + 1];
static char pseudonyms[SRV_ROLE_COUNT + 1][COFFRE_PSEUDONYM_LEN + 1];

static void
setup(void)
{
    static char dir[] = "/tmp/coffre-fuzz-XXXXXX";
    struct coffre_vault *v = NULL;
    struct coffre_gen_opts go = {.seed = 7, .photos = 0};
    struct coffre_gen *g = NULL;
    uint64_t id = 0;
    if (coffre_lib_init() != COFFRE_OK || mkdtemp(dir) == NULL ||
        coffre_vault_open_dev(dir, &v) != COFFRE_OK ||
        coffre_gen_new(&go, &g) != COFFRE_OK) {
        abort();
    }
    /* The persons are written like any others: through an audit log. */
    const struct coffre_actor actor = {NULL, "fuzz", NULL, NULL};
    struct coffre_audit *a = NULL;
    char log[sizeof(dir) + 8];
    snprintf(log, sizeof(log), "%s/audit", dir);
    if (coffre_audit_open(v, log, NULL, &a) != COFFRE_OK ||
        coffre_audit_attach(a, v, &actor) != COFFRE_OK) {
        abort();
    }
    for (int i = 0; i < 20; i++) {
        struct coffre_person *p = NULL;
        if (coffre_gen_next(g, &p) != COFFRE_OK ||
            coffre_vault_put(v, p, &id) != COFFRE_OK) {
            abort();
        }
        coffre_person_free(p);
    }
    coffre_audit_close(a);
    coffre_gen_free(g);
    srv_config_defaults(&cfg);
    /* Its audit log in the temporary directory, not in /audit. */
    snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", dir);
    for (int r = 0; r <= SRV_ROLE_COUNT; r++) {
        struct srv_principal *p = &principals[r];
        p->role = r < SRV_ROLE_COUNT ? r : SRV_ROLE_OFFICE;
        p->protected_access = r == SRV_ROLE_COUNT;
        snprintf(p->name, sizeof(p->name), "p%d", r);
        snprintf(p->audience, sizeof(p->audience), "%s",
                 srv_role_name(p->role));
        (void)coffre_vault_pseudonym(v, p->audience, id, pseudonyms[r]);
    }
    if (srv_ctx_init(&ctx, v, &cfg) != COFFRE_OK) {
        abort();
    }
}

/* The next line of [*pp, end) as a new string. */
static char *
line(const char **pp, const char *end)
{
    const char *nl = memchr(*pp, '\n', (size_t)(end - *pp));
    const char *stop = nl ? nl : end;
    char *s = strndup(*pp, (size_t)(stop - *pp));
    *pp = nl ? nl + 1 : end;
    return s;
}

static char *
expand(const char *path, const char *pseudonym)
{
    const char *at = strstr(path, "{P}");
    char *out = malloc(strlen(path) + COFFRE_PSEUDONYM_LEN + 1);
    if (at == NULL || out == NULL) {
        free(out);
        return strdup(path);
    }
    memcpy(out, path, (size_t)(at - path));
    strcpy(out + (at - path), pseudonym);
    strcat(out, at + 3);
    return out;
}

static void
split_query(struct srv_req *req, char *q)
{
    char *save = NULL;
    for (char *kv = strtok_r(q, "&", &save); kv != NULL;
         kv = strtok_r(NULL, "&", &save)) {
        if (req->nquery == SRV_QUERY_MAX) {
            req->query_overflow = 1;
            return;
        }
        char *eq = strchr(kv, '=');
        if (eq != NULL) {
            *eq = '\0';
        }
        req->query[req->nquery].key = kv;
        req->query[req->nquery].value = eq ? eq + 1 : "";
        req->nquery++;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        setup();
        ready = 1;
    }
    if (size < 1) {
        return 0;
    }
    int who = data[0] % (SRV_ROLE_COUNT + 2);
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    char *method = line(&p, end), *raw = line(&p, end), *query = line(&p, end);
    char *path = expand(raw, who <= SRV_ROLE_COUNT ? pseudonyms[who] : "");
    struct srv_req req;
    struct srv_resp resp;
    memset(&req, 0, sizeof(req));
    req.method = method;
    req.path = path;
    req.body = p;
    req.body_len = (size_t)(end - p);
    /* Mostly JSON, so that the handlers read the bodies (http.c gives the
     * header; anything else is 415 before a handler runs). */
    req.ctype = (data[0] & 0x80) ? "text/plain" : "application/json";
    req.who = who <= SRV_ROLE_COUNT ? &principals[who] : NULL;
    split_query(&req, query);
    srv_handle(&ctx, &req, &resp);
    if (resp.status < 200 || resp.status > 599 || resp.body == NULL) {
        abort();
    }
    srv_resp_free(&resp);
    free(method);
    free(raw);
    free(query);
    free(path);
    return 0;
}
