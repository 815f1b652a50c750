/*
 * coffre audit: the auditor's tool. "verify" checks a vault's log (an
 * export, or the server's audit endpoints) against the vault's verifier
 * key: signatures, forks, consistency with a saved checkpoint, and the
 * tree recomputed over every entry; it names the first break it finds.
 * "query" answers an auditor's questions over the entries. "repair" is
 * the operator's way out of a log the vault refuses to open.
 * Public API only (coffre/audit.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit_fetch.h"
#include "cli.h"
#include "cmd.h"
#include "coffre/audit.h"
#include "coffre/coffre.h"

#define CMD "audit"
#define NOTE_MAX (1u << 20)

struct ckpt {
    uint64_t size;
    unsigned char root[COFFRE_AUDIT_HASH_LEN];
};

/* What verify learnt from the log. */
struct log {
    struct ckpt *cps;
    size_t ncps;
    char *latest; /* note text of the last checkpoint */
    struct coffre_audit_tree *tree;
    int64_t bad_entry; /* first entry whose bytes miss its leaf, or -1 */
    uint64_t bad_off;  /* its byte offset in the entries file */
};

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int
fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stdout, "BREAK: ");
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fprintf(stdout, "\n");
    return 1;
}

/* The verifier key: a file holding it, or the string itself. */
static char *
load_key(const char *arg)
{
    size_t len;
    char *k = strchr(arg, '+') != NULL && strchr(arg, '/') == NULL
                  ? NULL
                  : cli_read_file(arg, 4096, &len);

    if (k == NULL) {
        k = strdup(arg);
    }
    if (k != NULL) {
        k[strcspn(k, "\r\n")] = '\0';
    }
    return k;
}

/* Why the record file ${path} stopped before its end, or 0. */
static int
stopped(int rc, const char *path, const char *what, const char *whats,
        uint64_t k, uint64_t off)
{
    if (rc == COFFRE_ERR_TOOBIG) {
        return fail("%s: %s %" PRIu64 " at byte offset %" PRIu64
                    " announces a length over the cap: the file is damaged "
                    "there, and nothing after it can be read",
                    path, what, k, off);
    }
    if (rc == COFFRE_ERR_PARSE) {
        return fail("%s: cut short after %" PRIu64 " %s (the file ends "
                    "inside the record at byte offset %" PRIu64
                    "): the log was truncated or torn",
                    path, k, whats, off);
    }
    if (rc != COFFRE_ERR_NOTFOUND) {
        return fail("%s: cannot read %s %" PRIu64, path, what, k);
    }
    return 0;
}

/* One stored checkpoint: its trailer, then its signature. */
static int
add_checkpoint(struct log *lg, const unsigned char *note, size_t len,
               const unsigned char stored[32], const char *vkey, uint64_t off)
{
    struct ckpt *c = realloc(lg->cps, (lg->ncps + 1) * sizeof(*c));
    unsigned char h[32];

    if (c == NULL) {
        return fail("out of memory");
    }
    lg->cps = c;
    c = &lg->cps[lg->ncps];
    coffre_audit_leaf_hash(note, len, h);
    if (memcmp(h, stored, 32) != 0) {
        return fail("checkpoint #%zu in the log (byte offset %" PRIu64
                    " of checkpoints): its bytes do not match its trailer "
                    "hash",
                    lg->ncps, off);
    }
    if (coffre_audit_checkpoint_verify((const char *)note, len, vkey, &c->size,
                                       c->root) != COFFRE_OK) {
        return fail("checkpoint #%zu in the log (byte offset %" PRIu64
                    " of checkpoints): its signature does not verify with "
                    "the key given",
                    lg->ncps, off);
    }
    lg->ncps++;
    free(lg->latest);
    lg->latest = strndup((const char *)note, len);
    return lg->latest == NULL ? fail("out of memory") : 0;
}

static int
read_checkpoints(const char *dir, const char *vkey, struct log *lg)
{
    char path[4096];
    struct coffre_audit_file *f;
    unsigned char *note = malloc(NOTE_MAX + 1), stored[32];
    size_t len;
    uint64_t off = 0;
    int rc, broke = 0;

    snprintf(path, sizeof(path), "%s/checkpoints", dir);
    if (note == NULL || coffre_audit_file_open(path, &f) != COFFRE_OK) {
        free(note);
        return fail("cannot read %s", path);
    }
    while (!broke && (rc = coffre_audit_file_next(f, note, NOTE_MAX, &len,
                                                  stored)) == COFFRE_OK) {
        broke = add_checkpoint(lg, note, len, stored, vkey, off);
        off = coffre_audit_file_offset(f);
    }
    coffre_audit_file_close(f);
    free(note);
    if (broke) {
        return 1;
    }
    if (stopped(rc, path, "checkpoint", "checkpoints", lg->ncps, off) != 0) {
        return 1;
    }
    return lg->ncps == 0 ? fail("the log holds no checkpoint") : 0;
}

