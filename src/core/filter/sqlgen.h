/* sqlgen.h -- filter language and sort expressions -> SQL (layer: core).
 *
 * Compiles a filter (a client `filter` or an API rule, spec §3/§4) against the
 * schema into one boolean SQL expression plus bound parameters, for use as
 *   SELECT r.* FROM "posts" r WHERE <sql> ORDER BY ... LIMIT ? OFFSET ?
 *   SELECT COUNT(*) FROM "posts" r WHERE <sql>
 * The expression never adds rows to that query: nothing is joined in FROM.
 *  - Every relation hop, back-relation (`comments_via_post.x`), `:each` on a
 *    multi-valued field and `@collection.x` is a LEFT JOIN inside ONE
 *    correlated subquery wrapping the whole filter:
 *      EXISTS (SELECT 1 FROM (SELECT 1) _j0 LEFT JOIN "users" _j1 ON ... WHERE <expr>)
 *    Multiple relations join json_each() of the stored JSON array. Paths with
 *    the same prefix share one join, so `@collection.m.user ?= x &&
 *    @collection.m.org ?= y` speak of the same `m` row, as in PocketBase;
 *    LEFT JOINs give an empty set one NULL row, which yields the §3.6 results.
 *    A filter without such paths is just <expr>.
 *  - The "all values" side of a plain sign on a multi-valued path (§3.7:
 *    exists a match AND no non-match) adds
 *      NOT EXISTS (SELECT 1 FROM <the path's own joins> WHERE NOT (<cmp>))
 *    built from a private copy of the path's joins.
 *  - A sort term through a relation is a scalar subquery over the path's own
 *    joins (MIN() for ascending, MAX() for descending when multi-valued).
 * Identifiers are always checked against the schema and double-quoted; every
 * value from the filter or the request is a numbered parameter (?N in
 * SQLite, written by store/sql.h), so no user byte reaches the SQL text. The
 * functions used (json_each, json_extract, strftime) are SQLite's; on
 * PostgreSQL the dialect's (store/dialect.h): a JSON path is a jsonb value
 * typed and ordered as SQLite's json_extract returns it, and the operand it
 * is compared with is made one too.
 * `@request.*` values, datetime macros and literals are parameters computed
 * at compile time. Everything is allocated in the arena
 * given; the compiler keeps no state between calls and is thread-safe as long
 * as the schema and the request JSON are not changed meanwhile. */
#ifndef TARMAC_CORE_SQLGEN_H
#define TARMAC_CORE_SQLGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/arena.h"
#include "base/rc.h"
#include "base/str.h"
#include "core/schema/collection.h"
#include "store/store.h"

#define CORE_SORT_MAX_TERMS 8
#define CORE_SORT_MAX_TERM_LEN 255
#define CORE_FILTER_MAX_HOPS 6   /* relation hops in one path (spec §1.7) */
#define CORE_FILTER_MAX_JOINS 60 /* tables joined in one filter's wrapper (SQLite: 64) */

enum core_sql_param_type { CORE_SQL_NULL, CORE_SQL_INT, CORE_SQL_DOUBLE, CORE_SQL_TEXT };

struct core_sql_param {
    enum core_sql_param_type type;
    int64_t i;
    double d;
    struct str text; /* CORE_SQL_TEXT: in the arena; may hold NUL bytes */
};

struct core_sql_fragment {
    struct str sql;                /* a boolean SQL expression usable after WHERE; placeholders are
                                    * numbered, 1-based, in the dialect's form (store/sql.h:
                                    * ?N in SQLite), in the arena */
    struct core_sql_param *params; /* params[i] binds ?(param_base + i + 1), so with
                                    * param_base 0 params[N-1] binds ?N */
    size_t param_count;            /* every one of them appears in sql */
};

/* Binds f's parameters to st: params[i] to parameter base + i + 1. Text is
 * borrowed (it lives in the compiler's arena) until st is reset or done.
 * The first bind error, or RC_OK. (sql_fragment.c) */
