/* db_copy.c -- see db_copy.h.
 *
 * Each statement is written in its own connection's dialect
 * (store_sql_begin_as with store_conn_dialect), since the process holds one
 * connection of each engine. The DDL of core (core_ddl_create and the system
 * tables) writes in the process's dialect, which the schema step sets to
 * the target's first.
 *
 * Values are bound by the class of the target's column, not the source's
 * value type: SQLite gives a JSON column NUMERIC affinity, so JSON text
 * such as `0.1` or `12` comes back as a REAL or an INTEGER; it is bound as
 * the text SQLite shows for it (what the API answered), which a json column
 * keeps as written. A number column takes integers as they are and REALs
 * as doubles (all 17 digits), so the value read back is the same double. */
#include "core/db_copy.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "core/app.h"
#include "core/schema/collection_ddl.h"
#include "store/sql.h"

/* Parameters per INSERT at most: SQLite's default limit is 32,766,
 * PostgreSQL's 65,535. */
#define MAX_PARAMS 30000

static bool has_name(char **names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0)
            return true;
    }
    return false;
}

/* The column name names among cols: the same name, else the same in
 * another ASCII case. The system tables' DDL writes some names unquoted
 * (_jobs' runAt), which PostgreSQL folds to lower case and SQLite keeps. */
static const struct store_column_info *find_column(const struct store_column_info *cols, size_t n,
                                                   const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(cols[i].name, name) == 0)
            return &cols[i];
    }
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(cols[i].name, name) == 0)
            return &cols[i];
    }
    return NULL;
}

/* Appends ", name" to why (the first without the comma), cut at its end. */
static void why_list(char *why, size_t cap, const char *name)
{
    size_t n = strlen(why);
    if (n + 1 < cap)
        snprintf(why + n, cap - n, "%s%s", n ? ", " : "", name);
}

/* Runs the text q built on db (store_exec takes a C string). */
static enum rc exec_sql(struct store_conn *db, struct store_sql *q)
{
    store_sql_addn(q, (struct str){"", 1});
    enum rc rc = store_sql_end(q);
    return rc ? rc : store_exec(db, q->out->data);
}

/* *out = SELECT COUNT(*) FROM table on db. */
static enum rc count_rows(struct store_conn *db, const char *table, int64_t *out)
{
    struct buf sql;
    buf_init(&sql, 4096);
    struct store_sql q;
    store_sql_begin_as(&q, &sql, store_conn_dialect(db));
    store_sql_add(&q, "SELECT COUNT(*) FROM ");
    store_sql_ident(&q, str_from_cstr(table));
    struct store_stmt *st;
    enum rc rc = store_sql_prepare(&q, db, &st);
    if (!rc) {
        rc = store_step(st);
        *out = rc == RC_OK ? store_column_int64(st, 0) : -1;
        store_discard(st);
    }
    buf_cleanup(&sql);
    return rc == RC_NOT_FOUND ? RC_INTERNAL : rc;
}

/* The collection names the target's _collections holds (a former copy or
 * server), appended to names. */
static enum rc target_collections(struct core_db_copy *c, char ***names, size_t *n)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(c->dst, STR_LIT("SELECT name FROM _collections"), &st);
    if (rc)
        return rc;
    while ((rc = store_step(st)) == RC_OK) {
        struct str name = store_column_text(st, 0);
        *names = xrealloc(*names, (*n + 1) * sizeof(**names));
        (*names)[(*n)++] = xstrndup(name.ptr, name.len);
    }
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

enum rc core_db_copy_plan(struct core_db_copy *c)
{
    c->why[0] = '\0';
    if (!store_has_views(c->dst)) {
        char names[1536] = "";
        for (size_t i = 0; i < c->schema->count; i++) {
            if (c->schema->items[i]->type == CORE_COLLECTION_VIEW)
                why_list(names, sizeof(names), c->schema->items[i]->name);
        }
        if (names[0]) {
            snprintf(c->why, sizeof(c->why),
                     "the view collections %s cannot be made on %s yet (issue #10); delete them "
                     "(their data is in the tables they read) and copy again",
                     names, store_engine_name(c->dst));
            return RC_INVALID;
        }
    }
    enum rc rc = store_begin_read(c->src);
    if (rc) {
        snprintf(c->why, sizeof(c->why), "cannot read the source: %s", rc_text(rc));
        return rc;
    }
    c->is_reading = true;
    char **names = NULL;
    size_t n = 0;
    rc = store_tables(c->src, &names, &n);
    if (rc) {
        snprintf(c->why, sizeof(c->why), "cannot list the source's tables: %s", rc_text(rc));
        return rc;
    }
    c->tables = xcalloc(n ? n : 1, sizeof(*c->tables));
    c->table_count = n;
    for (size_t i = 0; i < n && !rc; i++) {
        struct core_db_copy_table *t = &c->tables[i];
        t->name = names[i];
        t->target_rows = -1;
        rc = count_rows(c->src, t->name, &t->rows);
        if (rc)
            snprintf(c->why, sizeof(c->why), "cannot count the rows of %s in the source: %s",
                     t->name, rc_text(rc));
    }
    xfree(names); /* the strings are the tables' now */
    if (rc)
        return rc;

