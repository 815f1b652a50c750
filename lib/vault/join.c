/*
 * coffre init --join: a second data directory of a vault whose store is
 * PostgreSQL (docs/storage.md section 9). Several `coffre server`
 * processes on one database each need their own data directory (their
 * lock); the vault itself, and its audit log, are in the database.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vault/vault.h"

/* ${dir} made, or already there and empty; *pmade says which. */
static int
empty_dir(const char *dir, int *pmade, char *msg, size_t cap)
{
    struct dirent *e;
    DIR *d;

    *pmade = mkdir(dir, 0700) == 0;
    if (*pmade) {
        return COFFRE_OK;
    }
    if (errno != EEXIST || (d = opendir(dir)) == NULL) {
        snprintf(msg, cap, "cannot create %s: %s", dir, strerror(errno));
        return COFFRE_ERR_IO;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            closedir(d);
            snprintf(msg, cap,
                     "%s is not empty: a joining data directory is a new "
                     "one",
                     dir);
            return COFFRE_ERR_EXISTS;
        }
    }
    closedir(d);
    return COFFRE_OK;
}

int
coffre_vault_join(const char *dir, const struct coffre_store_opts *so,
                  char *msg, size_t cap)
{
    struct vault_store_sel sel;
    struct coffre_store *s = NULL;
    int made = 0, rc;

    if (dir == NULL || msg == NULL || cap == 0) {
        return COFFRE_ERR_ARG;
    }
    msg[0] = '\0';
    if (so == NULL || so->location == NULL ||
        !vault_store_is_uri(so->location)) {
        snprintf(msg, cap,
                 "--join needs the vault's PostgreSQL store "
                 "(--store postgresql://...)");
        return COFFRE_ERR_ARG;
    }
    rc = vault_store_resolve(dir, so, 1, &sel, msg, cap);
    if (rc == COFFRE_OK) {
        rc = vault_store_open_sel(&sel, so->password_file, &s, msg, cap);
    }
    if (rc == COFFRE_OK) {
        /* must_be_empty says EXISTS for a store that holds a vault */
        rc = vault_store_must_be_empty(s, sel.uri, msg, cap);
        if (rc == COFFRE_OK) {
            snprintf(msg, cap,
                     "the store %s holds no vault: create it with "
                     "coffre init --store first",
                     sel.uri);
            rc = COFFRE_ERR_NOTFOUND;
        } else if (rc == COFFRE_ERR_EXISTS) {
            msg[0] = '\0';
            rc = COFFRE_OK;
        }
    }
    coffre_store_close(s);
    if (rc == COFFRE_OK) {
        rc = empty_dir(dir, &made, msg, cap);
    }
    if (rc == COFFRE_OK) {
        rc = vault_store_record(dir, sel.uri, msg, cap);
        if (rc != COFFRE_OK && made) {
            (void)rmdir(dir);
        }
    }
    return rc;
}
