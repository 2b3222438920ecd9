/* sqlite.c -- see sqlite.h. The statement cache is an open-addressing hash
 * table keyed by SQL text that grows by doubling. An app's queries are a few
 * hundred texts, but filters a client writes each have a text of their own
 * (their values are parameters, their shapes are not), so the cache is
 * bounded: at STORE_STMT_CACHE_MAX statements, every one not in use is
 * finalized and the hot ones are prepared again on their next use. */
#include "store/sqlite.h"

#include <limits.h>
#include <string.h>

#include "base/alloc.h"
#include "base/fault.h"
#include "base/log.h"
#include "store/fault.h"

/* A cached statement: owned by its connection's cache, handed out by
 * store_prepare and back by store_done. */
struct store_stmt {
    sqlite3_stmt *st;
    char *sql;
    size_t sql_len;
    uint64_t hash;
    bool in_use;    /* handed out and not yet done: never finalized meanwhile */
    unsigned keeps; /* store_keep minus store_unkeep: never finalized while > 0 */
};

struct store_conn {
    sqlite3 *db;
    struct store_stmt **slots; /* NULL: empty slot */
    size_t slot_count;         /* a power of two */
    size_t used;
    struct budget *budget; /* NULL: none */
    char errbuf[4096];     /* store_unique_columns' names */
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

enum rc store_exec(struct store_conn *db, const char *sql)
{
    if (fault_hit(FAULT_STEP))
        return RC_IO;
    char *msg = NULL;
    int rc = sqlite3_exec(db->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        log_warn("msg=\"sqlite exec failed\" rc=%d error=\"%s\"", rc, msg ? msg : "");
        sqlite3_free(msg);
        return store_sqlite_rc(rc) == RC_INTERNAL ? RC_IO : store_sqlite_rc(rc);
    }
    return RC_OK;
}

/* The progress handler: a non-zero return interrupts the running statement.
 * It only reads the budget and the clock, never the connection. */
static int on_progress(void *ctx)
{
    struct store_conn *db = ctx;
    return db->budget && budget_is_over(db->budget);
}

struct budget *store_set_budget(struct store_conn *db, struct budget *b)
{
    struct budget *old = db->budget;
    db->budget = b;
    return old;
}

enum rc store_open(const char *path, enum store_open_mode mode, struct store_conn **out)
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
    struct store_conn *db = xcalloc(1, sizeof(*db));
    db->db = h;
    db->slot_count = 64;
    db->slots = xcalloc(db->slot_count, sizeof(*db->slots));
    /* Waiting on a lock blocks the thread: readers never wait in WAL mode,
     * and the writer is alone, so this only covers checkpoints and other
     * processes (a backup tool). */
    sqlite3_busy_timeout(h, 5000);
    /* Installed once on read connections (budgets are for reads); it costs a
     * call every STORE_SQLITE_PROGRESS_OPS instructions and answers at once
     * while no budget is set. */
    if (mode == STORE_OPEN_READ)
        sqlite3_progress_handler(h, STORE_SQLITE_PROGRESS_OPS, on_progress, db);
    const char *pragmas = mode == STORE_OPEN_WRITE
                              ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
                                "PRAGMA cache_size=-16000;"
                              : "PRAGMA foreign_keys=ON; PRAGMA query_only=ON;"
                                "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16000;";
    if (store_exec(db, pragmas) != RC_OK) {
        store_close(db);
        return RC_IO;
    }
    *out = db;
    return RC_OK;
}

static void stmt_free(struct store_stmt *st)
{
    if (!st)
        return;
    sqlite3_finalize(st->st);
    xfree(st->sql);
    xfree(st);
}

void store_close(struct store_conn *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < db->slot_count; i++)
        stmt_free(db->slots[i]);
    xfree(db->slots);
    sqlite3_close_v2(db->db);
    xfree(db);
}

sqlite3 *store_sqlite_handle(struct store_conn *db)
{
    return db->db;
}

/* Places st in a table of n slots (a power of two) that has room. */
static void place(struct store_stmt **slots, size_t n, struct store_stmt *st)
{
    size_t j = st->hash & (n - 1);
    while (slots[j])
        j = (j + 1) & (n - 1);
    slots[j] = st;
}

