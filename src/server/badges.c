/*
 * The badge routes (docs/badge.md, docs/server.md "Badges"): issuing a
 * badge for an approved person, the two signed lists a gate syncs, the
 * list key a gate is provisioned with, and key rotation. The keys and the
 * bookkeeping are the vault's (coffre/badgekeys.h); this file turns a
 * person's public class and names into claims.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "api.h"
#include "badges.h"
#include "coffre/badge.h"
#include "coffre/badgekeys.h"

#define QR_SCALE 4 /* pixels per module of the PNG */

/* "YYYY-MM-DD" to the unix time of its midnight UTC; -1 if malformed. */
static int64_t
day_start(const char *s)
{
    struct tm tm;
    int y, m, d, n = 0;

    if (s == NULL || strlen(s) != 10 ||
        sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || m < 1 ||
        m > 12 || d < 1 || d > 31) {
        return -1;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    return (int64_t)timegm(&tm);
}

/* The strings of JSON array ${a} into ${out}; -1 if too many or not
 * strings (the badge format's caps). */
static int
codes(json_t *a, const char **out, size_t *pn)
{
    size_t i;
    json_t *x;

    *pn = 0;
    if (a == NULL) {
        return 0;
    }
    if (!json_is_array(a) || json_array_size(a) > BADGE_MAX_ITEMS) {
        return -1;
    }
    json_array_foreach(a, i, x)
    {
        if (!json_is_string(x)) {
            return -1;
        }
        out[i] = json_string_value(x);
    }
    *pn = json_array_size(a);
    return 0;
}

int
badge_claims_from_json(json_t *person, int64_t now, struct badge_claims_src *s,
                       const char **pwhy)
{
    json_t *pub = json_object_get(person, "public");
    json_t *idn = json_object_get(person, "identity");
    const char *tc = json_string_value(json_object_get(pub, "transport_code"));
    int64_t from =
        day_start(json_string_value(json_object_get(pub, "valid_from")));
    int64_t until =
        day_start(json_string_value(json_object_get(pub, "valid_until")));

    s->c.category = json_string_value(json_object_get(pub, "category"));
    s->c.transport = tc != NULL && tc[0] != '\0' ? tc : NULL;
    s->c.venues = s->venues;
    s->c.zones = s->zones;
    s->c.iat = now;
    s->c.nbf = from;
    s->c.exp = until < 0 ? -1 : until + 86400; /* the last day included */
    s->c.name = s->name;
    *pwhy = "the person's data does not fit on a badge";
    if (from < 0 || until < from || s->c.category == NULL ||
        codes(json_object_get(pub, "venues"), s->venues, &s->c.n_venues) ||
        codes(json_object_get(pub, "zones"), s->zones, &s->c.n_zones) ||
        coffre_badge_display_name(
            json_string_value(json_object_get(idn, "surname")),
            json_string_value(json_object_get(idn, "given_names")), s->name,
            sizeof(s->name)) != COFFRE_OK) {
        return -1;
    }
    if (s->c.exp <= s->c.iat) {
        *pwhy = "the accreditation's validity is over";
        return -1;
    }
    return 0;
}

/* Claims of ${person} (public and identity classes); -1 with the answer. */
static int
claims_of(json_t *person, struct badge_claims_src *s, struct srv_resp *r)
{
    const char *why = NULL;
    if (badge_claims_from_json(person, (int64_t)time(NULL), s, &why) != 0) {
        srv_error(r, 409, "conflict", "%s", why);
        return -1;
    }
    return 0;
}

/* The person ${id} if the caller may have a badge made for it: approved
 * or already issued (a reprint), identity readable by the caller. */
static int
badge_person(struct srv_ctx *ctx, const struct srv_req *req, uint64_t id,
             struct srv_resp *r, json_t **pperson)
{
    unsigned want = COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC) |
                    COFFRE_CLASS_BIT(COFFRE_CLASS_IDENTITY);
    if (api_fetch(ctx, id, want, r, pperson) != 0) {
        return -1;
    }
    int state = api_state_of(*pperson);
    if (!(srv_policy_readable(req->who, api_is_protected(*pperson)) &
          COFFRE_CLASS_BIT(COFFRE_CLASS_IDENTITY))) {
        srv_error(r, 403, "forbidden",
                  "role %s may not read this person's names",
                  srv_role_name(req->who->role));
        return -1;
    }
    if (state != COFFRE_STATE_APPROVED && state != COFFRE_STATE_BADGE_ISSUED) {
        srv_error(r, 409, "conflict",
                  "a badge is issued for an approved person only");
        return -1;
    }
    return 0;
}

