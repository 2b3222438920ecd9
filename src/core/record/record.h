/* record.h -- records of a collection: read, list, create, update, delete (layer: core).
 *
 * Reads run on the calling worker's loop through its own read connection;
 * a record by id is a prepared-statement lookup, a page is one SELECT plus a
 * COUNT (or a cached count). Rows are written straight from the statement to
 * JSON; `expand` materializes related records through extra queries, and a
 * `fields` picker prunes the finished JSON. Every rule and filter goes
 * through the one compiler in sqlgen.h. Writes (record_write.c) go to the
 * writer thread. */
#ifndef TARMAC_CORE_RECORD_H
#define TARMAC_CORE_RECORD_H

#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/rc.h"
#include "core/record/cost.h"
#include "core/record/worker.h"
#include "core/credential/identity.h"
#include "core/problem.h"
#include "core/filter/sqlgen.h"
#include "store/store.h"

/* What one record operation knows about its request; all borrowed and valid
 * for the request's lifetime. */
struct core_request {
    struct core_worker *cw;
    const struct core_schema *schema;
    struct arena *arena;
    const struct core_auth *auth;
    struct core_filter_request filter_request; /* @request.* for rules */
    bool is_manager; /* the requester passes the auth collection's manageRule for the record */
    struct core_cost *cost; /* what the request may still spend (cost.h); NULL: no limit */
};

static inline bool core_request_is_superuser(const struct core_request *r)
{
    return r->auth && r->auth->is_superuser;
}

/* Output options shared by every operation that returns records. */
struct core_output_opts {
    struct str expand;     /* the raw `expand` parameter, "" when absent */
    struct str fields;     /* the raw `fields` parameter, "" when absent */
    bool ignore_view_rule; /* the record a create/update just wrote is returned as is */
};

struct core_list_opts {
    int64_t page;     /* >= 1 */
    int64_t per_page; /* 1..1000 */
    bool skip_total;
    struct str filter;   /* "" = none */
    struct str sort;     /* "" = storage order (relevance when searching) */
    struct str search;   /* full-text search (record/search.h); "" = none */
    bool search_snippet; /* with search: each record's "@snippet" */
    /* Nearest neighbours (record/nearest.h), each the raw parameter, ""
     * when absent: validated by the list (a 400 naming the bad one). */
    struct str nearest; /* a vector field */
    struct str to;      /* a JSON array of numbers, or @record:ID */
    struct str k;       /* how many, 1..1000 (10) */
    struct str metric;  /* cosine (default), dot, l2 */
    struct str exact;   /* true: scan every row, never the approximate index */
};

#define CORE_LIST_MAX_PER_PAGE 1000
#define CORE_LIST_DEFAULT_PER_PAGE 30

/* Writes the record id of c as the requester may see it into out. RC_NOT_FOUND
 * when it does not exist or the view rule hides it; RC_FORBIDDEN (with a
 * message in p) when the rule is null and the requester is no superuser. */
enum rc core_record_view(struct core_request *r, const struct core_collection *c, struct str id,
                         const struct core_output_opts *o, struct buf *out, struct core_problem *p);
/* The rest of a page too large to build whole (record_stream.c). */
struct core_list_stream;

/* Writes a page of c's records ({page, perPage, totalItems, totalPages, items}).
 * RC_INVALID with p for a bad filter, sort or search; RC_FORBIDDEN as for view and for
 * a guest's or user's filter naming @request./@collection; RC_OVER_BUDGET
 * when r->cost ran out (core_cost_message says which limit; out holds a
 * partial page). With rest non-NULL, a page past about 1 MiB stops there
 * and *rest takes the remaining records: out holds the page's beginning,
 * and core_list_stream_next() writes the rest; otherwise *rest is NULL.
 * Either way every limit was checked over the whole page. */
enum rc core_record_list(struct core_request *r, const struct core_collection *c,
                         const struct core_list_opts *lo, const struct core_output_opts *o,
                         struct buf *out, struct core_problem *p, struct core_list_stream **rest);
/* Appends the next records of the page (about 64 KiB, at least one) to out,
 * and after the last one the page's end, setting *is_done. Each call is one
 * piece of the request's work: it charges the request's cost, which it
 * carries, and runs on the worker's read connection in the current loop
 * iteration's read transaction. RC_OVER_BUDGET (core_list_stream_message),
 * RC_INTERNAL, RC_NOMEM: the page cannot be finished; out may hold part of
 * a record. Worker's thread. */
enum rc core_list_stream_next(struct core_list_stream *s, struct buf *out, bool *is_done);
/* The sentence for the limit a stream passed, NULL when none. */
const char *core_list_stream_message(const struct core_list_stream *s);
/* Frees s; accepts NULL. */
void core_list_stream_free(struct core_list_stream *s);
/* Writes a record of c given by its stored values (a realtime event's, the
 * row perhaps already deleted) as r's requester may see it, when it passes
 * rule ("" = anyone; NULL is the caller's to refuse) and the client filter
 * (may be empty), with expand and fields from o. RC_NOT_FOUND when it does
 * not pass or either does not compile. Runs on r->cw's connection. */
enum rc core_record_render_values(struct core_request *r, const struct core_collection *c,
                                  json_t *values, const char *rule, struct str filter,
                                  const struct core_output_opts *o, struct buf *out);
/* Prunes the JSON in out to the `fields` picker (spec §2.7); a no-op for an
 * empty picker. is_list applies it to each element of "items". */
enum rc core_fields_apply(struct buf *out, struct str fields, bool is_list);
/* Whether the `fields` picker keeps the top-level key of a record (or of
 * each item): named, or under "*", or no valid item at all (nothing is
 * pruned). A key it does not keep need not be written. */
bool core_fields_wants(struct str fields, struct str key);

/* Compiles an API rule (is_rule: hidden fields allowed, errors only logged)
 * or a client filter (errors into p) for c, whose table is aliased "r", with
 * placeholders numbered after param_base. See sqlgen.h. */
enum rc core_compile_filter(struct core_request *r, const struct core_collection *c,
                            struct str text, bool is_rule, size_t param_base,
                            struct core_sql_fragment *out, struct core_problem *p);
/* A view rule (c's, or "" to show every record) as r may read c's records
 * by it, into frag (placeholders numbered after param_base; empty when
 * nothing narrows: a superuser, an empty rule). RC_FORBIDDEN: no rule
 * (NULL) and r is no superuser; RC_NOT_FOUND: the rule does not compile
 * (a broken rule grants nothing; p, may be NULL, says why). */
enum rc core_record_view_rule(struct core_request *r, const struct core_collection *c,
                              const char *rule, size_t param_base, struct core_sql_fragment *frag,
                              struct core_problem *p);

/* Reads every field of record id of c (no visibility rules) as JSON, from the
 * given connection. RC_NOT_FOUND when absent. */
enum rc core_record_load(struct store_conn *db, const struct core_collection *c, struct str id,
                         json_t **out);
/* The id of the first record of c (storage order) that filter matches ("":
 * any), read from db with no rule; r (schema, arena, a superuser's auth)
 * compiles the filter. *id_out is a new string (xfree). RC_NOT_FOUND when
 * none matches; RC_INVALID with p for a filter that does not compile. */
enum rc core_record_first_id(struct store_conn *db, struct core_request *r,
                             const struct core_collection *c, struct str filter, char **id_out,
                             struct core_problem *p);
/* Whether record id of c exists, reading no field: RC_OK, RC_NOT_FOUND, or
 * the read's error. */
enum rc core_record_find(struct store_conn *db, const struct core_collection *c, struct str id);

#endif
