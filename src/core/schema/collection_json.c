/* collection_json.c -- see collection_json.h. */
#include "core/schema/collection_json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/crc32.h"
#include "base/secure.h"
#include "core/schema/fields/fields_int.h"
#include "core/schema/index.h"

/* -------------------------------------------------------------------------
 * Names and ids
 * ------------------------------------------------------------------------- */

static const char *const type_names[] = {"base", "auth", "view"};

const char *core_collection_type_name(enum core_collection_type t)
{
    return type_names[t];
}

/* ^\w+$ with a length limit (collection and field names, spec §5.2). */
static bool is_word(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

static bool is_reserved_field_name(const char *name, enum core_collection_type type);

bool core_field_name_is_valid(const char *name, enum core_collection_type type)
{
    return is_word(name, 100) && !is_reserved_field_name(name, type);
}

static bool is_reserved_field_name(const char *name, enum core_collection_type type)
{
    static const char *const reserved[] = {"null",         "true",           "false", "_rowid_",
                                           "collectionId", "collectionName", "expand"};
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (strcasecmp(name, reserved[i]) == 0)
            return true;
    }
    if (strstr(name, "_via_"))
        return true;
    return type == CORE_COLLECTION_AUTH &&
           (strcmp(name, "passwordConfirm") == 0 || strcmp(name, "oldPassword") == 0);
}

/* -------------------------------------------------------------------------
 * JSON helpers
 * ------------------------------------------------------------------------- */

static char *dup_string(json_t *v, const char *fallback)
{
    if (json_is_string(v))
        return xstrndup(json_string_value(v), json_string_length(v));
    return fallback ? xstrdup(fallback) : NULL;
}

static char **dup_string_list(json_t *v, size_t *count)
{
    *count = 0;
    if (!json_is_array(v) || json_array_size(v) == 0)
        return NULL;
    char **out = xcalloc(json_array_size(v), sizeof(char *));
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        if (json_is_string(item))
            out[(*count)++] = xstrdup(json_string_value(item));
    }
    return out;
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

static bool get_bool(json_t *obj, const char *key, bool fallback)
{
    json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : fallback;
}

/* A rule: absent keeps the fallback, null means superusers only. */
static char *get_rule(json_t *obj, const char *key, const char *fallback, bool *present)
{
    json_t *v = json_object_get(obj, key);
    *present = v != NULL;
    if (!v)
        return fallback ? xstrdup(fallback) : NULL;
    return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

/* -------------------------------------------------------------------------
 * Fields
 * ------------------------------------------------------------------------- */

/* Fills f from a field object: every option key into f's union of options,
 * then what its kind reads differently. Errors go to p under "fields.<index>". */
/* The keys every field type has, and their JSON types. */
static const struct core_field_option common_options[] = {
    {"id", CORE_FIELD_OPTION_STRING},
    {"name", CORE_FIELD_OPTION_STRING},
    {"type", CORE_FIELD_OPTION_STRING},
    {"system", CORE_FIELD_OPTION_BOOL},
    {"hidden", CORE_FIELD_OPTION_BOOL},
    {"presentable", CORE_FIELD_OPTION_BOOL},
    {"help", CORE_FIELD_OPTION_STRING},
    {"required", CORE_FIELD_OPTION_BOOL},
    {NULL, 0},
};

static bool has_option_type(json_t *v, enum core_field_option_type t)
{
    switch (t) {
    case CORE_FIELD_OPTION_BOOL: return json_is_boolean(v);
    case CORE_FIELD_OPTION_INT: return json_is_integer(v);
    case CORE_FIELD_OPTION_NUMBER: return json_is_number(v);
    case CORE_FIELD_OPTION_STRING: return json_is_string(v);
    case CORE_FIELD_OPTION_STRINGS: break;
    }
    if (!json_is_array(v))
        return false;
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item))
            return false;
    }
    return true;
}

static const char *const type_wanted[] = {
    [CORE_FIELD_OPTION_BOOL] = "Must be a boolean.",
    [CORE_FIELD_OPTION_INT] = "Must be a whole number.",
    [CORE_FIELD_OPTION_NUMBER] = "Must be a number.",
    [CORE_FIELD_OPTION_STRING] = "Must be a string.",
    [CORE_FIELD_OPTION_STRINGS] = "Must be a list of strings.",
};

/* A client's option of the wrong JSON type is refused naming it, as
 * PocketBase's decoding refuses it: read leniently it would be dropped. The
 * options found are marked in *bad (a bit per table entry) and reported by
 * report_option_types, at the position the field has once the system
 * fields are in place (as every option error). */
static void find_option_types(json_t *in, const struct core_field_option *opts, uint32_t *bad)
{
    for (size_t i = 0; opts && opts[i].key && i < 32; i++) {
        json_t *v = json_object_get(in, opts[i].key);
        if (v && !json_is_null(v) && !has_option_type(v, opts[i].type))
            *bad |= 1u << i;
    }
}

static void report_option_types(size_t index, const struct core_field_option *opts, uint32_t *bad,
                                struct core_problem *p)
{
    for (size_t i = 0; opts && opts[i].key && i < 32; i++) {
        if (!(*bad & (1u << i)))
            continue;
        char path[96];
        snprintf(path, sizeof(path), "fields.%zu.%s", index, opts[i].key);
        core_problem_field(p, path, "validation_invalid_value", type_wanted[opts[i].type], NULL);
    }
    *bad = 0;
}

