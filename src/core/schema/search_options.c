/* search_options.c -- see search_options.h. */
#include "core/schema/search_options.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/jsonw.h"
#include "core/problem.h"
#include "core/schema/collection.h"

static const char *const language_names[] = {
    [STORE_SEARCH_SIMPLE] = "simple",
    [STORE_SEARCH_ENGLISH] = "english",
};
#define LANGUAGE_COUNT (sizeof(language_names) / sizeof(language_names[0]))

const char *core_search_language_name(enum store_search_language l)
{
    return language_names[l];
}

void core_search_options_cleanup(struct core_search_options *o)
{
    for (size_t i = 0; i < o->field_count; i++)
        xfree(o->fields[i].name);
    xfree(o->fields);
    memset(o, 0, sizeof(*o));
}

void core_search_options_copy(struct core_search_options *to,
                              const struct core_search_options *from)
{
    memset(to, 0, sizeof(*to));
    to->language = from->language;
    if (!from->field_count)
        return;
    to->fields = xcalloc(from->field_count, sizeof(*to->fields));
    for (size_t i = 0; i < from->field_count; i++) {
        to->fields[i].name = xstrdup(from->fields[i].name);
        to->fields[i].weight = from->fields[i].weight;
    }
    to->field_count = from->field_count;
}

static void error_at(struct core_problem *p, const char *code, const char *message, const char *fmt,
                     size_t i, const char *key)
{
    char path[160];
    snprintf(path, sizeof(path), fmt, i, key);
    core_problem_field(p, path, code, message, NULL);
}

/* One {name, weight} of fields into f; false (errors into p when from a
 * client) when it is not well-formed. */
static bool parse_field(json_t *item, size_t i, struct core_search_field *f, bool from_client,
                        struct core_problem *p)
{
    if (!json_is_object(item)) {
        if (from_client)
            error_at(p, "validation_invalid_value", "Must be an object {name, weight}.",
                     "search.fields.%zu%s", i, "");
        return false;
    }
    bool ok = true;
    const char *key;
    json_t *v;
    json_object_foreach(item, key, v)
    {
        if (strcmp(key, "name") != 0 && strcmp(key, "weight") != 0) {
            if (from_client)
                error_at(p, "validation_unknown_option", "Unknown option.", "search.fields.%zu.%s",
                         i, key);
            ok = false;
        }
    }
    json_t *name = json_object_get(item, "name");
    if (!json_is_string(name) || !json_string_length(name)) {
        if (from_client)
            error_at(p, "validation_required", "Must be the name of a field.",
                     "search.fields.%zu.%s", i, "name");
        ok = false;
    }
    double weight = 1;
    json_t *w = json_object_get(item, "weight");
    if (w && !json_is_null(w)) {
        weight = json_is_number(w) ? json_number_value(w) : NAN;
        if (!(weight >= CORE_SEARCH_MIN_WEIGHT && weight <= CORE_SEARCH_MAX_WEIGHT)) {
            if (from_client)
                error_at(p, "validation_invalid_value", "Must be a number from 0.001 to 1000.",
                         "search.fields.%zu.%s", i, "weight");
            ok = false;
        }
    }
    if (ok) {
        f->name = xstrdup(json_string_value(name));
        f->weight = weight;
    }
    return ok;
}

void core_search_options_parse(json_t *in, struct core_search_options *o, bool from_client,
                               bool *is_given, struct core_problem *p)
{
    *is_given = in != NULL;
    if (!in)
        return;
    if (json_is_null(in)) {
        core_search_options_cleanup(o);
        return;
    }
    if (!json_is_object(in)) {
        if (from_client)
            core_problem_field(p, "search", "validation_invalid_value",
                               "Must be an object {fields, language} or null.", NULL);
        core_search_options_cleanup(o);
        return;
    }
    struct core_search_options n = {0};
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v)
    {
        if (strcmp(key, "fields") != 0 && strcmp(key, "language") != 0 && from_client) {
            char path[160];
            snprintf(path, sizeof(path), "search.%s", key);
            core_problem_field(p, path, "validation_unknown_option", "Unknown option.", NULL);
        }
    }
    json_t *lang = json_object_get(in, "language");
    if (lang && !json_is_null(lang)) {
        bool ok = false;
        for (size_t k = 0; k < LANGUAGE_COUNT && json_is_string(lang); k++) {
            if (strcmp(json_string_value(lang), language_names[k]) == 0) {
                n.language = (enum store_search_language)k;
                ok = true;
            }
        }
        if (!ok && from_client)
            core_problem_field(p, "search.language", "validation_in_invalid",
                               "Must be \"simple\" or \"english\".", NULL);
    }
    json_t *fields = json_object_get(in, "fields");
    size_t count = json_array_size(fields);
    if (!json_is_array(fields) || count == 0 || count > CORE_SEARCH_MAX_FIELDS) {
        if (from_client)
            core_problem_field(p, "search.fields", "validation_invalid_value",
                               "Must be a list of 1 to 16 fields {name, weight}.", NULL);
        core_search_options_cleanup(o);
        return;
    }
    n.fields = xcalloc(count, sizeof(*n.fields));
    for (size_t i = 0; i < count; i++) {
        if (parse_field(json_array_get(fields, i), i, &n.fields[n.field_count], from_client, p))
            n.field_count++;
    }
    core_search_options_cleanup(o);
    *o = n;
    if (!o->field_count)
        core_search_options_cleanup(o);
}

