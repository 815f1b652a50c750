/*
 * The PostgreSQL backend of the storage interface (store.h; schema and
 * guarantees in docs/storage.md).
 *
 * Several vault processes may share one database. Isolation is READ
 * COMMITTED with explicit row locks (SELECT ... FOR UPDATE) for every
 * read-then-write; single statements are atomic by themselves. Semantic
 * outcomes (EXISTS, NOTFOUND, ERASED) are found without raising an SQL
 * error (ON CONFLICT DO NOTHING, row counts), because an SQL error aborts
 * the caller's whole transaction in PostgreSQL. Serialization failures
 * and deadlocks map to COFFRE_ERR_UNAVAILABLE: roll back and retry.
 *
 * Statements are prepared once per connection (PQprepare). Integers go as
 * text, bytea as binary; results come back binary (bigint = 8 bytes, big
 * endian), so no bytea is ever hex-escaped.
 *
 * A lost connection (docs/storage.md section 10) is regained by itself,
 * with the same conninfo (several hosts, target_session_attrs=read-write:
 * libpq finds the new primary) and a bounded backoff. A read outside a
 * transaction is run again; a transaction that lost its connection before
 * COMMIT was sent is rolled back by the server, so the call fails with
 * COFFRE_ERR_UNAVAILABLE and base.retry set. Every transaction commits
 * with a random idempotency key in txn_done: when the connection is lost
 * after COMMIT was sent, the store inserts that key itself on the
 * regained connection; finding it there means the transaction committed,
 * inserting it means it did not and now never will (the insert waits for
 * a transaction still holding the key, then fences it out).
 */
#include "store/store.h"
#include "store/store_pg.h"
#include "store/store_pg_guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "util/secmem.h"

#define LOCK_SCHEMA "7243001"
#define LOCK_IDS "7243002"
#define MAXP 21
#define TXKEY_LEN 16
#define RECONNECT_MS 15000  /* the budget to regain a lost connection */
#define BACKOFF_MAX_MS 1000 /* the longest pause between two attempts */
#define CONNECT_TIMEOUT "5" /* per host, unless the conninfo says */
#define PRUNE_EVERY 4096    /* commits between two prunes of txn_done */

_Static_assert(COFFRE_STATE_ERASED == 7, "state 7 in SQL text");
_Static_assert(COFFRE_STATE_VETTING == 1, "state 1 in SQL text");

static const char schema_sql[] =
    "SET client_min_messages = warning;"
    "SELECT pg_advisory_xact_lock(" LOCK_SCHEMA ");"
    "CREATE TABLE IF NOT EXISTS meta(k text PRIMARY KEY, v bytea NOT NULL);"
    "CREATE TABLE IF NOT EXISTS kek(version bigint PRIMARY KEY,"
    " wrapped bytea NOT NULL);"
    "CREATE TABLE IF NOT EXISTS epoch_key(epoch bigint PRIMARY KEY,"
    " wrapped bytea, destroyed bigint NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS person(id bigint PRIMARY KEY,"
    " state bigint NOT NULL, epoch bigint NOT NULL, dk_gen bigint NOT NULL,"
    " retain_until bigint NOT NULL, deadline bigint NOT NULL,"
    " updated bigint NOT NULL, tag_document bytea, tag_email bytea,"
    " tag_name_dob bytea, tag_source bytea, tag_category bytea,"
    " c_public bytea, c_identity bytea, c_contact bytea, c_document bytea,"
    " c_vetting bytea, c_photo bytea);"
    "CREATE INDEX IF NOT EXISTS person_document ON person(tag_document, id)"
    " WHERE tag_document IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS person_email ON person(tag_email, id)"
    " WHERE tag_email IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS person_name_dob ON person(tag_name_dob, id)"
    " WHERE tag_name_dob IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS person_source ON person(tag_source, id)"
    " WHERE tag_source IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS person_state ON person(state, id);"
    "CREATE INDEX IF NOT EXISTS person_vetting_due ON person(deadline)"
    " WHERE state = 1 AND deadline > 0;"
    "CREATE TABLE IF NOT EXISTS dkey("
    " id bigint PRIMARY KEY REFERENCES person(id),"
    " kek_version bigint NOT NULL REFERENCES kek(version),"
    " epoch bigint NOT NULL, wrapped bytea NOT NULL);"
    "CREATE INDEX IF NOT EXISTS dkey_kek ON dkey(kek_version, id);"
    "CREATE SEQUENCE IF NOT EXISTS person_id_seq AS bigint;"
    "CREATE TABLE IF NOT EXISTS txn_done(key bytea PRIMARY KEY,"
    " fenced boolean NOT NULL DEFAULT false,"
    " at timestamptz NOT NULL DEFAULT now());";

/* Whether every object of both schemas is there already: then no DDL is
 * run at open. CREATE INDEX IF NOT EXISTS takes a share lock on its table
 * even when the index exists, and a store opened beside a process writing
 * person then dkey could deadlock with it (seen: 40P01 at open). */
static const char schema_here_sql[] =
    "SELECT count(to_regclass(n)) = 17 FROM unnest(ARRAY['meta', 'kek',"
    " 'epoch_key', 'person', 'person_document', 'person_email',"
    " 'person_name_dob', 'person_source', 'person_state',"
    " 'person_vetting_due', 'dkey', 'dkey_kek', 'person_id_seq',"
    " 'txn_done', 'audit_entry', 'audit_head', 'audit_checkpoint']) AS n";

#define PERSON_SET                                                             \
    "state = $2, epoch = $3, dk_gen = $4, retain_until = $5, deadline = $6, "  \
    "updated = $7, tag_document = $8, tag_email = $9, tag_name_dob = $10, "    \
    "tag_source = $11, tag_category = $12, c_public = $13, "                   \
    "c_identity = $14, c_contact = $15, c_document = $16, c_photo = $17, "     \
    "c_vetting = $18"
#define ERASE_SET                                                              \
    "UPDATE person SET state = 7, dk_gen = 0, retain_until = 0, "              \
    "deadline = 0, updated = $2, tag_document = NULL, tag_email = NULL, "      \
    "tag_name_dob = NULL, tag_source = NULL, tag_category = NULL, "            \
    "c_public = NULL, c_identity = NULL, c_contact = NULL, "                   \
    "c_document = NULL, c_photo = NULL, c_vetting = NULL "
/* the six classes in enum coffre_class order, bit = 1 << class */
#define CT_COLS                                                                \
    "CASE WHEN ($2 & 1) <> 0 THEN p.c_public END, "                            \
    "CASE WHEN ($2 & 2) <> 0 THEN p.c_identity END, "                          \
    "CASE WHEN ($2 & 4) <> 0 THEN p.c_contact END, "                           \
    "CASE WHEN ($2 & 8) <> 0 THEN p.c_document END, "                          \
    "CASE WHEN ($2 & 16) <> 0 THEN p.c_photo END, "                            \
    "CASE WHEN ($2 & 32) <> 0 THEN p.c_vetting END"

enum stmt {
    Q_META_GET,
    Q_META_PUT,
    Q_KEK_PUT,
    Q_KEK_GET,
    Q_KEK_LIST,
    Q_KEK_DELETE,
    Q_KEK_EXISTS,
    Q_EPOCH_PUT,
    Q_EPOCH_GET,
    Q_EPOCH_LOCK,
    Q_EPOCH_DESTROY,
    Q_ID_LOCK,
    Q_ID_TAKE,
    Q_ID_UNLOCK,
    Q_P_INSERT,
    Q_P_LOCK,
    Q_P_UPDATE,
    Q_DK_UPDATE,
    Q_P_GET,
    Q_P_SET_STATE,
    Q_FIND0,
    Q_FIND1,
    Q_FIND2,
    Q_FIND3,
    Q_FIND4,
    Q_LIST_ANY,
    Q_LIST_STATE,
    Q_LIST_CAT,
    Q_LIST_BOTH,
    Q_DUE_VETTING,
    Q_DUE_RETAIN,
    Q_P_ERASE,
    Q_EP_ERASE,
    Q_DK_BELOW,
    Q_DK_COUNT,
    Q_STATS,
    Q_P_NEXT,
    Q_TOMB_INSERT,
    Q_EPOCH_NEXT,
    Q_META_NEXT,
    Q_ID_PEEK,
    Q_ID_SET,
    Q_META_ADD,
    Q_TXN_SEEN,
    Q_TXN_FENCE,
    Q__COUNT
};

