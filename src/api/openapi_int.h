/* openapi_int.h -- what openapi.c (the fixed routes, the document, the
 * handlers) and openapi_collection.c (a collection's schemas and paths) share;
 * private to them (layer: api). Every function returns a new reference, and
 * those taking a json_t take ownership of it. */
#ifndef TARMAC_API_OPENAPI_INT_H
#define TARMAC_API_OPENAPI_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "core/schema/collection.h"

/* {"$ref": "#/components/schemas/NAME"} */
json_t *api_openapi_ref(const char *schema_name);

/* {"content": {"application/json": {"schema": schema}}} */
json_t *api_openapi_json_body(json_t *schema);

/* A response object: the body above with a description. */
json_t *api_openapi_ok_json(const char *description, json_t *schema);

/* The responses of an operation answering 200 with schema as JSON:
 * {"200": the response above}. */
json_t *api_openapi_ok(const char *description, json_t *schema);

/* The responses of an operation answering 204: {"204": {"description": ...}}. */
json_t *api_openapi_no_content(const char *description);

/* An operation; errors lists the error statuses it can answer ("400 403"),
 * each added as a reference to the shared responses. */
json_t *api_openapi_op(const char *id, const char *tag, const char *summary,
                       const char *description, json_t *responses, const char *errors);

json_t *api_openapi_param(const char *name, const char *in, const char *description, json_t *schema,
                          bool required);

/* Sets paths[path][method]; a new path item gets a path parameter for each
 * {name} in path. */
void api_openapi_set_op(json_t *paths, const char *path, const char *method, json_t *operation);

/* The /api/settings operations, the Settings schema and its tag (openapi_settings.c). */
void api_openapi_add_settings(json_t *paths, json_t *schemas, json_t *tags);

/* The /api/logs operations, the Log schema and the logs tag (openapi_logs.c). */
void api_openapi_add_logs(json_t *paths, json_t *schemas, json_t *tags);

/* The /api/backups operations, the Backup schema and the backups tag
 * (openapi_backups.c). */
void api_openapi_add_backups(json_t *paths, json_t *schemas, json_t *tags);

/* The /api/jobs operations, the Job schema and the jobs tag (openapi_jobs.c). */
void api_openapi_add_jobs(json_t *paths, json_t *schemas, json_t *tags);

/* The /api/notify operations and the notify tag (openapi_notify.c). */
void api_openapi_add_notify(json_t *paths, json_t *schemas, json_t *tags);

/* The recommendation operations and their tag (openapi_reco.c). */
void api_openapi_add_reco(json_t *paths, json_t *schemas, json_t *tags);

/* Collection c's schemas (<Name>Record, <Name>Create, <Name>Update) and paths
 * (/api/collections/<name>/records, ..., the auth routes of an auth
 * collection), tagged with its name; a view collection's only <Name>Record,
 * its writes documented as refused. Hidden fields only for a superuser. */
void api_openapi_add_collection(json_t *paths, json_t *schemas, const struct core_collection *c,
                                bool superuser);

/* The same routes as /api/collections/{collection}/..., which every
 * collection answers by name or id, with the generic Record and RecordInput
 * schemas: the contract for collections this document does not list (created
 * after it was read, or not listable by the requester). */
void api_openapi_add_any_collection(json_t *paths, json_t *schemas);

#define API_OPENAPI_ANY_TAG "any collection"

#endif
