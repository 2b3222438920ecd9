/* test_collection_json.c -- unit tests of core/schema/collection_json.h:
 * the ids PocketBase derives (CRC-32), the system fields each collection
 * type gets, parse -> write -> parse round trips of every field type's
 * options, token secrets written only for storage, partial updates, and
 * each validation error at its field path with its contract code. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/jsonw.h"
#include "core/schema/collection_json.h"

#define NOW "2024-01-02 03:04:05.678Z"

/* Parses text as a collection (a create when base is NULL). */
static enum rc parse(const char *text, const struct core_collection *base,
                     const struct core_schema *schema, struct core_collection **out,
                     struct core_problem *p)
{
    json_error_t err;
    json_t *in = json_loads(text, JSON_DECODE_ANY, &err);
    if (!in)
        fail_msg("bad test JSON: %s: %s", err.text, text);
    core_problem_init(p);
    *out = NULL;
    enum rc rc = core_collection_from_json(in, base, schema, NOW, out, p);
    json_decref(in);
    return rc;
}

/* Parses text, which must be valid. */
static struct core_collection *parse_ok(const char *text, const struct core_collection *base,
                                        const struct core_schema *schema)
{
    struct core_collection *c;
    struct core_problem p;
    enum rc rc = parse(text, base, schema, &c, &p);
    if (rc != RC_OK) {
        char *d = p.data ? json_dumps(p.data, JSON_COMPACT) : NULL;
        fail_msg("rc %d, message \"%s\", data %s", rc, p.message, d ? d : "null");
    }
    core_problem_cleanup(&p);
    assert_non_null(c);
    return c;
}

/* The collection's JSON as text (owned by the caller). */
static char *write_text(const struct core_collection *c, bool with_secrets)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    struct jsonw w;
    jsonw_init(&w, &b);
    core_collection_write_json(&w, c, with_secrets);
    assert_int_equal(jsonw_finish(&w), RC_OK);
    char *s = xstrndup(b.data, b.len);
    buf_cleanup(&b);
    return s;
}

static json_t *write_json(const struct core_collection *c, bool with_secrets)
{
    char *s = write_text(c, with_secrets);
    json_t *j = json_loads(s, 0, NULL);
    assert_non_null(j);
    xfree(s);
    return j;
}

/* The error object at a dotted path of p's data ("fields.2.name"), or NULL. */
static json_t *error_at(const struct core_problem *p, const char *path)
{
    json_t *node = p->data;
    char key[64];
    const char *s = path;
    while (node) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        memcpy(key, s, n);
        key[n] = '\0';
        node = json_object_get(node, key);
        if (!dot)
            return node;
        s = dot + 1;
    }
    return NULL;
}

#define assert_error_code(p, path, want)                                                           \
    do {                                                                                           \
        json_t *e_ = error_at((p), (path));                                                        \
        if (!e_) {                                                                                 \
            char *d_ = (p)->data ? json_dumps((p)->data, JSON_COMPACT) : NULL;                     \
            fail_msg("no error at %s; errors: %s", (path), d_ ? d_ : "none");                      \
        }                                                                                          \
        assert_string_equal(json_string_value(json_object_get(e_, "code")), (want));               \
    } while (0)

/* Parses text, expecting RC_INVALID with the code at path. */
static void expect_error(const char *text, const struct core_collection *base,
                         const struct core_schema *schema, const char *path, const char *code)
{
    struct core_collection *c;
    struct core_problem p;
    assert_int_equal(parse(text, base, schema, &c, &p), RC_INVALID);
    assert_null(c);
    assert_error_code(&p, path, code);
    core_problem_cleanup(&p);
}

/* A schema snapshot of the given collections (taken over). */
static struct core_schema *schema_of(struct core_collection **items, size_t n)
{
    struct core_schema *s = xcalloc(1, sizeof(*s));
    s->items = xcalloc(n ? n : 1, sizeof(*s->items));
    for (size_t i = 0; i < n; i++)
        s->items[s->count++] = items[i];
    return s;
}

static const char *field_name(const struct core_collection *c, size_t i)
{
    assert_true(i < c->field_count);
    return c->fields[i].name;
}

/* The output object of the field named name. */
static json_t *field_json(json_t *collection, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(collection, "fields"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0)
            return f;
    }
    fail_msg("no field %s in the output", name);
    return NULL;
}

/* ---- ids ---------------------------------------------------------------- */

static void test_create_derives_pocketbase_collection_and_field_ids(void **state)
{
    struct core_collection *c = parse_ok(
        "{\"name\":\"posts\",\"fields\":[{\"name\":\"title\",\"type\":\"text\"}]}", NULL, NULL);
    /* PocketBase's ids for the same definition. */
    assert_string_equal(c->id, "pbc_1125843985");
    assert_string_equal(field_name(c, 1), "title");
    assert_string_equal(c->fields[1].id, "text724990059");
    assert_string_equal(c->created, NOW);
    assert_string_equal(c->updated, NOW);
    core_collection_free(c);
}

static void test_create_keeps_a_given_id(void **state)
{
    struct core_collection *c = parse_ok("{\"name\":\"posts\",\"id\":\"my_posts\"}", NULL, NULL);
    assert_string_equal(c->id, "my_posts");
    core_collection_free(c);
}

static void test_generated_id_taken_gets_a_numeric_suffix(void **state)
{
    struct core_collection *first = parse_ok("{\"name\":\"posts\"}", NULL, NULL);
    /* Rename the stored one so only its id collides. */
    xfree(first->name);
    first->name = xstrdup("older");
    struct core_schema *s = schema_of(&first, 1);
    struct core_collection *c = parse_ok("{\"name\":\"posts\"}", NULL, s);
    assert_string_equal(c->id, "pbc_11258439852");
    core_collection_free(c);
    core_schema_free(s);
}

static void test_field_id_collision_gets_a_numeric_suffix(void **state)
{
    /* Two fields whose derived ids collide: the second one's given id is
     * the first one's derived id. */
    struct core_collection *c =
        parse_ok("{\"name\":\"posts\",\"fields\":[{\"name\":\"title\",\"type\":\"text\"},"
                 "{\"name\":\"other\",\"type\":\"text\",\"id\":\"text724990059\"}]}",
                 NULL, NULL);
    assert_string_equal(c->fields[2].id, "text724990059");
    assert_string_equal(c->fields[1].id, "text7249900592");
    core_collection_free(c);
}

/* ---- system fields ------------------------------------------------------ */

static void test_base_collection_gets_the_id_field_first(void **state)
{
    struct core_collection *c = parse_ok(
        "{\"name\":\"posts\",\"fields\":[{\"name\":\"title\",\"type\":\"text\"}]}", NULL, NULL);
    assert_int_equal(c->field_count, 2);
    const struct core_field *id = &c->fields[0];
    assert_string_equal(id->name, "id");
    assert_string_equal(id->id, "text3208210256"); /* PocketBase's */
    assert_true(id->is_system && id->is_primary_key && id->is_required);
    assert_string_equal(id->pattern, "^[a-z0-9]+$");
    assert_string_equal(id->autogenerate_pattern, "[a-z0-9]{15}");
    assert_true(id->has_min && id->has_max);
    assert_true(id->min == 15 && id->max == 15);
    assert_int_equal(c->type, CORE_COLLECTION_BASE);
    core_collection_free(c);
}

