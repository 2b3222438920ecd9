/* store.c -- store.h over an engine (engine.h). The statement cache is an
 * open-addressing hash table keyed by SQL text that grows by doubling. An
 * app's queries are a few hundred texts, but filters a client writes each
 * have a text of their own (their values are parameters, their shapes are
 * not), so the cache is bounded: at STORE_STMT_CACHE_MAX statements, every
 * one not in use is finalized and the hot ones are prepared again on their
 * next use. */
#include "store/store.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "store/engine.h"
#include "store/sql.h"

/* A cached statement: owned by its connection's cache, handed out by
 * store_prepare and back by store_done. */
struct store_stmt {
    void *h; /* the engine's */
    const struct store_engine *engine;
    struct store_conn *db; /* whose cache holds it */
    char *sql;
    size_t sql_len;
    uint64_t hash;
    bool in_use;    /* handed out and not yet done: never finalized meanwhile */
    unsigned keeps; /* store_keep minus store_unkeep: never finalized while > 0 */
};

struct store_conn {
    void *h; /* the engine's */
    const struct store_engine *engine;
    struct store_stmt **slots; /* NULL: empty slot */
    size_t slot_count;         /* a power of two */
    size_t used;
    struct budget *budget_now; /* store_set_budget's; NULL: none */
    char errbuf[4096];         /* store_unique_columns' names */
};

bool store_target_is_url(const char *target)
{
    return strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0;
}

enum rc store_open(const char *target, enum store_open_mode mode, struct store_conn **out)
{
    const struct store_engine *e =
        store_target_is_url(target) ? &store_pg_engine : &store_sqlite_engine;
    void *h = NULL;
    enum rc rc = e->open(target, mode, &h);
    if (rc)
        return rc;
    store_dialect_set_current(e->dialect);
    struct store_conn *db = xcalloc(1, sizeof(*db));
    db->h = h;
    db->engine = e;
    db->slot_count = 64;
    db->slots = xcalloc(db->slot_count, sizeof(*db->slots));
    *out = db;
    return RC_OK;
}

static void stmt_free(struct store_stmt *st)
{
    if (!st)
        return;
    st->engine->finalize(st->h);
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
    db->engine->close(db->h);
    xfree(db);
}

void *store_conn_handle(struct store_conn *db)
{
    return db->h;
}

void *store_stmt_handle(struct store_stmt *st)
{
    return st->h;
}

const struct store_engine *store_conn_engine(const struct store_conn *db)
{
    return db->engine;
}

const char *store_engine_name(const struct store_conn *db)
{
    return db->engine->name;
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
    void *handle = NULL;
    enum rc rc = db->engine->prepare(db->h, sql, &handle);
    if (rc)
        return rc;
    if (db->used >= STORE_STMT_CACHE_MAX) {
        size_t before = db->used;
        rebuild(db, db->slot_count, false);
        log_info("msg=\"statement cache flushed\" statements=%zu kept=%zu", before, db->used);
    }
    if ((db->used + 1) * 4 > db->slot_count * 3)
        rebuild(db, db->slot_count * 2, true);
    struct store_stmt *st = xcalloc(1, sizeof(*st));
    st->h = handle;
    st->engine = db->engine;
    st->sql = xstrndup(sql.ptr, sql.len);
    st->sql_len = sql.len;
    st->hash = h;
    st->db = db;
    st->in_use = true;
    place(db->slots, db->slot_count, st);
    db->used++;
    *out = st;
    return RC_OK;
}

size_t store_stmt_cache_size(const struct store_conn *db)
{
    return db->used;
}

enum rc store_has_object(struct store_conn *db, struct str name, bool *out)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(db, str_from_cstr(db->engine->has_object_sql), &st);
    if (rc)
        return rc;
    rc = store_bind_text(st, 1, name);
    if (!rc)
        rc = store_step(st);
    store_done(st);
    if (rc && rc != RC_NOT_FOUND)
        return rc;
    *out = rc == RC_OK;
    return RC_OK;
}

