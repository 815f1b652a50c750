/*
 * The guard's shared state on PostgreSQL (store.h guard_* ops; the rules
 * in docs/guard.md "Several processes"), apart from store_pg.c so that
 * the two change independently.
 */
#ifndef COFFRE_STORE_PG_GUARD_H
#define COFFRE_STORE_PG_GUARD_H

#include <libpq-fe.h>

#include "store/store.h"

/** store_pg_conn(s): the connection of the PostgreSQL store ${s}. */
#include "store/store_pg.h"

int store_pg_guard_open(struct coffre_store *s);
int store_pg_guard_observe(struct coffre_store *s,
                           const struct coffre_guard_ask *ask,
                           struct coffre_guard_verdict *out);
int store_pg_guard_reinstate(struct coffre_store *s, const char *name,
                             int *pfound);
int store_pg_guard_list(struct coffre_store *s,
                        void (*fn)(void *arg,
                                   const struct coffre_guard_principal *p),
                        void *arg);

/* store_pg_lock.c */
int store_pg_meta_get_locked(struct coffre_store *s, const char *key,
                             struct coffre_buf *out);

#endif
