/*
 * The guard's state shared by every vault process of one PostgreSQL
 * database (docs/guard.md "Several processes"): per principal a row
 * (suspension, window counts, quota buckets) and the distinct persons of
 * its two sliding windows. One answer is judged by one function call,
 * coffre_guard_observe, under the principal's row lock: two processes
 * serving one principal see one window, so the threshold is the same
 * through two processes as through one. Time is the database's clock, the
 * same for every process.
 *
 * The rules are those of src/server/guard.c (judge): the list threshold,
 * then the bulk threshold, then the person quotas; a window past its
 * threshold suspends, a quota short of persons refuses (wait) without
 * touching the windows.
 */
#include "store/store_pg_guard.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOCK_GUARD "7243010"

/* Pieces, each under the 4,095 bytes a C99 string literal may hold,
 * joined by store_pg_guard_open. */
static const char *const guard_schema_sql[] = {
    "SET client_min_messages = warning;"
    "BEGIN;"
    "SELECT pg_advisory_xact_lock(" LOCK_GUARD ");"
    "CREATE TABLE IF NOT EXISTS coffre_guard_principal("
    " name text PRIMARY KEY, suspended boolean NOT NULL DEFAULT false,"
    " since bigint NOT NULL DEFAULT 0, reason text NOT NULL DEFAULT '',"
    " n_personal bigint NOT NULL DEFAULT 0,"
    " n_listed bigint NOT NULL DEFAULT 0,"
    " hour_tokens double precision, day_tokens double precision,"
    " at double precision NOT NULL);"
    "CREATE TABLE IF NOT EXISTS coffre_guard_seen(name text NOT NULL,"
    " kind smallint NOT NULL, id bigint NOT NULL,"
    " seen double precision NOT NULL, PRIMARY KEY (name, kind, id));"
    "CREATE INDEX IF NOT EXISTS coffre_guard_seen_age"
    " ON coffre_guard_seen(name, seen);",
    /* kind 0: the personal window, kind 1: the listed one */
    "CREATE OR REPLACE FUNCTION coffre_guard_observe(p_name text,"
    " p_ids bigint[], p_personal boolean, p_force text, p_list bigint,"
    " p_bulk bigint, p_window double precision, p_hour double precision,"
    " p_day double precision, p_left bigint,"
    " OUT o_reason text, OUT o_fresh boolean, OUT o_since bigint,"
    " OUT o_wait bigint, OUT o_seen bigint, OUT o_threshold bigint,"
    " OUT o_paid bigint) LANGUAGE plpgsql AS $f$\n"
    "DECLARE\n"
    " t double precision := extract(epoch FROM clock_timestamp());\n"
    " r coffre_guard_principal%ROWTYPE;\n"
    " ids bigint[]; gp bigint; gl bigint; nl bigint := 0; np bigint := 0;\n"
    " hs double precision := 0; ds double precision := 0;\n"
    " short double precision;\n"
    "BEGIN\n"
    " o_reason := ''; o_fresh := false; o_since := 0; o_wait := 0;\n"
    " o_seen := 0; o_threshold := 0; o_paid := 0;\n"
    " INSERT INTO coffre_guard_principal(name, hour_tokens, day_tokens, at)\n"
    "  VALUES (p_name, p_hour, p_day, t) ON CONFLICT (name) DO NOTHING;\n"
    " SELECT * INTO r FROM coffre_guard_principal WHERE name = p_name\n"
    "  FOR UPDATE;\n"
    " IF r.suspended THEN\n"
    "  o_reason := r.reason; o_since := r.since; RETURN;\n"
    " END IF;\n"
    " IF p_force <> '' THEN\n"
    "  o_reason := p_force; o_seen := 1;\n"
    " ELSE\n"
    "  SELECT coalesce(array_agg(DISTINCT x), '{}') INTO ids\n"
    "   FROM unnest(p_ids) x;\n"
    "  WITH d AS (DELETE FROM coffre_guard_seen WHERE name = p_name\n"
    "   AND seen <= t - p_window RETURNING kind)\n"
    "   SELECT count(*) FILTER (WHERE kind = 0),\n"
    "    count(*) FILTER (WHERE kind = 1) INTO gp, gl FROM d;\n"
    "  r.n_personal := greatest(r.n_personal - gp, 0);\n"
    "  r.n_listed := greatest(r.n_listed - gl, 0);\n"
    "  SELECT count(*) INTO nl FROM unnest(ids) x WHERE NOT EXISTS\n"
    "   (SELECT 1 FROM coffre_guard_seen s WHERE s.name = p_name\n"
    "    AND s.kind = 1 AND s.id = x);\n"
    "  IF p_personal THEN\n"
    "   SELECT count(*) INTO np FROM unnest(ids) x WHERE NOT EXISTS\n"
    "    (SELECT 1 FROM coffre_guard_seen s WHERE s.name = p_name\n"
    "     AND s.kind = 0 AND s.id = x);\n"
    "  END IF;\n"
    "  IF p_list > 0 AND r.n_listed + nl > p_list THEN\n"
    "   o_reason := 'enumeration'; o_seen := r.n_listed + nl;\n"
    "   o_threshold := p_list;\n"
    "  ELSIF p_bulk > 0 AND r.n_personal + np > p_bulk THEN\n"
    "   o_reason := 'bulk_read'; o_seen := r.n_personal + np;\n"
    "   o_threshold := p_bulk;\n"
    "  ELSIF (p_list = 0 AND r.n_listed + nl > 1000000)\n"
    "   OR (p_bulk = 0 AND r.n_personal + np > 1000000) THEN\n"
    "   o_reason := 'window_full'; o_seen := r.n_listed + nl;\n"
    "  END IF;\n"
    " END IF;\n",
    " IF o_reason <> '' THEN\n"
    "  o_fresh := true; o_since := floor(t)::bigint;\n"
    "  UPDATE coffre_guard_principal SET suspended = true, since = o_since,\n"
    "   reason = o_reason, n_personal = r.n_personal,\n"
    "   n_listed = r.n_listed WHERE name = p_name;\n"
    "  RETURN;\n"
    " END IF;\n"
    " r.hour_tokens := least(p_hour,\n"
    "  coalesce(r.hour_tokens, p_hour) + (t - r.at) * p_hour / 3600);\n"
    " r.day_tokens := least(p_day,\n"
    "  coalesce(r.day_tokens, p_day) + (t - r.at) * p_day / 86400);\n"
    " IF p_hour > 0 THEN hs := np - r.hour_tokens; END IF;\n"
    " IF p_day > 0 THEN ds := np - r.day_tokens; END IF;\n"
    " short := greatest(hs, ds);\n"
    " IF np > 0 AND short > 0 AND p_left < short THEN\n"
    "  IF hs > 0 THEN o_wait := least(86400, greatest(1,\n"
    "   ceil(hs / (p_hour / 3600))))::bigint; END IF;\n"
    "  IF ds > 0 THEN o_wait := greatest(o_wait, least(86400, greatest(1,\n"
    "   ceil(ds / (p_day / 86400))))::bigint); END IF;\n"
    " ELSE\n"
    "  IF np > 0 AND short > 0 THEN o_paid := ceil(short)::bigint; END IF;\n"
    "  IF p_hour > 0 THEN\n"
    "   r.hour_tokens := greatest(r.hour_tokens - np, 0); END IF;\n"
    "  IF p_day > 0 THEN\n"
    "   r.day_tokens := greatest(r.day_tokens - np, 0); END IF;\n"
    "  INSERT INTO coffre_guard_seen(name, kind, id, seen)\n"
    "   SELECT p_name, 1, x, t FROM unnest(ids) x\n"
    "   ON CONFLICT (name, kind, id) DO UPDATE SET seen = excluded.seen;\n"
    "  IF p_personal THEN\n"
    "   INSERT INTO coffre_guard_seen(name, kind, id, seen)\n"
    "    SELECT p_name, 0, x, t FROM unnest(ids) x\n"
    "    ON CONFLICT (name, kind, id) DO UPDATE SET seen = excluded.seen;\n"
    "  END IF;\n"
    "  r.n_personal := r.n_personal + np; r.n_listed := r.n_listed + nl;\n"
    " END IF;\n"
    " UPDATE coffre_guard_principal SET n_personal = r.n_personal,\n"
    "  n_listed = r.n_listed, hour_tokens = r.hour_tokens,\n"
    "  day_tokens = r.day_tokens, at = t WHERE name = p_name;\n"
    "END $f$;"
    "COMMIT;",
};