static void test_auth_collection_gets_its_system_fields_in_order(void **state)
{
    struct core_collection *c = parse_ok("{\"name\":\"members\",\"type\":\"auth\",\"fields\":[{"
                                         "\"name\":\"nick\",\"type\":\"text\"}]}",
                                         NULL, NULL);
    static const char *const want[] = {
        "id", "password", "tokenKey", "email", "emailVisibility", "verified", "nick"};
    assert_int_equal(c->field_count, 7);
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(field_name(c, i), want[i]);
    assert_int_equal(c->fields[1].type, CORE_FIELD_PASSWORD);
    assert_true(c->fields[1].is_hidden && c->fields[2].is_hidden);
    assert_false(c->fields[3].is_hidden);
    assert_int_equal(c->fields[3].type, CORE_FIELD_EMAIL);
    assert_int_equal(c->fields[5].type, CORE_FIELD_BOOL);
    /* Auth defaults: email identity, password auth on, OTP 180 s x 8. */
    assert_true(c->is_password_auth);
    assert_int_equal(c->identity_field_count, 1);
    assert_string_equal(c->identity_fields[0], "email");
    assert_int_equal(c->otp_duration_s, 180);
    assert_int_equal(c->otp_length, 8);
    assert_string_equal(c->auth_rule, "");
    assert_null(c->manage_rule);
    for (int k = 0; k < CORE_TOKEN_KIND_COUNT; k++) {
        assert_non_null(c->tokens[k].secret);
        assert_int_equal(strlen(c->tokens[k].secret), 50);
    }
    assert_int_equal(c->tokens[CORE_TOKEN_AUTH].duration_s, 432000);
    assert_int_equal(c->tokens[CORE_TOKEN_FILE].duration_s, 180);
    core_collection_free(c);
}

static void test_a_given_system_field_is_forced_to_its_type(void **state)
{
    /* "email" given as text in an auth collection stays in place as email. */
    struct core_collection *c = parse_ok("{\"name\":\"members\",\"type\":\"auth\",\"fields\":[{"
                                         "\"name\":\"email\",\"type\":\"text\"}]}",
                                         NULL, NULL);
    const struct core_field *f = core_collection_field(c, STR_LIT("email"));
    assert_non_null(f);
    assert_int_equal(f->type, CORE_FIELD_EMAIL);
    assert_true(f->is_system);
    core_collection_free(c);
}

static void test_a_given_id_field_is_made_the_primary_key(void **state)
{
    /* As PocketBase's initIdField: the system defaults are enforced. */
    struct core_collection *c =
        parse_ok("{\"name\":\"x\",\"fields\":[{\"name\":\"id\",\"type\":\"text\",\"hidden\":true},"
                 "{\"name\":\"t\",\"type\":\"text\"}]}",
                 NULL, NULL);
    const struct core_field *id = &c->fields[0];
    assert_string_equal(id->name, "id");
    assert_true(id->is_primary_key && id->is_required && id->is_system);
    assert_false(id->is_hidden);
    assert_string_equal(id->pattern, "^[a-z0-9]+$");
    json_t *j = write_json(c, false);
    assert_true(json_is_true(json_object_get(field_json(j, "id"), "primaryKey")));
    json_decref(j);
    core_collection_free(c);
    /* A pattern of its own is kept. */
    c = parse_ok("{\"name\":\"x\",\"fields\":[{\"name\":\"id\",\"type\":\"text\","
                 "\"pattern\":\"^[a-f0-9]+$\"}]}",
                 NULL, NULL);
    assert_string_equal(c->fields[0].pattern, "^[a-f0-9]+$");
    assert_true(c->fields[0].is_primary_key);
    core_collection_free(c);
}

static void test_only_the_id_field_may_be_the_primary_key(void **state)
{
    struct core_schema empty = {0};
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"title\",\"type\":\"text\","
                 "\"primaryKey\":true}]}",
                 NULL, &empty, "fields.1.name", "validation_invalid_primary_key");
    /* Loading from storage: the id field stays the only key. */
    struct core_collection *c = parse_ok(
        "{\"name\":\"x\",\"fields\":[{\"name\":\"title\",\"type\":\"text\",\"primaryKey\":true}]}",
        NULL, NULL);
    assert_false(core_collection_field(c, STR_LIT("title"))->is_primary_key);
    assert_true(core_collection_field(c, STR_LIT("id"))->is_primary_key);
    core_collection_free(c);
    /* Only text fields have the option: elsewhere it is ignored. */
    c = parse_ok(
        "{\"name\":\"x\",\"fields\":[{\"name\":\"n\",\"type\":\"number\",\"primaryKey\":true}]}",
        NULL, NULL);
    assert_false(core_collection_field(c, STR_LIT("n"))->is_primary_key);
    core_collection_free(c);
}

/* ---- round trips -------------------------------------------------------- */

static const char EVERY_TYPE[] =
    "{\"name\":\"things\",\"listRule\":\"\",\"viewRule\":\"n > 1\",\"createRule\":null,"
    "\"indexes\":[\"CREATE UNIQUE INDEX idx_slug ON things (slug)\"],"
    "\"fields\":["
    "{\"name\":\"slug\",\"type\":\"text\",\"required\":true,\"presentable\":true,\"min\":2,"
    "\"max\":80,\"pattern\":\"^[a-z-]+$\",\"autogeneratePattern\":\"[a-z]{8}\"},"
    "{\"name\":\"n\",\"type\":\"number\",\"min\":-5,\"max\":99.5,\"onlyInt\":true},"
    "{\"name\":\"loose\",\"type\":\"number\"},"
    "{\"name\":\"ok\",\"type\":\"bool\",\"hidden\":true},"
    "{\"name\":\"mail\",\"type\":\"email\",\"onlyDomains\":[\"a.com\",\"b.org\"]},"
    "{\"name\":\"site\",\"type\":\"url\",\"exceptDomains\":[\"bad.io\"]},"
    "{\"name\":\"body\",\"type\":\"editor\",\"maxSize\":2048},"
    "{\"name\":\"when\",\"type\":\"date\",\"min\":\"2020-01-01 00:00:00.000Z\",\"max\":\"\"},"
    "{\"name\":\"stamp\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true},"
    "{\"name\":\"tags\",\"type\":\"select\",\"values\":[\"x\",\"y\",\"z\"],\"maxSelect\":2},"
    "{\"name\":\"meta\",\"type\":\"json\",\"maxSize\":100},"
    "{\"name\":\"self\",\"type\":\"relation\",\"collectionId\":\"things\",\"cascadeDelete\":true,"
    "\"minSelect\":1,\"maxSelect\":3},"
    "{\"name\":\"secret\",\"type\":\"password\",\"min\":10,\"max\":40,\"pattern\":\"[0-9]\"},"
    "{\"name\":\"docs\",\"type\":\"file\",\"maxSelect\":4,\"maxSize\":5000,"
    "\"mimeTypes\":[\"image/png\"],\"thumbs\":[\"100x100\",\"0x300\"],\"protected\":true},"
    "{\"name\":\"where\",\"type\":\"geoPoint\"}"
    "]}";

