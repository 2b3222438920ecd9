/* nearest.h -- a list's `nearest`: the records whose vector field is
 * nearest a query vector, alone or fused with a full-text search (layer:
 * core, record/).
 *
 * `nearest=FIELD&to=[...]` (or `to=@record:ID`, that record's vector as
 * the caller may view it), `k` (10; 1..1000) and `metric` (cosine, dot,
 * l2; base/vecmath.h). The k nearest of the records the caller may list
 * that pass the filter, nearest first, each with "@distance"; paged by
 * page/perPage within those k, totalItems counting them. Exact: one scan
 * of the rule's and filter's rows reading each vector (the same read a
 * filter's scan makes, on the worker's read connection under the
 * request's time budget, core_cost_check each row), distances in
 * base/vecmath's vectorised loops, a bounded heap of the best; then the
 * page's records read by id with the rule and filter applied again.
 *
 * With `search` too (hybrid): the best CORE_NEAREST_FUSE_DEPTH of each
 * ranking (relevance, distance) are fused by reciprocal rank (score
 * 1/(60 + rank) summed over the rankings a record is in, RRF with k = 60)
 * into k records, best first, each with "@score" and "@distance" (null
 * when it has no vector). `sort` and `searchSnippet` are refused with
 * nearest (the order is the distance's or the fusion's). */
#ifndef TARMAC_CORE_RECORD_NEAREST_H
#define TARMAC_CORE_RECORD_NEAREST_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"
#include "core/problem.h"
#include "core/record/record.h"

#define CORE_NEAREST_DEFAULT_K 10
#define CORE_NEAREST_MAX_K 1000
/* Reciprocal rank fusion's constant (Cormack et al., 2009). */
#define CORE_NEAREST_RRF_K 60
/* How deep each ranking of a hybrid list is read before fusing. */
#define CORE_NEAREST_FUSE_DEPTH 1000
/* The prefix of a `to` naming a record. */
#define CORE_NEAREST_RECORD_PREFIX "@record:"
/* The prefix of a `to` given as base64url of its float32 bytes. */
#define CORE_NEAREST_B64_PREFIX "b64:"

/* Whether lo asks for nearest neighbours (any of nearest, to, k, metric). */
bool core_nearest_wanted(const struct core_list_opts *lo);

/* Parses a `to` for a field of dims dimensions (1..4096): a JSON array of
 * dims finite numbers within float32's range into out (room for dims), or
 * "b64:" and the base64url (RFC 4648 §5, no padding) of dims float32
 * values little-endian (finite), or "@record:ID" (*id then the ID, a
 * slice of to; out untouched). RC_INVALID
 * with *why a sentence (static) saying what is wrong. Pure; any thread. */
enum rc core_nearest_parse_to(struct str to, size_t dims, float *out, struct str *id,
                              const char **why);

/* Reads the vector of f (a vector field of c, dims dimensions) in record id
 * into qv, as r's requester may view the record (its view rule): the
 * `to=@record:ID` of a list, and the items a recommender's profile is made
 * of. RC_INVALID with p naming `to` when there is no such record, no vector
 * in it, or the requester may not view it. */
enum rc core_nearest_vector_of(struct core_request *r, const struct core_collection *c,
                               const struct core_field *f, struct str id, float *qv, size_t dims,
                               struct core_problem *p);

/* Writes the page (see the top of this file; the shape of
 * core_record_list's) to out. RC_INVALID with p naming the bad parameter
 * (nearest, to, k, metric, sort, searchSnippet, search, filter);
 * RC_OVER_BUDGET when r's cost ran out; RC_FORBIDDEN as a list. */
enum rc core_nearest_list(struct core_request *r, const struct core_collection *c,
                          const struct core_list_opts *lo, const struct core_output_opts *o,
                          struct buf *out, struct core_problem *p);

#endif
