/* view_query.h -- what a view query's result columns are made of, read from
 * its text (layer: core, core/schema/).
 *
 * The engine says which result column is a plain reference to a table's
 * column (store_query_check); for the others PocketBase's view fields
 * depend on the expression's shape: count(...) is an integer, total(...) a
 * number, CAST(... AS type) that type. This reads the select list of the
 * query's first SELECT (the one that names the result columns), item by
 * item, with SQLite's tokens (strings, quoted names, comments, parentheses),
 * and says what each item starts with, and which tables its FROM clause
 * names under which aliases (so a column read from another view collection
 * takes that view's field, as in PocketBase). It decides nothing about safety:
 * the engine has already judged the query. Pure over (ptr, len): fuzzed
 * (tests/fuzz/fuzz_view_query.c). */
#ifndef TARMAC_CORE_VIEW_QUERY_H
#define TARMAC_CORE_VIEW_QUERY_H

#include <stddef.h>

#include "base/str.h"

enum core_view_item_kind {
    CORE_VIEW_ITEM_OTHER,    /* anything else: a column, an expression */
    CORE_VIEW_ITEM_WILDCARD, /* "*" or "t.*" */
    CORE_VIEW_ITEM_COUNT,    /* count(...) ... */
    CORE_VIEW_ITEM_TOTAL,    /* total(...) ... */
    CORE_VIEW_ITEM_CAST,     /* CAST(... AS type) and at most an alias after it */
};

struct core_view_item {
    enum core_view_item_kind kind;
    char cast_type[32]; /* CORE_VIEW_ITEM_CAST: the type, lower case ("" when not one word) */
    /* A plain column reference ("col", "t.col", quoted or not) and at most
     * an alias: its qualifier ("" when none) and column, unquoted, as
     * slices of the text; both empty for anything else. */
    struct str qualifier;
    struct str column;
};

/* A table of the first SELECT's FROM clause (joins included): its name and
 * the alias the select list calls it by (the name when it has none),
 * unquoted slices of the text. Subqueries and table functions are not
 * listed. */
struct core_view_source {
    struct str name;
    struct str alias;
};

/* Reads the select list of sql's first SELECT into items (at most max) and
 * returns how many items it has (which may be more than max), or -1 when
 * there is no select list to read (VALUES, unbalanced parentheses, no
 * SELECT). */
long core_view_select_items(struct str sql, struct core_view_item *items, size_t max);
/* Reads the tables of the FROM clause of sql's first SELECT into sources
 * (at most max) and returns how many there are (which may be more than
 * max); 0 when there is none to read. */
size_t core_view_sources(struct str sql, struct core_view_source *sources, size_t max);

#endif
