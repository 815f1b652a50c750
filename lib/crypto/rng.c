/*
 * A fast per-thread CSPRNG for nonces and data keys. randombytes_buf costs
 * a getrandom() syscall per call; five nonces per person at 100,000 persons
 * per second would spend a core on syscalls. Instead each thread expands a
 * kernel seed with ChaCha20, in blocks of 32 + 4096 bytes: the first 32
 * bytes of each block become the next key (fast key erasure, so the state
 * never allows rebuilding bytes already handed out), the rest is output,
 * wiped as it is consumed.
 */
#include "crypto/crypto.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define RNG_OUT 4096u
#define RNG_BLOCK (COFFRE_KEY_LEN + RNG_OUT)

struct rng_state {
    unsigned char key[COFFRE_KEY_LEN];
    unsigned char buf[RNG_BLOCK];
    size_t pos;   /* next unused byte of buf; RNG_BLOCK when empty */
    unsigned gen; /* fork generation this state was seeded in */
    int ready;    /* seeded, registered for wiping at thread exit */
};

static _Thread_local struct rng_state rng;
static pthread_once_t rng_once = PTHREAD_ONCE_INIT;
static pthread_key_t rng_tkey;
static int rng_tkey_ok;
/* Bumped in every child after fork(): states of an older generation are
 * copies of the parent's and must never produce output again. */
static atomic_uint rng_fork_gen;

static void
rng_wipe(struct rng_state *s)
{
    /* munlock wipes before unlocking; its failure leaves memzero's. */
    sodium_memzero(s, sizeof(*s));
    (void)sodium_munlock(s, sizeof(*s));
}

static void
rng_thread_exit(void *p)
{
    rng_wipe(p);
}

static void
rng_at_fork_child(void)
{
    atomic_fetch_add(&rng_fork_gen, 1u);
    /* The child's only thread is the one that forked: wipe its copy. */
    sodium_memzero(&rng, sizeof(rng));
}

static void
rng_at_exit(void)
{
    /* pthread key destructors do not run for the thread calling exit(). */
    sodium_memzero(&rng, sizeof(rng));
}

static void
rng_setup(void)
{
    rng_tkey_ok = pthread_key_create(&rng_tkey, rng_thread_exit) == 0;
    (void)pthread_atfork(NULL, NULL, rng_at_fork_child);
    (void)atexit(rng_at_exit);
}

static void
rng_refill(struct rng_state *s)
{
    static const unsigned char zero_nonce[crypto_stream_chacha20_NONCEBYTES];

    /* A key is used for exactly one block, so a fixed nonce is safe. */
    crypto_stream_chacha20(s->buf, RNG_BLOCK, zero_nonce, s->key);
    memcpy(s->key, s->buf, COFFRE_KEY_LEN);
    sodium_memzero(s->buf, COFFRE_KEY_LEN);
    s->pos = COFFRE_KEY_LEN;
}

static void
rng_seed(struct rng_state *s)
{
    unsigned gen = atomic_load(&rng_fork_gen);

    (void)pthread_once(&rng_once, rng_setup);
    if (!s->ready) {
        /* Best effort: keep the state out of swap and core dumps. */
        (void)sodium_mlock(s, sizeof(*s));
        if (rng_tkey_ok) {
            (void)pthread_setspecific(rng_tkey, s);
        }
    }
    randombytes_buf(s->key, COFFRE_KEY_LEN);
    s->gen = gen;
    s->ready = 1;
    rng_refill(s);
}

void
coffre_rng(void *out, size_t n)
{
    struct rng_state *s = &rng;
    unsigned char *o = out;

    if (!s->ready || s->gen != atomic_load(&rng_fork_gen)) {
        rng_seed(s);
    }
    while (n > 0) {
        size_t take;

        if (s->pos == RNG_BLOCK) {
            rng_refill(s);
        }
        take = RNG_BLOCK - s->pos;
        if (take > n) {
            take = n;
        }
        memcpy(o, s->buf + s->pos, take);
        sodium_memzero(s->buf + s->pos, take);
        s->pos += take;
        o += take;
        n -= take;
    }
}
