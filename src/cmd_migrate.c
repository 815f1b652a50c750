/*
 * Migration commands (docs/migration.md): manifest roots of a file or of
 * the vault, the vault's bundle key, sealed exports, shredding with a
 * signed erasure receipt, and receipt verification.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cmd.h"
#include "coffre/approval.h"
#include "coffre/migrate.h"

#define RECEIPT_MAX (1u << 20)

static void
print_root(const unsigned char root[COFFRE_MANIFEST_LEN], uint64_t n)
{
    char hex[2 * COFFRE_MANIFEST_LEN + 1];

    coffre_hex(root, COFFRE_MANIFEST_LEN, hex);
    printf("manifest root: %s (%" PRIu64 " persons)\n", hex, n);
}

static int
guess_format(const char *path)
{
    size_t n = strlen(path);

    return n >= 4 && strcmp(path + n - 4, ".csv") == 0 ? COFFRE_FORMAT_CSV
                                                       : COFFRE_FORMAT_JSONL;
}

/* The manifest of a CSV or JSONL file: valid records with a source key. */
static int
manifest_of_file(const char *cmd, const char *path, int fmt,
                 struct coffre_manifest *m, uint64_t *pbad)
{
    struct coffre_reader *r = NULL;
    struct coffre_person *p;
    struct coffre_diag d;
    FILE *in = fopen(path, "rb");
    int rc = COFFRE_OK;

    if (in == NULL) {
        cli_error(cmd, "cannot open %s: %s", path, strerror(errno));
        return 1;
    }
    fmt = fmt >= 0 ? fmt : guess_format(path);
    if (coffre_reader_open(in, (enum coffre_format)fmt, &r) != COFFRE_OK) {
        fclose(in);
        cli_error(cmd, "cannot read %s", path);
        return 1;
    }
    while (rc != COFFRE_ERR_IO) {
        rc = coffre_reader_next(r, &p, &d);
        if (rc == COFFRE_OK && p == NULL) {
            break;
        }
        if (rc == COFFRE_OK && coffre_person_source_key(p) != NULL) {
            rc = coffre_manifest_add(m, p);
        } else {
            (*pbad)++;
        }
        coffre_person_free(p);
    }
    coffre_reader_free(r);
    fclose(in);
    if (rc == COFFRE_ERR_IO || rc == COFFRE_ERR_NOMEM) {
        cli_error(cmd, "cannot read %s: %s", path, coffre_strerror(rc));
        return 1;
    }
    return 0;
}

static void
manifest_usage(FILE *f)
{
    fprintf(f, "usage: coffre manifest [--format jsonl|csv] FILE\n"
               "       coffre manifest --vault --data DIR --share FILE...\n\n"
               "Print the manifest root of an accreditation file (no vault "
               "needed) or of the\nvault's content (docs/migration.md).\n");
}

static int
manifest_vault(const struct cli_vault_opts *vo)
{
    unsigned char root[COFFRE_MANIFEST_LEN];
    struct coffre_vault *v;
    uint64_t n = 0;
    int r = cli_open_unsealed("manifest", vo, &v);

    if (r != 0) {
        return r;
    }
    r = coffre_vault_manifest(v, root, &n);
    if (r != COFFRE_OK) {
        cli_error("manifest", "%s", coffre_vault_errmsg(v));
    } else {
        print_root(root, n);
    }
    cli_close(v);
    return r != COFFRE_OK;
}

static int
manifest_file(const char *path, int fmt)
{
    unsigned char root[COFFRE_MANIFEST_LEN];
    struct coffre_manifest *m = NULL;
    uint64_t n = 0, bad = 0;
    int r = coffre_manifest_new(&m) != COFFRE_OK;

    if (r == 0) {
        r = manifest_of_file("manifest", path, fmt, m, &bad);
    }
    if (r == 0 && coffre_manifest_root(m, root, &n) == COFFRE_OK) {
        print_root(root, n);
        printf("skipped: %" PRIu64 " invalid or without source key\n", bad);
    }
    coffre_manifest_free(m);
    return r;
}

