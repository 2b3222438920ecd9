/* engine.h -- what an engine gives store.c (layer: store; only store/
 * includes it).
 *
 * store.c owns what every engine shares: the connection's statement cache
 * (keyed by SQL text, bounded, with keep counts), the read transactions and
 * the dispatch of store.h's functions. An engine (sqlite.c, pg.c) is one
 * table of operations over its own connection and statement handles, chosen
 * by the target store_open is given: a file path is SQLite, a
 * postgres:// or postgresql:// URL is PostgreSQL (STYLE.md §1.4: one table
 * per variant, no switch on the engine elsewhere). */
#ifndef TARMAC_STORE_ENGINE_H
#define TARMAC_STORE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/budget.h"
#include "base/rc.h"
#include "base/str.h"
#include "store/dialect.h"
#include "store/store.h"

/* data_version's answer: ask the database (store_data_version). */
#define STORE_DATA_VERSION_ASK (-2)

struct store_engine {
    const char *name; /* "sqlite", "postgresql": for logs */
    enum store_dialect dialect;
    /* The statements that open and close a read transaction and open the
     * writer's transaction (store_begin_read, store_begin_write). */
    const char *begin_read_sql;
    const char *begin_write_sql;

    /* Opens target; *conn is the engine's handle. RC_IO (reason logged,
     * never a password) on failure. */
    enum rc (*open)(const char *target, enum store_open_mode mode, void **conn);
    void (*close)(void *conn);
    /* Prepares sql on conn: RC_INVALID when it does not prepare (logged). */
    enum rc (*prepare)(void *conn, struct str sql, void **stmt);
    void (*finalize)(void *stmt);
    /* reset keeps bindings; clear drops them (after a reset). */
    void (*reset)(void *stmt);
    void (*clear)(void *stmt);
    enum rc (*bind_text)(void *stmt, int index, struct str value, bool copy);
    enum rc (*bind_int64)(void *stmt, int index, int64_t value);
    enum rc (*bind_double)(void *stmt, int index, double value);
    enum rc (*bind_null)(void *stmt, int index);
    /* Bytes, copied (a vector field's float32 values). */
    enum rc (*bind_blob)(void *stmt, int index, const void *data, size_t len);
    enum rc (*step)(void *stmt);
    int (*column_count)(void *stmt);
    enum store_type (*column_type)(void *stmt, int index);
    struct str (*column_text)(void *stmt, int index);
    int64_t (*column_int64)(void *stmt, int index);
    double (*column_double)(void *stmt, int index);
    /* Appends a BLOB/bytea column's bytes to out (nothing for NULL). */
    enum rc (*column_blob)(void *stmt, int index, struct buf *out);
    int64_t (*changes)(void *conn);
    /* After RC_CONFLICT: the refused columns, names copied into buf. */
    size_t (*unique_columns)(void *conn, char *buf, size_t buflen, struct str *cols, size_t max);
    enum rc (*exec)(void *conn, const char *sql);
    /* store_exec_later; NULL: exec at once. */
    enum rc (*exec_later)(void *conn, const char *sql);
    /* SQL of one statement with one text parameter, the object's name:
     * a row when a table, view or index of that name (any ASCII case) exists. */
    const char *has_object_sql;
    /* A change counter, -1 when unknown, or STORE_DATA_VERSION_ASK: the
     * database's own snapshot says (store_data_version asks it). */
    int64_t (*data_version)(void *conn);
    /* store_table_version; NULL: the engine keeps none (-1). */
    int64_t (*table_version)(void *conn, const char *table);
    bool (*in_transaction)(void *conn);
    /* Reads on conn stop with RC_OVER_BUDGET once b is over (NULL: none);
     * an engine that cannot look mid-statement ignores it. */
    void (*set_budget)(void *conn, struct budget *b);
    /* NULL for an engine that never waits on a socket. */
    void (*set_io_wait)(void *conn, store_io_wait_fn *fn, void *ctx);
    /* A query a superuser writes, judged by the engine's own compiler and
     * the view over one (store_query_check, store_view_create); NULL when
     * the engine has none yet: view collections are then refused. */
    enum rc (*query_check)(void *conn, struct str sql, store_may_read_fn *may_read, void *ctx,
                           struct store_query_info *info);
    enum rc (*view_create)(void *conn, struct str name, const struct store_query_info *q,
                           const enum store_view_cast *casts, char *why, size_t cap);
};

/* libpq's side of store_probe and store_target_shown (pg_probe.c): they
 * run before any connection exists, so they have no slot in the table. */
enum store_reach store_pg_probe(const char *url, char *why, size_t cap);
/* store_check_sessions for a PostgreSQL URL (pg_probe.c). */
enum rc store_pg_check_sessions(const char *url, bool *is_shared, char *why, size_t cap);
void store_pg_shown(const char *url, char *out, size_t cap);

extern const struct store_engine store_sqlite_engine;
extern const struct store_engine store_pg_engine;

/* Statements a connection keeps prepared at most; past it, those not in use
 * are finalized (store.c, whatever the engine). Test builds (the ASan suite) keep very few, so
 * flushes happen all the time there and a statement used after store_done
 * is a use-after-free ASan reports. */
#ifdef TARMAC_FAULTS
#define STORE_STMT_CACHE_MAX 24
#else
#define STORE_STMT_CACHE_MAX 1024
#endif

/* The statements the connection's cache holds now (tests). */
size_t store_stmt_cache_size(const struct store_conn *db);
/* The engine's handle behind a connection or a statement (store's own code
 * and its tests). */
void *store_conn_handle(struct store_conn *db);
void *store_stmt_handle(struct store_stmt *st);
const struct store_engine *store_conn_engine(const struct store_conn *db);

/* For the engines' query_check: adds table to info->tables unless it is
 * there already (store.c). */
void store_query_info_note_table(struct store_query_info *info, const char *table);

#endif
