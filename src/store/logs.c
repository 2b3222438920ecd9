/* logs.c -- see logs.h.
 *
 * The ring: slots [head, tail) (counters that only grow; a slot is
 * ring[n % STORE_LOGS_RING]) wait for the thread. A producer fills slot tail
 * and moves tail under the mutex; the thread reads slots [head, tail) without
 * it, since no producer touches them until it moves head past them, which
 * it does under the mutex once they are written. So a push is a lock, a
 * few copies and an unlock, and the thread's I/O never holds the lock. */
#include "store/logs.h"
#include "store/logs_int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "base/secure.h"

#define DAY_MS (24 * 3600 * 1000LL)
#define HOUR_MS (3600 * 1000LL)
#define LOG_ID_LEN 15 /* PocketBase's default id: 15 of [a-z0-9] */

struct store_logs {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;   /* the thread: entries, a sync, a prune, stop */
    pthread_cond_t synced; /* store_logs_sync callers: head moved */
    struct store_log_entry *ring;
    uint64_t head, tail; /* under mu */
    unsigned sync_wanted;
    bool is_prune_wanted;
    bool is_stopping;
    _Atomic uint64_t dropped;
    _Atomic int max_days;
    int64_t day_ms;
    sqlite3 *wdb;    /* the thread's */
    uint64_t id_seq; /* the ids' last part: a count from a random start */
    pthread_mutex_t read_mu;
    sqlite3 *rdb; /* reads, one at a time, opened on first use */
    char *path;
};

/* -------------------------------------------------------------------------
 * Opening
 * ------------------------------------------------------------------------- */

const char store_logs_schema[] =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS _logs ("
    " id TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL,"
    " level INTEGER DEFAULT 0 NOT NULL,"
    " message TEXT DEFAULT '' NOT NULL,"
    " data JSON DEFAULT '{}' NOT NULL,"
    " created TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL);"
    /* Every entry is an insert into each index: PocketBase's message and
     * hour-expression indexes cost a random leaf and a strftime() per
     * request, so only the level and the time (appended at the right edge,
     * as ids are: see new_id) are indexed. */
    "CREATE INDEX IF NOT EXISTS idx_logs_level ON _logs (level);"
    "CREATE INDEX IF NOT EXISTS idx_logs_created ON _logs (created);";

/* An entry's id: PocketBase's 15 of [a-z0-9], time first (9 base-36 digits
 * of its ms) and then 6 of a count from a random start, so ids grow with
 * time (each insert goes to the right edge of the id index, not a random
 * leaf), sort as created, and cost no random draw each. */
static void new_id(struct store_logs *l, int64_t ms, char out[LOG_ID_LEN + 1])
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    uint64_t t = ms > 0 ? (uint64_t)ms : 0;
    for (int i = 8; i >= 0; i--) {
        out[i] = digits[t % 36];
        t /= 36;
    }
    uint64_t n = ++l->id_seq;
    for (int i = LOG_ID_LEN - 1; i >= 9; i--) {
        out[i] = digits[n % 36];
        n /= 36;
    }
    out[LOG_ID_LEN] = '\0';
}

