/*
 * Persons: every validation rule (good and bad, with the diagnostic it
 * gives), the JSON object form, class payloads (TLV) and wiping.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "coffre/coffre.h"
#include "record/record.h"
#include "util/secmem.h"

static const char BASE[] =
    "{\"source_key\":\"SRC-1\",\"protected\":false,"
    "\"public\":{\"category\":\"athlete\",\"organisation\":\"CNOSF\","
    "\"function\":\"Athlete\",\"venues\":[\"SDF\",\"ROLAND_GARROS\"],"
    "\"zones\":[\"1\",\"RED\"],\"transport_code\":\"T1\","
    "\"valid_from\":\"2024-07-01\",\"valid_until\":\"2024-08-11\","
    "\"state\":\"submitted\"},"
    "\"identity\":{\"surname\":\"Lefèvre\",\"given_names\":\"Élodie-Anne\","
    "\"sex\":\"F\",\"birth_date\":\"1996-02-29\",\"birth_place\":\"Nîmes\","
    "\"birth_country\":\"FRA\",\"nationalities\":[\"FRA\",\"DEU\"]},"
    "\"contact\":{\"address\":\"1 rue de la Paix\",\"postal_code\":\"75002\","
    "\"city\":\"Paris\",\"country\":\"FRA\",\"email\":\"elodie@example.fr\","
    "\"phone\":\"+33612345678\"},"
    "\"document\":{\"type\":\"passport\",\"number\":\"19FV12345\","
    "\"country\":\"FRA\",\"expiry\":\"2030-01-31\"},"
    "\"photo\":{\"jpeg\":\"/9j/AAD/2Q==\"},"
    "\"vetting\":{\"status\":\"favourable\","
    "\"decided_at\":\"2024-05-01T12:00:00Z\",\"decided_by\":\"SNEAS\"}}";

static char work[8192];

/* BASE with the first ${from} replaced by ${to}. */
static const char *
mk(const char *from, const char *to)
{
    const char *at = strstr(BASE, from);

    if (at == NULL) {
        fprintf(stderr, "mk: %s not in BASE\n", from);
        return "";
    }
    snprintf(work, sizeof(work), "%.*s%s%s", (int)(at - BASE), BASE, to,
             at + strlen(from));
    return work;
}

static int
parse(const char *json, struct coffre_diag *d)
{
    struct coffre_person *p = NULL;
    int rc = coffre_person_from_json(json, strlen(json), &p, d);

    if (rc == COFFRE_OK) {
        rc = coffre_person_validate_new(p, d);
    }
    coffre_person_free(p);
    return rc;
}

static void
good(const char *from, const char *to)
{
    struct coffre_diag d;
    int rc = parse(mk(from, to), &d);

    if (rc != COFFRE_OK) {
        fprintf(stderr, "  good %s -> %s: %s: %s\n", from, to, d.field, d.rule);
    }
    CHECK_RC(rc, COFFRE_OK);
}

/* Replacing ${from} by ${to} breaks ${field} with a rule starting ${rule}. */
static void
bad_rc(const char *from, const char *to, int want, const char *field,
       const char *rule)
{
    struct coffre_diag d;
    int rc = parse(mk(from, to), &d);
    int ok = rc == want && strcmp(d.field, field) == 0 &&
             strncmp(d.rule, rule, strlen(rule)) == 0;

    if (!ok) {
        fprintf(stderr, "  bad %s -> %s: rc %d %s: %s\n", from, to, rc, d.field,
                d.rule);
    }
    CHECK(ok);
}

static void
bad(const char *from, const char *to, const char *field, const char *rule)
{
    bad_rc(from, to, COFFRE_ERR_INVALID, field, rule);
}

static void
test_base_valid(void)
{
    struct coffre_diag d;

    CHECK_RC(parse(BASE, &d), COFFRE_OK);
}

