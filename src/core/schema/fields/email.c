/* email.c -- the email field: an address, with onlyDomains or exceptDomains. */
#include "core/schema/fields/fields_int.h"

#include <string.h>

#include "base/email.h"

/* An identity email needs no look-alike check: its syntax excludes them. */
static void validate(const struct core_field *f, json_t *v, const struct core_field_value_ctx *ctx,
                     struct core_problem *p)
{
    (void)ctx;
    const char *s = json_string_value(v);
    if (!email_is_valid((struct str){s, json_string_length(v)}))
        core_fields_error(p, f, "validation_is_email", "Must be a valid email address.", NULL);
    else if (!core_fields_domain_allowed(f, str_from_cstr(strrchr(s, '@') + 1)))
        core_fields_error(p, f, "validation_email_domain_not_allowed",
                          "Email domain is not allowed.", NULL);
}

static json_t *openapi(const struct core_field *f, bool is_input)
{
    (void)f;
    (void)is_input;
    return json_pack("{s:s,s:s}", "type", "string", "format", "email");
}

/* The options of this kind (PocketBase's) besides the common ones. */
static const struct core_field_option options[] = {
    {"exceptDomains", CORE_FIELD_OPTION_STRINGS},
    {"onlyDomains", CORE_FIELD_OPTION_STRINGS},
    {NULL, 0},
};

const struct core_field_kind core_field_kind_email = {
    .name = "email",
    .options = options,
    .column = STORE_COLUMN_TEXT,
    .input = CORE_FIELD_INPUT_VALUE,
    .filter = CORE_FIELD_FILTER_COLUMN,
    .write = core_fields_write_domains,
    .coerce = core_fields_coerce_text,
    .validate = validate,
    .openapi = openapi,
    .model = CORE_FIELD_MODEL_STRING,
};
