/* dialect.c -- see dialect.h. */
#include "store/dialect.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/* The dialect of the database the process opened (one per process). */
static _Atomic int process_dialect = STORE_DIALECT_SQLITE;

enum store_dialect store_dialect_current(void)
{
    return (enum store_dialect)atomic_load_explicit(&process_dialect, memory_order_relaxed);
}

void store_dialect_set_current(enum store_dialect d)
{
    atomic_store_explicit(&process_dialect, (int)d, memory_order_relaxed);
}

enum rc store_dialect_ident_as(struct buf *out, enum store_dialect d, struct str name)
{
    (void)d; /* SQLite and PostgreSQL quote identifiers alike */
    enum rc rc = buf_append(out, "\"", 1);
    for (size_t i = 0; i < name.len && !rc; i++) {
        if (name.ptr[i] == '"')
            rc = buf_append(out, "\"\"", 2);
        else
            rc = buf_append(out, name.ptr + i, 1);
    }
    return rc ? rc : buf_append(out, "\"", 1);
}

enum rc store_dialect_json_text_as(struct buf *out, enum store_dialect d, struct str name)
{
    bool pg = d == STORE_DIALECT_POSTGRES;
    enum rc rc = pg ? buf_append(out, "(", 1) : RC_OK;
    if (!rc)
        rc = store_dialect_ident_as(out, d, name);
    return rc || !pg ? rc : buf_append_cstr(out, ")::text");
}

/* Each kind's type and default, per dialect (STYLE.md §1.4: a table). */
static const char *const column_types[][2] = {
    /* The id default only matters for rows inserted outside the API. */
    [STORE_COLUMN_ID] = {" TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL",
                         " TEXT PRIMARY KEY DEFAULT ('r'||substr(md5(random()::text), 1, 14)) "
                         "NOT NULL"},
    [STORE_COLUMN_TEXT] = {" TEXT DEFAULT '' NOT NULL", " TEXT DEFAULT '' NOT NULL"},
    [STORE_COLUMN_NUMBER] = {" NUMERIC DEFAULT 0 NOT NULL", " NUMERIC DEFAULT 0 NOT NULL"},
    /* PostgreSQL: 0/1 in an integer, as SQLite stores a boolean, so rules
     * and filters compare it with 1, 0, true and false alike on both. */
    [STORE_COLUMN_BOOL] = {" BOOLEAN DEFAULT FALSE NOT NULL", " SMALLINT DEFAULT 0 NOT NULL"},
    /* PostgreSQL: json, not jsonb, keeps the text as written (the answers
     * are byte for byte SQLite's); path operations cast to jsonb. */
    [STORE_COLUMN_JSON] = {" JSON DEFAULT NULL", " JSON DEFAULT NULL"},
    [STORE_COLUMN_JSON_ARRAY] = {" JSON DEFAULT '[]' NOT NULL", " JSON DEFAULT '[]' NOT NULL"},
    [STORE_COLUMN_JSON_POINT] = {" JSON DEFAULT '{\"lon\":0,\"lat\":0}' NOT NULL",
                                 " JSON DEFAULT '{\"lon\":0,\"lat\":0}' NOT NULL"},
    /* float32 values, little-endian, 4 bytes each; NULL when empty. */
    [STORE_COLUMN_VECTOR] = {" BLOB DEFAULT NULL", " BYTEA DEFAULT NULL"},
};

enum rc store_dialect_column_as(struct buf *out, enum store_dialect d, struct str name,
                                enum store_column_kind kind)
{
    enum rc rc = store_dialect_ident_as(out, d, name);
    return rc ? rc : buf_append_cstr(out, column_types[kind][d]);
}

enum rc store_dialect_ms_date_as(struct buf *out, enum store_dialect d, struct str column)
{
    enum rc rc = buf_append(out, "(CASE WHEN ", 11);
    if (!rc)
        rc = store_dialect_ident_as(out, d, column);
    if (d == STORE_DIALECT_POSTGRES) {
        if (!rc)
            rc = buf_append_cstr(out, " > 0 THEN to_char(to_timestamp(");
        if (!rc)
            rc = store_dialect_ident_as(out, d, column);
        if (!rc)
            rc = buf_append_cstr(out, " / 1000.0) AT TIME ZONE 'UTC', "
                                      "'YYYY-MM-DD HH24:MI:SS.MS') || 'Z' ELSE '' END)");
        return rc;
    }
    /* strftime's %f is seconds with three decimals: "05.000" */
    if (!rc)
        rc = buf_append_cstr(out, " > 0 THEN strftime('%Y-%m-%d %H:%M:%f', ");
    if (!rc)
        rc = store_dialect_ident_as(out, d, column);
    if (!rc)
        rc = buf_append_cstr(out, " / 1000.0, 'unixepoch') || 'Z' ELSE '' END)");
    return rc;
}

const struct store_dialect_json_each *store_dialect_json_each(enum store_dialect d)
{
    static const struct store_dialect_json_each words[] = {
        [STORE_DIALECT_SQLITE] = {"json_each(", ") ", ""},
        [STORE_DIALECT_POSTGRES] = {"json_array_elements_text((", ")::json) WITH ORDINALITY AS ",
                                    " (\"value\", \"key\")"},
    };
    return &words[d];
}

