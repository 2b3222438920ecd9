/* bool.c -- the bool field: true or false; required means true. */
#include "core/schema/fields/fields_int.h"

static json_t *coerce(const struct core_field *f, json_t *v)
{
    (void)f;
    return core_field_value_bool(v);
}

static json_t *openapi(const struct core_field *f, bool is_input)
{
    (void)f;
    (void)is_input;
    return json_pack("{s:s}", "type", "boolean");
}

/* The options of this kind (PocketBase's) besides the common ones. */
static const struct core_field_option options[] = {
    {NULL, 0},
};

const struct core_field_kind core_field_kind_bool = {
    .name = "bool",
    .options = options,
    .column = STORE_COLUMN_BOOL,
    .input = CORE_FIELD_INPUT_VALUE,
    .filter = CORE_FIELD_FILTER_COLUMN,
    .coerce = coerce,
    .openapi = openapi,
    .model = {.ts = "boolean", .dart = "bool", .dart_get = "r.getBoolValue(", .dart_get_end = ")"},
};