static const char observe_sql[] =
    "SELECT o_reason, o_fresh::int, o_since, o_wait, o_seen, o_threshold,"
    " o_paid FROM coffre_guard_observe($1, $2::bigint[], $3::boolean, $4,"
    " $5, $6, $7, $8, $9, $10)";

static const char reinstate_sql[] =
    "WITH u AS (UPDATE coffre_guard_principal SET suspended = false,"
    " since = 0, reason = '', n_personal = 0, n_listed = 0"
    " WHERE name = $1 AND suspended RETURNING name),"
    " d AS (DELETE FROM coffre_guard_seen WHERE name IN (SELECT name FROM u))"
    " SELECT count(*) FROM u";

static const char list_sql[] =
    "SELECT name, suspended::int, since, reason, n_personal, n_listed"
    " FROM coffre_guard_principal ORDER BY name";

static int
guard_fail(struct coffre_store *s, PGresult *r)
{
    PGconn *c = store_pg_conn(s);
    const char *state =
        r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r != NULL ? PQresultErrorMessage(r) : "";

    if (msg == NULL || *msg == '\0') {
        msg = PQerrorMessage(c);
    }
    snprintf(s->errmsg, sizeof(s->errmsg), "postgresql: guard: %s%s%s",
             state != NULL ? state : "", state != NULL ? " " : "", msg);
    PQclear(r);
    /* A lost connection: nothing was judged; the caller refuses. */
    return PQstatus(c) != CONNECTION_OK ? COFFRE_ERR_UNAVAILABLE
                                        : COFFRE_ERR_STORE;
}

