/* pg_query.c -- the PostgreSQL engine's query_check and view_create
 * (engine.h; store_query_check and store_view_create in store.h).
 *
 * As on SQLite (sqlite_query.c) the judge is the engine's own compiler,
 * never a reading of the query's text of ours. Everything happens inside a
 * savepoint of the caller's transaction (a transaction of its own outside
 * one), rolled back at the end, so nothing is left behind and a refused
 * query leaves the writer's transaction as it was; nothing the query says
 * is ever run:
 *
 *   1. The text alone is prepared (Parse of the extended protocol, never
 *      executed): the server refuses more than one statement there ("cannot
 *      insert multiple commands into a prepared statement", a 42601 without
 *      a position, where a syntax error has one), and its description
 *      gives the result columns: name, type, and for a plain column
 *      reference its table and column (PQftable, PQftablecol).
 *   2. CREATE TEMP VIEW over the text, again one statement of the extended
 *      protocol: PostgreSQL's grammar takes only a SELECT there (a VALUES,
 *      a TABLE) and its analyzer refuses SELECT INTO and data-modifying
 *      statements in WITH. A text that prepared but does not make a view is
 *      not a SELECT (the word at the error's position names what it is).
 *   3. The view's stored rule (pg_rewrite.ev_action, the analyzed query
 *      tree as the server serialized it) and its dependencies (pg_depend)
 *      say what the query does, through the views it reads too:
 *      - the relations it reads: every range table entry's ":relid" in the
 *        tree (the catalogs included: pinned objects have no pg_depend
 *        rows) and pg_depend's relation rows. Only relations of the
 *        current schema (where tarmac's tables are) may be read; each one
 *        goes to the policy as (table, "");
 *      - the columns it reads: pg_depend's rows with a column number. A
 *        whole-row reference (a Var with ":varattno 0", as row_to_json(t)
 *        makes) has none, so when the tree holds one every column of every
 *        relation read goes to the policy;
 *      - row locks: FOR UPDATE/SHARE leave a ROWMARKCLAUSE in the tree and
 *        are refused (a view may hold them, a read must not take them);
 *      - the functions it calls: every ":funcid", ":opfuncid", ":aggfnoid",
 *        ":winfnoid" (and hash/negator functions) in the tree, the function
 *        behind every ":opno", and pg_depend's function and operator rows
 *        (any function or operator not built in). Allowed are only
 *        built-in functions (pg_catalog) that are immutable or stable,
 *        executable by everyone (no ACL: the server's own admin functions,
 *        pg_read_file, lo_import, pg_ls_dir..., have one), and not on a
 *        short deny list of stable
 *        functions that read what a view must not show: settings
 *        (current_setting), statistics (pg_stat_*: other sessions' queries)
 *        and SQL given as text (table_to_xml and friends). Volatile ones are
 *        refused whatever they do: pg_sleep, set_config, nextval,
 *        pg_terminate_backend, pg_notify, advisory locks, random().
 *      The tree is read as an over-approximation: every " :funcid <n>" a
 *      function call writes is found, and the text a query can put in the
 *      tree (names, through outToken, which escapes blanks; constants, as
 *      bytes) can only add a match, never hide one, so a stray match refuses
 *      a query at worst and never lets one through.
 *
 * The view a collection gets (view_create) is not made of the caller's
 * text: the text makes a temporary view again, and the real view selects
 * from the server's own reading of it (pg_get_viewdef), so the query the
 * real view runs is the one the check judged, whatever the text holds.
 * Column types: STORE_VIEW_JSON follows the column's type (json as it is,
 * jsonb cast, numbers as JSON numbers, booleans as 1/0 as SQLite has them,
 * text that spells a JSON number, true, false or null as that value, any
 * other text a JSON string: PostgreSQL 15 has no test of JSON text that
 * cannot fail, so text holding an object or an array stays a string here).
 *
 * Compiling runs the input functions of literals' types (as SQLite's
 * compiler folds constants): built-in ones only, none writes. */
#include "store/pg_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "store/sql.h"

