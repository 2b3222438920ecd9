/* embedding_options.c -- see embedding_options.h. */
#include "core/schema/embedding_options.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/jsonw.h"
#include "core/problem.h"
#include "core/schema/collection.h"

static const char *const provider_names[] = {
    [CORE_EMBEDDING_OPENAI] = "openai",
};
#define PROVIDER_COUNT (sizeof(provider_names) / sizeof(provider_names[0]))

const char *core_embedding_provider_name(enum core_embedding_provider p)
{
    return provider_names[p];
}

void core_embedding_options_cleanup(struct core_embedding_options *o)
{
    xfree(o->field);
    for (size_t i = 0; i < o->source_count; i++)
        xfree(o->sources[i]);
    xfree(o->sources);
    memset(o, 0, sizeof(*o));
}

void core_embedding_options_copy(struct core_embedding_options *to,
                                 const struct core_embedding_options *from)
{
    memset(to, 0, sizeof(*to));
    if (!from->field)
        return;
    to->field = xstrdup(from->field);
    to->provider = from->provider;
    to->sources = xcalloc(from->source_count + 1, sizeof(*to->sources));
    for (size_t i = 0; i < from->source_count; i++)
        to->sources[i] = xstrdup(from->sources[i]);
    to->source_count = from->source_count;
}

static void refuse(struct core_problem *p, bool from_client, const char *path, const char *code,
                   const char *message)
{
    if (from_client)
        core_problem_field(p, path, code, message, NULL);
}

void core_embedding_options_parse(json_t *in, struct core_embedding_options *o, bool from_client,
                                  bool *is_given, struct core_problem *p)
{
    *is_given = in != NULL;
    if (!in)
        return;
    core_embedding_options_cleanup(o);
    if (json_is_null(in))
        return;
    if (!json_is_object(in)) {
        refuse(p, from_client, "embedding", "validation_invalid_value",
               "Must be an object {field, source, provider} or null.");
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v)
    {
        if (strcmp(key, "field") && strcmp(key, "source") && strcmp(key, "provider")) {
            char path[160];
            snprintf(path, sizeof(path), "embedding.%.100s", key);
            refuse(p, from_client, path, "validation_unknown_option", "Unknown option.");
        }
    }
    struct core_embedding_options n = {0};
    bool ok = true;
    json_t *provider = json_object_get(in, "provider");
    if (provider && !json_is_null(provider)) {
        bool found = false;
        for (size_t k = 0; k < PROVIDER_COUNT && json_is_string(provider); k++) {
            if (strcmp(json_string_value(provider), provider_names[k]) == 0) {
                n.provider = (enum core_embedding_provider)k;
                found = true;
            }
        }
        if (!found) {
            refuse(p, from_client, "embedding.provider", "validation_in_invalid",
                   "Must be \"openai\" (an OpenAI-compatible /v1/embeddings endpoint).");
            ok = false;
        }
    }
    json_t *field = json_object_get(in, "field");
    if (!json_is_string(field) || !json_string_length(field)) {
        refuse(p, from_client, "embedding.field", "validation_required",
               "Must be the name of a vector field.");
        ok = false;
    }
    json_t *source = json_object_get(in, "source");
    size_t count = json_array_size(source);
    if (!json_is_array(source) || count == 0 || count > CORE_EMBEDDING_MAX_SOURCES) {
        refuse(p, from_client, "embedding.source", "validation_invalid_value",
               "Must be a list of 1 to 8 field names.");
        ok = false;
    }
    for (size_t i = 0; ok && i < count; i++) {
        if (!json_is_string(json_array_get(source, i))) {
            char path[160];
            snprintf(path, sizeof(path), "embedding.source.%zu", i);
            refuse(p, from_client, path, "validation_invalid_value", "Must be a field name.");
            ok = false;
        }
    }
    if (!ok)
        return;
    n.field = xstrdup(json_string_value(field));
    n.sources = xcalloc(count + 1, sizeof(*n.sources));
    for (size_t i = 0; i < count; i++)
        n.sources[n.source_count++] = xstrdup(json_string_value(json_array_get(source, i)));
    *o = n;
}

static const char *no_source(const struct core_collection *c, const struct core_field *f)
{
    if (!f)
        return "No field of that name.";
    switch (f->type) {
    case CORE_FIELD_TEXT:
    case CORE_FIELD_EDITOR:
    case CORE_FIELD_EMAIL:
    case CORE_FIELD_URL: break;
    default: return "Only text, editor, email and url fields can be embedded.";
    }
    if (core_field_is_secret(c, f))
        return "A secret field cannot be embedded.";
    return NULL;
}

void core_embedding_options_check(struct core_collection *c, const struct core_collection *base,
                                  bool is_given, bool from_client, struct core_problem *p)
{
    struct core_embedding_options *o = &c->embedding;
    if (!o->field)
        return;
    if (c->type == CORE_COLLECTION_VIEW) {
        refuse(p, from_client, "embedding", "validation_invalid_value",
               "View collections have no records of their own to embed.");
        core_embedding_options_cleanup(o);
        return;
    }
    const struct core_field *vf = core_collection_field_followed(c, base, is_given, o->field);
    if (!vf && !is_given && base) {
        core_embedding_options_cleanup(o); /* the change removed its vector field */
        return;
    }
    if (!vf || vf->type != CORE_FIELD_VECTOR) {
        refuse(p, from_client, "embedding.field", "validation_invalid_value",
               "Must be the name of a vector field of the collection.");
        core_embedding_options_cleanup(o);
        return;
    }
    xfree(o->field);
    o->field = xstrdup(vf->name);
    size_t kept = 0;
    for (size_t i = 0; i < o->source_count; i++) {
        char *name = o->sources[i];
        const struct core_field *f = core_collection_field_followed(c, base, is_given, name);
        const char *why = is_given || f ? no_source(c, f) : "";
        for (size_t k = 0; k < kept && !why && f; k++) {
            if (strcmp(o->sources[k], f->name) == 0)
                why = "The field is named twice.";
        }
        xfree(name);
        if (why) {
            char path[160];
            snprintf(path, sizeof(path), "embedding.source.%zu", i);
            if (why[0])
                refuse(p, from_client, path, "validation_invalid_value", why);
            continue;
        }
        o->sources[kept++] = xstrdup(f->name);
    }
    o->source_count = kept;
    if (!kept)
        core_embedding_options_cleanup(o);
}

void core_embedding_options_write(struct jsonw *w, const struct core_embedding_options *o)
{
    if (!o->field)
        return;
    jsonw_key_cstr(w, "embedding");
    jsonw_object_begin(w);
    jsonw_key_cstr(w, "field");
    jsonw_string_cstr(w, o->field);
    jsonw_key_cstr(w, "source");
    jsonw_array_begin(w);
    for (size_t i = 0; i < o->source_count; i++)
        jsonw_string_cstr(w, o->sources[i]);
    jsonw_array_end(w);
    jsonw_key_cstr(w, "provider");
    jsonw_string_cstr(w, provider_names[o->provider]);
    jsonw_object_end(w);
}