enum rc store_query_check(struct store_conn *db, struct str sql, store_may_read_fn *may_read,
                          void *ctx, struct store_query_info *info)
{
    if (!db->engine->query_check) {
        memset(info, 0, sizeof(*info));
        info->fault = STORE_QUERY_UNSUPPORTED;
        snprintf(info->detail, sizeof(info->detail), "%s", db->engine->name);
        return RC_INVALID;
    }
    return db->engine->query_check(db->h, sql, may_read, ctx, info);
}

void store_query_info_note_table(struct store_query_info *info, const char *table)
{
    for (size_t i = 0; i < info->table_count; i++) {
        if (strcmp(info->tables[i], table) == 0)
            return;
    }
    info->tables = xrealloc(info->tables, (info->table_count + 1) * sizeof(char *));
    info->tables[info->table_count++] = xstrdup(table);
}

void store_query_info_cleanup(struct store_query_info *info)
{
    for (size_t i = 0; i < info->count; i++) {
        xfree(info->cols[i].name);
        xfree(info->cols[i].table);
        xfree(info->cols[i].origin);
        xfree(info->cols[i].decl_type);
    }
    xfree(info->cols);
    for (size_t i = 0; i < info->table_count; i++)
        xfree(info->tables[i]);
    xfree(info->tables);
    memset(info, 0, sizeof(*info));
}

enum rc store_view_create(struct store_conn *db, struct str name, const struct store_query_info *q,
                          const enum store_view_cast *casts, char *why, size_t cap)
{
    if (!db->engine->view_create) {
        snprintf(why, cap, "views are not supported on %s", db->engine->name);
        return RC_INVALID;
    }
    return db->engine->view_create(db->h, name, q, casts, why, cap);
}

enum rc store_view_drop(struct store_conn *db, struct str name)
{
    struct buf sql;
    buf_init(&sql, 4096);
    struct store_sql b;
    store_sql_begin_as(&b, &sql, db->engine->dialect);
    store_sql_add(&b, "DROP VIEW IF EXISTS ");
    store_sql_ident(&b, name);
    store_sql_addn(&b, (struct str){"", 1}); /* NUL-terminated for store_exec */
    enum rc rc = store_sql_end(&b);
    if (!rc)
        rc = store_exec(db, sql.data);
    buf_cleanup(&sql);
    return rc;
}

void store_set_io_wait(struct store_conn *db, store_io_wait_fn *fn, void *ctx)
{
    if (db->engine->set_io_wait)
        db->engine->set_io_wait(db->h, fn, ctx);
}

bool store_is_remote(const struct store_conn *db)
{
    return db->engine->set_io_wait != NULL;
}