    /* What of tarmac's the target has: a table the copy makes, or one its
     * own _collections names (a former copy's or server's collection). */
    char **there = NULL, **owned = NULL;
    size_t there_n = 0, owned_n = 0;
    rc = store_tables(c->dst, &there, &there_n);
    if (!rc && has_name(there, there_n, "_collections"))
        rc = target_collections(c, &owned, &owned_n);
    for (size_t i = 0; i < there_n && !rc; i++) {
        bool is_ours = has_name(owned, owned_n, there[i]);
        for (size_t k = 0; k < c->table_count && !is_ours; k++)
            is_ours = strcmp(c->tables[k].name, there[i]) == 0;
        if (!is_ours)
            continue;
        c->existing = xrealloc(c->existing, (c->existing_count + 1) * sizeof(*c->existing));
        c->existing[c->existing_count++] = xstrdup(there[i]);
    }
    store_names_free(there, there_n);
    store_names_free(owned, owned_n);
    if (rc)
        snprintf(c->why, sizeof(c->why), "cannot list the target's tables: %s", rc_text(rc));
    return rc;
}

/* Every table and column of the source has its place in the target (in
 * the schema transaction, after the tables were made). */
static enum rc check_places(struct core_db_copy *c)
{
    char **there = NULL;
    size_t there_n = 0;
    enum rc rc = store_tables(c->dst, &there, &there_n);
    if (rc)
        return rc;
    char missing[1536] = "";
    for (size_t i = 0; i < c->table_count && !rc; i++) {
        const char *name = c->tables[i].name;
        if (!has_name(there, there_n, name)) {
            why_list(missing, sizeof(missing), name);
            continue;
        }
        struct store_column_info *from = NULL, *to = NULL;
        size_t from_n = 0, to_n = 0;
        rc = store_table_columns(c->src, str_from_cstr(name), &from, &from_n);
        if (!rc)
            rc = store_table_columns(c->dst, str_from_cstr(name), &to, &to_n);
        for (size_t k = 0; k < from_n && !rc; k++) {
            if (find_column(to, to_n, from[k].name))
                continue;
            char both[512];
            snprintf(both, sizeof(both), "%s.%s", name, from[k].name);
            why_list(missing, sizeof(missing), both);
        }
        store_columns_free(from, from_n);
        store_columns_free(to, to_n);
    }
    store_names_free(there, there_n);
    if (rc)
        return rc;
    if (missing[0]) {
        snprintf(c->why, sizeof(c->why),
                 "the source has tables or columns tarmac does not make, which the copy would "
                 "lose: %s (drop them from the source, or keep them elsewhere, and copy again)",
                 missing);
        return RC_INVALID;
    }
    return RC_OK;
}

