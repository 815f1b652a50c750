/*
 * Approvals are single use across processes (docs/approvals.md "Storage",
 * issue 14): three processes on one PostgreSQL database, each with its own
 * data directory (coffre_vault_join). The parent grants an approval; two
 * children race to use it at once, ROUNDS times: exactly one wins each
 * round, the other is refused as `used`. Then both plant poison records
 * at once, ROUNDS / 4 times: the vault's poison list must name every
 * record planted by a plant that succeeded (docs/guard.md), none lost to
 * the other process's write.
 *
 * usage: test_approval_race URI WORKDIR ROUNDS
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coffre/approval.h"
#include "coffre/audit.h"
#include "coffre/coffre.h"
#include "coffre/guard.h"

#define OP "retention.epoch_destroy"
#define SCOPE "epoch:7"
#define PLANT "plant"
#define PLANT_N 3

static void
die(const char *what, struct coffre_vault *v, int rc)
{
    fprintf(stderr, "FAIL: %s: %s: %s\n", what, coffre_strerror(rc),
            coffre_vault_errmsg(v));
    exit(1);
}

static char *
slurp(const char *path)
{
    static char buf[8192];
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f == NULL) {
        fprintf(stderr, "FAIL: %s\n", path);
        exit(1);
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* A vault of data directory ${dir} on the store, unsealed. */
static struct coffre_vault *
open_unsealed(const char *dir, const char *shares)
{
    struct coffre_vault *v = NULL;
    char path[PATH_MAX];
    int rc = coffre_vault_open_store(dir, NULL, &v);
    if (rc != COFFRE_OK) {
        die("open", v, rc);
    }
    for (int k = 1; k <= 3; k++) {
        snprintf(path, sizeof(path), "%s/share-%d.txt", shares, k);
        if ((rc = coffre_vault_unseal(v, slurp(path), NULL, NULL)) !=
            COFFRE_OK) {
            die("unseal", v, rc);
        }
    }
    return v;
}

