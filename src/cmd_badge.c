/*
 * `coffre badge issue` signs a badge for one approved person of a vault on
 * disk (the server's POST /v1/badges/{pseudonym} without the server);
 * `coffre badge verify` is the gate's verifier: it runs coffre-gate,
 * because a gate device carries that small command and nothing else.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli.h"
#include "cmd.h"
#include "coffre/badge.h"
#include "coffre/badgekeys.h"
#include "server/badges.h"

struct badge_opts {
    struct cli_vault_opts v;
    const char *png, *svg;
    uint64_t id;
};

static void
badge_usage(FILE *f)
{
    fputs("usage: coffre badge issue --data DIR --share FILE... [--png FILE]\n"
          "                          [--svg FILE] ID\n"
          "       coffre badge verify [--dir GATE_DIR] [coffre-gate verify "
          "options]\n"
          "issue signs a badge for the approved person ID (record id) with\n"
          "the vault's current badge key, moves it to badge_issued, prints\n"
          "the badge string and writes the QR code as PNG and/or SVG.\n"
          "verify runs `coffre-gate verify` (from PATH or COFFRE_GATE).\n",
          f);
}

static int
write_out(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(p, 1, len, f) == len;

    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    if (!ok) {
        cli_error("badge", "%s: %s", path, strerror(errno));
    }
    return ok ? 0 : 1;
}

static int
write_qr(const struct badge_opts *o, const char *payload)
{
    unsigned char *png = NULL;
    size_t len = 0;
    char *svg = NULL;
    int r = 0;

    if (o->png != NULL) {
        r = coffre_badge_qr_png(payload, 4, &png, &len) != COFFRE_OK ||
            write_out(o->png, png, len) != 0;
    }
    if (r == 0 && o->svg != NULL) {
        r = coffre_badge_qr_svg(payload, &svg) != COFFRE_OK ||
            write_out(o->svg, svg, strlen(svg)) != 0;
    }
    coffre_free(png);
    coffre_free(svg);
    return r;
}

/* The person's public and identity classes as JSON; NULL with a message. */
static json_t *
load_person(struct coffre_vault *v, uint64_t id)
{
    unsigned want = COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC) |
                    COFFRE_CLASS_BIT(COFFRE_CLASS_IDENTITY);
    struct coffre_person *p = NULL;
    char *text = NULL;
    json_t *j = NULL;
    int rc = coffre_vault_get(v, id, want, &p);

    if (rc == COFFRE_OK) {
        rc = coffre_person_to_json(p, want, &text);
    }
    if (rc == COFFRE_OK) {
        j = json_loads(text, 0, NULL);
    }
    if (j == NULL) {
        cli_error("badge", "person %llu: %s", (unsigned long long)id,
                  coffre_strerror(rc == COFFRE_OK ? COFFRE_ERR_NOMEM : rc));
    }
    if (text != NULL) {
        sodium_memzero(text, strlen(text));
    }
    coffre_free(text);
    coffre_person_free(p);
    return j;
}

static int
sign_person(struct coffre_vault *v, const struct badge_opts *o, json_t *j)
{
    struct badge_claims_src s;
    uint8_t bid[COFFRE_BADGE_ID_LEN];
    char *payload = NULL, hex[2 * COFFRE_BADGE_ID_LEN + 1];
    const char *why = NULL;
    const char *st = json_string_value(
        json_object_get(json_object_get(j, "public"), "state"));
    int rc;

    memset(&s, 0, sizeof(s));
    if (st == NULL ||
        (strcmp(st, "approved") != 0 && strcmp(st, "badge_issued") != 0)) {
        cli_error("badge", "person %llu is %s, not approved",
                  (unsigned long long)o->id, st ? st : "?");
        return 1;
    }
    if (badge_claims_from_json(j, (int64_t)time(NULL), &s, &why) != 0) {
        cli_error("badge", "person %llu: %s", (unsigned long long)o->id, why);
        return 1;
    }
    rc = coffre_vault_pseudonym(v, "gate", o->id, s.subject);
    s.c.subject = s.subject;
    if (rc == COFFRE_OK) {
        rc = coffre_vault_badge_issue(v, o->id, &s.c, &payload, bid);
    }
    if (rc == COFFRE_OK && strcmp(st, "approved") == 0) {
        rc = coffre_vault_set_state(v, o->id, COFFRE_STATE_BADGE_ISSUED);
    }
    if (rc != COFFRE_OK) {
        cli_error("badge", "%s (%s)", coffre_strerror(rc),
                  coffre_vault_errmsg(v));
        coffre_free(payload);
        return 1;
    }
    sodium_bin2hex(hex, sizeof(hex), bid, sizeof(bid));
    printf("%s\n", payload);
    fprintf(stderr, "badge id %s\n", hex);
    rc = write_qr(o, payload);
    coffre_free(payload);
    return rc;
}

static int
parse_issue(int argc, char **argv, struct badge_opts *o)
{
    static const struct option lo[] = {
        {"data", required_argument, NULL, CLI_OPT_DATA},
        {"share", required_argument, NULL, CLI_OPT_SHARE},
        CLI_AUDIT_LONGOPTS,
        {"png", required_argument, NULL, 'p'},
        {"svg", required_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
        if (c == 'h') {
            badge_usage(stdout);
            return 0;
        } else if (c == 'p') {
            o->png = optarg;
        } else if (c == 'g') {
            o->svg = optarg;
        } else if (cli_vault_opt("badge", &o->v, c, optarg) != 1) {
            return 2;
        }
    }
    if (optind + 1 != argc || cli_parse_id(argv[optind], &o->id) != 0) {
        return 2;
    }
    return -1;
}

static int
badge_issue_cmd(int argc, char **argv)
{
    struct badge_opts o;
    struct coffre_vault *v = NULL;
    json_t *j;
    int r;

    memset(&o, 0, sizeof(o));
    r = parse_issue(argc, argv, &o);
    if (r >= 0) {
        if (r == 2) {
            badge_usage(stderr);
        }
        return r;
    }
    r = cli_open_unsealed("badge", &o.v, &v);
    if (r != 0) {
        return r;
    }
    j = load_person(v, o.id);
    r = j == NULL ? 1 : sign_person(v, &o, j);
    json_decref(j);
    cli_close(v);
    return r;
}

/* argv: "verify" and its options: run `coffre-gate verify ...`. */
static int
badge_verify_cmd(int argc, char **argv)
{
    const char *gate = getenv("COFFRE_GATE");
    char **args = calloc((size_t)argc + 2, sizeof(*args));

    if (args == NULL) {
        return 1;
    }
    if (gate == NULL || gate[0] == '\0') {
        gate = "coffre-gate";
    }
    args[0] = (char *)(uintptr_t)gate;
    for (int i = 0; i < argc; i++) {
        args[i + 1] = argv[i];
    }
    /* "verify --dir D ..." is coffre-gate's "--dir D verify ...". */
    if (argc >= 3 && strcmp(argv[1], "--dir") == 0) {
        args[1] = argv[1];
        args[2] = argv[2];
        args[3] = argv[0];
    }
    fflush(stdout);
    execvp(gate, args);
    cli_error("badge", "cannot run %s: %s", gate, strerror(errno));
    free(args);
    return 2;
}

int
cmd_badge(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "issue") == 0) {
        return badge_issue_cmd(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "verify") == 0) {
        if (argc == 3 && strcmp(argv[2], "--help") == 0) {
            badge_usage(stdout);
            return 0;
        }
        return badge_verify_cmd(argc - 1, argv + 1);
    }
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        badge_usage(stdout);
        return 0;
    }
    badge_usage(stderr);
    return 2;
}