/* The temporary view a check makes (in the session's own temp schema). */
#define CHECK_VIEW "tarmac_view_check"
#define CHECK_VIEW_REF "'pg_temp." CHECK_VIEW "'::regclass"

/* What the check's view reads and calls, one row each: kind (1 a row lock,
 * 2 a function refused, 3 a relation, 4 a column), whether the relation is
 * in the current schema, schema, name, column. */
static const char reads_sql[] =
    "WITH RECURSIVE rules(oid, cls) AS ("
    " SELECT r.oid, r.ev_class FROM pg_rewrite r"
    "  WHERE r.ev_class = " CHECK_VIEW_REF " AND r.rulename = '_RETURN'"
    " UNION"
    " SELECT w.oid, w.ev_class FROM rules q"
    "  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = q.oid"
    "   AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> q.cls"
    "  JOIN pg_rewrite w ON w.ev_class = d.refobjid AND w.rulename = '_RETURN'),"
    " tree AS (SELECT w.ev_action::text AS t FROM rules q JOIN pg_rewrite w ON w.oid = q.oid),"
    " deps AS (SELECT d.refclassid, d.refobjid, d.refobjsubid FROM rules q"
    "  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = q.oid),"
    " funcs AS ("
    " SELECT m[2]::oid AS f FROM tree, regexp_matches(tree.t,"
    "  ' :(funcid|opfuncid|aggfnoid|winfnoid|hashfuncid|negfuncid) ([0-9]+)', 'g') m"
    " UNION SELECT o.oprcode::oid FROM tree, regexp_matches(tree.t, ' :opno ([0-9]+)', 'g') m"
    "  JOIN pg_operator o ON o.oid = m[1]::oid"
    " UNION SELECT refobjid FROM deps WHERE refclassid = 'pg_proc'::regclass"
    " UNION SELECT o.oprcode::oid FROM deps JOIN pg_operator o ON o.oid = deps.refobjid"
    "  WHERE deps.refclassid = 'pg_operator'::regclass),"
    " rels AS ("
    " SELECT m[1]::oid AS r FROM tree, regexp_matches(tree.t, ' :relid ([0-9]+)', 'g') m"
    " UNION SELECT refobjid FROM deps WHERE refclassid = 'pg_class'::regclass),"
    " cols AS ("
    " SELECT refobjid AS r, refobjsubid AS n FROM deps"
    "  WHERE refclassid = 'pg_class'::regclass AND refobjsubid <> 0"
    " UNION SELECT a.attrelid, a.attnum FROM rels"
    "  JOIN pg_attribute a ON a.attrelid = rels.r AND a.attnum > 0 AND NOT a.attisdropped"
    "  WHERE EXISTS (SELECT 1 FROM tree WHERE tree.t ~ ' :varattno 0 '))"
    " SELECT 1 AS k, 1 AS here, '' AS s, '' AS name, '' AS col FROM tree"
    "  WHERE strpos(tree.t, '{ROWMARKCLAUSE') > 0"
    " UNION ALL"
    " SELECT 2, 1, '', p.oid::regprocedure::text, '' FROM funcs JOIN pg_proc p ON p.oid = funcs.f"
    "  WHERE NOT (p.pronamespace = 'pg_catalog'::regnamespace AND p.provolatile IN ('i', 's')"
    "   AND p.proacl IS NULL AND p.proname !~ '^(pg_stat_|pg_ls_|pg_read_|pg_file|lo_)'"
    "   AND p.proname !~ '_to_xml' AND p.proname <> 'current_setting')"
    " UNION ALL"
    " SELECT 3, (n.nspname = current_schema())::int, n.nspname, c.relname, '' FROM rels"
    "  JOIN pg_class c ON c.oid = rels.r JOIN pg_namespace n ON n.oid = c.relnamespace"
    "  WHERE c.oid <> " CHECK_VIEW_REF " UNION ALL"
    " SELECT 4, (n.nspname = current_schema())::int, n.nspname, c.relname, a.attname FROM cols"
    "  JOIN pg_class c ON c.oid = cols.r JOIN pg_namespace n ON n.oid = c.relnamespace"
    "  JOIN pg_attribute a ON a.attrelid = cols.r AND a.attnum = cols.n"
    "  WHERE c.oid <> " CHECK_VIEW_REF " ORDER BY 1, 2, 3, 4, 5";

