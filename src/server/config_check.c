/* `coffre server --check-config FILE` (docs/server.md, coffre.conf(5)). */
#include "config_check.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guard.h"
#include "server.h"

/* A file the service will need: say so if it cannot be read from here. */
static void
warn_unreadable(const char *file, const char *key, const char *path, int mode)
{
    if (path[0] != '\0' && access(path, mode) != 0) {
        fprintf(stderr, "coffre server: %s: warning: %s %s: %s\n", file, key,
                path, strerror(errno));
    }
}

int
srv_config_check(const char *path)
{
    struct srv_config c;
    char err[256];

    if (srv_config_load(&c, path, err, sizeof(err)) != COFFRE_OK) {
        fprintf(stderr, "coffre server: %s: %s\n", path, err);
        return 1;
    }
    warn_unreadable(path, "data_dir", c.data_dir, R_OK | X_OK);
    warn_unreadable(path, "tls_cert", c.tls_cert, R_OK);
    warn_unreadable(path, "tls_key", c.tls_key, R_OK);
    warn_unreadable(path, "client_ca", c.client_ca, R_OK);
    printf("%s: accepted (listen %s, %zu principals, guard %s)\n", path,
           c.listen, c.nprincipals,
           c.guard == NULL || c.guard->enabled ? "on" : "off");
    srv_config_free(&c);
    return 0;
}