static void parse_field(json_t *in, size_t index, struct core_field *f, bool from_client,
                        struct core_problem *p)
{
    char path[64];
    const char *type = json_string_value(json_object_get(in, "type"));
    if (!type || !core_field_type_parse(type, &f->type)) {
        snprintf(path, sizeof(path), "fields.%zu.type", index);
        core_problem_field(p, path, "validation_invalid_value", "Invalid field type.", NULL);
        f->type = CORE_FIELD_TEXT;
    }
    f->name = dup_string(json_object_get(in, "name"), "");
    f->id = dup_string(json_object_get(in, "id"), "");
    f->is_system = get_bool(in, "system", false);
    f->is_hidden = get_bool(in, "hidden", false);
    f->is_presentable = get_bool(in, "presentable", false);
    f->is_required = get_bool(in, "required", false);
    f->help = dup_string(json_object_get(in, "help"), "");
    f->convert_urls = get_bool(in, "convertURLs", false);
    json_t *min = json_object_get(in, "min");
    json_t *max = json_object_get(in, "max");
    f->min_date = xstrdup("");
    f->max_date = xstrdup("");
    f->has_min = json_is_number(min);
    f->min = f->has_min ? json_number_value(min) : 0;
    f->has_max = json_is_number(max);
    f->max = f->has_max ? json_number_value(max) : 0;
    f->pattern = dup_string(json_object_get(in, "pattern"), "");
    json_t *cost = json_object_get(in, "cost");
    f->cost = json_is_integer(cost) ? json_integer_value(cost) : json_is_number(cost) ? -1 : 0;
    f->autogenerate_pattern = dup_string(json_object_get(in, "autogeneratePattern"), "");
    f->only_int = get_bool(in, "onlyInt", false);
    json_t *ms = json_object_get(in, "maxSelect");
    f->max_select = json_is_integer(ms) ? (int)json_integer_value(ms) : 1;
    json_t *mn = json_object_get(in, "minSelect");
    f->min_select = json_is_integer(mn) ? (int)json_integer_value(mn) : 0;
    f->values = dup_string_list(json_object_get(in, "values"), &f->value_count);
    f->collection_id = dup_string(json_object_get(in, "collectionId"), "");
    f->cascade_delete = get_bool(in, "cascadeDelete", false);
    f->on_create = get_bool(in, "onCreate", false);
    f->on_update = get_bool(in, "onUpdate", false);
    json_t *size = json_object_get(in, "maxSize");
    f->max_size = json_is_integer(size) ? json_integer_value(size) : 0;
    f->mime_types = dup_string_list(json_object_get(in, "mimeTypes"), &f->mime_type_count);
    f->thumbs = dup_string_list(json_object_get(in, "thumbs"), &f->thumb_count);
    f->is_protected = get_bool(in, "protected", false);
    f->only_domains = dup_string_list(json_object_get(in, "onlyDomains"), &f->only_domain_count);
    f->except_domains =
        dup_string_list(json_object_get(in, "exceptDomains"), &f->except_domain_count);
    const struct core_field_kind *k = core_field_kind(f);
    if (k->parse)
        k->parse(f, in);
    if (from_client) {
        find_option_types(in, common_options, &f->_bad_common);
        find_option_types(in, k->options, &f->_bad_own);
    }
}

void core_field_make_id(struct core_field *f, const struct core_collection *c)
{
    if (f->id && f->id[0])
        return;
    xfree(f->id);
    char id[64];
    const char *type = core_field_type_name(f->type);
    snprintf(id, sizeof(id), "%s%u", type, crc32_ieee(f->name, strlen(f->name)));
    /* A numeric suffix on collision, as PocketBase does. */
    for (int n = 2;; n++) {
        bool taken = false;
        for (size_t i = 0; i < c->field_count; i++) {
            if (&c->fields[i] != f && c->fields[i].id && strcmp(c->fields[i].id, id) == 0)
                taken = true;
        }
        if (!taken)
            break;
        snprintf(id, sizeof(id), "%s%u%d", type, crc32_ieee(f->name, strlen(f->name)), n);
    }
    f->id = xstrdup(id);
}

/* A system field the collection type requires, added when missing. */
static void ensure_field(struct core_collection *c, const char *name, enum core_field_type type,
                         bool hidden, size_t position)
{
    for (size_t i = 0; i < c->field_count; i++) {
        if (strcmp(c->fields[i].name, name) == 0) {
            struct core_field *f = &c->fields[i];
            f->is_system = true;
            f->type = type;
            if (hidden)
                f->is_hidden = true;
            if (strcmp(name, "id") == 0) {
                /* The table's primary key whatever was sent, as PocketBase's
                 * initIdField enforces: without it ids would not be unique. */
                f->is_primary_key = true;
                f->is_required = true;
                f->is_hidden = false;
                if (!f->pattern[0]) {
                    xfree(f->pattern);
                    f->pattern = xstrdup("^[a-z0-9]+$");
                }
            }
            return;
        }
    }
    c->fields = xrealloc(c->fields, (c->field_count + 1) * sizeof(struct core_field));
    if (position > c->field_count)
        position = c->field_count;
    memmove(&c->fields[position + 1], &c->fields[position],
            (c->field_count - position) * sizeof(struct core_field));
    c->field_count++;
    struct core_field *f = &c->fields[position];
    memset(f, 0, sizeof(*f));
    f->name = xstrdup(name);
    f->id = xstrdup("");
    f->help = xstrdup("");
    f->type = type;
    f->is_system = true;
    f->is_hidden = hidden;
    f->min_date = xstrdup("");
    f->max_date = xstrdup("");
    f->pattern = xstrdup("");
    f->autogenerate_pattern = xstrdup("");
    f->collection_id = xstrdup("");
    f->max_select = 1;
    if (strcmp(name, "id") == 0) {
        f->is_primary_key = true;
        f->is_required = true;
        f->has_min = f->has_max = true;
        f->min = f->max = 15;
        xfree(f->pattern);
        f->pattern = xstrdup("^[a-z0-9]+$");
        xfree(f->autogenerate_pattern);
        f->autogenerate_pattern = xstrdup("[a-z0-9]{15}");
    } else if (strcmp(name, "password") == 0) {
        f->is_required = true;
        f->has_min = true;
        f->min = 8;
    } else if (strcmp(name, "tokenKey") == 0) {
        f->is_required = true;
        f->has_min = f->has_max = true;
        f->min = f->max = 30;
        xfree(f->autogenerate_pattern);
        f->autogenerate_pattern = xstrdup("[a-zA-Z0-9]{50}");
        f->max = 60;
    } else if (strcmp(name, "email") == 0) {
        f->is_required = true;
    }
}

