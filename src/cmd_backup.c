/*
 * coffre backup, coffre restore (docs/operations.md section 2). The
 * library reads, encrypts, checks and writes; this file parses options
 * and reports.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "coffre/audit.h"
#include "coffre/backup.h"

static const char backup_help[] =
    "usage: coffre backup --data DIR --out NEW_DIR --to BACKUP_KEY.pub\n"
    "                     [--audit-dir DIR] [--store URI]\n"
    "                     [--store-password-file F]\n"
    "       coffre backup keygen --secret FILE --public FILE\n\n"
    "Back up the vault of data directory DIR into the new directory\n"
    "NEW_DIR, online (a server may be writing): the store read in one\n"
    "snapshot, key tables (keys.cbk) apart from records (records.cbk),\n"
    "both encrypted to the public key of --to; the audit log copied after\n"
    "the snapshot; manifest.json with the snapshot's audit mark and the\n"
    "SHA-256 of every file. Sealed: no share is needed.\n"
    "keygen writes a new backup key pair (both files created, mode 0600);\n"
    "keep the secret key offline.\n";

static const char restore_help[] =
    "usage: coffre restore --from BACKUP_DIR --data NEW_DIR --key SECRET\n"
    "                      [--audit-from LIVE_AUDIT_DIR]\n"
    "                      [--accept-rollback] [--share FILE]...\n\n"
    "Check the backup whole (manifest, SHA-256 of every file, both files\n"
    "opened with the backup secret key, every row), then restore it into\n"
    "the new data directory NEW_DIR (SQLite) with the audit log of\n"
    "--audit-from (the live vault's log; default: the backup's copy).\n"
    "While the log records writes past the backup, the restored vault\n"
    "refuses to serve; --accept-rollback (with the custodians' shares)\n"
    "erases again every person the log erased since the backup and\n"
    "accepts the loss of the other writes, in an entry store.rollback.\n"
    "With shares the restored vault is opened and its log checked now.\n";

static int
keygen(int argc, char **argv)
{
    static const struct option lo[] = {{"secret", required_argument, NULL, 's'},
                                       {"public", required_argument, NULL, 'p'},
                                       {NULL, 0, NULL, 0}};
    const char *sec = NULL, *pub = NULL;
    char msg[512];
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c == 's' || c == 'p') {
            *(c == 's' ? &sec : &pub) = optarg;
        } else {
            fputs(backup_help, stderr);
            return 2;
        }
    }
    if (sec == NULL || pub == NULL || optind != argc) {
        fputs(backup_help, stderr);
        return 2;
    }
    if (coffre_backup_keygen(sec, pub, msg, sizeof(msg)) != COFFRE_OK) {
        cli_error("backup keygen", "%s", msg);
        return 1;
    }
    printf("backup key pair: secret %s, public %s\n", sec, pub);
    return 0;
}

static void
print_info(const char *verb, const char *dir,
           const struct coffre_backup_info *in)
{
    printf("%s %s: vault %s, audit mark %" PRIu64 ", %" PRIu64
           " persons, %" PRIu64 " tombstones, %" PRIu64 " data keys, %" PRIu64
           " key versions, %" PRIu64 " epochs, next id %" PRIu64 "\n",
           verb, dir, in->vault_id, in->audit_mark, in->persons, in->tombstones,
           in->data_keys, in->keks, in->epochs, in->next_id);
}

int
cmd_backup(int argc, char **argv)
{
    static const struct option lo[] = {
        {"data", required_argument, NULL, 'd'},
        {"out", required_argument, NULL, 'o'},
        {"to", required_argument, NULL, 't'},
        {"audit-dir", required_argument, NULL, 'a'},
        {"store", required_argument, NULL, 's'},
        {"store-password-file", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0}};
    struct coffre_store_opts so = {NULL, NULL};
    struct coffre_backup_info in;
    const char *data = NULL, *out = NULL, *to = NULL, *adir = NULL;
    char msg[1024];
    int c;

    if (argc >= 2 && strcmp(argv[1], "keygen") == 0) {
        return keygen(argc - 1, argv + 1);
    }
    if (cli_help(argc, argv, backup_help)) {
        return 0;
    }
    optind = 0;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'd':
            data = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'a':
            adir = optarg;
            break;
        case 's':
            so.location = optarg;
            break;
        case 'p':
            so.password_file = optarg;
            break;
        default:
            fputs(backup_help, stderr);
            return 2;
        }
    }
    if (data == NULL || out == NULL || to == NULL || optind != argc) {
        fputs(backup_help, stderr);
        return 2;
    }
    if (coffre_backup_take(data, &so, adir, out, to, &in, msg, sizeof(msg)) !=
        COFFRE_OK) {
        cli_error("backup", "%s", msg);
        return 1;
    }
    print_info("backed up into", out, &in);
    return 0;
}

/* Open the restored vault with its shares: the log's open checks it
 * against the store (and, accepting, re-applies the erasures). */
static int
restore_open(struct cli_vault_opts *o)
{
    struct coffre_vault *v = NULL;
    const char *note;

    if (cli_open_unsealed("restore", o, &v) != 0) {
        return 1;
    }
    note = coffre_audit_open_errmsg();
    printf(
        "the restored vault opens; its audit log agrees with its store%s%s\n",
        note[0] ? ": " : "", note);
    cli_close(v);
    return 0;
}

int
cmd_restore(int argc, char **argv)
{
    static const struct option lo[] = {
        {"from", required_argument, NULL, 'f'},
        {"data", required_argument, NULL, CLI_OPT_DATA},
        {"key", required_argument, NULL, 'k'},
        {"audit-from", required_argument, NULL, 'a'},
        {"accept-rollback", no_argument, NULL, 'r'},
        {"share", required_argument, NULL, CLI_OPT_SHARE},
        {NULL, 0, NULL, 0}};
    struct cli_vault_opts o;
    struct coffre_backup_info in;
    const char *from = NULL, *key = NULL, *afrom = NULL;
    char msg[1024];
    int c, t;

    if (cli_help(argc, argv, restore_help)) {
        return 0;
    }
    memset(&o, 0, sizeof(o));
    optind = 0;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c == 'f' || c == 'k' || c == 'a') {
            *(c == 'f' ? &from : c == 'k' ? &key : &afrom) = optarg;
        } else if (c == 'r') {
            o.accept_rollback = 1;
        } else if ((t = cli_vault_opt("restore", &o, c, optarg)) != 1) {
            if (t == 0) {
                fputs(restore_help, stderr);
            }
            return 2;
        }
    }
    if (from == NULL || o.data == NULL || key == NULL || optind != argc ||
        (o.accept_rollback && o.nshares == 0)) {
        if (o.accept_rollback && o.nshares == 0) {
            cli_error("restore", "--accept-rollback needs the custodians' "
                                 "shares (--share FILE, once per share)");
        }
        fputs(restore_help, stderr);
        return 2;
    }
    if (coffre_backup_restore(from, key, o.data, afrom, &in, msg,
                              sizeof(msg)) != COFFRE_OK) {
        cli_error("restore", "%s", msg);
        return 1;
    }
    print_info("restored into", o.data, &in);
    return o.nshares > 0 ? restore_open(&o) : 0;
}
