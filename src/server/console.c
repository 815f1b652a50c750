/* The console's static files (console.h, docs/console.md). */
#include <stdlib.h>
#include <string.h>

#include "console.h"

const struct srv_asset *
srv_console_find(const char *name)
{
    for (size_t i = 0; i < srv_console_nassets; i++) {
        if (strcmp(srv_console_assets[i].name, name) == 0) {
            return &srv_console_assets[i];
        }
    }
    return NULL;
}

/* Does If-None-Match ${inm} name ${etag}? "*", a list, weak tags too
 * (RFC 9110 section 13.1.2: weak comparison for If-None-Match). */
static int
etag_matches(const char *inm, const char *etag)
{
    size_t n = strlen(etag);
    if (inm == NULL) {
        return 0;
    }
    if (strcmp(inm, "*") == 0) {
        return 1;
    }
    for (const char *p = inm; (p = strchr(p, '"')) != NULL;) {
        const char *end = strchr(p + 1, '"');
        if (end == NULL) {
            return 0;
        }
        if ((size_t)(end - p - 1) == n && memcmp(p + 1, etag, n) == 0) {
            return 1;
        }
        p = end + 1;
    }
    return 0;
}

void
srv_console_serve(size_t route, const char *param, const struct srv_req *req,
                  struct srv_resp *r)
{
    const struct srv_asset *a =
        srv_console_find(route == R_CONSOLE ? "index.html" : param);
    if (a == NULL) {
        srv_error(r, 404, "not_found", "no such console file");
        return;
    }
    srv_resp_free(r);
    if (etag_matches(req->if_none_match, a->etag)) {
        r->status = 304;
    } else if ((r->body = malloc(a->len + 1)) != NULL) {
        memcpy(r->body, a->data, a->len + 1);
        r->body_len = a->len;
        r->status = 200;
    } else {
        srv_error(r, 500, "internal", "out of memory");
        return;
    }
    r->ctype = a->ctype;
    r->console = 1;
    r->etag = a->etag;
    /* Revalidated each time (the names carry no version): a new binary
     * is seen at once, an unchanged file costs a 304. */
    r->cache_control = "no-cache";
}
