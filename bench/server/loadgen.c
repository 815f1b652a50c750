/*
 * A mutual-TLS HTTP load generator on libcurl's multi interface: N
 * keep-alive connections presenting a client certificate, for a fixed
 * time, cycling over the URLs given; prints requests per second and the
 * latency percentiles of the answers (answers of another status than the
 * expected one, 200 unless --expect says, count as errors). The first
 * answer on each connection carries its handshake and is not counted.
 *
 * usage: loadgen --cacert CA --cert CERT --key KEY [--conns N]
 *                [--seconds S] [--expect STATUS] [--body FILE] URL...
 * --body: POST the file's bytes as application/json (a submission).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

struct slot {
    CURL *h;
    double t0;
    int warm; /* its connection is open: answers count from now on */
};

struct lat {
    double *v;
    size_t n, cap;
};

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t
discard(char *p, size_t size, size_t n, void *u)
{
    (void)p;
    (void)u;
    return size * n;
}

static void
lat_add(struct lat *l, double x)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 1 << 16;
        double *nv = realloc(l->v, ncap * sizeof(*nv));
        if (nv == NULL) {
            return;
        }
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n++] = x;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double
pct(const struct lat *l, double p)
{
    if (l->n == 0) {
        return 0;
    }
    size_t i = (size_t)(p * (double)(l->n - 1));
    return l->v[i];
}

static struct curl_slist *json_header;

static CURL *
make_handle(const char *ca, const char *cert, const char *key, const char *body,
            size_t body_len)
{
    CURL *h = curl_easy_init();
    if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, json_header);
    }
    curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    curl_easy_setopt(h, CURLOPT_CAPATH, NULL); /* the bench CA only */
    curl_easy_setopt(h, CURLOPT_SSLCERT, cert);
    curl_easy_setopt(h, CURLOPT_SSLKEY, key);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    return h;
}

static void
start(CURLM *m, struct slot *s, char **urls, size_t nurls, size_t *next)
{
    curl_easy_setopt(s->h, CURLOPT_URL, urls[*next % nurls]);
    curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
    (*next)++;
    s->t0 = now();
    curl_multi_add_handle(m, s->h);
}

struct cfg {
    const char *ca, *cert, *key, *body_file;
    char *body;
    size_t body_len;
    long conns, expect;
    double secs;
    char **urls;
    size_t nurls;
};

/* The --body file, at most 1 MiB. */
static int
read_body(struct cfg *c)
{
    FILE *f = fopen(c->body_file, "rb");
    c->body = malloc(1 << 20);
    c->body_len = f && c->body ? fread(c->body, 1, 1 << 20, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    return c->body_len > 0 && c->body_len < (1 << 20) ? 0 : -1;
}

static int
parse_args(int argc, char **argv, struct cfg *c)
{
    static const struct option longs[] = {
        {"cacert", required_argument, NULL, 'a'},
        {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},
        {"conns", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 's'},
        {"expect", required_argument, NULL, 'e'},
        {"body", required_argument, NULL, 'b'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    memset(c, 0, sizeof(*c));
    c->conns = 16;
    c->secs = 10;
    c->expect = 200;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'a':
            c->ca = optarg;
            break;
        case 'c':
            c->cert = optarg;
            break;
        case 'k':
            c->key = optarg;
            break;
        case 'n':
            c->conns = strtol(optarg, NULL, 10);
            break;
        case 's':
            c->secs = strtod(optarg, NULL);
            break;
        case 'e':
            c->expect = strtol(optarg, NULL, 10);
            break;
        case 'b':
            c->body_file = optarg;
            break;
        default:
            return -1;
        }
    }
    if (!c->ca || !c->cert || !c->key || optind >= argc || c->conns < 1 ||
        c->secs <= 0 || c->expect < 100 || c->expect > 599) {
        return -1;
    }
    c->urls = argv + optind;
    c->nurls = (size_t)(argc - optind);
    return c->body_file != NULL ? read_body(c) : 0;
}

struct tally {
    struct lat lat;
    unsigned long errors, done;
    long warm;             /* connections open */
    double t_start, t_end; /* the measured window, once all are open */
};

/* The first answer on each connection carries its TLS handshake: not
 * counted; the window starts once every connection is open. */
static int
warming(const struct cfg *c, struct slot *s, double now_t, struct tally *t)
{
    if (s->warm) {
        return 0;
    }
    s->warm = 1;
    if (++t->warm == c->conns) {
        t->t_start = now_t;
        t->t_end = now_t + c->secs;
    }
    return 1;
}

/* Collect finished transfers, restart them until the end time. */
static void
reap(CURLM *m, const struct cfg *c, size_t *next, struct tally *t)
{
    CURLMsg *msg;
    int q = 0;
    while ((msg = curl_multi_info_read(m, &q)) != NULL) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        struct slot *s = NULL;
        long code = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &s);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
        double now_t = now();
        curl_multi_remove_handle(m, s->h);
        int failed = msg->data.result != CURLE_OK || code != c->expect;
        int first = warming(c, s, now_t, t);
        t->errors += (unsigned long)failed; /* the handshake's answer too */
        if (!first && !failed) {
            lat_add(&t->lat, now_t - s->t0);
            t->done++;
        }
        if (now_t < t->t_end) {
            start(m, s, c->urls, c->nurls, next);
        }
    }
}

int
main(int argc, char **argv)
{
    struct cfg c;
    struct tally t = {{NULL, 0, 0}, 0, 0, 0, 0, 0};
    size_t next = 0;
    if (parse_args(argc, argv, &c) != 0) {
        fprintf(stderr, "usage: loadgen --cacert CA --cert C --key K "
                        "[--conns N] [--seconds S] [--expect STATUS] "
                        "[--body FILE] URL...\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    json_header = curl_slist_append(NULL, "Content-Type: application/json");
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, c.conns);
    struct slot *slots = calloc((size_t)c.conns, sizeof(*slots));
    /* Until every connection is open, the window has no end. */
    t.t_end = now() + 60 + c.secs;
    for (long i = 0; i < c.conns; i++) {
        slots[i].h = make_handle(c.ca, c.cert, c.key, c.body, c.body_len);
        start(m, &slots[i], c.urls, c.nurls, &next);
    }
    for (;;) {
        int still = 0;
        curl_multi_perform(m, &still);
        reap(m, &c, &next, &t);
        if (still == 0 && now() >= t.t_end) {
            break;
        }
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double elapsed = now() - t.t_start;
    qsort(t.lat.v, t.lat.n, sizeof(double), cmp_double);
    printf("requests=%lu errors=%lu seconds=%.2f rps=%.0f p50_ms=%.3f "
           "p99_ms=%.3f\n",
           t.done, t.errors, elapsed, (double)t.done / elapsed,
           pct(&t.lat, 0.50) * 1000, pct(&t.lat, 0.99) * 1000);
    for (long i = 0; i < c.conns; i++) {
        curl_easy_cleanup(slots[i].h);
    }
    curl_multi_cleanup(m);
    curl_slist_free_all(json_header);
    curl_global_cleanup();
    free(c.body);
    free(slots);
    free(t.lat.v);
    return t.errors > t.done / 100 ? 1 : 0;
}
