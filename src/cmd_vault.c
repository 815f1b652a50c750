/*
 * Local vault commands: init, status, put, get, find, erase. Each parses
 * its options, opens the vault with cli_open_unsealed() and calls one
 * library function; errors become a message and an exit status.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "coffre/seal.h"

#define VAULT_LONGOPTS                                                         \
    {"data", required_argument, NULL, CLI_OPT_DATA},                           \
        {"share", required_argument, NULL, CLI_OPT_SHARE}, CLI_AUDIT_LONGOPTS, \
    {                                                                          \
        "help", no_argument, NULL, 'h'                                         \
    }
#define PERSON_JSON_MAX (1024u * 1024u)
#define FIND_MAX 1000

static const char vault_opts_help[] =
    "  --data DIR      the vault directory\n"
    "  --share FILE    an unseal share file; repeat up to the "
    "threshold\n" CLI_AUDIT_HELP;

/* ------------------------------------------------------------------ */

static void
init_usage(FILE *f)
{
    fprintf(f, "usage: coffre init --data DIR --shares-dir DIR [--shares N] "
               "[--threshold M]\n"
               "         [--seal pkcs11 --module PATH --token-label T "
               "--key-label K\n"
               "          [--pin-file F]]\n\n"
               "                   [--store postgresql://USER@HOST/DB "
               "[--store-password-file F]]\n"
               "       coffre init --join --data DIR2 --store "
               "postgresql://USER@HOST/DB\n"
               "                   [--store-password-file F]\n\n"
               "DIR is the vault's local state (lock, audit log). Its store "
               "is SQLite in DIR,\nor the PostgreSQL database --store names "
               "(a URI without a password: the\npassword comes from F, "
               "PGPASSWORD or ~/.pgpass); DIR/store records it, so\nlater "
               "commands find it. A database that holds a vault is "
               "refused.\n\n"
               "Create a vault in DIR. Its root key is split into N Shamir "
               "shares (default 5),\nany M of which unseal it (default 3), "
               "each written once to its own file\nDIR/share-K.txt in the "
               "shares directory, mode 0600. Hand each share to one\n"
               "custodian and remove it from this machine: the vault keeps "
               "none of them.\n\n"
               "All or nothing: if DIR holds a vault or a share file is "
               "already there,\ninit refuses before it makes anything; if "
               "it fails midway, it removes what\nit made (and nothing "
               "else), so that it can be run again (docs/keys.md 4.3).\n\n"
               "--seal pkcs11: the root key is also sealed by key K on the "
               "PKCS#11 token\nlabelled T (made on it if absent; it never "
               "leaves the token), and the vault\nthen opens from the token "
               "with no custodian. The PIN: --pin-file F or\n"
               "COFFRE_PKCS11_PIN, never the command line. The shares stay "
               "the recovery\nand the custodians' consent to a reseal "
               "(docs/keys.md section 8).\n\n"
               "--join: DIR2 becomes one more data directory of the vault "
               "the database\nholds, for another `coffre server` on the "
               "same database (its own lock and\nlocal files): only "
               "DIR2/store is written; no key, no share. The shares\nof "
               "the vault unseal it (docs/storage.md section 9).\n");
}

/* init --join: record the store of an existing vault in another data
 * directory. */
static int
init_join(const char *data, const struct coffre_store_opts *so)
{
    char msg[512] = "";
    struct coffre_vault *v = NULL;
    int rc = coffre_vault_join(data, so, msg, sizeof(msg));

    if (rc != COFFRE_OK) {
        cli_error("init", "%s", msg);
        return 1;
    }
    rc = coffre_vault_open_store(data, so, &v);
    if (rc != COFFRE_OK) {
        cli_error("init", "%s", coffre_vault_errmsg(v));
        cli_close(v);
        return 1;
    }
    printf("vault %s joined in %s\nstore: %s (recorded in %s/store)\n",
           coffre_vault_id(v), data, coffre_vault_store_location(v), data);
    cli_close(v);
    return 0;
}