static enum rc make_schema(struct core_db_copy *c, bool drop_existing)
{
    enum rc rc = RC_OK;
    struct buf sql;
    buf_init(&sql, 4096);
    for (size_t i = 0; drop_existing && i < c->existing_count && !rc; i++) {
        buf_reset(&sql);
        struct store_sql q;
        store_sql_begin_as(&q, &sql, store_conn_dialect(c->dst));
        store_sql_add(&q, "DROP TABLE ");
        store_sql_ident(&q, str_from_cstr(c->existing[i]));
        rc = exec_sql(c->dst, &q);
        if (rc)
            snprintf(c->why, sizeof(c->why), "cannot drop the table %s of the target: %s",
                     c->existing[i], rc_text(rc));
    }
    buf_cleanup(&sql);
    if (rc)
        return rc;
    rc = core_app_system_tables(c->dst);
    if (rc) {
        snprintf(c->why, sizeof(c->why), "cannot make the system tables: %s", rc_text(rc));
        return rc;
    }
    for (size_t i = 0; i < c->schema->count && !rc; i++) {
        const struct core_collection *col = c->schema->items[i];
        if (col->type == CORE_COLLECTION_VIEW)
            continue;
        rc = core_ddl_create(c->dst, col);
        if (rc)
            snprintf(c->why, sizeof(c->why), "cannot make the table of the collection %s: %s",
                     col->name, rc_text(rc));
    }
    /* Views last: they read the tables above (and views made before them). */
    for (size_t i = 0; i < c->schema->count && !rc; i++) {
        const struct core_collection *col = c->schema->items[i];
        if (col->type != CORE_COLLECTION_VIEW)
            continue;
        struct core_problem p;
        core_problem_init(&p);
        rc = core_ddl_view(c->dst, NULL, col, &p);
        if (rc)
            snprintf(c->why, sizeof(c->why), "cannot make the view collection %s: %s", col->name,
                     p.message[0] ? p.message : rc_text(rc));
        core_problem_cleanup(&p);
    }
    if (!rc) {
        rc = check_places(c);
        if (rc && !c->why[0])
            snprintf(c->why, sizeof(c->why), "cannot list the target's tables: %s", rc_text(rc));
    }
    return rc;
}

enum rc core_db_copy_schema(struct core_db_copy *c, bool drop_existing)
{
    c->why[0] = '\0';
    /* core_ddl_* and the system tables write in the process's dialect. */
    store_dialect_set_current(store_conn_dialect(c->dst));
    enum rc rc = store_begin_write(c->dst);
    if (rc) {
        snprintf(c->why, sizeof(c->why), "cannot begin a transaction on the target: %s",
                 rc_text(rc));
        return rc;
    }
    rc = make_schema(c, drop_existing);
    if (!rc) {
        rc = store_exec(c->dst, "COMMIT");
        if (rc)
            snprintf(c->why, sizeof(c->why), "cannot commit the tables: %s", rc_text(rc));
    }
    if (rc && store_in_transaction(c->dst))
        (void)store_exec(c->dst, "ROLLBACK");
    return rc;
}

/* ---- Rows ------------------------------------------------------------- */

/* One table's copy: the columns both sides share, in the source's order,
 * and the statements over them. */
struct table_copy {
    struct core_db_copy *c;
    struct core_db_copy_table *t;
    struct store_column_info *from, *to;
    size_t from_n, to_n;
    const struct store_column_info **target; /* per source column: its target column */
    bool has_row_key;                        /* both sides have "rowid" */
    size_t batch;                            /* rows per full INSERT */
    struct buf sql;
};

/* INSERT INTO t (cols) VALUES (...), ... for rows rows, in the target's
 * dialect, into tc->sql. */
static enum rc insert_sql(struct table_copy *tc, size_t rows)
{
    buf_reset(&tc->sql);
    struct store_sql q;
    store_sql_begin_as(&q, &tc->sql, store_conn_dialect(tc->c->dst));
    store_sql_add(&q, "INSERT INTO ");
    store_sql_ident(&q, str_from_cstr(tc->t->name));
    store_sql_add(&q, " (");
    for (size_t i = 0; i < tc->from_n; i++) {
        if (i)
            store_sql_add(&q, ", ");
        store_sql_ident(&q, str_from_cstr(tc->target[i]->name));
    }
    store_sql_add(&q, ") VALUES ");
    for (size_t r = 0; r < rows; r++) {
        store_sql_add(&q, r ? ", (" : "(");
        for (size_t i = 0; i < tc->from_n; i++) {
            if (i)
                store_sql_add(&q, ", ");
            store_sql_param(&q);
        }
        store_sql_add(&q, ")");
    }
    return store_sql_end(&q);
}

static enum rc select_sql(struct table_copy *tc)
{
    buf_reset(&tc->sql);
    struct store_sql q;
    store_sql_begin_as(&q, &tc->sql, store_conn_dialect(tc->c->src));
    store_sql_add(&q, "SELECT ");
    for (size_t i = 0; i < tc->from_n; i++) {
        if (i)
            store_sql_add(&q, ", ");
        store_sql_ident(&q, str_from_cstr(tc->from[i].name));
    }
    store_sql_add(&q, " FROM ");
    store_sql_ident(&q, str_from_cstr(tc->t->name));
    if (tc->has_row_key)
        store_sql_add(&q, " ORDER BY \"rowid\"");
    return store_sql_end(&q);
}

