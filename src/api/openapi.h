/* openapi.h -- the OpenAPI 3.1 document of this server's API, generated from
 * the live schema (layer: api). Served at GET /api/docs/openapi.json
 * (handlers.h) and read by `tarmac gen`. */
#ifndef TARMAC_API_OPENAPI_H
#define TARMAC_API_OPENAPI_H

#include <jansson.h>
#include <stdbool.h>

#include "core/schema/collection.h"

/* The document (a new reference) as a superuser (every collection) or anyone
 * else (the collections whose listRule is not null) sees it. */
json_t *api_openapi_document(const struct core_schema *schema, const char *app_name,
                             bool superuser);

#endif
