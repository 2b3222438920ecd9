/* number.c -- the number field: an integer or a real, with min, max and
 * onlyInt; "field+" and "field-" add and subtract. */
#include "core/schema/fields/fields_int.h"

#include <math.h>

static void write_options(struct jsonw *w, const struct core_field *f)
{
    jsonw_key_cstr(w, "min");
    if (f->has_min)
        jsonw_double(w, f->min);
    else
        jsonw_null(w);
    jsonw_key_cstr(w, "max");
    if (f->has_max)
        jsonw_double(w, f->max);
    else
        jsonw_null(w);
    jsonw_key_cstr(w, "onlyInt");
    jsonw_bool(w, f->only_int);
}

static json_t *coerce(const struct core_field *f, json_t *v)
{
    (void)f;
    return core_field_value_number(v);
}

static json_t *modify(const struct core_field *f, json_t *old, json_t *given, char mod,
                      bool prepend)
{
    (void)f;
    (void)prepend;
    json_t *n = core_field_value_number(given);
    double a = json_number_value(old), b = json_number_value(n);
    json_decref(n);
    return core_field_value_of_double(mod == '+' ? a + b : a - b);
}

static void validate(const struct core_field *f, json_t *v, const struct core_field_value_ctx *ctx,
                     struct core_problem *p)
{
    (void)ctx;
    double d = json_number_value(v);
    if (f->only_int && d != floor(d))
        core_fields_error(p, f, "validation_only_int_constraint",
                          "Decimal numbers are not allowed.", NULL);
    else if (f->has_min && d < f->min)
        core_fields_error(p, f, "validation_min_number_constraint",
                          "Must be larger than the minimum.", core_fields_num_param("min", f->min));
    else if (f->has_max && d > f->max)
        core_fields_error(p, f, "validation_max_number_constraint",
                          "Must be less than the maximum.", core_fields_num_param("max", f->max));
}

static json_t *openapi(const struct core_field *f, bool is_input)
{
    (void)is_input;
    json_t *s = json_pack("{s:s}", "type", f->only_int ? "integer" : "number");
    if (f->has_min)
        json_object_set_new(s, "minimum", json_real(f->min));
    if (f->has_max)
        json_object_set_new(s, "maximum", json_real(f->max));
    return s;
}

/* The options of this kind (PocketBase's) besides the common ones. */
static const struct core_field_option options[] = {
    {"min", CORE_FIELD_OPTION_NUMBER},
    {"max", CORE_FIELD_OPTION_NUMBER},
    {"onlyInt", CORE_FIELD_OPTION_BOOL},
    {NULL, 0},
};

const struct core_field_kind core_field_kind_number = {
    .name = "number",
    .options = options,
    .column = STORE_COLUMN_NUMBER,
    .input = CORE_FIELD_INPUT_VALUE,
    .filter = CORE_FIELD_FILTER_COLUMN,
    .write = write_options,
    .coerce = coerce,
    .modify = modify,
    .validate = validate,
    .openapi = openapi,
    .model = {.ts = "number", .dart = "num", .dart_get = "r.getDoubleValue(", .dart_get_end = ")"},
};
