/* record_input.c -- see record_input.h. */
#include "core/record/record_input.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/secure.h"
#include "core/files/file_input.h"
#include "core/files/files.h"
#include "core/schema/field_type.h"
#include "core/schema/field_value.h"

/* -------------------------------------------------------------------------
 * Values: each field's kind coerces, modifies and validates (field_type.h)
 * ------------------------------------------------------------------------- */

/* "field+", "+field", "field-": only kinds with modifiers change. */
static json_t *apply_modifier(const struct core_field *f, json_t *old, json_t *given, char mod,
                              bool prepend)
{
    const struct core_field_kind *k = core_field_kind(f);
    if (!k->modify)
        return json_incref(old); /* no modifiers for other types */
    return k->modify(f, old, given, mod, prepend);
}

/* True for a field an auth collection logs in by (passwordAuth.identityFields). */
static bool is_identity_field(const struct core_collection *c, const struct core_field *f)
{
    for (size_t i = 0; c->type == CORE_COLLECTION_AUTH && i < c->identity_field_count; i++) {
        if (strcmp(c->identity_fields[i], f->name) == 0)
            return true;
    }
    return false;
}

/* A field's value: required when empty, else its kind's checks. Fields the
 * server sets have none; secrets are validate_password()'s. */
static void validate(const struct core_field *f, json_t *v, const struct core_field_value_ctx *ctx,
                     struct core_problem *p)
{
    const struct core_field_kind *k = core_field_kind(f);
    if (k->input == CORE_FIELD_INPUT_AUTO || k->input == CORE_FIELD_INPUT_SECRET)
        return;
    if (core_field_value_is_empty(f, v)) {
        if (f->is_required)
            core_problem_field(p, f->name, "validation_required", "Cannot be blank.", NULL);
        return;
    }
    if (k->validate)
        k->validate(f, v, ctx, p);
}

/* -------------------------------------------------------------------------
 * Password fields
 * ------------------------------------------------------------------------- */

/* The auth login password: its form rules (passwordConfirm, oldPassword,
 * required on create) are the auth block's in core_record_input_build(). */
static bool is_auth_password(const struct core_collection *c, const struct core_field *f)
{
    return c->type == CORE_COLLECTION_AUTH && strcmp(f->name, "password") == 0;
}

static const struct core_record_secret *find_secret(const struct core_record_input *in,
                                                    const struct core_field *f)
{
    for (size_t i = 0; i < in->secret_count; i++) {
        if (in->secrets[i].field == f)
            return &in->secrets[i];
    }
    return NULL;
}

/* Keeps given as f's new plain value when it is not empty (an empty value
 * changes nothing); false when it is empty. */
static bool add_secret(struct core_record_input *in, const struct core_field *f, json_t *given)
{
    json_t *text = core_field_value_text(given);
    size_t len = json_string_length(text);
    if (len) {
        struct core_record_secret *s = (struct core_record_secret *)find_secret(in, f);
        if (!s) {
            in->secrets = xrealloc(in->secrets, (in->secret_count + 1) * sizeof(*in->secrets));
            s = &in->secrets[in->secret_count++];
            memset(s, 0, sizeof(*s));
            s->field = f;
        } else {
            secure_zero(s->plain, strlen(s->plain));
            xfree(s->plain);
        }
        s->plain = xstrndup(json_string_value(text), len);
    }
    json_decref(text);
    return len > 0;
}

/* Required is met by a new value or the stored hash (the login password's
 * by the auth block of core_record_input_build()); a new value is checked by
 * its kind (length, pattern: schema/fields/password.c). */
static void validate_password(const struct core_collection *c, const struct core_field *f,
                              const struct core_record_input *in, struct core_problem *p)
{
    const struct core_record_secret *s = find_secret(in, f);
    if (!s) {
        if (f->is_required && !is_auth_password(c, f) &&
            core_field_value_is_empty(f, json_object_get(in->values, f->name)))
            core_problem_field(p, f->name, "validation_required", "Cannot be blank.", NULL);
        return;
    }
    json_t *plain = json_stringn_nocheck(s->plain, strlen(s->plain));
    struct core_field_value_ctx ctx = {.is_login_password = is_auth_password(c, f)};
    core_field_kind(f)->validate(f, plain, &ctx, p);
    secure_zero((char *)json_string_value(plain), json_string_length(plain));
    json_decref(plain);
}

enum rc core_record_input_hash(struct core_record_input *in, struct core_password_params params)
{
    for (size_t i = 0; i < in->secret_count; i++) {
        struct buf phc;
        buf_init(&phc, CORE_PASSWORD_PHC_MAX);
        enum rc rc = core_password_hash(str_from_cstr(in->secrets[i].plain), params, &phc);
        if (!rc) {
            xfree(in->secrets[i].hash);
            in->secrets[i].hash = xstrndup(phc.data, phc.len);
        }
        buf_cleanup(&phc);
        if (rc) {
            for (size_t k = 0; k < in->secret_count; k++) {
                xfree(in->secrets[k].hash);
                in->secrets[k].hash = NULL;
            }
            return rc;
        }
    }
    return RC_OK;
}