/* The table, column and declared type of each plain column reference,
 * given as arrays of table oids and column numbers (0: none). */
static const char origins_sql[] =
    "SELECT c.relname, a.attname, format_type(a.atttypid, NULL)"
    " FROM unnest($1::oid[], $2::int2[]) WITH ORDINALITY u(r, n, i)"
    " LEFT JOIN pg_class c ON c.oid = u.r"
    " LEFT JOIN pg_attribute a ON a.attrelid = u.r AND a.attnum = u.n AND u.n > 0"
    " ORDER BY u.i";

/* Sends sql (one statement, text parameters) and reads its result: NULL
 * with *rc when the session failed; else the result, maybe an error. */
static PGresult *run(void *conn, const char *sql, int n, const char *const *values, enum rc *rc)
{
    PGconn *pg = store_pg_session(conn);
    if (!pg) {
        *rc = RC_UNAVAILABLE;
        return NULL;
    }
    return store_pg_reply(conn, PQsendQueryParams(pg, sql, n, NULL, values, NULL, NULL, 0), rc);
}

static bool is_ok(const PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/* A failed result: the engine's failure (the session, the server's
 * resources, a timeout: returned as such), else RC_INVALID, the query's. */
static enum rc failed(void *conn, const PGresult *r, const char *what)
{
    enum rc rc = store_pg_fail_rc(conn, r, what);
    if (rc == RC_UNAVAILABLE || rc == RC_IO || rc == RC_BUSY || rc == RC_OVER_BUDGET ||
        rc == RC_NOMEM)
        return rc;
    return RC_INVALID;
}

/* The server's message of a failed result, on one line, in why. */
static void message(const PGresult *r, char *why, size_t cap)
{
    const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    snprintf(why, cap, "%s", m ? m : "the server refused the query");
    for (char *p = why; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    }
}

/* Runs one statement without parameters; the server's message in why. */
static enum rc run_one(void *conn, const char *sql, char *why, size_t cap, const char *what)
{
    enum rc rc;
    PGresult *r = run(conn, sql, 0, NULL, &rc);
    if (!r)
        return rc;
    if (!is_ok(r)) {
        message(r, why, cap);
        rc = failed(conn, r, what);
    }
    PQclear(r);
    return rc;
}

/* A scratch area on conn: a savepoint of the transaction open there, else
 * a transaction of its own. */
struct scratch {
    void *conn;
    bool is_nested;
};

static enum rc scratch_open(struct scratch *s, void *conn)
{
    s->conn = conn;
    s->is_nested = store_pg_engine.in_transaction(conn);
    /* exec sends what the writer put off (store_exec_later) first. */
    return store_pg_engine.exec(conn, s->is_nested ? "SAVEPOINT tarmac_view" : "BEGIN READ WRITE");
}

/* Ends the scratch area, keeping what it made or not; rc: the answer so far. */
static enum rc scratch_close(struct scratch *s, bool keep, enum rc rc)
{
    const char *sql = s->is_nested ? keep ? "RELEASE SAVEPOINT tarmac_view"
                                          : "ROLLBACK TO SAVEPOINT tarmac_view; "
                                            "RELEASE SAVEPOINT tarmac_view"
                      : keep       ? "COMMIT"
                                   : "ROLLBACK";
    enum rc end = store_pg_engine.exec(s->conn, sql);
    return rc ? rc : end;
}

/* The statement's own text: without the ';' and blanks that end it. */
static struct str statement_text(struct str sql)
{
    size_t n = sql.len;
    while (n && (sql.ptr[n - 1] == ';' || sql.ptr[n - 1] == ' ' || sql.ptr[n - 1] == '\t' ||
                 sql.ptr[n - 1] == '\n' || sql.ptr[n - 1] == '\r'))
        n--;
    return (struct str){sql.ptr, n};
}

/* Appends "CREATE TEMP VIEW <name> AS <text>" (NUL-terminated) to out. */
static enum rc temp_view_sql(struct buf *out, const char *name, struct str text)
{
    struct store_sql b;
    store_sql_begin_as(&b, out, STORE_DIALECT_POSTGRES);
    store_sql_add(&b, "CREATE TEMP VIEW ");
    store_sql_add(&b, name);
    store_sql_add(&b, " AS ");
    store_sql_addn(&b, text);
    store_sql_addn(&b, (struct str){"", 1});
    return store_sql_end(&b);
}

static void set_fault(struct store_query_info *info, enum store_query_fault f, const char *detail)
{
    info->fault = f;
    snprintf(info->detail, sizeof(info->detail), "%s", detail);
}

/* Step 1: the text alone prepares as one statement; its description in *desc. */
static enum rc prepare_alone(void *conn, const char *text, struct store_query_info *info,
                             PGresult **desc)
{
    *desc = NULL;
    PGconn *pg = store_pg_session(conn);
    if (!pg)
        return RC_UNAVAILABLE;
    enum rc rc;
    PGresult *r = store_pg_reply(conn, PQsendPrepare(pg, "", text, 0, NULL), &rc);
    if (!r)
        return rc;
    if (!is_ok(r)) {
        rc = failed(conn, r, "view query check");
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (rc == RC_INVALID && state && strcmp(state, "42601") == 0 &&
            !PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION)) {
            info->fault = STORE_QUERY_MANY;
        } else if (rc == RC_INVALID) {
            info->fault = STORE_QUERY_SYNTAX;
            message(r, info->detail, sizeof(info->detail));
        }
        PQclear(r);
        return rc;
    }
    PQclear(r);
    pg = store_pg_session(conn);
    if (!pg)
        return RC_UNAVAILABLE;
    r = store_pg_reply(conn, PQsendDescribePrepared(pg, ""), &rc);
    if (!r)
        return rc;
    if (!is_ok(r)) {
        rc = failed(conn, r, "view query describe");
        if (rc == RC_INVALID)
            set_fault(info, STORE_QUERY_SYNTAX, "the query cannot be described");
        PQclear(r);
        return rc;
    }
    *desc = r;
    return RC_OK;
}