static const char *const stmt_sql[Q__COUNT] = {
    [Q_META_GET] = "SELECT v FROM meta WHERE k = $1",
    [Q_META_PUT] = "INSERT INTO meta(k, v) VALUES($1, $2)"
                   " ON CONFLICT (k) DO UPDATE SET v = excluded.v",
    [Q_KEK_PUT] = "INSERT INTO kek(version, wrapped) VALUES($1, $2)"
                  " ON CONFLICT DO NOTHING",
    [Q_KEK_GET] = "SELECT wrapped FROM kek WHERE version = $1",
    [Q_KEK_LIST] = "SELECT version FROM kek ORDER BY version",
    [Q_KEK_DELETE] = "DELETE FROM kek WHERE version = $1 AND NOT EXISTS"
                     " (SELECT 1 FROM dkey WHERE kek_version = $1)",
    [Q_KEK_EXISTS] = "SELECT 1 FROM kek WHERE version = $1",
    [Q_EPOCH_PUT] = "INSERT INTO epoch_key(epoch, wrapped) VALUES($1, $2)"
                    " ON CONFLICT DO NOTHING",
    [Q_EPOCH_GET] = "SELECT wrapped FROM epoch_key WHERE epoch = $1",
    [Q_EPOCH_LOCK] = "SELECT wrapped FROM epoch_key WHERE epoch = $1"
                     " FOR UPDATE",
    [Q_EPOCH_DESTROY] = "UPDATE epoch_key SET wrapped = NULL, destroyed = 1"
                        " WHERE epoch = $1",
    [Q_ID_LOCK] = "SELECT pg_advisory_lock(" LOCK_IDS ")",
    [Q_ID_TAKE] = "SELECT setval('person_id_seq',"
                  " nextval('person_id_seq') + $1 - 1)",
    [Q_ID_UNLOCK] = "SELECT pg_advisory_unlock(" LOCK_IDS ")",
    /* one statement, one round trip: the dkey row only if the person row
     * went in, so zero rows back means the id was taken */
    [Q_P_INSERT] = "WITH p AS (INSERT INTO person(id, state, epoch, dk_gen,"
                   " retain_until, deadline, updated, tag_document,"
                   " tag_email, tag_name_dob, tag_source, tag_category,"
                   " c_public, c_identity, c_contact, c_document, c_photo,"
                   " c_vetting) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9,"
                   " $10, $11, $12, $13, $14, $15, $16, $17, $18)"
                   " ON CONFLICT (id) DO NOTHING RETURNING id)"
                   " INSERT INTO dkey(id, kek_version, epoch, wrapped)"
                   " SELECT id, $19::bigint, $20::bigint, $21::bytea FROM p"
                   " RETURNING id",
    [Q_P_LOCK] = "SELECT state FROM person WHERE id = $1 FOR UPDATE",
    [Q_P_UPDATE] = "UPDATE person SET " PERSON_SET " WHERE id = $1",
    [Q_DK_UPDATE] = "UPDATE dkey SET kek_version = $2, epoch = $3,"
                    " wrapped = $4 WHERE id = $1",
    /* one statement gives row and key from one snapshot; unwanted
     * ciphertexts (a 256 KiB photo) are not even sent */
    [Q_P_GET] = "SELECT p.state, p.epoch, p.dk_gen, p.retain_until,"
                " p.deadline, p.updated, p.tag_document, p.tag_email,"
                " p.tag_name_dob, p.tag_source, p.tag_category, " CT_COLS
                ", d.kek_version, d.epoch, d.wrapped FROM person p"
                " LEFT JOIN dkey d ON d.id = p.id WHERE p.id = $1",
    [Q_P_SET_STATE] = "UPDATE person SET state = $2, deadline = $3,"
                      " updated = $4 WHERE id = $1 AND state <> 7",
    [Q_FIND0] = "SELECT id FROM person WHERE tag_document = $1 ORDER BY id",
    [Q_FIND1] = "SELECT id FROM person WHERE tag_email = $1 ORDER BY id",
    [Q_FIND2] = "SELECT id FROM person WHERE tag_name_dob = $1 ORDER BY id",
    [Q_FIND3] = "SELECT id FROM person WHERE tag_source = $1 ORDER BY id",
    [Q_FIND4] = "SELECT id FROM person WHERE tag_category = $1 ORDER BY id",
    [Q_LIST_ANY] = "SELECT id FROM person WHERE id > $1 AND state <> 7"
                   " ORDER BY id LIMIT $2",
    [Q_LIST_STATE] = "SELECT id FROM person WHERE state = $3 AND id > $1"
                     " ORDER BY id LIMIT $2",
    [Q_LIST_CAT] = "SELECT id FROM person WHERE id > $1 AND state <> 7"
                   " AND tag_category = $3 ORDER BY id LIMIT $2",
    [Q_LIST_BOTH] = "SELECT id FROM person WHERE state = $3 AND id > $1"
                    " AND tag_category = $4 ORDER BY id LIMIT $2",
    [Q_DUE_VETTING] = "SELECT id FROM person WHERE state = 1 AND deadline > 0"
                      " AND deadline < $1 ORDER BY id LIMIT $2",
    [Q_DUE_RETAIN] = "SELECT id FROM person WHERE state <> 7"
                     " AND retain_until > 0 AND retain_until < $1"
                     " ORDER BY id LIMIT $2",
    [Q_P_ERASE] =
        "WITH d AS (DELETE FROM dkey WHERE id = $1) " ERASE_SET "WHERE id = $1",
    [Q_EP_ERASE] = "WITH d AS (DELETE FROM dkey WHERE id IN (SELECT id FROM"
                   " person WHERE epoch = $1 AND state <> 7)) " ERASE_SET
                   "WHERE epoch = $1 AND state <> 7",
    [Q_DK_BELOW] = "SELECT id, kek_version, epoch, wrapped FROM dkey"
                   " WHERE kek_version < $1 ORDER BY kek_version, id"
                   " LIMIT $2",
    [Q_DK_COUNT] = "SELECT count(*) FROM dkey WHERE kek_version = $1",
    [Q_STATS] = "SELECT count(*), count(*) FILTER (WHERE state = 7)"
                " FROM person",
    [Q_P_NEXT] = "SELECT id FROM person WHERE id > $1 ORDER BY id LIMIT 1",
    [Q_TOMB_INSERT] = "INSERT INTO person(id, state, epoch, dk_gen,"
                      " retain_until, deadline, updated)"
                      " VALUES($1, 7, $2, 0, 0, 0, $3)"
                      " ON CONFLICT DO NOTHING",
    [Q_EPOCH_NEXT] = "SELECT epoch, wrapped, destroyed FROM epoch_key"
                     " WHERE epoch > $1 ORDER BY epoch LIMIT 1",
    /* bytewise order whatever the database's collation */
    [Q_META_NEXT] = "SELECT k, v FROM meta WHERE k COLLATE \"C\" > $1"
                    " AND left(k, 6) <> 'store.'"
                    " ORDER BY k COLLATE \"C\" LIMIT 1",
    [Q_ID_PEEK] = "SELECT CASE WHEN is_called THEN last_value + 1"
                  " ELSE last_value END FROM person_id_seq",
    [Q_ID_SET] = "SELECT setval('person_id_seq', $1, false)",
    [Q_META_ADD] = "INSERT INTO meta(k, v) VALUES($1, $2)"
                   " ON CONFLICT DO NOTHING",
    [Q_TXN_SEEN] = "SELECT fenced FROM txn_done WHERE key = $1",
    /* fenced back: the key was absent (its transaction did not commit) */
    [Q_TXN_FENCE] = "INSERT INTO txn_done(key, fenced) VALUES($1, true)"
                    " ON CONFLICT (key) DO UPDATE SET fenced = txn_done.fenced"
                    " RETURNING fenced",
};

/* How a statement may be run again on a regained connection outside a
 * transaction: a read at once; a write (the default, so that a statement
 * added later is safe) inside a transaction of its own, whose commit is
 * checked; a session one (advisory lock, sequence) never. */
enum kind { K_WRITE = 0, K_READ, K_SESSION };

static const unsigned char stmt_kind[Q__COUNT] = {
    [Q_META_GET] = K_READ,     [Q_KEK_GET] = K_READ,
    [Q_KEK_LIST] = K_READ,     [Q_KEK_EXISTS] = K_READ,
    [Q_EPOCH_GET] = K_READ,    [Q_EPOCH_LOCK] = K_READ,
    [Q_ID_LOCK] = K_SESSION,   [Q_ID_TAKE] = K_SESSION,
    [Q_ID_UNLOCK] = K_SESSION, [Q_P_LOCK] = K_READ,
    [Q_P_GET] = K_READ,        [Q_FIND0] = K_READ,
    [Q_FIND1] = K_READ,        [Q_FIND2] = K_READ,
    [Q_FIND3] = K_READ,        [Q_FIND4] = K_READ,
    [Q_LIST_ANY] = K_READ,     [Q_LIST_STATE] = K_READ,
    [Q_LIST_CAT] = K_READ,     [Q_LIST_BOTH] = K_READ,
    [Q_DUE_VETTING] = K_READ,  [Q_DUE_RETAIN] = K_READ,
    [Q_DK_BELOW] = K_READ,     [Q_DK_COUNT] = K_READ,
    [Q_STATS] = K_READ,        [Q_P_NEXT] = K_READ,
    [Q_EPOCH_NEXT] = K_READ,   [Q_META_NEXT] = K_READ,
    [Q_ID_PEEK] = K_READ,      [Q_ID_SET] = K_SESSION,
    [Q_TXN_SEEN] = K_SESSION,  [Q_TXN_FENCE] = K_SESSION,
};

struct pg {
    struct coffre_store base;
    PGconn *c;
    int in_tx;
    int tx_lost;   /* the open transaction's connection was lost */
    int read_only; /* the open transaction is begin_snapshot's */
    int broken;    /* connect again before the next statement */
    char *conninfo;
    char *password; /* coffre_key_alloc memory, or NULL */
    size_t pwlen;
    unsigned commits;
    unsigned char txkey[TXKEY_LEN];
};

/* Parameters of one call: integers as text, blobs as binary. */
struct pgp {
    const char *v[MAXP];
    int len[MAXP];
    int fmt[MAXP];
    char num[MAXP][24];
    int n;
};

static int pg_fail(struct pg *s, const PGresult *r);

static struct pg *
pg_of(struct coffre_store *s)
{
    return (struct pg *)s;
}

PGconn *
store_pg_conn(struct coffre_store *s)
{
    return pg_of(s)->c;
}

int
store_pg_in_tx(struct coffre_store *s)
{
    return pg_of(s)->in_tx;
}

