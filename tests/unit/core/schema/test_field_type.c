/* test_field_type.c -- unit tests of core/schema/field_type.h: the table of
 * field kinds is complete (every type has a kind whose name round-trips
 * through the name lookup, and every hook its input mode, filter reading and
 * models need), shapes and columns follow maxSelect and the primary key,
 * empty values match their shapes, and every kind's options survive a trip
 * through a collection's JSON and its hooks run on a bare field. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/jsonw.h"
#include "core/schema/collection_json.h"
#include "core/schema/field_type.h"
#include "core/schema/field_value.h"

static struct core_field bare(enum core_field_type type, int max_select)
{
    struct core_field f = {0};
    f.name = (char *)"f";
    f.id = (char *)"f";
    f.type = type;
    f.max_select = max_select;
    f.pattern = (char *)"";
    f.autogenerate_pattern = (char *)"";
    f.min_date = (char *)"";
    f.max_date = (char *)"";
    f.collection_id = (char *)"";
    return f;
}

static void test_every_type_has_a_kind_whose_name_round_trips(void **state)
{
    for (int t = 0; t < CORE_FIELD_TYPE_COUNT; t++) {
        const struct core_field_kind *k = core_field_kinds[t];
        assert_non_null(k);
        assert_non_null(k->name);
        assert_true(k->name[0] != '\0');
        assert_string_equal(core_field_type_name((enum core_field_type)t), k->name);
        enum core_field_type back = CORE_FIELD_TYPE_COUNT;
        assert_true(core_field_type_parse(k->name, &back));
        assert_int_equal(back, t);
        for (int u = 0; u < t; u++)
            assert_string_not_equal(core_field_kinds[u]->name, k->name);
    }
}

static void test_parse_refuses_unknown_names(void **state)
{
    static const char *const bad[] = {"", "Text", "geopoint", "GEOPOINT", "texts", "nosuch"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum core_field_type t = CORE_FIELD_TEXT;
        assert_false(core_field_type_parse(bad[i], &t));
    }
    enum core_field_type t;
    assert_true(core_field_type_parse("geoPoint", &t));
    assert_int_equal(t, CORE_FIELD_GEOPOINT);
}

static void assert_model(const struct core_field_model *m, const char *kind)
{
    if (!m->ts || !m->dart || !m->dart_get || !m->dart_get_end)
        fail_msg("kind \"%s\" has an incomplete typed model", kind);
}

static void test_every_kind_has_the_hooks_it_needs(void **state)
{
    for (int t = 0; t < CORE_FIELD_TYPE_COUNT; t++) {
        const struct core_field_kind *k = core_field_kinds[t];
        /* Always: a coercion and a JSON Schema. */
        assert_non_null(k->coerce);
        assert_non_null(k->openapi);
        /* A value the server sets needs the hook that sets it; one the body
         * sets must not have it overwritten by one. */
        if (k->input == CORE_FIELD_INPUT_AUTO)
            assert_non_null(k->on_save);
        /* A secret is checked as plain text before it is hashed. */
        if (k->input == CORE_FIELD_INPUT_SECRET)
            assert_non_null(k->validate);
        /* Lists: minSelect/maxSelect checks; modifiers unless files/ does them. */
        if (k->is_list) {
            assert_non_null(k->validate);
            if (k->input == CORE_FIELD_INPUT_VALUE)
                assert_non_null(k->modify);
        }
        /* An enum is a list of the field's values. */
        if (k->is_enum)
            assert_true(k->is_list);
        /* Only a list can be followed to other records. */
        if (k->filter == CORE_FIELD_FILTER_RELATION)
            assert_true(k->is_list);
        /* One value's column: never the primary key's, never a list's. */
        assert_true(k->column != STORE_COLUMN_ID && k->column != STORE_COLUMN_JSON_ARRAY);
        assert_true(k->input <= CORE_FIELD_INPUT_UPLOAD);
        assert_true(k->filter <= CORE_FIELD_FILTER_RELATION);
        /* Typed models: named types for enums, the kind's strings otherwise. */
        if (!k->is_enum) {
            assert_model(&k->model, k->name);
            if (k->is_list)
                assert_model(&k->many, k->name);
        }
        if (!k->is_list)
            assert_null(k->many.ts);
    }
}

static void test_shape_and_column_follow_max_select_and_primary_key(void **state)
{
    for (int t = 0; t < CORE_FIELD_TYPE_COUNT; t++) {
        const struct core_field_kind *k = core_field_kinds[t];
        struct core_field one = bare((enum core_field_type)t, 1);
        struct core_field many = bare((enum core_field_type)t, 3);
        assert_int_equal(core_field_shape(&one), k->column);
        assert_int_equal(core_field_column(&one), k->column);
        assert_false(core_field_is_multi(&one));
        assert_int_equal(core_field_is_multi(&many), k->is_list);
        assert_int_equal(core_field_shape(&many), k->is_list ? STORE_COLUMN_JSON_ARRAY : k->column);
    }
    struct core_field id = bare(CORE_FIELD_TEXT, 1);
    id.is_primary_key = true;
    assert_int_equal(core_field_column(&id), STORE_COLUMN_ID);
    assert_int_equal(core_field_shape(&id), STORE_COLUMN_TEXT);
}

