/*
 * coffre-gate: the command of a gate device. Uses only coffre/gate.h.
 * Each function returns a process exit status: 0 success (accept), 1
 * refusal or failure, 2 usage or configuration error.
 */
#ifndef COFFRE_SRC_GATE_CMD_H
#define COFFRE_SRC_GATE_CMD_H

#include <stddef.h>
#include <stdint.h>

#define GATE_LIST_KEY "list-key"
#define GATE_TRUST "trust-list.cbor"
#define GATE_REVOC "revocations.cbor"
#define GATE_CONF "gate.conf"
#define GATE_MAX_LIST (16u * 1024u * 1024u)

struct gate_conf {
    const char *dir;
    int64_t max_age; /* seconds */
    int refuse_stale;
};

/** gate_conf_load(c, dir): defaults, then ${dir}/gate.conf if present. */
int gate_conf_load(struct gate_conf *c, const char *dir);

/** gate_path(out, cap, dir, name): "${dir}/${name}"; -1 if too long. */
int gate_path(char *out, size_t cap, const char *dir, const char *name);

/** gate_list_key(dir, pk): read the provisioned list public key (hex). */
int gate_list_key(const char *dir, uint8_t pk[32]);

int gate_cmd_verify(const struct gate_conf *c, int argc, char **argv);
int gate_cmd_sync(const struct gate_conf *c, int argc, char **argv);
int gate_cmd_init(const struct gate_conf *c, int argc, char **argv);

/** gate_image_decode(path, out, cap): the text of the first QR code in
 * the PNG ${path}; 0 on success. */
int gate_image_decode(const char *path, char *out, size_t cap);

#endif
