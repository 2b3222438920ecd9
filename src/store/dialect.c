/* dialect.c -- see dialect.h (SQLite). */
#include "store/dialect.h"

enum store_dialect store_dialect_current(void)
{
    return STORE_DIALECT_SQLITE;
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

enum rc store_dialect_column_as(struct buf *out, enum store_dialect d, struct str name,
                                enum store_column_kind kind)
{
    enum rc rc = store_dialect_ident_as(out, d, name);
    if (rc)
        return rc;
    const char *type = "";
    switch (kind) {
    case STORE_COLUMN_ID:
        /* The default only matters for rows inserted outside the API. */
        type = " TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL";
        break;
    case STORE_COLUMN_TEXT: type = " TEXT DEFAULT '' NOT NULL"; break;
    case STORE_COLUMN_NUMBER: type = " NUMERIC DEFAULT 0 NOT NULL"; break;
    case STORE_COLUMN_BOOL: type = " BOOLEAN DEFAULT FALSE NOT NULL"; break;
    case STORE_COLUMN_JSON: type = " JSON DEFAULT NULL"; break;
    case STORE_COLUMN_JSON_ARRAY: type = " JSON DEFAULT '[]' NOT NULL"; break;
    case STORE_COLUMN_JSON_POINT: type = " JSON DEFAULT '{\"lon\":0,\"lat\":0}' NOT NULL"; break;
    }
    return buf_append_cstr(out, type);
}

enum rc store_dialect_ms_date_as(struct buf *out, enum store_dialect d, struct str column)
{
    /* strftime's %f is seconds with three decimals: "05.000" */
    enum rc rc = buf_append(out, "(CASE WHEN ", 11);
    if (!rc)
        rc = store_dialect_ident_as(out, d, column);
    if (!rc)
        rc = buf_append_cstr(out, " > 0 THEN strftime('%Y-%m-%d %H:%M:%f', ");
    if (!rc)
        rc = store_dialect_ident_as(out, d, column);
    if (!rc)
        rc = buf_append_cstr(out, " / 1000.0, 'unixepoch') || 'Z' ELSE '' END)");
    return rc;
}

enum rc store_dialect_param_as(struct buf *out, enum store_dialect d, unsigned n)
{
    (void)d;
    enum rc rc = buf_append(out, "?", 1);
    return rc ? rc : buf_append_u64(out, n);
}
