/* editor.c -- the editor field: rich text (HTML) up to maxSize bytes. */
#include "core/schema/fields/fields_int.h"

#define EDITOR_DEFAULT_MAX (5 << 20)

static void write_options(struct jsonw *w, const struct core_field *f)
{
    jsonw_key_cstr(w, "maxSize");
    jsonw_int(w, f->max_size);
    jsonw_key_cstr(w, "convertURLs");
    jsonw_bool(w, f->convert_urls);
}

static void validate(const struct core_field *f, json_t *v, const struct core_field_value_ctx *ctx,
                     struct core_problem *p)
{
    (void)ctx;
    int64_t max = f->max_size ? f->max_size : EDITOR_DEFAULT_MAX;
    if ((int64_t)json_string_length(v) > max)
        core_fields_error(p, f, "validation_max_text_constraint", "The value is too large.",
                          json_pack("{s:I}", "max", (json_int_t)max));
}

static json_t *openapi(const struct core_field *f, bool is_input)
{
    (void)is_input;
    return core_fields_string_schema(f, false);
}

/* The options of this kind (PocketBase's) besides the common ones. */
static const struct core_field_option options[] = {
    {"maxSize", CORE_FIELD_OPTION_INT},
    {"convertURLs", CORE_FIELD_OPTION_BOOL},
    {NULL, 0},
};

const struct core_field_kind core_field_kind_editor = {
    .name = "editor",
    .options = options,
    .column = STORE_COLUMN_TEXT,
    .input = CORE_FIELD_INPUT_VALUE,
    .filter = CORE_FIELD_FILTER_COLUMN,
    .write = write_options,
    .coerce = core_fields_coerce_text,
    .validate = validate,
    .openapi = openapi,
    .model = CORE_FIELD_MODEL_STRING,
};
