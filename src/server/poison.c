/*
 * Poison records on the server's side (docs/guard.md): keep as many
 * planted as the configuration asks for (a fixed count, or one per
 * poison_per live persons up to poison_max, so that they keep pace with
 * a file that grows), hand their ids to the guard, and write the
 * custodians' file. Never served over HTTP.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coffre/guard.h"
#include "guard.h"

#define PLANT_PER_TICK 64 /* bounds the time one sync holds the loop */

/* One line per poison: its record id and its pseudonym for every
 * audience of the configuration, so that a custodian can tell which
 * person an alert or an audit entry is about. */
static int
write_lines(struct srv_ctx *ctx, FILE *f, const uint64_t *ids, size_t n)
{
    char ps[COFFRE_PSEUDONYM_LEN + 1];
    fprintf(f,
            "# coffre poison records of vault %s: custodians only "
            "(docs/guard.md)\n# record-id audience=pseudonym ...\n",
            coffre_vault_id(ctx->vault));
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%llu", (unsigned long long)ids[i]);
        for (size_t k = 0; k < srv_cfg(ctx)->nprincipals; k++) {
            const char *aud = srv_cfg(ctx)->principals[k].audience;
            int seen = 0;
            for (size_t j = 0; j < k; j++) {
                seen |= strcmp(srv_cfg(ctx)->principals[j].audience, aud) == 0;
            }
            if (!seen && coffre_vault_pseudonym(ctx->vault, aud, ids[i], ps) ==
                             COFFRE_OK) {
                fprintf(f, " %s=%s", aud, ps);
            }
        }
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

/* The custodians' file, replaced atomically, mode 0600. */
static void
write_custodian_file(struct srv_ctx *ctx, const struct guard_config *gc,
                     const uint64_t *ids, size_t n)
{
    char path[SRV_PATH_MAX + 32], tmp[SRV_PATH_MAX + 40];
    if (gc->poison_file[0]) {
        snprintf(path, sizeof(path), "%s", gc->poison_file);
    } else {
        snprintf(path, sizeof(path), "%s/poison-custodians.txt",
                 srv_cfg(ctx)->data_dir);
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    (void)unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    const char *step = f == NULL                          ? "open"
                       : write_lines(ctx, f, ids, n) != 0 ? "write"
                       : fflush(f) != 0                   ? "flush"
                       : fsync(fd) != 0                   ? "fsync"
                                                          : NULL;
    int err = errno;
    if (f != NULL) {
        fclose(f);
    } else if (fd >= 0) {
        close(fd);
    }
    if (step == NULL && rename(tmp, path) != 0) {
        step = "rename", err = errno;
    }
    if (step != NULL) {
        srv_log(SRV_LOG_ERR, "guard", "guard: cannot write %s (%s: %s)", path,
                step, strerror(err));
        (void)unlink(tmp);
    }
}

void
guard_poison_sync(struct srv_ctx *ctx)
{
    /* One server per process: the time of the last look is its own. */
    static time_t last;
    static size_t loaded = (size_t)-1;
    static const struct guard *loaded_in; /* a reload may bring a new one */
    const struct guard_config *gc =
        srv_cfg(ctx)->guard ? srv_cfg(ctx)->guard : guard_config_default();
    time_t now = time(NULL);
    struct coffre_vault_stats st;
    size_t n = 0;
    if (srv_guard(ctx) != loaded_in) {
        loaded = (size_t)-1; /* the new guard has no poison list yet */
    }
    if (srv_guard(ctx) == NULL || coffre_vault_is_sealed(ctx->vault) ||
        (loaded != (size_t)-1 && now - last < 60)) {
        return;
    }
    last = now;
    uint64_t *ids = malloc(COFFRE_POISON_MAX * sizeof(*ids));
    if (ids == NULL || coffre_vault_stats(ctx->vault, &st) != COFFRE_OK ||
        coffre_vault_poison_list(ctx->vault, ids, COFFRE_POISON_MAX, &n) !=
            COFFRE_OK) {
        free(ids);
        return;
    }
    unsigned due = guard_poison_due(gc, st.persons - n, n);
    if (due > 0) {
        due = due > PLANT_PER_TICK ? PLANT_PER_TICK : due;
        if (coffre_vault_poison_plant(ctx->vault, gc->poison_seed, due, NULL) !=
                COFFRE_OK ||
            coffre_vault_poison_list(ctx->vault, ids, COFFRE_POISON_MAX, &n) !=
                COFFRE_OK) {
            srv_log(SRV_LOG_ERR, "guard", "guard: cannot plant poison records");
        }
    }
    if (n != loaded && guard_set_poison(srv_guard(ctx), ids, n) == COFFRE_OK) {
        loaded = n;
        loaded_in = srv_guard(ctx);
        write_custodian_file(ctx, gc, ids, n);
    }
    free(ids);
}
