/* coffre-gate init and sync: provision the list key, refresh the lists. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "coffre/gate.h"
#include "gate_cmd.h"

struct body {
    unsigned char *p;
    size_t len;
};

struct sync_opts {
    const char *cacert, *cert, *key, *url;
};

static size_t
body_add(char *data, size_t size, size_t n, void *arg)
{
    struct body *b = arg;
    unsigned char *np;

    /* A list has a hard cap; returning short makes curl fail the call. */
    if (n == 0 || size != 1 || n > GATE_MAX_LIST - b->len) {
        return 0;
    }
    np = realloc(b->p, b->len + n);
    if (np == NULL) {
        return 0;
    }
    memcpy(np + b->len, data, n);
    b->p = np;
    b->len += n;
    return n;
}

static int
fetch(const struct sync_opts *o, const char *path, struct body *b)
{
    char url[2048];
    long status = 0;
    CURL *h;
    CURLcode cc;

    if (snprintf(url, sizeof(url), "%s%s", o->url, path) >= (int)sizeof(url) ||
        (h = curl_easy_init()) == NULL) {
        return -1;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_add);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
    if (o->cacert != NULL) {
        curl_easy_setopt(h, CURLOPT_CAINFO, o->cacert);
    }
    if (o->cert != NULL) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, o->cert);
        curl_easy_setopt(h, CURLOPT_SSLKEY, o->key);
    }
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (cc != CURLE_OK || status != 200) {
        fprintf(stderr, "coffre-gate: GET %s: %s (HTTP %ld)\n", url,
                curl_easy_strerror(cc), status);
        return -1;
    }
    return 0;
}

/* Write ${b} to ${dir}/${name} atomically (temporary file, rename). */
static int
install(const char *dir, const char *name, const struct body *b)
{
    char path[4096], tmp[4200];
    int fd, ok;

    if (gate_path(path, sizeof(path), dir, name) != 0 ||
        snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        return -1;
    }
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
    if (fd < 0) {
        return -1;
    }
    ok = write(fd, b->p, b->len) == (ssize_t)b->len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Fetch one list; install it only if it verifies and is not older. */
static int
sync_one(const struct gate_conf *c, const struct sync_opts *o,
         const uint8_t pk[32], int revocations)
{
    const char *name = revocations ? GATE_REVOC : GATE_TRUST;
    struct body b = {NULL, 0};
    struct coffre_gate *g = NULL;
    char path[4096];
    uint64_t seq = 0;
    int64_t iat = 0;
    int rc = -1, lrc;

    if (fetch(o,
              revocations ? "/v1/badges/revocations" : "/v1/badges/trust-list",
              &b) != 0) {
        goto out;
    }
    lrc = coffre_gate_list_info(pk, b.p, b.len, revocations, &seq, &iat);
    if (lrc != COFFRE_OK) {
        fprintf(stderr, "coffre-gate: %s: refused (%s)\n", name,
                lrc == COFFRE_ERR_CRYPTO ? "bad signature" : "malformed");
        goto out;
    }
    /* The list on disk, if any, must not be newer (rollback guard). */
    if (coffre_gate_new(pk, &g) != COFFRE_OK ||
        gate_path(path, sizeof(path), c->dir, name) != 0) {
        goto out;
    }
    (void)coffre_gate_load_file(g, path, revocations);
    if (seq < coffre_gate_seq(g, revocations)) {
        fprintf(stderr, "coffre-gate: %s: sequence %llu is older than %llu\n",
                name, (unsigned long long)seq,
                (unsigned long long)coffre_gate_seq(g, revocations));
        goto out;
    }
    rc = install(c->dir, name, &b);
    if (rc == 0) {
        printf("%s: sequence %llu installed\n", name, (unsigned long long)seq);
    }
out:
    coffre_gate_free(g);
    free(b.p);
    return rc;
}

int
gate_cmd_sync(const struct gate_conf *c, int argc, char **argv)
{
    struct sync_opts o = {0};
    uint8_t pk[32];
    int rc;

    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--cacert") == 0) {
            o.cacert = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--cert") == 0) {
            o.cert = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--key") == 0) {
            o.key = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--cert-key") == 0) {
            /* coffre audit's old spelling: one spelling everywhere. */
            fprintf(stderr, "coffre-gate: warning: --cert-key is deprecated: "
                            "use --key (as curl does)\n");
            o.key = argv[++i];
        } else if (o.url == NULL && argv[i][0] != '-') {
            o.url = argv[i];
        } else {
            o.url = NULL;
            break;
        }
    }
    if (o.url == NULL || (o.cert == NULL) != (o.key == NULL)) {
        fprintf(stderr, "usage: coffre-gate sync [--cacert F] "
                        "[--cert F --key F] URL\n");
        return 2;
    }
    if (gate_list_key(c->dir, pk) != 0) {
        fprintf(stderr, "coffre-gate: no list key in %s\n", c->dir);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = sync_one(c, &o, pk, 0);
    if (rc == 0) {
        rc = sync_one(c, &o, pk, 1);
    }
    curl_global_cleanup();
    return rc == 0 ? 0 : 1;
}

int
gate_cmd_init(const struct gate_conf *c, int argc, char **argv)
{
    uint8_t pk[32];
    size_t n = 0;
    char path[4096];
    FILE *f;

    if (argc != 2 ||
        sodium_hex2bin(pk, sizeof(pk), argv[1], strlen(argv[1]), NULL, &n,
                       NULL) != 0 ||
        n != sizeof(pk)) {
        fprintf(stderr, "usage: coffre-gate init LIST_PUBLIC_KEY_HEX\n");
        return 2;
    }
    if ((mkdir(c->dir, 0755) != 0 && access(c->dir, W_OK) != 0) ||
        gate_path(path, sizeof(path), c->dir, GATE_LIST_KEY) != 0 ||
        (f = fopen(path, "w")) == NULL) {
        fprintf(stderr, "coffre-gate: cannot write in %s\n", c->dir);
        return 1;
    }
    fprintf(f, "%s\n", argv[1]);
    if (fclose(f) != 0) {
        return 1;
    }
    return 0;
}
