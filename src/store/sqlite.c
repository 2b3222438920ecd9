/* sqlite.c -- see sqlite.h: the SQLite engine's table (engine.h). */
#include "store/sqlite.h"
#include "store/sqlite_func.h"

#include <limits.h>
#include <string.h>

#include "base/alloc.h"
#include "base/fault.h"
#include "base/log.h"
#include "store/engine.h"
#include "store/fault.h"

/* The control statements a transaction runs around every write (BEGIN,
 * SAVEPOINT, RELEASE, COMMIT): sqlite3_exec would compile each one each
 * time (its parse was 2.5 % of the job benchmark's core), so the first
 * EXEC_CACHED one-statement texts a connection runs stay prepared. */
#define EXEC_CACHED 8

/* A connection: the handle and the budget its progress handler reads. */
struct sconn {
    sqlite3 *db;
    struct budget *budget;   /* NULL: none */
    sqlite3_stmt *data_vers; /* PRAGMA data_version, prepared on first use */
    struct {
        char *sql;
        sqlite3_stmt *st;
    } exec_cache[EXEC_CACHED];
};

enum rc store_sqlite_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW: return RC_OK;
    case SQLITE_CONSTRAINT: return RC_CONFLICT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return RC_BUSY;
    case SQLITE_NOMEM: return RC_NOMEM;
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY: return RC_IO;
    case SQLITE_TOOBIG: return RC_TOO_LARGE;
    case SQLITE_INTERRUPT: return RC_OVER_BUDGET;
    }
    return RC_INTERNAL;
}

#ifdef TARMAC_FAULTS
/* Test builds link with -Wl,--wrap=sqlite3_step (mk/flags.mk), so every step
 * in the program, wherever it is called, comes here first (FAULT_STEP). */
int __real_sqlite3_step(sqlite3_stmt *st);
int __wrap_sqlite3_step(sqlite3_stmt *st);
int __wrap_sqlite3_step(sqlite3_stmt *st)
{
    if (fault_hit(FAULT_STEP))
        return SQLITE_IOERR;
    return __real_sqlite3_step(st);
}

/* SQLite's own allocations (FAULT_DB_ALLOC), as its tests swap in a failing
 * allocator (src/test_malloc.c): installed before main, so before SQLite
 * initialises; its lookaside slots are not counted. */
static sqlite3_mem_methods real_mem;

static void *db_malloc(int n)
{
    return fault_hit(FAULT_DB_ALLOC) ? NULL : real_mem.xMalloc(n);
}

static void *db_realloc(void *p, int n)
{
    return fault_hit(FAULT_DB_ALLOC) ? NULL : real_mem.xRealloc(p, n);
}

__attribute__((constructor)) static void install_db_malloc(void)
{
    if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem) != SQLITE_OK)
        return;
    sqlite3_mem_methods m = real_mem;
    m.xMalloc = db_malloc;
    m.xRealloc = db_realloc;
    (void)sqlite3_config(SQLITE_CONFIG_MALLOC, &m);
}
#endif

static enum rc exec_failed(int rc, const char *msg)
{
    log_warn("msg=\"sqlite exec failed\" rc=%d error=\"%s\"", rc, msg ? msg : "");
    return store_sqlite_rc(rc) == RC_INTERNAL ? RC_IO : store_sqlite_rc(rc);
}

/* Transaction control only: other texts (DDL, pragmas) run once or rarely. */
static bool is_tx_control(const char *sql)
{
    static const char *const words[] = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t n = strlen(words[i]);
        if (strncmp(sql, words[i], n) == 0 && (sql[n] == '\0' || sql[n] == ' '))
            return true;
    }
    return false;
}

#ifdef TARMAC_FAULTS
/* A step here is the exec's own, counted once by s_exec's FAULT_STEP as
 * sqlite3_exec's internal steps were (they are not wrapped). */
#define exec_step __real_sqlite3_step
#else
#define exec_step sqlite3_step
#endif

