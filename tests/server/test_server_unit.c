/* Unit tests of the server parts that run without a vault: configuration,
 * field policy, routes, UTF-8, metrics, development PKI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "server.h"

static const char good_cfg[] =
    "{\"listen\": \"127.0.0.1:9443\", \"data_dir\": \"/var/lib/coffre\","
    " \"tls_cert\": \"s.pem\", \"tls_key\": \"s.key\", \"client_ca\": "
    "\"ca.pem\", \"tls12\": true, \"vetting_deadline_seconds\": 60,"
    " \"body_max_bytes\": 2048, \"threads\": 4, \"connections_per_ip\": 64,"
    " \"approval_pending_max\": 2,"
    " \"principals\": ["
    "{\"name\": \"o1\", \"role\": \"office\", \"fingerprint\": "
    "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\","
    " \"protected_access\": true},"
    "{\"name\": \"p1\", \"role\": \"platform\", \"subject\": \"CN=p1,O=x\","
    " \"audience\": \"games\"}]}";

static int
parse(const char *text, char *err)
{
    struct srv_config c;
    int rc = srv_config_parse(&c, text, strlen(text), err, 256);
    if (rc == COFFRE_OK) {
        srv_config_free(&c);
    }
    return rc;
}

static void
test_config_good(void)
{
    struct srv_config c;
    char err[256];
    CHECK_RC(srv_config_parse(&c, good_cfg, strlen(good_cfg), err, 256),
             COFFRE_OK);
    CHECK(strcmp(c.listen, "127.0.0.1:9443") == 0);
    CHECK(c.tls12 == 1 && c.vetting_deadline == 60 && c.body_max == 2048);
    CHECK(c.threads == 4 && c.per_ip == 64 && c.nprincipals == 2);
    CHECK(c.approval_pending_max == 2);
    CHECK(c.principals[0].role == SRV_ROLE_OFFICE);
    CHECK(c.principals[0].protected_access == 1);
    CHECK(strcmp(c.principals[0].audience, "office") == 0);
    CHECK(strcmp(c.principals[1].audience, "games") == 0);
    unsigned char fp[32];
    CHECK_RC(srv_hex_decode("00112233445566778899aabbccddeeff0011223344556677"
                            "8899aabbccddeeff",
                            fp, 32),
             COFFRE_OK);
    CHECK(srv_principal_by_fingerprint(&c, fp) == &c.principals[0]);
    fp[0] ^= 1;
    CHECK(srv_principal_by_fingerprint(&c, fp) == NULL);
    CHECK(srv_principal_by_subject(&c, "CN=p1,O=x") == &c.principals[1]);
    CHECK(srv_principal_by_subject(&c, "CN=p2,O=x") == NULL);
    srv_config_free(&c);
}

static void
test_config_bad(void)
{
    char err[256];
    const char *base = "\"data_dir\":\"d\",\"tls_cert\":\"c\",\"tls_key\":"
                       "\"k\",\"client_ca\":\"a\"";
    char buf[1024];
    CHECK_RC(parse("{", err), COFFRE_ERR_PARSE);
    CHECK_RC(parse("[]", err), COFFRE_ERR_INVALID);
    snprintf(buf, sizeof(buf), "{%s,\"colour\":1}", base);
    CHECK_RC(parse(buf, err), COFFRE_ERR_INVALID);
    CHECK(strstr(err, "colour") != NULL);
    snprintf(buf, sizeof(buf), "{%s,\"tls12\":\"yes\"}", base);
    CHECK_RC(parse(buf, err), COFFRE_ERR_INVALID);
    CHECK(strstr(err, "tls12") != NULL);
    CHECK_RC(parse("{\"data_dir\":\"d\"}", err), COFFRE_ERR_INVALID);
    CHECK(strstr(err, "required") != NULL);
    snprintf(buf, sizeof(buf), "{%s,\"data_dir\":\"e\"}", base);
    CHECK_RC(parse(buf, err), COFFRE_ERR_PARSE); /* duplicate key */
    snprintf(buf, sizeof(buf),
             "{%s,\"principals\":[{\"name\":\"a\",\"role\":\"king\","
             "\"subject\":\"CN=a\"}]}",
             base);
    CHECK_RC(parse(buf, err), COFFRE_ERR_INVALID);
    snprintf(buf, sizeof(buf),
             "{%s,\"principals\":[{\"name\":\"a\",\"role\":\"gate\"}]}", base);
    CHECK_RC(parse(buf, err), COFFRE_ERR_INVALID); /* no fp nor subject */
    snprintf(buf, sizeof(buf),
             "{%s,\"principals\":[{\"name\":\"a\",\"role\":\"gate\","
             "\"subject\":\"CN=a\",\"protected_access\":true}]}",
             base);
    CHECK_RC(parse(buf, err), COFFRE_ERR_INVALID); /* office only */
    snprintf(buf, sizeof(buf),
             "{%s,\"principals\":[{\"name\":\"a\",\"role\":\"gate\","
             "\"subject\":\"CN=a\"},{\"name\":\"a\",\"role\":\"gate\","
             "\"subject\":\"CN=b\"}]}",
             base);
    CHECK_RC(parse(buf, err), COFFRE_ERR_INVALID); /* duplicate name */
    snprintf(buf, sizeof(buf),
             "{%s,\"principals\":[{\"name\":\"a\",\"role\":\"gate\","
             "\"fingerprint\":\"abcd\"}]}",
             base);
    CHECK_RC(parse(buf, err), COFFRE_ERR_INVALID);
    snprintf(buf, sizeof(buf), "{%s,\"threads\":65}", base);
    CHECK_RC(parse(buf, err), COFFRE_ERR_INVALID);
    snprintf(buf, sizeof(buf), "{%s,\"connections_per_ip\":0}", base);
    CHECK_RC(parse(buf, err), COFFRE_ERR_INVALID);
    snprintf(buf, sizeof(buf), "{%s,\"connections_per_ip\":1001}", base);
    CHECK_RC(parse(buf, err), COFFRE_ERR_INVALID);
    snprintf(buf, sizeof(buf), "{%s,\"connections_per_ip\":\"8\"}", base);
    CHECK_RC(parse(buf, err), COFFRE_ERR_INVALID);
    snprintf(buf, sizeof(buf), "{%s,\"approval_pending_max\":0}", base);
    CHECK_RC(parse(buf, err), COFFRE_ERR_INVALID);
    snprintf(buf, sizeof(buf), "{%s,\"approval_pending_max\":65}", base);
    CHECK_RC(parse(buf, err), COFFRE_ERR_INVALID);
    CHECK(strstr(err, "approval_pending_max") != NULL);
    snprintf(buf, sizeof(buf), "{%s,\"listen\":\"nocolon\"}", base);
    CHECK_RC(parse(buf, err), COFFRE_ERR_INVALID);
    char *big = malloc(SRV_CONFIG_MAX + 2);
    memset(big, ' ', SRV_CONFIG_MAX + 1);
    big[SRV_CONFIG_MAX + 1] = '\0';
    CHECK_RC(parse(big, err), COFFRE_ERR_TOOBIG);
    free(big);
}