bool core_record_input_has_secret(const struct core_collection *c, json_t *body)
{
    for (size_t i = 0; i < c->field_count; i++) {
        if (core_field_kind(&c->fields[i])->input == CORE_FIELD_INPUT_SECRET &&
            json_object_get(body, c->fields[i].name))
            return true;
    }
    return false;
}

/* -------------------------------------------------------------------------
 * Building the input
 * ------------------------------------------------------------------------- */

static bool is_valid_record_id(const char *id)
{
    static const char forbidden[] = "./\\|\"'`<>:?*%$ \n\r\t";
    size_t n = strlen(id);
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strchr(forbidden, id[i]) || id[i] == '\0')
            return false;
    }
    static const char *const reserved[] = {"aux", "prn", "con", "nul"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(id, reserved[i]) == 0)
            return false;
    }
    return !((strncasecmp(id, "com", 3) == 0 || strncasecmp(id, "lpt", 3) == 0) && n == 4 &&
             id[3] >= '1' && id[3] <= '9');
}

/* Splits "name+", "+name", "name-" into the field name and the modifier. */
static const struct core_field *field_for_key(const struct core_collection *c, const char *key,
                                              char *mod, bool *prepend)
{
    size_t n = strlen(key);
    *mod = 0;
    *prepend = false;
    if (n > 1 && key[0] == '+') {
        *mod = '+';
        *prepend = true;
        return core_collection_field(c, (struct str){key + 1, n - 1});
    }
    if (n > 1 && (key[n - 1] == '+' || key[n - 1] == '-')) {
        *mod = key[n - 1];
        return core_collection_field(c, (struct str){key, n - 1});
    }
    return core_collection_field(c, (struct str){key, n});
}

