/*
 * A property test over the route table (issue 13, "What it must show"):
 * every route of srv_routes, every principal (one per role, an office with
 * and one without protected_access, and nobody), a few variants of query
 * and body each, served in-process by srv_handle against a development
 * vault holding protected and plain persons in every lifecycle state.
 * After each request, three properties:
 *   1. a caller without protected access finds no personal value of a
 *      protected person in the answer;
 *   2. a personal value of any person in the answer was counted for the
 *      guard: the person in resp.disclosed with disclosed_personal set,
 *      and the guard's window of that principal at least as large as the
 *      persons whose values it has received so far;
 *   3. a request that changed the vault (a digest of every live person's
 *      classes, the vault's counters and its approvals, read by the test
 *      through the library with its own hook) grew the audit log by an
 *      entry naming the caller's role.
 * The persons' personal values carry a tag, so that a substring search of
 * the answer finds them; a value the request itself carried (a search
 * argument, a submitted body) is not looked for in its answer.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "coffre/approval.h"
#include "coffre/audit.h"
#include "guard.h"
#include "server.h"

#define NPERS_MAX 160
#define NVAL 7
#define NWHO (SRV_ROLE_COUNT + 2) /* roles, office with access, nobody */
#define W_OFFICE_PA SRV_ROLE_COUNT
#define W_NOBODY (SRV_ROLE_COUNT + 1)

/* What a person is to the test: its personal values, where it lives. */
struct pers {
    char tag[4];
    int is_protected;
    int want;     /* the state it is brought back to; -1: leave it */
    int decided;  /* in vetting: with a favourable verdict */
    unsigned gen; /* creations so far (source keys) */
    uint64_t id;  /* 0: not stored, or erased */
    char val[NVAL][96];
    char photo_b64[96];
    char json[4096]; /* the application, as last submitted */
};

static struct pers pers[NPERS_MAX];
static size_t npers;

static struct srv_ctx ctx;
static struct srv_config cfg;
static struct guard_config gcfg;
static struct coffre_vault *vault;
static const struct srv_principal *who_of[NWHO];
static char who_name[NWHO][SRV_NAME_MAX + 1];

/* Persons whose personal values each principal received, for property 2. */
static uint64_t seen[NWHO][NPERS_MAX * 4];
static size_t nseen[NWHO];

static char last_approval[COFFRE_PSEUDONYM_LEN + 1] = "";
static char last_receipt[COFFRE_PSEUDONYM_LEN + 1] = "";
static unsigned long nrequests, nchecks, nfail_prot, nfail_guard, nfail_audit;
static unsigned long nchanged, nhits;
static int verbose;

static void
fail_note(unsigned long *counter, const char *what, const char *method,
          const char *path, const char *query, size_t w, unsigned status,
          const char *body)
{
    (*counter)++;
    if (*counter <= 5 || verbose) {
        fprintf(stderr, "FAIL %s: %s %s?%s as %s -> %u %.300s\n", what, method,
                path, query ? query : "", who_name[w], status,
                body ? body : "");
    }
}

static void
prop_check(int ok)
{
    nchecks++;
    CHECK(ok);
}

/* ---- the persons -------------------------------------------------- */

static const char *const val_names[NVAL] = {
    "surname", "given_names", "document", "email",
    "address", "photo_b64",   "photo_raw"};

static void
pers_values(struct pers *p)
{
    unsigned char jpeg[64];
    size_t n = 0;
    char raw[32], tag[4];
    memcpy(tag, p->tag, sizeof(tag)); /* not an argument overlapping p */
    snprintf(p->val[0], sizeof(p->val[0]), "Zorblat%s", tag);
    snprintf(p->val[1], sizeof(p->val[1]), "Quimby%s", tag);
    snprintf(p->val[2], sizeof(p->val[2]), "DX%s4821", tag);
    snprintf(p->val[3], sizeof(p->val[3]), "mail.%s@prop.example", tag);
    snprintf(p->val[4], sizeof(p->val[4]), "12 Rue Vexille%s", tag);
    snprintf(raw, sizeof(raw), "PHOTO-%s-UNIQUE-PAYLOAD", tag);
    jpeg[n++] = 0xff;
    jpeg[n++] = 0xd8;
    jpeg[n++] = 0xff;
    jpeg[n++] = 0xe0;
    memcpy(jpeg + n, raw, strlen(raw));
    n += strlen(raw);
    jpeg[n++] = 0xff;
    jpeg[n++] = 0xd9;
    sodium_bin2base64(p->photo_b64, sizeof(p->photo_b64), jpeg, n,
                      sodium_base64_VARIANT_ORIGINAL);
    memcpy(p->val[5], p->photo_b64, sizeof(p->photo_b64));
    snprintf(p->val[6], sizeof(p->val[6]), "%s", raw);
}