static sqlite3 *open_db(const char *path, bool is_write)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_NOMUTEX |
                (is_write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        log_error("msg=\"cannot open the log database\" path=%s err=\"%s\"", path,
                  db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static void *run(void *arg);

enum rc store_logs_open(const char *path, int max_days, int64_t day_ms, struct store_logs **out)
{
    *out = NULL;
    sqlite3 *db = open_db(path, true);
    if (!db)
        return RC_IO;
    char *msg = NULL;
    if (sqlite3_exec(db, store_logs_schema, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("msg=\"cannot make the log table\" path=%s err=\"%s\"", path, msg ? msg : "?");
        sqlite3_free(msg);
        sqlite3_close(db);
        return RC_IO;
    }
    struct store_logs *l = xcalloc(1, sizeof(*l));
    l->ring = xcalloc(STORE_LOGS_RING, sizeof(*l->ring));
    l->wdb = db;
    secure_random_bytes(&l->id_seq, sizeof(l->id_seq));
    l->path = xstrndup(path, strlen(path));
    l->day_ms = day_ms > 0 ? day_ms : DAY_MS;
    atomic_init(&l->max_days, max_days);
    atomic_init(&l->dropped, 0);
    l->is_prune_wanted = true;
    pthread_mutex_init(&l->mu, NULL);
    pthread_mutex_init(&l->read_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&l->synced, NULL);
    if (pthread_create(&l->thread, NULL, run, l) != 0) {
        log_error("msg=\"cannot start the log thread\"");
        sqlite3_close(db);
        xfree(l->ring);
        xfree(l->path);
        xfree(l);
        return RC_IO;
    }
    *out = l;
    return RC_OK;
}

void store_logs_close(struct store_logs *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->is_stopping = true;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    sqlite3_close(l->wdb);
    sqlite3_close(l->rdb);
    pthread_mutex_destroy(&l->mu);
    pthread_mutex_destroy(&l->read_mu);
    pthread_cond_destroy(&l->wake);
    pthread_cond_destroy(&l->synced);
    xfree(l->ring);
    xfree(l->path);
    xfree(l);
}

/* -------------------------------------------------------------------------
 * Producers
 * ------------------------------------------------------------------------- */

bool store_logs_push(struct store_logs *l, store_logs_fill_fn *fill, void *ctx)
{
    pthread_mutex_lock(&l->mu);
    if (l->tail - l->head >= STORE_LOGS_RING) {
        pthread_mutex_unlock(&l->mu);
        atomic_fetch_add_explicit(&l->dropped, 1, memory_order_relaxed);
        return false;
    }
    struct store_log_entry *slot = &l->ring[l->tail % STORE_LOGS_RING];
    /* Only the fixed part is cleared: the text area is written up to its lengths. */
    memset(slot, 0, offsetof(struct store_log_entry, text));
    fill(slot, ctx);
    l->tail++;
    if (l->tail - l->head == STORE_LOGS_BATCH)
        pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->mu);
    return true;
}

uint64_t store_logs_dropped(const struct store_logs *l)
{
    return atomic_load_explicit(&((struct store_logs *)l)->dropped, memory_order_relaxed);
}

void store_logs_set_max_days(struct store_logs *l, int max_days)
{
    atomic_store(&l->max_days, max_days);
    pthread_mutex_lock(&l->mu);
    l->is_prune_wanted = true;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->mu);
}

void store_logs_sync(struct store_logs *l)
{
    pthread_mutex_lock(&l->mu);
    uint64_t target = l->tail;
    l->sync_wanted++;
    pthread_cond_signal(&l->wake);
    while (l->head < target)
        pthread_cond_wait(&l->synced, &l->mu);
    l->sync_wanted--;
    pthread_mutex_unlock(&l->mu);
}

/* -------------------------------------------------------------------------
 * The thread
 * ------------------------------------------------------------------------- */

/* Appends s percent-decoded (PocketBase's message is the unescaped URI);
 * a malformed escape keeps the text as it is, as url.PathUnescape's failure does. */
static void append_unescaped(struct buf *b, const char *s, size_t n)
{
    size_t start = b->len;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            (void)buf_append(b, &s[i], 1);
            continue;
        }
        int v = 0;
        for (size_t k = 1; k <= 2; k++) {
            char c = i + k < n ? s[i + k] : 0;
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0) {
                b->len = start;
                (void)buf_append(b, s, n);
                return;
            }
            v = v * 16 + d;
        }
        char c = (char)v;
        (void)buf_append(b, &c, 1);
        i += 2;
    }
}