static void check_fields(struct core_collection *c, const struct core_schema *schema,
                         struct core_problem *p)
{
    char path[64];
    for (size_t i = 0; i < c->field_count; i++) {
        struct core_field *f = &c->fields[i];
        if (!is_word(f->name, 100) || is_reserved_field_name(f->name, c->type)) {
            snprintf(path, sizeof(path), "fields.%zu.name", i);
            core_problem_field(p, path,
                               is_word(f->name, 100) ? "validation_reserved_field_name"
                                                     : "validation_invalid_value",
                               "Invalid or reserved field name.", NULL);
        }
        for (size_t k = 0; k < i; k++) {
            if (strcasecmp(c->fields[k].name, f->name) == 0) {
                snprintf(path, sizeof(path), "fields.%zu.name", i);
                core_problem_field(p, path, "validation_not_unique", "Duplicated field name.",
                                   NULL);
            }
            if (f->id[0] && strcmp(c->fields[k].id, f->id) == 0) {
                /* Ids are how an update names the field it changes. */
                snprintf(path, sizeof(path), "fields.%zu.id", i);
                core_problem_field(p, path, "validation_duplicated_field_id",
                                   "Duplicated or invalid field id.", NULL);
            }
        }
        report_option_types(i, common_options, &f->_bad_common, p);
        report_option_types(i, core_field_kind(f)->options, &f->_bad_own, p);
        if (f->is_primary_key && strcmp(f->name, "id") != 0) {
            if (schema) {
                snprintf(path, sizeof(path), "fields.%zu.name", i);
                core_problem_field(p, path, "validation_invalid_primary_key",
                                   "The primary key must be named \"id\".", NULL);
            }
            f->is_primary_key = false; /* loading: the id field is the key */
        }
        const struct core_field_kind *k = core_field_kind(f);
        if (k->check)
            k->check(f, &(struct core_field_check){.collection = c, .schema = schema, .index = i},
                     p);
        if (f->only_domain_count && f->except_domain_count) {
            /* PocketBase: one list or the other, never both. */
            snprintf(path, sizeof(path), "fields.%zu.exceptDomains", i);
            core_problem_field(p, path, "validation_empty", "Must be blank with onlyDomains set.",
                               NULL);
        }
        if (f->help && core_fields_rune_count(f->help, strlen(f->help)) > 300) {
            snprintf(path, sizeof(path), "fields.%zu.help", i);
            core_problem_field(p, path, "validation_length_out_of_range",
                               "The length must be between 1 and 300.", NULL);
        }
        if (f->max_select < 1)
            f->max_select = 1;
        core_field_make_id(f, c);
    }
}

/* PocketBase refuses to change a field's type in place (the stored values
 * would not fit it): a field keeps its id, so a same-id field of another
 * type is an error at "fields.N". A new field under an old name is a new id
 * (the old column is dropped, as in PocketBase). A system field keeps its
 * name; one a change leaves out is kept (from_json), as PocketBase puts its
 * own back. */
static void check_field_changes(const struct core_collection *c, const struct core_collection *base,
                                struct core_problem *p)
{
    char path[64];
    for (size_t i = 0; base && i < c->field_count; i++) {
        for (size_t k = 0; k < base->field_count; k++) {
            const struct core_field *was = &base->fields[k];
            if (strcmp(was->id, c->fields[i].id) != 0)
                continue;
            if (was->type != c->fields[i].type) {
                snprintf(path, sizeof(path), "fields.%zu", i);
                core_problem_field(p, path, "validation_field_type_change",
                                   "Field type cannot be changed.", NULL);
            }
            if (was->is_system && strcmp(was->name, c->fields[i].name) != 0)
                core_problem_field(p, "fields", "validation_system_field_change",
                                   "System fields cannot be deleted or renamed.", NULL);
        }
    }
}

/* True when c has a single-column UNIQUE index on name: one of its own, or
 * the built-in ones of auth collections (email, tokenKey). */
static bool has_unique_index_on(const struct core_collection *c, const char *name)
{
    if (c->type == CORE_COLLECTION_AUTH &&
        (strcmp(name, "email") == 0 || strcmp(name, "tokenKey") == 0))
        return true;
    for (size_t i = 0; i < c->index_count; i++) {
        struct core_index ix;
        const char *why;
        if (core_index_parse(c->indexes[i], &ix, &why) == RC_OK &&
            core_index_is_unique_on(&ix, name))
            return true;
    }
    return false;
}

/* A password login looks an identity up by each identity field: each must
 * exist and be unique, or two records could answer one identity. */