int
cmd_manifest(int argc, char **argv)
{
    static const struct option lo[] = {
        {"data", required_argument, NULL, CLI_OPT_DATA},
        {"share", required_argument, NULL, CLI_OPT_SHARE},
        CLI_AUDIT_LONGOPTS,
        {"vault", no_argument, NULL, 'v'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct cli_vault_opts vo;
    int c, vault = 0, fmt = -1;

    memset(&vo, 0, sizeof(vo));
    optind = 0;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (cli_vault_opt("manifest", &vo, c, optarg) == 1) {
            continue;
        }
        if (c == 'h') {
            manifest_usage(stdout);
            return 0;
        } else if (c == 'v') {
            vault = 1;
        } else if (c != 'f' || (fmt = coffre_format_parse(optarg)) < 0) {
            manifest_usage(stderr);
            return 2;
        }
    }
    if (vault ? argc != optind : argc - optind != 1) {
        manifest_usage(stderr);
        return 2;
    }
    return vault ? manifest_vault(&vo) : manifest_file(argv[optind], fmt);
}

int
cmd_bundle_key(int argc, char **argv)
{
    if (cli_help(argc, argv,
                 "usage: coffre bundle-key --data DIR --share FILE...\n\n"
                 "Print this vault's public key for receiving sealed bundles "
                 "(give it\n"
                 "to the vault that will export to this one).\n")) {
        return 0;
    }
    static const struct option lo[] = {
        {"data", required_argument, NULL, CLI_OPT_DATA},
        {"share", required_argument, NULL, CLI_OPT_SHARE},
        CLI_AUDIT_LONGOPTS,
        {NULL, 0, NULL, 0}};
    char key[COFFRE_BUNDLE_KEY_STRLEN + 1];
    struct cli_vault_opts vo;
    struct coffre_vault *v;
    int c, r;

    memset(&vo, 0, sizeof(vo));
    optind = 0;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (cli_vault_opt("bundle-key", &vo, c, optarg) != 1) {
            fprintf(stderr, "usage: coffre bundle-key --data DIR --share "
                            "FILE...\n");
            return 2;
        }
    }
    if ((r = cli_open_unsealed("bundle-key", &vo, &v)) != 0) {
        return r;
    }
    r = coffre_vault_bundle_key(v, key);
    if (r == COFFRE_OK) {
        printf("%s\n", key);
    } else {
        cli_error("bundle-key", "%s", coffre_vault_errmsg(v));
    }
    cli_close(v);
    return r != COFFRE_OK;
}

struct export_args {
    struct cli_vault_opts vo;
    const char *to, *out, *category, *approval;
    char scope[COFFRE_APPROVAL_SCOPE_MAX + 1]; /* the approval's */
    int progress; /* --progress: draw it even when stderr is no terminal */
};

/* The progress line of an export, like coffre import's: on standard
 * error, when it is a terminal or --progress asks, redrawn at most ten
 * times a second and at each 5%. Counts only: never a personal value. */
struct export_progress {
    struct timespec t0;
    double last_draw;
    int last_step;
    uint64_t done, total;
};

static double
export_elapsed(const struct export_progress *ep)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - ep->t0.tv_sec) +
           (double)(t.tv_nsec - ep->t0.tv_nsec) / 1e9;
}

static void
export_draw(struct export_progress *ep, int force)
{
    double s = export_elapsed(ep), rate, frac, eta;
    char bar[21];

    frac = ep->total > 0 ? (double)ep->done / (double)ep->total : 0.0;
    frac = frac > 1.0 ? 1.0 : frac;
    if (!force && s - ep->last_draw < 0.1 &&
        (int)(frac * 20) == ep->last_step) {
        return;
    }
    ep->last_draw = s;
    ep->last_step = (int)(frac * 20);
    rate = s > 0 ? (double)ep->done / s : 0.0;
    eta = frac > 0.0 ? s * (1.0 - frac) / frac : 0.0;
    if (ep->total == 0) { /* a category: its size is not known beforehand */
        fprintf(stderr, "\r%" PRIu64 " persons, %.0f/s   ", ep->done, rate);
        return;
    }
    for (int i = 0; i < 20; i++) {
        bar[i] = i < (int)(frac * 20) ? '#' : '.';
    }
    bar[20] = '\0';
    fprintf(stderr, "\r[%s] %3.0f%% %" PRIu64 " persons, %.0f/s, ETA %.0f s   ",
            bar, frac * 100, ep->done, rate, eta);
}

static void
export_progress_cb(void *arg, uint64_t done, uint64_t total)
{
    struct export_progress *ep = arg;

    ep->done = done;
    ep->total = total;
    export_draw(ep, 0);
}

