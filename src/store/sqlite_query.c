/* sqlite_query.c -- the SQLite engine's query_check and view_create
 * (engine.h; store_query_check and store_view_create in store.h).
 *
 * The judge is SQLite's own compiler: the query is prepared (never stepped)
 * with an authorizer that allows only what a SELECT does (SQLITE_SELECT,
 * SQLITE_READ of what the caller's policy allows, SQLITE_FUNCTION but
 * load_extension, SQLITE_RECURSIVE) and denies everything else, PRAGMA,
 * ATTACH and any write included; then sqlite3_stmt_readonly() and
 * sqlite3_stmt_isexplain() must agree, and the text after the statement
 * must compile to nothing (blanks, comments). No text test of our own
 * decides what the query does: a tokenizer can be fooled, the compiler
 * cannot, since it is what runs the query later.
 *
 * Column origins come from SQLite's column metadata (Debian builds it with
 * SQLITE_ENABLE_COLUMN_METADATA): a plain column reference names its table
 * and column through subqueries, CTEs and views; an expression names none.
 *
 * json_each and json_tree are eponymous virtual tables: the first use on a
 * connection declares them, which the authorizer sees as an UPDATE of
 * sqlite_master. A warm-up prepare before the authorizer is installed
 * declares them, so the check sees only the query's own actions (other
 * such tables, pragma_* ones, are let through that step and then refused
 * by the read policy). */
#include "store/sqlite.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "store/sql.h"

/* The authorizer's state during one check. */
struct auth_ctx {
    store_may_read_fn *may_read;
    void *ctx;
    struct store_query_info *info;
    bool is_denied;    /* the authorizer said no: info->fault says why */
    bool is_declaring; /* a virtual table is being declared (see below) */
};

/* What an action the authorizer refuses is called in a message. */
static const char *action_name(int code)
{
    switch (code) {
    case SQLITE_INSERT: return "INSERT";
    case SQLITE_UPDATE: return "UPDATE";
    case SQLITE_DELETE: return "DELETE";
    case SQLITE_PRAGMA: return "PRAGMA";
    case SQLITE_ATTACH: return "ATTACH";
    case SQLITE_DETACH: return "DETACH";
    case SQLITE_TRANSACTION: return "a transaction";
    case SQLITE_SAVEPOINT: return "SAVEPOINT";
    case SQLITE_ANALYZE: return "ANALYZE";
    case SQLITE_REINDEX: return "REINDEX";
    case SQLITE_ALTER_TABLE: return "ALTER TABLE";
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VTABLE: return "a virtual table";
    case SQLITE_FUNCTION: return "load_extension()";
    default: return "a schema change";
    }
}

static void deny(struct auth_ctx *a, enum store_query_fault fault, const char *detail)
{
    if (a->is_denied)
        return; /* the first reason is the one reported */
    a->is_denied = true;
    a->info->fault = fault;
    snprintf(a->info->detail, sizeof(a->info->detail), "%s", detail);
}

