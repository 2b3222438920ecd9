/* search_int.h -- what search.c and search_query.c share (layer: store,
 * private to src/store/search*.c). */
#ifndef TARMAC_STORE_SEARCH_INT_H
#define TARMAC_STORE_SEARCH_INT_H

#include "base/rc.h"
#include "base/str.h"

struct store_sql;
struct store_conn;

#define STORE_SEARCH_NAME_MAX 96

/* out = "_s:" + key + suffix. PostgreSQL cuts names at 63 bytes, so a key
 * past 40 bytes is written as its first 24 and its CRC-32: the longest
 * name, with FTS5's "_docsize" shadow, stays under that. */
void store_search_name(struct str key, const char *suffix, char out[STORE_SEARCH_NAME_MAX]);
/* Appends that name, quoted. */
void store_search_add_name(struct store_sql *q, struct str key, const char *suffix);
/* Runs the statements q built (search.c); q's buffer is emptied for the
 * next, its first error forgotten. */
enum rc store_search_run(struct store_conn *db, struct store_sql *q);
/* The suffix of the n-th point index's objects: ":g<n><what>". */
void store_search_geo_suffix(unsigned n, const char *what, char out[32]);

#endif