/* The used_by of the approvals the CLI consumes: the custodians granted
 * them to whoever holds the shares and runs the export. */
#define EXPORT_BY "coffre-export"

/*
 * Every argument checked before the vault is even opened: the approval is
 * single-use, so nothing that could still refuse the export may come after
 * it is spent (issue 13). Sets the approval's scope, the export's selection
 * ("all" or "category=CAT", docs/approvals.md). 0, or an exit status.
 */
static int
export_check(struct export_args *a)
{
    int n;

    if (a->approval == NULL) {
        cli_error("export", "--approval ID is required: a bulk export needs "
                            "a bulk_export approval granted by the custodians "
                            "(docs/approvals.md)");
        return 1;
    }
    if (coffre_bundle_key_check(a->to) != COFFRE_OK) {
        cli_error("export",
                  "--to %s: not a bundle key (coffre-bundle-v1:<vault "
                  "id>:<key>, as `coffre bundle-key` prints it on the "
                  "destination vault)",
                  a->to);
        return 2;
    }
    if (a->category != NULL) {
        n = snprintf(a->scope, sizeof(a->scope), "category=%s", a->category);
    } else {
        n = snprintf(a->scope, sizeof(a->scope), "all");
    }
    if (n < 0 || (size_t)n >= sizeof(a->scope)) {
        cli_error("export", "--category too long for an approval scope");
        return 2;
    }
    return 0;
}

/* Use the bulk_export approval of the export's selection, once; 0, or 1
 * with a message. */
static int
export_approval(struct coffre_vault *v, const struct export_args *a)
{
    static const char *const whys[] = {
        [COFFRE_APPROVAL_WHY_UNKNOWN] = "no such approval",
        [COFFRE_APPROVAL_WHY_WRONG_SCOPE] =
            "the approval is for another operation or scope",
        [COFFRE_APPROVAL_WHY_TOO_FEW] = "not enough custodians approved it",
        [COFFRE_APPROVAL_WHY_EXPIRED] = "the approval expired",
        [COFFRE_APPROVAL_WHY_USED] = "the approval was used already",
    };
    int why = 0;
    int r = coffre_vault_approval_consume(v, a->approval, "bulk_export",
                                          a->scope, EXPORT_BY,
                                          (int64_t)time(NULL), NULL, &why);

    if (r == COFFRE_ERR_DENIED && why > 0 && why <= COFFRE_APPROVAL_WHY_USED) {
        cli_error("export",
                  "approval refused: %s (a bulk_export approval of "
                  "scope \"%s\" is needed)",
                  whys[why], a->scope);
        return 1;
    }
    if (r != COFFRE_OK) {
        cli_error("export", "approval: %s", coffre_vault_errmsg(v));
        return 1;
    }
    return 0;
}

static int
export_run(const struct export_args *a)
{
    unsigned char root[COFFRE_MANIFEST_LEN];
    struct coffre_vault *v;
    uint64_t n = 0;
    FILE *f;
    int r = cli_open_unsealed("export", &a->vo, &v);

    if (r != 0) {
        return r;
    }
    f = fopen(a->out, "wbx");
    if (f == NULL) {
        cli_error("export", "cannot create %s: %s", a->out, strerror(errno));
        cli_close(v);
        return 1;
    }
    /* Last: after the arguments are checked and the output created (a bad
     * --to or --out spends nothing), before a byte of it is written. */
    if (export_approval(v, a) != 0) {
        fclose(f);
        remove(a->out);
        cli_close(v);
        return 1;
    }
    struct export_progress ep = {.last_step = -1};
    int tty = a->progress || isatty(STDERR_FILENO);
    clock_gettime(CLOCK_MONOTONIC, &ep.t0);
    r = coffre_vault_export_progress(v, a->to, a->category, f,
                                     tty ? export_progress_cb : NULL, &ep, &n,
                                     root);
    if (tty && ep.done > 0) {
        export_draw(&ep, 1);
        fputc('\n', stderr);
    }
    if (fclose(f) != 0 && r == COFFRE_OK) {
        r = COFFRE_ERR_IO;
    }
    if (r != COFFRE_OK) {
        cli_error("export", "%s",
                  r == COFFRE_ERR_IO ? coffre_strerror(r)
                                     : coffre_vault_errmsg(v));
        remove(a->out);
    } else {
        printf("exported %" PRIu64 " persons to %s\n", n, a->out);
        print_root(root, n);
    }
    cli_close(v);
    return r != COFFRE_OK;
}