static int authorize(void *ctx, int code, const char *a1, const char *a2, const char *db_name,
                     const char *inner)
{
    struct auth_ctx *a = ctx;
    (void)db_name;
    (void)inner;
    switch (code) {
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE: return SQLITE_OK;
    case SQLITE_FUNCTION:
        if (a2 && strcasecmp(a2, "load_extension") == 0)
            break;
        return SQLITE_OK;
    case SQLITE_UPDATE:
        /* Declaring an eponymous virtual table (a pragma_* function, one
         * the warm-up did not declare) updates sqlite_master, then reads
         * its rowid: not the query's doing, and the query's read of the
         * table itself is judged next. A real UPDATE of sqlite_master does
         * not compile, and would not be read-only. */
        if (a1 && strcmp(a1, "sqlite_master") == 0) {
            a->is_declaring = true;
            return SQLITE_OK;
        }
        break;
    case SQLITE_READ: {
        const char *table = a1 ? a1 : "";
        const char *column = a2 ? a2 : "";
        if (a->is_declaring && strcmp(table, "sqlite_master") == 0 &&
            strcmp(column, "ROWID") == 0) {
            a->is_declaring = false;
            return SQLITE_OK;
        }
        store_query_info_note_table(a->info, table);
        if (a->may_read && !a->may_read(a->ctx, table, column)) {
            char what[256];
            snprintf(what, sizeof(what), "%s%s%s", table, column[0] ? "." : "", column);
            deny(a, STORE_QUERY_READ_DENIED, what);
            return SQLITE_DENY;
        }
        return SQLITE_OK;
    }
    default: break;
    }
    deny(a, STORE_QUERY_NOT_SELECT, action_name(code));
    return SQLITE_DENY;
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* The statement's own text: up to tail, without the ';' and blanks that end it. */
static struct str statement_text(struct str sql, const char *tail)
{
    size_t n = tail ? (size_t)(tail - sql.ptr) : sql.len;
    while (n && (sql.ptr[n - 1] == ';' || sql.ptr[n - 1] == ' ' || sql.ptr[n - 1] == '\t' ||
                 sql.ptr[n - 1] == '\n' || sql.ptr[n - 1] == '\r'))
        n--;
    return (struct str){sql.ptr, n};
}

/* Whether the text after the first statement compiles to another one (a
 * statement that does not compile counts: it is not nothing). */
static int has_more(sqlite3 *h, const char *tail, const char *end)
{
    if (!tail || tail >= end)
        return SQLITE_OK;
    sqlite3_stmt *next = NULL;
    int rc = sqlite3_prepare_v3(h, tail, (int)(end - tail), 0, &next, NULL);
    bool more = rc != SQLITE_OK || next != NULL;
    sqlite3_finalize(next);
    if (rc == SQLITE_NOMEM)
        return SQLITE_NOMEM;
    return more ? SQLITE_ERROR : SQLITE_OK;
}

enum rc store_sqlite_query_check(void *conn, struct str sql, store_may_read_fn *may_read, void *ctx,
                                 struct store_query_info *info)
{
    memset(info, 0, sizeof(*info));
    if (sql.len > 1000000) {
        info->fault = STORE_QUERY_SYNTAX;
        snprintf(info->detail, sizeof(info->detail), "the query is too long");
        return RC_INVALID;
    }
    sqlite3 *h = store_sqlite_conn_db(conn);
    sqlite3_stmt *warm = NULL;
    if (sqlite3_prepare_v3(h, "SELECT 1 FROM json_each('[]'), json_tree('[]')", -1, 0, &warm,
                           NULL) == SQLITE_NOMEM)
        return RC_NOMEM;
    sqlite3_finalize(warm);

    struct auth_ctx a = {.may_read = may_read, .ctx = ctx, .info = info};
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    sqlite3_set_authorizer(h, authorize, &a);
    int rc = sqlite3_prepare_v3(h, sql.ptr, (int)sql.len, 0, &st, &tail);
    sqlite3_set_authorizer(h, NULL, NULL);
    if (rc == SQLITE_OK && st)
        rc = has_more(h, tail, sql.ptr + sql.len);
    enum rc engine = store_sqlite_rc(rc);
    if (engine == RC_NOMEM || engine == RC_IO || engine == RC_BUSY) {
        /* The engine failed, not the query. */
        sqlite3_finalize(st);
        return engine;
    }
    if (rc != SQLITE_OK) {
        if (!a.is_denied && st) {
            info->fault = STORE_QUERY_MANY;
        } else if (!a.is_denied) {
            info->fault = STORE_QUERY_SYNTAX;
            snprintf(info->detail, sizeof(info->detail), "%s", sqlite3_errmsg(h));
        }
        sqlite3_finalize(st);
        return RC_INVALID;
    }
    if (!st) {
        info->fault = STORE_QUERY_EMPTY;
        return RC_INVALID;
    }
    if (!sqlite3_stmt_readonly(st) || sqlite3_stmt_isexplain(st) || sqlite3_column_count(st) == 0) {
        info->fault = STORE_QUERY_NOT_SELECT;
        snprintf(info->detail, sizeof(info->detail), "%s",
                 sqlite3_stmt_isexplain(st) ? "EXPLAIN" : "a statement without rows");
        sqlite3_finalize(st);
        return RC_INVALID;
    }
    int n = sqlite3_column_count(st);
    info->cols = xcalloc((size_t)n, sizeof(*info->cols));
    info->count = (size_t)n;
    for (int i = 0; i < n; i++) {
        struct store_query_column *c = &info->cols[i];
        const char *name = sqlite3_column_name(st, i);
        if (!name) {
            sqlite3_finalize(st);
            return RC_NOMEM;
        }
        c->name = xstrdup(name);
        c->table = dup_or_null(sqlite3_column_table_name(st, i));
        c->origin = c->table ? dup_or_null(sqlite3_column_origin_name(st, i)) : NULL;
        c->decl_type = dup_or_null(sqlite3_column_decltype(st, i));
    }
    info->sql = statement_text(sql, tail);
    sqlite3_finalize(st);
    return RC_OK;
}

/* Appends column c of the query as the view presents it. */
static void view_column(struct store_sql *q, const struct store_query_column *c,
                        enum store_view_cast cast)
{
    struct str name = str_from_cstr(c->name);
    switch (cast) {
    case STORE_VIEW_AS_IS: store_sql_ident(q, name); return;
    case STORE_VIEW_TEXT:
        store_sql_add(q, "CAST(");
        store_sql_ident(q, name);
        store_sql_add(q, " AS TEXT)");
        break;
    case STORE_VIEW_JSON:
        /* PocketBase's reading of a json value from a row: JSON text that
         * starts like a JSON value stays, other text becomes a JSON string. */
        store_sql_add(q, "CASE typeof(");
        store_sql_ident(q, name);
        store_sql_add(q, ") WHEN 'null' THEN NULL WHEN 'integer' THEN ");
        store_sql_ident(q, name);
        store_sql_add(q, " WHEN 'real' THEN ");
        store_sql_ident(q, name);
        store_sql_add(q, " WHEN 'text' THEN CASE WHEN json_valid(");
        store_sql_ident(q, name);
        store_sql_add(q, ") AND (substr(");
        store_sql_ident(q, name);
        store_sql_add(q, ", 1, 1) IN ('{', '[', '\"', '-', '0', '1', '2', '3', '4', '5', '6', "
                         "'7', '8', '9') OR ");
        store_sql_ident(q, name);
        store_sql_add(q, " IN ('true', 'false', 'null')) THEN ");
        store_sql_ident(q, name);
        store_sql_add(q, " ELSE json_quote(");
        store_sql_ident(q, name);
        store_sql_add(q, ") END ELSE json_quote(CAST(");
        store_sql_ident(q, name);
        store_sql_add(q, " AS TEXT)) END");
        break;
    }
    store_sql_add(q, " AS ");
    store_sql_ident(q, name);
}

/* Runs the one statement of text; the engine's message in why on failure. */
static enum rc run_one(sqlite3 *h, const char *text, size_t len, bool is_read, char *why,
                       size_t cap)
{
    sqlite3_stmt *st = NULL;
    int prc = sqlite3_prepare_v3(h, text, (int)len, 0, &st, NULL);
    if (prc == SQLITE_OK && st && !is_read) {
        /* The step's own code: a test build's injected fault leaves the
         * connection's error code as it was. */
        prc = sqlite3_step(st);
        prc = prc == SQLITE_DONE ? SQLITE_OK : prc == SQLITE_ROW ? SQLITE_INTERNAL : prc;
    }
    if (prc != SQLITE_OK)
        snprintf(why, cap, "%s", sqlite3_errmsg(h));
    sqlite3_finalize(st);
    if (prc == SQLITE_OK)
        return RC_OK;
    enum rc rc = store_sqlite_rc(prc);
    return rc == RC_NOMEM || rc == RC_IO || rc == RC_BUSY ? rc : RC_INVALID;
}

enum rc store_sqlite_view_create(void *conn, struct str name, const struct store_query_info *q,
                                 const enum store_view_cast *casts, char *why, size_t cap)
{
    if (cap)
        why[0] = '\0';
    bool is_plain = true;
    for (size_t i = 0; casts && i < q->count; i++) {
        if (casts[i] != STORE_VIEW_AS_IS)
            is_plain = false;
    }
    struct buf sql;
    buf_init(&sql, (size_t)1 << 24);
    struct store_sql b;
    store_sql_begin_as(&b, &sql, STORE_DIALECT_SQLITE);
    store_sql_add(&b, "CREATE VIEW ");
    store_sql_ident(&b, name);
    store_sql_add(&b, " AS ");
    if (!is_plain) {
        store_sql_add(&b, "SELECT ");
        for (size_t i = 0; i < q->count; i++) {
            if (i)
                store_sql_add(&b, ", ");
            view_column(&b, &q->cols[i], casts[i]);
        }
        store_sql_add(&b, " FROM (\n");
    }
    /* The text store_query_check compiled as one read-only SELECT (nothing
     * follows it); a newline before the ')' closes it even after a
     * trailing comment. */
    store_sql_addn(&b, q->sql);
    if (!is_plain)
        store_sql_add(&b, "\n)");
    enum rc rc = store_sql_end(&b);
    sqlite3 *h = store_sqlite_conn_db(conn);
    if (!rc)
        rc = run_one(h, sql.data, sql.len, false, why, cap);
    if (!rc) {
        buf_reset(&sql);
        store_sql_begin_as(&b, &sql, STORE_DIALECT_SQLITE);
        store_sql_add(&b, "SELECT * FROM ");
        store_sql_ident(&b, name);
        rc = store_sql_end(&b);
        if (!rc)
            rc = run_one(h, sql.data, sql.len, true, why, cap);
        if (rc == RC_INVALID) {
            /* Not left behind: the caller may go on (an import tries the
             * view again once the views it reads are made). */
            char ignored[8];
            buf_reset(&sql);
            store_sql_begin_as(&b, &sql, STORE_DIALECT_SQLITE);
            store_sql_add(&b, "DROP VIEW IF EXISTS ");
            store_sql_ident(&b, name);
            if (!store_sql_end(&b))
                (void)run_one(h, sql.data, sql.len, false, ignored, sizeof(ignored));
        }
    }
    if (rc && rc != RC_NOMEM)
        log_warn("msg=\"cannot create view\" view=%.*s error=\"%s\"", (int)name.len, name.ptr, why);
    buf_cleanup(&sql);
    return rc;
}
