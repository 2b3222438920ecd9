/* test_realtime_sub.c -- unit tests of core/realtime_sub.h: topic splits,
 * options decoding (percent, '+' as space, bad JSON ignored, values
 * stringified, header keys snake_cased), and the list's validation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/realtime/realtime_sub.h"

static struct core_rt_subs *parse(const char *json, bool *ok, struct core_problem *p)
{
    json_t *list = json_loads(json, JSON_DECODE_ANY, NULL);
    assert_non_null(list);
    struct core_rt_subs *s = core_rt_subs_parse(list, p, ok);
    json_decref(list);
    return s;
}

static void test_topics(void **state)
{
    (void)state;
    struct core_problem p;
    core_problem_init(&p);
    bool ok;
    struct core_rt_subs *s = parse(
        "[\"posts/*\", \"posts/abc\", \"posts\", \"pbc_1/x?y\", \"\", \"PB_CONNECT\"]", &ok, &p);
    assert_true(ok);
    assert_non_null(s);
    assert_int_equal(s->count, 5); /* the empty string is ignored */
    assert_string_equal(s->items[0].collection, "posts");
    assert_null(s->items[0].record_id);
    assert_string_equal(s->items[1].record_id, "abc");
    assert_null(s->items[2].record_id);
    assert_string_equal(s->items[2].collection, "posts");
    assert_string_equal(s->items[3].collection, "pbc_1");
    assert_string_equal(s->items[3].record_id, "x");
    assert_string_equal(s->items[3].options, "y");
    assert_string_equal(s->items[3].raw, "pbc_1/x?y");
    assert_string_equal(s->items[4].collection, "PB_CONNECT");
    core_rt_subs_release(s);
    core_problem_cleanup(&p);
}

static void test_options(void **state)
{
    (void)state;
    struct core_problem p;
    core_problem_init(&p);
    bool ok;
    /* {"query":{"filter":"a = 1","n":5,"o":{"k":true}},"headers":{"X-Token":"t"}},
     * the spaces as '+' (Dart's encodeQueryComponent). */
    struct core_rt_subs *s =
        parse("[\"posts/"
              "*?options=%7B%22query%22%3A%7B%22filter%22%3A%22a+%3D+1%22%2C%22n%22%3A5%2C%22o%22"
              "%3A%7B%22k%22%3Atrue%7D%7D%2C%22headers%22%3A%7B%22X-Token%22%3A%22t%22%7D%7D\","
              " \"posts/*?options=%7Bnot json\", \"posts/*?options=%ZZ\", "
              "\"posts/*?x=1&options=%7B%7D\"]",
              &ok, &p);
    assert_true(ok);
    assert_int_equal(s->count, 4);
    json_t *q = s->items[0].query;
    assert_string_equal(json_string_value(json_object_get(q, "filter")), "a = 1");
    assert_string_equal(json_string_value(json_object_get(q, "n")), "5");
    assert_string_equal(json_string_value(json_object_get(q, "o")), "{\"k\":true}");
    assert_string_equal(json_string_value(json_object_get(s->items[0].headers, "x_token")), "t");
    assert_null(s->items[1].query);
    assert_null(s->items[2].query);
    assert_null(s->items[3].query); /* {} has no query object */
    assert_null(s->items[3].headers);
    core_rt_subs_release(s);
    core_problem_cleanup(&p);
}

static void test_list_validation(void **state)
{
    (void)state;
    struct core_problem p;
    bool ok;

    core_problem_init(&p);
    assert_null(parse("[]", &ok, &p));
    assert_true(ok);
    assert_null(parse("null", &ok, &p));
    assert_true(ok);
    core_problem_cleanup(&p);

    core_problem_init(&p);
    assert_null(parse("\"posts/*\"", &ok, &p));
    assert_false(ok);
    assert_non_null(json_object_get(p.data, "subscriptions"));
    core_problem_cleanup(&p);

    core_problem_init(&p);
    assert_null(parse("[\"a\", 7]", &ok, &p));
    assert_false(ok);
    assert_non_null(json_object_get(json_object_get(p.data, "subscriptions"), "1"));
    core_problem_cleanup(&p);

    char big[2600];
    memset(big, 'x', sizeof(big));
    json_t *list = json_array();
    json_array_append_new(list, json_stringn(big, 2501));
    core_problem_init(&p);
    assert_null(core_rt_subs_parse(list, &p, &ok));
    assert_false(ok);
    core_problem_cleanup(&p);
    json_array_clear(list);
    json_array_append_new(list, json_stringn(big, 2500));
    core_problem_init(&p);
    struct core_rt_subs *s = core_rt_subs_parse(list, &p, &ok);
    assert_true(ok);
    assert_int_equal(s->count, 1);
    core_rt_subs_release(s);
    core_problem_cleanup(&p);
    json_array_clear(list);
    for (int i = 0; i < 1001; i++)
        json_array_append_new(list, json_string("a/*"));
    core_problem_init(&p);
    assert_null(core_rt_subs_parse(list, &p, &ok));
    assert_false(ok);
    core_problem_cleanup(&p);
    json_decref(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topics),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_list_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