/* Why f cannot be searched, or NULL when it can: the text fields the API
 * shows to whoever may list the record. */
static const char *unsearchable(const struct core_collection *c, const struct core_field *f)
{
    if (!f)
        return "No field of that name.";
    switch (f->type) {
    case CORE_FIELD_TEXT:
    case CORE_FIELD_EDITOR:
    case CORE_FIELD_EMAIL:
    case CORE_FIELD_URL:
    case CORE_FIELD_SELECT: break;
    default: return "Only text, editor, email, url and select fields can be searched.";
    }
    if (f->is_hidden)
        return "A hidden field cannot be searched: its words would show through.";
    if (core_field_is_secret(c, f))
        return "A secret field cannot be searched.";
    if (c->type == CORE_COLLECTION_AUTH && strcmp(f->name, "email") == 0)
        return "An auth collection's email cannot be searched: it is shown only per record.";
    return NULL;
}

void core_search_options_check(struct core_collection *c, const struct core_collection *base,
                               bool is_given, bool from_client, struct core_problem *p)
{
    struct core_search_options *o = &c->search;
    if (!o->field_count)
        return;
    if (c->type == CORE_COLLECTION_VIEW) {
        if (from_client)
            core_problem_field(p, "search", "validation_invalid_value",
                               "View collections cannot be searched: they have no table of "
                               "their own to index.",
                               NULL);
        core_search_options_cleanup(o);
        return;
    }
    size_t kept = 0;
    for (size_t i = 0; i < o->field_count; i++) {
        struct core_search_field f = o->fields[i];
        const struct core_field *now = core_collection_field_followed(c, base, is_given, f.name);
        if (!is_given && base) {
            /* The field as it was: followed to its name now, or gone. */
            if (!now) {
                xfree(f.name);
                continue;
            }
            xfree(f.name);
            f.name = xstrdup(now->name);
        }
        const char *why = unsearchable(c, now);
        for (size_t k = 0; k < kept && !why; k++) {
            if (strcmp(o->fields[k].name, f.name) == 0)
                why = "The field is named twice.";
        }
        if (why) {
            /* A stored definition is read leniently: the field is left out. */
            if (from_client)
                error_at(p, "validation_invalid_value", why, "search.fields.%zu.%s", i, "name");
            xfree(f.name);
            continue;
        }
        o->fields[kept++] = f;
    }
    o->field_count = kept;
    if (!kept) {
        core_search_options_cleanup(o);
        return;
    }
    size_t distinct = 0;
    for (size_t i = 0; i < kept; i++) {
        bool seen = false;
        for (size_t k = 0; k < i; k++)
            seen = seen || o->fields[k].weight == o->fields[i].weight;
        distinct += !seen;
    }
    if (distinct > 4 && from_client)
        core_problem_field(p, "search.fields", "validation_invalid_value",
                           "At most 4 distinct weights (PostgreSQL ranks with four classes).",
                           NULL);
}

void core_search_options_write(struct jsonw *w, const struct core_search_options *o)
{
    if (!o->field_count)
        return;
    jsonw_key_cstr(w, "search");
    jsonw_object_begin(w);
    jsonw_key_cstr(w, "fields");
    jsonw_array_begin(w);
    for (size_t i = 0; i < o->field_count; i++) {
        jsonw_object_begin(w);
        jsonw_key_cstr(w, "name");
        jsonw_string_cstr(w, o->fields[i].name);
        jsonw_key_cstr(w, "weight");
        jsonw_double(w, o->fields[i].weight);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
    jsonw_key_cstr(w, "language");
    jsonw_string_cstr(w, language_names[o->language]);
    jsonw_object_end(w);
}

bool core_search_index(const struct core_collection *c, struct store_search_column *cols,
                       struct store_search_index *ix)
{
    const struct core_search_options *o = &c->search;
    if (!o->field_count || c->type == CORE_COLLECTION_VIEW)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < o->field_count && n < CORE_SEARCH_MAX_FIELDS; i++) {
        const struct core_field *f = core_collection_field(c, str_from_cstr(o->fields[i].name));
        if (!f)
            continue;
        cols[n++] = (struct store_search_column){
            .name = str_from_cstr(f->name),
            .weight = o->fields[i].weight,
            .is_html = f->type == CORE_FIELD_EDITOR,
        };
    }
    *ix = (struct store_search_index){
        .table = str_from_cstr(c->name),
        .key = str_from_cstr(c->id),
        .columns = cols,
        .count = n,
        .language = o->language,
    };
    return n > 0;
}
