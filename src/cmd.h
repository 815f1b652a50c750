/*
 * The coffre command's subcommands. Each takes the arguments after its
 * name (argv[0] is the subcommand name), prints its own messages and returns
 * the process exit status: 0 success, 1 failure, 2 usage error.
 * Subcommands use only the public API (include/coffre/).
 */
#ifndef COFFRE_SRC_CMD_H
#define COFFRE_SRC_CMD_H

int cmd_init(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_find(int argc, char **argv);
int cmd_erase(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_server(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_manifest(int argc, char **argv);
int cmd_bundle_key(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_shred(int argc, char **argv);
int cmd_receipt(int argc, char **argv);
int cmd_badge(int argc, char **argv);
int cmd_operator(int argc, char **argv);

/* cmd_seal.c: the PKCS#11 seal (docs/keys.md section 8). */
struct coffre_init_opts;
struct cli_vault_opts;
/** cmd_init_pkcs11(data, io, module, token, key, pin_file): init sealed
 * by a token's key; an exit status. */
int cmd_init_pkcs11(const char *data, const struct coffre_init_opts *io,
                    const char *module, const char *token, const char *key,
                    const char *pin_file);
/** cmd_keys_seal(o, argc, argv): `keys reseal` or `keys hsm-keygen`
 * (argv[0]), with the vault options parsed before it in ${o}. */
int cmd_keys_seal(struct cli_vault_opts *o, int argc, char **argv);

/* cmd_backup.c: coffre backup, coffre restore. */
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);

/* cmd_store.c: coffre store copy. */
int cmd_store(int argc, char **argv);

#endif