static void
test_text_rules(void)
{
    char big[300];

    bad("\"Nîmes\"", "\"\"", "identity.birth_place", "must not be empty");
    bad("\"Nîmes\"", "\"a\\u0001b\"", "identity.birth_place",
        "must not contain control characters");
    bad("\"Nîmes\"", "\"a\\u007fb\"", "identity.birth_place",
        "must not contain control characters");
    bad("\"Nîmes\"", "\"a\\tb\"", "identity.birth_place",
        "must not contain control characters");
    memset(big, 'a', 129);
    snprintf(big, sizeof(big), "\"%0129d\"", 0);
    bad("\"Nîmes\"", big, "identity.birth_place", "must be at most 128 bytes");
    snprintf(big, sizeof(big), "\"%0128d\"", 0);
    good("\"Nîmes\"", big);
    good("\"Lefèvre\"", "\"Σωκράτης 王 محمد\"");
    /* surrogates as JSON escapes are refused by the JSON parser itself */
    bad_rc("\"Nîmes\"", "\"\\ud800\"", COFFRE_ERR_PARSE, "", "malformed JSON");
}

static void
test_utf8_rules(void)
{
    struct coffre_person *p = coffre_person_new();
    struct coffre_diag d;
    static const char *const badu[] = {
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xc3",             /* truncated */
        "\xff",
    };

    /* JSON input is checked by jansson too: test the rule directly. */
    p->classes = COFFRE_CLASS_BIT(COFFRE_CLASS_VETTING);
    p->vetting_status = coffre_pmem_strdup("pending");
    for (size_t i = 0; i < sizeof(badu) / sizeof(badu[0]); i++) {
        coffre_pmem_free(p->vetting_decided_by);
        p->vetting_decided_by = coffre_pmem_strdup(badu[i]);
        CHECK_RC(coffre_person_validate(p, &d), COFFRE_ERR_INVALID);
        CHECK(strcmp(d.field, "vetting.decided_by") == 0 &&
              strcmp(d.rule, "must be valid UTF-8") == 0);
    }
    coffre_pmem_free(p->vetting_decided_by);
    p->vetting_decided_by = coffre_pmem_strdup("\xf0\x9f\x98\x80 ok");
    CHECK_RC(coffre_person_validate(p, &d), COFFRE_OK);
    coffre_person_free(p);
}

static void
test_date_rules(void)
{
    const char *rule = "must be a date YYYY-MM-DD";

    good("\"1996-02-29\"", "\"2000-02-29\"");
    bad("\"1996-02-29\"", "\"1900-02-29\"", "identity.birth_date", rule);
    bad("\"1996-02-29\"", "\"1997-02-29\"", "identity.birth_date", rule);
    bad("\"1996-02-29\"", "\"1996-04-31\"", "identity.birth_date", rule);
    bad("\"1996-02-29\"", "\"1996-13-01\"", "identity.birth_date", rule);
    bad("\"1996-02-29\"", "\"1899-12-31\"", "identity.birth_date", rule);
    bad("\"1996-02-29\"", "\"96-02-29\"", "identity.birth_date", rule);
    bad("\"1996-02-29\"", "\"1996/02/29\"", "identity.birth_date", rule);
    bad("\"1996-02-29\"", "\"1996-02-29 \"", "identity.birth_date", rule);
    bad("\"1996-02-29\"", "\"2099-01-01\"", "identity.birth_date",
        "must not be in the future");
    bad("\"2030-01-31\"", "\"2101-01-01\"", "document.expiry", rule);
    good("\"2030-01-31\"", "\"2100-12-31\"");
    bad("\"2024-08-11\"", "\"2024-06-30\"", "public.valid_until",
        "must not be before valid_from");
    good("\"2024-08-11\"", "\"2024-07-01\"");
    bad("\"2024-07-01\"", "\"2024-7-01\"", "public.valid_from", rule);
    bad("\"2024-05-01T12:00:00Z\"", "\"2024-05-01 12:00:00Z\"",
        "vetting.decided_at", "must be a UTC time");
    bad("\"2024-05-01T12:00:00Z\"", "\"2024-05-01T24:00:00Z\"",
        "vetting.decided_at", "must be a UTC time");
    bad("\"2024-05-01T12:00:00Z\"", "\"2024-05-01T12:00:00+01:00\"",
        "vetting.decided_at", "must be a UTC time");
}

