#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/audit.h"
#include "coffre/seal.h"

#define SHARE_FILE_MAX 4096

static int attach_log(const char *cmd, const struct cli_vault_opts *o,
                      struct coffre_vault *v);

void
cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "coffre %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int
cli_vault_opt(const char *cmd, struct cli_vault_opts *o, int opt,
              const char *arg)
{
    if (opt == CLI_OPT_DATA) {
        o->data = arg;
        return 1;
    }
    if (opt == CLI_OPT_PIN_FILE) {
        o->pin_file = arg;
        return 1;
    }
    if (opt == CLI_OPT_STORE || opt == CLI_OPT_STORE_PASSWORD) {
        *(opt == CLI_OPT_STORE ? &o->store : &o->store_password) = arg;
        return 1;
    }
    if (opt == CLI_OPT_AUDIT_DIR || opt == CLI_OPT_PURPOSE) {
        *(opt == CLI_OPT_AUDIT_DIR ? &o->audit_dir : &o->purpose) = arg;
        return 1;
    }
    if (opt != CLI_OPT_SHARE) {
        return 0;
    }
    if (o->nshares == CLI_MAX_SHARES) {
        cli_error(cmd, "too many --share options");
        return -1;
    }
    o->shares[o->nshares++] = arg;
    return 1;
}

const struct coffre_store_opts *
cli_store_opts(const struct cli_vault_opts *o, struct coffre_store_opts *so)
{
    so->location = o->store;
    so->password_file = o->store_password;
    return so;
}

char *
cli_read_file(const char *path, size_t cap, size_t *plen)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf;
    size_t n;

    if (f == NULL) {
        return NULL;
    }
    buf = malloc(cap + 2);
    if (buf == NULL) {
        if (f != stdin) {
            fclose(f);
        }
        return NULL;
    }
    n = fread(buf, 1, cap + 1, f);
    if (f != stdin) {
        fclose(f);
    }
    if (n > cap) {
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    buf[n] = '\0';
    if (plen != NULL) {
        *plen = n;
    }
    return buf;
}

static int
unseal_with(const char *cmd, struct coffre_vault *v, const char *path)
{
    unsigned have = 0, need = 0;
    size_t len;
    char *text = cli_read_file(path, SHARE_FILE_MAX, &len);
    int rc;

    if (text == NULL) {
        cli_error(cmd, "cannot read share %s: %s", path, strerror(errno));
        return 1;
    }
    rc = coffre_vault_unseal(v, text, &have, &need);
    memset(text, 0, len);
    free(text);
    if (rc != COFFRE_OK) {
        cli_error(cmd, "share %s: %s", path, coffre_vault_errmsg(v));
        return 1;
    }
    return 0;
}

int
cli_open_unsealed(const char *cmd, const struct cli_vault_opts *o,
                  struct coffre_vault **pv)
{
    struct coffre_vault *v = NULL;
    struct coffre_store_opts so;
    int rc;

    *pv = NULL;
    if (o->data == NULL) {
        cli_error(cmd, "--data DIR is required");
        return 2;
    }
    rc = coffre_vault_open_store(o->data, cli_store_opts(o, &so), &v);
    if (rc != COFFRE_OK) {
        cli_error(cmd, "%s", coffre_vault_errmsg(v));
        coffre_vault_close(v);
        return 1;
    }
    for (unsigned i = 0; i < o->nshares; i++) {
        if (unseal_with(cmd, v, o->shares[i]) != 0) {
            coffre_vault_close(v);
            return 1;
        }
    }
    /* A token-sealed vault opens from its token, with no custodian;
     * shares, when given, still open it (the recovery). */
    if (o->nshares == 0 && coffre_vault_seal_kind(v) == COFFRE_SEAL_PKCS11 &&
        cli_unseal_token(cmd, v, o->pin_file) != 0) {
        coffre_vault_close(v);
        return 1;
    }
    if (coffre_vault_is_sealed(v)) {
        unsigned have = 0, need = 0;

        coffre_vault_unseal_progress(v, &have, &need);
        cli_error(cmd,
                  "the vault is sealed: %u share(s) given, %u needed "
                  "(--share FILE, once per share)",
                  o->nshares, need);
        coffre_vault_close(v);
        return 1;
    }
    if (o->accept_rollback) {
        coffre_vault_accept_rollback(v);
    }
    if (attach_log(cmd, o, v) != 0) {
        coffre_vault_close(v);
        return 1;
    }
    *pv = v;
    return 0;
}