enum rc store_lock_key(struct store_conn *db, struct str key)
{
    if (!store_is_remote(db))
        return RC_OK;
    struct store_stmt *st = NULL;
    enum rc rc =
        store_prepare(db, STR_LIT("SELECT pg_advisory_xact_lock(hashtextextended(?1, 0))"), &st);
    if (!rc)
        rc = store_bind_text(st, 1, key);
    if (!rc)
        rc = store_step(st);
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

bool store_has_views(const struct store_conn *db)
{
    return db->engine->query_check && db->engine->view_create;
}

enum store_dialect store_conn_dialect(const struct store_conn *db)
{
    return db->engine->dialect;
}

enum rc store_check_sessions(const char *target, bool *is_shared, char *why, size_t cap)
{
    if (cap)
        why[0] = '\0';
    *is_shared = false;
    return store_target_is_url(target) ? store_pg_check_sessions(target, is_shared, why, cap)
                                       : RC_OK;
}

enum store_reach store_probe(const char *target, char *why, size_t cap)
{
    if (cap)
        why[0] = '\0';
    return store_target_is_url(target) ? store_pg_probe(target, why, cap) : STORE_REACH_OK;
}

void store_target_shown(const char *target, char *out, size_t cap)
{
    if (store_target_is_url(target))
        store_pg_shown(target, out, cap);
    else if (cap)
        snprintf(out, cap, "%s", target);
}

/* ---- The catalog ---------------------------------------------------------
 *
 * Catalog queries per dialect (STYLE.md §1.4: a table, as dialect.c's column
 * types). Each lists names with one parameter at most; the column query
 * gives each column's declared type, classed by column_class(). */
static const struct {
    const char *tables;  /* one column: the table's name */
    const char *columns; /* ?1 the table: name, declared type */
    bool has_implicit_row_key;
} catalog[] = {
    /* Search indexes ("_s:...", store/search.h) are left out: made again
     * from the tables' rows wherever the tables go. */
    [STORE_DIALECT_SQLITE] = {"SELECT name FROM sqlite_master WHERE type = 'table' AND "
                              "name NOT LIKE 'sqlite!_%' ESCAPE '!' AND "
                              "name NOT LIKE '!_s:%' ESCAPE '!' ORDER BY name",
                              "SELECT name, type FROM pragma_table_info(?1) ORDER BY cid", true},
    [STORE_DIALECT_POSTGRES] = {"SELECT tablename::text FROM pg_tables WHERE schemaname = "
                                "current_schema() AND tablename NOT LIKE '!_s:%' ESCAPE '!' "
                                "ORDER BY tablename COLLATE \"C\"",
                                "SELECT column_name::text, data_type::text FROM "
                                "information_schema.columns WHERE table_schema = "
                                "current_schema() AND table_name = ?1 ORDER BY ordinal_position",
                                false},
};

void store_names_free(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        xfree(names[i]);
    xfree(names);
}

void store_columns_free(struct store_column_info *cols, size_t count)
{
    for (size_t i = 0; i < count; i++)
        xfree(cols[i].name);
    xfree(cols);
}

enum rc store_tables(struct store_conn *db, char ***out, size_t *count)
{
    *out = NULL;
    *count = 0;
    struct store_stmt *st;
    enum rc rc = store_prepare(db, str_from_cstr(catalog[db->engine->dialect].tables), &st);
    if (rc)
        return rc;
    char **names = NULL;
    size_t n = 0;
    while ((rc = store_step(st)) == RC_OK) {
        struct str name = store_column_text(st, 0);
        names = xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = xstrndup(name.ptr, name.len);
    }
    store_done(st);
    if (rc != RC_NOT_FOUND) {
        store_names_free(names, n);
        return rc;
    }
    *out = names;
    *count = n;
    return RC_OK;
}

/* Whether a declared type (SQLite's as written, PostgreSQL's data_type)
 * contains word, ignoring ASCII case. */
static bool type_has(struct str type, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= type.len; i++) {
        if (str_eq_nocase((struct str){type.ptr + i, n}, (struct str){word, n}))
            return true;
    }
    return false;
}

/* A declared type's class: integers and booleans INT, other numbers FLOAT,
 * bytes (a vector field's BLOB or bytea) BLOB, the rest (text, JSON, ...) TEXT. SQLite's affinity
 * rules (datatype3.html §3.1) put "INT" first; JSON has NUMERIC affinity there but holds text. */
static enum store_type column_class(struct str type)
{
    if (type_has(type, "INT") || type_has(type, "BOOL"))
        return STORE_TYPE_INT;
    if (type_has(type, "NUMERIC") || type_has(type, "DECIMAL") || type_has(type, "REAL") ||
        type_has(type, "FLOA") || type_has(type, "DOUB"))
        return STORE_TYPE_FLOAT;
    if (type_has(type, "BLOB") || type_has(type, "BYTEA"))
        return STORE_TYPE_BLOB;
    return STORE_TYPE_TEXT;
}

enum rc store_table_columns(struct store_conn *db, struct str table, struct store_column_info **out,
                            size_t *count)
{
    *out = NULL;
    *count = 0;
    struct store_stmt *st;
    enum rc rc = store_prepare(db, str_from_cstr(catalog[db->engine->dialect].columns), &st);
    if (rc)
        return rc;
    rc = store_bind_text(st, 1, table);
    struct store_column_info *cols = NULL;
    size_t n = 0;
    while (!rc && (rc = store_step(st)) == RC_OK) {
        if (n == 0 && catalog[db->engine->dialect].has_implicit_row_key) {
            cols = xrealloc(cols, sizeof(*cols));
            cols[n++] = (struct store_column_info){xstrdup("rowid"), STORE_TYPE_INT};
        }
        struct str name = store_column_text(st, 0);
        cols = xrealloc(cols, (n + 1) * sizeof(*cols));
        cols[n].name = xstrndup(name.ptr, name.len);
        cols[n].type = column_class(store_column_text(st, 1));
        n++;
    }
    store_done(st);
    if (rc != RC_NOT_FOUND) {
        store_columns_free(cols, n);
        return rc;
    }
    *out = cols;
    *count = n;
    return RC_OK;
}