/* The application of ${p}: a generated person (organisation, venues,
 * birth data...) with the test's tagged personal values and a fresh
 * source key, valid until 2099 so that neither retention nor the badge's
 * validity interferes. */
static void
pers_json(struct pers *p, struct coffre_gen *g)
{
    struct coffre_person *gp = NULL;
    char *s = NULL, sk[64];
    json_error_t err;
    if (coffre_gen_next(g, &gp) != COFFRE_OK ||
        coffre_person_to_json(gp, COFFRE_CLASSES_ALL, &s) != COFFRE_OK) {
        abort();
    }
    json_t *o = json_loads(s, 0, &err);
    coffre_free(s);
    coffre_person_free(gp);
    json_t *pub = json_object_get(o, "public");
    json_t *id = json_object_get(o, "identity");
    json_t *ct = json_object_get(o, "contact");
    json_t *doc = json_object_get(o, "document");
    snprintf(sk, sizeof(sk), "SK-PROP-%s-%u", p->tag, p->gen++);
    json_object_set_new(o, "source_key", json_string(sk));
    json_object_set_new(o, "protected", json_boolean(p->is_protected));
    json_object_del(pub, "state");
    if (!p->is_protected) {
        json_object_set_new(pub, "category", json_string("athlete"));
    }
    json_object_set_new(pub, "valid_from", json_string("2025-01-01"));
    json_object_set_new(pub, "valid_until", json_string("2099-12-31"));
    json_object_set_new(id, "surname", json_string(p->val[0]));
    json_object_set_new(id, "given_names", json_string(p->val[1]));
    json_object_set_new(doc, "number", json_string(p->val[2]));
    json_object_set_new(doc, "expiry", json_string("2099-01-01"));
    json_object_set_new(ct, "email", json_string(p->val[3]));
    json_object_set_new(ct, "address", json_string(p->val[4]));
    json_object_set_new(o, "photo", json_pack("{s:s}", "jpeg", p->photo_b64));
    json_object_del(o, "vetting");
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (s == NULL || strlen(s) >= sizeof(p->json)) {
        abort();
    }
    memcpy(p->json, s, strlen(s) + 1);
    srv_jfree(s);
}

static struct coffre_gen *gen;

static struct pers *
pers_add(int is_protected, int want, int decided)
{
    if (npers == NPERS_MAX) {
        abort();
    }
    struct pers *p = &pers[npers];
    memset(p, 0, sizeof(*p));
    p->tag[0] = (char)('K' + npers / 26 % 16);
    p->tag[1] = (char)('A' + npers % 26);
    p->tag[2] = 'Q';
    p->is_protected = is_protected;
    p->want = want;
    p->decided = decided;
    pers_values(p);
    pers_json(p, gen);
    npers++;
    return p;
}

/* The state of every live person, by listing each state (no disclosure). */
static int
state_of(uint64_t id)
{
    uint64_t ids[NPERS_MAX * 4];
    size_t n = 0;
    for (int s = 0; s < COFFRE_STATE_COUNT; s++) {
        if (coffre_vault_list(vault, s, NULL, 0, ids, NPERS_MAX * 4, &n) !=
            COFFRE_OK) {
            continue;
        }
        for (size_t i = 0; i < n && i < NPERS_MAX * 4; i++) {
            if (ids[i] == id) {
                return s;
            }
        }
    }
    return -1;
}

static void
verdict(uint64_t id, int refuse)
{
    struct coffre_person *patch = NULL;
    char j[160];
    snprintf(j, sizeof(j),
             "{\"vetting\":{\"status\":\"%s\",\"decided_by\":\"setup\"}}",
             refuse ? "unfavourable" : "favourable");
    if (coffre_person_from_json(j, strlen(j), &patch, NULL) != COFFRE_OK ||
        coffre_vault_verdict(vault, id, patch, refuse) != COFFRE_OK) {
        abort();
    }
    coffre_person_free(patch);
}

/* Store ${p} anew and walk it to its state through the library (the
 * server's own writes: its hook records them as role "server"). */
static void
pers_store(struct pers *p)
{
    struct coffre_person *cp = NULL;
    int w = p->want;
    if (coffre_person_from_json(p->json, strlen(p->json), &cp, NULL) !=
            COFFRE_OK ||
        coffre_vault_put(vault, cp, &p->id) != COFFRE_OK) {
        abort();
    }
    coffre_person_free(cp);
    if (w == COFFRE_STATE_SUBMITTED) {
        return;
    }
    if (coffre_vault_set_state(vault, p->id, COFFRE_STATE_VETTING)) {
        abort();
    }
    if (w == COFFRE_STATE_REFUSED) {
        verdict(p->id, 1);
        return;
    }
    if (w == COFFRE_STATE_VETTING) {
        if (p->decided) {
            verdict(p->id, 0);
        }
        return;
    }
    verdict(p->id, 0);
    int path[] = {COFFRE_STATE_APPROVED, COFFRE_STATE_BADGE_ISSUED,
                  COFFRE_STATE_REVOKED};
    for (size_t i = 0; i < 3; i++) {
        if (coffre_vault_set_state(vault, p->id, path[i]) != COFFRE_OK) {
            abort();
        }
        if (path[i] == w) {
            return;
        }
    }
}