static void test_every_field_type_writes_its_options(void **state)
{
    struct core_schema empty = {0};
    struct core_collection *c = parse_ok(EVERY_TYPE, NULL, &empty);
    json_t *j = write_json(c, false);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "base");
    assert_string_equal(json_string_value(json_object_get(j, "listRule")), "");
    assert_string_equal(json_string_value(json_object_get(j, "viewRule")), "n > 1");
    assert_true(json_is_null(json_object_get(j, "createRule")));
    assert_true(json_is_null(json_object_get(j, "deleteRule"))); /* absent: superusers only */
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "indexes"), 0)),
                        "CREATE UNIQUE INDEX idx_slug ON things (slug)");

    json_t *f = field_json(j, "slug");
    assert_true(json_is_true(json_object_get(f, "required")));
    assert_true(json_is_true(json_object_get(f, "presentable")));
    assert_int_equal(json_number_value(json_object_get(f, "min")), 2);
    assert_int_equal(json_number_value(json_object_get(f, "max")), 80);
    assert_string_equal(json_string_value(json_object_get(f, "pattern")), "^[a-z-]+$");
    assert_string_equal(json_string_value(json_object_get(f, "autogeneratePattern")), "[a-z]{8}");
    assert_true(json_is_false(json_object_get(f, "primaryKey")));

    f = field_json(j, "n");
    assert_true(json_number_value(json_object_get(f, "min")) == -5);
    assert_true(json_number_value(json_object_get(f, "max")) == 99.5);
    assert_true(json_is_true(json_object_get(f, "onlyInt")));
    f = field_json(j, "loose"); /* unset bounds are null, not 0 */
    assert_true(json_is_null(json_object_get(f, "min")));
    assert_true(json_is_null(json_object_get(f, "max")));

    assert_true(json_is_true(json_object_get(field_json(j, "ok"), "hidden")));
    f = field_json(j, "mail");
    assert_int_equal(json_array_size(json_object_get(f, "onlyDomains")), 2);
    assert_int_equal(json_array_size(json_object_get(f, "exceptDomains")), 0);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(field_json(j, "site"), "exceptDomains"), 0)),
                        "bad.io");
    assert_int_equal(json_integer_value(json_object_get(field_json(j, "body"), "maxSize")), 2048);
    f = field_json(j, "when");
    assert_string_equal(json_string_value(json_object_get(f, "min")), "2020-01-01 00:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(f, "max")), "");
    f = field_json(j, "stamp");
    assert_true(json_is_true(json_object_get(f, "onCreate")));
    assert_true(json_is_true(json_object_get(f, "onUpdate")));
    assert_null(json_object_get(f, "required")); /* autodate has none */
    f = field_json(j, "tags");
    assert_int_equal(json_array_size(json_object_get(f, "values")), 3);
    assert_int_equal(json_integer_value(json_object_get(f, "maxSelect")), 2);
    f = field_json(j, "self");
    /* A relation to itself by name is stored with the collection's id. */
    assert_string_equal(json_string_value(json_object_get(f, "collectionId")), c->id);
    assert_true(json_is_true(json_object_get(f, "cascadeDelete")));
    assert_int_equal(json_integer_value(json_object_get(f, "minSelect")), 1);
    assert_int_equal(json_integer_value(json_object_get(f, "maxSelect")), 3);
    f = field_json(j, "secret");
    assert_int_equal(json_integer_value(json_object_get(f, "cost")), 0);
    assert_null(json_object_get(f, "autogeneratePattern")); /* text only */
    f = field_json(j, "docs");
    assert_int_equal(json_integer_value(json_object_get(f, "maxSelect")), 4);
    assert_int_equal(json_integer_value(json_object_get(f, "maxSize")), 5000);
    assert_string_equal(json_string_value(json_array_get(json_object_get(f, "thumbs"), 1)),
                        "0x300");
    assert_true(json_is_true(json_object_get(f, "protected")));
    f = field_json(j, "where");
    assert_string_equal(json_string_value(json_object_get(f, "type")), "geoPoint");
    json_decref(j);
    core_collection_free(c);
}

static void test_written_json_parses_back_to_the_same_json(void **state)
{
    struct core_schema empty = {0};
    struct core_collection *c = parse_ok(EVERY_TYPE, NULL, &empty);
    char *first = write_text(c, true);
    /* Loading from storage: no schema, the stored JSON is trusted. */
    struct core_collection *again = parse_ok(first, NULL, NULL);
    char *second = write_text(again, true);
    assert_string_equal(second, first);
    xfree(first);
    xfree(second);
    core_collection_free(again);
    core_collection_free(c);
}

static void test_auth_round_trip_keeps_secrets_and_options(void **state)
{
    struct core_collection *c = parse_ok(
        "{\"name\":\"members\",\"type\":\"auth\",\"manageRule\":\"id != ''\","
        "\"authToken\":{\"duration\":3600},\"otp\":{\"enabled\":true,\"duration\":600,"
        "\"length\":6},\"passwordAuth\":{\"enabled\":false,\"identityFields\":[\"email\"]}}",
        NULL, NULL);
    char *stored = write_text(c, true);
    struct core_collection *again = parse_ok(stored, NULL, NULL);
    for (int k = 0; k < CORE_TOKEN_KIND_COUNT; k++)
        assert_string_equal(again->tokens[k].secret, c->tokens[k].secret);
    assert_int_equal(again->tokens[CORE_TOKEN_AUTH].duration_s, 3600);
    assert_true(again->is_otp);
    assert_int_equal(again->otp_duration_s, 600);
    assert_int_equal(again->otp_length, 6);
    assert_false(again->is_password_auth);
    assert_string_equal(again->manage_rule, "id != ''");
    char *stored_again = write_text(again, true);
    assert_string_equal(stored_again, stored);
    xfree(stored);
    xfree(stored_again);
    core_collection_free(again);
    core_collection_free(c);
}

