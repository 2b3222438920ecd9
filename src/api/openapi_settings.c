/* openapi_settings.c -- the /api/settings operations in the OpenAPI document
 * (layer: api; see settings.c for the routes). The Settings schema is made
 * from the defaults themselves (core_settings_defaults), so it cannot drift
 * from what GET answers. */
#include "api/openapi_int.h"
#include "core/settings/settings.h"

/* The schema of a JSON value, by its type; objects and arrays recursively. */
static json_t *schema_of(json_t *v)
{
    if (json_is_object(v)) {
        json_t *props = json_object();
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e)
        {
            json_object_set_new(props, k, schema_of(e));
        }
        return json_pack("{s:s,s:o}", "type", "object", "properties", props);
    }
    if (json_is_array(v)) {
        json_t *first = json_array_get(v, 0);
        return json_pack("{s:s,s:o}", "type", "array", "items",
                         first ? schema_of(first) : json_pack("{s:s}", "type", "string"));
    }
    return json_pack("{s:s}", "type",
                     json_is_boolean(v)   ? "boolean"
                     : json_is_integer(v) ? "integer"
                                          : "string");
}

void api_openapi_add_settings(json_t *paths, json_t *schemas, json_t *tags)
{
    json_t *defaults = core_settings_defaults();
    json_t *settings = schema_of(defaults);
    json_decref(defaults);
    json_t *props = json_object_get(settings, "properties");
    json_object_set_new(
        props, "locked",
        json_pack("{s:s,s:{s:s},s:s}", "type", "array", "items", "type", "string", "description",
                  "paths fixed by a flag or environment variable (\"batch.maxRequests\"): a "
                  "PATCH changing one is refused (400 naming it); ignored in a PATCH body"));
    json_object_set_new(
        props, "secretsSet",
        json_pack("{s:s,s:{s:s},s:b,s:s}", "type", "array", "items", "type", "string", "readOnly",
                  1, "description",
                  "the dotted paths of the write-only secrets that hold a value "
                  "(\"smtp.password\", \"s3.secret\"), never the values; answered by GET and "
                  "PATCH, ignored in a PATCH body"));
    json_object_set_new(settings, "description",
                        json_string("PocketBase's settings; smtp.password and the S3 secrets "
                                    "are never returned (a PATCH without them keeps them). s3 "
                                    "moves new uploads to an S3 bucket when enabled (endpoint, "
                                    "bucket, region, accessKey and secret required); backups.s3 "
                                    "(checked the same way) keeps backups in its bucket "
                                    "instead of <dir>/backups when enabled. "
                                    "superuserIPs (IPs or CIDRs): a superuser's requests from "
                                    "elsewhere answer 403. rateLimits.excludedIPs: clients no "
                                    "rate limit counts."));
    json_object_set_new(schemas, "Settings", settings);
    json_array_append_new(tags, json_pack("{s:s,s:s}", "name", "settings", "description",
                                          "the app settings, changed live (superusers)"));
    json_t *view =
        api_openapi_op("settings_view", "settings", "The settings (superusers)", NULL,
                       api_openapi_ok("the settings", api_openapi_ref("Settings")), "401 403");
    json_t *update = api_openapi_op(
        "settings_update", "settings", "Change settings, applied at once (superusers)",
        "A partial update: objects merge key by key, arrays replace. Unknown keys, wrong types, "
        "changed locked values and invalid or unsupported values answer 400 with field errors; "
        "nothing is applied then.",
        api_openapi_ok("the new settings", api_openapi_ref("Settings")), "400 401 403");
    json_object_set_new(update, "requestBody", api_openapi_json_body(api_openapi_ref("Settings")));
    json_t *email = api_openapi_op(
        "settings_test_email", "settings", "Queue a test mail through the current SMTP settings",
        NULL, api_openapi_no_content("queued (its delivery is an email job)"), "400 401 403");
    json_object_set_new(
        email, "requestBody",
        api_openapi_json_body(
            json_pack("{s:s,s:{s:{s:s},s:{s:s,s:[s,s,s,s,s]},s:{s:s}},s:[s,s]}", "type", "object",
                      "properties", "email", "type", "string", "template", "type", "string", "enum",
                      "verification", "password-reset", "email-change", "otp", "login-alert",
                      "collection", "type", "string", "required", "email", "template")));
    json_t *s3 = api_openapi_op(
        "settings_test_s3", "settings",
        "Test the S3 config of filesystem (storage: s3, backups: backups.s3): uploads "
        "pb_settings_test_<random>/test.txt and deletes that prefix; 400 with S3's error (or "
        "\"not enabled\") in the message when it fails",
        NULL, api_openapi_no_content("the upload, listing and delete worked"), "400 401 403");
    json_object_set_new(
        s3, "requestBody",
        api_openapi_json_body(json_pack("{s:s,s:{s:{s:s,s:[s,s]}},s:[s]}", "type", "object",
                                        "properties", "filesystem", "type", "string", "enum",
                                        "storage", "backups", "required", "filesystem")));
    api_openapi_set_op(paths, "/api/settings", "get", view);
    api_openapi_set_op(paths, "/api/settings", "patch", update);
    api_openapi_set_op(paths, "/api/settings/test/email", "post", email);
    api_openapi_set_op(paths, "/api/settings/test/s3", "post", s3);
    const char *const secured[] = {"/api/settings", "/api/settings/test/email",
                                   "/api/settings/test/s3"};
    for (size_t i = 0; i < sizeof(secured) / sizeof(secured[0]); i++) {
        const char *method;
        json_t *o;
        json_object_foreach(json_object_get(paths, secured[i]), method, o)
        {
            if (json_is_object(o) && json_object_get(o, "responses"))
                json_object_set_new(o, "security", json_pack("[{s:[]}]", "token"));
        }
    }
}