/* Two heads of the same size with different roots prove a fork. */
static int
check_forks(const struct log *lg)
{
    for (size_t i = 0; i < lg->ncps; i++) {
        for (size_t j = i + 1; j < lg->ncps; j++) {
            if (lg->cps[i].size == lg->cps[j].size &&
                memcmp(lg->cps[i].root, lg->cps[j].root, 32) != 0) {
                return fail("two checkpoints of size %" PRIu64
                            " with different roots: the log forked",
                            lg->cps[i].size);
            }
            if (lg->cps[j].size < lg->cps[i].size) {
                return fail("checkpoint #%zu (size %" PRIu64
                            ") follows one of size %" PRIu64
                            ": the log was rolled back",
                            j, lg->cps[j].size, lg->cps[i].size);
            }
        }
    }
    return 0;
}

/* Every record of the entries file: a trailer that does not match is
 * remembered (the checkpoints tell more about it), anything else that
 * does not read or parse is a break where it stands. */
static int
read_entries(const char *dir, struct log *lg)
{
    char path[4096];
    struct coffre_audit_file *f;
    unsigned char b[COFFRE_AUDIT_ENTRY_MAX], stored[32], h[32];
    struct coffre_audit_entry e;
    size_t len;
    uint64_t i = 0, off = 0;
    int rc;

    snprintf(path, sizeof(path), "%s/entries", dir);
    if (coffre_audit_file_open(path, &f) != COFFRE_OK) {
        return fail("cannot read %s", path);
    }
    while ((rc = coffre_audit_file_next(f, b, sizeof(b), &len, stored)) ==
           COFFRE_OK) {
        coffre_audit_leaf_hash(b, len, h);
        if (memcmp(h, stored, 32) != 0) {
            if (lg->bad_entry < 0) {
                lg->bad_entry = (int64_t)i, lg->bad_off = off;
            }
        } else if (coffre_audit_entry_parse(b, len, &e) != COFFRE_OK) {
            coffre_audit_file_close(f);
            return fail("entry %" PRIu64 " (byte offset %" PRIu64
                        " of entries): its trailer matches but it is not a "
                        "canonical entry",
                        i, off);
        }
        coffre_audit_tree_add(lg->tree, stored);
        i++;
        off = coffre_audit_file_offset(f);
    }
    coffre_audit_file_close(f);
    return stopped(rc, path, "entry", "entries", i, off);
}

/* Every checkpoint must be a head of the tree the entries give. */
static int
check_heads(const struct log *lg)
{
    uint64_t n = coffre_audit_tree_size(lg->tree), good = 0;
    unsigned char r[32];

    for (size_t k = 0; k < lg->ncps; k++) {
        const struct ckpt *c = &lg->cps[k];

        if (c->size > n) {
            return fail("the log was truncated: checkpoint of size %" PRIu64
                        " but only %" PRIu64 " entries",
                        c->size, n);
        }
        coffre_audit_tree_root(lg->tree, c->size, r);
        if (memcmp(r, c->root, 32) != 0) {
            return fail("checkpoint of size %" PRIu64
                        " does not match the entries (the one of size "
                        "%" PRIu64 " does): an entry among %" PRIu64
                        "..%" PRIu64 " was altered, removed or inserted",
                        c->size, good, good, c->size - 1);
        }
        good = c->size;
    }
    if (lg->bad_entry >= 0) {
        return fail("entry %" PRId64 ": its bytes do not hash to the leaf "
                    "the tree needs (byte offset %" PRIu64 " of entries)",
                    lg->bad_entry, lg->bad_off);
    }
    return 0;
}