int
store_pg_fail(struct coffre_store *s, const PGresult *r)
{
    return pg_fail(pg_of(s), r);
}

static void
p_int(struct pgp *p, int64_t v)
{
    snprintf(p->num[p->n], sizeof(p->num[0]), "%lld", (long long)v);
    p->v[p->n] = p->num[p->n];
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

static void
p_blob(struct pgp *p, const void *b, size_t len)
{
    p->v[p->n] = b; /* NULL is SQL NULL */
    p->len[p->n] = (int)len;
    p->fmt[p->n] = 1;
    p->n++;
}

static void
p_text(struct pgp *p, const char *s)
{
    p->v[p->n] = s;
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

static int prepare_all(struct pg *s);
static PGconn *connect_with(const char *conninfo, const char *password);
static void conn_msg(PGconn *c, char *msg, size_t cap);
static void quiet(void *arg, const char *msg);

static int
pg_fail(struct pg *s, const PGresult *r)
{
    const char *state =
        r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r != NULL ? PQresultErrorMessage(r) : "";

    if (msg == NULL || *msg == '\0') {
        msg = PQerrorMessage(s->c);
    }
    snprintf(s->base.errmsg, sizeof(s->base.errmsg), "postgresql: %s%s%s",
             state != NULL ? state : "", state != NULL ? " " : "", msg);
    if (state != NULL &&
        (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)) {
        s->base.retry = 1;
        return COFFRE_ERR_UNAVAILABLE;
    }
    return COFFRE_ERR_STORE;
}

/* Whether ${r} (or the connection) says the server is gone: the link
 * broke, the server shut down or is starting, or it is no longer the
 * primary (a switchover left us on a read-only server). */
static int
conn_lost(struct pg *s, const PGresult *r)
{
    const char *st = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    if (s->c == NULL || PQstatus(s->c) != CONNECTION_OK) {
        return 1;
    }
    if (st == NULL) {
        return r == NULL;
    }
    return strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 ||
           strcmp(st, "57P02") == 0 || strcmp(st, "57P03") == 0 ||
           strcmp(st, "25006") == 0;
}

static int
lost_fail(struct pg *s, const char *what)
{
    snprintf(s->base.errmsg, sizeof(s->base.errmsg),
             "postgresql: the connection was lost %s", what);
    return COFFRE_ERR_UNAVAILABLE;
}

/* For the backoff: immune to the wall clock being set. */
static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
pause_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Connect again with the same conninfo (libpq tries each host in turn)
 * until it works or RECONNECT_MS are spent; pauses double from 50 ms. */
static int
pg_reconnect(struct pg *s)
{
    int64_t end = mono_ms() + RECONNECT_MS;
    long pause = 50;
    char msg[160];

    for (;;) {
        PQfinish(s->c);
        s->c = connect_with(s->conninfo, s->password);
        if (s->c != NULL && PQstatus(s->c) == CONNECTION_OK) {
            PQsetNoticeProcessor(s->c, quiet, NULL);
            if (prepare_all(s) == COFFRE_OK) {
                s->broken = 0;
                return COFFRE_OK;
            }
        }
        conn_msg(s->c, msg, sizeof(msg));
        if (mono_ms() >= end) {
            s->broken = 1;
            snprintf(s->base.errmsg, sizeof(s->base.errmsg),
                     "postgresql: the connection was lost and not regained "
                     "within %d s: %s",
                     RECONNECT_MS / 1000, msg);
            return COFFRE_ERR_UNAVAILABLE;
        }
        pause_ms(pause);
        pause = pause * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : pause * 2;
    }
}

/* Before a statement outside a transaction, or a BEGIN. */
static int
ensure_conn(struct pg *s)
{
    if (!s->broken && s->c != NULL && PQstatus(s->c) == CONNECTION_OK) {
        return COFFRE_OK;
    }
    return pg_reconnect(s);
}

static int
res_ok(const PGresult *r)
{
    ExecStatusType es = PQresultStatus(r);

    return es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK;
}

static PGresult *
exec_k(struct pg *s, enum stmt k, const struct pgp *p)
{
    char name[16];

    snprintf(name, sizeof(name), "coffre_%d", (int)k);
    return PQexecPrepared(s->c, name, p != NULL ? p->n : 0,
                          p != NULL ? p->v : NULL, p != NULL ? p->len : NULL,
                          p != NULL ? p->fmt : NULL, 1);
}

static int pg_run_own_tx(struct pg *s, enum stmt k, const struct pgp *p,
                         PGresult **pr);

/* The failure of a statement whose connection broke. */
static int
run_lost(struct pg *s)
{
    s->broken = 1;
    if (s->in_tx) {
        s->tx_lost = 1;
        s->base.retry = 1;
        return lost_fail(s, "inside a transaction, which the server rolled "
                            "back: retry it");
    }
    return lost_fail(s, "during a statement");
}

/* Run prepared statement k; on success *pr holds the result (PQclear it). */
static int
pg_run(struct pg *s, enum stmt k, const struct pgp *p, PGresult **pr)
{
    PGresult *r;
    int rc;

    *pr = NULL;
    if (s->tx_lost) {
        s->base.retry = 1;
        return lost_fail(s, "earlier in this transaction: roll back, retry");
    }
    if (!s->in_tx && stmt_kind[k] == K_WRITE) {
        return pg_run_own_tx(s, k, p, pr);
    }
    if (!s->in_tx && (rc = ensure_conn(s)) != COFFRE_OK) {
        return rc;
    }
    for (int again = !s->in_tx && stmt_kind[k] == K_READ;; again = 0) {
        r = exec_k(s, k, p);
        if (res_ok(r)) {
            *pr = r;
            return COFFRE_OK;
        }
        if (!conn_lost(s, r)) {
            rc = pg_fail(s, r);
            PQclear(r);
            return rc;
        }
        PQclear(r);
        rc = run_lost(s);
        if (!again || (rc = pg_reconnect(s)) != COFFRE_OK) {
            return rc;
        }
    }
}

/* Run k and keep only the number of rows it affected or returned. */
static int
pg_count(struct pg *s, enum stmt k, const struct pgp *p, long *pn)
{
    PGresult *r;
    int rc = pg_run(s, k, p, &r);

    if (rc == COFFRE_OK) {
        *pn = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r)
                                                   : atol(PQcmdTuples(r));
        PQclear(r);
    }
    return rc;
}

/* Schema and bulk-load statements, outside any transaction: never run
 * again by themselves (they are all idempotent: the caller may). */
static int
pg_simple(struct pg *s, const char *sql)
{
    PGresult *r;
    int rc = ensure_conn(s);

    if (rc != COFFRE_OK) {
        return rc;
    }
    r = PQexec(s->c, sql);
    if (!res_ok(r)) {
        rc = conn_lost(s, r) ? run_lost(s) : pg_fail(s, r);
    }
    PQclear(r);
    return rc;
}

/*
 * An ad hoc statement of store_pg_audit.c (n < 0: PQexec of ${sql}, else
 * PQexecParams with binary results), under pg_run's rules for a lost
 * link: inside a transaction it fails the transaction (retry set);
 * outside one the link is regained first unless STORE_PG_NOCONNECT (a
 * statement of a transaction begun by hand: a new connection would run
 * it outside that transaction), and with STORE_PG_AGAIN a statement
 * whose link broke under it is sent once more on a regained one. NULL
 * and *prc set on failure.
 */
PGresult *
store_pg_exec(struct coffre_store *store, const char *sql, int n,
              const char *const *v, const int *len, const int *fmt, int flags,
              int *prc)
{
    struct pg *s = pg_of(store);
    PGresult *r;

    if (s->tx_lost) {
        s->base.retry = 1;
        *prc = lost_fail(s, "earlier in this transaction: roll back, retry");
        return NULL;
    }
    if (!s->in_tx) {
        if (flags & STORE_PG_NOCONNECT) {
            if (s->broken || s->c == NULL || PQstatus(s->c) != CONNECTION_OK) {
                *prc = lost_fail(s, "during a transaction begun by hand");
                return NULL;
            }
        } else if ((*prc = ensure_conn(s)) != COFFRE_OK) {
            return NULL;
        }
    }
    for (int again = !s->in_tx && (flags & STORE_PG_AGAIN);; again = 0) {
        r = n < 0 ? PQexec(s->c, sql)
                  : PQexecParams(s->c, sql, n, NULL, v, len, fmt, 1);
        if (res_ok(r)) {
            *prc = COFFRE_OK;
            return r;
        }
        if (!conn_lost(s, r)) {
            *prc = pg_fail(s, r);
            PQclear(r);
            return NULL;
        }
        PQclear(r);
        *prc = run_lost(s);
        if (!again || (*prc = pg_reconnect(s)) != COFFRE_OK) {
            return NULL;
        }
    }
}

/* A bigint of a binary result. */
static int64_t
g64(const PGresult *r, int row, int col)
{
    const unsigned char *b = (const unsigned char *)PQgetvalue(r, row, col);
    uint64_t v = 0;

    if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8) {
        return 0;
    }
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | b[i];
    }
    return (int64_t)v;
}

/* BEGIN, on a connection regained first if need be; nothing has happened
 * yet, so a BEGIN whose connection broke is sent again once. */
