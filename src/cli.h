/* Helpers shared by the subcommands: vault opening and messages. */
#ifndef COFFRE_SRC_CLI_H
#define COFFRE_SRC_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/coffre.h"

#define CLI_MAX_SHARES 255

/* Options every vault subcommand takes: --data DIR, --share FILE... */
struct cli_vault_opts {
    const char *data;
    const char *shares[CLI_MAX_SHARES];
    unsigned nshares;
};

/** cli_error(cmd, fmt, ...): print "coffre CMD: message" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** cli_vault_opt(o, opt, arg): take --data/--share; 1 if taken, 0 if not,
 * -1 on a usage error (already printed). */
int cli_vault_opt(const char *cmd, struct cli_vault_opts *o, int opt,
                  const char *arg);

/** cli_open_unsealed(cmd, o, pv): open the vault of o->data and unseal it
 * with the shares given; prints the reason and returns nonzero on failure. */
int cli_open_unsealed(const char *cmd, const struct cli_vault_opts *o,
                      struct coffre_vault **pv);

/** cli_parse_id(s, pid): a decimal record id; 0 on success. */
int cli_parse_id(const char *s, uint64_t *pid);

/** cli_parse_u64(s, max, pv): a decimal number 0..max; 0 on success. */
int cli_parse_u64(const char *s, uint64_t max, uint64_t *pv);

/** cli_read_file(path, cap, plen): the whole file ("-" = stdin), at most
 * cap bytes, NUL-terminated; NULL on failure (errno set; EFBIG if over). */
char *cli_read_file(const char *path, size_t cap, size_t *plen);

/** cli_help(argc, argv, text): if the only argument after the subcommand
 * is --help or -h, print ${text} to standard output and return 1. */
int cli_help(int argc, char **argv, const char *text);

/* Long options shared by vault subcommands. */
#define CLI_OPT_DATA 'd'
#define CLI_OPT_SHARE 's'

#endif
