/*
 * Fetching a vault's audit log over HTTPS (libcurl, mutual TLS) into the
 * export layout. Nothing fetched is trusted here: the entries' leaf
 * hashes are computed from the bytes received, and `coffre audit verify`
 * then checks every signature and root itself.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sodium.h>

#include "audit_fetch.h"
#include "remote.h"
#include "coffre/audit.h"

int
audit_remote_get(const struct audit_remote *rm, const char *path, char **pbody,
                 size_t *plen)
{
    char err[4096 + 256], why[512];
    struct remote_answer ans;
    /* Not reached, or refused: no verdict on the log either way
     * (AUDIT_UNREACHABLE, exit 3), never a BREAK. */
    if (remote_call(rm, "GET", path, NULL, 0, &ans, err, sizeof(err)) != 0) {
        fprintf(stderr, "coffre audit: cannot reach %s%s: %s\n", rm->url, path,
                err);
        return AUDIT_UNREACHABLE;
    }
    if (ans.status != 200) {
        remote_error_text(&ans, why, sizeof(why));
        fprintf(stderr, "coffre audit: cannot reach %s%s: %s\n", rm->url, path,
                why);
        free(ans.body);
        return AUDIT_UNREACHABLE;
    }
    if (ans.len == 0) {
        fprintf(stderr, "coffre audit: GET %s%s: empty answer\n", rm->url,
                path);
        return -1;
    }
    *pbody = ans.body;
    *plen = ans.len;
    return 0;
}

/* Standard base64 with padding, alphabet checked first (libsodium 1.0.18
 * accepts some bytes >= 0x80, docs/audit.md section 7). */
int
audit_b64_decode(const char *s, unsigned char *out, size_t cap, size_t *plen)
{
    size_t n = strlen(s);
    if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  "0123456789+/=") != n) {
        return -1;
    }
    return sodium_base642bin(out, cap, s, n, NULL, plen, NULL,
                             sodium_base64_VARIANT_ORIGINAL);
}

/* One record of an export file: length, payload, leaf hash. */
static int
put_record(FILE *f, const unsigned char *p, size_t len)
{
    unsigned char hdr[4] = {(unsigned char)(len >> 24),
                            (unsigned char)(len >> 16),
                            (unsigned char)(len >> 8), (unsigned char)len};
    unsigned char h[COFFRE_AUDIT_HASH_LEN];
    coffre_audit_leaf_hash(p, len, h);
    return fwrite(hdr, 1, 4, f) == 4 && fwrite(p, 1, len, f) == len &&
                   fwrite(h, 1, sizeof(h), f) == sizeof(h)
               ? 0
               : -1;
}

/* Write one page of entries; how many, or -1 (message on stderr). */
static long
put_page(FILE *f, const char *json, uint64_t start)
{
    json_error_t jerr;
    unsigned char b[COFFRE_AUDIT_ENTRY_MAX];
    size_t len, i;
    json_t *e, *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    json_t *arr = json_object_get(root, "entries");
    long n = json_is_array(arr) ? (long)json_array_size(arr) : -1;
    json_array_foreach(arr, i, e)
    {
        const char *c = json_string_value(json_object_get(e, "canonical"));
        json_t *ix = json_object_get(e, "index");
        if (!json_is_integer(ix) ||
            (uint64_t)json_integer_value(ix) != start + i || c == NULL ||
            audit_b64_decode(c, b, sizeof(b), &len) != 0 ||
            put_record(f, b, len)) {
            fprintf(stderr, "coffre audit: entry %" PRIu64 " malformed\n",
                    start + i);
            n = -1;
            break;
        }
    }
    json_decref(root);
    return n;
}

static int
fetch_entries(const struct audit_remote *rm, const char *dir, uint64_t size)
{
    char path[4096], q[128], *body = NULL;
    size_t len;
    snprintf(path, sizeof(path), "%s/entries", dir);
    FILE *f = fopen(path, "wbx");
    if (f == NULL) {
        fprintf(stderr, "coffre audit: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (uint64_t at = 0; rc == 0 && at < size;) {
        uint64_t end = size - at > COFFRE_AUDIT_MAX_PAGE
                           ? at + COFFRE_AUDIT_MAX_PAGE
                           : size;
        snprintf(q, sizeof(q),
                 "/v1/audit/entries?start=%" PRIu64 "&end=%" PRIu64, at, end);
        int got = audit_remote_get(rm, q, &body, &len);
        if (got != 0) {
            rc = got;
            break;
        }
        long n = put_page(f, body, at);
        free(body);
        body = NULL;
        if (n <= 0) {
            if (n == 0) {
                fprintf(stderr,
                        "coffre audit: the server serves %" PRIu64
                        " entries, its checkpoint covers %" PRIu64 "\n",
                        at, size);
            }
            rc = -1;
        }
        at += n > 0 ? (uint64_t)n : 0;
    }
    if (fclose(f) != 0) {
        rc = -1;
    }
    return rc;
}

static int
write_file(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wx");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "coffre audit: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

int
audit_fetch(const struct audit_remote *rm, const char *dir, char **pnote,
            uint64_t *psize)
{
    char *vkey = NULL, *note = NULL, path[4096];
    size_t klen, nlen;
    int rc = -1;
    *pnote = NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "coffre audit: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if ((rc = audit_remote_get(rm, "/v1/audit/key", &vkey, &klen)) != 0 ||
        (rc = audit_remote_get(rm, "/v1/audit/checkpoint", &note, &nlen)) !=
            0) {
        goto out;
    }
    rc = -1;
    /* The size line, read only to know how far to fetch. */
    const char *nl = strchr(note, '\n');
    *psize = nl ? strtoull(nl + 1, NULL, 10) : 0;
    snprintf(path, sizeof(path), "%s/checkpoints", dir);
    FILE *f = fopen(path, "wbx");
    int bad = f == NULL || put_record(f, (unsigned char *)note, nlen) != 0;
    if ((f != NULL && fclose(f) != 0) || bad) {
        fprintf(stderr, "coffre audit: cannot write %s\n", path);
        goto out;
    }
    if (write_file(dir, "checkpoint", note) != 0 ||
        write_file(dir, "vkey", vkey) != 0 ||
        (rc = fetch_entries(rm, dir, *psize)) != 0) {
        goto out;
    }
    *pnote = note;
    note = NULL;
    rc = 0;
out:
    free(vkey);
    free(note);
    return rc;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void
audit_rmtree(const char *dir)
{
    (void)nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int
audit_proof_parse(const char *json, unsigned char *proof, size_t *pn)
{
    json_error_t jerr;
    json_t *h, *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    json_t *arr = json_object_get(root, "hashes");
    size_t i, len;
    int rc =
        json_is_array(arr) && json_array_size(arr) <= COFFRE_AUDIT_MAX_PROOF
            ? 0
            : -1;
    json_array_foreach(arr, i, h)
    {
        const char *s = json_string_value(h);
        if (rc != 0 || s == NULL ||
            audit_b64_decode(s, proof + i * COFFRE_AUDIT_HASH_LEN,
                             COFFRE_AUDIT_HASH_LEN, &len) != 0 ||
            len != COFFRE_AUDIT_HASH_LEN) {
            rc = -1;
            break;
        }
    }
    *pn = rc == 0 ? json_array_size(arr) : 0;
    json_decref(root);
    return rc;
}