static int
check_saved(const struct log *lg, const char *saved, const char *vkey,
            const struct ckpt *latest)
{
    size_t len;
    char *note = cli_read_file(saved, NOTE_MAX, &len);
    struct ckpt s;
    unsigned char r[32];
    int bad;

    if (note == NULL) {
        return fail("cannot read your saved checkpoint %s", saved);
    }
    bad = coffre_audit_checkpoint_verify(note, len, vkey, &s.size, s.root);
    free(note);
    if (bad) {
        return fail("your saved checkpoint does not verify with this key");
    }
    if (s.size > latest->size) {
        return fail("the log's latest checkpoint (%" PRIu64
                    " entries) is older than your saved one (%" PRIu64
                    "): the log was rolled back",
                    latest->size, s.size);
    }
    coffre_audit_tree_root(lg->tree, s.size, r);
    if (memcmp(r, s.root, 32) != 0) {
        return fail("checkpoint of size %" PRIu64
                    " in the log is not consistent with your saved "
                    "checkpoint of size %" PRIu64,
                    latest->size, s.size);
    }
    printf("Consistent with your saved checkpoint of %" PRIu64 " entries.\n",
           s.size);
    return 0;
}

/* Entries past the latest checkpoint are not yet under a signature. */
static void
report_uncovered(const struct log *lg)
{
    uint64_t n = coffre_audit_tree_size(lg->tree);
    uint64_t m = lg->cps[lg->ncps - 1].size;

    if (n == m + 1) {
        printf("1 entry (%" PRIu64 ") follows the latest checkpoint: no "
               "signature covers it yet.\n",
               m);
    } else if (n > m) {
        printf("%" PRIu64 " entries (%" PRIu64 "..%" PRIu64
               ") follow the latest checkpoint: no signature covers them "
               "yet.\n",
               n - m, m, n - 1);
    }
}

static int
verify_log(const char *dir, const char *vkey, const char *saved,
           const char *save)
{
    struct log lg = {.bad_entry = -1};
    struct ckpt *latest;
    int rc;

    if (coffre_audit_tree_new(&lg.tree) != COFFRE_OK) {
        return fail("out of memory");
    }
    rc = read_checkpoints(dir, vkey, &lg);
    rc = rc ? rc : check_forks(&lg);
    rc = rc ? rc : read_entries(dir, &lg);
    rc = rc ? rc : check_heads(&lg);
    if (rc == 0) {
        latest = &lg.cps[lg.ncps - 1];
        printf("Checkpoint of %" PRIu64 " entries signed by %.*s verified"
               " (%zu checkpoints in the log, no fork).\n",
               latest->size, (int)strcspn(vkey, "+"), vkey, lg.ncps);
        rc = saved != NULL ? check_saved(&lg, saved, vkey, latest) : 0;
    }
    if (rc == 0) {
        printf("Recomputed the tree over %" PRIu64
               " entries: every checkpoint's root matches.\n",
               coffre_audit_tree_size(lg.tree));
        report_uncovered(&lg);
    }
    if (rc == 0 && save != NULL) {
        FILE *f = fopen(save, "w");

        if (f == NULL || fputs(lg.latest, f) < 0 || fclose(f) != 0) {
            rc = fail("cannot write %s", save);
        } else {
            printf("Saved the latest checkpoint to %s.\n", save);
        }
    }
    coffre_audit_tree_free(lg.tree);
    free(lg.cps);
    free(lg.latest);
    return rc;
}

/* ------------------------------------------------------------------ */
/* query                                                              */

struct query {
    const char *pseudonym, *principal;
    int counts;
    int64_t since, until; /* ms, inclusive since, exclusive until */
};

struct tally {
    char key[COFFRE_AUDIT_MAX_PURPOSE + COFFRE_AUDIT_MAX_ROLE + 8];
    uint64_t n;
};

static void
tally_add(struct tally **t, size_t *n, const char *key)
{
    struct tally *nt;

    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*t)[i].key, key) == 0) {
            (*t)[i].n++;
            return;
        }
    }
    nt = realloc(*t, (*n + 1) * sizeof(**t));
    if (nt == NULL) {
        return;
    }
    *t = nt;
    snprintf(nt[*n].key, sizeof(nt[*n].key), "%s", key);
    nt[(*n)++].n = 1;
}

static void
print_entry(uint64_t i, const struct coffre_audit_entry *e)
{
    char when[32];
    time_t t = (time_t)(e->time_ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%" PRIu64 " %s principal=%.16s role=%s action=%s pseudonym=%s "
           "classes=",
           i, when, e->principal, e->role, e->action,
           e->pseudonym[0] ? e->pseudonym : "-");
    for (int c = 0, first = 1; c < COFFRE_CLASS_COUNT; c++) {
        if (e->classes & COFFRE_CLASS_BIT(c)) {
            printf("%s%s", first ? "" : ",", coffre_class_name(c));
            first = 0;
        }
    }
    printf(" status=%u outcome=%s purpose=\"%s\"\n", e->status, e->outcome,
           e->purpose);
}

