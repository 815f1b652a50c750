/*
 * `coffre server`: options, the development mode, process hardening
 * (no core dumps, privileges dropped after binding), and the signal loop
 * that sweeps expired vetting requests and shuts down cleanly.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../cmd.h"
#include "coffre/audit.h"
#include "coffre/seal.h"
#include "approval.h"
#include "badges.h"
#include "config_check.h"
#include "guard.h"
#include "notify.h"
#include "server.h"

struct opts {
    const char *config;
    const char *listen;
    const char *dev_dir;
    const char *user;
    const char *store; /* dev: --store URI */
    int dev, dev_shares, tls12, list_routes, help;
    int policy_hash; /* --policy-hash: print the digest, exit */
    long persons;
    long deadline;
    long threads;
    const char *guard_config; /* dev: the "guard" object, from a file */
    const char *check_config; /* --check-config FILE: parse it, exit */
    int no_guard;             /* dev, benchmarks only (bench/guard.sh) */
    long approval_ttl, retention, retention_sweep; /* dev; -1: default */
    const char *health_listen; /* --health-listen: plain health port */
    int health_public;         /* --health-public: not only loopback */
};

struct run {
    struct opts o;
    struct srv_config cfg;
    struct coffre_vault *vault;
    char tmp_store[64]; /* dev: the temporary store, removed at exit */
    char dev_dir[PATH_MAX];
    char dev_config[PATH_MAX + 16]; /* dev: DIR/server.json, for reloads */
    char vkey_path[PATH_MAX + 16];  /* dev: DIR/audit.vkey */
    char *cert, *key, *ca;
    json_t *guard_json;          /* dev: --guard-config, or {} */
    struct guard_config *dev_gc; /* dev: parsed, to plant while loading */
    char *cfg_text;              /* the configuration file, as parsed */
    size_t cfg_len;
    unsigned char policy[SRV_POLICY_LEN]; /* its digest (policy_hash.c) */
    struct coffre_audit *dev_audit;       /* dev: the log while loading data */
};

/* Principals of the development mode: every role, plus an office
 * principal without protected access and a named system with its own
 * pseudonyms, so that both rules can be tried. */
static const struct {
    const char *name, *role, *audience;
    int protected_access;
} dev_principals[] = {
    {"platform", "platform", NULL, 0},
    {"office", "office", NULL, 1},
    {"vetting", "vetting", NULL, 0},
    {"gate", "gate", NULL, 0},
    {"printer", "printer", NULL, 0},
    {"auditor", "auditor", NULL, 0},
    {"custodian", "custodian", NULL, 0},
    {"admin", "admin", NULL, 0},
    {"custodian2", "custodian", NULL, 0}, /* m-of-n approvals need more */
    {"custodian3", "custodian", NULL, 0},
    {"office-restricted", "office", NULL, 0},
    {"partner", "platform", "partner-system", 0},
};
#define NDEV (sizeof(dev_principals) / sizeof(dev_principals[0]))

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: coffre server --config FILE [--policy-hash]\n"
            "       coffre server --dev [--listen ADDR:PORT] [--dev-dir DIR]\n"
            "                     [--demo-persons N] [--dev-shares]\n"
            "       coffre server --list-routes\n"
            "       coffre server --check-config FILE\n"
            "options: --threads N --tls12 --user U\n"
            "         --health-listen ADDR:PORT [--health-public]\n"
            "dev only: --guard-config FILE (the \"guard\" object, "
            "docs/guard.md)\n"
            "          --no-guard (benchmarks only: bench/guard.sh)\n"
            "dev only: --approval-ttl SECS --retention SECS "
            "--retention-sweep SECS\n"
            "          --vetting-deadline SECS\n"
            "          --store URI (a PostgreSQL database holding no vault: "
            "docs/storage.md)\n"
            "\n"
            "Serve the HTTPS API (docs/openapi.yaml) with client certificates\n"
            "required. --config names a JSON configuration (docs/server.md);\n"
            "--dev starts an unsealed vault on a fresh store in DIR (default\n"
            "dev-vault) with a generated CA, one client certificate per role\n"
            "and N synthetic persons (default 10000), and prints how to call\n"
            "it. --policy-hash prints the digest of the configuration's\n"
            "policy (the scope of a policy_change approval) and exits.\n"
            "--check-config parses FILE as --config would (keys, types,\n"
            "ranges, principals), says what is wrong and exits: 0 if the\n"
            "server would accept it, 1 if not; it opens no vault.\n"
            "Exit status: 0 stopped by SIGINT or SIGTERM, 1 a failure, 2 "
            "usage,\n3 the listening address is in use (checked before "
            "anything else).\n");
}

static int
parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

