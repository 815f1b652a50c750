/*
 * Approvals (too few, expired, reused, wrong scope, unknown, one
 * approver twice), their persistence across a reopen, their MAC, the cap
 * on kept approvals and on one requester's pending ones; erasure
 * receipts that verify and fail when altered; the retention period.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "coffre/approval.h"
#include "coffre/audit.h"
#include "coffre/migrate.h"
#include "vault/vault.h"

#define T0 1700000000

static const char person[] =
    "{\"public\":{\"category\":\"media\",\"organisation\":\"AFP\","
    "\"valid_from\":\"2020-01-01\",\"valid_until\":\"2020-01-15\"},"
    "\"identity\":{\"surname\":\"Martin\",\"given_names\":\"Paul\","
    "\"sex\":\"M\",\"birth_date\":\"1990-02-03\",\"birth_place\":\"Lyon\","
    "\"birth_country\":\"FRA\",\"nationalities\":[\"FRA\"]}}";

static char data_dir[512], share_dir[600];

static struct coffre_vault *
new_vault(const char *name)
{
    struct coffre_init_opts io = {3, 2, share_dir, NULL};
    struct coffre_vault *v = NULL;
    snprintf(data_dir, sizeof(data_dir), "%s/%s", check_tmpdir(), name);
    snprintf(share_dir, sizeof(share_dir), "%s-shares", data_dir);
    CHECK_RC(coffre_vault_init(data_dir, &io, &v), COFFRE_OK);
    return v;
}

static void
unseal(struct coffre_vault *v)
{
    for (unsigned k = 1; k <= 2; k++) {
        char path[700], buf[4096];
        snprintf(path, sizeof(path), "%s/share-%u.txt", share_dir, k);
        FILE *f = fopen(path, "rb");
        size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        buf[n] = '\0';
        if (f != NULL) {
            fclose(f);
        }
        CHECK_RC(coffre_vault_unseal(v, buf, NULL, NULL), COFFRE_OK);
    }
}

static void
test_grant_and_use_once(void)
{
    struct coffre_vault *v = new_vault("once");
    struct coffre_approval a, b;
    int why = -1;
    CHECK_RC(coffre_vault_approval_request(v, "epoch_destroy", "240", "office",
                                           2, 900, 0, T0, &a),
             COFFRE_OK);
    CHECK(strlen(a.id) == COFFRE_APPROVAL_ID_LEN);
    CHECK(a.expires == T0 + 900 && a.need == 2 && a.napprovers == 0);
    CHECK(coffre_approval_state(&a, T0) == COFFRE_APPROVAL_PENDING);
    /* too few: none, then one */
    CHECK_RC(coffre_vault_approval_consume(v, a.id, "epoch_destroy", "240",
                                           "office", T0 + 1, &b, &why),
             COFFRE_ERR_DENIED);
    CHECK(why == COFFRE_APPROVAL_WHY_TOO_FEW);
    CHECK_RC(coffre_vault_approval_approve(v, a.id, "c1", T0 + 2, &b),
             COFFRE_OK);
    CHECK_RC(coffre_vault_approval_approve(v, a.id, "c1", T0 + 3, &b),
             COFFRE_ERR_EXISTS);
    CHECK(b.napprovers == 1);
    CHECK_RC(coffre_vault_approval_consume(v, a.id, "epoch_destroy", "240",
                                           "office", T0 + 4, NULL, &why),
             COFFRE_ERR_DENIED);
    CHECK(why == COFFRE_APPROVAL_WHY_TOO_FEW);
    CHECK_RC(coffre_vault_approval_approve(v, a.id, "c2", T0 + 5, &b),
             COFFRE_OK);
    CHECK(coffre_approval_state(&b, T0 + 5) == COFFRE_APPROVAL_GRANTED);
    /* wrong scope, wrong operation: refused, and not used up */
    CHECK_RC(coffre_vault_approval_consume(v, a.id, "epoch_destroy", "241",
                                           "office", T0 + 6, NULL, &why),
             COFFRE_ERR_DENIED);
    CHECK(why == COFFRE_APPROVAL_WHY_WRONG_SCOPE);
    CHECK_RC(coffre_vault_approval_consume(v, a.id, "bulk_export", "240",
                                           "office", T0 + 6, NULL, &why),
             COFFRE_ERR_DENIED);
    CHECK(why == COFFRE_APPROVAL_WHY_WRONG_SCOPE);
    CHECK_RC(coffre_vault_approval_consume(v, a.id, "epoch_destroy", "240",
                                           "office", T0 + 7, &b, &why),
             COFFRE_OK);
    CHECK(why == COFFRE_APPROVAL_WHY_NONE && b.used_at == T0 + 7);
    CHECK(strcmp(b.used_by, "office") == 0);
    /* reused */
    CHECK_RC(coffre_vault_approval_consume(v, a.id, "epoch_destroy", "240",
                                           "office", T0 + 8, NULL, &why),
             COFFRE_ERR_DENIED);
    CHECK(why == COFFRE_APPROVAL_WHY_USED);
    CHECK_RC(coffre_vault_approval_approve(v, a.id, "c3", T0 + 9, &b),
             COFFRE_ERR_STATE);
    /* unknown */
    CHECK_RC(coffre_vault_approval_consume(v, "nope", "epoch_destroy", "240",
                                           "office", T0, NULL, &why),
             COFFRE_ERR_DENIED);
    CHECK(why == COFFRE_APPROVAL_WHY_UNKNOWN);
    CHECK_RC(coffre_vault_approval_get(v, "nope", &b), COFFRE_ERR_NOTFOUND);
    coffre_vault_close(v);
}