enum rc core_record_input_build(struct core_request *r, const struct core_collection *c,
                                json_t *body, json_t *current, struct core_record_input *out,
                                struct core_problem *p)
{
    memset(out, 0, sizeof(*out));
    out->is_manager = core_request_is_superuser(r) || r->is_manager;
    out->values = json_object();
    out->changed = json_array();
    out->body = json_object();
    bool is_create = current == NULL;
    /* Start from the stored record (update) or the empty values (create). */
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        json_t *v = current ? json_object_get(current, f->name) : NULL;
        json_object_set_new(out->values, f->name, v ? json_incref(v) : core_field_value_empty(f));
    }
    /* Plain keys first, then modifiers, so "tags" then "tags+" compose. */
    for (int pass = 0; pass < 2; pass++) {
        const char *key;
        json_t *given;
        json_object_foreach(body, key, given)
        {
            char mod;
            bool prepend;
            const struct core_field *f = field_for_key(c, key, &mod, &prepend);
            if (!f || (pass == 0) != (mod == 0))
                continue;
            const struct core_field_kind *k = core_field_kind(f);
            if (k->input == CORE_FIELD_INPUT_AUTO)
                continue;
            if (f->is_hidden && !core_request_is_superuser(r) && !is_auth_password(c, f))
                continue;
            if (c->type == CORE_COLLECTION_AUTH && strcmp(f->name, "tokenKey") == 0 &&
                !core_request_is_superuser(r))
                continue;
            if (k->input == CORE_FIELD_INPUT_UPLOAD)
                continue; /* below, with the uploads */
            if (k->input == CORE_FIELD_INPUT_SECRET) {
                /* values keeps the stored hash; modifiers mean nothing here. */
                if (!mod && add_secret(out, f, given))
                    json_array_append_new(out->changed, json_string(f->name));
                continue;
            }
            if (f->is_primary_key && !is_create) {
                json_t *want = core_field_value_text(given);
                if (!json_equal(want, json_object_get(current, f->name)))
                    core_problem_field(p, f->name, "validation_pk_change",
                                       "The record primary key cannot be changed.", NULL);
                json_decref(want);
                continue;
            }
            json_t *v;
            if (mod)
                v = apply_modifier(f, json_object_get(out->values, f->name), given, mod, prepend);
            else
                v = k->coerce(f, given);
            json_object_set_new(out->values, f->name, v);
            json_array_append_new(out->changed, json_string(f->name));
        }
    }
    /* File fields: names, modifiers and uploads together (spec §8.1). */
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (core_field_kind(f)->input != CORE_FIELD_INPUT_UPLOAD ||
            (f->is_hidden && !core_request_is_superuser(r)))
            continue;
        json_t *v = core_file_input_resolve(f, body, json_object_get(out->values, f->name), p);
        if (!v)
            continue;
        json_object_set_new(out->values, f->name, v);
        json_array_append_new(out->changed, json_string(f->name));
        json_object_set(out->body, f->name, v);
    }
    /* The resolved body that rules see as @request.body (plain names). */
    const char *key;
    json_t *given;
    json_object_foreach(body, key, given)
    {
        char mod;
        bool prepend;
        if (strcmp(key, CORE_FILES_BODY_KEY) == 0)
            continue;
        const struct core_field *f = field_for_key(c, key, &mod, &prepend);
        if (f && core_field_kind(f)->input == CORE_FIELD_INPUT_SECRET) {
            if (!mod) /* as sent, never the stored hash */
                json_object_set_new(out->body, f->name, core_field_value_text(given));
        } else if (f) {
            json_object_set(out->body, f->name, json_object_get(out->values, f->name));
        } else {
            json_object_set(out->body, key, given);
        }
    }
    bool is_id_generated = false;
    if (is_create) {
        json_t *id = json_object_get(out->values, "id");
        if (json_string_length(id) == 0) {
            const struct core_field *idf = core_collection_field(c, STR_LIT("id"));
            json_object_set_new(out->values, "id",
                                core_field_value_generate(idf ? idf->autogenerate_pattern : NULL));
            is_id_generated = true;
        } else if (!is_valid_record_id(json_string_value(id))) {
            core_problem_field(p, "id", "validation_forbidden_pk_character",
                               "The record id contains forbidden characters.", NULL);
        }
    }
    char now[32];
    chrono_format_db_ms(chrono_real_ms(), now);
    for (size_t i = 0; i < c->field_count; i++) {
        /* What the server sets: autodates, autogeneratePattern on create. */
        const struct core_field *f = &c->fields[i];
        const struct core_field_kind *k = core_field_kind(f);
        json_t *v = k->on_save
                        ? k->on_save(f, json_object_get(out->values, f->name), is_create, now)
                        : NULL;
        if (v)
            json_object_set_new(out->values, f->name, v);
    }
    if (c->type == CORE_COLLECTION_AUTH) {
        json_t *confirm = json_object_get(body, "passwordConfirm");
        const struct core_field *pf = core_collection_field(c, STR_LIT("password"));
        const struct core_record_secret *secret = pf ? find_secret(out, pf) : NULL;
        if (secret) {
            /* Length and pattern: validate_password(), as for any password field. */
            json_t *confirm_text = confirm ? core_field_value_text(confirm) : NULL;
            if (!core_request_is_superuser(r) && !json_string_length(confirm_text))
                core_problem_field(p, "passwordConfirm", "validation_required", "Cannot be blank.",
                                   NULL);
            else if (!core_request_is_superuser(r) &&
                     strcmp(json_string_value(confirm_text), secret->plain))
                core_problem_field(p, "passwordConfirm", "validation_values_mismatch",
                                   "Values don't match.", NULL);
            json_decref(confirm_text);
            out->password = secret->plain;
        } else if (is_create) {
            core_problem_field(p, "password", "validation_required", "Cannot be blank.", NULL);
        }
        /* A new password or email ends every token of the record (spec §6.1). */
        bool email_changed =
            !is_create && json_object_get(body, "email") &&
            !json_equal(json_object_get(out->values, "email"), json_object_get(current, "email"));
        if (is_create || out->password || email_changed)
            json_object_set_new(out->values, "tokenKey",
                                core_field_value_generate("[a-zA-Z0-9]{50}"));
        if (!out->is_manager) {
            json_t *verified = json_object_get(body, "verified");
            json_t *stored = current ? json_object_get(current, "verified") : json_false();
            json_t *wanted = verified ? core_field_value_bool(verified) : NULL;
            if (wanted && !json_equal(wanted, stored ? stored : json_false()))
                core_problem_field(p, "verified", "validation_values_mismatch",
                                   "Only managers can change the verified state.", NULL);
            json_decref(wanted);
            if (!is_create && json_object_get(body, "email") &&
                !json_equal(json_object_get(body, "email"), json_object_get(current, "email")))
                core_problem_field(p, "email", "validation_values_mismatch",
                                   "Use the email change flow.", NULL);
        }
    }
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        /* A generated id matches its own pattern by construction: skip the regex. */
        if (is_id_generated && f->is_primary_key)
            continue;
        if (core_field_kind(f)->input == CORE_FIELD_INPUT_SECRET) {
            validate_password(c, f, out, p);
        } else {
            struct core_field_value_ctx ctx = {.is_identity = is_identity_field(c, f)};
            validate(f, json_object_get(out->values, f->name), &ctx, p);
        }
    }
    if (core_problem_has_fields(p)) {
        core_problem_message(p,
                             is_create ? "Failed to create record." : "Failed to update record.");
        return RC_INVALID;
    }
    return RC_OK;
}

void core_record_input_cleanup(struct core_record_input *in)
{
    json_decref(in->values);
    json_decref(in->changed);
    json_decref(in->body);
    for (size_t i = 0; i < in->secret_count; i++) {
        secure_zero(in->secrets[i].plain, strlen(in->secrets[i].plain));
        xfree(in->secrets[i].plain);
        xfree(in->secrets[i].hash);
    }
    xfree(in->secrets);
    memset(in, 0, sizeof(*in));
}
