/*
 * The field policy of DESIGN section 3, in one table: role x class ->
 * none / partial / full, where partial keeps a named subset of the class's
 * JSON members. Reads decrypt only the classes a role may see, then
 * filter the JSON object form (docs/server.md, "Field policy").
 */
#include <string.h>

#include "server.h"

#define N SRV_NONE
#define P SRV_PARTIAL
#define F SRV_FULL

/* Columns: public, identity, contact, document, photo, vetting. */
static const unsigned char access_table[SRV_ROLE_COUNT][COFFRE_CLASS_COUNT] = {
    [SRV_ROLE_PLATFORM] = {F, N, N, N, N, N},
    [SRV_ROLE_OFFICE] = {F, F, F, F, F, F},
    [SRV_ROLE_VETTING] = {N, F, P, F, N, F},
    [SRV_ROLE_GATE] = {F, P, N, N, F, N},
    [SRV_ROLE_PRINTER] = {F, P, N, N, F, N},
    [SRV_ROLE_AUDITOR] = {N, N, N, N, N, N},
    [SRV_ROLE_CUSTODIAN] = {N, N, N, N, N, N},
    [SRV_ROLE_ADMIN] = {N, N, N, N, N, N},
};

#undef N
#undef P
#undef F

/* The members a partial class keeps (NULL-terminated). */
static const char *const names_only[] = {"surname", "given_names", NULL};
static const char *const address_only[] = {"address", "postal_code", "city",
                                           "country", NULL};

static const char *const *
partial_members(int role, int cls)
{
    if (cls == COFFRE_CLASS_IDENTITY &&
        (role == SRV_ROLE_GATE || role == SRV_ROLE_PRINTER)) {
        return names_only;
    }
    if (cls == COFFRE_CLASS_CONTACT && role == SRV_ROLE_VETTING) {
        return address_only;
    }
    return NULL;
}

/*
 * What the platform keeps of a protected record's public class: it
 * submitted the application and follows its state, nothing that would
 * tell who the person is or where they work (docs/server.md, "Protected
 * records").
 */
static const char *const protected_public[] = {"state", "valid_from",
                                               "valid_until", NULL};

/* The JSON member of each class (docs/formats.md). */
static const char *const class_members[COFFRE_CLASS_COUNT] = {
    "public", "identity", "contact", "document", "photo", "vetting",
};

/* Classes that name or locate a person: a protected record shows them
 * only to vetting and to office principals named in the policy. */
#define PERSONAL_CLASSES                                                       \
    (COFFRE_CLASS_BIT(COFFRE_CLASS_IDENTITY) |                                 \
     COFFRE_CLASS_BIT(COFFRE_CLASS_CONTACT) |                                  \
     COFFRE_CLASS_BIT(COFFRE_CLASS_DOCUMENT) |                                 \
     COFFRE_CLASS_BIT(COFFRE_CLASS_PHOTO))

int
srv_policy_access(int role, int cls)
{
    if (role < 0 || role >= SRV_ROLE_COUNT || cls < 0 ||
        cls >= COFFRE_CLASS_COUNT) {
        return SRV_NONE;
    }
    return access_table[role][cls];
}

unsigned
srv_policy_readable(const struct srv_principal *who, int is_protected)
{
    unsigned mask = 0;
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        if (srv_policy_access(who->role, c) != SRV_NONE) {
            mask |= COFFRE_CLASS_BIT(c);
        }
    }
    if (is_protected && who->role != SRV_ROLE_VETTING &&
        !(who->role == SRV_ROLE_OFFICE && who->protected_access)) {
        mask &= ~(unsigned)PERSONAL_CLASSES;
    }
    return mask;
}

const char *
srv_policy_state_denied(int role, int state, int awaiting_verdict)
{
    switch (role) {
    case SRV_ROLE_GATE:
        /* A gate checks holders of a valid badge, nobody else. */
        return state == COFFRE_STATE_BADGE_ISSUED
                   ? NULL
                   : "the gate reads persons in state badge_issued only";
    case SRV_ROLE_PRINTER:
        return state == COFFRE_STATE_APPROVED ||
                       state == COFFRE_STATE_BADGE_ISSUED
                   ? NULL
                   : "the printer reads approved persons only";
    case SRV_ROLE_VETTING:
        /* The check needs the file while it runs, not after. */
        return state == COFFRE_STATE_VETTING && awaiting_verdict
                   ? NULL
                   : "the vetting service reads persons awaiting its "
                     "verdict only";
    default:
        return NULL;
    }
}

int
srv_policy_listed(const struct srv_principal *who, int is_protected)
{
    /* Lists would tell the platform how many protected persons there are,
     * their organisations and functions, and which of its pseudonyms are
     * protected: it follows its own applications by pseudonym. */
    return !(is_protected && who->role == SRV_ROLE_PLATFORM);
}

unsigned
srv_policy_writable(int role, int patch)
{
    unsigned personal = PERSONAL_CLASSES;
    if (role != SRV_ROLE_PLATFORM && role != SRV_ROLE_OFFICE) {
        return 0;
    }
    /* The public class carries the lifecycle state: a patch may change its
     * other members, the state only moves through the lifecycle routes
     * (api.c enforces that). The vetting class is the vetting service's. */
    (void)patch;
    return personal | COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC);
}

static void
keep_only(json_t *obj, const char *const *keep)
{
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(obj, tmp, key, v)
    {
        int kept = 0;
        for (size_t i = 0; keep[i] != NULL; i++) {
            kept |= strcmp(key, keep[i]) == 0;
        }
        if (!kept) {
            json_object_del(obj, key);
        }
    }
}

void
srv_policy_filter(json_t *person, const struct srv_principal *who,
                  int is_protected)
{
    unsigned readable = srv_policy_readable(who, is_protected);
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        json_t *obj = json_object_get(person, class_members[c]);
        if (obj == NULL) {
            continue;
        }
        const char *const *keep = partial_members(who->role, c);
        if (!(readable & COFFRE_CLASS_BIT(c))) {
            json_object_del(person, class_members[c]);
        } else if (keep != NULL && json_is_object(obj)) {
            keep_only(obj, keep);
        }
    }
    json_t *pub = json_object_get(person, "public");
    if (is_protected && who->role == SRV_ROLE_PLATFORM && json_is_object(pub)) {
        keep_only(pub, protected_public);
    }
    /* The previous host's key would link this record across audiences;
     * the protected flag is itself sensitive. */
    if (who->role != SRV_ROLE_OFFICE) {
        json_object_del(person, "source_key");
    }
    if (who->role != SRV_ROLE_OFFICE && who->role != SRV_ROLE_VETTING) {
        json_object_del(person, "protected");
    }
}