static struct srv_principal
principal(int role, int prot)
{
    struct srv_principal p;
    memset(&p, 0, sizeof(p));
    p.role = role;
    p.protected_access = prot;
    return p;
}

#define B(c) COFFRE_CLASS_BIT(COFFRE_CLASS_##c)

static void
test_policy_table(void)
{
    struct srv_principal pl = principal(SRV_ROLE_PLATFORM, 0);
    struct srv_principal of = principal(SRV_ROLE_OFFICE, 0);
    struct srv_principal ofp = principal(SRV_ROLE_OFFICE, 1);
    struct srv_principal ve = principal(SRV_ROLE_VETTING, 0);
    struct srv_principal ga = principal(SRV_ROLE_GATE, 0);
    struct srv_principal pr = principal(SRV_ROLE_PRINTER, 0);
    CHECK(srv_policy_readable(&pl, 0) == B(PUBLIC));
    CHECK(srv_policy_readable(&of, 0) == COFFRE_CLASSES_ALL);
    CHECK(srv_policy_readable(&ve, 0) ==
          (B(IDENTITY) | B(CONTACT) | B(DOCUMENT) | B(VETTING)));
    CHECK(srv_policy_readable(&ga, 0) == (B(PUBLIC) | B(IDENTITY) | B(PHOTO)));
    CHECK(srv_policy_readable(&pr, 0) == (B(PUBLIC) | B(IDENTITY) | B(PHOTO)));
    for (int r = SRV_ROLE_AUDITOR; r < SRV_ROLE_COUNT; r++) {
        struct srv_principal x = principal(r, 0);
        CHECK(srv_policy_readable(&x, 0) == 0);
        CHECK(srv_policy_writable(r, 0) == 0);
    }
    /* protected records */
    CHECK(srv_policy_readable(&of, 1) == (B(PUBLIC) | B(VETTING)));
    CHECK(srv_policy_readable(&ofp, 1) == COFFRE_CLASSES_ALL);
    CHECK(srv_policy_readable(&ve, 1) == srv_policy_readable(&ve, 0));
    CHECK(srv_policy_readable(&ga, 1) == B(PUBLIC));
    CHECK(srv_policy_readable(&pr, 1) == B(PUBLIC));
    /* lists: a protected record is never listed for the platform */
    CHECK(!srv_policy_listed(&pl, 1));
    CHECK(srv_policy_listed(&pl, 0));
    CHECK(srv_policy_listed(&of, 1) && srv_policy_listed(&ofp, 1));
    CHECK(srv_policy_listed(&ve, 1) && srv_policy_listed(&ga, 1));
    CHECK(srv_policy_listed(&pr, 1));
    CHECK(!(srv_policy_writable(SRV_ROLE_PLATFORM, 0) & B(VETTING)));
    CHECK(srv_policy_writable(SRV_ROLE_PLATFORM, 0) & B(IDENTITY));
    CHECK(srv_policy_access(SRV_ROLE_GATE, COFFRE_CLASS_IDENTITY) ==
          SRV_PARTIAL);
    CHECK(srv_policy_access(-1, 0) == SRV_NONE);
    CHECK(srv_policy_access(0, COFFRE_CLASS_COUNT) == SRV_NONE);
}