static void check_identity_fields(const struct core_collection *c, struct core_problem *p)
{
    if (c->type != CORE_COLLECTION_AUTH || !c->is_password_auth)
        return;
    for (size_t i = 0; i < c->identity_field_count; i++) {
        const char *name = c->identity_fields[i];
        json_t *params = json_pack("{s:s}", "fieldName", name);
        if (!core_collection_field(c, str_from_cstr(name))) {
            core_problem_field(p, "passwordAuth.identityFields", "validation_missing_field",
                               "Invalid or missing field.", params);
            return;
        }
        if (!has_unique_index_on(c, name)) {
            core_problem_field(p, "passwordAuth.identityFields",
                               "validation_missing_unique_constraint",
                               "The field doesn't have a UNIQUE constraint.", params);
            return;
        }
        json_decref(params);
    }
}

/* MFA needs two different auth methods to pair (PocketBase's
 * validation_mfa_not_enough_auths): a client may not turn it on, nor turn a
 * method off under it, with fewer enabled. */
static void check_mfa_methods(const struct core_collection *c, bool from_client,
                              struct core_problem *p)
{
    int methods = c->is_password_auth + c->is_otp + c->oauth2.is_enabled;
    if (from_client && c->mfa.is_enabled && methods < 2)
        core_problem_field(p, "mfa.enabled", "validation_mfa_not_enough_auths",
                           "MFA requires at least 2 auth methods to be enabled.", NULL);
}

/* -------------------------------------------------------------------------
 * Collections
 * ------------------------------------------------------------------------- */

static struct core_collection *copy_collection(const struct core_collection *b)
{
    struct core_collection *c = xcalloc(1, sizeof(*c));
    *c = *b;
    c->id = xstrdup(b->id);
    c->name = xstrdup(b->name);
    for (int i = 0; i < CORE_RULE_COUNT; i++)
        c->rules[i] = b->rules[i] ? xstrdup(b->rules[i]) : NULL;
    c->auth_rule = b->auth_rule ? xstrdup(b->auth_rule) : NULL;
    c->manage_rule = b->manage_rule ? xstrdup(b->manage_rule) : NULL;
    c->fields = xcalloc(b->field_count ? b->field_count : 1, sizeof(struct core_field));
    for (size_t i = 0; i < b->field_count; i++)
        core_field_copy(&c->fields[i], &b->fields[i]);
    c->indexes = copy_list(b->indexes, b->index_count);
    c->view_query = b->view_query ? xstrdup(b->view_query) : NULL;
    c->created = xstrdup(b->created ? b->created : "");
    c->updated = xstrdup(b->updated ? b->updated : "");
    c->identity_fields = copy_list(b->identity_fields, b->identity_field_count);
    for (int k = 0; k < CORE_TOKEN_KIND_COUNT; k++) {
        c->tokens[k].secret = b->tokens[k].secret ? xstrdup(b->tokens[k].secret) : NULL;
        c->tokens[k].duration_s = b->tokens[k].duration_s;
    }
    core_oauth2_options_copy(&c->oauth2, &b->oauth2);
    core_mfa_options_copy(&c->mfa, &b->mfa);
    core_auth_alert_options_copy(&c->auth_alert, &b->auth_alert);
    for (int k = 0; k < CORE_MAIL_KIND_COUNT; k++)
        core_mail_template_copy(&c->mail[k], &b->mail[k]);
    core_search_options_copy(&c->search, &b->search);
    core_embedding_options_copy(&c->embedding, &b->embedding);
    return c;
}

/* oauth2.mappedFields may name a field the collection has, as the change
 * leaves it (the auth system fields are among them). */
static bool has_field_named(const void *ctx, const char *name)
{
    return core_collection_field(ctx, str_from_cstr(name)) != NULL;
}

static const char *const rule_keys[CORE_RULE_COUNT] = {"listRule", "viewRule", "createRule",
                                                       "updateRule", "deleteRule"};

/* PocketBase's defaults, in seconds, per token kind. */
static const int64_t token_default_duration[CORE_TOKEN_KIND_COUNT] = {
    [CORE_TOKEN_AUTH] = 432000,       [CORE_TOKEN_PASSWORD_RESET] = 1800,
    [CORE_TOKEN_EMAIL_CHANGE] = 1800, [CORE_TOKEN_VERIFICATION] = 86400,
    [CORE_TOKEN_FILE] = 180,
};

/* authToken, passwordResetToken, emailChangeToken, verificationToken and
 * fileToken: {duration, secret}. A duration is 10 s to about 3 years; a
 * secret sent by a superuser (30 to 255 characters) replaces the old one,
 * which revokes every token of that kind (PocketBase's way to revoke a
 * leaked token). Loading from storage (from_client false) trusts what is
 * stored; a kind without a secret gets a random one. */
