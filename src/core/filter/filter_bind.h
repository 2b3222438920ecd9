/* filter_bind.h -- {:name} placeholders of a filter bound to values (layer:
 * core, core/filter/).
 *
 * As the SDKs' pb.filter() does: each placeholder becomes the JSON literal of
 * its value (a string, number or boolean), which the filter language reads as
 * is, so a value never becomes filter syntax. C extensions' records calls
 * (core/ext) bind their params_json with it. */
#ifndef TARMAC_CORE_FILTER_BIND_H
#define TARMAC_CORE_FILTER_BIND_H

#include <jansson.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"

#define CORE_FILTER_MAX_BOUND (64u * 1024u) /* bytes of a filter to bind */

/* Appends filter to out with every {:name} replaced by the literal of
 * params' member name (params may be NULL when the filter has none).
 * RC_INVALID with why (a sentence) for a malformed placeholder, a missing or
 * non-scalar value, or a filter past CORE_FILTER_MAX_BOUND; RC_TOO_LARGE
 * when out is full. Borrows params. */
enum rc core_filter_bind(struct str filter, json_t *params, struct buf *out, char *why,
                         size_t whylen);

#endif
