/*
 * Another data directory for a vault that lives in PostgreSQL (docs/
 * storage.md section 9): several `coffre server` processes on one
 * database, each with its own data directory (its lock, its local files),
 * the same vault. Nothing is created in the database: joining only
 * records its URI in DATA_DIR/store; the vault's identity is the
 * database's, and unsealing checks the shares against it as for any open.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store.h"
#include "vault/vault.h"

static int
exists_in(const char *dir, const char *name)
{
    char path[PATH_MAX];
    struct stat st;
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

    return n > 0 && (size_t)n < sizeof(path) && lstat(path, &st) == 0;
}

int
coffre_vault_join(const char *dir, const struct coffre_store_opts *so,
                  char *msg, size_t cap)
{
    struct vault_store_sel sel;
    struct coffre_store *s = NULL;
    struct stat st;
    int rc;

    if (dir == NULL || so == NULL || so->location == NULL ||
        !vault_store_is_uri(so->location)) {
        snprintf(msg, cap,
                 "--join takes the PostgreSQL store of a vault "
                 "(--store postgresql://...)");
        return COFFRE_ERR_ARG;
    }
    rc = vault_store_resolve(dir, so, 1, &sel, msg, cap);
    if (rc != COFFRE_OK) {
        return rc;
    }
    if (exists_in(dir, VAULT_STORE_RECORD) || exists_in(dir, VAULT_DB_NAME)) {
        snprintf(msg, cap, "%s already holds a vault", dir);
        return COFFRE_ERR_EXISTS;
    }
    rc = vault_store_open_sel(&sel, so->password_file, &s, msg, cap);
    if (rc != COFFRE_OK) {
        return rc;
    }
    /* Only a database that holds a vault is joined. */
    rc = vault_store_must_be_empty(s, sel.uri, msg, cap);
    coffre_store_close(s);
    if (rc == COFFRE_OK) {
        snprintf(msg, cap,
                 "the store %s holds no vault to join (init without "
                 "--join creates one)",
                 sel.uri);
        return COFFRE_ERR_NOTFOUND;
    }
    if (rc != COFFRE_ERR_EXISTS) {
        return rc;
    }
    if (mkdir(dir, 0700) != 0 &&
        (errno != EEXIST || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        snprintf(msg, cap, "cannot create %s: %s", dir, strerror(errno));
        return COFFRE_ERR_IO;
    }
    return vault_store_record(dir, sel.uri, msg, cap);
}