static void parse_tokens(struct core_collection *c, json_t *in, bool from_client,
                         struct core_problem *p)
{
    char path[64];
    for (int k = 0; k < CORE_TOKEN_KIND_COUNT; k++) {
        const char *name = core_token_option_name((enum core_token_kind)k);
        json_t *o = json_object_get(in, name);
        if (!c->tokens[k].duration_s)
            c->tokens[k].duration_s = token_default_duration[k];
        if (o && !json_is_object(o) && !json_is_null(o)) {
            snprintf(path, sizeof(path), "%s", name);
            core_problem_field(p, path, "validation_invalid_value", "Must be an object.", NULL);
            continue;
        }
        json_t *d = json_object_get(o, "duration");
        if (d && !json_is_null(d)) {
            json_int_t v = json_is_integer(d) ? json_integer_value(d) : -1;
            if (v < 10 || v > 94670856) {
                snprintf(path, sizeof(path), "%s.duration", name);
                core_problem_field(p, path, "validation_invalid_value",
                                   "Must be a whole number of seconds from 10 to 94670856.", NULL);
            } else {
                c->tokens[k].duration_s = v;
            }
        }
        json_t *secret = json_object_get(o, "secret");
        if (secret && !json_is_null(secret) &&
            !(from_client && json_is_string(secret) && json_string_length(secret) == 0)) {
            size_t n = json_is_string(secret) ? json_string_length(secret) : 0;
            if (from_client && (n < 30 || n > 255)) {
                snprintf(path, sizeof(path), "%s.secret", name);
                core_problem_field(p, path, "validation_length_out_of_range",
                                   "Must be 30 to 255 characters.", NULL);
            } else if (n) {
                xfree(c->tokens[k].secret);
                c->tokens[k].secret = xstrdup(json_string_value(secret));
            }
        }
        if (!c->tokens[k].secret && !from_client && k != CORE_TOKEN_AUTH &&
            c->tokens[CORE_TOKEN_AUTH].secret) {
            /* Stored before each kind had its own: the auth secret, as it was
             * signed with then (the kind is in every signing key anyway). */
            c->tokens[k].secret = xstrdup(c->tokens[CORE_TOKEN_AUTH].secret);
        }
        if (!c->tokens[k].secret) {
            char fresh[51];
            secure_random_string(
                STR_LIT("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), fresh,
                50);
            fresh[50] = '\0';
            c->tokens[k].secret = xstrdup(fresh);
        }
    }
}

/* system, from a client: only the server makes system collections (the
 * built-in ones), and a collection's flag never changes. */
static void check_system_flag(json_t *v, const struct core_collection *base, struct core_problem *p)
{
    if (!v || json_is_null(v))
        return;
    if (!json_is_boolean(v))
        core_problem_field(p, "system", "validation_invalid_value", "Must be a boolean.", NULL);
    else if (base && json_is_true(v) != base->is_system)
        core_problem_field(p, "system", "validation_collection_system_flag_change",
                           "System collection state cannot be changed.", NULL);
    else if (!base && json_is_true(v))
        core_problem_field(p, "system", "validation_collection_system_flag_change",
                           "Only the server's own collections are system collections.", NULL);
}

/* A boolean option: absent keeps *out; anything but a boolean is refused
 * (from a client) or ignored (from storage). */
static void read_bool(json_t *obj, const char *key, const char *path, bool *out, bool from_client,
                      struct core_problem *p)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return;
    if (json_is_boolean(v))
        *out = json_is_true(v);
    else if (from_client)
        core_problem_field(p, path, "validation_invalid_value", "Must be a boolean.", NULL);
}

/* A whole number option in [min, max]: absent keeps *out, else as read_bool. */
static void read_int(json_t *obj, const char *key, const char *path, json_int_t min, json_int_t max,
                     int64_t *out, bool from_client, struct core_problem *p)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return;
    if (json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max) {
        *out = json_integer_value(v);
    } else if (from_client) {
        char msg[96];
        snprintf(msg, sizeof(msg), "Must be a whole number from %lld to %lld.", (long long)min,
                 (long long)max);
        core_problem_field(p, path, "validation_invalid_value", msg, NULL);
    }
}

/* otp: {enabled, duration (10 s to a day, as PocketBase), length (4 to 20
 * digits; PocketBase sets no top), emailTemplate}. */
static void parse_otp(struct core_collection *c, json_t *otp, bool from_client,
                      struct core_problem *p)
{
    if (otp && !json_is_object(otp) && !json_is_null(otp) && from_client)
        core_problem_field(p, "otp", "validation_invalid_value", "Must be an object.", NULL);
    if (!json_is_object(otp))
        otp = NULL;
    read_bool(otp, "enabled", "otp.enabled", &c->is_otp, from_client, p);
    read_int(otp, "duration", "otp.duration", 10, 86400, &c->otp_duration_s, from_client, p);
    int64_t length = c->otp_length;
    read_int(otp, "length", "otp.length", 4, 20, &length, from_client, p);
    c->otp_length = (int)length;
    if (c->otp_duration_s <= 0)
        c->otp_duration_s = 180;
    if (c->otp_length <= 0)
        c->otp_length = 8;
    core_mail_template_parse(json_object_get(otp, "emailTemplate"), "otp.emailTemplate",
                             &c->mail[CORE_MAIL_OTP], from_client, p);
}

/* passwordAuth: {enabled, identityFields}. Enabled, it needs an identity
 * field (PocketBase: required); each must be a unique field, which
 * check_identity_fields looks at once the fields are known. */
static void parse_password_auth(struct core_collection *c, json_t *pa, bool from_client,
                                struct core_problem *p)
{
    if (pa && !json_is_object(pa) && !json_is_null(pa) && from_client)
        core_problem_field(p, "passwordAuth", "validation_invalid_value", "Must be an object.",
                           NULL);
    if (!json_is_object(pa))
        pa = NULL;
    read_bool(pa, "enabled", "passwordAuth.enabled", &c->is_password_auth, from_client, p);
    json_t *ids = json_object_get(pa, "identityFields");
    if (ids && !json_is_null(ids)) {
        bool ok = json_is_array(ids);
        size_t i;
        json_t *item;
        json_array_foreach(ids, i, item)
        {
            ok = ok && json_is_string(item);
        }
        if (ok) {
            for (i = 0; i < c->identity_field_count; i++)
                xfree(c->identity_fields[i]);
            xfree(c->identity_fields);
            c->identity_fields = dup_string_list(ids, &c->identity_field_count);
        } else if (from_client) {
            core_problem_field(p, "passwordAuth.identityFields", "validation_invalid_value",
                               "Must be a list of field names.", NULL);
        }
    }
    if (c->identity_field_count == 0 && c->is_password_auth) {
        if (from_client) {
            core_problem_field(p, "passwordAuth.identityFields", "validation_required",
                               "Cannot be blank.", NULL);
        } else {
            c->identity_fields = xcalloc(1, sizeof(char *));
            c->identity_fields[0] = xstrdup("email");
            c->identity_field_count = 1;
        }
    }
}

