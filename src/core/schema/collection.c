/* collection.c -- see collection.h. */
#include "core/schema/collection.h"

#include <string.h>

#include "base/alloc.h"
#include "core/schema/field_type.h"

bool core_field_is_multi(const struct core_field *f)
{
    return f->max_select > 1 && core_field_kind(f)->is_list;
}

const struct core_collection *core_schema_find(const struct core_schema *s, struct str name_or_id)
{
    for (size_t i = 0; i < s->count; i++) {
        if (str_eq(str_from_cstr(s->items[i]->id), name_or_id))
            return s->items[i];
    }
    for (size_t i = 0; i < s->count; i++) {
        if (str_eq_nocase(str_from_cstr(s->items[i]->name), name_or_id))
            return s->items[i];
    }
    return NULL;
}

const struct core_collection *core_schema_find_exact(const struct core_schema *s,
                                                     struct str name_or_id)
{
    for (size_t i = 0; i < s->count; i++) {
        if (str_eq(str_from_cstr(s->items[i]->id), name_or_id) ||
            str_eq(str_from_cstr(s->items[i]->name), name_or_id))
            return s->items[i];
    }
    return NULL;
}

bool core_field_is_secret(const struct core_collection *c, const struct core_field *f)
{
    return core_field_kind(f)->input == CORE_FIELD_INPUT_SECRET ||
           ((!c || c->type == CORE_COLLECTION_AUTH) && strcmp(f->name, "tokenKey") == 0);
}

const struct core_field *core_collection_field(const struct core_collection *c, struct str name)
{
    for (size_t i = 0; i < c->field_count; i++) {
        if (str_eq(str_from_cstr(c->fields[i].name), name))
            return &c->fields[i];
    }
    return NULL;
}

const struct core_field *core_collection_field_by_id(const struct core_collection *c,
                                                     const char *id)
{
    for (size_t i = 0; i < c->field_count; i++) {
        if (strcmp(c->fields[i].id, id) == 0)
            return &c->fields[i];
    }
    return NULL;
}

const struct core_field *core_collection_field_followed(const struct core_collection *c,
                                                        const struct core_collection *base,
                                                        bool is_given, const char *name)
{
    if (is_given || !base)
        return core_collection_field(c, str_from_cstr(name));
    const struct core_field *was = core_collection_field(base, str_from_cstr(name));
    return was ? core_collection_field_by_id(c, was->id)
               : core_collection_field(c, str_from_cstr(name));
}

static void free_list(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        xfree(items[i]);
    xfree(items);
}

static char **copy_list(char *const *items, size_t n)
{
    if (!n)
        return NULL;
    char **out = xcalloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        out[i] = xstrdup(items[i]);
    return out;
}

void core_field_copy(struct core_field *dst, const struct core_field *src)
{
    *dst = *src;
    dst->id = xstrdup(src->id ? src->id : "");
    dst->name = xstrdup(src->name ? src->name : "");
    dst->help = xstrdup(src->help ? src->help : "");
    dst->min_date = xstrdup(src->min_date ? src->min_date : "");
    dst->max_date = xstrdup(src->max_date ? src->max_date : "");
    dst->pattern = xstrdup(src->pattern ? src->pattern : "");
    dst->autogenerate_pattern = xstrdup(src->autogenerate_pattern ? src->autogenerate_pattern : "");
    dst->values = copy_list(src->values, src->value_count);
    dst->collection_id = xstrdup(src->collection_id ? src->collection_id : "");
    dst->mime_types = copy_list(src->mime_types, src->mime_type_count);
    dst->thumbs = copy_list(src->thumbs, src->thumb_count);
    dst->only_domains = copy_list(src->only_domains, src->only_domain_count);
    dst->except_domains = copy_list(src->except_domains, src->except_domain_count);
}

void core_field_cleanup(struct core_field *f)
{
    xfree(f->id);
    xfree(f->name);
    xfree(f->help);
    xfree(f->min_date);
    xfree(f->max_date);
    xfree(f->pattern);
    xfree(f->autogenerate_pattern);
    free_list(f->values, f->value_count);
    xfree(f->collection_id);
    free_list(f->mime_types, f->mime_type_count);
    free_list(f->thumbs, f->thumb_count);
    free_list(f->only_domains, f->only_domain_count);
    free_list(f->except_domains, f->except_domain_count);
}

void core_collection_free(struct core_collection *c)
{
    if (!c)
        return;
    xfree(c->id);
    xfree(c->name);
    for (int i = 0; i < CORE_RULE_COUNT; i++)
        xfree(c->rules[i]);
    xfree(c->auth_rule);
    xfree(c->manage_rule);
    for (size_t i = 0; i < c->field_count; i++)
        core_field_cleanup(&c->fields[i]);
    xfree(c->fields);
    free_list(c->indexes, c->index_count);
    xfree(c->view_query);
    xfree(c->created);
    xfree(c->updated);
    free_list(c->identity_fields, c->identity_field_count);
    for (int k = 0; k < CORE_TOKEN_KIND_COUNT; k++)
        xfree(c->tokens[k].secret);
    core_oauth2_options_cleanup(&c->oauth2);
    core_mfa_options_cleanup(&c->mfa);
    core_auth_alert_options_cleanup(&c->auth_alert);
    for (int k = 0; k < CORE_MAIL_KIND_COUNT; k++)
        core_mail_template_cleanup(&c->mail[k]);
    core_search_options_cleanup(&c->search);
    core_embedding_options_cleanup(&c->embedding);
    xfree(c);
}

void core_schema_free(struct core_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->count; i++)
        core_collection_free(s->items[i]);
    xfree(s->items);
    xfree(s);
}

static const struct {
    const char *type, *option;
} token_kinds[CORE_TOKEN_KIND_COUNT] = {
    [CORE_TOKEN_AUTH] = {"auth", "authToken"},
    [CORE_TOKEN_PASSWORD_RESET] = {"passwordReset", "passwordResetToken"},
    [CORE_TOKEN_EMAIL_CHANGE] = {"emailChange", "emailChangeToken"},
    [CORE_TOKEN_VERIFICATION] = {"verification", "verificationToken"},
    [CORE_TOKEN_FILE] = {"file", "fileToken"},
};

enum core_token_kind core_token_kind_of(const char *type)
{
    for (int k = 0; type && k < CORE_TOKEN_KIND_COUNT; k++) {
        if (strcmp(token_kinds[k].type, type) == 0)
            return (enum core_token_kind)k;
    }
    return CORE_TOKEN_KIND_COUNT;
}

const char *core_token_option_name(enum core_token_kind k)
{
    return k < CORE_TOKEN_KIND_COUNT ? token_kinds[k].option : "";
}