/* data: PocketBase marshals a map, so its keys come sorted. */
static void format_data(const struct store_log_entry *e, struct buf *out)
{
    const char *url = e->text;
    const char *referer = url + e->url_len;
    const char *ua = referer + e->referer_len;
    const char *error = ua + e->user_agent_len;
    const char *details = error + e->error_len;
    struct jsonw w;
    jsonw_init(&w, out);
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "auth");
    jsonw_string_cstr(&w, e->auth);
    if (e->has_auth_id) {
        jsonw_key_cstr(&w, "authId");
        jsonw_string_cstr(&w, e->auth_id);
    }
    if (e->details_len) {
        jsonw_key_cstr(&w, "details");
        jsonw_raw(&w, (struct str){details, e->details_len});
    }
    if (e->error_len) {
        jsonw_key_cstr(&w, "error");
        jsonw_string(&w, (struct str){error, e->error_len});
    }
    jsonw_key_cstr(&w, "execTime");
    jsonw_double(&w, e->exec_ms);
    jsonw_key_cstr(&w, "method");
    jsonw_string_cstr(&w, e->method);
    jsonw_key_cstr(&w, "referer");
    jsonw_string(&w, (struct str){referer, e->referer_len});
    if (e->has_ip) {
        jsonw_key_cstr(&w, "remoteIP");
        jsonw_string_cstr(&w, e->remote_ip);
    }
    jsonw_key_cstr(&w, "status");
    jsonw_int(&w, e->status);
    jsonw_key_cstr(&w, "type");
    jsonw_string_cstr(&w, "request");
    jsonw_key_cstr(&w, "url");
    jsonw_string(&w, (struct str){url, e->url_len});
    jsonw_key_cstr(&w, "userAgent");
    jsonw_string(&w, (struct str){ua, e->user_agent_len});
    if (e->has_ip) {
        jsonw_key_cstr(&w, "userIP");
        jsonw_string_cstr(&w, e->user_ip);
    }
    jsonw_object_end(&w);
    (void)jsonw_finish(&w);
}

