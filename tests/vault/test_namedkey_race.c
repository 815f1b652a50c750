/*
 * A named key is made once across processes (docs/storage.md section 9,
 * docs/keys.md): two processes on one PostgreSQL database, each with its
 * own data directory (coffre_vault_join), make the same named key at the
 * same moment, ROUNDS times (a fresh name each round: the internal
 * vault_named_key, the one place every named key is made at first use:
 * approval, poison, audit, receipt, badge, bundle, policy). Each answers
 * with a keyed fingerprint of the key it holds; both must hold the same
 * key, and it must be the one stored (the parent, a third process, loads
 * it). Before the fix both wrote their own (meta_put replaces) and one
 * process kept a key that no longer opened the other's lists.
 *
 * usage: test_namedkey_race URI WORKDIR ROUNDS
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "coffre/coffre.h"
#include "vault/vault.h"

#define FP_LEN 16

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

/* The key of name "race:${round}" as its callers get it; a fingerprint of
 * it into ${fp} (all zero on failure), never the key itself. */
static int
key_fp(struct coffre_vault *v, unsigned round, unsigned char fp[FP_LEN])
{
    static const unsigned char salt[crypto_generichash_KEYBYTES] = "race";
    struct coffre_key *k = NULL;
    char name[32];
    int rc;

    snprintf(name, sizeof(name), "race:%u", round);
    pthread_mutex_lock(&v->lock);
    rc = vault_named_key(v, name, &k);
    pthread_mutex_unlock(&v->lock);
    memset(fp, 0, FP_LEN);
    if (rc == COFFRE_OK) {
        crypto_generichash(fp, FP_LEN, k->b, COFFRE_KEY_LEN, salt,
                           sizeof(salt));
    } else {
        fprintf(stderr, "round %u: %s: %s\n", round, coffre_strerror(rc),
                coffre_vault_errmsg(v));
    }
    coffre_key_destroy(k);
    return rc;
}

/* A child: for each round number on ${in}, make or load that key and
 * answer with its fingerprint. */
static int
child(const char *dir, const char *shares, int in, int out)
{
    struct coffre_vault *v = open_unsealed(dir, shares);
    unsigned round;
    unsigned char fp[FP_LEN];

    while (read(in, &round, sizeof(round)) == (ssize_t)sizeof(round)) {
        key_fp(v, round, fp);
        if (write(out, fp, sizeof(fp)) != (ssize_t)sizeof(fp)) {
            break;
        }
    }
    coffre_vault_close(v);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc != 4 || coffre_lib_init() != COFFRE_OK) {
        fprintf(stderr, "usage: %s URI WORKDIR ROUNDS\n", argv[0]);
        return 2;
    }
    static const unsigned char zero[FP_LEN];
    struct coffre_store_opts so = {argv[1], NULL};
    char dirs[3][PATH_MAX], shares[PATH_MAX], msg[512];
    int to[2][2], from[2][2], split = 0, stale = 0, errors = 0;
    unsigned rounds = (unsigned)atoi(argv[3]);
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
    for (int i = 0; i < 2; i++) {
        if (pipe(to[i]) != 0 || pipe(from[i]) != 0) {
            return 1;
        }
        if (fork() == 0) {
            for (int j = 0; j <= i; j++) { /* the parent's ends: EOF works */
                close(to[j][1]);
                close(from[j][0]);
            }
            _exit(child(dirs[i + 1], shares, to[i][0], from[i][1]));
        }
        close(to[i][0]);
        close(from[i][1]);
    }
    v = open_unsealed(dirs[0], shares);
    for (unsigned r = 0; r < rounds; r++) {
        unsigned char got[2][FP_LEN], stored[FP_LEN];
        for (int i = 0; i < 2; i++) { /* both at once */
            if (write(to[i][1], &r, sizeof(r)) != (ssize_t)sizeof(r)) {
                return 1;
            }
        }
        for (int i = 0; i < 2; i++) {
            if (read(from[i][0], got[i], FP_LEN) != FP_LEN) {
                return 1;
            }
            errors += memcmp(got[i], zero, FP_LEN) == 0;
        }
        /* The key stored, as a third process finds it now. */
        errors += key_fp(v, r, stored) != COFFRE_OK;
        if (memcmp(got[0], got[1], FP_LEN) != 0) {
            split++;
        }
        if (memcmp(got[0], stored, FP_LEN) != 0 ||
            memcmp(got[1], stored, FP_LEN) != 0) {
            stale++;
        }
    }
    for (int i = 0; i < 2; i++) {
        close(to[i][1]);
        wait(NULL);
    }
    coffre_vault_close(v);
    printf("%u rounds: %d with two different keys, %d where a process "
           "holds a key not the stored one, %d errors\n",
           rounds, split, stale, errors);
    return split == 0 && stale == 0 && errors == 0 && rounds > 0 ? 0 : 1;
}