static void
test_country_rules(void)
{
    const char *rule = "must be an ISO 3166-1 alpha-3 code";

    bad("\"birth_country\":\"FRA\"", "\"birth_country\":\"fra\"",
        "identity.birth_country", rule);
    bad("\"birth_country\":\"FRA\"", "\"birth_country\":\"XXX\"",
        "identity.birth_country", rule);
    bad("\"birth_country\":\"FRA\"", "\"birth_country\":\"FR\"",
        "identity.birth_country", rule);
    bad("\"birth_country\":\"FRA\"", "\"birth_country\":\"FRAN\"",
        "identity.birth_country", rule);
    good("\"birth_country\":\"FRA\"", "\"birth_country\":\"ALA\"");
    good("\"birth_country\":\"FRA\"", "\"birth_country\":\"ZWE\"");
    bad("\"country\":\"FRA\",\"email\"", "\"country\":\"UK\",\"email\"",
        "contact.country", rule);
    bad("\"country\":\"FRA\",\"expiry\"", "\"country\":\"EUR\",\"expiry\"",
        "document.country", rule);
    bad("[\"FRA\",\"DEU\"]", "[\"FRA\",\"FRA\"]", "identity.nationalities",
        "must have 1 to 4 distinct items");
    bad("[\"FRA\",\"DEU\"]", "[]", "identity.nationalities",
        "must have 1 to 4 distinct items");
    bad("[\"FRA\",\"DEU\"]", "[\"FRA\",\"DEU\",\"ITA\",\"ESP\",\"BEL\"]",
        "identity.nationalities", "must have 1 to 4 distinct items");
    good("[\"FRA\",\"DEU\"]", "[\"FRA\",\"DEU\",\"ITA\",\"ESP\"]");
    bad("[\"FRA\",\"DEU\"]", "[\"FRA\",\"ZZZ\"]", "identity.nationalities",
        rule);
}

static void
test_enum_rules(void)
{
    bad("\"sex\":\"F\"", "\"sex\":\"f\"", "identity.sex", "must be F, M or X");
    good("\"sex\":\"F\"", "\"sex\":\"X\"");
    bad("\"athlete\"", "\"spectator\"", "public.category",
        "must be one of the accreditation categories");
    good("\"athlete\"", "\"transport\"");
    bad_rc("\"submitted\"", "\"approuved\"", COFFRE_ERR_INVALID, "public.state",
           "must be a lifecycle state name");
    good("\"submitted\"", "\"badge_issued\"");
    bad("\"passport\"", "\"visa\"", "document.type", "must be passport");
    good("\"passport\"", "\"diplomatic_passport\"");
    bad("\"favourable\"", "\"ok\"", "vetting.status", "must be pending");
    good("\"favourable\"", "\"unfavourable\"");
    /* protected must be true for security forces and public authorities */
    bad("\"athlete\"", "\"security_force\"", "protected",
        "must be true for security_force");
    bad("\"athlete\"", "\"public_authority\"", "protected",
        "must be true for security_force");
    good("\"protected\":false,\"public\":{\"category\":\"athlete\"",
         "\"protected\":true,\"public\":{\"category\":\"public_authority\"");
    good("\"protected\":false", "\"protected\":true");
}

static void
test_code_rules(void)
{
    const char *rule = "each item must be 1 to 16 characters";
    char many[400];
    size_t n = 0;

    bad("[\"SDF\",\"ROLAND_GARROS\"]", "[\"sdf\"]", "public.venues", rule);
    bad("[\"SDF\",\"ROLAND_GARROS\"]", "[\"\"]", "public.venues",
        "must not be empty");
    bad("[\"SDF\",\"ROLAND_GARROS\"]", "[\"MARSEILLE_MARINA1\"]",
        "public.venues", rule);
    good("[\"SDF\",\"ROLAND_GARROS\"]", "[\"MARSEILLE_MARINA\",\"A-1\"]");
    good("[\"SDF\",\"ROLAND_GARROS\"]", "[]");
    bad("[\"1\",\"RED\"]", "[\"R D\"]", "public.zones", rule);
    n += (size_t)snprintf(many, sizeof(many), "[\"Z0\"");
    for (int i = 1; i < 33; i++) {
        n += (size_t)snprintf(many + n, sizeof(many) - n, ",\"Z%d\"", i);
    }
    snprintf(many + n, sizeof(many) - n, "]");
    bad("[\"1\",\"RED\"]", many, "public.zones", "must have at most 32 items");
    bad("\"T1\"", "\"T_1\"", "public.transport_code",
        "must be 1 to 8 characters of A-Z 0-9");
    bad("\"T1\"", "\"T12345678\"", "public.transport_code",
        "must be 1 to 8 characters");
    good("\"T1\"", "\"T1234567\"");
}

