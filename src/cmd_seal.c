/*
 * The PKCS#11 seal on the command line (docs/keys.md section 8): unseal a
 * token-sealed vault, init with --seal pkcs11, `coffre keys reseal` and
 * `coffre keys hsm-keygen`. The PIN comes from --pin-file or
 * COFFRE_PKCS11_PIN, never from the command line.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "coffre/seal.h"
#include "pin.h"

int
cli_unseal_token(const char *cmd, struct coffre_vault *v, const char *pin_file)
{
    struct coffre_pkcs11 p = {0};
    const char *token = "";
    char err[512];
    char *pin = NULL;
    size_t len = 0;
    int rc;

    coffre_vault_pkcs11_recorded(v, NULL, &token, NULL);
    if (pin_read(pin_file, &pin, &len, err, sizeof(err)) != 0) {
        cli_error(cmd, "%s; the vault stays sealed", err);
        return 1;
    }
    if (pin == NULL) {
        cli_error(cmd,
                  "the vault is sealed by token '%s': give its PIN with "
                  "--pin-file FILE or %s (or the custodians' shares with "
                  "--share)",
                  token, PIN_ENV);
        return 1;
    }
    p.pin = pin;
    p.pin_len = len;
    rc = coffre_vault_unseal_pkcs11(v, &p);
    pin_free(pin);
    if (rc != COFFRE_OK) {
        cli_error(cmd, "%s; the vault stays sealed", coffre_vault_errmsg(v));
        return 1;
    }
    return 0;
}

/* The options of the token: --module, --token-label, --key-label,
 * --pin-file. */
struct token_opts {
    const char *module, *token, *key, *pin_file;
};

#define TOKEN_LONGOPTS                                                         \
    {"module", required_argument, NULL, 'M'},                                  \
        {"token-label", required_argument, NULL, 'T'},                         \
        {"key-label", required_argument, NULL, 'K'},                           \
    {                                                                          \
        "pin-file", required_argument, NULL, CLI_OPT_PIN_FILE                  \
    }

/* 1 if ${c} is a token option (taken), else 0. */
static int
token_opt(struct token_opts *t, int c, const char *arg)
{
    switch (c) {
    case 'M':
        t->module = arg;
        return 1;
    case 'T':
        t->token = arg;
        return 1;
    case 'K':
        t->key = arg;
        return 1;
    case CLI_OPT_PIN_FILE:
        t->pin_file = arg;
        return 1;
    default:
        return 0;
    }
}

/* Read the PIN into ${p} (with the labels of ${t}); 0, or 1 with the
 * reason printed. Release with pin_free(p->pin). */
static int
token_config(const char *cmd, const struct token_opts *t, int need_labels,
             struct coffre_pkcs11 *p)
{
    char err[512];
    char *pin = NULL;
    size_t len = 0;

    memset(p, 0, sizeof(*p));
    if (need_labels &&
        (t->module == NULL || t->token == NULL || t->key == NULL)) {
        cli_error(cmd, "the token needs --module PATH, --token-label LABEL "
                       "and --key-label LABEL");
        return 1;
    }
    if (pin_read(t->pin_file, &pin, &len, err, sizeof(err)) != 0) {
        cli_error(cmd, "%s", err);
        return 1;
    }
    if (pin == NULL) {
        cli_error(cmd, "the token's PIN: give --pin-file FILE or set %s",
                  PIN_ENV);
        return 1;
    }
    p->module = t->module;
    p->token = t->token;
    p->key = t->key;
    p->pin = pin;
    p->pin_len = len;
    return 0;
}

int
cmd_init_pkcs11(const char *data, const struct coffre_init_opts *io,
                const char *module, const char *token, const char *key,
                const char *pin_file)
{
    struct token_opts t = {module, token, key, pin_file};
    struct coffre_pkcs11 p;
    struct coffre_vault *v = NULL;
    int rc;

    if (token_config("init", &t, 1, &p) != 0) {
        return 1;
    }
    rc = coffre_vault_init_pkcs11(data, io, &p, &v);
    pin_free((char *)p.pin);
    if (rc != COFFRE_OK) {
        cli_error("init", "%s",
                  v != NULL ? coffre_vault_errmsg(v) : coffre_strerror(rc));
        cli_close(v);
        return 1;
    }
    printf("vault %s created in %s, sealed by key '%s' on token '%s'\n",
           coffre_vault_id(v), data, key, token);
    printf("custodian sharing: %u shares written to %s/share-1.txt .. "
           "share-%u.txt; any %u\nopen the vault without the token and "
           "consent to a reseal (docs/keys.md 8).\n",
           io->shares, io->share_dir, io->shares, io->threshold);
    cli_close(v);
    return 0;
}

/* ------------------------------------------------------------------ */

static void
reseal_usage(FILE *f)
{
    fprintf(f, "usage: coffre keys reseal --data DIR --share FILE... --to "
               "pkcs11\n"
               "           --module PATH --token-label T --key-label K "
               "[--pin-file F]\n"
               "       coffre keys reseal --data DIR --share FILE... --to "
               "shamir\n"
               "           --shares-dir SDIR [--shares N] [--threshold M]\n"
               "       coffre keys hsm-keygen --module PATH --token-label T "
               "--key-label K\n"
               "           [--pin-file F]\n\n"
               "reseal changes how the root key is sealed; the custodians "
               "consent by giving\nthe threshold of their current shares "
               "(--share), which open the vault.\n"
               "--to pkcs11 seals it under key K on token T (made if absent); "
               "the shares\nstay the recovery. --to shamir writes a fresh "
               "sharing to SDIR: the previous\nshares are refused from then "
               "on, and the token no longer opens the vault.\n"
               "hsm-keygen makes key K on token T if absent (AES-256, never "
               "leaves the token).\nThe PIN: --pin-file F or "
               "COFFRE_PKCS11_PIN (docs/keys.md section 8).\n");
}

