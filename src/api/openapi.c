/* openapi.c -- GET /api/docs/openapi.json: an OpenAPI 3.1 document of the API
 * as this server answers it, generated from the live schema (issue #14).
 *
 * The fixed routes (health, collections, batch, realtime, files) are written
 * once; every collection the requester may see adds its record schema
 * (`<Name>Record`, `<Name>Create`, `<Name>Update`) and its concrete paths
 * (`/api/collections/posts/records`, ... and, for auth collections, the auth
 * routes), each operation naming the API rule that guards it. Superusers see
 * every collection; anyone else only those whose listRule is not null, the
 * same ones they could list. The document is built with jansson (our own
 * output, never untrusted input) and is the source the docs page and the
 * typed models read. */
#include "api/openapi.h"

#include "api/handlers.h"

#include <stdio.h>
#include <string.h>

#include "api/call.h"
#include "base/alloc.h"
#include "core/app.h"
#include "core/schema/collection_json.h"
#include "core/schema/typegen.h"

#define DATE_PATTERN "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$"

static json_t *ref(const char *name)
{
    char buf[400];
    snprintf(buf, sizeof(buf), "#/components/schemas/%s", name);
    return json_pack("{s:s}", "$ref", buf);
}

static json_t *response_ref(const char *name)
{
    char buf[300];
    snprintf(buf, sizeof(buf), "#/components/responses/%s", name);
    return json_pack("{s:s}", "$ref", buf);
}

static json_t *json_body(json_t *schema)
{
    return json_pack("{s:{s:{s:o}}}", "content", "application/json", "schema", schema);
}

static json_t *ok_json(const char *description, json_t *schema)
{
    json_t *r = json_body(schema);
    json_object_set_new(r, "description", json_string(description));
    return r;
}

/* The error answers an operation can give, by status. */
static void add_errors(json_t *responses, const char *statuses)
{
    static const struct {
        char code[4];
        const char *name;
    } known[] = {{"400", "BadRequest"}, {"401", "Unauthorized"}, {"403", "Forbidden"},
                 {"404", "NotFound"},   {"413", "TooLarge"},     {"429", "TooManyRequests"}};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strstr(statuses, known[i].code))
            json_object_set_new(responses, known[i].code, response_ref(known[i].name));
    }
}

static json_t *op(const char *id, const char *tag, const char *summary, const char *description,
                  json_t *responses, const char *errors)
{
    add_errors(responses, errors);
    json_t *o = json_pack("{s:s,s:[s],s:s,s:o}", "operationId", id, "tags", tag, "summary", summary,
                          "responses", responses);
    if (description)
        json_object_set_new(o, "description", json_string(description));
    return o;
}

static json_t *param(const char *name, const char *in, const char *description, json_t *schema,
                     bool required)
{
    return json_pack("{s:s,s:s,s:s,s:b,s:o}", "name", name, "in", in, "description", description,
                     "required", required, "schema", schema);
}

static void set_op(json_t *paths, const char *path, const char *method, json_t *operation)
{
    json_t *item = json_object_get(paths, path);
    if (!item) {
        item = json_object();
        json_object_set_new(paths, path, item);
    }
    json_object_set_new(item, method, operation);
}

/* ---- record schemas ----------------------------------------------------- */

static json_t *string_list(char *const *items, size_t n, bool with_empty)
{
    json_t *a = json_array();
    if (with_empty)
        json_array_append_new(a, json_string(""));
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(items[i]));
    return a;
}

