/* Unit tests of src/server/guard.c and guard_config.c on a fake clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "guard.h"

static double fake_t = 1000.0;

static double
fake_now(void)
{
    return fake_t;
}

static struct srv_principal principals[3];
static struct srv_config cfg;
static struct guard_config gc;

/* office (threshold 10, window 60 s, 5 req/s burst 5, 15 persons a day),
 * gate, admin. */
static struct guard *
setup(const char *state)
{
    memset(&cfg, 0, sizeof(cfg));
    memset(principals, 0, sizeof(principals));
    snprintf(principals[0].name, sizeof(principals[0].name), "office");
    principals[0].role = SRV_ROLE_OFFICE;
    snprintf(principals[1].name, sizeof(principals[1].name), "gate");
    principals[1].role = SRV_ROLE_GATE;
    snprintf(principals[2].name, sizeof(principals[2].name), "admin");
    principals[2].role = SRV_ROLE_ADMIN;
    principals[2].has_fingerprint = 1;
    memset(principals[2].fingerprint, 0xab, 32);
    cfg.principals = principals;
    cfg.nprincipals = 3;
    guard_config_defaults(&gc);
    gc.role[SRV_ROLE_OFFICE] = (struct guard_limits){5, 5, 0, 15, 60, 10, 40};
    if (state != NULL) {
        snprintf(gc.state_file, sizeof(gc.state_file), "%s", state);
    }
    struct guard *g = NULL;
    CHECK_RC(guard_new(&cfg, &gc, &g), COFFRE_OK);
    CHECK(g != NULL);
    guard_set_clock(g, fake_now);
    return g;
}

/* One read of persons [from, from + n) with personal data. */
static unsigned
read_persons(struct guard *g, int who, uint64_t from, size_t n, int personal)
{
    struct srv_resp r;
    memset(&r, 0, sizeof(r));
    r.status = 200;
    r.body = strdup("{\"secret\":1}");
    for (size_t i = 0; i < n; i++) {
        guard_disclose(&r, from + i);
    }
    r.disclosed_personal = personal;
    guard_observe(g, &principals[who], &r);
    unsigned st = r.status;
    if (st != 200) {
        CHECK(r.body != NULL && strstr(r.body, "secret") == NULL);
    }
    srv_resp_free(&r);
    return st;
}

static unsigned
admit(struct guard *g, int who, unsigned *pretry)
{
    struct srv_resp r;
    memset(&r, 0, sizeof(r));
    int go = guard_admit(g, &principals[who], 0, &r);
    unsigned st = go ? 0 : r.status;
    if (pretry != NULL) {
        *pretry = r.retry_after;
    }
    srv_resp_free(&r);
    return st;
}

static void
test_rate(void)
{
    struct guard *g = setup(NULL);
    unsigned retry = 0;
    for (int i = 0; i < 5; i++) {
        CHECK(admit(g, 0, NULL) == 0);
    }
    CHECK(admit(g, 0, &retry) == 429);
    CHECK(retry == 1);
    fake_t += 0.2; /* one token at 5/s */
    CHECK(admit(g, 0, NULL) == 0);
    CHECK(admit(g, 0, NULL) == 429);
    CHECK(admit(g, 1, NULL) == 0); /* per principal */
    guard_free(g);
}

static void
test_bulk_threshold(void)
{
    struct guard *g = setup(NULL);
    CHECK(read_persons(g, 0, 1, 6, 1) == 200);
    CHECK(read_persons(g, 0, 1, 6, 1) == 200); /* the same: not distinct */
    CHECK(read_persons(g, 0, 7, 4, 1) == 200); /* 10: at the threshold */
    CHECK(!guard_suspended(g, "office"));
    CHECK(read_persons(g, 0, 11, 1, 1) == 403); /* the 11th never leaves */
    CHECK(guard_suspended(g, "office"));
    CHECK(admit(g, 0, NULL) == 403);
    CHECK(read_persons(g, 0, 1, 1, 1) == 403);
    CHECK(!guard_suspended(g, "gate"));
    guard_free(g);
}

static void
test_window_slides(void)
{
    struct guard *g = setup(NULL);
    CHECK(read_persons(g, 0, 1, 10, 1) == 200);
    fake_t += 61; /* the window is 60 s: all expired */
    CHECK(read_persons(g, 0, 100, 5, 1) == 200);
    CHECK(!guard_suspended(g, "office"));
    CHECK(read_persons(g, 0, 200, 6, 1) == 403); /* 5 + 6 > 10 */
    guard_free(g);
}

static void
test_list_threshold(void)
{
    struct guard *g = setup(NULL);
    /* Public-only listing counts in the list window (40), not the bulk. */
    CHECK(read_persons(g, 0, 1, 40, 0) == 200);
    CHECK(read_persons(g, 0, 41, 1, 0) == 403);
    json_t *st = guard_status(g);
    CHECK(json_is_true(json_object_get(
        json_array_get(json_object_get(st, "principals"), 0), "suspended")));
    CHECK(json_array_size(json_object_get(st, "alerts")) == 1);
    json_decref(st);
    guard_free(g);
}

static void
test_day_quota(void)
{
    struct guard *g = setup(NULL);
    /* A slow spreader: 8 persons a minute stays under the threshold of 10,
     * the day quota of 15 stops it with 429, not a suspension. */
    CHECK(read_persons(g, 0, 1, 8, 1) == 200);
    fake_t += 61;
    CHECK(read_persons(g, 0, 100, 7, 1) == 200);
    fake_t += 61;
    CHECK(read_persons(g, 0, 200, 1, 1) == 429);
    CHECK(!guard_suspended(g, "office"));
    guard_free(g);
}

