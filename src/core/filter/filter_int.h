/* filter_int.h -- private to src/core: the filter compiler's shared state.
 *
 * sqlgen.c drives compilation (booleans, signs, multi-valued semantics, sort);
 * filter_path.c resolves field paths against the schema (relations,
 * back-relations, @collection, json paths, modifiers); filter_request.c
 * resolves @request.* and the datetime macros; filter_geo.c the box a
 * distance filter reads of the points' index; filter_value.c holds the
 * helpers they share (SQL text in the arena, parameters, joins, errors).
 * Placeholders are numbered internally ?1.. in creation order; sqlgen.c
 * renumbers them at the end so that only used ones remain, from param_base. */
#ifndef TARMAC_CORE_FILTER_INT_H
#define TARMAC_CORE_FILTER_INT_H

#include <stdarg.h>
#include <stdbool.h>

#include "core/filter/sqlgen.h"
#include "store/dialect.h"

/* A shared LEFT JOIN of the filter's wrapper subquery, keyed by path prefix. */
struct core_fc_join {
    struct str key;   /* e.g. "author", "author.team", "@collection.m" */
    struct str alias; /* _jN: the table the path continues from */
    struct str sql;   /* " LEFT JOIN ... ON ..." (may be several joins) */
};

struct core_fc {
    const struct core_filter_options *o;
    const struct core_filter_request *req; /* never NULL */
    struct arena *a;
    struct core_sql_param *params; /* internal numbering: params[i] is ?(i+1) */
    size_t param_count;
    size_t param_cap;
    struct core_fc_join *joins;
    size_t join_count;
    size_t join_cap;
    size_t table_count; /* tables the shared joins add */
    unsigned next_alias;
    struct str row; /* the quoted outer alias, e.g. "r" */
    char *err;
    size_t err_cap;
    size_t offset; /* of the operand being resolved, for messages */
    int64_t now_ms;
};

/* One resolved operand. */
struct core_fc_val {
    struct str sql;      /* SQL expression in the wrapper's scope */
    bool no_coalesce;    /* json path / geoDistance: compare with IS, no '' == NULL */
    bool is_json;        /* PostgreSQL: sql is a JSON value (store_dialect_json_value_as),
                          * compared with core_fc_json_operand of the other side */
    bool is_empty;       /* NULL literal, or a parameter that is NULL or '' */
    bool known_nonempty; /* literal 1/0 or a parameter that is neither NULL nor '' */
    size_t pidx;         /* > 0: the operand is exactly ?pidx (or LOWER(?pidx)) */
    bool lowered;        /* with pidx: LOWER() around it */
    bool is_const;       /* known at compile time (not a valid sort term) */
    bool has_hops;       /* went through joins: mm_expr/mm_from are set */
    bool is_multi;       /* multi-valued (spec §3.7) */
    struct str mm_expr;  /* the value in a standalone subquery ... */
    struct str mm_from;  /* ... "FROM ..." with its own private joins */
    struct str vis;      /* non-empty: ANDed "= 1" after the comparison (auth email) */
};

#define FC_S(s) (int)(s).len, (s).ptr

