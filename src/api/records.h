/* records.h -- record writes as a step other handlers can run (layer: api).
 *
 * The batch API (batch.c) runs each of its items through the same code as
 * the plain routes of records.c, with a sub-request (api_call_new_sub). */
#ifndef TARMAC_API_RECORDS_H
#define TARMAC_API_RECORDS_H
#include "api/call.h"
#include "core/record/record_write.h"

/* Checks access, then creates (id ignored), updates or deletes record id of
 * col for c, whose body is decoded. Answers through c (api_call_start /
 * api_call_fail); a sub-request's prepared write is parked in c->sub->ready
 * instead of being submitted. */
enum rc api_records_write(struct api_call *c, const struct core_collection *col,
                          enum core_write_kind kind, struct str id);

#endif
