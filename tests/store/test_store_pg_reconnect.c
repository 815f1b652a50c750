/*
 * The PostgreSQL backend on a lost connection (docs/storage.md section 10),
 * against a real PostgreSQL 15 server this test starts (scripts/pg-test.sh)
 * and always stops. The store's backend is killed with
 * pg_terminate_backend at each point that matters: between statements
 * (a read goes on by itself; a transaction fails with retry set, the next
 * one works), while COMMIT waits for a synchronous standby that never
 * answers (committed locally: the check finds the key and says OK), and
 * while COMMIT runs a deferred trigger (not committed: the check fences
 * the key and says retry; the write is absent). Without PostgreSQL the
 * test fails: it never skips.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "check.h"
#include "store/store.h"

#define APP "coffre_reconnect_t"

static char conninfo[256];
static char store_ci[320];

/* The first column of the first row of ${sql} as a number, or -1. */
static long
admin(const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = PQexec(c, sql);
    ExecStatusType es = PQresultStatus(r);
    long v = -1;

    if (es == PGRES_TUPLES_OK && PQntuples(r) > 0) {
        v = atol(PQgetvalue(r, 0, 0));
    } else if (es == PGRES_COMMAND_OK) {
        v = 0;
    } else {
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
    }
    PQclear(r);
    PQfinish(c);
    return v;
}

