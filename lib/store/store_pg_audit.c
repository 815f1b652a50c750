/*
 * The audit log's tables in PostgreSQL (store.h audit_*, checkpoint_*;
 * docs/audit.md section 14, docs/storage.md section 9).
 *
 * audit_entry holds the canonical entries by index. Indices come from the
 * one row of audit_head, updated in the appending transaction: its row
 * lock makes the appends of all processes one queue, held from the append
 * to the commit, so an index is taken only by a transaction that has
 * every earlier one committed or rolled back, and a rollback gives its
 * index back. A sequence would not do: nextval() is never rolled back,
 * and a Merkle log cannot have a hole.
 *
 * Checkpoints go in audit_checkpoint by tree size, one per size (the
 * primary key), each only if it is larger than every stored one, checked
 * under a table lock in its own transaction: never a fork.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg.h"

/* pg_advisory_lock keys: the schema's is store_pg.c's 7243001. */
#define LOCK_SCHEMA "7243001"
#define LOCK_SIGNER "7243003"
#define AUDIT_ENTRY_CAP 1024 /* COFFRE_AUDIT_ENTRY_MAX */
#define NOTE_CAP 65536       /* a signed checkpoint is far smaller */

static const char audit_schema_sql[] =
    "SET client_min_messages = warning;"
    "SELECT pg_advisory_xact_lock(" LOCK_SCHEMA ");"
    "CREATE TABLE IF NOT EXISTS audit_entry(idx bigint PRIMARY KEY,"
    " entry bytea NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_head(one int PRIMARY KEY"
    " CHECK (one = 1), next bigint NOT NULL);"
    "INSERT INTO audit_head VALUES(1, 0) ON CONFLICT DO NOTHING;"
    "CREATE TABLE IF NOT EXISTS audit_checkpoint(size bigint PRIMARY KEY,"
    " note bytea NOT NULL);";

/* ${sql} alone (flags: store_pg_exec). */
static int
simple(struct coffre_store *s, const char *sql, int flags)
{
    int rc;
    PGresult *r = store_pg_exec(s, sql, -1, NULL, NULL, NULL, flags, &rc);

    PQclear(r);
    return rc;
}

int
store_pg_audit_schema(struct coffre_store *s)
{
    return simple(s, audit_schema_sql, STORE_PG_AGAIN);
}

static uint64_t
be64(const unsigned char *b)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++) {
        v = v << 8 | b[i];
    }
    return v;
}

/* Run ${sql} with up to two parameters (text integers or one binary
 * blob), binary results; NULL and *prc set on failure. Outside a
 * transaction a statement whose link broke is sent again on a regained
 * one unless STORE_PG_NOCONNECT: a read, or the append of a disclosure's
 * entry (a duplicate entry says no less than the truth). */
static PGresult *
run(struct coffre_store *s, const char *sql, int n, const char *const *v,
    const int *len, const int *fmt, int *prc)
{
    return store_pg_exec(s, sql, n, v, len, fmt, STORE_PG_AGAIN, prc);
}