/* The mails' templates: each kind starts at its default; the three of the
 * token flows are top-level options, the OTP's sits in otp (parse_otp) and
 * the auth alert's in authAlert. */
static void parse_templates(struct core_collection *c, json_t *in, bool from_client,
                            struct core_problem *p)
{
    static const enum core_mail_kind top[] = {CORE_MAIL_VERIFICATION, CORE_MAIL_RESET_PASSWORD,
                                              CORE_MAIL_CONFIRM_EMAIL_CHANGE};
    for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
        const char *path = core_mail_template_path(top[i]);
        core_mail_template_parse(json_object_get(in, path), path, &c->mail[top[i]], from_client, p);
    }
}

/* viewQuery, and what a view collection may not have (PocketBase's
 * validation of view collections): its records are the query's rows, so no
 * write rules (records cannot be written) and no indexes (a view has none).
 * The query itself is checked where the database is (schema/view.h). */
static void parse_view_options(struct core_collection *c, json_t *in, bool from_client,
                               struct core_problem *p)
{
    json_t *q = json_object_get(in, "viewQuery");
    if (q) {
        xfree(c->view_query);
        c->view_query = dup_string(q, "");
    }
    if (!from_client)
        return;
    if (!c->view_query || !c->view_query[0])
        core_problem_field(p, "viewQuery", "validation_required", "Cannot be blank.", NULL);
    for (int i = CORE_RULE_CREATE; i <= CORE_RULE_DELETE; i++) {
        if (c->rules[i])
            core_problem_field(p, rule_keys[i], "validation_nil",
                               "Must be null: the records of a view collection are read-only.",
                               NULL);
    }
    if (c->index_count)
        core_problem_field(p, "indexes", "validation_indexes_not_supported",
                           "View collections don't support indexes.", NULL);
}

enum rc core_collection_from_json(json_t *in, const struct core_collection *base,
                                  const struct core_schema *schema, const char *now,
                                  struct core_collection **out, struct core_problem *p)
{
    if (!json_is_object(in)) {
        core_problem_message(p, "The collection must be a JSON object.");
        return RC_INVALID;
    }
    struct core_collection *c;
    if (base) {
        c = copy_collection(base);
    } else {
        c = xcalloc(1, sizeof(*c));
        c->type = CORE_COLLECTION_BASE;
        c->created = xstrdup(now);
        c->is_password_auth = true;
        c->identity_fields = xcalloc(1, sizeof(char *));
        c->identity_fields[0] = xstrdup("email"); /* PocketBase's default */
        c->identity_field_count = 1;
        c->otp_duration_s = 180;
        c->otp_length = 8;
    }
    xfree(c->updated);
    c->updated = xstrdup(now);
    if (schema)
        check_system_flag(json_object_get(in, "system"), base, p);