static void
test_expired(void)
{
    struct coffre_vault *v = new_vault("expired");
    struct coffre_approval a, b;
    int why = -1;
    CHECK_RC(coffre_vault_approval_request(v, "bulk_read", "gate:500", "gate",
                                           2, 10, 0, T0, &a),
             COFFRE_OK);
    CHECK_RC(coffre_vault_approval_approve(v, a.id, "c1", T0 + 1, &b),
             COFFRE_OK);
    CHECK_RC(coffre_vault_approval_approve(v, a.id, "c2", T0 + 2, &b),
             COFFRE_OK);
    CHECK(coffre_approval_state(&b, T0 + 9) == COFFRE_APPROVAL_GRANTED);
    CHECK(coffre_approval_state(&b, T0 + 10) == COFFRE_APPROVAL_EXPIRED);
    CHECK_RC(coffre_vault_approval_consume(v, a.id, "bulk_read", "gate:500",
                                           "gate", T0 + 10, NULL, &why),
             COFFRE_ERR_DENIED);
    CHECK(why == COFFRE_APPROVAL_WHY_EXPIRED);
    CHECK_RC(coffre_vault_approval_approve(v, a.id, "c3", T0 + 11, &b),
             COFFRE_ERR_STATE);
    CHECK_RC(coffre_vault_approval_request(v, "bulk_read", "x", "gate", 0, 10,
                                           0, T0, &a),
             COFFRE_ERR_ARG);
    CHECK_RC(coffre_vault_approval_request(v, "bulk read", "x", "gate", 2, 10,
                                           0, T0, &a),
             COFFRE_ERR_ARG);
    CHECK_RC(coffre_vault_approval_request(v, "bulk_read", "a\nb", "gate", 2,
                                           10, 0, T0, &a),
             COFFRE_ERR_ARG);
    coffre_vault_close(v);
}

/* A restart neither loses an approval nor makes a used one usable. */
static void
test_persists(void)
{
    struct coffre_vault *v = new_vault("persist");
    struct coffre_approval a, b, list[COFFRE_APPROVAL_KEEP];
    size_t n = 0;
    int why;
    CHECK_RC(coffre_vault_approval_request(v, "policy_change", "abc", "admin",
                                           1, 900, 0, T0, &a),
             COFFRE_OK);
    CHECK_RC(coffre_vault_approval_approve(v, a.id, "c1", T0, &b), COFFRE_OK);
    coffre_vault_close(v);
    v = NULL;
    CHECK_RC(coffre_vault_open(data_dir, &v), COFFRE_OK);
    CHECK_RC(coffre_vault_approval_get(v, a.id, &b), COFFRE_ERR_SEALED);
    unseal(v);
    CHECK_RC(coffre_vault_approval_get(v, a.id, &b), COFFRE_OK);
    CHECK(b.napprovers == 1 && strcmp(b.approvers[0], "c1") == 0);
    CHECK_RC(coffre_vault_approval_consume(v, a.id, "policy_change", "abc",
                                           "admin", T0 + 1, NULL, &why),
             COFFRE_OK);
    coffre_vault_close(v);
    v = NULL;
    CHECK_RC(coffre_vault_open(data_dir, &v), COFFRE_OK);
    unseal(v);
    CHECK_RC(coffre_vault_approval_consume(v, a.id, "policy_change", "abc",
                                           "admin", T0 + 2, NULL, &why),
             COFFRE_ERR_DENIED);
    CHECK(why == COFFRE_APPROVAL_WHY_USED);
    CHECK_RC(coffre_vault_approval_list(v, list, COFFRE_APPROVAL_KEEP, &n),
             COFFRE_OK);
    CHECK(n == 1 && strcmp(list[0].id, a.id) == 0);
    coffre_vault_close(v);
}