static int read_hook(void *arg, const struct coffre_event *ev,
                     uint64_t *pindex);

/* 1 if person ${id} has a verdict, read with the test's own hook. */
static int
has_verdict(uint64_t id)
{
    struct coffre_person *p = NULL;
    char *j = NULL;
    coffre_vault_set_audit(vault, read_hook, NULL);
    int rc =
        coffre_vault_get(vault, id, COFFRE_CLASS_BIT(COFFRE_CLASS_VETTING), &p);
    coffre_vault_set_audit(vault, srv_vault_hook, &ctx);
    int has = rc == COFFRE_OK &&
              coffre_person_to_json(p, COFFRE_CLASS_BIT(COFFRE_CLASS_VETTING),
                                    &j) == COFFRE_OK &&
              strstr(j, "\"status\"") != NULL;
    coffre_free(j);
    coffre_person_free(p);
    return has;
}

/* Bring every person back to its state: erased ones are submitted again
 * (a fresh source key), moved ones erased and submitted again. */
static void
pers_restore(void)
{
    for (size_t i = 0; i < npers; i++) {
        struct pers *p = &pers[i];
        if (p->want < 0) {
            continue;
        }
        int s = p->id ? state_of(p->id) : -1;
        if (s == p->want &&
            (s != COFFRE_STATE_VETTING || has_verdict(p->id) == p->decided)) {
            continue;
        }
        if (s >= 0) {
            (void)coffre_vault_erase(vault, p->id);
        }
        pers_json(p, gen);
        pers_store(p);
    }
}

/* ---- the digest of the vault --------------------------------------- */

static int
read_hook(void *arg, const struct coffre_event *ev, uint64_t *pindex)
{
    (void)arg;
    (void)pindex;
    return ev == NULL || !ev->write ? COFFRE_OK : COFFRE_ERR_DENIED;
}

/* Every live person's classes, the counters, the approvals: read by the
 * test through the library with a hook of its own, so that nothing of
 * it passes through the server. */
static void
vault_digest(unsigned char out[32])
{
    crypto_generichash_state h;
    struct coffre_vault_stats st;
    uint64_t ids[NPERS_MAX * 4], after = 0;
    size_t n = 0;
    crypto_generichash_init(&h, NULL, 0, 32);
    coffre_vault_set_audit(vault, read_hook, NULL);
    memset(&st, 0, sizeof(st));
    (void)coffre_vault_stats(vault, &st);
    crypto_generichash_update(&h, (const unsigned char *)&st, sizeof(st));
    do {
        if (coffre_vault_list(vault, -1, NULL, after, ids, NPERS_MAX * 4, &n) !=
            COFFRE_OK) {
            abort();
        }
        for (size_t i = 0; i < n && i < NPERS_MAX * 4; i++) {
            struct coffre_person *p = NULL;
            char *j = NULL;
            crypto_generichash_update(&h, (const unsigned char *)&ids[i], 8);
            if (coffre_vault_get(vault, ids[i], COFFRE_CLASSES_ALL, &p) ==
                    COFFRE_OK &&
                coffre_person_to_json(p, COFFRE_CLASSES_ALL, &j) == COFFRE_OK) {
                crypto_generichash_update(&h, (const unsigned char *)j,
                                          strlen(j));
            }
            coffre_free(j);
            coffre_person_free(p);
            after = ids[i];
        }
    } while (n == NPERS_MAX * 4);
    static struct coffre_approval ap[64];
    memset(ap, 0, sizeof(ap));
    if (coffre_vault_approval_list(vault, ap, 64, &n) == COFFRE_OK) {
        crypto_generichash_update(&h, (const unsigned char *)&n, sizeof(n));
        crypto_generichash_update(&h, (const unsigned char *)ap,
                                  sizeof(ap[0]) * (n < 64 ? n : 64));
    }
    coffre_vault_set_audit(vault, srv_vault_hook, &ctx);
    crypto_generichash_final(&h, out, 32);
}

/* ---- searching answers -------------------------------------------- */

static int
contains_ci(const char *hay, size_t hn, const char *needle)
{
    size_t nn = strlen(needle);
    if (nn == 0 || hn < nn) {
        return 0;
    }
    for (size_t i = 0; i + nn <= hn; i++) {
        size_t k = 0;
        while (k < nn && tolower((unsigned char)hay[i + k]) ==
                             tolower((unsigned char)needle[k])) {
            k++;
        }
        if (k == nn) {
            return 1;
        }
    }
    return 0;
}

struct sent {
    const char *query;
    const char *body;
};

/* The first value of ${p} in the answer that the request did not carry
 * itself, or NULL. */