int
cmd_export(int argc, char **argv)
{
    if (cli_help(
            argc, argv,
            "usage: coffre export --data DIR --share FILE... --to BUNDLE_KEY "
            "--out BUNDLE\n"
            "                     --approval ID [--category CATEGORY] "
            "[--progress]\n\n"
            "Write every person (or one category) as a sealed bundle that "
            "only\n"
            "the vault owning BUNDLE_KEY can open, with its manifest root\n"
            "(docs/migration.md). ID: a bulk_export approval of scope "
            "\"all\"\n"
            "(or \"category=CATEGORY\") granted by the custodians through "
            "the\n"
            "server on this data directory, used once "
            "(docs/approvals.md),\n"
            "and only after BUNDLE_KEY and BUNDLE are checked: a bad "
            "--to or --out\nspends nothing.\n"
            "options: --progress (the progress bar on standard error even "
            "when it is\nnot a terminal)\n")) {
        return 0;
    }
    static const struct option lo[] = {
        {"data", required_argument, NULL, CLI_OPT_DATA},
        {"share", required_argument, NULL, CLI_OPT_SHARE},
        CLI_AUDIT_LONGOPTS,
        {"to", required_argument, NULL, 't'},
        {"out", required_argument, NULL, 'o'},
        {"category", required_argument, NULL, 'c'},
        {"approval", required_argument, NULL, 'a'},
        {"progress", no_argument, NULL, 'P'},
        {NULL, 0, NULL, 0}};
    struct export_args a;
    int c;

    memset(&a, 0, sizeof(a));
    optind = 0;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (cli_vault_opt("export", &a.vo, c, optarg) == 1) {
            continue;
        }
        if (c == 't') {
            a.to = optarg;
        } else if (c == 'o') {
            a.out = optarg;
        } else if (c == 'c') {
            a.category = optarg;
        } else if (c == 'a') {
            a.approval = optarg;
        } else if (c == 'P') {
            a.progress = 1;
        } else {
            a.to = NULL;
            break;
        }
    }
    if (a.to == NULL || a.out == NULL || optind != argc) {
        fprintf(stderr, "usage: coffre export --data DIR --share FILE... "
                        "--to BUNDLE_KEY --out BUNDLE\n"
                        "                     --approval ID "
                        "[--category CATEGORY] [--progress]\n");
        return 2;
    }
    c = export_check(&a);
    return c != 0 ? c : export_run(&a);
}

struct shred_args {
    struct cli_vault_opts vo;
    const char *root, *from, *receipt;
    int all;
};

static int
write_receipt(const char *path, const char *receipt)
{
    FILE *f = path != NULL ? fopen(path, "wx") : stdout;

    if (f == NULL) {
        cli_error("shred", "cannot write %s: %s", path, strerror(errno));
        return 1;
    }
    fputs(receipt, f);
    return f != stdout ? fclose(f) != 0 : fflush(f) != 0;
}

static int
shred_run(const struct shred_args *a, const unsigned char root[32])
{
    struct coffre_manifest *sel = NULL;
    struct coffre_vault *v;
    unsigned char r2[COFFRE_MANIFEST_LEN];
    char *receipt = NULL;
    uint64_t bad = 0;
    int r = 0;

    if (a->from != NULL) {
        r = coffre_manifest_new(&sel) != COFFRE_OK ||
            manifest_of_file("shred", a->from, -1, sel, &bad) != 0 ||
            coffre_manifest_root(sel, r2, NULL) != COFFRE_OK;
    }
    if (r != 0 || (r = cli_open_unsealed("shred", &a->vo, &v)) != 0) {
        coffre_manifest_free(sel);
        return r != 0 ? r : 1;
    }
    r = coffre_vault_shred(v, sel, root, &receipt);
    if (r != COFFRE_OK) {
        cli_error("shred", "%s", coffre_vault_errmsg(v));
    } else {
        r = write_receipt(a->receipt, receipt);
    }
    coffre_free(receipt);
    coffre_manifest_free(sel);
    cli_close(v);
    return r != 0;
}

