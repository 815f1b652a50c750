/*
 * meta_get_locked on PostgreSQL (store.h): the read of a read-check-write
 * takes the row's lock (SELECT ... FOR UPDATE), held until the caller's
 * transaction ends, so that two processes changing one meta value (the
 * approvals list, docs/approvals.md "Storage") take turns: the second
 * reads what the first committed. Under READ COMMITTED a plain SELECT
 * would let both read the same value and both write.
 */
#include "store/store_pg_guard.h"

#include <string.h>

static const char lock_sql[] = "SELECT v FROM meta WHERE k = $1 FOR UPDATE";

int
store_pg_meta_get_locked(struct coffre_store *s, const char *key,
                         struct coffre_buf *out)
{
    const int fmt[1] = {0};
    PGresult *r;
    int rc;

    if (key == NULL || out == NULL || strlen(key) > COFFRE_STORE_KEY_MAX ||
        strncmp(key, "store.", 6) == 0) {
        return COFFRE_ERR_ARG;
    }
    /* Under the store's rules for a lost link (store_pg_exec): inside the
     * caller's transaction it fails that transaction with retry set (a
     * failover: the vault runs it again); alone it is sent again on a
     * regained connection. A serialization failure or deadlock sets retry
     * too. */
    r = store_pg_exec(s, lock_sql, 1, &key, NULL, fmt, STORE_PG_AGAIN, &rc);
    if (r == NULL) {
        return rc;
    }
    if (PQntuples(r) == 0) {
        rc = COFFRE_ERR_NOTFOUND;
    } else {
        coffre_buf_reset(out);
        rc = coffre_buf_add(out, PQgetvalue(r, 0, 0),
                            (size_t)PQgetlength(r, 0, 0));
    }
    PQclear(r);
    return rc;
}
