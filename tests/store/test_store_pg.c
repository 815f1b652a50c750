/*
 * The PostgreSQL backend: the conformance suite against a real PostgreSQL
 * 15 server that this test starts (scripts/pg-test.sh) and always stops,
 * one fresh database per case. Without PostgreSQL the test fails: it never
 * skips. The suite runs in a child process so that the server is stopped
 * even when a sanitizer aborts the child.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "check.h"
#include "conformance.h"
#include "store/store.h"

static char conninfo[256];
static char base_conninfo[256];

static int
admin(const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;

    if (!ok) {
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
    }
    PQclear(r);
    PQfinish(c);
    return ok;
}

/* A new database for each call; its conninfo in out. */
static int
new_db(char *out, size_t len)
{
    static unsigned n;
    char sql[64];

    snprintf(sql, sizeof(sql), "CREATE DATABASE conf_%u", ++n);
    if (!admin(sql)) {
        return COFFRE_ERR_STORE;
    }
    snprintf(out, len, "%s dbname=conf_%u", base_conninfo, n);
    return COFFRE_OK;
}

static int
open_fresh(struct coffre_store **ps, void *ctx)
{
    char ci[320];
    int rc;

    (void)ctx;
    if ((rc = new_db(ci, sizeof(ci))) != COFFRE_OK) {
        return rc;
    }
    return coffre_store_open_pg(ci, ps);
}

/* Two handles on one database: reserved blocks never overlap; a reopen
 * finds the schema and goes on after the ids given. */
static void
test_shared(void)
{
    struct coffre_store *a = NULL, *b = NULL;
    uint64_t x = 0, y = 0, z = 0;
    char ci[320];

    CHECK_RC(new_db(ci, sizeof(ci)), COFFRE_OK);
    CHECK_RC(coffre_store_open_pg(ci, &a), COFFRE_OK);
    CHECK_RC(coffre_store_open_pg(ci, &b), COFFRE_OK);
    if (a == NULL || b == NULL) {
        coffre_store_close(a);
        coffre_store_close(b);
        return;
    }
    CHECK(strcmp(a->ops->name, "postgresql") == 0);
    CHECK_RC(a->ops->begin(a), COFFRE_OK);
    CHECK_RC(a->ops->id_reserve(a, 100, &x), COFFRE_OK);
    CHECK_RC(b->ops->id_reserve(b, 100, &y), COFFRE_OK);
    CHECK(y >= x + 100 || x >= y + 100);
    CHECK_RC(a->ops->rollback(a), COFFRE_OK);
    coffre_store_close(a);
    CHECK_RC(coffre_store_open_pg(ci, &a), COFFRE_OK);
    CHECK_RC(a->ops->id_reserve(a, 1, &z), COFFRE_OK);
    CHECK(z >= x + 100 && z >= y + 100);
    coffre_store_close(a);
    coffre_store_close(b);
    CHECK_RC(
        coffre_store_open_pg("host=127.0.0.1 port=1 connect_timeout=2", &a),
        COFFRE_ERR_UNAVAILABLE);
}

/* begin_snapshot (coffre backup): REPEATABLE READ while a second
 * connection writes. */
static void
test_snapshot(void)
{
    struct coffre_store *a = NULL, *b = NULL;
    char ci[320];

    CHECK_RC(new_db(ci, sizeof(ci)), COFFRE_OK);
    CHECK_RC(coffre_store_open_pg(ci, &a), COFFRE_OK);
    CHECK_RC(coffre_store_open_pg(ci, &b), COFFRE_OK);
    if (a != NULL && b != NULL) {
        store_conformance_snapshot(a, b);
    }
    coffre_store_close(a);
    coffre_store_close(b);
}

static int
count_entry(void *arg, uint64_t index, const unsigned char *p, size_t len)
{
    uint64_t *pn = arg;

    (void)index;
    *pn += len == 3 && p[0] == 'e';
    return COFFRE_OK;
}

/* The audit log's tables (docs/audit.md section 14): indices without a
 * hole across a rollback and two connections, one checkpoint per size and
 * never a smaller one after a larger, one signer whose lock goes with its
 * connection. */