/* 1 if the options given go together. */
static int
opts_consistent(const struct opts *o)
{
    if (o->check_config != NULL) {
        return !o->dev && o->config == NULL && !o->list_routes;
    }
    if (!o->list_routes && o->dev == (o->config != NULL)) {
        return 0; /* exactly one of --dev, --config */
    }
    if ((o->no_guard || o->guard_config || o->store) && !o->dev) {
        return 0; /* a real server always runs its configured guard */
    }
    if (o->policy_hash && o->config == NULL) {
        return 0; /* the digest is a configuration file's */
    }
    /* Policy, not an option, outside --dev: the configuration file says
     * (a command-line value would escape the policy pin). */
    return !(o->deadline && !o->dev);
}

static const struct option server_longs[] = {
    {"config", required_argument, NULL, 'c'},
    {"dev", no_argument, NULL, 'd'},
    {"listen", required_argument, NULL, 'l'},
    {"dev-dir", required_argument, NULL, 'D'},
    {"demo-persons", required_argument, NULL, 'n'},
    {"dev-shares", no_argument, NULL, 's'},
    {"vetting-deadline", required_argument, NULL, 'v'},
    {"threads", required_argument, NULL, 't'},
    {"approval-ttl", required_argument, NULL, 'A'},
    {"retention", required_argument, NULL, 'R'},
    {"retention-sweep", required_argument, NULL, 'S'},
    {"tls12", no_argument, NULL, '2'},
    {"user", required_argument, NULL, 'u'},
    {"list-routes", no_argument, NULL, 'L'},
    {"guard-config", required_argument, NULL, 'g'},
    {"no-guard", no_argument, NULL, 'G'},
    {"policy-hash", no_argument, NULL, 'P'},
    {"check-config", required_argument, NULL, 'K'},
    {"health-listen", required_argument, NULL, 'H'},
    {"health-public", no_argument, NULL, 'O'},
    {"store", required_argument, NULL, 'T'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One option of ${o}; nonzero if its value is bad. */
static int
apply_opt(int ch, struct opts *o)
{
    int bad = 0;

    switch (ch) {
    case 'c':
        o->config = optarg;
        break;
    case 'd':
        o->dev = 1;
        break;
    case 'l':
        o->listen = optarg;
        break;
    case 'D':
        o->dev_dir = optarg;
        break;
    case 'n':
        bad = parse_long(optarg, 0, 10000000, &o->persons);
        break;
    case 's':
        o->dev_shares = 1;
        break;
    case 'v':
        bad = parse_long(optarg, 1, 1L << 30, &o->deadline);
        break;
    case 'A':
        bad = parse_long(optarg, 1, 7 * 86400, &o->approval_ttl);
        break;
    case 'R':
        bad = parse_long(optarg, 0, 10L * 366 * 86400, &o->retention);
        break;
    case 'S':
        bad = parse_long(optarg, 0, 7 * 86400, &o->retention_sweep);
        break;
    case 't':
        bad = parse_long(optarg, 0, 64, &o->threads);
        break;
    case '2':
        o->tls12 = 1;
        break;
    case 'u':
        o->user = optarg;
        break;
    case 'L':
        o->list_routes = 1;
        break;
    case 'g':
        o->guard_config = optarg;
        break;
    case 'G':
        o->no_guard = 1;
        break;
    case 'P':
        o->policy_hash = 1;
        break;
    case 'K':
        o->check_config = optarg;
        break;
    case 'H':
        o->health_listen = optarg;
        break;
    case 'O':
        o->health_public = 1;
        break;
    case 'T':
        o->store = optarg;
        break;
    case 'h':
        o->help = 1;
        break;
    default:
        bad = 1;
        break;
    }
    return bad;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
    int ch, bad = 0;
    memset(o, 0, sizeof(*o));
    o->persons = 10000;
    o->threads = -1; /* not given: the configuration's default */
    o->approval_ttl = o->retention = o->retention_sweep = -1;
    o->dev_dir = "dev-vault";
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", server_longs, NULL)) != -1) {
        bad |= apply_opt(ch, o);
    }
    if (o->help) {
        return 0;
    }
    return bad || optind != argc || !opts_consistent(o) ? -1 : 0;
}

static void
harden(void)
{
    struct rlimit no_core = {0, 0};
    /* Keys and plaintext live in this process: no core file, no ptrace
     * by same-uid processes. */
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    (void)setrlimit(RLIMIT_CORE, &no_core);
}

static char *
read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = f ? calloc(1, SRV_CONFIG_MAX + 1) : NULL;
    size_t n = buf ? fread(buf, 1, SRV_CONFIG_MAX, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    if (buf != NULL && (n == 0 || n == SRV_CONFIG_MAX)) {
        free(buf);
        buf = NULL;
    }
    if (buf == NULL) {
        srv_log(SRV_LOG_ERR, "server", "cannot read %s", path);
    }
    return buf;
}

static void
free_secret_text(char *p)
{
    if (p != NULL) {
        sodium_memzero(p, strlen(p));
        free(p);
    }
}

/* Read and parse the configuration file ${path}, keeping its text: the
 * policy digest is of the very bytes parsed. */
static int
load_config(struct run *run, const char *path)
{
    char err[256];
    int rc =
        srv_config_read(path, &run->cfg_text, &run->cfg_len, err, sizeof(err));
    if (rc == COFFRE_OK) {
        rc = srv_config_parse(&run->cfg, run->cfg_text, run->cfg_len, err,
                              sizeof(err));
    }
    if (rc != COFFRE_OK) {
        srv_log(SRV_LOG_ERR, "server", "%s: %s", path, err);
        return -1;
    }
    return 0;
}

/* The development configuration, as a file a later --config can use. */
static int
write_dev_config(struct run *run, const char *data_dir,
                 unsigned char (*fps)[32])
{
    char path[PATH_MAX + 32], hex[65];
    json_t *principals = json_array();
    for (size_t i = 0; i < NDEV; i++) {
        sodium_bin2hex(hex, sizeof(hex), fps[i], 32);
        json_t *p =
            json_pack("{s:s,s:s,s:s}", "name", dev_principals[i].name, "role",
                      dev_principals[i].role, "fingerprint", hex);
        if (dev_principals[i].audience) {
            json_object_set_new(p, "audience",
                                json_string(dev_principals[i].audience));
        }
        if (dev_principals[i].protected_access) {
            json_object_set_new(p, "protected_access", json_true());
        }
        json_array_append_new(principals, p);
    }
    const char *d = run->dev_dir;
    char cert[PATH_MAX + 16], key[PATH_MAX + 16], ca[PATH_MAX + 16];
    snprintf(cert, sizeof(cert), "%s/server.pem", d);
    snprintf(key, sizeof(key), "%s/server.key", d);
    snprintf(ca, sizeof(ca), "%s/ca.pem", d);
    json_t *cfg = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:b,s:I,s:I,s:o}", "listen", run->o.listen,
        "data_dir", data_dir, "tls_cert", cert, "tls_key", key, "client_ca", ca,
        "tls12", run->o.tls12, "vetting_deadline_seconds",
        (json_int_t)(run->o.deadline ? run->o.deadline : 61 * 86400), "threads",
        (json_int_t)(run->o.threads >= 0 ? run->o.threads : 1), "principals",
        principals);
    /* The audit log lives beside the certificates; with shares, in the
     * vault's data directory, where a later --config run finds it. */
    char audit[PATH_MAX + 16];
    int n = snprintf(audit, sizeof(audit), "%s/audit",
                     run->o.dev_shares ? data_dir : d);
    if (n < 0 || (size_t)n >= sizeof(audit)) {
        json_decref(cfg);
        return COFFRE_ERR_ARG;
    }
    json_object_set_new(cfg, "audit_dir", json_string(audit));
    if (run->o.store != NULL) {
        json_object_set_new(cfg, "store", json_string(run->o.store));
    }
    /* The custodians' poison file beside the shares and certificates. */
    char poison[PATH_MAX + 32];
    json_t *pz = json_object_get(run->guard_json, "poison");
    snprintf(poison, sizeof(poison), "%s/poison-custodians.txt", d);
    if (pz == NULL) {
        json_object_set_new(run->guard_json, "poison", pz = json_object());
    }
    if (json_object_get(pz, "custodian_file") == NULL) {
        json_object_set_new(pz, "custodian_file", json_string(poison));
    }
    json_object_set(cfg, "guard", run->guard_json);
    /* No background retention sweep in dev unless asked for: the demo
     * persons' validity is long past, the sweep would erase them all. */
    json_object_set_new(
        cfg, "retention_sweep_seconds",
        json_integer(run->o.retention_sweep > 0 ? run->o.retention_sweep : 0));
    if (run->o.approval_ttl > 0) {
        json_object_set_new(cfg, "approval_ttl_seconds",
                            json_integer(run->o.approval_ttl));
    }
    if (run->o.retention >= 0) {
        json_object_set_new(cfg, "retention_seconds",
                            json_integer(run->o.retention));
    }
    snprintf(path, sizeof(path), "%s/server.json", d);
    int rc = cfg && json_dump_file(cfg, path, JSON_INDENT(2)) == 0
                 ? COFFRE_OK
                 : COFFRE_ERR_IO;
    json_decref(cfg);
    return rc;
}