/* A value written into the store without the vault's key counts for
 * nothing. */
static void
test_tampered_store(void)
{
    struct coffre_vault *v = new_vault("tamper");
    struct coffre_approval a, b;
    struct coffre_buf buf;
    CHECK_RC(coffre_vault_approval_request(v, "bulk_export", "all", "office", 2,
                                           900, 0, T0, &a),
             COFFRE_OK);
    coffre_buf_init(&buf, COFFRE_STORE_META_MAX);
    CHECK_RC(v->store->ops->meta_get(v->store, "approvals", &buf), COFFRE_OK);
    /* grant it by hand: change "need":2 to "need":1 */
    char *p = strstr((char *)buf.p + 32, "\"need\":2");
    CHECK(p != NULL);
    if (p != NULL) {
        p[7] = '1';
    }
    CHECK_RC(v->store->ops->meta_put(v->store, "approvals", buf.p, buf.len),
             COFFRE_OK);
    coffre_buf_free(&buf);
    CHECK_RC(coffre_vault_approval_get(v, a.id, &b), COFFRE_ERR_CRYPTO);
    coffre_vault_close(v);
}

static void
test_keep_cap(void)
{
    struct coffre_vault *v = new_vault("cap");
    struct coffre_approval a, first;
    for (int i = 0; i < COFFRE_APPROVAL_KEEP; i++) {
        CHECK_RC(coffre_vault_approval_request(v, "bulk_export", "all", "o", 2,
                                               10 + i, 0, T0, &a),
                 COFFRE_OK);
        if (i == 0) {
            first = a;
        }
    }
    CHECK_RC(coffre_vault_approval_request(v, "bulk_export", "all", "o", 2, 10,
                                           0, T0, &a),
             COFFRE_ERR_LIMIT);
    /* once the first expired, it makes room */
    CHECK_RC(coffre_vault_approval_request(v, "bulk_export", "all", "o", 2, 10,
                                           0, T0 + 10, &a),
             COFFRE_OK);
    CHECK_RC(coffre_vault_approval_get(v, first.id, &a), COFFRE_ERR_NOTFOUND);
    coffre_vault_close(v);
}

/* One requester, at most pending_max pending: refused before the list is
 * touched, while the others still ask; a granted or expired request is
 * no longer pending. */
static void
test_pending_cap(void)
{
    struct coffre_vault *v = new_vault("pending");
    struct coffre_approval a, g[3];
    for (int i = 0; i < 3; i++) {
        CHECK_RC(coffre_vault_approval_request(v, "bulk_read", "gate:1", "gate",
                                               2, 10 + i, 3, T0, &g[i]),
                 COFFRE_OK);
    }
    CHECK_RC(coffre_vault_approval_request(v, "bulk_read", "gate:1", "gate", 2,
                                           10, 3, T0, &a),
             COFFRE_ERR_DENIED);
    CHECK_RC(coffre_vault_approval_request(v, "epoch_destroy", "240", "office",
                                           2, 10, 3, T0, &a),
             COFFRE_OK);
    /* 0: no cap of the requester's own */
    CHECK_RC(coffre_vault_approval_request(v, "bulk_read", "gate:1", "gate", 2,
                                           10, 0, T0, &a),
             COFFRE_OK);
    size_t n = 0;
    struct coffre_approval all[8];
    CHECK_RC(coffre_vault_approval_list(v, all, 8, &n), COFFRE_OK);
    CHECK(n == 5);
    /* 4 of the gate's pending now; one granted, 3: one more fits under
     * a cap of 4 */
    CHECK_RC(coffre_vault_approval_approve(v, g[0].id, "c1", T0, &a),
             COFFRE_OK);
    CHECK_RC(coffre_vault_approval_approve(v, g[0].id, "c2", T0, &a),
             COFFRE_OK);
    CHECK_RC(coffre_vault_approval_request(v, "bulk_read", "gate:1", "gate", 2,
                                           10, 4, T0, &a),
             COFFRE_OK);
    CHECK_RC(coffre_vault_approval_request(v, "bulk_read", "gate:1", "gate", 2,
                                           10, 4, T0, &a),
             COFFRE_ERR_DENIED);
    /* expired: no longer pending either (at T0 + 11 only g[2] is) */
    CHECK_RC(coffre_vault_approval_request(v, "bulk_read", "gate:1", "gate", 2,
                                           10, 4, T0 + 11, &a),
             COFFRE_OK);
    coffre_vault_close(v);
}

