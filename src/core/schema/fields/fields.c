/* fields.c -- see fields_int.h. */
#include "core/schema/fields/fields_int.h"

#include <stdio.h>
#include <string.h>

#include "base/utf8.h"
#include "core/schema/field_pattern.h"

void core_fields_write_list(struct jsonw *w, const char *key, char *const *items, size_t n)
{
    jsonw_key_cstr(w, key);
    jsonw_array_begin(w);
    for (size_t i = 0; i < n; i++)
        jsonw_string_cstr(w, items[i]);
    jsonw_array_end(w);
}

void core_fields_write_domains(struct jsonw *w, const struct core_field *f)
{
    core_fields_write_list(w, "onlyDomains", f->only_domains, f->only_domain_count);
    core_fields_write_list(w, "exceptDomains", f->except_domains, f->except_domain_count);
}

void core_fields_write_length(struct jsonw *w, const struct core_field *f)
{
    jsonw_key_cstr(w, "min");
    jsonw_double(w, f->min);
    jsonw_key_cstr(w, "max");
    jsonw_double(w, f->max);
    jsonw_key_cstr(w, "pattern");
    jsonw_string_cstr(w, f->pattern);
}

void core_fields_option_error(struct core_problem *p, const struct core_field_check *ctx,
                              const char *key, const char *code, const char *message,
                              json_t *params)
{
    char path[64];
    snprintf(path, sizeof(path), "fields.%zu.%s", ctx->index, key);
    core_problem_field(p, path, code, message, params);
}

json_t *core_fields_coerce_text(const struct core_field *f, json_t *v)
{
    (void)f;
    return core_field_value_text(v);
}

void core_fields_error(struct core_problem *p, const struct core_field *f, const char *code,
                       const char *message, json_t *params)
{
    core_problem_field(p, f->name, code, message, params); /* takes params */
}

json_t *core_fields_num_param(const char *key, double n)
{
    json_t *o = json_object();
    json_object_set_new(o, key, core_field_value_of_double(n));
    return o;
}

size_t core_fields_rune_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    }
    return n;
}

bool core_fields_is_plain_identity(const char *s, size_t len)
{
    return len == 0 || (s[0] != ' ' && s[len - 1] != ' ' && utf8_is_visible_text(s, len));
}

/* PocketBase's options, so "EVIL.com" does not pass an exceptDomains of
 * "evil.com". */
bool core_fields_domain_allowed(const struct core_field *f, struct str host)
{
    bool listed = false;
    for (size_t i = 0; i < f->only_domain_count && !listed; i++)
        listed = str_eq_cstr_nocase(host, f->only_domains[i]);
    if (f->only_domain_count && !listed)
        return false;
    for (size_t i = 0; i < f->except_domain_count; i++) {
        if (str_eq_cstr_nocase(host, f->except_domains[i]))
            return false;
    }
    return true;
}

void core_fields_check_length(const struct core_field *f, const char *s, size_t bytes,
                              double default_min, double default_max, struct core_problem *p)
{
    double min = f->has_min && f->min > 0 ? f->min : default_min;
    double max = f->has_max && f->max > 0 ? f->max : default_max;
    size_t runes = core_fields_rune_count(s, bytes);
    if (runes < (size_t)min)
        core_fields_error(p, f, "validation_min_text_constraint",
                          "Must be at least the minimum length.",
                          core_fields_num_param("min", min));
    else if (runes > (size_t)max)
        core_fields_error(p, f, "validation_max_text_constraint",
                          "Must be at most the maximum length.", core_fields_num_param("max", max));
    else if (f->pattern && f->pattern[0] && !core_field_pattern_matches(f->pattern, s))
        core_fields_error(p, f, "validation_invalid_format", "Invalid value format.", NULL);
}

json_t *core_fields_list_coerce(const struct core_field *f, json_t *v)
{
    json_t *list = core_field_value_list(v);
    if (core_field_is_multi(f))
        return list;
    /* A single-valued field keeps the last value given. */
    json_t *last = json_array_size(list)
                       ? json_incref(json_array_get(list, json_array_size(list) - 1))
                       : json_string("");
    json_decref(list);
    return last;
}

json_t *core_fields_list_modify(const struct core_field *f, json_t *old, json_t *given, char mod,
                                bool prepend)
{
    json_t *cur = core_field_value_list(old);
    json_t *add = core_field_value_list(given);
    json_t *out = json_array();
    if (mod == '-') {
        size_t i;
        json_t *v;
        json_array_foreach(cur, i, v)
        {
            bool drop = false;
            for (size_t k = 0; k < json_array_size(add) && !drop; k++)
                drop = json_equal(v, json_array_get(add, k));
            if (!drop)
                json_array_append(out, v);
        }
    } else {
        json_t *first = prepend ? add : cur;
        json_t *second = prepend ? cur : add;
        json_array_extend(out, first);
        json_array_extend(out, second);
    }
    json_decref(cur);
    json_decref(add);
    json_t *fixed = core_fields_list_coerce(f, out); /* dedupe; single fields keep the last */
    json_decref(out);
    return fixed;
}

void core_fields_list_validate(const struct core_field *f, json_t *v,
                               const struct core_field_value_ctx *ctx, struct core_problem *p)
{
    (void)ctx;
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (core_field_is_multi(f) && n > (size_t)f->max_select)
        core_fields_error(p, f, "validation_too_many_values", "Select no more than the maximum.",
                          json_pack("{s:i}", "maxSelect", f->max_select));
    else if (f->min_select > 0 && n < (size_t)f->min_select)
        core_fields_error(p, f, "validation_not_enough_values", "Select at least the minimum.",
                          json_pack("{s:i}", "minSelect", f->min_select));
}

json_t *core_fields_string_schema(const struct core_field *f, bool with_length)
{
    json_t *s = json_pack("{s:s}", "type", "string");
    if (with_length && f->has_min && f->min > 0)
        json_object_set_new(s, "minLength", json_integer((json_int_t)f->min));
    if (with_length && f->has_max && f->max > 0)
        json_object_set_new(s, "maxLength", json_integer((json_int_t)f->max));
    if (f->pattern && f->pattern[0])
        json_object_set_new(s, "pattern", json_string(f->pattern));
    return s;
}
