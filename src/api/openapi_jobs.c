/* openapi_jobs.c -- the /api/jobs operations in the OpenAPI document
 * (layer: api; see jobs.c for the routes). */
#include "api/openapi_int.h"
#include "core/jobs/registry.h"

static json_t *job_schema(void)
{
    return json_pack(
        "{s:s,s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s,s:[s,s,s,s,s,s]},s:{s:s},s:{s:s},s:{s:s},"
        "s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s}},s:s}",
        "type", "object", "properties", "id", "type", "string", "kind", "type", "string", "payload",
        "type", "object", "status", "type", "string", "enum", "queued", "running", "failed", "done",
        "dead", "canceled", "priority", "type", "integer", "runAt", "type", "string", "attempts",
        "type", "integer", "maxAttempts", "type", "integer", "dedupeKey", "type", "string",
        "lastError", "type", "string", "finishedAt", "type", "string", "created", "type", "string",
        "updated", "type", "string", "description",
        "A durable job; its id is its idempotency key (a webhook's event id is in its payload).");
}

static json_t *query(const char *name, const char *description)
{
    return api_openapi_param(name, "query", description, json_pack("{s:s}", "type", "string"),
                             false);
}

/* An operation answering one job (200). */
static json_t *job_op(const char *id, const char *summary, const char *errors)
{
    return api_openapi_op(
        id, "jobs", summary, NULL,
        json_pack("{s:o}", "200", api_openapi_ok_json("the job", api_openapi_ref("Job"))), errors);
}

void api_openapi_add_jobs(json_t *paths, json_t *schemas, json_t *tags)
{
    json_object_set_new(schemas, "Job", job_schema());
    json_array_append_new(tags, json_pack("{s:s,s:s}", "name", "jobs", "description",
                                          "the durable job queue and webhook deliveries "
                                          "(superusers)"));
    json_t *page = json_pack("{s:s,s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s,s:o}}}", "type",
                             "object", "properties", "page", "type", "integer", "perPage", "type",
                             "integer", "totalItems", "type", "integer", "totalPages", "type",
                             "integer", "items", "type", "array", "items", api_openapi_ref("Job"));
    json_t *list = api_openapi_op("jobs_list", "jobs", "List jobs (superusers)", NULL,
                                  json_pack("{s:o}", "200", api_openapi_ok_json("a page", page)),
                                  "400 401 403");
    json_object_set_new(
        list, "parameters",
        json_pack("[o,o,o,o,o,o]", query("status", "comma-separated statuses"),
                  query("kind", "one kind"),
                  query("filter", "the filter language over the fields shown (times as date "
                                  "text, e.g. created > '2026-12-01 00:00:00.000Z'; payload.x "
                                  "paths), e.g. attempts > 2 && lastError ~ 'timeout'"),
                  query("sort", "fields (created, updated, runAt, priority, attempts, status, "
                                "kind, finishedAt), - for descending; default -created"),
                  query("page", "from 1"), query("perPage", "1..1000, default 30")));
    api_openapi_set_op(paths, "/api/jobs", "get", list);
    json_t *enqueue = api_openapi_op(
        "jobs_enqueue", "jobs", "Enqueue a job (superusers)",
        "A dedupeKey equal to a queued or failed job's of the same kind answers that job (200).",
        json_pack("{s:o,s:o}", "201", api_openapi_ok_json("the new job", api_openapi_ref("Job")),
                  "200",
                  api_openapi_ok_json("the pending job it folded into", api_openapi_ref("Job"))),
        "400 401 403");
    json_t *kinds = json_array();
    for (size_t i = 0; core_job_kind_builtin_at(i); i++)
        json_array_append_new(kinds, json_string(core_job_kind_builtin_at(i)->name));
    json_object_set_new(
        enqueue, "requestBody",
        json_pack("{s:b,s:{s:{s:{s:s,s:{s:{s:s,s:o,s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},"
                  "s:{s:s}},s:[s]}}}}",
                  "required", 1, "content", "application/json", "schema", "type", "object",
                  "properties", "kind", "type", "string", "examples", kinds, "description",
                  "a built-in kind, or a job handler a script registers", "payload", "type",
                  "object", "runAt", "description",
                  "a date (2026-12-03 10:00:00.000Z) or unix milliseconds", "priority", "type",
                  "integer", "dedupeKey", "type", "string", "maxAttempts", "type", "integer",
                  "required", "kind"));
    api_openapi_set_op(paths, "/api/jobs", "post", enqueue);
    json_t *stats = json_pack("{s:s,s:s}", "type", "object", "description",
                              "counts by status, due, oldestDueAgeMs");
    api_openapi_set_op(
        paths, "/api/jobs/stats", "get",
        api_openapi_op("jobs_stats", "jobs", "Queue depth and the oldest due job's age", NULL,
                       json_pack("{s:o}", "200", api_openapi_ok_json("the counts", stats)),
                       "401 403"));
    api_openapi_set_op(paths, "/api/jobs/{id}", "get",
                       job_op("jobs_view", "View a job (superusers)", "401 403 404"));
    api_openapi_set_op(
        paths, "/api/jobs/{id}/retry", "post",
        job_op("jobs_retry", "Run a failed, dead or canceled job again now", "400 401 403 404"));
    json_t *crons =
        json_pack("{s:s,s:{s:s,s:{s:{s:s},s:{s:s}}}}", "type", "array", "items", "type", "object",
                  "properties", "id", "type", "string", "expression", "type", "string");
    api_openapi_set_op(
        paths, "/api/crons", "get",
        api_openapi_op("crons_list", "jobs", "The schedules (_schedules) as PocketBase's cron list",
                       NULL, json_pack("{s:o}", "200", api_openapi_ok_json("the crons", crons)),
                       "401 403"));
    api_openapi_set_op(paths, "/api/crons/{id}", "post",
                       api_openapi_op("crons_run", "jobs", "Run a schedule now, by name", NULL,
                                      json_pack("{s:{s:s}}", "204", "description", "enqueued"),
                                      "401 403 404"));
    json_t *inbound = api_openapi_op(
        "webhooks_inbound", "jobs", "A verified inbound webhook (see _inboundWebhooks)",
        "The signature is checked over the raw body (stripe, razorpay, github or hmac-sha256) "
        "or, for twilio, over meta.appURL + the path and query and the sorted form parameters; "
        "a valid event is stored as a record of the endpoint's collection and answered with it.",
        json_pack("{s:o}", "200",
                  api_openapi_ok_json("the stored record", json_pack("{s:s}", "type", "object"))),
        "401 404 409");
    json_object_set_new(inbound, "security", json_array());
    json_object_set_new(inbound, "requestBody",
                        json_pack("{s:b,s:{s:{s:{s:s}}}}", "required", 1, "content", "*/*",
                                  "schema", "type", "string"));
    api_openapi_set_op(paths, "/api/webhooks/{name}", "post", inbound);
    api_openapi_set_op(paths, "/api/jobs/{id}/cancel", "post",
                       job_op("jobs_cancel", "Cancel a queued or failed job", "400 401 403 404"));
}
