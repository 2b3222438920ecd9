/* index.c -- see index.h.
 *   CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table
 *       ( column [COLLATE NOCASE|BINARY] [ASC|DESC] , ... )
 *       [ WHERE column != '' | WHERE column <> '' | WHERE column IS NOT NULL ]
 * Identifiers may be bare or quoted with `backticks`, "double quotes" or [brackets]. */
#include "core/schema/index.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "store/sql.h"

struct cursor {
    const char *s;
};

static void skip_ws(struct cursor *c)
{
    while (*c->s && isspace((unsigned char)*c->s))
        c->s++;
}

/* Consumes a keyword (case-insensitive, whole word). */
static bool keyword(struct cursor *c, const char *kw)
{
    skip_ws(c);
    size_t n = strlen(kw);
    if (strncasecmp(c->s, kw, n) != 0)
        return false;
    char next = c->s[n];
    if (isalnum((unsigned char)next) || next == '_')
        return false;
    c->s += n;
    return true;
}

static bool punct(struct cursor *c, char ch)
{
    skip_ws(c);
    if (*c->s != ch)
        return false;
    c->s++;
    return true;
}

/* Reads an identifier into out (a \w+ name once unquoted). */
static bool ident(struct cursor *c, char out[101])
{
    skip_ws(c);
    char close = 0;
    if (*c->s == '`' || *c->s == '"')
        close = *c->s;
    else if (*c->s == '[')
        close = ']';
    if (close)
        c->s++;
    size_t n = 0;
    while (isalnum((unsigned char)*c->s) || *c->s == '_') {
        if (n == 100)
            return false;
        out[n++] = *c->s++;
    }
    out[n] = '\0';
    if (close) {
        if (*c->s != close)
            return false;
        c->s++;
    }
    return n > 0;
}

enum rc core_index_parse(const char *sql, struct core_index *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    struct cursor c = {sql};
    *why = "Invalid index: expected CREATE [UNIQUE] INDEX name ON table (columns).";
    if (!keyword(&c, "CREATE"))
        return RC_INVALID;
    out->is_unique = keyword(&c, "UNIQUE");
    if (!keyword(&c, "INDEX"))
        return RC_INVALID;
    if (keyword(&c, "IF")) {
        if (!keyword(&c, "NOT") || !keyword(&c, "EXISTS"))
            return RC_INVALID;
    }
    char table[101];
    if (!ident(&c, out->name) || !keyword(&c, "ON") || !ident(&c, table) || !punct(&c, '('))
        return RC_INVALID;
    do {
        if (out->column_count == CORE_INDEX_MAX_COLUMNS) {
            *why = "Invalid index: too many columns.";
            return RC_INVALID;
        }
        struct core_index_column *col = &out->columns[out->column_count++];
        if (!ident(&c, col->name))
            return RC_INVALID;
        if (keyword(&c, "COLLATE")) {
            if (keyword(&c, "NOCASE"))
                col->is_nocase = true;
            else if (!keyword(&c, "BINARY"))
                return RC_INVALID;
        }
        if (keyword(&c, "DESC"))
            col->is_desc = true;
        else
            (void)keyword(&c, "ASC");
    } while (punct(&c, ','));
    if (!punct(&c, ')'))
        return RC_INVALID;
    if (keyword(&c, "WHERE")) {
        *why = "Invalid index: only WHERE column != '' or WHERE column IS NOT NULL is supported.";
        if (!ident(&c, out->where_column))
            return RC_INVALID;
        skip_ws(&c);
        if (strncmp(c.s, "!=", 2) == 0 || strncmp(c.s, "<>", 2) == 0) {
            c.s += 2;
            skip_ws(&c);
            if (strncmp(c.s, "''", 2) == 0 || strncmp(c.s, "\"\"", 2) == 0)
                c.s += 2;
            else
                return RC_INVALID;
        } else if (!(keyword(&c, "IS") && keyword(&c, "NOT") && keyword(&c, "NULL"))) {
            return RC_INVALID;
        }
    }
    (void)punct(&c, ';');
    skip_ws(&c);
    if (*c.s) {
        *why = "Invalid index: unexpected text after the column list.";
        return RC_INVALID;
    }
    return RC_OK;
}

enum rc core_index_check(const struct core_index *ix, const struct core_collection *c,
                         const char **why)
{
    for (size_t i = 0; i < ix->column_count; i++) {
        if (!core_collection_field(c, str_from_cstr(ix->columns[i].name))) {
            *why = "Invalid index: unknown column.";
            return RC_INVALID;
        }
    }
    if (ix->where_column[0] && !core_collection_field(c, str_from_cstr(ix->where_column))) {
        *why = "Invalid index: unknown column in WHERE.";
        return RC_INVALID;
    }
    return RC_OK;
}

enum rc core_index_format(const struct core_index *ix, const char *table, struct buf *out)
{
    struct store_sql q;
    store_sql_begin(&q, out);
    store_sql_add(&q, ix->is_unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
    store_sql_ident(&q, str_from_cstr(ix->name));
    store_sql_add(&q, " ON ");
    store_sql_ident(&q, str_from_cstr(table));
    store_sql_add(&q, " (");
    for (size_t i = 0; i < ix->column_count; i++) {
        if (i)
            store_sql_add(&q, ", ");
        store_sql_ident(&q, str_from_cstr(ix->columns[i].name));
        if (ix->columns[i].is_nocase)
            store_sql_add(&q, " COLLATE NOCASE");
        if (ix->columns[i].is_desc)
            store_sql_add(&q, " DESC");
    }
    store_sql_add(&q, ")");
    if (ix->where_column[0]) {
        store_sql_add(&q, " WHERE ");
        store_sql_ident(&q, str_from_cstr(ix->where_column));
        store_sql_add(&q, " != ''");
    }
    return store_sql_end(&q);
}

bool core_index_is_unique_on(const struct core_index *ix, const char *column)
{
    return ix->is_unique && ix->column_count == 1 && strcmp(ix->columns[0].name, column) == 0;
}