/* The cached statement for sql, prepared on its first run; NULL when sql is
 * not one transaction-control statement or the cache is full (sqlite3_exec
 * runs it). */
static sqlite3_stmt *exec_stmt(struct sconn *c, const char *sql)
{
    if (!is_tx_control(sql))
        return NULL;
    size_t i = 0;
    for (; i < EXEC_CACHED && c->exec_cache[i].sql; i++) {
        if (strcmp(c->exec_cache[i].sql, sql) == 0)
            return c->exec_cache[i].st;
    }
    if (i == EXEC_CACHED || strchr(sql, ';'))
        return NULL;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, &tail) != SQLITE_OK ||
        !st || (tail && *tail)) {
        sqlite3_finalize(st);
        return NULL;
    }
    c->exec_cache[i].sql = xstrdup(sql);
    c->exec_cache[i].st = st;
    return st;
}

static enum rc s_exec(void *conn, const char *sql)
{
    struct sconn *c = conn;
    if (fault_hit(FAULT_STEP))
        return RC_IO;
    sqlite3_stmt *st = exec_stmt(c, sql);
    if (st) {
        int rc;
        while ((rc = exec_step(st)) == SQLITE_ROW) {
        }
        /* reset, so the statement holds no lock between runs; a failed
         * step's error code is the one the reset returns */
        int reset_rc = sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            return RC_OK;
        return exec_failed(reset_rc != SQLITE_OK ? reset_rc : rc, sqlite3_errmsg(c->db));
    }
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        enum rc out = exec_failed(rc, msg);
        sqlite3_free(msg);
        return out;
    }
    return RC_OK;
}

/* The progress handler: a non-zero return interrupts the running statement.
 * It only reads the budget and the clock, never the connection. */
static int on_progress(void *ctx)
{
    struct sconn *c = ctx;
    return c->budget && budget_is_over(c->budget);
}

static void s_set_budget(void *conn, struct budget *b)
{
    struct sconn *c = conn;
    c->budget = b;
}

static void s_close(void *conn)
{
    struct sconn *c = conn;
    if (!c)
        return;
    sqlite3_finalize(c->data_vers);
    for (size_t i = 0; i < EXEC_CACHED && c->exec_cache[i].sql; i++) {
        sqlite3_finalize(c->exec_cache[i].st);
        xfree(c->exec_cache[i].sql);
    }
    sqlite3_close_v2(c->db);
    xfree(c);
}