    json_t *type = json_object_get(in, "type");
    if (type) {
        const char *t = json_string_value(type);
        enum core_collection_type parsed = CORE_COLLECTION_BASE;
        bool ok = false;
        for (int i = 0; t && i < 3; i++) {
            if (strcmp(t, type_names[i]) == 0) {
                parsed = (enum core_collection_type)i;
                ok = true;
            }
        }
        if (!ok)
            core_problem_field(p, "type", "validation_in_invalid", "Must be a valid value.", NULL);
        else if (base && parsed != base->type)
            core_problem_field(p, "type", "validation_collection_type_change",
                               "Changing the collection type is not allowed.", NULL);
        else
            c->type = parsed;
    }
    json_t *name = json_object_get(in, "name");
    if (name || !base) {
        xfree(c->name);
        c->name = dup_string(name, "");
        if (!is_word(c->name, 255)) {
            core_problem_field(p, "name",
                               json_is_string(name) && json_string_length(name)
                                   ? "validation_collection_name_invalid"
                                   : "validation_required",
                               "Invalid collection name.", NULL);
        } else if (base && base->is_system && strcmp(base->name, c->name) != 0) {
            core_problem_field(p, "name", "validation_collection_system_name_change",
                               "System collection name cannot be changed.", NULL);
        } else if (schema) {
            for (size_t i = 0; i < schema->count; i++) {
                const struct core_collection *o = schema->items[i];
                if (base && strcmp(o->id, base->id) == 0)
                    continue;
                if (strcasecmp(o->name, c->name) == 0 || strcmp(o->id, c->name) == 0)
                    core_problem_field(p, "name", "validation_collection_name_exists",
                                       "Collection name must be unique (case insensitive).", NULL);
            }
        }
        if (c->name[0] == '_' && !base)
            c->is_system = false; /* only bootstrap code makes system collections */
    }
    if (!base) {
        json_t *id = json_object_get(in, "id");
        if (json_is_string(id) && json_string_length(id)) {
            c->id = xstrdup(json_string_value(id));
            if (!is_word(c->id, 100))
                core_problem_field(p, "id", "validation_invalid_value", "Invalid id.", NULL);
            for (size_t i = 0; schema && i < schema->count; i++) {
                if (strcmp(schema->items[i]->id, c->id) == 0 ||
                    strcasecmp(schema->items[i]->name, c->id) == 0)
                    core_problem_field(p, "id", "validation_not_unique", "The id is taken.", NULL);
            }
        } else {
            char idbuf[64], seed[300];
            int w = snprintf(seed, sizeof(seed), "%s%s", type_names[c->type], c->name);
            /* A name too long for seed (refused below) is hashed as cut, not past it. */
            size_t n = w < 0 ? 0 : (size_t)w < sizeof(seed) ? (size_t)w : sizeof(seed) - 1;
            snprintf(idbuf, sizeof(idbuf), "pbc_%u", crc32_ieee(seed, n));
            for (int k = 2; schema && core_schema_find_exact(schema, str_from_cstr(idbuf)); k++)
                snprintf(idbuf, sizeof(idbuf), "pbc_%u%d", crc32_ieee(seed, n), k);
            c->id = xstrdup(idbuf);
        }
    }
    for (int i = 0; i < CORE_RULE_COUNT; i++) {
        bool present;
        char *r = get_rule(in, rule_keys[i], NULL, &present);
        if (present) {
            xfree(c->rules[i]);
            c->rules[i] = r;
        }
    }
    if (c->type == CORE_COLLECTION_AUTH) {
        for (int k = 0; k < CORE_MAIL_KIND_COUNT; k++) {
            if (!c->mail[k].subject)
                core_mail_template_set_default(&c->mail[k], (enum core_mail_kind)k);
        }
        bool present;
        char *r = get_rule(in, "authRule", "", &present);
        if (present || !base) {
            xfree(c->auth_rule);
            c->auth_rule = r;
        } else {
            xfree(r);
        }
        r = get_rule(in, "manageRule", NULL, &present);
        if (schema && r && !r[0]) {
            /* "" would let anyone manage every account: PocketBase refuses it. */
            core_problem_field(p, "manageRule", "validation_nil_or_not_empty_required",
                               "Cannot be blank.", NULL);
        }
        if (present) {
            xfree(c->manage_rule);
            c->manage_rule = r;
        } else {
            xfree(r);
        }
        parse_tokens(c, in, schema != NULL, p);
        parse_otp(c, json_object_get(in, "otp"), schema != NULL, p);
        parse_password_auth(c, json_object_get(in, "passwordAuth"), schema != NULL, p);
        parse_templates(c, in, schema != NULL, p);
        core_oauth2_options_parse(json_object_get(in, "oauth2"), &c->oauth2, p);
        core_mfa_options_parse(json_object_get(in, "mfa"), &c->mfa, schema != NULL, p);
        core_auth_alert_options_parse(json_object_get(in, "authAlert"), &c->auth_alert,
                                      schema != NULL, p);
        check_mfa_methods(c, schema != NULL, p);
    }
    json_t *indexes = json_object_get(in, "indexes");
    if (json_is_array(indexes)) {
        for (size_t i = 0; i < c->index_count; i++)
            xfree(c->indexes[i]);
        xfree(c->indexes);
        c->indexes = dup_string_list(indexes, &c->index_count);
    }
    if (c->type == CORE_COLLECTION_VIEW)
        parse_view_options(c, in, schema != NULL, p);
    bool is_search_given;
    core_search_options_parse(json_object_get(in, "search"), &c->search, schema != NULL,
                              &is_search_given, p);
    bool is_embedding_given;
    core_embedding_options_parse(json_object_get(in, "embedding"), &c->embedding, schema != NULL,
                                 &is_embedding_given, p);
    /* A view's fields are its query's columns (schema/view.h), whatever is sent. */
    json_t *fields =
        c->type == CORE_COLLECTION_VIEW && schema ? NULL : json_object_get(in, "fields");
    if (fields && !json_is_array(fields)) {
        core_problem_field(p, "fields", "validation_invalid_value", "Must be an array.", NULL);
    } else if (fields) {
        size_t n = json_array_size(fields);
        struct core_field *list = xcalloc(n ? n : 1, sizeof(struct core_field));
        for (size_t i = 0; i < n; i++) {
            json_t *fj = json_array_get(fields, i);
            if (!json_is_object(fj)) {
                char path[32];
                snprintf(path, sizeof(path), "fields.%zu", i);
                core_problem_field(p, path, "validation_invalid_value", "Invalid field.", NULL);
                fj = json_object();
                parse_field(fj, i, &list[i], schema != NULL, p);
                json_decref(fj);
                continue;
            }
            parse_field(fj, i, &list[i], schema != NULL, p);
        }
        for (size_t i = 0; i < c->field_count; i++) {
            /* System fields cannot be removed: keep them when a patch omits them. */
            bool kept = false;
            for (size_t k = 0; k < n && !kept; k++)
                kept = strcmp(list[k].id, c->fields[i].id) == 0 ||
                       strcmp(list[k].name, c->fields[i].name) == 0;
            if (!kept && c->fields[i].is_system) {
                list = xrealloc(list, (n + 1) * sizeof(struct core_field));
                core_field_copy(&list[n++], &c->fields[i]);
            }
        }
        struct core_collection old = *c;
        c->fields = list;
        c->field_count = n;
        for (size_t i = 0; i < old.field_count; i++)
            core_field_cleanup(&old.fields[i]);
        xfree(old.fields);
    }
    if (c->type != CORE_COLLECTION_VIEW)
        ensure_field(c, "id", CORE_FIELD_TEXT, false, 0);
    if (c->type == CORE_COLLECTION_AUTH) {
        ensure_field(c, "password", CORE_FIELD_PASSWORD, true, 1);
        ensure_field(c, "tokenKey", CORE_FIELD_TEXT, true, 2);
        ensure_field(c, "email", CORE_FIELD_EMAIL, false, 3);
        ensure_field(c, "emailVisibility", CORE_FIELD_BOOL, false, 4);
        ensure_field(c, "verified", CORE_FIELD_BOOL, false, 5);
    }
    check_fields(c, schema, p);
    check_field_changes(c, base, p);
    core_search_options_check(c, base, is_search_given, schema != NULL, p);
    core_embedding_options_check(c, base, is_embedding_given, schema != NULL, p);
    check_identity_fields(c, p);
    if (c->type == CORE_COLLECTION_AUTH)
        core_oauth2_check_mapped(&c->oauth2, has_field_named, c, p);
    if (core_problem_has_fields(p)) {
        core_collection_free(c);
        return RC_INVALID;
    }
    *out = c;
    return RC_OK;
}