static int
tx_begin(struct pg *s)
{
    PGresult *r;
    int rc = COFFRE_OK;

    s->base.retry = 0;
    s->base.commit_unknown = 0;
    s->tx_lost = 0;
    for (int i = 0; i < 2; i++) {
        if ((rc = ensure_conn(s)) != COFFRE_OK) {
            return rc;
        }
        r = PQexec(s->c, "BEGIN");
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            PQclear(r);
            s->in_tx = 1;
            return COFFRE_OK;
        }
        if (!conn_lost(s, r)) {
            rc = pg_fail(s, r);
            PQclear(r);
            return rc;
        }
        PQclear(r);
        rc = run_lost(s);
    }
    return rc;
}

static void
tx_abort(struct pg *s)
{
    PGresult *r;

    s->in_tx = 0;
    if (s->tx_lost) {
        s->tx_lost = 0; /* the server rolled it back when the link broke */
        return;
    }
    r = PQexec(s->c, "ROLLBACK");
    if (!res_ok(r) && conn_lost(s, r)) {
        s->broken = 1;
    }
    PQclear(r);
}

/* The flag of txn_done row k(p): 1 found and set, 0 found and clear, -1
 * no row; -2 on failure. */
static int
key_flag(struct pg *s, enum stmt k, const struct pgp *p, int *prc)
{
    PGresult *r = NULL;
    int f = -2;

    if ((*prc = pg_run(s, k, p, &r)) == COFFRE_OK) {
        f = PQntuples(r) != 1             ? -1
            : PQgetlength(r, 0, 0) != 1   ? -2
            : PQgetvalue(r, 0, 0)[0] != 0 ? 1
                                          : 0;
        PQclear(r);
    }
    return f;
}

/* One check on a regained connection: 1 committed, 0 not (now fenced),
 * -1 failed (the reason in errmsg). */
static int
check_key(struct pg *s, const struct pgp *p)
{
    PGresult *r;
    int rc = tx_begin(s), f = -2;

    if (rc == COFFRE_OK) {
        rc = pg_simple(s, "SET LOCAL lock_timeout = '10s'");
    }
    /* seen unfenced: committed, and nothing to write */
    if (rc == COFFRE_OK && (f = key_flag(s, Q_TXN_SEEN, p, &rc)) != 0 &&
        rc == COFFRE_OK) {
        f = key_flag(s, Q_TXN_FENCE, p, &rc);
    }
    if (rc != COFFRE_OK || f < 0) {
        if (s->in_tx) {
            tx_abort(s);
        }
        return -1;
    }
    r = PQexec(s->c, "COMMIT");
    s->in_tx = 0;
    rc = res_ok(r) && strcmp(PQcmdStatus(r), "COMMIT") == 0 ? COFFRE_OK
         : conn_lost(s, r)                                  ? run_lost(s)
                                                            : pg_fail(s, r);
    PQclear(r);
    return rc != COFFRE_OK ? -1 : f == 0;
}

/*
 * The outcome of a commit whose connection broke after COMMIT was sent:
 * on a regained connection, look its key up; if absent, insert it as
 * fenced, which waits for a transaction still holding the key and then
 * says whether the key was there unfenced (the transaction committed) or
 * is now fenced (it did not, and can no longer). A fence whose own commit
 * is lost is run again: it finds its own fenced row.
 */
static int
commit_outcome(struct pg *s)
{
    struct pgp p = {.n = 0};
    char why[160];
    int c = -1;

    p_blob(&p, s->txkey, TXKEY_LEN);
    for (int i = 0; i < 3 && c < 0; i++) {
        c = check_key(s, &p);
        if (c < 0 && !s->broken) {
            break; /* not a lost link: no use trying again */
        }
    }
    if (c == 1) {
        return COFFRE_OK;
    }
    if (c == 0) {
        s->base.retry = 1;
        return lost_fail(s, "after COMMIT was sent; checked: the "
                            "transaction did not commit, retry it");
    }
    snprintf(why, sizeof(why), "%.120s", s->base.errmsg);
    s->base.retry = 0;
    s->base.commit_unknown = 1;
    snprintf(s->base.errmsg, sizeof(s->base.errmsg),
             "postgresql: the connection was lost after COMMIT was sent and "
             "the outcome could not be checked (%.120s)",
             why);
    return COFFRE_ERR_STORE;
}

/* Forget keys older than a day: a lost commit is checked within seconds. */
static void
prune_keys(struct pg *s)
{
    PGresult *r = PQexec(s->c, "DELETE FROM txn_done WHERE at < now() - "
                               "interval '1 day'");

    PQclear(r);
}

/* COMMIT, recording the transaction's random key in the same round trip. */
static int
tx_commit(struct pg *s)
{
    char hex[2 * TXKEY_LEN + 1], sql[128];
    PGresult *r;
    int rc;

    s->in_tx = 0;
    if (s->tx_lost) {
        s->tx_lost = 0;
        s->base.retry = 1;
        return lost_fail(s, "inside a transaction, which the server rolled "
                            "back: retry it");
    }
    randombytes_buf(s->txkey, sizeof(s->txkey));
    sodium_bin2hex(hex, sizeof(hex), s->txkey, sizeof(s->txkey));
    snprintf(sql, sizeof(sql),
             "INSERT INTO txn_done(key) VALUES('\\x%s'::bytea); COMMIT", hex);
    r = PQexec(s->c, sql);
    if (res_ok(r)) {
        rc = strcmp(PQcmdStatus(r), "COMMIT") == 0 ? COFFRE_OK
                                                   : COFFRE_ERR_STORE;
        PQclear(r);
        if (rc != COFFRE_OK) {
            snprintf(s->base.errmsg, sizeof(s->base.errmsg),
                     "postgresql: the transaction was rolled back");
        } else if (++s->commits % PRUNE_EVERY == 0) {
            prune_keys(s);
        }
        return rc;
    }
    if (!conn_lost(s, r)) {
        rc = pg_fail(s, r);
        PQclear(r);
        s->in_tx = 1;
        tx_abort(s);
        return rc;
    }
    PQclear(r);
    s->broken = 1;
    return commit_outcome(s);
}

static int
tx_open(struct pg *s, int *own)
{
    int rc;

    *own = 0;
    if (s->in_tx) {
        return COFFRE_OK;
    }
    rc = tx_begin(s);
    *own = rc == COFFRE_OK;
    return rc;
}

static int
tx_close(struct pg *s, int own, int rc)
{
    if (!own) {
        return rc;
    }
    if (rc == COFFRE_OK) {
        return tx_commit(s);
    }
    tx_abort(s);
    return rc;
}

/* A write outside a transaction: in one of its own, so that its commit is
 * checked like any other. */
static int
pg_run_own_tx(struct pg *s, enum stmt k, const struct pgp *p, PGresult **pr)
{
    int own, rc = tx_open(s, &own);

    if (rc == COFFRE_OK) {
        rc = pg_run(s, k, p, pr);
    }
    rc = tx_close(s, own, rc);
    if (rc != COFFRE_OK && *pr != NULL) {
        PQclear(*pr);
        *pr = NULL;
    }
    return rc;
}

static int
pg_begin(struct coffre_store *store)
{
    struct pg *s = pg_of(store);

    if (s->in_tx) {
        return COFFRE_ERR_ARG;
    }
    return tx_begin(s);
}

/* A read-only REPEATABLE READ transaction (coffre backup): the snapshot
 * is taken at its first query, so make one. Its commit is a rollback
 * (nothing to commit, and txn_done cannot be written in it). */
static int
pg_begin_snapshot(struct coffre_store *store)
{
    struct pg *s = pg_of(store);
    PGresult *r;
    int rc;

    if (s->in_tx) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = tx_begin(s)) != COFFRE_OK) {
        return rc;
    }
    r = PQexec(s->c, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, "
                     "READ ONLY; SELECT 1 FROM meta LIMIT 1");
    if (!res_ok(r)) {
        rc = conn_lost(s, r) ? run_lost(s) : pg_fail(s, r);
        PQclear(r);
        tx_abort(s);
        return rc;
    }
    PQclear(r);
    s->read_only = 1;
    return COFFRE_OK;
}

static int
pg_commit(struct coffre_store *store)
{
    struct pg *s = pg_of(store);

    if (!s->in_tx) {
        return COFFRE_ERR_ARG;
    }
    if (s->read_only) {
        s->read_only = 0;
        tx_abort(s);
        return COFFRE_OK;
    }
    return tx_commit(s);
}

static int
pg_rollback(struct coffre_store *store)
{
    struct pg *s = pg_of(store);

    if (!s->in_tx) {
        return COFFRE_ERR_ARG;
    }
    s->read_only = 0;
    tx_abort(s);
    return COFFRE_OK;
}

/* ---- meta and keys ------------------------------------------------------ */

static int
meta_key_ok(const char *key)
{
    size_t n;

    if (key == NULL) {
        return 0;
    }
    n = strlen(key);
    return n > 0 && n <= COFFRE_STORE_KEY_MAX && strncmp(key, "store.", 6);
}

/* Fetch column 0 of the single row of k(p) into out; NOTFOUND if none;
 * *pnull (may be NULL) says whether the value was SQL NULL. */
static int
get_blob(struct pg *s, enum stmt k, const struct pgp *p, struct coffre_buf *out,
         int *pnull)
{
    PGresult *r;
    int rc = pg_run(s, k, p, &r);

    if (rc != COFFRE_OK) {
        return rc;
    }
    if (PQntuples(r) == 0) {
        rc = COFFRE_ERR_NOTFOUND;
    } else if (PQgetisnull(r, 0, 0)) {
        if (pnull != NULL) {
            *pnull = 1;
        }
    } else {
        coffre_buf_reset(out);
        rc = coffre_buf_add(out, PQgetvalue(r, 0, 0),
                            (size_t)PQgetlength(r, 0, 0));
    }
    PQclear(r);
    return rc;
}