static const char person_json[] =
    "{\"source_key\":\"S1\",\"protected\":true,"
    "\"public\":{\"category\":\"police\",\"organisation\":\"Gendarmerie\","
    "\"function\":\"Officer\",\"venues\":[\"STF\"],\"zones\":[\"A\"],"
    "\"transport_code\":\"T1\",\"valid_until\":\"2024-08-31\",\"state\":"
    "\"approved\"},"
    "\"identity\":{\"surname\":\"Martin\",\"given_names\":\"Anne\","
    "\"sex\":\"F\",\"birth_date\":\"1990-01-01\"},"
    "\"contact\":{\"address\":\"1 rue\",\"city\":\"Paris\",\"email\":"
    "\"a@b.fr\",\"phone\":\"+33100000000\"},"
    "\"photo\":{\"jpeg\":\"/9j/\"}}";

static json_t *
filtered(int role, int prot_access, int is_protected)
{
    struct srv_principal p = principal(role, prot_access);
    json_t *o = json_loads(person_json, 0, NULL);
    srv_policy_filter(o, &p, is_protected);
    return o;
}

static void
test_policy_filter(void)
{
    json_t *o = filtered(SRV_ROLE_GATE, 0, 0);
    json_t *id = json_object_get(o, "identity");
    CHECK(json_object_size(id) == 2);
    CHECK(json_object_get(id, "surname") != NULL);
    CHECK(json_object_get(o, "contact") == NULL);
    CHECK(json_object_get(o, "photo") != NULL);
    CHECK(json_object_get(o, "source_key") == NULL);
    CHECK(json_object_get(o, "protected") == NULL);
    json_decref(o);

    o = filtered(SRV_ROLE_VETTING, 0, 0);
    json_t *ct = json_object_get(o, "contact");
    CHECK(json_object_get(ct, "address") && json_object_get(ct, "city"));
    CHECK(json_object_get(ct, "email") == NULL);
    CHECK(json_object_get(ct, "phone") == NULL);
    CHECK(json_object_get(o, "public") == NULL);
    CHECK(json_object_get(o, "photo") == NULL);
    CHECK(json_object_get(o, "source_key") == NULL);
    json_decref(o);

    /* a protected record: the platform follows its state, nothing else */
    o = filtered(SRV_ROLE_PLATFORM, 0, 1);
    json_t *pub = json_object_get(o, "public");
    CHECK(json_object_size(pub) == 2);
    CHECK(json_object_get(pub, "state") != NULL);
    CHECK(json_object_get(pub, "valid_until") != NULL);
    CHECK(json_object_size(o) == 1);
    json_decref(o);

    o = filtered(SRV_ROLE_PLATFORM, 0, 0);
    CHECK(json_object_size(json_object_get(o, "public")) == 8);
    json_decref(o);

    /* the other roles see the public class of a protected record whole */
    for (int role = SRV_ROLE_OFFICE; role <= SRV_ROLE_PRINTER; role++) {
        o = filtered(role, 0, 1);
        pub = json_object_get(o, "public");
        CHECK(role == SRV_ROLE_VETTING ? pub == NULL
                                       : json_object_size(pub) == 8);
        json_decref(o);
    }

    o = filtered(SRV_ROLE_OFFICE, 0, 1);
    CHECK(json_object_get(o, "identity") == NULL);
    CHECK(json_object_get(o, "public") != NULL);
    json_decref(o);

    o = filtered(SRV_ROLE_OFFICE, 1, 1);
    CHECK(json_object_size(json_object_get(o, "identity")) == 4);
    CHECK(json_object_get(o, "source_key") != NULL);
    json_decref(o);

    o = filtered(SRV_ROLE_ADMIN, 0, 0);
    CHECK(json_object_size(o) == 0);
    json_decref(o);
}