static void test_secrets_are_written_only_for_storage(void **state)
{
    struct core_collection *c = parse_ok("{\"name\":\"members\",\"type\":\"auth\"}", NULL, NULL);
    json_t *api = write_json(c, false);
    json_t *stored = write_json(c, true);
    for (int k = 0; k < CORE_TOKEN_KIND_COUNT; k++) {
        const char *name = core_token_option_name((enum core_token_kind)k);
        json_t *a = json_object_get(api, name);
        assert_non_null(a);
        assert_null(json_object_get(a, "secret"));
        assert_int_equal(json_integer_value(json_object_get(a, "duration")),
                         c->tokens[k].duration_s);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(stored, name), "secret")),
            c->tokens[k].secret);
    }
    /* A base collection has no auth options at all. */
    struct core_collection *b = parse_ok("{\"name\":\"posts\"}", NULL, NULL);
    json_t *bj = write_json(b, true);
    assert_null(json_object_get(bj, "authToken"));
    assert_null(json_object_get(bj, "passwordAuth"));
    json_decref(bj);
    core_collection_free(b);
    json_decref(api);
    json_decref(stored);
    core_collection_free(c);
}

static void test_stored_auth_without_per_kind_secrets_reuses_the_auth_secret(void **state)
{
    static const char secret[] = "0123456789abcdefghij0123456789abcdefghij";
    char text[256];
    snprintf(text, sizeof(text),
             "{\"name\":\"members\",\"type\":\"auth\",\"authToken\":{\"secret\":\"%s\"}}", secret);
    struct core_collection *c = parse_ok(text, NULL, NULL);
    for (int k = 0; k < CORE_TOKEN_KIND_COUNT; k++)
        assert_string_equal(c->tokens[k].secret, secret);
    core_collection_free(c);
}

static void test_new_auth_token_secret_from_a_client_replaces_only_its_kind(void **state)
{
    struct core_schema empty = {0};
    struct core_collection *old =
        parse_ok("{\"name\":\"members\",\"type\":\"auth\"}", NULL, &empty);
    struct core_collection *c =
        parse_ok("{\"authToken\":{\"secret\":\"abcdefghijabcdefghijabcdefghij\"},"
                 "\"fileToken\":{\"secret\":\"\"}}",
                 old, &empty);
    assert_string_equal(c->tokens[CORE_TOKEN_AUTH].secret, "abcdefghijabcdefghijabcdefghij");
    /* An empty secret from a client keeps the stored one. */
    assert_string_equal(c->tokens[CORE_TOKEN_FILE].secret, old->tokens[CORE_TOKEN_FILE].secret);
    assert_string_equal(c->tokens[CORE_TOKEN_VERIFICATION].secret,
                        old->tokens[CORE_TOKEN_VERIFICATION].secret);
    core_collection_free(c);
    core_collection_free(old);
}

/* ---- partial updates ---------------------------------------------------- */

static void test_update_without_fields_keeps_fields_and_unsent_rules(void **state)
{
    struct core_collection *old =
        parse_ok("{\"name\":\"posts\",\"listRule\":\"\",\"viewRule\":\"id != ''\",\"fields\":"
                 "[{\"name\":\"title\",\"type\":\"text\"}]}",
                 NULL, NULL);
    xfree(old->created);
    old->created = xstrdup("2000-01-01 00:00:00.000Z");
    struct core_collection *c = parse_ok("{\"viewRule\":null,\"deleteRule\":\"\"}", old, NULL);
    assert_string_equal(c->id, old->id);
    assert_string_equal(c->name, "posts");
    assert_int_equal(c->field_count, 2);
    assert_string_equal(field_name(c, 1), "title");
    assert_string_equal(c->fields[1].id, old->fields[1].id);
    assert_string_equal(c->rules[CORE_RULE_LIST], "");
    assert_null(c->rules[CORE_RULE_VIEW]);
    assert_string_equal(c->rules[CORE_RULE_DELETE], "");
    assert_null(c->rules[CORE_RULE_CREATE]);
    assert_string_equal(c->created, "2000-01-01 00:00:00.000Z");
    assert_string_equal(c->updated, NOW);
    core_collection_free(c);
    core_collection_free(old);
}

static void test_update_fields_replace_the_list_but_keep_system_fields(void **state)
{
    struct core_collection *old =
        parse_ok("{\"name\":\"members\",\"type\":\"auth\",\"fields\":"
                 "[{\"name\":\"nick\",\"type\":\"text\"},{\"name\":\"age\",\"type\":\"number\"}]}",
                 NULL, NULL);
    /* Only "age" (renamed "years", matched by id) is sent. */
    char text[256];
    const struct core_field *age = core_collection_field(old, STR_LIT("age"));
    snprintf(text, sizeof(text),
             "{\"fields\":[{\"id\":\"%s\",\"name\":\"years\",\"type\":\"number\"}]}", age->id);
    struct core_collection *c = parse_ok(text, old, NULL);
    assert_null(core_collection_field(c, STR_LIT("nick")));
    assert_null(core_collection_field(c, STR_LIT("age")));
    const struct core_field *years = core_collection_field(c, STR_LIT("years"));
    assert_non_null(years);
    assert_string_equal(years->id, age->id);
    static const char *const system[] = {"id",    "password",        "tokenKey",
                                         "email", "emailVisibility", "verified"};
    for (size_t i = 0; i < 6; i++) {
        const struct core_field *f = core_collection_field(c, str_from_cstr(system[i]));
        assert_non_null(f);
        assert_true(f->is_system);
    }
    assert_int_equal(c->field_count, 7);
    core_collection_free(c);
    core_collection_free(old);
}

static void test_autodate_without_triggers_sets_on_create(void **state)
{
    struct core_collection *c =
        parse_ok("{\"name\":\"posts\",\"fields\":[{\"name\":\"at\",\"type\":\"autodate\"},"
                 "{\"name\":\"pick\",\"type\":\"select\",\"values\":[\"a\"],\"maxSelect\":0}]}",
                 NULL, NULL);
    const struct core_field *at = core_collection_field(c, STR_LIT("at"));
    assert_true(at->on_create);
    assert_false(at->on_update);
    assert_int_equal(core_collection_field(c, STR_LIT("pick"))->max_select, 1);
    core_collection_free(c);
    /* From a client: one trigger at least, as PocketBase. */
    struct core_schema empty = {0};
    expect_error("{\"name\":\"posts\",\"fields\":[{\"name\":\"at\",\"type\":\"autodate\"}]}", NULL,
                 &empty, "fields.1.onCreate", "validation_required");
}

static void test_date_bounds_are_dates(void **state)
{
    struct core_schema empty = {0};
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"d\",\"type\":\"date\","
                 "\"min\":\"soon\"}]}",
                 NULL, &empty, "fields.1.min", "validation_invalid_date");
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"d\",\"type\":\"date\","
                 "\"max\":\"2024-13-01\"}]}",
                 NULL, &empty, "fields.1.max", "validation_invalid_date");
    struct core_collection *c = parse_ok("{\"name\":\"x\",\"fields\":[{\"name\":\"d\","
                                         "\"type\":\"date\",\"min\":\"2024-06-01T10:00:00Z\"}]}",
                                         NULL, &empty);
    assert_string_equal(core_collection_field(c, STR_LIT("d"))->min_date,
                        "2024-06-01 10:00:00.000Z");
    core_collection_free(c);
}

