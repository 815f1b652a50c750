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
int cmd_store(int argc, char **argv);

#endif