/* Appends tmpl with each '@' written as x. */
static enum rc fill(struct buf *out, const char *tmpl, struct str x)
{
    enum rc rc = RC_OK;
    for (const char *p = tmpl; *p && !rc;) {
        const char *at = strchr(p, '@');
        size_t n = at ? (size_t)(at - p) : strlen(p);
        rc = buf_append(out, p, n);
        if (!rc && at)
            rc = buf_append_str(out, x);
        p = at ? at + 1 : p + n;
    }
    return rc;
}

enum rc store_dialect_json_path_as(struct buf *out, enum store_dialect d, const struct str *keys,
                                   size_t n)
{
    bool pg = d == STORE_DIALECT_POSTGRES;
    enum rc rc = buf_append_cstr(out, pg ? "{" : "$");
    for (size_t i = 0; i < n && !rc; i++) {
        uint64_t ix;
        if (pg)
            rc = fill(out, i ? ",\"@\"" : "\"@\"", keys[i]);
        else if (str_to_u64(keys[i], &ix))
            rc = fill(out, "[@]", keys[i]);
        else
            rc = fill(out, ".\"@\"", keys[i]);
    }
    return rc || !pg ? rc : buf_append_cstr(out, "}");
}

enum rc store_dialect_json_value_as(struct buf *out, enum store_dialect d, struct str json,
                                    struct str path)
{
    if (d == STORE_DIALECT_SQLITE) {
        enum rc rc = fill(out, "json_extract(@, ", json);
        return rc ? rc : fill(out, "@)", path);
    }
    /* The value as json, not jsonb, so that an array or an object keeps its
     * text as stored (jsonb would reorder keys and add spaces). No ELSE: a
     * missing key and JSON null are NULL. */
    struct buf at;
    buf_init(&at, out->max);
    enum rc rc = fill(&at, "((@)::json #> ", json);
    if (!rc)
        rc = fill(&at, "@)", path);
    if (!rc)
        rc = fill(out,
                  "(CASE json_typeof(@) WHEN 'number' THEN (@)::jsonb "
                  "WHEN 'boolean' THEN to_jsonb(((@)::text)::boolean::int) "
                  "WHEN 'string' THEN jsonb_build_array(@ #>> '{}') "
                  "WHEN 'array' THEN jsonb_build_array((@)::text) "
                  "WHEN 'object' THEN jsonb_build_array((@)::text) END)",
                  buf_str(&at));
    buf_cleanup(&at);
    return rc;
}

enum rc store_dialect_json_operand_as(struct buf *out, enum store_dialect d, struct str expr,
                                      enum store_json_operand kind)
{
    static const char *const pg[] = {
        [STORE_JSON_OPERAND_INT] = "to_jsonb((@)::bigint)",
        [STORE_JSON_OPERAND_REAL] = "to_jsonb((@)::float8)",
        [STORE_JSON_OPERAND_TEXT] = "jsonb_build_array((@)::text)",
        [STORE_JSON_OPERAND_NULL] = "NULL::jsonb",
        /* text of any type as SQLite's text, the rest as to_jsonb has it */
        [STORE_JSON_OPERAND_ANY] = "(CASE WHEN jsonb_typeof(to_jsonb(@)) = 'string' THEN "
                                   "jsonb_build_array(@) ELSE to_jsonb(@) END)",
    };
    return fill(out, d == STORE_DIALECT_POSTGRES ? pg[kind] : "@", expr);
}

enum rc store_dialect_json_unwrap_as(struct buf *out, enum store_dialect d, struct str value,
                                     enum store_json_as as)
{
    if (d == STORE_DIALECT_SQLITE)
        return fill(out, "@", value);
    if (as == STORE_JSON_AS_NUMBER)
        return fill(out, "(CASE jsonb_typeof(@) WHEN 'number' THEN (@)::float8 END)", value);
    return fill(out, "(CASE jsonb_typeof(@) WHEN 'array' THEN @ ->> 0 ELSE @ #>> '{}' END)", value);
}

enum rc store_dialect_param_as(struct buf *out, enum store_dialect d, unsigned n)
{
    enum rc rc = buf_append(out, d == STORE_DIALECT_POSTGRES ? "$" : "?", 1);
    return rc ? rc : buf_append_u64(out, n);
}

enum rc store_dialect_typed_param_as(struct buf *out, enum store_dialect d, unsigned n,
                                     enum store_column_kind kind)
{
    if (d != STORE_DIALECT_POSTGRES)
        return store_dialect_param_as(out, d, n);
    static const char *const pg_types[] = {
        [STORE_COLUMN_ID] = "TEXT",         [STORE_COLUMN_TEXT] = "TEXT",
        [STORE_COLUMN_NUMBER] = "NUMERIC",  [STORE_COLUMN_BOOL] = "SMALLINT",
        [STORE_COLUMN_JSON] = "JSON",       [STORE_COLUMN_JSON_ARRAY] = "JSON",
        [STORE_COLUMN_JSON_POINT] = "JSON", [STORE_COLUMN_VECTOR] = "BYTEA",
    };
    enum rc rc = buf_append_cstr(out, "CAST(");
    if (!rc)
        rc = store_dialect_param_as(out, d, n);
    if (!rc)
        rc = buf_append_cstr(out, " AS ");
    if (!rc)
        rc = buf_append_cstr(out, pg_types[kind]);
    return rc ? rc : buf_append_cstr(out, ")");
}
