/*
 * A tiny test harness: CHECK() records a pass or a failure with its place,
 * RUN() runs one test function, check_done() prints "N passed, N failed"
 * and gives main() its exit status.
 */
#ifndef COFFRE_TESTS_CHECK_H
#define COFFRE_TESTS_CHECK_H

#include <stddef.h>
#include <stdint.h>

void check_record(int ok, const char *what, const char *file, int line);
int check_done(void);
void check_run(const char *name, void (*fn)(void));

#define CHECK(cond) check_record(!!(cond), #cond, __FILE__, __LINE__)
#define CHECK_RC(expr, want)                                                   \
    check_rc_impl((int)(expr), (int)(want), #expr, __FILE__, __LINE__)
#define RUN(fn) check_run(#fn, fn)

void check_rc_impl(int got, int want, const char *what, const char *file,
                   int line);

/*
 * Secret-memory watch: after check_secmem_watch(), every block the library
 * releases through coffre_key_free/coffre_pmem_free is checked to be all
 * zero; check_secmem_violations() says how many were not.
 */
void check_secmem_watch(void);
size_t check_secmem_released(void);
size_t check_secmem_violations(void);

/** check_tmpdir(): a fresh empty directory under $TMPDIR, removed at exit. */
const char *check_tmpdir(void);

#endif