/* Binds column i of from's row to parameter index of to, by the class of
 * the target's column (see the top of this file). */
static enum rc bind_value(struct store_stmt *from, int i, struct store_stmt *to, int index,
                          enum store_type target)
{
    switch (store_column_type(from, i)) {
    case STORE_TYPE_NULL: return store_bind_null(to, index);
    case STORE_TYPE_INT:
        if (target != STORE_TYPE_TEXT)
            return store_bind_int64(to, index, store_column_int64(from, i));
        break;
    case STORE_TYPE_FLOAT:
        if (target == STORE_TYPE_FLOAT)
            return store_bind_double(to, index, store_column_double(from, i));
        break;
    case STORE_TYPE_BLOB:
        if (target == STORE_TYPE_BLOB) { /* a vector's bytes */
            struct buf bytes;
            buf_init(&bytes, (size_t)1 << 30);
            enum rc rc = store_column_blob(from, i, &bytes);
            if (!rc)
                rc = store_bind_blob(to, index, bytes.data, bytes.len);
            buf_cleanup(&bytes);
            return rc;
        }
        break;
    case STORE_TYPE_TEXT: break;
    }
    return store_bind_text_copy(to, index, store_column_text(from, i));
}

/* Runs the INSERT of rows rows, whose values are bound. */
static enum rc flush(struct table_copy *tc, struct store_stmt *ins, size_t rows)
{
    enum rc rc = store_step(ins);
    store_reset(ins);
    if (rc != RC_NOT_FOUND)
        return rc == RC_OK ? RC_INTERNAL : rc;
    tc->t->copied += (int64_t)rows;
    if (tc->c->progress)
        tc->c->progress(tc->c->ctx, tc->t, false);
    return RC_OK;
}

/* The rows, inside the target's transaction. The snapshot's count says
 * how many the select gives, so the last INSERT is made for the rows left
 * (a statement of its own) before they are bound. Each statement is this
 * table's alone: discarded after it, not left in the caches. */
static enum rc copy_rows(struct table_copy *tc)
{
    struct core_db_copy *c = tc->c;
    struct core_db_copy_table *t = tc->t;
    struct store_stmt *full = NULL, *cur = NULL, *sel = NULL;
    enum rc rc = select_sql(tc);
    if (!rc)
        rc = store_prepare(c->src, buf_str(&tc->sql), &sel);
    size_t row = 0, rows = 0; /* bound so far, and rows in cur */
    while (!rc && (rc = store_step(sel)) == RC_OK) {
        if (row == 0) {
            int64_t left = t->rows - t->copied;
            if (left <= 0) {
                rc = RC_CONFLICT; /* more rows than counted: not one snapshot */
                break;
            }
            rows = (uint64_t)left < tc->batch ? (size_t)left : tc->batch;
            if (rows == tc->batch && full) {
                cur = full;
            } else {
                rc = insert_sql(tc, rows);
                if (!rc)
                    rc = store_prepare(c->dst, buf_str(&tc->sql), &cur);
                if (rc)
                    break;
                if (rows == tc->batch)
                    full = cur;
            }
        }
        for (size_t i = 0; i < tc->from_n && !rc; i++)
            rc = bind_value(sel, (int)i, cur, (int)(row * tc->from_n + i + 1), tc->target[i]->type);
        if (!rc && ++row == rows) {
            rc = flush(tc, cur, row);
            if (cur != full)
                store_discard(cur);
            cur = NULL;
            row = 0;
        }
    }
    if (rc == RC_NOT_FOUND)
        rc = row ? RC_CONFLICT : RC_OK; /* fewer rows than counted */
    if (cur && cur != full)
        store_discard(cur);
    if (full)
        store_discard(full);
    if (sel)
        store_discard(sel);
    return rc;
}