/* Demo persons, with the poison records the guard asks for planted
 * among them as they come (guard_poison_due), as in a growing file. */
static int
load_persons(struct coffre_vault *v, long count, const struct guard_config *gc)
{
    unsigned planted = 0, now = 0;
    /* Dated around today: a demo badge can be issued and verified. */
    struct coffre_gen_opts go = {
        .seed = 2024, .photos = 1, .today = coffre_gen_today()};
    struct coffre_gen *g = NULL;
    struct coffre_person *batch[500];
    uint64_t ids[500];
    int rc = coffre_gen_new(&go, &g);
    for (long done = 0; rc == COFFRE_OK && done < count;) {
        size_t n = 0;
        while (rc == COFFRE_OK && n < 500 && done + (long)n < count) {
            rc = coffre_gen_next(g, &batch[n]);
            n += rc == COFFRE_OK;
        }
        if (rc == COFFRE_OK) {
            rc = coffre_vault_put_many(v, batch, n, ids);
        }
        for (size_t i = 0; i < n; i++) {
            coffre_person_free(batch[i]);
        }
        done += (long)n;
        unsigned due =
            gc->enabled ? guard_poison_due(gc, (uint64_t)done, planted) : 0;
        if (rc == COFFRE_OK && due > 0) {
            rc = coffre_vault_poison_plant(v, gc->poison_seed, due, &now);
            planted += now;
        }
    }
    coffre_gen_free(g);
    return rc;
}