/* SQL text in the arena, printf-style; %.*s with FC_S() for slices. */
struct str core_fc_fmt(struct core_fc *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sets the error message (with " at offset N" appended) and returns RC_INVALID. */
enum rc core_fc_fail(struct core_fc *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds a parameter (text copied into the arena); returns its internal number. */
size_t core_fc_param(struct core_fc *g, struct core_sql_param p);
/* An operand that is exactly the parameter p. */
void core_fc_param_val(struct core_fc *g, struct core_sql_param p, struct core_fc_val *out);
/* The parameter for a JSON value: NULL (also for v == NULL), INT, DOUBLE, TEXT;
 * bools are 1/0, arrays and objects their compact JSON text. */
struct core_sql_param core_fc_json_param(struct core_fc *g, const json_t *v);
/* A literal operand: "1", "0" (known non-empty) or "NULL" (empty). */
void core_fc_literal(const char *sql, struct core_fc_val *out);
/* Quotes an identifier for SQL: "a""b". */
struct str core_fc_quote(struct core_fc *g, const char *name);
/* A fresh alias: prefix + number ("_j3", "_m4"). */
struct str core_fc_alias(struct core_fc *g, const char *prefix);
/* Finds the shared join registered under key; NULL when there is none. */
const struct core_fc_join *core_fc_find_join(const struct core_fc *g, struct str key);
/* Registers a shared join adding tables tables. RC_INVALID past
 * CORE_FILTER_MAX_JOINS tables in all. */
enum rc core_fc_add_join(struct core_fc *g, struct str key, struct str alias, struct str sql,
                         size_t tables);
/* The SQL turning a select/relation/file value into a JSON array: arrays as
 * they are, NULL and '' as [], any other scalar as a one-item array. */
struct str core_fc_json_norm(struct core_fc *g, struct str v);
/* A FROM item over the elements of arr (a core_fc_json_norm result) named
 * alias, with columns value (each element as text) and key (their order):
 * SQLite's json_each, PostgreSQL's json_array_elements_text WITH ORDINALITY. */
struct str core_fc_json_each(struct core_fc *g, struct str arr, struct str alias);
/* JSON values at a path, typed as SQLite's json_extract types them, in the
 * dialect at hand (store/dialect.h). core_fc_json_path adds the parameter
 * of the path keys[0..n) (n = 0: the whole value) and returns its number;
 * core_fc_json_value is the value of the JSON text expression json there. */
size_t core_fc_json_path(struct core_fc *g, const struct str *keys, size_t n);
struct str core_fc_json_value(struct core_fc *g, struct str json, size_t path);
/* A JSON value as text or as a number (LIKE, LOWER, geoDistance). */
struct str core_fc_json_unwrap(struct core_fc *g, struct str value, enum store_json_as as);
/* v as an operand compared with a JSON value (v itself when it is one). */
struct str core_fc_json_operand(struct core_fc *g, const struct core_fc_val *v);
/* Whether the SQL goes to PostgreSQL (store_dialect_current). */
bool core_fc_is_pg(void);

struct core_fnode;
/* For a comparison n "geoDistance(F.lon, F.lat, X, Y) < R" (or <=, the
 * centre first, or R > ...) over a geoPoint field F of the filtered
 * collection's own table (g->o->is_table), X, Y and R numbers: the
 * condition that the row's point lies in a box around (X, Y) holding every
 * point within R km, as F's point index answers it (store_geo_box_as), its
 * corners g's parameters. It adds nothing the distance does not imply, so
 * the caller ANDs it to n without changing the answer. "" for any other
 * comparison (issue #18, item 3). */
struct str core_fc_geo_box(struct core_fc *g, const struct core_fnode *n);

/* filter_path.c: resolves a schema path (`title`, `author.name`, `meta.a.b`,
 * `comments_via_post.x`, `tags:each`, `@collection.x[:alias].f`).
 * RC_NOT_FOUND (no message) when ident is a plain name that is not a field,
 * so the caller may try the true/false/null literals; RC_INVALID otherwise. */
enum rc core_fc_resolve_path(struct core_fc *g, struct str ident, struct core_fc_val *out);
/* An identifier split at '.': seg[i] without its modifiers, mod[i] what
 * follows its first ':' ("each", "each:lower", "m2" for @collection.x:m2). */
#define CORE_FC_MAX_SEGS 16
struct core_fc_segs {
    struct str seg[CORE_FC_MAX_SEGS];
    struct str mod[CORE_FC_MAX_SEGS];
    size_t count;
};
/* Splits ident; RC_INVALID for an empty segment or more than CORE_FC_MAX_SEGS. */
enum rc core_fc_split(struct core_fc *g, struct str ident, struct core_fc_segs *out);
/* Where a record given as JSON comes from. */
enum core_fc_rec { CORE_FC_REC_AUTH, CORE_FC_REC_BODY, CORE_FC_REC_OTHER };
/* Continues a path from a JSON record (@request.auth, .body, .query, ...)
 * named prefix ("@request.auth") whose collection is col (NULL: plain JSON):
 * s->seg[first..] are the segments after it. A relation field followed by
 * more segments is traversed into its target table; anything else is read
 * from the JSON (NULL when missing or when rec is NULL). */
enum rc core_fc_resolve_from_record(struct core_fc *g, const struct core_collection *col,
                                    json_t *rec, enum core_fc_rec kind, const char *prefix,
                                    const struct core_fc_segs *s, size_t first,
                                    struct core_fc_val *out);
/* sqlgen.c: the null-safe = (eq) or != comparison of l and r (spec §3.6). */
struct str core_fc_equal_sql(struct core_fc *g, bool eq, const struct core_fc_val *l,
                             const struct core_fc_val *r);

/* sqlgen.c: for a non-superuser's filter, " AND (<t's listRule on alias>)"
 * to append to the ON clause of a hop into t ("" when there is nothing to
 * add: a rule, a superuser, an empty listRule). */
enum rc core_fc_list_rule(struct core_fc *g, const struct core_collection *t, struct str alias,
                          struct str *out);

/* filter_request.c: @request.* (RC_INVALID for unknown shapes) and macros
 * (RC_NOT_FOUND when ident is not a macro). */
enum rc core_fc_resolve_request(struct core_fc *g, struct str ident, struct core_fc_val *out);
enum rc core_fc_resolve_macro(struct core_fc *g, struct str ident, struct core_fc_val *out);

#endif