enum rc store_row_key_follow(struct store_conn *db, struct str table)
{
    if (db->engine->dialect != STORE_DIALECT_POSTGRES)
        return RC_OK; /* SQLite: a new rowid is one past the largest */
    /* The identity's sequence, named by the table's quoted name as text
     * (pg_get_serial_sequence reads it as SQL would); NULL, and so nothing
     * set, for a table without one. setval(seq, max, true): the next is
     * max + 1; an empty table starts again at 1. */
    struct buf quoted, sql;
    buf_init(&quoted, 1024);
    buf_init(&sql, 2048);
    enum rc rc = store_dialect_ident_as(&quoted, db->engine->dialect, table);
    struct store_sql q;
    store_sql_begin_as(&q, &sql, db->engine->dialect);
    store_sql_add(&q, "SELECT setval(pg_get_serial_sequence(");
    store_sql_param(&q);
    store_sql_add(&q, ", 'rowid'), COALESCE(MAX(\"rowid\"), 1), MAX(\"rowid\") IS NOT NULL) FROM ");
    store_sql_ident(&q, table);
    struct store_stmt *st = NULL;
    if (!rc)
        rc = store_sql_prepare(&q, db, &st);
    if (!rc) {
        rc = store_bind_text(st, 1, buf_str(&quoted));
        if (!rc)
            rc = store_step(st);
        store_discard(st); /* a text per table, run once */
        if (rc == RC_NOT_FOUND)
            rc = RC_OK;
    }
    buf_cleanup(&quoted);
    buf_cleanup(&sql);
    return rc;
}

int64_t store_data_version_local(struct store_conn *db)
{
    int64_t v = db->engine->data_version(db->h);
    return v == STORE_DATA_VERSION_ASK ? -1 : v;
}

int64_t store_table_version(struct store_conn *db, const char *table)
{
    return db->engine->table_version ? db->engine->table_version(db->h, table) : -1;
}

int64_t store_data_version(struct store_conn *db)
{
    int64_t v = db->engine->data_version(db->h);
    if (v != STORE_DATA_VERSION_ASK)
        return v;
    /* Other processes commit too (PostgreSQL, several instances). The
     * server's current snapshot (xmin:xmax:in-progress ids) names what a
     * read sees: two equal snapshots see the same rows, and any commit
     * anywhere changes it. Inside the read's REPEATABLE READ transaction it
     * is the very snapshot the read then uses. Its 63-bit hash is the
     * version; a read costs one round trip more, a cache hit saves the
     * list's queries. */
    struct store_stmt *st = NULL;
    enum rc rc = store_prepare(db, STR_LIT("SELECT pg_current_snapshot()::text"), &st);
    if (!rc)
        rc = store_step(st);
    v = rc == RC_OK ? (int64_t)(str_hash(store_column_text(st, 0)) & (uint64_t)INT64_MAX) : -1;
    store_done(st);
    return v;
}

enum rc store_begin_read(struct store_conn *db)
{
    /* Cached, as every statement: a worker runs it once per loop iteration. */
    struct store_stmt *st;
    enum rc rc = store_prepare(db, str_from_cstr(db->engine->begin_read_sql), &st);
    if (rc)
        return rc;
    rc = store_step(st);
    store_done(st);
    if (rc == RC_NOT_FOUND)
        return RC_OK;
    return rc == RC_OK ? RC_INTERNAL : rc;
}