static void
test_poison(void)
{
    struct guard *g = setup(NULL);
    uint64_t ids[] = {900, 77, 5000};
    CHECK_RC(guard_set_poison(g, ids, 3), COFFRE_OK);
    CHECK(guard_is_poison(g, 77) && guard_is_poison(g, 5000));
    CHECK(!guard_is_poison(g, 78));
    CHECK(read_persons(g, 1, 70, 5, 1) == 200);
    CHECK(read_persons(g, 1, 76, 2, 0) == 403); /* 77 in a public list */
    CHECK(guard_suspended(g, "gate"));
    guard_free(g);
}

static void
test_nobody_else(void)
{
    struct guard *g = setup(NULL);
    /* The admin never reaches a person route; were one to disclose a
     * person to it, a second would suspend. */
    CHECK(read_persons(g, 2, 1, 1, 0) == 200);
    CHECK(read_persons(g, 2, 2, 1, 0) == 403);
    int found = 0;
    CHECK_RC(guard_reinstate(g, "office", &found), COFFRE_OK);
    CHECK(!found);
    char hex[65];
    for (int i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "ab");
    }
    CHECK_RC(guard_reinstate(g, hex, &found), COFFRE_OK); /* by fingerprint */
    CHECK(found && !guard_suspended(g, "admin"));
    guard_free(g);
}

static void
test_state_file(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/guard-state.json", check_tmpdir());
    unlink(path);
    struct guard *g = setup(path);
    CHECK(read_persons(g, 0, 1, 11, 1) == 403);
    guard_free(g);
    g = setup(path); /* a restart */
    CHECK(guard_suspended(g, "office"));
    int found = 0;
    CHECK_RC(guard_reinstate(g, "office", &found), COFFRE_OK);
    CHECK(found);
    CHECK(read_persons(g, 0, 1, 10, 1) == 200); /* a fresh window */
    guard_free(g);
    g = setup(path);
    CHECK(!guard_suspended(g, "office"));
    guard_free(g);
}

static int
parse(const char *text, char *err, size_t errlen)
{
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    guard_config_defaults(&gc);
    int rc = o ? guard_config_parse(&gc, o, err, errlen) : COFFRE_ERR_PARSE;
    json_decref(o);
    return rc;
}

static void
test_config(void)
{
    char err[256];
    CHECK_RC(parse("{\"roles\":{\"office\":{\"bulk_threshold\":50,"
                   "\"rate\":2.5}},\"principals\":{\"gate\":{"
                   "\"bulk_window\":10}},\"poison\":{\"count\":3,\"seed\":9},"
                   "\"alert_command\":[\"/bin/cat\"]}",
                   err, sizeof(err)),
             COFFRE_OK);
    CHECK(gc.role[SRV_ROLE_OFFICE].bulk_threshold == 50);
    CHECK(gc.role[SRV_ROLE_OFFICE].rate == 2.5);
    CHECK(gc.role[SRV_ROLE_OFFICE].persons_day == 600); /* default kept */
    CHECK(gc.poison_count == 3 && gc.poison_seed == 9 && gc.alert_argc == 1);
    principals[1].role = SRV_ROLE_GATE;
    snprintf(principals[1].name, sizeof(principals[1].name), "gate");
    struct guard_limits l = guard_limits_of(&gc, &principals[1]);
    CHECK(l.window == 10 && l.bulk_threshold == 1500);
    CHECK_RC(parse("{\"roles\":{\"office\":{\"bulk\":1}}}", err, sizeof(err)),
             COFFRE_ERR_INVALID);
    CHECK(strstr(err, "bulk") != NULL);
    CHECK_RC(parse("{\"roles\":{\"nobody\":{}}}", err, sizeof(err)),
             COFFRE_ERR_INVALID);
    CHECK_RC(
        parse("{\"roles\":{\"office\":{\"bulk_window\":0}}}", err, sizeof(err)),
        COFFRE_ERR_INVALID);
    CHECK_RC(parse("{\"alert_command\":[\"cat\"]}", err, sizeof(err)),
             COFFRE_ERR_INVALID);
    CHECK_RC(parse("{\"enabled\":1}", err, sizeof(err)), COFFRE_ERR_INVALID);
    CHECK_RC(parse("{\"poison\":{\"count\":-1}}", err, sizeof(err)),
             COFFRE_ERR_INVALID);
    CHECK(guard_poison_due(guard_config_default(), 50000, 0) == 50);
    CHECK(guard_poison_due(guard_config_default(), 10000000, 0) == 256);
    CHECK(guard_poison_due(guard_config_default(), 999, 0) == 0);
}

static void
test_window_memory(void)
{
    /* Many persons, slid out and in again: the window reuses its entries. */
    struct guard *g = setup(NULL);
    for (int round = 0; round < 50; round++) {
        CHECK(read_persons(g, 1, (uint64_t)round * 1000, 1000, 0) == 200);
        fake_t += 4000;
    }
    CHECK(!guard_suspended(g, "gate"));
    guard_free(g);
}

int
main(void)
{
    RUN(test_rate);
    RUN(test_bulk_threshold);
    RUN(test_window_slides);
    RUN(test_list_threshold);
    RUN(test_day_quota);
    RUN(test_poison);
    RUN(test_nobody_else);
    RUN(test_state_file);
    RUN(test_config);
    RUN(test_window_memory);
    return check_done();
}