/* Whether ${r} says the link is gone: the connection is bad, or the
 * server ended the session (57P01 admin shutdown, 57P02 crash shutdown,
 * 57P03 cannot connect now) or class 08. */
static int
guard_lost(PGconn *c, const PGresult *r)
{
    const char *st = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    if (PQstatus(c) != CONNECTION_OK) {
        return 1;
    }
    return st != NULL &&
           (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 ||
            strcmp(st, "57P02") == 0 || strcmp(st, "57P03") == 0);
}

/* Run ${sql} with ${n} text parameters; *pr the result on success. */
static int
guard_exec(struct coffre_store *s, const char *sql, int n, const char *const *v,
           PGresult **pr)
{
    PGconn *c = store_pg_conn(s);
    PGresult *r;

    /* The guard has a connection of its own (coffre_guard_state_open):
     * after a lost connection, one try to reconnect per statement. A
     * statement whose link turns out lost when it is sent (its backend
     * was terminated while idle, or the primary died: a failover) is
     * sent once more on a new connection. Each statement is one
     * transaction; if the lost one did run, the second records the same
     * persons again, which are no longer new: nothing counts twice. */
    for (int again = 1;; again = 0) {
        if (PQstatus(c) != CONNECTION_OK) {
            PQreset(c);
        }
        r = PQexecParams(c, sql, n, NULL, v, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK ||
            PQresultStatus(r) == PGRES_COMMAND_OK) {
            *pr = r;
            return COFFRE_OK;
        }
        if (!again || !guard_lost(c, r)) {
            *pr = NULL;
            return guard_fail(s, r);
        }
        PQclear(r);
    }
}

int
store_pg_guard_open(struct coffre_store *s)
{
    size_t len = 1;
    char *sql;
    PGresult *r;

    for (size_t i = 0; i < sizeof(guard_schema_sql) / sizeof(char *); i++) {
        len += strlen(guard_schema_sql[i]);
    }
    if ((sql = malloc(len)) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    sql[0] = '\0';
    for (size_t i = 0; i < sizeof(guard_schema_sql) / sizeof(char *); i++) {
        strcat(sql, guard_schema_sql[i]);
    }
    r = PQexec(store_pg_conn(s), sql);
    free(sql);

    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        int rc = guard_fail(s, r);
        PQclear(PQexec(store_pg_conn(s), "ROLLBACK"));
        return rc;
    }
    PQclear(r);
    return COFFRE_OK;
}