/* Rebuilds the table with n slots, keeping the statements keep says. */
static void rebuild(struct store_conn *db, size_t n, bool keep_idle)
{
    struct store_stmt **slots = xcalloc(n, sizeof(*slots));
    size_t used = 0;
    for (size_t i = 0; i < db->slot_count; i++) {
        struct store_stmt *st = db->slots[i];
        if (!st)
            continue;
        if (!keep_idle && !st->in_use && !st->keeps) {
            stmt_free(st);
            continue;
        }
        place(slots, n, st);
        used++;
    }
    xfree(db->slots);
    db->slots = slots;
    db->slot_count = n;
    db->used = used;
}

enum rc store_prepare(struct store_conn *db, struct str sql, struct store_stmt **out)
{
    uint64_t h = str_hash(sql);
    size_t mask = db->slot_count - 1;
    for (size_t j = h & mask; db->slots[j]; j = (j + 1) & mask) {
        struct store_stmt *c = db->slots[j];
        if (c->hash == h && c->sql_len == sql.len && memcmp(c->sql, sql.ptr, sql.len) == 0) {
            c->in_use = true;
            *out = c;
            return RC_OK;
        }
    }
    sqlite3_stmt *stmt = NULL;
    int rc =
        sqlite3_prepare_v3(db->db, sql.ptr, (int)sql.len, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (rc != SQLITE_OK) {
        log_warn("msg=\"sqlite prepare failed\" error=\"%s\" sql=\"%.*s\"", sqlite3_errmsg(db->db),
                 (int)(sql.len > 300 ? 300 : sql.len), sql.ptr);
        return rc == SQLITE_NOMEM ? RC_NOMEM : RC_INVALID;
    }
    if (db->used >= STORE_STMT_CACHE_MAX) {
        size_t before = db->used;
        rebuild(db, db->slot_count, false);
        log_info("msg=\"statement cache flushed\" statements=%zu kept=%zu", before, db->used);
    }
    if ((db->used + 1) * 4 > db->slot_count * 3)
        rebuild(db, db->slot_count * 2, true);
    struct store_stmt *st = xcalloc(1, sizeof(*st));
    st->st = stmt;
    st->sql = xstrndup(sql.ptr, sql.len);
    st->sql_len = sql.len;
    st->hash = h;
    st->in_use = true;
    place(db->slots, db->slot_count, st);
    db->used++;
    *out = st;
    return RC_OK;
}

sqlite3_stmt *store_sqlite_stmt(struct store_stmt *st)
{
    return st->st;
}

size_t store_stmt_cache_size(const struct store_conn *db)
{
    return db->used;
}

enum rc store_has_object(struct store_conn *db, struct str name, bool *out)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(
        db, STR_LIT("SELECT 1 FROM sqlite_schema WHERE lower(name) = lower(?1) LIMIT 1"), &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st->st, 1, name.ptr, (int)name.len, SQLITE_STATIC);
    int step = sqlite3_step(st->st);
    store_done(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return store_sqlite_rc(step);
    *out = step == SQLITE_ROW;
    return RC_OK;
}

int64_t store_data_version(struct store_conn *db)
{
    /* The pragma runs in a read transaction of its own, so it sees every
     * commit made before it (the file control would report the value the
     * pager saw at its last transaction, possibly before a commit). */
    struct store_stmt *st;
    if (store_prepare(db, STR_LIT("PRAGMA data_version"), &st) != RC_OK)
        return -1;
    int64_t v = sqlite3_step(st->st) == SQLITE_ROW ? sqlite3_column_int64(st->st, 0) : -1;
    store_done(st);
    return v;
}

enum rc store_begin_read(struct store_conn *db)
{
    /* BEGIN alone takes no lock; the first SELECT starts the read. Cached,
     * as every statement: a worker runs it once per loop iteration. */
    struct store_stmt *st;
    enum rc rc = store_prepare(db, STR_LIT("BEGIN"), &st);
    if (rc)
        return rc;
    int step = sqlite3_step(st->st);
    store_done(st);
    if (step == SQLITE_DONE)
        return RC_OK;
    return step == SQLITE_ROW ? RC_INTERNAL : store_sqlite_rc(step);
}

void store_end_read(struct store_conn *db)
{
    struct store_stmt *st;
    if (store_prepare(db, STR_LIT("COMMIT"), &st) == RC_OK) {
        (void)sqlite3_step(st->st);
        store_done(st);
    }
    /* A read transaction left open would pin this connection to its
     * snapshot for good: every later read would miss every later commit. */
    if (!sqlite3_get_autocommit(db->db))
        (void)store_exec(db, "ROLLBACK");
}

void store_keep(struct store_stmt *st)
{
    st->keeps++;
}

void store_unkeep(struct store_stmt *st)
{
    if (st->keeps)
        st->keeps--;
}

void store_done(struct store_stmt *st)
{
    sqlite3_reset(st->st);
    sqlite3_clear_bindings(st->st);
    st->in_use = false;
}

void store_reset(struct store_stmt *st)
{
    sqlite3_reset(st->st);
}

static enum rc bind_rc(int rc)
{
    return rc == SQLITE_OK ? RC_OK : store_sqlite_rc(rc);
}

static enum rc bind_text(struct store_stmt *st, int index, struct str v, sqlite3_destructor_type d)
{
    if (v.len > INT_MAX)
        return RC_TOO_LARGE;
    return bind_rc(sqlite3_bind_text(st->st, index, v.ptr ? v.ptr : "", (int)v.len, d));
}

enum rc store_bind_text(struct store_stmt *st, int index, struct str value)
{
    return bind_text(st, index, value, SQLITE_STATIC);
}

enum rc store_bind_text_copy(struct store_stmt *st, int index, struct str value)
{
    return bind_text(st, index, value, SQLITE_TRANSIENT);
}

enum rc store_bind_int64(struct store_stmt *st, int index, int64_t value)
{
    return bind_rc(sqlite3_bind_int64(st->st, index, value));
}

enum rc store_bind_double(struct store_stmt *st, int index, double value)
{
    return bind_rc(sqlite3_bind_double(st->st, index, value));
}

enum rc store_bind_null(struct store_stmt *st, int index)
{
    return bind_rc(sqlite3_bind_null(st->st, index));
}

enum rc store_step(struct store_stmt *st)
{
    int rc = sqlite3_step(st->st);
    return rc == SQLITE_ROW ? RC_OK : rc == SQLITE_DONE ? RC_NOT_FOUND : store_sqlite_rc(rc);
}

int store_column_count(struct store_stmt *st)
{
    return sqlite3_column_count(st->st);
}

enum store_type store_column_type(struct store_stmt *st, int index)
{
    switch (sqlite3_column_type(st->st, index)) {
    case SQLITE_INTEGER: return STORE_TYPE_INT;
    case SQLITE_FLOAT: return STORE_TYPE_FLOAT;
    case SQLITE_TEXT: return STORE_TYPE_TEXT;
    case SQLITE_BLOB: return STORE_TYPE_BLOB;
    default: return STORE_TYPE_NULL;
    }
}

struct str store_column_text(struct store_stmt *st, int index)
{
    sqlite3_stmt *s = st->st;
    const char *p = (const char *)sqlite3_column_text(s, index);
    return p ? (struct str){p, (size_t)sqlite3_column_bytes(s, index)} : (struct str){"", 0};
}

int64_t store_column_int64(struct store_stmt *st, int index)
{
    return sqlite3_column_int64(st->st, index);
}

double store_column_double(struct store_stmt *st, int index)
{
    return sqlite3_column_double(st->st, index);
}

int64_t store_changes(struct store_conn *db)
{
    return sqlite3_changes64(db->db);
}

/* SQLite names the columns in its message: "UNIQUE constraint failed:
 * posts.slug, posts.x". The names are copied into the connection's buffer. */
size_t store_unique_columns(struct store_conn *db, struct str *cols, size_t max)
{
    int ext = sqlite3_extended_errcode(db->db);
    if (ext != SQLITE_CONSTRAINT_UNIQUE && ext != SQLITE_CONSTRAINT_PRIMARYKEY)
        return 0;
    const char *msg = sqlite3_errmsg(db->db);
    const char *s = strstr(msg, "failed: ");
    if (!s)
        return 0;
    s += 8;
    size_t len = strlen(s);
    if (len >= sizeof(db->errbuf))
        len = sizeof(db->errbuf) - 1;
    memcpy(db->errbuf, s, len);
    db->errbuf[len] = 0;
    size_t n = 0;
    char *p = db->errbuf;
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