int
cmd_init(int argc, char **argv)
{
    static const struct option lo[] = {
        {"data", required_argument, NULL, 'd'},
        {"shares-dir", required_argument, NULL, 'o'},
        {"shares", required_argument, NULL, 'n'},
        {"threshold", required_argument, NULL, 'm'},
        {"seal", required_argument, NULL, 'S'},
        {"module", required_argument, NULL, 'M'},
        {"token-label", required_argument, NULL, 'T'},
        {"key-label", required_argument, NULL, 'K'},
        {"pin-file", required_argument, NULL, 'P'},
        {"store", required_argument, NULL, CLI_OPT_STORE},
        {"store-password-file", required_argument, NULL,
         CLI_OPT_STORE_PASSWORD},
        {"join", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *seal = "shamir", *tok[4] = {NULL, NULL, NULL, NULL};
    int join = 0;
    struct coffre_init_opts io = {5, 3, NULL, NULL};
    struct coffre_store_opts so = {NULL, NULL};
    struct coffre_vault *v = NULL;
    const char *data = NULL;
    uint64_t x;
    int c, rc;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'd':
            data = optarg;
            break;
        case 'o':
            io.share_dir = optarg;
            break;
        case CLI_OPT_STORE:
            so.location = optarg;
            break;
        case CLI_OPT_STORE_PASSWORD:
            so.password_file = optarg;
            break;
        case 'n':
        case 'm':
            if (cli_parse_u64(optarg, 255, &x) != 0) {
                cli_error("init", "--%s takes a number from 2 to 255",
                          c == 'n' ? "shares" : "threshold");
                return 2;
            }
            *(c == 'n' ? &io.shares : &io.threshold) = (unsigned)x;
            break;
        case 'S':
            seal = optarg;
            break;
        case 'M':
        case 'T':
        case 'K':
        case 'P':
            tok[c == 'M' ? 0 : c == 'T' ? 1 : c == 'K' ? 2 : 3] = optarg;
            break;
        case 'J':
            join = 1;
            break;
        case 'h':
            init_usage(stdout);
            return 0;
        default:
            init_usage(stderr);
            return 2;
        }
    }
    if (join) {
        if (data == NULL || optind != argc || io.share_dir != NULL ||
            strcmp(seal, "shamir") != 0) {
            init_usage(stderr);
            return 2;
        }
        return init_join(data, &so);
    }
    if (data == NULL || io.share_dir == NULL || optind != argc ||
        (strcmp(seal, "shamir") != 0 && strcmp(seal, "pkcs11") != 0)) {
        init_usage(stderr);
        return 2;
    }
    io.store = &so;
    if (strcmp(seal, "pkcs11") == 0) {
        return cmd_init_pkcs11(data, &io, tok[0], tok[1], tok[2], tok[3]);
    }
    rc = coffre_vault_init(data, &io, &v);
    if (rc != COFFRE_OK) {
        cli_error("init", "%s", coffre_vault_errmsg(v));
        cli_close(v);
        return 1;
    }
    printf("vault %s created in %s\n", coffre_vault_id(v), data);
    if (so.location != NULL) {
        printf("store: %s (recorded in %s/store)\n",
               coffre_vault_store_location(v), data);
    }
    printf("%u shares written to %s/share-1.txt .. share-%u.txt; any %u "
           "unseal the vault.\n",
           io.shares, io.share_dir, io.shares, io.threshold);
    printf("Give each share to one custodian, then delete them here.\n");
    cli_close(v);
    return 0;
}

/* ------------------------------------------------------------------ */

/* Parse the options common to vault commands plus `extra` ones, handing
 * unknown options to `take` (NULL: none). Returns -1 to go on, else an
 * exit status. */
typedef int (*extra_fn)(int c, const char *arg, void *ctx);

static int
parse_vault_cmd(const char *cmd, int argc, char **argv, const struct option *lo,
                struct cli_vault_opts *o, extra_fn take, void *ctx,
                void (*usage)(FILE *))
{
    int c, r;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        r = cli_vault_opt(cmd, o, c, optarg);
        if (r < 0) {
            return 2;
        }
        if (r == 0 && (take == NULL || take(c, optarg, ctx) != 0)) {
            usage(stderr);
            return 2;
        }
    }
    return -1;
}

