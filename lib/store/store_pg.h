/*
 * What store_pg.c shares with the other files of the PostgreSQL backend
 * (store_pg_audit.c: the audit log's tables, docs/audit.md section 14).
 */
#ifndef COFFRE_STORE_PG_H
#define COFFRE_STORE_PG_H

#include <libpq-fe.h>

#include "store/store.h"

/** store_pg_conn(s): the connection of the PostgreSQL store ${s}. */
PGconn *store_pg_conn(struct coffre_store *s);

/** store_pg_in_tx(s): nonzero inside begin/commit. */
int store_pg_in_tx(struct coffre_store *s);

/** store_pg_fail(s, r): note the error of ${r} (or of the connection) in
 * s->errmsg; COFFRE_ERR_UNAVAILABLE for a serialization failure or a
 * deadlock, COFFRE_ERR_STORE else. */
int store_pg_fail(struct coffre_store *s, const PGresult *r);

/* store_pg_exec flags */
#define STORE_PG_AGAIN 1     /* outside a transaction: send once more */
#define STORE_PG_NOCONNECT 2 /* inside a transaction begun by hand */

/** store_pg_exec(s, sql, n, v, len, fmt, flags, prc): an ad hoc
 * statement with the store's rules for a lost link (store_pg.c). */
PGresult *store_pg_exec(struct coffre_store *s, const char *sql, int n,
                        const char *const *v, const int *len, const int *fmt,
                        int flags, int *prc);

/** store_pg_audit_schema(s): create the audit log's tables if missing. */
int store_pg_audit_schema(struct coffre_store *s);

/* The audit log's operations (store.h). */
int store_pg_audit_append(struct coffre_store *s, const unsigned char *entry,
                          size_t len, uint64_t *pindex);
int store_pg_audit_read(struct coffre_store *s, uint64_t from, size_t cap,
                        coffre_store_audit_fn fn, void *arg, size_t *pn);
int store_pg_audit_size(struct coffre_store *s, uint64_t *pn);
int store_pg_checkpoint_put(struct coffre_store *s, uint64_t size,
                            const void *note, size_t len);
int store_pg_checkpoint_get(struct coffre_store *s, int64_t after,
                            uint64_t *psize, struct coffre_buf *note);
int store_pg_audit_signer_lock(struct coffre_store *s, int *pheld);

#endif