static void test_empty_values_are_empty(void **state)
{
    for (int t = 0; t < CORE_FIELD_TYPE_COUNT; t++) {
        for (int n = 1; n <= 3; n += 2) {
            struct core_field f = bare((enum core_field_type)t, n);
            json_t *v = core_field_value_empty(&f);
            assert_non_null(v);
            if (!core_field_value_is_empty(&f, v))
                fail_msg("the empty value of a %s field (maxSelect %d) is not empty",
                         core_field_kinds[t]->name, n);
            json_decref(v);
        }
    }
    struct core_field point = bare(CORE_FIELD_GEOPOINT, 1);
    json_t *somewhere = json_pack("{s:f,s:f}", "lon", 1.5, "lat", 0.0);
    assert_false(core_field_value_is_empty(&point, somewhere));
    json_decref(somewhere);
    struct core_field number = bare(CORE_FIELD_NUMBER, 1);
    json_t *zero = json_real(0.0);
    assert_true(core_field_value_is_empty(&number, zero));
    json_decref(zero);
}

/* Every kind's hooks run on a bare field and a few odd values (ASan and
 * UBSan watch them in the asan build). */
static void test_every_hook_runs_on_a_bare_field(void **state)
{
    json_t *values[] = {json_string("x"),
                        json_integer(7),
                        json_true(),
                        json_null(),
                        json_pack("[s,s]", "a", "b"),
                        json_pack("{s:i,s:i}", "lon", 1, "lat", 2)};
    for (int t = 0; t < CORE_FIELD_TYPE_COUNT; t++) {
        const struct core_field_kind *k = core_field_kinds[t];
        for (int n = 1; n <= 3; n += 2) {
            struct core_field f = bare((enum core_field_type)t, n);
            for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
                json_t *v = k->coerce(&f, values[i]);
                assert_non_null(v);
                struct core_problem p;
                core_problem_init(&p);
                struct core_field_value_ctx ctx = {0};
                if (k->validate && !core_field_value_is_empty(&f, v))
                    k->validate(&f, v, &ctx, &p);
                if (k->modify) {
                    json_t *m = k->modify(&f, v, values[i], '+', false);
                    assert_non_null(m);
                    json_decref(m);
                }
                json_t *saved =
                    k->on_save ? k->on_save(&f, v, true, "2025-01-02 03:04:05.006Z") : NULL;
                json_decref(saved);
                core_problem_cleanup(&p);
                json_decref(v);
            }
            for (int is_input = 0; is_input < 2; is_input++) {
                json_t *s = k->openapi(&f, is_input);
                assert_true(json_is_object(s));
                json_decref(s);
            }
        }
    }
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        json_decref(values[i]);
}

static char *collection_text(const struct core_collection *c)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    struct jsonw w;
    jsonw_init(&w, &b);
    core_collection_write_json(&w, c, false);
    assert_int_equal(jsonw_finish(&w), RC_OK);
    char *text = strndup(b.data, b.len);
    buf_cleanup(&b);
    return text;
}

/* A field of each kind, with options, read from JSON, written, read back
 * and written again: the same text, with the kind's name as its type. */
static void test_every_kind_round_trips_through_collection_json(void **state)
{
    for (int t = 0; t < CORE_FIELD_TYPE_COUNT; t++) {
        const char *name = core_field_kinds[t]->name;
        json_t *in = json_pack("{s:s,s:[{s:s,s:s,s:b,s:i,s:i,s:[s],s:s,s:b,s:b,s:i,s:i}]}", "name",
                               "c", "fields", "name", "f", "type", name, "required", 1, "maxSelect",
                               2, "maxSize", 100, "values", "v", "collectionId", "c", "onCreate", 1,
                               "onlyInt", 1, "min", 1, "dimensions", 3);
        struct core_problem p;
        core_problem_init(&p);
        struct core_collection *c = NULL;
        if (core_collection_from_json(in, NULL, NULL, "2025-01-02 03:04:05.006Z", &c, &p) != RC_OK)
            fail_msg("a %s field was refused", name);
        json_decref(in);
        char *first = collection_text(c);
        json_t *again = json_loads(first, 0, NULL);
        assert_non_null(again);
        json_t *field = json_array_get(json_object_get(again, "fields"), 1);
        assert_string_equal(json_string_value(json_object_get(field, "type")), name);
        struct core_collection *c2 = NULL;
        assert_int_equal(
            core_collection_from_json(again, NULL, NULL, "2025-01-02 03:04:05.006Z", &c2, &p),
            RC_OK);
        char *second = collection_text(c2);
        assert_string_equal(first, second);
        free(first);
        free(second);
        json_decref(again);
        core_collection_free(c);
        core_collection_free(c2);
        core_problem_cleanup(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_has_a_kind_whose_name_round_trips),
        cmocka_unit_test(test_parse_refuses_unknown_names),
        cmocka_unit_test(test_every_kind_has_the_hooks_it_needs),
        cmocka_unit_test(test_shape_and_column_follow_max_select_and_primary_key),
        cmocka_unit_test(test_empty_values_are_empty),
        cmocka_unit_test(test_every_hook_runs_on_a_bare_field),
        cmocka_unit_test(test_every_kind_round_trips_through_collection_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