int
cmd_shred(int argc, char **argv)
{
    if (cli_help(
            argc, argv,
            "usage: coffre shred --data DIR --share FILE... --manifest ROOT\n"
            "                    (--from FILE | --all) [--receipt OUT]\n\n"
            "Erase the persons of a selection (a file or bundle that was "
            "moved, or\n"
            "all) if and only if they give exactly manifest ROOT, and write a\n"
            "signed erasure receipt.\n")) {
        return 0;
    }
    static const struct option lo[] = {
        {"data", required_argument, NULL, CLI_OPT_DATA},
        {"share", required_argument, NULL, CLI_OPT_SHARE},
        CLI_AUDIT_LONGOPTS,
        {"manifest", required_argument, NULL, 'm'},
        {"from", required_argument, NULL, 'f'},
        {"all", no_argument, NULL, 'a'},
        {"receipt", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0}};
    unsigned char root[COFFRE_MANIFEST_LEN];
    struct shred_args a;
    int c, bad = 0;

    memset(&a, 0, sizeof(a));
    optind = 0;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (cli_vault_opt("shred", &a.vo, c, optarg) == 1) {
            continue;
        }
        a.root = c == 'm' ? optarg : a.root;
        a.from = c == 'f' ? optarg : a.from;
        a.all |= c == 'a';
        a.receipt = c == 'r' ? optarg : a.receipt;
        bad |= c == '?';
    }
    if (bad || optind != argc || a.root == NULL ||
        (a.from == NULL) == (a.all == 0) ||
        coffre_unhex(a.root, root, sizeof(root)) != 0) {
        fprintf(stderr, "usage: coffre shred --data DIR --share FILE... "
                        "--manifest ROOT\n"
                        "                    (--from FILE | --all) "
                        "[--receipt OUT]\n");
        return 2;
    }
    return shred_run(&a, root);
}

static int
receipt_verify(const char *vkey, const char *path)
{
    size_t len = 0;
    char *msg = cli_read_file(path, RECEIPT_MAX, &len), *text = NULL;
    int rc;

    if (msg == NULL) {
        cli_error("receipt", "cannot read %s: %s", path, strerror(errno));
        return 1;
    }
    rc = coffre_receipt_verify(vkey, msg, len, &text);
    free(msg);
    if (rc != COFFRE_OK) {
        cli_error("receipt", "receipt refused: %s", coffre_strerror(rc));
        return 1;
    }
    printf("receipt verified\n%s", text);
    coffre_free(text);
    return 0;
}

static int
receipt_key(int argc, char **argv)
{
    static const struct option lo[] = {
        {"data", required_argument, NULL, CLI_OPT_DATA},
        {"share", required_argument, NULL, CLI_OPT_SHARE},
        CLI_AUDIT_LONGOPTS,
        {NULL, 0, NULL, 0}};
    struct cli_vault_opts vo;
    struct coffre_vault *v;
    char *vkey = NULL;
    int c, r;

    memset(&vo, 0, sizeof(vo));
    optind = 0;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (cli_vault_opt("receipt", &vo, c, optarg) != 1) {
            return 2;
        }
    }
    if ((r = cli_open_unsealed("receipt", &vo, &v)) != 0) {
        return r;
    }
    r = coffre_vault_receipt_key(v, &vkey);
    if (r == COFFRE_OK) {
        printf("%s\n", vkey);
    } else {
        cli_error("receipt", "%s", coffre_vault_errmsg(v));
    }
    coffre_free(vkey);
    cli_close(v);
    return r != COFFRE_OK;
}

int
cmd_receipt(int argc, char **argv)
{
    if (cli_help(argc, argv,
                 "usage: coffre receipt key --data DIR --share FILE...\n"
                 "       coffre receipt verify --key VKEY RECEIPT\n\n"
                 "Print the key that verifies this vault's erasure receipts, "
                 "or verify\n"
                 "a receipt with such a key.\n")) {
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "key") == 0) {
        return receipt_key(argc - 1, argv + 1);
    }
    if (argc == 5 && strcmp(argv[1], "verify") == 0 &&
        strcmp(argv[2], "--key") == 0) {
        return receipt_verify(argv[3], argv[4]);
    }
    fprintf(stderr, "usage: coffre receipt key --data DIR --share FILE...\n"
                    "       coffre receipt verify --key VKEY RECEIPT\n");
    return 2;
}
