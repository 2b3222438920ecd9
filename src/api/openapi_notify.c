/* openapi_notify.c -- the /api/notify operations in the OpenAPI document
 * (layer: api; see notify.c for the routes). */
#include "api/openapi_int.h"

void api_openapi_add_notify(json_t *paths, json_t *schemas, json_t *tags)
{
    (void)schemas;
    json_array_append_new(
        tags, json_pack("{s:s,s:s}", "name", "notify", "description",
                        "notifications through the job queue: push to the devices users register "
                        "in _devices (FCM HTTP v1, APNs, Web Push), the in-app inbox "
                        "(_notifications), SMS to users' phone field"));
    json_t *send = api_openapi_op(
        "notify_send", "notify", "Send a notification to users' devices (superusers)",
        "Enqueues a notify job; it enqueues push_batch jobs of up to 64 devices of the users "
        "(deduped per batch, so a fan-out run again sends nothing twice while it waits); a "
        "device a batch did not reach goes on as a push job of its own (retried, or dead with "
        "its reason). A dead token (FCM UNREGISTERED, APNs Unregistered, Web Push 404/410) "
        "removes its device. Follow the jobs with GET /api/jobs?kind=push_batch and "
        "?kind=push.",
        json_pack(
            "{s:o,s:o}", "201", api_openapi_ok_json("the notify job", api_openapi_ref("Job")),
            "200",
            api_openapi_ok_json("the pending job a dedupeKey folded into", api_openapi_ref("Job"))),
        "400 401 403");
    json_t *props = json_object();
    json_object_set_new(props, "users",
                        json_pack("{s:s,s:{s:s},s:i,s:i,s:s}", "type", "array", "items", "type",
                                  "string", "minItems", 1, "maxItems", 10000, "description",
                                  "user ids (or give filter)"));
    json_object_set_new(props, "filter",
                        json_pack("{s:s,s:s}", "type", "string", "description",
                                  "the filter language over users, as a superuser (or give "
                                  "users)"));
    json_object_set_new(props, "title", json_pack("{s:s,s:i}", "type", "string", "maxLength", 256));
    json_object_set_new(props, "body", json_pack("{s:s,s:i}", "type", "string", "maxLength", 2048));
    json_object_set_new(props, "template",
                        json_pack("{s:s,s:s,s:s}", "type", "string", "pattern",
                                  "^[a-z0-9][a-z0-9_.-]*$", "description",
                                  "a _notifyTemplates name (instead of title and body)"));
    json_object_set_new(props, "record",
                        json_pack("{s:s,s:{s:{s:s},s:{s:s}},s:[s,s],s:b,s:s}", "type", "object",
                                  "properties", "collection", "type", "string", "id", "type",
                                  "string", "required", "collection", "id", "additionalProperties",
                                  0, "description",
                                  "the record the template's {{record.<field>}} read"));
    json_t *texts = json_pack("{s:s,s:{s:{s:s,s:i},s:{s:s,s:i},s:{s:s,s:i},s:{s:s,s:i}},s:[s],s:b}",
                              "type", "object", "properties", "title", "type", "string",
                              "maxLength", 256, "body", "type", "string", "maxLength", 2048, "sms",
                              "type", "string", "maxLength", 1600, "html", "type", "string",
                              "maxLength", 65536, "required", "title", "additionalProperties", 0);
    json_object_set_new(props, "locales",
                        json_pack("{s:s,s:o,s:i,s:i,s:s}", "type", "object", "additionalProperties",
                                  texts, "minProperties", 1, "maxProperties", 64, "description",
                                  "texts per language tag (\"\" = the fallback), instead of title "
                                  "and body"));
    json_object_set_new(props, "data", json_pack("{s:s}", "type", "object"));
    json_object_set_new(props, "channels",
                        json_pack("{s:s,s:{s:s,s:[s,s,s,s]},s:s}", "type", "array", "items", "type",
                                  "string", "enum", "push", "inbox", "sms", "email", "description",
                                  "default push"));
    json_object_set_new(props, "urgent",
                        json_pack("{s:s,s:s}", "type", "boolean", "description",
                                  "push and SMS do not wait for the users' quiet hours"));
    json_object_set_new(props, "category",
                        json_pack("{s:s,s:s}", "type", "string", "description",
                                  "users who muted a channel for it in _notifyPrefs are skipped "
                                  "on that channel"));
    json_object_set_new(props, "runAt",
                        json_pack("{s:s}", "description",
                                  "a date (2026-12-03 10:00:00.000Z) or unix milliseconds"));
    json_object_set_new(props, "dedupeKey", json_pack("{s:s}", "type", "string"));
    json_t *schema =
        json_pack("{s:s,s:o,s:[{s:[s]},{s:[s]},{s:[s]}]}", "type", "object", "properties", props,
                  "oneOf", "required", "title", "required", "template", "required", "locales");
    json_object_set_new(send, "requestBody",
                        json_pack("{s:b,s:{s:{s:o}}}", "required", 1, "content", "application/json",
                                  "schema", schema));
    api_openapi_set_op(paths, "/api/notify", "post", send);
    json_t *key =
        json_pack("{s:s,s:{s:{s:s,s:s}}}", "type", "object", "properties", "publicKey", "type",
                  "string", "description", "base64url of the uncompressed P-256 point");
    json_t *op = api_openapi_op("notify_webpush_key", "notify",
                                "The Web Push VAPID public key (applicationServerKey)", NULL,
                                api_openapi_ok("the key", key), "404");
    json_object_set_new(op, "security", json_array());
    api_openapi_set_op(paths, "/api/notify/webpush-key", "get", op);
}