/* The logs cli_open_unsealed attached, by vault (a command opens two at
 * most: a bundle's source and destination). */
static struct {
    struct coffre_vault *v;
    struct coffre_audit *a;
} attached[4];

/* Open the vault's audit log and make it record everything the command
 * discloses or writes: without it the library refuses both. */
static int
attach_log(const char *cmd, const struct cli_vault_opts *o,
           struct coffre_vault *v)
{
    char dir[4096], purpose[COFFRE_AUDIT_MAX_PURPOSE + 1];
    struct coffre_actor actor = {NULL, "local", NULL, NULL};
    struct coffre_audit *a = NULL;
    size_t slot = 0;
    int rc;

    while (slot < 4 && attached[slot].v != NULL) {
        slot++;
    }
    if (slot == 4 || (size_t)snprintf(dir, sizeof(dir), "%s/audit", o->data) >=
                         sizeof(dir)) {
        cli_error(cmd, "cannot attach an audit log");
        return 1;
    }
    rc = coffre_audit_open(v, o->audit_dir ? o->audit_dir : dir, NULL, &a);
    if (rc != COFFRE_OK) {
        cli_error(cmd, "the audit log %s: %s",
                  o->audit_dir ? o->audit_dir : dir,
                  coffre_audit_open_errmsg()[0] ? coffre_audit_open_errmsg()
                                                : coffre_strerror(rc));
        return 1;
    }
    snprintf(purpose, sizeof(purpose), "%s", o->purpose ? o->purpose : "");
    if (o->purpose == NULL) {
        snprintf(purpose, sizeof(purpose), "coffre %s (command line)", cmd);
    }
    actor.purpose = purpose;
    if (coffre_audit_attach(a, v, &actor) != COFFRE_OK) {
        cli_error(cmd,
                  "--purpose: at most %d bytes of UTF-8, no control "
                  "character",
                  COFFRE_AUDIT_MAX_PURPOSE);
        coffre_audit_close(a);
        return 1;
    }
    attached[slot].v = v;
    attached[slot].a = a;
    return 0;
}

const char *
cli_audit_vkey(const struct coffre_vault *v)
{
    for (size_t i = 0; v != NULL && i < 4; i++) {
        if (attached[i].v == v) {
            return coffre_audit_verifier_key(attached[i].a);
        }
    }
    return NULL;
}

void
cli_close(struct coffre_vault *v)
{
    for (size_t i = 0; v != NULL && i < 4; i++) {
        if (attached[i].v == v) {
            coffre_audit_close(attached[i].a);
            attached[i].v = NULL;
            attached[i].a = NULL;
        }
    }
    coffre_vault_close(v);
}

int
cli_parse_u64(const char *s, uint64_t max, uint64_t *pv)
{
    char *end;
    unsigned long long x;

    if (s == NULL || *s < '0' || *s > '9') {
        return -1;
    }
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || x > max) {
        return -1;
    }
    *pv = x;
    return 0;
}

int
cli_parse_id(const char *s, uint64_t *pid)
{
    return cli_parse_u64(s, UINT64_MAX, pid) != 0 || *pid == 0 ? -1 : 0;
}

int
cli_help(int argc, char **argv, const char *text)
{
    if (argc == 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(text, stdout);
        return 1;
    }
    return 0;
}
