/* url.c -- the url field: an http(s) URL, with onlyDomains or exceptDomains. */
#include "core/schema/fields/fields_int.h"

#include <string.h>

static bool is_url(const char *s)
{
    const char *p;
    if (strncmp(s, "https://", 8) == 0)
        p = s + 8;
    else if (strncmp(s, "http://", 7) == 0)
        p = s + 7;
    else
        return false;
    if (!*p || *p == '/')
        return false;
    for (; *p; p++) {
        if ((unsigned char)*p <= ' ')
            return false;
    }
    return true;
}

/* The host of an http(s) URL is_url accepted: no userinfo, no port. */
static struct str url_host(const char *s)
{
    const char *p = strstr(s, "://") + 3;
    size_t n = strcspn(p, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '@')
            at = p + i;
    }
    if (at) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    if (n && p[0] == '[') {
        const char *close = memchr(p, ']', n);
        return close ? (struct str){p, (size_t)(close - p) + 1} : (struct str){p, n};
    }
    const char *colon = memchr(p, ':', n);
    return (struct str){p, colon ? (size_t)(colon - p) : n};
}

static void validate(const struct core_field *f, json_t *v, const struct core_field_value_ctx *ctx,
                     struct core_problem *p)
{
    const char *s = json_string_value(v);
    if (ctx->is_identity && !core_fields_is_plain_identity(s, json_string_length(v)))
        core_fields_error(p, f, "validation_match_invalid", "Must be in a valid format.", NULL);
    else if (!is_url(s))
        core_fields_error(p, f, "validation_is_url", "Must be a valid URL.", NULL);
    else if (!core_fields_domain_allowed(f, url_host(s)))
        core_fields_error(p, f, "validation_url_domain_not_allowed", "Url domain is not allowed.",
                          NULL);
}

static json_t *openapi(const struct core_field *f, bool is_input)
{
    (void)f;
    (void)is_input;
    return json_pack("{s:s,s:s}", "type", "string", "format", "uri");
}

/* The options of this kind (PocketBase's) besides the common ones. */
static const struct core_field_option options[] = {
    {"exceptDomains", CORE_FIELD_OPTION_STRINGS},
    {"onlyDomains", CORE_FIELD_OPTION_STRINGS},
    {NULL, 0},
};

const struct core_field_kind core_field_kind_url = {
    .name = "url",
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
