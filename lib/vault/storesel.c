/*
 * Which store a data directory uses (docs/storage.md section 7).
 *
 * The data directory is the vault's local state (lock, audit log) whatever
 * the store. The store is SQLite in it (coffre.db, the default) or a
 * PostgreSQL database named by a URI that init records in DATA_DIR/store,
 * one line, mode 0600. A URI never carries a password: the password comes
 * from libpq (PGPASSWORD, PGPASSFILE, ~/.pgpass) or from a password file
 * read into locked memory, given to libpq and wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/secmem.h"
#include "vault/vault.h"

#define PASSWORD_MAX 1024

static int sel_fail(char *msg, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
sel_fail(char *msg, size_t cap, int rc, const char *fmt, ...)
{
    va_list ap;

    if (msg != NULL && cap > 0) {
        va_start(ap, fmt);
        vsnprintf(msg, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* The length of a PostgreSQL URI scheme ${s} starts with, else 0. */
static size_t
pg_scheme(const char *s)
{
    if (strncmp(s, "postgresql://", 13) == 0) {
        return 13;
    }
    return strncmp(s, "postgres://", 11) == 0 ? 11 : 0;
}

int
vault_store_is_uri(const char *s)
{
    return s != NULL && strstr(s, "://") != NULL;
}

/* ${s} (n bytes, percent-encoded) decodes to "password". */
static int
is_password_key(const char *s, size_t n)
{
    static const char want[] = "password";
    size_t j = 0;

    for (size_t i = 0; i < n; i++, j++) {
        int c = (unsigned char)s[i];

        if (c == '%' && i + 2 < n) {
            char hex[3] = {s[i + 1], s[i + 2], '\0'};
            c = (int)strtol(hex, NULL, 16);
            i += 2;
        }
        if (j >= sizeof(want) - 1 || (c | 0x20) != want[j]) {
            return 0;
        }
    }
    return j == sizeof(want) - 1;
}

/* A URI's query names a password parameter. */
static int
query_has_password(const char *q)
{
    while (q != NULL && *q != '\0') {
        size_t n = strcspn(q, "=&");

        if (is_password_key(q, n)) {
            return 1;
        }
        q = strchr(q, '&');
        q = q != NULL ? q + 1 : NULL;
    }
    return 0;
}

/*
 * A store URI this vault accepts, in ${out} with the scheme spelt
 * postgresql://: a PostgreSQL scheme, no password in its user info nor in
 * its parameters. The messages never repeat the URI: it may hold one.
 */
int
vault_store_uri_check(const char *loc, char *out, size_t cap, char *msg,
                      size_t mcap)
{
    size_t k = pg_scheme(loc), auth;
    const char *at, *q;

    if (k == 0) {
        return sel_fail(msg, mcap, COFFRE_ERR_ARG,
                        "a store is the data directory (SQLite) or a "
                        "postgresql:// URI");
    }
    auth = strcspn(loc + k, "/?");
    at = memchr(loc + k, '@', auth);
    q = strchr(loc + k, '?');
    if ((at != NULL && memchr(loc + k, ':', (size_t)(at - (loc + k)))) ||
        query_has_password(q != NULL ? q + 1 : NULL)) {
        return sel_fail(msg, mcap, COFFRE_ERR_ARG,
                        "the store URI carries a password: never put it "
                        "there (it would be seen in process lists and "
                        "logs); give a password file (--store-password-file, "
                        "store_password_file) or use PGPASSWORD or "
                        "~/.pgpass");
    }
    if (strlen(loc) - k + 13 >= cap) {
        return sel_fail(msg, mcap, COFFRE_ERR_TOOBIG,
                        "the store URI is over "
                        "its cap");
    }
    snprintf(out, cap, "postgresql://%s", loc + k);
    return COFFRE_OK;
}

static int
join_name(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);

    return n < 0 || (size_t)n >= cap ? COFFRE_ERR_ARG : COFFRE_OK;
}

/* The URI DATA_DIR/store records, in ${uri}; *${phave} 0 if none. */
static int
read_record(const char *dir, struct vault_store_sel *sel, char *msg, size_t cap)
{
    char path[PATH_MAX], line[VAULT_STORE_URI_MAX + 2];
    FILE *f;
    size_t n;

    if (join_name(path, sizeof(path), dir, VAULT_STORE_RECORD) != COFFRE_OK) {
        return sel_fail(msg, cap, COFFRE_ERR_ARG, "path too long: %s", dir);
    }
    f = fopen(path, "re");
    if (f == NULL) {
        return errno == ENOENT
                   ? COFFRE_OK
                   : sel_fail(msg, cap, COFFRE_ERR_IO, "cannot read %s: %s",
                              path, strerror(errno));
    }
    n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = '\0';
    line[strcspn(line, "\n")] = '\0';
    if (vault_store_uri_check(line, sel->uri, sizeof(sel->uri), msg, cap) !=
        COFFRE_OK) {
        return sel_fail(msg, cap, COFFRE_ERR_STORE,
                        "%s is damaged: not a password-free postgresql:// "
                        "URI",
                        path);
    }
    sel->pg = 1;
    return COFFRE_OK;
}