void store_end_read(struct store_conn *db)
{
    struct store_stmt *st;
    if (store_prepare(db, STR_LIT("COMMIT"), &st) == RC_OK) {
        (void)store_step(st);
        store_done(st);
    }
    /* A read transaction left open would pin this connection to its
     * snapshot for good: every later read would miss every later commit. */
    if (db->engine->in_transaction(db->h))
        (void)store_exec(db, "ROLLBACK");
}

enum rc store_begin_write(struct store_conn *db)
{
    return store_exec(db, db->engine->begin_write_sql);
}

bool store_in_transaction(struct store_conn *db)
{
    return db->engine->in_transaction(db->h);
}

enum rc store_exec(struct store_conn *db, const char *sql)
{
    return db->engine->exec(db->h, sql);
}

enum rc store_exec_later(struct store_conn *db, const char *sql)
{
    if (!db->engine->exec_later)
        return db->engine->exec(db->h, sql);
    return db->engine->exec_later(db->h, sql);
}

struct budget *store_set_budget(struct store_conn *db, struct budget *b)
{
    struct budget *old = db->budget_now;
    db->budget_now = b;
    db->engine->set_budget(db->h, b);
    return old;
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
    st->engine->reset(st->h);
    st->engine->clear(st->h);
    st->in_use = false;
}

/* Empties slot j of db's table and places again the statements after it
 * in its run of full slots (linear probing: one of them may have been
 * placed past j because j was taken). */
static void unplace(struct store_conn *db, size_t j)
{
    size_t mask = db->slot_count - 1;
    db->slots[j] = NULL;
    db->used--;
    for (size_t k = (j + 1) & mask; db->slots[k]; k = (k + 1) & mask) {
        struct store_stmt *moved = db->slots[k];
        db->slots[k] = NULL;
        place(db->slots, db->slot_count, moved);
    }
}

void store_discard(struct store_stmt *st)
{
    if (st->keeps) {
        store_done(st); /* someone keeps it: it stays */
        return;
    }
    struct store_conn *db = st->db;
    size_t mask = db->slot_count - 1;
    for (size_t j = st->hash & mask; db->slots[j]; j = (j + 1) & mask) {
        if (db->slots[j] == st) {
            unplace(db, j);
            break;
        }
    }
    stmt_free(st);
}

void store_reset(struct store_stmt *st)
{
    st->engine->reset(st->h);
}

enum rc store_bind_text(struct store_stmt *st, int index, struct str value)
{
    return st->engine->bind_text(st->h, index, value, false);
}

enum rc store_bind_text_copy(struct store_stmt *st, int index, struct str value)
{
    return st->engine->bind_text(st->h, index, value, true);
}

enum rc store_bind_int64(struct store_stmt *st, int index, int64_t value)
{
    return st->engine->bind_int64(st->h, index, value);
}

enum rc store_bind_double(struct store_stmt *st, int index, double value)
{
    return st->engine->bind_double(st->h, index, value);
}

enum rc store_bind_null(struct store_stmt *st, int index)
{
    return st->engine->bind_null(st->h, index);
}

enum rc store_step(struct store_stmt *st)
{
    return st->engine->step(st->h);
}

int store_column_count(struct store_stmt *st)
{
    return st->engine->column_count(st->h);
}

enum store_type store_column_type(struct store_stmt *st, int index)
{
    return st->engine->column_type(st->h, index);
}

enum rc store_bind_blob(struct store_stmt *st, int index, const void *data, size_t len)
{
    return st->engine->bind_blob(st->h, index, data, len);
}

enum rc store_column_blob(struct store_stmt *st, int index, struct buf *out)
{
    return st->engine->column_blob(st->h, index, out);
}

struct str store_column_text(struct store_stmt *st, int index)
{
    return st->engine->column_text(st->h, index);
}

int64_t store_column_int64(struct store_stmt *st, int index)
{
    return st->engine->column_int64(st->h, index);
}

double store_column_double(struct store_stmt *st, int index)
{
    return st->engine->column_double(st->h, index);
}

int64_t store_changes(struct store_conn *db)
{
    return db->engine->changes(db->h);
}

size_t store_unique_columns(struct store_conn *db, struct str *cols, size_t max)
{
    return db->engine->unique_columns(db->h, db->errbuf, sizeof(db->errbuf), cols, max);
}