static void
test_contact_rules(void)
{
    const char *mail = "must be an email address";
    const char *e164 = "must be E.164";
    char big[400];

    good("\"elodie@example.fr\"", "\"a.b+c!#$%&'*/=?^_`{|}~-@x-y.example\"");
    bad("\"elodie@example.fr\"", "\"elodie\"", "contact.email", mail);
    bad("\"elodie@example.fr\"", "\"a@b@example.fr\"", "contact.email", mail);
    bad("\"elodie@example.fr\"", "\".a@example.fr\"", "contact.email", mail);
    bad("\"elodie@example.fr\"", "\"a.@example.fr\"", "contact.email", mail);
    bad("\"elodie@example.fr\"", "\"a..b@example.fr\"", "contact.email", mail);
    bad("\"elodie@example.fr\"", "\"a@localhost\"", "contact.email", mail);
    bad("\"elodie@example.fr\"", "\"a@-x.fr\"", "contact.email", mail);
    bad("\"elodie@example.fr\"", "\"a@x-.fr\"", "contact.email", mail);
    bad("\"elodie@example.fr\"", "\"a@x..fr\"", "contact.email", mail);
    bad("\"elodie@example.fr\"", "\"a b@x.fr\"", "contact.email", mail);
    bad("\"elodie@example.fr\"", "\"a@x_y.fr\"", "contact.email", mail);
    snprintf(big, sizeof(big), "\"%065d@x.fr\"", 0);
    bad("\"elodie@example.fr\"", big, "contact.email", mail);
    snprintf(big, sizeof(big), "\"%064d@x.fr\"", 0);
    good("\"elodie@example.fr\"", big);
    snprintf(big, sizeof(big), "\"a@%0250d.fr\"", 0);
    bad("\"elodie@example.fr\"", big, "contact.email", mail);
    good("\"+33612345678\"", "\"+33 6 12 34 56 78\"");
    good("\"+33612345678\"", "\"+12345678\"");
    good("\"+33612345678\"", "\"+123456789012345\"");
    bad("\"+33612345678\"", "\"+1234567\"", "contact.phone", e164);
    bad("\"+33612345678\"", "\"+1234567890123456\"", "contact.phone", e164);
    bad("\"+33612345678\"", "\"0612345678\"", "contact.phone", e164);
    bad("\"+33612345678\"", "\"+33-612345678\"", "contact.phone", e164);
    /* contact, when present, needs address, postal code, city, country */
    bad("\"city\":\"Paris\",", "", "contact.city", "is required");
    bad("\"address\":\"1 rue de la Paix\",", "", "contact.address",
        "is required");
}

static void
test_document_rules(void)
{
    const char *rule = "must be 5 to 24 characters";

    good("\"19FV12345\"", "\"ab 12-C\"");
    bad("\"19FV12345\"", "\"1234\"", "document.number", rule);
    bad("\"19FV12345\"", "\"1234567890123456789012345\"", "document.number",
        rule);
    bad("\"19FV12345\"", "\"12345/6\"", "document.number", rule);
    bad("\"type\":\"passport\",", "", "document.type", "is required");
    bad(",\"expiry\":\"2030-01-31\"", "", "document.expiry", "is required");
}

static void
test_photo_rules(void)
{
    bad("\"/9j/AAD/2Q==\"", "\"/9j/AAD/2Q\"", "photo.jpeg",
        "must be standard base64");
    bad("\"/9j/AAD/2Q==\"", "\"/9j/AAD_2Q==\"", "photo.jpeg",
        "must be standard base64");
    bad("\"/9j/AAD/2Q==\"", "\"/9j/ AAD/2Q==\"", "photo.jpeg",
        "must be standard base64");
    bad("\"/9j/AAD/2Q==\"", "\"/9j/AAD\\u00e9/2Q==\"", "photo.jpeg",
        "must be standard base64");
    bad("\"/9j/AAD/2Q==\"", "\"/9j/AAD/2Q=\"", "photo.jpeg",
        "must be standard base64");
    /* PNG magic */
    bad("\"/9j/AAD/2Q==\"", "\"iVBORw0KGgo=\"", "photo.jpeg", "must be a JPEG");
    /* JPEG start without its end marker */
    bad("\"/9j/AAD/2Q==\"", "\"/9j/AAAA\"", "photo.jpeg", "must be a JPEG");
    bad("\"/9j/AAD/2Q==\"", "\"\"", "photo.jpeg", "must be a JPEG");
}