int
store_pg_audit_append(struct coffre_store *s, const unsigned char *entry,
                      size_t len, uint64_t *pindex)
{
    static const char sql[] =
        "WITH h AS (UPDATE audit_head SET next = next + 1"
        " RETURNING next - 1 AS idx)"
        " INSERT INTO audit_entry(idx, entry) SELECT idx, $1 FROM h"
        " RETURNING idx";
    const char *v[1] = {(const char *)entry};
    int l[1] = {(int)len}, f[1] = {1}, rc;
    PGresult *r;

    if (entry == NULL || len == 0 || len > AUDIT_ENTRY_CAP) {
        return COFFRE_ERR_ARG;
    }
    /* Outside a transaction the statement is one by itself. */
    r = run(s, sql, 1, v, l, f, &rc);
    if (r == NULL) {
        return rc;
    }
    if (PQntuples(r) != 1 || PQgetlength(r, 0, 0) != 8) {
        snprintf(s->errmsg, sizeof(s->errmsg),
                 "postgresql: audit_head has no row");
        rc = COFFRE_ERR_STORE;
    } else {
        *pindex = be64((const unsigned char *)PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    return rc;
}

int
store_pg_audit_read(struct coffre_store *s, uint64_t from, size_t cap,
                    coffre_store_audit_fn fn, void *arg, size_t *pn)
{
    char a[24], b[24];
    const char *v[2] = {a, b};
    int rc;
    PGresult *r;

    *pn = 0;
    snprintf(a, sizeof(a), "%llu", (unsigned long long)from);
    snprintf(b, sizeof(b), "%llu", (unsigned long long)cap);
    r = run(s,
            "SELECT idx, entry FROM audit_entry WHERE idx >= $1"
            " ORDER BY idx LIMIT $2",
            2, v, NULL, NULL, &rc);
    if (r == NULL) {
        return rc;
    }
    for (int i = 0; i < PQntuples(r) && rc == COFFRE_OK; i++) {
        const unsigned char *p = (const unsigned char *)PQgetvalue(r, i, 1);
        size_t len = (size_t)PQgetlength(r, i, 1);

        if (PQgetlength(r, i, 0) != 8 ||
            be64((const unsigned char *)PQgetvalue(r, i, 0)) != from + *pn) {
            snprintf(s->errmsg, sizeof(s->errmsg),
                     "postgresql: audit_entry has no entry %llu",
                     (unsigned long long)(from + *pn));
            rc = COFFRE_ERR_STORE;
        } else {
            rc = fn(arg, from + *pn, p, len);
            *pn += rc == COFFRE_OK;
        }
    }
    PQclear(r);
    return rc;
}

int
store_pg_audit_size(struct coffre_store *s, uint64_t *pn)
{
    int rc;
    PGresult *r = run(s,
                      "SELECT count(*)::bigint, coalesce(max(idx) + 1, 0)"
                      " FROM audit_entry",
                      0, NULL, NULL, NULL, &rc);

    if (r == NULL) {
        return rc;
    }
    *pn = be64((const unsigned char *)PQgetvalue(r, 0, 0));
    if (*pn != be64((const unsigned char *)PQgetvalue(r, 0, 1))) {
        snprintf(s->errmsg, sizeof(s->errmsg),
                 "postgresql: audit_entry has holes");
        rc = COFFRE_ERR_STORE;
    }
    PQclear(r);
    return rc;
}

int
store_pg_checkpoint_put(struct coffre_store *s, uint64_t size, const void *note,
                        size_t len)
{
    char a[24];
    const char *v[2] = {a, note};
    int l[2] = {0, (int)len}, f[2] = {0, 1}, rc;
    PGresult *r;

    if (note == NULL || len == 0 || len > NOTE_CAP || store_pg_in_tx(s)) {
        return COFFRE_ERR_ARG;
    }
    snprintf(a, sizeof(a), "%llu", (unsigned long long)size);
    /* A lost link fails it all: the signer tries again a second later,
     * never outside the table lock. */
    rc = simple(s,
                "BEGIN;"
                "LOCK TABLE audit_checkpoint IN SHARE ROW EXCLUSIVE MODE",
                0);
    if (rc != COFFRE_OK) {
        (void)simple(s, "ROLLBACK", STORE_PG_NOCONNECT);
        return rc;
    }
    r = store_pg_exec(s,
                      "INSERT INTO audit_checkpoint(size, note) SELECT $1, $2"
                      " WHERE NOT EXISTS (SELECT 1 FROM audit_checkpoint"
                      " WHERE size >= $1)",
                      2, v, l, f, STORE_PG_NOCONNECT, &rc);
    if (r != NULL) {
        rc = atol(PQcmdTuples(r)) == 1 ? COFFRE_OK : COFFRE_ERR_EXISTS;
        PQclear(r);
    }
    if (rc == COFFRE_OK) {
        return simple(s, "COMMIT", STORE_PG_NOCONNECT);
    }
    (void)simple(s, "ROLLBACK", STORE_PG_NOCONNECT);
    return rc;
}

int
store_pg_checkpoint_get(struct coffre_store *s, int64_t after, uint64_t *psize,
                        struct coffre_buf *note)
{
    char a[24];
    const char *v[1] = {a};
    int rc;
    PGresult *r;

    snprintf(a, sizeof(a), "%lld", (long long)after);
    r = after == COFFRE_CHECKPOINT_LATEST
            ? run(s,
                  "SELECT size, note FROM audit_checkpoint"
                  " ORDER BY size DESC LIMIT 1",
                  0, NULL, NULL, NULL, &rc)
            : run(s,
                  "SELECT size, note FROM audit_checkpoint"
                  " WHERE size > $1 ORDER BY size LIMIT 1",
                  1, v, NULL, NULL, &rc);
    if (r == NULL) {
        return rc;
    }
    if (PQntuples(r) != 1) {
        rc = COFFRE_ERR_NOTFOUND;
    } else {
        *psize = be64((const unsigned char *)PQgetvalue(r, 0, 0));
        coffre_buf_reset(note);
        rc = coffre_buf_add(note, PQgetvalue(r, 0, 1),
                            (size_t)PQgetlength(r, 0, 1));
    }
    PQclear(r);
    return rc;
}

int
store_pg_audit_signer_lock(struct coffre_store *s, int *pheld)
{
    int rc;
    /* Session locks stack: take it only while not held. */
    PGresult *r = run(s,
                      "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks"
                      " WHERE locktype = 'advisory' AND objsubid = 1"
                      " AND pid = pg_backend_pid() AND objid = " LOCK_SIGNER
                      " AND granted) THEN true"
                      " ELSE pg_try_advisory_lock(" LOCK_SIGNER ") END",
                      0, NULL, NULL, NULL, &rc);

    *pheld = 0;
    if (r != NULL) {
        *pheld = PQgetlength(r, 0, 0) == 1 && PQgetvalue(r, 0, 0)[0] == 1;
        PQclear(r);
    }
    return rc;
}