/* One value of field f as JSON Schema (the single item for multi fields). */
static json_t *field_item_schema(const struct core_field *f, bool is_input)
{
    switch (f->type) {
    case CORE_FIELD_NUMBER: {
        json_t *s = json_pack("{s:s}", "type", f->only_int ? "integer" : "number");
        if (f->has_min)
            json_object_set_new(s, "minimum", json_real(f->min));
        if (f->has_max)
            json_object_set_new(s, "maximum", json_real(f->max));
        return s;
    }
    case CORE_FIELD_BOOL: return json_pack("{s:s}", "type", "boolean");
    case CORE_FIELD_JSON: return json_pack("{s:s}", "description", "any JSON value");
    case CORE_FIELD_GEOPOINT:
        return json_pack("{s:s,s:{s:{s:s,s:i,s:i},s:{s:s,s:i,s:i}},s:[s,s]}", "type", "object",
                         "properties", "lon", "type", "number", "minimum", -180, "maximum", 180,
                         "lat", "type", "number", "minimum", -90, "maximum", 90, "required", "lon",
                         "lat");
    case CORE_FIELD_SELECT:
        return json_pack("{s:s,s:o}", "type", "string", "enum",
                         string_list(f->values, f->value_count, true));
    case CORE_FIELD_DATE:
    case CORE_FIELD_AUTODATE:
        return json_pack("{s:s,s:s,s:s}", "type", "string", "description",
                         "a UTC date as \"2006-01-02 15:04:05.000Z\", or \"\"", "pattern",
                         "^$|" DATE_PATTERN);
    case CORE_FIELD_FILE:
        if (is_input)
            return json_pack("{s:s,s:s}", "type", "string", "format", "binary");
        return json_pack("{s:s,s:s}", "type", "string", "description",
                         "a stored file name; its URL is /api/files/{collectionId}/{id}/{name}");
    case CORE_FIELD_RELATION:
        return json_pack("{s:s,s:s}", "type", "string", "description", "a record id");
    case CORE_FIELD_EMAIL: return json_pack("{s:s,s:s}", "type", "string", "format", "email");
    case CORE_FIELD_URL: return json_pack("{s:s,s:s}", "type", "string", "format", "uri");
    case CORE_FIELD_TEXT:
    case CORE_FIELD_EDITOR:
    case CORE_FIELD_PASSWORD: {
        json_t *s = json_pack("{s:s}", "type", "string");
        if (f->type != CORE_FIELD_EDITOR && f->has_min && f->min > 0)
            json_object_set_new(s, "minLength", json_integer((json_int_t)f->min));
        if (f->type != CORE_FIELD_EDITOR && f->has_max && f->max > 0)
            json_object_set_new(s, "maxLength", json_integer((json_int_t)f->max));
        if (f->pattern && f->pattern[0])
            json_object_set_new(s, "pattern", json_string(f->pattern));
        return s;
    }
    }
    return json_object();
}

/* A field that is not required may hold its empty value ("" or 0), which no
 * constraint applies to (record_input.c validates only non-empty values). */
static json_t *or_empty(const struct core_field *f, json_t *s)
{
    bool constrained = json_object_get(s, "format") || json_object_get(s, "minLength") ||
                       json_object_get(s, "pattern") || json_object_get(s, "minimum") ||
                       json_object_get(s, "maximum");
    if (f->is_required || !constrained || f->type == CORE_FIELD_DATE ||
        f->type == CORE_FIELD_AUTODATE)
        return s;
    json_t *empty = f->type == CORE_FIELD_NUMBER ? json_integer(0) : json_string("");
    return json_pack("{s:[{s:o},o]}", "anyOf", "const", empty, s);
}

static json_t *field_schema(const struct core_field *f, bool is_input)
{
    json_t *s = field_item_schema(f, is_input);
    if (!core_field_is_multi(f) && !(is_input && f->type == CORE_FIELD_FILE))
        s = or_empty(f, s);
    if (core_field_is_multi(f)) {
        json_t *a = json_pack("{s:s,s:o}", "type", "array", "items", s);
        if (f->max_select > 1 && f->type != CORE_FIELD_FILE)
            json_object_set_new(a, "maxItems", json_integer(f->max_select));
        s = a;
    }
    char desc[200];
    snprintf(desc, sizeof(desc), "%s field%s%s", core_field_type_name(f->type),
             f->is_hidden ? "; hidden: only superusers see it" : "",
             f->type == CORE_FIELD_PASSWORD ? "; write-only, stored as a hash" : "");
    if (!json_object_get(s, "description"))
        json_object_set_new(s, "description", json_string(desc));
    if (f->type == CORE_FIELD_AUTODATE || (f->is_system && strcmp(f->name, "tokenKey") == 0))
        json_object_set_new(s, "readOnly", json_true());
    if (f->type == CORE_FIELD_PASSWORD)
        json_object_set_new(s, "writeOnly", json_true());
    return s;
}

