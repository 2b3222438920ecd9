/* field_value.c -- see field_value.h. */
#include "core/schema/field_value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/randpat.h"
#include "core/schema/field_type.h"

json_t *core_field_value_text(json_t *v)
{
    if (json_is_string(v))
        return json_incref(v);
    if (json_is_integer(v)) {
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
        return json_string(tmp);
    }
    if (json_is_real(v)) {
        char tmp[40];
        snprintf(tmp, sizeof(tmp), "%.17g", json_real_value(v));
        return json_string(tmp);
    }
    if (json_is_boolean(v))
        return json_string(json_is_true(v) ? "true" : "false");
    return json_string("");
}

json_t *core_field_value_of_double(double d)
{
    return d == floor(d) && fabs(d) < 9e15 ? json_integer((json_int_t)d) : json_real(d);
}

json_t *core_field_value_number(json_t *v)
{
    if (json_is_number(v))
        return json_incref(v);
    if (json_is_boolean(v))
        return json_integer(json_is_true(v) ? 1 : 0);
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        double d = strtod(s, &end);
        if (end != s && *end == '\0' && isfinite(d))
            return core_field_value_of_double(d);
    }
    return json_integer(0);
}

json_t *core_field_value_bool(json_t *v)
{
    if (json_is_boolean(v))
        return json_incref(v);
    if (json_is_number(v))
        return json_boolean(json_number_value(v) != 0);
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        return json_boolean(!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "t") ||
                            !strcmp(s, "T") || !strcmp(s, "TRUE") || !strcmp(s, "True"));
    }
    return json_false();
}

json_t *core_field_value_list(json_t *v)
{
    json_t *src = v;
    json_t *parsed = NULL;
    if (json_is_string(v) && strchr(json_string_value(v), '[')) {
        parsed = json_loads(json_string_value(v), 0, NULL);
        if (json_is_array(parsed))
            src = parsed;
    }
    json_t *out = json_array();
    json_t *items = json_is_array(src) ? src : NULL;
    size_t n = items ? json_array_size(items) : (json_is_null(src) || !src ? 0 : 1);
    for (size_t i = 0; i < n; i++) {
        json_t *item = items ? json_array_get(items, i) : src;
        json_t *s = core_field_value_text(item);
        if (json_string_length(s)) {
            bool dup = false;
            for (size_t k = 0; k < json_array_size(out) && !dup; k++)
                dup = json_equal(json_array_get(out, k), s);
            if (!dup)
                json_array_append(out, s);
        }
        json_decref(s);
    }
    json_decref(parsed);
    return out;
}

json_t *core_field_value_empty(const struct core_field *f)
{
    switch (core_field_shape(f)) {
    case STORE_COLUMN_NUMBER: return json_integer(0);
    case STORE_COLUMN_BOOL: return json_false();
    case STORE_COLUMN_JSON:
    case STORE_COLUMN_VECTOR: return json_null();
    case STORE_COLUMN_JSON_POINT: return json_pack("{s:i,s:i}", "lon", 0, "lat", 0);
    case STORE_COLUMN_JSON_ARRAY: return json_array();
    case STORE_COLUMN_ID:
    case STORE_COLUMN_TEXT: break;
    }
    return json_string("");
}

bool core_field_value_is_empty(const struct core_field *f, json_t *v)
{
    const struct core_field_kind *k = core_field_kind(f);
    if (k->is_empty)
        return k->is_empty(f, v);
    if (json_is_null(v) || !v)
        return true;
    if (json_is_string(v))
        return json_string_length(v) == 0;
    if (json_is_array(v))
        return json_array_size(v) == 0;
    if (json_is_object(v))
        return json_object_size(v) == 0;
    if (core_field_shape(f) == STORE_COLUMN_NUMBER)
        return json_number_value(v) == 0;
    if (core_field_shape(f) == STORE_COLUMN_BOOL)
        return !json_is_true(v);
    return false;
}

json_t *core_field_value_generate(const char *pattern)
{
    char out[RANDPAT_MAX_OUT + 1];
    size_t n;
    if (!pattern || !pattern[0] || randpat_generate(pattern, out, &n) != RC_OK || n == 0)
        randpat_generate("[a-z0-9]{15}", out, &n);
    return json_stringn(out, n);
}
