/*
 * meta_get_locked on PostgreSQL (store.h): the read of a read-check-write
 * takes the row's lock (SELECT ... FOR UPDATE), held until the caller's
 * transaction ends, so that two processes changing one meta value (the
 * approvals list, docs/approvals.md "Storage") take turns: the second
 * reads what the first committed. Under READ COMMITTED a plain SELECT
 * would let both read the same value and both write.
 */
#include "store/store_pg_guard.h"

#include <stdio.h>
#include <string.h>

static const char lock_sql[] = "SELECT v FROM meta WHERE k = $1 FOR UPDATE";

int
store_pg_meta_get_locked(struct coffre_store *s, const char *key,
                         struct coffre_buf *out)
{
    PGconn *c = store_pg_conn(s);
    const int fmt[1] = {0};
    PGresult *r;
    int rc = COFFRE_OK;

    if (key == NULL || out == NULL || strlen(key) > COFFRE_STORE_KEY_MAX ||
        strncmp(key, "store.", 6) == 0) {
        return COFFRE_ERR_ARG;
    }
    r = PQexecParams(c, lock_sql, 1, NULL, &key, NULL, fmt, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        snprintf(s->errmsg, sizeof(s->errmsg), "postgresql: %s%s%s",
                 state != NULL ? state : "", state != NULL ? " " : "",
                 PQresultErrorMessage(r));
        rc = state != NULL && (strcmp(state, "40001") == 0 ||
                               strcmp(state, "40P01") == 0)
                 ? COFFRE_ERR_UNAVAILABLE
                 : COFFRE_ERR_STORE;
    } else if (PQntuples(r) == 0) {
        rc = COFFRE_ERR_NOTFOUND;
    } else {
        coffre_buf_reset(out);
        rc = coffre_buf_add(out, PQgetvalue(r, 0, 0),
                            (size_t)PQgetlength(r, 0, 0));
    }
    PQclear(r);
    return rc;
}
