#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffre/coffre.h"
#include "util/secmem.h"

static unsigned long passed, failed;
static const char *current = "?";

void
check_record(int ok, const char *what, const char *file, int line)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    fprintf(stderr, "FAIL %s: %s:%d: %s\n", current, file, line, what);
}

void
check_rc_impl(int got, int want, const char *what, const char *file, int line)
{
    if (got == want) {
        passed++;
        return;
    }
    failed++;
    fprintf(stderr, "FAIL %s: %s:%d: %s = %d (%s), want %d (%s)\n", current,
            file, line, what, got, coffre_strerror(got), want,
            coffre_strerror(want));
}

void
check_run(const char *name, void (*fn)(void))
{
    unsigned long f0 = failed;

    current = name;
    fn();
    fprintf(stderr, "%s %s\n", failed == f0 ? "ok  " : "FAIL", name);
}

int
check_done(void)
{
    printf("%lu passed, %lu failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}

static size_t released, violations;

static void
watch_hook(const void *p, size_t len, int is_key)
{
    const unsigned char *b = p;

    released++;
    for (size_t i = 0; i < len; i++) {
        if (b[i] != 0) {
            violations++;
            fprintf(stderr, "secret %s block of %zu bytes not wiped\n",
                    is_key ? "key" : "plaintext", len);
            return;
        }
    }
}

void
check_secmem_watch(void)
{
    coffre_secmem_set_release_hook(watch_hook);
}

size_t
check_secmem_released(void)
{
    return released;
}

size_t
check_secmem_violations(void)
{
    return violations;
}

static char tmpdir[256];

static void
rm_tmpdir(void)
{
    char cmd[300];

    if (tmpdir[0] != '\0' && getenv("COFFRE_KEEP_TMP") == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", tmpdir);
        }
    }
}

const char *
check_tmpdir(void)
{
    const char *base = getenv("TMPDIR");

    if (tmpdir[0] != '\0') {
        return tmpdir;
    }
    snprintf(tmpdir, sizeof(tmpdir), "%s/coffre-test-XXXXXX",
             base != NULL ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
    atexit(rm_tmpdir);
    return tmpdir;
}
