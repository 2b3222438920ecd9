/* pg.c -- the PostgreSQL engine's table (engine.h), over libpq.
 *
 * Each store connection is one PostgreSQL session. A statement is prepared
 * on the server once per connection (PQprepare, named "t<n>") and run with
 * PQexecPrepared, parameters in text form, results in text form; a step
 * walks the rows of the result the run returned. Statements written for
 * SQLite number their parameters ?N: they are rewritten to $N when
 * prepared (outside quoted text), so core's fixed SQL texts need no copy
 * per engine where the rest of their wording is common.
 *
 * Every round trip is sent without blocking (PQsend*, PQflush) and its
 * reply read as the socket becomes ready. How the connection waits is the
 * caller's (store_set_io_wait): a worker's task yields to its loop, so a
 * round trip never stalls a worker loop (core/task.c); the writer and the
 * job runners, threads of their own, block in poll(2). A wait is bounded:
 * a server that does not answer in time is treated as gone.
 *
 * A connection that broke (the server restarted, a backend terminated) is
 * reset on its next use, with at most one attempt a second while the server
 * stays away: until then statements answer RC_UNAVAILABLE (503). Statements
 * prepared before a reset are prepared again on their next run. A break
 * inside a transaction loses it: every statement fails until the caller's
 * ROLLBACK, so a COMMIT can never report a transaction the server dropped.
 *
 * Pooled mode (store_set_sessions(STORE_SESSIONS_SHARED): a pooler such as
 * PgBouncer in pool_mode = transaction hands a server session to a
 * connection for one transaction, then to another one) keeps nothing on a
 * session past a transaction: no statement is named, none is deallocated;
 * a statement's text is parsed and described once (unnamed, in one round
 * trip: its parameter types) and each run sends it again, unnamed (Parse,
 * Bind, Execute and Sync in one message, PQsendQueryParams). A read
 * connection's read-only mode and statement timeout, settings of its
 * session otherwise, are set for each transaction (READ_GUARD_SQL), in the
 * same round trip as the statement: before it outside a transaction (the
 * statements before one Sync are one transaction), after a BEGIN. The
 * session's client_encoding and TimeZone are set once: PgBouncer keeps
 * them per client and sets them on whichever server session it hands out.
 * The direct path is the one above, unchanged.
 *
 * Column types follow the result's type OIDs the way
 * SQLite reports its storage classes: integers and booleans (1/0) are INT,
 * floats FLOAT, an integral NUMERIC INT, bytea BLOB, the rest TEXT. */
#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/chrono.h"
#include "base/log.h"
#include "base/str.h"
#include "store/engine.h"
#include "store/pg_int.h"

/* Type OIDs (server/catalog/pg_type_d.h, stable across versions). */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_OID = 26,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_NUMERIC = 1700,
};

/* A reply's longest wait: a worker's connection holds a request (its
 * statements are also stopped by the server's statement_timeout, below
 * this), the writer's a schema change on a large table. */
#define READ_WAIT_MS (READ_TIMEOUT_MS + 1000)
/* A read's statement_timeout on the server (a literal: READ_GUARD_SQL
 * spells it). */
#define READ_TIMEOUT_MS 14000
#define SPELL(x) #x
#define SPELLED(x) SPELL(x)
#define WRITE_WAIT_MS (10 * 60 * 1000)
/* After a failed reconnect, the next attempt waits this long. */
#define RECONNECT_PAUSE_MS 1000

/* Commits of this process's connections (store_data_version): the list and
 * count caches are keyed by it, as by SQLite's data_version. */
static _Atomic int64_t commits;

/* Writes per table, for store_table_version: a table's writes count in one
 * of TABLE_BUCKETS counters (by its name's hash; two tables sharing one only
 * invalidate each other more often), bumped when the transaction that wrote
 * ends, as commits is. A write whose table a statement does not say plainly
 * (raw SQL, DDL, a CTE) counts in any_table_writes, which every table's
 * version includes. */
#define TABLE_BUCKETS 256
static _Atomic int64_t table_writes[TABLE_BUCKETS];
static _Atomic int64_t any_table_writes;

/* store_set_sessions: enum store_sessions, settled by the first open when
 * AUTO. */
static _Atomic int sessions = STORE_SESSIONS_AUTO;

/* Pooled mode's settings of a read transaction (in direct mode those of the
 * read connection's session, setup_session), one statement of the extended
 * protocol; and without the read-only mode, after a BEGIN that says READ
 * WRITE (pg_query.c's scratch transaction). */
#define GUARD_TIMEOUTS                                                                             \
    "set_config('statement_timeout', '" SPELLED(                                                   \
        READ_TIMEOUT_MS) "', true), "                                                              \
                         "set_config('client_connection_check_interval', '1000', true)"
/* Pooled mode: what a session-level SET of another client of the pooler
 * left on a shared session is undone for each of our transactions, in the
 * same statement as the guard (no round trip of its own). PgBouncer 1.18 in
 * pool_mode = transaction runs no reset query between clients, and such SETs
 * come from tarmac's own tools: a restore's psql runs the dump's header
 * (`set_config('search_path', '', false)`, row_security, timeouts,
 * default_tablespace...) inside its one transaction, so they stay on the
 * server session it committed on; pg_dump sends its own (search_path,
 * DateStyle, IntervalStyle, extra_float_digits, timeouts, row_security)
 * each as a transaction before its BEGIN, left on a session when another
 * client took it in between. With `search_path = ''` every table name of
 * ours fails (tests/e2e/cluster/pgbouncer.test.mjs). Not done in the tools
 * instead: pg_dump's settings cannot be wrapped (no PGOPTIONS through
 * PgBouncer), and any other client of the pooler can do the same.
 * set_config(name, NULL, true) is `SET LOCAL name TO DEFAULT`: the
 * session's reset value (server, database and role defaults), which a
 * session SET does not change, so the operator's defaults still hold.
 * TimeZone is ours (UTC, setup_session); client_encoding and
 * standard_conforming_strings PgBouncer itself sets per client, and libpq
 * must see them change, so they are left to it. What is fixed at a
 * transaction's first statement (default_transaction_read_only,
 * default_transaction_isolation) cannot be undone here; neither tool sets
 * it. */
#define SESSION_DEFAULTS                                                                           \
    "set_config('search_path', NULL, true), set_config('row_security', NULL, true), "              \
    "set_config('DateStyle', NULL, true), set_config('IntervalStyle', NULL, true), "               \
    "set_config('extra_float_digits', NULL, true), set_config('bytea_output', NULL, true), "       \
    "set_config('lock_timeout', NULL, true), "                                                     \
    "set_config('idle_in_transaction_session_timeout', NULL, true), "                              \
    "set_config('default_tablespace', NULL, true), "                                               \
    "set_config('default_table_access_method', NULL, true), set_config('TimeZone', 'UTC', true)"
static const char READ_GUARD_SQL[] =
    "SELECT set_config('transaction_read_only', 'on', true), " GUARD_TIMEOUTS ", " SESSION_DEFAULTS;
static const char TIMEOUT_GUARD_SQL[] = "SELECT " GUARD_TIMEOUTS ", " SESSION_DEFAULTS;
/* A write's: the statement timeout the writer has directly (the default). */
static const char WRITE_GUARD_SQL[] =
    "SELECT set_config('statement_timeout', NULL, true), "
    "set_config('client_connection_check_interval', NULL, true), " SESSION_DEFAULTS;

struct pconn {
    PGconn *pg; /* NULL after a break closed it, until the reconnect */
    char *url;  /* to connect again */
    enum store_open_mode mode;
    unsigned next_name;
    int64_t changes;
    char sqlstate[6];  /* of the last failed statement */
    char detail[1024]; /* its DETAIL (unique columns are named there) */
    store_io_wait_fn *wait;
    void *wait_ctx;
    struct budget *budget; /* the request's (store_set_budget); NULL: none */
    unsigned generation;   /* reconnects so far: statements of older ones are gone */
    int64_t retry_at_ms;   /* no reconnect before this (monotonic ms) */
    bool must_reset;       /* a reply timed out: the session cannot go on */
    bool in_tx;            /* a transaction is open on the server */
    bool is_tx_lost;       /* broke inside one: everything fails until ROLLBACK */
    bool is_dirty;         /* wrote since the last commit */
    bool is_dirty_any;     /* ... to a table not known (any_table_writes) */
    uint64_t dirty_tables[TABLE_BUCKETS / 64]; /* ... to these buckets */
    bool is_pooled; /* sessions are shared: nothing kept on one (pooled mode) */
    char **dealloc; /* statements to DEALLOCATE before the next round trip */
    size_t dealloc_count, dealloc_cap;
    char *later[STORE_LATER_MAX]; /* store_exec_later: sent with the next statement */
    size_t later_count;
};