/* Sets tc up for t: the source's columns, each with its target column. */
static enum rc table_begin(struct table_copy *tc, struct core_db_copy *c,
                           struct core_db_copy_table *t)
{
    memset(tc, 0, sizeof(*tc));
    tc->c = c;
    tc->t = t;
    buf_init(&tc->sql, 64u << 20);
    enum rc rc = store_table_columns(c->src, str_from_cstr(t->name), &tc->from, &tc->from_n);
    if (!rc)
        rc = store_table_columns(c->dst, str_from_cstr(t->name), &tc->to, &tc->to_n);
    if (rc)
        return rc;
    if (!tc->from_n)
        return RC_INTERNAL;
    tc->target = xcalloc(tc->from_n, sizeof(*tc->target));
    for (size_t i = 0; i < tc->from_n; i++) {
        tc->target[i] = find_column(tc->to, tc->to_n, tc->from[i].name);
        if (!tc->target[i])
            return RC_INVALID; /* check_places saw to it: not reached */
    }
    tc->has_row_key = find_column(tc->from, tc->from_n, "rowid") != NULL;
    tc->batch = MAX_PARAMS / tc->from_n;
    if (tc->batch > CORE_DB_COPY_BATCH)
        tc->batch = CORE_DB_COPY_BATCH;
    if (tc->batch == 0)
        tc->batch = 1;
    return RC_OK;
}

static void table_end(struct table_copy *tc)
{
    store_columns_free(tc->from, tc->from_n);
    store_columns_free(tc->to, tc->to_n);
    xfree(tc->target);
    buf_cleanup(&tc->sql);
}

/* One table in one transaction of the target: emptied first (the schema
 * step's core_ddl_create filled _collections), its rows, its row key. */
static enum rc copy_table(struct core_db_copy *c, struct core_db_copy_table *t)
{
    struct table_copy tc;
    enum rc rc = table_begin(&tc, c, t);
    t->copied = 0;
    if (!rc)
        rc = store_begin_write(c->dst);
    if (!rc) {
        struct store_sql q;
        buf_reset(&tc.sql);
        store_sql_begin_as(&q, &tc.sql, store_conn_dialect(c->dst));
        store_sql_add(&q, "DELETE FROM ");
        store_sql_ident(&q, str_from_cstr(t->name));
        rc = exec_sql(c->dst, &q);
    }
    if (!rc)
        rc = copy_rows(&tc);
    if (!rc && tc.has_row_key)
        rc = store_row_key_follow(c->dst, str_from_cstr(t->name));
    if (!rc)
        rc = store_exec(c->dst, "COMMIT");
    if (rc && store_in_transaction(c->dst))
        (void)store_exec(c->dst, "ROLLBACK");
    table_end(&tc);
    if (rc) {
        snprintf(c->why, sizeof(c->why), "copying the table %s failed after %lld of %lld rows: %s",
                 t->name, (long long)t->copied, (long long)t->rows,
                 rc == RC_CONFLICT ? "a row was refused, or the source changed" : rc_text(rc));
        t->copied = 0;
        return rc;
    }
    if (c->progress)
        c->progress(c->ctx, t, true);
    return RC_OK;
}

enum rc core_db_copy_rows(struct core_db_copy *c)
{
    c->why[0] = '\0';
    enum rc rc = RC_OK;
    for (size_t i = 0; i < c->table_count && !rc; i++)
        rc = copy_table(c, &c->tables[i]);
    return rc;
}

enum rc core_db_copy_verify(struct core_db_copy *c)
{
    c->why[0] = '\0';
    char wrong[1536] = "";
    for (size_t i = 0; i < c->table_count; i++) {
        struct core_db_copy_table *t = &c->tables[i];
        enum rc rc = count_rows(c->dst, t->name, &t->target_rows);
        if (rc) {
            snprintf(c->why, sizeof(c->why), "cannot count the rows of %s in the target: %s",
                     t->name, rc_text(rc));
            return rc;
        }
        if (t->target_rows != t->rows) {
            char line[512];
            snprintf(line, sizeof(line), "%s (%lld in the source, %lld in the target)", t->name,
                     (long long)t->rows, (long long)t->target_rows);
            why_list(wrong, sizeof(wrong), line);
        }
    }
    if (wrong[0]) {
        snprintf(c->why, sizeof(c->why), "row counts differ: %s", wrong);
        return RC_CONFLICT;
    }
    return RC_OK;
}

void core_db_copy_cleanup(struct core_db_copy *c)
{
    if (c->is_reading)
        store_end_read(c->src);
    c->is_reading = false;
    for (size_t i = 0; i < c->table_count; i++)
        xfree(c->tables[i].name);
    xfree(c->tables);
    c->tables = NULL;
    c->table_count = 0;
    store_names_free(c->existing, c->existing_count);
    c->existing = NULL;
    c->existing_count = 0;
}
