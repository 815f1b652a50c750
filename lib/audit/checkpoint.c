/* C2SP transparency log checkpoints (c2sp.org/tlog-checkpoint). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/note.h"
#include "coffre/coffre.h"
#include "util/buf.h"

#define ROOT_B64_LEN 44 /* base64 of 32 bytes, with one '=' */

/* The origin must be one non-empty line of valid note text. */
static int
origin_valid(const char *origin)
{
    size_t len;

    if (origin == NULL) {
        return 0;
    }
    len = strlen(origin);
    return len > 0 && len <= COFFRE_CHECKPOINT_MAX_ORIGIN &&
           memchr(origin, '\n', len) == NULL;
}

/* Extension lines: each non-empty and ending in a newline, or none. */
static int
ext_valid(const char *ext, size_t len)
{
    if (len == 0) {
        return 1;
    }
    if (ext[0] == '\n' || ext[len - 1] != '\n') {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if (ext[i] == '\n' && ext[i - 1] == '\n') {
            return 0;
        }
    }
    return 1;
}

int
coffre_checkpoint_format(const struct coffre_checkpoint *c, char **ptext,
                         size_t *plen)
{
    char b64[ROOT_B64_LEN + 1];
    const char *ext = c->ext != NULL ? c->ext : "";
    struct coffre_buf b;
    int rc;

    *ptext = NULL;
    if (!origin_valid(c->origin) || !ext_valid(ext, strlen(ext))) {
        return COFFRE_ERR_ARG;
    }
    sodium_bin2base64(b64, sizeof b64, c->root, sizeof c->root,
                      sodium_base64_VARIANT_ORIGINAL);
    coffre_buf_init(&b, COFFRE_NOTE_MAX_SIZE);
    rc = coffre_buf_addf(&b, "%s\n%llu\n%s\n%s", c->origin,
                         (unsigned long long)c->size, b64, ext);
    if (rc == COFFRE_OK && coffre_buf_cstr(&b) == NULL) {
        rc = COFFRE_ERR_NOMEM;
    }
    /* What we sign must be valid note text (UTF-8, no control bytes). */
    if (rc == COFFRE_OK) {
        rc = coffre_note_text_valid((const char *)b.p, b.len);
        rc = rc == COFFRE_ERR_PARSE ? COFFRE_ERR_ARG : rc;
    }
    if (rc != COFFRE_OK) {
        coffre_buf_free(&b);
        return rc;
    }
    *ptext = (char *)coffre_buf_detach(&b, plen);
    return COFFRE_OK;
}

/* ASCII decimal, no sign, no leading zero (except "0"), within uint64. */
static int
parse_size(const char *s, size_t len, uint64_t *pv)
{
    uint64_t v = 0;

    if (len == 0 || len > 20 || (s[0] == '0' && len > 1)) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');

        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - d) / 10) {
            return 0;
        }
        v = v * 10 + d;
    }
    *pv = v;
    return 1;
}

/* The line starting at ${s} (within ${end}): its length, and the start of
 * the next line; NULL if there is no newline. */
static const char *
next_line(const char *s, const char *end, size_t *plen)
{
    const char *nl = memchr(s, '\n', (size_t)(end - s));

    if (nl == NULL) {
        return NULL;
    }
    *plen = (size_t)(nl - s);
    return nl + 1;
}

static int
parse_root(const char *s, size_t len, unsigned char root[32])
{
    size_t n;

    return len == ROOT_B64_LEN &&
           coffre_note_base64_decode(s, len, root, 32, &n) == COFFRE_OK &&
           n == 32;
}

int
coffre_checkpoint_parse(const char *text, size_t len,
                        struct coffre_checkpoint *c)
{
    const char *end = text + len, *l1 = text, *l2, *l3, *rest;
    size_t n1, n2, n3;
    int rc;

    memset(c, 0, sizeof *c);
    rc = coffre_note_text_valid(text, len);
    if (rc != COFFRE_OK) {
        return rc;
    }
    if ((l2 = next_line(l1, end, &n1)) == NULL ||
        (l3 = next_line(l2, end, &n2)) == NULL ||
        (rest = next_line(l3, end, &n3)) == NULL) {
        return COFFRE_ERR_PARSE;
    }
    if (n1 == 0 || n1 > COFFRE_CHECKPOINT_MAX_ORIGIN ||
        !parse_size(l2, n2, &c->size) || !parse_root(l3, n3, c->root) ||
        !ext_valid(rest, (size_t)(end - rest))) {
        memset(c, 0, sizeof *c);
        return COFFRE_ERR_PARSE;
    }
    c->origin = strndup(l1, n1);
    c->ext = strndup(rest, (size_t)(end - rest));
    if (c->origin == NULL || c->ext == NULL) {
        coffre_checkpoint_clear(c);
        return COFFRE_ERR_NOMEM;
    }
    return COFFRE_OK;
}

void
coffre_checkpoint_clear(struct coffre_checkpoint *c)
{
    free(c->origin);
    free(c->ext);
    memset(c, 0, sizeof *c);
}

int
coffre_checkpoint_sign(const struct coffre_checkpoint *c,
                       const struct coffre_note_signer *const *signers,
                       size_t n, char **pnote, size_t *plen)
{
    char *text;
    size_t tlen;
    int rc;

    *pnote = NULL;
    rc = coffre_checkpoint_format(c, &text, &tlen);
    if (rc != COFFRE_OK) {
        return rc;
    }
    rc = coffre_note_sign(text, tlen, signers, n, pnote, plen);
    coffre_free(text);
    return rc;
}

int
coffre_checkpoint_open(const char *msg, size_t len, const char *origin,
                       const struct coffre_note_verifier *known, size_t nknown,
                       struct coffre_checkpoint *c)
{
    struct coffre_note *n;
    int rc;

    memset(c, 0, sizeof *c);
    rc = coffre_note_open(msg, len, known, nknown, &n);
    if (rc != COFFRE_OK) {
        return rc;
    }
    rc = coffre_checkpoint_parse(n->text, n->text_len, c);
    coffre_note_free(n);
    if (rc == COFFRE_OK && origin != NULL && strcmp(c->origin, origin) != 0) {
        coffre_checkpoint_clear(c);
        rc = COFFRE_ERR_CRYPTO;
    }
    return rc;
}
