/*
 * coffre operator: a custodian's commands against a running server, over
 * mutual TLS with the custodian's own certificate (docs/operations.md).
 * The share is never an argument: a file, or typed at a prompt that does
 * not echo, or piped on standard input. It lives in locked memory
 * (sodium_malloc), which is wiped when freed, and libcurl sends it from
 * there.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli.h"
#include "cmd.h"
#include "remote.h"

#define SHARE_CAP 1024 /* a share line is about 120 bytes */
#define BODY_HEAD "{\"share\":\""
#define BODY_TAIL "\"}"
#define APPROVAL_ID_LEN 43

static const char usage_text[] =
    "usage: coffre operator unseal URL [--share FILE] TLS\n"
    "       coffre operator seal URL TLS\n"
    "       coffre operator status URL TLS\n"
    "       coffre operator approvals list URL TLS\n"
    "       coffre operator approvals approve URL ID TLS\n"
    "TLS:   --cacert CA.pem --cert CUSTODIAN.pem --key CUSTODIAN.key\n\n"
    "A custodian's commands against a running coffre server\n"
    "(URL https://HOST:PORT), with the custodian's own certificate.\n"
    "unseal gives one share: from --share FILE, else typed at a prompt\n"
    "that does not echo, or read from standard input when it is not a\n"
    "terminal. A share is never a command-line argument.\n"
    "seal forgets the vault's keys; the custodians unseal it again.\n"
    "status shows the seal state and the unseal progress.\n"
    "approvals list shows the approval requests; approve ID approves one.\n";

struct op_args {
    struct audit_remote rm;
    const char *share;
    const char *pos[4]; /* positional arguments after the subcommand */
    int npos;
};

static void op_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
op_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("coffre operator: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- the share, in locked memory ------------------------------------ */

static struct termios saved_tty;
static volatile sig_atomic_t tty_changed;

static void
restore_tty(int sig)
{
    if (tty_changed) {
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
    }
    _exit(128 + sig);
}

/* Read at most ${cap} bytes from ${fd} into ${buf}; stops at a newline
 * when ${line}. The count, or -1 (errno; EFBIG past the cap). */
static long
read_into(int fd, char *buf, size_t cap, int line)
{
    size_t n = 0;
    for (;;) {
        ssize_t k = read(fd, buf + n, line ? 1 : cap + 1 - n);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0) {
            return -1;
        }
        if (k == 0) {
            break;
        }
        n += (size_t)k;
        if (n > cap) {
            errno = EFBIG;
            return -1;
        }
        if (line && buf[n - 1] == '\n') {
            break;
        }
    }
    return (long)n;
}

/* The share typed at the terminal, echo off, the terminal restored on
 * every way out (a signal included). */
static long
read_tty(const char *url, char *buf, size_t cap)
{
    struct termios quiet;
    if (tcgetattr(STDIN_FILENO, &saved_tty) != 0) {
        return -1;
    }
    quiet = saved_tty;
    quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
    signal(SIGINT, restore_tty);
    signal(SIGTERM, restore_tty);
    signal(SIGHUP, restore_tty);
    fprintf(stderr, "Share for %s (not echoed): ", url);
    fflush(stderr);
    tty_changed = 1;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
        tty_changed = 0;
        return -1;
    }
    long n = read_into(STDIN_FILENO, buf, cap, 1);
    int e = errno;
    (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
    tty_changed = 0;
    fputc('\n', stderr);
    errno = e;
    return n;
}

/* Strip surrounding white space; check the text could be a share line:
 * printable ASCII, no quote or backslash (so that it is its own JSON
 * string). Its length, or 0. */
static size_t
share_clean(char *s, size_t n)
{
    size_t a = 0;
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
                     s[n - 1] == '\t')) {
        n--;
    }
    while (a < n && (s[a] == ' ' || s[a] == '\t')) {
        a++;
    }
    for (size_t i = a; i < n; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\') {
            return 0;
        }
    }
    memmove(s, s + a, n - a);
    return n - a;
}

/*
 * The unseal body {"share":"..."} built in locked memory: *${pbody}
 * (sodium_free it), its length in *${plen}. 0, or 1 with a message.
 */