static const char *
pers_in(const struct pers *p, const char *body, size_t len,
        const struct sent *s)
{
    for (int k = 0; k < NVAL; k++) {
        const char *v = p->val[k];
        if ((s->query && contains_ci(s->query, strlen(s->query), v)) ||
            (s->body && contains_ci(s->body, strlen(s->body), v))) {
            continue;
        }
        if (contains_ci(body, len, v)) {
            return val_names[k];
        }
    }
    return NULL;
}

static int
has_access(size_t w)
{
    const struct srv_principal *x = who_of[w];
    return x != NULL && (x->role == SRV_ROLE_VETTING ||
                         (x->role == SRV_ROLE_OFFICE && x->protected_access));
}

/* persons_in_window of principal ${w} in the guard's status. */
static long
guard_window(size_t w)
{
    json_t *st = guard_status(srv_guard(&ctx)),
           *ps = json_object_get(st, "principals");
    long n = -1;
    size_t i;
    json_t *o;
    json_array_foreach(ps, i, o)
    {
        if (strcmp(json_string_value(json_object_get(o, "name")),
                   who_of[w]->name) == 0) {
            n = (long)json_integer_value(
                json_object_get(o, "persons_in_window"));
        }
    }
    json_decref(st);
    return n;
}

static void
seen_add(size_t w, uint64_t id)
{
    for (size_t i = 0; i < nseen[w]; i++) {
        if (seen[w][i] == id) {
            return;
        }
    }
    if (nseen[w] < NPERS_MAX * 4) {
        seen[w][nseen[w]++] = id;
    }
}

static int
in_disclosed(const struct srv_resp *r, uint64_t id)
{
    for (size_t i = 0; i < r->ndisclosed; i++) {
        if (r->disclosed[i] == id) {
            return 1;
        }
    }
    return 0;
}

/* An answer's body and length, binary ones included. */
static size_t
body_len(const struct srv_resp *r)
{
    return r->body == NULL ? 0 : r->body_len ? r->body_len : strlen(r->body);
}

/* Did a new entry in [from, to) name the role of ${w}? */
static int
entry_of(struct coffre_audit *a, uint64_t from, uint64_t to, size_t w)
{
    unsigned char b[COFFRE_AUDIT_ENTRY_MAX];
    for (uint64_t i = from; i < to; i++) {
        struct coffre_audit_entry e;
        size_t n = 0;
        if (coffre_audit_entry_bytes(a, i, b, &n) == COFFRE_OK &&
            coffre_audit_entry_parse(b, n, &e) == COFFRE_OK &&
            strcmp(e.role, srv_role_name(who_of[w]->role)) == 0) {
            return 1;
        }
    }
    return 0;
}

/* ---- one request ---------------------------------------------------- */

static void
split_query(struct srv_req *req, char *q)
{
    char *save = NULL;
    for (char *kv = strtok_r(q, "&", &save); kv != NULL;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq != NULL) {
            *eq = '\0';
        }
        req->query[req->nquery].key = kv;
        req->query[req->nquery].value = eq ? eq + 1 : "";
        req->nquery++;
    }
}

/* Note ids the answer hands out for later requests (approvals, receipts,
 * persons created). */
static void
learn(size_t route, size_t w, const struct srv_resp *r, struct pers *created)
{
    json_error_t err;
    json_t *o =
        r->status < 300 && r->body ? json_loads(r->body, 0, &err) : NULL;
    const char *s;
    if (route == R_APPROVAL_CREATE &&
        (s = json_string_value(json_object_get(o, "id"))) != NULL) {
        snprintf(last_approval, sizeof(last_approval), "%s", s);
    }
    if ((s = json_string_value(json_object_get(o, "receipt"))) != NULL) {
        snprintf(last_receipt, sizeof(last_receipt), "%s", s);
    }
    if (created != NULL && r->status == 201 &&
        (s = json_string_value(json_object_get(o, "pseudonym"))) != NULL) {
        (void)coffre_vault_resolve(vault, who_of[w]->audience, s, &created->id);
    }
    json_decref(o);
}

/* Serve one request as principal ${w} and check the three properties;
 * ${target}: the person the path names, or NULL. Returns the status. */
