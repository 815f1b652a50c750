/*
 * The web console (docs/console.md): static files under console/, built
 * into the binary by scripts/embed_assets.py and served under /console/.
 * The pages hold no data: they reach it through the public API, as the
 * principal whose certificate the browser presents.
 */
#ifndef COFFRE_SRC_SERVER_CONSOLE_H
#define COFFRE_SRC_SERVER_CONSOLE_H

#include <stddef.h>

#include "server.h"

struct srv_asset {
    const char *name;          /* base name, e.g. "app.js" */
    const char *ctype;         /* Content-Type */
    const unsigned char *data; /* NUL after the last byte */
    size_t len;
    const char *etag; /* 32 hex digits of its SHA-256, unquoted */
};

/* The generated table (console_assets.c), sorted by name. */
extern const struct srv_asset srv_console_assets[];
extern const size_t srv_console_nassets;

/** srv_console_find(name): the asset called ${name}, or NULL. */
const struct srv_asset *srv_console_find(const char *name);

/**
 * srv_console_serve(route, param, req, r): answer R_CONSOLE (index.html)
 * or R_CONSOLE_ASSET (${param}) into ${r}: 200 with the asset, its type,
 * ETag and the console's headers; 304 when ${req}'s If-None-Match names
 * its ETag; 404 for a name that is no asset. Never touches the vault.
 */
void srv_console_serve(size_t route, const char *param,
                       const struct srv_req *req, struct srv_resp *r);

#endif