/* The byte offset of the n-th character (from 1) of UTF-8 text, as the
 * server counts an error's position. */
static long byte_offset(const char *text, long n)
{
    long at = 0;
    for (long chars = 1; chars < n && text[at]; at++) {
        if (((unsigned char)text[at + 1] & 0xC0) != 0x80)
            chars++;
    }
    return at;
}

/* Step 2: the view over the text; a refusal says what the text is. */
static enum rc make_check_view(void *conn, struct str text, struct store_query_info *info)
{
    struct buf sql;
    buf_init(&sql, (size_t)1 << 24);
    enum rc rc = temp_view_sql(&sql, CHECK_VIEW, text);
    PGresult *r = rc ? NULL : run(conn, sql.data, 0, NULL, &rc);
    if (r && !is_ok(r)) {
        rc = failed(conn, r, "view query check");
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        const char *at = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
        long pos = at ? byte_offset(sql.data, strtol(at, NULL, 10)) : -1;
        size_t prefix = sql.len - 1 - text.len;
        if (rc != RC_INVALID) {
            /* the engine's failure */
        } else if (state && strcmp(state, "42601") == 0 && pos >= (long)(sql.len - 1)) {
            info->fault = STORE_QUERY_EMPTY; /* it prepared, so only comments */
        } else if (state && strcmp(state, "42601") == 0 && pos >= (long)prefix) {
            /* It prepared as a statement but is no SELECT: the word the
             * grammar stopped at names it (DELETE, INSERT, SHOW...). */
            char word[32];
            size_t n = 0;
            for (const char *p = sql.data + pos; n + 1 < sizeof(word) && isalpha((unsigned char)*p);
                 p++)
                word[n++] = (char)toupper((unsigned char)*p);
            word[n] = '\0';
            set_fault(info, STORE_QUERY_NOT_SELECT, n ? word : "a statement that is not a SELECT");
        } else if (state && strcmp(state, "0A000") == 0) {
            /* SELECT INTO, data-modifying WITH: what the server says. */
            info->fault = STORE_QUERY_NOT_SELECT;
            message(r, info->detail, sizeof(info->detail));
        } else {
            info->fault = STORE_QUERY_SYNTAX;
            message(r, info->detail, sizeof(info->detail));
        }
    }
    PQclear(r);
    buf_cleanup(&sql);
    return rc;
}