static unsigned
one(size_t route, size_t w, const char *path, const char *query,
    const char *body, struct pers *target, struct pers *created,
    const char **pcode)
{
    struct srv_req req;
    struct srv_resp r;
    unsigned char d0[32], d1[32];
    char qbuf[512];
    struct sent sent = {query, body};
    struct coffre_audit *a = srv_audit_get(&ctx);
    memset(&req, 0, sizeof(req));
    req.method = srv_routes[route].method;
    req.path = path;
    req.who = who_of[w];
    if (query != NULL) {
        snprintf(qbuf, sizeof(qbuf), "%s", query);
        split_query(&req, qbuf);
    }
    if (body != NULL) {
        req.body = body;
        req.body_len = strlen(body);
        req.ctype = "application/json";
    }
    vault_digest(d0);
    uint64_t a0 = coffre_audit_size(a);
    srv_handle(&ctx, &req, &r);
    uint64_t a1 = coffre_audit_size(a);
    vault_digest(d1);
    nrequests++;
    if (getenv("PROP_TRACE") != NULL) {
        fprintf(stderr, "TRACE %s %s?%s %s -> %u %.120s\n", req.method,
                srv_routes[route].path, query ? query : "", who_name[w],
                r.status, r.body ? r.body : "");
    }
    size_t len = body_len(&r);
    const char *b = r.body ? r.body : "";

    /* 1 and 2: personal values in the answer. */
    int any_hit = 0;
    for (size_t i = 0; i < npers; i++) {
        struct pers *p = &pers[i];
        const char *v = pers_in(p, b, len, &sent);
        /* A badge carries the names, Base45-encoded: its issue answer
         * discloses the target's identity whatever the search finds. */
        if (v == NULL && route == R_BADGE_ISSUE && r.status < 300 &&
            p == target) {
            v = "badge names";
        }
        if (p->is_protected && !has_access(w)) {
            prop_check(v == NULL);
            if (v != NULL) {
                fail_note(&nfail_prot, v, req.method, path, query, w, r.status,
                          b);
            }
        }
        if (v == NULL) {
            continue;
        }
        any_hit = 1;
        nhits++;
        int counted = w != W_NOBODY && p->id != 0 && in_disclosed(&r, p->id) &&
                      r.disclosed_personal;
        prop_check(counted);
        if (!counted) {
            fail_note(&nfail_guard, "not counted", req.method, path, query, w,
                      r.status, v);
        } else {
            seen_add(w, p->id);
        }
    }
    if (any_hit && w != W_NOBODY) {
        long n = guard_window(w);
        int ok = n >= (long)nseen[w];
        prop_check(ok);
        if (!ok) {
            char why[64];
            snprintf(why, sizeof(why), "window %ld < %zu persons seen", n,
                     nseen[w]);
            fail_note(&nfail_guard, "guard window", req.method, path, query, w,
                      r.status, why);
        }
    }

    /* 3: a change of the vault has its entry, naming the caller. */
    if (sodium_memcmp(d0, d1, 32) != 0) {
        nchanged++;
        int ok = w != W_NOBODY && a1 > a0 && entry_of(a, a0, a1, w);
        prop_check(ok);
        if (!ok) {
            fail_note(&nfail_audit, "unaudited change", req.method, path, query,
                      w, r.status, b);
        }
        /* Reads do not change the vault. */
        prop_check(strcmp(req.method, "GET") != 0);
    }
    learn(route, w, &r, created);
    unsigned st = r.status;
    if (pcode != NULL) {
        static char code[64];
        json_error_t err;
        json_t *o = json_loads(b, 0, &err);
        const char *c = json_string_value(
            json_object_get(json_object_get(o, "error"), "code"));
        const char *m = json_string_value(
            json_object_get(json_object_get(o, "error"), "message"));
        /* admit()'s refusal of the role: "role R may not use ROUTE" */
        int role = c && strcmp(c, "forbidden") == 0 && m &&
                   strncmp(m, "role ", 5) == 0 && strstr(m, "may not use");
        snprintf(code, sizeof(code), "%s", role ? "role" : c ? c : "");
        json_decref(o);
        *pcode = code;
    }
    srv_resp_free(&r);
    return st;
}

/* ---- the variants ----------------------------------------------------- */

static const char *const get_queries[] = {
    NULL, "purpose=property",
    "purpose=property&fields=public,identity,contact,document,photo,vetting",
    "purpose=property&fields=public,identity,photo",
    "purpose=property&fields=identity,contact,document,vetting"};

static char *
patch_body(const struct pers *p, int kind)
{
    json_error_t err;
    json_t *o = json_loads(p->json, 0, &err), *out = json_object();
    const char *cls = kind == 0 ? "contact" : kind == 1 ? "identity" : "public";
    json_t *c = json_deep_copy(json_object_get(o, cls));
    if (kind == 0) {
        json_object_set_new(c, "phone", json_string("+33698765432"));
    } else if (kind == 1) {
        json_object_set_new(c, "birth_place", json_string("Patched"));
    } else {
        json_object_set_new(c, "organisation", json_string("Patched Org"));
    }
    json_object_set_new(out, cls, c);
    char *s = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    json_decref(o);
    char *copy = strdup(s); /* jansson's allocator is not malloc's */
    srv_jfree(s);
    return copy;
}

