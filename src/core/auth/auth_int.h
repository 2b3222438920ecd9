/* auth_int.h -- helpers shared by the files of core/auth/ and nothing else
 * (layer: core, auth/). */
#ifndef TARMAC_CORE_AUTH_AUTH_INT_H
#define TARMAC_CORE_AUTH_AUTH_INT_H

#include <jansson.h>

#include "core/schema/collection.h"

struct core_worker;
struct store_stmt;

/* Steps st (prepared on cw's read connection and bound by the caller), takes
 * its first column of the first row as a record id and finishes st (always,
 * st is spent). *out is the record of col with that id, every field; NULL
 * when there is no row, the id is too long or the record is gone. Returns
 * the read's error, if any (*out NULL then). */
enum rc core_auth_load_id_row(struct core_worker *cw, const struct core_collection *col,
                              struct store_stmt *st, json_t **out);

#endif
