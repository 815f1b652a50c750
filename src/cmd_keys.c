/*
 * coffre keys: key-encryption key rotation, rewrapping, retirement and
 * retention-epoch destruction on a local vault.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"

#define REWRAP_BATCH 2048

static void
keys_usage(FILE *f)
{
    fprintf(f, "usage: coffre keys --data DIR --share FILE... ACTION\n\n"
               "actions:\n"
               "  rotate               add a key-encryption key version; new "
               "records use it\n"
               "  rewrap               move every data key to the newest "
               "version, in short\n"
               "                       batches (the vault keeps serving)\n"
               "  retire VERSION       destroy an old version once nothing "
               "uses it\n"
               "  epoch ID             print the retention epoch of person ID\n"
               "  destroy-epoch EPOCH  destroy a retention epoch's key: every "
               "person of that\n"
               "                       epoch is shredded, in every backup too\n"
               "  reseal --to pkcs11|shamir ...  seal the root key by a "
               "PKCS#11 token, or by\n"
               "                       fresh custodian shares (keys reseal "
               "--help)\n"
               "  hsm-keygen ...       make the token's sealing key "
               "(keys hsm-keygen --help)\n"
               "\n  --data DIR      the vault directory\n"
               "  --share FILE    an unseal share file; repeat up to the "
               "threshold\n");
}

static int
do_rewrap(struct coffre_vault *v)
{
    size_t moved, total = 0;
    int rc;

    do {
        rc = coffre_vault_rewrap(v, REWRAP_BATCH, &moved);
        total += moved;
    } while (rc == COFFRE_OK && moved > 0);
    if (rc != COFFRE_OK) {
        cli_error("keys", "rewrap: %s", coffre_vault_errmsg(v));
        return 1;
    }
    printf("%zu data key(s) rewrapped\n", total);
    return 0;
}

static int
do_number_action(struct coffre_vault *v, const char *action, const char *arg)
{
    uint64_t x;
    uint32_t epoch;
    int rc;

    if (arg == NULL || cli_parse_u64(arg, UINT32_MAX, &x) != 0) {
        cli_error("keys", "%s needs a number", action);
        return 2;
    }
    if (strcmp(action, "retire") == 0) {
        rc = coffre_vault_retire(v, (unsigned)x);
        if (rc == COFFRE_OK) {
            printf("key-encryption key v%llu retired\n", (unsigned long long)x);
        }
    } else if (strcmp(action, "epoch") == 0) {
        rc = coffre_vault_epoch_of(v, x, &epoch);
        if (rc == COFFRE_OK) {
            printf("%u\n", epoch);
        }
    } else {
        rc = coffre_vault_epoch_destroy(v, (uint32_t)x);
        if (rc == COFFRE_OK) {
            printf("retention epoch %llu destroyed\n", (unsigned long long)x);
        }
    }
    if (rc != COFFRE_OK) {
        cli_error("keys", "%s: %s", action, coffre_vault_errmsg(v));
        return 1;
    }
    return 0;
}

static int
run_action(struct coffre_vault *v, int argc, char **argv)
{
    const char *action = argv[0];
    unsigned version;

    if (strcmp(action, "rotate") == 0 && argc == 1) {
        if (coffre_vault_rotate(v, &version) != COFFRE_OK) {
            cli_error("keys", "rotate: %s", coffre_vault_errmsg(v));
            return 1;
        }
        printf("key-encryption key v%u is now current\n", version);
        return 0;
    }
    if (strcmp(action, "rewrap") == 0 && argc == 1) {
        return do_rewrap(v);
    }
    if ((strcmp(action, "retire") == 0 || strcmp(action, "epoch") == 0 ||
         strcmp(action, "destroy-epoch") == 0) &&
        argc == 2) {
        return do_number_action(v, action, argv[1]);
    }
    keys_usage(stderr);
    return 2;
}

int
cmd_keys(int argc, char **argv)
{
    static const struct option lo[] = {
        {"data", required_argument, NULL, CLI_OPT_DATA},
        {"share", required_argument, NULL, CLI_OPT_SHARE},
        CLI_AUDIT_LONGOPTS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct cli_vault_opts o = {0};
    struct coffre_vault *v;
    int c, r;

    optind = 0;
    while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
        if (c == 'h') {
            keys_usage(stdout);
            return 0;
        }
        if (cli_vault_opt("keys", &o, c, optarg) != 1) {
            keys_usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        keys_usage(stderr);
        return 2;
    }
    if (strcmp(argv[optind], "reseal") == 0 ||
        strcmp(argv[optind], "hsm-keygen") == 0) {
        return cmd_keys_seal(&o, argc - optind, argv + optind);
    }
    r = cli_open_unsealed("keys", &o, &v);
    if (r != 0) {
        return r;
    }
    r = run_action(v, argc - optind, argv + optind);
    cli_close(v);
    return r;
}