static int
query_match(const struct query *q, const struct coffre_audit_entry *e)
{
    return e->time_ms >= q->since && e->time_ms < q->until &&
           (q->pseudonym == NULL || strcmp(q->pseudonym, e->pseudonym) == 0) &&
           (q->principal == NULL ||
            strncmp(q->principal, e->principal, strlen(q->principal)) == 0);
}

/* A query over a damaged file says so, and fails: its answer is partial. */
static int
query_damage(const char *path, int rc, uint64_t bad, uint64_t bad_at,
             uint64_t n, uint64_t off)
{
    if (bad > 0) {
        cli_error(CMD,
                  "%s: %" PRIu64 " damaged records were left out (the "
                  "first at byte offset %" PRIu64
                  "): coffre audit verify tells more",
                  path, bad, bad_at);
    }
    if (rc != COFFRE_ERR_NOTFOUND) {
        cli_error(CMD,
                  "%s: the records after the first %" PRIu64
                  " cannot be read (byte offset %" PRIu64 ": %s)",
                  path, n, off,
                  rc == COFFRE_ERR_PARSE ? "the file ends inside a record"
                                         : "damaged or unreadable");
    }
    return bad > 0 || rc != COFFRE_ERR_NOTFOUND;
}

static int
query_log(const char *dir, const struct query *q)
{
    char path[4096], key[sizeof(((struct tally *)0)->key)];
    struct coffre_audit_file *f;
    unsigned char b[COFFRE_AUDIT_ENTRY_MAX], stored[32], h[32];
    struct coffre_audit_entry e;
    struct tally *roles = NULL, *purposes = NULL;
    size_t len, nroles = 0, npurposes = 0;
    uint64_t i = 0, hits = 0, off = 0, bad = 0, bad_at = 0;
    int rc;

    snprintf(path, sizeof(path), "%s/entries", dir);
    if (coffre_audit_file_open(path, &f) != COFFRE_OK) {
        cli_error(CMD, "cannot read %s", path);
        return 1;
    }
    for (; (rc = coffre_audit_file_next(f, b, sizeof(b), &len, stored)) == 0;
         i++, off = coffre_audit_file_offset(f)) {
        coffre_audit_leaf_hash(b, len, h);
        if (memcmp(h, stored, 32) != 0 ||
            coffre_audit_entry_parse(b, len, &e) != 0) {
            bad_at = bad++ == 0 ? off : bad_at;
            continue;
        }
        if (!query_match(q, &e)) {
            continue;
        }
        hits++;
        if (!q->counts) {
            print_entry(i, &e);
            continue;
        }
        tally_add(&roles, &nroles, e.role);
        snprintf(key, sizeof(key), "%s \"%s\"", e.role, e.purpose);
        tally_add(&purposes, &npurposes, key);
    }
    coffre_audit_file_close(f);
    for (size_t k = 0; k < nroles; k++) {
        printf("role %s: %" PRIu64 "\n", roles[k].key, roles[k].n);
    }
    for (size_t k = 0; k < npurposes; k++) {
        printf("role and purpose %s: %" PRIu64 "\n", purposes[k].key,
               purposes[k].n);
    }
    printf("%" PRIu64 " of %" PRIu64 " entries matched.\n", hits, i);
    free(roles);
    free(purposes);
    return query_damage(path, rc, bad, bad_at, i, off);
}

/* A time: unix seconds, or YYYY-MM-DD[THH:MM:SSZ] in UTC; -1 if bad. */
static int64_t
parse_time(const char *s)
{
    struct tm tm = {0};
    const char *end;
    uint64_t v;

    if (cli_parse_u64(s, INT64_MAX / 1000, &v) == 0) {
        return (int64_t)v * 1000;
    }
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0') {
        memset(&tm, 0, sizeof(tm));
        end = strptime(s, "%Y-%m-%d", &tm);
    }
    if (end == NULL || *end != '\0') {
        return -1;
    }
    return (int64_t)timegm(&tm) * 1000;
}

/* ------------------------------------------------------------------ */
/* Options and dispatch.                                              */