enum rc core_sql_fragment_bind(struct store_stmt *st, const struct core_sql_fragment *f,
                               size_t base);

/* What @request.* resolves to (spec §3.4). All borrowed. */
struct core_filter_request {
    const struct core_collection *auth_collection; /* NULL for a guest */
    json_t *auth;        /* the auth record's fields as a JSON object (incl. hidden ones),
                          * NULL for a guest */
    json_t *body;        /* submitted body object, or NULL */
    json_t *query;       /* object: query key -> first value (string) */
    json_t *headers;     /* object: snake_case lower-case header name -> value */
    const char *method;  /* "GET", ... */
    const char *context; /* "default", "realtime", ... */
    json_t *risk;        /* @risk.<feature>: a scored write's features (core/risk/),
                          * NULL elsewhere (an @risk identifier is refused then) */
};

/* An object's values as @request.query / @request.headers hold them: strings
 * (other JSON stringified); with header_keys, keys in snake_case lower case
 * (X-Token -> x_token). A new object. */
json_t *core_request_strings(json_t *o, bool header_keys);

/* A nearest-first list's narrowing (core/record/record_read.c): the box
 * of a distance filter on the same point, spelt the same, as sort_term is
 * cut to fraction of its radius. A row outside the cut box is farther from
 * that point than the cut radius, so when a page's last row is nearer
 * than km the page is the same. */
struct core_geo_near {
    struct str sort_term; /* "geoDistance(loc.lon, loc.lat, 74.1, 18.9)" */
    double fraction;      /* (0, 1) */
    double km;            /* out: the smallest radius cut to; 0: no box cut */
};

struct core_filter_options {
    const struct core_schema *schema;
    const struct core_collection *collection;  /* the collection being filtered */
    const char *alias;                         /* SQL alias of its table in the outer query,
                                                * e.g. "r"; must not start with "_j"/"_m" */
    const struct core_filter_request *request; /* NULL = no @request data (all NULL) */
    bool allow_hidden; /* superuser filter or an API rule: hidden fields allowed */
    size_t param_base; /* first placeholder number - 1 (so fragments can be combined) */
    int64_t now_ms;    /* the clock for @now & co., ms since the epoch; 0 = read it */
    /* alias is the collection's own table (a list's page or count, not a
     * record given by its values): a distance filter may use the points'
     * index (store_geo_box_as), which reads the table's rows. */
    bool is_table;
    struct core_geo_near *near; /* NULL: every box has its filter's radius */
};

/* Compiles filter (a user filter or an API rule) into *out, allocating in a.
 * An empty filter (len 0) compiles to "TRUE" (no constraint): callers treat an
 * absent filter and a "" rule that way; a non-empty filter of only whitespace
 * or comments is an error. RC_INVALID with a message saying what and where
 * (e.g. "unexpected ')' at offset 12", "unknown field \"titel\" at offset 0")
 * in err for any syntax error (filter_parse.h), an unknown or non-filterable
 * field, an unknown modifier/macro/function, too many relation hops, or a
 * filter joining more than CORE_FILTER_MAX_JOINS tables. */
enum rc core_filter_compile(const struct core_filter_options *o, struct str filter, struct arena *a,
                            struct core_sql_fragment *out, char *err, size_t err_cap);

/* Compiles a sort expression (spec §3.9: "-created,title,+author.name,@random")
 * into an ORDER BY list without the keywords, e.g. "r"."created" DESC,
 * "r"."id" ASC, in *order_by (arena). Parameters it needs (json paths) go to
 * *params_out, numbered from o->param_base + 1 like a filter's. RC_INVALID
 * with a message in err for: an empty term, more than CORE_SORT_MAX_TERMS
 * terms, a term longer than CORE_SORT_MAX_TERM_LEN, a literal, macro or
 * @request/@collection term, and every field error of core_filter_compile. */
enum rc core_sort_compile(const struct core_filter_options *o, struct str sort, struct arena *a,
                          struct str *order_by, struct core_sql_fragment *params_out, char *err,
                          size_t err_cap);

#endif
