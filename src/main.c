/* coffre: the command. Each subcommand lives in its own cmd_*.c file. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "coffre/coffre.h"
#include "coffre_version.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"init", cmd_init, "create a vault and write its Shamir unseal shares"},
    {"status", cmd_status, "show a vault's id, seal and key status"},
    {"gen", cmd_gen, "write a synthetic accreditation file (JSONL or CSV)"},
    {"import", cmd_import, "load a JSONL or CSV accreditation file"},
    {"put", cmd_put, "store one person given as a JSON object"},
    {"get", cmd_get, "decrypt one person's field classes"},
    {"find", cmd_find, "exact search by document, email or name+birth"},
    {"erase", cmd_erase, "erase one person (destroys its data key)"},
    {"keys", cmd_keys, "rotate, rewrap, retire keys; destroy epochs"},
    {"manifest", cmd_manifest, "manifest root of a file or of the vault"},
    {"bundle-key", cmd_bundle_key, "this vault's key for receiving bundles"},
    {"export", cmd_export, "write a sealed bundle for another vault"},
    {"shred", cmd_shred, "erase migrated persons, write an erasure receipt"},
    {"receipt", cmd_receipt, "erasure receipt key; verify a receipt"},
    {"audit", cmd_audit, "verify an audit log, query its entries"},
    {"badge", cmd_badge, "issue an offline badge; verify one (coffre-gate)"},
    {"server", cmd_server, "serve the HTTPS API (or --dev for a demo)"},
    {"operator", cmd_operator, "a custodian's unseal, seal, status, approvals"},
    {"store", cmd_store, "copy a vault's store to another backend"},
    {"backup", cmd_backup, "back up a vault online, encrypted; keygen"},
    {"restore", cmd_restore, "restore a backup into a new data directory"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
    fprintf(f, "usage: coffre COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(f, "\n'coffre COMMAND --help' describes each command;\n"
               "'coffre --version' prints the version.\n");
}

static int
print_version(void)
{
    printf("coffre %s\n", COFFRE_VERSION);
    return 0;
}

static const struct command *
find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(name, commands[i].name) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    const struct command *cmd;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        return print_version();
    }
    cmd = find_command(argv[1]);
    if (cmd == NULL) {
        fprintf(stderr, "coffre: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    /* "coffre COMMAND --version": every command, the same version (the
     * one meson's project() declares, through coffre_version.h). */
    if (argc == 3 && strcmp(argv[2], "--version") == 0) {
        return print_version();
    }
    if (coffre_lib_init() != COFFRE_OK) {
        fprintf(stderr, "coffre: cannot initialise libsodium\n");
        return 1;
    }
    return cmd->run(argc - 1, argv + 1);
}