struct opts {
    const char *key; /* the verifier key (--vkey) once resolve_keys ran */
    const char *key_opt, *cert_key; /* --key as given; --cert-key (old) */
    const char *first_run;          /* --saved F that does not exist yet */
    const char *log, *url, *saved, *save, *out;
    const char *dir, *file, *cut_at; /* repair */
    const char *data, *store;        /* --data DIR [--store URI] */
    struct audit_remote rm;
    struct query q;
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: coffre audit verify --vkey VKEY_FILE_OR_STRING (--log "
               "EXPORT_DIR | --url URL\n"
               "                           | --data DIR [--store URI])\n"
               "                           [--saved CHECKPOINT] [--save "
               "CHECKPOINT]\n"
               "       coffre audit query (--log EXPORT_DIR | --url URL | "
               "--data DIR) "
               "(--pseudonym P | --principal FP\n"
               "                          | --counts) [--since T] [--until "
               "T]\n"
               "       coffre audit export --url URL --out DIR\n"
               "       coffre audit repair --dir AUDIT_DIR --cut-at OFFSET "
               "[--file entries|checkpoints]\n"
               "URL: https://HOST:PORT of the vault, with --cacert CA.pem "
               "--cert AUDITOR.pem\n"
               "--key AUDITOR.key (curl's spelling; mutual TLS, role "
               "auditor). Deprecated:\n"
               "--cert-key F for the client key, and then --key for the "
               "verifier key.\n"
               "--saved F: the checkpoint of your previous run; if F does "
               "not exist yet (a first\n"
               "run), the log is verified on its own and its latest "
               "checkpoint saved to F.\n"
               "--data DIR: the vault's own log, read directly: the files "
               "of DIR/audit, or the\n"
               "rows of its PostgreSQL store (no unseal needed).\n"
               "T: unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC).\n"
               "repair: for a log the vault refuses to open (a damaged "
               "record at OFFSET, which\n"
               "the refusal names): moves the bytes from OFFSET on to "
               "FILE.cut-OFFSET, then cuts\n"
               "FILE there; the server must be stopped. Never cuts entries "
               "a checkpoint covers.\n"
               "Exit status: 0 verified (a first run: checkpoint saved), 1 "
               "a break was found\n"
               "(or a local error), 2 usage, 3 the vault could not be "
               "reached or refused\n"
               "(connection, TLS, an HTTP error): nothing was verified.\n");
}

/* Where the argument of option ${c} goes when it is kept as given; NULL
 * for the others. */
static const char **
str_opt(struct opts *o, int c)
{
    switch (c) {
    case 'k':
        return &o->key_opt;
    case 'V':
        return &o->key;
    case 'l':
        return &o->log;
    case 'u':
        return &o->url;
    case 's':
        return &o->saved;
    case 'S':
        return &o->save;
    case 'p':
        return &o->q.pseudonym;
    case 'P':
        return &o->q.principal;
    case 'A':
        return &o->rm.cacert;
    case 'C':
        return &o->rm.cert;
    case 'K':
        return &o->cert_key;
    case 'o':
        return &o->out;
    case 'd':
        return &o->dir;
    case 'x':
        return &o->cut_at;
    case 'F':
        return &o->file;
    case 'D':
        return &o->data;
    case 'T':
        return &o->store;
    default:
        return NULL;
    }
}

/*
 * --key is curl's: the client key, beside --cert and --cacert. It used to
 * be the verifier key, the client key being --cert-key; that spelling
 * still works, with a warning: --cert-key given, or no --url (no client
 * key needed) and no --vkey, --key keeps its old meaning.
 */
static int
resolve_keys(struct opts *o)
{
    if (o->cert_key != NULL) {
        fprintf(stderr, "coffre audit: warning: --cert-key is deprecated: "
                        "give the client key as --key and the verifier key "
                        "as --vkey\n");
        if (o->key != NULL && o->key_opt != NULL) {
            cli_error(CMD, "--cert-key with --vkey: --key is then ambiguous");
            return -1;
        }
        o->rm.key = o->cert_key;
        o->key = o->key != NULL ? o->key : o->key_opt;
    } else if (o->key == NULL && o->url == NULL && o->key_opt != NULL) {
        fprintf(stderr, "coffre audit: warning: --key VKEY is deprecated "
                        "here: give the verifier key as --vkey\n");
        o->key = o->key_opt;
    } else {
        o->rm.key = o->key_opt;
    }
    return 0;
}

/* --saved F naming no file yet: a first run, the trust-on-first-use of a
 * verifier. The log is checked on its own and its latest checkpoint saved
 * to F (or --save), instead of a "cannot read" break. */