static void
test_receipts(void)
{
    struct coffre_vault *v = new_vault("receipts");
    const char *ps[] = {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                        "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"};
    const char *aps[] = {"approval-one"};
    struct coffre_erasure e = {"custodian", "retention", "office", T0,
                               ps,          2,           aps,      1};
    char id[COFFRE_RECEIPT_ID_LEN + 1], *rec = NULL, *again = NULL;
    char *vkey = NULL, *text = NULL;
    CHECK_RC(coffre_vault_erasure_receipt(v, &e, id, &rec), COFFRE_OK);
    CHECK(strlen(id) == COFFRE_RECEIPT_ID_LEN);
    CHECK_RC(coffre_vault_receipt_key(v, &vkey), COFFRE_OK);
    CHECK_RC(coffre_receipt_verify(vkey, rec, strlen(rec), &text), COFFRE_OK);
    CHECK(text != NULL && strstr(text, "coffre erasure receipt v1\n") == text);
    CHECK(text != NULL && strstr(text, "\ncount 2\nby custodian\n"
                                       "reason retention\naudience office\n"
                                       "approvals approval-one\npseudonym "
                                       "AAAA") != NULL);
    coffre_free(text);
    text = NULL;
    CHECK_RC(coffre_vault_receipt_get(v, id, &again), COFFRE_OK);
    CHECK(again != NULL && strcmp(again, rec) == 0);
    /* one byte altered: the pseudonym list */
    char *p = strstr(rec, "BBBB");
    if (p != NULL) {
        p[0] = 'C';
    }
    CHECK(coffre_receipt_verify(vkey, rec, strlen(rec), &text) != COFFRE_OK);
    CHECK(text == NULL);
    CHECK_RC(coffre_vault_receipt_get(v, "x", &text), COFFRE_ERR_NOTFOUND);
    CHECK_RC(coffre_vault_receipt_get(
                 v, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &text),
             COFFRE_ERR_NOTFOUND);
    /* a newline in a value would forge a line */
    e.by = "custodian\napprovals forged";
    CHECK_RC(coffre_vault_erasure_receipt(v, &e, id, &text), COFFRE_ERR_ARG);
    e.by = "custodian";
    e.approvals = NULL;
    e.napprovals = 0;
    e.npseudonyms = 0;
    CHECK_RC(coffre_vault_erasure_receipt(v, &e, id, &text), COFFRE_OK);
    CHECK(text != NULL && strstr(text, "\napprovals none\n") != NULL);
    coffre_free(text);
    coffre_free(rec);
    coffre_free(again);
    coffre_free(vkey);
    coffre_vault_close(v);
}

static void
test_retention_period(void)
{
    struct coffre_vault *v = new_vault("retention");
    struct coffre_person *p = NULL;
    uint64_t id1 = 0, id2 = 0, ids[8];
    size_t n = 0;
    int64_t now = 1700000000; /* 2023: long after 2020-01-15 */
    /* Writes are audited: the vault's own log. */
    const struct coffre_actor actor = {NULL, "test", NULL, NULL};
    struct coffre_audit *a = NULL;
    char dir[700];
    snprintf(dir, sizeof(dir), "%s/audit", data_dir);
    CHECK_RC(coffre_audit_open(v, dir, NULL, &a), COFFRE_OK);
    CHECK_RC(coffre_audit_attach(a, v, &actor), COFFRE_OK);
    CHECK_RC(coffre_person_from_json(person, strlen(person), &p, NULL),
             COFFRE_OK);
    CHECK_RC(coffre_vault_put(v, p, &id1), COFFRE_OK); /* 365 days */
    coffre_vault_set_retention(v, 0);
    CHECK_RC(coffre_vault_put(v, p, &id2), COFFRE_OK);
    coffre_vault_set_retention(v, 10L * 365 * 86400);
    CHECK_RC(coffre_vault_due(v, COFFRE_DUE_RETENTION,
                              1579132800 /* 2020-01-16 */, ids, 8, &n),
             COFFRE_OK);
    CHECK(n == 1 && ids[0] == id2);
    CHECK_RC(coffre_vault_due(v, COFFRE_DUE_RETENTION, now, ids, 8, &n),
             COFFRE_OK);
    CHECK(n == 2);
    coffre_person_free(p);
    coffre_audit_close(a);
    coffre_vault_close(v);
}

