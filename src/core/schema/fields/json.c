/* json.c -- the json field: any JSON value up to maxSize bytes (NULL when
 * empty); filters read into it. */
#include "core/schema/fields/fields_int.h"

#include <string.h>

#include "base/alloc.h"

#define JSON_DEFAULT_MAX (1 << 20)

static void write_options(struct jsonw *w, const struct core_field *f)
{
    jsonw_key_cstr(w, "maxSize");
    jsonw_int(w, f->max_size);
}

/* A string that is itself JSON of the allowed shapes is stored parsed. */
static json_t *coerce(const struct core_field *f, json_t *v)
{
    (void)f;
    if (!json_is_string(v))
        return json_incref(v);
    const char *s = json_string_value(v);
    char c = s[0];
    if (c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') ||
        !strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "null")) {
        json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);
        if (j)
            return j;
    }
    return json_incref(v);
}

static void validate(const struct core_field *f, json_t *v, const struct core_field_value_ctx *ctx,
                     struct core_problem *p)
{
    (void)ctx;
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t n = text ? strlen(text) : 0;
    xfree(text);
    int64_t max = f->max_size ? f->max_size : JSON_DEFAULT_MAX;
    if ((int64_t)n > max)
        core_fields_error(p, f, "validation_json_size_limit", "The JSON value is too large.",
                          json_pack("{s:I}", "maxSize", (json_int_t)max));
}

static json_t *openapi(const struct core_field *f, bool is_input)
{
    (void)f;
    (void)is_input;
    return json_pack("{s:s}", "description", "any JSON value");
}

/* The options of this kind (PocketBase's) besides the common ones. */
static const struct core_field_option options[] = {
    {"maxSize", CORE_FIELD_OPTION_INT},
    {NULL, 0},
};

const struct core_field_kind core_field_kind_json = {
    .name = "json",
    .options = options,
    .column = STORE_COLUMN_JSON,
    .input = CORE_FIELD_INPUT_VALUE,
    .filter = CORE_FIELD_FILTER_JSON,
    .write = write_options,
    .coerce = coerce,
    .validate = validate,
    .openapi = openapi,
    .model = {.ts = "unknown", .dart = "dynamic", .dart_get = "r.data[", .dart_get_end = "]"},
};