static void
test_routes(void)
{
    char p[COFFRE_PSEUDONYM_LEN + 1];
    const char *ps = "/v1/persons/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    unsigned st = 0;
    CHECK(srv_route_match("GET", "/v1/sys/health", p, &st) == R_HEALTH);
    CHECK(srv_route_match("GET", ps, p, &st) == R_PERSON_GET);
    CHECK(strlen(p) == COFFRE_PSEUDONYM_LEN);
    CHECK(srv_route_match("DELETE", ps, p, &st) == R_PERSON_DELETE);
    CHECK(srv_route_match("PUT", ps, p, &st) == R__COUNT && st == 405);
    CHECK(strcmp(srv_route_allow(ps), "GET, PATCH, DELETE") == 0);
    CHECK(strcmp(srv_route_allow("/v1/persons"), "GET, POST") == 0);
    CHECK(srv_route_match("GET", "/v1/persons/short", p, &st) == R__COUNT &&
          st == 404);
    CHECK(srv_route_match("GET", "/v1/persons/../sys/health", p, &st) ==
          R__COUNT);
    CHECK(srv_route_match("GET", "/v1/sys/health/", p, &st) == R__COUNT);
    CHECK(srv_route_match("GET", "//v1/sys/health", p, &st) == R__COUNT);
    CHECK(srv_route_match("GET", "/v1/sys/healt", p, &st) == R__COUNT);
    CHECK(srv_route_match("GET", "", p, &st) == R__COUNT && st == 404);
    CHECK(srv_route_match("POST",
                          "/v1/vetting/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                          "AAAA/verdict",
                          p, &st) == R_VETTING_VERDICT);
    CHECK(srv_route_match("POST",
                          "/v1/vetting/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                          "AA.A/verdict",
                          p, &st) == R__COUNT);
    /* The console: a file name, never a dot segment or a deeper path. */
    CHECK(srv_route_match("GET", "/console/", p, &st) == R_CONSOLE);
    CHECK(srv_route_match("GET", "/console/app.js", p, &st) ==
              R_CONSOLE_ASSET &&
          strcmp(p, "app.js") == 0);
    CHECK(srv_route_match("GET", "/console", p, &st) == R__COUNT);
    CHECK(srv_route_match("GET", "/console/..", p, &st) == R__COUNT);
    CHECK(srv_route_match("GET", "/console/.app.js", p, &st) == R__COUNT);
    CHECK(srv_route_match("GET", "/console/a/b.js", p, &st) == R__COUNT);
    CHECK(srv_route_match("GET", "/console/App.js", p, &st) == R__COUNT);
    CHECK(srv_route_match("GET", "/console/%2e%2e", p, &st) == R__COUNT);
    CHECK(srv_route_match("POST", "/console/app.js", p, &st) == R__COUNT &&
          st == 405);
}

