/* openapi.c -- GET /api/docs/openapi.json: an OpenAPI 3.1 document of the API
 * as this server answers it, generated from the live schema (issue #14).
 *
 * The fixed routes (health, docs, collections, batch, realtime, files) are
 * written here; openapi_collection.c adds every collection the requester may
 * see (its record schemas and concrete paths, each operation naming the API
 * rule that guards it) and the same routes for any collection
 * (/api/collections/{collection}/...). Superusers see every collection; anyone
 * else only those whose listRule is not null, the same ones they could list.
 * The document is built with jansson (our own output, never untrusted input)
 * and is the source the docs page (/api/docs, docs.c) and the typed models
 * read. tests/e2e/prism.sh runs the SDK suite through a validating proxy
 * reading it: every answer must match it. */
#include "api/openapi.h"

#include "api/handlers.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api/call.h"
#include "api/openapi_int.h"
#include "base/alloc.h"
#include "core/app.h"
#include "core/hooks/hooks.h"
#include "core/schema/typegen.h"

json_t *api_openapi_ref(const char *schema_name)
{
    char buf[400];
    snprintf(buf, sizeof(buf), "#/components/schemas/%s", schema_name);
    return json_pack("{s:s}", "$ref", buf);
}

static json_t *response_ref(const char *name)
{
    char buf[300];
    snprintf(buf, sizeof(buf), "#/components/responses/%s", name);
    return json_pack("{s:s}", "$ref", buf);
}

json_t *api_openapi_json_body(json_t *schema)
{
    return json_pack("{s:{s:{s:o}}}", "content", "application/json", "schema", schema);
}

json_t *api_openapi_ok_json(const char *description, json_t *schema)
{
    json_t *r = api_openapi_json_body(schema);
    json_object_set_new(r, "description", json_string(description));
    return r;
}

json_t *api_openapi_ok(const char *description, json_t *schema)
{
    return json_pack("{s:o}", "200", api_openapi_ok_json(description, schema));
}

json_t *api_openapi_no_content(const char *description)
{
    return json_pack("{s:{s:s}}", "204", "description", description);
}

/* The error answers an operation can give, by status. */
static void add_errors(json_t *responses, const char *statuses)
{
    static const struct {
        char code[4];
        const char *name;
    } known[] = {{"400", "BadRequest"},     {"401", "Unauthorized"}, {"403", "Forbidden"},
                 {"404", "NotFound"},       {"409", "Conflict"},     {"413", "TooLarge"},
                 {"429", "TooManyRequests"}};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strstr(statuses, known[i].code))
            json_object_set_new(responses, known[i].code, response_ref(known[i].name));
    }
}

json_t *api_openapi_op(const char *id, const char *tag, const char *summary,
                       const char *description, json_t *responses, const char *errors)
{
    add_errors(responses, errors);
    json_t *o = json_pack("{s:s,s:[s],s:s,s:o}", "operationId", id, "tags", tag, "summary", summary,
                          "responses", responses);
    if (description)
        json_object_set_new(o, "description", json_string(description));
    return o;
}

json_t *api_openapi_param(const char *name, const char *in, const char *description, json_t *schema,
                          bool required)
{
    return json_pack("{s:s,s:s,s:s,s:b,s:o}", "name", name, "in", in, "description", description,
                     "required", required, "schema", schema);
}

/* The path parameters of a path template: one per {name}. */
static json_t *path_params(const char *path)
{
    static const char *const known[][2] = {{"collection", "a collection name or id"},
                                           {"id", "the record id"},
                                           {"recordId", "the record id"},
                                           {"filename", "a stored file name"}};
    json_t *params = json_array();
    for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{')) {
        const char *end = strchr(p, '}');
        if (!end)
            break;
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)(end - p - 1), p + 1);
        const char *desc = name;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
            if (strcmp(known[i][0], name) == 0)
                desc = known[i][1];
        }
        json_array_append_new(
            params,
            api_openapi_param(name, "path", desc, json_pack("{s:s}", "type", "string"), true));
    }
    return params;
}