/* PascalCase of a collection name, for schema names ("user_posts" -> "UserPosts"). */
static void pascal(const char *name, char *out, size_t cap)
{
    size_t n = 0;
    bool up = true;
    for (const char *p = name; *p && n + 1 < cap; p++) {
        if (*p == '_') {
            up = true;
            continue;
        }
        out[n++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 32) : *p;
        up = false;
    }
    out[n] = '\0';
    if (!n)
        snprintf(out, cap, "Collection");
}

static void add_record_schemas(json_t *schemas, const struct core_collection *c, const char *pn,
                               bool superuser)
{
    char name[300];
    json_t *props = json_pack("{s:{s:s,s:s},s:{s:s,s:s}}", "collectionId", "type", "string",
                              "const", c->id, "collectionName", "type", "string", "const", c->name);
    json_t *required = json_pack("[s,s]", "collectionId", "collectionName");
    json_t *in_props = json_object(), *in_required = json_array();
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        bool secret = f->type == CORE_FIELD_PASSWORD || strcmp(f->name, "tokenKey") == 0;
        if (!secret && (!f->is_hidden || superuser)) {
            json_object_set_new(props, f->name, field_schema(f, false));
            if (!f->is_hidden &&
                !(c->type == CORE_COLLECTION_AUTH && strcmp(f->name, "email") == 0))
                json_array_append_new(required, json_string(f->name));
        }
        if (f->type != CORE_FIELD_AUTODATE && strcmp(f->name, "tokenKey") != 0) {
            json_object_set_new(in_props, f->name, field_schema(f, true));
            if (f->is_required && !f->is_primary_key)
                json_array_append_new(in_required, json_string(f->name));
        }
    }
    if (c->type == CORE_COLLECTION_AUTH)
        json_object_set_new(in_props, "passwordConfirm",
                            json_pack("{s:s,s:b}", "type", "string", "writeOnly", 1));
    json_object_set_new(props, "expand",
                        json_pack("{s:s,s:s}", "type", "object", "description",
                                  "the records asked for with ?expand=, by relation field name"));
    snprintf(name, sizeof(name), "%.200sRecord", pn);
    json_object_set_new(
        schemas, name,
        json_pack("{s:s,s:o,s:o}", "type", "object", "properties", props, "required", required));
    snprintf(name, sizeof(name), "%.200sCreate", pn);
    json_object_set_new(schemas, name,
                        json_pack("{s:s,s:O,s:o}", "type", "object", "properties", in_props,
                                  "required", in_required));
    snprintf(name, sizeof(name), "%.200sUpdate", pn);
    json_object_set_new(schemas, name,
                        json_pack("{s:s,s:o}", "type", "object", "properties", in_props));
}

/* ---- per-collection paths ----------------------------------------------- */

static const char *rule_text(const char *rule, char *buf, size_t cap)
{
    if (!rule)
        snprintf(buf, cap, "API rule: null (superusers only).");
    else if (!rule[0])
        snprintf(buf, cap, "API rule: \"\" (anyone, guests included).");
    else
        snprintf(buf, cap, "API rule: `%s` (superusers pass every rule).", rule);
    return buf;
}