static void write_batch(struct store_logs *l, uint64_t first, uint64_t n)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_exec(l->wdb, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(l->wdb,
                           "INSERT INTO _logs (id, level, message, data, created) "
                           "VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &st, NULL) != SQLITE_OK) {
        log_warn("msg=\"request log entries lost\" count=%llu err=\"%s\"", (unsigned long long)n,
                 sqlite3_errmsg(l->wdb));
        sqlite3_finalize(st);
        (void)sqlite3_exec(l->wdb, "ROLLBACK", NULL, NULL, NULL);
        return;
    }
    struct buf msg, data;
    buf_init(&msg, 1u << 16);
    buf_init(&data, 1u << 16);
    for (uint64_t k = 0; k < n; k++) {
        const struct store_log_entry *e = &l->ring[(first + k) % STORE_LOGS_RING];
        char id[LOG_ID_LEN + 1];
        new_id(l, e->created_ms, id);
        char created[32];
        int clen = chrono_format_db_ms(e->created_ms, created);
        buf_reset(&msg);
        (void)buf_append(&msg, e->method, strlen(e->method));
        (void)buf_append(&msg, " ", 1);
        append_unescaped(&msg, e->text, e->url_len);
        buf_reset(&data);
        format_data(e, &data);
        sqlite3_bind_text(st, 1, id, LOG_ID_LEN, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, e->level);
        sqlite3_bind_text(st, 3, msg.data ? msg.data : "", (int)msg.len, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, data.data ? data.data : "{}", data.data ? (int)data.len : 2,
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 5, created, clen, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            log_warn("msg=\"request log entry lost\" err=\"%s\"", sqlite3_errmsg(l->wdb));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    buf_cleanup(&msg);
    buf_cleanup(&data);
    if (sqlite3_exec(l->wdb, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        log_warn("msg=\"request log entries lost\" count=%llu err=\"%s\"", (unsigned long long)n,
                 sqlite3_errmsg(l->wdb));
        (void)sqlite3_exec(l->wdb, "ROLLBACK", NULL, NULL, NULL);
    }
}

static void prune(struct store_logs *l)
{
    int days = atomic_load(&l->max_days);
    char cutoff[32];
    chrono_format_db_ms(chrono_real_ms() - (int64_t)days * l->day_ms, cutoff);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(l->wdb, "DELETE FROM _logs WHERE created <= ?1", -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_DONE)
        log_warn("msg=\"old request logs not deleted\" err=\"%s\"", sqlite3_errmsg(l->wdb));
    else if (sqlite3_changes(l->wdb) > 0)
        log_info("msg=\"old request logs deleted\" count=%d before=\"%s\"", sqlite3_changes(l->wdb),
                 cutoff);
    sqlite3_finalize(st);
}

static void deadline_after(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* The writer's share of a busy core. An entry costs its writer ~5 us
 * (an SQLite row, its indexes, the JSON of data): at 70k requests/s on one
 * core that was a third of the core, halving what it served. At nice 15 the
 * thread weighs ~3% of a request thread, so on a saturated core the log
 * takes about that (the ring fills, entries are dropped and counted),
 * while a core with time to spare still writes every entry. */
#define LOG_THREAD_NICE 15

static void *run(void *arg)
{
    struct store_logs *l = arg;
    pthread_setname_np(pthread_self(), "tarmac-reqlog");
    /* Linux: a thread's nice is its own (setpriority on its thread id). */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), LOG_THREAD_NICE) != 0)
        log_warn("msg=\"request log thread keeps its priority\"");
    int64_t period = l->day_ms / 4 < HOUR_MS ? l->day_ms / 4 : HOUR_MS;
    uint64_t next_prune_ns = 0;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        struct timespec until;
        deadline_after(&until, STORE_LOGS_FLUSH_MS);
        while (!l->is_stopping && !l->is_prune_wanted && !l->sync_wanted &&
               l->tail - l->head < STORE_LOGS_BATCH) {
            if (pthread_cond_timedwait(&l->wake, &l->mu, &until) != 0)
                break;
        }
        uint64_t first = l->head;
        uint64_t n = l->tail - l->head;
        bool is_prune = l->is_prune_wanted;
        bool is_stopping = l->is_stopping;
        l->is_prune_wanted = false;
        pthread_mutex_unlock(&l->mu);

        if (n)
            write_batch(l, first, n);
        uint64_t now = chrono_mono_ns();
        if (is_prune || now >= next_prune_ns) {
            prune(l);
            next_prune_ns = now + (uint64_t)period * 1000000u;
        }

        pthread_mutex_lock(&l->mu);
        l->head += n;
        pthread_cond_broadcast(&l->synced);
        if (is_stopping && l->head == l->tail)
            break;
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* -------------------------------------------------------------------------
 * Reads
 * ------------------------------------------------------------------------- */

static sqlite3 *reader(struct store_logs *l)
{
    if (!l->rdb)
        l->rdb = open_db(l->path, false);
    return l->rdb;
}

static enum rc prepare_read(struct store_logs *l, const char *sql, sqlite3_stmt **st, char *err,
                            size_t err_cap)
{
    sqlite3 *db = reader(l);
    if (!db)
        return RC_IO;
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
        snprintf(err, err_cap, "%s", sqlite3_errmsg(db));
        log_warn("msg=\"log query refused\" err=\"%s\"", sqlite3_errmsg(db));
        return RC_INVALID;
    }
    return RC_OK;
}

static void bind_params(sqlite3_stmt *st, const struct store_logs_query *q)
{
    for (size_t i = 0; i < q->param_count; i++) {
        const struct store_logs_param *p = &q->params[i];
        int n = (int)i + 1;
        switch (p->type) {
        case STORE_LOGS_NULL: sqlite3_bind_null(st, n); break;
        case STORE_LOGS_INT: sqlite3_bind_int64(st, n, p->i); break;
        case STORE_LOGS_DOUBLE: sqlite3_bind_double(st, n, p->d); break;
        case STORE_LOGS_TEXT:
            sqlite3_bind_text(st, n, p->text.ptr ? p->text.ptr : "", (int)p->text.len,
                              SQLITE_TRANSIENT);
            break;
        }
    }
}

enum rc store_logs_step_rc(sqlite3_stmt *st, int rc)
{
    (void)st;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return RC_OK;
    return (rc & 0xff) == SQLITE_BUSY ? RC_BUSY : RC_IO;
}

enum rc store_logs_rows(sqlite3_stmt *st, struct buf *out, int64_t *rows)
{
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (*rows)
            (void)buf_append(out, ",", 1);
        (void)buf_append(out, sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        (*rows)++;
    }
    return store_logs_step_rc(st, s);
}

/* " WHERE <q->where>" when the query has one. */
static void append_where(struct buf *sql, const struct store_logs_query *q)
{
    if (q->where) {
        (void)buf_append_cstr(sql, " WHERE ");
        (void)buf_append_cstr(sql, q->where);
    }
}

enum rc store_logs_list(struct store_logs *l, const struct store_logs_query *q, struct buf *out,
                        int64_t *total, int64_t *rows, char *err, size_t err_cap)
{
    char where[64];
    *rows = 0;
    if (total)
        *total = 0;
    struct buf sql;
    buf_init(&sql, 1u << 20);
    (void)buf_append_cstr(&sql, "SELECT json_object('id', id, 'created', created, 'data', "
                                "json(data), 'message', message, 'level', level) FROM _logs");
    append_where(&sql, q);
    (void)buf_append_cstr(&sql, " ORDER BY ");
    (void)buf_append_cstr(&sql, q->order_by ? q->order_by : "rowid");
    snprintf(where, sizeof(where), " LIMIT ?%zu OFFSET ?%zu", q->param_count + 1,
             q->param_count + 2);
    (void)buf_append_cstr(&sql, where);
    (void)buf_append(&sql, "", 1);

    pthread_mutex_lock(&l->read_mu);
    sqlite3_stmt *st = NULL;
    enum rc rc = prepare_read(l, sql.data, &st, err, err_cap);
    if (!rc) {
        bind_params(st, q);
        sqlite3_bind_int64(st, (int)q->param_count + 1, q->limit);
        sqlite3_bind_int64(st, (int)q->param_count + 2, q->offset);
        rc = store_logs_rows(st, out, rows);
        sqlite3_finalize(st);
        st = NULL;
    }
    if (!rc && total && q->want_total) {
        buf_reset(&sql);
        (void)buf_append_cstr(&sql, "SELECT count(*) FROM _logs");
        if (q->where) {
            (void)buf_append_cstr(&sql, " WHERE ");
            (void)buf_append_cstr(&sql, q->where);
        }
        (void)buf_append(&sql, "", 1);
        rc = prepare_read(l, sql.data, &st, err, err_cap);
        if (!rc) {
            bind_params(st, q);
            int s = sqlite3_step(st);
            if (s == SQLITE_ROW)
                *total = sqlite3_column_int64(st, 0);
            rc = store_logs_step_rc(st, s);
            sqlite3_finalize(st);
        }
    }
    pthread_mutex_unlock(&l->read_mu);
    buf_cleanup(&sql);
    return rc;
}

enum rc store_logs_view(struct store_logs *l, struct str id, struct buf *out)
{
    char err[16];
    pthread_mutex_lock(&l->read_mu);
    sqlite3_stmt *st = NULL;
    enum rc rc = prepare_read(l,
                              "SELECT json_object('id', id, 'created', created, 'data', "
                              "json(data), 'message', message, 'level', level) FROM _logs "
                              "WHERE id = ?1",
                              &st, err, sizeof(err));
    if (!rc) {
        sqlite3_bind_text(st, 1, id.ptr ? id.ptr : "", (int)id.len, SQLITE_STATIC);
        int s = sqlite3_step(st);
        if (s == SQLITE_ROW)
            (void)buf_append(out, sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        rc = s == SQLITE_DONE ? RC_NOT_FOUND : store_logs_step_rc(st, s);
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&l->read_mu);
    return rc;
}

enum rc store_logs_stats(struct store_logs *l, const struct store_logs_query *q, struct buf *out,
                         char *err, size_t err_cap)
{
    struct buf sql;
    buf_init(&sql, 1u << 20);
    (void)buf_append_cstr(&sql, "SELECT count(id), strftime('%Y-%m-%d %H:00:00', created) AS date "
                                "FROM _logs");
    append_where(&sql, q);
    (void)buf_append_cstr(&sql, " GROUP BY date ORDER BY date");
    (void)buf_append(&sql, "", 1);
    pthread_mutex_lock(&l->read_mu);
    sqlite3_stmt *st = NULL;
    enum rc rc = prepare_read(l, sql.data, &st, err, err_cap);
    if (!rc) {
        bind_params(st, q);
        struct jsonw w;
        jsonw_init(&w, out);
        jsonw_array_begin(&w);
        int s;
        while ((s = sqlite3_step(st)) == SQLITE_ROW) {
            char date[40];
            snprintf(date, sizeof(date), "%s.000Z", (const char *)sqlite3_column_text(st, 1));
            jsonw_object_begin(&w);
            jsonw_key_cstr(&w, "total");
            jsonw_int(&w, sqlite3_column_int64(st, 0));
            jsonw_key_cstr(&w, "date");
            jsonw_string_cstr(&w, date);
            jsonw_object_end(&w);
        }
        jsonw_array_end(&w);
        rc = store_logs_step_rc(st, s);
        if (!rc)
            rc = jsonw_finish(&w);
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&l->read_mu);
    buf_cleanup(&sql);
    return rc;
}
