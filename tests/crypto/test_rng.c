/* The fast RNG (fork, threads) and a benchmark print of the hot paths. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "coffre/coffre.h"
#include "crypto/crypto.h"
#include "crypto_tests.h"

static void
test_rng_differs(void)
{
    unsigned char a[32], b[32], big[10000], zero[64] = {0};

    coffre_rng(a, sizeof(a));
    coffre_rng(b, sizeof(b));
    CHECK(memcmp(a, b, sizeof(a)) != 0);
    coffre_rng(big, sizeof(big));
    /* No 64-byte run of zeros anywhere, in particular at block edges. */
    for (size_t i = 0; i + 64 <= sizeof(big); i += 64) {
        CHECK(memcmp(big + i, zero, 64) != 0);
    }
    coffre_rng(a, 0);
}

static void
test_rng_fork(void)
{
    unsigned char parent[32], child[32];
    int fds[2];
    pid_t pid;
    int status = 0;

    coffre_rng(parent, 1); /* the state is seeded before fork */
    CHECK(pipe(fds) == 0);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        coffre_rng(child, sizeof(child));
        _exit(write(fds[1], child, sizeof(child)) == sizeof(child) ? 0 : 1);
    }
    coffre_rng(parent, sizeof(parent));
    CHECK(read(fds[0], child, sizeof(child)) == sizeof(child));
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0);
    CHECK(memcmp(parent, child, sizeof(child)) != 0);
    close(fds[0]);
    close(fds[1]);
}

static void *
rng_thread(void *p)
{
    coffre_rng(p, 32);
    return NULL;
}

static void
test_rng_threads(void)
{
    unsigned char a[32], b[32];
    pthread_t t1, t2;

    CHECK(pthread_create(&t1, NULL, rng_thread, a) == 0);
    CHECK(pthread_create(&t2, NULL, rng_thread, b) == 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    CHECK(memcmp(a, b, sizeof(a)) != 0);
}

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Printed, not asserted: figures depend on the machine and sanitizers. */
static void
test_bench_print(void)
{
    struct coffre_key *k = coffre_key_new();
    unsigned char pt[100] = {0}, ct[140], ad[COFFRE_AD_MAX], nonce[24];
    unsigned char tag[16];
    size_t adlen = coffre_ad_field(ad, pt, 1, 1, 1);
    const int n = 200000;
    char ps[44];
    double t;

    t = now();
    for (int i = 0; i < n; i++) {
        coffre_aead_seal(k, ad, adlen, pt, sizeof(pt), ct);
    }
    printf("bench: aead seal 100 B: %.0f /s\n", n / (now() - t));
    t = now();
    for (int i = 0; i < n; i++) {
        coffre_rng(nonce, sizeof(nonce));
    }
    printf("bench: coffre_rng 24 B: %.0f /s\n", n / (now() - t));
    t = now();
    for (int i = 0; i < n; i++) {
        randombytes_buf(nonce, sizeof(nonce));
    }
    printf("bench: randombytes_buf 24 B (for comparison): %.0f /s\n",
           n / (now() - t));
    t = now();
    for (int i = 0; i < n; i++) {
        coffre_blind_tag(k, pt, 40, tag);
    }
    printf("bench: blind tag 40 B: %.0f /s\n", n / (now() - t));
    t = now();
    for (int i = 0; i < n; i++) {
        coffre_pseudonym_make(k, (uint64_t)i, ps);
    }
    printf("bench: pseudonym make: %.0f /s\n", n / (now() - t));
    coffre_key_destroy(k);
    CHECK(1);
}

void
test_rng_all(void)
{
    RUN(test_rng_differs);
    RUN(test_rng_fork);
    RUN(test_rng_threads);
    RUN(test_bench_print);
}
