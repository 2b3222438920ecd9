/* date.c -- the date field: a UTC date "YYYY-MM-DD HH:MM:SS.mmmZ" or "",
 * with min and max dates. */
#include "core/schema/fields/fields_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"

#define DATE_PATTERN "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$"

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* Parses a date in any accepted form (spec §1.4: "YYYY-MM-DD", with a time
 * after ' ' or 'T', fractions, 'Z' or an offset) into the canonical
 * "YYYY-MM-DD HH:MM:SS.mmmZ" (out: 32 bytes); false when unparsable. */
static bool normalize(const char *s, char out[32])
{
    size_t len = strlen(s);
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    if (len < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d))
        return false;
    const char *p = s + 10;
    long offset_s = 0;
    if (*p == ' ' || *p == 'T') {
        p++;
        if (strlen(p) < 8 || !digits(p, 2, &h) || p[2] != ':' || !digits(p + 3, 2, &mi) ||
            p[5] != ':' || !digits(p + 6, 2, &sec))
            return false;
        p += 8;
        if (*p == '.') {
            p++;
            int n = 0;
            while (*p >= '0' && *p <= '9') {
                if (n < 3)
                    ms = ms * 10 + (*p - '0');
                n++;
                p++;
            }
            if (n == 0)
                return false;
            for (; n < 3; n++)
                ms *= 10;
        }
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            if (strlen(p) < 6 || !digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
                return false;
            offset_s = (oh * 3600L + om * 60L) * (*p == '+' ? 1 : -1);
            p += 6;
        }
    }
    if (*p)
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return false;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm) - offset_s;
    struct tm u;
    gmtime_r(&t, &u);
    if (offset_s == 0 && (u.tm_mday != d || u.tm_mon != mo - 1))
        return false; /* 2025-02-31 */
    if (u.tm_year + 1900 < 0 || u.tm_year + 1900 > 9999)
        return false;
    char tmp[96];
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d %02d:%02d:%02d.%03dZ", u.tm_year + 1900,
             u.tm_mon + 1, u.tm_mday, u.tm_hour, u.tm_min, u.tm_sec, ms);
    memcpy(out, tmp, 25); /* always 24 characters and the NUL */
    return true;
}

/* min and max are dates here, not numbers. */
static void parse_options(struct core_field *f, json_t *in)
{
    json_t *min = json_object_get(in, "min");
    json_t *max = json_object_get(in, "max");
    xfree(f->min_date);
    xfree(f->max_date);
    f->min_date = xstrdup(json_is_string(min) ? json_string_value(min) : "");
    f->max_date = xstrdup(json_is_string(max) ? json_string_value(max) : "");
    f->has_min = f->has_max = false;
    f->min = f->max = 0;
}

/* min and max must be dates (PocketBase reads them as such): each is kept
 * in the one form values are compared in, or refused naming it. */
static void check_options(struct core_field *f, const struct core_field_check *ctx,
                          struct core_problem *p)
{
    char **bounds[2] = {&f->min_date, &f->max_date};
    static const char *const keys[2] = {"min", "max"};
    for (int i = 0; i < 2; i++) {
        char out[32];
        if (!*bounds[i] || !(*bounds[i])[0])
            continue;
        if (normalize(*bounds[i], out)) {
            xfree(*bounds[i]);
            *bounds[i] = xstrdup(out);
        } else if (ctx->schema) {
            core_fields_option_error(p, ctx, keys[i], "validation_invalid_date",
                                     "Must be a valid date.", NULL);
        }
    }
}

static void write_options(struct jsonw *w, const struct core_field *f)
{
    jsonw_key_cstr(w, "min");
    jsonw_string_cstr(w, f->min_date);
    jsonw_key_cstr(w, "max");
    jsonw_string_cstr(w, f->max_date);
}

static json_t *coerce(const struct core_field *f, json_t *v)
{
    (void)f;
    json_t *t = core_field_value_text(v);
    char out[32];
    json_t *r = normalize(json_string_value(t), out) ? json_string(out) : json_string("");
    json_decref(t);
    return r;
}

static void validate(const struct core_field *f, json_t *v, const struct core_field_value_ctx *ctx,
                     struct core_problem *p)
{
    (void)ctx;
    const char *s = json_string_value(v);
    if (f->min_date && f->min_date[0] && strcmp(s, f->min_date) < 0)
        core_fields_error(p, f, "validation_min_date_constraint", "Must be after the minimum date.",
                          NULL);
    else if (f->max_date && f->max_date[0] && strcmp(s, f->max_date) > 0)
        core_fields_error(p, f, "validation_max_date_constraint",
                          "Must be before the maximum date.", NULL);
}

json_t *core_fields_date_schema(const struct core_field *f, bool is_input)
{
    (void)f;
    (void)is_input;
    return json_pack("{s:s,s:s,s:s}", "type", "string", "description",
                     "a UTC date as \"2006-01-02 15:04:05.000Z\", or \"\"", "pattern",
                     "^$|" DATE_PATTERN);
}

/* The options of this kind (PocketBase's) besides the common ones. */
static const struct core_field_option options[] = {
    {"min", CORE_FIELD_OPTION_STRING},
    {"max", CORE_FIELD_OPTION_STRING},
    {NULL, 0},
};

const struct core_field_kind core_field_kind_date = {
    .name = "date",
    .options = options,
    .column = STORE_COLUMN_TEXT,
    .input = CORE_FIELD_INPUT_VALUE,
    .filter = CORE_FIELD_FILTER_COLUMN,
    .parse = parse_options,
    .write = write_options,
    .check = check_options,
    .coerce = coerce,
    .validate = validate,
    .openapi = core_fields_date_schema,
    .openapi_has_empty = true,
    .model = CORE_FIELD_MODEL_DATE,
};