static int dev_audit_attach(struct run *run, const char *data_dir);

/* The vault of the development mode: memory-only root key on a temporary
 * store, or (--dev-shares) a real vault in DIR/vault with shares in
 * DIR/shares, left sealed. */
static int
open_dev_vault(struct run *run, char *data_dir, size_t cap)
{
    const struct coffre_store_opts so = {run->o.store, NULL};
    int rc;
    if (run->o.dev_shares) {
        char shares[PATH_MAX + 16];
        snprintf(data_dir, cap, "%s/vault", run->dev_dir);
        snprintf(shares, sizeof(shares), "%s/shares", run->dev_dir);
        struct coffre_init_opts io = {5, 3, shares, &so};
        rc = coffre_vault_init(data_dir, &io, &run->vault);
    } else {
        snprintf(run->tmp_store, sizeof(run->tmp_store),
                 "/tmp/coffre-dev-XXXXXX");
        if (mkdtemp(run->tmp_store) == NULL) {
            run->tmp_store[0] = '\0';
            return COFFRE_ERR_IO;
        }
        snprintf(data_dir, cap, "%s", run->tmp_store);
        rc = coffre_vault_open_dev_store(data_dir, &so, &run->vault);
    }
    if (rc == COFFRE_OK) {
        rc = dev_audit_attach(run, data_dir);
    }
    if (rc == COFFRE_OK && run->o.persons > 0) {
        srv_log(SRV_LOG_INFO, "start", "loading %ld generated persons",
                run->o.persons);
        rc = load_persons(run->vault, run->o.persons, run->dev_gc);
    }
    return rc;
}

/* The demo data is written like everything else: through the audit log
 * (the server's own entries), which serve_prepare reopens. */
static int
dev_audit_attach(struct run *run, const char *data_dir)
{
    const struct coffre_actor actor = {NULL, "server", NULL,
                                       "development mode: synthetic data"};
    char dir[PATH_MAX + 16];
    int rc;
    int n = snprintf(dir, sizeof(dir), "%s/audit",
                     run->o.dev_shares ? data_dir : run->dev_dir);
    if (n < 0 || (size_t)n >= sizeof(dir)) {
        return COFFRE_ERR_ARG;
    }
    rc = coffre_audit_open(run->vault, dir, NULL, &run->dev_audit);
    if (rc == COFFRE_OK) {
        rc = coffre_audit_attach(run->dev_audit, run->vault, &actor);
    }
    if (rc != COFFRE_OK) {
        srv_log(SRV_LOG_ERR, "server", "audit log: %s: %s", dir,
                coffre_audit_open_errmsg());
    }
    return rc;
}

/* The guard object of --guard-config (or {}), checked now: the demo
 * persons are loaded with its poison settings. */
static int
dev_guard(struct run *run)
{
    char err[256];
    json_error_t jerr;
    run->guard_json =
        run->o.guard_config
            ? json_load_file(run->o.guard_config, JSON_REJECT_DUPLICATES, &jerr)
            : json_object();
    run->dev_gc = malloc(sizeof(*run->dev_gc));
    if (run->guard_json == NULL || run->dev_gc == NULL) {
        srv_log(SRV_LOG_ERR, "server", "%s: not a JSON file",
                run->o.guard_config);
        return -1;
    }
    guard_config_defaults(run->dev_gc);
    if (guard_config_parse(run->dev_gc, run->guard_json, err, sizeof(err)) !=
        COFFRE_OK) {
        srv_log(SRV_LOG_ERR, "server", "%s: %s", run->o.guard_config, err);
        return -1;
    }
    return 0;
}

/* A busy or impossible address, said before the slow setup (demo
 * persons, unsealing) rather than after it. Exit status 3 says "address
 * in use" to scripts (scripts/run.sh names PORT=). */
