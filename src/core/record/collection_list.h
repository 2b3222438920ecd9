/* collection_list.h -- a page of collections for the collections API (layer: core).
 *
 * The filter and sort of GET /api/collections (spec §5.6: on id, name, type,
 * system, created, updated) compile with the filter compiler against the
 * _collections table; the page's definitions come from the schema snapshot. */
#ifndef TARMAC_CORE_COLLECTION_LIST_H
#define TARMAC_CORE_COLLECTION_LIST_H

#include <stdint.h>

#include "base/jsonw.h"
#include "core/record/record.h"

/* Writes the page's collections as a JSON array value into w and their total
 * into *total. RC_INVALID with p for a bad filter or sort. */
enum rc core_collection_list(struct core_request *r, struct str filter, struct str sort,
                             int64_t page, int64_t per_page, struct jsonw *w, int64_t *total,
                             struct core_problem *p);

#endif