/* Kill the store's backends (waiting until they are gone); how many. */
static long
kill_store(const char *also)
{
    char sql[512];

    snprintf(sql, sizeof(sql),
             "SELECT count(pg_terminate_backend(pid, 5000)) FROM "
             "pg_stat_activity WHERE application_name = '" APP "' %s",
             also);
    return admin(sql);
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* A thread that waits for the store's backend to wait on ${event}, then
 * kills it. */
static void *
killer(void *event)
{
    char cond[128];
    long *n = calloc(1, sizeof(*n));

    snprintf(cond, sizeof(cond), "AND wait_event = '%s'", (char *)event);
    for (int i = 0; i < 200 && n != NULL && *n <= 0; i++) {
        sleep_ms(50);
        *n = kill_store(cond);
    }
    return n;
}

static int
has(struct coffre_store *s, const char *key)
{
    struct coffre_buf b;
    int rc;

    coffre_buf_init(&b, 64);
    rc = s->ops->meta_get(s, key, &b);
    coffre_buf_free(&b);
    return rc;
}

static void
test_between_statements(void)
{
    struct coffre_store *s = NULL;

    CHECK_RC(coffre_store_open_pg(store_ci, &s), COFFRE_OK);
    if (s == NULL) {
        return;
    }
    CHECK_RC(s->ops->meta_put(s, "k1", "v", 1), COFFRE_OK);
    CHECK(kill_store("") == 1);
    CHECK_RC(has(s, "k1"), COFFRE_OK); /* a read goes on by itself */
    CHECK(kill_store("") == 1);
    CHECK_RC(s->ops->meta_put(s, "k0", "v", 1), COFFRE_OK); /* a write too */
    CHECK_RC(s->ops->begin(s), COFFRE_OK);
    CHECK_RC(s->ops->meta_put(s, "k2", "v", 1), COFFRE_OK);
    CHECK(kill_store("") == 1);
    CHECK_RC(s->ops->meta_put(s, "k3", "v", 1), COFFRE_ERR_UNAVAILABLE);
    CHECK(s->retry == 1);
    CHECK(strstr(s->errmsg, "rolled back") != NULL);
    /* nothing of the transaction runs on the new connection */
    CHECK_RC(has(s, "k2"), COFFRE_ERR_UNAVAILABLE);
    CHECK_RC(s->ops->commit(s), COFFRE_ERR_UNAVAILABLE);
    CHECK_RC(has(s, "k2"), COFFRE_ERR_NOTFOUND);
    CHECK_RC(has(s, "k3"), COFFRE_ERR_NOTFOUND);
    CHECK_RC(s->ops->begin(s), COFFRE_OK);
    CHECK_RC(s->ops->meta_put(s, "k2", "v", 1), COFFRE_OK);
    CHECK_RC(s->ops->commit(s), COFFRE_OK);
    CHECK_RC(has(s, "k2"), COFFRE_OK);
    /* a rollback after the loss is quiet, and the next begin reconnects */
    CHECK_RC(s->ops->begin(s), COFFRE_OK);
    CHECK(kill_store("") == 1);
    CHECK_RC(s->ops->rollback(s), COFFRE_OK);
    CHECK_RC(s->ops->begin(s), COFFRE_OK);
    CHECK_RC(s->ops->rollback(s), COFFRE_OK);
    coffre_store_close(s);
}

/* The locked read of a read-check-write (meta_get_locked: the approvals,
 * the poison list) under the same rules as every other statement: alone,
 * it goes on by itself; inside a transaction it fails that transaction
 * with retry set, so the vault runs it again (a failover under an
 * approval's use). */
static int
get_locked(struct coffre_store *s, const char *key)
{
    struct coffre_buf b;
    int rc;

    coffre_buf_init(&b, 64);
    rc = s->ops->meta_get_locked(s, key, &b);
    coffre_buf_free(&b);
    return rc;
}

static void
test_locked_read(void)
{
    struct coffre_store *s = NULL;

    CHECK_RC(coffre_store_open_pg(store_ci, &s), COFFRE_OK);
    if (s == NULL) {
        return;
    }
    CHECK_RC(s->ops->meta_put(s, "l1", "v", 1), COFFRE_OK);
    CHECK(kill_store("") == 1);
    CHECK_RC(s->ops->begin(s), COFFRE_OK); /* reconnects */
    CHECK_RC(get_locked(s, "l1"), COFFRE_OK);
    CHECK_RC(s->ops->commit(s), COFFRE_OK);
    CHECK_RC(s->ops->begin(s), COFFRE_OK);
    CHECK_RC(s->ops->meta_put(s, "l2", "v", 1), COFFRE_OK);
    CHECK(kill_store("") == 1);
    CHECK_RC(get_locked(s, "l1"), COFFRE_ERR_UNAVAILABLE);
    CHECK(s->retry == 1);
    CHECK_RC(s->ops->rollback(s), COFFRE_OK);
    CHECK_RC(s->ops->begin(s), COFFRE_OK);
    CHECK_RC(get_locked(s, "l1"), COFFRE_OK);
    CHECK_RC(get_locked(s, "l9"), COFFRE_ERR_NOTFOUND);
    CHECK_RC(s->ops->rollback(s), COFFRE_OK);
    CHECK_RC(has(s, "l2"), COFFRE_ERR_NOTFOUND);
    coffre_store_close(s);
}

/* Kill the backend while its COMMIT waits on ${event}; the commit's rc. */
static int
commit_killed(struct coffre_store *s, const char *key, const char *event)
{
    pthread_t t;
    void *n = NULL;
    int rc;

    CHECK_RC(s->ops->begin(s), COFFRE_OK);
    CHECK_RC(s->ops->meta_put(s, key, "v", 1), COFFRE_OK);
    pthread_create(&t, NULL, killer, (void *)event);
    rc = s->ops->commit(s);
    pthread_join(t, &n);
    CHECK(n != NULL && *(long *)n == 1);
    free(n);
    return rc;
}

/* Committed locally, the answer lost: the key is found, OK. */
static void
test_commit_lost_committed(void)
{
    struct coffre_store *s = NULL;

    CHECK_RC(coffre_store_open_pg(store_ci, &s), COFFRE_OK);
    if (s == NULL) {
        return;
    }
    CHECK(admin("ALTER SYSTEM SET synchronous_standby_names = 'nobody'") == 0);
    CHECK(admin("SELECT pg_reload_conf()::int") == 1);
    sleep_ms(300);
    CHECK_RC(commit_killed(s, "k4", "SyncRep"), COFFRE_OK);
    CHECK(s->retry == 0 && s->commit_unknown == 0);
    CHECK(admin("ALTER SYSTEM RESET synchronous_standby_names") == 0);
    CHECK(admin("SELECT pg_reload_conf()::int") == 1);
    sleep_ms(300);
    CHECK_RC(has(s, "k4"), COFFRE_OK);
    CHECK(admin("SELECT count(*) FROM txn_done WHERE fenced") == 0);
    coffre_store_close(s);
}

/* Killed before the commit point: the key is fenced, retry; absent. */
static void
test_commit_lost_not_committed(void)
{
    struct coffre_store *s = NULL;

    CHECK_RC(coffre_store_open_pg(store_ci, &s), COFFRE_OK);
    if (s == NULL) {
        return;
    }
    CHECK(admin("CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql "
                "AS $$BEGIN PERFORM pg_sleep(30); RETURN NULL; END$$") == 0);
    CHECK(admin("CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON txn_done "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                "WHEN (NOT NEW.fenced) EXECUTE FUNCTION slow()") == 0);
    CHECK_RC(commit_killed(s, "k5", "PgSleep"), COFFRE_ERR_UNAVAILABLE);
    CHECK(s->retry == 1 && s->commit_unknown == 0);
    CHECK(strstr(s->errmsg, "did not commit") != NULL);
    CHECK(admin("DROP TRIGGER slow ON txn_done") == 0);
    CHECK_RC(has(s, "k5"), COFFRE_ERR_NOTFOUND);
    CHECK(admin("SELECT count(*) FROM txn_done WHERE fenced") == 1);
    CHECK_RC(s->ops->begin(s), COFFRE_OK); /* the retry */
    CHECK_RC(s->ops->meta_put(s, "k5", "v", 1), COFFRE_OK);
    CHECK_RC(s->ops->commit(s), COFFRE_OK);
    CHECK_RC(has(s, "k5"), COFFRE_OK);
    coffre_store_close(s);
}

static int
run_suite(void)
{
    RUN(test_between_statements);
    RUN(test_commit_lost_committed);
    RUN(test_commit_lost_not_committed);
    RUN(test_locked_read);
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

    snprintf(dir, sizeof(dir), "%s/coffre-pgr-XXXXXX",
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
    snprintf(store_ci, sizeof(store_ci), "%s application_name=" APP, conninfo);
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