static void
test_required(void)
{
    struct coffre_diag d;
    const char *only_public =
        "{\"public\":{\"category\":\"athlete\",\"organisation\":\"X\","
        "\"valid_from\":\"2024-07-01\",\"valid_until\":\"2024-08-01\"}}";
    struct coffre_person *p = NULL;

    bad("\"organisation\":\"CNOSF\",", "", "public.organisation",
        "is required");
    bad("\"surname\":\"Lefèvre\",", "", "identity.surname", "is required");
    bad("\"sex\":\"F\",", "", "identity.sex", "is required");
    good("\"function\":\"Athlete\",", "");
    good(",\"transport_code\":\"T1\"", "");
    good(",\"decided_at\":\"2024-05-01T12:00:00Z\"", "");
    /* a person without identity is fine for from_json, not for a new one */
    CHECK_RC(coffre_person_from_json(only_public, strlen(only_public), &p, &d),
             COFFRE_OK);
    CHECK(coffre_person_classes(p) == COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC));
    CHECK(coffre_person_state(p) == COFFRE_STATE_SUBMITTED);
    CHECK_RC(coffre_person_validate_new(p, &d), COFFRE_ERR_INVALID);
    CHECK(strcmp(d.field, "identity") == 0);
    coffre_person_free(p);
}

static void
test_json_shape(void)
{
    struct coffre_diag d;
    struct coffre_person *p = NULL;
    static const char big[] = "{}"; /* the length is checked first */

    bad("\"source_key\"", "\"sourcekey\"", "sourcekey", "unknown field");
    bad("\"surname\"", "\"nom\"", "identity.nom", "unknown field");
    bad("\"photo\":{", "\"picture\":{", "picture", "unknown field");
    bad("\"SRC-1\"", "1", "source_key", "must be a string");
    bad("\"protected\":false", "\"protected\":\"no\"", "protected",
        "must be true or false");
    bad("\"CNOSF\"", "null", "public.organisation", "must be a string");
    bad("[\"SDF\",\"ROLAND_GARROS\"]", "\"SDF\"", "public.venues",
        "must be an array of strings");
    bad("[\"SDF\",\"ROLAND_GARROS\"]", "[1]", "public.venues",
        "must be an array of strings");
    bad("\"identity\":{", "\"identity\":1,\"x\":{", "identity",
        "must be an object");
    bad_rc("\"source_key\":\"SRC-1\",",
           "\"source_key\":\"SRC-1\","
           "\"source_key\":\"SRC-2\",",
           COFFRE_ERR_PARSE, "", "duplicate key");
    bad_rc("\"surname\":\"Lefèvre\",", "\"surname\":\"A\",\"surname\":\"B\",",
           COFFRE_ERR_PARSE, "", "duplicate key");
    bad_rc("}}", "}", COFFRE_ERR_PARSE, "", "malformed JSON");
    bad_rc("{\"source_key\"", "[{\"source_key\"", COFFRE_ERR_PARSE, "",
           "malformed JSON");
    CHECK_RC(coffre_person_from_json("[]", 2, &p, &d), COFFRE_ERR_INVALID);
    CHECK_RC(coffre_person_from_json("{", 1, &p, &d), COFFRE_ERR_PARSE);
    CHECK(p == NULL);
    CHECK_RC(coffre_person_from_json(big, COFFRE_MAX_JSON + 1, &p, &d),
             COFFRE_ERR_TOOBIG);
    CHECK(strlen(d.rule) > 0 && d.line == 0);
}

/* Diagnostics never carry the value that failed. */
static void
test_diag_no_value(void)
{
    struct coffre_diag d;

    CHECK_RC(parse(mk("\"1996-02-29\"", "\"SECRET-DATE\""), &d),
             COFFRE_ERR_INVALID);
    CHECK(strstr(d.rule, "SECRET") == NULL &&
          strstr(d.field, "SECRET") == NULL);
    CHECK_RC(parse(mk("}}", "SECRETVALUE}"), &d), COFFRE_ERR_PARSE);
    CHECK(strstr(d.rule, "SECRET") == NULL);
}