/* The route table's promises (route.c): nothing that changes state is
 * served while sealed, everything that changes state or names a person
 * makes an audit entry, so a new route cannot forget either. */
static void
test_route_invariants(void)
{
    size_t sealed = 0;
    for (size_t r = 0; r < R__COUNT; r++) {
        const struct srv_route *rt = &srv_routes[r];
        int get = strcmp(rt->method, "GET") == 0;
        CHECK(srv_route_action(r) == rt->action);
        if (!get || strstr(rt->path, "{pseudonym}") != NULL) {
            CHECK(rt->action != NULL);
        }
        if (rt->sealed_ok) {
            sealed++;
            CHECK(get || r == R_UNSEAL);
            CHECK(rt->action == NULL || r == R_UNSEAL);
        }
        for (const char *a = rt->action; a != NULL && *a != '\0'; a++) {
            CHECK((*a >= 'a' && *a <= 'z') || *a == '.' || *a == '_');
        }
    }
    CHECK(sealed == 8); /* 5 of the API, the console's 2, whoami */
    /* Past a suspension: only what holds no data but the caller's own. */
    size_t past = 0;
    for (size_t r = 0; r < R__COUNT; r++) {
        const struct srv_route *rt = &srv_routes[r];
        if (rt->suspended_ok) {
            past++;
            CHECK(strcmp(rt->method, "GET") == 0 && rt->action == NULL &&
                  strstr(rt->path, "{pseudonym}") == NULL &&
                  strstr(rt->path, "{id}") == NULL);
        }
    }
    CHECK(past == 3 && srv_routes[R_WHOAMI].suspended_ok &&
          srv_routes[R_CONSOLE].suspended_ok &&
          srv_routes[R_CONSOLE_ASSET].suspended_ok);
    CHECK(!srv_routes[R_GUARD_REINSTATE].sealed_ok);
    CHECK(srv_route_action(R__COUNT) == NULL);
}