struct pstmt {
    struct pconn *c;
    char name[16];
    char *sql; /* with $N parameters */
    int nparams;
    char **values; /* text form, owned; NULL = SQL NULL */
    /* What the server inferred for each parameter (described once at
     * prepare); a number is written to fit it (1/0 as a boolean's t/f).
     * Where it cannot be (an int64 for an int4 the server guessed from
     * `?1 + 0`, a fraction for an integer), the bind asks for its own type
     * (types[i]: INT8 or FLOAT8, 0 = the server's), and a run whose types
     * differ from those the statement was prepared with (prepared_types)
     * prepares it again with them. */
    Oid *server_types;
    Oid *types;
    Oid *prepared_types;
    PGresult *res; /* of the last run */
    int row, nrows;
    unsigned generation; /* the connection's when prepared */
    int table_bucket;    /* the table it writes (store_pg_table_bucket), -1: not known */
    bool has_run;
};

int store_pg_name_bucket(const char *name, size_t len)
{
    return (int)(str_hash((struct str){name, len}) % TABLE_BUCKETS);
}

int store_pg_table_bucket(const char *sql)
{
    static const char *const heads[] = {"INSERT INTO ", "UPDATE ", "DELETE FROM "};
    const char *p = NULL;
    for (size_t i = 0; !p && i < sizeof(heads) / sizeof(heads[0]); i++) {
        if (strncmp(sql, heads[i], strlen(heads[i])) == 0)
            p = sql + strlen(heads[i]);
    }
    if (!p)
        return -1;
    char name[128];
    size_t n = 0;
    if (*p == '"') {
        for (p++; *p && n < sizeof(name); p++) {
            if (*p == '"') {
                if (p[1] != '"')
                    break;
                p++; /* "" inside: one quote */
            }
            name[n++] = *p;
        }
        if (*p != '"')
            return -1;
        p++;
    } else {
        for (; (isalnum((unsigned char)*p) || *p == '_') && n < sizeof(name); p++)
            name[n++] = (char)tolower((unsigned char)*p);
    }
    /* "schema"."table", or anything but the end of the name: not plain */
    if (n == 0 || n == sizeof(name) || *p == '.')
        return -1;
    return store_pg_name_bucket(name, n);
}

/* text on one line for a log value: newlines become spaces, double quotes
 * single ones, trailing space dropped. */
static void one_line(const char *text, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = text; *p && n + 1 < cap; p++)
        out[n++] = *p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p == '"' ? '\'' : *p;
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

/* Logs a failed result and maps its SQLSTATE: 23xxx (constraints) conflict,
 * 40001/40P01 (serialization, deadlock) busy, 57014 (canceled: a statement
 * timeout) over budget, a lost connection, 08xxx (connection), 57Pxx
 * (shutdown, terminated) and 53300 (too many connections) unavailable,
 * 53xxx/58xxx (resources, system) I/O, 22xxx/42xxx (data, syntax) invalid. */
static enum rc fail_rc(struct pconn *c, const PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
    snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", state ? state : "");
    snprintf(c->detail, sizeof(c->detail), "%s", detail ? detail : "");
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char msg[512];
    one_line(primary ? primary : PQerrorMessage(c->pg), msg, sizeof(msg));
    if (!state || state[0] != '2' || state[1] != '3')
        log_warn("msg=\"postgresql %s failed\" sqlstate=%s error=\"%s\"", what, state ? state : "-",
                 msg);
    if (PQstatus(c->pg) != CONNECTION_OK || !state)
        return RC_UNAVAILABLE;
    if (state[0] == '2' && state[1] == '3')
        return RC_CONFLICT;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
        return RC_BUSY;
    if (strcmp(state, "57014") == 0)
        return RC_OVER_BUDGET;
    if ((state[0] == '0' && state[1] == '8') || strncmp(state, "57P", 3) == 0 ||
        strcmp(state, "53300") == 0)
        return RC_UNAVAILABLE;
    if ((state[0] == '5' && state[1] == '3') || (state[0] == '5' && state[1] == '7') ||
        (state[0] == '5' && state[1] == '8'))
        return RC_IO;
    if (strcmp(state, "54000") == 0)
        return RC_TOO_LARGE;
    if ((state[0] == '2' && state[1] == '2') || (state[0] == '4' && state[1] == '2'))
        return RC_INVALID;
    return RC_INTERNAL;
}

/* sql with each STORE_ROW_KEY written as a rowid column (store.h), or
 * NULL when it has none. */