/* "{1,2,3}" of ${n} ids into a new string. */
static char *
ids_text(const uint64_t *ids, size_t n)
{
    size_t cap = 3 + n * 21, k = 0;
    char *t;

    if (n > 4096 || (t = malloc(cap)) == NULL) {
        return NULL;
    }
    t[k++] = '{';
    for (size_t i = 0; i < n; i++) {
        k += (size_t)snprintf(t + k, cap - k, "%s%" PRIu64, i ? "," : "",
                              ids[i]);
    }
    t[k++] = '}';
    t[k] = '\0';
    return t;
}

static uint64_t
u64_of(const PGresult *r, int col)
{
    return (uint64_t)strtoull(PQgetvalue(r, 0, col), NULL, 10);
}

int
store_pg_guard_observe(struct coffre_store *s,
                       const struct coffre_guard_ask *ask,
                       struct coffre_guard_verdict *out)
{
    char num[7][32];
    const char *v[10];
    PGresult *r;
    char *ids = ids_text(ask->ids, ask->n);
    int rc;

    memset(out, 0, sizeof(*out));
    if (ids == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    snprintf(num[0], sizeof(num[0]), "%" PRIu64, ask->list_threshold);
    snprintf(num[1], sizeof(num[1]), "%" PRIu64, ask->bulk_threshold);
    snprintf(num[2], sizeof(num[2]), "%.17g", ask->window);
    snprintf(num[3], sizeof(num[3]), "%.17g", ask->persons_hour);
    snprintf(num[4], sizeof(num[4]), "%.17g", ask->persons_day);
    snprintf(num[5], sizeof(num[5]), "%" PRIu64,
             ask->bonus_left > INT64_MAX ? (uint64_t)INT64_MAX
                                         : ask->bonus_left);
    v[0] = ask->principal;
    v[1] = ids;
    v[2] = ask->personal ? "true" : "false";
    v[3] = ask->suspend != NULL ? ask->suspend : "";
    for (int i = 0; i < 6; i++) {
        v[4 + i] = num[i];
    }
    rc = guard_exec(s, observe_sql, 10, v, &r);
    free(ids);
    if (rc != COFFRE_OK) {
        return rc;
    }
    if (PQntuples(r) != 1) {
        snprintf(s->errmsg, sizeof(s->errmsg), "postgresql: guard: no row");
        PQclear(r);
        return COFFRE_ERR_STORE;
    }
    snprintf(out->reason, sizeof(out->reason), "%s", PQgetvalue(r, 0, 0));
    out->fresh = atoi(PQgetvalue(r, 0, 1));
    out->since = (int64_t)u64_of(r, 2);
    out->wait = (unsigned)u64_of(r, 3);
    out->seen = u64_of(r, 4);
    out->threshold = u64_of(r, 5);
    out->paid = u64_of(r, 6);
    PQclear(r);
    return COFFRE_OK;
}

int
store_pg_guard_reinstate(struct coffre_store *s, const char *name, int *pfound)
{
    PGresult *r;
    int rc = guard_exec(s, reinstate_sql, 1, &name, &r);

    *pfound = 0;
    if (rc == COFFRE_OK) {
        *pfound = PQntuples(r) == 1 && atoi(PQgetvalue(r, 0, 0)) > 0;
        PQclear(r);
    }
    return rc;
}

int
store_pg_guard_list(struct coffre_store *s,
                    void (*fn)(void *arg,
                               const struct coffre_guard_principal *p),
                    void *arg)
{
    PGresult *r;
    int rc = guard_exec(s, list_sql, 0, NULL, &r);

    for (int i = 0; rc == COFFRE_OK && i < PQntuples(r); i++) {
        struct coffre_guard_principal p = {
            PQgetvalue(r, i, 0),
            atoi(PQgetvalue(r, i, 1)),
            strtoll(PQgetvalue(r, i, 2), NULL, 10),
            PQgetvalue(r, i, 3),
            strtoull(PQgetvalue(r, i, 4), NULL, 10),
            strtoull(PQgetvalue(r, i, 5), NULL, 10)};
        fn(arg, &p);
    }
    if (rc == COFFRE_OK) {
        PQclear(r);
    }
    return rc;
}