static int
share_body(const struct op_args *a, char **pbody, size_t *plen)
{
    size_t head = sizeof(BODY_HEAD) - 1, tail = sizeof(BODY_TAIL) - 1;
    char *b = sodium_malloc(head + SHARE_CAP + 1 + tail + 1);
    long n;
    int fd = -1;
    if (b == NULL) {
        op_error("unseal: out of locked memory");
        return 1;
    }
    if (a->share != NULL) {
        fd = open(a->share, O_RDONLY | O_CLOEXEC);
        n = fd < 0 ? -1 : read_into(fd, b + head, SHARE_CAP, 0);
    } else if (isatty(STDIN_FILENO)) {
        n = read_tty(a->rm.url, b + head, SHARE_CAP);
    } else {
        n = read_into(STDIN_FILENO, b + head, SHARE_CAP, 0);
    }
    int e = errno;
    if (fd >= 0) {
        close(fd);
    }
    size_t len = n > 0 ? share_clean(b + head, (size_t)n) : 0;
    if (n < 0 || len == 0) {
        op_error("unseal: %s: %s", a->share ? a->share : "standard input",
                 n < 0 && e == EFBIG ? "too large for a share"
                 : n < 0             ? strerror(e)
                                     : "not the text of a share file");
        sodium_free(b);
        return 1;
    }
    memcpy(b, BODY_HEAD, head);
    memcpy(b + head + len, BODY_TAIL, tail + 1);
    *pbody = b;
    *plen = head + len + tail;
    return 0;
}

/* ---- requests ------------------------------------------------------- */

/* Send and parse the JSON answer; *${pout} (json_decref it) when the
 * status is ${want}; else 1 with the server's error, readably. */
static int
call(const struct op_args *a, const char *what, const char *method,
     const char *path, const char *body, size_t blen, long want, json_t **pout)
{
    char err[4400], why[600];
    struct remote_answer ans;
    json_error_t jerr;
    *pout = NULL;
    if (remote_call(&a->rm, method, path, body, blen, &ans, err, sizeof(err)) !=
        0) {
        op_error("%s: %s", what, err);
        return 1;
    }
    if (ans.status != want) {
        remote_error_text(&ans, why, sizeof(why));
        op_error("%s: the server refused: %s%s", what, why,
                 ans.status == 403 && strstr(why, "(HTTP 403 forbidden)")
                     ? "; these are a custodian's commands: --cert and "
                       "--key must be a custodian's"
                     : "");
        free(ans.body);
        return 1;
    }
    *pout = json_loads(ans.body, JSON_REJECT_DUPLICATES, &jerr);
    free(ans.body);
    if (!json_is_object(*pout)) {
        op_error("%s: the server's answer is not a JSON object", what);
        json_decref(*pout);
        *pout = NULL;
        return 1;
    }
    return 0;
}

/* A string of the server's, printable: no terminal escape gets through. */
static void
put_safe(const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        putchar(*s >= 0x20 && *s < 0x7f ? *s : '?');
    }
}

