/* vector.c -- the vector field: `dimensions` float32 numbers (1..4096),
 * a JSON array in and out, null when empty; stored as bytes
 * (STORE_COLUMN_VECTOR), searched with `nearest` (record/nearest.h).
 * Filters do not read it. */
#include "core/schema/fields/fields_int.h"

#include "base/vecmath.h"

static void parse_options(struct core_field *f, json_t *in)
{
    json_t *d = json_object_get(in, "dimensions");
    f->dimensions = json_is_integer(d) ? (int)json_integer_value(d) : 0;
    if (json_is_integer(d) && (json_integer_value(d) < 0 || json_integer_value(d) > INT32_MAX))
        f->dimensions = -1;
}

static void write_options(struct jsonw *w, const struct core_field *f)
{
    jsonw_key_cstr(w, "dimensions");
    jsonw_int(w, f->dimensions);
}

static void check_options(struct core_field *f, const struct core_field_check *ctx,
                          struct core_problem *p)
{
    if (!ctx->schema)
        return; /* a stored definition: trusted (nearest refuses a field without dimensions) */
    if (f->dimensions < 1 || f->dimensions > VECMATH_MAX_DIMENSIONS)
        core_fields_option_error(p, ctx, "dimensions", "validation_invalid_dimensions",
                                 "Must be a whole number from 1 to 4096.",
                                 json_pack("{s:i,s:i}", "min", 1, "max", VECMATH_MAX_DIMENSIONS));
}

/* Each number as the float32 the column keeps (so a write's answer and
 * its event show what a read will); anything else is left for validate. */
static json_t *to_float32(json_t *a)
{
    size_t n = json_array_size(a);
    float v[VECMATH_MAX_DIMENSIONS];
    if (n > VECMATH_MAX_DIMENSIONS || !vecmath_from_json(a, n, v))
        return json_incref(a);
    return vecmath_to_json(v, n);
}

/* A string holding a JSON array (a multipart form's value) is read as one. */
static json_t *coerce(const struct core_field *f, json_t *v)
{
    (void)f;
    if (json_is_string(v)) {
        if (!json_string_length(v))
            return json_null();
        json_t *j = json_loads(json_string_value(v), 0, NULL);
        if (json_is_array(j)) {
            json_t *out = to_float32(j);
            json_decref(j);
            return out;
        }
        json_decref(j);
    }
    return json_is_array(v) ? to_float32(v) : json_incref(v);
}

static bool is_empty(const struct core_field *f, json_t *v)
{
    (void)f;
    return !v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0);
}

static void validate(const struct core_field *f, json_t *v, const struct core_field_value_ctx *ctx,
                     struct core_problem *p)
{
    (void)ctx;
    if (!vecmath_from_json(v, (size_t)f->dimensions, NULL))
        core_fields_error(p, f, "validation_invalid_vector",
                          "Must be an array of finite numbers, as many as the field's dimensions.",
                          json_pack("{s:i}", "dimensions", f->dimensions));
}

static json_t *openapi(const struct core_field *f, bool is_input)
{
    (void)is_input;
    return json_pack("{s:[s,s],s:{s:s,s:s},s:i,s:i}", "type", "array", "null", "items", "type",
                     "number", "format", "float", "minItems", f->dimensions, "maxItems",
                     f->dimensions);
}

static const struct core_field_option options[] = {
    {"dimensions", CORE_FIELD_OPTION_INT},
    {NULL, 0},
};

const struct core_field_kind core_field_kind_vector = {
    .name = "vector",
    .options = options,
    .column = STORE_COLUMN_VECTOR,
    .input = CORE_FIELD_INPUT_VALUE,
    .filter = CORE_FIELD_FILTER_COLUMN,
    .parse = parse_options,
    .write = write_options,
    .check = check_options,
    .coerce = coerce,
    .is_empty = is_empty,
    .validate = validate,
    .openapi = openapi,
    .model = {.ts = "number[] | null",
              .dart = "List<double>?",
              .dart_get = "(r.data[",
              .dart_get_end = "] as List?)?.map((e) => (e as num).toDouble()).toList()"},
};
