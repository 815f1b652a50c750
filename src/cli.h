/* Helpers shared by the subcommands: vault opening and messages. */
#ifndef COFFRE_SRC_CLI_H
#define COFFRE_SRC_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "coffre/coffre.h"

#define CLI_MAX_SHARES 255

/* Options every vault subcommand takes: --data DIR, --share FILE...,
 * --audit-dir DIR (default DATA/audit), --purpose TEXT (for the log). */
struct cli_vault_opts {
    const char *data;
    const char *shares[CLI_MAX_SHARES];
    unsigned nshares;
    const char *audit_dir;
    const char *purpose;
    const char *pin_file; /* a token-sealed vault's PIN (docs/keys.md 8) */
    const char *store;    /* --store: as DATA records when NULL */
    const char *store_password; /* --store-password-file */
    int accept_rollback;        /* coffre restore --accept-rollback */
};

/** cli_error(cmd, fmt, ...): print "coffre CMD: message" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** cli_store_opts(o, so): the store options of ${o}, in ${so}; returns
 * ${so}. */
const struct coffre_store_opts *cli_store_opts(const struct cli_vault_opts *o,
                                               struct coffre_store_opts *so);

/** cli_vault_opt(o, opt, arg): take --data/--share; 1 if taken, 0 if not,
 * -1 on a usage error (already printed). */
int cli_vault_opt(const char *cmd, struct cli_vault_opts *o, int opt,
                  const char *arg);

/**
 * cli_open_unsealed(cmd, o, pv): open the vault of o->data, unseal it with
 * the shares given and attach its audit log (o->audit_dir, default
 * DATA/audit), so that everything the command discloses or writes is an
 * entry of role "local" (docs/audit.md section 13); prints the reason and
 * returns nonzero on failure. Close it with cli_close().
 */
int cli_open_unsealed(const char *cmd, const struct cli_vault_opts *o,
                      struct coffre_vault **pv);

/**
 * cli_unseal_token(cmd, v, pin_file): unseal the token-sealed ${v} with the
 * PIN of ${pin_file} or COFFRE_PKCS11_PIN (cmd_seal.c); prints the reason
 * and returns nonzero on failure, the vault still sealed.
 */
int cli_unseal_token(const char *cmd, struct coffre_vault *v,
                     const char *pin_file);
/** cli_audit_vkey(v): the verifier key of the audit log attached to
 * ${v} (coffre audit verify --key), or NULL. */
const char *cli_audit_vkey(const struct coffre_vault *v);

/** cli_close(v): close the audit log cli_open_unsealed attached to ${v},
 * then ${v}; NULL is a no-op. */
void cli_close(struct coffre_vault *v);

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
#define CLI_OPT_AUDIT_DIR 0x101
#define CLI_OPT_PURPOSE 0x102
#define CLI_OPT_PIN_FILE 0x103
#define CLI_OPT_STORE 0x104
#define CLI_OPT_STORE_PASSWORD 0x105
/* The audit options, after --share in every vault command's table. */
#define CLI_AUDIT_LONGOPTS                                                     \
    {"audit-dir", required_argument, NULL, CLI_OPT_AUDIT_DIR},                 \
        {"purpose", required_argument, NULL, CLI_OPT_PURPOSE},                 \
        {"pin-file", required_argument, NULL, CLI_OPT_PIN_FILE},               \
        {"store", required_argument, NULL, CLI_OPT_STORE},                     \
    {                                                                          \
        "store-password-file", required_argument, NULL, CLI_OPT_STORE_PASSWORD \
    }
#define CLI_AUDIT_HELP                                                         \
    "  --audit-dir DIR the vault's audit log (default DATA/audit)\n"           \
    "  --purpose TEXT  why, for the audit log's entries\n"                     \
    "  --pin-file FILE a token-sealed vault's PIN (or COFFRE_PKCS11_PIN)\n"    \
    "  --store URI     the PostgreSQL store; DATA records it, so only\n"       \
    "                  to check that it is the one meant\n"                    \
    "  --store-password-file F  the store's password (else PGPASSWORD,\n"      \
    "                  ~/.pgpass)\n"

#endif