static void
status_usage(FILE *f)
{
    fprintf(f,
            "usage: coffre status --data DIR [--share FILE]...\n\n"
            "Show the vault id, threshold and seal; with enough shares (or "
            "the PIN of a\ntoken-sealed vault), also the key and record "
            "counts.\n%s",
            vault_opts_help);
}

/* How the root key is sealed (docs/keys.md section 8). */
static void
print_seal(const struct coffre_vault *v)
{
    const char *module, *token, *key;

    coffre_vault_pkcs11_recorded(v, &module, &token, &key);
    if (coffre_vault_seal_kind(v) == COFFRE_SEAL_PKCS11) {
        printf("seal:      pkcs11 (key '%s' on token '%s', module %s; the "
               "shares stay the recovery)\n",
               key, token, module);
    } else {
        printf("seal:      %s\n", coffre_vault_seal_name(v));
    }
}

int
cmd_status(int argc, char **argv)
{
    static const struct option lo[] = {VAULT_LONGOPTS, {NULL, 0, NULL, 0}};
    struct cli_vault_opts o = {0};
    struct coffre_vault *v = NULL;
    struct coffre_vault_stats st;
    struct coffre_store_opts so;
    unsigned have, need;
    int r =
        parse_vault_cmd("status", argc, argv, lo, &o, NULL, NULL, status_usage);

    if (r >= 0) {
        return r;
    }
    if (o.data == NULL) {
        status_usage(stderr);
        return 2;
    }
    if (o.nshares > 0 || o.pin_file != NULL || getenv("COFFRE_PKCS11_PIN")) {
        r = cli_open_unsealed("status", &o, &v);
        if (r != 0) {
            return r;
        }
    } else if (coffre_vault_open_store(o.data, cli_store_opts(&o, &so), &v) !=
               COFFRE_OK) {
        cli_error("status", "%s", coffre_vault_errmsg(v));
        cli_close(v);
        return 1;
    }
    coffre_vault_unseal_progress(v, &have, &need);
    printf("vault:     %s\nstore:     %s\nsealed:    %s\nthreshold: %u\n",
           coffre_vault_id(v), coffre_vault_store_location(v),
           coffre_vault_is_sealed(v) ? "yes" : "no", need);
    print_seal(v);
    if (!coffre_vault_is_sealed(v) && coffre_vault_stats(v, &st) == 0) {
        printf("persons:   %llu\nerased:    %llu\nkek:       v%u (%u "
               "version(s) kept)\n",
               (unsigned long long)st.persons, (unsigned long long)st.erased,
               st.kek_current, st.kek_versions);
    }
    if (cli_audit_vkey(v) != NULL) {
        printf("audit key: %s\n", cli_audit_vkey(v));
    }
    cli_close(v);
    return 0;
}

/* ------------------------------------------------------------------ */

static void
put_usage(FILE *f)
{
    fprintf(f,
            "usage: coffre put --data DIR --share FILE... [FILE]\n\n"
            "Store one person given as a JSON object (docs/formats.md), "
            "from FILE or\nstandard input; prints its record id. With a "
            "source_key, running it again\nstores nothing and prints the "
            "same id (a different person under the same\nkey is refused).\n"
            "%s",
            vault_opts_help);
}