/* The path of ${route} with ${param} in its "{...}" segment. */
static void
path_of(size_t route, const char *param, char *out, size_t cap)
{
    const char *t = srv_routes[route].path, *open = strchr(t, '{');
    if (open == NULL) {
        snprintf(out, cap, "%s", t);
        return;
    }
    const char *close = strchr(open, '}');
    int n =
        snprintf(out, cap, "%.*s%s%s", (int)(open - t), t, param, close + 1);
    if (n < 0 || (size_t)n >= cap) {
        abort();
    }
}

static int
is_person_route(size_t route)
{
    return strstr(srv_routes[route].path, "{pseudonym}") != NULL;
}

/* The routes that name a person, for principal ${w}: each person by the
 * caller's pseudonym, each variant. */
static void
person_route(size_t route, size_t w)
{
    char path[256], ps[COFFRE_PSEUDONYM_LEN + 1];
    const char *aud = who_of[w] ? who_of[w]->audience : "office";
    static const char *const states[] = {
        "{\"state\":\"vetting\"}", "{\"state\":\"approved\"}",
        "{\"state\":\"badge_issued\"}", "{\"state\":\"revoked\"}",
        "{\"state\":\"expired\"}"};
    static const char *const verdicts[] = {"{\"verdict\":\"favourable\"}",
                                           "{\"verdict\":\"unfavourable\"}"};
    for (size_t i = 0; i < npers; i++) {
        struct pers *p = &pers[i];
        if (p->id == 0) {
            continue;
        }
        if (coffre_vault_pseudonym(vault, aud, p->id, ps) != COFFRE_OK) {
            abort();
        }
        path_of(route, ps, path, sizeof(path));
        const char *code = NULL;
        unsigned st = 0;
        switch (route) {
        case R_PERSON_GET:
        case R_SUBJECT_ACCESS:
        case R_BADGE_ISSUE:
            for (size_t k = 0; k < 5; k++) {
                st = one(route, w, path, get_queries[k], NULL, p, NULL, &code);
            }
            break;
        case R_PERSON_PATCH:
            for (int k = 0; k < 3; k++) {
                char *b = patch_body(p, k);
                st = one(route, w, path, NULL, b, p, NULL, &code);
                free(b);
            }
            break;
        case R_PERSON_STATE:
            for (size_t k = 0; k < 5; k++) {
                st = one(route, w, path, NULL, states[k], p, NULL, &code);
            }
            break;
        case R_VETTING_VERDICT:
            for (size_t k = 0; k < 2; k++) {
                st = one(route, w, path, NULL, verdicts[k], p, NULL, &code);
            }
            break;
        default: /* DELETE */
            st = one(route, w, path, NULL, NULL, p, NULL, &code);
            break;
        }
        /* A role the route does not serve is refused before anything
         * else: one person shows it. */
        if (st == 401 || (st == 403 && strcmp(code, "role") == 0)) {
            break;
        }
    }
}

static void
list_route(size_t route, size_t w)
{
    char q[512];
    const struct pers *pp = &pers[0]; /* a protected person */
    const char *path = srv_routes[route].path;
    one(route, w, path, NULL, NULL, NULL, NULL, NULL);
    one(route, w, path, "purpose=property", NULL, NULL, NULL, NULL);
    one(route, w, path, "limit=3", NULL, NULL, NULL, NULL);
    if (route != R_PERSONS_LIST) {
        return;
    }
    for (int s = 0; s < COFFRE_STATE_COUNT; s++) {
        snprintf(q, sizeof(q), "purpose=property&state=%s",
                 coffre_state_name(s));
        one(route, w, path, q, NULL, NULL, NULL, NULL);
    }
    one(route, w, path, "purpose=property&category=athlete&limit=2", NULL, NULL,
        NULL, NULL);
    one(route, w, path, "purpose=property&state=badge_issued&limit=1", NULL,
        NULL, NULL, NULL);
    snprintf(q, sizeof(q), "purpose=property&document_number=%s", pp->val[2]);
    one(route, w, path, q, NULL, NULL, NULL, NULL);
    snprintf(q, sizeof(q), "document_number=%s", pp->val[2]);
    one(route, w, path, q, NULL, NULL, NULL, NULL);
    snprintf(q, sizeof(q), "purpose=property&email=%s", pp->val[3]);
    one(route, w, path, q, NULL, NULL, NULL, NULL);
    json_error_t err;
    json_t *o = json_loads(pp->json, 0, &err);
    snprintf(q, sizeof(q),
             "purpose=property&surname=%s&given_names=%s&birth_date=%s",
             pp->val[0], pp->val[1],
             json_string_value(json_object_get(json_object_get(o, "identity"),
                                               "birth_date")));
    json_decref(o);
    one(route, w, path, q, NULL, NULL, NULL, NULL);
}