static void
test_utf8_and_errors(void)
{
    CHECK(srv_utf8_valid("abc", 3));
    CHECK(srv_utf8_valid("\xc3\xa9t\xc3\xa9", 5));
    CHECK(srv_utf8_valid("\xf0\x9f\x98\x80", 4));
    CHECK(!srv_utf8_valid("\xc3", 1));
    CHECK(!srv_utf8_valid("\xc0\xaf", 2));         /* overlong */
    CHECK(!srv_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    CHECK(!srv_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    CHECK(!srv_utf8_valid("a\0b", 3));
    struct srv_resp r;
    memset(&r, 0, sizeof(r));
    srv_error(&r, 403, "forbidden", "class %s", "identity");
    CHECK(r.status == 403);
    json_t *o = json_loads(r.body, 0, NULL);
    CHECK(o != NULL);
    CHECK(strcmp(json_string_value(
                     json_object_get(json_object_get(o, "error"), "code")),
                 "forbidden") == 0);
    json_decref(o);
    srv_error(&r, 400, "unknown_field", "unknown field %s", "\xff\xfe");
    CHECK(r.status == 400 && r.body != NULL && strstr(r.body, "\xff") == NULL);
    srv_resp_free(&r);
}

static void
test_metrics(void)
{
    struct srv_metrics *m = srv_metrics_new(srv_route_labels, R__COUNT);
    char *text = NULL;
    CHECK(m != NULL);
    srv_metrics_observe(m, R_HEALTH, SRV_ROLE_ADMIN, 200, 0.0001);
    srv_metrics_observe(m, R_HEALTH, SRV_ROLE_ADMIN, 200, 0.2);
    srv_metrics_observe(m, R_PERSON_GET, SRV_ROLE_OFFICE, 403, 0.003);
    srv_metrics_observe(m, R__COUNT, SRV_ROLE_NONE, 401, 0.001);
    CHECK(srv_metrics_hits(m, R_HEALTH) == 2);
    CHECK(srv_metrics_hits(m, R_UNSEAL) == 0);
    CHECK_RC(srv_metrics_render(m, 1, &text), COFFRE_OK);
    CHECK(strstr(text,
                 "coffre_http_requests_total{route=\"GET "
                 "/v1/sys/health\",role=\"admin\",status=\"200\"} 2") != NULL);
    CHECK(strstr(text, "route=\"unmatched\",role=\"none\",status=\"401\"} 1"));
    CHECK(strstr(text, "coffre_sealed 1\n") != NULL);
    /* promtool (Debian's prometheus package) is the judge of the format */
    if (system("command -v promtool >/dev/null 2>&1") == 0) {
        char path[] = "/tmp/coffre-metrics-XXXXXX";
        int fd = mkstemp(path);
        FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
        CHECK(out != NULL);
        if (out != NULL) {
            fputs(text, out);
            fclose(out);
            char cmd[128];
            snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
            CHECK(system(cmd) == 0);
            unlink(path);
        }
    }
    free(text);
    srv_metrics_free(m);
}

static char *
slurp(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    fclose(f);
    (void)n;
    return buf;
}

static void
test_pki(void)
{
    const char *dir = check_tmpdir();
    const char *names[] = {"office", "gate"};
    unsigned char fps[2][32], fp[32];
    CHECK_RC(srv_pki_dev(dir, names, 2, fps), COFFRE_OK);
    char *pem = slurp(dir, "office.pem");
    CHECK(pem != NULL);
    CHECK_RC(srv_cert_fingerprint(pem, strlen(pem), fp), COFFRE_OK);
    CHECK(memcmp(fp, fps[0], 32) == 0);
    CHECK(memcmp(fps[0], fps[1], 32) != 0);
    free(pem);
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/gate.key", dir);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 077) == 0);
    snprintf(path, sizeof(path), "%s/server.key", dir);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 077) == 0);
    /* the server certificate verifies under the CA (certtool if present) */
    if (system("command -v certtool >/dev/null 2>&1") == 0) {
        char cmd[1200];
        snprintf(cmd, sizeof(cmd),
                 "cat %s/server.pem %s/ca.pem | certtool --verify-chain "
                 ">/dev/null 2>&1",
                 dir, dir);
        CHECK(system(cmd) == 0);
    }
    CHECK_RC(srv_cert_fingerprint("junk", 4, fp), COFFRE_ERR_PARSE);
}

/* The policy digest (docs/approvals.md section 6): the canonical text is
 * the configuration without its operational keys, client_ca replaced by
 * the hex SHA-256 of the CA's bytes, sorted keys, no whitespace. */