static void test_out_of_range_otp_options_keep_the_defaults(void **state)
{
    struct core_collection *c =
        parse_ok("{\"name\":\"members\",\"type\":\"auth\",\"otp\":{\"duration\":0,\"length\":3}}",
                 NULL, NULL);
    assert_int_equal(c->otp_duration_s, 180);
    assert_int_equal(c->otp_length, 8);
    core_collection_free(c);
}

/* ---- validation --------------------------------------------------------- */

static void test_non_object_is_refused_with_a_message(void **state)
{
    struct core_collection *c;
    struct core_problem p;
    assert_int_equal(parse("[1]", NULL, NULL, &c, &p), RC_INVALID);
    assert_null(c);
    assert_string_equal(p.message, "The collection must be a JSON object.");
    assert_null(p.data);
    core_problem_cleanup(&p);
}

static void test_collection_name_errors(void **state)
{
    expect_error("{}", NULL, NULL, "name", "validation_required");
    expect_error("{\"name\":\"\"}", NULL, NULL, "name", "validation_required");
    expect_error("{\"name\":\"my posts\"}", NULL, NULL, "name",
                 "validation_collection_name_invalid");
    struct core_collection *posts = parse_ok("{\"name\":\"posts\"}", NULL, NULL);
    struct core_schema *s = schema_of(&posts, 1);
    expect_error("{\"name\":\"POSTS\"}", NULL, s, "name", "validation_collection_name_exists");
    core_schema_free(s);
}

static void test_given_id_errors(void **state)
{
    expect_error("{\"name\":\"posts\",\"id\":\"bad id\"}", NULL, NULL, "id",
                 "validation_invalid_value");
    struct core_collection *posts = parse_ok("{\"name\":\"posts\",\"id\":\"p1\"}", NULL, NULL);
    struct core_schema *s = schema_of(&posts, 1);
    expect_error("{\"name\":\"other\",\"id\":\"p1\"}", NULL, s, "id", "validation_not_unique");
    core_schema_free(s);
}

static void test_collection_type_errors(void **state)
{
    expect_error("{\"name\":\"x\",\"type\":\"table\"}", NULL, NULL, "type",
                 "validation_in_invalid");
    /* A view's own checks (its query is checked where the database is: schema/view.h). */
    struct core_schema *none = schema_of(NULL, 0);
    expect_error("{\"name\":\"x\",\"type\":\"view\"}", NULL, none, "viewQuery",
                 "validation_required");
    expect_error("{\"name\":\"x\",\"type\":\"view\",\"viewQuery\":\"SELECT 1 AS id\","
                 "\"updateRule\":\"\"}",
                 NULL, none, "updateRule", "validation_nil");
    expect_error("{\"name\":\"x\",\"type\":\"view\",\"viewQuery\":\"SELECT 1 AS id\","
                 "\"indexes\":[\"CREATE INDEX a ON x (id)\"]}",
                 NULL, none, "indexes", "validation_indexes_not_supported");
    /* Sent fields are not a view's: they come from its query. */
    struct core_collection *v = parse_ok("{\"name\":\"x\",\"type\":\"view\",\"viewQuery\":"
                                         "\"SELECT 1 AS id\",\"fields\":[{\"name\":\"a\","
                                         "\"type\":\"bool\"}]}",
                                         NULL, none);
    assert_int_equal(v->type, CORE_COLLECTION_VIEW);
    assert_int_equal(v->field_count, 0);
    assert_string_equal(v->view_query, "SELECT 1 AS id");
    core_collection_free(v);
    core_schema_free(none);
    struct core_collection *old = parse_ok("{\"name\":\"x\"}", NULL, NULL);
    expect_error("{\"type\":\"auth\"}", old, NULL, "type", "validation_collection_type_change");
    core_collection_free(old);
}

static void test_system_collection_cannot_be_renamed(void **state)
{
    struct core_collection *old = parse_ok("{\"name\":\"keep\"}", NULL, NULL);
    old->is_system = true;
    expect_error("{\"name\":\"other\"}", old, NULL, "name",
                 "validation_collection_system_name_change");
    core_collection_free(old);
}

static void test_field_errors_carry_their_index(void **state)
{
    expect_error("{\"name\":\"x\",\"fields\":{}}", NULL, NULL, "fields",
                 "validation_invalid_value");
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"a\",\"type\":\"text\"},7]}", NULL, NULL,
                 "fields.1", "validation_invalid_value");
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"a\",\"type\":\"text\"},"
                 "{\"name\":\"b\",\"type\":\"varchar\"}]}",
                 NULL, NULL, "fields.1.type", "validation_invalid_value");
    /* Names are checked in the list as validated, the id field first. */
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"a b\",\"type\":\"text\"}]}", NULL, NULL,
                 "fields.1.name", "validation_invalid_value");
}

static void test_reserved_and_duplicated_field_names(void **state)
{
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"Expand\",\"type\":\"text\"}]}", NULL,
                 NULL, "fields.1.name", "validation_reserved_field_name");
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"a_via_b\",\"type\":\"text\"}]}", NULL,
                 NULL, "fields.1.name", "validation_reserved_field_name");
    /* After the six system fields an auth collection gets. */
    expect_error("{\"name\":\"x\",\"type\":\"auth\",\"fields\":"
                 "[{\"name\":\"passwordConfirm\",\"type\":\"text\"}]}",
                 NULL, NULL, "fields.6.name", "validation_reserved_field_name");
    /* Allowed outside auth collections. */
    struct core_collection *c =
        parse_ok("{\"name\":\"x\",\"fields\":[{\"name\":\"passwordConfirm\",\"type\":\"text\"}]}",
                 NULL, NULL);
    core_collection_free(c);
    /* The id field is put first: "title" is at 1, "TITLE" at 2. */
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"title\",\"type\":\"text\"},"
                 "{\"name\":\"TITLE\",\"type\":\"number\"}]}",
                 NULL, NULL, "fields.2.name", "validation_not_unique");
}

static void test_field_option_errors(void **state)
{
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"s\",\"type\":\"select\"}]}", NULL, NULL,
                 "fields.1.values", "validation_required");
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"t\",\"type\":\"text\","
                 "\"pattern\":\"([a-z\"}]}",
                 NULL, NULL, "fields.1.pattern", "validation_invalid_regex");
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"t\",\"type\":\"text\","
                 "\"autogeneratePattern\":\"[z-a]{3}\"}]}",
                 NULL, NULL, "fields.1.autogeneratePattern", "validation_invalid_regex");
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"u\",\"type\":\"url\","
                 "\"onlyDomains\":[\"a.com\"],\"exceptDomains\":[\"b.com\"]}]}",
                 NULL, NULL, "fields.1.exceptDomains", "validation_empty");
}

/* Options of the wrong JSON type are read as unset, never as some value:
 * a client's "min":"5" is no minimum, a list keeps only its strings, and a
 * date field's numeric bounds are no bounds. */