/* -------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------- */

static void write_rule(struct jsonw *w, const char *key, const char *rule)
{
    jsonw_key_cstr(w, key);
    if (rule)
        jsonw_string_cstr(w, rule);
    else
        jsonw_null(w);
}

static void write_field(struct jsonw *w, const struct core_field *f)
{
    jsonw_object_begin(w);
    jsonw_key_cstr(w, "id");
    jsonw_string_cstr(w, f->id);
    jsonw_key_cstr(w, "name");
    jsonw_string_cstr(w, f->name);
    jsonw_key_cstr(w, "type");
    jsonw_string_cstr(w, core_field_type_name(f->type));
    jsonw_key_cstr(w, "system");
    jsonw_bool(w, f->is_system);
    jsonw_key_cstr(w, "hidden");
    jsonw_bool(w, f->is_hidden);
    jsonw_key_cstr(w, "presentable");
    jsonw_bool(w, f->is_presentable);
    const struct core_field_kind *k = core_field_kind(f);
    if (k->input != CORE_FIELD_INPUT_AUTO) {
        jsonw_key_cstr(w, "help");
        jsonw_string_cstr(w, f->help ? f->help : "");
        jsonw_key_cstr(w, "required");
        jsonw_bool(w, f->is_required);
    }
    if (k->write)
        k->write(w, f);
    jsonw_object_end(w);
}

void core_collection_write_json(struct jsonw *w, const struct core_collection *c, bool with_secrets)
{
    jsonw_object_begin(w);
    jsonw_key_cstr(w, "id");
    jsonw_string_cstr(w, c->id);
    jsonw_key_cstr(w, "name");
    jsonw_string_cstr(w, c->name);
    jsonw_key_cstr(w, "type");
    jsonw_string_cstr(w, core_collection_type_name(c->type));
    jsonw_key_cstr(w, "system");
    jsonw_bool(w, c->is_system);
    for (int i = 0; i < CORE_RULE_COUNT; i++)
        write_rule(w, rule_keys[i], c->rules[i]);
    jsonw_key_cstr(w, "fields");
    jsonw_array_begin(w);
    for (size_t i = 0; i < c->field_count; i++)
        write_field(w, &c->fields[i]);
    jsonw_array_end(w);
    core_fields_write_list(w, "indexes", c->indexes, c->index_count);
    jsonw_key_cstr(w, "created");
    jsonw_string_cstr(w, c->created ? c->created : "");
    jsonw_key_cstr(w, "updated");
    jsonw_string_cstr(w, c->updated ? c->updated : "");
    if (c->type == CORE_COLLECTION_AUTH) {
        write_rule(w, "authRule", c->auth_rule);
        write_rule(w, "manageRule", c->manage_rule);
        for (int k = 0; k < CORE_TOKEN_KIND_COUNT; k++) {
            jsonw_key_cstr(w, core_token_option_name((enum core_token_kind)k));
            jsonw_object_begin(w);
            jsonw_key_cstr(w, "duration");
            jsonw_int(w, c->tokens[k].duration_s);
            if (with_secrets && c->tokens[k].secret) {
                jsonw_key_cstr(w, "secret");
                jsonw_string_cstr(w, c->tokens[k].secret);
            }
            jsonw_object_end(w);
        }
        jsonw_key_cstr(w, "passwordAuth");
        jsonw_object_begin(w);
        jsonw_key_cstr(w, "enabled");
        jsonw_bool(w, c->is_password_auth);
        core_fields_write_list(w, "identityFields", c->identity_fields, c->identity_field_count);
        jsonw_object_end(w);
        jsonw_key_cstr(w, "otp");
        jsonw_object_begin(w);
        jsonw_key_cstr(w, "enabled");
        jsonw_bool(w, c->is_otp);
        jsonw_key_cstr(w, "duration");
        jsonw_int(w, c->otp_duration_s);
        jsonw_key_cstr(w, "length");
        jsonw_int(w, c->otp_length);
        core_mail_template_write(w, "emailTemplate", &c->mail[CORE_MAIL_OTP]);
        jsonw_object_end(w);
        core_oauth2_options_write(w, &c->oauth2, with_secrets);
        core_mfa_options_write(w, &c->mfa);
        core_auth_alert_options_write(w, &c->auth_alert);
        for (int k = CORE_MAIL_VERIFICATION; k <= CORE_MAIL_CONFIRM_EMAIL_CHANGE; k++)
            core_mail_template_write(w, core_mail_template_path((enum core_mail_kind)k),
                                     &c->mail[k]);
    }
    if (c->type == CORE_COLLECTION_VIEW) {
        jsonw_key_cstr(w, "viewQuery");
        jsonw_string_cstr(w, c->view_query ? c->view_query : "");
    }
    core_search_options_write(w, &c->search);
    core_embedding_options_write(w, &c->embedding);
    jsonw_object_end(w);
}