static json_int_t
int_of(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static int
op_unseal(const struct op_args *a)
{
    char *body = NULL;
    size_t blen = 0;
    json_t *o = NULL;
    if (share_body(a, &body, &blen) != 0) {
        return 1;
    }
    int rc = call(a, "unseal", "POST", "/v1/sys/unseal", body, blen, 200, &o);
    sodium_free(body); /* wiped */
    if (rc != 0) {
        return 1;
    }
    if (json_is_true(json_object_get(o, "sealed"))) {
        printf("share accepted: %lld of %lld custodians; still sealed\n",
               (long long)int_of(o, "have"), (long long)int_of(o, "need"));
    } else {
        printf("unsealed\n");
    }
    json_decref(o);
    return 0;
}

static int
op_seal(const struct op_args *a)
{
    char err[4400], why[600];
    struct remote_answer ans;
    if (remote_call(&a->rm, "POST", "/v1/sys/seal", NULL, 0, &ans, err,
                    sizeof(err)) != 0) {
        op_error("seal: %s", err);
        return 1;
    }
    remote_error_text(&ans, why, sizeof(why));
    free(ans.body);
    if (ans.status == 200) {
        printf("sealed\n");
        return 0;
    }
    if (ans.status == 503 && strstr(why, "(HTTP 503 sealed)") != NULL) {
        printf("sealed already\n");
        return 0;
    }
    op_error("seal: the server refused: %s", why);
    return 1;
}

static int
op_status(const struct op_args *a)
{
    json_t *o = NULL;
    if (call(a, "status", "GET", "/v1/sys/seal-status", NULL, 0, 200, &o)) {
        return 1;
    }
    int sealed = json_is_true(json_object_get(o, "sealed"));
    printf("vault    ");
    put_safe(json_string_value(json_object_get(o, "vault_id")));
    printf("\nsealed   %s\n", sealed ? "yes" : "no");
    if (sealed) {
        printf("unseal   %lld of %lld custodians' shares given\n",
               (long long)int_of(o, "have"), (long long)int_of(o, "need"));
    }
    json_decref(o);
    return 0;
}

static void
print_approval(json_t *ap)
{
    char when[32] = "?";
    time_t t = (time_t)int_of(ap, "expires");
    struct tm tm;
    if (gmtime_r(&t, &tm) != NULL) {
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    put_safe(json_string_value(json_object_get(ap, "id")));
    printf("  ");
    put_safe(json_string_value(json_object_get(ap, "state")));
    printf("  ");
    put_safe(json_string_value(json_object_get(ap, "operation")));
    printf(" ");
    put_safe(json_string_value(json_object_get(ap, "scope")));
    printf("  by ");
    put_safe(json_string_value(json_object_get(ap, "requested_by")));
    printf("  approvals %zu of %lld  expires %s\n",
           json_array_size(json_object_get(ap, "approvers")),
           (long long)int_of(ap, "need"), when);
}

static int
op_approvals_list(const struct op_args *a)
{
    json_t *o = NULL, *ap;
    size_t i;
    if (call(a, "approvals list", "GET", "/v1/approvals", NULL, 0, 200, &o)) {
        return 1;
    }
    json_t *arr = json_object_get(o, "approvals");
    json_array_foreach(arr, i, ap)
    {
        print_approval(ap);
    }
    if (json_array_size(arr) == 0) {
        printf("no approval requests\n");
    }
    json_decref(o);
    return 0;
}

static int
op_approve(const struct op_args *a, const char *id)
{
    char path[128];
    json_t *o = NULL;
    if (strlen(id) != APPROVAL_ID_LEN ||
        strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789-_") != APPROVAL_ID_LEN) {
        op_error("approvals approve: %s is not an approval id (43 base64url "
                 "characters, as approvals list shows)",
                 id);
        return 2;
    }
    snprintf(path, sizeof(path), "/v1/approvals/%s/approve", id);
    if (call(a, "approvals approve", "POST", path, NULL, 0, 200, &o)) {
        return 1;
    }
    printf("approved: ");
    print_approval(o);
    json_decref(o);
    return 0;
}

/* ---- arguments ------------------------------------------------------ */

static int
parse(int argc, char **argv, struct op_args *a)
{
    static const struct option lo[] = {{"cacert", required_argument, NULL, 'A'},
                                       {"cert", required_argument, NULL, 'C'},
                                       {"key", required_argument, NULL, 'K'},
                                       {"share", required_argument, NULL, 's'},
                                       {NULL, 0, NULL, 0}};
    int c;
    memset(a, 0, sizeof(*a));
    optind = 0;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'A':
            a->rm.cacert = optarg;
            break;
        case 'C':
            a->rm.cert = optarg;
            break;
        case 'K':
            a->rm.key = optarg;
            break;
        case 's':
            a->share = optarg;
            break;
        default:
            return -1;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (a->npos == 4) {
            return -1;
        }
        a->pos[a->npos++] = argv[i];
    }
    return 0;
}

/* The URL is the first positional argument after the (sub)command. */
static int
need(struct op_args *a, int first, int n)
{
    if (a->npos != first + n) {
        return -1;
    }
    a->rm.url = a->pos[first];
    if (strncmp(a->rm.url, "https://", 8) != 0) {
        op_error("%s: the URL must be https://HOST:PORT", a->rm.url);
        return -1;
    }
    if (a->rm.cert == NULL || a->rm.key == NULL) {
        op_error("--cert and --key (the custodian's certificate) are "
                 "required");
        return -1;
    }
    return 0;
}

int
cmd_operator(int argc, char **argv)
{
    struct op_args a;
    if (cli_help(argc, argv, usage_text)) {
        return 0;
    }
    /* argv[1] is the subcommand: options may come anywhere after it. */
    if (argc < 2 || parse(argc - 1, argv + 1, &a) != 0) {
        fputs(usage_text, stderr);
        return 2;
    }
    const char *sub = argv[1];
    int rc = -1;
    if (strcmp(sub, "unseal") == 0 && need(&a, 0, 1) == 0) {
        rc = op_unseal(&a);
    } else if (a.share != NULL) {
        op_error("--share is for unseal only");
    } else if (strcmp(sub, "seal") == 0 && need(&a, 0, 1) == 0) {
        rc = op_seal(&a);
    } else if (strcmp(sub, "status") == 0 && need(&a, 0, 1) == 0) {
        rc = op_status(&a);
    } else if (strcmp(sub, "approvals") == 0 && a.npos >= 1 &&
               strcmp(a.pos[0], "list") == 0 && need(&a, 1, 1) == 0) {
        rc = op_approvals_list(&a);
    } else if (strcmp(sub, "approvals") == 0 && a.npos >= 1 &&
               strcmp(a.pos[0], "approve") == 0 && need(&a, 1, 2) == 0) {
        rc = op_approve(&a, a.pos[2]);
    }
    if (rc < 0) {
        fputs(usage_text, stderr);
        return 2;
    }
    return rc;
}