static void test_stored_options_of_the_wrong_json_type_are_unset(void **state)
{
    struct core_collection *c =
        parse_ok("{\"name\":\"x\",\"fields\":["
                 "{\"name\":\"t\",\"type\":\"text\",\"min\":\"5\",\"max\":[],\"pattern\":7,"
                 "\"primaryKey\":\"yes\"},"
                 "{\"name\":\"d\",\"type\":\"date\",\"min\":5,\"max\":{}},"
                 "{\"name\":\"s\",\"type\":\"select\",\"values\":[1,\"a\",null],"
                 "\"maxSelect\":\"9\",\"minSelect\":2.5},"
                 "{\"name\":\"e\",\"type\":\"email\",\"onlyDomains\":[1,null,\"x.com\"],"
                 "\"exceptDomains\":\"y.com\"},"
                 "{\"name\":\"a\",\"type\":\"autodate\",\"onCreate\":\"true\"}]}",
                 NULL, NULL);
    const struct core_field *t = core_collection_field(c, STR_LIT("t"));
    assert_false(t->has_min);
    assert_false(t->has_max);
    assert_string_equal(t->pattern, "");
    assert_false(t->is_primary_key);
    const struct core_field *d = core_collection_field(c, STR_LIT("d"));
    assert_string_equal(d->min_date, "");
    assert_string_equal(d->max_date, "");
    const struct core_field *s = core_collection_field(c, STR_LIT("s"));
    assert_int_equal(s->value_count, 1);
    assert_string_equal(s->values[0], "a");
    assert_int_equal(s->max_select, 1);
    assert_int_equal(s->min_select, 0);
    const struct core_field *e = core_collection_field(c, STR_LIT("e"));
    assert_int_equal(e->only_domain_count, 1);
    assert_string_equal(e->only_domains[0], "x.com");
    assert_int_equal(e->except_domain_count, 0);
    const struct core_field *a = core_collection_field(c, STR_LIT("a"));
    assert_true(a->on_create); /* neither trigger set: onCreate */
    assert_false(a->on_update);
    core_collection_free(c);
}

/* From a client the same options are refused, each at its own path: read
 * leniently they would be accepted and dropped. */
static void test_client_options_of_the_wrong_json_type_are_refused(void **state)
{
    struct core_schema empty = {0};
    struct core_collection *c;
    struct core_problem p;
    assert_int_equal(
        parse("{\"name\":\"x\",\"fields\":["
              "{\"name\":\"t\",\"type\":\"text\",\"min\":\"5\",\"max\":2.5,\"pattern\":7,"
              "\"primaryKey\":\"yes\",\"help\":3},"
              "{\"name\":\"d\",\"type\":\"date\",\"min\":5,\"max\":{}},"
              "{\"name\":\"s\",\"type\":\"select\",\"values\":[1,\"a\",null],"
              "\"maxSelect\":\"9\",\"required\":1},"
              "{\"name\":\"e\",\"type\":\"email\",\"onlyDomains\":[1,null,\"x.com\"],"
              "\"exceptDomains\":\"y.com\",\"hidden\":\"no\"},"
              "{\"name\":\"a\",\"type\":\"autodate\",\"onCreate\":\"true\"},"
              "{\"name\":\"n\",\"type\":\"number\",\"min\":null,\"max\":\"1\",\"onlyInt\":0},"
              "{\"name\":\"ed\",\"type\":\"editor\",\"convertURLs\":\"y\",\"maxSize\":1.5}]}",
              NULL, &empty, &c, &p),
        RC_INVALID);
    static const char *const paths[] = {
        "fields.1.min",        "fields.1.max",         "fields.1.pattern",
        "fields.1.primaryKey", "fields.1.help",        "fields.2.min",
        "fields.2.max",        "fields.3.values",      "fields.3.maxSelect",
        "fields.3.required",   "fields.4.onlyDomains", "fields.4.exceptDomains",
        "fields.4.hidden",     "fields.5.onCreate",    "fields.6.max",
        "fields.6.onlyInt",    "fields.7.convertURLs", "fields.7.maxSize",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        assert_error_code(&p, paths[i], "validation_invalid_value");
    assert_null(error_at(&p, "fields.6.min")); /* null: unset; positions count the id field the
                                                   collection gets first */
    core_problem_cleanup(&p);
}

static void test_help_and_convert_urls_are_kept(void **state)
{
    struct core_schema empty = {0};
    struct core_collection *c =
        parse_ok("{\"name\":\"x\",\"fields\":[{\"name\":\"t\",\"type\":\"text\",\"help\":\"Your "
                 "name\"},{\"name\":\"ed\",\"type\":\"editor\",\"convertURLs\":true}]}",
                 NULL, &empty);
    json_t *j = write_json(c, false);
    assert_string_equal(json_string_value(json_object_get(field_json(j, "t"), "help")),
                        "Your name");
    assert_true(json_is_true(json_object_get(field_json(j, "ed"), "convertURLs")));
    assert_string_equal(json_string_value(json_object_get(field_json(j, "id"), "help")), "");
    json_decref(j);
    core_collection_free(c);
    char big[400];
    memset(big, 'h', 301);
    big[301] = '\0';
    char text[512];
    snprintf(text, sizeof(text),
             "{\"name\":\"x\",\"fields\":[{\"name\":\"t\",\"type\":\"text\",\"help\":\"%s\"}]}",
             big);
    expect_error(text, NULL, &empty, "fields.1.help", "validation_length_out_of_range");
}

static void test_relation_target_must_exist_and_is_stored_by_id(void **state)
{
    struct core_collection *users = parse_ok("{\"name\":\"people\",\"id\":\"ppl\"}", NULL, NULL);
    struct core_schema *s = schema_of(&users, 1);
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"r\",\"type\":\"relation\","
                 "\"collectionId\":\"nowhere\"}]}",
                 NULL, s, "fields.1.collectionId", "validation_missing_rel_collection");
    struct core_collection *c = parse_ok("{\"name\":\"x\",\"fields\":[{\"name\":\"r\","
                                         "\"type\":\"relation\",\"collectionId\":\"people\"}]}",
                                         NULL, s);
    assert_string_equal(core_collection_field(c, STR_LIT("r"))->collection_id, "ppl");
    core_collection_free(c);
    core_schema_free(s);
}

static void test_password_field_option_errors(void **state)
{
    struct core_schema empty = {0};
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"p\",\"type\":\"password\",\"min\":72}]}",
                 NULL, &empty, "fields.1.min", "validation_max_less_equal_than_required");
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"p\",\"type\":\"password\","
                 "\"min\":1.5}]}",
                 NULL, &empty, "fields.1.min", "validation_invalid_value");
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"p\",\"type\":\"password\",\"min\":10,"
                 "\"max\":5}]}",
                 NULL, &empty, "fields.1.max", "validation_min_greater_equal_than_required");
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"p\",\"type\":\"password\","
                 "\"cost\":10}]}",
                 NULL, &empty, "fields.1.cost", "validation_invalid_value");
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"p\",\"type\":\"password\","
                 "\"cost\":1.5}]}",
                 NULL, &empty, "fields.1.cost", "validation_invalid_value");
    expect_error("{\"name\":\"x\",\"fields\":[{\"name\":\"p\",\"type\":\"password\","
                 "\"pattern\":\"(\"}]}",
                 NULL, &empty, "fields.1.pattern", "validation_invalid_regex");
    /* Loading from storage (no schema) trusts the stored options. */
    struct core_collection *c =
        parse_ok("{\"name\":\"x\",\"fields\":[{\"name\":\"p\",\"type\":\"password\",\"cost\":10}]}",
                 NULL, NULL);
    assert_int_equal(core_collection_field(c, STR_LIT("p"))->cost, 10);
    core_collection_free(c);
}