/* Step 3: what the view reads and calls, judged (see the top). */
static enum rc judge_reads(void *conn, store_may_read_fn *may_read, void *ctx,
                           struct store_query_info *info)
{
    enum rc rc;
    PGresult *r = run(conn, reads_sql, 0, NULL, &rc);
    if (!r)
        return rc;
    if (!is_ok(r)) {
        rc = failed(conn, r, "view query reads");
        PQclear(r);
        return rc == RC_INVALID ? RC_INTERNAL : rc;
    }
    for (int i = 0; i < PQntuples(r) && !info->fault; i++) {
        long kind = strtol(PQgetvalue(r, i, 0), NULL, 10);
        bool is_here = strtol(PQgetvalue(r, i, 1), NULL, 10) != 0;
        const char *schema = PQgetvalue(r, i, 2), *name = PQgetvalue(r, i, 3);
        const char *col = PQgetvalue(r, i, 4);
        char what[256];
        if (kind == 1) {
            set_fault(info, STORE_QUERY_NOT_SELECT, "a row lock (FOR UPDATE/SHARE)");
        } else if (kind == 2) {
            snprintf(what, sizeof(what), "a call of %s", name);
            set_fault(info, STORE_QUERY_NOT_SELECT, what);
        } else if (!is_here) {
            /* The catalogs, another schema, a temporary table. */
            snprintf(what, sizeof(what), "%s.%s", schema, name);
            set_fault(info, STORE_QUERY_READ_DENIED, what);
        } else {
            store_query_info_note_table(info, name);
            if (may_read && !may_read(ctx, name, col)) {
                snprintf(what, sizeof(what), "%s%s%s", name, col[0] ? "." : "", col);
                set_fault(info, STORE_QUERY_READ_DENIED, what);
            }
        }
    }
    PQclear(r);
    return info->fault ? RC_INVALID : RC_OK;
}

/* SQLite's name for the declared type of a column tarmac made (dialect.c's
 * types): what core compares a view's column type with. */