static void
test_to_json(void)
{
    struct coffre_person *p = NULL;
    struct coffre_diag d;
    char *j = NULL;

    CHECK_RC(coffre_person_from_json(BASE, strlen(BASE), &p, &d), COFFRE_OK);
    CHECK_RC(coffre_person_to_json(p, COFFRE_CLASSES_ALL, &j), COFFRE_OK);
    CHECK(j != NULL && strcmp(j, BASE) == 0);
    coffre_free(j);
    CHECK_RC(
        coffre_person_to_json(p, COFFRE_CLASS_BIT(COFFRE_CLASS_IDENTITY), &j),
        COFFRE_OK);
    CHECK(strncmp(j, "{\"identity\":{\"surname\"", 22) == 0 &&
          strstr(j, "source_key") == NULL && strstr(j, "contact") == NULL);
    coffre_free(j);
    coffre_person_clear_class(p, COFFRE_CLASS_CONTACT);
    CHECK_RC(
        coffre_person_to_json(p, COFFRE_CLASS_BIT(COFFRE_CLASS_CONTACT), &j),
        COFFRE_OK);
    CHECK(strcmp(j, "{}") == 0);
    coffre_free(j);
    coffre_person_free(p);
}

static struct coffre_person *
base_person(void)
{
    struct coffre_person *p = NULL;
    struct coffre_diag d;

    CHECK_RC(coffre_person_from_json(BASE, strlen(BASE), &p, &d), COFFRE_OK);
    return p;
}

static char *
json_class(const struct coffre_person *p, int c)
{
    char *j = NULL;

    coffre_person_to_json(p, COFFRE_CLASS_BIT(c), &j);
    return j;
}

static void
test_tlv_round_trip(void)
{
    struct coffre_person *p = base_person(), *q = coffre_person_new();
    struct coffre_buf b;

    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        coffre_buf_init(&b, 1u << 20);
        CHECK_RC(coffre_person_encode_class(p, c, &b), COFFRE_OK);
        CHECK(b.len > 1 && b.p[0] == 1);
        CHECK_RC(coffre_person_decode_class(q, c, b.p, b.len), COFFRE_OK);
        char *a = json_class(p, c), *z = json_class(q, c);
        CHECK(a != NULL && z != NULL && strcmp(a, z) == 0);
        coffre_free(a);
        coffre_free(z);
        coffre_buf_free(&b);
    }
    CHECK(coffre_person_classes(q) == COFFRE_CLASSES_ALL);
    coffre_person_free(p);
    coffre_person_free(q);
}

static int
decode(int cls, const unsigned char *in, size_t n)
{
    struct coffre_person *q = coffre_person_new();
    int rc = coffre_person_decode_class(q, cls, in, n);

    CHECK(rc == COFFRE_OK || coffre_person_classes(q) == 0);
    coffre_person_free(q);
    return rc;
}

static void
test_tlv_corrupt(void)
{
    struct coffre_person *p = base_person();
    struct coffre_buf b;
    unsigned char m[4096];
    const int V = COFFRE_CLASS_VETTING;

    coffre_buf_init(&b, 1u << 20);
    coffre_person_encode_class(p, V, &b);
    /* every truncation fails */
    for (size_t n = 0; n < b.len; n++) {
        if (decode(V, b.p, n) == COFFRE_OK) {
            /* only the cut right after a whole optional field may pass */
            CHECK(n > 1);
        }
    }
    CHECK_RC(decode(V, b.p, 1), COFFRE_ERR_PARSE); /* no status */
    CHECK_RC(decode(V, b.p, b.len - 1), COFFRE_ERR_PARSE);
    memcpy(m, b.p, b.len);
    m[0] = 2; /* version */
    CHECK_RC(decode(V, m, b.len), COFFRE_ERR_PARSE);
    memcpy(m, b.p, b.len);
    m[1] = 9; /* unknown tag */
    CHECK_RC(decode(V, m, b.len), COFFRE_ERR_PARSE);
    /* duplicate tag: the status twice */
    memcpy(m, b.p, b.len);
    memcpy(m + b.len, b.p + 1, 2 + b.p[2]);
    CHECK_RC(decode(V, m, b.len + 2 + b.p[2]), COFFRE_ERR_PARSE);
    /* a length over the cap of the field (decided_by, 128) */
    {
        unsigned char o[300] = {1,   1,   7,   'p', 'e',  'n', 'd',
                                'i', 'n', 'g', 3,   0x81, 0x01};
        memset(o + 13, 'a', 129);
        CHECK_RC(decode(V, o, 13 + 129), COFFRE_ERR_PARSE);
        o[11] = 0x80;
        o[12] = 0x01; /* exactly 128 */
        CHECK_RC(decode(V, o, 13 + 128), COFFRE_OK);
        o[11] = 0x80;
        o[12] = 0x81; /* non-minimal / runaway varint */
        CHECK_RC(decode(V, o, 13 + 128), COFFRE_ERR_PARSE);
        o[11] = 0x80;
        o[12] = 0x00; /* non-minimal encoding of 0 */
        CHECK_RC(decode(V, o, 13), COFFRE_ERR_PARSE);
    }
    /* decodes but fails validation: status "ok" */
    {
        const unsigned char o[] = {1, 1, 2, 'o', 'k'};
        CHECK_RC(decode(V, o, sizeof(o)), COFFRE_ERR_PARSE);
    }
    /* a list over its cap: five nationalities */
    {
        unsigned char o[64] = {1};
        size_t n = 1;
        const char *nat[] = {"FRA", "DEU", "ITA", "ESP", "BEL"};
        for (int i = 0; i < 5; i++) {
            o[n++] = 7, o[n++] = 3;
            memcpy(o + n, nat[i], 3);
            n += 3;
        }
        CHECK_RC(decode(COFFRE_CLASS_IDENTITY, o, n), COFFRE_ERR_PARSE);
    }
    /* protected byte other than 0/1 */
    coffre_buf_reset(&b);
    coffre_person_encode_class(p, COFFRE_CLASS_PUBLIC, &b);
    for (size_t i = 1; i + 2 < b.len; i++) {
        if (b.p[i] == 10 && b.p[i + 1] == 1 && b.p[i + 2] <= 1) {
            memcpy(m, b.p, b.len);
            m[i + 2] = 2;
            CHECK_RC(decode(COFFRE_CLASS_PUBLIC, m, b.len), COFFRE_ERR_PARSE);
            break;
        }
    }
    coffre_buf_free(&b);
    coffre_person_free(p);
}