static enum rc s_open(const char *path, enum store_open_mode mode, void **out)
{
    int flags =
        SQLITE_OPEN_NOMUTEX | (mode == STORE_OPEN_WRITE ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                                        : SQLITE_OPEN_READWRITE);
    sqlite3 *h = NULL;
    /* Under a test's fault injection the writer's files fail on purpose (fault.h). */
    const char *vfs = mode == STORE_OPEN_WRITE ? store_fault_vfs_name() : NULL;
    int rc = sqlite3_open_v2(path, &h, flags, vfs);
    if (rc != SQLITE_OK) {
        log_error("msg=\"cannot open database\" path=%s error=\"%s\"", path,
                  h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        sqlite3_close(h);
        return RC_IO;
    }
    struct sconn *c = xcalloc(1, sizeof(*c));
    c->db = h;
    /* Waiting on a lock blocks the thread: readers never wait in WAL mode,
     * and the writer is alone, so this only covers checkpoints and other
     * processes (a backup tool). */
    sqlite3_busy_timeout(h, 5000);
    /* Installed once on read connections (budgets are for reads); it costs a
     * call every STORE_SQLITE_PROGRESS_OPS instructions and answers at once
     * while no budget is set. */
    if (mode == STORE_OPEN_READ)
        sqlite3_progress_handler(h, STORE_SQLITE_PROGRESS_OPS, on_progress, c);
    const char *pragmas = mode == STORE_OPEN_WRITE
                              ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
                                "PRAGMA cache_size=-16000;"
                              : "PRAGMA foreign_keys=ON; PRAGMA query_only=ON;"
                                "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16000;";
    if (s_exec(c, pragmas) != RC_OK) {
        s_close(c);
        return RC_IO;
    }
    /* Compiled filters name these (geoDistance). */
    if (store_sqlite_func_register(h) != SQLITE_OK) {
        s_close(c);
        return RC_NOMEM;
    }
    /* Search indexes name it (their reads and writes need it); without
     * FTS5 only they fail. */
    if (store_sqlite_fts_register(h) != RC_OK)
        log_warn("msg=\"no FTS5 in this SQLite: full-text search will fail\"");
    *out = c;
    return RC_OK;
}

sqlite3 *store_sqlite_handle(struct store_conn *db)
{
    return ((struct sconn *)store_conn_handle(db))->db;
}

sqlite3 *store_sqlite_conn_db(void *conn)
{
    return ((struct sconn *)conn)->db;
}

sqlite3_stmt *store_sqlite_stmt(struct store_stmt *st)
{
    return store_stmt_handle(st);
}

static enum rc s_prepare(void *conn, struct str sql, void **out)
{
    struct sconn *c = conn;
    sqlite3_stmt *stmt = NULL;
    int rc =
        sqlite3_prepare_v3(c->db, sql.ptr, (int)sql.len, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (rc != SQLITE_OK) {
        log_warn("msg=\"sqlite prepare failed\" error=\"%s\" sql=\"%.*s\"", sqlite3_errmsg(c->db),
                 (int)(sql.len > 300 ? 300 : sql.len), sql.ptr);
        return rc == SQLITE_NOMEM ? RC_NOMEM : RC_INVALID;
    }
    *out = stmt;
    return RC_OK;
}

static void s_finalize(void *st)
{
    sqlite3_finalize(st);
}

static int64_t s_data_version(void *conn)
{
    /* The pragma runs in a read transaction of its own, so it sees every
     * commit made before it (the file control would report the value the
     * pager saw at its last transaction, possibly before a commit). */
    struct sconn *c = conn;
    if (!c->data_vers &&
        sqlite3_prepare_v3(c->db, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT,
                           &c->data_vers, NULL) != SQLITE_OK)
        return -1;
    int64_t v =
        sqlite3_step(c->data_vers) == SQLITE_ROW ? sqlite3_column_int64(c->data_vers, 0) : -1;
    sqlite3_reset(c->data_vers);
    return v;
}

static bool s_in_transaction(void *conn)
{
    return !sqlite3_get_autocommit(((struct sconn *)conn)->db);
}

static void s_reset(void *st)
{
    sqlite3_reset(st);
}

static void s_clear(void *st)
{
    sqlite3_clear_bindings(st);
}

static enum rc bind_rc(int rc)
{
    return rc == SQLITE_OK ? RC_OK : store_sqlite_rc(rc);
}

static enum rc s_bind_text(void *st, int index, struct str v, bool copy)
{
    if (v.len > INT_MAX)
        return RC_TOO_LARGE;
    return bind_rc(sqlite3_bind_text(st, index, v.ptr ? v.ptr : "", (int)v.len,
                                     copy ? SQLITE_TRANSIENT : SQLITE_STATIC));
}

static enum rc s_bind_blob(void *st, int index, const void *data, size_t len)
{
    if (len > INT_MAX)
        return RC_TOO_LARGE;
    return bind_rc(sqlite3_bind_blob(st, index, len ? data : "", (int)len, SQLITE_TRANSIENT));
}

static enum rc s_bind_int64(void *st, int index, int64_t value)
{
    return bind_rc(sqlite3_bind_int64(st, index, value));
}

static enum rc s_bind_double(void *st, int index, double value)
{
    return bind_rc(sqlite3_bind_double(st, index, value));
}

static enum rc s_bind_null(void *st, int index)
{
    return bind_rc(sqlite3_bind_null(st, index));
}

static enum rc s_step(void *st)
{
    int rc = sqlite3_step(st);
    return rc == SQLITE_ROW ? RC_OK : rc == SQLITE_DONE ? RC_NOT_FOUND : store_sqlite_rc(rc);
}

static int s_column_count(void *st)
{
    return sqlite3_column_count(st);
}

static enum store_type s_column_type(void *st, int index)
{
    switch (sqlite3_column_type(st, index)) {
    case SQLITE_INTEGER: return STORE_TYPE_INT;
    case SQLITE_FLOAT: return STORE_TYPE_FLOAT;
    case SQLITE_TEXT: return STORE_TYPE_TEXT;
    case SQLITE_BLOB: return STORE_TYPE_BLOB;
    default: return STORE_TYPE_NULL;
    }
}

static struct str s_column_text(void *st, int index)
{
    const char *p = (const char *)sqlite3_column_text(st, index);
    return p ? (struct str){p, (size_t)sqlite3_column_bytes(st, index)} : (struct str){"", 0};
}

static enum rc s_column_blob(void *st, int index, struct buf *out)
{
    const void *p = sqlite3_column_blob(st, index);
    int n = sqlite3_column_bytes(st, index);
    return p && n > 0 ? buf_append(out, p, (size_t)n) : RC_OK;
}

static int64_t s_column_int64(void *st, int index)
{
    return sqlite3_column_int64(st, index);
}

static double s_column_double(void *st, int index)
{
    return sqlite3_column_double(st, index);
}

static int64_t s_changes(void *conn)
{
    return sqlite3_changes64(((struct sconn *)conn)->db);
}

/* SQLite names the columns in its message: "UNIQUE constraint failed:
 * posts.slug, posts.x". The names are copied into buf. */
static size_t s_unique_columns(void *conn, char *buf, size_t buflen, struct str *cols, size_t max)
{
    sqlite3 *db = ((struct sconn *)conn)->db;
    int ext = sqlite3_extended_errcode(db);
    if (ext != SQLITE_CONSTRAINT_UNIQUE && ext != SQLITE_CONSTRAINT_PRIMARYKEY)
        return 0;
    const char *msg = sqlite3_errmsg(db);
    const char *s = strstr(msg, "failed: ");
    if (!s)
        return 0;
    s += 8;
    size_t len = strlen(s);
    if (len >= buflen)
        len = buflen - 1;
    memcpy(buf, s, len);
    buf[len] = 0;
    size_t n = 0;
    char *p = buf;
    while (*p && n < max) {
        char *end = p;
        while (*end && *end != ',')
            end++;
        char *dot = memchr(p, '.', (size_t)(end - p));
        if (dot)
            cols[n++] = (struct str){dot + 1, (size_t)(end - dot - 1)};
        p = *end ? end + 1 : end;
        while (*p == ' ')
            p++;
    }
    return n;
}

const struct store_engine store_sqlite_engine = {
    .name = "sqlite",
    .dialect = STORE_DIALECT_SQLITE,
    /* BEGIN alone takes no lock; the first SELECT starts the read. */
    .begin_read_sql = "BEGIN",
    .begin_write_sql = "BEGIN IMMEDIATE",
    .open = s_open,
    .close = s_close,
    .prepare = s_prepare,
    .finalize = s_finalize,
    .reset = s_reset,
    .clear = s_clear,
    .bind_text = s_bind_text,
    .bind_int64 = s_bind_int64,
    .bind_double = s_bind_double,
    .bind_null = s_bind_null,
    .bind_blob = s_bind_blob,
    .step = s_step,
    .column_count = s_column_count,
    .column_type = s_column_type,
    .column_text = s_column_text,
    .column_int64 = s_column_int64,
    .column_double = s_column_double,
    .column_blob = s_column_blob,
    .changes = s_changes,
    .unique_columns = s_unique_columns,
    .exec = s_exec,
    .has_object_sql = "SELECT 1 FROM sqlite_schema WHERE lower(name) = lower(?1) LIMIT 1",
    .data_version = s_data_version,
    .in_transaction = s_in_transaction,
    .set_budget = s_set_budget,
    .query_check = store_sqlite_query_check,
    .view_create = store_sqlite_view_create,
};