struct reseal_args {
    struct cli_vault_opts *o;
    struct token_opts t;
    const char *to;
    struct coffre_init_opts io;
};

static int
reseal_opt(struct reseal_args *a, int c, const char *arg)
{
    uint64_t x;

    if (c == 'o') {
        a->io.share_dir = arg;
    } else if (c == 't') {
        a->to = arg;
    } else if (c == 'n' || c == 'm') {
        if (cli_parse_u64(arg, 255, &x) != 0) {
            cli_error("keys", "--%s takes a number from 2 to 255",
                      c == 'n' ? "shares" : "threshold");
            return -1;
        }
        *(c == 'n' ? &a->io.shares : &a->io.threshold) = (unsigned)x;
    } else if (!token_opt(&a->t, c, arg)) {
        int r = cli_vault_opt("keys", a->o, c, arg);
        return r == 1 ? 0 : -1;
    }
    return 0;
}

/* Parse reseal's or hsm-keygen's own options (after the action); 0, or
 * an exit status. */
static int
reseal_parse(int argc, char **argv, struct reseal_args *a)
{
    static const struct option lo[] = {
        {"data", required_argument, NULL, CLI_OPT_DATA},
        {"share", required_argument, NULL, CLI_OPT_SHARE},
        {"audit-dir", required_argument, NULL, CLI_OPT_AUDIT_DIR},
        {"purpose", required_argument, NULL, CLI_OPT_PURPOSE},
        {"to", required_argument, NULL, 't'},
        {"shares-dir", required_argument, NULL, 'o'},
        {"shares", required_argument, NULL, 'n'},
        {"threshold", required_argument, NULL, 'm'},
        TOKEN_LONGOPTS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;

    a->t.pin_file = a->o->pin_file;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c == 'h') {
            reseal_usage(stdout);
            return -1;
        }
        if (reseal_opt(a, c, optarg) != 0) {
            reseal_usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        reseal_usage(stderr);
        return 2;
    }
    return 0;
}

static int
hsm_keygen(struct reseal_args *a)
{
    struct coffre_pkcs11 p;
    char err[512];
    int created = 0, rc;

    if (token_config("keys", &a->t, 1, &p) != 0) {
        return 1;
    }
    rc = coffre_pkcs11_keygen(&p, &created, err, sizeof(err));
    pin_free((char *)p.pin);
    if (rc != COFFRE_OK) {
        cli_error("keys", "hsm-keygen: %s", err);
        return 1;
    }
    printf("key '%s' on token '%s': %s\n", a->t.key, a->t.token,
           created ? "created (AES-256, never leaves the token)"
                   : "present, and cannot leave the token");
    return 0;
}

static int
reseal_run(struct coffre_vault *v, struct reseal_args *a)
{
    struct coffre_pkcs11 p;
    int rc;

    if (strcmp(a->to, "shamir") == 0) {
        rc = coffre_vault_reseal_shamir(v, &a->io);
        if (rc == COFFRE_OK) {
            printf("vault %s is sealed by %u custodian shares, any %u of "
                   "which open it: %s/share-1.txt .. share-%u.txt.\nThe "
                   "previous shares no longer open it.\n",
                   coffre_vault_id(v), a->io.shares, a->io.threshold,
                   a->io.share_dir, a->io.shares);
        }
    } else {
        if (token_config("keys", &a->t, 1, &p) != 0) {
            return 1;
        }
        rc = coffre_vault_reseal_pkcs11(v, &p);
        pin_free((char *)p.pin);
        if (rc == COFFRE_OK) {
            printf("vault %s is sealed by key '%s' on token '%s'; the "
                   "custodians' shares stay its recovery.\n",
                   coffre_vault_id(v), a->t.key, a->t.token);
        }
    }
    if (rc != COFFRE_OK) {
        cli_error("keys", "reseal: %s", coffre_vault_errmsg(v));
        return 1;
    }
    return 0;
}

int
cmd_keys_seal(struct cli_vault_opts *o, int argc, char **argv)
{
    struct reseal_args a;
    struct coffre_vault *v = NULL;
    int r;

    memset(&a, 0, sizeof(a));
    a.o = o;
    a.io.shares = 5;
    a.io.threshold = 3;
    r = reseal_parse(argc, argv, &a);
    if (r != 0) {
        return r < 0 ? 0 : r;
    }
    if (strcmp(argv[0], "hsm-keygen") == 0) {
        return hsm_keygen(&a);
    }
    if (a.to == NULL ||
        (strcmp(a.to, "pkcs11") != 0 && strcmp(a.to, "shamir") != 0) ||
        (strcmp(a.to, "shamir") == 0 && a.io.share_dir == NULL)) {
        cli_error("keys", "reseal needs --to pkcs11, or --to shamir with "
                          "--shares-dir SDIR");
        return 2;
    }
    /* The shares given open the vault: the custodians' consent. Without
     * them a token-sealed vault opens from its token, and the library
     * refuses the reseal, saying why. */
    o->pin_file = a.t.pin_file;
    r = cli_open_unsealed("keys", o, &v);
    if (r != 0) {
        return r;
    }
    r = reseal_run(v, &a);
    cli_close(v);
    return r;
}