static json_t *list_params(void)
{
    return json_pack(
        "[o,o,o,o,o,o,o]",
        param("page", "query", "page number, from 1",
              json_pack("{s:s,s:i}", "type", "integer", "minimum", 1), false),
        param("perPage", "query", "records per page (1-1000, default 30)",
              json_pack("{s:s,s:i,s:i}", "type", "integer", "minimum", 1, "maximum", 1000), false),
        param("sort", "query", "e.g. -created,title; @random", json_pack("{s:s}", "type", "string"),
              false),
        param("filter", "query", "the filter language, e.g. title ~ 'abc' && created > @now",
              json_pack("{s:s}", "type", "string"), false),
        param("expand", "query", "relations to expand, e.g. author,comments_via_post",
              json_pack("{s:s}", "type", "string"), false),
        param("fields", "query", "fields to return, e.g. id,title,expand.author.name",
              json_pack("{s:s}", "type", "string"), false),
        param("skipTotal", "query", "skip the count (totalItems and totalPages are -1)",
              json_pack("{s:s}", "type", "boolean"), false));
}

static json_t *view_params(void)
{
    return json_pack(
        "[o,o]",
        param("expand", "query", "relations to expand", json_pack("{s:s}", "type", "string"),
              false),
        param("fields", "query", "fields to return", json_pack("{s:s}", "type", "string"), false));
}

static json_t *create_body(const char *pn)
{
    char name[300];
    snprintf(name, sizeof(name), "%.200sCreate", pn);
    return json_pack("{s:b,s:{s:{s:o},s:{s:o}}}", "required", 1, "content", "application/json",
                     "schema", ref(name), "multipart/form-data", "schema", ref(name));
}

