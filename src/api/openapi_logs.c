/* openapi_logs.c -- the /api/logs operations in the OpenAPI document
 * (layer: api; see logs.c for the routes, core/logs.h for the entries). */
#include "api/openapi_int.h"

static json_t *type(const char *t)
{
    return json_pack("{s:s}", "type", t);
}

static json_t *query(const char *name, const char *description)
{
    return api_openapi_param(name, "query", description, type("string"), false);
}

/* An entry as PocketBase writes it for a request (core/log_*.go). */
static json_t *log_schema(void)
{
    json_t *data = json_object();
    json_object_set_new(data, "type",
                        json_pack("{s:s,s:s}", "type", "string", "description", "\"request\""));
    json_object_set_new(data, "method", type("string"));
    json_object_set_new(data, "url", type("string"));
    json_object_set_new(data, "status", type("integer"));
    json_object_set_new(data, "execTime",
                        json_pack("{s:s,s:s}", "type", "number", "description", "milliseconds"));
    json_object_set_new(data, "referer", type("string"));
    json_object_set_new(data, "userAgent", type("string"));
    json_object_set_new(
        data, "remoteIP",
        json_pack("{s:s,s:s}", "type", "string", "description", "absent when logs.logIP is false"));
    json_object_set_new(
        data, "userIP",
        json_pack("{s:s,s:s}", "type", "string", "description", "absent when logs.logIP is false"));
    json_object_set_new(data, "auth",
                        json_pack("{s:s,s:s}", "type", "string", "description",
                                  "the auth collection's name; empty for a guest"));
    json_object_set_new(data, "authId",
                        json_pack("{s:s,s:s}", "type", "string", "description",
                                  "only when logs.logAuthId is true"));
    json_object_set_new(data, "error",
                        json_pack("{s:s,s:s}", "type", "string", "description",
                                  "the error's message (status >= 400)"));
    json_object_set_new(data, "details",
                        json_pack("{s:s,s:s}", "type", "object", "description",
                                  "the error answer's data (field errors) when not empty "
                                  "(4xx); too long, only its first keys"));
    json_t *props = json_object();
    json_object_set_new(props, "id", type("string"));
    json_object_set_new(
        props, "created",
        json_pack("{s:s,s:s}", "type", "string", "description", "2026-12-03 10:00:00.000Z"));
    json_object_set_new(props, "level",
                        json_pack("{s:s,s:s}", "type", "integer", "description",
                                  "-4 debug, 0 info, 4 warn, 8 error"));
    json_object_set_new(props, "message", type("string"));
    json_object_set_new(props, "data",
                        json_pack("{s:s,s:o}", "type", "object", "properties", data));
    return json_pack("{s:s,s:o,s:[s,s,s,s,s],s:s}", "type", "object", "properties", props,
                     "required", "id", "created", "level", "message", "data", "description",
                     "A request log entry (kept logs.maxDays days in auxiliary.db)");
}

static const char FILTER_DOC[] =
    "the filter language over id, created, level, message, data and data.<path> (e.g. "
    "data.status >= 400 && data.url ~ '/api/collections'); another field is a 400";

void api_openapi_add_logs(json_t *paths, json_t *schemas, json_t *tags)
{
    json_object_set_new(schemas, "Log", log_schema());
    json_array_append_new(tags, json_pack("{s:s,s:s}", "name", "logs", "description",
                                          "the request log (superusers)"));
    json_t *page = json_pack(
        "{s:s,s:{s:o,s:o,s:o,s:o,s:{s:s,s:o}},s:[s,s,s,s,s]}", "type", "object", "properties",
        "page", type("integer"), "perPage", type("integer"), "totalItems", type("integer"),
        "totalPages", type("integer"), "items", "type", "array", "items", api_openapi_ref("Log"),
        "required", "page", "perPage", "totalItems", "totalPages", "items");
    json_t *list = api_openapi_op("logs_list", "logs", "List request log entries (superusers)",
                                  "Successful reads of the logs, of the realtime stream and the "
                                  "OAuth2 redirect are not logged; their failures are.",
                                  json_pack("{s:o}", "200", api_openapi_ok_json("a page", page)),
                                  "400 401 403");
    json_object_set_new(
        list, "parameters",
        json_pack("[o,o,o,o,o]", query("filter", FILTER_DOC),
                  query("sort", "fields (id, created, level, message, data.<path>, @rowid), - "
                                "for descending; ties by id, the last term's way; default the "
                                "order written"),
                  query("page", "from 1"), query("perPage", "1..1000, default 30"),
                  query("skipTotal", "true: totalItems and totalPages are -1")));
    api_openapi_set_op(paths, "/api/logs", "get", list);
    json_t *stats_schema = json_pack(
        "{s:s,s:{s:s,s:{s:o,s:{s:s,s:s}},s:[s,s]}}", "type", "array", "items", "type", "object",
        "properties", "total", type("integer"), "date", "type", "string", "description",
        "the hour (2026-12-03 10:00:00.000Z)", "required", "total", "date");
    json_t *stats = api_openapi_op(
        "logs_stats", "logs", "Entries counted per hour (superusers)", NULL,
        json_pack("{s:o}", "200", api_openapi_ok_json("the counts", stats_schema)), "400 401 403");
    json_object_set_new(stats, "parameters", json_pack("[o]", query("filter", FILTER_DOC)));
    api_openapi_set_op(paths, "/api/logs/stats", "get", stats);
    api_openapi_set_op(
        paths, "/api/logs/{id}", "get",
        api_openapi_op(
            "logs_view", "logs", "View a request log entry (superusers)", NULL,
            json_pack("{s:o}", "200", api_openapi_ok_json("the entry", api_openapi_ref("Log"))),
            "401 403 404"));
    const char *const secured[] = {"/api/logs", "/api/logs/stats", "/api/logs/{id}"};
    for (size_t i = 0; i < sizeof(secured) / sizeof(secured[0]); i++) {
        json_t *o = json_object_get(json_object_get(paths, secured[i]), "get");
        json_object_set_new(o, "security", json_pack("[{s:[]}]", "token"));
    }
}