static int
pg_meta_get(struct coffre_store *s, const char *key, struct coffre_buf *out)
{
    struct pgp p = {.n = 0};

    if (!meta_key_ok(key) || out == NULL) {
        return COFFRE_ERR_ARG;
    }
    p_text(&p, key);
    return get_blob(pg_of(s), Q_META_GET, &p, out, NULL);
}

/* meta_put and meta_add: statement k with the checked key and value; *pn
 * the rows it wrote. */
static int
meta_write(struct coffre_store *s, enum stmt k, const char *key, const void *v,
           size_t len, long *pn)
{
    struct pgp p = {.n = 0};

    if (!meta_key_ok(key) || (v == NULL && len > 0)) {
        return COFFRE_ERR_ARG;
    }
    if (len > COFFRE_STORE_META_MAX) {
        return COFFRE_ERR_TOOBIG;
    }
    p_text(&p, key);
    p_blob(&p, v != NULL ? v : "", len);
    return pg_count(pg_of(s), k, &p, pn);
}

static int
pg_meta_put(struct coffre_store *s, const char *key, const void *v, size_t len)
{
    long n;

    return meta_write(s, Q_META_PUT, key, v, len, &n);
}

static int
pg_meta_add(struct coffre_store *s, const char *key, const void *v, size_t len)
{
    long n = 0;
    int rc = meta_write(s, Q_META_ADD, key, v, len, &n);

    return rc == COFFRE_OK && n == 0 ? COFFRE_ERR_EXISTS : rc;
}

static int
pg_kek_put(struct coffre_store *s, uint32_t version, const void *wrapped,
           size_t len)
{
    struct pgp p = {.n = 0};
    long n = 0;
    int rc;

    if (version == 0 || wrapped == NULL || len == 0 ||
        len > COFFRE_WRAPPED_MAX) {
        return COFFRE_ERR_ARG;
    }
    p_int(&p, version);
    p_blob(&p, wrapped, len);
    rc = pg_count(pg_of(s), Q_KEK_PUT, &p, &n);
    return rc == COFFRE_OK && n == 0 ? COFFRE_ERR_EXISTS : rc;
}

static int
pg_kek_get(struct coffre_store *s, uint32_t version, struct coffre_buf *out)
{
    struct pgp p = {.n = 0};

    if (out == NULL) {
        return COFFRE_ERR_ARG;
    }
    p_int(&p, version);
    return get_blob(pg_of(s), Q_KEK_GET, &p, out, NULL);
}

/* First column of every row: up to cap in v, the row count in *pn. */
static int
collect_ids(struct pg *s, enum stmt k, const struct pgp *p, uint64_t *v,
            size_t cap, size_t *pn)
{
    PGresult *r;
    int rc = pg_run(s, k, p, &r);
    size_t n;

    if (rc != COFFRE_OK) {
        return rc;
    }
    n = (size_t)PQntuples(r);
    for (size_t i = 0; i < n && i < cap; i++) {
        v[i] = (uint64_t)g64(r, (int)i, 0);
    }
    *pn = n;
    PQclear(r);
    return COFFRE_OK;
}

static int
pg_kek_list(struct coffre_store *s, uint32_t *versions, size_t cap, size_t *pn)
{
    uint64_t v[64];
    int rc;

    if (pn == NULL || (versions == NULL && cap > 0)) {
        return COFFRE_ERR_ARG;
    }
    /* versions are few (one per rotation); 64 covers decades */
    rc = collect_ids(pg_of(s), Q_KEK_LIST, NULL, v, 64, pn);
    for (size_t i = 0; rc == COFFRE_OK && i < *pn && i < cap && i < 64; i++) {
        versions[i] = (uint32_t)v[i];
    }
    return rc;
}

static int
pg_kek_delete(struct coffre_store *store, uint32_t version)
{
    struct pg *s = pg_of(store);
    struct pgp p = {.n = 0};
    long n = 0;
    int rc;

    p_int(&p, version);
    rc = pg_count(s, Q_KEK_DELETE, &p, &n);
    if (rc == COFFRE_ERR_STORE && strstr(s->base.errmsg, "23503") != NULL) {
        return COFFRE_ERR_INUSE; /* a data key was added meanwhile */
    }
    if (rc != COFFRE_OK || n > 0) {
        return rc;
    }
    rc = pg_count(s, Q_KEK_EXISTS, &p, &n);
    return rc != COFFRE_OK ? rc
           : n > 0         ? COFFRE_ERR_INUSE
                           : COFFRE_ERR_NOTFOUND;
}

static int
pg_epoch_get(struct coffre_store *s, uint32_t epoch, struct coffre_buf *out)
{
    struct pgp p = {.n = 0};
    int rc, isnull = 0;

    if (out == NULL) {
        return COFFRE_ERR_ARG;
    }
    p_int(&p, epoch);
    rc = get_blob(pg_of(s), Q_EPOCH_GET, &p, out, &isnull);
    return rc == COFFRE_OK && isnull ? COFFRE_ERR_ERASED : rc;
}

static int
pg_epoch_put(struct coffre_store *s, uint32_t epoch, const void *wrapped,
             size_t len)
{
    struct pgp p = {.n = 0};
    struct coffre_buf b;
    long n = 0;
    int rc;

    if (wrapped == NULL || len == 0 || len > COFFRE_WRAPPED_MAX) {
        return COFFRE_ERR_ARG;
    }
    p_int(&p, epoch);
    p_blob(&p, wrapped, len);
    rc = pg_count(pg_of(s), Q_EPOCH_PUT, &p, &n);
    if (rc != COFFRE_OK || n > 0) {
        return rc;
    }
    coffre_buf_init(&b, COFFRE_WRAPPED_MAX);
    rc = pg_epoch_get(s, epoch, &b);
    coffre_buf_free(&b);
    return rc == COFFRE_ERR_ERASED ? rc : COFFRE_ERR_EXISTS;
}

/*
 * A sequence is outside transactions: what it gave is never given again,
 * even after a rollback. An advisory lock makes the n ids consecutive when
 * several processes reserve at once.
 */
static int
pg_id_reserve(struct coffre_store *store, uint64_t n, uint64_t *pfirst)
{
    struct pg *s = pg_of(store);
    struct pgp p = {.n = 0};
    PGresult *r;
    long dummy;
    int rc;

    if (n == 0 || pfirst == NULL || n > (uint64_t)INT64_MAX / 2) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = pg_count(s, Q_ID_LOCK, NULL, &dummy)) != COFFRE_OK) {
        return rc;
    }
    p_int(&p, (int64_t)n);
    rc = pg_run(s, Q_ID_TAKE, &p, &r);
    if (rc == COFFRE_OK) {
        *pfirst = (uint64_t)g64(r, 0, 0) - n + 1;
        PQclear(r);
    }
    (void)pg_count(s, Q_ID_UNLOCK, NULL, &dummy);
    return rc;
}

/* ---- persons ---------------------------------------------------------- */

static int
check_row(const struct coffre_store_person *row)
{
    if (row == NULL || row->id == 0 || row->id > (uint64_t)INT64_MAX ||
        row->state < 0 || row->state >= COFFRE_STATE_COUNT ||
        row->state == COFFRE_STATE_ERASED ||
        (row->tag_mask >> COFFRE_TAG_COUNT) != 0) {
        return COFFRE_ERR_ARG;
    }
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        if (row->ct[c] != NULL && row->ct_len[c] > COFFRE_STORE_CT_MAX) {
            return COFFRE_ERR_TOOBIG;
        }
    }
    return COFFRE_OK;
}

static int
check_dkey(const struct coffre_store_dkey *dk, uint64_t id, uint32_t epoch)
{
    if (dk->id != id || dk->epoch != epoch || dk->len == 0 ||
        dk->len > COFFRE_WRAPPED_MAX || dk->kek_version == 0 ||
        id > (uint64_t)INT64_MAX) {
        return COFFRE_ERR_ARG;
    }
    return COFFRE_OK;
}

/* $1..$18 of Q_P_INSERT / Q_P_UPDATE. */
static void
p_person(struct pgp *p, const struct coffre_store_person *row)
{
    p_int(p, (int64_t)row->id);
    p_int(p, row->state);
    p_int(p, row->epoch);
    p_int(p, row->dk_gen);
    p_int(p, row->retain_until);
    p_int(p, row->deadline);
    p_int(p, row->updated);
    for (int k = 0; k < COFFRE_TAG_COUNT; k++) {
        p_blob(p, (row->tag_mask >> k) & 1u ? row->tags[k] : NULL,
               COFFRE_TAG_LEN);
    }
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        p_blob(p, row->ct[c], row->ct[c] != NULL ? row->ct_len[c] : 0);
    }
}

static int
pg_person_insert(struct coffre_store *s, const struct coffre_store_person *row,
                 const struct coffre_store_dkey *dk)
{
    struct pgp p = {.n = 0};
    long n = 0;
    int rc;

    if ((rc = check_row(row)) != COFFRE_OK) {
        return rc;
    }
    if (dk == NULL || check_dkey(dk, row->id, row->epoch) != COFFRE_OK) {
        return COFFRE_ERR_ARG;
    }
    p_person(&p, row);
    p_int(&p, dk->kek_version);
    p_int(&p, dk->epoch);
    p_blob(&p, dk->wrapped, dk->len);
    rc = pg_count(pg_of(s), Q_P_INSERT, &p, &n);
    return rc == COFFRE_OK && n == 0 ? COFFRE_ERR_EXISTS : rc;
}

