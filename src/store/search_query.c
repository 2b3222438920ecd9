/* search_query.c -- the text of a search query in each engine's syntax
 * (see search.h), the names of an index's objects and the box of a
 * distance filter: pure, no connection, so the fuzzers link it
 * (tests/fuzz/fuzz_search.c checks what any text becomes). */
#include "store/search.h"

#include <stdio.h>
#include <string.h>

#include "base/crc32.h"
#include "store/search_int.h"
#include "store/sql.h"

void store_search_query_init(struct store_search_query *sq, const struct store_search_index *ix,
                             enum store_dialect d)
{
    memset(sq, 0, sizeof(*sq));
    sq->ix = ix;
    sq->dialect = d;
    for (int i = 0; i < 3; i++)
        buf_init(&sq->text[i], 1 << 16);
}

void store_search_query_cleanup(struct store_search_query *sq)
{
    for (int i = 0; i < 3; i++)
        buf_cleanup(&sq->text[i]);
}

/* The quoting of a word in each dialect's query syntax: FTS5 strings are
 * in double quotes (doubled inside), tsquery lexemes in single quotes
 * (quote and backslash escaped). The words are letters and digits
 * already; the quoting is the second wall. */
static enum rc quote_word(struct buf *out, enum store_dialect d, struct str w, bool is_prefix)
{
    char q = d == STORE_DIALECT_POSTGRES ? '\'' : '"';
    enum rc rc = buf_append(out, &q, 1);
    for (size_t i = 0; i < w.len && !rc; i++) {
        char c = w.ptr[i];
        if (c == q)
            rc = buf_append(out, &q, 1);
        else if (c == '\\' && d == STORE_DIALECT_POSTGRES)
            rc = buf_append(out, "\\", 1);
        if (!rc)
            rc = buf_append(out, &c, 1);
    }
    if (!rc)
        rc = buf_append(out, &q, 1);
    if (!rc && is_prefix)
        rc = buf_append_cstr(out, d == STORE_DIALECT_POSTGRES ? ":*" : " *");
    return rc;
}

/* Appends the term to out, after " & " (" | " with is_any) when out holds
 * one already; is_prefix: its word as a prefix whatever the term says. */
static enum rc add_term(struct buf *out, enum store_dialect d, const struct store_search_term *t,
                        bool is_any, bool is_prefix)
{
    bool pg = d == STORE_DIALECT_POSTGRES;
    /* FTS5 has no implicit AND next to a parenthesis: always written. */
    enum rc rc = out->len ? buf_append_cstr(out, pg ? (is_any ? " | " : " & ") : " AND ") : RC_OK;
    if (!rc && t->alt_count)
        rc = buf_append(out, "(", 1);
    if (!rc)
        rc = quote_word(out, d, t->word, t->is_prefix || is_prefix);
    for (size_t i = 0; i < t->alt_count && !rc; i++) {
        rc = buf_append_cstr(out, pg ? " | " : " OR ");
        if (!rc)
            rc = quote_word(out, d, t->alts[i], false);
    }
    if (!rc && t->alt_count)
        rc = buf_append(out, ")", 1);
    return rc;
}

enum rc store_search_query_build(struct store_search_query *sq,
                                 const struct store_search_term *terms, size_t n)
{
    /* PostgreSQL's english index stems words, so a prefix (a word not yet
     * whole) and its alternatives go to the unstemmed words: text[1]. */
    bool split = sq->dialect == STORE_DIALECT_POSTGRES && sq->ix->language == STORE_SEARCH_ENGLISH;
    enum rc rc = RC_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        int k = split && terms[i].is_prefix;
        rc = add_term(&sq->text[k], sq->dialect, &terms[i], false, false);
        sq->has[k] = true;
        /* Snippets mark each word's forms as the words it begins, which
         * covers English's endings (run: runs, running). */
        if (!rc && split) {
            rc = add_term(&sq->text[2], sq->dialect, &terms[i], true, true);
            sq->has[2] = true;
        }
    }
    return rc;
}

unsigned store_search_query_params(const struct store_search_query *sq)
{
    return (unsigned)sq->has[0] + (unsigned)sq->has[1];
}

bool store_search_query_has_snippet_param(const struct store_search_query *sq)
{
    return sq->has[2];
}

/* ---- Names (search_int.h) ---------------------------------------------- */

void store_search_name(struct str key, const char *suffix, char out[STORE_SEARCH_NAME_MAX])
{
    if (key.len <= 40)
        snprintf(out, STORE_SEARCH_NAME_MAX, "_s:%.*s%s", (int)key.len, key.ptr, suffix);
    else
        snprintf(out, STORE_SEARCH_NAME_MAX, "_s:%.24s~%08x%s", key.ptr,
                 (unsigned)crc32_ieee(key.ptr, key.len), suffix);
}

void store_search_add_name(struct store_sql *q, struct str key, const char *suffix)
{
    char name[STORE_SEARCH_NAME_MAX];
    store_search_name(key, suffix, name);
    store_sql_ident(q, str_from_cstr(name));
}

void store_search_geo_suffix(unsigned n, const char *what, char out[32])
{
    snprintf(out, 32, ":g%u%s", n, what);
}

enum rc store_geo_box_as(struct buf *out, enum store_dialect d, struct str key, unsigned n,
                         struct str row, struct str column, const struct str ph[4])
{
    struct store_sql q;
    store_sql_begin_as(&q, out, d);
    if (d == STORE_DIALECT_POSTGRES) {
        /* the expressions of the index, so that the planner matches them */
        const char *const axes[2] = {"lat", "lon"};
        store_sql_add(&q, "(");
        for (int i = 0; i < 2; i++) {
            store_sql_add(&q, i ? " AND ((" : "((");
            store_sql_addn(&q, row);
            store_sql_add(&q, ".");
            store_sql_ident(&q, column);
            store_sql_add(&q, " ->> '");
            store_sql_add(&q, axes[i]);
            store_sql_add(&q, "')::float8 BETWEEN ");
            store_sql_addn(&q, ph[i ? 0 : 2]);
            store_sql_add(&q, " AND ");
            store_sql_addn(&q, ph[i ? 1 : 3]);
            store_sql_add(&q, ")");
        }
        store_sql_add(&q, ")");
        return store_sql_end(&q);
    }
    char name[32];
    store_search_geo_suffix(n, "", name);
    store_sql_addn(&q, row);
    store_sql_add(&q, ".rowid IN (SELECT id FROM ");
    store_search_add_name(&q, key, name);
    /* boxes that overlap the box: a point rounded outwards still meets it */
    store_sql_add(&q, " WHERE maxLon >= ");
    store_sql_addn(&q, ph[0]);
    store_sql_add(&q, " AND minLon <= ");
    store_sql_addn(&q, ph[1]);
    store_sql_add(&q, " AND maxLat >= ");
    store_sql_addn(&q, ph[2]);
    store_sql_add(&q, " AND minLat <= ");
    store_sql_addn(&q, ph[3]);
    store_sql_add(&q, ")");
    return store_sql_end(&q);
}
