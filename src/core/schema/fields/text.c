/* text.c -- the text field: plain text with a length in characters, a
 * pattern and an autogeneratePattern (the id field is one). */
#include "core/schema/fields/fields_int.h"

#include <stdio.h>

#include "base/randpat.h"
#include "core/schema/field_pattern.h"

#define TEXT_DEFAULT_MAX 5000

/* Only text fields have primaryKey (PocketBase's TextField.PrimaryKey); the
 * collection keeps it for the field named "id" alone. */
static void parse_options(struct core_field *f, json_t *in)
{
    json_t *v = json_object_get(in, "primaryKey");
    f->is_primary_key = json_is_boolean(v) && json_is_true(v);
}

static void write_options(struct jsonw *w, const struct core_field *f)
{
    core_fields_write_length(w, f);
    jsonw_key_cstr(w, "autogeneratePattern");
    jsonw_string_cstr(w, f->autogenerate_pattern);
    jsonw_key_cstr(w, "primaryKey");
    jsonw_bool(w, f->is_primary_key);
}

static void check_options(struct core_field *f, const struct core_field_check *ctx,
                          struct core_problem *p)
{
    if (f->pattern && f->pattern[0] && !core_field_pattern_is_valid(f->pattern)) {
        /* Checked, never stored and ignored (base/rx.h says what is read). */
        core_fields_option_error(p, ctx, "pattern", "validation_invalid_regex",
                                 "Invalid or unsupported regular expression.", NULL);
    }
    const char *why;
    if (f->autogenerate_pattern && f->autogenerate_pattern[0] &&
        randpat_check(f->autogenerate_pattern, &why) != RC_OK) {
        /* Generated or refused, never stored and ignored. */
        char msg[160];
        snprintf(msg, sizeof(msg), "Invalid or unsupported pattern: %s.", why);
        core_fields_option_error(p, ctx, "autogeneratePattern", "validation_invalid_regex", msg,
                                 NULL);
    }
}

static void validate(const struct core_field *f, json_t *v, const struct core_field_value_ctx *ctx,
                     struct core_problem *p)
{
    const char *s = json_string_value(v);
    size_t bytes = json_string_length(v);
    if (ctx->is_identity && !core_fields_is_plain_identity(s, bytes)) {
        core_fields_error(p, f, "validation_match_invalid", "Must be in a valid format.", NULL);
        return;
    }
    core_fields_check_length(f, s, bytes, 0, TEXT_DEFAULT_MAX, p);
}

/* PocketBase: an autogeneratePattern fills the field on create when no value
 * was given (the id is filled by record_input.c, before the rules). */
static json_t *on_save(const struct core_field *f, json_t *v, bool is_create, const char *now)
{
    (void)now;
    if (is_create && !f->is_primary_key && f->autogenerate_pattern && f->autogenerate_pattern[0] &&
        core_field_value_is_empty(f, v))
        return core_field_value_generate(f->autogenerate_pattern);
    return NULL;
}

static json_t *openapi(const struct core_field *f, bool is_input)
{
    (void)is_input;
    return core_fields_string_schema(f, true);
}

/* The options of this kind (PocketBase's) besides the common ones. */
static const struct core_field_option options[] = {
    {"min", CORE_FIELD_OPTION_INT},         {"max", CORE_FIELD_OPTION_INT},
    {"pattern", CORE_FIELD_OPTION_STRING},  {"autogeneratePattern", CORE_FIELD_OPTION_STRING},
    {"primaryKey", CORE_FIELD_OPTION_BOOL}, {NULL, 0},
};

const struct core_field_kind core_field_kind_text = {
    .name = "text",
    .options = options,
    .column = STORE_COLUMN_TEXT,
    .input = CORE_FIELD_INPUT_VALUE,
    .filter = CORE_FIELD_FILTER_COLUMN,
    .parse = parse_options,
    .write = write_options,
    .check = check_options,
    .coerce = core_fields_coerce_text,
    .validate = validate,
    .on_save = on_save,
    .openapi = openapi,
    .model = CORE_FIELD_MODEL_STRING,
};
