/* openapi_collection.c -- the part of the OpenAPI document (openapi.c) that
 * comes from the schema: each collection's record schemas and its paths, and
 * the same routes for "{collection}", which every collection answers.
 *
 * A listed collection gets <Name>Record (what the API answers: hidden fields
 * only in a superuser's document, never a password or tokenKey), <Name>Create
 * and <Name>Update (what it accepts), and concrete paths
 * (/api/collections/posts/records, ...) whose operations name the API rule
 * that guards them. The {collection} paths use the generic Record and
 * RecordInput schemas; concrete paths win over them (OpenAPI matches concrete
 * paths first), so a client or a validating proxy checks a listed collection
 * strictly and any other one (by id, created later, not listable) against the
 * contract every record keeps. A view collection (read-only) has only
 * <Name>Record, and its write operations are documented as the 400 they
 * answer. */
#include "api/openapi_int.h"

#include <stdio.h>
#include <string.h>

#include "core/schema/collection_json.h"
#include "core/schema/field_type.h"
#include "core/schema/field_value.h"

/* A list's search snippet (?searchSnippet=true, core/record/search.h). */
static json_t *snippet_schema(void)
{
    return json_pack("{s:s,s:s,s:{s:{s:s},s:{s:s}}}", "type", "object", "description",
                     "with ?search=...&searchSnippet=true: the field that matches best and its "
                     "text around the matches, each match between U+0002 and U+0003 (plain text, "
                     "not HTML; \u2026 where it was cut)",
                     "properties", "field", "type", "string", "text", "type", "string");
}

/* A nearest list's distance and fused score (core/record/nearest.h). */
static json_t *distance_schema(void)
{
    return json_pack("{s:[s,s],s:s}", "type", "number", "null", "description",
                     "with ?nearest=...: the record's distance to `to` under the metric (null: "
                     "a hybrid list's text match without a vector)");
}

static json_t *score_schema(void)
{
    return json_pack(
        "{s:s,s:s}", "type", "number", "description",
        "with ?nearest=...&search=...: the reciprocal rank fusion score (higher first)");
}

/* No key of a record is required in the document: ?fields= answers only the
 * keys it names (for every operation that returns records). */
#define RECORD_KEYS                                                                                \
    "Every key is present (a hidden field only for superusers; email when visible) unless "        \
    "?fields= picks some."

/* Whose paths are being written: a collection, or any ({collection}). */
struct target {
    const char *path;                /* "posts" or "{collection}" */
    const char *op_id;               /* operationId prefix: "posts", "any-collection" */
    const char *tag;                 /* "posts", API_OPENAPI_ANY_TAG */
    char record[300];                /* schema names: "PostsRecord", "Record" */
    char create[300];                /* "PostsCreate", "RecordInput" */
    char update[300];                /* "PostsUpdate", "RecordInput" */
    const struct core_collection *c; /* NULL for any collection */
    bool is_auth;
    bool is_view; /* read-only: its writes answer 400 */
};

/* ---- record schemas ----------------------------------------------------- */

/* A field that is not required may hold its empty value ("" or 0), which no
 * constraint applies to (record_input.c validates only non-empty values). */
static json_t *or_empty(const struct core_field *f, json_t *s)
{
    bool constrained = json_object_get(s, "format") || json_object_get(s, "minLength") ||
                       json_object_get(s, "pattern") || json_object_get(s, "minimum") ||
                       json_object_get(s, "maximum");
    if (f->is_required || !constrained || core_field_kind(f)->openapi_has_empty)
        return s;
    return json_pack("{s:[{s:o},o]}", "anyOf", "const", core_field_value_empty(f), s);
}

/* Field f as JSON Schema: its kind's schema of one value (api reads the
 * kinds, core/schema/field_type.h), an array of them for a list. */