static void
test_audit_ops(void)
{
    static const unsigned char big[1025] = {'e'};
    struct coffre_store *a = NULL, *b = NULL;
    struct coffre_buf note;
    uint64_t i = 9, n = 0, k = 0;
    size_t got = 0;
    int held = -1;
    char ci[320];

    CHECK_RC(new_db(ci, sizeof(ci)), COFFRE_OK);
    CHECK_RC(coffre_store_open_pg(ci, &a), COFFRE_OK);
    CHECK_RC(a->ops->dup(a, &b), COFFRE_OK);
    if (a == NULL || b == NULL) {
        coffre_store_close(a);
        return;
    }
    CHECK_RC(a->ops->audit_append(a, (const unsigned char *)"e00", 3, &i),
             COFFRE_OK);
    CHECK(i == 0);
    CHECK_RC(a->ops->begin(a), COFFRE_OK);
    CHECK_RC(a->ops->audit_append(a, (const unsigned char *)"e01", 3, &i),
             COFFRE_OK);
    CHECK(i == 1);
    CHECK_RC(a->ops->rollback(a), COFFRE_OK);
    CHECK_RC(b->ops->audit_append(b, (const unsigned char *)"e02", 3, &i),
             COFFRE_OK);
    CHECK(i == 1); /* the rolled-back index, given again */
    CHECK_RC(a->ops->audit_append(a, big, 0, &i), COFFRE_ERR_ARG);
    CHECK_RC(a->ops->audit_append(a, big, sizeof(big), &i), COFFRE_ERR_ARG);
    CHECK_RC(a->ops->audit_size(a, &n), COFFRE_OK);
    CHECK(n == 2);
    CHECK_RC(b->ops->audit_read(b, 0, 10, count_entry, &k, &got), COFFRE_OK);
    CHECK(got == 2 && k == 2);
    CHECK_RC(b->ops->audit_read(b, 1, 10, count_entry, &k, &got), COFFRE_OK);
    CHECK(got == 1);

    CHECK_RC(a->ops->checkpoint_put(a, 2, "two", 3), COFFRE_OK);
    CHECK_RC(b->ops->checkpoint_put(b, 2, "fork", 4), COFFRE_ERR_EXISTS);
    CHECK_RC(b->ops->checkpoint_put(b, 1, "one", 3), COFFRE_ERR_EXISTS);
    CHECK_RC(b->ops->checkpoint_put(b, 5, "five", 4), COFFRE_OK);
    coffre_buf_init(&note, 1024);
    CHECK_RC(a->ops->checkpoint_get(a, COFFRE_CHECKPOINT_LATEST, &n, &note),
             COFFRE_OK);
    CHECK(n == 5 && note.len == 4 && memcmp(note.p, "five", 4) == 0);
    CHECK_RC(a->ops->checkpoint_get(a, -1, &n, &note), COFFRE_OK);
    CHECK(n == 2 && note.len == 3);
    CHECK_RC(a->ops->checkpoint_get(a, 2, &n, &note), COFFRE_OK);
    CHECK(n == 5);
    CHECK_RC(a->ops->checkpoint_get(a, 5, &n, &note), COFFRE_ERR_NOTFOUND);
    coffre_buf_free(&note);

    CHECK_RC(a->ops->audit_signer_lock(a, &held), COFFRE_OK);
    CHECK(held == 1);
    CHECK_RC(b->ops->audit_signer_lock(b, &held), COFFRE_OK);
    CHECK(held == 0);
    CHECK_RC(a->ops->audit_signer_lock(a, &held), COFFRE_OK);
    CHECK(held == 1); /* kept */
    coffre_store_close(a);
    /* Its backend ends a moment after the connection closes, and frees
     * the lock then: the signers try once a second, this for 5 s. */
    for (int t = 0; t < 50; t++) {
        CHECK_RC(b->ops->audit_signer_lock(b, &held), COFFRE_OK);
        if (held == 1) {
            break;
        }
        usleep(100000);
    }
    CHECK(held == 1);
    coffre_store_close(b);
}

static int
run_suite(void)
{
    store_conformance(open_fresh, NULL);
    RUN(test_shared);
    RUN(test_audit_ops);
    RUN(test_snapshot);
    return check_done();
}

static int
server(const char *srcdir, const char *cmd, const char *dir, char *out,
       size_t len)
{
    char line[1024];
    FILE *p;
    int st;

    snprintf(line, sizeof(line), "sh '%s/scripts/pg-test.sh' %s '%s'", srcdir,
             cmd, dir);
    if ((p = popen(line, "r")) == NULL) {
        return -1;
    }
    if (out != NULL && fgets(out, (int)len, p) != NULL) {
        out[strcspn(out, "\n")] = '\0';
    }
    while (fgets(line, sizeof(line), p) != NULL) {
    }
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int
main(void)
{
    const char *srcdir = getenv("SRCDIR");
    const char *tmp = getenv("TMPDIR");
    char dir[256], cmd[300];
    pid_t pid;
    int st = 1;

    snprintf(dir, sizeof(dir), "%s/coffre-pg-XXXXXX",
             tmp != NULL ? tmp : "/tmp");
    if (srcdir == NULL || mkdtemp(dir) == NULL) {
        fprintf(stderr, "SRCDIR unset or no temporary directory\n");
        return 1;
    }
    if (server(srcdir, "start", dir, conninfo, sizeof(conninfo)) != 0 ||
        conninfo[0] == '\0') {
        fprintf(stderr, "could not start PostgreSQL (scripts/deps.sh)\n");
        (void)server(srcdir, "stop", dir, NULL, 0);
        check_record(0, "PostgreSQL server started", __FILE__, __LINE__);
        return check_done();
    }
    /* conninfo ends with dbname=postgres: the base is what comes before */
    snprintf(base_conninfo, sizeof(base_conninfo), "%.*s",
             (int)(strstr(conninfo, " dbname=") != NULL
                       ? strstr(conninfo, " dbname=") - conninfo
                       : (long)strlen(conninfo)),
             conninfo);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        st = run_suite();
        fflush(NULL); /* _exit does not flush stdio */
        _exit(st);
    }
    if (pid > 0 && waitpid(pid, &st, 0) == pid) {
        st = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    } else {
        st = 1;
    }
    (void)server(srcdir, "stop", dir, NULL, 0);
    if (getenv("COFFRE_KEEP_TMP") == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", dir);
        }
    }
    return st;
}
