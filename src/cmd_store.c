/*
 * coffre store copy: move a vault between backends (docs/storage.md
 * section 8). The library copies the rows as stored and checks them; this
 * file parses options and reports.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"

static void
store_usage(FILE *f)
{
    fprintf(f, "usage: coffre store copy --from DIR --to NEW_DIR "
               "[--to-store URI|NEW_DIR]\n"
               "           [--from-store-password-file F] "
               "[--to-store-password-file F]\n\n"
               "Copy the store of the vault in data directory DIR, row by row "
               "as stored\n(ciphertexts stay ciphertexts: no share is needed), "
               "into the empty store\n--to-store names (default: SQLite in "
               "NEW_DIR) of the new data directory\nNEW_DIR, with DIR's other "
               "files (the audit log, the guard's state). DIR's\nlock is held "
               "throughout: stop the server first. A non-empty NEW_DIR or a\n"
               "store that holds anything is refused. Both stores are read "
               "again and a\ndigest of every row compared; then check with "
               "`coffre manifest --vault`\nand `coffre audit verify` on "
               "NEW_DIR.\n");
}

static int
copy_report(const char *to, const struct coffre_store_copy_stats *st)
{
    char hex[65];

    for (int i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", st->digest[i]);
    }
    printf("copied into %s: %" PRIu64 " persons, %" PRIu64
           " tombstones, %" PRIu64 " data keys, %" PRIu64
           " key versions, %" PRIu64 " epochs, %" PRIu64
           " meta values, next id %" PRIu64 ", %" PRIu64
           " audit log files\nrows read back: digest %s on both sides\n",
           to, st->persons, st->tombstones, st->data_keys, st->keks, st->epochs,
           st->meta, st->next_id, st->audit_files, hex);
    return 0;
}

static int
store_copy(int argc, char **argv)
{
    static const struct option lo[] = {
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"to-store", required_argument, NULL, 's'},
        {"from-store-password-file", required_argument, NULL, 'p'},
        {"to-store-password-file", required_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct coffre_store_opts from = {NULL, NULL}, to = {NULL, NULL};
    struct coffre_store_copy_stats st;
    const char *src = NULL, *dst = NULL;
    char msg[512];
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'f':
            src = optarg;
            break;
        case 't':
            dst = optarg;
            break;
        case 's':
            to.location = optarg;
            break;
        case 'p':
            from.password_file = optarg;
            break;
        case 'q':
            to.password_file = optarg;
            break;
        case 'h':
            store_usage(stdout);
            return 0;
        default:
            store_usage(stderr);
            return 2;
        }
    }
    if (src == NULL || dst == NULL || optind != argc) {
        store_usage(stderr);
        return 2;
    }
    if (coffre_store_copy(src, &from, dst, &to, &st, msg, sizeof(msg)) !=
        COFFRE_OK) {
        cli_error("store copy", "%s", msg);
        return 1;
    }
    return copy_report(dst, &st);
}

int
cmd_store(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "copy") == 0) {
        return store_copy(argc - 1, argv + 1);
    }
    if (argc == 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        store_usage(stdout);
        return 0;
    }
    store_usage(stderr);
    return 2;
}