void api_openapi_set_op(json_t *paths, const char *path, const char *method, json_t *operation)
{
    json_t *item = json_object_get(paths, path);
    if (!item) {
        item = json_object();
        json_t *params = path_params(path);
        if (json_array_size(params))
            json_object_set_new(item, "parameters", params);
        else
            json_decref(params);
        json_object_set_new(paths, path, item);
    }
    json_object_set_new(item, method, operation);
}

/* ---- the fixed part --------------------------------------------------------- */

static json_t *components(void)
{
    json_t *error = json_pack(
        "{s:s,s:{s:{s:s},s:{s:s},s:{s:s,s:s,s:{s:s,s:{s:{s:s},s:{s:s}}}}},s:[s,s,s]}", "type",
        "object", "properties", "status", "type", "integer", "message", "type", "string", "data",
        "type", "object", "description", "per-field errors: {field: {code, message}}",
        "additionalProperties", "type", "object", "properties", "code", "type", "string", "message",
        "type", "string", "required", "status", "message", "data");
    json_t *responses = json_object();
    static const char *const names[][2] = {{"BadRequest", "invalid input (see data)"},
                                           {"Unauthorized", "a token is required"},
                                           {"Forbidden", "not allowed for this requester"},
                                           {"NotFound", "no such resource (or hidden by a rule)"},
                                           {"Conflict", "already done (a replayed event)"},
                                           {"TooLarge", "the body is over --max-body"},
                                           {"TooManyRequests", "over a rate limit"}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        json_object_set_new(responses, names[i][0],
                            api_openapi_ok_json(names[i][1], api_openapi_ref("Error")));
    json_t *schemas =
        json_pack("{s:o,s:{s:s,s:{s:{s:s,s:{s:{s:s},s:{s:s}}},s:{s:s,s:{s:{s:s},s:{s:s,s:{s:s}}}},"
                  "s:{s:s,s:{s:{s:s},s:{s:s}}},s:{s:s},s:{s:s}}}}",
                  "Error", error, "AuthMethods", "type", "object", "properties", "mfa", "type",
                  "object", "properties", "enabled", "type", "boolean", "duration", "type",
                  "integer", "password", "type", "object", "properties", "enabled", "type",
                  "boolean", "identityFields", "type", "array", "items", "type", "string", "otp",
                  "type", "object", "properties", "enabled", "type", "boolean", "duration", "type",
                  "integer", "oauth2", "type", "object", "message", "type", "string");
    return json_pack("{s:o,s:o,s:{s:{s:s,s:s,s:s,s:s}}}", "schemas", schemas, "responses",
                     responses, "securitySchemes", "token", "type", "apiKey", "in", "header",
                     "name", "Authorization", "description",
                     "the token of auth-with-password and friends, as sent by the SDKs");
}

static void add_fixed_paths(json_t *paths)
{
    json_t *health = json_pack(
        "{s:{s:s},s:{s:s},s:{s:s,s:{s:{s:s,s:[s],s:s}}}}", "message", "type", "string", "code",
        "type", "integer", "data", "type", "object", "properties", "database", "type", "string",
        "enum", "unavailable", "description",
        "on PostgreSQL, present when the database does not answer (the status stays 200)");
    api_openapi_set_op(
        paths, "/api/health", "get",
        api_openapi_op("health", "system", "Health check", NULL,
                       api_openapi_ok("healthy", json_pack("{s:s,s:o}", "type", "object",
                                                           "properties", health)),
                       ""));
    api_openapi_set_op(
        paths, "/api/docs/openapi.json", "get",
        api_openapi_op("openapi", "system", "This document", NULL,
                       api_openapi_ok("OpenAPI 3.1", json_pack("{s:s}", "type", "object")), ""));
    api_openapi_set_op(paths, "/api/docs", "get",
                       api_openapi_op("docs_page", "system",
                                      "The docs page: this document as a browsable page", NULL,
                                      json_pack("{s:{s:s,s:{s:{s:{s:s}}}}}", "200", "description",
                                                "an HTML page (its scripts under /api/docs/)",
                                                "content", "text/html", "schema", "type", "string"),
                                      ""));
    json_t *types = api_openapi_op("docs_types", "system",
                                   "Typed client models (TypeScript or Dart) of the schema", NULL,
                                   json_pack("{s:{s:s,s:{s:{s:{s:s}}}}}", "200", "description",
                                             "source text, as `tarmac gen types` writes it",
                                             "content", "text/plain", "schema", "type", "string"),
                                   "400");
    json_object_set_new(
        types, "parameters",
        json_pack("[o]",
                  api_openapi_param(
                      "lang", "query", "ts or dart",
                      json_pack("{s:s,s:[s,s]}", "type", "string", "enum", "ts", "dart"), true)));
    api_openapi_set_op(paths, "/api/docs/types", "get", types);
    json_t *any = json_pack("{s:s}", "type", "object");
    api_openapi_set_op(
        paths, "/api/collections", "get",
        api_openapi_op("collections_list", "collections", "List collections (superusers)", NULL,
                       api_openapi_ok("a page of collections", json_incref(any)), "400 401 403"));
    api_openapi_set_op(
        paths, "/api/collections", "post",
        api_openapi_op("collections_create", "collections", "Create a collection (superusers)",
                       "PocketBase's collection model, plus tarmac's `search` option (full-text "
                       "search): {\"fields\": [{\"name\", \"weight\"}], \"language\": "
                       "\"simple\" | \"english\"}",
                       api_openapi_ok("the collection", json_incref(any)), "400 401 403"));
    api_openapi_set_op(paths, "/api/collections/import", "put",
                       api_openapi_op("collections_import", "collections",
                                      "Import collections (superusers)", NULL,
                                      api_openapi_no_content("imported"), "400 401 403"));
    api_openapi_set_op(paths, "/api/collections/meta/scaffolds", "get",
                       api_openapi_op("collections_scaffolds", "collections",
                                      "Default collection definitions", NULL,
                                      api_openapi_ok("by type", json_incref(any)), "401 403"));
    api_openapi_set_op(paths, "/api/collections/meta/oauth2-providers", "get",
                       api_openapi_op("collections_oauth2Providers", "collections",
                                      "The OAuth2 providers an auth collection may name", NULL,
                                      api_openapi_ok("name, displayName, logo",
                                                     json_pack("{s:s,s:{s:s}}", "type", "array",
                                                               "items", "type", "object")),
                                      "401 403"));
    const char *apple = "/api/settings/apple/generate-client-secret";
    json_t *apple_op = api_openapi_op(
        "settings_generateAppleClientSecret", "collections",
        "Sign in with Apple's client secret, for the apple provider's clientSecret (superusers)",
        "An ES256 JWT signed with the .p8 key (kept nowhere): iss teamId, sub clientId, aud "
        "https://appleid.apple.com, valid for duration seconds.",
        api_openapi_ok("the secret",
                       json_pack("{s:s,s:{s:{s:s}},s:[s]}", "type", "object", "properties",
                                 "secret", "type", "string", "required", "secret")),
        "400 401 403");
    json_object_set_new(
        apple_op, "requestBody",
        api_openapi_json_body(json_pack(
            "{s:s,s:{s:{s:s},s:{s:s,s:i,s:i},s:{s:s,s:i,s:i},s:{s:s,s:s},s:{s:s,s:i,s:i}},"
            "s:[s,s,s,s,s]}",
            "type", "object", "properties", "clientId", "type", "string", "teamId", "type",
            "string", "minLength", 10, "maxLength", 10, "keyId", "type", "string", "minLength", 10,
            "maxLength", 10, "privateKey", "type", "string", "description",
            "the PKCS #8 PEM of the .p8 file", "duration", "type", "integer", "minimum", 1,
            "maximum", 15777000, "required", "clientId", "teamId", "keyId", "privateKey",
            "duration")));
    api_openapi_set_op(paths, apple, "post", apple_op);
    const char *cp = "/api/collections/{collection}";
    api_openapi_set_op(
        paths, cp, "get",
        api_openapi_op("collections_view", "collections", "View a collection (superusers)", NULL,
                       api_openapi_ok("the collection", json_incref(any)), "401 403 404"));
    api_openapi_set_op(
        paths, cp, "patch",
        api_openapi_op("collections_update", "collections",
                       "Update a collection; the table is migrated in one transaction (superusers)",
                       NULL, api_openapi_ok("the collection", json_incref(any)),
                       "400 401 403 404"));
    api_openapi_set_op(paths, cp, "delete",
                       api_openapi_op("collections_delete", "collections",
                                      "Delete a collection (superusers)", NULL,
                                      api_openapi_no_content("deleted"), "400 401 403 404"));
    api_openapi_set_op(paths, "/api/collections/{collection}/truncate", "delete",
                       api_openapi_op("collections_truncate", "collections",
                                      "Delete every record (superusers)", NULL,
                                      api_openapi_no_content("emptied"), "400 401 403 404"));
    json_t *batch = api_openapi_op(
        "batch", "batch", "Several record writes in one transaction",
        "Each request runs under its collection's rules; all or nothing.",
        api_openapi_ok("one answer per request, in order",
                       json_pack("{s:s,s:{s:s,s:{s:{s:s},s:{s:[s,s],s:s}},s:[s,s]}}", "type",
                                 "array", "items", "type", "object", "properties", "status", "type",
                                 "integer", "body", "type", "object", "null", "description",
                                 "the record, or null for a delete (204)", "required", "status",
                                 "body")),
        "400 403 413");
    json_t *item = json_pack(
        "{s:s,s:{s:{s:s,s:[s,s,s,s]},s:{s:s,s:s},s:{s:s},s:{s:s}},s:[s,s]}", "type", "object",
        "properties", "method", "type", "string", "enum", "POST", "PATCH", "PUT", "DELETE", "url",
        "type", "string", "description", "a record route, e.g. /api/collections/posts/records",
        "body", "type", "object", "headers", "type", "object", "required", "method", "url");
    json_t *batch_body =
        json_pack("{s:s,s:{s:{s:s,s:o}},s:[s]}", "type", "object", "properties", "requests", "type",
                  "array", "items", item, "required", "requests");
    json_object_set_new(
        batch, "requestBody",
        json_pack("{s:b,s:{s:{s:o},s:{s:{s:s,s:s}}}}", "required", 1, "content", "application/json",
                  "schema", batch_body, "multipart/form-data", "schema", "type", "object",
                  "description",
                  "@jsonPayload: the same object as JSON; files as requests.<i>.<field> parts"));
    api_openapi_set_op(paths, "/api/batch", "post", batch);
    api_openapi_set_op(
        paths, "/api/realtime", "get",
        api_openapi_op(
            "realtime_connect", "realtime",
            "Server-sent events: PB_CONNECT, then one message per subscribed change", NULL,
            json_pack("{s:{s:s,s:{s:{s:{s:s}}}}}", "200", "description", "an event stream",
                      "content", "text/event-stream", "schema", "type", "string"),
            ""));
    api_openapi_set_op(paths, "/api/realtime", "post",
                       api_openapi_op("realtime_subscribe", "realtime",
                                      "Set a client's subscriptions", NULL,
                                      api_openapi_no_content("subscribed"), "400 403 404"));
    api_openapi_set_op(
        paths, "/api/realtime/ws", "get",
        api_openapi_op(
            "realtime_ws", "realtime",
            "The same events over a WebSocket, subscriptions sent in-band (beyond PocketBase)",
            "Protocol: docs/realtime.md.",
            json_pack("{s:{s:s}}", "101", "description", "switching to WebSocket"), "400"));
    const char *fp = "/api/files/{collection}/{recordId}/{filename}";
    json_t *file_op = api_openapi_op(
        "files_download", "files", "A stored file, or a thumbnail of an image", NULL,
        json_pack("{s:{s:s,s:{s:{s:{s:s,s:s}}}}}", "200", "description", "the file", "content",
                  "application/octet-stream", "schema", "type", "string", "format", "binary"),
        "400 404");
    json_object_set_new(
        file_op, "parameters",
        json_pack("[o,o,o]",
                  api_openapi_param("thumb", "query", "WxH, WxHt, WxHb, WxHf, 0xH, Wx0",
                                    json_pack("{s:s}", "type", "string"), false),
                  api_openapi_param("download", "query", "1: as an attachment",
                                    json_pack("{s:s}", "type", "string"), false),
                  api_openapi_param("token", "query", "a file token, for protected files",
                                    json_pack("{s:s}", "type", "string"), false)));
    api_openapi_set_op(paths, fp, "get", file_op);
    json_t *tok = api_openapi_op(
        "files_token", "files", "A short-lived token for protected files", NULL,
        api_openapi_ok("the token", json_pack("{s:s,s:{s:{s:s}}}", "type", "object", "properties",
                                              "token", "type", "string")),
        "401");
    json_object_set_new(tok, "security", json_pack("[{s:[]}]", "token"));
    api_openapi_set_op(paths, "/api/files/token", "post", tok);
    /* OAuth2's one-call flow: the provider sends the browser back here */
    const char *const redirect_methods[] = {"get", "post"};
    for (int i = 0; i < 2; i++) {
        char op_id[32];
        snprintf(op_id, sizeof(op_id), "oauth2Redirect_%s", redirect_methods[i]);
        json_t *op = api_openapi_op(
            op_id, "realtime", "Hands an OAuth2 code to the realtime client named by state", NULL,
            json_pack("{s:{s:s}}", i ? "303" : "307", "description",
                      "to the success or failure page"),
            i ? "400" : "");
        if (i) /* a provider's form post (Apple's response_mode=form_post) */
            json_object_set_new(
                op, "requestBody",
                json_pack("{s:{s:{s:{s:s,s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s,s:s}}}}}}",
                          "content", "application/x-www-form-urlencoded", "schema", "type",
                          "object", "properties", "state", "type", "string", "code", "type",
                          "string", "error", "type", "string", "id_token", "type", "string", "user",
                          "type", "string", "description",
                          "Apple, first sign-in only: {\"name\":{\"firstName\",\"lastName\"},"
                          "\"email\"} as JSON"));
        api_openapi_set_op(paths, "/api/oauth2-redirect", redirect_methods[i], op);
    }
    /* Collection management is for superusers: say so on each operation. */
    const char *const admin[] = {"/api/collections",
                                 "/api/collections/import",
                                 "/api/collections/meta/scaffolds",
                                 "/api/collections/meta/oauth2-providers",
                                 apple,
                                 cp,
                                 "/api/collections/{collection}/truncate"};
    for (size_t i = 0; i < sizeof(admin) / sizeof(admin[0]); i++) {
        const char *method;
        json_t *o;
        json_object_foreach(json_object_get(paths, admin[i]), method, o)
        {
            if (strcmp(method, "parameters") != 0)
                json_object_set_new(o, "security", json_pack("[{s:[]}]", "token"));
        }
    }
    json_decref(any);
}

/* The routes of the server's Lua scripts (api/hooks.c), as this worker's
 * scripts registered them: what they answer is the script's to say. */
static void add_script_routes(json_t *paths, json_t *tags)
{
    uint64_t generation;
    size_t n = core_hooks_routes(&generation);
    for (size_t i = 0; i < n; i++) {
        const char *method, *pattern;
        core_hooks_route(i, &method, &pattern);
        char id[640], lower[8], summary[600];
        size_t k = 0;
        for (; method[k] && k < sizeof(lower) - 1; k++)
            lower[k] = (char)(method[k] | 0x20);
        lower[k] = '\0';
        int len = snprintf(id, sizeof(id), "script_%s", lower);
        for (const char *c = pattern; *c && len < (int)sizeof(id) - 1; c++)
            id[len++] = (isalnum((unsigned char)*c) ? *c : '_');
        id[len] = '\0';
        snprintf(summary, sizeof(summary), "%s %s (a Lua route)", method, pattern);
        json_t *responses = json_pack("{s:{s:s}}", "default", "description",
                                      "what the script answers: its status, a JSON or text body "
                                      "and headers, or an error in the contract's shape");
        json_t *op = api_openapi_op(id, "custom routes", summary,
                                    "Registered by the server's scripts with tarmac.route "
                                    "(docs/hooks.md); the script sees the path parameters, the "
                                    "query, the headers, the body and the requester.",
                                    responses, "");
        if (strcmp(method, "GET") && strcmp(method, "DELETE"))
            json_object_set_new(op, "requestBody",
                                json_pack("{s:b,s:{s:{s:{s:s}}}}", "required", false, "content",
                                          "application/json", "schema", "type", "object"));
        api_openapi_set_op(paths, pattern, lower, op);
    }
    if (n)
        json_array_append_new(tags, json_pack("{s:s,s:s}", "name", "custom routes", "description",
                                              "the routes of the server's Lua scripts"));
}

json_t *api_openapi_document(const struct core_schema *schema, const char *app_name, bool superuser)
{
    json_t *paths = json_object();
    add_fixed_paths(paths);
    json_t *comp = components();
    json_t *schemas = json_object_get(comp, "schemas");
    json_t *tags =
        json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "name", "system",
                  "description", "health, this document, the docs page and typed models", "name",
                  "collections", "description", "declaring collections (superusers)", "name",
                  "batch", "description", "several writes in one transaction", "name", "realtime",
                  "description", "record changes over SSE or WebSocket", "name", "files",
                  "description", "stored files and thumbnails");
    for (size_t i = 0; schema && i < schema->count; i++) {
        const struct core_collection *c = schema->items[i];
        if (!superuser && !c->rules[CORE_RULE_LIST])
            continue;
        api_openapi_add_collection(paths, schemas, c, superuser);
        json_array_append_new(tags, json_pack("{s:s,s:s}", "name", c->name, "description",
                                              c->type == CORE_COLLECTION_AUTH
                                                  ? "an auth collection: records and sign-in"
                                                  : "a base collection"));
    }
    api_openapi_add_any_collection(paths, schemas);
    api_openapi_add_jobs(paths, schemas, tags);
    api_openapi_add_notify(paths, schemas, tags);
    api_openapi_add_reco(paths, schemas, tags);
    api_openapi_add_settings(paths, schemas, tags);
    api_openapi_add_logs(paths, schemas, tags);
    api_openapi_add_backups(paths, schemas, tags);
    add_script_routes(paths, tags);
    json_array_append_new(tags, json_pack("{s:s,s:s}", "name", API_OPENAPI_ANY_TAG, "description",
                                          "the record and auth routes of every collection, by "
                                          "name or id"));
    /* A token is optional everywhere (rules decide); operations that need
     * one say so with their own security. */
    return json_pack(
        "{s:s,s:{s:s,s:s,s:s},s:[{s:s}],s:[{},{s:[]}],s:o,s:o,s:o}", "openapi", "3.1.0", "info",
        "title", app_name && app_name[0] ? app_name : "tarmac", "version", "1", "description",
        "The REST API of this tarmac server: PocketBase's contract (the official JS and Dart SDKs "
        "work unchanged) and tarmac's extensions. Generated from the live schema; a guest sees "
        "the collections it may list.",
        "servers", "url", "/", "security", "token", "tags", tags, "paths", paths, "components",
        comp);
}