/* The answer: payload, id, QR version, PNG (base64) and SVG. */
static void
issue_answer(const char *payload, const uint8_t id[COFFRE_BADGE_ID_LEN],
             struct srv_resp *r)
{
    unsigned char *png = NULL;
    size_t png_len = 0;
    char *svg = NULL, *b64 = NULL, hex[2 * COFFRE_BADGE_ID_LEN + 1];
    int version = 0;

    if (coffre_badge_qr_version(payload, &version) != COFFRE_OK ||
        coffre_badge_qr_png(payload, QR_SCALE, &png, &png_len) != COFFRE_OK ||
        coffre_badge_qr_svg(payload, &svg) != COFFRE_OK) {
        srv_error(r, 500, "internal", "cannot render the QR code");
        goto out;
    }
    size_t cap =
        sodium_base64_ENCODED_LEN(png_len, sodium_base64_VARIANT_ORIGINAL);
    b64 = malloc(cap);
    if (b64 == NULL) {
        srv_error(r, 500, "internal", "out of memory");
        goto out;
    }
    sodium_bin2base64(b64, cap, png, png_len, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2hex(hex, sizeof(hex), id, COFFRE_BADGE_ID_LEN);
    srv_json(r, 201,
             json_pack("{s:s,s:s,s:i,s:s,s:s}", "payload", payload, "id", hex,
                       "qr_version", version, "png_base64", b64, "svg", svg));
out:
    free(b64);
    coffre_free(png);
    coffre_free(svg);
}

static void
badge_issue(struct srv_ctx *ctx, const struct srv_req *req, const char *param,
            struct srv_resp *r)
{
    struct badge_claims_src s;
    json_t *person = NULL;
    char *payload = NULL;
    uint8_t id[COFFRE_BADGE_ID_LEN];
    uint64_t pid = 0;
    int rc;

    memset(&s, 0, sizeof(s));
    if (api_purpose(req, r) != 0 ||
        api_resolve(ctx, req, param, r, &pid) != 0 ||
        badge_person(ctx, req, pid, r, &person) != 0 ||
        claims_of(person, &s, r) != 0) {
        goto out;
    }
    /* The badge carries the gate's pseudonym (a lookup hint for an online
     * gate), never the caller's. */
    rc = coffre_vault_pseudonym(ctx->vault, "gate", pid, s.subject);
    if (rc == COFFRE_OK) {
        s.c.subject = s.subject;
        rc = coffre_vault_badge_issue(ctx->vault, pid, &s.c, &payload, id);
    }
    if (rc == COFFRE_OK && api_state_of(person) == COFFRE_STATE_APPROVED) {
        rc = coffre_vault_set_state(ctx->vault, pid, COFFRE_STATE_BADGE_ISSUED);
    }
    if (rc == COFFRE_ERR_ARG) {
        srv_error(r, 409, "conflict",
                  "the person's data does not fit on a badge");
    } else if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
    } else {
        issue_answer(payload, id, r);
    }
    /* Names and public data went on the badge. */
    r->classes = COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC) |
                 COFFRE_CLASS_BIT(COFFRE_CLASS_IDENTITY);
    r->disclosed_personal = 1;
out:
    coffre_free(payload);
    json_decref(person);
}