static char *with_row_keys(const char *sql)
{
    static const char col[] = ", rowid BIGINT GENERATED BY DEFAULT AS IDENTITY";
    const char *mark = strstr(sql, STORE_ROW_KEY);
    if (!mark)
        return NULL;
    size_t marks = 0;
    for (const char *p = mark; p; p = strstr(p + 1, STORE_ROW_KEY))
        marks++;
    size_t cap = strlen(sql) + marks * sizeof(col) + 1, n = 0;
    char *out = xmalloc(cap);
    for (const char *p = sql; *p;) {
        if (strncmp(p, STORE_ROW_KEY, sizeof(STORE_ROW_KEY) - 1) == 0) {
            memcpy(out + n, col, sizeof(col) - 1);
            n += sizeof(col) - 1;
            p += sizeof(STORE_ROW_KEY) - 1;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return out;
}

static void on_notice(void *arg, const char *message);

static int64_t mono_ms(void)
{
    return (int64_t)(chrono_mono_ns() / 1000000u);
}

/* poll(2) on fd for up to limit ms: RC_OK ready, RC_BUSY timed out. */
static enum rc poll_fd(int fd, bool want_write, int64_t limit)
{
    struct pollfd p = {.fd = fd, .events = (short)(POLLIN | (want_write ? POLLOUT : 0))};
    for (;;) {
        int n = poll(&p, 1, (int)limit);
        if (n > 0)
            return RC_OK;
        if (n == 0)
            return RC_BUSY;
        if (errno != EINTR)
            return RC_IO;
    }
}

/* Waits until the socket is ready: the connection's wait (a task yields),
 * else poll(2). RC_BUSY when the reply took too long; RC_OVER_BUDGET when
 * the request's budget ran out first (a statement on the server is stopped
 * mid-way by dropping its session: client_connection_check_interval). */
static enum rc wait_io(struct pconn *c, bool want_write)
{
    int fd = PQsocket(c->pg);
    if (fd < 0)
        return RC_UNAVAILABLE;
    int64_t limit = c->mode == STORE_OPEN_WRITE ? WRITE_WAIT_MS : READ_WAIT_MS;
    bool by_budget = false;
    if (c->budget && c->budget->limit_ns) {
        if (budget_is_over(c->budget))
            return RC_OVER_BUDGET;
        uint64_t spent = budget_spent_ns(c->budget);
        int64_t left = (int64_t)((c->budget->limit_ns - spent) / 1000000u) + 1;
        if (left < limit) {
            limit = left;
            by_budget = true;
        }
    }
    enum rc rc = c->wait ? c->wait(c->wait_ctx, fd, want_write, limit) : RC_NOT_FOUND;
    if (rc == RC_NOT_FOUND)
        rc = poll_fd(fd, want_write, limit);
    if (rc == RC_BUSY && by_budget) {
        c->budget->is_over = true;
        return RC_OVER_BUDGET;
    }
    return rc;
}

/* Forgets the commands put off (store_exec_later). */
static void later_clear(struct pconn *c)
{
    for (size_t i = 0; i < c->later_count; i++)
        xfree(c->later[i]);
    c->later_count = 0;
}

static void count_writes(struct pconn *c);

/* The session is gone (or cannot go on): remembered so the next use resets
 * it; a transaction it held is lost. */
static enum rc broke(struct pconn *c, const char *why)
{
    char msg[256];
    one_line(PQerrorMessage(c->pg), msg, sizeof(msg));
    log_warn("msg=\"postgresql connection lost\" why=\"%s\" error=\"%s\"", why, msg);
    c->must_reset = true;
    /* Closed now, not at the next use: the server stops what it still runs
     * for this session (client_connection_check_interval). */
    PQfinish(c->pg);
    c->pg = NULL;
    if (c->in_tx)
        c->is_tx_lost = true;
    c->in_tx = false;
    /* Counted, not dropped: a COMMIT whose answer was lost may have
     * committed (a count too many only misses a cache). */
    count_writes(c);
    later_clear(c); /* they belonged to the lost transaction */
    return RC_UNAVAILABLE;
}

/* A round trip that could not finish (w: how its wait ended): the session
 * is given up; the answer is the budget's when that ran out. */
static enum rc lost(struct pconn *c, enum rc w, const char *doing)
{
    enum rc rc = broke(c, w == RC_BUSY ? "timeout" : w == RC_OVER_BUDGET ? "over budget" : doing);
    return w == RC_OVER_BUDGET ? w : rc;
}

/* Each result of a round trip: whether it wrote, and where (bucket: the
 * table of the statement it answers, -1 when not known). */
static void note_write(struct pconn *c, const PGresult *r, int bucket)
{
    const char *tag = PQcmdStatus((PGresult *)r);
    static const char *const writes[] = {"INSERT", "UPDATE",   "DELETE", "CREATE", "ALTER",
                                         "DROP",   "TRUNCATE", "MERGE",  "COPY"};
    for (size_t i = 0; tag && i < sizeof(writes) / sizeof(writes[0]); i++) {
        if (strncmp(tag, writes[i], strlen(writes[i])) != 0)
            continue;
        c->is_dirty = true;
        /* only the three plain writes stay within the table they name */
        if (bucket >= 0 && i < 3)
            c->dirty_tables[bucket / 64] |= 1ull << (bucket % 64);
        else
            c->is_dirty_any = true;
        return;
    }
}

/* The commit and table counts of what the connection wrote, once it is
 * outside a transaction again (after a ROLLBACK too: a count too many only
 * misses a cache). */
static void count_writes(struct pconn *c)
{
    if (!c->is_dirty)
        return;
    if (c->is_dirty_any)
        atomic_fetch_add(&any_table_writes, 1);
    for (size_t w = 0; w < TABLE_BUCKETS / 64; w++) {
        for (uint64_t bits = c->dirty_tables[w]; bits; bits &= bits - 1)
            atomic_fetch_add(&table_writes[w * 64 + (size_t)__builtin_ctzll(bits)], 1);
        c->dirty_tables[w] = 0;
    }
    atomic_fetch_add(&commits, 1);
    c->is_dirty = c->is_dirty_any = false;
}

/* After a round trip: whether a transaction is open; the writes counted
 * when it is not. */
static void after_result(struct pconn *c)
{
    PGTransactionStatusType t = PQtransactionStatus(c->pg);
    c->in_tx = t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
    if (!c->in_tx)
        count_writes(c);
}

/* Sends what libpq holds of the request, waiting while the socket is full. */
static enum rc flush_out(struct pconn *c)
{
    for (;;) {
        int f = PQflush(c->pg);
        if (f == 0)
            return RC_OK;
        enum rc w = f < 0 ? RC_UNAVAILABLE : wait_io(c, true);
        if (w || !PQconsumeInput(c->pg))
            return lost(c, w, "send");
    }
}

/* Keeps the first failed result of a round trip, else the last: whether r
 * replaces *keep (else r is cleared). */
static void keep_result(PGresult **keep, PGresult *r)
{
    ExecStatusType k = *keep ? PQresultStatus(*keep) : PGRES_COMMAND_OK;
    if (k != PGRES_COMMAND_OK && k != PGRES_TUPLES_OK) {
        PQclear(r);
        return;
    }
    PQclear(*keep);
    *keep = r;
}

static bool is_ok(const PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/* Reads a round trip's results (its request flushed): up to the NULL that
 * ends them or, for `pipelined` queries sent with one sync (libpq pipeline
 * mode, left at the end), up to the sync's own result (each query's results
 * end with a NULL: more NULLs than queries would mean libpq lost count,
 * never seen, and waiting on would hang). Returns the first failed result,
 * else the last one of query number `want` (from 0; SIZE_MAX: of any), the
 * caller clears it; NULL with *rc when the connection failed. */
static PGresult *read_results(struct pconn *c, size_t pipelined, size_t want, int bucket,
                              enum rc *rc)
{
    PGresult *keep = NULL;
    size_t ends = 0;
    for (;;) {
        while (PQisBusy(c->pg)) {
            enum rc w = wait_io(c, false);
            if (w || !PQconsumeInput(c->pg)) {
                PQclear(keep);
                *rc = lost(c, w, "receive");
                return NULL;
            }
        }
        PGresult *r = PQgetResult(c->pg);
        if (!r) {
            if (!pipelined || ++ends > pipelined)
                break;
            continue;
        }
        if (pipelined && PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        note_write(c, r, want == SIZE_MAX || ends == want ? bucket : -1);
        if (want == SIZE_MAX || ends == want || !is_ok(r))
            keep_result(&keep, r);
        else
            PQclear(r);
    }
    if (keep && pipelined && !PQexitPipelineMode(c->pg)) {
        PQclear(keep);
        keep = NULL;
    }
    if (!keep) {
        *rc = broke(c, pipelined ? "pipeline" : "no result");
        return NULL;
    }
    after_result(c);
    if (PQstatus(c->pg) != CONNECTION_OK)
        c->must_reset = true;
    return keep;
}

/* After a PQsend* (sent: what it returned): flushes it and reads every
 * result, as read_results (bucket: the table the query writes, -1: not
 * known). */
static PGresult *reply_to(struct pconn *c, int sent, int bucket, enum rc *rc)
{
    *rc = RC_OK;
    if (!sent) {
        *rc = broke(c, "send");
        return NULL;
    }
    if ((*rc = flush_out(c)) != RC_OK)
        return NULL;
    return read_results(c, 0, SIZE_MAX, bucket, rc);
}

static PGresult *reply(struct pconn *c, int sent, enum rc *rc)
{
    return reply_to(c, sent, -1, rc);
}

/* Runs sql (one or more statements, no parameters) and drops the result. */
static enum rc run_simple(struct pconn *c, const char *sql, const char *what)
{
    enum rc rc;
    PGresult *r = reply(c, PQsendQuery(c->pg, sql), &rc);
    if (!r)
        return rc;
    ExecStatusType s = PQresultStatus(r);
    rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? RC_OK : fail_rc(c, r, what);
    if (!rc)
        c->changes = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return rc;
}

/* UTC and UTF-8 whatever the server's defaults; a worker's connection
 * refuses writes as SQLite's query_only does, and stops a statement that
 * runs past its wait (a request's budget ends sooner: core/record/cost):
 * in pooled mode for each transaction instead (guard_for). */
static enum rc setup_session(struct pconn *c)
{
    if (PQsetnonblocking(c->pg, 1) != 0)
        return RC_UNAVAILABLE;
    char sql[256];
    if (c->mode == STORE_OPEN_WRITE || c->is_pooled)
        snprintf(sql, sizeof(sql), "SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC';");
    else
        snprintf(sql, sizeof(sql),
                 "SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'; "
                 "SET default_transaction_read_only = on; SET statement_timeout = %d; "
                 "SET client_connection_check_interval = 1000;",
                 READ_TIMEOUT_MS);
    return run_simple(c, sql, "session setup");
}

/* A new session in place of a broken one, without blocking the thread
 * (PQconnectStart/PQconnectPoll over wait_io); at most one attempt a
 * RECONNECT_PAUSE_MS while the server stays away. */
static enum rc reconnect(struct pconn *c)
{
    int64_t now = mono_ms();
    if (now < c->retry_at_ms)
        return RC_UNAVAILABLE;
    c->retry_at_ms = now + RECONNECT_PAUSE_MS;
    PQfinish(c->pg);
    c->pg = PQconnectStart(c->url);
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD)
        return RC_UNAVAILABLE;
    PQsetNoticeProcessor(c->pg, on_notice, NULL);
    struct budget *b = c->budget; /* a reconnect is not the request's statement */
    c->budget = NULL;
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
    enum rc w = RC_OK;
    while (ps != PGRES_POLLING_OK && ps != PGRES_POLLING_FAILED &&
           (w = wait_io(c, ps == PGRES_POLLING_WRITING)) == RC_OK)
        ps = PQconnectPoll(c->pg);
    c->budget = b;
    if (ps != PGRES_POLLING_OK) {
        char m[256];
        one_line(w == RC_BUSY ? "no answer in time" : PQerrorMessage(c->pg), m, sizeof(m));
        log_warn("msg=\"postgresql reconnect failed\" error=\"%s\"", m);
        return RC_UNAVAILABLE;
    }
    c->must_reset = false;
    c->generation++;
    c->in_tx = false;
    count_writes(c);
    for (size_t i = 0; i < c->dealloc_count; i++)
        xfree(c->dealloc[i]); /* went with the old session */
    c->dealloc_count = 0;
    enum rc rc = setup_session(c);
    if (rc)
        return rc;
    c->retry_at_ms = 0;
    log_info("msg=\"postgresql connection restored\" generation=%u", c->generation);
    return RC_OK;
}

/* Whether sql opens a transaction (tarmac's own texts: upper case, first). */
static bool is_begin(const char *sql)
{
    return strncmp(sql, "BEGIN", 5) == 0;
}

/* The guard a round trip starting with sql needs (pooled mode, outside a
 * transaction), NULL when none: a write's, a read's, or after a read's
 * BEGIN only the timeouts when it says READ WRITE. */
static const char *guard_for(const struct pconn *c, const char *sql)
{
    if (!c->is_pooled || c->in_tx)
        return NULL;
    if (c->mode != STORE_OPEN_READ)
        return WRITE_GUARD_SQL;
    return sql && is_begin(sql) && strstr(sql, "READ WRITE") ? TIMEOUT_GUARD_SQL : READ_GUARD_SQL;
}

/* Whether sql ends a transaction by rolling it back (not to a savepoint). */
static bool is_rollback(const char *sql)
{
    return strncmp(sql, "ROLLBACK", 8) == 0 && strncmp(sql, "ROLLBACK TO", 11) != 0;
}

/* Before a round trip: a lost transaction refuses everything but its
 * ROLLBACK (*done: answered without the server), a broken session is
 * reset, and statements the cache dropped are deallocated. */
static enum rc ready(struct pconn *c, const char *sql, bool *done)
{
    *done = false;
    if (c->is_tx_lost) {
        later_clear(c);
        if (!sql || !is_rollback(sql))
            return RC_UNAVAILABLE;
        c->is_tx_lost = false;
        *done = true;
        return RC_OK;
    }
    if (c->must_reset || PQstatus(c->pg) != CONNECTION_OK) {
        enum rc rc = reconnect(c);
        if (rc)
            return rc;
    }
    if (c->dealloc_count) {
        /* "DEALLOCATE t<n>;" is at most 28 bytes: the bound holds them all. */
        struct buf b;
        buf_init(&b, 32 * c->dealloc_count + 1);
        enum rc rc = RC_OK;
        for (size_t i = 0; i < c->dealloc_count; i++) {
            if (!rc)
                rc = buf_append_cstr(&b, "DEALLOCATE ");
            if (!rc)
                rc = buf_append_cstr(&b, c->dealloc[i]);
            if (!rc)
                rc = buf_append_cstr(&b, ";");
            xfree(c->dealloc[i]);
        }
        c->dealloc_count = 0;
        if (!rc)
            rc = buf_append(&b, "", 1);
        if (!rc)
            rc = run_simple(c, b.data, "deallocate");
        buf_cleanup(&b);
        if (rc == RC_UNAVAILABLE)
            return rc;
    }
    return RC_OK;
}

static enum rc p_exec(void *conn, const char *sql)
{
    struct pconn *c = conn;
    bool done;
    enum rc rc = ready(c, sql, &done);
    if (rc || done)
        return rc;
    char *expanded = with_row_keys(sql);
    const char *text = expanded ? expanded : sql;
    /* What the simple protocol takes in one query: the commands put off,
     * then sql, with a pooled read's guard before them (or after their
     * BEGIN). */
    const char *parts[STORE_LATER_MAX + 2];
    size_t n = 0;
    for (size_t i = 0; i < c->later_count; i++)
        parts[n++] = c->later[i];
    parts[n++] = text;
    const char *guard = guard_for(c, parts[0]);
    if (guard) {
        size_t at = is_begin(parts[0]) ? 1 : 0;
        memmove(parts + at + 1, parts + at, (n - at) * sizeof(parts[0]));
        parts[at] = guard;
        n++;
    }
    /* Room for exactly what is joined: a long statement (a schema's DDL)
     * must not fail for a cap of ours. */
    size_t need = 1;
    for (size_t i = 0; i < n; i++)
        need += strlen(parts[i]) + 2;
    struct buf joined;
    buf_init(&joined, need);
    if (n > 1) {
        for (size_t i = 0; !rc && i < n; i++) {
            rc = buf_append_cstr(&joined, parts[i]);
            if (!rc)
                rc = buf_append_cstr(&joined, i + 1 < n ? "; " : "");
        }
        if (!rc)
            rc = buf_append(&joined, "", 1);
        text = joined.data;
    }
    later_clear(c); /* copied into joined */
    if (!rc)
        rc = run_simple(c, text, "exec");
    buf_cleanup(&joined);
    xfree(expanded);
    return rc;
}

static enum rc p_exec_later(void *conn, const char *sql)
{
    struct pconn *c = conn;
    if (c->later_count == STORE_LATER_MAX)
        return p_exec(c, sql); /* runs those waiting first */
    c->later[c->later_count++] = xstrdup(sql);
    return RC_OK;
}

/* Notices (a table that already exists, ...) go to the debug log, not stderr. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    size_t n = strlen(message);
    while (n && message[n - 1] == '\n')
        n--;
    log_debug("msg=\"postgresql notice\" notice=\"%.*s\"", (int)n, message);
}

static void p_close(void *conn)
{
    struct pconn *c = conn;
    if (!c)
        return;
    PQfinish(c->pg);
    for (size_t i = 0; i < c->dealloc_count; i++)
        xfree(c->dealloc[i]);
    xfree(c->dealloc);
    later_clear(c);
    xfree(c->url);
    xfree(c);
}

/* SQLite's strftime() for the filter compiler (core/filter; filters may
 * call it, spec §3.8): the time values, modifiers and conversions of the
 * SQLite that Debian 12 ships (3.40), with its answers: NULL for what it
 * cannot read; months added as SQLite does (Jan 31 + 1 month = Mar 2 or 3),
 * their fraction as 30 days (years: 365); 'utc' and 'localtime' change
 * nothing (sessions run in UTC). Checked against SQLite's own answers for
 * random dates, formats and modifiers; one difference is known: a day past
 * its month's end (June 31) is July 1 before a month is added, where SQLite
 * adds to the month first. Plain PL/pgSQL without an exception block (each
 * would be a subtransaction per row). A racing process made it when this
 * fails. */
static const char STRFTIME_SQL[] =
    "CREATE OR REPLACE FUNCTION tarmac_strftime(fmt text, tv text, VARIADIC mods text[] "
    "DEFAULT '{}') RETURNS text LANGUAGE plpgsql STABLE AS $f$\n"
    "DECLARE t timestamp; num double precision; is_num boolean := false; m text; p text[]; "
    "amount double precision; whole int; unit text; o text := ''; i int := 1; ch text; "
    "k int; y int; mo int;\n"
    "BEGIN\n"
    "  IF fmt IS NULL OR tv IS NULL THEN RETURN NULL; END IF;\n"
    "  IF lower(tv) = 'now' THEN t := statement_timestamp() AT TIME ZONE 'UTC';\n"
    "  ELSIF tv ~ '^[-+]?[0-9]+(\\.[0-9]*)?$' THEN num := tv::double precision; is_num := true;\n"
    "  ELSE\n"
    "    p := regexp_match(tv, '^(?:([0-9]{4})-([0-9]{2})-([0-9]{2}))?(?:(?:^|[ T])([0-9]{2}):"
    "([0-9]{2})(?::([0-9]{2}(?:\\.[0-9]*)?))?)? *([Zz]|[-+][0-9]{2}:[0-9]{2})?$');\n"
    "    IF p IS NULL OR (p[1] IS NULL AND p[4] IS NULL) OR (p[1] IS NULL AND p[7] IS NOT NULL)"
    " THEN RETURN NULL; END IF;\n"
    "    y := coalesce(p[1], '2000')::int; mo := coalesce(p[2], '1')::int;\n"
    "    IF y < 1 OR mo NOT BETWEEN 1 AND 12 OR coalesce(p[3], '1')::int NOT BETWEEN 1 AND 31"
    " OR coalesce(p[4], '0')::int > 24 OR coalesce(p[5], '0')::int > 59"
    " OR coalesce(p[6], '0')::numeric >= 60 THEN RETURN NULL; END IF;\n"
    "    t := make_timestamp(y, mo, 1, 0, 0, 0) + (coalesce(p[3], '1')::int - 1) * interval '1 day'"
    " + coalesce(p[4], '0')::int * interval '1 hour' + coalesce(p[5], '0')::int"
    " * interval '1 minute' + coalesce(p[6], '0')::numeric * interval '1 second';\n"
    "    IF p[7] ~ '^[-+]' THEN t := t - (substr(p[7], 1, 1) || (substr(p[7], 2, 2)::int * 60"
    " + substr(p[7], 5, 2)::int)::text || ' minutes')::interval; END IF;\n"
    "  END IF;\n"
    "  FOREACH m IN ARRAY mods LOOP\n"
    "    IF m IS NULL THEN RETURN NULL; END IF;\n"
    "    m := lower(btrim(m));\n"
    "    IF m = 'unixepoch' THEN\n"
    "      IF NOT is_num OR num NOT BETWEEN -62135596800 AND 253402300799 THEN RETURN NULL;"
    " END IF;\n"
    "      t := to_timestamp(num) AT TIME ZONE 'UTC'; is_num := false; CONTINUE;\n"
    "    END IF;\n"
    "    IF is_num THEN\n"
    "      IF num NOT BETWEEN 1721425.5 AND 5373484.4999 THEN RETURN NULL; END IF;\n"
    "      t := to_timestamp((num - 2440587.5) * 86400) AT TIME ZONE 'UTC'; is_num := false;\n"
    "    END IF;\n"
    "    IF m IN ('utc', 'localtime') THEN NULL;\n"
    "    ELSIF m = 'start of day' THEN t := date_trunc('day', t);\n"
    "    ELSIF m = 'start of month' THEN t := date_trunc('month', t);\n"
    "    ELSIF m = 'start of year' THEN t := date_trunc('year', t);\n"
    "    ELSIF m ~ '^weekday [0-6]$' THEN\n"
    "      t := t + ((substr(m, 9)::int - extract(dow FROM t)::int + 7) % 7) * interval '1 day';\n"
    "    ELSIF m ~ '^[-+]?[0-9]+(\\.[0-9]*)? *(day|hour|minute|second|month|year)s?$' THEN\n"
    "      amount := (regexp_match(m, '^([-+]?[0-9]+(\\.[0-9]*)?)'))[1]::double precision;\n"
    "      unit := (regexp_match(m, '(day|hour|minute|second|month|year)s?$'))[1];\n"
    "      IF abs(amount) > 1e7 THEN RETURN NULL; END IF;\n"
    "      IF unit IN ('month', 'year') THEN\n"
    "        whole := trunc(amount)::int;\n"
    "        k := CASE unit WHEN 'year' THEN whole * 12 ELSE whole END;\n"
    "        y := extract(year FROM t)::int; mo := extract(month FROM t)::int - 1 + k;\n"
    "        y := y + floor(mo / 12.0)::int; mo := mo - floor(mo / 12.0)::int * 12 + 1;\n"
    "        IF y NOT BETWEEN 1 AND 9999 THEN RETURN NULL; END IF;\n"
    "        t := make_timestamp(y, mo, 1, 0, 0, 0) + (t - date_trunc('month', t));\n"
    "        t := t + (amount - whole) * CASE unit WHEN 'year' THEN 365 ELSE 30 END"
    " * interval '1 day';\n"
    "      ELSE t := t + amount * ('1 ' || unit)::interval; END IF;\n"
    "    ELSE RETURN NULL; END IF;\n"
    "    IF t NOT BETWEEN '0001-01-01' AND '9999-12-31 23:59:59.999' THEN RETURN NULL; END IF;\n"
    "  END LOOP;\n"
    "  IF is_num THEN\n"
    "    IF num NOT BETWEEN 1721425.5 AND 5373484.4999 THEN RETURN NULL; END IF;\n"
    "    t := to_timestamp((num - 2440587.5) * 86400) AT TIME ZONE 'UTC';\n"
    "  END IF;\n"
    "  WHILE i <= length(fmt) LOOP\n"
    "    ch := substr(fmt, i, 1); i := i + 1;\n"
    "    IF ch <> '%' THEN o := o || ch; CONTINUE; END IF;\n"
    "    ch := substr(fmt, i, 1); i := i + 1;\n"
    "    o := o || CASE ch WHEN 'd' THEN to_char(t, 'DD')\n"
    "      WHEN 'f' THEN to_char(t, 'SS') || '.' || to_char(t, 'MS')\n"
    "      WHEN 'H' THEN to_char(t, 'HH24') WHEN 'j' THEN to_char(t, 'DDD')\n"
    "      WHEN 'J' THEN (extract(epoch FROM t) / 86400 + 2440587.5)::double precision::text\n"
    "      WHEN 'm' THEN to_char(t, 'MM') WHEN 'M' THEN to_char(t, 'MI')\n"
    "      WHEN 's' THEN floor(extract(epoch FROM t))::bigint::text\n"
    "      WHEN 'S' THEN to_char(t, 'SS') WHEN 'w' THEN extract(dow FROM t)::int::text\n"
    "      WHEN 'W' THEN lpad(((extract(doy FROM t)::int + 6 - (extract(dow FROM t)::int + 6)"
    " % 7) / 7)::text, 2, '0')\n"
    "      WHEN 'Y' THEN to_char(t, 'YYYY') WHEN '%' THEN '%' END;\n"
    "    IF o IS NULL THEN RETURN NULL; END IF;\n"
    "  END LOOP;\n"
    "  RETURN o;\n"
    "END $f$";

/* sql with the guard a pooled connection needs before it (one simple
 * query, one transaction), for the setup statements of p_open. Free it. */
static char *guarded(const struct pconn *c, const char *sql)
{
    const char *guard = guard_for(c, sql);
    if (!guard)
        return xstrdup(sql);
    size_t n = strlen(guard) + strlen(sql) + 3;
    char *out = xmalloc(n);
    snprintf(out, n, "%s; %s", guard, sql);
    return out;
}

static enum rc p_open(const char *url, enum store_open_mode mode, void **out)
{
    char shown[512];
    store_pg_shown(url, shown, sizeof(shown)); /* pg_probe.c */
    PGconn *pg = PQconnectdb(url);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        char m[512];
        one_line(pg ? PQerrorMessage(pg) : "out of memory", m, sizeof(m));
        log_error("msg=\"cannot connect to PostgreSQL\" url=\"%s\" error=\"%s\"", shown, m);
        PQfinish(pg);
        return RC_IO;
    }
    /* AUTO: the first open asks whether sessions are shared (a command
     * other than serve, which settles it from --db-pooler before). */
    if (atomic_load(&sessions) == STORE_SESSIONS_AUTO) {
        bool is_shared = false;
        char why[300];
        enum rc rc = store_pg_check_sessions(url, &is_shared, why, sizeof(why));
        if (rc == RC_INVALID) {
            log_error("msg=\"cannot use PostgreSQL through this pooler\" url=\"%s\" why=\"%s\"",
                      shown, why);
            PQfinish(pg);
            return RC_IO;
        }
        if (rc == RC_OK)
            store_set_sessions(is_shared ? STORE_SESSIONS_SHARED : STORE_SESSIONS_OWN);
    }
    struct pconn *c = xcalloc(1, sizeof(*c));
    c->pg = pg;
    c->url = xstrdup(url);
    c->mode = mode;
    c->is_pooled = atomic_load(&sessions) == STORE_SESSIONS_SHARED;
    PQsetNoticeProcessor(pg, on_notice, NULL);
    if (PQserverVersion(pg) < 150000) {
        log_error("msg=\"PostgreSQL 15 or later is needed\" url=\"%s\" server_version=%d", shown,
                  PQserverVersion(pg));
        p_close(c);
        return RC_IO;
    }
    if (setup_session(c) != RC_OK) {
        p_close(c);
        return RC_IO;
    }
    /* SQLite's NOCASE, by the same name, so `COLLATE NOCASE` in shared SQL
     * (emails, names) means a case-insensitive comparison on both engines
     * (ICU at level 2: case folded beyond ASCII too). Made once; a second
     * process racing to make it is fine. */
    if (mode == STORE_OPEN_WRITE) {
        enum rc rc;
        char *sql = guarded(c, "CREATE COLLATION IF NOT EXISTS nocase (provider = icu, "
                               "locale = 'und-u-ks-level2', deterministic = false)");
        PGresult *r = reply(c, PQsendQuery(pg, sql), &rc);
        xfree(sql);
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        bool ok = st == PGRES_COMMAND_OK ||
                  (state && (strcmp(state, "23505") == 0 || strcmp(state, "42710") == 0));
        if (!ok)
            (void)fail_rc(c, r, "collation setup");
        PQclear(r);
        if (!ok) {
            p_close(c);
            return RC_IO;
        }
        /* SQLite's json_valid for the filter compiler (core/filter): NULL
         * for NULL, else whether the text parses as JSON. A racing process
         * made it when this fails. */
        sql = guarded(c, "CREATE OR REPLACE FUNCTION tarmac_json_valid(t text) RETURNS boolean "
                         "LANGUAGE plpgsql IMMUTABLE AS $f$ BEGIN IF t IS NULL THEN RETURN NULL; "
                         "END IF; PERFORM t::json; RETURN true; EXCEPTION WHEN others THEN "
                         "RETURN false; END $f$");
        (void)run_simple(c, sql, "function setup");
        xfree(sql);
        sql = guarded(c, STRFTIME_SQL);
        (void)run_simple(c, sql, "function setup");
        xfree(sql);
    }
    *out = c;
    return RC_OK;
}

/* Copies sql with each ?N outside quotes and comments written $N; the
 * highest N goes to *nparams. */
static char *dollar_params(struct str sql, int *nparams)
{
    char *out = xmalloc(sql.len + 1);
    size_t o = 0;
    int top = 0;
    char quote = 0;
    for (size_t i = 0; i < sql.len; i++) {
        char ch = sql.ptr[i];
        if (quote) {
            if (ch == quote)
                quote = 0;
        } else if (ch == '\'' || ch == '"') {
            quote = ch;
        } else if ((ch == '?' || ch == '$') && i + 1 < sql.len && sql.ptr[i + 1] >= '0' &&
                   sql.ptr[i + 1] <= '9') {
            int n = 0;
            out[o++] = '$';
            while (i + 1 < sql.len && sql.ptr[i + 1] >= '0' && sql.ptr[i + 1] <= '9') {
                n = n * 10 + (sql.ptr[i + 1] - '0');
                out[o++] = sql.ptr[++i];
                if (n > 65535)
                    n = 65535;
            }
            if (n > top)
                top = n;
            continue;
        }
        out[o++] = ch;
    }
    out[o] = '\0';
    *nparams = top;
    return out;
}

/* Pooled mode's prepare: st->sql parsed unnamed and described in one
 * round trip (one transaction, so one server session), for the parameter
 * types the server infers; nothing is left that a later run needs. */
static enum rc describe_unnamed(struct pstmt *st)
{
    struct pconn *c = st->c;
    enum rc rc = RC_OK;
    /* The guard first: names resolve at parse (search_path). In a
     * transaction the one after its BEGIN holds. */
    const char *guard = guard_for(c, NULL);
    int sent = PQenterPipelineMode(c->pg) &&
               (!guard || PQsendQueryParams(c->pg, guard, 0, NULL, NULL, NULL, NULL, 0)) &&
               PQsendPrepare(c->pg, "", st->sql, 0, NULL) && PQsendDescribePrepared(c->pg, "") &&
               PQpipelineSync(c->pg);
    if (!sent)
        return broke(c, "send");
    if ((rc = flush_out(c)) != RC_OK)
        return rc;
    PGresult *d = read_results(c, guard ? 3 : 2, guard ? 2 : 1, -1, &rc);
    if (!d)
        return rc;
    rc = is_ok(d) ? RC_OK : fail_rc(c, d, "prepare");
    for (int i = 0; !rc && i < st->nparams && i < PQnparams(d); i++)
        st->server_types[i] = PQparamtype(d, i);
    PQclear(d);
    st->generation = c->generation;
    return rc;
}

/* Prepares st->sql on the server as st->name with types (NULL: the
 * server's guess) and, first time, learns the parameter types it chose. */
static enum rc prepare_on_server(struct pstmt *st, const Oid *types, bool describe)
{
    struct pconn *c = st->c;
    if (c->is_pooled)
        return describe_unnamed(st);
    enum rc rc;
    PGresult *r =
        reply(c, PQsendPrepare(c->pg, st->name, st->sql, types ? st->nparams : 0, types), &rc);
    if (!r)
        return rc;
    rc = PQresultStatus(r) == PGRES_COMMAND_OK ? RC_OK : fail_rc(c, r, "prepare");
    PQclear(r);
    if (rc)
        return rc;
    st->generation = c->generation;
    if (!describe || !st->nparams)
        return RC_OK;
    PGresult *d = reply(c, PQsendDescribePrepared(c->pg, st->name), &rc);
    if (!d)
        return rc;
    for (int i = 0; PQresultStatus(d) == PGRES_COMMAND_OK && i < st->nparams && i < PQnparams(d);
         i++)
        st->server_types[i] = PQparamtype(d, i);
    PQclear(d);
    return RC_OK;
}

static enum rc p_prepare(void *conn, struct str sql, void **out)
{
    struct pconn *c = conn;
    bool done;
    enum rc rc = ready(c, NULL, &done);
    if (rc)
        return rc;
    int nparams = 0;
    struct pstmt *st = xcalloc(1, sizeof(*st));
    st->c = c;
    snprintf(st->name, sizeof(st->name), "t%u", c->next_name++);
    st->sql = dollar_params(sql, &nparams);
    st->table_bucket = store_pg_table_bucket(st->sql);
    st->nparams = nparams;
    size_t n = nparams ? (size_t)nparams : 1;
    st->server_types = xcalloc(n, sizeof(Oid));
    st->values = xcalloc(n, sizeof(char *));
    st->types = xcalloc(n, sizeof(Oid));
    st->prepared_types = xcalloc(n, sizeof(Oid));
    st->row = -1;
    rc = prepare_on_server(st, NULL, true);
    if (rc == RC_UNAVAILABLE && c->mode == STORE_OPEN_READ && !c->in_tx &&
        ready(c, NULL, &done) == RC_OK)
        rc = prepare_on_server(st, NULL, true); /* once more on a new session, as a read */
    if (rc) {
        if (rc != RC_UNAVAILABLE)
            log_warn("msg=\"postgresql prepare failed\" sql=\"%.*s\"",
                     (int)(sql.len > 300 ? 300 : sql.len), sql.ptr);
        xfree(st->server_types);
        xfree(st->values);
        xfree(st->types);
        xfree(st->prepared_types);
        xfree(st->sql);
        xfree(st);
        return rc == RC_IO || rc == RC_NOMEM || rc == RC_UNAVAILABLE ? rc : RC_INVALID;
    }
    *out = st;
    return RC_OK;
}

static void p_reset(void *stmt)
{
    struct pstmt *st = stmt;
    PQclear(st->res);
    st->res = NULL;
    st->has_run = false;
    st->row = -1;
    st->nrows = 0;
}

static void p_clear(void *stmt)
{
    struct pstmt *st = stmt;
    for (int i = 0; i < st->nparams; i++) {
        xfree(st->values[i]);
        st->values[i] = NULL;
        st->types[i] = 0;
    }
}

static void p_finalize(void *stmt)
{
    struct pstmt *st = stmt;
    p_reset(st);
    p_clear(st);
    /* The server-side statement goes with its session; one of this
     * session dropped from the cache is deallocated before the next round
     * trip (never a round trip of its own here). */
    struct pconn *c = st->c;
    if (!c->is_pooled && st->generation == c->generation && !c->must_reset) {
        if (c->dealloc_count == c->dealloc_cap) {
            c->dealloc_cap = c->dealloc_cap ? c->dealloc_cap * 2 : 16;
            c->dealloc = xrealloc(c->dealloc, c->dealloc_cap * sizeof(*c->dealloc));
        }
        c->dealloc[c->dealloc_count++] = xstrdup(st->name);
    }
    xfree(st->values);
    xfree(st->types);
    xfree(st->prepared_types);
    xfree(st->server_types);
    xfree(st->sql);
    xfree(st);
}

/* Sets parameter index (1-based) to v (owned), or refuses an index the
 * statement does not have. */
static enum rc set_param(struct pstmt *st, int index, char *v, Oid type)
{
    if (index < 1 || index > st->nparams) {
        xfree(v);
        return RC_INTERNAL;
    }
    xfree(st->values[index - 1]);
    st->values[index - 1] = v;
    st->types[index - 1] = type;
    return RC_OK;
}

static enum rc p_bind_text(void *stmt, int index, struct str v, bool copy)
{
    (void)copy; /* text parameters go out NUL-terminated: always a copy */
    if (v.ptr && memchr(v.ptr, '\0', v.len))
        return RC_INVALID; /* PostgreSQL text holds no NUL */
    return set_param(stmt, index, xstrndup(v.ptr ? v.ptr : "", v.len), 0);
}

/* bytea in its hex text form, "\\x" and two digits a byte (a text
 * parameter of a bytea column is read so). */
static enum rc p_bind_blob(void *stmt, int index, const void *data, size_t len)
{
    if (len > ((size_t)1 << 30))
        return RC_TOO_LARGE;
    char *v = xmalloc(2 * len + 3);
    v[0] = '\\';
    v[1] = 'x';
    str_hex_encode(data, len, v + 2);
    v[2 + 2 * len] = '\0';
    return set_param(stmt, index, v, 0);
}

/* The parameter's type on the server (1-based index; 0 when out of range). */
static Oid server_type(const struct pstmt *st, int index)
{
    return index >= 1 && index <= st->nparams ? st->server_types[index - 1] : 0;
}

static enum rc p_bind_int64(void *stmt, int index, int64_t value)
{
    struct pstmt *st = stmt;
    Oid t = server_type(st, index);
    if (t == OID_BOOL)
        return set_param(st, index, xstrdup(value ? "t" : "f"), 0);
    char buf[24];
    snprintf(buf, sizeof(buf), "%lld", (long long)value);
    bool fits = t != OID_INT2 && t != OID_INT4 ? true
                : t == OID_INT2                ? value >= -32768 && value <= 32767
                                               : value >= INT32_MIN && value <= INT32_MAX;
    return set_param(st, index, xstrdup(buf), fits ? 0 : OID_INT8);
}

static enum rc p_bind_double(void *stmt, int index, double value)
{
    struct pstmt *st = stmt;
    Oid t = server_type(st, index);
    if (t == OID_BOOL)
        return set_param(st, index, xstrdup(value != 0 ? "t" : "f"), 0);
    char buf[40];
    snprintf(buf, sizeof(buf), "%.17g", value);
    bool is_int = t == OID_INT2 || t == OID_INT4 || t == OID_INT8;
    return set_param(st, index, xstrdup(buf), is_int ? OID_FLOAT8 : 0);
}

static enum rc p_bind_null(void *stmt, int index)
{
    return set_param(stmt, index, NULL, 0);
}

/* Prepares st again when the session was reset since, or when this run's
 * parameter types are not the ones its server statement has. */
static enum rc retype(struct pstmt *st)
{
    if (st->c->is_pooled)
        return RC_OK; /* each run sends its text and types (send_run) */
    size_t n = (size_t)st->nparams * sizeof(Oid);
    bool same_types = !n || memcmp(st->types, st->prepared_types, n) == 0;
    if (st->generation == st->c->generation && same_types)
        return RC_OK;
    if (st->generation == st->c->generation) {
        char sql[40];
        snprintf(sql, sizeof(sql), "DEALLOCATE %s", st->name);
        enum rc rc = run_simple(st->c, sql, "deallocate");
        if (rc == RC_UNAVAILABLE)
            return rc;
    }
    bool any = false;
    for (int i = 0; i < st->nparams; i++)
        any = any || st->prepared_types[i] != 0;
    const Oid *types = same_types ? (any ? st->prepared_types : NULL) : st->types;
    enum rc rc = prepare_on_server(st, types, false);
    if (!rc && !same_types) {
        memcpy(st->prepared_types, st->types, n);
        for (int i = 0; i < st->nparams; i++) {
            if (st->types[i])
                st->server_types[i] = st->types[i];
        }
    } else if (rc && n) {
        memset(st->prepared_types, 0xff, n); /* unknown: prepared again next time */
    }
    return rc;
}

/* Sends st's run: the named statement on its own session; in pooled mode
 * the text, unnamed, with the types this run's parameters ask for (0: the
 * server's, as described). */
static int send_run(struct pstmt *st)
{
    struct pconn *c = st->c;
    const char *const *values = (const char *const *)st->values;
    if (!c->is_pooled)
        return PQsendQueryPrepared(c->pg, st->name, st->nparams, values, NULL, NULL, 0);
    bool is_typed = false;
    for (int i = 0; i < st->nparams; i++)
        is_typed = is_typed || st->types[i];
    return PQsendQueryParams(c->pg, st->sql, st->nparams, is_typed ? st->types : NULL, values, NULL,
                             NULL, 0);
}

/* st's run in one round trip with what must go before it: the commands put
 * off (store_exec_later) and a pooled read's guard (guard_for: before the
 * statement, or after it when it is the BEGIN). libpq's pipeline mode, one
 * sync at the end. A command that fails aborts what follows it; the answer
 * is the first failed result, else st's. */
static PGresult *run_pipelined(struct pstmt *st, const char *guard, enum rc *rc)
{
    struct pconn *c = st->c;
    *rc = RC_OK;
    bool is_guard_after = guard && is_begin(st->sql);
    size_t queries = c->later_count + 1 + (guard != NULL);
    size_t want = c->later_count + (guard && !is_guard_after);
    int sent = PQenterPipelineMode(c->pg);
    for (size_t i = 0; sent && i < c->later_count; i++)
        sent = PQsendQueryParams(c->pg, c->later[i], 0, NULL, NULL, NULL, NULL, 0);
    later_clear(c);
    if (sent && guard && !is_guard_after)
        sent = PQsendQueryParams(c->pg, guard, 0, NULL, NULL, NULL, NULL, 0);
    if (sent)
        sent = send_run(st);
    if (sent && is_guard_after)
        sent = PQsendQueryParams(c->pg, guard, 0, NULL, NULL, NULL, NULL, 0);
    if (sent)
        sent = PQpipelineSync(c->pg);
    if (!sent) {
        *rc = broke(c, "send");
        return NULL;
    }
    if ((*rc = flush_out(c)) != RC_OK)
        return NULL;
    return read_results(c, queries, want, st->table_bucket, rc);
}

static enum rc p_step(void *stmt)
{
    struct pstmt *st = stmt;
    if (!st->has_run) {
        st->has_run = true;
        bool done;
        enum rc rc = ready(st->c, st->sql, &done);
        if (rc || done) {
            st->nrows = 0;
            return rc ? rc : RC_NOT_FOUND;
        }
        /* A read outside a transaction that meets a session the server
         * ended (a restart, a terminated backend) runs once more on a new
         * one: it changed nothing, and the request need not fail. */
        bool may_retry = st->c->mode == STORE_OPEN_READ && !st->c->in_tx;
        for (int attempt = 0;; attempt++) {
            rc = retype(st);
            const char *guard = guard_for(st->c, st->sql);
            if (!rc && (st->c->later_count || guard))
                st->res = run_pipelined(st, guard, &rc);
            else if (!rc)
                st->res = reply_to(st->c, send_run(st), st->table_bucket, &rc);
            if (!rc)
                break;
            if (rc != RC_UNAVAILABLE || !may_retry || attempt == 1)
                return rc;
            rc = ready(st->c, st->sql, &done);
            if (rc)
                return rc;
        }
        ExecStatusType s = PQresultStatus(st->res);
        if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
            rc = fail_rc(st->c, st->res, "statement");
            PQclear(st->res);
            st->res = NULL;
            return rc;
        }
        st->c->changes = strtoll(PQcmdTuples(st->res), NULL, 10);
        st->nrows = s == PGRES_TUPLES_OK ? PQntuples(st->res) : 0;
    }
    if (st->row + 1 >= st->nrows) {
        st->row = st->nrows;
        return RC_NOT_FOUND;
    }
    st->row++;
    return RC_OK;
}

static bool on_row(const struct pstmt *st, int index)
{
    return st->res && st->row >= 0 && st->row < st->nrows && index >= 0 &&
           index < PQnfields(st->res);
}

static int p_column_count(void *stmt)
{
    struct pstmt *st = stmt;
    return st->res ? PQnfields(st->res) : 0;
}

static bool is_integral(const char *v)
{
    return !strpbrk(v, ".eEnN");
}

static enum store_type p_column_type(void *stmt, int index)
{
    struct pstmt *st = stmt;
    if (!on_row(st, index) || PQgetisnull(st->res, st->row, index))
        return STORE_TYPE_NULL;
    switch (PQftype(st->res, index)) {
    case OID_BOOL:
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID: return STORE_TYPE_INT;
    case OID_FLOAT4:
    case OID_FLOAT8: return STORE_TYPE_FLOAT;
    case OID_NUMERIC:
        return is_integral(PQgetvalue(st->res, st->row, index)) ? STORE_TYPE_INT : STORE_TYPE_FLOAT;
    case OID_BYTEA: return STORE_TYPE_BLOB;
    default: return STORE_TYPE_TEXT;
    }
}

static struct str p_column_text(void *stmt, int index)
{
    struct pstmt *st = stmt;
    if (!on_row(st, index) || PQgetisnull(st->res, st->row, index))
        return (struct str){"", 0};
    const char *v = PQgetvalue(st->res, st->row, index);
    if (PQftype(st->res, index) == OID_BOOL)
        return v[0] == 't' ? STR_LIT("1") : STR_LIT("0");
    return (struct str){v, (size_t)PQgetlength(st->res, st->row, index)};
}

static enum rc p_column_blob(void *stmt, int index, struct buf *out)
{
    struct pstmt *st = stmt;
    if (!on_row(st, index) || PQgetisnull(st->res, st->row, index))
        return RC_OK;
    const char *v = PQgetvalue(st->res, st->row, index);
    size_t n = (size_t)PQgetlength(st->res, st->row, index);
    if (n < 2 || v[0] != '\\' || v[1] != 'x' || n % 2)
        return RC_INVALID; /* bytea_output = escape, or not a bytea */
    size_t bytes = (n - 2) / 2;
    enum rc rc = buf_reserve(out, bytes);
    if (rc)
        return rc;
    char *dst = out->data + out->len;
    for (size_t i = 0; i < bytes; i++) {
        int hi = str_hex_value(v[2 + 2 * i]), lo = str_hex_value(v[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return RC_INVALID;
        dst[i] = (char)(hi << 4 | lo);
    }
    out->len += bytes;
    return RC_OK;
}

static double p_column_double(void *stmt, int index)
{
    struct pstmt *st = stmt;
    if (!on_row(st, index) || PQgetisnull(st->res, st->row, index))
        return 0;
    const char *v = PQgetvalue(st->res, st->row, index);
    if (PQftype(st->res, index) == OID_BOOL)
        return v[0] == 't';
    return strtod(v, NULL);
}

static int64_t p_column_int64(void *stmt, int index)
{
    struct pstmt *st = stmt;
    if (!on_row(st, index) || PQgetisnull(st->res, st->row, index))
        return 0;
    const char *v = PQgetvalue(st->res, st->row, index);
    if (PQftype(st->res, index) == OID_BOOL)
        return v[0] == 't';
    if (!is_integral(v))
        return (int64_t)strtod(v, NULL);
    return strtoll(v, NULL, 10);
}

static int64_t p_changes(void *conn)
{
    return ((struct pconn *)conn)->changes;
}

/* A unique violation (23505) names its columns in DETAIL:
 * "Key (slug, owner)=(a, b) already exists." */
static size_t p_unique_columns(void *conn, char *buf, size_t buflen, struct str *cols, size_t max)
{
    struct pconn *c = conn;
    if (strcmp(c->sqlstate, "23505") != 0)
        return 0;
    const char *s = strstr(c->detail, "Key (");
    const char *e = s ? strstr(s, ")=(") : NULL;
    if (!s || !e)
        return 0;
    s += 5;
    size_t len = (size_t)(e - s);
    if (len >= buflen)
        len = buflen - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    size_t n = 0;
    char *p = buf;
    while (*p && n < max) {
        char *end = p;
        while (*end && *end != ',')
            end++;
        char *name = p, *name_end = end;
        if (*name == '"' && name_end > name + 1 && name_end[-1] == '"') {
            name++;
            name_end--;
        }
        cols[n++] = (struct str){name, (size_t)(name_end - name)};
        p = *end ? end + 1 : end;
        while (*p == ' ')
            p++;
    }
    return n;
}

void store_set_sessions(enum store_sessions s)
{
    int was = atomic_exchange(&sessions, (int)s);
    if (s == STORE_SESSIONS_SHARED && was != STORE_SESSIONS_SHARED)
        log_info("msg=\"postgresql sessions are shared (a pooler in transaction mode): "
                 "statements unnamed, read settings per transaction\"");
}

enum store_sessions store_sessions(void)
{
    return (enum store_sessions)atomic_load(&sessions);
}

/* store_data_version_off: another process commits too; the version is then
 * the server's current snapshot, asked by store_data_version. */
static atomic_bool is_version_off;

void store_data_version_off(void)
{
    atomic_store(&is_version_off, true);
}

static int64_t p_table_version(void *conn, const char *table)
{
    (void)conn;
    if (atomic_load_explicit(&is_version_off, memory_order_relaxed))
        return -1;
    return atomic_load(&any_table_writes) +
           atomic_load(&table_writes[store_pg_name_bucket(table, strlen(table))]);
}

static int64_t p_data_version(void *conn)
{
    (void)conn;
    if (atomic_load_explicit(&is_version_off, memory_order_relaxed))
        return STORE_DATA_VERSION_ASK;
    return atomic_load(&commits);
}

static bool p_in_transaction(void *conn)
{
    struct pconn *c = conn;
    return c->in_tx || c->is_tx_lost;
}

static void p_set_io_wait(void *conn, store_io_wait_fn *fn, void *ctx)
{
    struct pconn *c = conn;
    c->wait = fn;
    c->wait_ctx = ctx;
}

static void p_set_budget(void *conn, struct budget *b)
{
    ((struct pconn *)conn)->budget = b; /* bounds each wait (wait_io) */
}

/* pg_int.h: the session and its round trips, for pg_query.c. */
PGconn *store_pg_session(void *conn)
{
    return ((struct pconn *)conn)->pg;
}

PGresult *store_pg_reply(void *conn, int sent, enum rc *rc)
{
    return reply(conn, sent, rc);
}

enum rc store_pg_fail_rc(void *conn, const PGresult *r, const char *what)
{
    return fail_rc(conn, r, what);
}

const struct store_engine store_pg_engine = {
    .name = "postgresql",
    .dialect = STORE_DIALECT_POSTGRES,
    .begin_read_sql = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    .begin_write_sql = "BEGIN",
    .open = p_open,
    .close = p_close,
    .prepare = p_prepare,
    .finalize = p_finalize,
    .reset = p_reset,
    .clear = p_clear,
    .bind_text = p_bind_text,
    .bind_int64 = p_bind_int64,
    .bind_double = p_bind_double,
    .bind_null = p_bind_null,
    .bind_blob = p_bind_blob,
    .step = p_step,
    .column_count = p_column_count,
    .column_type = p_column_type,
    .column_text = p_column_text,
    .column_int64 = p_column_int64,
    .column_double = p_column_double,
    .column_blob = p_column_blob,
    .changes = p_changes,
    .unique_columns = p_unique_columns,
    .exec = p_exec,
    .exec_later = p_exec_later,
    .has_object_sql = "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                      "WHERE n.nspname = current_schema() AND lower(c.relname) = lower($1) "
                      "LIMIT 1",
    .data_version = p_data_version,
    .table_version = p_table_version,
    .in_transaction = p_in_transaction,
    .set_budget = p_set_budget,
    .set_io_wait = p_set_io_wait,
    .query_check = store_pg_query_check,
    .view_create = store_pg_view_create,
};