static json_t *field_schema(const struct core_field *f, bool is_input)
{
    const struct core_field_kind *k = core_field_kind(f);
    bool is_upload = k->input == CORE_FIELD_INPUT_UPLOAD;
    json_t *s = k->openapi(f, is_input);
    if (!core_field_is_multi(f) && !(is_input && is_upload))
        s = or_empty(f, s);
    if (core_field_is_multi(f)) {
        json_t *a = json_pack("{s:s,s:o}", "type", "array", "items", s);
        if (f->max_select > 1 && !is_upload)
            json_object_set_new(a, "maxItems", json_integer(f->max_select));
        s = a;
    }
    bool is_secret = k->input == CORE_FIELD_INPUT_SECRET;
    char desc[200];
    snprintf(desc, sizeof(desc), "%s field%s%s", k->name,
             f->is_hidden ? "; hidden: only superusers see it" : "",
             is_secret ? "; write-only, stored as a hash" : "");
    if (!json_object_get(s, "description"))
        json_object_set_new(s, "description", json_string(desc));
    if (k->input == CORE_FIELD_INPUT_AUTO || (f->is_system && strcmp(f->name, "tokenKey") == 0))
        json_object_set_new(s, "readOnly", json_true());
    if (is_secret)
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
    json_t *in_props = json_object(), *in_required = json_array();
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        enum core_field_input input = core_field_kind(f)->input;
        bool secret = core_field_is_secret(c, f);
        if (!secret && (!f->is_hidden || superuser))
            json_object_set_new(props, f->name, field_schema(f, false));
        if (input != CORE_FIELD_INPUT_AUTO && strcmp(f->name, "tokenKey") != 0) {
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
    if (c->search.field_count)
        json_object_set_new(props, "@snippet", snippet_schema());
    for (size_t i = 0; i < c->field_count; i++) {
        if (c->fields[i].type != CORE_FIELD_VECTOR)
            continue;
        json_object_set_new(props, "@distance", distance_schema());
        json_object_set_new(props, "@score", score_schema());
        break;
    }
    snprintf(name, sizeof(name), "%.200sRecord", pn);
    json_object_set_new(
        schemas, name,
        json_pack(
            "{s:s,s:s,s:o}", "type", "object", "description",
            c->type == CORE_COLLECTION_VIEW
                ? "A record of a view collection (read-only): a row of its query. " RECORD_KEYS
                : RECORD_KEYS,
            "properties", props));
    if (c->type == CORE_COLLECTION_VIEW) {
        /* Its records are its query's rows: nothing to create or update. */
        json_decref(in_props);
        json_decref(in_required);
        return;
    }
    snprintf(name, sizeof(name), "%.200sCreate", pn);
    json_object_set_new(schemas, name,
                        json_pack("{s:s,s:O,s:o}", "type", "object", "properties", in_props,
                                  "required", in_required));
    snprintf(name, sizeof(name), "%.200sUpdate", pn);
    json_object_set_new(schemas, name,
                        json_pack("{s:s,s:o}", "type", "object", "properties", in_props));
}

/* A generic record: what every record of every collection has. */
static void add_any_schemas(json_t *schemas)
{
    json_object_set_new(
        schemas, "Record",
        json_pack("{s:s,s:s,s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s,s:s},s:o}}", "type", "object",
                  "description", "a record of any collection: its fields and these. " RECORD_KEYS,
                  "properties", "id", "type", "string", "collectionId", "type", "string",
                  "collectionName", "type", "string", "expand", "type", "object", "description",
                  "the records asked for with ?expand=, by relation field name", "@snippet",
                  snippet_schema()));
    json_t *props = json_object_get(json_object_get(schemas, "Record"), "properties");
    json_object_set_new(props, "@distance", distance_schema());
    json_object_set_new(props, "@score", score_schema());
    json_object_set_new(
        schemas, "RecordInput",
        json_pack("{s:s,s:s}", "type", "object", "description",
                  "field values by name; see the collection's <Name>Create schema"));
}

/* ---- paths ---------------------------------------------------------------- */

static const char *rule_text(const struct target *t, enum core_rule_kind kind, const char *name,
                             char *buf, size_t cap)
{
    const char *rule =
        t->c ? (kind == CORE_RULE_COUNT ? t->c->auth_rule : t->c->rules[kind]) : NULL;
    if (!t->c)
        snprintf(buf, cap, "API rule: the collection's %s (superusers pass every rule).", name);
    else if (!rule)
        snprintf(buf, cap, "API rule: null (superusers only).");
    else if (!rule[0])
        snprintf(buf, cap, "API rule: \"\" (anyone, guests included).");
    else
        snprintf(buf, cap, "API rule: `%s` (superusers pass every rule).", rule);
    return buf;
}

static json_t *str_schema(void)
{
    return json_pack("{s:s}", "type", "string");
}

/* ?search and ?searchSnippet, for a collection with a search (any one:
 * t->c NULL). */
static void add_search_params(json_t *params, const struct target *t)
{
    char desc[1024];
    int n = snprintf(desc, sizeof(desc),
                     "full-text search (beyond PocketBase): every word must match, the last one "
                     "also as a prefix unless a blank ends the text; a word of five letters or "
                     "more that matches nothing also matches words one edit away. Ranked by "
                     "relevance unless sort is given. %s",
                     t->c ? "Searches:"
                          : "Only for collections with a `search` option (400 "
                            "naming search otherwise).");
    for (size_t i = 0; t->c && i < t->c->search.field_count && n > 0 && (size_t)n < sizeof(desc);
         i++)
        n += snprintf(desc + n, sizeof(desc) - (size_t)n, "%s %s (weight %g)", i ? "," : "",
                      t->c->search.fields[i].name, t->c->search.fields[i].weight);
    json_array_append_new(
        params,
        api_openapi_param("search", "query", desc,
                          json_pack("{s:s,s:i}", "type", "string", "maxLength", 1000), false));
    json_array_append_new(params, api_openapi_param("searchSnippet", "query",
                                                    "with search: each record's \"@snippet\"",
                                                    json_pack("{s:s}", "type", "boolean"), false));
}

static bool has_vector(const struct core_collection *c)
{
    for (size_t i = 0; i < c->field_count; i++) {
        if (c->fields[i].type == CORE_FIELD_VECTOR)
            return true;
    }
    return false;
}

/* ?nearest, ?to, ?k and ?metric (core/record/nearest.h), for a collection
 * with a vector field. */
static void add_nearest_params(json_t *params)
{
    json_array_append_new(
        params, api_openapi_param("nearest", "query",
                                  "a vector field (beyond PocketBase): the k records nearest "
                                  "`to`, nearest first, each with \"@distance\"; with search: "
                                  "fused by reciprocal rank, each with \"@score\". Filter, "
                                  "the list rule, expand and fields apply; sort is refused",
                                  str_schema(), false));
    json_array_append_new(
        params, api_openapi_param("to", "query",
                                  "with nearest: a JSON array of the field's dimensions in "
                                  "numbers, or @record:ID (that record's vector, as you may "
                                  "view it)",
                                  str_schema(), false));
    json_array_append_new(params,
                          api_openapi_param("k", "query", "with nearest: how many (default 10)",
                                            json_pack("{s:s,s:i,s:i}", "type", "integer", "minimum",
                                                      1, "maximum", 1000),
                                            false));
    json_array_append_new(params, api_openapi_param("metric", "query",
                                                    "with nearest: the distance (default cosine)",
                                                    json_pack("{s:s,s:[s,s,s]}", "type", "string",
                                                              "enum", "cosine", "dot", "l2"),
                                                    false));
}

static json_t *list_params(const struct target *t)
{
    json_t *params = json_pack(
        "[o,o,o,o,o,o,o]",
        api_openapi_param("page", "query", "page number, from 1",
                          json_pack("{s:s,s:i}", "type", "integer", "minimum", 1), false),
        api_openapi_param(
            "perPage", "query", "records per page (1-1000, default 30)",
            json_pack("{s:s,s:i,s:i}", "type", "integer", "minimum", 1, "maximum", 1000), false),
        api_openapi_param("sort", "query",
                          "e.g. -created,title; @random; geoDistance(loc.lon,loc.lat,12.5,41.9) "
                          "for nearest first (beyond PocketBase)",
                          str_schema(), false),
        api_openapi_param("filter", "query",
                          "the filter language, e.g. title ~ 'abc' && created > @now", str_schema(),
                          false),
        api_openapi_param("expand", "query", "relations to expand, e.g. author,comments_via_post",
                          str_schema(), false),
        api_openapi_param("fields", "query", "fields to return, e.g. id,title,expand.author.name",
                          str_schema(), false),
        api_openapi_param("skipTotal", "query", "skip the count (totalItems and totalPages are -1)",
                          json_pack("{s:s}", "type", "boolean"), false));
    if (!t->c || t->c->search.field_count)
        add_search_params(params, t);
    if (!t->c || has_vector(t->c))
        add_nearest_params(params);
    return params;
}

static json_t *view_params(void)
{
    return json_pack(
        "[o,o]", api_openapi_param("expand", "query", "relations to expand", str_schema(), false),
        api_openapi_param("fields", "query", "fields to return", str_schema(), false));
}

/* A JSON or multipart body of schema NAME. */
static json_t *input_body(const char *name)
{
    return json_pack("{s:b,s:{s:{s:o},s:{s:o}}}", "required", 1, "content", "application/json",
                     "schema", api_openapi_ref(name), "multipart/form-data", "schema",
                     api_openapi_ref(name));
}

static void add_auth_paths(json_t *paths, const struct target *t)
{
    char path[400], id[300];
    json_t *auth_ok =
        json_pack("{s:{s:s},s:o}", "token", "type", "string", "record", api_openapi_ref(t->record));
    json_t *auth_schema = json_pack("{s:s,s:o,s:[s,s]}", "type", "object", "properties", auth_ok,
                                    "required", "token", "record");
    char desc[600];
    char rule[512];
    snprintf(desc, sizeof(desc), "Checked after the credentials: the authRule. %s",
             rule_text(t, CORE_RULE_COUNT, "authRule", rule, sizeof(rule)));
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
        {"auth-with-oauth2", "authWithOAuth2",
         "Sign in with an OAuth2 provider's code (the answer adds meta)",
         json_pack("{s:s,s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s}},s:[s,s,s]}", "type", "object",
                   "properties", "provider", "type", "string", "code", "type", "string",
                   "codeVerifier", "type", "string", "redirectURL", "type", "string", "createData",
                   "type", "object", "required", "provider", "code", "redirectURL"),
         true, true},
        {"auth-with-id-token", "authWithIdToken",
         "Sign in with an id_token a phone app got from Google's, Apple's or an OpenID "
         "provider's SDK (beyond PocketBase; the answer adds meta)",
         json_pack("{s:s,s:{s:{s:s},s:{s:s,s:s},s:{s:s,s:s},s:{s:s}},s:[s,s]}", "type", "object",
                   "properties", "provider", "type", "string", "idToken", "type", "string",
                   "description",
                   "a compact JWS (RS256, ES256 or EdDSA) checked against the provider's keys, "
                   "issuer and audience (clientId, extra.audiences)",
                   "nonce", "type", "string", "description",
                   "the nonce given to the provider's SDK: the token's must equal it or its "
                   "SHA-256 in hex; both or neither",
                   "createData", "type", "object", "required", "provider", "idToken"),
         true, true},
        {"auth-refresh", "authRefresh", "A new token for the current one", NULL, true, false},
        {"request-otp", "requestOtp", "Mail (or text) a one-time password",
         json_pack("{s:s,s:{s:{s:s,s:s},s:{s:s,s:s}},s:[{s:[s]},{s:[s]}]}", "type", "object",
                   "properties", "email", "type", "string", "format", "email", "phone", "type",
                   "string", "description",
                   "beyond PocketBase: an E.164 number (+ then 7 to 15 digits) instead of email; "
                   "the account is found by its phone field and the code goes by SMS; a number "
                   "no account holds gets a sign-up code when the createRule is not null (the "
                   "answer is the same either way)",
                   "anyOf", "required", "email", "required", "phone"),
         false, true},
        {"auth-with-otp", "authWithOtp",
         "Sign in with a mailed (or texted) one-time password; a phone sign-up code makes the "
         "account first (the answer then adds meta.isNew)",
         json_pack("{s:s,s:{s:{s:s},s:{s:s},s:{s:s,s:s}},s:[s,s]}", "type", "object", "properties",
                   "otpId", "type", "string", "password", "type", "string", "createData", "type",
                   "object", "description",
                   "beyond PocketBase: the new account's fields when the code is a phone sign-up "
                   "code (created as the records API creates, with the createRule and "
                   "@request.context otp); ignored for an existing account",
                   "required", "otpId", "password"),
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
        snprintf(path, sizeof(path), "/api/collections/%s/%s", t->path, routes[i].route);
        snprintf(id, sizeof(id), "%s_%s", t->op_id, routes[i].suffix);
        json_t *responses;
        if (routes[i].token_answer)
            responses = api_openapi_ok("the token and the record", json_incref(auth_schema));
        else if (strcmp(routes[i].route, "request-otp") != 0)
            responses = api_openapi_no_content("done (also for unknown addresses)");
        else
            responses = api_openapi_ok("the id of the one-time password",
                                       json_pack("{s:s,s:{s:{s:s}}}", "type", "object",
                                                 "properties", "otpId", "type", "string"));
        json_t *o = api_openapi_op(
            id, t->tag, routes[i].summary, routes[i].token_answer ? desc : NULL, responses,
            routes[i].is_limited ? "400 401 403 404 429" : "400 401 403 404");
        if (routes[i].token_answer && strcmp(routes[i].route, "auth-refresh") != 0) {
            /* spec §6.9: a first factor answers 401 {mfaId}; the second
             * method sends it back (query, or body key). */
            json_object_set_new(json_object_get(routes[i].body, "properties"), "mfaId",
                                str_schema());
            json_object_set_new(
                o, "parameters",
                json_pack("[o]", api_openapi_param("mfaId", "query",
                                                   "the mfaId a first factor answered (MFA)",
                                                   str_schema(), false)));
            json_object_set_new(
                json_object_get(o, "responses"), "401",
                api_openapi_ok_json(
                    "MFA: a second, different auth method is needed; send it with this mfaId",
                    json_pack("{s:[{s:s,s:{s:{s:s}},s:[s]},o]}", "oneOf", "type", "object",
                              "properties", "mfaId", "type", "string", "required", "mfaId",
                              api_openapi_ref("Error"))));
        }
        if (routes[i].body)
            json_object_set_new(o, "requestBody", api_openapi_json_body(routes[i].body));
        if (strcmp(routes[i].route, "auth-refresh") == 0)
            json_object_set_new(o, "security", json_pack("[{s:[]}]", "token"));
        api_openapi_set_op(paths, path, "post", o);
    }
    snprintf(path, sizeof(path), "/api/collections/%s/auth-methods", t->path);
    snprintf(id, sizeof(id), "%s_authMethods", t->op_id);
    api_openapi_set_op(
        paths, path, "get",
        api_openapi_op(id, t->tag, "The sign-in methods this collection offers", NULL,
                       api_openapi_ok("the methods", api_openapi_ref("AuthMethods")), "404"));
    snprintf(path, sizeof(path), "/api/collections/%s/impersonate/{id}", t->path);
    snprintf(id, sizeof(id), "%s_impersonate", t->op_id);
    json_t *imp =
        api_openapi_op(id, t->tag, "A non-refreshable token for a record (superusers)", NULL,
                       api_openapi_ok("the token and the record", auth_schema), "400 401 403 404");
    json_object_set_new(imp, "requestBody",
                        api_openapi_json_body(json_pack(
                            "{s:s,s:{s:{s:s,s:s}}}", "type", "object", "properties", "duration",
                            "type", "integer", "description", "seconds; 0 = the default")));
    json_object_set_new(imp, "security", json_pack("[{s:[]}]", "token"));
    api_openapi_set_op(paths, path, "post", imp);
}

/* A view collection's record by id, and its writes, each refused with a
 * 400 (PocketBase's "Unsupported collection type."). */
static void add_view_paths(json_t *paths, const struct target *t)
{
    char path[400], id[300], rule[512];
    snprintf(path, sizeof(path), "/api/collections/%s/records", t->path);
    snprintf(id, sizeof(id), "%s_create", t->op_id);
    static const char refused[] = "Refused: a view collection is read-only (400 Unsupported "
                                  "collection type.)";
    api_openapi_set_op(paths, path, "post",
                       api_openapi_op(id, t->tag, refused, NULL, json_object(), "400 404"));
    snprintf(path, sizeof(path), "/api/collections/%s/records/{id}", t->path);
    snprintf(id, sizeof(id), "%s_view", t->op_id);
    json_t *o = api_openapi_op(id, t->tag, "View a record",
                               rule_text(t, CORE_RULE_VIEW, "viewRule", rule, sizeof(rule)),
                               api_openapi_ok("the record", api_openapi_ref(t->record)), "403 404");
    json_object_set_new(o, "parameters", view_params());
    api_openapi_set_op(paths, path, "get", o);
    snprintf(id, sizeof(id), "%s_update", t->op_id);
    api_openapi_set_op(paths, path, "patch",
                       api_openapi_op(id, t->tag, refused, NULL, json_object(), "400 404"));
    snprintf(id, sizeof(id), "%s_delete", t->op_id);
    api_openapi_set_op(paths, path, "delete",
                       api_openapi_op(id, t->tag, refused, NULL, json_object(), "400 404"));
}

static void add_paths(json_t *paths, const struct target *t)
{
    char path[400], id[300], rule[512];
    json_t *list_schema =
        json_pack("{s:s,s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s,s:o}},s:[s,s,s,s,s]}", "type",
                  "object", "properties", "page", "type", "integer", "perPage", "type", "integer",
                  "totalItems", "type", "integer", "totalPages", "type", "integer", "items", "type",
                  "array", "items", api_openapi_ref(t->record), "required", "page", "perPage",
                  "totalItems", "totalPages", "items");
    snprintf(path, sizeof(path), "/api/collections/%s/records", t->path);
    snprintf(id, sizeof(id), "%s_list", t->op_id);
    json_t *o = api_openapi_op(id, t->tag, "List records",
                               rule_text(t, CORE_RULE_LIST, "listRule", rule, sizeof(rule)),
                               api_openapi_ok("a page of records", list_schema), "400 403 404");
    json_object_set_new(o, "parameters", list_params(t));
    api_openapi_set_op(paths, path, "get", o);
    if (t->is_view) {
        add_view_paths(paths, t);
        return;
    }
    snprintf(id, sizeof(id), "%s_create", t->op_id);
    o = api_openapi_op(id, t->tag, "Create a record",
                       rule_text(t, CORE_RULE_CREATE, "createRule", rule, sizeof(rule)),
                       api_openapi_ok("the new record", api_openapi_ref(t->record)),
                       "400 403 404 413");
    json_object_set_new(o, "requestBody", input_body(t->create));
    json_object_set_new(o, "parameters", view_params());
    api_openapi_set_op(paths, path, "post", o);

    snprintf(path, sizeof(path), "/api/collections/%s/records/{id}", t->path);
    snprintf(id, sizeof(id), "%s_view", t->op_id);
    o = api_openapi_op(id, t->tag, "View a record",
                       rule_text(t, CORE_RULE_VIEW, "viewRule", rule, sizeof(rule)),
                       api_openapi_ok("the record", api_openapi_ref(t->record)), "403 404");
    json_object_set_new(o, "parameters", view_params());
    api_openapi_set_op(paths, path, "get", o);
    snprintf(id, sizeof(id), "%s_update", t->op_id);
    o = api_openapi_op(id, t->tag, "Update a record (field+, +field and field- modify lists)",
                       rule_text(t, CORE_RULE_UPDATE, "updateRule", rule, sizeof(rule)),
                       api_openapi_ok("the record as saved", api_openapi_ref(t->record)),
                       "400 403 404 413");
    json_object_set_new(o, "requestBody", input_body(t->update));
    json_object_set_new(o, "parameters", view_params());
    api_openapi_set_op(paths, path, "patch", o);
    snprintf(id, sizeof(id), "%s_delete", t->op_id);
    api_openapi_set_op(
        paths, path, "delete",
        api_openapi_op(id, t->tag, "Delete a record (and its cascades)",
                       rule_text(t, CORE_RULE_DELETE, "deleteRule", rule, sizeof(rule)),
                       api_openapi_no_content("deleted"), "400 403 404"));
    if (t->is_auth)
        add_auth_paths(paths, t);
}

void api_openapi_add_collection(json_t *paths, json_t *schemas, const struct core_collection *c,
                                bool superuser)
{
    struct target t = {.path = c->name,
                       .op_id = c->name,
                       .tag = c->name,
                       .c = c,
                       .is_auth = c->type == CORE_COLLECTION_AUTH,
                       .is_view = c->type == CORE_COLLECTION_VIEW};
    char pn[256];
    pascal(c->name, pn, sizeof(pn));
    add_record_schemas(schemas, c, pn, superuser);
    snprintf(t.record, sizeof(t.record), "%sRecord", pn);
    snprintf(t.create, sizeof(t.create), "%sCreate", pn);
    snprintf(t.update, sizeof(t.update), "%sUpdate", pn);
    add_paths(paths, &t);
}

void api_openapi_add_any_collection(json_t *paths, json_t *schemas)
{
    /* A collection name is a word ([A-Za-z0-9_]): "any-collection_list" is
     * no collection's operationId. */
    struct target t = {.path = "{collection}",
                       .op_id = "any-collection",
                       .tag = API_OPENAPI_ANY_TAG,
                       .record = "Record",
                       .create = "RecordInput",
                       .update = "RecordInput",
                       .is_auth = true};
    add_any_schemas(schemas);
    add_paths(paths, &t);
}