/* A directory given as the store must be the data directory. */
static int
same_dir(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];

    if (realpath(a, ra) == NULL || realpath(b, rb) == NULL) {
        return strcmp(a, b) == 0;
    }
    return strcmp(ra, rb) == 0;
}

int
vault_store_resolve(const char *dir, const struct coffre_store_opts *so,
                    int creating, struct vault_store_sel *sel, char *msg,
                    size_t cap)
{
    const char *loc = so != NULL ? so->location : NULL;
    struct vault_store_sel given;
    int rc;

    memset(sel, 0, sizeof(*sel));
    memset(&given, 0, sizeof(given));
    if (pg_scheme(dir) != 0) {
        return sel_fail(msg, cap, COFFRE_ERR_ARG,
                        "the data directory is a local directory (lock, "
                        "audit log); give the database as the store "
                        "(--store, or \"store\" in the configuration)");
    }
    if (join_name(sel->db, sizeof(sel->db), dir, VAULT_DB_NAME) != COFFRE_OK) {
        return sel_fail(msg, cap, COFFRE_ERR_ARG, "path too long: %s", dir);
    }
    if (loc != NULL && vault_store_is_uri(loc)) {
        rc = vault_store_uri_check(loc, given.uri, sizeof(given.uri), msg, cap);
        if (rc != COFFRE_OK) {
            return rc;
        }
        given.pg = 1;
    } else if (loc != NULL && !same_dir(loc, dir)) {
        return sel_fail(msg, cap, COFFRE_ERR_ARG,
                        "a SQLite store lives in its data directory: the "
                        "store %s is not the data directory %s",
                        loc, dir);
    }
    if (creating) {
        sel->pg = given.pg;
        memcpy(sel->uri, given.uri, sizeof(sel->uri));
        return COFFRE_OK;
    }
    if ((rc = read_record(dir, sel, msg, cap)) != COFFRE_OK) {
        return rc;
    }
    if (loc != NULL && (sel->pg != given.pg || strcmp(sel->uri, given.uri))) {
        return sel_fail(msg, cap, COFFRE_ERR_ARG,
                        "the data directory %s records the store %s, not "
                        "the one given (%s)",
                        dir, sel->pg ? sel->uri : "SQLite in it",
                        given.pg ? given.uri : "SQLite");
    }
    return COFFRE_OK;
}