static void test_field_type_cannot_change_in_place(void **state)
{
    struct core_collection *old =
        parse_ok("{\"name\":\"x\",\"fields\":[{\"name\":\"n\",\"type\":\"number\"}]}", NULL, NULL);
    char text[256];
    snprintf(text, sizeof(text), "{\"fields\":[{\"id\":\"%s\",\"name\":\"n\",\"type\":\"text\"}]}",
             old->fields[1].id);
    /* The sent field is at 0 (the kept id field is appended after it). */
    expect_error(text, old, NULL, "fields.0", "validation_field_type_change");
    /* The same name under a new id is a new field: allowed. */
    struct core_collection *c =
        parse_ok("{\"fields\":[{\"name\":\"n\",\"type\":\"text\"}]}", old, NULL);
    assert_int_equal(core_collection_field(c, STR_LIT("n"))->type, CORE_FIELD_TEXT);
    core_collection_free(c);
    core_collection_free(old);
}

static void test_token_option_errors(void **state)
{
    struct core_schema empty = {0};
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"authToken\":{\"duration\":5}}", NULL, &empty,
                 "authToken.duration", "validation_invalid_value");
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"fileToken\":{\"duration\":\"60\"}}", NULL,
                 &empty, "fileToken.duration", "validation_invalid_value");
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"authToken\":{\"secret\":\"short\"}}", NULL,
                 &empty, "authToken.secret", "validation_length_out_of_range");
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"verificationToken\":5}", NULL, &empty,
                 "verificationToken", "validation_invalid_value");
}

static void test_identity_fields_must_exist_and_be_unique(void **state)
{
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"passwordAuth\":{\"enabled\":true,"
                 "\"identityFields\":[\"email\",\"nick\"]}}",
                 NULL, NULL, "passwordAuth.identityFields", "validation_missing_field");
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"fields\":[{\"name\":\"nick\","
                 "\"type\":\"text\"}],\"passwordAuth\":{\"identityFields\":[\"nick\"]}}",
                 NULL, NULL, "passwordAuth.identityFields", "validation_missing_unique_constraint");
    struct core_collection *c = parse_ok(
        "{\"name\":\"m\",\"type\":\"auth\",\"fields\":[{\"name\":\"nick\",\"type\":\"text\"}],"
        "\"indexes\":[\"CREATE UNIQUE INDEX idx_nick ON m (nick)\"],"
        "\"passwordAuth\":{\"identityFields\":[\"nick\",\"email\"]}}",
        NULL, NULL);
    assert_int_equal(c->identity_field_count, 2);
    assert_string_equal(c->identity_fields[0], "nick");
    core_collection_free(c);
    /* With password auth off the fields are not checked. */
    c = parse_ok("{\"name\":\"m\",\"type\":\"auth\",\"passwordAuth\":{\"enabled\":false,"
                 "\"identityFields\":[\"ghost\"]}}",
                 NULL, NULL);
    core_collection_free(c);
}

/* ---- mail templates ------------------------------------------------------ */

static void test_auth_collections_get_the_default_templates(void **state)
{
    struct core_collection *c = parse_ok("{\"name\":\"m\",\"type\":\"auth\"}", NULL, NULL);
    json_t *j = write_json(c, false);
    static const char *const keys[] = {"verificationTemplate", "resetPasswordTemplate",
                                       "confirmEmailChangeTemplate"};
    static const char *const routes[] = {"/_/#/auth/confirm-verification/{TOKEN}",
                                         "/_/#/auth/confirm-password-reset/{TOKEN}",
                                         "/_/#/auth/confirm-email-change/{TOKEN}"};
    for (size_t i = 0; i < 3; i++) {
        json_t *t = json_object_get(j, keys[i]);
        assert_non_null(strstr(json_string_value(json_object_get(t, "subject")), "{APP_NAME}"));
        const char *body = json_string_value(json_object_get(t, "body"));
        assert_non_null(strstr(body, "{APP_URL}"));
        assert_non_null(strstr(body, routes[i]));
    }
    json_t *otp = json_object_get(json_object_get(j, "otp"), "emailTemplate");
    assert_non_null(strstr(json_string_value(json_object_get(otp, "body")), "{OTP}"));
    assert_non_null(strstr(c->auth_alert.email.body, "{ALERT_INFO}"));
    json_decref(j);
    core_collection_free(c);
    /* Base collections have none in their JSON. */
    c = parse_ok("{\"name\":\"b\"}", NULL, NULL);
    j = write_json(c, false);
    assert_null(json_object_get(j, "verificationTemplate"));
    json_decref(j);
    core_collection_free(c);
}

static void test_templates_are_parsed_kept_and_updated_part_by_part(void **state)
{
    struct core_schema empty = {0};
    struct core_collection *c =
        parse_ok("{\"name\":\"m\",\"type\":\"auth\",\"verificationTemplate\":{\"subject\":"
                 "\"Hi {RECORD:name}\",\"body\":\"<b>{TOKEN}</b>\"},\"otp\":{\"emailTemplate\":"
                 "{\"subject\":\"Code\",\"body\":\"{OTP}\"}}}",
                 NULL, &empty);
    assert_string_equal(c->mail[CORE_MAIL_VERIFICATION].subject, "Hi {RECORD:name}");
    assert_string_equal(c->mail[CORE_MAIL_VERIFICATION].body, "<b>{TOKEN}</b>");
    assert_string_equal(c->mail[CORE_MAIL_OTP].body, "{OTP}");
    /* An update sending only the body keeps the subject; others stay. */
    struct core_collection *u = parse_ok(
        "{\"verificationTemplate\":{\"body\":\"new\"},\"otp\":{\"enabled\":true}}", c, &empty);
    assert_string_equal(u->mail[CORE_MAIL_VERIFICATION].subject, "Hi {RECORD:name}");
    assert_string_equal(u->mail[CORE_MAIL_VERIFICATION].body, "new");
    assert_string_equal(u->mail[CORE_MAIL_OTP].subject, "Code");
    /* Stored and loaded back. */
    char *stored = write_text(u, true);
    struct core_collection *back = parse_ok(stored, NULL, NULL);
    assert_string_equal(back->mail[CORE_MAIL_VERIFICATION].body, "new");
    assert_string_equal(back->mail[CORE_MAIL_OTP].body, "{OTP}");
    xfree(stored);
    core_collection_free(back);
    core_collection_free(u);
    core_collection_free(c);
}