static char *decl_type(const char *pg_type)
{
    static const char *const names[][2] = {
        {"text", "TEXT"},       {"character varying", "TEXT"},
        {"numeric", "NUMERIC"}, {"smallint", "BOOLEAN"},
        {"json", "JSON"},       {"jsonb", "JSON"},
        {"bigint", "INTEGER"},  {"integer", "INTEGER"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(pg_type, names[i][0]) == 0)
            return xstrdup(names[i][1]);
    }
    char *up = xstrdup(pg_type);
    for (char *p = up; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return up;
}

/* The result columns from the description: names, and the origin of each
 * plain column reference (its table, column and declared type). */
static enum rc fill_columns(void *conn, const PGresult *desc, struct store_query_info *info)
{
    int n = PQnfields(desc);
    info->cols = xcalloc(n ? (size_t)n : 1, sizeof(*info->cols));
    info->count = (size_t)n;
    struct buf tables, nums;
    buf_init(&tables, (size_t)1 << 20);
    buf_init(&nums, (size_t)1 << 20);
    enum rc rc = buf_append_cstr(&tables, "{");
    if (!rc)
        rc = buf_append_cstr(&nums, "{");
    for (int i = 0; i < n && !rc; i++) {
        info->cols[i].name = xstrdup(PQfname(desc, i));
        char t[32], c[16];
        snprintf(t, sizeof(t), "%s%u", i ? "," : "", (unsigned)PQftable(desc, i));
        snprintf(c, sizeof(c), "%s%d", i ? "," : "", PQftablecol(desc, i));
        rc = buf_append_cstr(&tables, t);
        if (!rc)
            rc = buf_append_cstr(&nums, c);
    }
    if (!rc)
        rc = buf_append(&tables, "}", 2);
    if (!rc)
        rc = buf_append(&nums, "}", 2);
    PGresult *r = NULL;
    if (!rc && n) {
        const char *values[2] = {tables.data, nums.data};
        r = run(conn, origins_sql, 2, values, &rc);
    }
    if (r && !is_ok(r)) {
        rc = failed(conn, r, "view query columns");
        rc = rc == RC_INVALID ? RC_INTERNAL : rc;
    }
    for (int i = 0; r && !rc && i < n && i < PQntuples(r); i++) {
        if (PQgetisnull(r, i, 0) || PQgetisnull(r, i, 1))
            continue; /* an expression */
        struct store_query_column *col = &info->cols[i];
        col->table = xstrdup(PQgetvalue(r, i, 0));
        col->origin = xstrdup(PQgetvalue(r, i, 1));
        col->decl_type = decl_type(PQgetvalue(r, i, 2));
    }
    PQclear(r);
    buf_cleanup(&tables);
    buf_cleanup(&nums);
    return rc;
}

enum rc store_pg_query_check(void *conn, struct str sql, store_may_read_fn *may_read, void *ctx,
                             struct store_query_info *info)
{
    memset(info, 0, sizeof(*info));
    if (sql.len > 1000000) {
        set_fault(info, STORE_QUERY_SYNTAX, "the query is too long");
        return RC_INVALID;
    }
    if (memchr(sql.ptr, '\0', sql.len)) {
        set_fault(info, STORE_QUERY_SYNTAX, "the query holds a NUL character");
        return RC_INVALID;
    }
    struct str text = statement_text(sql);
    if (!text.len) {
        info->fault = STORE_QUERY_EMPTY;
        return RC_INVALID;
    }
    struct scratch s;
    enum rc rc = scratch_open(&s, conn);
    if (rc)
        return rc;
    char *whole = xstrndup(sql.ptr, sql.len);
    PGresult *desc = NULL;
    rc = prepare_alone(conn, whole, info, &desc);
    if (!rc)
        rc = make_check_view(conn, text, info);
    if (!rc)
        rc = judge_reads(conn, may_read, ctx, info);
    if (!rc && PQnfields(desc) == 0) {
        set_fault(info, STORE_QUERY_NOT_SELECT, "a statement without rows");
        rc = RC_INVALID;
    }
    if (!rc)
        rc = fill_columns(conn, desc, info);
    PQclear(desc);
    xfree(whole);
    rc = scratch_close(&s, false, rc);
    if (!rc)
        info->sql = text;
    return rc;
}

/* Appends column name of type type (an oid's name, format_type) as the view
 * presents it with cast. */
static void view_column(struct store_sql *q, struct str name, const char *type,
                        enum store_view_cast cast)
{
    switch (cast) {
    case STORE_VIEW_AS_IS: store_sql_ident(q, name); return;
    case STORE_VIEW_TEXT:
        store_sql_add(q, "(");
        store_sql_ident(q, name);
        store_sql_add(q, ")::text");
        break;
    case STORE_VIEW_JSON:
        if (strcmp(type, "json") == 0) {
            store_sql_ident(q, name);
        } else if (strcmp(type, "jsonb") == 0) {
            store_sql_add(q, "(");
            store_sql_ident(q, name);
            store_sql_add(q, ")::json");
        } else if (strcmp(type, "boolean") == 0) {
            store_sql_add(q, "to_json((");
            store_sql_ident(q, name);
            store_sql_add(q, ")::int)");
        } else if (!strcmp(type, "numeric") || !strcmp(type, "smallint") ||
                   !strcmp(type, "integer") || !strcmp(type, "bigint") || !strcmp(type, "real") ||
                   !strcmp(type, "double precision")) {
            store_sql_add(q, "to_json(");
            store_sql_ident(q, name);
            store_sql_add(q, ")");
        } else {
            /* Text (and any other value as its text): a JSON number,
             * true, false or null as that value, else a JSON string. */
            store_sql_add(q, "CASE WHEN (");
            store_sql_ident(q, name);
            store_sql_add(q, ")::text ~ '^(-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?|true|"
                             "false|null)$' THEN ((");
            store_sql_ident(q, name);
            store_sql_add(q, ")::text)::json ELSE to_json((");
            store_sql_ident(q, name);
            store_sql_add(q, ")::text) END");
        }
        break;
    }
    store_sql_add(q, " AS ");
    store_sql_ident(q, name);
}

/* The real view's statement: the check view's columns cast, over the
 * server's own text of its query (not the caller's). */
static enum rc real_view_sql(void *conn, struct str name, const struct store_query_info *q,
                             const enum store_view_cast *casts, struct buf *out, char *why,
                             size_t cap)
{
    enum rc rc;
    PGresult *def = run(conn, "SELECT pg_get_viewdef(" CHECK_VIEW_REF ")", 0, NULL, &rc);
    if (!def)
        return rc;
    PGresult *types = NULL;
    if (is_ok(def) && PQntuples(def) == 1 && casts)
        types = run(
            conn,
            "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = " CHECK_VIEW_REF
            " AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            0, NULL, &rc);
    const PGresult *bad = !is_ok(def) || PQntuples(def) != 1 ? def
                          : types && !is_ok(types)           ? types
                                                             : NULL;
    if (bad) {
        message(bad, why, cap);
        rc = failed(conn, bad, "view definition");
    } else if (casts && !types) {
        /* rc: the session failed */
    } else if (casts && (size_t)PQntuples(types) != q->count) {
        snprintf(why, cap, "the view's columns are not the query's");
        rc = RC_INVALID;
    }
    if (!rc) {
        const char *body = PQgetvalue(def, 0, 0);
        size_t len = strlen(body);
        while (len && (body[len - 1] == ';' || isspace((unsigned char)body[len - 1])))
            len--;
        struct store_sql b;
        store_sql_begin_as(&b, out, STORE_DIALECT_POSTGRES);
        store_sql_add(&b, "CREATE VIEW ");
        store_sql_ident(&b, name);
        store_sql_add(&b, " AS SELECT ");
        for (size_t i = 0; casts && i < q->count; i++) {
            if (i)
                store_sql_add(&b, ", ");
            view_column(&b, str_from_cstr(q->cols[i].name), PQgetvalue(types, (int)i, 0), casts[i]);
        }
        if (!casts)
            store_sql_add(&b, "*");
        store_sql_add(&b, " FROM (\n");
        store_sql_addn(&b, (struct str){body, len});
        store_sql_add(&b, "\n) AS \"q\"");
        store_sql_addn(&b, (struct str){"", 1});
        rc = store_sql_end(&b);
    }
    PQclear(types);
    PQclear(def);
    return rc;
}

enum rc store_pg_view_create(void *conn, struct str name, const struct store_query_info *q,
                             const enum store_view_cast *casts, char *why, size_t cap)
{
    if (cap)
        why[0] = '\0';
    struct scratch s;
    enum rc rc = scratch_open(&s, conn);
    if (rc)
        return rc;
    struct buf sql;
    buf_init(&sql, (size_t)1 << 24);
    rc = temp_view_sql(&sql, CHECK_VIEW, q->sql);
    if (!rc)
        rc = run_one(conn, sql.data, why, cap, "view create");
    if (!rc) {
        buf_reset(&sql);
        rc = real_view_sql(conn, name, q, casts, &sql, why, cap);
    }
    if (!rc)
        rc = run_one(conn, sql.data, why, cap, "view create");
    if (!rc)
        rc = run_one(conn, "DROP VIEW pg_temp." CHECK_VIEW, why, cap, "view create");
    buf_cleanup(&sql);
    rc = scratch_close(&s, rc == RC_OK, rc);
    if (rc && rc != RC_NOMEM)
        log_warn("msg=\"cannot create view\" view=%.*s error=\"%s\"", (int)name.len, name.ptr, why);
    return rc;
}