static void
first_run(struct opts *o)
{
    if (o->saved == NULL || access(o->saved, F_OK) == 0 || errno != ENOENT) {
        return;
    }
    o->first_run = o->saved;
    o->save = o->save != NULL ? o->save : o->saved;
    o->saved = NULL;
    printf("No saved checkpoint at %s: a first run. The log is verified on "
           "its own and its latest checkpoint saved for the next run.\n",
           o->first_run);
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"key", required_argument, NULL, 'k'},
        {"vkey", required_argument, NULL, 'V'},
        {"log", required_argument, NULL, 'l'},
        {"url", required_argument, NULL, 'u'},
        {"saved", required_argument, NULL, 's'},
        {"save", required_argument, NULL, 'S'},
        {"pseudonym", required_argument, NULL, 'p'},
        {"principal", required_argument, NULL, 'P'},
        {"counts", no_argument, NULL, 'c'},
        {"since", required_argument, NULL, 'f'},
        {"until", required_argument, NULL, 't'},
        {"cacert", required_argument, NULL, 'A'},
        {"cert", required_argument, NULL, 'C'},
        {"cert-key", required_argument, NULL, 'K'},
        {"out", required_argument, NULL, 'o'},
        {"dir", required_argument, NULL, 'd'},
        {"cut-at", required_argument, NULL, 'x'},
        {"file", required_argument, NULL, 'F'},
        {"data", required_argument, NULL, 'D'},
        {"store", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char **str;
    int c;

    o->q.until = INT64_MAX;
    while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
        if ((str = str_opt(o, c)) != NULL) {
            *str = optarg;
        } else if (c == 'c') {
            o->q.counts = 1;
        } else if (c == 'f' || c == 't') {
            *(c == 'f' ? &o->q.since : &o->q.until) = parse_time(optarg);
        } else if (c == 'h') {
            usage(stdout);
            exit(0);
        } else {
            return -1;
        }
    }
    if (o->q.since < 0 || o->q.until < 0) {
        cli_error(CMD, "a time is malformed");
        return -1;
    }
    return resolve_keys(o);
}

/* ------------------------------------------------------------------ */
/* --url: the server's endpoints.                                      */

/* Exit status 3: no verdict, the vault did not answer. */
static int
unreachable(const struct audit_remote *rm)
{
    cli_error(CMD,
              "the vault at %s could not be reached or refused: "
              "nothing was verified",
              rm->url);
    return 3;
}

/* The root of a verified checkpoint note. */
static int
note_head(const char *note, const char *vkey, struct ckpt *c)
{
    return coffre_audit_checkpoint_verify(note, strlen(note), vkey, &c->size,
                                          c->root);
}

/* The server's consistency proof from the saved checkpoint to ${latest}:
 * a second, independent check beside the recomputed tree. */
static int
remote_consistency(const struct audit_remote *rm, const char *saved,
                   const char *vkey, const struct ckpt *latest)
{
    size_t len;
    char *note = cli_read_file(saved, NOTE_MAX, &len), *json = NULL, q[96];
    unsigned char proof[COFFRE_AUDIT_MAX_PROOF * 32];
    struct ckpt s;
    size_t n = 0;
    int rc = note && note_head(note, vkey, &s) == 0 ? 0 : 1;
    free(note);
    if (rc != 0 || s.size == 0 || s.size > latest->size) {
        return rc; /* verify_log has named it; an empty tree needs no proof */
    }
    snprintf(q, sizeof(q),
             "/v1/audit/proof/consistency?from=%" PRIu64 "&to=%" PRIu64, s.size,
             latest->size);
    int got = audit_remote_get(rm, q, &json, &len);
    if (got == AUDIT_UNREACHABLE) {
        return unreachable(rm);
    }
    rc = got == 0 && audit_proof_parse(json, proof, &n) == 0 &&
                 coffre_audit_verify_consistency(s.size, latest->size, s.root,
                                                 latest->root, proof,
                                                 n) == COFFRE_OK
             ? 0
             : fail("the server's consistency proof from your saved "
                    "checkpoint (%" PRIu64 ") to %" PRIu64 " does not verify",
                    s.size, latest->size);
    free(json);
    if (rc == 0) {
        printf("The server's consistency proof from %" PRIu64 " to %" PRIu64
               " entries verifies.\n",
               s.size, latest->size);
    }
    return rc;
}

