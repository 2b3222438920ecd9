/* fuzz_record_input.c -- libFuzzer target for JSON request bodies: the bytes
 * are parsed as JSON (jansson, as api/call.c does) and, when they form an
 * object, decoded into a record of a collection with every field type
 * (coercion, modifiers, validation, auth fields), for a create and for an
 * update, as a guest and as a superuser. Invariants: a successful build has a
 * value for every field; a password field's value is never what was sent
 * (the stored one, "" here), and every secret is non-empty. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/secure.h"
#include "core/record/record_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct core_field field(const char *name, enum core_field_type type)
{
    struct core_field f = {0};
    f.name = (char *)name;
    f.id = (char *)name;
    f.type = type;
    f.max_select = 1;
    f.pattern = (char *)"";
    f.autogenerate_pattern = (char *)"";
    f.min_date = (char *)"";
    f.max_date = (char *)"";
    f.collection_id = (char *)"";
    return f;
}

static char *select_values[] = {"go", "c", "js"};

static struct core_collection *make_collection(bool is_auth)
{
    static struct core_field fields[24];
    static struct core_collection c;
    size_t n = 0;
    fields[n] = field("id", CORE_FIELD_TEXT);
    fields[n].is_primary_key = true;
    fields[n].pattern = (char *)"^[a-z0-9]+$";
    fields[n].autogenerate_pattern = (char *)"[a-z0-9]{15}";
    fields[n].has_min = fields[n].has_max = true;
    fields[n].min = 15;
    fields[n].max = 15;
    n++;
    fields[n] = field("title", CORE_FIELD_TEXT);
    fields[n].is_required = true;
    fields[n].has_max = true;
    fields[n++].max = 50;
    fields[n] = field("views", CORE_FIELD_NUMBER);
    fields[n].only_int = true;
    fields[n].has_min = true;
    fields[n++].min = 0;
    fields[n++] = field("published", CORE_FIELD_BOOL);
    fields[n++] = field("contact", CORE_FIELD_EMAIL);
    fields[n++] = field("site", CORE_FIELD_URL);
    fields[n++] = field("when", CORE_FIELD_DATE);
    fields[n] = field("tags", CORE_FIELD_SELECT);
    fields[n].max_select = 3;
    fields[n].values = select_values;
    fields[n++].value_count = 3;
    fields[n] = field("rel", CORE_FIELD_RELATION);
    fields[n++].max_select = 5;
    fields[n++] = field("meta", CORE_FIELD_JSON);
    fields[n++] = field("loc", CORE_FIELD_GEOPOINT);
    fields[n] = field("created", CORE_FIELD_AUTODATE);
    fields[n++].on_create = true;
    fields[n] = field("pin", CORE_FIELD_PASSWORD);
    fields[n].has_min = fields[n].has_max = true;
    fields[n].min = 4;
    fields[n].max = 8;
    fields[n++].pattern = (char *)"^[0-9]+$";
    if (is_auth) {
        fields[n] = field("password", CORE_FIELD_PASSWORD);
        fields[n++].is_hidden = true;
        fields[n] = field("tokenKey", CORE_FIELD_TEXT);
        fields[n++].is_hidden = true;
        fields[n++] = field("email", CORE_FIELD_EMAIL);
        fields[n++] = field("verified", CORE_FIELD_BOOL);
    }
    c.id = (char *)"pbc_fuzz";
    c.name = (char *)"fuzz";
    c.type = is_auth ? CORE_COLLECTION_AUTH : CORE_COLLECTION_BASE;
    c.fields = fields;
    c.field_count = n;
    return &c;
}

static void run(const struct core_collection *c, json_t *body, bool is_superuser)
{
    struct core_auth auth = {.is_superuser = is_superuser};
    struct core_request r = {.auth = &auth};
    for (int pass = 0; pass < 2; pass++) {
        json_t *current = NULL;
        if (pass == 1) {
            current = json_object();
            for (size_t i = 0; i < c->field_count; i++)
                json_object_set_new(current, c->fields[i].name, json_string(""));
            json_object_set_new(current, "id", json_string("abcdefghijklmno"));
        }
        struct core_record_input in;
        struct core_problem p;
        core_problem_init(&p);
        enum rc rc = core_record_input_build(&r, c, body, current, &in, &p);
        if (rc == RC_OK) {
            for (size_t i = 0; i < c->field_count; i++) {
                json_t *v = json_object_get(in.values, c->fields[i].name);
                if (!v)
                    abort();
                if (c->fields[i].type == CORE_FIELD_PASSWORD && json_string_length(v) != 0)
                    abort();
            }
        }
        for (size_t i = 0; i < in.secret_count; i++) {
            if (!in.secrets[i].plain[0] || in.secrets[i].field->type != CORE_FIELD_PASSWORD)
                abort();
        }
        core_record_input_cleanup(&in);
        core_problem_cleanup(&p);
        json_decref(current);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        secure_init();
        ready = true;
    }
    json_t *body = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (json_is_object(body)) {
        run(make_collection(false), body, false);
        run(make_collection(false), body, true);
        run(make_collection(true), body, false);
    }
    json_decref(body);
    return 0;
}