static int
check_listen(const char *listen)
{
    const char *why = NULL;
    int rc = srv_http_check_listen(listen, &why);

    if (rc == COFFRE_OK) {
        return 0;
    }
    fprintf(stderr, "coffre server: cannot listen on %s: %s%s\n", listen, why,
            rc == COFFRE_ERR_INUSE ? " (stop it, or choose another address "
                                     "with --listen ADDRESS:PORT)"
                                   : "");
    return rc == COFFRE_ERR_INUSE ? 3 : -1;
}

static int
setup_dev(struct run *run)
{
    unsigned char fps[NDEV][32];
    const char *names[NDEV];
    char data_dir[PATH_MAX + 16];
    if (run->o.listen == NULL) {
        run->o.listen = "127.0.0.1:8443";
    }
    int busy = check_listen(run->o.listen);
    if (busy != 0) {
        return busy;
    }
    if ((mkdir(run->o.dev_dir, 0700) != 0 && errno != EEXIST) ||
        realpath(run->o.dev_dir, run->dev_dir) == NULL ||
        /* With shares the service user reopens DIR/vault/audit at unseal:
         * traversable, not listable (the keys in it are 0600). */
        (run->o.dev_shares && chmod(run->dev_dir, 0711) != 0)) {
        srv_log(SRV_LOG_ERR, "server", "%s: %s", run->o.dev_dir,
                strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < NDEV; i++) {
        names[i] = dev_principals[i].name;
    }
    if (dev_guard(run) != 0) {
        return -1;
    }
    int rc = srv_pki_dev(run->dev_dir, names, NDEV, fps);
    if (rc == COFFRE_OK) {
        rc = open_dev_vault(run, data_dir, sizeof(data_dir));
    }
    if (rc == COFFRE_OK) {
        rc = write_dev_config(run, data_dir, fps);
    }
    if (rc == COFFRE_OK && !run->o.dev_shares) {
        /* Before privileges drop; sealed (--dev-shares): none yet. */
        (void)srv_badges_dev_files(run->vault, run->dev_dir);
    }
    coffre_audit_close(run->dev_audit); /* serve_prepare reopens it */
    run->dev_audit = NULL;
    if (rc == COFFRE_OK && run->o.dev_shares) {
        rc = coffre_vault_seal(run->vault);
    }
    char *path = run->dev_config;
    snprintf(path, sizeof(run->dev_config), "%s/server.json", run->dev_dir);
    if (rc == COFFRE_OK && load_config(run, path) != 0) {
        return -1;
    }
    if (rc != COFFRE_OK) {
        srv_log(SRV_LOG_ERR, "server", "development setup: %s (%s)",
                coffre_strerror(rc),
                run->vault ? coffre_vault_errmsg(run->vault) : "");
        return -1;
    }
    return 0;
}

/* The threshold counts distinct custodian principals (docs/keys.md 4.4):
 * with fewer in the policy than it, no unseal over the API completes.
 * Said at start, not refused: the operator may still mean it (a vault
 * only the command line opens). */
static void
warn_custodians(struct run *run)
{
    unsigned have = 0, need = 0, n = 0;
    coffre_vault_unseal_progress(run->vault, &have, &need);
    for (size_t i = 0; i < run->cfg.nprincipals; i++) {
        if (run->cfg.principals[i].role == SRV_ROLE_CUSTODIAN) {
            n++;
        }
    }
    if (n < need) {
        srv_log(SRV_LOG_WARNING, "server",
                "warning: the vault needs %u distinct "
                "custodians to unseal and the configuration has %u "
                "principals of role custodian: it cannot be unsealed over "
                "the API (docs/keys.md section 4.4)",
                need, n);
    }
}

static int
setup_config(struct run *run)
{
    if (load_config(run, run->o.config) != 0) {
        return -1;
    }
    if (run->o.listen != NULL) {
        snprintf(run->cfg.listen, sizeof(run->cfg.listen), "%s", run->o.listen);
    }
    int busy = check_listen(run->cfg.listen);
    if (busy != 0) {
        return busy;
    }
    const struct coffre_store_opts so = {
        run->cfg.store[0] ? run->cfg.store : NULL,
        run->cfg.store_password_file[0] ? run->cfg.store_password_file : NULL};
    int rc = coffre_vault_open_store(run->cfg.data_dir, &so, &run->vault);
    if (rc != COFFRE_OK) {
        srv_log(SRV_LOG_ERR, "server", "%s: %s", run->cfg.data_dir,
                coffre_vault_errmsg(run->vault));
        coffre_vault_close(run->vault);
        run->vault = NULL;
        return -1;
    }
    warn_custodians(run);
    srv_seal_start(&run->cfg, run->vault);
    return 0;
}

static int
chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    static uid_t uid;
    static gid_t gid;
    (void)st;
    (void)flag;
    if (ftw == NULL) { /* setup call */
        uid = (uid_t)(uintptr_t)path;
        gid = (gid_t)flag;
        return 0;
    }
    return lchown(path, uid, gid) == 0 ? 0 : -1;
}