static void add_auth_paths(json_t *paths, const struct core_collection *c, const char *pn)
{
    char path[400], id[300], rec[300];
    snprintf(rec, sizeof(rec), "%.200sRecord", pn);
    json_t *auth_ok = json_pack("{s:{s:s},s:o}", "token", "type", "string", "record", ref(rec));
    json_t *auth_schema = json_pack("{s:s,s:o,s:[s,s]}", "type", "object", "properties", auth_ok,
                                    "required", "token", "record");
    char desc[600];
    char rule[512];
    snprintf(desc, sizeof(desc), "Checked after the credentials: the authRule. %s",
             rule_text(c->auth_rule, rule, sizeof(rule)));
    struct {
        const char *route, *suffix, *summary;
        json_t *body; /* request body schema, or NULL */
        bool token_answer, is_limited;
    } routes[] = {
        {"auth-with-password", "authWithPassword", "Sign in with an identity and a password",
         json_pack("{s:s,s:{s:{s:s},s:{s:s}},s:[s,s]}", "type", "object", "properties", "identity",
                   "type", "string", "password", "type", "string", "required", "identity",
                   "password"),
         true, true},
        {"auth-refresh", "authRefresh", "A new token for the current one", NULL, true, false},
        {"request-otp", "requestOtp", "Mail a one-time password",
         json_pack("{s:s,s:{s:{s:s,s:s}},s:[s]}", "type", "object", "properties", "email", "type",
                   "string", "format", "email", "required", "email"),
         false, true},
        {"auth-with-otp", "authWithOtp", "Sign in with a mailed one-time password",
         json_pack("{s:s,s:{s:{s:s},s:{s:s}},s:[s,s]}", "type", "object", "properties", "otpId",
                   "type", "string", "password", "type", "string", "required", "otpId", "password"),
         true, true},
        {"request-verification", "requestVerification", "Mail an email verification link",
         json_pack("{s:s,s:{s:{s:s,s:s}},s:[s]}", "type", "object", "properties", "email", "type",
                   "string", "format", "email", "required", "email"),
         false, false},
        {"confirm-verification", "confirmVerification", "Confirm an email address",
         json_pack("{s:s,s:{s:{s:s}},s:[s]}", "type", "object", "properties", "token", "type",
                   "string", "required", "token"),
         false, false},
        {"request-password-reset", "requestPasswordReset", "Mail a password reset link",
         json_pack("{s:s,s:{s:{s:s,s:s}},s:[s]}", "type", "object", "properties", "email", "type",
                   "string", "format", "email", "required", "email"),
         false, false},
        {"confirm-password-reset", "confirmPasswordReset", "Set a new password from a mailed token",
         json_pack("{s:s,s:{s:{s:s},s:{s:s},s:{s:s}},s:[s,s,s]}", "type", "object", "properties",
                   "token", "type", "string", "password", "type", "string", "passwordConfirm",
                   "type", "string", "required", "token", "password", "passwordConfirm"),
         false, false},
        {"request-email-change", "requestEmailChange", "Mail a link to confirm a new email",
         json_pack("{s:s,s:{s:{s:s,s:s}},s:[s]}", "type", "object", "properties", "newEmail",
                   "type", "string", "format", "email", "required", "newEmail"),
         false, false},
        {"confirm-email-change", "confirmEmailChange", "Confirm a new email with the password",
         json_pack("{s:s,s:{s:{s:s},s:{s:s}},s:[s,s]}", "type", "object", "properties", "token",
                   "type", "string", "password", "type", "string", "required", "token", "password"),
         false, false},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        snprintf(path, sizeof(path), "/api/collections/%s/%s", c->name, routes[i].route);
        snprintf(id, sizeof(id), "%s_%s", c->name, routes[i].suffix);
        json_t *responses;
        if (routes[i].token_answer)
            responses = json_pack("{s:o}", "200",
                                  ok_json("the token and the record", json_incref(auth_schema)));
        else if (strcmp(routes[i].route, "request-otp") != 0)
            responses =
                json_pack("{s:{s:s}}", "204", "description", "done (also for unknown addresses)");
        else
            responses = json_pack("{s:o}", "200",
                                  ok_json("the id of the one-time password",
                                          json_pack("{s:s,s:{s:{s:s}}}", "type", "object",
                                                    "properties", "otpId", "type", "string")));
        json_t *o = op(id, c->name, routes[i].summary, routes[i].token_answer ? desc : NULL,
                       responses, routes[i].is_limited ? "400 401 403 404 429" : "400 401 403 404");
        if (routes[i].body)
            json_object_set_new(o, "requestBody", json_body(routes[i].body));
        if (strcmp(routes[i].route, "auth-refresh") == 0)
            json_object_set_new(o, "security", json_pack("[{s:[]}]", "token"));
        set_op(paths, path, "post", o);
    }
    snprintf(path, sizeof(path), "/api/collections/%s/auth-methods", c->name);
    snprintf(id, sizeof(id), "%s_authMethods", c->name);
    set_op(paths, path, "get",
           op(id, c->name, "The sign-in methods this collection offers", NULL,
              json_pack("{s:o}", "200", ok_json("the methods", ref("AuthMethods"))), "404"));
    snprintf(path, sizeof(path), "/api/collections/%s/impersonate/{id}", c->name);
    snprintf(id, sizeof(id), "%s_impersonate", c->name);
    json_t *imp = op(id, c->name, "A non-refreshable token for a record (superusers)", NULL,
                     json_pack("{s:o}", "200", ok_json("the token and the record", auth_schema)),
                     "400 401 403 404");
    json_object_set_new(imp, "parameters",
                        json_pack("[o]", param("id", "path", "the record id",
                                               json_pack("{s:s}", "type", "string"), true)));
    json_object_set_new(
        imp, "requestBody",
        json_body(json_pack("{s:s,s:{s:{s:s,s:s}}}", "type", "object", "properties", "duration",
                            "type", "integer", "description", "seconds; 0 = the default")));
    json_object_set_new(imp, "security", json_pack("[{s:[]}]", "token"));
    set_op(paths, path, "post", imp);
}

