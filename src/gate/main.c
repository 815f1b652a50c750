/* coffre-gate: verify badges offline; refresh the lists when online. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "coffre/gate.h"
#include "coffre_version.h"
#include "gate_cmd.h"

static void
usage(void)
{
    fputs("usage: coffre-gate [--dir DIR] COMMAND ...\n"
          "  init LIST_PUBLIC_KEY_HEX     provision the list-signing key\n"
          "  verify [--venue V] [--zone Z] [--now UNIX] [--max-age SECS]\n"
          "         [--stale warn|refuse] [--image PNG | PAYLOAD | -]\n"
          "  sync [--cacert F] [--cert F --key F] URL\n"
          "DIR defaults to $COFFRE_GATE_DIR, else /var/lib/coffre-gate.\n"
          "coffre-gate --version prints the version.\n",
          stderr);
}

/* "coffre-gate --version", or "coffre-gate [--dir DIR] COMMAND --version":
 * the version of the coffre it was built with (coffre_version.h). */
static int
wants_version(int argc, char **argv, int i)
{
    return (i == argc - 1 && strcmp(argv[i], "--version") == 0) ||
           (i == argc - 2 && strcmp(argv[i + 1], "--version") == 0 &&
            (strcmp(argv[i], "verify") == 0 || strcmp(argv[i], "sync") == 0 ||
             strcmp(argv[i], "init") == 0));
}

int
gate_path(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);

    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int
gate_list_key(const char *dir, uint8_t pk[32])
{
    char path[4096], hex[100];
    size_t n = 0;
    FILE *f;

    if (gate_path(path, sizeof(path), dir, GATE_LIST_KEY) != 0 ||
        (f = fopen(path, "r")) == NULL) {
        return -1;
    }
    if (fgets(hex, sizeof(hex), f) == NULL) {
        hex[0] = '\0';
    }
    fclose(f);
    hex[strcspn(hex, "\r\n")] = '\0';
    if (sodium_hex2bin(pk, 32, hex, strlen(hex), NULL, &n, NULL) != 0 ||
        n != 32) {
        return -1;
    }
    return 0;
}

/* gate.conf: "max_age = SECONDS" and "stale = warn|refuse" lines. */
static int
conf_line(struct gate_conf *c, char *line)
{
    char key[32], val[64];
    char *end;

    if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0') {
        return 0;
    }
    if (sscanf(line, " %31[a-z_] = %63s", key, val) != 2) {
        return -1;
    }
    if (strcmp(key, "max_age") == 0) {
        long long v = strtoll(val, &end, 10);
        if (*end != '\0' || v < 0) {
            return -1;
        }
        c->max_age = v;
    } else if (strcmp(key, "stale") == 0 &&
               (strcmp(val, "warn") == 0 || strcmp(val, "refuse") == 0)) {
        c->refuse_stale = strcmp(val, "refuse") == 0;
    } else {
        return -1;
    }
    return 0;
}

int
gate_conf_load(struct gate_conf *c, const char *dir)
{
    char path[4096], line[256];
    int lineno = 0, rc = 0;
    FILE *f;

    c->dir = dir;
    c->max_age = 24 * 3600;
    c->refuse_stale = 0;
    if (gate_path(path, sizeof(path), dir, GATE_CONF) != 0) {
        return -1;
    }
    f = fopen(path, "r");
    if (f == NULL) {
        return 0; /* no file: defaults */
    }
    while (rc == 0 && lineno < 100 && fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        if (conf_line(c, line) != 0) {
            fprintf(stderr, "coffre-gate: %s:%d: bad line\n", path, lineno);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

int
main(int argc, char **argv)
{
    struct gate_conf conf;
    const char *dir = getenv("COFFRE_GATE_DIR");
    int i = 1;

    if (sodium_init() < 0) {
        return 2;
    }
    if (dir == NULL || dir[0] == '\0') {
        dir = "/var/lib/coffre-gate";
    }
    if (i + 1 < argc && strcmp(argv[i], "--dir") == 0) {
        dir = argv[i + 1];
        i += 2;
    }
    if (i >= argc) {
        usage();
        return 2;
    }
    if (wants_version(argc, argv, i)) {
        printf("coffre-gate %s\n", COFFRE_VERSION);
        return 0;
    }
    if (gate_conf_load(&conf, dir) != 0) {
        return 2;
    }
    if (strcmp(argv[i], "verify") == 0) {
        return gate_cmd_verify(&conf, argc - i, argv + i);
    }
    if (strcmp(argv[i], "sync") == 0) {
        return gate_cmd_sync(&conf, argc - i, argv + i);
    }
    if (strcmp(argv[i], "init") == 0) {
        return gate_cmd_init(&conf, argc - i, argv + i);
    }
    usage();
    return 2;
}