/*
 * Drop root for the user named in the configuration, after the socket is
 * bound and the keys are read. The data directory is handed to that user
 * first: the store keeps writing to it.
 */
static int
drop_privileges(struct run *run)
{
    if (geteuid() != 0) {
        return 0;
    }
    const char *user = run->o.user ? run->o.user : run->cfg.user;
    struct passwd *pw = getpwnam(user);
    if (pw == NULL) {
        srv_log(SRV_LOG_ERR, "server", "no user %s to drop to", user);
        return -1;
    }
    chown_one((const char *)(uintptr_t)pw->pw_uid, NULL, (int)pw->pw_gid, NULL);
    struct stat st;
    /* The log opens at the first unseal, after the drop: its directory
     * is made now, so that it is handed over with the rest. */
    if (run->cfg.audit_dir[0] != '\0') {
        (void)mkdir(run->cfg.audit_dir, 0700);
    }
    if (run->cfg.audit_dir[0] != '\0' && stat(run->cfg.audit_dir, &st) == 0 &&
        nftw(run->cfg.audit_dir, chown_one, 16, FTW_PHYS) != 0) {
        srv_log(SRV_LOG_ERR, "server", "cannot hand %s over",
                run->cfg.audit_dir);
        return -1;
    }
    if (nftw(run->cfg.data_dir, chown_one, 16, FTW_PHYS) != 0 ||
        setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0 || setuid(0) == 0) {
        srv_log(SRV_LOG_ERR, "server", "cannot drop privileges to %s", user);
        return -1;
    }
    return 0;
}

/* A gate provisioned from the dev dir (badges.c writes the list key). */
static void
print_dev_badges(const struct run *run)
{
    const char *d = run->dev_dir;
    /* Written by setup_dev only when unsealed at start (not --dev-shares);
     * the dev dir may no longer be readable once privileges dropped. */
    if (run->o.dev_shares) {
        printf("badges: the list key is at GET /v1/badges/list-key\n");
        return;
    }
    printf("badges: POST /v1/badges/{pseudonym}?purpose=P as office or "
           "printer gives the payload, then, with G a gate directory:\n"
           "coffre-gate --dir G init $(cat %s/badge-list.pub)\n"
           "coffre-gate --dir G sync --cacert %s/ca.pem --cert %s/gate.pem "
           "--key %s/gate.key https://%s\n"
           "coffre-gate --dir G verify --zone Z PAYLOAD\n",
           d, d, d, d, run->cfg.listen);
}

static void
print_dev_help(const struct run *run)
{
    static const struct {
        const char *who, *route;
    } ex[] = {
        {"platform", "/v1/persons?state=submitted&limit=5"},
        {"office", "/v1/persons?state=submitted&limit=5"},
        {"vetting", "/v1/vetting/pending?limit=5"},
        {"gate", "/v1/sys/health"},
        {"printer", "/v1/persons?state=approved&limit=5"},
        {"auditor", "/v1/sys/stats"},
        {"custodian", "/v1/sys/seal-status"},
        {"admin", "/metrics"},
    };
    const char *d = run->dev_dir;
    printf("coffre dev server: https://%s/ (client certificates in %s)\n",
           run->cfg.listen, d);
    for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
        printf("curl --cacert %s/ca.pem --cert %s/%s.pem --key %s/%s.key "
               "'https://%s%s'\n",
               d, d, ex[i].who, d, ex[i].who, run->cfg.listen, ex[i].route);
    }
    if (run->o.dev_shares) {
        printf("sealed: unseal with 3 of %s/shares/share-K.txt, one each as "
               "custodian, custodian2 and custodian3\n",
               d);
    }
    print_dev_badges(run);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