/* The server's inclusion proof of the last entry, against the leaf we
 * hashed ourselves. */
static int
remote_inclusion(const struct audit_remote *rm, const char *dir,
                 const struct ckpt *latest)
{
    char q[96], path[4096], *json = NULL;
    unsigned char proof[COFFRE_AUDIT_MAX_PROOF * 32], b[COFFRE_AUDIT_ENTRY_MAX];
    unsigned char leaf[32];
    struct coffre_audit_file *f = NULL;
    size_t n = 0, len;
    uint64_t last = latest->size - 1;
    snprintf(path, sizeof(path), "%s/entries", dir);
    if (coffre_audit_file_open(path, &f) != COFFRE_OK) {
        return fail("cannot read %s", path);
    }
    for (uint64_t i = 0; i <= last; i++) {
        if (coffre_audit_file_next(f, b, sizeof(b), &len, leaf) != 0) {
            coffre_audit_file_close(f);
            return fail("entries file cut short");
        }
    }
    coffre_audit_file_close(f);
    snprintf(q, sizeof(q),
             "/v1/audit/proof/inclusion?index=%" PRIu64 "&size=%" PRIu64, last,
             latest->size);
    int got = audit_remote_get(rm, q, &json, &len);
    if (got == AUDIT_UNREACHABLE) {
        return unreachable(rm);
    }
    int rc =
        got == 0 && audit_proof_parse(json, proof, &n) == 0 &&
                coffre_audit_verify_inclusion(leaf, last, latest->size, proof,
                                              n, latest->root) == COFFRE_OK
            ? 0
            : fail("the server's inclusion proof of entry %" PRIu64
                   " does not verify",
                   last);
    free(json);
    if (rc == 0) {
        printf("The server's inclusion proof of entry %" PRIu64 " verifies.\n",
               last);
    }
    return rc;
}

static int
remote_verify(const struct opts *o, const char *dir, const char *note)
{
    char *vkey = load_key(o->key);
    char path[4096];
    size_t len;
    snprintf(path, sizeof(path), "%s/vkey", dir);
    char *served = cli_read_file(path, 4096, &len);
    struct ckpt latest;
    int rc;
    if (vkey == NULL) {
        free(served);
        return fail("cannot read the key %s", o->key);
    }
    if (served != NULL) {
        served[strcspn(served, "\r\n")] = '\0';
    }
    if (served == NULL || strcmp(served, vkey) != 0) {
        rc = fail("the server announces another verifier key than yours "
                  "(%s)",
                  served ? served : "none");
    } else if (note_head(note, vkey, &latest) != COFFRE_OK) {
        rc = fail("the server's latest checkpoint does not verify with "
                  "your key");
    } else {
        rc = verify_log(dir, vkey, o->saved, o->save);
        if (rc == 0 && o->saved != NULL) {
            rc = remote_consistency(&o->rm, o->saved, vkey, &latest);
        }
        if (rc == 0 && latest.size > 0) {
            rc = remote_inclusion(&o->rm, dir, &latest);
        }
    }
    free(vkey);
    free(served);
    return rc;
}

/* verify, query or export against the server at o->url. */
static int
remote(const char *cmd, struct opts *o)
{
    char tmp[] = "/tmp/coffre-audit-XXXXXX";
    int exporting = strcmp(cmd, "export") == 0;
    char *note = NULL;
    uint64_t size = 0;
    int rc;
    if ((exporting && o->out == NULL) ||
        (!exporting && strcmp(cmd, "query") != 0 &&
         (strcmp(cmd, "verify") != 0 || o->key == NULL))) {
        usage(stderr);
        return 2;
    }
    const char *dir = exporting ? o->out : mkdtemp(tmp);
    if (dir == NULL) {
        cli_error(CMD, "cannot make a temporary directory");
        return 1;
    }
    o->rm.url = o->url;
    rc = audit_fetch(&o->rm, dir, &note, &size);
    if (rc == AUDIT_UNREACHABLE) {
        cli_error(CMD,
                  "the vault at %s could not be reached or refused: "
                  "nothing was verified",
                  o->url);
        rc = 3;
    } else if (rc != 0) {
        rc = fail("could not fetch the log from %s", o->url);
    } else if (exporting) {
        printf("Exported %" PRIu64 " entries and the latest checkpoint to "
               "%s (verify it with --log).\n",
               size, dir);
    } else if (strcmp(cmd, "query") == 0) {
        rc = query_log(dir, &o->q);
    } else {
        printf("Fetched %" PRIu64 " entries from %s.\n", size, o->url);
        first_run(o);
        rc = remote_verify(o, dir, note);
    }
    free(note);
    if (!exporting) {
        audit_rmtree(dir);
    }
    return rc;
}