/* Lock a person's row: OK if live, NOTFOUND, ERASED. */
static int
lock_person(struct pg *s, uint64_t id)
{
    struct pgp p = {.n = 0};
    PGresult *r;
    int rc;

    if (id == 0 || id > (uint64_t)INT64_MAX) {
        return COFFRE_ERR_NOTFOUND;
    }
    p_int(&p, (int64_t)id);
    if ((rc = pg_run(s, Q_P_LOCK, &p, &r)) != COFFRE_OK) {
        return rc;
    }
    if (PQntuples(r) == 0) {
        rc = COFFRE_ERR_NOTFOUND;
    } else if (g64(r, 0, 0) == COFFRE_STATE_ERASED) {
        rc = COFFRE_ERR_ERASED;
    }
    PQclear(r);
    return rc;
}

static int
p_dkey_update(struct pg *s, const struct coffre_store_dkey *dk, long *pn)
{
    struct pgp p = {.n = 0};

    p_int(&p, (int64_t)dk->id);
    p_int(&p, dk->kek_version);
    p_int(&p, dk->epoch);
    p_blob(&p, dk->wrapped, dk->len);
    return pg_count(s, Q_DK_UPDATE, &p, pn);
}

static int
update_rows(struct pg *s, const struct coffre_store_person *row,
            const struct coffre_store_dkey *dk)
{
    struct pgp p = {.n = 0};
    long n;
    int rc = lock_person(s, row->id);

    if (rc == COFFRE_OK) {
        p_person(&p, row);
        rc = pg_count(s, Q_P_UPDATE, &p, &n);
    }
    if (rc == COFFRE_OK && dk != NULL) {
        rc = p_dkey_update(s, dk, &n);
    }
    return rc;
}

static int
pg_person_update(struct coffre_store *store,
                 const struct coffre_store_person *row,
                 const struct coffre_store_dkey *dk)
{
    struct pg *s = pg_of(store);
    int rc, own;

    if ((rc = check_row(row)) != COFFRE_OK) {
        return rc;
    }
    if (dk != NULL && check_dkey(dk, row->id, row->epoch) != COFFRE_OK) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = tx_open(s, &own)) != COFFRE_OK) {
        return rc;
    }
    return tx_close(s, own, update_rows(s, row, dk));
}

static int
read_blobs(struct pg *s, const PGresult *r, struct coffre_store_person *row)
{
    for (int k = 0; k < COFFRE_TAG_COUNT; k++) {
        if (PQgetisnull(r, 0, 6 + k)) {
            continue;
        }
        if (PQgetlength(r, 0, 6 + k) != COFFRE_TAG_LEN) {
            snprintf(s->base.errmsg, sizeof(s->base.errmsg), "bad tag");
            return COFFRE_ERR_STORE;
        }
        memcpy(row->tags[k], PQgetvalue(r, 0, 6 + k), COFFRE_TAG_LEN);
        row->tag_mask |= 1u << k;
    }
    for (int c = 0; c < COFFRE_CLASS_COUNT; c++) {
        size_t n = (size_t)PQgetlength(r, 0, 11 + c);
        if (PQgetisnull(r, 0, 11 + c)) {
            continue;
        }
        if (n > COFFRE_STORE_CT_MAX) {
            snprintf(s->base.errmsg, sizeof(s->base.errmsg), "bad blob");
            return COFFRE_ERR_STORE;
        }
        if ((row->ct[c] = coffre_pmem_alloc(n + 1)) == NULL) {
            return COFFRE_ERR_NOMEM;
        }
        memcpy(row->ct[c], PQgetvalue(r, 0, 11 + c), n);
        row->ct_len[c] = n;
    }
    return COFFRE_OK;
}

static int
read_dkey(struct pg *s, const PGresult *r, uint64_t id,
          struct coffre_store_dkey *dk)
{
    int n = PQgetlength(r, 0, 19);

    if (PQgetisnull(r, 0, 19) || n <= 0 || n > COFFRE_WRAPPED_MAX) {
        snprintf(s->base.errmsg, sizeof(s->base.errmsg), "bad data key");
        return COFFRE_ERR_STORE;
    }
    dk->id = id;
    dk->kek_version = (uint32_t)g64(r, 0, 17);
    dk->epoch = (uint32_t)g64(r, 0, 18);
    dk->len = (size_t)n;
    memcpy(dk->wrapped, PQgetvalue(r, 0, 19), (size_t)n);
    return COFFRE_OK;
}

static int
pg_person_get(struct coffre_store *store, uint64_t id, unsigned classes,
              struct coffre_store_person *row, struct coffre_store_dkey *dk)
{
    struct pg *s = pg_of(store);
    struct pgp p = {.n = 0};
    PGresult *r;
    int rc;

    if (row == NULL) {
        return COFFRE_ERR_ARG;
    }
    memset(row, 0, sizeof(*row));
    if (id == 0 || id > (uint64_t)INT64_MAX) {
        return COFFRE_ERR_NOTFOUND;
    }
    p_int(&p, (int64_t)id);
    p_int(&p, classes & COFFRE_CLASSES_ALL);
    if ((rc = pg_run(s, Q_P_GET, &p, &r)) != COFFRE_OK) {
        return rc;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        return COFFRE_ERR_NOTFOUND;
    }
    row->id = id;
    row->state = (int)g64(r, 0, 0);
    row->epoch = (uint32_t)g64(r, 0, 1);
    row->dk_gen = (uint32_t)g64(r, 0, 2);
    row->retain_until = g64(r, 0, 3);
    row->deadline = g64(r, 0, 4);
    row->updated = g64(r, 0, 5);
    if (row->state == COFFRE_STATE_ERASED) {
        rc = COFFRE_ERR_ERASED;
    } else if ((rc = read_blobs(s, r, row)) == COFFRE_OK && dk != NULL) {
        rc = read_dkey(s, r, id, dk);
    }
    if (rc != COFFRE_OK && rc != COFFRE_ERR_ERASED) {
        coffre_store_person_clear(row);
    }
    PQclear(r);
    return rc;
}

static int
pg_person_set_state(struct coffre_store *store, uint64_t id, int state,
                    int64_t deadline)
{
    struct pg *s = pg_of(store);
    struct pgp p = {.n = 0};
    long n = 0;
    int rc, own;

    if (state < 0 || state >= COFFRE_STATE_COUNT ||
        state == COFFRE_STATE_ERASED) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = tx_open(s, &own)) != COFFRE_OK) {
        return rc;
    }
    rc = lock_person(s, id);
    if (rc == COFFRE_OK) {
        p_int(&p, (int64_t)id);
        p_int(&p, state);
        p_int(&p, deadline);
        p_int(&p, (int64_t)time(NULL));
        rc = pg_count(s, Q_P_SET_STATE, &p, &n);
    }
    return tx_close(s, own, rc);
}

static int
pg_person_find(struct coffre_store *s, enum coffre_tag_kind kind,
               const unsigned char tag[COFFRE_TAG_LEN], uint64_t *ids,
               size_t cap, size_t *pn)
{
    struct pgp p = {.n = 0};

    if ((unsigned)kind >= COFFRE_TAG_COUNT || tag == NULL || pn == NULL ||
        (ids == NULL && cap > 0)) {
        return COFFRE_ERR_ARG;
    }
    p_blob(&p, tag, COFFRE_TAG_LEN);
    return collect_ids(pg_of(s), (enum stmt)(Q_FIND0 + (int)kind), &p, ids, cap,
                       pn);
}

static int64_t
limit_of(size_t cap)
{
    return cap > (size_t)INT32_MAX ? INT32_MAX : (int64_t)cap;
}

static int
pg_person_list(struct coffre_store *s, int state, const unsigned char *cat,
               uint64_t after, uint64_t *ids, size_t cap, size_t *pn)
{
    struct pgp p = {.n = 0};
    enum stmt k;

    if (pn == NULL || (ids == NULL && cap > 0) || state < -1 ||
        state >= COFFRE_STATE_COUNT) {
        return COFFRE_ERR_ARG;
    }
    *pn = 0;
    if (state == COFFRE_STATE_ERASED || after >= (uint64_t)INT64_MAX) {
        return COFFRE_OK; /* tombstones are not listed */
    }
    k = state < 0 ? (cat == NULL ? Q_LIST_ANY : Q_LIST_CAT)
                  : (cat == NULL ? Q_LIST_STATE : Q_LIST_BOTH);
    p_int(&p, (int64_t)after);
    p_int(&p, limit_of(cap));
    if (state >= 0) {
        p_int(&p, state);
    }
    if (cat != NULL) {
        p_blob(&p, cat, COFFRE_TAG_LEN);
    }
    return collect_ids(pg_of(s), k, &p, ids, cap, pn);
}

static int
pg_person_due(struct coffre_store *s, int which, int64_t now, uint64_t *ids,
              size_t cap, size_t *pn)
{
    struct pgp p = {.n = 0};

    if ((which != 0 && which != 1) || pn == NULL || (ids == NULL && cap > 0)) {
        return COFFRE_ERR_ARG;
    }
    p_int(&p, now);
    p_int(&p, limit_of(cap));
    return collect_ids(pg_of(s), which == 0 ? Q_DUE_VETTING : Q_DUE_RETAIN, &p,
                       ids, cap, pn);
}

