/* password.c -- the password field (any collection, any name; spec §5.3): a
 * plain value is checked here, hashed before the write (record_input.h) and
 * never shown; the stored hash is the value. */
#include "core/schema/fields/fields_int.h"

#include <math.h>

#include "core/schema/field_pattern.h"

/* PocketBase's ceiling for min and max and the default max (bcrypt's 72-byte
 * limit there, core/field_password.go), kept for the contract although
 * argon2id has none. */
#define PASSWORD_MAX_RUNES 71
/* The auth login password's least length when its min is 0 (spec §5.3's
 * default; tarmac never allowed shorter ones). */
#define LOGIN_PASSWORD_MIN 8

static void write_options(struct jsonw *w, const struct core_field *f)
{
    core_fields_write_length(w, f);
    jsonw_key_cstr(w, "cost");
    jsonw_int(w, f->cost);
}

/* Adds "fields.<i>.<key>" errors when v is outside lo..hi (0 always allowed:
 * PocketBase's validation.Min/Max skip empty values). */
static void check_range(struct core_problem *p, const struct core_field_check *ctx, const char *key,
                        double v, double lo, double hi)
{
    if (v != floor(v))
        core_fields_option_error(p, ctx, key, "validation_invalid_value", "Must be a whole number.",
                                 NULL);
    else if (v != 0 && v < lo)
        core_fields_option_error(p, ctx, key, "validation_min_greater_equal_than_required",
                                 "Must be no less than the minimum.",
                                 json_pack("{s:i}", "threshold", (int)lo));
    else if (v > hi)
        core_fields_option_error(p, ctx, key, "validation_max_less_equal_than_required",
                                 "Must be no greater than the maximum.",
                                 json_pack("{s:i}", "threshold", (int)hi));
}

/* PocketBase's PasswordField.ValidateSettings (core/field_password.go): min
 * 1..71, max min..71 (0 = unset), a pattern that compiles. cost is bcrypt's
 * there; passwords here are argon2id with the server's parameters, so only
 * 0 (the default) is accepted rather than a cost that would be ignored.
 * Loading (no schema) trusts what is stored. */
static void check_options(struct core_field *f, const struct core_field_check *ctx,
                          struct core_problem *p)
{
    if (!ctx->schema)
        return;
    check_range(p, ctx, "min", f->has_min ? f->min : 0, 1, PASSWORD_MAX_RUNES);
    double min = f->has_min && f->min > 0 ? f->min : 1;
    check_range(p, ctx, "max", f->has_max ? f->max : 0, min, PASSWORD_MAX_RUNES);
    if (f->cost < 0)
        core_fields_option_error(p, ctx, "cost", "validation_invalid_value",
                                 "Must be a whole number.", NULL);
    else if (f->cost != 0)
        core_fields_option_error(p, ctx, "cost", "validation_invalid_value",
                                 "Only 0 is supported: passwords are hashed with argon2id, whose "
                                 "cost is set for the whole server.",
                                 NULL);
    if (f->pattern[0] && !core_field_pattern_is_valid(f->pattern))
        core_fields_option_error(p, ctx, "pattern", "validation_invalid_regex",
                                 "Invalid regular expression.", NULL);
}

/* PocketBase's PasswordField.ValidateValue: the plain value's length in
 * runes against min and max (0 = 71), then pattern. */
static void validate(const struct core_field *f, json_t *v, const struct core_field_value_ctx *ctx,
                     struct core_problem *p)
{
    core_fields_check_length(f, json_string_value(v), json_string_length(v),
                             ctx->is_login_password ? LOGIN_PASSWORD_MIN : 0, PASSWORD_MAX_RUNES,
                             p);
}

static json_t *openapi(const struct core_field *f, bool is_input)
{
    (void)is_input;
    return core_fields_string_schema(f, true);
}

/* The options of this kind (PocketBase's) besides the common ones. */
static const struct core_field_option options[] = {
    {"pattern", CORE_FIELD_OPTION_STRING},
    {"min", CORE_FIELD_OPTION_INT},
    {"max", CORE_FIELD_OPTION_INT},
    {"cost", CORE_FIELD_OPTION_INT},
    {NULL, 0},
};

const struct core_field_kind core_field_kind_password = {
    .name = "password",
    .options = options,
    .column = STORE_COLUMN_TEXT,
    .input = CORE_FIELD_INPUT_SECRET,
    .filter = CORE_FIELD_FILTER_COLUMN,
    .write = write_options,
    .check = check_options,
    .coerce = core_fields_coerce_text,
    .validate = validate,
    .openapi = openapi,
    .model = CORE_FIELD_MODEL_STRING,
};
