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

#endif