static void
test_merge_clear(void)
{
    struct coffre_person *p = base_person(), *q = coffre_person_new();
    struct coffre_diag d;
    char *a, *z;

    CHECK_RC(coffre_person_merge(q, p), COFFRE_OK);
    a = json_class(p, 0);
    z = json_class(q, 0);
    CHECK(strcmp(a, z) == 0);
    coffre_free(a);
    coffre_free(z);
    CHECK_RC(coffre_person_validate_new(q, &d), COFFRE_OK);
    coffre_person_clear_class(q, COFFRE_CLASS_IDENTITY);
    CHECK(q->surname == NULL && q->nationalities.n == 0);
    CHECK(!(coffre_person_classes(q) & COFFRE_CLASS_BIT(1)));
    coffre_person_clear_class(q, COFFRE_CLASS_PUBLIC);
    CHECK(q->is_protected == 0 && q->source_key == NULL);
    coffre_person_free(p);
    coffre_person_free(q);
    coffre_person_free(NULL);
}

static void
test_wiping(void)
{
    size_t v0;
    struct coffre_person *p;
    struct coffre_buf b;

    check_secmem_watch();
    v0 = check_secmem_violations();
    p = base_person();
    coffre_buf_init(&b, 1u << 20);
    coffre_person_encode_class(p, COFFRE_CLASS_IDENTITY, &b);
    coffre_buf_free(&b);
    coffre_person_free(p);
    CHECK(check_secmem_released() > 0);
    CHECK(check_secmem_violations() == v0);
}

static void
test_names(void)
{
    CHECK(coffre_format_parse("csv") == COFFRE_FORMAT_CSV);
    CHECK(coffre_format_parse("jsonl") == COFFRE_FORMAT_JSONL);
    CHECK(coffre_format_parse("xml") == -1);
    size_t n = 0;
    while (coffre_record_categories[n] != NULL) {
        n++;
    }
    CHECK(n == 13);
}

int
main(void)
{
    coffre_lib_init();
    RUN(test_base_valid);
    RUN(test_text_rules);
    RUN(test_utf8_rules);
    RUN(test_date_rules);
    RUN(test_country_rules);
    RUN(test_enum_rules);
    RUN(test_code_rules);
    RUN(test_contact_rules);
    RUN(test_document_rules);
    RUN(test_photo_rules);
    RUN(test_required);
    RUN(test_json_shape);
    RUN(test_diag_no_value);
    RUN(test_to_json);
    RUN(test_tlv_round_trip);
    RUN(test_tlv_corrupt);
    RUN(test_merge_clear);
    RUN(test_wiping);
    RUN(test_names);
    return check_done();
}
