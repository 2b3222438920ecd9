/* select.c -- the select field: one or (maxSelect > 1) several of its
 * values. */
#include "core/schema/fields/fields_int.h"

#include <string.h>

static void write_options(struct jsonw *w, const struct core_field *f)
{
    core_fields_write_list(w, "values", f->values, f->value_count);
    jsonw_key_cstr(w, "maxSelect");
    jsonw_int(w, f->max_select);
}

static void check_options(struct core_field *f, const struct core_field_check *ctx,
                          struct core_problem *p)
{
    if (f->value_count == 0)
        core_fields_option_error(p, ctx, "values", "validation_required", "Cannot be blank.", NULL);
}

static void validate(const struct core_field *f, json_t *v, const struct core_field_value_ctx *ctx,
                     struct core_problem *p)
{
    core_fields_list_validate(f, v, ctx, p);
    json_t *list = json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *s = json_string_value(json_array_get(list, i));
        bool ok = false;
        for (size_t k = 0; k < f->value_count && !ok; k++)
            ok = strcmp(f->values[k], s) == 0;
        if (!ok) {
            core_fields_error(p, f, "validation_invalid_value", "Invalid value.",
                              json_pack("{s:s}", "value", s));
            break;
        }
    }
    json_decref(list);
}

/* One of the values, or "" (the empty value of a field that is not required). */
static json_t *openapi(const struct core_field *f, bool is_input)
{
    (void)is_input;
    json_t *values = json_array();
    json_array_append_new(values, json_string(""));
    for (size_t i = 0; i < f->value_count; i++)
        json_array_append_new(values, json_string(f->values[i]));
    return json_pack("{s:s,s:o}", "type", "string", "enum", values);
}

/* The options of this kind (PocketBase's) besides the common ones. */
static const struct core_field_option options[] = {
    {"values", CORE_FIELD_OPTION_STRINGS},
    {"maxSelect", CORE_FIELD_OPTION_INT},
    {NULL, 0},
};

const struct core_field_kind core_field_kind_select = {
    .name = "select",
    .options = options,
    .column = STORE_COLUMN_TEXT,
    .is_list = true,
    .is_enum = true,
    .input = CORE_FIELD_INPUT_VALUE,
    .filter = CORE_FIELD_FILTER_COLUMN,
    .write = write_options,
    .check = check_options,
    .coerce = core_fields_list_coerce,
    .modify = core_fields_list_modify,
    .validate = validate,
    .openapi = openapi,
};