/* --data: the log of a data directory, as an export in ${tmp} (made)
 * when its store keeps it, else the files of DIR/audit. NULL on error. */
static const char *
local_log(const struct opts *o, char *tmp, size_t cap, int *pmade)
{
    const struct coffre_store_opts so = {o->store, NULL};
    struct coffre_vault *v = NULL;
    int rc = coffre_vault_open_store(o->data, &so, &v);

    if (rc != COFFRE_OK) {
        cli_error(CMD, "%s", coffre_vault_errmsg(v));
        coffre_vault_close(v);
        return NULL;
    }
    if (mkdtemp(tmp) == NULL) {
        cli_error(CMD, "cannot make a temporary directory");
        coffre_vault_close(v);
        return NULL;
    }
    rc = coffre_audit_store_export(v, tmp);
    if (rc != COFFRE_OK && rc != COFFRE_ERR_NOTFOUND) {
        cli_error(CMD, "cannot read the log of %s: %s", o->data,
                  coffre_vault_errmsg(v));
    }
    coffre_vault_close(v);
    if (rc == COFFRE_OK) {
        printf("Read the log from the store of %s.\n", o->data);
        *pmade = 1;
        return tmp;
    }
    audit_rmtree(tmp);
    if (rc == COFFRE_ERR_NOTFOUND &&
        (size_t)snprintf(tmp, cap, "%s/audit", o->data) < cap) {
        return tmp;
    }
    return NULL;
}

/* repair: the operator's deliberate cut, the evidence kept aside. */
static int
repair(const struct opts *o)
{
    uint64_t off;
    int rc;

    if (o->dir == NULL || o->cut_at == NULL ||
        cli_parse_u64(o->cut_at, INT64_MAX, &off) != 0) {
        usage(stderr);
        return 2;
    }
    rc = coffre_audit_repair(o->dir, o->file ? o->file : "entries", off);
    if (rc != COFFRE_OK) {
        cli_error(CMD, "repair refused: %s (%s)", coffre_audit_open_errmsg(),
                  coffre_strerror(rc));
        return 1;
    }
    printf("%s.\n", coffre_audit_open_errmsg());
    return 0;
}

/* verify or query --data DIR: the log read from the vault's storage. */
static int
local(const char *cmd, struct opts *o)
{
    char tmp[4096] = "/tmp/coffre-audit-XXXXXX";
    const char *dir;
    char *vkey = NULL;
    int rc, made = 0;

    if (strcmp(cmd, "query") != 0 &&
        (strcmp(cmd, "verify") != 0 || o->key == NULL)) {
        usage(stderr);
        return 2;
    }
    if (o->key != NULL && (vkey = load_key(o->key)) == NULL) {
        cli_error(CMD, "cannot read the key %s", o->key);
        return 1;
    }
    dir = local_log(o, tmp, sizeof(tmp), &made);
    if (dir == NULL) {
        rc = 1;
    } else if (strcmp(cmd, "query") == 0) {
        rc = query_log(dir, &o->q);
    } else {
        first_run(o);
        rc = verify_log(dir, vkey, o->saved, o->save);
    }
    if (made) {
        audit_rmtree(tmp);
    }
    free(vkey);
    return rc;
}

int
cmd_audit(int argc, char **argv)
{
    struct opts o = {0};
    char *vkey;
    int rc;

    if (argc == 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || parse_opts(argc - 1, argv + 1, &o) != 0) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "repair") == 0) {
        return repair(&o);
    }
    if (o.url != NULL) {
        return remote(argv[1], &o);
    }
    if (o.data != NULL && o.log == NULL) {
        return local(argv[1], &o);
    }
    if (o.log == NULL) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "query") == 0) {
        return query_log(o.log, &o.q);
    }
    if (strcmp(argv[1], "verify") != 0 || o.key == NULL) {
        usage(stderr);
        return 2;
    }
    vkey = load_key(o.key);
    if (vkey == NULL) {
        cli_error(CMD, "cannot read the key %s", o.key);
        return 1;
    }
    first_run(&o);
    rc = verify_log(o.log, vkey, o.saved, o.save);
    free(vkey);
    return rc;
}