/* A child: for each id on ${in}, consume it and answer 'W' or 'L'. */
static int
child(const char *dir, const char *shares, int in, int out, const char *me)
{
    struct coffre_vault *v = open_unsealed(dir, shares);
    char id[COFFRE_APPROVAL_ID_LEN + 1], log[PATH_MAX];
    const struct coffre_actor actor = {NULL, "local", NULL, "race test"};
    struct coffre_audit *a = NULL;
    int why = 0;
    /* Planting writes through the audit log: each process its own, in its
     * data directory, attached before any write (docs/storage.md 9). */
    snprintf(log, sizeof(log), "%s/audit", dir);
    int arc = coffre_audit_open(v, log, NULL, &a);
    arc = arc == COFFRE_OK ? coffre_audit_attach(a, v, &actor) : arc;
    if (arc != COFFRE_OK) {
        fprintf(stderr, "%s: audit: %s: %s\n", me, coffre_strerror(arc),
                coffre_audit_open_errmsg());
    }
    while (read(in, id, sizeof(id)) == (ssize_t)sizeof(id)) {
        id[COFFRE_APPROVAL_ID_LEN] = '\0';
        if (strcmp(id, PLANT) == 0) {
            unsigned n = 0;
            int prc = coffre_vault_poison_plant(v, 42, PLANT_N, &n);
            char c = prc == COFFRE_OK && n == PLANT_N ? 'W'
                     : prc == COFFRE_ERR_UNAVAILABLE  ? 'L'
                                                      : 'E';
            if (c == 'E') {
                fprintf(stderr, "%s: plant: %s: %s\n", me, coffre_strerror(prc),
                        coffre_vault_errmsg(v));
            }
            if (write(out, &c, 1) != 1) {
                break;
            }
            continue;
        }
        int rc = coffre_vault_approval_consume(v, id, OP, SCOPE, me,
                                               (int64_t)time(NULL), NULL, &why);
        char c = rc == COFFRE_OK ? 'W'
                 : rc == COFFRE_ERR_DENIED && why == COFFRE_APPROVAL_WHY_USED
                     ? 'L'
                     : 'E';
        if (c == 'E') {
            fprintf(stderr, "%s: consume: %s: %s\n", me, coffre_strerror(rc),
                    coffre_vault_errmsg(v));
        }
        if (write(out, &c, 1) != 1) {
            break;
        }
    }
    coffre_vault_close(v);
    coffre_audit_close(a);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc != 4 || coffre_lib_init() != COFFRE_OK) {
        fprintf(stderr, "usage: %s URI WORKDIR ROUNDS\n", argv[0]);
        return 2;
    }
    struct coffre_store_opts so = {argv[1], NULL};
    char dirs[3][PATH_MAX], shares[PATH_MAX], msg[512];
    int rounds = atoi(argv[3]), to[2][2], from[2][2], wins = 0, bad = 0;
    struct coffre_vault *v = NULL;
    snprintf(shares, sizeof(shares), "%s/shares", argv[2]);
    for (int i = 0; i < 3; i++) {
        snprintf(dirs[i], sizeof(dirs[i]), "%s/d%d", argv[2], i);
    }
    struct coffre_init_opts io = {5, 3, shares, &so};
    int rc = coffre_vault_init(dirs[0], &io, &v);
    if (rc != COFFRE_OK) {
        die("init", v, rc);
    }
    coffre_vault_close(v);
    for (int i = 1; i < 3; i++) {
        if ((rc = coffre_vault_join(dirs[i], &so, msg, sizeof(msg))) !=
            COFFRE_OK) {
            fprintf(stderr, "FAIL: join: %s\n", msg);
            return 1;
        }
    }
    v = open_unsealed(dirs[0], shares);
    /* The poison key and a first record, before the race: two processes
     * making the vault's poison key at once is namedkey_race.sh's. */
    char log[PATH_MAX + 8];
    const struct coffre_actor actor = {NULL, "local", NULL, "race test"};
    struct coffre_audit *alog = NULL;
    unsigned first = 0;
    snprintf(log, sizeof(log), "%s/audit", dirs[0]);
    rc = coffre_audit_open(v, log, NULL, &alog);
    rc = rc == COFFRE_OK ? coffre_audit_attach(alog, v, &actor) : rc;
    rc = rc == COFFRE_OK ? coffre_vault_poison_plant(v, 42, 1, &first) : rc;
    if (rc != COFFRE_OK) {
        die("first plant", v, rc);
    }
    /* One audit log in the database (docs/audit.md section 14): the
     * other directories need nothing of this one's. */
    for (int i = 0; i < 2; i++) {
        if (pipe(to[i]) != 0 || pipe(from[i]) != 0) {
            return 1;
        }
        if (fork() == 0) {
            for (int j = 0; j <= i; j++) { /* the parent's ends: EOF works */
                close(to[j][1]);
                close(from[j][0]);
            }
            _exit(child(dirs[i + 1], shares, to[i][0], from[i][1],
                        i ? "custodian-b" : "custodian-a"));
        }
        close(to[i][0]);
        close(from[i][1]);
    }
    for (int r = 0; r < rounds; r++) {
        struct coffre_approval a, granted;
        int64_t now = (int64_t)time(NULL);
        char got[2] = {0, 0};
        rc = coffre_vault_approval_request(v, OP, SCOPE, "custodian", 1, 600, 0,
                                           now, &a);
        rc = rc == COFFRE_OK ? coffre_vault_approval_approve(
                                   v, a.id, "custodian", now, &granted)
                             : rc;
        if (rc != COFFRE_OK) {
            die("grant", v, rc);
        }
        for (int i = 0; i < 2; i++) { /* both at once */
            if (write(to[i][1], a.id, sizeof(a.id)) != (ssize_t)sizeof(a.id)) {
                return 1;
            }
        }
        for (int i = 0; i < 2; i++) {
            if (read(from[i][0], &got[i], 1) != 1) {
                return 1;
            }
        }
        wins += (got[0] == 'W') + (got[1] == 'W');
        if ((got[0] == 'W') + (got[1] == 'W') != 1 || got[0] == 'E' ||
            got[1] == 'E') {
            fprintf(stderr, "round %d: %c %c\n", r, got[0], got[1]);
            bad++;
        }
    }
    int planted = (int)first, errors = 0;
    for (int r = 0; r < rounds / 4; r++) {
        char msg_id[COFFRE_APPROVAL_ID_LEN + 1] = PLANT, got[2] = {0, 0};
        for (int i = 0; i < 2; i++) {
            if (write(to[i][1], msg_id, sizeof(msg_id)) !=
                (ssize_t)sizeof(msg_id)) {
                return 1;
            }
        }
        for (int i = 0; i < 2; i++) {
            if (read(from[i][0], &got[i], 1) != 1) {
                return 1;
            }
            planted += got[i] == 'W' ? PLANT_N : 0;
            errors += got[i] == 'E';
        }
    }
    for (int i = 0; i < 2; i++) {
        close(to[i][1]);
        wait(NULL);
    }
    uint64_t ids[COFFRE_POISON_MAX];
    size_t listed = 0;
    rc = coffre_vault_poison_list(v, ids, COFFRE_POISON_MAX, &listed);
    coffre_vault_close(v);
    coffre_audit_close(alog);
    printf("%d rounds, %d uses won, %d rounds without exactly one winner\n",
           rounds, wins, bad);
    printf("%d poison records planted by successful plants, %zu in the list, "
           "%d plants failed\n",
           planted, listed, errors);
    return bad == 0 && wins == rounds && rc == COFFRE_OK && errors == 0 &&
                   planted > 0 && listed == (size_t)planted
               ? 0
               : 1;
}