static void
test_policy_digest(void)
{
    static const char a[] =
        "{\"listen\":\"127.0.0.1:1\",\"data_dir\":\"/d\",\"tls_cert\":\"c\","
        "\"tls_key\":\"k\",\"client_ca\":\"ca.pem\",\"threads\":2,"
        "\"principals\":[{\"role\":\"office\",\"name\":\"o\","
        "\"subject\":\"CN=o\"}],\"approvals_required\":2}";
    /* the same policy: other key order, whitespace, operational values */
    static const char b[] =
        "{ \"approvals_required\": 2, \"principals\": [ {\"subject\": "
        "\"CN=o\", \"name\": \"o\", \"role\": \"office\"} ],\n"
        "  \"client_ca\": \"/etc/other/ca.pem\", \"threads\": 8, "
        "\"mlock\": true, \"user\": \"coffre\", \"body_max_bytes\": 4096,"
        "  \"audit_dir\": \"/a\", \"audit_origin\": \"o\", "
        "\"retention_sweep_seconds\": 5, \"connections_per_ip\": 9, "
        "\"listen\": \"0.0.0.0:2\", "
        "\"data_dir\": \"/e\", \"tls_cert\": \"c2\", \"tls_key\": \"k2\"}";
    unsigned char da[32], db[32], dc[32], want[32], h[32];
    char err[256], hex[65], canon[512];
    CHECK_RC(srv_policy_digest(a, strlen(a), "CA", 2, da, err, sizeof(err)),
             COFFRE_OK);
    CHECK_RC(srv_policy_digest(b, strlen(b), "CA", 2, db, err, sizeof(err)),
             COFFRE_OK);
    CHECK(memcmp(da, db, 32) == 0);
    /* the vector: what an operator recomputes by hand */
    crypto_hash_sha256(h, (const unsigned char *)"CA", 2);
    sodium_bin2hex(hex, sizeof(hex), h, 32);
    snprintf(canon, sizeof(canon),
             "{\"approvals_required\":2,\"client_ca\":\"%s\",\"principals\":"
             "[{\"name\":\"o\",\"role\":\"office\",\"subject\":\"CN=o\"}]}",
             hex);
    crypto_hash_sha256(want, (const unsigned char *)canon, strlen(canon));
    CHECK(memcmp(da, want, 32) == 0);
    /* the CA's content counts */
    CHECK_RC(srv_policy_digest(a, strlen(a), "CA\n", 3, dc, err, sizeof(err)),
             COFFRE_OK);
    CHECK(memcmp(da, dc, 32) != 0);
    /* so does a policy value */
    static const char c[] = "{\"client_ca\":\"x\",\"approvals_required\":3}";
    static const char d[] = "{\"client_ca\":\"x\",\"approvals_required\":2}";
    CHECK_RC(srv_policy_digest(c, strlen(c), "CA", 2, dc, err, sizeof(err)),
             COFFRE_OK);
    CHECK_RC(srv_policy_digest(d, strlen(d), "CA", 2, db, err, sizeof(err)),
             COFFRE_OK);
    CHECK(memcmp(db, dc, 32) != 0);
    CHECK_RC(srv_policy_digest("[1]", 3, "CA", 2, dc, err, sizeof(err)),
             COFFRE_ERR_PARSE);
    CHECK_RC(srv_policy_digest("{\"a\":1,\"a\":2}", 13, "CA", 2, dc, err,
                               sizeof(err)),
             COFFRE_ERR_PARSE);
}

int
main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    RUN(test_config_good);
    RUN(test_config_bad);
    RUN(test_policy_table);
    RUN(test_policy_filter);
    RUN(test_routes);
    RUN(test_route_invariants);
    RUN(test_utf8_and_errors);
    RUN(test_metrics);
    RUN(test_pki);
    RUN(test_policy_digest);
    return check_done();
}
