/*
 * The storage conformance suite: every backend must pass it. Written only
 * against lib/store/store.h. open_fresh(ps, ctx) must give an empty store.
 */
#ifndef COFFRE_TESTS_STORE_CONFORMANCE_H
#define COFFRE_TESTS_STORE_CONFORMANCE_H

#include "store/store.h"

/** store_conformance(open_fresh, ctx): run every case with check.h. */
void store_conformance(int (*open_fresh)(struct coffre_store **ps, void *ctx),
                       void *ctx);

/**
 * store_conformance_snapshot(a, b): begin_snapshot on ${a} sees the store
 * as it was at the call while ${b}, another handle on the same store,
 * writes without waiting; commit or rollback end it.
 */
void store_conformance_snapshot(struct coffre_store *a, struct coffre_store *b);

#endif