static int
pg_person_erase(struct coffre_store *store, uint64_t id)
{
    struct pg *s = pg_of(store);
    struct pgp p = {.n = 0};
    long n;
    int rc, own;

    if ((rc = tx_open(s, &own)) != COFFRE_OK) {
        return rc;
    }
    rc = lock_person(s, id);
    if (rc == COFFRE_OK) {
        p_int(&p, (int64_t)id);
        p_int(&p, (int64_t)time(NULL));
        rc = pg_count(s, Q_P_ERASE, &p, &n);
    }
    return tx_close(s, own, rc);
}

static int
erase_epoch(struct pg *s, uint32_t epoch, uint64_t *pcount)
{
    struct pgp p = {.n = 0};
    PGresult *r;
    long n = 0;
    int rc;

    p_int(&p, epoch);
    /* the epoch row lock serialises two processes erasing one epoch */
    if ((rc = pg_run(s, Q_EPOCH_LOCK, &p, &r)) != COFFRE_OK) {
        return rc;
    }
    rc = PQntuples(r) == 0      ? COFFRE_ERR_NOTFOUND
         : PQgetisnull(r, 0, 0) ? COFFRE_ERR_ERASED
                                : COFFRE_OK;
    PQclear(r);
    if (rc == COFFRE_OK) {
        p_int(&p, (int64_t)time(NULL));
        rc = pg_count(s, Q_EP_ERASE, &p, &n);
        *pcount = (uint64_t)n;
    }
    if (rc == COFFRE_OK) {
        p.n = 1;
        rc = pg_count(s, Q_EPOCH_DESTROY, &p, &n);
    }
    return rc;
}

static int
pg_epoch_erase(struct coffre_store *store, uint32_t epoch, uint64_t *pcount)
{
    struct pg *s = pg_of(store);
    uint64_t count = 0;
    int rc, own;

    if ((rc = tx_open(s, &own)) != COFFRE_OK) {
        return rc;
    }
    rc = tx_close(s, own, erase_epoch(s, epoch, &count));
    if (pcount != NULL) {
        *pcount = rc == COFFRE_OK ? count : 0;
    }
    return rc;
}

/* ---- data keys ------------------------------------------------------ */

static int
pg_dkey_list_below(struct coffre_store *store, uint32_t version,
                   struct coffre_store_dkey *out, size_t cap, size_t *pn)
{
    struct pg *s = pg_of(store);
    struct pgp p = {.n = 0};
    PGresult *r;
    size_t n;
    int rc;

    if (pn == NULL || (out == NULL && cap > 0)) {
        return COFFRE_ERR_ARG;
    }
    *pn = 0;
    p_int(&p, version);
    p_int(&p, limit_of(cap));
    if ((rc = pg_run(s, Q_DK_BELOW, &p, &r)) != COFFRE_OK) {
        return rc;
    }
    n = (size_t)PQntuples(r);
    for (size_t i = 0; i < n && i < cap && rc == COFFRE_OK; i++) {
        int len = PQgetlength(r, (int)i, 3);
        if (len <= 0 || len > COFFRE_WRAPPED_MAX) {
            snprintf(s->base.errmsg, sizeof(s->base.errmsg), "bad data key");
            rc = COFFRE_ERR_STORE;
            break;
        }
        out[i].id = (uint64_t)g64(r, (int)i, 0);
        out[i].kek_version = (uint32_t)g64(r, (int)i, 1);
        out[i].epoch = (uint32_t)g64(r, (int)i, 2);
        out[i].len = (size_t)len;
        memcpy(out[i].wrapped, PQgetvalue(r, (int)i, 3), (size_t)len);
    }
    PQclear(r);
    *pn = rc == COFFRE_OK ? (n < cap ? n : cap) : 0;
    return rc;
}

static int
pg_dkey_update(struct coffre_store *store, const struct coffre_store_dkey *dk)
{
    struct pg *s = pg_of(store);
    long n = 0;
    int rc;

    if (dk == NULL || check_dkey(dk, dk->id, dk->epoch) != COFFRE_OK) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = p_dkey_update(s, dk, &n)) != COFFRE_OK || n > 0) {
        return rc;
    }
    /* no key row: say why (not locked: only for the error code) */
    rc = lock_person(s, dk->id);
    return rc == COFFRE_OK ? COFFRE_ERR_STORE : rc;
}

static int
pg_dkey_count(struct coffre_store *store, uint32_t version, uint64_t *pn)
{
    struct pgp p = {.n = 0};
    PGresult *r;
    int rc;

    if (pn == NULL) {
        return COFFRE_ERR_ARG;
    }
    p_int(&p, version);
    if ((rc = pg_run(pg_of(store), Q_DK_COUNT, &p, &r)) == COFFRE_OK) {
        *pn = (uint64_t)g64(r, 0, 0);
        PQclear(r);
    }
    return rc;
}

static int
pg_stats(struct coffre_store *store, uint64_t *plive, uint64_t *perased)
{
    PGresult *r;
    int64_t total, erased;
    int rc;

    if ((rc = pg_run(pg_of(store), Q_STATS, NULL, &r)) != COFFRE_OK) {
        return rc;
    }
    total = g64(r, 0, 0);
    erased = g64(r, 0, 1);
    PQclear(r);
    if (plive != NULL) {
        *plive = (uint64_t)(total - erased);
    }
    if (perased != NULL) {
        *perased = (uint64_t)erased;
    }
    return COFFRE_OK;
}

/* ---- raw copy (store.h) ------------------------------------------------ */

static int
pg_person_scan(struct coffre_store *store, uint64_t after,
               struct coffre_store_person *row, struct coffre_store_dkey *dk,
               int *phas_dk)
{
    struct pgp p = {.n = 0};
    PGresult *r;
    uint64_t id;
    int rc;

    if (row == NULL || dk == NULL || phas_dk == NULL ||
        after > (uint64_t)INT64_MAX) {
        return COFFRE_ERR_ARG;
    }
    *phas_dk = 0;
    p_int(&p, (int64_t)after);
    if ((rc = pg_run(pg_of(store), Q_P_NEXT, &p, &r)) != COFFRE_OK) {
        return rc;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        return COFFRE_ERR_NOTFOUND;
    }
    id = (uint64_t)g64(r, 0, 0);
    PQclear(r);
    rc = pg_person_get(store, id, COFFRE_CLASSES_ALL, row, dk);
    if (rc == COFFRE_ERR_ERASED) {
        return COFFRE_OK; /* the tombstone: state, epoch, updated */
    }
    *phas_dk = rc == COFFRE_OK;
    return rc;
}

static int
pg_tomb_insert(struct coffre_store *s, uint64_t id, uint32_t epoch,
               int64_t updated)
{
    struct pgp p = {.n = 0};
    long n = 0;
    int rc;

    if (id == 0 || id > (uint64_t)INT64_MAX) {
        return COFFRE_ERR_ARG;
    }
    p_int(&p, (int64_t)id);
    p_int(&p, epoch);
    p_int(&p, updated);
    rc = pg_count(pg_of(s), Q_TOMB_INSERT, &p, &n);
    return rc == COFFRE_OK && n == 0 ? COFFRE_ERR_EXISTS : rc;
}

static int
pg_epoch_scan(struct coffre_store *s, int64_t after, uint32_t *pepoch,
              struct coffre_buf *wrapped, int *pdestroyed)
{
    struct pgp p = {.n = 0};
    PGresult *r;
    int rc;

    if (pepoch == NULL || wrapped == NULL || pdestroyed == NULL) {
        return COFFRE_ERR_ARG;
    }
    p_int(&p, after);
    if ((rc = pg_run(pg_of(s), Q_EPOCH_NEXT, &p, &r)) != COFFRE_OK) {
        return rc;
    }
    if (PQntuples(r) != 1) {
        rc = COFFRE_ERR_NOTFOUND;
    } else {
        *pepoch = (uint32_t)g64(r, 0, 0);
        *pdestroyed = g64(r, 0, 2) != 0;
        coffre_buf_reset(wrapped);
        rc = coffre_buf_add(wrapped, PQgetvalue(r, 0, 1),
                            (size_t)PQgetlength(r, 0, 1));
    }
    PQclear(r);
    return rc;
}

static int
pg_meta_scan(struct coffre_store *store, const char *after, char *key,
             struct coffre_buf *val)
{
    struct pg *s = pg_of(store);
    struct pgp p = {.n = 0};
    PGresult *r;
    size_t klen;
    int rc;

    if (after == NULL || key == NULL || val == NULL) {
        return COFFRE_ERR_ARG;
    }
    p_text(&p, after);
    if ((rc = pg_run(s, Q_META_NEXT, &p, &r)) != COFFRE_OK) {
        return rc;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        return COFFRE_ERR_NOTFOUND;
    }
    klen = (size_t)PQgetlength(r, 0, 0); /* binary text: the bytes */
    if (klen == 0 || klen > COFFRE_STORE_KEY_MAX) {
        snprintf(s->base.errmsg, sizeof(s->base.errmsg),
                 "postgresql: a meta key is over its cap");
        rc = COFFRE_ERR_STORE;
    } else {
        memcpy(key, PQgetvalue(r, 0, 0), klen);
        key[klen] = '\0';
        coffre_buf_reset(val);
        rc = coffre_buf_add(val, PQgetvalue(r, 0, 1),
                            (size_t)PQgetlength(r, 0, 1));
    }
    PQclear(r);
    return rc;
}

static int
pg_id_next(struct coffre_store *s, uint64_t *pnext)
{
    PGresult *r;
    int rc;

    if (pnext == NULL) {
        return COFFRE_ERR_ARG;
    }
    if ((rc = pg_run(pg_of(s), Q_ID_PEEK, NULL, &r)) == COFFRE_OK) {
        *pnext = (uint64_t)g64(r, 0, 0);
        PQclear(r);
    }
    return rc;
}