cleanup(struct run *run)
{
    coffre_vault_close(run->vault);
    if (run->tmp_store[0] != '\0') {
        (void)nftw(run->tmp_store, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    free_secret_text(run->key);
    free(run->cert);
    free(run->ca);
    json_decref(run->guard_json);
    free(run->dev_gc);
    free(run->cfg_text);
    srv_config_free(&run->cfg);
}

/* What the main loop runs with besides the context. */
struct loop_env {
    struct srv_http *http;
    struct srv_watchdog *wd;
    struct srv_reload reload;
    char config_path[PATH_MAX + 16];
};

/* Run until SIGINT or SIGTERM, sweeping expired vetting once a second;
 * SIGHUP reloads (reload.c). */
static void
serve_loop(struct srv_ctx *ctx, const sigset_t *set, struct loop_env *env)
{
    struct timespec one = {1, 0};
    for (;;) {
        int sig = sigtimedwait(set, NULL, &one);
        srv_watchdog_beat(env->wd);
        if (sig == SIGINT || sig == SIGTERM) {
            srv_notify("STOPPING=1\nSTATUS=stopping");
            srv_log(SRV_LOG_INFO, "stop", "signal %d, stopping", sig);
            return;
        }
        if (sig == SIGHUP) {
            srv_log(SRV_LOG_INFO, "reload", "SIGHUP: reloading %s",
                    env->reload.path);
            (void)srv_reload(ctx, env->http, &env->reload);
            srv_watchdog_beat(env->wd);
        }
        guard_tick(srv_guard(ctx));
        if (!srv_policy_ready(ctx)) {
            continue; /* sealed, or a policy not accepted: touch nothing */
        }
        srv_sweep(ctx, (int64_t)time(NULL));
        guard_poison_sync(ctx);
        srv_retention_tick(ctx, (int64_t)time(NULL));
    }
}

/* Bind ${ctx} to the vault and configuration of ${run}; open the audit
 * log and check the policy pin if the vault is unsealed already (--dev).
 * 0, or -1 with the reason on stderr and ${ctx} destroyed. */
static int
serve_prepare(struct run *run, struct srv_ctx *ctx)
{
    char err[2048];
    if (srv_ctx_init(ctx, run->vault, &run->cfg) != COFFRE_OK) {
        srv_log(SRV_LOG_ERR, "server", "out of memory");
        return -1;
    }
    srv_policy_enforce(ctx, run->policy);
    coffre_vault_set_vetting_deadline(run->vault, run->cfg.vetting_deadline);
    if (run->o.no_guard) {
        srv_log(SRV_LOG_WARNING, "server",
                "--no-guard: NO rate limits, NO bulk "
                "detection, NO poison records (benchmark only)");
        guard_free(ctx->pset->guard);
        ctx->pset->guard = NULL;
    }
    coffre_vault_set_retention(run->vault, run->cfg.retention);
    if (run->o.dev) {
        snprintf(run->vkey_path, sizeof(run->vkey_path), "%s/audit.vkey",
                 run->dev_dir);
        ctx->audit_vkey_path = run->vkey_path;
    }
    /* Sealed: the log opens with the unseal that completes the threshold,
     * and the pin is checked then. A log that fails its checks at open is
     * not served around; nor is a policy the custodians did not approve
     * (srv_policy_verify says why on stderr). */
    if (srv_audit_start(ctx, err, sizeof(err)) != COFFRE_OK) {
        srv_log(SRV_LOG_ERR, "server", "audit log: %s", err);
    } else if (coffre_vault_is_sealed(run->vault) ||
               srv_policy_verify(ctx, NULL, err, sizeof(err)) == COFFRE_OK) {
        guard_poison_sync(ctx);
        return 0;
    }
    /* Unsealed from its token at start (docs/keys.md section 8): serve
     * sealed instead, as if the custodians had not come yet. */
    if (!run->o.dev &&
        coffre_vault_seal_kind(run->vault) == COFFRE_SEAL_PKCS11) {
        (void)coffre_vault_seal(run->vault);
        fprintf(stderr, "coffre server: the vault is sealed again\n");
        return 0;
    }
    srv_ctx_destroy(ctx);
    return -1;
}

/* READY=1 and the first STATUS= line: listening, sealed or not (a
 * sealed vault is ready: custodians unseal it over the API). */
static void
notify_ready(struct srv_ctx *ctx, const struct run *run)
{
    char why[256];
    const char *st = srv_health_state(ctx, why, sizeof(why));
    srv_notify("READY=1\nSTATUS=listening on %s, %s", run->cfg.listen, st);
    srv_log_json(SRV_LOG_INFO, "start",
                 json_pack("{s:s,s:s,s:s}", "msg", "listening", "listen",
                           run->cfg.listen, "state", st));
}

/* Listening: drop privileges, start the health port and the watchdog,
 * then serve until a stop signal. 0 on a clean stop. */
static int
serve_run(struct run *run, struct srv_ctx *ctx, struct srv_http *http,
          const sigset_t *set)
{
    struct srv_health *health = NULL;
    struct srv_watchdog wd;
    struct loop_env env = {.http = http, .wd = &wd};
    const char *haddr =
        run->o.health_listen ? run->o.health_listen : run->cfg.health_listen;
    /* The health port binds before the drop, as the API's port. */
    if (haddr[0] != '\0' &&
        srv_health_start(ctx, haddr,
                         run->o.health_public || run->cfg.health_public,
                         &health) != COFFRE_OK) {
        return -1;
    }
    if (drop_privileges(run) != 0 ||
        (run->cfg.mlock && mlockall(MCL_CURRENT | MCL_FUTURE) != 0)) {
        if (run->cfg.mlock) {
            srv_log(SRV_LOG_ERR, "server", "mlockall failed");
        }
        srv_health_stop(health);
        return -1;
    }
    if (run->o.dev) {
        print_dev_help(run);
    }
    printf("coffre server: listening on https://%s/\n", run->cfg.listen);
    fflush(stdout);
    snprintf(env.config_path, sizeof(env.config_path), "%s",
             run->o.dev ? run->dev_config : run->o.config);
    env.reload.path = env.config_path;
    env.reload.no_guard = run->o.no_guard;
    if (srv_watchdog_start(&wd, http) != 0) {
        srv_log(SRV_LOG_ERR, "watchdog", "cannot start the watchdog thread");
    }
    notify_ready(ctx, run);
    serve_loop(ctx, set, &env);
    srv_watchdog_stop(&wd);
    srv_health_stop(health);
    return 0;
}

static int
serve(struct run *run)
{
    struct srv_ctx ctx;
    struct srv_http *http = NULL;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
    /* Blocked before MHD starts its threads, so they inherit the mask and
     * only serve_loop receives the signals. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (serve_prepare(run, &ctx) != 0) {
        return 1;
    }
    int rc = srv_http_start(&ctx, run->cert, run->key, run->ca, &http);
    if (rc != COFFRE_OK) {
        /* Taken since the check at start, or another cause. */
        if (check_listen(run->cfg.listen) == 0) {
            srv_log(SRV_LOG_ERR, "server", "cannot listen on %s",
                    run->cfg.listen);
        }
    } else if (serve_run(run, &ctx, http, &set) != 0) {
        rc = COFFRE_ERR_DENIED;
    }
    srv_http_stop(http);
    srv_ctx_destroy(&ctx);
    srv_log(SRV_LOG_INFO, "stop", "stopped");
    return rc == COFFRE_OK ? 0 : 1;
}

/* The digest of the policy ${run} serves under: its configuration's
 * text and the client CA it verifies clients with. */
static int
policy_digest(struct run *run)
{
    char err[256];
    if (srv_policy_digest(run->cfg_text, run->cfg_len, run->ca, strlen(run->ca),
                          run->policy, err, sizeof(err)) != COFFRE_OK) {
        srv_log(SRV_LOG_ERR, "server", "policy digest: %s", err);
        return -1;
    }
    return 0;
}

/* --policy-hash: the scope of the policy_change approval that lets a
 * vault serve under this configuration. No vault is opened. */
static int
print_policy_hash(struct run *run)
{
    char hex[2 * SRV_POLICY_LEN + 1];
    int rc = 1;
    if (load_config(run, run->o.config) == 0 &&
        (run->ca = read_text(run->cfg.client_ca)) != NULL &&
        policy_digest(run) == 0) {
        sodium_bin2hex(hex, sizeof(hex), run->policy, SRV_POLICY_LEN);
        printf("%s\n", hex);
        rc = 0;
    }
    cleanup(run);
    return rc;
}

static void
list_routes(void)
{
    for (size_t r = 0; r < R__COUNT; r++) {
        printf("%s %s\n", srv_routes[r].method, srv_routes[r].path);
    }
}

int
cmd_server(int argc, char **argv)
{
    struct run run;
    memset(&run, 0, sizeof(run));
    if (parse_opts(argc, argv, &run.o) != 0) {
        usage(stderr);
        return 2;
    }
    if (run.o.help) {
        usage(stdout);
        return 0;
    }
    if (run.o.list_routes) {
        list_routes();
        return 0;
    }
    if (run.o.policy_hash) {
        return print_policy_hash(&run);
    }
    if (run.o.check_config != NULL) {
        return srv_config_check(run.o.check_config);
    }
    harden();
    int rc = run.o.dev ? setup_dev(&run) : setup_config(&run);
    if (rc != 0) {
        rc = rc == 3 ? 3 : 1; /* 3: the address is in use */
        goto out;
    }
    rc = 1;
    if (run.o.threads >= 0) {
        run.cfg.threads = (unsigned)run.o.threads;
    }
    if (run.o.deadline) {
        run.cfg.vetting_deadline = run.o.deadline;
    }
    run.cert = read_text(run.cfg.tls_cert);
    run.key = read_text(run.cfg.tls_key);
    run.ca = read_text(run.cfg.client_ca);
    if (run.cert && run.key && run.ca && policy_digest(&run) == 0) {
        /* Clients are verified against the CA of the policy in force,
         * which a reload may replace (auth.c). */
        if (srv_auth_trust_load(&run.cfg, run.ca, strlen(run.ca)) !=
            COFFRE_OK) {
            srv_log(SRV_LOG_ERR, "server", "%s: no CA certificate",
                    run.cfg.client_ca);
            goto out;
        }
        rc = serve(&run);
    }
out:
    cleanup(&run);
    return rc;
}