/* The first line of a password file, into locked memory (*${ppw}). */
static int
read_password(const char *path, char **ppw, char *msg, size_t cap)
{
    struct stat st;
    ssize_t n;
    char *pw;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    *ppw = NULL;
    if (fd < 0) {
        return sel_fail(msg, cap, COFFRE_ERR_IO, "cannot open %s: %s", path,
                        strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (st.st_mode & 077) != 0) {
        close(fd);
        return sel_fail(msg, cap, COFFRE_ERR_ARG,
                        "%s must be a regular file that only its owner may "
                        "read (chmod 600)",
                        path);
    }
    pw = coffre_pmem_alloc(PASSWORD_MAX + 1);
    if (pw == NULL) {
        close(fd);
        return COFFRE_ERR_NOMEM;
    }
    n = read(fd, pw, PASSWORD_MAX + 1);
    close(fd);
    if (n < 0 || n > PASSWORD_MAX) {
        coffre_pmem_free(pw);
        return sel_fail(msg, cap, COFFRE_ERR_ARG,
                        "%s: cannot read a password of at most %d bytes", path,
                        PASSWORD_MAX);
    }
    pw[n] = '\0';
    pw[strcspn(pw, "\r\n")] = '\0';
    if (pw[0] == '\0') {
        coffre_pmem_free(pw);
        return sel_fail(msg, cap, COFFRE_ERR_ARG, "%s holds no password", path);
    }
    *ppw = pw;
    return COFFRE_OK;
}

int
vault_store_open_sel(const struct vault_store_sel *sel,
                     const char *password_file, struct coffre_store **ps,
                     char *msg, size_t cap)
{
    char *pw = NULL, why[200] = "";
    int rc;

    if (!sel->pg) {
        if (password_file != NULL) {
            return sel_fail(msg, cap, COFFRE_ERR_ARG,
                            "a store password is for a PostgreSQL store; "
                            "this one is SQLite");
        }
        rc = coffre_store_open_sqlite(sel->db, ps);
        return rc == COFFRE_OK
                   ? rc
                   : sel_fail(msg, cap, rc, "cannot open the store %s: %s",
                              sel->db, coffre_strerror(rc));
    }
    if (password_file != NULL &&
        (rc = read_password(password_file, &pw, msg, cap)) != COFFRE_OK) {
        return rc;
    }
    rc = coffre_store_open_pg_auth(sel->uri, pw, why, sizeof(why), ps);
    coffre_pmem_free(pw); /* wiped */
    if (rc != COFFRE_OK) {
        return sel_fail(msg, cap, rc, "cannot open the store %s: %s", sel->uri,
                        why[0] ? why : coffre_strerror(rc));
    }
    return COFFRE_OK;
}

/* A database for a new vault holds none yet: two vaults never share one
 * by accident. */
int
vault_store_must_be_empty(struct coffre_store *s, const char *what, char *msg,
                          size_t cap)
{
    struct coffre_buf b;
    int rc;

    coffre_buf_init(&b, 64);
    rc = s->ops->meta_get(s, "format", &b);
    coffre_buf_free(&b);
    if (rc == COFFRE_OK) {
        return sel_fail(msg, cap, COFFRE_ERR_EXISTS,
                        "the store %s already holds a vault: one database, "
                        "one vault",
                        what);
    }
    if (rc != COFFRE_ERR_NOTFOUND) {
        return sel_fail(msg, cap, rc, "the store %s: %s", what, s->errmsg);
    }
    return COFFRE_OK;
}

/* DATA_DIR/store: the URI, one line, mode 0600, made exclusively. */
int
vault_store_record(const char *dir, const char *uri, char *msg, size_t cap)
{
    char path[PATH_MAX];
    size_t len = strlen(uri);
    int fd;

    if (join_name(path, sizeof(path), dir, VAULT_STORE_RECORD) != COFFRE_OK) {
        return sel_fail(msg, cap, COFFRE_ERR_ARG, "path too long: %s", dir);
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return sel_fail(msg, cap, COFFRE_ERR_IO, "cannot create %s: %s", path,
                        strerror(errno));
    }
    if (write(fd, uri, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
        fsync(fd) != 0) {
        close(fd);
        return sel_fail(msg, cap, COFFRE_ERR_IO, "cannot write %s", path);
    }
    close(fd);
    return COFFRE_OK;
}

/* init: the store the options name, empty of any vault, recorded. */
int
vault_store_create(struct coffre_vault *v, const char *dir,
                   const struct coffre_store_opts *so)
{
    struct vault_store_sel sel;
    const char *pwf = so != NULL ? so->password_file : NULL;
    int rc =
        vault_store_resolve(dir, so, 1, &sel, v->errmsg, sizeof(v->errmsg));

    if (rc == COFFRE_OK) {
        rc = vault_store_open_sel(&sel, pwf, &v->store, v->errmsg,
                                  sizeof(v->errmsg));
    }
    if (rc == COFFRE_OK && sel.pg) {
        rc = vault_store_must_be_empty(v->store, sel.uri, v->errmsg,
                                       sizeof(v->errmsg));
    }
    if (rc == COFFRE_OK && sel.pg) {
        rc = vault_store_record(dir, sel.uri, v->errmsg, sizeof(v->errmsg));
    }
    if (rc == COFFRE_OK) {
        snprintf(v->store_loc, sizeof(v->store_loc), "%s",
                 sel.pg ? sel.uri : "sqlite");
    }
    return rc;
}

/* open: the store the data directory records, as the options agree. */
int
vault_store_attach(struct coffre_vault *v, const char *dir,
                   const struct coffre_store_opts *so)
{
    struct vault_store_sel sel;
    struct stat st;
    const char *pwf = so != NULL ? so->password_file : NULL;
    int rc =
        vault_store_resolve(dir, so, 0, &sel, v->errmsg, sizeof(v->errmsg));

    if (rc != COFFRE_OK) {
        return rc;
    }
    if (!sel.pg && stat(sel.db, &st) != 0) {
        return vault_fail(v, COFFRE_ERR_NOTFOUND, "no vault in %s", dir);
    }
    rc = vault_store_open_sel(&sel, pwf, &v->store, v->errmsg,
                              sizeof(v->errmsg));
    if (rc == COFFRE_OK) {
        snprintf(v->store_loc, sizeof(v->store_loc), "%s",
                 sel.pg ? sel.uri : "sqlite");
    }
    return rc;
}

const char *
coffre_vault_store_location(const struct coffre_vault *v)
{
    return v->store_loc[0] ? v->store_loc : "sqlite";
}