static int
put_one(struct coffre_vault *v, const char *path)
{
    struct coffre_person *p = NULL;
    struct coffre_diag diag;
    uint64_t id;
    size_t len = 0;
    char *json = cli_read_file(path, PERSON_JSON_MAX, &len);
    int rc, created = 0;

    if (json == NULL) {
        cli_error("put", "cannot read %s: %s", path,
                  errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
        return 1;
    }
    memset(&diag, 0, sizeof(diag));
    rc = coffre_person_from_json(json, len, &p, &diag);
    memset(json, 0, len);
    free(json);
    if (rc != COFFRE_OK) {
        cli_error("put", "%s: %s%s%s", coffre_strerror(rc), diag.field,
                  diag.field[0] != '\0' ? ": " : "", diag.rule);
        return 1;
    }
    rc = coffre_vault_put_once(v, p, &id, &created);
    coffre_person_free(p);
    if (rc != COFFRE_OK) {
        cli_error("put", "%s", coffre_vault_errmsg(v));
        return 1;
    }
    if (!created) {
        fprintf(stderr, "coffre put: already stored under its source key: "
                        "nothing written\n");
    }
    printf("%llu\n", (unsigned long long)id);
    return 0;
}

int
cmd_put(int argc, char **argv)
{
    static const struct option lo[] = {VAULT_LONGOPTS, {NULL, 0, NULL, 0}};
    struct cli_vault_opts o = {0};
    struct coffre_vault *v;
    int r = parse_vault_cmd("put", argc, argv, lo, &o, NULL, NULL, put_usage);

    if (r >= 0) {
        return r;
    }
    if (argc - optind > 1) {
        put_usage(stderr);
        return 2;
    }
    r = cli_open_unsealed("put", &o, &v);
    if (r == 0) {
        r = put_one(v, optind < argc ? argv[optind] : "-");
        cli_close(v);
    }
    return r;
}

/* ------------------------------------------------------------------ */

static void
get_usage(FILE *f)
{
    fprintf(f,
            "usage: coffre get --data DIR --share FILE... [--fields "
            "CLASS,...] ID\n\n"
            "Decrypt person ID and print it as JSON. CLASS is public, "
            "identity, contact,\ndocument, photo or vetting (default: all "
            "but photo).\n%s",
            vault_opts_help);
}

/* "public,identity" to a class bitmask; 0 if a name is unknown. */
static unsigned
parse_classes(const char *list)
{
    char buf[128], *tok, *save = NULL;
    unsigned mask = 0;
    int c;

    if (strlen(list) >= sizeof(buf)) {
        return 0;
    }
    strcpy(buf, list);
    for (tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        c = coffre_class_parse(tok);
        if (c < 0) {
            return 0;
        }
        mask |= COFFRE_CLASS_BIT(c);
    }
    return mask;
}

static int
take_fields(int c, const char *arg, void *ctx)
{
    unsigned *mask = ctx;

    if (c != 'f') {
        return -1;
    }
    *mask = parse_classes(arg);
    if (*mask == 0) {
        cli_error("get", "--fields: unknown class in '%s'", arg);
        return -1;
    }
    return 0;
}

int
cmd_get(int argc, char **argv)
{
    static const struct option lo[] = {VAULT_LONGOPTS,
                                       {"fields", required_argument, NULL, 'f'},
                                       {NULL, 0, NULL, 0}};
    unsigned mask = COFFRE_CLASSES_ALL & ~COFFRE_CLASS_BIT(COFFRE_CLASS_PHOTO);
    struct cli_vault_opts o = {0};
    struct coffre_person *p = NULL;
    struct coffre_vault *v;
    char *json = NULL;
    uint64_t id;
    int r = parse_vault_cmd("get", argc, argv, lo, &o, take_fields, &mask,
                            get_usage);

    if (r >= 0) {
        return r;
    }
    if (argc - optind != 1 || cli_parse_id(argv[optind], &id) != 0) {
        get_usage(stderr);
        return 2;
    }
    r = cli_open_unsealed("get", &o, &v);
    if (r != 0) {
        return r;
    }
    if (coffre_vault_get(v, id, mask, &p) != COFFRE_OK) {
        cli_error("get", "%s", coffre_vault_errmsg(v));
        r = 1;
    } else if (coffre_person_to_json(p, mask, &json) != COFFRE_OK) {
        cli_error("get", "cannot format the record");
        r = 1;
    } else {
        printf("%s\n", json);
    }
    coffre_free(json);
    coffre_person_free(p);
    cli_close(v);
    return r;
}

/* ------------------------------------------------------------------ */

static void
find_usage(FILE *f)
{
    fprintf(f,
            "usage: coffre find --data DIR --share FILE... (--document NUM "
            "| --email ADDR |\n"
            "       --surname S --given-names G --birth-date YYYY-MM-DD)\n\n"
            "Exact search through the blind indexes (case, accents and "
            "spacing do not\nmatter); prints matching record ids.\n%s",
            vault_opts_help);
}

struct find_args {
    const char *document, *email, *surname, *given, *birth;
};

static int
take_find(int c, const char *arg, void *ctx)
{
    struct find_args *a = ctx;

    switch (c) {
    case 'D':
        a->document = arg;
        return 0;
    case 'E':
        a->email = arg;
        return 0;
    case 'S':
        a->surname = arg;
        return 0;
    case 'G':
        a->given = arg;
        return 0;
    case 'B':
        a->birth = arg;
        return 0;
    default:
        return -1;
    }
}

static int
find_kind(const struct find_args *a, enum coffre_find *pk)
{
    int n = (a->document != NULL) + (a->email != NULL) +
            (a->surname != NULL || a->given != NULL || a->birth != NULL);

    if (n != 1) {
        return -1;
    }
    if (a->document != NULL) {
        *pk = COFFRE_FIND_DOCUMENT;
    } else if (a->email != NULL) {
        *pk = COFFRE_FIND_EMAIL;
    } else if (a->surname != NULL && a->given != NULL && a->birth != NULL) {
        *pk = COFFRE_FIND_NAME_DOB;
    } else {
        return -1;
    }
    return 0;
}

int
cmd_find(int argc, char **argv)
{
    static const struct option lo[] = {
        VAULT_LONGOPTS,
        {"document", required_argument, NULL, 'D'},
        {"email", required_argument, NULL, 'E'},
        {"surname", required_argument, NULL, 'S'},
        {"given-names", required_argument, NULL, 'G'},
        {"birth-date", required_argument, NULL, 'B'},
        {NULL, 0, NULL, 0}};
    struct find_args a = {0};
    struct cli_vault_opts o = {0};
    struct coffre_vault *v;
    enum coffre_find kind;
    uint64_t ids[FIND_MAX];
    size_t n = 0;
    int r =
        parse_vault_cmd("find", argc, argv, lo, &o, take_find, &a, find_usage);

    if (r >= 0) {
        return r;
    }
    if (optind != argc || find_kind(&a, &kind) != 0) {
        find_usage(stderr);
        return 2;
    }
    r = cli_open_unsealed("find", &o, &v);
    if (r != 0) {
        return r;
    }
    if (coffre_vault_find(v, kind,
                          kind == COFFRE_FIND_DOCUMENT ? a.document
                          : kind == COFFRE_FIND_EMAIL  ? a.email
                                                       : a.surname,
                          a.given, a.birth, ids, FIND_MAX, &n) != COFFRE_OK) {
        cli_error("find", "%s", coffre_vault_errmsg(v));
        r = 1;
    }
    for (size_t i = 0; r == 0 && i < n && i < FIND_MAX; i++) {
        printf("%llu\n", (unsigned long long)ids[i]);
    }
    if (r == 0 && n == 0) {
        fprintf(stderr, "coffre find: no match\n");
        r = 1;
    }
    cli_close(v);
    return r;
}

/* ------------------------------------------------------------------ */

static void
erase_usage(FILE *f)
{
    fprintf(f,
            "usage: coffre erase --data DIR --share FILE... ID\n\n"
            "Erase person ID: its data key, data and index entries are "
            "destroyed, so\nthat no copy of the store taken before can be "
            "opened for it either.\n%s",
            vault_opts_help);
}

int
cmd_erase(int argc, char **argv)
{
    static const struct option lo[] = {VAULT_LONGOPTS, {NULL, 0, NULL, 0}};
    struct cli_vault_opts o = {0};
    struct coffre_vault *v;
    uint64_t id;
    int r =
        parse_vault_cmd("erase", argc, argv, lo, &o, NULL, NULL, erase_usage);

    if (r >= 0) {
        return r;
    }
    if (argc - optind != 1 || cli_parse_id(argv[optind], &id) != 0) {
        erase_usage(stderr);
        return 2;
    }
    r = cli_open_unsealed("erase", &o, &v);
    if (r != 0) {
        return r;
    }
    if (coffre_vault_erase(v, id) != COFFRE_OK) {
        cli_error("erase", "%s", coffre_vault_errmsg(v));
        r = 1;
    } else {
        printf("person %llu erased\n", (unsigned long long)id);
    }
    cli_close(v);
    return r;
}