/* The policy pin: first use only once, a change only with a granted
 * policy_change approval of that digest, consumed in the same
 * transaction; a pin written without the vault's key counts for nothing. */
static void
test_policy_pin(void)
{
    struct coffre_vault *v = new_vault("pin");
    struct coffre_approval a, b;
    unsigned char d0[32], d1[32], got[32];
    char hex[65];
    int present = -1, why = -1;
    memset(d0, 0xa0, sizeof(d0));
    memset(d1, 0xb1, sizeof(d1));
    CHECK_RC(coffre_vault_policy_get(v, got, &present), COFFRE_OK);
    CHECK(present == 0);
    CHECK_RC(coffre_vault_policy_pin(v, d0), COFFRE_OK);
    CHECK_RC(coffre_vault_policy_pin(v, d1), COFFRE_ERR_EXISTS);
    CHECK_RC(coffre_vault_policy_get(v, got, &present), COFFRE_OK);
    CHECK(present == 1 && memcmp(got, d0, 32) == 0);
    sodium_bin2hex(hex, sizeof(hex), d1, 32);
    CHECK_RC(coffre_vault_approval_request(v, "policy_change", hex, "admin", 2,
                                           900, 0, T0, &a),
             COFFRE_OK);
    CHECK_RC(coffre_vault_approval_approve(v, a.id, "c1", T0, &b), COFFRE_OK);
    CHECK_RC(coffre_vault_policy_change(v, d1, a.id, "c1", T0, NULL, &why),
             COFFRE_ERR_DENIED);
    CHECK(why == COFFRE_APPROVAL_WHY_TOO_FEW);
    CHECK_RC(coffre_vault_approval_approve(v, a.id, "c2", T0, &b), COFFRE_OK);
    /* granted, but for d1: another digest is the wrong scope */
    CHECK_RC(coffre_vault_policy_change(v, d0, a.id, "c1", T0, NULL, &why),
             COFFRE_ERR_DENIED);
    CHECK(why == COFFRE_APPROVAL_WHY_WRONG_SCOPE);
    CHECK_RC(coffre_vault_policy_get(v, got, &present), COFFRE_OK);
    CHECK(memcmp(got, d0, 32) == 0);
    CHECK_RC(coffre_vault_policy_change(v, d1, a.id, "c1", T0 + 1, &b, &why),
             COFFRE_OK);
    CHECK(b.used_at == T0 + 1);
    CHECK_RC(coffre_vault_policy_get(v, got, &present), COFFRE_OK);
    CHECK(present == 1 && memcmp(got, d1, 32) == 0);
    CHECK_RC(coffre_vault_policy_change(v, d1, a.id, "c1", T0 + 2, NULL, &why),
             COFFRE_ERR_DENIED);
    CHECK(why == COFFRE_APPROVAL_WHY_USED);
    /* a pin written straight into the store */
    unsigned char forged[64];
    memset(forged, 0, sizeof(forged));
    memcpy(forged + 32, d0, 32);
    CHECK_RC(v->store->ops->meta_put(v->store, "policy", forged, 64),
             COFFRE_OK);
    CHECK_RC(coffre_vault_policy_get(v, got, &present), COFFRE_ERR_CRYPTO);
    CHECK(present == 0);
    coffre_vault_seal(v);
    CHECK_RC(coffre_vault_policy_get(v, got, &present), COFFRE_ERR_SEALED);
    coffre_vault_close(v);
}

int
main(void)
{
    if (coffre_lib_init() != COFFRE_OK) {
        return 1;
    }
    RUN(test_grant_and_use_once);
    RUN(test_expired);
    RUN(test_persists);
    RUN(test_tampered_store);
    RUN(test_keep_cap);
    RUN(test_pending_cap);
    RUN(test_receipts);
    RUN(test_retention_period);
    RUN(test_policy_pin);
    return check_done();
}