static void add_collection_paths(json_t *paths, const struct core_collection *c, const char *pn)
{
    char path[400], id[300], rec[300], rule[512], upd[300];
    snprintf(rec, sizeof(rec), "%.200sRecord", pn);
    snprintf(upd, sizeof(upd), "%.200sUpdate", pn);
    json_t *list_schema = json_pack(
        "{s:s,s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s,s:o}},s:[s,s,s,s,s]}", "type", "object",
        "properties", "page", "type", "integer", "perPage", "type", "integer", "totalItems", "type",
        "integer", "totalPages", "type", "integer", "items", "type", "array", "items", ref(rec),
        "required", "page", "perPage", "totalItems", "totalPages", "items");
    snprintf(path, sizeof(path), "/api/collections/%s/records", c->name);
    snprintf(id, sizeof(id), "%s_list", c->name);
    json_t *o =
        op(id, c->name, "List records", rule_text(c->rules[CORE_RULE_LIST], rule, sizeof(rule)),
           json_pack("{s:o}", "200", ok_json("a page of records", list_schema)), "400 403");
    json_object_set_new(o, "parameters", list_params());
    set_op(paths, path, "get", o);
    snprintf(id, sizeof(id), "%s_create", c->name);
    o = op(id, c->name, "Create a record",
           rule_text(c->rules[CORE_RULE_CREATE], rule, sizeof(rule)),
           json_pack("{s:o}", "200", ok_json("the new record", ref(rec))), "400 403 413");
    json_object_set_new(o, "requestBody", create_body(pn));
    json_object_set_new(o, "parameters", view_params());
    set_op(paths, path, "post", o);

    snprintf(path, sizeof(path), "/api/collections/%s/records/{id}", c->name);
    json_t *id_param =
        param("id", "path", "the record id", json_pack("{s:s}", "type", "string"), true);
    json_object_set_new(paths, path, json_pack("{s:[o]}", "parameters", id_param));
    snprintf(id, sizeof(id), "%s_view", c->name);
    o = op(id, c->name, "View a record", rule_text(c->rules[CORE_RULE_VIEW], rule, sizeof(rule)),
           json_pack("{s:o}", "200", ok_json("the record", ref(rec))), "403 404");
    json_object_set_new(o, "parameters", view_params());
    set_op(paths, path, "get", o);
    snprintf(id, sizeof(id), "%s_update", c->name);
    o = op(id, c->name, "Update a record (field+, +field and field- modify lists)",
           rule_text(c->rules[CORE_RULE_UPDATE], rule, sizeof(rule)),
           json_pack("{s:o}", "200", ok_json("the record as saved", ref(rec))), "400 403 404 413");
    json_object_set_new(o, "requestBody",
                        json_pack("{s:b,s:{s:{s:o},s:{s:o}}}", "required", 1, "content",
                                  "application/json", "schema", ref(upd), "multipart/form-data",
                                  "schema", ref(upd)));
    json_object_set_new(o, "parameters", view_params());
    set_op(paths, path, "patch", o);
    snprintf(id, sizeof(id), "%s_delete", c->name);
    set_op(paths, path, "delete",
           op(id, c->name, "Delete a record (and its cascades)",
              rule_text(c->rules[CORE_RULE_DELETE], rule, sizeof(rule)),
              json_pack("{s:{s:s}}", "204", "description", "deleted"), "400 403 404"));
    if (c->type == CORE_COLLECTION_AUTH)
        add_auth_paths(paths, c, pn);
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
                                           {"TooLarge", "the body is over --max-body"},
                                           {"TooManyRequests", "over a rate limit"}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        json_object_set_new(responses, names[i][0], ok_json(names[i][1], ref("Error")));
    json_t *schemas = json_pack(
        "{s:o,s:{s:s,s:{s:{s:s},s:{s:s,s:{s:{s:s},s:{s:s,s:{s:s}}}},s:{s:s,s:{s:{s:s},s:{s:s}}},"
        "s:{s:s},s:{s:s}}}}",
        "Error", error, "AuthMethods", "type", "object", "properties", "mfa", "type", "object",
        "password", "type", "object", "properties", "enabled", "type", "boolean", "identityFields",
        "type", "array", "items", "type", "string", "otp", "type", "object", "properties",
        "enabled", "type", "boolean", "duration", "type", "integer", "oauth2", "type", "object",
        "message", "type", "string");
    return json_pack("{s:o,s:o,s:{s:{s:s,s:s,s:s,s:s}}}", "schemas", schemas, "responses",
                     responses, "securitySchemes", "token", "type", "apiKey", "in", "header",
                     "name", "Authorization", "description",
                     "the token of auth-with-password and friends, as sent by the SDKs");
}