/* A signed list as a binary application/cbor body. */
static void
badge_list(struct srv_ctx *ctx, int revocations, struct srv_resp *r)
{
    unsigned char *list = NULL;
    size_t len = 0;
    int rc = revocations
                 ? coffre_vault_badge_revocations(ctx->vault, &list, &len)
                 : coffre_vault_badge_trust_list(ctx->vault, &list, &len);
    char *body = rc == COFFRE_OK ? malloc(len + 1) : NULL;

    if (rc != COFFRE_OK || body == NULL) {
        api_vault_error(r, ctx->vault, rc == COFFRE_OK ? COFFRE_ERR_NOMEM : rc);
        coffre_free(list);
        return;
    }
    memcpy(body, list, len);
    body[len] = '\0'; /* the body stays NUL-terminated for its free */
    coffre_free(list);
    srv_resp_free(r);
    r->body = body;
    r->body_len = len;
    r->status = 200;
    r->ctype = "application/cbor";
}

static void
badge_list_key(struct srv_ctx *ctx, struct srv_resp *r)
{
    uint8_t pk[32];
    char hex[65];
    int rc = coffre_vault_badge_list_key(ctx->vault, pk);

    if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
        return;
    }
    sodium_bin2hex(hex, sizeof(hex), pk, sizeof(pk));
    srv_json(r, 200, json_pack("{s:s}", "list_key", hex));
}

static void
badge_rotate(struct srv_ctx *ctx, struct srv_resp *r)
{
    struct coffre_vault_badge_info info;
    unsigned version = 0;
    int rc = coffre_vault_badge_rotate(ctx->vault, &version);

    if (rc == COFFRE_OK) {
        rc = coffre_vault_badge_info(ctx->vault, &info);
    }
    if (rc != COFFRE_OK) {
        api_vault_error(r, ctx->vault, rc);
        return;
    }
    srv_json(r, 200,
             json_pack("{s:I,s:I,s:I}", "key_version", (json_int_t)version,
                       "keys_trusted", (json_int_t)info.keys_trusted,
                       "trust_seq", (json_int_t)info.trust_seq));
}

void
srv_badges_dispatch(struct srv_ctx *ctx, size_t route,
                    const struct srv_req *req, const char *param,
                    struct srv_resp *r)
{
    switch (route) {
    case R_BADGE_ISSUE:
        badge_issue(ctx, req, param, r);
        break;
    case R_BADGE_TRUST:
    case R_BADGE_REVOCATIONS:
        badge_list(ctx, route == R_BADGE_REVOCATIONS, r);
        break;
    case R_BADGE_LIST_KEY:
        badge_list_key(ctx, r);
        break;
    case R_BADGE_ROTATE:
        badge_rotate(ctx, r);
        break;
    default:
        srv_error(r, 404, "not_found", "no such route");
        break;
    }
}

int
srv_badges_revoke(struct srv_ctx *ctx, uint64_t id, struct srv_resp *r)
{
    int rc = coffre_vault_badge_revoke_person(ctx->vault, id, NULL);

    if (rc != COFFRE_OK) {
        srv_error(r, 500, "internal", "the person's badges were not revoked");
        return -1;
    }
    return 0;
}

int
srv_badges_dev_files(struct coffre_vault *v, const char *dir)
{
    char path[4096], hex[65];
    uint8_t pk[32];
    FILE *f;
    int n = snprintf(path, sizeof(path), "%s/badge-list.pub", dir);

    if (n < 0 || (size_t)n >= sizeof(path) ||
        coffre_vault_badge_list_key(v, pk) != COFFRE_OK) {
        return -1;
    }
    sodium_bin2hex(hex, sizeof(hex), pk, sizeof(pk));
    f = fopen(path, "w");
    if (f == NULL) {
        return -1;
    }
    fprintf(f, "%s\n", hex);
    return fclose(f) == 0 ? 0 : -1;
}