static int
pg_id_set_next(struct coffre_store *s, uint64_t next)
{
    struct pgp p = {.n = 0};
    uint64_t cur = 0;
    long n;
    int rc = pg_id_next(s, &cur);

    if (rc == COFFRE_OK && (next < cur || next > (uint64_t)INT64_MAX)) {
        rc = COFFRE_ERR_ARG;
    }
    if (rc == COFFRE_OK) {
        p_int(&p, (int64_t)next);
        rc = pg_count(pg_of(s), Q_ID_SET, &p, &n);
    }
    return rc;
}

/* ---- open and close -------------------------------------------------- */

static void
pg_close(struct coffre_store *store)
{
    struct pg *s = pg_of(store);

    if (s->c != NULL) {
        if (s->in_tx) {
            tx_abort(s);
        }
        PQfinish(s->c);
    }
    if (s->password != NULL) {
        coffre_key_free(s->password, s->pwlen);
    }
    free(s->conninfo);
    free(s);
}

/*
 * Bulk loading (store.h). The statements of one simple query run as one
 * transaction, so the indexes are all dropped or none. Turning it off runs
 * the schema again, whose CREATE INDEX IF NOT EXISTS builds them (as every
 * open does, so a crash in between loses nothing). Prepared statements are
 * planned again by the server.
 */
static int
pg_bulk_load(struct coffre_store *store, int mode)
{
    struct pg *s = pg_of(store);

    if (s->in_tx || mode < COFFRE_BULK_OFF || mode > COFFRE_BULK_NEW) {
        return COFFRE_ERR_ARG;
    }
    if (mode == COFFRE_BULK_OFF) {
        return pg_simple(s, schema_sql);
    }
    return pg_simple(
        s, mode == COFFRE_BULK_NEW
               ? COFFRE_STORE_BULK_DROP_SQL COFFRE_STORE_BULK_DROP_SOURCE_SQL
               : COFFRE_STORE_BULK_DROP_SQL);
}

static int open_conn(struct pg *s, char *msg, size_t cap);
static int keep_auth(struct pg *s, const char *conninfo, const char *password);
static const struct coffre_store_ops pg_ops;

/* A second connection with the first one's conninfo and password (kept
 * for reconnects: it reconnects by itself like the first). */
static int
pg_dup(struct coffre_store *store, struct coffre_store **pnew)
{
    struct pg *o = pg_of(store), *s;
    int rc;

    *pnew = NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    s->base.ops = &pg_ops;
    rc = keep_auth(s, o->conninfo, o->password);
    if (rc == COFFRE_OK) {
        s->c = connect_with(s->conninfo, s->password);
        rc = open_conn(s, store->errmsg, sizeof(store->errmsg));
    }
    if (rc != COFFRE_OK) {
        pg_close(&s->base);
        return rc;
    }
    *pnew = &s->base;
    return COFFRE_OK;
}

static const struct coffre_store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .begin = pg_begin,
    .begin_snapshot = pg_begin_snapshot,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .meta_get = pg_meta_get,
    .meta_put = pg_meta_put,
    .meta_add = pg_meta_add,
    .kek_put = pg_kek_put,
    .kek_get = pg_kek_get,
    .kek_list = pg_kek_list,
    .kek_delete = pg_kek_delete,
    .epoch_put = pg_epoch_put,
    .epoch_get = pg_epoch_get,
    .id_reserve = pg_id_reserve,
    .person_insert = pg_person_insert,
    .person_update = pg_person_update,
    .person_get = pg_person_get,
    .person_set_state = pg_person_set_state,
    .person_find = pg_person_find,
    .person_list = pg_person_list,
    .person_due = pg_person_due,
    .person_erase = pg_person_erase,
    .epoch_erase = pg_epoch_erase,
    .dkey_list_below = pg_dkey_list_below,
    .dkey_update = pg_dkey_update,
    .dkey_count = pg_dkey_count,
    .stats = pg_stats,
    .bulk_load = pg_bulk_load,
    .person_scan = pg_person_scan,
    .tomb_insert = pg_tomb_insert,
    .epoch_scan = pg_epoch_scan,
    .meta_scan = pg_meta_scan,
    .id_next = pg_id_next,
    .id_set_next = pg_id_set_next,
    .audit_append = store_pg_audit_append,
    .audit_read = store_pg_audit_read,
    .audit_size = store_pg_audit_size,
    .checkpoint_put = store_pg_checkpoint_put,
    .checkpoint_get = store_pg_checkpoint_get,
    .audit_signer_lock = store_pg_audit_signer_lock,
    .dup = pg_dup,
    .meta_get_locked = store_pg_meta_get_locked,
    .guard_open = store_pg_guard_open,
    .guard_observe = store_pg_guard_observe,
    .guard_reinstate = store_pg_guard_reinstate,
    .guard_list = store_pg_guard_list,
};

/* The library never prints: PostgreSQL notices are dropped. */
static void
quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static int
prepare_all(struct pg *s)
{
    char name[16];
    PGresult *r;
    int rc = COFFRE_OK;

    for (int k = 0; k < Q__COUNT && rc == COFFRE_OK; k++) {
        snprintf(name, sizeof(name), "coffre_%d", k);
        r = PQprepare(s->c, name, stmt_sql[k], 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            rc = pg_fail(s, r);
        }
        PQclear(r);
    }
    return rc;
}

/* Connect: the conninfo expanded first, then the password (if any), so
 * that the password given wins over anything the conninfo carries. */
static PGconn *
connect_with(const char *conninfo, const char *password)
{
    /* later keys win: the conninfo may set its own connect_timeout */
    const char *keys[] = {"connect_timeout", "dbname", "password", NULL};
    const char *vals[] = {CONNECT_TIMEOUT, conninfo, password, NULL};

    if (password == NULL) {
        keys[2] = NULL;
    }
    return PQconnectdbParams(keys, vals, 1);
}

/* What a reconnect needs: the conninfo, the password in locked memory. */
static int
keep_auth(struct pg *s, const char *conninfo, const char *password)
{
    if ((s->conninfo = strdup(conninfo)) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    if (password != NULL) {
        s->pwlen = strlen(password) + 1;
        if ((s->password = coffre_key_alloc(s->pwlen)) == NULL) {
            return COFFRE_ERR_NOMEM;
        }
        memcpy(s->password, password, s->pwlen);
    }
    return COFFRE_OK;
}

/* libpq's message, on one line, into msg. */
static void
conn_msg(PGconn *c, char *msg, size_t cap)
{
    const char *m = c != NULL ? PQerrorMessage(c) : "out of memory";
    size_t n;

    if (msg == NULL || cap == 0) {
        return;
    }
    snprintf(msg, cap, "%s", m);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) {
        msg[--n] = '\0';
    }
    for (size_t i = 0; i < n; i++) {
        msg[i] = msg[i] == '\n' ? ' ' : msg[i];
    }
}

int
coffre_store_open_pg(const char *conninfo, struct coffre_store **ps)
{
    return coffre_store_open_pg_auth(conninfo, NULL, NULL, 0, ps);
}

int
coffre_store_open_pg_auth(const char *conninfo, const char *password, char *msg,
                          size_t cap, struct coffre_store **ps)
{
    struct pg *s;
    int rc;

    if (conninfo == NULL || ps == NULL) {
        return COFFRE_ERR_ARG;
    }
    *ps = NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    s->base.ops = &pg_ops;
    if (keep_auth(s, conninfo, password) != COFFRE_OK) {
        pg_close(&s->base);
        return COFFRE_ERR_NOMEM;
    }
    s->c = connect_with(conninfo, password);
    rc = open_conn(s, msg, cap);
    if (rc != COFFRE_OK) {
        pg_close(&s->base);
        return rc;
    }
    *ps = &s->base;
    return COFFRE_OK;
}

/* Both schemas, unless there already; each is one transaction under a
 * transaction-scoped advisory lock (released even when it fails), run
 * again after a deadlock or serialization failure. */
static int
schema_make(struct pg *s)
{
    PGresult *r = PQexec(s->c, schema_here_sql);
    int here = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
               strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    int rc = COFFRE_OK;

    PQclear(r);
    for (int i = 0; !here && i < 5; i++) {
        s->base.retry = 0;
        rc = pg_simple(s, schema_sql);
        if (rc == COFFRE_OK) {
            rc = store_pg_audit_schema(&s->base);
        }
        if (rc != COFFRE_ERR_UNAVAILABLE || !s->base.retry || s->broken) {
            break;
        }
        pause_ms(20L << i);
    }
    s->base.retry = 0;
    return rc;
}

/* Check the new connection s->c, create the tables, prepare. */
static int
open_conn(struct pg *s, char *msg, size_t cap)
{
    int rc;

    if (s->c == NULL) {
        rc = COFFRE_ERR_NOMEM;
    } else if (PQstatus(s->c) != CONNECTION_OK) {
        conn_msg(s->c, msg, cap);
        rc = COFFRE_ERR_UNAVAILABLE;
    } else {
        PQsetNoticeProcessor(s->c, quiet, NULL);
        rc = schema_make(s);
        if (rc == COFFRE_OK) {
            rc = prepare_all(s);
        }
        if (rc == COFFRE_OK) {
            prune_keys(s);
        }
        if (rc != COFFRE_OK && msg != NULL && cap > 0) {
            snprintf(msg, cap, "%s", s->base.errmsg);
        }
    }
    return rc;
}