static void add_fixed_paths(json_t *paths)
{
    json_t *health = json_pack("{s:{s:s},s:{s:s},s:{s:s}}", "message", "type", "string", "code",
                               "type", "integer", "data", "type", "object");
    set_op(paths, "/api/health", "get",
           op("health", "system", "Health check", NULL,
              json_pack("{s:o}", "200",
                        ok_json("healthy",
                                json_pack("{s:s,s:o}", "type", "object", "properties", health))),
              ""));
    set_op(
        paths, "/api/docs/openapi.json", "get",
        op("openapi", "system", "This document", NULL,
           json_pack("{s:o}", "200", ok_json("OpenAPI 3.1", json_pack("{s:s}", "type", "object"))),
           ""));
    json_t *any = json_pack("{s:s}", "type", "object");
    set_op(paths, "/api/collections", "get",
           op("collections_list", "collections", "List collections (superusers)", NULL,
              json_pack("{s:o}", "200", ok_json("a page of collections", json_incref(any))),
              "400 401 403"));
    set_op(paths, "/api/collections", "post",
           op("collections_create", "collections", "Create a collection (superusers)", NULL,
              json_pack("{s:o}", "200", ok_json("the collection", json_incref(any))),
              "400 401 403"));
    set_op(paths, "/api/collections/import", "put",
           op("collections_import", "collections", "Import collections (superusers)", NULL,
              json_pack("{s:{s:s}}", "204", "description", "imported"), "400 401 403"));
    set_op(paths, "/api/collections/meta/scaffolds", "get",
           op("collections_scaffolds", "collections", "Default collection definitions", NULL,
              json_pack("{s:o}", "200", ok_json("by type", json_incref(any))), "401 403"));
    const char *cp = "/api/collections/{collection}";
    json_t *coll_param = param("collection", "path", "a collection name or id",
                               json_pack("{s:s}", "type", "string"), true);
    json_object_set_new(paths, cp, json_pack("{s:[O]}", "parameters", coll_param));
    set_op(paths, cp, "get",
           op("collections_view", "collections", "View a collection (superusers)", NULL,
              json_pack("{s:o}", "200", ok_json("the collection", json_incref(any))),
              "401 403 404"));
    set_op(paths, cp, "patch",
           op("collections_update", "collections",
              "Update a collection; the table is migrated in one transaction (superusers)", NULL,
              json_pack("{s:o}", "200", ok_json("the collection", json_incref(any))),
              "400 401 403 404"));
    set_op(paths, cp, "delete",
           op("collections_delete", "collections", "Delete a collection (superusers)", NULL,
              json_pack("{s:{s:s}}", "204", "description", "deleted"), "400 401 403 404"));
    json_object_set_new(paths, "/api/collections/{collection}/truncate",
                        json_pack("{s:[O]}", "parameters", coll_param));
    set_op(paths, "/api/collections/{collection}/truncate", "delete",
           op("collections_truncate", "collections", "Delete every record (superusers)", NULL,
              json_pack("{s:{s:s}}", "204", "description", "emptied"), "400 401 403 404"));
    set_op(paths, "/api/batch", "post",
           op("batch", "batch", "Several record writes in one transaction",
              "Each request runs under its collection's rules; all or nothing.",
              json_pack("{s:o}", "200",
                        ok_json("one answer per request, in order",
                                json_pack("{s:s,s:{s:s,s:{s:{s:s},s:{s:s}}}}", "type", "array",
                                          "items", "type", "object", "properties", "status", "type",
                                          "integer", "body", "type", "object"))),
              "400 403 413"));
    set_op(paths, "/api/realtime", "get",
           op("realtime_connect", "realtime",
              "Server-sent events: PB_CONNECT, then one message per subscribed change", NULL,
              json_pack("{s:{s:s,s:{s:{s:{s:s}}}}}", "200", "description", "an event stream",
                        "content", "text/event-stream", "schema", "type", "string"),
              ""));
    set_op(paths, "/api/realtime", "post",
           op("realtime_subscribe", "realtime", "Set a client's subscriptions", NULL,
              json_pack("{s:{s:s}}", "204", "description", "subscribed"), "400 403 404"));
    set_op(paths, "/api/realtime/ws", "get",
           op("realtime_ws", "realtime",
              "The same events over a WebSocket, subscriptions sent in-band (beyond PocketBase)",
              "Protocol: docs/realtime.md.",
              json_pack("{s:{s:s}}", "101", "description", "switching to WebSocket"), "400"));
    const char *fp = "/api/files/{collection}/{recordId}/{filename}";
    json_t *file_op =
        op("files_download", "files", "A stored file, or a thumbnail of an image", NULL,
           json_pack("{s:{s:s,s:{s:{s:{s:s,s:s}}}}}", "200", "description", "the file", "content",
                     "application/octet-stream", "schema", "type", "string", "format", "binary"),
           "400 404");
    json_object_set_new(file_op, "parameters",
                        json_pack("[o,o,o,o,o,o]",
                                  param("collection", "path", "collection name or id",
                                        json_pack("{s:s}", "type", "string"), true),
                                  param("recordId", "path", "record id",
                                        json_pack("{s:s}", "type", "string"), true),
                                  param("filename", "path", "stored file name",
                                        json_pack("{s:s}", "type", "string"), true),
                                  param("thumb", "query", "WxH, WxHt, WxHb, WxHf, 0xH, Wx0",
                                        json_pack("{s:s}", "type", "string"), false),
                                  param("download", "query", "1: as an attachment",
                                        json_pack("{s:s}", "type", "string"), false),
                                  param("token", "query", "a file token, for protected files",
                                        json_pack("{s:s}", "type", "string"), false)));
    set_op(paths, fp, "get", file_op);
    json_t *tok =
        op("files_token", "files", "A short-lived token for protected files", NULL,
           json_pack("{s:o}", "200",
                     ok_json("the token", json_pack("{s:s,s:{s:{s:s}}}", "type", "object",
                                                    "properties", "token", "type", "string"))),
           "401");
    json_object_set_new(tok, "security", json_pack("[{s:[]}]", "token"));
    set_op(paths, "/api/files/token", "post", tok);
    /* Collection management is for superusers: say so on each operation. */
    const char *const admin[] = {"/api/collections", "/api/collections/import",
                                 "/api/collections/meta/scaffolds", cp,
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
    json_decref(coll_param);
}

json_t *api_openapi_document(const struct core_schema *schema, const char *app_name, bool superuser)
{
    json_t *paths = json_object();
    add_fixed_paths(paths);
    json_t *comp = components();
    json_t *schemas = json_object_get(comp, "schemas");
    json_t *tags =
        json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "name", "system",
                  "description", "health and this document", "name", "collections", "description",
                  "declaring collections (superusers)", "name", "batch", "description",
                  "several writes in one transaction", "name", "realtime", "description",
                  "record changes over SSE or WebSocket", "name", "files", "description",
                  "stored files and thumbnails");
    for (size_t i = 0; schema && i < schema->count; i++) {
        const struct core_collection *c = schema->items[i];
        if (!superuser && !c->rules[CORE_RULE_LIST])
            continue;
        char pn[300];
        pascal(c->name, pn, sizeof(pn));
        add_record_schemas(schemas, c, pn, superuser);
        add_collection_paths(paths, c, pn);
        json_array_append_new(tags, json_pack("{s:s,s:s}", "name", c->name, "description",
                                              c->type == CORE_COLLECTION_AUTH
                                                  ? "an auth collection: records and sign-in"
                                                  : "a base collection"));
    }
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
    json_t *doc =
        api_openapi_document(c->core.schema, c->aw->core.app->app_name, c->auth.is_superuser);
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