static void test_template_errors_name_the_part(void **state)
{
    struct core_schema empty = {0};
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"verificationTemplate\":{\"subject\":\"\"}}",
                 NULL, &empty, "verificationTemplate.subject", "validation_required");
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"resetPasswordTemplate\":{\"subject\":"
                 "\"a\\r\\nBcc: x@y.z\"}}",
                 NULL, &empty, "resetPasswordTemplate.subject", "validation_invalid_value");
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"confirmEmailChangeTemplate\":{\"body\":5}}",
                 NULL, &empty, "confirmEmailChangeTemplate.body", "validation_invalid_value");
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"confirmEmailChangeTemplate\":\"x\"}", NULL,
                 &empty, "confirmEmailChangeTemplate", "validation_invalid_value");
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"otp\":{\"emailTemplate\":{\"body\":\"\"}}}",
                 NULL, &empty, "otp.emailTemplate.body", "validation_required");
    size_t n = CORE_MAIL_BODY_MAX + 64;
    char *big = xmalloc(n);
    int w =
        snprintf(big, n, "{\"name\":\"m\",\"type\":\"auth\",\"verificationTemplate\":{\"body\":\"");
    memset(big + w, 'x', CORE_MAIL_BODY_MAX + 1);
    memcpy(big + w + CORE_MAIL_BODY_MAX + 1, "\"}}", 4);
    expect_error(big, NULL, &empty, "verificationTemplate.body", "validation_length_too_long");
    xfree(big);
}

static void test_stored_bad_template_loads_as_the_default(void **state)
{
    struct core_collection *c = parse_ok(
        "{\"name\":\"m\",\"type\":\"auth\",\"verificationTemplate\":{\"subject\":\"a\\nb\","
        "\"body\":7}}",
        NULL, NULL);
    assert_string_equal(c->mail[CORE_MAIL_VERIFICATION].subject, "Verify your {APP_NAME} email");
    assert_non_null(strstr(c->mail[CORE_MAIL_VERIFICATION].body, "confirm-verification"));
    core_collection_free(c);
}

static void test_client_auth_options_out_of_range_are_refused(void **state)
{
    struct core_schema empty = {0};
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"otp\":{\"duration\":5}}", NULL, &empty,
                 "otp.duration", "validation_invalid_value");
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"otp\":{\"length\":3}}", NULL, &empty,
                 "otp.length", "validation_invalid_value");
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"otp\":{\"enabled\":\"yes\"}}", NULL, &empty,
                 "otp.enabled", "validation_invalid_value");
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"otp\":[]}", NULL, &empty, "otp",
                 "validation_invalid_value");
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"passwordAuth\":{\"enabled\":1}}", NULL,
                 &empty, "passwordAuth.enabled", "validation_invalid_value");
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"passwordAuth\":{\"identityFields\":[]}}",
                 NULL, &empty, "passwordAuth.identityFields", "validation_required");
    expect_error("{\"name\":\"m\",\"type\":\"auth\",\"passwordAuth\":{\"identityFields\":[1]}}",
                 NULL, &empty, "passwordAuth.identityFields", "validation_invalid_value");
    /* Off, no identity field is needed. */
    struct core_collection *c =
        parse_ok("{\"name\":\"m\",\"type\":\"auth\",\"passwordAuth\":{\"enabled\":false,"
                 "\"identityFields\":[]}}",
                 NULL, &empty);
    assert_int_equal(c->identity_field_count, 0);
    core_collection_free(c);
}

static void test_type_names(void **state)
{
    assert_string_equal(core_collection_type_name(CORE_COLLECTION_AUTH), "auth");
    assert_string_equal(core_field_type_name(CORE_FIELD_GEOPOINT), "geoPoint");
    assert_string_equal(core_field_type_name(CORE_FIELD_AUTODATE), "autodate");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_derives_pocketbase_collection_and_field_ids),
        cmocka_unit_test(test_create_keeps_a_given_id),
        cmocka_unit_test(test_generated_id_taken_gets_a_numeric_suffix),
        cmocka_unit_test(test_field_id_collision_gets_a_numeric_suffix),
        cmocka_unit_test(test_base_collection_gets_the_id_field_first),
        cmocka_unit_test(test_auth_collection_gets_its_system_fields_in_order),
        cmocka_unit_test(test_a_given_system_field_is_forced_to_its_type),
        cmocka_unit_test(test_a_given_id_field_is_made_the_primary_key),
        cmocka_unit_test(test_only_the_id_field_may_be_the_primary_key),
        cmocka_unit_test(test_every_field_type_writes_its_options),
        cmocka_unit_test(test_written_json_parses_back_to_the_same_json),
        cmocka_unit_test(test_auth_round_trip_keeps_secrets_and_options),
        cmocka_unit_test(test_secrets_are_written_only_for_storage),
        cmocka_unit_test(test_stored_auth_without_per_kind_secrets_reuses_the_auth_secret),
        cmocka_unit_test(test_new_auth_token_secret_from_a_client_replaces_only_its_kind),
        cmocka_unit_test(test_update_without_fields_keeps_fields_and_unsent_rules),
        cmocka_unit_test(test_update_fields_replace_the_list_but_keep_system_fields),
        cmocka_unit_test(test_autodate_without_triggers_sets_on_create),
        cmocka_unit_test(test_date_bounds_are_dates),
        cmocka_unit_test(test_out_of_range_otp_options_keep_the_defaults),
        cmocka_unit_test(test_non_object_is_refused_with_a_message),
        cmocka_unit_test(test_collection_name_errors),
        cmocka_unit_test(test_given_id_errors),
        cmocka_unit_test(test_collection_type_errors),
        cmocka_unit_test(test_system_collection_cannot_be_renamed),
        cmocka_unit_test(test_field_errors_carry_their_index),
        cmocka_unit_test(test_reserved_and_duplicated_field_names),
        cmocka_unit_test(test_field_option_errors),
        cmocka_unit_test(test_stored_options_of_the_wrong_json_type_are_unset),
        cmocka_unit_test(test_client_options_of_the_wrong_json_type_are_refused),
        cmocka_unit_test(test_help_and_convert_urls_are_kept),
        cmocka_unit_test(test_relation_target_must_exist_and_is_stored_by_id),
        cmocka_unit_test(test_password_field_option_errors),
        cmocka_unit_test(test_field_type_cannot_change_in_place),
        cmocka_unit_test(test_token_option_errors),
        cmocka_unit_test(test_identity_fields_must_exist_and_be_unique),
        cmocka_unit_test(test_auth_collections_get_the_default_templates),
        cmocka_unit_test(test_templates_are_parsed_kept_and_updated_part_by_part),
        cmocka_unit_test(test_template_errors_name_the_part),
        cmocka_unit_test(test_stored_bad_template_loads_as_the_default),
        cmocka_unit_test(test_client_auth_options_out_of_range_are_refused),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