static void
post_persons(size_t w)
{
    const char *path = srv_routes[R_PERSONS_POST].path;
    struct pers *fresh = pers_add(0, -1, 0), *prot = pers_add(1, -1, 0);
    one(R_PERSONS_POST, w, path, NULL, fresh->json, NULL, fresh, NULL);
    one(R_PERSONS_POST, w, path, NULL, prot->json, NULL, prot, NULL);
    /* A retry of a stored application, a protected one. */
    one(R_PERSONS_POST, w, path, NULL, pers[0].json, NULL, NULL, NULL);
    one(R_PERSONS_POST, w, path, NULL, "{\"public\":{}}", NULL, NULL, NULL);
}

static void
other_route(size_t route, size_t w)
{
    char path[256], body[256];
    const char *id = last_approval[0]
                         ? last_approval
                         : "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    uint32_t epoch = 0;
    switch (route) {
    case R_APPROVAL_GET:
    case R_APPROVAL_APPROVE:
        path_of(route, id, path, sizeof(path));
        one(route, w, path, NULL, NULL, NULL, NULL, NULL);
        return;
    case R_RECEIPT_GET:
        path_of(route,
                last_receipt[0] ? last_receipt
                                : "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                path, sizeof(path));
        one(route, w, path, NULL, NULL, NULL, NULL, NULL);
        return;
    case R_EPOCH_DESTROY:
        coffre_vault_set_audit(vault, read_hook, NULL);
        (void)coffre_vault_epoch_of(vault, pers[3].id, &epoch);
        coffre_vault_set_audit(vault, srv_vault_hook, &ctx);
        snprintf(body, sizeof(body), "%u", epoch);
        path_of(route, body, path, sizeof(path));
        snprintf(body, sizeof(body), "{\"approval\":\"%s\"}", id);
        one(route, w, path, NULL, body, NULL, NULL, NULL);
        return;
    case R_APPROVAL_CREATE:
        snprintf(body, sizeof(body),
                 "{\"operation\":\"bulk_read\",\"scope\":\"%s:10\"}",
                 who_of[w] ? who_of[w]->name : "office");
        one(route, w, srv_routes[route].path, NULL, body, NULL, NULL, NULL);
        coffre_vault_set_audit(vault, read_hook, NULL);
        (void)coffre_vault_epoch_of(vault, pers[3].id, &epoch);
        coffre_vault_set_audit(vault, srv_vault_hook, &ctx);
        snprintf(body, sizeof(body),
                 "{\"operation\":\"epoch_destroy\",\"scope\":\"%u\"}", epoch);
        one(route, w, srv_routes[route].path, NULL, body, NULL, NULL, NULL);
        return;
    case R_UNSEAL:
        one(route, w, srv_routes[route].path, NULL, "{\"share\":\"x\"}", NULL,
            NULL, NULL);
        return;
    case R_SEAL:
        /* A custodian's seal would forget this development vault's keys
         * for good (no shares to unseal it again): the others are
         * refused here, the seal itself is tests/server/operator.sh's. */
        if (who_of[w] == NULL || who_of[w]->role != SRV_ROLE_CUSTODIAN) {
            one(route, w, srv_routes[route].path, NULL, NULL, NULL, NULL, NULL);
        }
        return;
    case R_GUARD_REINSTATE:
        one(route, w, srv_routes[route].path, NULL,
            "{\"principal\":\"office\"}", NULL, NULL, NULL);
        return;
    case R_AUDIT_INCLUSION:
        one(route, w, srv_routes[route].path, "index=0&size=1", NULL, NULL,
            NULL, NULL);
        break;
    case R_AUDIT_CONSISTENCY:
        one(route, w, srv_routes[route].path, "from=1&to=2", NULL, NULL, NULL,
            NULL);
        break;
    case R_AUDIT_ENTRIES:
        one(route, w, srv_routes[route].path, "start=0&end=1000", NULL, NULL,
            NULL, NULL);
        break;
    case R_CONSOLE_ASSET: /* a file, and a name that is none */
        path_of(route, "app.js", path, sizeof(path));
        one(route, w, path, NULL, NULL, NULL, NULL, NULL);
        path_of(route, "secrets.js", path, sizeof(path));
        one(route, w, path, NULL, NULL, NULL, NULL, NULL);
        return;
    default:
        break;
    }
    one(route, w, srv_routes[route].path, NULL, NULL, NULL, NULL, NULL);
    one(route, w, srv_routes[route].path, "purpose=property", NULL, NULL, NULL,
        NULL);
}

/* ---- set-up --------------------------------------------------------- */

static void
principals(void)
{
    static struct srv_principal ps[NWHO - 1];
    for (size_t w = 0; w < NWHO - 1; w++) {
        struct srv_principal *p = &ps[w];
        p->role = w < SRV_ROLE_COUNT ? (int)w : SRV_ROLE_OFFICE;
        p->protected_access = w == W_OFFICE_PA;
        snprintf(p->name, sizeof(p->name), "%s%s", srv_role_name(p->role),
                 w == W_OFFICE_PA ? "-protected" : "");
        snprintf(p->audience, sizeof(p->audience), "%s",
                 srv_role_name(p->role));
        p->has_fingerprint = 1;
        randombytes_buf(p->fingerprint, 32);
        memcpy(who_name[w], p->name, sizeof(who_name[w]));
    }
    cfg.principals = ps;
    cfg.nprincipals = NWHO - 1;
    for (size_t w = 0; w < NWHO - 1; w++) {
        who_of[w] = &cfg.principals[w];
    }
    who_of[W_NOBODY] = NULL;
    snprintf(who_name[W_NOBODY], sizeof(who_name[W_NOBODY]), "(nobody)");
}

/* The guard counts as it does in production, with no limit that would
 * stop the matrix: rates, quotas and thresholds off, a day-long window. */
static void
guard_setup(const char *dir)
{
    guard_config_defaults(&gcfg);
    gcfg.enabled = 1;
    for (int r = 0; r < SRV_ROLE_COUNT; r++) {
        struct guard_limits *l = &gcfg.role[r];
        l->rate = 0;
        l->persons_hour = 0;
        l->persons_day = 0;
        l->bulk_threshold = 0;
        l->list_threshold = 0;
        l->window = 86400;
    }
    gcfg.poison_count = 0;
    snprintf(gcfg.state_file, sizeof(gcfg.state_file), "%s/guard-state.json",
             dir);
    snprintf(gcfg.poison_file, sizeof(gcfg.poison_file), "%s/poison.txt", dir);
    cfg.guard = &gcfg;
}

static void
setup(void)
{
    char err[512];
    struct coffre_gen_opts go = {.seed = 13, .photos = 0};
    /* The log's and the store's syncs on a disk would make this the
     * slowest unit test: memory when the machine has it. */
    if (getenv("TMPDIR") == NULL && access("/dev/shm", W_OK) == 0) {
        setenv("TMPDIR", "/dev/shm", 1);
    }
    const char *dir = check_tmpdir();
    if (coffre_vault_open_dev(dir, &vault) != COFFRE_OK ||
        coffre_gen_new(&go, &gen) != COFFRE_OK) {
        abort();
    }
    srv_config_defaults(&cfg);
    snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", dir);
    principals();
    guard_setup(dir);
    if (srv_ctx_init(&ctx, vault, &cfg) != COFFRE_OK ||
        srv_audit_start(&ctx, err, sizeof(err)) != COFFRE_OK ||
        srv_audit_get(&ctx) == NULL) {
        fprintf(stderr, "setup: %s\n", err);
        abort();
    }
    /* Protected persons first: pers[0] is the one searched for. */
    pers_add(1, COFFRE_STATE_BADGE_ISSUED, 0);
    pers_add(1, COFFRE_STATE_VETTING, 0);
    pers_add(1, COFFRE_STATE_APPROVED, 0);
    pers_add(0, COFFRE_STATE_SUBMITTED, 0);
    pers_add(0, COFFRE_STATE_VETTING, 0);
    pers_add(0, COFFRE_STATE_VETTING, 1);
    pers_add(0, COFFRE_STATE_APPROVED, 0);
    pers_add(0, COFFRE_STATE_BADGE_ISSUED, 0);
    pers_add(0, COFFRE_STATE_REVOKED, 0);
    pers_add(0, COFFRE_STATE_REFUSED, 0);
    pers_add(1, COFFRE_STATE_SUBMITTED, 0);
    pers_add(1, COFFRE_STATE_REVOKED, 0);
    pers_add(1, COFFRE_STATE_VETTING, 1);
    for (size_t i = 0; i < npers; i++) {
        pers_store(&pers[i]);
    }
}

static void
test_route_matrix(void)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    setup();
    for (size_t route = 0; route < R__COUNT; route++) {
        for (size_t w = 0; w < NWHO; w++) {
            pers_restore();
            if (is_person_route(route)) {
                person_route(route, w);
            } else if (route == R_PERSONS_POST) {
                post_persons(w);
            } else if (route == R_PERSONS_LIST || route == R_VETTING_PENDING) {
                list_route(route, w);
            } else {
                other_route(route, w);
            }
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr,
            "route property: %d routes x %d principals: %lu requests, %lu "
            "checks, %lu answers with personal values, %lu vault changes; "
            "failures: protected %lu, guard %lu, audit %lu; %.1f s\n",
            (int)R__COUNT, NWHO, nrequests, nchecks, nhits, nchanged,
            nfail_prot, nfail_guard, nfail_audit,
            (double)(t1.tv_sec - t0.tv_sec) +
                (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    CHECK(nhits > 0 && nchanged > 0); /* the matrix reached both */
    srv_ctx_destroy(&ctx);
    coffre_vault_close(vault);
    coffre_gen_free(gen);
}

int
main(void)
{
    if (coffre_lib_init() != COFFRE_OK) {
        return 2;
    }
    verbose = getenv("PROP_VERBOSE") != NULL;
    RUN(test_route_matrix);
    return check_done();
}
