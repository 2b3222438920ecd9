/* file_input.c -- see file_input.h. */
#include "core/files/file_input.h"

#include <stdio.h>
#include <string.h>

#include "core/files/files.h"

/* Appends to out the non-empty strings of v: a string (or one holding a JSON
 * array, as multipart text parts send them), an array, or nothing for null. */
static void append_names(json_t *out, json_t *v)
{
    json_t *parsed = NULL;
    if (json_is_string(v) && strchr(json_string_value(v), '[')) {
        parsed = json_loads(json_string_value(v), 0, NULL);
        if (json_is_array(parsed))
            v = parsed;
    }
    if (json_is_string(v)) {
        if (json_string_length(v))
            json_array_append(out, v);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            if (json_is_string(x) && json_string_length(x))
                json_array_append(out, x);
        }
    }
    json_decref(parsed);
}

static bool has(json_t *list, json_t *v)
{
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
    {
        if (json_equal(x, v))
            return true;
    }
    return false;
}

/* The uploads whose form name is exactly key. */
static void append_uploads(json_t *out, json_t *uploads, const char *key)
{
    size_t i;
    json_t *u;
    json_array_foreach(uploads, i, u)
    {
        const char *k = json_string_value(json_object_get(u, "key"));
        if (k && strcmp(k, key) == 0)
            json_array_append(out, json_object_get(u, "name"));
    }
}

json_t *core_file_input_resolve(const struct core_field *f, json_t *body, json_t *current,
                                struct core_problem *p)
{
    char k_append[300], k_prepend[300], k_delete[300];
    if (snprintf(k_append, sizeof(k_append), "%s+", f->name) >= (int)sizeof(k_append))
        return NULL;
    snprintf(k_prepend, sizeof(k_prepend), "+%s", f->name);
    snprintf(k_delete, sizeof(k_delete), "%s-", f->name);
    json_t *uploads = json_object_get(body, CORE_FILES_BODY_KEY);
    json_t *plain = json_object_get(body, f->name);
    json_t *t_append = json_object_get(body, k_append);
    json_t *t_prepend = json_object_get(body, k_prepend);
    json_t *t_delete = json_object_get(body, k_delete);
    json_t *u_plain = json_array(), *u_append = json_array(), *u_prepend = json_array();
    append_uploads(u_plain, uploads, f->name);
    append_uploads(u_append, uploads, k_append);
    append_uploads(u_prepend, uploads, k_prepend);
    json_t *out = NULL;
    if (!plain && !t_append && !t_prepend && !t_delete && !json_array_size(u_plain) &&
        !json_array_size(u_append) && !json_array_size(u_prepend))
        goto done;
    json_t *stored = json_array();
    append_names(stored, current);
    json_t *list = json_array();
    if (plain || json_array_size(u_plain)) {
        /* Kept names (when given) plus the new uploads; else a replacement. */
        append_names(list, plain);
        json_array_extend(list, u_plain);
    } else {
        json_array_extend(list, stored);
    }
    if (t_prepend || json_array_size(u_prepend)) {
        json_t *front = json_array();
        append_names(front, t_prepend);
        json_array_extend(front, u_prepend);
        json_array_extend(front, list);
        json_decref(list);
        list = front;
    }
    append_names(list, t_append);
    json_array_extend(list, u_append);
    json_t *drop = json_array();
    append_names(drop, t_delete);
    /* Dedupe (first kept), drop deletions, check every name is known. */
    json_t *names = json_array();
    bool is_unknown = false;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (has(names, v) || has(drop, v))
            continue;
        bool is_new = false;
        size_t k;
        json_t *u;
        json_array_foreach(uploads, k, u)
        {
            if (json_equal(json_object_get(u, "name"), v))
                is_new = true;
        }
        if (!is_new && !has(stored, v)) {
            is_unknown = true;
            continue;
        }
        json_array_append(names, v);
    }
    if (is_unknown)
        core_problem_field(p, f->name, "validation_invalid_file",
                           "Invalid file: it is neither an upload nor a stored file.", NULL);
    if (core_field_is_multi(f)) {
        if (json_array_size(names) > (size_t)f->max_select)
            core_problem_field(p, f->name, "validation_too_many_files",
                               "Too many files: at most the maximum allowed.",
                               json_pack("{s:i}", "maxSelect", f->max_select));
        out = json_incref(names);
    } else {
        size_t n = json_array_size(names);
        out = n ? json_incref(json_array_get(names, n - 1)) : json_string("");
    }
    json_decref(names);
    json_decref(drop);
    json_decref(list);
    json_decref(stored);
done:
    json_decref(u_plain);
    json_decref(u_append);
    json_decref(u_prepend);
    return out;
}