enum rc api_docs_openapi(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    json_t *doc = api_openapi_document(c->core.schema, core_app_settings(c->aw->core.app)->app_name,
                                       c->auth.is_superuser);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text)
        return api_call_fail(c, RC_NOMEM);
    http_resp_start(req, 200, "application/json");
    http_resp_add_header(req, "Cache-Control", STR_LIT("no-store"));
    enum rc rc = buf_append(http_resp_body(req), text, strlen(text));
    xfree(text); /* jansson allocates with xmalloc (cli.c) */
    return rc;
}

/* GET /api/docs/types?lang=ts|dart: the typed models of core/typegen.h, as
 * the requester may see the schema (the same text `tarmac gen types` writes
 * for a superuser). */
enum rc api_docs_types(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    struct str lang = api_call_query(c, "lang");
    enum core_typegen_lang l;
    if (str_eq(lang, STR_LIT("ts"))) {
        l = CORE_TYPEGEN_TS;
    } else if (str_eq(lang, STR_LIT("dart"))) {
        l = CORE_TYPEGEN_DART;
    } else {
        core_problem_field(&c->problem, "lang", "validation_in_invalid", "Must be ts or dart.",
                           NULL);
        core_problem_message(&c->problem, "Invalid lang.");
        return api_call_fail(c, RC_INVALID);
    }
    http_resp_start(req, 200, "text/plain; charset=utf-8");
    http_resp_add_header(req, "Cache-Control", STR_LIT("no-store"));
    return core_typegen(c->core.schema, l, c->auth.is_superuser, http_resp_body(req));
}
